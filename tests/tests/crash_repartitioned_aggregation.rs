//! Kill -9 of a process running a windowed aggregation grouped by a value column (so its
//! rows move through the `Aggregate-GroupBy-repartition` topic: two stages, each committing
//! its own epochs), at 20 or more points chosen by the query's progress, loses and
//! duplicates nothing. After every kill: the repartition topic holds exactly one record per
//! committed source record, and the sink exactly the updates of the committed repartition
//! records (each key's counts go 1, 2, ... and its totals grow by the amounts of its
//! records, each once). After the last restart the sink's last value per key and the
//! materialized table (pull query) equal an uninterrupted run's.
//!
//! Every record's amount is its number, so a total's increments name the records counted.
//! The order in which the two source partitions' records meet in a repartition partition
//! differs from run to run, so intermediate totals differ; what every run agrees on is
//! checked.

use std::collections::{BTreeMap, BTreeSet};
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
/// Distinct users: the key of the input records.
const USERS: u64 = 97;
/// Partitions of the input topic (and so of the repartition topic).
const PARTITIONS: u32 = 2;
/// Event time of record 0; record `n` is `n` ms later, so 10,000 records per window.
const FIRST_TIMESTAMP: i64 = 1_600_000_000_000;
const WINDOW_MS: i64 = 10_000;
/// How many times the child is killed.
const KILLS: usize = 25;
const QUERY_ID: &str = "CTAS_PAGE_STATS_0";
const SOURCE_TOPIC: &str = "clicks";
const SINK_TOPIC: &str = "PAGE_STATS";
const REPARTITION_TOPIC: &str =
    "_confluent-ksql-default_query_CTAS_PAGE_STATS_0-Aggregate-GroupBy-repartition";

const SOURCES: &str = "CREATE STREAM clicks (user_id VARCHAR KEY, page VARCHAR, amount BIGINT)
       WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
     CREATE STREAM idle (x INT) WITH (KAFKA_TOPIC='idle', VALUE_FORMAT='JSON', PARTITIONS=1);";
/// One output record per input record (no cache); epochs of 4,096 records per partition,
/// so that the run has enough of them to kill in. The grace period is longer than the
/// input's event time: no record is late, whatever order the partitions' records meet in.
const AGGREGATION: &str = "SET 'cache.max.bytes.buffering'='0';
     SET 'max.poll.records'='4096';
     CREATE TABLE page_stats AS SELECT page, COUNT(*) AS views, SUM(amount) AS total
       FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 HOUR)
       GROUP BY page EMIT CHANGES;";
/// A push query that never ends keeps the child running after its script.
const KEEP_ALIVE: &str = "SELECT * FROM idle EMIT CHANGES;";

/// The `n`th input record: its user (the key), page, and timestamp; its amount is `n`.
fn input_record(n: u64) -> (String, String, i64) {
    (
        format!("user_{}", n % USERS),
        format!("page_{}", (n * 7) % PAGES),
        FIRST_TIMESTAMP + n as i64,
    )
}

/// The sink key of a record: the KAFKA-format page and the window start.
fn sink_key(page: &str, timestamp: i64) -> Vec<u8> {
    let window_start = timestamp - timestamp.rem_euclid(WINDOW_MS);
    let mut key = page.as_bytes().to_vec();
    key.extend_from_slice(&window_start.to_be_bytes());
    key
}

