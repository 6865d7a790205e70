//! The JSON API against simulated cameras in this process, over HTTP on loopback: every
//! endpoint's answers and error shapes, properties by text and by raw value, focus and the AF
//! point as the camera sees them, capture jobs (bulb stopped or aborted, a timelapse on its
//! grid, one cut short, their small updates and list), single shots stopped by a release or
//! the server's end, the busy rule, and the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{Served, assert_error, camera, serve, serve_one};

/// How long the tests wait for a job on the real clock before they fail.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_are_listed_and_described() {
    let s = serve(vec![camera("ilce-7sm3", &[]), camera("ilce-6000", &[])]).await;
    let (status, body) = s.get(&s.api("/cameras")).await;
    assert_eq!(status, StatusCode::OK);
    let cameras = body["cameras"].as_array().unwrap();
    assert_eq!(cameras.len(), 2);
    let ids: Vec<&str> = cameras.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ilce-7sm3-000001", "ilce-6000-000002"]);
    assert_eq!(cameras[0]["model"], "ILCE-7SM3");
    assert_eq!(cameras[0]["protocol"], 300);
    assert_eq!(cameras[1]["protocol"], 200);
    assert_eq!(cameras[0]["connected"], true);
    assert!(cameras[0]["serial"].as_str().unwrap().ends_with("000001"));

    let (status, body) = s.get(&s.api("/cameras/ilce-6000-000002")).await;
    assert_eq!(status, StatusCode::OK);
    // The object `sonyctl info --json` prints.
    let info = body["info"].as_object().unwrap();
    let want = s.services[1].info().await.unwrap();
    assert_eq!(body["info"], serde_json::to_value(&want).unwrap());
    assert_eq!(info.len(), 10);
    assert_eq!(info["model"], "ILCE-6000");
    assert_eq!(info["protocol"], "200");
    let status_now = &body["status"];
    assert_eq!(status_now["connected"], true);
    assert_eq!(status_now["pending_images"], 0);
    let battery = status_now["battery_percent"].as_u64().unwrap();
    assert_eq!(info["battery"], format!("{battery}%"));
    assert!(status_now["exposure"]["state"].is_string());
    assert!(status_now["exposure"]["progress"].is_number());
    assert!(status_now.get("busy").is_some());

    let (status, body) = s.get(&s.api("/cameras/ilce-9-123456")).await;
    assert_error(status, &body, 404, "unknown_camera");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_are_read_from_the_snapshot_by_any_name() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.get(&s.cam("/properties")).await;
    assert_eq!(status, StatusCode::OK);
    let all = body["properties"].as_array().unwrap();
    assert!(all.len() > 20, "{}", all.len());
    let iso = all.iter().find(|p| p["code"] == 0xD21E).unwrap();
    // The fields of `sonyctl props --json`.
    for field in [
        "code", "name", "datatype", "get_set", "enabled", "writable", "current", "display",
        "settable", "all", "aliases",
    ] {
        assert!(iso.get(field).is_some(), "{field}: {iso}");
    }
    // Each entry names the aliases that reach it, as the page looks settings up.
    assert_eq!(iso["aliases"], json!(["iso"]));
    for p in all {
        for alias in p["aliases"].as_array().into_iter().flatten() {
            let (status, one) = s
                .get(&s.cam(&format!("/properties/{}", alias.as_str().unwrap())))
                .await;
            assert_eq!(status, StatusCode::OK, "{alias}");
            assert_eq!(one["code"], p["code"], "{alias}");
        }
    }
    for name in ["iso", "ISO", "0xD21E", "0xd21e"] {
        let (status, one) = s.get(&s.cam(&format!("/properties/{name}"))).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(&one, iso, "{name}");
    }
    let (status, shutter) = s.get(&s.cam("/properties/ShutterSpeed")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shutter["code"], 0xD20D);
    assert_eq!(shutter["name"], "ShutterSpeed");

    for name in ["nonsense", "0xD999"] {
        let (status, body) = s.get(&s.cam(&format!("/properties/{name}"))).await;
        assert_error(status, &body, 404, "unknown_property");
    }
    let (status, body) = s.get(&s.api("/cameras/nope/properties")).await;
    assert_error(status, &body, 404, "unknown_camera");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_are_set_by_text_and_by_raw_value() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s
        .put(&s.cam("/properties/iso"), json!({"value": "800"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["code"].as_u64(), &body["display"]),
        (Some(0xD21E), &json!("800"))
    );
    assert_eq!(body["current"], 800);
    // The next read sees it without asking the camera.
    let (_, read) = s.get(&s.cam("/properties/iso")).await;
    assert_eq!(read["display"], "800");

    let (status, body) = s
        .put(&s.cam("/properties/0xD21E"), json!({"value": 1600}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["current"], &body["display"]),
        (&json!(1600), &json!("1600"))
    );
    let (status, body) = s
        .put(&s.cam("/properties/ev"), json!({"value": -700}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current"], -700);

    // Values the camera does not take list what it does.
    for value in [json!("333"), json!(801), json!("fast")] {
        let (status, body) = s
            .put(&s.cam("/properties/iso"), json!({"value": value}))
            .await;
        assert_error(status, &body, 400, "value_not_accepted");
        let settable = body["error"]["settable"].as_array().unwrap();
        assert!(settable.contains(&json!("1600")), "{body}");
        assert!(settable.contains(&json!("AUTO")), "{body}");
    }
    let (status, body) = s
        .put(&s.cam("/properties/battery"), json!({"value": "50"}))
        .await;
    assert_error(status, &body, 409, "read_only");
    let (status, body) = s
        .put(&s.cam("/properties/nonsense"), json!({"value": "1"}))
        .await;
    assert_error(status, &body, 404, "unknown_property");
    let (status, body) = s
        .put(&s.cam("/properties/0xD999"), json!({"value": 1}))
        .await;
    assert_error(status, &body, 404, "unknown_property");

    // Requests that are not of the shape.
    for bad in [
        json!({}),
        json!({"value": 0.5}),
        json!({"value": null}),
        json!({"value": "1", "x": 1}),
        json!([1]),
    ] {
        let (status, body) = s.put(&s.cam("/properties/iso"), bad.clone()).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut r = s.client.put(s.cam("/properties/iso")).body(body);
        if let Some(t) = content_type {
            r = r.header("content-type", t);
        }
        async move {
            let response = r.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = raw("{\"value\":", Some("application/json")).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = raw("{\"value\":\"800\"}", Some("text/plain")).await;
    assert_error(status, &body, 415, "invalid_request");
    let (status, body) = raw("{\"value\":\"800\"}", None).await;
    assert_error(status, &body, 415, "invalid_request");
    let big = format!("{{\"value\":\"{}\"}}", "8".repeat(100 * 1024));
    let response = s
        .client
        .put(s.cam("/properties/iso"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, 413, "body_too_large");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_the_mode_dial_locks_is_not_settable_now() {
    let s = serve(vec![camera("ilce-7sm3", &["0s:mode a"])]).await;
    let (status, body) = s
        .put(&s.cam("/properties/shutter"), json!({"value": "1/1000"}))
        .await;
    assert_error(status, &body, 409, "not_settable_now");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_is_saved_and_answered_with_its_images() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.post(&s.cam("/capture"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let images = body["images"].as_array().unwrap();
    assert!(!images.is_empty());
    let saved = s.saved_files();
    for image in images {
        let name = image["name"].as_str().unwrap();
        assert!(saved.iter().any(|f| f == name), "{name} in {saved:?}");
        let size = std::fs::metadata(s.output.path().join("images").join(name))
            .unwrap()
            .len();
        assert_eq!(image["size"], size);
        assert!(image["format"].is_string() && image["time"].is_string());
        assert!(image["settings"]["iso"].is_string(), "{image}");
    }
    // An empty body with no content type is one shot too.
    let response = s.client.post(s.cam("/capture")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(s.saved_files().len(), saved.len() * 2);

    for bad in [
        json!({"bulb": "2h"}),
        json!({"bulb": "61m"}),
        json!({"bulb": "0s"}),
        json!({"bulb": "ten"}),
        json!({"bulb": "1s", "burst": "1s"}),
        json!({"interval": "1s"}),
        json!({"count": 0}),
        json!({"count": 2, "interval": "1h1s"}),
        json!({"shutter": "1s"}),
    ] {
        let (status, body) = s.post(&s.cam("/capture"), bad.clone()).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    s.stop().await;
}

/// The simulated camera's focus position (0 near to 100 far).
async fn focus_position(s: &Served) -> u8 {
    s.services[0]
        .with_camera(|cam| cam.link().simulated().unwrap().focus_position())
        .await
        .unwrap()
}

/// Waits until the live view's AF frame (drawn by the simulated body around its AF point,
/// 0xD2DC) is centred on (`x`, `y`).
async fn until_af_frame_at(s: &Served, x: f64, y: f64) {
    s.poll_until(&s.cam("/liveview/info"), PATIENCE, |info| {
        info["af_frames"].as_array().unwrap().iter().any(|f| {
            let centre =
                |at: &str, size: &str| f[at].as_f64().unwrap() + f[size].as_f64().unwrap() / 2.0;
            f["group"] == "focus"
                && (centre("x", "width") - x).abs() < 1.0
                && (centre("y", "height") - y).abs() < 1.0
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn focus_release_and_movie() {
    let s = serve_one("ilce-7sm3").await;
    // In autofocus the simulated body finds focus.
    let (status, body) = s.post(&s.cam("/af"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["focus"], "focused");

    // The AF point moves on the camera: its live view draws the AF frame there.
    let (status, body) = s
        .post(&s.cam("/focus-point"), json!({"x": 100, "y": 200}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"x": 100, "y": 200}));
    until_af_frame_at(&s, 100.0, 200.0).await;
    let (status, _) = s
        .post(&s.cam("/focus-point"), json!({"x": 500, "y": 400}))
        .await;
    assert_eq!(status, StatusCode::OK);
    until_af_frame_at(&s, 500.0, 400.0).await;
    for bad in [
        json!({"x": 640, "y": 0}),
        json!({"x": 0, "y": 480}),
        json!({"x": -1, "y": 0}),
    ] {
        let (status, body) = s.post(&s.cam("/focus-point"), bad).await;
        assert_error(status, &body, 400, "invalid_request");
    }

    // Manual focus: `af` does nothing, and the steps move the lens.
    let (status, body) = s
        .put(&s.cam("/properties/0x500A"), json!({"value": 1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s.post(&s.cam("/af"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["focus"], "manual");
    let start = focus_position(&s).await;
    assert!(start <= 80, "{start}");
    let (status, body) = s
        .post(
            &s.cam("/focus"),
            json!({"direction": "far", "size": 7, "steps": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"direction": "far", "size": 7, "steps": 2}));
    assert_eq!(focus_position(&s).await, start + 14);
    let (status, body) = s
        .post(
            &s.cam("/focus"),
            json!({"direction": "near", "size": 3, "steps": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(focus_position(&s).await, start + 8);
    let (status, body) = s.post(&s.cam("/focus"), json!({"direction": "far"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"direction": "far", "size": 1, "steps": 1}));
    assert_eq!(focus_position(&s).await, start + 9);
    for bad in [
        json!({"direction": "near", "size": 2}),
        json!({"direction": "near", "steps": 0}),
        json!({"direction": "near", "steps": 101}),
        json!({"direction": "up"}),
        json!({}),
    ] {
        let (status, body) = s.post(&s.cam("/focus"), bad).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    assert_eq!(
        focus_position(&s).await,
        start + 9,
        "refused steps move nothing"
    );

    let (status, body) = s.post(&s.cam("/movie"), json!({"record": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"recording": true, "changed": true}));
    let (_, body) = s.post(&s.cam("/movie"), json!({"record": true})).await;
    assert_eq!(body, json!({"recording": true, "changed": false}));
    let (_, body) = s.post(&s.cam("/movie"), json!({"record": false})).await;
    assert_eq!(body, json!({"recording": false, "changed": true}));
    let (status, body) = s.post(&s.cam("/movie"), json!({"record": "yes"})).await;
    assert_error(status, &body, 400, "invalid_request");

    let (status, body) = s.post(&s.cam("/release"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"stopped_jobs": [], "stopped_shots": 0}));

    for (action, body) in [
        ("/af", json!({})),
        ("/release", json!({})),
        ("/focus", json!({"direction": "far"})),
        ("/focus-point", json!({"x": 1, "y": 1})),
        ("/movie", json!({"record": false})),
        ("/capture", json!({})),
    ] {
        let (status, body) = s
            .post(&s.api(&format!("/cameras/nope{action}")), body)
            .await;
        assert_error(status, &body, 404, "unknown_camera");
    }
    s.stop().await;
}

/// Waits until the camera's status shows the shutter open.
async fn until_exposing(s: &Served) {
    s.poll_until(&s.cam(""), PATIENCE, |b| {
        b["status"]["exposure"]["state"] == "exposing"
    })
    .await;
}

/// A bulb job: 202 with its id and where it is; while its capture is in the service, what
/// would queue behind it is refused naming it, and reads still answer; stopped early, it keeps
/// its image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulb_job_is_busy_and_stopped_early_keeps_its_image() {
    let s = serve_one("ilce-7sm3").await;
    let response = s
        .client
        .post(s.cam("/capture"))
        .json(&json!({"bulb": "30s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    let job = body["job"].as_u64().unwrap();
    assert_eq!(location, format!("/api/v1/cameras/{}/jobs/{job}", s.id()));

    let (status, view) = s.get(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["kind"], "bulb");
    assert_eq!(view["count"], 1);
    assert!(["queued", "running"].contains(&view["state"].as_str().unwrap()));

    // The busy rule, naming the job.
    let refused = [
        (Method::PUT, "/properties/iso", json!({"value": "800"})),
        (Method::POST, "/capture", json!({})),
        (Method::POST, "/capture", json!({"burst": "1s"})),
        (Method::POST, "/af", json!({})),
        (Method::POST, "/focus", json!({"direction": "far"})),
        (Method::POST, "/focus-point", json!({"x": 1, "y": 1})),
        (Method::POST, "/movie", json!({"record": true})),
    ];
    for (method, path, body) in refused {
        let (status, answer) = s.call(method, &s.cam(path), Some(body)).await;
        assert_error(status, &answer, 409, "busy");
        assert_eq!(answer["error"]["job"], job, "{path}");
    }
    // Reads answer from the snapshot during the exposure.
    until_exposing(&s).await;
    let (status, _) = s.get(&s.cam("/properties/iso")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, detail) = s.get(&s.cam("")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        detail["status"]["busy"]
            .as_str()
            .unwrap()
            .starts_with("capture bulb")
    );
    let running = s
        .poll_until(&s.cam(&format!("/jobs/{job}")), PATIENCE, |v| {
            v["progress"].as_f64().unwrap() > 0.0
        })
        .await;
    assert_eq!(running["state"], "running");

    let (status, stopped) = s.delete(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["shots"], 1);
    let images = stopped["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(
        s.saved_files(),
        [images[0]["name"].as_str().unwrap().to_string()]
    );
    let progress = stopped["progress"].as_f64().unwrap();
    assert!(progress > 0.0 && progress < 1.0, "{progress}");
    // Stopping it again answers it as it is; then the camera takes commands again.
    let (status, again) = s.delete(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!((status, &again), (StatusCode::OK, &stopped));
    let (status, _) = s
        .put(&s.cam("/properties/iso"), json!({"value": "800"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The list has the job without its images.
    let (status, list) = s.get(&s.cam("/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    let mut listed = stopped.clone();
    listed.as_object_mut().unwrap().remove("images");
    assert_eq!(stopped["image_count"], 1);
    assert_eq!(list["jobs"], json!([listed]));
    let (status, body) = s.get(&s.cam("/jobs/99")).await;
    assert_error(status, &body, 404, "unknown_job");
    let (status, body) = s.delete(&s.cam("/jobs/99")).await;
    assert_error(status, &body, 404, "unknown_job");
    let (status, body) = s.get(&s.cam("/jobs/first")).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = s
        .delete(&s.cam(&format!("/jobs/{job}?discard=maybe")))
        .await;
    assert_error(status, &body, 400, "invalid_request");
    s.stop().await;
}

/// `?discard=true` aborts: the shot in hand is read out of the camera and nothing is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_bulb_saves_nothing() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.post(&s.cam("/capture"), json!({"bulb": "30s"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    until_exposing(&s).await;
    let (status, aborted) = s.delete(&s.cam(&format!("/jobs/{job}?discard=true"))).await;
    assert_eq!(status, StatusCode::OK, "{aborted}");
    assert_eq!(aborted["state"], "aborted");
    assert_eq!(aborted["images"], json!([]));
    assert!(s.saved_files().is_empty(), "{:?}", s.saved_files());
    // The buffer was emptied: the next shot saves only its own image.
    let (status, body) = s.post(&s.cam("/capture"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        s.saved_files().len(),
        body["images"].as_array().unwrap().len()
    );
    s.stop().await;
}

/// A timelapse of 3 shots, 1 s apart: every shot saved and recorded, and no other job while it
/// goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timelapse_takes_its_shots() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s
        .post(
            &s.cam("/capture"),
            json!({"count": 3, "interval": "1s", "af": false}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    let (status, body) = s.post(&s.cam("/capture"), json!({"bulb": "1s"})).await;
    assert_error(status, &body, 409, "busy");
    assert_eq!(body["error"]["job"], job);
    let done = s
        .poll_until(&s.cam(&format!("/jobs/{job}")), PATIENCE, |v| {
            v["state"] != "running" && v["state"] != "queued"
        })
        .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["kind"], "timelapse");
    assert_eq!(
        (done["shots"].as_u64(), done["count"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(done["progress"], 1.0);
    assert!(done.get("error").is_none(), "{done}");
    let mut names: Vec<String> = done["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(s.saved_files(), names);
    // One capture per shot: the camera made exactly three.
    let made = s.services[0]
        .with_camera(|cam| cam.link().simulated().unwrap().produced().len())
        .await
        .unwrap();
    assert_eq!(made, 3);
    s.stop().await;
}

/// Between a timelapse's shots the camera takes other commands (a shot in progress refuses
/// them as busy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_between_timelapse_shots() {
    let s = serve_one("ilce-7sm3").await;
    // A first shot, so that the body's start-up time is behind.
    let (status, _) = s.post(&s.cam("/capture"), json!({"af": false})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .post(
            &s.cam("/capture"),
            json!({"count": 2, "interval": "4s", "af": false}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    let mut set = None;
    for _ in 0..200 {
        let (status, body) = s
            .put(&s.cam("/properties/iso"), json!({"value": "1600"}))
            .await;
        if status == StatusCode::OK {
            set = Some(body);
            break;
        }
        assert_error(status, &body, 409, "busy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(set.unwrap()["display"], "1600");
    let (_, view) = s.get(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(
        view["state"], "running",
        "the set came while the job went on"
    );
    let done = s
        .poll_until(&s.cam(&format!("/jobs/{job}")), PATIENCE, |v| {
            v["state"] != "running"
        })
        .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["shots"], 2);
    s.stop().await;
}

/// `release` stops the jobs first (their images kept), then releases the buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_stops_the_jobs_first() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.post(&s.cam("/capture"), json!({"bulb": "30s"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    until_exposing(&s).await;
    let (status, body) = s.post(&s.cam("/release"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"stopped_jobs": [job], "stopped_shots": 0}));
    let (_, view) = s.get(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(view["state"], "stopped");
    assert_eq!(view["images"].as_array().unwrap().len(), 1);
    s.stop().await;
}

/// The server's end stops a running job and keeps its image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_stops_the_jobs_and_keeps_their_images() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.post(&s.cam("/capture"), json!({"burst": "30s"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    until_exposing(&s).await;
    let entry = s.registry.list()[0].clone();
    s.registry.close().await;
    let saved = s.saved_files();
    assert!(!saved.is_empty());
    let (_, view) = s.get(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(view["state"], "stopped");
    assert_eq!(view["images"].as_array().unwrap().len(), saved.len());
    drop(entry);
    s.stop().await;
}

/// The raw shutter speed of 8 seconds (80/10): long enough for a single shot to be in
/// progress while a test acts.
const EIGHT_SECONDS: u32 = 0x0050_000A;

/// Sets the shutter speed by its raw value.
async fn set_shutter(s: &Served, raw: u32) {
    let (status, body) = s
        .put(&s.cam("/properties/shutter"), json!({"value": raw}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current"], raw);
}

/// `POST path` with `body` on a task of its own, so that the test goes on while it waits.
fn post_in_background(
    s: &Served,
    path: &str,
    body: Value,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let request = s.client.post(s.cam(path)).json(&body);
    tokio::spawn(async move {
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// Waits until the first camera has `n` single shots queued or in progress.
async fn until_shots_in_flight(s: &Served, n: usize) {
    let entry = s.registry.list()[0].clone();
    let start = std::time::Instant::now();
    while entry.shots_in_flight() != n {
        assert!(
            start.elapsed() < PATIENCE,
            "{} shots in flight, not {n}",
            entry.shots_in_flight()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pictures the simulated camera took.
async fn pictures_taken(s: &Served) -> usize {
    s.services[0]
        .with_camera(|cam| cam.link().simulated().unwrap().produced().len())
        .await
        .unwrap()
}

/// `release` stops the single shots in flight too: the one in progress ends as the camera ends
/// it and keeps its image, the one queued behind it takes no picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_stops_a_running_and_a_queued_single_shot() {
    let s = serve_one("ilce-7sm3").await;
    set_shutter(&s, EIGHT_SECONDS).await;
    let running = post_in_background(&s, "/capture", json!({"af": false}));
    until_exposing(&s).await;
    let queued = post_in_background(&s, "/capture", json!({"af": false}));
    until_shots_in_flight(&s, 2).await;

    let (status, body) = s.post(&s.cam("/release"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"stopped_jobs": [], "stopped_shots": 2}));
    // The release answered once both had ended.
    assert_eq!(s.registry.list()[0].shots_in_flight(), 0);
    let (status, body) = running.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let images = body["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(
        s.saved_files(),
        [images[0]["name"].as_str().unwrap().to_string()]
    );
    let (status, body) = queued.await.unwrap();
    assert_error(status, &body, 409, "busy");
    assert_eq!(
        pictures_taken(&s).await,
        1,
        "the queued shot took no picture"
    );

    // Once released, the camera shoots again.
    let (status, body) = s
        .put(&s.cam("/properties/shutter"), json!({"value": "1/1000"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s.post(&s.cam("/capture"), json!({"af": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(pictures_taken(&s).await, 2);
    s.stop().await;
}

/// The server's end during a single shot: `close` returns once the shot's image is saved, the
/// client gets its answer, and no capture starts afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_during_a_single_shot_keeps_its_image() {
    let s = serve_one("ilce-7sm3").await;
    set_shutter(&s, EIGHT_SECONDS).await;
    let shot = post_in_background(&s, "/capture", json!({"af": false}));
    until_exposing(&s).await;
    tokio::time::timeout(PATIENCE, s.registry.close())
        .await
        .expect("close returns once the shot has ended");
    let saved = s.saved_files();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (status, body) = shot.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["images"][0]["name"], saved[0]);
    for request in [json!({}), json!({"bulb": "1s"}), json!({"count": 2})] {
        let (status, body) = s.post(&s.cam("/capture"), request).await;
        assert_error(status, &body, 503, "shutting_down");
    }
    s.stop().await;
}

/// The named events of a Server-Sent Events stream.
struct Events {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

impl Events {
    async fn open(s: &Served) -> Events {
        let response = s.client.get(s.cam("/events")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Events {
            body: response.bytes_stream().boxed(),
            buf: Vec::new(),
        }
    }

    /// The data of the next event called `name` (comments and other events skipped).
    async fn next(&mut self, name: &str) -> Value {
        loop {
            while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).unwrap();
                if text.lines().any(|l| l == format!("event: {name}")) {
                    let data: String = text
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    return serde_json::from_str(&data).unwrap();
                }
            }
            let chunk = tokio::time::timeout(PATIENCE, self.body.next())
                .await
                .expect("an event in time")
                .expect("the stream goes on");
            self.buf.extend_from_slice(&chunk.unwrap());
        }
    }
}

/// A job publishes each change as `{job, state, progress}` only, however many images it has
/// saved; `GET …/jobs` lists jobs with their image count and no images, `GET …/jobs/{job}`
/// has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_updates_and_the_job_list_carry_no_images() {
    let s = serve_one("ilce-7sm3").await;
    let mut events = Events::open(&s).await;
    let (status, body) = s
        .post(&s.cam("/capture"), json!({"count": 3, "af": false}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    let mut states = Vec::new();
    loop {
        let update = events.next("job").await;
        let mut fields: Vec<&str> = update
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["job", "progress", "state"], "{update}");
        assert_eq!(update["job"], job);
        let state = update["state"].as_str().unwrap().to_string();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if state != "queued" && state != "running" {
            assert_eq!(update["progress"], 1.0);
            break;
        }
    }
    assert_eq!(states, ["queued", "running", "done"]);

    let (status, list) = s.get(&s.cam("/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    let listed = &list["jobs"][0];
    assert_eq!(listed["job"], job);
    assert_eq!(listed["image_count"], 3);
    assert!(listed.get("images").is_none(), "{listed}");
    let (_, view) = s.get(&s.cam(&format!("/jobs/{job}"))).await;
    assert_eq!(view["image_count"], 3);
    assert_eq!(view["images"].as_array().unwrap().len(), 3);
    s.stop().await;
}

/// A timelapse whose camera service ends before its last shot is `failed`, naming why, never
/// `done`; a job asked for after that is refused and leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timelapse_cut_short_is_not_done() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s
        .post(
            &s.cam("/capture"),
            json!({"count": 10, "interval": "1s", "af": false}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = body["job"].as_u64().unwrap();
    s.poll_until(&s.cam(&format!("/jobs/{job}")), PATIENCE, |v| {
        v["shots"].as_u64().unwrap() >= 1
    })
    .await;
    // The service's task ends between two shots (a panic in it stands for any end).
    let ended = s.services[0]
        .with_camera(|_| panic!("the camera service's task ends here"))
        .await;
    assert!(ended.is_err());
    let view = s
        .poll_until(&s.cam(&format!("/jobs/{job}")), PATIENCE, |v| {
            v["state"] != "running"
        })
        .await;
    assert_eq!(view["state"], "failed", "{view}");
    let shots = view["shots"].as_u64().unwrap();
    assert!((1..10).contains(&shots), "{view}");
    assert!(view["error"].as_str().unwrap().contains("ended"), "{view}");
    assert_eq!(
        view["image_count"].as_u64(),
        Some(view["images"].as_array().unwrap().len() as u64)
    );

    let (status, body) = s.post(&s.cam("/capture"), json!({"bulb": "1s"})).await;
    assert_error(status, &body, 503, "camera_disconnected");
    let (_, list) = s.get(&s.cam("/jobs")).await;
    let jobs = list["jobs"].as_array().unwrap();
    assert!(
        jobs.iter()
            .all(|j| j["state"] != "queued" && j["state"] != "running"),
        "{list}"
    );
    s.stop().await;
}

/// The document is OpenAPI 3, lists every path the API serves with its parameters, bounds what
/// a generator may send, and answers errors with the one error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_path() {
    let s = serve_one("ilce-6000").await;
    let (status, doc) = s.get(&s.api("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/cameras", vec!["get"]),
        ("/api/v1/cameras/{id}", vec!["get"]),
        ("/api/v1/cameras/{id}/properties", vec!["get"]),
        ("/api/v1/cameras/{id}/properties/{name}", vec!["get", "put"]),
        ("/api/v1/cameras/{id}/capture", vec!["post"]),
        ("/api/v1/cameras/{id}/jobs", vec!["get"]),
        ("/api/v1/cameras/{id}/jobs/{job}", vec!["get", "delete"]),
        ("/api/v1/cameras/{id}/af", vec!["post"]),
        ("/api/v1/cameras/{id}/release", vec!["post"]),
        ("/api/v1/cameras/{id}/focus", vec!["post"]),
        ("/api/v1/cameras/{id}/focus-point", vec!["post"]),
        ("/api/v1/cameras/{id}/movie", vec!["post"]),
    ];
    for (path, methods) in &expected {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} missing"));
        for method in methods {
            let op = &item[*method];
            assert!(op.is_object(), "{method} {path}");
            // Every `{param}` of the path is documented as a path parameter.
            let documented: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(documented.contains(&name), "{method} {path}: {name}");
                }
            }
            // Errors answer the one shape (but 431, which the HTTP parser answers bodiless).
            for (code, response) in op["responses"].as_object().unwrap() {
                if (code.starts_with('4') || code.starts_with('5')) && code != "431" {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    // Bounds for a generator: durations, counts, focus.
    // One of four shapes, each refusing what the others take.
    let shapes = schemas["CaptureRequest"]["oneOf"].as_array().unwrap();
    let shape = |title: &str| {
        shapes
            .iter()
            .find(|s| s["title"] == title)
            .unwrap_or_else(|| panic!("{title}"))
    };
    for s in shapes {
        assert_eq!(s["additionalProperties"], false, "{s}");
    }
    let positive = shape("bulb")["properties"]["bulb"]["pattern"]
        .as_str()
        .unwrap();
    assert_eq!(shape("burst")["properties"]["burst"]["pattern"], positive);
    let timelapse = &shape("timelapse")["properties"];
    let pattern = timelapse["interval"]["pattern"].as_str().unwrap();
    assert_eq!(timelapse["count"]["maximum"], 10000);
    assert_eq!(shape("single")["properties"].as_object().unwrap().len(), 1);
    assert!(
        doc["paths"]["/api/v1/cameras/{id}/capture"]["post"]["requestBody"]["required"].as_bool()
            != Some(true),
        "no body is one shot"
    );
    let focus = &schemas["FocusRequest"]["properties"];
    assert_eq!(focus["size"]["enum"], json!([1, 3, 7]));
    assert_eq!(focus["steps"]["maximum"], 100);
    assert_eq!(schemas["FocusPoint"]["properties"]["x"]["maximum"], 639);
    assert_eq!(schemas["FocusPoint"]["properties"]["y"]["maximum"], 479);
    for schema in ["FocusRequest", "FocusPoint", "MovieRequest", "SetRequest"] {
        assert_eq!(
            schemas[schema]["additionalProperties"], false,
            "{schema} refuses unknown fields"
        );
    }

    // The duration patterns admit the CLI's syntax up to an hour, and nothing longer; a bulb's
    // or burst's nothing of zero length either.
    let re = regex::Regex::new(pattern).unwrap();
    let re_positive = regex::Regex::new(positive).unwrap();
    for zero in ["0s", "0ms", "0h", "0m", "0min"] {
        assert!(re.is_match(zero) && !re_positive.is_match(zero), "{zero}");
    }
    for never in ["0.0s", "00s", "0.000h", "0m0s"] {
        assert!(
            !re.is_match(never) && !re_positive.is_match(never),
            "{never}"
        );
    }
    for ok in [
        "30s",
        "1m30s",
        "500ms",
        "1.5s",
        "2min",
        "1h",
        "3600s",
        "60m",
        "3600000ms",
        "0.5h",
        "59m59.999s",
    ] {
        assert!(re.is_match(ok), "{ok}");
    }
    for bad in [
        "61m",
        "3601s",
        "1h1s",
        "2h",
        "3600001ms",
        "1.001h",
        "60.5m",
        "30",
        "s",
        " 30s",
        "-1s",
    ] {
        assert!(!re.is_match(bad), "{bad}");
    }
    let mut matched = 0;
    for number in [
        "0", "1", "9", "59", "60", "61", "999", "3599", "3600", "3601", "3599999", "3600000",
        "3600001", "0.5", "1.0", "1.001", "60.0", "59.999", ".5",
    ] {
        for unit in ["ms", "s", "m", "min", "h"] {
            let text = format!("{number}{unit}");
            if re.is_match(&text) {
                matched += 1;
                let d = sonyctl_sony::parse_duration(&text).unwrap();
                assert!(d <= Duration::from_secs(3600), "{text}: {d:?}");
                assert_eq!(re_positive.is_match(&text), !d.is_zero(), "{text}");
            }
        }
    }
    assert!(matched > 30, "{matched}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods_answer_in_the_error_shape() {
    let s = serve_one("ilce-7sm3").await;
    let (status, body) = s.get(&s.api("/nothing-here")).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = s.get(&s.cam("/no-such-resource")).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = s.delete(&s.api("/cameras")).await;
    assert_error(status, &body, 405, "method_not_allowed");
    s.stop().await;
}
