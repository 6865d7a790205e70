//! `sonyctl info`: model, firmware, serial, protocol, battery, lens, save destination.

use std::io::Write;

use anyhow::Result;
use clap::Args;

use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `sonyctl info`: model, firmware, serial, protocol, battery, lens, save destination.
pub fn run(g: &Globals, args: &InfoArgs) -> Result<()> {
    with_camera(g, Close::Checked, CtrlC::Exits, async |cam, _| {
        let info = cam.info().await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer_pretty(&mut out, &info)?;
            writeln!(out)?;
        } else {
            for (k, v) in info.fields() {
                writeln!(out, "{:<17} {}", k.replace('_', " "), sanitize(v))?;
            }
        }
        Ok(())
    })
}