/// Creates the sources in `data` and produces the input, keyed by user. Returns, per
/// partition in offset order, each record's number.
fn load_input(data: &Path) -> Vec<Vec<u64>> {
    let engine = Engine::open(data).expect("engine opens");
    execute(&engine, &mut Session::default(), SOURCES);
    let log = engine.topic_log();
    let mut numbers = vec![Vec::new(); PARTITIONS as usize];
    for chunk in 0..RECORDS.div_ceil(10_000) {
        let records = (chunk * 10_000..((chunk + 1) * 10_000).min(RECORDS))
            .map(|n| {
                let (user, page, timestamp) = input_record(n);
                let partition = partition_for_key(user.as_bytes(), PARTITIONS);
                numbers[partition as usize].push(n);
                let value = format!(r#"{{"PAGE":"{page}","AMOUNT":{n}}}"#);
                (
                    partition,
                    Record {
                        key: Some(user.into_bytes()),
                        value: Some(value.into_bytes()),
                        timestamp,
                        headers: Vec::new(),
                    },
                )
            })
            .collect();
        log.produce(SOURCE_TOPIC, records).expect("produce");
    }
    numbers
}

/// Every record of `topic` from per-partition offset `from` on, per partition.
fn read_from(log: &dyn TopicLog, topic: &str, from: &[u64]) -> Vec<Vec<Record>> {
    if log.describe_topic(topic).expect("describe").is_none() {
        return Vec::new();
    }
    let mut partitions = Vec::new();
    for (partition, (start, end)) in log.offsets(topic).expect("offsets").into_iter().enumerate() {
        assert_eq!(
            start, 0,
            "{topic} partition {partition} lost its first records"
        );
        let mut records = Vec::new();
        let mut offset = from.get(partition).copied().unwrap_or(0);
        while offset < end {
            let read = log
                .read(topic, partition as u32, offset, 10_000)
                .expect("read");
            offset = read.last().map_or(end, |last| last.offset + 1);
            records.extend(read.into_iter().map(|consumed| consumed.record));
        }
        partitions.push(records);
    }
    partitions
}

/// The amount (record number) a repartition record carries.
fn moved_amount(record: &Record) -> u64 {
    let value: serde_json::Value =
        serde_json::from_slice(record.value.as_deref().expect("a value")).expect("JSON value");
    value["KSQL_INTERNAL_COL_0"]
        .as_u64()
        .expect("the amount is a number")
}

/// The sink as read so far: per key, its `(views, total)` updates in order.
#[derive(Default)]
struct Sink {
    updates: BTreeMap<Vec<u8>, Vec<(u64, u64)>>,
    total: u64,
    read_to: Vec<u64>,
}

impl Sink {
    fn read_more(&mut self, log: &dyn TopicLog) {
        let partitions = read_from(log, SINK_TOPIC, &self.read_to);
        self.read_to.resize(partitions.len(), 0);
        for (partition, records) in partitions.into_iter().enumerate() {
            self.read_to[partition] += records.len() as u64;
            for record in records {
                let value: serde_json::Value =
                    serde_json::from_slice(record.value.as_deref().expect("no tombstones"))
                        .expect("JSON value");
                let number = |name: &str| value[name].as_u64().expect("a number");
                self.updates
                    .entry(record.key.expect("keyed"))
                    .or_default()
                    .push((number("VIEWS"), number("TOTAL")));
                self.total += 1;
            }
        }
    }

    /// The amounts each key's updates added, checking that its counts go 1, 2, ... and
    /// that each amount is that of a record of the key's page and window.
    fn added_amounts(&self, after: &str) -> Vec<u64> {
        let mut amounts = Vec::with_capacity(self.total as usize);
        for (key, updates) in &self.updates {
            let mut last = (0, 0);
            for (index, &(views, total)) in updates.iter().enumerate() {
                assert_eq!(
                    views,
                    index as u64 + 1,
                    "{after}: update {index} of sink key {} counts {views} views",
                    describe_key(key)
                );
                let amount = total - last.1;
                let (_, page, timestamp) = input_record(amount);
                assert_eq!(
                    describe_key(&sink_key(&page, timestamp)),
                    describe_key(key),
                    "{after}: update {index} of a sink key added the amount of record {amount}"
                );
                amounts.push(amount);
                last = (views, total);
            }
        }
        amounts
    }
}

fn describe_key(key: &[u8]) -> String {
    let split = key.len() - 8;
    format!(
        "{}@{}",
        String::from_utf8_lossy(&key[..split]),
        i64::from_be_bytes(key[split..].try_into().expect("8 bytes"))
    )
}

/// `values` sorted, and the first value that occurs twice, if one does.
fn sorted_unique(mut values: Vec<u64>) -> (Vec<u64>, Option<u64>) {
    values.sort_unstable();
    let duplicate = values
        .windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0]);
    (values, duplicate)
}

/// What a stopped run committed: per partition, the query's next offsets of the source and
/// of the repartition topic.
struct Committed {
    source: Vec<u64>,
    moved: Vec<u64>,
}

