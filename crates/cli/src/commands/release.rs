//! `sonyctl release`: release every shutter and focus button.

use anyhow::Result;

use crate::open::{Globals, open, runtime};

/// `sonyctl release`: releases every button.
pub fn run(g: &Globals) -> Result<()> {
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        cam.release_all().await?;
        let _ = cam.close().await;
        println!("released");
        Ok(())
    })
}
