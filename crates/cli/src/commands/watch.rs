//! `sonyctl watch`: log changes of settings, new images and a lost connection as they happen.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use sonyctl_sony::format_value;

use super::parse_duration;
use crate::advice::{chain_text, describe, for_error, with_advice};
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
        let mut watch = Watch::start(cam).await?;
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
            let events = match step {
                Ok(events) => events,
                Err(e) => {
                    let reason = chain_text(&e);
                    let advice = for_error(&e);
                    let mut lost = serde_json::json!({ "time": time, "event": "connection", "state": "lost", "reason": reason });
                    if let (Some(a), Some(fields)) = (advice, lost.as_object_mut()) {
                        fields.insert("advice".into(), a.into());
                    }
                    emit(
                        &mut out,
                        args.json,
                        lost,
                        format!(
                            "{time}  connection lost: {}; waiting for the camera",
                            with_advice(&e, &reason)
                        ),
                    )?;
                    // A failed attempt is said only when it brings new advice (another program
                    // took the camera as it came back): retries every 2 s must not flood.
                    let mut advised = advice;
                    // Wait for the camera to come back (plugged in again, back in range) until
                    // --for ends or Ctrl-C; changes made meanwhile show up as changes.
                    loop {
                        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                            return Err(
                                anyhow::anyhow!(e).context("the connection to the camera was lost")
                            );
                        }
                        let attempt = tokio::select! {
                            r = cam.reconnect(std::time::Duration::from_secs(2)) => r,
                            _ = &mut ctrl_c => {
                                return Err(anyhow::anyhow!(e).context("the connection to the camera was lost"));
                            }
                        };
                        match attempt {
                            Ok(()) => break,
                            Err(failed) => {
                                let advice = for_error(&failed);
                                if advice.is_some() && advice != advised {
                                    eprintln!(
                                        "sonyctl: cannot reconnect yet: {}",
                                        sanitize(&describe(&failed))
                                    );
                                    advised = advice;
                                }
                            }
                        }
                    }
                    let time = crate::text::rfc3339_now();
                    emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "connection", "state": "restored" }),
                        format!("{time}  connection restored"),
                    )?;
                    continue;
                }
            };
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
                }
            }
        }
        Ok(())
    })
}
