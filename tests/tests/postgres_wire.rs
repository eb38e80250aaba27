//! The Postgres wire protocol of `eddy server --pg-listen`: `psql` runs the README's
//! statements and queries, and `tests/python/test_psycopg.py` drives it with psycopg
//! (prepared statements, types, transactions, cancelled push queries, authentication).
//!
//! `psql` comes from the Debian package postgresql-client and psycopg from PyPI; `./dev test`
//! installs both. Under `CI=true` a missing tool fails the test; elsewhere the test is
//! skipped with a notice.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tests::eddy_server::{EddyServer, http_post};
use tests::{describe_output, run_command};

/// How long one client run may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a persistent query may take to reflect inserted rows.
const ROWS_TIMEOUT: Duration = Duration::from_secs(20);
/// The pinned psycopg, installed by `./dev test`.
const PSYCOPG: &str = "psycopg[binary]==3.2.10";

/// True when `probe` runs; otherwise fails under CI, or prints why the test is skipped.
fn tool_available(test: &str, probe: &mut Command, install: &str) -> Result<bool> {
    let works = probe.output().is_ok_and(|output| output.status.success());
    if works {
        return Ok(true);
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        bail!("{test} needs {install} (./dev test installs it)");
    }
    eprintln!("SKIPPED {test}: {install} is missing (./dev test installs it)");
    Ok(false)
}

fn start_server(workspace: &Path, extra: &[&str]) -> Result<EddyServer> {
    let mut server_args = vec!["--pg-listen", "127.0.0.1:0"];
    server_args.extend_from_slice(extra);
    EddyServer::start_with(&workspace.join("data"), &[], &server_args)
}

/// `psql -c SQL` against the server's Postgres listener: quiet (no command tags), unaligned,
/// tuples only, `|` between columns; notices go to stderr.
fn psql(server: &EddyServer, sql: &str) -> Result<Output> {
    let address = server
        .pg_address()
        .context("the server has a Postgres listener")?;
    let (host, port) = address.rsplit_once(':').context("host:port")?;
    run_command(
        Command::new("psql")
            .arg(format!(
                "host={host} port={port} user=eddy dbname=eddy sslmode=disable connect_timeout=10"
            ))
            .args([
                "-X",
                "-A",
                "-t",
                "-F",
                "|",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]),
        b"",
        CLIENT_TIMEOUT,
    )
}

