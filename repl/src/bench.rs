//! `eddy bench`: throughput measurements on a fresh temporary data directory.
//!
//! Run them from a release build: `cargo run --release -p repl -- bench stateless`.
//! Each benchmark loads its input first (in chunks: the loader never holds the whole input),
//! then starts one persistent query and times it until the query's committed offsets reach
//! the end of the input; the peak memory it prints is that of the timed part (see
//! `reset_peak_memory`). With `--bootstrap-servers`,
//! `stateless` and `aggregate` keep their topics on that Kafka cluster (under a prefix of the
//! run's own) instead of the embedded log. `join` (in `bench/join.rs`)
//! times a stream-table and a stream-stream join; `pull` (in `bench/pull.rs`) measures pull
//! queries over HTTP instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use executor::log::partitioner::partition_for_key;
use executor::{BackendKind, Record, TopicLog};
use server::{Engine, Session};

mod join;
mod pull;

/// Records produced to the input topic per `produce` call.
const LOAD_CHUNK: u64 = 10_000;
/// Partitions of every benchmark's input topic.
const PARTITIONS: u32 = 2;
/// Event time of the first input record (ms); record `n` is `n` ms later (1,000 records/s).
/// A multiple of `WINDOW_MS`.
const FIRST_TIMESTAMP: i64 = 1_600_000_000_000;
/// The window of `aggregate` (`SIZE 10 SECONDS`): it holds this many records.
const WINDOW_MS: u64 = 10_000;
/// Records read per `read` call when counting the records of a Kafka topic.
const COUNT_CHUNK: usize = 50_000;
/// How often the end of a run is checked: on Kafka each check asks the group coordinator
/// through a new client, which must not take the cores the query runs on.
const EMBEDDED_POLL: Duration = Duration::from_millis(5);
const KAFKA_POLL: Duration = Duration::from_millis(50);
/// The property of `executor`'s Kafka configuration that prefixes every topic name.
const TOPIC_PREFIX_PROPERTY: &str = "eddy.kafka.topic.prefix";

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark: stateless, aggregate, join or pull.
    workload: String,
    /// Number of input records (join: stream records, the table gets a tenth as many rows;
    /// pull: distinct keys of the materialized table).
    #[arg(long, visible_alias = "rows", default_value_t = 1_000_000)]
    records: u64,
    /// stateless, aggregate: distinct keys of the input records (aggregate groups by them;
    /// its 10-second windows hold 10,000 records each, so at most 10,000 groups apiece).
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    #[command(flatten)]
    pull: pull::PullArgs,
}

/// Runs `args.workload`; on the Kafka cluster at `bootstrap_servers` when given (stateless
/// and aggregate only), else on the embedded log.
pub fn run(args: &BenchArgs, bootstrap_servers: Option<&str>) -> Result<()> {
    let backend = match bootstrap_servers {
        Some(servers) => kafka_backend(servers, &args.workload)?,
        None => BackendKind::Embedded,
    };
    let kafka = matches!(backend, BackendKind::Kafka(_));
    if args.keys == 0 {
        bail!("--keys must be positive");
    }
    match args.workload.as_str() {
        "stateless" => stateless(args.records, args.keys, &backend),
        "aggregate" => aggregate(args.records, args.keys, &backend),
        "join" | "pull" if kafka => bail!(
            "benchmark \"{}\" runs on the embedded log only: drop --bootstrap-servers",
            args.workload
        ),
        "join" => join::run(args.records),
        "pull" => pull::run(args.records, &args.pull),
        other => bail!("unknown benchmark \"{other}\": use stateless, aggregate, join or pull"),
    }
}

/// The Kafka backend of one run: its topics (`eddy-bench-WORKLOAD-PID-MILLIS.NAME`), consumer
/// groups and changelogs are its own, so runs on the same cluster never see each other's.
fn kafka_backend(servers: &str, workload: &str) -> Result<BackendKind> {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis();
    let run = format!("eddy-bench-{workload}-{}-{millis}", std::process::id());
    let properties = BTreeMap::from([
        (TOPIC_PREFIX_PROPERTY.to_string(), format!("{run}.")),
        ("ksql.service.id".to_string(), format!("{run}_")),
    ]);
    println!("Kafka topics of this run: {run}.*");
    crate::backend_kind(Some(servers), &properties)
}

