//! `sonyctl focus`: drive the lens near or far in manual focus.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use crate::open::{Close, CtrlC, Globals, with_camera};

/// Which way `focus` drives the lens.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Direction {
    /// Closer.
    Near,
    /// Farther.
    Far,
}

/// Arguments of `focus`.
#[derive(Args, Debug)]
pub struct FocusArgs {
    /// near or far.
    direction: Direction,
    /// Step size: 1 (fine), 3 or 7 (coarse).
    #[arg(default_value_t = 1, value_parser = parse_step_size)]
    size: i32,
    /// Number of steps.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    steps: u32,
}

fn parse_step_size(s: &str) -> Result<i32, String> {
    match s {
        "1" => Ok(1),
        "3" => Ok(3),
        "7" => Ok(7),
        _ => Err(format!("{s:?}: the step size is 1, 3 or 7")),
    }
}

/// `sonyctl focus near|far [1|3|7] [--steps N]` (manual focus).
pub fn run(g: &Globals, args: &FocusArgs) -> Result<()> {
    with_camera(g, Close::Lenient, CtrlC::Exits, async |cam, _| {
        let props = cam.properties().await?;
        let mf = sonyctl_sony::values::lens_steppable(|code| {
            props.get(code).and_then(|d| d.current.as_u64())
        });
        if mf == Some(false) {
            bail!(
                "the lens can be driven only in manual focus (or DMF): `sonyctl set focus-mode mf`"
            );
        }
        let size = match args.direction {
            Direction::Near => -args.size,
            Direction::Far => args.size,
        };
        cam.focus_step(size, args.steps).await?;
        Ok(())
    })?;
    stdout_line!(
        "moved {} {} step(s) of {}",
        match args.direction {
            Direction::Near => "near",
            Direction::Far => "far",
        },
        args.steps,
        args.size
    );
    Ok(())
}
