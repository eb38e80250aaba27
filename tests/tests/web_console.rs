//! The web console of `eddy server`, driven in headless Chromium by
//! `tests/console/console_test.py` (PyPI `selenium`, Debian `chromium` and `chromium-driver`,
//! all installed by `./dev test`). Screenshots go to `CARGO_TARGET_TMPDIR/web-console/`.
//!
//! Without those tools the browser tests fail under `CI=true` and are skipped with a notice
//! elsewhere.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tests::eddy_server::EddyServer;
use tests::{describe_output, run_command};

/// How long one browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The pinned package version, installed by `./dev test`.
const SELENIUM: &str = "selenium==4.40.0";

fn script() -> PathBuf {
    tests::manifest_dir().join("console/console_test.py")
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-console")
}

/// Whether the browser and its driver are here: Err when one is missing under `CI=true`,
/// Ok(false) with a printed notice when one is missing elsewhere.
fn browser_available(test: &str) -> Result<bool> {
    let mut missing = Vec::new();
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).exists() {
            missing.push(path.to_string());
        }
    }
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .output();
    if !selenium.is_ok_and(|output| output.status.success()) {
        missing.push(format!("python3 with {SELENIUM}"));
    }
    if missing.is_empty() {
        return Ok(true);
    }
    let message = format!(
        "{test} needs {} (install them with `./dev test`, or `apt-get install chromium \
         chromium-driver` and `python3 -m pip install {SELENIUM}`)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        bail!("{message}");
    }
    eprintln!("SKIPPED {message}");
    Ok(false)
}

/// `GET path` over a new connection: the status, the header lines and the body.
fn http_get(
    address: &str,
    path: &str,
    authorization: Option<&str>,
) -> Result<(u16, String, String)> {
    let mut stream =
        TcpStream::connect(address).with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("no header end in {response:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

/// Runs the browser script against `server`; fails with its output and the server's log.
fn run_browser(server: &EddyServer, extra: &[&str]) -> Result<String> {
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots)?;
    let output = run_command(
        Command::new("python3")
            .arg(script())
            .arg(server.url())
            .arg(&shots)
            .args(extra),
        b"",
        BROWSER_TIMEOUT,
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() || !stdout.contains("all checks passed") {
        bail!(
            "the browser test failed against {} (screenshots in {})\n{}\nserver log:\n{}",
            server.url(),
            shots.display(),
            describe_output(&output),
            server.log()
        );
    }
    // What the script saw (its screenshots, the metrics it found), for `--nocapture`.
    println!("{stdout}");
    Ok(stdout)
}

#[test]
fn console_page_and_assets_are_served_from_the_binary() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let server = EddyServer::start(&workspace.path().join("data"), &[])?;
    let (status, head, body) = http_get(server.address(), "/", None)?;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(body.contains("<title>Eddy console</title>"), "{body}");
    for (path, content_type) in [
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let (status, head, body) = http_get(server.address(), path, None)?;
        assert_eq!(status, 200, "{path}: {head}");
        assert!(head.contains(content_type), "{path}: {head}");
        assert!(!body.is_empty(), "{path} is empty");
    }
    let (status, _, body) = http_get(server.address(), "/console/missing.js", None)?;
    assert_eq!(status, 404, "{body}");
    Ok(())
}

#[test]
fn console_creates_a_stream_runs_push_and_pull_queries_and_marks_errors_in_chromium() -> Result<()>
{
    if !browser_available(
        "console_creates_a_stream_runs_push_and_pull_queries_and_marks_errors_in_chromium",
    )? {
        return Ok(());
    }
    let workspace = tempfile::tempdir()?;
    let server = EddyServer::start(&workspace.path().join("data"), &[])?;
    let stdout = run_browser(&server, &[])?;
    for name in [
        "push-stream.png",
        "chart.png",
        "push-table.png",
        "pull.png",
        "error.png",
    ] {
        let path = screenshot_dir().join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("no {}", path.display()))?;
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
            "{} is not a PNG screenshot",
            path.display()
        );
        assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    }
    Ok(())
}

#[test]
fn console_behind_basic_auth_gets_the_browser_login_and_then_works() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let users = workspace.path().join("users");
    std::fs::write(&users, "alice:s3cret\n")?;
    let users = users.to_str().context("a UTF-8 temporary path")?;
    let server =
        EddyServer::start_with(&workspace.path().join("data"), &[], &["--auth-file", users])?;
    // No credentials: the challenge that makes a browser show its login prompt.
    let (status, head, _) = http_get(server.address(), "/", None)?;
    assert_eq!(status, 401, "{head}");
    assert!(
        head.contains("www-authenticate: basic realm=\"eddy\""),
        "{head}"
    );
    // "alice:s3cret" in base64.
    let (status, head, body) = http_get(server.address(), "/", Some("Basic YWxpY2U6czNjcmV0"))?;
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("Eddy console"), "{body}");
    if !browser_available("console_behind_basic_auth_gets_the_browser_login_and_then_works")? {
        return Ok(());
    }
    run_browser(&server, &["--auth", "alice:s3cret"])?;
    Ok(())
}
