//! `sonyctl af`: half-press autofocus only, and say whether it locked.

use std::time::Duration;

use anyhow::Result;
use sonyctl_camera::FocusState;

use super::Reported;
use crate::open::{Globals, open, runtime};

/// `sonyctl af`: half press only; prints `focused` or `not focused`.
pub fn run(g: &Globals) -> Result<()> {
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let state = cam.autofocus(Duration::from_secs(5)).await?;
        let _ = cam.close().await;
        match state {
            FocusState::Focused => println!("focused"),
            FocusState::Manual => {
                println!("manual focus (no autofocus to run)");
            }
            FocusState::Failed | FocusState::TimedOut => {
                println!("not focused");
                return Err(Reported.into());
            }
        }
        Ok(())
    })
}
