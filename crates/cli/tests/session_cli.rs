//! Every camera command ends the camera's session, also when the command fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ok, sonyctl};

/// Runs `sonyctl --camera sim --trace FILE ARGS…` and returns its exit code and the decoded trace.
fn traced(name: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join(name);
    let trace = trace.to_str().unwrap();
    let mut all = vec!["--camera", "sim", "--trace", trace];
    all.extend_from_slice(args);
    let status = sonyctl(&all).status.code();
    (status, ok(&["decode", trace]))
}

#[test]
fn a_refused_setting_still_closes_the_session() {
    let (status, decoded) = traced("set.trace", &["set", "iso", "333"]);
    assert_eq!(status, Some(1));
    assert!(decoded.contains("OpenSession (0x1002)"), "{decoded}");
    assert!(decoded.contains("CloseSession (0x1003)"), "{decoded}");
}

#[test]
fn a_refused_focus_drive_still_closes_the_session() {
    // The simulated body starts in autofocus, so the lens cannot be driven.
    let (status, decoded) = traced("focus.trace", &["focus", "near"]);
    assert_eq!(status, Some(1));
    assert!(decoded.contains("CloseSession (0x1003)"), "{decoded}");
}

#[test]
fn a_command_that_succeeds_closes_the_session() {
    let (status, decoded) = traced("release.trace", &["release"]);
    assert_eq!(status, Some(0));
    assert!(decoded.contains("CloseSession (0x1003)"), "{decoded}");
}
