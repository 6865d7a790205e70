//! Downloading into sinks other than a file, through the facade on the simulated camera with
//! virtual time: the bytes are the ones the simulated camera produced, a dropped link fetches
//! the object again from its first byte, and a sink that refuses leaves the image in the camera.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sonyctl_camera::save::{DiscardSink, MemorySink, SaveError, Saver, Sink};
use sonyctl_camera::{
    Camera, Cancel, CaptureError, CaptureOptions, CaptureSession, Observer, Quiet,
};
use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sim::Fault;
use sonyctl_sony::codes::prop;

const FILE_FORMAT: PropertyCode = prop::FILE_FORMAT;

mod common;

async fn open(model: &str, faults: &[Fault]) -> Camera {
    common::open(common::sim(model, faults, &[])).await
}

/// The owner presses the shutter; a second later (camera time) the image waits.
async fn owner_shot(s: &mut CaptureSession<'_>) {
    s.camera()
        .link_mut()
        .simulated_mut()
        .unwrap()
        .owner_shutter();
    s.camera().link_mut().sleep(Duration::from_secs(1)).await;
}

fn produced(cam: &mut Camera) -> Vec<Vec<u8>> {
    cam.link()
        .simulated()
        .unwrap()
        .produced()
        .iter()
        .map(|p| p.file.bytes())
        .collect()
}

fn pending(cam: &mut Camera) -> usize {
    cam.link().simulated().unwrap().pending_shots()
}

/// A memory sink that records how it was driven.
struct Recording {
    inner: MemorySink,
    abandoned_after: Vec<u64>,
    finished: usize,
}

impl Recording {
    fn new(limit: u64) -> Recording {
        Recording {
            inner: MemorySink::new(limit),
            abandoned_after: Vec::new(),
            finished: 0,
        }
    }
}

impl Sink for Recording {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        self.inner.write(piece)
    }
    fn written(&self) -> u64 {
        self.inner.written()
    }
    fn reserve(&mut self, size: u64) -> io::Result<()> {
        self.inner.reserve(size)
    }
    fn finish(&mut self) -> io::Result<()> {
        self.finished += 1;
        self.inner.finish()
    }
    fn abandon(&mut self) -> io::Result<()> {
        self.abandoned_after.push(self.inner.written());
        self.inner.abandon()
    }
    fn keep_incomplete(&mut self) -> io::Result<Option<PathBuf>> {
        self.inner.keep_incomplete()
    }
}

#[derive(Default)]
struct Notices(Vec<String>, Vec<String>);

impl Observer for Notices {
    fn notice(&mut self, m: &str) {
        self.0.push(m.to_owned());
    }
    fn download_started(&mut self, meta: &sonyctl_camera::save::ObjectMeta) {
        self.1.push(meta.filename.clone());
    }
}

async fn session<'a>(cam: &'a mut Camera, saver: &'a Saver) -> CaptureSession<'a> {
    let (s, waiting) = CaptureSession::begin(
        cam,
        saver,
        CaptureOptions::default(),
        Cancel::new(),
        &mut Quiet,
    )
    .await
    .unwrap();
    assert!(waiting.is_empty());
    s
}

