//! `sonyctl liveview`: the camera's live view through the camera service, as motion JPEG (to a
//! file or standard output), numbered JPEG files, or one JSON line per frame.
//!
//! This module owns the output side: which frames are written (`--count`, `--for`, `--fps`),
//! how (whole JPEGs only, never over an existing file), and what is reported. How often the
//! camera is asked is the facade's (`sonyctl_camera::LiveView`), the one stream per camera the
//! service's; `--fps` reaches them as `LiveViewOptions::max_fps`.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Args, ValueEnum};
use sonyctl_camera::SetErrorKind;
use sonyctl_camera::save::place_without_overwriting;
use sonyctl_service::{
    Event, LiveFrame, LiveViewOptions, LiveViewSubscription, ServiceError, ServiceHandle,
};

use super::parse_duration;
use crate::advice::{chain_text, describe, with_advice};
use crate::open::{CtrlC, Globals, with_service};
use crate::text::{rfc3339, sanitize};

/// Arguments of `liveview`.
#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("destination")
        .required(true)
        .multiple(true)
        .args(["output", "frames", "json"])
))]
pub struct LiveViewArgs {
    /// Motion JPEG, JPEG after JPEG (`ffmpeg -f mjpeg -i FILE` reads it), to FILE or, with `-`,
    /// to standard output. An existing file is never overwritten (a pipe or device is written
    /// to).
    #[arg(short = 'o', long = "output", value_name = "FILE|-")]
    output: Option<PathBuf>,
    /// Each frame as its own file: DIR/000001.jpg, DIR/000002.jpg, … DIR is created; it must
    /// not hold frames already.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// One JSON line per frame on standard output: frame, time, size, focus, af_frames.
    #[arg(long)]
    json: bool,
    /// Stop this long after the first frame (250ms, 30s, 5m, 1h30m).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many frames.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// At most this many frames a second (0.01 or more): the camera is asked less often, and a
    /// frame that still comes too soon is skipped.
    #[arg(long, value_name = "MAX", value_parser = parse_fps)]
    fps: Option<f64>,
    /// Live-view image quality while this runs (0xD26A); the camera's own setting is put back
    /// at the end.
    #[arg(long, value_enum)]
    quality: Option<Quality>,
}

/// `--quality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Quality {
    /// Lower JPEG quality: fewer bytes a frame.
    Low,
    /// Higher JPEG quality.
    High,
}

impl Quality {
    /// As `set` takes it (the Sony layer's display text, in any case).
    fn text(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::High => "high",
        }
    }
}

/// The setting `--quality` changes (0xD26A), by the name `sonyctl set` takes.
const QUALITY: &str = "live-view-quality";

/// What the first Ctrl-C says.
const STOPPING: &str = "stopping (Ctrl-C again quits at once)";

/// After this long without a first frame, say that sonyctl is still waiting.
const NO_FRAME_NOTICE: Duration = Duration::from_secs(5);

/// The lowest `--fps`: a frame every 100 s. Below it a run would wait for ever (1e-310 is a
/// frame every 10^302 s), which is a mistake rather than a wish.
const MIN_FPS: f64 = 0.01;

fn parse_fps(text: &str) -> Result<f64, String> {
    let fps: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of frames a second"))?;
    if fps.is_finite() && fps >= MIN_FPS {
        Ok(fps)
    } else {
        Err(format!(
            "the frame rate must be a number from {MIN_FPS} (a frame every 100 s) up"
        ))
    }
}

