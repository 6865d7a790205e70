//! `sonyctl movie`: start or stop movie recording.

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::open::{Globals, open, runtime};

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
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let changed = cam.movie(start).await?;
        let _ = cam.close().await;
        println!(
            "{}",
            match (start, changed) {
                (true, true) => "recording",
                (true, false) => "already recording",
                (false, true) => "stopped",
                (false, false) => "not recording",
            }
        );
        Ok(())
    })
}