fn psql_ok(server: &EddyServer, sql: &str) -> Result<String> {
    let output = psql(server, sql)?;
    if !output.status.success() {
        bail!(
            "psql -c {sql:?} failed\n{}\n{}",
            describe_output(&output),
            server.log()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `sql` until its output is `expected`.
fn wait_for_rows(server: &EddyServer, sql: &str, expected: &str) -> Result<()> {
    let deadline = Instant::now() + ROWS_TIMEOUT;
    loop {
        let rows = psql_ok(server, sql)?;
        if rows == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{sql}: expected\n{expected}\ngot\n{rows}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn psql_runs_the_readme_statements_and_queries() -> Result<()> {
    let test = "psql_runs_the_readme_statements_and_queries";
    if !tool_available(
        test,
        Command::new("psql").arg("--version"),
        "psql (postgresql-client)",
    )? {
        return Ok(());
    }
    let workspace = tempfile::tempdir()?;
    let server = start_server(workspace.path(), &[])?;
    // The statements of the README's "Postgres clients" section.
    let created = psql(
        &server,
        "CREATE STREAM pageviews (user_id STRING KEY, page STRING, secs INT) \
           WITH (kafka_topic='pageviews', value_format='JSON', partitions=1); \
         CREATE TABLE time_on_site AS SELECT user_id, COUNT(*) AS views, SUM(secs) AS secs \
           FROM pageviews GROUP BY user_id EMIT CHANGES;",
    )?;
    assert!(created.status.success(), "{}", describe_output(&created));
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        stdout.contains("CREATE STREAM")
            || String::from_utf8_lossy(&created.stderr).contains("Stream created"),
        "{}",
        describe_output(&created)
    );
    psql_ok(
        &server,
        "INSERT INTO pageviews (user_id, page, secs) VALUES ('alice', '/home', 30); \
         INSERT INTO pageviews (user_id, page, secs) VALUES ('bob', '/about', 5); \
         INSERT INTO pageviews (user_id, page, secs) VALUES ('alice', '/pricing', 12);",
    )?;
    wait_for_rows(
        &server,
        "SELECT * FROM time_on_site WHERE user_id = 'alice';",
        "alice|2|42\n",
    )?;
    wait_for_rows(
        &server,
        "SELECT user_id, views FROM time_on_site ORDER BY user_id;",
        "alice|2\nbob|1\n",
    )?;
    // SHOW and DESCRIBE are result sets.
    let tables = psql_ok(&server, "SHOW TABLES;")?;
    assert!(tables.starts_with("TIME_ON_SITE|"), "{tables}");
    let fields = psql_ok(&server, "DESCRIBE time_on_site;")?;
    assert!(fields.contains("VIEWS|BIGINT|"), "{fields}");
    // A push query with LIMIT streams its rows and ends.
    let pushed = psql_ok(
        &server,
        "SET 'auto.offset.reset' = 'earliest'; \
         SELECT user_id, page FROM pageviews EMIT CHANGES LIMIT 2;",
    )?;
    // psql prints the tag of the SET sent on the same line even when quiet.
    assert_eq!(
        pushed.strip_prefix("SET\n").unwrap_or(&pushed),
        "alice|/home\nbob|/about\n"
    );
    // An error: the REST API's message, as a Postgres ErrorResponse.
    let failed = psql(&server, "DROP STREAM nope;")?;
    assert!(!failed.status.success(), "{}", describe_output(&failed));
    let (status, body) = http_post(
        server.address(),
        "/ksql",
        &serde_json::json!({"ksql": "DROP STREAM nope;"}).to_string(),
    )?;
    assert_eq!(status, 400, "{body}");
    let rest_message = serde_json::from_str::<serde_json::Value>(&body)?["message"]
        .as_str()
        .context("an error message")?
        .to_string();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains(&format!(
            "ERROR:  {}",
            rest_message.lines().next().unwrap_or("")
        )),
        "psql said {stderr:?}, the REST API {rest_message:?}"
    );
    let syntax = psql(&server, "SELEC * FROM pageviews;")?;
    let stderr = String::from_utf8_lossy(&syntax.stderr);
    assert!(
        !syntax.status.success() && stderr.contains("line 1:"),
        "{stderr}"
    );
    // The server still answers.
    let streams = psql_ok(&server, "SHOW STREAMS;")?;
    // The processing log's stream is there from the server's start.
    assert!(
        streams.starts_with(
            "KSQL_PROCESSING_LOG|default_ksql_processing_log|NONE|JSON|f\nPAGEVIEWS|pageviews|"
        ),
        "{streams}"
    );
    Ok(())
}

fn psycopg_available(test: &str) -> Result<bool> {
    tool_available(
        test,
        Command::new("python3").args(["-c", "import psycopg"]),
        &format!("python3 with {PSYCOPG}"),
    )
}

fn run_psycopg(server: &EddyServer, args: &[&str]) -> Result<()> {
    let address = server
        .pg_address()
        .context("the server has a Postgres listener")?;
    let output = run_command(
        Command::new("python3")
            .arg(tests::manifest_dir().join("python/test_psycopg.py"))
            .arg(address)
            .args(args),
        b"",
        CLIENT_TIMEOUT,
    )?;
    assert!(
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains("all checks passed"),
        "psycopg against {address}\n{}\n{}",
        describe_output(&output),
        server.log()
    );
    Ok(())
}

#[test]
fn psycopg_prepares_streams_and_cancels() -> Result<()> {
    if !psycopg_available("psycopg_prepares_streams_and_cancels")? {
        return Ok(());
    }
    let workspace = tempfile::tempdir()?;
    let server = start_server(workspace.path(), &[])?;
    run_psycopg(&server, &[])
}

#[test]
fn psycopg_needs_the_right_password_when_the_server_has_users() -> Result<()> {
    if !psycopg_available("psycopg_needs_the_right_password_when_the_server_has_users")? {
        return Ok(());
    }
    let workspace = tempfile::tempdir()?;
    let users = workspace.path().join("users");
    std::fs::write(&users, "alice:s3cret\n")?;
    let users = users.to_str().context("a UTF-8 path")?.to_string();
    let server = start_server(workspace.path(), &["--auth-file", &users])?;
    run_psycopg(&server, &["--auth", "alice", "s3cret"])?;
    drop(server);
    // A hashed password (`eddy passwd`'s PBKDF2, or MD5:) cannot answer md5 authentication:
    // the server asks for the password in clear and checks it against the hash (the
    // hashes here are made by Python's hashlib: md5("s3cret"), PBKDF2 with salt "salt").
    let hashed = workspace.path().join("hashed-users");
    std::fs::write(
        &hashed,
        "alice: MD5:33e1b232a4e6fa0028a6670753749a17\n\
         bob: PBKDF2-SHA256:1000:c2FsdA==:AmH690IXhN4mVvntpeSvnKdG/ugjES9UNaM7PtQs6Yw=\n",
    )?;
    let hashed = hashed.to_str().context("a UTF-8 path")?.to_string();
    let data_dir = workspace.path().join("hashed");
    std::fs::create_dir_all(&data_dir)?;
    let server = start_server(&data_dir, &["--auth-file", &hashed])?;
    run_psycopg(&server, &["--auth", "alice", "s3cret"])?;
    run_psycopg(&server, &["--auth", "bob", "s3cret"])
}
