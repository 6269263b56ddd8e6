//! Renders an HTML page in a real headless browser (Debian `chromium`; `scripts/test.sh` installs it) and reports
//! what the page asked the network for. Used by the offline `evidence_html` tests and the
//! live `evidence` bundle test.
//!
//! How "no network request" is established: Chromium writes a NetLog (`--log-net-log`). Every URL request appears
//! there as a `URL_REQUEST_START_JOB` event with the request's initiator. Requests a page makes carry the page's
//! origin (`null` for a `file://` page); the browser's own background requests (update checks, time queries)
//! carry `not an origin`. A page request is any such event whose initiator is not `not an origin`. Host resolution
//! is mapped to nothing (`--host-resolver-rules=MAP * ~NOTFOUND`), so not even the browser's own requests leave
//! the machine. The method is checked against a control page that does load remote resources.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Rendered {
    /// The serialised DOM after the page loaded (`--dump-dom`).
    pub dom: String,
    /// URLs the page itself requested (from the NetLog).
    pub page_requests: Vec<String>,
    /// Requests the browser made on its own (update checks...); they never resolve.
    pub background_requests: usize,
}

/// The browser binary: `$ATREST_CHROMIUM`, or `chromium` on the PATH. Fails loudly when there is none.
pub fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("ATREST_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "this test needs a headless browser: install Debian's chromium (`apt-get install -y chromium`, as scripts/test.sh does) or set ATREST_CHROMIUM"
    )
}

fn run_browser(args: &[String], capture: bool) -> std::process::Output {
    let mut child = Command::new(chromium())
        .args(args)
        .stdin(Stdio::null())
        .stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stdout {
            std::io::Read::read_to_end(&mut s, &mut buf).unwrap();
        }
        buf
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = child.wait_with_output().unwrap();
    out.stdout = reader.join().unwrap();
    out
}

fn base_args(profile: &Path, netlog: &Path) -> Vec<String> {
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        format!("--user-data-dir={}", profile.display()),
        "--host-resolver-rules=MAP * ~NOTFOUND".into(),
        format!("--log-net-log={}", netlog.display()),
    ]
}

/// (page requests, background requests) in a NetLog file.
fn requests(netlog: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(netlog)
        .unwrap_or_else(|e| panic!("no NetLog at {}: {e}", netlog.display()));
    // A log cut short lacks its closing brackets.
    let log: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .unwrap_or_else(|e| panic!("unreadable NetLog {}: {e}", netlog.display()));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the NetLog names URL_REQUEST_START_JOB");
    let (mut page, mut background) = (Vec::new(), 0);
    for e in log["events"].as_array().into_iter().flatten() {
        if e["type"].as_u64() != Some(start_job) {
            continue;
        }
        // The begin phase carries the URL; the end phase has no parameters.
        let Some(url) = e["params"]["url"].as_str() else {
            continue;
        };
        if url.starts_with("file:") || url.starts_with("data:") {
            continue;
        }
        match e["params"]["initiator"].as_str() {
            Some("not an origin") => background += 1,
            _ => page.push(url.to_string()),
        }
    }
    (page, background)
}

/// Loads `html` twice: once for a 1280x2000 screenshot at `screenshot`, once to dump the DOM; both with a NetLog.
pub fn render(html: &Path, screenshot: &Path) -> Rendered {
    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let _ = std::fs::remove_file(screenshot);

    let shot_log = work.path().join("shot.netlog.json");
    let mut args = base_args(&work.path().join("profile-shot"), &shot_log);
    args.push(format!("--screenshot={}", screenshot.display()));
    args.push("--window-size=1280,2000".into());
    args.push(url.clone());
    let out = run_browser(&args, false);
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dom_log = work.path().join("dom.netlog.json");
    let mut args = base_args(&work.path().join("profile-dom"), &dom_log);
    args.push("--dump-dom".into());
    args.push(url);
    let out = run_browser(&args, true);
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (mut page_requests, mut background) = requests(&shot_log);
    let (more, more_bg) = requests(&dom_log);
    page_requests.extend(more);
    background += more_bg;
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        page_requests,
        background_requests: background,
    }
}

/// Checks that `png` is a PNG of the window size and more than a blank page, and returns its size in bytes.
pub fn assert_screenshot(png: &Path) -> usize {
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000));
    // A blank 1280x2000 page compresses to a few KB; text, tables and charts are far more.
    assert!(
        bytes.len() > 40_000,
        "screenshot of {} bytes looks blank",
        bytes.len()
    );
    bytes.len()
}

/// Prints a line past the test harness's output capture (which only takes `print!`/`eprint!`), so that paths
/// and figures show in a normal `cargo test` run.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The directory above the test binaries' temporary directory: `target/` (or `$CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Elements a self-contained report may use; none of them loads anything by itself.
const ALLOWED_TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "main",
    "footer",
    "nav",
    "section",
    "div",
    "p",
    "span",
    "b",
    "code",
    "br",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "dl",
    "dt",
    "dd",
    "table",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "figure",
    "figcaption",
    "svg",
    "rect",
    "text",
];

/// Every problem that would let the page load or run something: tags outside the allowlist, attributes that
/// fetch (`src`, `srcset`, `data`, `action`...), event handlers, links other than `#fragments`, CSS `url(` or
/// `@import`, a missing or weak Content-Security-Policy.
pub fn static_problems(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut csp = None;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with("!--") {
            rest = rest.find("-->").map_or("", |j| &rest[j + 3..]);
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        rest = &rest[end.min(rest.len())..];
        if tag.starts_with('!') || tag.starts_with('/') {
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !ALLOWED_TAGS.contains(&name.as_str()) {
            problems.push(format!("element <{name}>"));
        }
        for (attr, value) in attributes(tag) {
            let fetches = [
                "src",
                "srcset",
                "data",
                "action",
                "formaction",
                "poster",
                "background",
                "ping",
                "xlink:href",
                "manifest",
            ];
            if fetches.contains(&attr.as_str()) || attr.starts_with("on") {
                problems.push(format!("<{name} {attr}=\"{value}\">"));
            }
            if attr == "href" && !value.starts_with('#') {
                problems.push(format!("<{name} href=\"{value}\">"));
            }
            if attr == "style" && (value.contains("url(") || value.contains("@import")) {
                problems.push(format!("<{name} style=\"{value}\">"));
            }
            if name == "meta" && attr == "http-equiv" && value != "content-security-policy" {
                problems.push(format!("<meta http-equiv=\"{value}\">"));
            }
            if name == "meta" && attr == "content" && tag.contains("content-security-policy") {
                csp = Some(value.clone());
            }
        }
        if name == "style" {
            let close = rest.find("</style").unwrap_or(rest.len());
            let css = &rest[..close];
            for bad in ["url(", "@import", "http:", "https:"] {
                if css.contains(bad) {
                    problems.push(format!("CSS contains `{bad}`"));
                }
            }
            rest = &rest[close..];
        }
    }
    match csp {
        Some(c) if c.contains("default-src 'none'") && !c.contains("script-src") => {}
        Some(c) => problems.push(format!("weak Content-Security-Policy `{c}`")),
        None => problems.push("no Content-Security-Policy meta tag".to_string()),
    }
    problems
}

/// The attributes of a tag's text (lowercased), as (name, value).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = tag
        .trim_end_matches('/')
        .chars()
        .skip_while(|c| !c.is_whitespace())
        .peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=')).collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            match chars.peek().copied() {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    value = std::iter::from_fn(|| chars.next_if(|c| *c != q)).collect();
                    chars.next();
                }
                _ => value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect(),
            }
        }
        out.push((name, value));
    }
    out
}