/// A filter + projection persistent query over JSON records with `keys` distinct keys,
/// embedded log to sink topic.
fn stateless(records: u64, keys: u64, backend: &BackendKind) -> Result<()> {
    let mut bench = Bench::open(
        backend,
        "CREATE STREAM clicks (id VARCHAR KEY, user_id VARCHAR, amount DOUBLE, category VARCHAR, ts BIGINT) \
         WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);",
    )?;
    let categories = ["books", "music", "garden", "toys", "food"];
    bench.load("clicks", records, |n| {
        let key = format!("k{}", n % keys);
        let value = format!(
            r#"{{"user_id":"user_{}","amount":{}.5,"category":"{}","ts":{}}}"#,
            n % 1000,
            n % 100,
            categories[(n % 5) as usize],
            FIRST_TIMESTAMP + n as i64
        );
        (key, value, n as i64)
    })?;
    let run = bench.run_query(
        "CREATE STREAM big_spenders AS SELECT id, user_id, amount * 2 AS doubled, UCASE(category) AS category \
         FROM clicks WHERE amount > 10 EMIT CHANGES;",
        "CSAS_BIG_SPENDERS_0",
        &["clicks"],
    )?;
    let produced = bench.records_in("BIG_SPENDERS")?;
    run.report("stateless", records, &format!("{produced} written"));
    Ok(())
}

