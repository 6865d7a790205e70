//! Shooting: half press (autofocus), full press (exposure, bulb), the writing phase, the buffer of
//! shots waiting at handle 0xFFFFC001, and reading them out.
//!
//! - S1 (0xD2C1) pressed starts autofocus unless the focus mode is MF: after `af_time` 0xD213
//!   becomes 2 (focused), or 3 (no focus) when the owner made the scene dark. Released, it returns
//!   to 1.
//! - S2 (0xD2C2) or RequestOneShooting (0xD2C7) pressed asks for a shot. It is taken as soon as
//!   focus allows it (MF, or AF focused; a failed AF takes no picture), if the buffer has room.
//!   The exposure lasts the shutter time; BULB lasts until the button is released. With long
//!   exposure noise reduction on, exposures of 1 s or more are followed by as much time again.
//! - While writing, 0xD215 reads 1; then the shot's files go to the buffer, 0xD215 reads
//!   0x8000 | shots waiting, and 0xC201 (0xFFFFC001) is raised. A RAW+JPEG shot is two files but
//!   counts as one shot, as alpha-fairy observed on real bodies.
//! - Continuous drive repeats shots while S2 stays pressed.
//! - With the save destination on the camera's card only (0xD222 = 0x10) nothing reaches the
//!   host.

use std::collections::VecDeque;
use std::time::Duration;

use sonyctl_ptp::{
    Codec, Event, ObjectFormatCode, ObjectInfo, Params, PropertyCode, ResponseCode, Value,
};
use sonyctl_sony::codes::{control, event, handle, prop};
use sonyctl_sony::format_value;
use sonyctl_sony::values::{
    DriveMode, FocusIndication, PendingImages, ShutterSpeed, StillFormat, still_format_property,
};

use crate::camera::{Reply, SimulatedCamera};
use crate::image::{RawShot, ShotFile, ShotInfo, jpeg_file, raw_file};

/// Autofocus state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Focus {
    Idle,
    Focusing { until: Duration },
    Focused,
    Failed,
}

/// Everything about shooting that changes over time.
#[derive(Debug)]
pub(crate) struct CaptureState {
    pub(crate) focus: Focus,
    /// A full press is waiting for focus.
    pub(crate) armed: bool,
    /// The exposure in progress: when it ends (`None`: bulb, until released).
    pub(crate) exposing: Option<Exposure>,
    /// Writing a shot: until when, its files, and its exposure (start, length).
    pub(crate) writing: Option<(Duration, Vec<ShotFile>, (Duration, Duration))>,
    /// Every file delivered toward the host, in order.
    pub(crate) produced: Vec<Produced>,
    /// The host whose last request read the head file to its end: the file leaves the buffer
    /// when that host sends its next request (it got the whole file), and stays if it goes
    /// away first (a cable pulled during the transfer).
    pub(crate) handed_over: Option<crate::camera::ConnectionId>,
    /// Shots waiting for the host, each one or two files, oldest first.
    pub(crate) buffer: VecDeque<VecDeque<ShotFile>>,
    pub(crate) shots: u32,
    pub(crate) dark: bool,
    pub(crate) long_exposure_nr: bool,
    /// Camera time spent exposing and writing, for `--stats`.
    pub(crate) exposing_time: Duration,
    pub(crate) processing_time: Duration,
    /// Camera time spent focusing, for `--stats`.
    pub(crate) focusing_time: Duration,
    /// Next shot of a continuous burst.
    pub(crate) next_burst: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Exposure {
    started: Duration,
    ends: Option<Duration>,
}

impl CaptureState {
    /// An exposure or the writing of a shot is in progress.
    pub(crate) fn exposing_now(&self) -> bool {
        self.exposing.is_some() || self.writing.is_some()
    }
}

impl Default for CaptureState {
    fn default() -> Self {
        CaptureState {
            focus: Focus::Idle,
            armed: false,
            exposing: None,
            writing: None,
            buffer: VecDeque::new(),
            shots: 0,
            dark: false,
            long_exposure_nr: false,
            exposing_time: Duration::ZERO,
            processing_time: Duration::ZERO,
            focusing_time: Duration::ZERO,
            next_burst: None,
            produced: Vec::new(),
            handed_over: None,
        }
    }
}

/// A file the camera put in its buffer for the host, with the shot it came from (tests compare
/// what hosts saved with these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Produced {
    /// Shot number since power-on (files of a RAW+JPEG shot share it).
    pub shot: u32,
    /// The file.
    pub file: ShotFile,
    /// When the exposure started, camera time.
    pub exposure_start: Duration,
    /// How long the shutter was open.
    pub exposure: Duration,
}

