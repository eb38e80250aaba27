//! `eddy bench stateless|aggregate --bootstrap-servers`: short runs against a real broker
//! (`tests::kafka::KafkaBroker`) check what the bench reports, not how fast it is.

use std::time::Duration;

use anyhow::{Context, Result};
use tests::kafka::KafkaBroker;
use tests::run_eddy;

/// How long one short bench run may take on a debug build.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// Input records of each run.
const RECORDS: u64 = 2_000;

/// Runs `eddy --bootstrap-servers B bench WORKLOAD --records RECORDS`; returns the rate and the
/// output count of its `WORKLOAD: N records in Ss = R records/s (W written)` line, and its
/// output.
fn run_bench(broker: &KafkaBroker, workload: &str) -> Result<(f64, u64, String)> {
    let directory = tempfile::tempdir()?;
    let records = RECORDS.to_string();
    let output = run_eddy(
        directory.path(),
        &[
            "--bootstrap-servers",
            &broker.bootstrap(),
            "bench",
            workload,
            "--records",
            &records,
        ],
        RUN_TIMEOUT,
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let describe = || {
        format!(
            "exit status: {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    };
    assert!(output.status.success(), "{}", describe());
    let line = stdout
        .lines()
        .find(|line| line.starts_with(&format!("{workload}: {RECORDS} records in ")))
        .with_context(|| format!("no result line\n{}", describe()))?;
    let rate = line
        .split(" = ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|rate| rate.parse().ok())
        .with_context(|| format!("no rate in {line:?}"))?;
    let written = line
        .rsplit('(')
        .next()
        .and_then(|rest| rest.strip_suffix(" written)"))
        .and_then(|written| written.parse().ok())
        .with_context(|| format!("no output count in {line:?}"))?;
    Ok((rate, written, stdout.into_owned()))
}

#[test]
fn bench_runs_through_kafka_and_reruns_do_not_collide() -> Result<()> {
    let broker = KafkaBroker::start()?;
    // Amounts are `n % 100 + 0.5`; the query keeps those above 10.
    let passing = RECORDS / 100 * 90;
    for run in 0..2 {
        let (rate, written, _) = run_bench(&broker, "stateless")?;
        assert!(rate > 0.0, "run {run}: a positive rate, got {rate}");
        assert_eq!(written, passing, "run {run}: stateless output records");
    }
    // Every key is distinct and the input spans one 10-second window: one row per record.
    let (rate, written, stdout) = run_bench(&broker, "aggregate")?;
    assert!(rate > 0.0, "aggregate: a positive rate, got {rate}");
    assert_eq!(written, RECORDS, "aggregate output records");
    let groups = format!(
        "10000 distinct keys: {RECORDS} rows (key and window) in the table; \
         expected {RECORDS} in 1 window"
    );
    assert!(
        stdout.lines().any(|line| line == groups),
        "no line {groups:?} in\n{stdout}"
    );

    let topics = broker.list_topics()?;
    let inputs: Vec<&String> = topics
        .iter()
        .filter(|topic| topic.starts_with("eddy-bench-") && topic.ends_with(".clicks"))
        .collect();
    assert_eq!(
        inputs.len(),
        3,
        "each run has input topics of its own: {topics:?}"
    );
    Ok(())
}