/// `sonyctl liveview`.
pub fn run(g: &Globals, args: &LiveViewArgs) -> Result<()> {
    // Everything the command line can get wrong is refused before the camera is opened.
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && args.json {
        return Err(usage(
            "--json and -o - both write to standard output: choose one (or -o FILE with --json)",
        ));
    }
    if to_stdout && io::stdout().is_terminal() {
        return Err(usage(
            "-o - writes motion JPEG to standard output, which is a terminal: pipe it into a \
             program (ffmpeg -f mjpeg -i -) or give -o FILE",
        ));
    }
    if args.duration.is_some_and(|d| d.is_zero()) {
        return Err(usage("--for needs a length above zero"));
    }
    let outputs = Outputs {
        frames: args.frames.as_deref().map(FrameDir::create).transpose()?,
        stream: match args.output.as_deref() {
            None => None,
            Some(_) if to_stdout => Some(Mjpeg::stdout()),
            Some(path) => Some(Mjpeg::create(path)?),
        },
        json: args.json,
    };
    with_service(g, CtrlC::Cancels(STOPPING), async |svc, cancel| {
        let model = svc.status().model;
        let restore = match args.quality {
            Some(q) => set_quality(svc, &model, q).await?,
            None => None,
        };
        let mut tally = Tally::default();
        let streamed = stream(svc, cancel, args, outputs, &mut tally).await;
        let restored = match restore {
            Some(before) => svc
                .set(QUALITY, &before)
                .await
                .map(|_| ())
                .with_context(|| {
                    format!(
                        "cannot put the live-view quality back to {}",
                        sanitize(&before)
                    )
                }),
            None => Ok(()),
        };
        stderr_line!("sonyctl: {}", tally.summary());
        match streamed {
            // The reader went away (`| head -c`, a closed player): the end, not a failure.
            Err(e) if crate::is_broken_pipe(&e) => restored,
            Err(e) => {
                // The stream's error is the one reported; a setting left changed is said too.
                if let Err(r) = restored {
                    stderr_line!("sonyctl: {}", sanitize(&describe(r.as_ref())));
                }
                Err(e)
            }
            Ok(()) => restored,
        }
    })
}

/// A usage error: printed by clap, exit status 2.
fn usage(message: &str) -> anyhow::Error {
    anyhow::Error::new(clap::Error::raw(
        clap::error::ErrorKind::ArgumentConflict,
        format!("{message}\n"),
    ))
}

/// Sets `--quality` and returns the value to put back, if it changed anything.
async fn set_quality(svc: &ServiceHandle, model: &str, q: Quality) -> Result<Option<String>> {
    let before = match svc.get(QUALITY).await {
        Ok(p) => p,
        Err(e) if e.set_kind() == Some(SetErrorKind::UnknownName) => bail!(
            "the {} has no live-view quality setting (0xD26A LiveViewImageQuality): run without \
             --quality",
            sanitize(model)
        ),
        Err(e) => return Err(anyhow!(e).context("cannot read the live-view quality (0xD26A)")),
    };
    if before.display.eq_ignore_ascii_case(q.text()) {
        return Ok(None);
    }
    svc.set(QUALITY, q.text())
        .await
        .with_context(|| format!("cannot set the live-view quality to {}", q.text()))?;
    Ok(Some(before.display))
}

/// What was written and skipped, for the closing line.
#[derive(Debug, Default)]
struct Tally {
    /// Frames written.
    written: u64,
    /// When the first and the last written frame arrived (link clock).
    first: Option<Duration>,
    last: Option<Duration>,
    /// Frames that came sooner than `--fps` allows.
    by_fps: u64,
    /// Frames the stream produced while this one was still writing the last.
    missed: u64,
}

impl Tally {
    fn summary(&self) -> String {
        let span = match (self.first, self.last) {
            (Some(first), Some(last)) => last.saturating_sub(first),
            _ => Duration::ZERO,
        };
        let rate = if self.written >= 2 && !span.is_zero() {
            format!("{:.1} fps", (self.written - 1) as f64 / span.as_secs_f64())
        } else {
            "no rate".to_string()
        };
        format!(
            "{} frame{} in {:.2} s ({rate}), {} skipped by --fps, {} missed while writing",
            self.written,
            if self.written == 1 { "" } else { "s" },
            span.as_secs_f64(),
            self.by_fps,
            self.missed,
        )
    }
}

