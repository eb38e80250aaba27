//! End-to-end test helpers: run the `eddy` binary and read data directories; `crash` kills
//! it at points chosen by a query's progress; `kafka` runs a real Kafka broker;
//! `eddy_server` runs `eddy server` and talks to its REST API.

pub mod crash;
pub mod eddy_server;
pub mod kafka;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use server::{Engine, Session, StatementOutput};

/// The directory of the `tests` package: where `cargo test` runs the tests from (read at run
/// time, so that a test executable built in another checkout that shares the target
/// directory reads this checkout's files), else where it was built.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The conformance corpus: the directory named by `EDDY_CORPUS`, else
/// `../shared/conformance/ksqldb` beside the workspace. The corpus is not part of the
/// repository. When it is missing, `test` fails under `CI=true`; otherwise it writes a
/// marker file into `<target dir>/conformance-not-run/`, which `./dev test` reports at its
/// end, and the test does not run (None).
pub fn conformance_corpus(test: &str) -> Option<PathBuf> {
    let corpus = match std::env::var_os("EDDY_CORPUS") {
        Some(directory) => PathBuf::from(directory),
        None => manifest_dir().join("../../shared/conformance/ksqldb"),
    };
    if corpus.join("qtt").is_dir() {
        return Some(corpus);
    }
    let message = format!(
        "{test}: conformance corpus not found at {} (set EDDY_CORPUS): the test did NOT run",
        corpus.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("\n!!!!!!!! {message} !!!!!!!!\n");
    let executable = std::env::current_exe().expect("the test knows its own path");
    // Test executables live in <target dir>/<profile>/deps.
    if let Some(target) = executable.ancestors().nth(3) {
        let markers = target.join("conformance-not-run");
        std::fs::create_dir_all(&markers)
            .and_then(|()| std::fs::write(markers.join(test), format!("{message}\n")))
            .expect("the marker of a skipped conformance test is written");
    }
    None
}

/// The `eddy` binary built next to the test executable (`cargo build --bin eddy` builds it;
/// `./dev test` does so before running the tests).
pub fn eddy_binary() -> PathBuf {
    let executable = std::env::current_exe().expect("the test knows its own path");
    let directory = executable
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let binary = directory.join("eddy");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build --bin eddy` (or run `./dev test`)",
        binary.display()
    );
    binary
}

/// Runs `eddy --data-dir DIR ARGS...` to completion, failing after `timeout`. Its stdout and
/// stderr are read while it runs, so a long output never blocks it on a full pipe.
pub fn run_eddy(data_dir: &Path, args: &[&str], timeout: Duration) -> Result<Output> {
    run_command(
        Command::new(eddy_binary())
            .arg("--data-dir")
            .arg(data_dir)
            .args(args),
        b"",
        timeout,
    )
}

/// Runs `command` with `input` on its stdin (then closed) to completion, failing with what
/// it printed after `timeout`. Its stdout and stderr are read while it runs, so a long
/// output never blocks it on a full pipe.
pub fn run_command(command: &mut Command, input: &[u8], timeout: Duration) -> Result<Output> {
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let stdout = drain(child.stdout.take().context("the child has a stdout pipe")?);
    let stderr = drain(child.stderr.take().context("the child has a stderr pipe")?);
    // Dropping stdin closes it: the child reads the input to its end.
    std::io::Write::write_all(
        &mut child.stdin.take().context("the child has a stdin pipe")?,
        input,
    )?;
    let started = Instant::now();
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status, false);
        }
        if started.elapsed() > timeout {
            child.kill()?;
            break (child.wait()?, true);
        }
        std::thread::park_timeout(Duration::from_millis(20));
    };
    let joined = |reader: std::thread::JoinHandle<Vec<u8>>| {
        reader
            .join()
            .unwrap_or_else(|_| b"(the pipe reader panicked)".to_vec())
    };
    let output = Output {
        status,
        stdout: joined(stdout),
        stderr: joined(stderr),
    };
    if timed_out {
        bail!(
            "{command:?} did not finish within {timeout:?}\n{}",
            describe_output(&output)
        );
    }
    Ok(output)
}

/// `eddy --data-dir DATA topic ARGS...` with `input` on stdin; must succeed within a minute.
/// Returns its stdout.
pub fn eddy_topic(data: &Path, args: &[&str], input: &str) -> Result<String> {
    let output = run_command(
        Command::new(eddy_binary())
            .arg("--data-dir")
            .arg(data)
            .arg("topic")
            .args(args),
        input.as_bytes(),
        Duration::from_secs(60),
    )?;
    anyhow::ensure!(
        output.status.success(),
        "eddy topic {args:?} failed\n{}",
        describe_output(&output)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// A finished process's exit status, stdout and stderr, for failure messages.
pub fn describe_output(output: &Output) -> String {
    format!(
        "exit status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the output early; what was read so far is kept.
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Waits until `condition` holds, checking every few milliseconds, or fails after `timeout`.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut condition: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let started = Instant::now();
    while !condition()? {
        if started.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
    Ok(())
}

/// Runs `sql` in `session` and returns the outputs of its statements; panics on an error.
pub fn execute(engine: &Engine, session: &mut Session, sql: &str) -> Vec<StatementOutput> {
    let mut outputs = Vec::new();
    engine
        .execute_script(sql, session, |_, output| outputs.push(output))
        .unwrap_or_else(|error| panic!("{sql}: {}", executor::error_chain(&error)));
    outputs
}

/// Every row a query's stream delivers until it ends, in order, cells as JSON joined by ` | `.
pub fn stream_rows(stream: &mut server::RowStream) -> Vec<String> {
    let mut rows = Vec::new();
    while let Some(batch) = stream.receiver.blocking_recv() {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .zip(batch.schema().fields())
                .filter(|(_, field)| field.name() != planner::catalog::OP_COLUMN)
                .map(|(column, _)| {
                    executor::format::arrow_value_to_json(column.as_ref(), row).to_string()
                })
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows
}

/// Runs a pull query: the column names and the rows (sorted), cells as JSON joined by ` | `.
pub fn pull_rows(engine: &Engine, session: &mut Session, sql: &str) -> (Vec<String>, Vec<String>) {
    let mut outputs = execute(engine, session, sql);
    let Some(StatementOutput::Rows(mut stream)) = outputs.pop() else {
        panic!("{sql}: a pull query returns rows");
    };
    let header = stream
        .columns
        .iter()
        .map(|column| column.name.clone())
        .collect();
    let mut rows = stream_rows(&mut stream);
    if let executor::QueryState::Error(message) = stream.handle.state() {
        panic!("{sql}: the pull query failed: {message}");
    }
    rows.sort();
    (header, rows)
}

/// Key and value text (`<null>` for none) of partition 0's records of `topic`, once the topic
/// holds `count` records.
pub fn records_of(log: &dyn executor::TopicLog, topic: &str, count: u64) -> Vec<(String, String)> {
    wait_until(Duration::from_secs(60), topic, || {
        Ok(log.offsets(topic)?.iter().map(|(_, end)| end).sum::<u64>() >= count)
    })
    .expect("the query writes its records");
    let text = |bytes: &Option<Vec<u8>>| match bytes {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => "<null>".to_string(),
    };
    log.read(topic, 0, 0, 100)
        .expect("read")
        .into_iter()
        .map(|consumed| (text(&consumed.record.key), text(&consumed.record.value)))
        .collect()
}
