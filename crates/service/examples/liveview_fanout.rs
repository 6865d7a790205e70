//! Live-view fan-out: `N` consumers of one camera service for `S` seconds, on the simulated
//! camera in this process running on the real clock.
//!
//! ```text
//! cargo run --release -p sonyctl-service --example liveview_fanout -- --consumers 50 --seconds 10
//! ```
//!
//! Prints one JSON line: `consumers`, `seconds`, `camera_fps` (the body's rate), `fps_min` and
//! `fps_median` (each consumer's frames a second, counted from its first frame) and
//! `requests_per_frame` (GetObject and GetObjectInfo on 0xFFFFC002 as the simulated camera
//! counted them, over the distinct frames it sent). Options: `--consumers N` (1), `--seconds S`
//! (10), `--model MODEL` (ilce-7sm3).

use std::time::{Duration, Instant};

use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_service::{CameraService, LiveViewOptions, ServiceOptions};
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};

struct Args {
    consumers: usize,
    seconds: f64,
    model: String,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        consumers: 1,
        seconds: 10.0,
        model: "ilce-7sm3".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--consumers" => {
                args.consumers = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--consumers takes a whole number above 0")?;
            }
            "--seconds" => {
                args.seconds = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or("--seconds takes a positive number")?;
            }
            "--model" => args.model = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        at(n / 2)
    } else {
        (at((n / 2).saturating_sub(1)) + at(n / 2)) / 2.0
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = parse()?;
    let profile = Profile::builtin(&args.model).map_err(|e| e.to_string())?;
    let sim = SimulatedCamera::new(profile, SimOptions::default());
    let camera_fps = 1.0 / sim.live_view_interval().as_secs_f64();
    let cam = Camera::open(
        Link::sim(sim, SimClock::real(1.0)),
        CameraOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let h = CameraService::spawn(cam, ServiceOptions::default());
    let run_for = Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.consumers {
        let mut sub = h.live_view(LiveViewOptions::default());
        tasks.push(tokio::spawn(async move {
            let end = Instant::now() + run_for;
            let mut first: Option<Instant> = None;
            let mut frames = 0u64;
            while let Ok(Ok(_frame)) = tokio::time::timeout_at(end.into(), sub.next()).await {
                first.get_or_insert_with(Instant::now);
                frames += 1;
            }
            // Frames a second from the first frame to the end of the run.
            first.map_or(0.0, |f| {
                frames.saturating_sub(1) as f64 / (end - f).as_secs_f64().max(1e-9)
            })
        }));
    }
    let mut fps = Vec::new();
    for t in tasks {
        fps.push(t.await.map_err(|e| e.to_string())?);
    }
    let (requests, sent) = h
        .with_camera(|cam| {
            cam.link().simulated().map_or((0, 0), |sim| {
                sim.all_stats().iter().fold((0, 0), |(r, s), (_, st)| {
                    (r + st.live_view.requests(), s + st.live_view.frames_sent)
                })
            })
        })
        .await
        .map_err(|e| e.to_string())?;
    let fps_min = fps.iter().copied().fold(f64::INFINITY, f64::min);
    let fps_median = median(&mut fps);
    println!(
        "{{\"consumers\":{},\"seconds\":{},\"camera_fps\":{:.3},\"fps_min\":{:.3},\"fps_median\":{:.3},\"requests_per_frame\":{:.4}}}",
        args.consumers,
        args.seconds,
        camera_fps,
        fps_min,
        fps_median,
        requests as f64 / sent.max(1) as f64
    );
    Ok(())
}