/// Runs the stream until `--count`, `--for`, Ctrl-C, a failed write, or the service's end.
async fn stream(
    svc: &ServiceHandle,
    cancel: &sonyctl_camera::Cancel,
    args: &LiveViewArgs,
    outputs: Outputs,
    tally: &mut Tally,
) -> Result<()> {
    let mut live = svc.live_view(LiveViewOptions { max_fps: args.fps });
    let mut events = svc.events();
    let mut events_open = true;
    let mut limit = args.fps.map(FpsLimit::new);
    let mut clock: Option<WallClock> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    let no_frame = tokio::time::sleep(NO_FRAME_NOTICE);
    tokio::pin!(no_frame);
    let mut noticed = false;
    // A frame was written and none taken since: frames the stream made meanwhile came while
    // it was being written.
    let mut just_wrote = false;
    // The outputs go to a blocking thread for each frame and come back: a slow reader or disk
    // never holds up this thread, which also runs the service's task.
    let mut outputs = Some(outputs);
    let result = loop {
        if args.count.is_some_and(|c| tally.written >= c) {
            break Ok(());
        }
        let frame = tokio::select! {
            biased;
            () = cancel.cancelled() => break Ok(()),
            () = until(deadline) => break Ok(()),
            ev = events.next(), if events_open => {
                match ev {
                    Some(ev) => notice(&ev),
                    None => events_open = false,
                }
                continue;
            }
            () = &mut no_frame, if clock.is_none() && !noticed => {
                noticed = true;
                stderr_line!(
                    "sonyctl: no live-view frame after {} s; still waiting (is the camera showing \
                     live view?)",
                    NO_FRAME_NOTICE.as_secs()
                );
                continue;
            }
            f = live.next() => match f {
                Ok(f) => f,
                // The camera's live view fails after frames came: the service keeps trying
                // (less and less often), and so does this run.
                Err(ServiceError::LiveView(e)) if clock.is_some() => {
                    stderr_line!(
                        "sonyctl: {}",
                        sanitize(&format!("live view fails: {}; still trying", chain_text(&e)))
                    );
                    continue;
                }
                Err(ServiceError::LiveView(e)) => {
                    break Err(anyhow!(e).context("the camera gives no live view"));
                }
                Err(e) => break Err(anyhow!(e).context("live view ended")),
            },
        };
        let at = frame.received_at;
        just_wrote = false;
        let wall = *clock.get_or_insert_with(|| {
            // `--for` counts from the first frame received.
            deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
            WallClock::new(at)
        });
        if let Some(d) = args.duration {
            if at.saturating_sub(wall.link) >= d {
                break Ok(());
            }
        }
        if let Some(limit) = &mut limit {
            if !limit.admit(at) {
                tally.by_fps += 1;
                continue;
            }
        }
        let n = tally.written + 1;
        let line = args.json.then(|| json_line(n, &wall.at(at), &frame));
        let Some(mut out) = outputs.take() else {
            break Err(anyhow!("the outputs were lost after a failed write"));
        };
        let written = tokio::task::spawn_blocking(move || {
            let r = out.write(n, &frame.jpeg, line.as_deref());
            (out, r)
        })
        .await;
        match written {
            Ok((out, Ok(()))) => outputs = Some(out),
            Ok((_, Err(e))) => break Err(e),
            Err(e) => break Err(anyhow!(e).context("the thread writing the frames failed")),
        }
        tally.written = n;
        tally.first.get_or_insert(at);
        tally.last = Some(at);
        just_wrote = true;
    };
    // `skipped()` leaves out the newest frame, which a later `next()` could still return; none
    // follows, so a frame already waiting after the last write was missed as well.
    tally.missed = live.skipped();
    if just_wrote && frame_waiting(&mut live).await {
        tally.missed += 1;
    }
    result
}

/// Whether `live` holds a frame newer than the last it returned, without waiting (it is taken).
async fn frame_waiting(live: &mut LiveViewSubscription) -> bool {
    // A future that is ready at once is ready even under a zero time-out.
    matches!(
        tokio::time::timeout(Duration::ZERO, live.next()).await,
        Ok(Ok(_))
    )
}

/// Waits until `deadline`, or for ever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// What the service's events mean for someone watching the live view.
fn notice(ev: &Event) {
    match ev {
        Event::ConnectionLost(e) => stderr_line!(
            "sonyctl: {}",
            sanitize(&with_advice(
                e,
                &format!(
                    "connection lost: {}; live view goes on when the camera is back",
                    chain_text(e)
                )
            ))
        ),
        Event::ConnectionRestored => stderr_line!("sonyctl: connection restored"),
        _ => {}
    }
}

/// Maps the link clock a frame's `received_at` is on to the time of day, from the first frame.
#[derive(Clone, Copy, Debug)]
struct WallClock {
    wall: SystemTime,
    link: Duration,
}

impl WallClock {
    fn new(link: Duration) -> WallClock {
        WallClock {
            wall: SystemTime::now(),
            link,
        }
    }

