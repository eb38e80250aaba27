//! HTTPS and basic authentication of `eddy server`: a self-signed certificate made here
//! with the `openssl` command, requests over TLS with curl (HTTP/1.1 and HTTP/2 by ALPN) and
//! with Python's `requests` (`tests/python/https_auth.py`), both verifying the certificate;
//! every route of the router refused without credentials or with wrong ones, and served
//! with right ones (PBKDF2 from `eddy passwd`, Jetty's `MD5:` and `OBF:`); no password in
//! the server's log or error messages.
//!
//! Needs `openssl`, `curl` and Python `requests` (`./dev test` installs them). Under
//! `CI=true` a missing tool fails the test; elsewhere the test is skipped with a notice.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tests::eddy_server::EddyServer;
use tests::{describe_output, eddy_binary, manifest_dir, run_command};

const TIMEOUT: Duration = Duration::from_secs(120);
/// The users' passwords; none may show up in the log or in an answer.
const ALICE: &str = "alice-Pbkdf2-secret";
const BOB: &str = "bobs password";
/// MD5 of `BOB`, as Jetty's `MD5:` form holds it.
const BOB_MD5: &str = "67303325d21422ebe2774309807740e5";
/// Jetty's obfuscation of "password".
const CAROL_OBF: &str = "OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v";

/// True when `probe` runs; otherwise fails under CI, or prints why the test is skipped.
fn tool_available(probe: &mut Command, install: &str) -> Result<bool> {
    if probe.output().is_ok_and(|output| output.status.success()) {
        return Ok(true);
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        bail!("the security test needs {install} (./dev test installs it)");
    }
    eprintln!("SKIPPED security test: {install} is missing (./dev test installs it)");
    Ok(false)
}

fn run(command: &mut Command, input: &[u8]) -> Result<String> {
    let output = run_command(command, input, TIMEOUT)?;
    ensure!(output.status.success(), "{}", describe_output(&output));
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The paths of every `.route("...")` of the router (`server/src/http.rs` and the Schema
/// Registry routes it merges), read from the source so a new route cannot be forgotten;
/// `{parameters}` become `x`.
fn router_paths() -> Result<Vec<String>> {
    let server = manifest_dir().join("../server/src");
    let mut paths = BTreeSet::new();
    for file in ["http.rs", "http/schema_registry.rs"] {
        let source = std::fs::read_to_string(server.join(file))
            .with_context(|| format!("cannot read server/src/{file}"))?;
        for after in source.split(".route(").skip(1) {
            let literal = after
                .trim_start()
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(path, _)| path)
                .with_context(|| format!("a .route( without a path literal in {file}"))?;
            let mut path = String::new();
            let mut in_parameter = false;
            for character in literal.chars() {
                match character {
                    '{' => in_parameter = true,
                    '}' => {
                        in_parameter = false;
                        path.push('x');
                    }
                    _ if !in_parameter => path.push(character),
                    _ => {}
                }
            }
            paths.insert(path);
        }
    }
    Ok(paths.into_iter().collect())
}

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files.
fn self_signed(directory: &Path) -> Result<()> {
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(directory.join("key.pem"))
            .arg("-out")
            .arg(directory.join("cert.pem")),
        b"",
    )?;
    Ok(())
}

