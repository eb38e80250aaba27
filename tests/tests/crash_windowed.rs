//! Kill -9 of a process running a windowed aggregation, at 20 or more points chosen by the
//! query's progress, loses and duplicates nothing: after every kill the committed sink records
//! are, per key, a prefix of an uninterrupted run's, and after the last restart the sink topic
//! and the materialized table (pull query) equal the uninterrupted run's.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use executor::log::partitioner::partition_for_key;
use executor::{EmbeddedLog, Record, Store, TopicLog};
use server::{Engine, Session};
use tests::crash::{CrashChild, KILL_PHASES, Progress};
use tests::{execute, pull_rows, wait_until};

/// Input records of the aggregation.
const RECORDS: u64 = 200_000;
/// Distinct values of the grouping column.
const PAGES: u64 = 1_000;
/// Partitions of the input topic.
const PARTITIONS: u32 = 2;
/// Event time of record 0; record `n` is `n` ms later, so 10,000 records per window.
const FIRST_TIMESTAMP: i64 = 1_600_000_000_000;
/// Size of the tumbling window, as in `AGGREGATION`.
const WINDOW_MS: i64 = 10_000;
/// Every this many records one arrives this late (ms): out of order, within the grace period.
const OUT_OF_ORDER_EVERY: u64 = 50;
const OUT_OF_ORDER_MS: i64 = 3_000;
/// How many times the child is killed.
const KILLS: usize = 25;
const QUERY_ID: &str = "CTAS_PAGE_STATS_0";
const SOURCE_TOPIC: &str = "clicks";
const SINK_TOPIC: &str = "PAGE_STATS";

const SOURCES: &str = "CREATE STREAM clicks (page VARCHAR KEY, user_id VARCHAR, amount BIGINT)
       WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
     CREATE STREAM idle (x INT) WITH (KAFKA_TOPIC='idle', VALUE_FORMAT='JSON', PARTITIONS=1);";
/// One output record per input record (no cache), so that the output is deterministic;
/// epochs of 4,096 records per partition, so that the run has enough of them to kill in.
const AGGREGATION: &str = "SET 'cache.max.bytes.buffering'='0';
     SET 'max.poll.records'='4096';
     CREATE TABLE page_stats AS SELECT page, COUNT(*) AS views, SUM(amount) AS total
       FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS)
       GROUP BY page EMIT CHANGES;";
/// A push query that never ends keeps the child running after its script.
const KEEP_ALIVE: &str = "SELECT * FROM idle EMIT CHANGES;";

/// The `n`th input record: its page (the key), JSON value and timestamp.
fn input_record(n: u64) -> (String, String, i64) {
    let page = format!("page_{}", (n * 7) % PAGES);
    let value = format!(
        r#"{{"USER_ID":"user_{}","AMOUNT":{}}}"#,
        n % 97,
        (n * 13) % 101
    );
    let mut timestamp = FIRST_TIMESTAMP + n as i64;
    if n % OUT_OF_ORDER_EVERY == OUT_OF_ORDER_EVERY - 1 && n as i64 >= OUT_OF_ORDER_MS {
        timestamp -= OUT_OF_ORDER_MS;
    }
    (page, value, timestamp)
}

/// The sink key of a windowed aggregate row: the KAFKA-format key and the window start.
fn sink_key(page: &str, timestamp: i64) -> Vec<u8> {
    let window_start = timestamp - timestamp.rem_euclid(WINDOW_MS);
    let mut key = page.as_bytes().to_vec();
    key.extend_from_slice(&window_start.to_be_bytes());
    key
}

/// Creates the sources in `data` and produces the input, keyed by page so that each page lives
/// in one partition. Returns, per partition in offset order, the sink key each record updates.
fn load_input(data: &Path) -> Vec<Vec<Vec<u8>>> {
    let engine = Engine::open(data).expect("engine opens");
    execute(&engine, &mut Session::default(), SOURCES);
    let log = engine.topic_log();
    let mut updates = vec![Vec::new(); PARTITIONS as usize];
    for chunk in 0..RECORDS.div_ceil(10_000) {
        let records = (chunk * 10_000..((chunk + 1) * 10_000).min(RECORDS))
            .map(|n| {
                let (page, value, timestamp) = input_record(n);
                let partition = partition_for_key(page.as_bytes(), PARTITIONS);
                updates[partition as usize].push(sink_key(&page, timestamp));
                (
                    partition,
                    Record {
                        key: Some(page.into_bytes()),
                        value: Some(value.into_bytes()),
                        timestamp,
                        headers: Vec::new(),
                    },
                )
            })
            .collect();
        log.produce(SOURCE_TOPIC, records).expect("produce");
    }
    updates
}

/// The sink topic as read so far: per sink key (window included) its values in order.
#[derive(Default)]
struct Sink {
    values: BTreeMap<Vec<u8>, Vec<Option<Vec<u8>>>>,
    total: u64,
    /// Per partition, the next offset to read.
    read_to: Vec<u64>,
}