    /// `received_at` as RFC 3339.
    fn at(&self, received_at: Duration) -> String {
        let t = self
            .wall
            .checked_add(received_at.saturating_sub(self.link))
            .unwrap_or(self.wall);
        let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        rfc3339(since.as_secs(), since.subsec_millis())
    }
}

/// `--fps` on the output side: frames on a grid of 1/MAX, with a quarter of a frame's slack
/// for frames that arrive a little early, so a camera running at just MAX loses none to jitter
/// while the average never exceeds MAX.
#[derive(Debug)]
struct FpsLimit {
    interval: Duration,
    due: Option<Duration>,
}

impl FpsLimit {
    fn new(max_fps: f64) -> FpsLimit {
        FpsLimit {
            interval: Duration::try_from_secs_f64(1.0 / max_fps).unwrap_or(Duration::MAX),
            due: None,
        }
    }

    /// Whether a frame that arrived at `t` (link clock) is written.
    fn admit(&mut self, t: Duration) -> bool {
        let slack = self.interval / 4;
        if let Some(due) = self.due {
            if t.saturating_add(slack) < due {
                return false;
            }
        }
        // The next slot is a whole interval on, but never closer than half an interval to this
        // frame (after a pause the grid restarts rather than letting a burst through).
        let on_grid = self.due.map_or(t, |d| d).saturating_add(self.interval);
        let spaced = t.saturating_add(self.interval - slack);
        self.due = Some(on_grid.max(spaced));
        true
    }
}

/// One line of `--json`.
fn json_line(n: u64, time: &str, frame: &LiveFrame) -> String {
    let af: Vec<serde_json::Value> = frame
        .af_frames
        .iter()
        .map(|f| {
            serde_json::json!({
                // The Sony layer's name for the group: focus, face, tracking, framing.
                "group": f.group,
                "x": f.rect.x,
                "y": f.rect.y,
                "w": f.rect.w,
                "h": f.rect.h,
                "state": f.state,
            })
        })
        .collect();
    serde_json::json!({
        "frame": n,
        "time": time,
        "size": frame.jpeg.len(),
        "focus": frame.focus.map(|f| f.to_string()),
        "af_frames": af,
    })
    .to_string()
}

/// Where frames go.
struct Outputs {
    frames: Option<FrameDir>,
    stream: Option<Mjpeg>,
    json: bool,
}

impl Outputs {
    /// Writes frame `n` everywhere: the file first, then the stream, then the JSON line, so a
    /// reader of the line finds the file complete.
    fn write(&mut self, n: u64, jpeg: &[u8], line: Option<&str>) -> Result<()> {
        if let Some(dir) = &self.frames {
            dir.write(n, jpeg)?;
        }
        if let Some(stream) = &mut self.stream {
            stream
                .write(jpeg)
                .with_context(|| format!("cannot write the motion JPEG to {}", stream.name))?;
        }
        if let (true, Some(line)) = (self.json, line) {
            let mut out = io::stdout().lock();
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .context("cannot write to standard output")?;
        }
        Ok(())
    }
}

/// Motion JPEG: whole JPEGs one after another.
struct Mjpeg {
    out: Box<dyn Write + Send>,
    /// The file, when it is a regular one: cut back to its last whole frame after a failed
    /// write, so what is left is always complete JPEGs.
    regular: Option<File>,
    /// Bytes of the whole frames written.
    whole: u64,
    /// For messages.
    name: String,
}

impl Mjpeg {
    fn stdout() -> Mjpeg {
        Mjpeg {
            out: Box::new(io::stdout()),
            regular: None,
            whole: 0,
            name: "standard output".into(),
        }
    }

    /// A new file at `path`, or an existing pipe or device (a FIFO a recorder reads,
    /// /dev/null). An existing regular file is refused: nothing is overwritten.
    fn create(path: &Path) -> Result<Mjpeg> {
        let name = path.display().to_string();
        let (file, regular) = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => bail!(
                "{} exists; sonyctl never overwrites a file: remove it or choose another name",
                sanitize(&name)
            ),
            Ok(_) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", sanitize(&name)))?;
                (f, false)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let f = File::create_new(path)
                    .with_context(|| format!("cannot create {}", sanitize(&name)))?;
                (f, true)
            }
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", sanitize(&name))),
        };
        let regular = if regular {
            Some(
                file.try_clone()
                    .context("cannot open the output file twice")?,
            )
        } else {
            None
        };
        Ok(Mjpeg {
            out: Box::new(file),
            regular,
            whole: 0,
            name: sanitize(&name),
        })
    }

    fn write(&mut self, jpeg: &[u8]) -> io::Result<()> {
        match self.out.write_all(jpeg).and_then(|()| self.out.flush()) {
            Ok(()) => {
                self.whole += jpeg.len() as u64;
                Ok(())
            }
            Err(e) => {
                if let Some(f) = &self.regular {
                    // Best effort: the write's own error is the one to report.
                    let _ = f.set_len(self.whole);
                }
                Err(e)
            }
        }
    }
}

