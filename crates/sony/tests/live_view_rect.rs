//! Focal frames in the 640×480 live-view space: numerator over denominator times the space's
//! size, per axis; no rectangle from a group whose denominator is 0.

#![allow(clippy::unwrap_used)]

use sonyctl_sony::live_view::{
    Frame, FrameGroup, FrameGroupKind, LIVE_VIEW_HEIGHT, LIVE_VIEW_WIDTH, Rect,
};

fn frame(x: u32, y: u32, width: u32, height: u32) -> Frame {
    Frame {
        frame_type: 1,
        state: 2,
        priority: 1,
        x,
        y,
        height,
        width,
    }
}

fn group(x_denominator: u32, y_denominator: u32) -> FrameGroup {
    FrameGroup {
        x_denominator,
        y_denominator,
        frames: Vec::new(),
    }
}

#[test]
fn the_live_view_space_is_640_by_480() {
    assert_eq!((LIVE_VIEW_WIDTH, LIVE_VIEW_HEIGHT), (640, 480));
}

#[test]
fn units_of_a_1024th_pixel_become_pixels() {
    // The denominators real bodies send: 640 × 1024 and 480 × 1024.
    let g = group(640 * 1024, 480 * 1024);
    let r = g
        .rect(&frame(100 * 1024, 50 * 1024, 64 * 1024, 32 * 1024))
        .unwrap();
    assert_eq!(
        r,
        Rect {
            x: 100.0,
            y: 50.0,
            w: 64.0,
            h: 32.0
        }
    );
}

#[test]
fn other_denominators_scale_each_axis() {
    // Fractions of the picture: a quarter across, a half down, a tenth wide, a fifth high.
    let g = group(1000, 10);
    let r = g.rect(&frame(250, 5, 100, 2)).unwrap();
    assert_eq!((r.x, r.y, r.w, r.h), (160.0, 240.0, 64.0, 96.0));
}

#[test]
fn a_zero_denominator_gives_no_rectangle() {
    let f = frame(1, 1, 1, 1);
    assert_eq!(group(0, 480 * 1024).rect(&f), None);
    assert_eq!(group(640 * 1024, 0).rect(&f), None);
    // The largest numerators stay finite.
    let r = group(1, 1)
        .rect(&frame(u32::MAX, u32::MAX, u32::MAX, u32::MAX))
        .unwrap();
    assert!(r.x.is_finite() && r.h.is_finite());
}

#[test]
fn groups_are_named_by_their_place() {
    let kinds: Vec<_> = (0..5).map(FrameGroupKind::from_index).collect();
    assert_eq!(
        kinds,
        [
            Some(FrameGroupKind::Focus),
            Some(FrameGroupKind::Face),
            Some(FrameGroupKind::Tracking),
            Some(FrameGroupKind::Framing),
            None
        ]
    );
}
