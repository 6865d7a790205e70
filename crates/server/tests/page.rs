//! The web page as a server serves it: every file under `crates/server/web/` at its address with
//! its exact bytes, a type, the Content-Security-Policy and a tag; what the files reference is
//! served too and nothing points outside the server. (The page's behaviour is tested in a real
//! browser by `scripts/browser-test`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};

use reqwest::StatusCode;

/// Every file of the page on disk: (path under `web/` with `/`, bytes).
fn web_files() -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel: Vec<String> = path
                    .strip_prefix(root)
                    .unwrap()
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), std::fs::read(&path).unwrap()));
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// The address a file of the page is served at.
fn address(name: &str) -> String {
    if name == "index.html" {
        "/".into()
    } else {
        format!("/assets/{name}")
    }
}

#[tokio::test]
async fn every_file_is_served_as_it_is_with_its_policy_and_tag() {
    let s = common::serve_one("ilce-6000").await;
    let files = web_files();
    assert!(files.iter().any(|(n, _)| n == "index.html"));
    for (name, bytes) in &files {
        let url = format!("{}{}", s.base, address(name));
        let r = s.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let h = r.headers().clone();
        let ty = h["content-type"].to_str().unwrap().to_string();
        let want = match name.rsplit_once('.').map(|(_, e)| e) {
            Some("html") => "text/html",
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            _ => "",
        };
        assert!(ty.starts_with(want), "{name}: {ty}");
        assert_ne!(ty, "application/octet-stream", "{name}");
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{name}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        let etag = h["etag"].clone();
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            bytes.as_slice(),
            "{name}"
        );
        // Revalidation: the same tag answers 304 without a body; HEAD answers the headers.
        let r = s
            .client
            .get(&url)
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{name}");
        assert_eq!(r.headers()["etag"], etag);
        assert!(r.bytes().await.unwrap().is_empty());
        let r = s.client.head(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        assert_eq!(r.headers()["etag"], etag);
    }
    // Each file has its own tag.
    let mut tags = Vec::new();
    for (name, _) in &files {
        let r = s
            .client
            .head(format!("{}{}", s.base, address(name)))
            .send()
            .await
            .unwrap();
        tags.push(r.headers()["etag"].to_str().unwrap().to_string());
    }
    let mut unique = tags.clone();
    unique.sort();
    unique.dedup();
    // Two files with the same bytes would share a tag; the page has none.
    assert_eq!(unique.len(), tags.len(), "{tags:?}");
    s.stop().await;
}

#[tokio::test]
async fn what_is_not_a_file_of_the_page_is_not_found() {
    let s = common::serve_one("ilce-6000").await;
    for path in [
        "/assets/no-such-file.js",
        "/assets/index.html",
        "/assets/",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fbuild.rs",
        "/index.html",
    ] {
        let r = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            &format!("{}/assets/app.css", s.base),
            None,
        )
        .await;
    common::assert_error(status, &body, 405, "method_not_allowed");
    s.stop().await;
}

/// Every reference in `text`, a file of kind `ext`, to another file or address: `src`/`href`
/// attributes in HTML and SVG, `url()` in CSS, module specifiers in JavaScript
/// (`import … from "x"`, `import "x"`, `import("x")`).
fn references(ext: &str, text: &str) -> Vec<String> {
    let patterns: &[&str] = match ext {
        "html" | "svg" => &[r#"(?:src|href)\s*=\s*["']([^"']+)["']"#],
        "css" => &[r#"url\(\s*["']?([^"')]+)["']?\s*\)"#],
        "js" => &[
            r#"\bfrom\s*["']([^"']+)["']"#,
            r#"\bimport\s*\(?\s*["']([^"']+)["']"#,
        ],
        _ => &[],
    };
    let mut out = Vec::new();
    for p in patterns {
        let re = regex::Regex::new(p).unwrap();
        out.extend(re.captures_iter(text).map(|c| c[1].to_string()));
    }
    out
}

/// `reference` made from the file at `from` (an address), as a browser resolves it: None for
/// what stays in the page (`#…`, `data:`, `blob:`, `javascript:` never appears).
fn resolve(from: &str, reference: &str) -> Option<String> {
    if reference.starts_with('#') || reference.starts_with("data:") {
        return None;
    }
    let path = reference.split(['?', '#']).next().unwrap_or_default();
    if path.starts_with('/') {
        return Some(path.to_string());
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[tokio::test]
async fn what_the_page_references_is_served_and_nothing_is_elsewhere() {
    let s = common::serve_one("ilce-6000").await;
    let mut checked = 0;
    for (name, bytes) in web_files() {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let from = address(&name);
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        for reference in references(ext, text) {
            let lower = reference.to_ascii_lowercase();
            assert!(
                !lower.contains("//") && !lower.starts_with("javascript:"),
                "{name} points outside the server: {reference}"
            );
            let Some(target) = resolve(&from, &reference) else {
                continue;
            };
            // The API is the server's; its addresses are built at run time.
            if target.starts_with("/api/") {
                continue;
            }
            let r = s
                .client
                .head(format!("{}{target}", s.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{name} references {reference}");
            checked += 1;
        }
    }
    // The page loads at least its style sheet and its script.
    assert!(checked >= 2, "{checked}");
    s.stop().await;
}

#[test]
fn references_are_found_and_resolved_as_a_browser_does() {
    let html =
        r#"<link href="/assets/a.css"><script type="module" src="/assets/js/m.js"></script>"#;
    assert_eq!(
        references("html", html),
        ["/assets/a.css", "/assets/js/m.js"]
    );
    let js = r#"import { x } from "./api.js"; import "../b.js"; const m = await import('./c.js');
        // a url(path) in a comment is no reference"#;
    assert_eq!(references("js", js), ["./api.js", "../b.js", "./c.js"]);
    let css = ".i { background: url(icons.svg#cam) }";
    assert_eq!(references("css", css), ["icons.svg#cam"]);
    assert_eq!(
        resolve("/assets/js/m.js", "./api.js").unwrap(),
        "/assets/js/api.js"
    );
    assert_eq!(
        resolve("/assets/js/m.js", "../b.js").unwrap(),
        "/assets/b.js"
    );
    assert_eq!(
        resolve("/assets/app.css", "icons.svg#cam").unwrap(),
        "/assets/icons.svg"
    );
    assert_eq!(resolve("/", "#top"), None);
}
