//! `sonyctl get`: the current value of settings named on the command line.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use sonyctl_sony::format_value;

use super::resolve;
use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// Settings: iso, shutter, aperture, ev, wb, focus-mode, drive, format, … or a name from
    /// `sonyctl props`, or a hex code such as 0xD21E.
    #[arg(required = true)]
    names: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `sonyctl get`: each value alone on its own line (human form), or a JSON object.
pub fn run(g: &Globals, args: &GetArgs) -> Result<()> {
    let codes: Vec<_> = args
        .names
        .iter()
        .map(|n| resolve(n))
        .collect::<Result<_>>()?;
    with_camera(g, Close::Checked, CtrlC::Exits, async |cam, _| {
        let props = cam.properties().await?;
        let mut out = std::io::stdout().lock();
        let mut json = serde_json::Map::new();
        for (name, code) in args.names.iter().zip(&codes) {
            let d = props.get(*code).with_context(|| {
                format!(
                    "{} has no {name} ({:#06X})",
                    cam.device_info().model,
                    code.0
                )
            })?;
            let display = format_value(*code, &d.current);
            if args.json {
                json.insert(
                    name.clone(),
                    serde_json::json!({
                        "code": code.0,
                        "name": sonyctl_sony::property_name(*code),
                        "value": d.current,
                        "display": display,
                    }),
                );
            } else {
                writeln!(out, "{}", sanitize(&display))?;
            }
        }
        if args.json {
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        Ok(())
    })
}
