//! `sonyctl info`: model, firmware, serial, protocol, battery, lens, save destination.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use sonyctl_sony::codes::prop;
use sonyctl_sony::format_value;
use sonyctl_sony::values::FNumber;

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
        let props = cam.properties().await?;
        let di = cam.device_info().clone();
        let show = |code| {
            props
                .get(code)
                .map(|d| format_value(code, &d.current))
                .unwrap_or_else(|| "n/a".into())
        };
        let lens = props
            .get(prop::LENS_MODEL_NAME)
            .and_then(|d| d.current.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                match props
                    .get(prop::F_NUMBER)
                    .and_then(|d| d.current.as_u64())
                    .and_then(FNumber::from_value)
                {
                    Some(FNumber::NO_VALUE) | None => "none reported".into(),
                    Some(_) => "attached".into(),
                }
            });
        let fields = [
            ("model", di.model.clone()),
            ("manufacturer", di.manufacturer.clone()),
            ("firmware", di.device_version.clone()),
            ("serial", di.serial_number.clone()),
            ("protocol", cam.protocol().to_string()),
            ("battery", show(prop::BATTERY_REMAINING)),
            ("lens", lens),
            (
                "save_destination",
                if props.get(prop::SAVE_DESTINATION).is_some() {
                    show(prop::SAVE_DESTINATION)
                } else {
                    "PC (this body always delivers to the host)".into()
                },
            ),
            ("exposure_program", show(prop::EXPOSURE_PROGRAM)),
            ("pending_images", show(prop::PENDING_IMAGES)),
        ];
        let mut out = std::io::stdout().lock();
        if args.json {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
                .collect();
            serde_json::to_writer_pretty(&mut out, &map)?;
            writeln!(out)?;
        } else {
            for (k, v) in fields {
                writeln!(out, "{:<17} {}", k.replace('_', " "), sanitize(&v))?;
            }
        }
        Ok(())
    })
}