impl Sink {
    /// Reads the records appended since the last call.
    fn read_more(&mut self, log: &dyn TopicLog) {
        if log.describe_topic(SINK_TOPIC).expect("describe").is_none() {
            return;
        }
        let offsets = log.offsets(SINK_TOPIC).expect("sink offsets");
        self.read_to.resize(offsets.len(), 0);
        for (partition, (start, end)) in offsets.into_iter().enumerate() {
            assert_eq!(
                start, 0,
                "sink partition {partition} lost its first records"
            );
            let mut offset = self.read_to[partition];
            while offset < end {
                let records = log
                    .read(SINK_TOPIC, partition as u32, offset, 10_000)
                    .expect("read sink");
                for consumed in &records {
                    let key = consumed.record.key.clone().expect("sink records are keyed");
                    self.values
                        .entry(key)
                        .or_default()
                        .push(consumed.record.value.clone());
                    self.total += 1;
                }
                offset = records.last().map_or(end, |last| last.offset + 1);
            }
            self.read_to[partition] = end;
        }
    }
}

/// What an uninterrupted run produced.
struct Reference {
    sink: Sink,
    /// Header and rows of `SELECT * FROM page_stats;`, rows sorted.
    table: (Vec<String>, Vec<String>),
}

/// Waits until the aggregation committed every input record.
fn wait_for_query_end(log: &dyn TopicLog) {
    let ends = log.offsets(SOURCE_TOPIC).expect("source offsets");
    wait_until(
        Duration::from_secs(300),
        "the aggregation to consume all input",
        || {
            let committed = log.committed_offsets(QUERY_ID, SOURCE_TOPIC)?;
            Ok(committed
                .iter()
                .zip(&ends)
                .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end)))
        },
    )
    .expect("the aggregation completes");
}

/// Runs the aggregation uninterrupted, in-process, in `data`.
fn reference_run(data: &Path) -> Reference {
    load_input(data);
    let engine = Engine::open(data).expect("engine opens");
    execute(&engine, &mut Session::default(), AGGREGATION);
    let log = engine.topic_log();
    wait_for_query_end(log.as_ref());
    let mut sink = Sink::default();
    sink.read_more(log.as_ref());
    Reference {
        sink,
        table: pull_rows(
            &engine,
            &mut Session::default(),
            "SELECT * FROM page_stats;",
        ),
    }
}

/// Reads the new sink records of the (stopped) data directory `data` and checks that the
/// sink holds, per key, exactly the outputs of the committed input records, and that they are
/// a prefix of the reference's. Returns the committed offset per source partition.
fn check_committed(
    data: &Path,
    updates: &[Vec<Vec<u8>>],
    reference: &Reference,
    sink: &mut Sink,
    after: &str,
) -> Vec<u64> {
    let store = Store::open(data).expect("store opens");
    let log = EmbeddedLog::new(store).expect("log opens");
    let committed: Vec<u64> = log
        .committed_offsets(QUERY_ID, SOURCE_TOPIC)
        .expect("committed offsets")
        .into_iter()
        .map(|offset| offset.unwrap_or(0))
        .collect();
    sink.read_more(&log);

    let mut expected_counts: BTreeMap<&[u8], usize> = BTreeMap::new();
    for (partition, keys) in updates.iter().enumerate() {
        for key in &keys[..committed[partition] as usize] {
            *expected_counts.entry(key.as_slice()).or_default() += 1;
        }
    }
    let consumed: u64 = committed.iter().sum();
    assert_eq!(
        sink.total, consumed,
        "{after}: sink records vs committed input records (offsets {committed:?})"
    );
    for (key, values) in &sink.values {
        let expected = expected_counts.get(key.as_slice()).copied().unwrap_or(0);
        assert_eq!(
            values.len(),
            expected,
            "{after}: records of sink key {} vs committed inputs (offsets {committed:?})",
            describe_key(key)
        );
        let reference_values = reference
            .sink
            .values
            .get(key)
            .map_or(&[][..], Vec::as_slice);
        assert!(
            reference_values.starts_with(values),
            "{after}: sink key {} is not a prefix of the uninterrupted run:\n  got      {}\n  expected {}",
            describe_key(key),
            describe_values(values),
            describe_values(reference_values)
        );
    }
    assert_eq!(
        sink.values.len(),
        expected_counts.len(),
        "{after}: sink keys vs keys of the committed inputs"
    );
    committed
}

fn describe_key(key: &[u8]) -> String {
    match key.len().checked_sub(8) {
        Some(split) => format!(
            "{}@{}",
            String::from_utf8_lossy(&key[..split]),
            i64::from_be_bytes(key[split..].try_into().expect("8 bytes"))
        ),
        None => format!("{key:?}"),
    }
}