/// A tumbling-window COUNT and SUM grouped by a column with `keys` values (record `n` has
/// key `n % keys`), over JSON records whose event time spans many windows; the result is a
/// materialized table.
fn aggregate(records: u64, keys: u64, backend: &BackendKind) -> Result<()> {
    let mut bench = Bench::open(
        backend,
        "CREATE STREAM clicks (page VARCHAR KEY, user_id VARCHAR, amount BIGINT) \
         WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);",
    )?;
    bench.load("clicks", records, |n| {
        let key = format!("page_{}", n % keys);
        let value = format!(r#"{{"USER_ID":"user_{}","AMOUNT":{}}}"#, n % 1000, n % 100);
        (key, value, FIRST_TIMESTAMP + n as i64)
    })?;
    let run = bench.run_query(
        "CREATE TABLE page_stats AS SELECT page, COUNT(*) AS views, SUM(amount) AS total \
         FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY page EMIT CHANGES;",
        "CTAS_PAGE_STATS_0",
        &["clicks"],
    )?;
    let produced = bench.records_in("PAGE_STATS")?;
    run.report("aggregate", records, &format!("{produced} written"));
    let (windows, groups) = window_groups(records, keys);
    let rows = bench.count_rows("PAGE_STATS")?;
    let plural = if windows == 1 { "" } else { "s" };
    println!(
        "{keys} distinct keys: {rows} rows (key and window) in the table; \
         expected {groups} in {windows} window{plural}"
    );
    Ok(())
}

/// The windows of `aggregate`'s input of `records` records with `keys` keys, and its groups
/// (distinct key and window pairs): a window's records have consecutive numbers, so it holds
/// as many groups as records, up to `keys`.
fn window_groups(records: u64, keys: u64) -> (u64, u64) {
    let windows = records.div_ceil(WINDOW_MS);
    let full = records / WINDOW_MS;
    let groups = full * keys.min(WINDOW_MS) + keys.min(records % WINDOW_MS);
    (windows, groups)
}

/// An engine over a temporary data directory with a session.
struct Bench {
    engine: Arc<Engine>,
    /// Where the topics are: `reopen` opens the engine on the same backend.
    backend: BackendKind,
    log: Arc<dyn TopicLog>,
    session: Session,
    /// Declared last so that it is deleted after the engine closed the database in it.
    directory: tempfile::TempDir,
}

/// Figures of one timed persistent query.
struct QueryRun {
    elapsed: Duration,
    /// Bytes the data directory grew by while the query ran.
    bytes_written: u64,
    /// Peak resident memory of the process from the run's start until the query had caught
    /// up, in KiB.
    peak_memory_kib: u64,
}

/// Where a timed query run starts: the data directory's size, then the time. Starting one
/// resets the peak memory.
struct RunStart {
    directory_bytes: u64,
    at: Instant,
}

impl RunStart {
    fn now(directory: &Path) -> RunStart {
        reset_peak_memory();
        RunStart {
            directory_bytes: directory_bytes(directory),
            at: Instant::now(),
        }
    }
}

impl Bench {
    /// Opens an engine on a fresh temporary directory over `backend` and executes `setup`.
    fn open(backend: &BackendKind, setup: &str) -> Result<Bench> {
        let directory = tempfile::tempdir().context("cannot create a temporary directory")?;
        let mut bench = Bench::reopen(directory, backend)?;
        bench.execute(setup)?;
        Ok(bench)
    }

    /// Opens an engine on `directory`: its persistent queries resume from their committed
    /// offsets.
    fn reopen(directory: tempfile::TempDir, backend: &BackendKind) -> Result<Bench> {
        let engine = Engine::open_with(directory.path(), backend.clone())?;
        Ok(Bench {
            log: engine.topic_log(),
            engine,
            backend: backend.clone(),
            session: Session::default(),
            directory,
        })
    }

    /// Stops the engine, and with it every query where its last epoch committed, and closes
    /// the data directory's database; returns the directory for `reopen`.
    fn close(self) -> Result<tempfile::TempDir> {
        let Bench {
            engine,
            log,
            directory,
            ..
        } = self;
        drop(log);
        let Some(engine) = Arc::into_inner(engine) else {
            bail!("the engine is still shared: cannot close its data directory");
        };
        drop(engine);
        Ok(directory)
    }

    fn execute(&mut self, sql: &str) -> Result<()> {
        self.engine
            .execute_script(sql, &mut self.session, |_, _| {})
            .map_err(|error| anyhow::anyhow!("{}", executor::error_chain(&error)))
    }

    /// Produces `records` records to `topic` (see `load`).
    fn load(
        &self,
        topic: &str,
        records: u64,
        record: impl Fn(u64) -> (String, String, i64),
    ) -> Result<()> {
        load(self.log.as_ref(), topic, records, record)
    }

    /// Starts the persistent query of `sql` and waits until its consumer group `query_id`
    /// has committed every record of `topics`.
    fn run_query(&mut self, sql: &str, query_id: &str, topics: &[&str]) -> Result<QueryRun> {
        let start = RunStart::now(self.directory.path());
        self.execute(sql)?;
        self.wait_for(query_id, topics, start)
    }

    /// Waits until the consumer group `query_id` has committed every record `topics` hold
    /// now, and measures the run from `start`.
    fn wait_for(&self, query_id: &str, topics: &[&str], start: RunStart) -> Result<QueryRun> {
        let ends = topics
            .iter()
            .map(|topic| Ok((*topic, self.log.offsets(topic)?)))
            .collect::<Result<Vec<_>>>()?;
        loop {
            let mut done = true;
            for (topic, ends) in &ends {
                let committed = self.log.committed_offsets(query_id, topic)?;
                done &= committed
                    .iter()
                    .zip(ends)
                    .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end));
            }
            if done {
                break;
            }
            if let Some((_, executor::QueryState::Error(message))) = self
                .engine
                .query_states()
                .into_iter()
                .find(|(id, _)| id == query_id)
            {
                bail!("query {query_id} failed: {message}");
            }
            std::thread::sleep(match self.backend {
                BackendKind::Embedded => EMBEDDED_POLL,
                BackendKind::Kafka(_) => KAFKA_POLL,
            });
        }
        let elapsed = start.at.elapsed();
        let bytes_after = directory_bytes(self.directory.path());
        Ok(QueryRun {
            elapsed,
            bytes_written: bytes_after.saturating_sub(start.directory_bytes),
            peak_memory_kib: peak_memory_kib(),
        })
    }

    /// The rows of the materialized table `table`: the entries of its state, counted one
    /// at a time (a `COUNT(*)` pull query would hold them all in memory at once). On Kafka
    /// an epoch's state reaches the local store just after its offsets are committed, so
    /// the count is repeated until it stops changing.
    fn count_rows(&self, table: &str) -> Result<u64> {
        let id = executor::state::materialized::table_state_id(table);
        let state = self.engine.state_store();
        match self.backend {
            BackendKind::Embedded => Ok(state.table_entries(&id)?),
            BackendKind::Kafka(_) => until_stable(|| Ok(state.table_entries(&id)?)),
        }
    }

    /// The number of records `topic` holds. On Kafka, transaction markers take offsets too:
    /// there the records are read (as a `read_committed` consumer) and counted.
    fn records_in(&self, topic: &str) -> Result<u64> {
        if matches!(self.backend, BackendKind::Embedded) {
            return Ok(self.log.offsets(topic)?.iter().map(|(_, end)| end).sum());
        }
        // Kafka writes a transaction's commit markers to its partitions after the commit
        // that made the consumed offsets visible, so a partition's readable end can still
        // trail: count again until the count stops changing.
        until_stable(|| self.committed_records_in(topic))
    }

    /// The records of `topic` a read-committed consumer reads now.
    fn committed_records_in(&self, topic: &str) -> Result<u64> {
        let offsets = self.log.offsets(topic)?;
        let mut count = 0;
        for (partition, (start, end)) in (0u32..).zip(offsets) {
            let mut from = start;
            while from < end {
                let batch = self.log.read(topic, partition, from, COUNT_CHUNK)?;
                let Some(last) = batch.last() else {
                    break;
                };
                from = last.offset + 1;
                count += batch.len() as u64;
            }
        }
        Ok(count)
    }
}

