//! `sonyctl props`: every setting the camera reports, as a table or JSON.

use std::io::Write;

use anyhow::Result;
use clap::Args;

use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `props`.
#[derive(Args, Debug)]
pub struct PropsArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `sonyctl props`: every setting the camera reports.
pub fn run(g: &Globals, args: &PropsArgs) -> Result<()> {
    with_camera(g, Close::Checked, CtrlC::Exits, async |cam, _| {
        let props = cam.properties().await?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if args.json {
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                model: &'a str,
                sdio: u16,
                properties: crate::props::Reports<'a>,
            }
            let doc = Doc {
                model: &cam.device_info().model,
                sdio: cam.protocol().0,
                properties: crate::props::Reports(&props.properties),
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{} (firmware {}, protocol {}): {} settings",
                sanitize(&cam.device_info().model),
                sanitize(&cam.device_info().device_version),
                cam.protocol(),
                props.properties.len()
            )?;
            out.write_all(crate::props::table(&props.properties).as_bytes())?;
        }
        out.flush()?;
        Ok(())
    })
}