impl Committed {
    fn progress(&self) -> Progress {
        let mut progress = Progress::new();
        for (topic, offsets) in [
            (SOURCE_TOPIC, &self.source),
            (REPARTITION_TOPIC, &self.moved),
        ] {
            for (partition, offset) in offsets.iter().enumerate() {
                progress.insert((topic.to_string(), partition as u32), *offset);
            }
        }
        progress
    }
}

/// Checks the stopped data directory `data` (`check_log`).
fn check_committed(data: &Path, numbers: &[Vec<u64>], sink: &mut Sink, after: &str) -> Committed {
    let store = Store::open(data).expect("store opens");
    let log = EmbeddedLog::new(store).expect("log opens");
    check_log(&log, numbers, sink, after)
}

/// Checks what `log` holds: the repartition topic one record per committed source record
/// (`numbers`: per source partition, the record numbers in offset order), and the sink the
/// updates of exactly the committed repartition records.
fn check_log(log: &dyn TopicLog, numbers: &[Vec<u64>], sink: &mut Sink, after: &str) -> Committed {
    let offsets = |topic: &str| -> Vec<u64> {
        if log.describe_topic(topic).expect("describe").is_none() {
            return vec![0; PARTITIONS as usize];
        }
        log.committed_offsets(QUERY_ID, topic)
            .expect("committed offsets")
            .into_iter()
            .map(|offset| offset.unwrap_or(0))
            .collect()
    };
    let committed = Committed {
        source: offsets(SOURCE_TOPIC),
        moved: offsets(REPARTITION_TOPIC),
    };

    // Stage 1: exactly the committed source records moved, each once.
    let moved = read_from(log, REPARTITION_TOPIC, &[]);
    let (moved_amounts, duplicate) =
        sorted_unique(moved.iter().flatten().map(moved_amount).collect());
    assert_eq!(duplicate, None, "{after}: a record moved twice");
    let (expected_moved, _) = sorted_unique(
        numbers
            .iter()
            .zip(&committed.source)
            .flat_map(|(numbers, committed)| numbers[..*committed as usize].iter().copied())
            .collect(),
    );
    if moved_amounts != expected_moved {
        panic!(
            "{after}: {} records moved for {} committed source records (source offsets {:?})",
            moved_amounts.len(),
            expected_moved.len(),
            committed.source
        );
    }
    for (partition, records) in moved.iter().enumerate() {
        for record in records {
            let key = record.key.as_deref().expect("moved records are keyed");
            assert_eq!(partition_for_key(key, PARTITIONS), partition as u32);
            let n = moved_amount(record);
            let (_, page, timestamp) = input_record(n);
            assert_eq!((key, record.timestamp), (page.as_bytes(), timestamp));
        }
    }

    // Stage 2: the sink counted exactly the committed repartition records, each once.
    sink.read_more(log);
    let (added, duplicate) = sorted_unique(sink.added_amounts(after));
    assert_eq!(duplicate, None, "{after}: a record counted twice");
    let (expected_added, _) = sorted_unique(
        moved
            .iter()
            .zip(&committed.moved)
            .flat_map(|(records, committed)| {
                records[..*committed as usize].iter().map(moved_amount)
            })
            .collect(),
    );
    if added != expected_added {
        panic!(
            "{after}: the sink counted {} records, {} committed repartition records (offsets {:?})",
            added.len(),
            expected_added.len(),
            committed.moved
        );
    }
    committed
}

/// Waits until the aggregation committed every record of both stages.
fn wait_for_query_end(log: &dyn TopicLog) {
    wait_until(
        Duration::from_secs(300),
        "the aggregation to consume all input",
        || {
            for topic in [SOURCE_TOPIC, REPARTITION_TOPIC] {
                if log.describe_topic(topic)?.is_none() {
                    return Ok(false);
                }
                let ends = log.offsets(topic)?;
                let committed = log.committed_offsets(QUERY_ID, topic)?;
                let done = committed
                    .iter()
                    .zip(&ends)
                    .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end));
                if !done {
                    return Ok(false);
                }
            }
            let moved: u64 = log
                .offsets(REPARTITION_TOPIC)?
                .iter()
                .map(|(_, end)| end)
                .sum();
            Ok(moved == RECORDS)
        },
    )
    .expect("the aggregation completes");
}