/// `--frames DIR`: `000001.jpg`, `000002.jpg`, … each written whole under a hidden name and
/// put into place without overwriting (as the camera facade saves images).
#[derive(Debug)]
struct FrameDir {
    dir: PathBuf,
}

impl FrameDir {
    /// Creates `dir` (with its parents) and refuses one that already holds frames, so the
    /// numbers always start at 1 and nothing is overwritten.
    fn create(dir: &Path) -> Result<FrameDir> {
        let shown = || sanitize(&dir.display().to_string());
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", shown()))?;
        let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", shown()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", shown()))?;
            if let Some(name) = entry.file_name().to_str().filter(|n| is_frame_name(n)) {
                bail!(
                    "{} already holds frames ({}): choose another folder or remove them; \
                     sonyctl never overwrites a file",
                    shown(),
                    sanitize(name)
                );
            }
        }
        Ok(FrameDir {
            dir: dir.to_path_buf(),
        })
    }

    fn write(&self, n: u64, jpeg: &[u8]) -> Result<()> {
        let name = format!("{n:06}.jpg");
        let path = self.dir.join(&name);
        let part = self.dir.join(format!(".{name}.part"));
        let shown = |p: &Path| sanitize(&p.display().to_string());
        let written = File::create(&part).and_then(|mut f| f.write_all(jpeg));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&part);
            return Err(e).with_context(|| format!("cannot write {}", shown(&part)));
        }
        match place_without_overwriting(&part, &path) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                if e.kind() == io::ErrorKind::AlreadyExists {
                    bail!(
                        "{} appeared while sonyctl was writing it; it was not overwritten",
                        shown(&path)
                    );
                }
                Err(e).with_context(|| format!("cannot move {} to {}", shown(&part), shown(&path)))
            }
        }
    }
}

