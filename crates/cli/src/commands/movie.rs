//! `sonyctl movie`: start or stop movie recording.

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::open::{Close, CtrlC, Globals, with_camera};

/// `movie start` or `movie stop`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MovieAction {
    /// Start recording.
    Start,
    /// Stop recording.
    Stop,
}

/// Arguments of `movie`.
#[derive(Args, Debug)]
pub struct MovieArgs {
    /// start or stop.
    action: MovieAction,
}

/// `sonyctl movie start|stop`.
pub fn run(g: &Globals, args: &MovieArgs) -> Result<()> {
    let start = matches!(args.action, MovieAction::Start);
    let changed = with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        Ok(cam.movie(start).await?)
    })?;
    stdout_line!(
        "{}",
        match (start, changed) {
            (true, true) => "recording",
            (true, false) => "already recording",
            (false, true) => "stopped",
            (false, false) => "not recording",
        }
    );
    Ok(())
}
