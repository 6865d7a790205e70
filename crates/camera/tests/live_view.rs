//! The live-view stream on the simulated camera with virtual time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use sonyctl_camera::{LiveView, LiveViewOptions};

#[tokio::test]
async fn frames_arrive_in_order_as_complete_jpegs() {
    let mut cam = common::open(common::sim("ilce-7sm3", &[], &[])).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    for n in 1..=10 {
        let f = lv.next(&mut cam).await.unwrap();
        assert_eq!(f.sequence, n);
        assert_eq!(f.jpeg[..2], [0xFF, 0xD8]);
        assert_eq!(f.jpeg[f.jpeg.len() - 2..], [0xFF, 0xD9]);
        assert!(!f.af_frames.is_empty());
    }
}