/// A count read again every `KAFKA_POLL` until two reads agree (on Kafka, what a commit made
/// visible reaches the local store and the partitions' readable ends just after it).
fn until_stable(mut count: impl FnMut() -> Result<u64>) -> Result<u64> {
    let mut last = count()?;
    loop {
        std::thread::sleep(KAFKA_POLL);
        let again = count()?;
        if again == last {
            return Ok(last);
        }
        last = again;
    }
}

/// Produces `records` records to `topic` of `log`, `LOAD_CHUNK` at a time; `record(n)` gives
/// the `n`th record's key, JSON value and timestamp. Records are partitioned by key like
/// Kafka's default partitioner.
fn load(
    log: &dyn TopicLog,
    topic: &str,
    records: u64,
    record: impl Fn(u64) -> (String, String, i64),
) -> Result<()> {
    let started = Instant::now();
    let mut written = 0u64;
    while written < records {
        let chunk = (records - written).min(LOAD_CHUNK);
        let batch = (written..written + chunk)
            .map(|n| {
                let (key, value, timestamp) = record(n);
                (
                    partition_for_key(key.as_bytes(), PARTITIONS),
                    Record {
                        key: Some(key.into_bytes()),
                        value: Some(value.into_bytes()),
                        timestamp,
                        headers: Vec::new(),
                    },
                )
            })
            .collect();
        log.produce(topic, batch)?;
        written += chunk;
    }
    println!(
        "loaded {records} records in {:.2}s (peak memory so far: {} MiB)",
        started.elapsed().as_secs_f64(),
        peak_memory_kib() / 1024
    );
    Ok(())
}

impl QueryRun {
    /// Prints throughput, peak memory and bytes written per input record.
    fn report(&self, name: &str, records: u64, detail: &str) {
        let seconds = self.elapsed.as_secs_f64();
        println!(
            "{name}: {records} records in {seconds:.2}s = {:.0} records/s ({detail})",
            records as f64 / seconds
        );
        print_peak_memory(self.peak_memory_kib);
        println!(
            "data directory growth: {:.1} bytes per input record",
            self.bytes_written as f64 / records.max(1) as f64
        );
    }
}

/// Total size of the files under `path` (0 for what cannot be read: files RocksDB deletes
/// while we walk).
fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => directory_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |metadata| metadata.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Prints `peak memory: N MiB`, the line every benchmark reports its peak memory with.
fn print_peak_memory(kib: u64) {
    println!("peak memory: {} MiB", kib / 1024);
}

/// Starts a new peak of resident memory at the current resident size (Linux: `5` to
/// `/proc/self/clear_refs`), so that a run's peak is its own and not that of the load or
/// of an earlier run. Where that is refused, the peak stays the process's.
fn reset_peak_memory() {
    if let Err(error) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::debug!("cannot reset the peak memory: {error}");
    }
}

/// Peak resident memory of this process (VmHWM) since it started or since the last
/// `reset_peak_memory`, in KiB.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_groups_counts_distinct_keys_per_window() {
        // (records, keys, windows, groups)
        let cases = [
            (0, 10, 0, 0),
            (5, 10, 1, 5),
            (20_000, 10_000, 2, 20_000),
            (20_000, 10_000_000, 2, 20_000),
            (20_000, 50, 2, 100),
            (25_000, 7_000, 3, 7_000 + 7_000 + 5_000),
        ];
        for (records, keys, windows, groups) in cases {
            assert_eq!(
                window_groups(records, keys),
                (windows, groups),
                "{records} records, {keys} keys"
            );
        }
        // Brute force: the distinct (key, window) pairs of the records.
        for (records, keys) in [(25_000, 7_000), (31_234, 12_345), (9_999, 3)] {
            let pairs: std::collections::BTreeSet<(u64, u64)> =
                (0..records).map(|n| (n % keys, n / WINDOW_MS)).collect();
            assert_eq!(window_groups(records, keys).1, pairs.len() as u64);
        }
    }
}