/// Time to focus.
const AF_TIME: Duration = Duration::from_millis(200);
/// Time to write a shot (before any noise reduction).
const WRITE_TIME: Duration = Duration::from_millis(300);

impl SimulatedCamera {
    fn movie_state(&self) -> Option<u64> {
        self.value(prop::MOVIE_RECORDING_STATE)
            .and_then(Value::as_u64)
    }

    pub(crate) fn manual_focus(&self) -> bool {
        self.value(prop::FOCUS_MODE).and_then(Value::as_u64) == Some(1)
    }

    /// The shutter time in camera time; `None` for BULB.
    fn shutter_time(&self) -> Option<Duration> {
        let raw = self
            .value(prop::SHUTTER_SPEED)
            .and_then(Value::as_u64)
            .unwrap_or(0x0001_0064);
        match ShutterSpeed::from_value(raw) {
            Some(ShutterSpeed::Bulb) => None,
            Some(ShutterSpeed::Seconds {
                numerator,
                denominator,
            }) if denominator != 0 => Some(Duration::from_nanos(
                u64::from(numerator) * 1_000_000_000 / u64::from(denominator),
            )),
            // No value, or no duration: a short exposure.
            _ => Some(Duration::from_millis(10)),
        }
    }

    fn continuous_interval(&self) -> Option<Duration> {
        let drive = self
            .value(prop::DRIVE_MODE)
            .and_then(Value::as_u64)
            .and_then(DriveMode::from_value)?;
        Some(Duration::from_millis(match drive.code() {
            0x8010 | 0x8011 => 100,
            2 | 0x8015 | 0x8016 => 125,
            0x8012..=0x8014 | 0x8017 => 200,
            _ => return None,
        }))
    }

    pub(crate) fn press(&mut self, code: PropertyCode) {
        match code {
            control::S1_BUTTON => {
                if self.manual_focus() {
                    self.capture.focus = Focus::Idle;
                } else if matches!(self.capture.focus, Focus::Focused) {
                    self.set_now(
                        prop::FOCUS_INDICATION,
                        Value::U8(FocusIndication::Focused.to_raw()),
                    );
                } else {
                    self.capture.focus = Focus::Focusing {
                        until: self.now + AF_TIME,
                    };
                }
            }
            control::S2_BUTTON | control::REQUEST_ONE_SHOOTING => {
                if !self.manual_focus() && self.capture.focus == Focus::Idle {
                    // A full press without a half press focuses first.
                    self.capture.focus = Focus::Focusing {
                        until: self.now + AF_TIME,
                    };
                }
                self.capture.armed = true;
                self.try_shoot();
            }
            control::MOVIE_REC if self.movie_state() == Some(0) => {
                self.set_now(prop::MOVIE_RECORDING_STATE, Value::U8(1));
            }
            _ => {}
        }
    }

    pub(crate) fn release(&mut self, code: PropertyCode) {
        match code {
            control::S1_BUTTON if !self.pressed.contains(&control::S2_BUTTON) => {
                self.capture.focus = Focus::Idle;
                self.set_now(
                    prop::FOCUS_INDICATION,
                    Value::U8(FocusIndication::NotFocused.to_raw()),
                );
            }
            control::S2_BUTTON | control::REQUEST_ONE_SHOOTING => {
                self.capture.armed = false;
                self.capture.next_burst = None;
                if let Some(e) = self.capture.exposing {
                    if e.ends.is_none() {
                        self.end_exposure(self.now);
                    }
                }
                if !self.pressed.contains(&control::S1_BUTTON) {
                    self.capture.focus = Focus::Idle;
                }
            }
            control::MOVIE_REC if self.movie_state() == Some(1) => {
                self.set_now(prop::MOVIE_RECORDING_STATE, Value::U8(0));
            }
            _ => {}
        }
    }

