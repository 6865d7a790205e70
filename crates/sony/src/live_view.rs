//! The live-view dataset (GetObject 0xFFFFC002, and the Wi-Fi live-view stream):
//!
//! ```text
//! u32 image offset | u32 image size | u32 focal-frame info offset | u32 focal-frame info size
//! … focal-frame info at its offset … JPEG at the image offset
//! ```
//! The declared image size is rounded up (to 128 bytes on the bodies seen), with junk after the
//! JPEG's end marker, so the JPEG's end is found by walking its markers to EOI.
//!
//! This module is the one home of the layout both ways: hosts decode with
//! [`LiveViewFrame::decode`], the simulated camera writes with [`encode_dataset`] and
//! [`FocalFrameInfo::encode`].

use sonyctl_ptp::{DecodeError, DecodeErrorKind, EncodeError, Reader, Writer};

use crate::values::AfPoint;

/// Size of the fixed header.
pub const HEADER_LEN: usize = 16;
/// Offset of the first frame group inside the focal-frame info.
const FOCAL_GROUPS_START: usize = 56;
/// Size of one frame rectangle.
const FRAME_LEN: usize = 24;
/// Frame coordinates are in 1/1024 of a pixel of the 640×480 live-view space (fact sheet §8.2).
pub const UNITS_PER_PIXEL: u32 = 1024;
/// Size of a frame group's header.
const GROUP_HEADER_LEN: usize = 16;
/// Frame groups defined so far (focus, face, tracking, framing).
const MAX_GROUPS: usize = 4;

/// A decoded live-view dataset. The JPEG is not copied: [`LiveViewFrame::jpeg`] borrows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LiveViewFrame {
    /// Declared offset of the JPEG.
    pub image_offset: u32,
    /// Declared size of the JPEG (rounded up; not trusted).
    pub image_size: u32,
    /// Offset of the focal-frame info (0 when absent).
    pub focal_frame_offset: u32,
    /// Size of the focal-frame info (0 when absent).
    pub focal_frame_size: u32,
    /// The focal-frame info, when present and decodable.
    pub focal_frames: Option<FocalFrameInfo>,
    /// Why the focal-frame info the header declares did not decode (the JPEG is still good).
    pub focal_frame_error: Option<String>,
    /// Where the JPEG really is: from SOI to the end of EOI.
    pub jpeg_start: usize,
    /// Length of the JPEG up to and including EOI.
    pub jpeg_len: usize,
}

/// Focus, face, tracking and framing frames drawn over the live view.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FocalFrameInfo {
    /// Version × 100 (100, 101, 104 …).
    pub version: u16,
    /// Frame groups in order: focus, face, tracking, framing.
    pub groups: Vec<FrameGroup>,
}

/// One group of frames; coordinates are `numerator / denominator` of the 640×480 frame.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FrameGroup {
    /// Denominator of x coordinates (640 × 1024 on the bodies seen).
    pub x_denominator: u32,
    /// Denominator of y coordinates (480 × 1024).
    pub y_denominator: u32,
    /// The frames.
    pub frames: Vec<Frame>,
}

/// One frame rectangle.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    /// Frame type.
    pub frame_type: u16,
    /// Frame state (e.g. focused).
    pub state: u16,
    /// Priority.
    pub priority: u8,
    /// Left, as a numerator.
    pub x: u32,
    /// Top, as a numerator.
    pub y: u32,
    /// Height, as a numerator.
    pub height: u32,
    /// Width, as a numerator.
    pub width: u32,
}

impl LiveViewFrame {
    /// Decodes a live-view dataset.
    pub fn decode(bytes: &[u8]) -> Result<LiveViewFrame, DecodeError> {
        let mut r = Reader::new(bytes);
        r.within("LiveViewDataset", |r| {
            let image_offset = r.u32()?;
            let image_size = r.u32()?;
            let focal_frame_offset = r.u32()?;
            let focal_frame_size = r.u32()?;
            let region = |off: u32, size: u32, field: &'static str| {
                let start = off as usize;
                let end = start
                    .checked_add(size as usize)
                    .filter(|&e| e <= bytes.len());
                match end {
                    Some(end) if start >= HEADER_LEN || size == 0 => Ok(start..end),
                    _ => Err(r.error_at(
                        0,
                        DecodeErrorKind::Invalid(format!(
                            "{field} {off:#x}+{size} lies outside the {} bytes of input",
                            bytes.len()
                        )),
                    )),
                }
            };
            // Bad focal-frame info costs the frames drawn over the picture, not the picture.
            let (focal_frames, focal_frame_error) = if focal_frame_size == 0 {
                (None, None)
            } else {
                let info = region(focal_frame_offset, focal_frame_size, "focal-frame info")
                    .and_then(|range| {
                        let start = range.start;
                        let slice = bytes.get(range).unwrap_or(&[]);
                        FocalFrameInfo::decode(&mut Reader::with_base(slice, start))
                    });
                match info {
                    Ok(info) => (Some(info), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            };
            let range = region(image_offset, image_size, "image")?;
            let jpeg_start = range.start;
            let image = bytes.get(range).unwrap_or(&[]);
            let jpeg_len = jpeg_end(image).map_err(|(at, why)| {
                r.error_at(jpeg_start + at, DecodeErrorKind::Invalid(why.into()))
            })?;
            Ok(LiveViewFrame {
                image_offset,
                image_size,
                focal_frame_offset,
                focal_frame_size,
                focal_frames,
                focal_frame_error,
                jpeg_start,
                jpeg_len,
            })
        })
    }

    /// The JPEG bytes (SOI to EOI inclusive) inside the `bytes` this frame was decoded from.
    pub fn jpeg<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes
            .get(self.jpeg_start..self.jpeg_start + self.jpeg_len)
            .unwrap_or(&[])
    }
}