fn describe_values(values: &[Option<Vec<u8>>]) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|value| {
            value.as_deref().map_or("<tombstone>".to_string(), |bytes| {
                String::from_utf8_lossy(bytes).into_owned()
            })
        })
        .collect();
    shown.join(", ")
}

/// Summed progress at which the child is killed: spread over the run, the last ones near the
/// end (the last one right at it, when the query is idle).
fn kill_points() -> Vec<u64> {
    let spread = KILLS as u64 - 2;
    (1..=spread)
        .map(|k| RECORDS * k / (spread + 1))
        .chain([RECORDS - 3_000, RECORDS])
        .collect()
}

#[test]
fn windowed_aggregation_survives_sigkill_at_many_points_like_an_uninterrupted_run() {
    let started = Instant::now();
    let directory = tempfile::tempdir().expect("temp dir");
    let reference = reference_run(&directory.path().join("reference"));
    eprintln!(
        "reference run: {} sink records, {} keys, {} table rows ({:?}, first {:?}) after {:.1}s",
        reference.sink.total,
        reference.sink.values.len(),
        reference.table.1.len(),
        reference.table.0,
        reference.table.1.first(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        reference.sink.total, RECORDS,
        "without a cache every input record updates its window once"
    );
    assert_eq!(
        reference.table.1.len(),
        reference.sink.values.len(),
        "one table row per page and window"
    );

    let data = directory.path().join("data");
    let updates = load_input(&data);
    let first = directory.path().join("first.sql");
    std::fs::write(&first, format!("{AGGREGATION}\n{KEEP_ALIVE}")).expect("write script");
    let again = directory.path().join("again.sql");
    std::fs::write(&again, KEEP_ALIVE).expect("write script");

    let mut sink = Sink::default();
    let mut committed = vec![0; PARTITIONS as usize];
    let mut kills = 0;
    let mut epoch = Duration::from_millis(50);
    for (index, kill_at) in kill_points().into_iter().enumerate() {
        if committed.iter().sum::<u64>() >= RECORDS {
            break;
        }
        let child = CrashChild {
            data: &data,
            script: if index == 0 { &first } else { &again },
            query_id: QUERY_ID,
            timed_topic: SOURCE_TOPIC,
        };
        let phase = index as u32 % KILL_PHASES;
        let progress_from: Progress = committed
            .iter()
            .enumerate()
            .map(|(partition, offset)| ((SOURCE_TOPIC.to_string(), partition as u32), *offset))
            .collect();
        let (progress, delay) = child.run_and_kill(&progress_from, kill_at, phase, &mut epoch);
        kills += 1;
        committed = check_committed(
            &data,
            &updates,
            &reference,
            &mut sink,
            &format!("after kill {kills} (progress {progress})"),
        );
        eprintln!(
            "kill {kills} at progress {progress} (point {kill_at}) + {delay:?}: committed {committed:?}, {} sink records",
            sink.total
        );
    }
    eprintln!(
        "{kills} kills, committed {committed:?} after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        kills >= 20,
        "only {kills} kills: the runs overshot the kill points"
    );

    // Restart in-process: the command log restarts the query, which finishes the input.
    let engine = Engine::open(&data).expect("engine reopens");
    let log: Arc<dyn TopicLog> = engine.topic_log();
    wait_for_query_end(log.as_ref());
    sink.read_more(log.as_ref());
    assert_eq!(sink.total, reference.sink.total, "sink record count");
    for (key, values) in &reference.sink.values {
        let got = sink.values.get(key).map_or(&[][..], Vec::as_slice);
        assert!(
            got == values.as_slice(),
            "sink key {} differs from the uninterrupted run:\n  got      {}\n  expected {}",
            describe_key(key),
            describe_values(got),
            describe_values(values)
        );
    }
    assert_eq!(sink.values.len(), reference.sink.values.len(), "sink keys");
    let table = pull_rows(
        &engine,
        &mut Session::default(),
        "SELECT * FROM page_stats;",
    );
    assert_eq!(table.0, reference.table.0, "pull query columns");
    assert_eq!(table.1.len(), reference.table.1.len(), "pull query rows");
    if let Some((got, expected)) = table
        .1
        .iter()
        .zip(&reference.table.1)
        .find(|(got, expected)| got != expected)
    {
        panic!(
            "pull query row differs from the uninterrupted run:\n  got      {got}\n  expected {expected}"
        );
    }
    // Last, so that a crash bug shows first: without the window columns, rows of different
    // windows of a page cannot be told apart and the comparison above is weaker.
    assert_eq!(
        reference.table.0,
        ["PAGE", "WINDOWSTART", "WINDOWEND", "VIEWS", "TOTAL"],
        "columns of SELECT * from a windowed table, as in ksqlDB"
    );
    eprintln!("done after {:.1}s", started.elapsed().as_secs_f64());
}
