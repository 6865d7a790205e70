//! `sonyctl tether`: save every image shot with the camera's own button, as it appears.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use sonyctl_camera::{Camera, Cancel, CaptureOptions, CaptureSession};

use super::capture::{Cli, STOPPING, SaveArgs, saver};
use super::parse_duration;
use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `tether`.
#[derive(Args, Debug)]
pub struct TetherArgs {
    /// Stop after this long; without it, run until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    save: SaveArgs,
}

/// `sonyctl tether`: saves every image shot on the camera, as it appears, until Ctrl-C.
pub fn run(g: &Globals, args: &TetherArgs) -> Result<()> {
    let saver = saver(&args.save)?;
    let options = CaptureOptions {
        keep_on_card: args.save.keep,
        // Tethering waits for a camera that was unplugged, however long, until Ctrl-C.
        reconnect_for: Duration::from_secs(24 * 3600),
        max_reconnects: u32::MAX,
        ..CaptureOptions::default()
    };
    let tether = async |cam: &mut Camera, cancel: &Cancel| {
        let mut ui = Cli::new(args.save.json);
        let (mut session, _) =
            CaptureSession::begin(cam, &saver, options, cancel.clone(), &mut ui).await?;
        stderr_line!(
            "sonyctl: tethered to {}: images shot on the camera are saved to {}{}",
            sanitize(&session.camera().device_info().model),
            saver.dir().display(),
            if args.duration.is_some() {
                ""
            } else {
                " (Ctrl-C stops)"
            }
        );
        let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
        let mut result = Ok(());
        while !cancel.is_cancelled() && deadline.is_none_or(|d| tokio::time::Instant::now() < d) {
            let left = deadline.map_or(Duration::from_millis(500), |d| {
                d.saturating_duration_since(tokio::time::Instant::now())
            });
            if let Err(e) = session
                .tether_once(left.min(Duration::from_millis(500)), &mut ui)
                .await
            {
                result = Err(e);
                break;
            }
        }
        let finished = session.finish(&mut ui).await;
        ui.clear();
        result?;
        finished?;
        Ok(())
    };
    with_camera(g, Close::Lenient, CtrlC::Cancels(STOPPING), tether)
}