    /// The owner presses the body's shutter button: focus, shoot, release.
    pub fn owner_shutter(&mut self) {
        let host_focus = self.capture.focus;
        self.capture.focus = Focus::Focused;
        self.capture.armed = true;
        self.try_shoot();
        self.capture.armed = false;
        // The owner let go of the button: the focus lock goes with it.
        self.capture.focus = host_focus;
    }

    /// The owner darkens or lights the scene (autofocus fails in the dark).
    pub fn owner_scene_dark(&mut self, dark: bool) {
        self.capture.dark = dark;
    }

    /// The owner switches long-exposure noise reduction.
    pub fn owner_long_exposure_nr(&mut self, on: bool) {
        self.capture.long_exposure_nr = on;
    }

    /// Shots waiting in the buffer.
    pub fn pending_shots(&self) -> usize {
        self.capture.buffer.len()
    }

    /// Every file delivered toward the host since power-on, in order.
    pub fn produced(&self) -> &[Produced] {
        &self.capture.produced
    }

    fn try_shoot(&mut self) {
        let c = &self.capture;
        if !c.armed || c.exposing.is_some() || c.writing.is_some() {
            return;
        }
        let focus_ok = self.manual_focus() || c.focus == Focus::Focused;
        if !focus_ok {
            return;
        }
        if c.buffer.len() >= self.profile.buffer_depth {
            // A full buffer freezes the camera until the host drains it.
            return;
        }
        let ends = self.shutter_time().map(|t| self.now + t);
        self.capture.exposing = Some(Exposure {
            started: self.now,
            ends,
        });
        if ends.is_none()
            && !self.pressed.contains(&control::S2_BUTTON)
            && !self.pressed.contains(&control::REQUEST_ONE_SHOOTING)
        {
            // BULB from the owner's button: a minimal exposure.
            self.capture.exposing = Some(Exposure {
                started: self.now,
                ends: Some(self.now + Duration::from_millis(100)),
            });
        }
    }

    fn end_exposure(&mut self, at: Duration) {
        let Some(e) = self.capture.exposing.take() else {
            return;
        };
        let length = at.saturating_sub(e.started);
        self.capture.exposing_time += length;
        let nr = if self.capture.long_exposure_nr && length >= Duration::from_secs(1) {
            length
        } else {
            Duration::ZERO
        };
        self.capture.shots += 1;
        let files = self.shot_files(self.capture.shots, length);
        self.hostile_names += 1;
        let write = WRITE_TIME + nr;
        self.capture.processing_time += write;
        self.capture.writing = Some((at + write, files, (e.started, length)));
        self.set_now(
            prop::PENDING_IMAGES,
            Value::U16(PendingImages::Writing(1).to_raw()),
        );
        if self.capture.armed && self.continuous_interval().is_some() {
            self.capture.next_burst = self.continuous_interval().map(|i| at + i.max(write));
        }
    }