/// Each sink key's last `(views, total)`, and the pull query's header and rows.
type Outcome = (BTreeMap<Vec<u8>, (u64, u64)>, (Vec<String>, Vec<String>));

fn outcome(engine: &Engine, sink: &Sink) -> Outcome {
    let last = sink
        .updates
        .iter()
        .map(|(key, updates)| (key.clone(), *updates.last().expect("an update")))
        .collect();
    let table = pull_rows(engine, &mut Session::default(), "SELECT * FROM page_stats;");
    (last, table)
}

/// Summed progress (over both stages' inputs) at which the child is killed: spread over
/// the run, the last ones near the end (the last one right at it, when the query is idle).
fn kill_points() -> Vec<u64> {
    let total = 2 * RECORDS;
    let spread = KILLS as u64 - 2;
    (1..=spread)
        .map(|k| total * k / (spread + 1))
        .chain([total - 3_000, total])
        .collect()
}

#[test]
fn repartitioned_aggregation_survives_sigkill_at_many_points_like_an_uninterrupted_run() {
    let started = Instant::now();
    let directory = tempfile::tempdir().expect("temp dir");
    let reference_data = directory.path().join("reference");
    load_input(&reference_data);
    let reference = {
        let engine = Engine::open(&reference_data).expect("engine opens");
        execute(&engine, &mut Session::default(), AGGREGATION);
        let log = engine.topic_log();
        wait_for_query_end(log.as_ref());
        let mut sink = Sink::default();
        sink.read_more(log.as_ref());
        assert_eq!(sink.total, RECORDS, "every record updates its window once");
        outcome(&engine, &sink)
    };
    eprintln!(
        "reference run: {} keys, {} table rows after {:.1}s",
        reference.0.len(),
        reference.1.1.len(),
        started.elapsed().as_secs_f64()
    );

    let data = directory.path().join("data");
    let numbers = load_input(&data);
    let first = directory.path().join("first.sql");
    std::fs::write(&first, format!("{AGGREGATION}\n{KEEP_ALIVE}")).expect("write script");
    let again = directory.path().join("again.sql");
    std::fs::write(&again, KEEP_ALIVE).expect("write script");

    let mut sink = Sink::default();
    let mut committed = Committed {
        source: vec![0; PARTITIONS as usize],
        moved: vec![0; PARTITIONS as usize],
    };
    let mut kills = 0;
    let mut epoch = Duration::from_millis(50);
    for (index, kill_at) in kill_points().into_iter().enumerate() {
        if committed.moved.iter().sum::<u64>() >= RECORDS {
            break;
        }
        let child = CrashChild {
            data: &data,
            script: if index == 0 { &first } else { &again },
            query_id: QUERY_ID,
            timed_topic: SOURCE_TOPIC,
        };
        let phase = index as u32 % KILL_PHASES;
        let (progress, delay) =
            child.run_and_kill(&committed.progress(), kill_at, phase, &mut epoch);
        kills += 1;
        committed = check_committed(
            &data,
            &numbers,
            &mut sink,
            &format!("after kill {kills} (progress {progress})"),
        );
        eprintln!(
            "kill {kills} at progress {progress} (point {kill_at}) + {delay:?}: source {:?}, moved {:?}, {} sink records",
            committed.source, committed.moved, sink.total
        );
    }
    eprintln!(
        "{kills} kills after {:.1}s",
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
    check_log(log.as_ref(), &numbers, &mut sink, "after the last restart");
    assert_eq!(sink.total, RECORDS, "sink record count");
    let (last, table) = outcome(&engine, &sink);
    if let Some((key, value)) = reference
        .0
        .iter()
        .find(|(key, value)| last.get(*key) != Some(value))
    {
        panic!(
            "sink key {} ends at {:?}, the uninterrupted run's at {value:?}",
            describe_key(key),
            last.get(key)
        );
    }
    assert_eq!(last.len(), reference.0.len(), "sink keys");
    assert_eq!(table, reference.1, "the materialized table");
    // Each window of 10,000 records has every page.
    let keys: BTreeSet<&Vec<u8>> = last.keys().collect();
    assert_eq!(keys.len() as u64, PAGES * RECORDS / WINDOW_MS as u64);
    eprintln!("done after {:.1}s", started.elapsed().as_secs_f64());
}