#[tokio::test]
async fn a_waiting_image_arrives_in_memory_byte_identical() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[]).await;
    let mut s = session(&mut cam, &saver).await;
    let mut sink = MemorySink::new(64 << 20);
    // Nothing waits yet: nothing is fetched.
    assert_eq!(
        s.download_waiting_to(&mut sink, &mut Quiet).await.unwrap(),
        None
    );
    assert_eq!(sink.written(), 0);
    owner_shot(&mut s).await;
    let mut log = Notices::default();
    let meta = s
        .download_waiting_to(&mut sink, &mut log)
        .await
        .unwrap()
        .expect("an image waits");
    assert!(sink.is_finished());
    assert_eq!(meta.size, Some(sink.written()));
    assert_eq!(log.1.len(), 1);
    assert_eq!(log.1[0], meta.filename);
    // Taken out of the camera: the next call finds nothing.
    assert_eq!(
        s.download_waiting_to(&mut DiscardSink::new(), &mut Quiet)
            .await
            .unwrap(),
        None
    );
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.into_bytes()]);
    assert_eq!(pending(&mut cam), 0);
    // Nothing was written to disk.
    assert_eq!(
        std::fs::read_dir(root.path().join("out")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn an_image_held_back_leaves_the_sink_empty_and_arrives_when_asked_again() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let (mut cam, refuse) =
        common::open_wired(common::sim("ilce-7sm3", &[], &[]), Duration::ZERO, 1).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    // The camera answers the GetObject with InvalidObjectHandle, as while it writes another
    // frame: nothing is fetched, the sink holds nothing, and the image stays in the camera.
    refuse.store(1, Ordering::SeqCst);
    let mut sink = Recording::new(64 << 20);
    assert_eq!(
        s.download_waiting_to(&mut sink, &mut Quiet).await.unwrap(),
        None
    );
    assert_eq!(refuse.load(Ordering::SeqCst), 0, "the refusal was used");
    assert_eq!((sink.written(), sink.finished), (0, 0));
    assert_eq!(pending(s.camera()), 1);
    let meta = s
        .download_waiting_to(&mut sink, &mut Quiet)
        .await
        .unwrap()
        .expect("handed over the second time");
    assert_eq!(meta.size, Some(sink.written()));
    assert_eq!(sink.finished, 1);
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.inner.into_bytes()]);
    assert_eq!(pending(&mut cam), 0);
}

#[tokio::test]
async fn tethering_saves_an_image_the_camera_held_back_once() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let (mut cam, refuse) =
        common::open_wired(common::sim("ilce-7sm3", &[], &[]), Duration::ZERO, 1).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    refuse.store(1, Ordering::SeqCst);
    // The image is asked for again once the camera has had its say (events, or a poll).
    let files = s
        .tether_once(Duration::from_secs(1), &mut Quiet)
        .await
        .unwrap();
    assert_eq!(refuse.load(Ordering::SeqCst), 0, "the refusal was used");
    assert_eq!(files.len(), 1);
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(
        produced(&mut cam),
        [std::fs::read(&files[0].file.path).unwrap()]
    );
    // Only the saved file is on disk: the refused download left no temporary file.
    let on_disk: Vec<_> = std::fs::read_dir(root.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(on_disk, [files[0].file.path.clone()]);
}

#[tokio::test]
async fn raw_plus_jpeg_comes_one_object_per_call_and_discarding_counts() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[]).await;
    cam.link_mut()
        .simulated_mut()
        .unwrap()
        .owner_set(FILE_FORMAT, Value::U8(2))
        .unwrap();
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut memory = MemorySink::new(64 << 20);
    let mut discard = DiscardSink::new();
    let first = s
        .download_waiting_to(&mut memory, &mut Quiet)
        .await
        .unwrap();
    let second = s
        .download_waiting_to(&mut discard, &mut Quiet)
        .await
        .unwrap();
    assert!(discard.is_finished());
    assert_eq!(second.unwrap().size, Some(discard.written()));
    assert!(first.is_some());
    assert_eq!(
        s.download_waiting_to(&mut discard, &mut Quiet)
            .await
            .unwrap(),
        None
    );
    s.finish(&mut Quiet).await.unwrap();
    let made = produced(&mut cam);
    assert_eq!(made.len(), 2);
    assert_eq!(made[0], memory.bytes());
    assert_eq!(made[1].len() as u64, discard.written());
}

#[tokio::test]
async fn a_drop_mid_download_into_memory_fetches_again_from_the_start() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[Fault::DisconnectMidData]).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut sink = Recording::new(64 << 20);
    let mut log = Notices::default();
    let meta = s
        .download_waiting_to(&mut sink, &mut log)
        .await
        .unwrap()
        .expect("an image waits");
    assert!(
        log.0.iter().any(|n| n.contains("reconnected")),
        "{:?}",
        log.0
    );
    // Half of it arrived, was forgotten, and the whole object came again.
    assert_eq!(sink.abandoned_after.len(), 1);
    assert!(sink.abandoned_after[0] > 0);
    assert!(Some(sink.abandoned_after[0]) < meta.size);
    assert_eq!(sink.finished, 1);
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.inner.into_bytes()]);
    assert_eq!(pending(&mut cam), 0);
}