/// `000001.jpg`: six or more digits and `.jpg`.
fn is_frame_name(name: &str) -> bool {
    name.strip_suffix(".jpg")
        .is_some_and(|d| d.len() >= 6 && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Frames every `every` ms for `total` ms through a limit of `max` fps: the times admitted.
    fn admitted(max: f64, every: u64, total: u64) -> Vec<u64> {
        let mut limit = FpsLimit::new(max);
        (0..total / every)
            .map(|i| i * every)
            .filter(|&t| limit.admit(ms(t)))
            .collect()
    }

    #[test]
    fn fps_keeps_the_average_at_most_max() {
        // A 30 fps camera, --fps 10: every third frame, and at most one more than 10 a second.
        let a = admitted(10.0, 33, 9_900);
        assert!((98..=100).contains(&a.len()), "{a:?}");
        // 25 fps camera, --fps 10: ten a second although 100 ms is not a multiple of 40.
        let a = admitted(10.0, 40, 10_000);
        assert_eq!(a.len(), 100, "{a:?}");
        // Never two within half an interval.
        assert!(a.windows(2).all(|w| w[1] - w[0] >= 50), "{a:?}");
    }

    #[test]
    fn fps_lets_a_camera_at_max_through_despite_jitter() {
        let mut limit = FpsLimit::new(10.0);
        let times = [0, 95, 205, 290, 410, 500, 590, 715];
        assert!(times.iter().all(|&t| limit.admit(ms(t))));
    }

    #[test]
    fn fps_restarts_its_grid_after_a_pause() {
        let mut limit = FpsLimit::new(10.0);
        assert!(limit.admit(ms(0)));
        // A second without frames, then 30 fps again: no burst of catch-up frames.
        let after: Vec<u64> = (0..30)
            .map(|i| 1_000 + i * 33)
            .filter(|&t| limit.admit(ms(t)))
            .collect();
        assert!(after.windows(2).all(|w| w[1] - w[0] >= 50), "{after:?}");
        assert!((9..=11).contains(&after.len()), "{after:?}");
    }

    #[test]
    fn fps_arguments() {
        assert_eq!(parse_fps("12.5"), Ok(12.5));
        assert_eq!(parse_fps("0.01"), Ok(0.01));
        for bad in [
            "0", "-1", "nan", "inf", "-inf", "1e-310", "0.0099", "ten", "",
        ] {
            assert!(parse_fps(bad).is_err(), "{bad}");
        }
        // A tiny rate does not overflow.
        let mut limit = FpsLimit::new(1e-300);
        assert!(limit.admit(ms(5)));
        assert!(!limit.admit(ms(10)));
    }

    #[test]
    fn frame_names() {
        assert!(is_frame_name("000001.jpg"));
        assert!(is_frame_name("1000000.jpg"));
        for other in [
            "00001.jpg",
            "000001.jpeg",
            ".000001.jpg.part",
            "a00001.jpg",
            "x.jpg",
        ] {
            assert!(!is_frame_name(other), "{other}");
        }
    }

    #[test]
    fn frames_are_numbered_whole_and_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let frames = FrameDir::create(&dir).unwrap();
        frames.write(1, b"\xFF\xD8one\xFF\xD9").unwrap();
        frames.write(2, b"\xFF\xD8two\xFF\xD9").unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["000001.jpg", "000002.jpg"]);
        assert_eq!(
            std::fs::read(dir.join("000002.jpg")).unwrap(),
            b"\xFF\xD8two\xFF\xD9"
        );
        // A second run into the same folder is refused before anything is written.
        let e = FrameDir::create(&dir).unwrap_err().to_string();
        assert!(e.contains("already holds frames"), "{e}");
        // A frame that appeared meanwhile is kept, and no temporary file is left.
        let other = tmp.path().join("c");
        let frames = FrameDir::create(&other).unwrap();
        std::fs::write(other.join("000001.jpg"), b"theirs").unwrap();
        assert!(frames.write(1, b"ours").is_err());
        assert_eq!(std::fs::read(other.join("000001.jpg")).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    }

    #[test]
    fn the_stream_refuses_an_existing_file_and_keeps_whole_frames() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lv.mjpeg");
        std::fs::write(&path, b"old").unwrap();
        let e = Mjpeg::create(&path).err().unwrap().to_string();
        assert!(e.contains("never overwrites"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");

        /// Accepts `room` bytes, then fails as a full disk does, after a partial write.
        struct Full {
            file: File,
            room: usize,
        }
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.room == 0 {
                    return Err(io::Error::other("no space left on device"));
                }
                let n = buf.len().min(self.room);
                self.room -= n;
                self.file.write(&buf[..n])
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let path = tmp.path().join("full.mjpeg");
        let mut stream = Mjpeg::create(&path).unwrap();
        let file = stream.regular.as_ref().unwrap().try_clone().unwrap();
        stream.out = Box::new(Full { file, room: 15 });
        stream.write(b"\xFF\xD8 first \xFF\xD9").unwrap();
        assert!(stream.write(b"\xFF\xD8 second \xFF\xD9").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"\xFF\xD8 first \xFF\xD9");
    }

    #[test]
    fn the_closing_line() {
        let mut t = Tally::default();
        assert_eq!(
            t.summary(),
            "0 frames in 0.00 s (no rate), 0 skipped by --fps, 0 missed while writing"
        );
        t.written = 31;
        t.first = Some(ms(1_000));
        t.last = Some(ms(2_000));
        t.by_fps = 4;
        t.missed = 1;
        assert_eq!(
            t.summary(),
            "31 frames in 1.00 s (30.0 fps), 4 skipped by --fps, 1 missed while writing"
        );
    }

    #[test]
    fn wall_times_follow_the_link_clock() {
        let clock = WallClock {
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400),
            link: ms(10_000),
        };
        assert_eq!(clock.at(ms(10_005)), "2000-02-29T00:00:00.005Z");
        // A frame stamped before the first (it cannot be) is placed at the first.
        assert_eq!(clock.at(ms(0)), "2000-02-29T00:00:00.000Z");
    }
}
