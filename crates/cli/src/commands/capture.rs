//! `sonyctl capture`: take pictures and download them. Also what `tether` shares with it: where
//! files go (`SaveArgs`, the `Saver`), how they are reported (the `Cli` observer) and Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sonyctl_camera::save::{ObjectMeta, Saver};
use sonyctl_camera::{
    Camera, Cancel, CaptureError, CaptureOptions, CaptureSession, Downloaded, Observer, ShotKind,
};

use super::parse_duration;
use crate::advice::describe;
use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Options shared by `capture` and `tether`: where files go and how they are reported.
#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Folder for the images (created, with any missing parents).
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    output: PathBuf,
    /// File name template: {model} {seq} {date} {time} {ext} {name}; may contain / for
    /// subfolders. Default: the camera's file name.
    #[arg(long, value_name = "TEMPLATE")]
    name: Option<String>,
    /// Keep a copy on the camera's card too (save destination host + card).
    #[arg(long)]
    pub(super) keep: bool,
    /// One JSON object per saved file on standard output: path, size, sha256, format, settings.
    #[arg(long)]
    pub(super) json: bool,
    /// fsync each file before it is renamed into place (slower; survives a power cut).
    #[arg(long)]
    fsync: bool,
}

/// Arguments of `capture`.
#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// Number of shots.
    #[arg(long, short = 'n', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
    /// Time between the starts of shots (timelapse, on a fixed schedule): 10s, 1m30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    interval: Option<Duration>,
    /// A bulb exposure of this length, timed by this computer (the shutter is set to BULB if
    /// needed, in mode M).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "burst")]
    bulb: Option<Duration>,
    /// Continuous shooting for this long (the drive mode is set to continuous if needed).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    burst: Option<Duration>,
    /// Focus first and refuse to shoot when focus fails (the default; skipped in manual focus).
    #[arg(long, overrides_with = "no_af")]
    af: bool,
    /// Shoot without waiting for focus.
    #[arg(long = "no-af")]
    no_af: bool,
    #[command(flatten)]
    save: SaveArgs,
}

/// Progress bars on standard error (hidden when it is not a terminal), results on standard
/// output (JSON lines or one line per file), notices on standard error.
pub(super) struct Cli {
    json: bool,
    wait: Option<ProgressBar>,
    download: Option<ProgressBar>,
    countdown: Option<ProgressBar>,
    failed_write: Option<std::io::Error>,
}

impl Cli {
    pub(super) fn new(json: bool) -> Cli {
        Cli {
            json,
            wait: None,
            download: None,
            countdown: None,
            failed_write: None,
        }
    }

    pub(super) fn clear(&mut self) {
        for bar in [
            self.wait.take(),
            self.download.take(),
            self.countdown.take(),
        ]
        .into_iter()
        .flatten()
        {
            bar.finish_and_clear();
        }
    }
}

fn format_name(format: u16) -> &'static str {
    sonyctl_sony::values::format_label(sonyctl_ptp::ObjectFormatCode(format))
}

impl Observer for Cli {
    fn notice(&mut self, message: &str) {
        let line = format!("sonyctl: {}", sanitize(message));
        match &self.wait {
            Some(bar) => bar.suspend(|| stderr_line!("{line}")),
            None => stderr_line!("{line}"),
        }
    }