impl FocalFrameInfo {
    fn decode(r: &mut Reader<'_>) -> Result<FocalFrameInfo, DecodeError> {
        r.within("FocalFrameInfo", |r| {
            let version = r.u16()?;
            r.take(FOCAL_GROUPS_START - 2)?;
            // Focus, face, tracking and framing frames: at most four groups; what follows them
            // inside the declared size is padding (the USB layout declares 0x200 bytes). The
            // groups the version defines must decode; past them (and for versions no source
            // describes) the groups end quietly at what does not.
            let required = groups_for_version(version).unwrap_or(0);
            let mut groups = Vec::new();
            while groups.len() < MAX_GROUPS && r.remaining() >= GROUP_HEADER_LEN {
                match FrameGroup::decode(r) {
                    Ok(g) => groups.push(g),
                    Err(e) if groups.len() < required => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(FocalFrameInfo { version, groups })
        })
    }
}

/// The frame groups focal-frame info of `version` defines (fact sheet §8.2): 101 and 102 have
/// three (focus, face, tracking), 103 and 104 four (framing too); `None` for other versions.
/// Bodies that send version 100 or 101 were seen to send a fourth group as well, which is
/// decoded when it is there.
pub fn groups_for_version(version: u16) -> Option<usize> {
    match version {
        101 | 102 => Some(3),
        103 | 104 => Some(4),
        _ => None,
    }
}

impl FrameGroup {
    /// One group: its header, then its frames.
    fn decode(r: &mut Reader<'_>) -> Result<FrameGroup, DecodeError> {
        let x_denominator = r.u32()?;
        let y_denominator = r.u32()?;
        let at = r.offset();
        let count = r.u16()?;
        r.take(6)?;
        let n = r.check_count(at, count.into(), FRAME_LEN)?;
        let frames = (0..n)
            .map(|_| {
                let frame_type = r.u16()?;
                let state = r.u16()?;
                let priority = r.u8()?;
                r.take(3)?;
                Ok(Frame {
                    frame_type,
                    state,
                    priority,
                    x: r.u32()?,
                    y: r.u32()?,
                    height: r.u32()?,
                    width: r.u32()?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        Ok(FrameGroup {
            x_denominator,
            y_denominator,
            frames,
        })
    }
}

impl FocalFrameInfo {
    /// Decodes focal-frame info on its own (the bytes at the header's offset, as long as its
    /// declared size): up to four groups, anything after them is padding.
    pub fn decode_bytes(bytes: &[u8]) -> Result<FocalFrameInfo, DecodeError> {
        FocalFrameInfo::decode(&mut Reader::new(bytes))
    }

    /// The length of [`FocalFrameInfo::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        FOCAL_GROUPS_START
            + self
                .groups
                .iter()
                .map(|g| GROUP_HEADER_LEN + FRAME_LEN * g.frames.len())
                .sum::<usize>()
    }

    /// The wire form: version, reserved bytes (zero), then each group's header and frames.
    /// At most four groups (focus, face, tracking, framing) and 65535 frames a group.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.groups.len() > MAX_GROUPS {
            return Err(EncodeError::TooManyItems(self.groups.len()));
        }
        let mut out = Vec::with_capacity(self.encoded_len());
        out.put_u16(self.version);
        out.resize(FOCAL_GROUPS_START, 0);
        for g in &self.groups {
            let count = u16::try_from(g.frames.len())
                .map_err(|_| EncodeError::TooManyItems(g.frames.len()))?;
            out.put_u32(g.x_denominator);
            out.put_u32(g.y_denominator);
            out.put_u16(count);
            out.extend_from_slice(&[0; 6]);
            for f in &g.frames {
                out.put_u16(f.frame_type);
                out.put_u16(f.state);
                out.put_u8(f.priority);
                out.extend_from_slice(&[0; 3]);
                out.put_u32(f.x);
                out.put_u32(f.y);
                out.put_u32(f.height);
                out.put_u32(f.width);
            }
        }
        Ok(out)
    }
}

impl FrameGroup {
    /// A group in the 640×480 space with the denominators the bodies seen use (640 × 1024 and
    /// 480 × 1024).
    pub fn new(frames: Vec<Frame>) -> FrameGroup {
        FrameGroup {
            x_denominator: u32::from(AfPoint::WIDTH) * UNITS_PER_PIXEL,
            y_denominator: u32::from(AfPoint::HEIGHT) * UNITS_PER_PIXEL,
            frames,
        }
    }
}

/// Where the parts of a dataset go.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DatasetLayout {
    /// Offset of the focal-frame info.
    pub focal_frame_offset: u32,
    /// Its declared size (the info is zero-filled up to it).
    pub focal_frame_size: u32,
    /// Offset of the JPEG.
    pub image_offset: u32,
}

impl DatasetLayout {
    /// The USB layout (fact sheet §8.2, from CrCmd.tab5's sample): focal-frame info at 0x1F4
    /// declared 0x200 bytes long, the JPEG at 0x3F4.
    pub const USB: DatasetLayout = DatasetLayout {
        focal_frame_offset: 0x1F4,
        focal_frame_size: 0x200,
        image_offset: 0x3F4,
    };
}

/// Writes a live-view dataset: the header, the focal-frame info at its offset zero-filled to its
/// declared size (offset and size 0 in the header without one), the JPEG at its offset, then
/// `padding`. The declared image size covers the JPEG and the padding, as real bodies round it
/// up with junk after the end marker.
pub fn encode_dataset(
    layout: &DatasetLayout,
    focal_frames: Option<&FocalFrameInfo>,
    jpeg: &[u8],
    padding: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let ffi_start = layout.focal_frame_offset as usize;
    let ffi_room = layout.focal_frame_size as usize;
    let image_start = layout.image_offset as usize;
    if image_start < HEADER_LEN {
        return Err(EncodeError::DoesNotFit {
            what: "header",
            len: HEADER_LEN,
            room: image_start,
        });
    }
    let image_size = jpeg.len() + padding.len();
    let declared = u32::try_from(image_size).map_err(|_| EncodeError::TooLarge(image_size))?;
    let mut out = Vec::with_capacity(image_start + image_size);
    let (ffi_offset, ffi_size) = match focal_frames {
        Some(_) => (layout.focal_frame_offset, layout.focal_frame_size),
        None => (0, 0),
    };
    for v in [layout.image_offset, declared, ffi_offset, ffi_size] {
        out.put_u32(v);
    }
    if let Some(ffi) = focal_frames {
        let room_before_image = image_start.saturating_sub(ffi_start);
        if ffi_start < HEADER_LEN || ffi_room > room_before_image {
            return Err(EncodeError::DoesNotFit {
                what: "focal-frame info region",
                len: ffi_room,
                room: room_before_image,
            });
        }
        let bytes = ffi.encode()?;
        if bytes.len() > ffi_room {
            return Err(EncodeError::DoesNotFit {
                what: "focal-frame info",
                len: bytes.len(),
                room: ffi_room,
            });
        }
        out.resize(ffi_start, 0);
        out.extend_from_slice(&bytes);
    }
    out.resize(image_start, 0);
    out.extend_from_slice(jpeg);
    out.extend_from_slice(padding);
    Ok(out)
}

/// Length of the JPEG at the start of `data` up to and including its EOI marker, found by walking
/// the marker segments and the entropy-coded data (so an FF D9 inside a segment is not mistaken
/// for the end). Errors carry the offset within `data`.
pub fn jpeg_end(data: &[u8]) -> Result<usize, (usize, &'static str)> {
    let byte = |i: usize| data.get(i).copied();
    if data.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err((0, "no JPEG start marker (FF D8) at the image offset"));
    }
    let mut pos = 2;
    loop {
        if byte(pos) != Some(0xFF) {
            return Err((pos, "JPEG marker expected"));
        }
        while byte(pos + 1) == Some(0xFF) {
            pos += 1; // fill bytes
        }
        let Some(marker) = byte(pos + 1) else {
            return Err((pos, "JPEG ends without an end marker (FF D9)"));
        };
        match marker {
            0xD9 => return Ok(pos + 2),
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let (Some(hi), Some(lo)) = (byte(pos + 2), byte(pos + 3)) else {
                    return Err((pos, "JPEG segment length missing"));
                };
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                if len < 2 || pos + 2 + len > data.len() {
                    return Err((pos, "JPEG segment runs past the image"));
                }
                pos += 2 + len;
                if marker == 0xDA {
                    // Entropy-coded data: runs until an FF that is not stuffing (FF 00) or a
                    // restart marker.
                    loop {
                        match (byte(pos), byte(pos + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => pos += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => pos += 1,
                            (None, _) => {
                                return Err((pos, "JPEG ends without an end marker (FF D9)"));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Width of the live-view space that focal-frame coordinates and the AF point (0xD2DC) refer to
/// (the space is [`AfPoint`]'s).
pub const LIVE_VIEW_WIDTH: u32 = AfPoint::WIDTH as u32;
/// Height of the live-view space.
pub const LIVE_VIEW_HEIGHT: u32 = AfPoint::HEIGHT as u32;

/// A rectangle in the 640×480 live-view space (pixels, fractional).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

/// What a frame group holds, by its place in the focal-frame info (fact sheet §8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameGroupKind {
    /// Group 0: focus (AF) frames.
    Focus,
    /// Group 1: face frames (version 1.01 and later).
    Face,
    /// Group 2: tracking frames (version 1.01 and later).
    Tracking,
    /// Group 3: framing frames (version 1.03 and later).
    Framing,
}

impl FrameGroupKind {
    /// The kind of the group at `index` in [`FocalFrameInfo::groups`]; `None` past the four known.
    pub fn from_index(index: usize) -> Option<FrameGroupKind> {
        [
            FrameGroupKind::Focus,
            FrameGroupKind::Face,
            FrameGroupKind::Tracking,
            FrameGroupKind::Framing,
        ]
        .get(index)
        .copied()
    }
}

impl FrameGroup {
    /// `f`, one of this group's frames, in the 640×480 live-view space: each coordinate is its
    /// numerator over the group's denominator for its axis, times the space's size on that axis.
    /// `None` when a denominator is 0 (the group says nothing usable).
    pub fn rect(&self, f: &Frame) -> Option<Rect> {
        if self.x_denominator == 0 || self.y_denominator == 0 {
            return None;
        }
        let sx = f64::from(LIVE_VIEW_WIDTH) / f64::from(self.x_denominator);
        let sy = f64::from(LIVE_VIEW_HEIGHT) / f64::from(self.y_denominator);
        Some(Rect {
            x: (f64::from(f.x) * sx) as f32,
            y: (f64::from(f.y) * sy) as f32,
            w: (f64::from(f.width) * sx) as f32,
            h: (f64::from(f.height) * sy) as f32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_end_skips_markers_inside_segments_and_stuffing() {
        // SOI, APP0 whose body contains FF D9, SOS, data with stuffing and a restart, EOI, junk.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF,
            0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9, 0xAA, 0xBB,
        ];
        assert_eq!(jpeg_end(&jpeg), Ok(21));
        assert!(jpeg_end(&jpeg[..20]).is_err());
        assert!(jpeg_end(&[0x00, 0xD8]).is_err());
    }

    /// The USB layout of the fact sheet: focal-frame info at 0x1F4 declared 0x200 bytes long,
    /// JPEG at 0x3F4; four empty groups and then padding.
    #[test]
    fn usb_layout_with_padding() {
        let mut b = vec![0u8; 0x3F4];
        b[0..4].copy_from_slice(&0x3F4u32.to_le_bytes());
        b[4..8].copy_from_slice(&4u32.to_le_bytes());
        b[8..12].copy_from_slice(&0x1F4u32.to_le_bytes());
        b[12..16].copy_from_slice(&0x200u32.to_le_bytes());
        b[0x1F4..0x1F6].copy_from_slice(&104u16.to_le_bytes());
        for g in 0..4 {
            let at = 0x1F4 + 56 + g * 16;
            b[at..at + 4].copy_from_slice(&(640u32 * 1024).to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&(480u32 * 1024).to_le_bytes());
        }
        b.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xD9]);
        let lv = LiveViewFrame::decode(&b).unwrap();
        assert_eq!(lv.jpeg(&b), [0xFF, 0xD8, 0xFF, 0xD9]);
        let f = lv.focal_frames.unwrap();
        assert_eq!((f.version, f.groups.len()), (104, 4));
    }

    #[test]
    fn header_outside_input_is_an_error() {
        let mut b = vec![0u8; 16];
        b[0] = 0x10;
        b[4] = 0xFF;
        assert!(LiveViewFrame::decode(&b).is_err());
        assert!(LiveViewFrame::decode(&b[..10]).is_err());
    }
}
