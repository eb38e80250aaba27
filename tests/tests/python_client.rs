//! Clients of a spawned `eddy server`: the third-party Python client `ksqldb` (PyPI) running
//! `tests/python/test_ksqldb_client.py`, and the `eddy` REPL in `--server` mode.
//!
//! The Python test fails when python3 or the package is missing (`./dev test` installs it);
//! `EDDY_SKIP_PYTHON=1` skips it on machines without them.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tests::eddy_server::EddyServer;
use tests::{describe_output, eddy_binary, run_command};

/// How long one client run may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The pinned package version, installed by `./dev test`.
const PYTHON_PACKAGE: &str = "ksqldb==1.0.1";

fn python_script() -> PathBuf {
    tests::manifest_dir().join("python/test_ksqldb_client.py")
}

#[test]
fn ksqldb_python_client_works_against_eddy_server() -> Result<()> {
    if std::env::var("EDDY_SKIP_PYTHON").is_ok_and(|value| value == "1") {
        eprintln!(
            "SKIPPED ksqldb_python_client_works_against_eddy_server: EDDY_SKIP_PYTHON=1 \
             (the third-party Python client test needs python3 and `pip install {PYTHON_PACKAGE}`)"
        );
        return Ok(());
    }
    let probe = Command::new("python3")
        .args(["-c", "import ksqldb"])
        .output()
        .context("python3 is missing: install it, or set EDDY_SKIP_PYTHON=1 to skip this test")?;
    if !probe.status.success() {
        bail!(
            "the Python package {PYTHON_PACKAGE} is missing: run `python3 -m pip install \
             {PYTHON_PACKAGE}` (./dev test does), or set EDDY_SKIP_PYTHON=1 to skip this test\n{}",
            describe_output(&probe)
        );
    }
    let workspace = tempfile::tempdir()?;
    let server = EddyServer::start(&workspace.path().join("data"), &[])?;
    let output = run_command(
        Command::new("python3")
            .arg(python_script())
            .arg(server.url()),
        b"",
        CLIENT_TIMEOUT,
    )?;
    assert!(
        output.status.success(),
        "the ksqldb Python client failed against {}\n{}\n{}",
        server.url(),
        describe_output(&output),
        server.log()
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("all checks passed"),
        "{}",
        describe_output(&output)
    );
    Ok(())
}

/// Runs `eddy --server URL ARGS...`.
fn run_remote_repl(server: &EddyServer, args: &[&str]) -> Result<Output> {
    run_command(
        Command::new(eddy_binary())
            .args(["--server", &server.url()])
            .args(args),
        b"",
        CLIENT_TIMEOUT,
    )
}

#[test]
fn repl_runs_statements_queries_and_files_against_a_server() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let server = EddyServer::start(&workspace.path().join("data"), &[])?;
    let script = "\
        CREATE STREAM clicks (user_id VARCHAR KEY, url VARCHAR) \
          WITH (kafka_topic='clicks', value_format='JSON', partitions=1);\n\
        INSERT INTO clicks (user_id, url) VALUES ('u1', '/home');\n\
        INSERT INTO clicks (user_id, url) VALUES ('u2', '/cart');\n\
        SET 'auto.offset.reset' = 'earliest';\n\
        SELECT * FROM clicks EMIT CHANGES LIMIT 2;\n\
        SHOW STREAMS;\n\
        DESCRIBE clicks;\n";
    let output = run_remote_repl(&server, &["-e", script])?;
    assert!(
        output.status.success(),
        "{}\n{}",
        describe_output(&output),
        server.log()
    );
    let expected = "\
Stream created
Successfully changed local property 'auto.offset.reset' to 'earliest'.
+------------+------------+
|USER_ID     |URL         |
+------------+------------+
|u1          |/home       |
|u2          |/cart       |
+------------+------------+
Query terminated
 Stream Name         | Kafka Topic                 | Key Format | Value Format | Windowed 
------------------------------------------------------------------------------------------
 CLICKS              | clicks                      | KAFKA      | JSON         | false    
 KSQL_PROCESSING_LOG | default_ksql_processing_log | NONE       | JSON         | false    
------------------------------------------------------------------------------------------
Name                 : CLICKS
 Field   | Type
-------------------------------------
 USER_ID | VARCHAR(STRING)  (key)
 URL     | VARCHAR(STRING)
-------------------------------------
";
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);

    // A file, a pull query over a CTAS table, and PRINT (plain text lines on /query).
    let directory = tempfile::tempdir()?;
    let file = directory.path().join("script.sql");
    std::fs::write(
        &file,
        "SET 'auto.offset.reset' = 'earliest';\n\
         CREATE TABLE visits AS SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id;\n\
         PRINT clicks FROM BEGINNING LIMIT 1;\n",
    )?;
    let file = file.to_str().context("a UTF-8 temporary path")?;
    let output = run_remote_repl(&server, &["-f", file])?;
    assert!(
        output.status.success(),
        "{}\n{}",
        describe_output(&output),
        server.log()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Created query with ID CTAS_VISITS_"),
        "{stdout}"
    );
    assert!(
        stdout.contains("key: u1, value: {\"URL\":\"/home\"}"),
        "{stdout}"
    );
    tests::wait_until(Duration::from_secs(20), "the pull query row", || {
        let output = run_remote_repl(
            &server,
            &["-e", "SELECT * FROM visits WHERE user_id = 'u2';"],
        )?;
        Ok(String::from_utf8_lossy(&output.stdout).contains("|u2          |1           |"))
    })?;
    // A query beyond ksqlDB's grammar streams the same way.
    let output = run_remote_repl(
        &server,
        &["-e", "SELECT user_id, n FROM visits ORDER BY user_id DESC;"],
    )?;
    assert!(output.status.success(), "{}", describe_output(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("|u2          |1           |\n|u1          |1           |\n"),
        "{}",
        describe_output(&output)
    );

    // An error stops the script after the statements before it, exits non-zero and shows
    // the server's message.
    let output = run_remote_repl(
        &server,
        &[
            "-e",
            "SHOW STREAMS; SELECT * FROM nope EMIT CHANGES; SHOW TABLES;",
        ],
    )?;
    assert!(!output.status.success(), "{}", describe_output(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("CLICKS") && !stdout.contains("Table Name"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("NOPE"),
        "{}",
        describe_output(&output)
    );
    Ok(())
}

#[test]
fn repl_reports_an_unreachable_server() -> Result<()> {
    // Bind then drop a listener: nothing listens on that port any more.
    let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let output = run_command(
        Command::new(eddy_binary()).args([
            "--server",
            &format!("http://{address}"),
            "-e",
            "SHOW STREAMS;",
        ]),
        b"",
        CLIENT_TIMEOUT,
    )?;
    assert!(!output.status.success(), "{}", describe_output(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot connect to http://{address}")),
        "{stderr}"
    );
    Ok(())
}
