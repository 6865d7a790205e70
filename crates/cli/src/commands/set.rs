//! `sonyctl set`: change settings and wait until the camera reports the new values.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;
use sonyctl_sony::format_value;

use super::resolve;
use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `set`.
#[derive(Args, Debug)]
pub struct SetArgs {
    /// NAME VALUE pairs: `iso 800`, `shutter 1/250`, `aperture f/5.6`, `ev +0.7`, `wb daylight`.
    #[arg(required = true, num_args = 2.., value_names = ["NAME", "VALUE"])]
    pairs: Vec<String>,
}

/// `sonyctl set`: sets each value and waits until the camera reports it.
pub fn run(g: &Globals, args: &SetArgs) -> Result<()> {
    if args.pairs.len() % 2 != 0 {
        bail!(
            "set takes NAME VALUE pairs; {:?} has no value",
            args.pairs.last().map_or("", String::as_str)
        );
    }
    let pairs: Vec<(&str, &str)> = args
        .pairs
        .chunks_exact(2)
        .filter_map(|p| match p {
            [name, value] => Some((name.as_str(), value.as_str())),
            _ => None,
        })
        .collect();
    // Names are checked before connecting, so a typo costs no camera session.
    for (name, _) in &pairs {
        resolve(name)?;
    }
    with_camera(g, Close::Checked, CtrlC::Exits, async |cam, _| {
        let mut out = std::io::stdout().lock();
        for (name, text) in &pairs {
            let outcome = cam.set_text(name, text).await?;
            writeln!(
                out,
                "{}: {} -> {}",
                name,
                sanitize(&format_value(outcome.code, &outcome.before)),
                sanitize(&format_value(outcome.code, &outcome.after))
            )?;
        }
        Ok(())
    })
}