#[tokio::test]
async fn a_drop_after_every_byte_keeps_the_object_the_camera_let_go() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[Fault::DisconnectAfterData]).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut sink = Recording::new(64 << 20);
    s.download_waiting_to(&mut sink, &mut Quiet)
        .await
        .unwrap()
        .expect("an image waits");
    assert!(sink.abandoned_after.is_empty());
    assert_eq!(sink.finished, 1);
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.inner.into_bytes()]);
}

#[tokio::test]
async fn a_sink_too_small_leaves_the_image_in_the_camera() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[]).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut small = MemorySink::new(1000);
    match s.download_waiting_to(&mut small, &mut Quiet).await {
        Err(CaptureError::Save(SaveError::Sink(e))) => {
            assert!(e.to_string().contains("limit of 1000 bytes"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(small.written(), 0);
    // Still there: the next sink gets it whole.
    let mut big = MemorySink::new(64 << 20);
    assert!(
        s.download_waiting_to(&mut big, &mut Quiet)
            .await
            .unwrap()
            .is_some()
    );
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [big.into_bytes()]);
}

/// A sink that accepts any announced size, then keeps part of a piece and fails (a disk that
/// fills up).
struct Failing(MemorySink);

impl Sink for Failing {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        self.0.write(piece.get(..10).unwrap_or(piece))?;
        Err(io::Error::new(io::ErrorKind::StorageFull, "full"))
    }
    fn written(&self) -> u64 {
        self.0.written()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
    fn abandon(&mut self) -> io::Result<()> {
        self.0.abandon()
    }
}

#[tokio::test]
async fn a_failing_sink_stops_the_transfer_and_the_image_stays() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[]).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut failing = Failing(MemorySink::new(64 << 20));
    match s.download_waiting_to(&mut failing, &mut Quiet).await {
        Err(CaptureError::Save(SaveError::Sink(e))) => {
            assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Abandoned: nothing half-written is left looking like an image.
    assert_eq!(failing.written(), 0);
    assert!(!failing.0.is_finished());
    let mut sink = MemorySink::new(64 << 20);
    assert!(
        s.download_waiting_to(&mut sink, &mut Quiet)
            .await
            .unwrap()
            .is_some()
    );
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.into_bytes()]);
}

/// A sink that takes every byte, then fails to complete the object (a disk whose last write or
/// sync fails).
struct FailingFinish(MemorySink);

impl Sink for FailingFinish {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        self.0.write(piece)
    }
    fn written(&self) -> u64 {
        self.0.written()
    }
    fn finish(&mut self) -> io::Result<()> {
        Err(io::Error::other("sync failed"))
    }
    fn abandon(&mut self) -> io::Result<()> {
        self.0.abandon()
    }
}

#[tokio::test]
async fn a_sink_that_cannot_finish_leaves_the_image_in_the_camera() {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    let mut cam = open("ilce-7sm3", &[]).await;
    let mut s = session(&mut cam, &saver).await;
    owner_shot(&mut s).await;
    let mut failing = FailingFinish(MemorySink::new(64 << 20));
    let mut log = Notices::default();
    match s.download_waiting_to(&mut failing, &mut log).await {
        Err(CaptureError::Save(SaveError::Sink(e))) => {
            assert!(e.to_string().contains("sync failed"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Every byte had arrived before finishing failed.
    assert!(failing.written() > 0);
    assert!(
        log.0.iter().any(|n| n.contains("stays in the camera")),
        "{:?}",
        log.0
    );
    assert_eq!(pending(s.camera()), 1);
    let mut sink = MemorySink::new(64 << 20);
    assert!(
        s.download_waiting_to(&mut sink, &mut Quiet)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(failing.0.bytes(), sink.bytes());
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(produced(&mut cam), [sink.into_bytes()]);
    assert_eq!(pending(&mut cam), 0);
}