    fn waiting(&mut self, what: &'static str, elapsed: Duration, limit: Duration) {
        if elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = self.wait.get_or_insert_with(|| {
            let bar = ProgressBar::new(limit.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{spinner} waiting for {msg} ({pos}/{len} s)")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what);
            bar
        });
        bar.set_position(elapsed.as_secs());
        bar.tick();
    }

    fn wait_done(&mut self) {
        if let Some(bar) = self.wait.take() {
            bar.finish_and_clear();
        }
    }

    fn countdown(&mut self, left: Duration) {
        let bar = self.countdown.get_or_insert_with(|| {
            let bar = ProgressBar::new(left.as_secs_f64().ceil() as u64);
            bar.set_style(
                ProgressStyle::with_template("exposing {bar:30} {msg} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let total = bar.length().unwrap_or(0);
        bar.set_position(total.saturating_sub(left.as_secs_f64().ceil() as u64));
        bar.set_message(format!("{:.0} s", left.as_secs_f64().ceil()));
    }

    fn download_started(&mut self, meta: &ObjectMeta) {
        if let Some(bar) = self.countdown.take() {
            bar.finish_and_clear();
        }
        // A download the camera held back (it was writing another frame) starts again later.
        if let Some(bar) = self.download.take() {
            bar.finish_and_clear();
        }
        self.wait_done();
        let bar = ProgressBar::new(meta.size.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(sanitize(&meta.filename));
        self.download = Some(bar);
    }

    fn download_progress(&mut self, done: u64, _total: Option<u64>) {
        if let Some(bar) = &self.download {
            bar.set_position(done);
        }
    }

    fn saved(&mut self, image: &Downloaded) {
        if let Some(bar) = self.download.take() {
            bar.finish_and_clear();
        }
        let f = &image.file;
        let path = f.path.display().to_string();
        let mut out = std::io::stdout().lock();
        let result = if self.json {
            let settings: serde_json::Map<String, serde_json::Value> = image
                .settings
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
                .collect();
            let line = serde_json::json!({
                "path": path,
                "size": f.size,
                "sha256": f.sha256,
                "format": format_name(f.format),
                "camera_name": f.camera_name,
                "shot": image.shot,
                "settings": settings,
            });
            writeln!(out, "{line}")
        } else {
            writeln!(
                out,
                "{}  {} bytes  {}",
                sanitize(&path),
                f.size,
                format_name(f.format)
            )
        };
        let result = result.and_then(|()| out.flush());
        if let Err(e) = result {
            self.failed_write.get_or_insert(e);
        }
    }
}

/// What the first Ctrl-C says while shooting: the shutter closes and images are still saved.
pub(super) const STOPPING: &str =
    "stopping: releasing the shutter and saving what was shot (Ctrl-C again quits at once)";

pub(super) fn saver(args: &SaveArgs) -> Result<Saver> {
    Ok(Saver::new(&args.output, args.name.as_deref())
        .with_context(|| format!("cannot save into {}", args.output.display()))?
        .with_fsync(args.fsync)
        // The hash is reported only in JSON; without it, downloads are not bound by hashing.
        .with_sha256(args.json))
}

/// Whether a series (`--count` above 1) goes on after a shot that failed with `e`: yes when
/// the camera could not focus or deliver that one shot (the next may work, and a timelapse
/// keeps its schedule), no when the camera or the session cannot go on.
fn series_goes_on(e: &CaptureError) -> bool {
    matches!(
        e,
        CaptureError::FocusFailed
            | CaptureError::Timeout(..)
            | CaptureError::ConnectionDropped(_)
            | CaptureError::Incomplete { .. }
            // 0xD215 held an invalid count and nothing came: like no image delivered.
            | CaptureError::InvalidPending(..)
    )
}

/// `sonyctl capture`.
pub fn run(g: &Globals, args: &CaptureArgs) -> Result<()> {
    let saver = saver(&args.save)?;
    let kind = match (args.bulb, args.burst) {
        (Some(d), _) if d.is_zero() => bail!("--bulb needs a length above zero"),
        (_, Some(d)) if d.is_zero() => bail!("--burst needs a length above zero"),
        (Some(d), _) => ShotKind::Bulb(d),
        (None, Some(d)) => ShotKind::Burst(d),
        (None, None) => ShotKind::Single,
    };
    let options = CaptureOptions {
        autofocus: !args.no_af || args.af,
        keep_on_card: args.save.keep,
        // A series waits for a camera that was unplugged and plugged back in.
        reconnect_for: if args.count > 1 {
            Duration::from_secs(600)
        } else {
            CaptureOptions::default().reconnect_for
        },
        ..CaptureOptions::default()
    };
    let shoot = async |cam: &mut Camera, cancel: &Cancel| {
        let mut ui = Cli::new(args.save.json);
        let (mut session, _) =
            CaptureSession::begin(cam, &saver, options, cancel.clone(), &mut ui).await?;
        let several = args.count > 1;
        let mut failures = 0u32;
        let result = session
            .series(
                kind,
                args.count,
                args.interval.unwrap_or_default(),
                &mut ui,
                &mut |n, r| match r {
                    Ok(files) if files.is_empty() => {
                        stderr_line!("sonyctl: shot {n}: the camera delivered no image");
                        failures += 1;
                        true
                    }
                    Ok(_) => true,
                    Err(e) if several && series_goes_on(e) => {
                        stderr_line!("sonyctl: shot {n}: {}", sanitize(&describe(e)));
                        failures += 1;
                        true
                    }
                    Err(_) => false,
                },
            )
            .await;
        let finished = session.finish(&mut ui).await;
        ui.clear();
        result?;
        finished?;
        if let Some(e) = ui.failed_write {
            return Err(anyhow::Error::from(e).context("cannot write to standard output"));
        }
        Ok(failures)
    };
    let failures = with_camera(g, Close::Lenient, CtrlC::Cancels(STOPPING), shoot)?;
    if failures > 0 {
        bail!("{failures} of {} shot(s) failed", args.count);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonyctl_camera::{CameraError, TransportError};
    use sonyctl_sony::values::PendingImages;

    #[test]
    fn a_series_goes_on_after_a_shot_without_an_image_only() {
        let wait = Duration::from_secs(30);
        for e in [
            CaptureError::FocusFailed,
            CaptureError::Timeout(wait, "the camera to deliver the image"),
            CaptureError::ConnectionDropped("as the shutter was pressed"),
            CaptureError::Incomplete {
                path: PathBuf::from("DSC00001.ARW"),
                got: 10,
                expected: Some(20),
            },
            CaptureError::InvalidPending(wait, PendingImages::Invalid(0xFFFB)),
        ] {
            assert!(series_goes_on(&e), "{e}");
        }
        for e in [
            CaptureError::Camera(CameraError::Transport(TransportError::Refused(1))),
            CaptureError::TooManyReconnects(20),
            CaptureError::Unsupported("no bulb on this body".into()),
        ] {
            assert!(!series_goes_on(&e), "{e}");
        }
    }
}