#[test]
fn https_and_basic_auth_guard_every_route() -> Result<()> {
    let probes: [(&str, &[&str], &str); 3] = [
        ("openssl", &["version"], "openssl"),
        ("curl", &["--version"], "curl"),
        (
            "python3",
            &["-c", "import requests"],
            "python3 with requests",
        ),
    ];
    for (program, args, install) in probes {
        if !tool_available(Command::new(program).args(args), install)? {
            return Ok(());
        }
    }
    let workspace = tempfile::tempdir()?;
    let dir = workspace.path();
    self_signed(dir)?;
    // ksqlDB's key store setting, in PEM: the key and the certificate in one file.
    let mut store = std::fs::read(dir.join("key.pem"))?;
    store.extend(std::fs::read(dir.join("cert.pem"))?);
    std::fs::write(dir.join("server.pem"), store)?;
    std::fs::write(
        dir.join("server.properties"),
        format!(
            "listeners=https://127.0.0.1:0\n\
             ssl.keystore.type=PEM\n\
             ssl.keystore.location={}\n",
            dir.join("server.pem").display()
        ),
    )?;
    // `eddy passwd` hashes Alice's password (fewer iterations than the default, for speed).
    let hash = run(
        Command::new(eddy_binary()).args(["passwd", "--iterations", "20000"]),
        format!("{ALICE}\n").as_bytes(),
    )?;
    let hash = hash.trim();
    ensure!(hash.starts_with("PBKDF2-SHA256:20000:"), "{hash}");
    ensure!(!hash.contains(ALICE), "{hash}");
    std::fs::write(
        dir.join("users.properties"),
        format!(
            "# Jetty's format: user: password[,role...]\n\
             alice: {hash},admin\n\
             bob: MD5:{BOB_MD5},user\n\
             carol: {CAROL_OBF}\n"
        ),
    )?;
    let data_dir = dir.join("data");
    let config = dir.join("server.properties");
    let users = dir.join("users.properties");
    let server = EddyServer::start_with(
        &data_dir,
        &[],
        &[
            "--config",
            &config.to_string_lossy(),
            "--auth-file",
            &users.to_string_lossy(),
        ],
    )?;
    let base = server.url();
    ensure!(base.starts_with("https://127.0.0.1:"), "{base}");
    let cert = dir.join("cert.pem");

    // curl over TLS, verifying the certificate: HTTP/2 by ALPN, and HTTP/1.1.
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = run(
            Command::new("curl")
                .args(["-sS", flag, "--cacert"])
                .arg(&cert)
                .args(["-u", &format!("alice:{ALICE}")])
                .args(["-w", "\n%{http_code} %{http_version}"])
                .arg(format!("{base}/info")),
            b"",
        )?;
        ensure!(out.contains("KsqlServerInfo"), "{out}");
        ensure!(out.ends_with(&format!("\n200 {version}")), "{flag}: {out}");
    }
    // Without the certificate among the trusted ones, curl refuses the server (exit 60),
    // and plain HTTP on the TLS port gets no answer.
    let untrusted = Command::new("curl")
        .args(["-sS", "-o", "/dev/null"])
        .arg(format!("{base}/info"))
        .output()?;
    ensure!(untrusted.status.code() == Some(60), "{untrusted:?}");
    let plain = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .arg(base.replace("https://", "http://") + "/info")
        .output()?;
    ensure!(
        String::from_utf8_lossy(&plain.stdout) != "200",
        "plain HTTP on the HTTPS port: {plain:?}"
    );

    // Every route, every method, with Python's requests over TLS.
    let paths = router_paths()?;
    ensure!(paths.len() >= 25, "too few routes found: {paths:?}");
    for expected in [
        "/ksql",
        "/query-stream",
        "/info",
        "/subjects/x/versions",
        "/",
    ] {
        ensure!(
            paths.iter().any(|path| path == expected),
            "{expected} in {paths:?}"
        );
    }
    let spec = json!({
        "base": base,
        "ca": cert,
        "paths": paths,
        "methods": ["GET", "POST", "PUT", "DELETE"],
        "credentials": {
            "none": null,
            "wrong password": ["alice", "alice-wrong"],
            "unknown user": ["mallory", ALICE],
            "alice": ["alice", ALICE],
        },
    });
    let script = manifest_dir().join("python/https_auth.py");
    let out = run(
        Command::new("python3").arg(script),
        spec.to_string().as_bytes(),
    )?;
    let answers: Vec<Value> = out
        .lines()
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()?;
    ensure!(
        answers.len() == paths.len() * 4 * 4,
        "{} answers",
        answers.len()
    );
    let unauthorized =
        json!({"@type": "generic_error", "error_code": 40100, "message": "Unauthorized"});
    for answer in &answers {
        let status = answer["status"].as_u64().unwrap_or_default();
        if answer["label"] == "alice" {
            ensure!(status != 401, "refused with right credentials: {answer}");
        } else {
            ensure!(status == 401, "served without right credentials: {answer}");
            let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or_default())?;
            ensure!(body == unauthorized, "{answer}");
            ensure!(answer["challenge"] == "Basic realm=\"Eddy\"", "{answer}");
        }
    }
    // A statement with the right credentials, and the MD5 and OBF users.
    for (user, password) in [("alice", ALICE), ("bob", BOB), ("carol", "password")] {
        let out = run(
            Command::new("curl")
                .args(["-sS", "--cacert"])
                .arg(&cert)
                .args(["-u", &format!("{user}:{password}")])
                .args(["-H", "Content-Type: application/vnd.ksql.v1+json"])
                .args(["-d", r#"{"ksql": "SHOW STREAMS;"}"#])
                .args(["-w", "\n%{http_code}"])
                .arg(format!("{base}/ksql")),
            b"",
        )?;
        ensure!(
            out.ends_with("\n200") && out.contains("streams"),
            "{user}: {out}"
        );
    }

    // No password (nor the hash) in the log.
    let log = server.log();
    for secret in [ALICE, "alice-wrong", BOB, BOB_MD5, hash] {
        ensure!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
    drop(server);

    // A malformed auth file is refused without repeating the line's password.
    std::fs::write(dir.join("bad.properties"), "mallory: MD5:hunter2hunter2\n")?;
    let refused = Command::new(eddy_binary())
        .arg("--data-dir")
        .arg(dir.join("data2"))
        .args(["server", "--listen", "127.0.0.1:0", "--auth-file"])
        .arg(dir.join("bad.properties"))
        .output()?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    ensure!(!refused.status.success(), "{stderr}");
    ensure!(
        stderr.contains("MD5: must be followed by 32 hex digits"),
        "{stderr}"
    );
    ensure!(!stderr.contains("hunter2"), "{stderr}");
    Ok(())
}
