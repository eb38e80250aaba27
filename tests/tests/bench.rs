//! `eddy bench` on the embedded log, in short runs of a debug build: what each benchmark
//! reports (records written, groups, where the pull table's state is, peak memory), never
//! how fast it is.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use tests::{describe_output, run_eddy};

/// How long one short bench run may take on a debug build.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `eddy bench ARGS` and returns its stdout lines.
fn run_bench(arguments: &[&str]) -> Result<Vec<String>> {
    let directory = tempfile::tempdir()?;
    let arguments: Vec<&str> = ["bench"].iter().chain(arguments).copied().collect();
    let output = run_eddy(directory.path(), &arguments, RUN_TIMEOUT)?;
    ensure!(output.status.success(), "{}", describe_output(&output));
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The line starting with `prefix`.
fn line<'a>(lines: &'a [String], prefix: &str) -> Result<&'a str> {
    lines
        .iter()
        .find(|line| line.starts_with(prefix))
        .map(String::as_str)
        .with_context(|| format!("no line starting with {prefix:?} in\n{}", lines.join("\n")))
}

/// The number right after `before` in `line`.
fn number_after(line: &str, before: &str) -> Result<f64> {
    line.split_once(before)
        .and_then(|(_, rest)| rest.split([' ', ')', ',']).next())
        .and_then(|number| number.parse().ok())
        .with_context(|| format!("no number after {before:?} in {line:?}"))
}

/// The `peak memory: N MiB` lines, as numbers.
fn peak_memories(lines: &[String]) -> Result<Vec<f64>> {
    lines
        .iter()
        .filter(|line| line.starts_with("peak memory: "))
        .map(|line| number_after(line, "peak memory: "))
        .collect()
}

#[test]
fn bench_aggregate_groups_by_as_many_keys_as_asked() -> Result<()> {
    // 25,000 records of 1 ms each span three 10-second windows (10,000, 10,000 and 5,000
    // records); every window holds all of a small key set, or as many keys as records.
    let cases: [(&str, &str, u64, u64); 3] = [
        ("25000", "50", 50, 150),
        ("25000", "7000", 7_000, 19_000),
        ("25000", "10000000", 10_000_000, 25_000),
    ];
    for (records, keys, distinct, groups) in cases {
        let lines = run_bench(&["aggregate", "--records", records, "--keys", keys])?;
        let result = line(&lines, &format!("aggregate: {records} records in "))?;
        let written = number_after(result, "/s (")? as u64;
        // One output row per group at least (its first update), at most one per record.
        assert!(
            (groups..=25_000).contains(&written),
            "{keys} keys: {written} written"
        );
        assert_eq!(
            line(&lines, &format!("{distinct} distinct keys: "))?,
            format!(
                "{distinct} distinct keys: {groups} rows (key and window) in the table; \
                 expected {groups} in 3 windows"
            ),
            "{keys} keys"
        );
        let memory = peak_memories(&lines)?;
        assert!(
            memory.len() == 1 && memory[0] > 0.0,
            "one peak memory: {memory:?}"
        );
    }
    Ok(())
}

#[test]
fn bench_aggregate_refuses_zero_keys() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let output = run_eddy(
        directory.path(),
        &["bench", "aggregate", "--keys", "0"],
        RUN_TIMEOUT,
    )?;
    assert!(!output.status.success(), "{}", describe_output(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "--keys must be positive"
    );
    Ok(())
}

#[test]
fn bench_pull_measures_the_table_before_and_after_flushing_it() -> Result<()> {
    let lines = run_bench(&[
        "pull",
        "--records",
        "2000",
        "--seconds",
        "1",
        "--connections",
        "2",
    ])?;
    line(
        &lines,
        "materialized 2000 keys with CREATE TABLE AS SELECT in ",
    )?;
    let states: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("state: "))
        .collect();
    let [fresh, flushed] = states.as_slice() else {
        panic!("two state lines in\n{}", lines.join("\n"));
    };
    // Before the flush every entry is in a memtable; after it none is, and the SST files
    // hold the table.
    let entries = number_after(fresh, "state: ")?;
    assert!(entries >= 2000.0, "{fresh}");
    assert_eq!(number_after(fresh, "in memtables, ")?, 0.0, "{fresh}");
    assert_eq!(number_after(flushed, "state: ")?, 0.0, "{flushed}");
    assert!(number_after(flushed, "in memtables, ")? > 0.0, "{flushed}");
    line(&lines, "flushed the state's memtables to SST files in ")?;
    for name in ["pull (as materialized): ", "pull (flushed to SST): "] {
        let result = line(&lines, name)?;
        assert!(number_after(result, name)? > 0.0, "{result}");
    }
    let errors: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("errors: "))
        .collect();
    assert_eq!(errors, ["errors: 0", "errors: 0"], "{}", lines.join("\n"));
    let memory = peak_memories(&lines)?;
    assert!(
        memory.len() == 1 && memory[0] > 0.0,
        "one peak memory: {memory:?}"
    );
    Ok(())
}

#[test]
fn bench_join_reports_each_joins_peak_memory() -> Result<()> {
    let lines = run_bench(&["join", "--records", "2000"])?;
    line(&lines, "join stream-table: 2000 records in ")?;
    line(&lines, "join stream-stream: 2000 records in ")?;
    let memory = peak_memories(&lines)?;
    assert!(
        memory.len() == 2 && memory.iter().all(|mib| *mib > 0.0),
        "a peak memory per join: {memory:?}"
    );
    Ok(())
}
