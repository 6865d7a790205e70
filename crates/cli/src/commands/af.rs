//! `sonyctl af`: half-press autofocus only, and say whether it locked.

use std::time::Duration;

use anyhow::Result;
use sonyctl_camera::FocusState;

use super::Reported;
use crate::open::{Close, CtrlC, Globals, with_camera};

/// `sonyctl af`: half press only; prints `focused` or `not focused`.
pub fn run(g: &Globals) -> Result<()> {
    let state = with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        Ok(cam.autofocus(Duration::from_secs(5)).await?)
    })?;
    match state {
        FocusState::Focused => stdout_line!("focused"),
        FocusState::Manual => {
            stdout_line!("manual focus (no autofocus to run)");
        }
        FocusState::Failed | FocusState::TimedOut => {
            stdout_line!("not focused");
            return Err(Reported.into());
        }
    }
    Ok(())
}
