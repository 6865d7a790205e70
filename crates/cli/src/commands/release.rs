//! `sonyctl release`: release every shutter and focus button.

use anyhow::Result;

use crate::open::{Close, CtrlC, Globals, with_camera};

/// `sonyctl release`: releases every button.
pub fn run(g: &Globals) -> Result<()> {
    with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        Ok(cam.release_all().await?)
    })?;
    stdout_line!("released");
    Ok(())
}
