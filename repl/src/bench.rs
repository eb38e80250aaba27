//! `eddy bench`: throughput measurements on a fresh temporary data directory.
//!
//! Run them from a release build: `cargo run --release -p repl -- bench stateless`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use executor::Record;
use executor::log::partitioner::partition_for_key;
use server::{Engine, Session};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark: stateless.
    workload: String,
    /// Number of input records.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    match args.workload.as_str() {
        "stateless" => stateless(args.records),
        other => bail!("unknown benchmark \"{other}\": use stateless"),
    }
}

/// A filter + projection persistent query over JSON records, embedded log to sink topic.
fn stateless(records: u64) -> Result<()> {
    let directory = tempfile::tempdir().context("cannot create a temporary directory")?;
    let engine = Engine::open(directory.path())?;
    let mut session = Session::default();
    engine
        .execute_script(
            "CREATE STREAM clicks (id VARCHAR KEY, user_id VARCHAR, amount DOUBLE, category VARCHAR, ts BIGINT) \
             WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);",
            &mut session,
            |_, _| {},
        )
        .map_err(|error| anyhow::anyhow!("{}", executor::error_chain(&error)))?;
    let log = engine.topic_log();
    let load_started = Instant::now();
    let categories = ["books", "music", "garden", "toys", "food"];
    let mut written = 0u64;
    while written < records {
        let chunk = (records - written).min(10_000);
        let batch = (written..written + chunk)
            .map(|n| {
                let key = format!("k{}", n % 10_000);
                let value = format!(
                    r#"{{"user_id":"user_{}","amount":{}.5,"category":"{}","ts":{}}}"#,
                    n % 1000,
                    n % 100,
                    categories[(n % 5) as usize],
                    1_600_000_000_000u64 + n
                );
                (
                    partition_for_key(key.as_bytes(), 2),
                    Record {
                        key: Some(key.into_bytes()),
                        value: Some(value.into_bytes()),
                        timestamp: n as i64,
                        headers: Vec::new(),
                    },
                )
            })
            .collect();
        log.produce("clicks", batch)?;
        written += chunk;
    }
    println!(
        "loaded {records} records in {:.2}s",
        load_started.elapsed().as_secs_f64()
    );
    let ends = log.offsets("clicks")?;
    let started = Instant::now();
    engine
        .execute_script(
            "CREATE STREAM big_spenders AS SELECT id, user_id, amount * 2 AS doubled, UCASE(category) AS category \
             FROM clicks WHERE amount > 10 EMIT CHANGES;",
            &mut session,
            |_, _| {},
        )
        .map_err(|error| anyhow::anyhow!("{}", executor::error_chain(&error)))?;
    loop {
        let committed = log.committed_offsets("CSAS_BIG_SPENDERS_0", "clicks")?;
        let done = committed
            .iter()
            .zip(&ends)
            .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end));
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let produced: u64 = log
        .offsets("BIG_SPENDERS")?
        .iter()
        .map(|(_, end)| end)
        .sum();
    println!(
        "stateless: {records} records in {elapsed:.2}s = {:.0} records/s ({produced} written)",
        records as f64 / elapsed
    );
    println!("peak memory: {} MiB", peak_memory_kib() / 1024);
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}
