//! `sonyctl watch`: log changes of settings, new images and a lost connection as they happen.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use sonyctl_sony::format_value;

use super::parse_duration;
use crate::advice::{chain_text, for_error, with_advice};
use crate::open::{Close, CtrlC, Globals, with_camera};
use crate::text::sanitize;

/// Arguments of `watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Stop after this long (250ms, 30s, 5m, 1h30m); without it, run until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// How often to read every setting when the camera sends no events.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    poll: std::time::Duration,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

fn emit(out: &mut impl Write, json: bool, value: serde_json::Value, text: String) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", sanitize(&text))?;
    }
    out.flush()?;
    Ok(())
}

/// `sonyctl watch`: logs every change as it happens. It only reads.
pub fn run(g: &Globals, args: &WatchArgs) -> Result<()> {
    use sonyctl_camera::{Watch, WatchEvent};
    with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        // The watch waits for a camera that went away (plugged in again, back in range) until
        // --for ends or Ctrl-C; changes made meanwhile show up as changes.
        let mut watch = Watch::start(cam)
            .await?
            .with_reconnect_budget(args.duration.unwrap_or(std::time::Duration::MAX));
        let mut out = std::io::stdout().lock();
        let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
        let poll = args.poll.max(std::time::Duration::from_millis(20));
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                break;
            }
            let step = tokio::select! {
                r = watch.next(cam, poll) => r,
                _ = &mut ctrl_c => break,
            };
            let time = crate::text::rfc3339_now();
            let events = step.context("the connection to the camera was lost")?;
            for ev in events {
                match ev {
                    WatchEvent::Changed { code, old, new } => {
                        let name = sonyctl_sony::codes::describe(
                            sonyctl_sony::property_name(code),
                            code.0,
                        );
                        let (old, new) = (format_value(code, &old), format_value(code, &new));
                        emit(
                            &mut out,
                            args.json,
                            serde_json::json!({ "time": time, "code": code.0, "name": name, "old": old, "new": new }),
                            format!("{time}  {name}  {old} → {new}"),
                        )?;
                    }
                    WatchEvent::NewImages(n) => emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "image", "pending": n }),
                        format!("{time}  new image in the camera's buffer ({n} waiting)"),
                    )?,
                    WatchEvent::ConnectionLost { error } => {
                        let reason = chain_text(&error);
                        let mut lost = serde_json::json!({ "time": time, "event": "connection", "state": "lost", "reason": reason });
                        if let (Some(a), Some(fields)) = (for_error(&error), lost.as_object_mut()) {
                            fields.insert("advice".into(), a.into());
                        }
                        emit(
                            &mut out,
                            args.json,
                            lost,
                            format!(
                                "{time}  connection lost: {}; waiting for the camera",
                                with_advice(&error, &reason)
                            ),
                        )?;
                    }
                    WatchEvent::ConnectionRestored => emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "connection", "state": "restored" }),
                        format!("{time}  connection restored"),
                    )?,
                }
            }
        }
        match watch.into_lost_error() {
            Some(e) => Err(anyhow::anyhow!(e).context("the connection to the camera was lost")),
            None => Ok(()),
        }
    })
}
