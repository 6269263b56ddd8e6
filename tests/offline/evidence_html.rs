//! The HTML report in a real headless browser: it renders (screenshot), makes no network request, and shows
//! attacker-controlled inventory strings as text, never as markup. The method that detects requests is proven on
//! a control page that does make them. See `tests/support/browser.rs` for how requests are observed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::browser;

use crate::support::{atrest, repo_path, run, stderr};

/// The CSP admits the page's one style sheet by its SHA-256; a mismatch would leave the page unstyled.
fn assert_style_is_pinned(html: &str) {
    use base64::Engine;
    assert_eq!(html.matches("<style>").count(), 1);
    let css = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, css.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    assert!(
        html.contains(&format!("style-src 'sha256-{hash}'")),
        "the CSP does not pin the style sheet"
    );
    assert!(
        !html.contains(" style=\""),
        "a style attribute would be blocked by the CSP"
    );
}

#[test]
fn the_request_detector_sees_a_page_that_loads_remote_resources() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"https://example.invalid/a.css\"></head>\
         <body><h1>control</h1><img src=\"http://example.invalid/b.png\"></body></html>",
    )
    .unwrap();
    let shot = dir.path().join("control.png");
    let r = browser::render(&page, &shot);
    assert!(
        r.page_requests
            .iter()
            .any(|u| u == "https://example.invalid/a.css"),
        "{:?}",
        r.page_requests
    );
    assert!(
        r.page_requests
            .iter()
            .any(|u| u == "http://example.invalid/b.png"),
        "{:?}",
        r.page_requests
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let problems = browser::static_problems(&html);
    assert!(problems.iter().any(|p| p.contains("<img")), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("href=\"https://example.invalid/a.css\"")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Content-Security-Policy")),
        "{problems:?}"
    );
}

#[test]
fn hostile_inventory_strings_stay_text_and_the_page_stays_offline() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let inv = repo_path("tests/fixtures/evidence/hostile-inventory.json");
    let out = run(atrest()
        .args(["evidence", "build", "--out"])
        .arg(&bundle)
        .arg("--inventory-in")
        .arg(&inv));
    assert_eq!(
        out.status.code(),
        Some(crate::support::saved_audit_exit(&inv)),
        "{}",
        stderr(&out)
    );
    let html_path = bundle.join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Static: only inert elements, no fetching attributes, only #fragment links, a strict CSP.
    let problems = browser::static_problems(&html);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the id is shown, escaped"
    );
    assert!(
        html.contains("&lt;iframe src=https://evil.example/f&gt;"),
        "the tag value is shown, escaped"
    );
    assert!(
        html.contains("&#39;0;url=https://evil.example/&#39;"),
        "the error message is shown, escaped"
    );
    assert_style_is_pinned(&html);

    // In the browser: the DOM holds no injected element, and nothing was requested.
    let shot = browser::target_dir().join("evidence-screenshot-hostile.png");
    let r = browser::render(&html_path, &shot);
    assert!(
        r.page_requests.is_empty(),
        "the page made requests: {:?}",
        r.page_requests
    );
    assert!(
        r.dom.contains("Encryption at rest: compliance evidence"),
        "the page rendered"
    );
    let dom_problems = browser::static_problems(&r.dom);
    assert!(dom_problems.is_empty(), "the parsed DOM: {dom_problems:#?}");
    assert!(r.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let size = browser::assert_screenshot(&shot);
    browser::note(&format!(
        "screenshot of the hostile-inventory report: {} ({size} bytes)",
        shot.display()
    ));
}