    fn settings_text(&self) -> String {
        [prop::SHUTTER_SPEED, prop::F_NUMBER, prop::ISO]
            .iter()
            .filter_map(|&c| self.value(c).map(|v| (c, v)))
            .map(|(c, v)| {
                let s = format_value(c, v);
                if c == prop::ISO {
                    format!("ISO {s}")
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn capture_date(&self, at: Duration) -> String {
        let s = at.as_secs();
        format!(
            "20260101T{:02}{:02}{:02}",
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60
        )
    }

    /// The files of shot `number`: JPEG then RAW, as the file format asks.
    fn shot_files(&self, number: u32, _exposure: Duration) -> Vec<ShotFile> {
        let info = ShotInfo {
            model: self.profile.device_info.model.clone(),
            number,
            settings: self.settings_text(),
            capture_date: self.capture_date(self.now),
            raw_size: self.options.raw_size,
        };
        // The Sony layer reads 0xD253 or 0x5004; HEIF is written as a JPEG here, and a value
        // neither names as JPEG alone.
        let format = still_format_property(|c| self.value(c).is_some()).and_then(|code| {
            StillFormat::from_value(code, self.value(code).and_then(Value::as_u64)?)
        });
        let (jpeg, raw) = match format {
            Some(StillFormat::Raw) => (false, true),
            Some(StillFormat::RawJpeg | StillFormat::RawHeif) => (true, true),
            _ => (true, false),
        };
        let mut files = Vec::new();
        if jpeg {
            files.push(jpeg_file(&info));
        }
        if raw {
            let format = self.profile.raw.clone();
            let kind = format.kind(self.value(prop::RAW_FILE_TYPE).and_then(Value::as_u64));
            files.push(raw_file(&info, &RawShot { format, kind }));
        }
        if self.has_fault(crate::script::Fault::HostileFilename) {
            let names = crate::script::HOSTILE_NAMES;
            let name = names
                .get(self.hostile_names % names.len())
                .copied()
                .unwrap_or("");
            for f in &mut files {
                f.filename = match (f.format, name.strip_suffix(".JPG")) {
                    (0xB101, Some(stem)) => format!("{stem}.ARW"),
                    _ => name.to_string(),
                };
            }
        }
        files
    }

    fn update_pending(&mut self) {
        let waiting = self.capture.buffer.len();
        let v = if waiting == 0 && self.has_fault(crate::script::Fault::PhantomPending) {
            // What an ILCE-6400 reports with nothing behind it (libgphoto2 #1058).
            PendingImages::Invalid(0xFFFB)
        } else {
            // Real bodies count at most a byte's worth; more waiting still reads as ready.
            PendingImages::waiting(waiting)
        };
        self.set_now(prop::PENDING_IMAGES, Value::U16(v.to_raw()));
    }

    /// The earliest time the shooting pipeline will act by itself.
    pub(crate) fn capture_deadline(&self) -> Option<Duration> {
        let c = &self.capture;
        [
            match c.focus {
                Focus::Focusing { until } => Some(until),
                _ => None,
            },
            c.exposing.and_then(|e| e.ends),
            c.writing.as_ref().map(|(t, _, _)| *t),
            c.next_burst,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the shooting pipeline up to `now`, one step at a time in time order.
    pub(crate) fn advance_capture(&mut self, now: Duration) {
        while let Some(t) = self.capture_deadline().filter(|&t| t <= now) {
            let saved = self.now;
            self.now = t;
            if let Focus::Focusing { until } = self.capture.focus {
                if until == t {
                    let (focus, indication) = if self.capture.dark {
                        (Focus::Failed, FocusIndication::Failed.to_raw())
                    } else {
                        (Focus::Focused, FocusIndication::Focused.to_raw())
                    };
                    self.capture.focus = focus;
                    self.capture.focusing_time += AF_TIME;
                    self.set_now(prop::FOCUS_INDICATION, Value::U8(indication));
                    self.try_shoot();
                }
            }
            if self.capture.exposing.and_then(|e| e.ends) == Some(t) {
                self.end_exposure(t);
            }
            if self.capture.writing.as_ref().map(|(w, _, _)| *w) == Some(t) {
                if let Some((_, files, (started, length))) = self.capture.writing.take() {
                    let to_host = self
                        .value(prop::SAVE_DESTINATION)
                        .and_then(Value::as_u64)
                        .is_none_or(|d| d & 0x01 != 0);
                    if to_host && !files.is_empty() {
                        let shot = self.capture.shots;
                        self.capture.produced.extend(files.iter().map(|f| Produced {
                            shot,
                            file: f.clone(),
                            exposure_start: started,
                            exposure: length,
                        }));
                        self.capture.buffer.push_back(files.into());
                        self.emit(Event {
                            code: event::OBJECT_ADDED,
                            transaction_id: sonyctl_ptp::container::EVENT_TRANSACTION_ID,
                            params: Params::new(&[handle::CAPTURED_IMAGE]).unwrap_or_default(),
                        });
                    }
                    self.update_pending();
                }
            }
            if self.capture.next_burst == Some(t) {
                self.capture.next_burst = None;
                self.try_shoot();
            }
            self.now = saved.max(t);
        }
    }

    /// A frame of a continuous burst is exposing (its end is known: not bulb).
    fn frame_exposing(&self) -> bool {
        self.capture.armed
            && self.continuous_interval().is_some()
            && self.capture.exposing.is_some_and(|e| e.ends.is_some())
    }

    fn head_file(&self) -> Option<&ShotFile> {
        if self.capture.writing.is_some() {
            // 0xD215 reads 1: touching the handle now would crash a real body; refuse.
            return None;
        }
        self.capture.buffer.front().and_then(|s| s.front())
    }

    pub(crate) fn take_head_file(&mut self) {
        if let Some(shot) = self.capture.buffer.front_mut() {
            shot.pop_front();
            if shot.is_empty() {
                self.capture.buffer.pop_front();
            }
        }
        self.update_pending();
        self.try_shoot();
    }

    pub(crate) fn object_info(&mut self, handle: u32) -> Reply {
        let phantom = self.capture.buffer.is_empty()
            && self.capture.writing.is_none()
            && handle == handle::CAPTURED_IMAGE
            && self.has_fault(crate::script::Fault::PhantomPending);
        if phantom {
            // An ObjectInfo with nothing in it.
            let empty = ObjectInfo::default();
            return empty
                .to_bytes()
                .map_or_else(|_| Reply::code(ResponseCode::GENERAL_ERROR), Reply::data);
        }
        let Some(f) = self
            .head_file()
            .filter(|_| handle == handle::CAPTURED_IMAGE)
        else {
            return Reply::code(ResponseCode::INVALID_OBJECT_HANDLE);
        };
        let info = ObjectInfo {
            storage_id: 0x0001_0000,
            object_format: ObjectFormatCode(f.format),
            protection_status: 0,
            object_compressed_size: u32::try_from(f.size()).unwrap_or(u32::MAX),
            thumb_format: ObjectFormatCode(0x3801),
            thumb_compressed_size: 0,
            thumb_pix_width: 0,
            thumb_pix_height: 0,
            image_pix_width: f.width,
            image_pix_height: f.height,
            image_bit_depth: 0,
            parent_object: 0,
            association_type: 0,
            association_desc: 0,
            sequence_number: 0,
            filename: f.filename.clone(),
            capture_date: f.capture_date.clone(),
            modification_date: f.capture_date.clone(),
            keywords: String::new(),
        };
        let reply = info.to_bytes();
        if reply.is_ok()
            && self.frame_exposing()
            && self.once(crate::script::Fault::NextFrameWriting)
        {
            // The next frame of the burst starts writing now, before the host asks for this
            // object: until it is written, 0xFFFFC001 is not handed over.
            self.end_exposure(self.now);
        }
        match reply {
            Ok(b) => Reply::data(b),
            // A file name too long for a PTP string.
            Err(_) => Reply::code(ResponseCode::GENERAL_ERROR),
        }
    }

    /// GetObject (whole) or GetPartialObject (`Some((offset, max))`). The file is consumed when
    /// its last byte has been read.
    pub(crate) fn object_data(
        &mut self,
        id: crate::camera::ConnectionId,
        handle: u32,
        part: Option<(u64, u64)>,
    ) -> Reply {
        let Some(f) = self
            .head_file()
            .filter(|_| handle == handle::CAPTURED_IMAGE)
        else {
            return Reply::code(ResponseCode::INVALID_OBJECT_HANDLE);
        };
        let size = f.size();
        let (offset, max) = part.unwrap_or((0, size));
        let data = f.read(offset, max);
        let consumed = offset + data.len() as u64 >= size;
        let sent = data.len() as u32;
        if data.len() > 1024 && self.once(crate::script::Fault::DisconnectMidData) {
            // The link drops halfway through: the file stays in the buffer for the next try.
            let half = data.len() / 2;
            return Reply {
                wire: Some(crate::script::WireFault::CutDataAfter(half)),
                ..Reply::data(data)
            };
        }
        if consumed {
            if data.len() > 1024 && self.once(crate::script::Fault::DisconnectAfterData) {
                // This camera counts the image as read the moment it sent it.
                self.take_head_file();
                // Every byte goes out, then the link drops before the response.
                let all = data.len();
                return Reply {
                    wire: Some(crate::script::WireFault::CutDataAfter(all)),
                    ..Reply::data(data)
                };
            }
            self.capture.handed_over = Some(id);
        }
        Reply {
            params: if part.is_some() {
                Params::new(&[sent]).unwrap_or_default()
            } else {
                Params::NONE
            },
            ..Reply::data(data)
        }
    }
}
