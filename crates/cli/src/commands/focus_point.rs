//! `sonyctl focus-point`: move the AF point, in the 640×480 live-view space.

use anyhow::Result;
use clap::Args;

use crate::open::{Close, CtrlC, Globals, with_camera};

/// Arguments of `focus-point`.
#[derive(Args, Debug)]
pub struct FocusPointArgs {
    /// Horizontal position, 0–639.
    #[arg(value_parser = clap::value_parser!(u16).range(0..640))]
    x: u16,
    /// Vertical position, 0–479.
    #[arg(value_parser = clap::value_parser!(u16).range(0..480))]
    y: u16,
}

/// `sonyctl focus-point X Y`.
pub fn run(g: &Globals, args: &FocusPointArgs) -> Result<()> {
    with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        Ok(cam.focus_point(args.x, args.y).await?)
    })?;
    stdout_line!("focus point at {} {}", args.x, args.y);
    Ok(())
}
