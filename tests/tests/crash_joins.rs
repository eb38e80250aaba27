//! Kill -9 of a process running a join, at 20 or more points chosen by the query's progress,
//! loses and duplicates nothing: after every kill the committed sink records are, per
//! partition, a prefix of an uninterrupted run's and exactly the outputs of the committed
//! input records, and after the last restart the sink topic equals the uninterrupted run's,
//! order included. One test per join state: a stream-table LEFT JOIN (the table's rows) and
//! a stream-stream INNER JOIN within a window (both sides' window stores); and the same join
//! with one side repartitioned through an internal topic (two stages committing apart: no
//! duplicate after any kill, every match once at the end).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use executor::log::partitioner::partition_for_key;
use executor::{EmbeddedLog, Record, Store, TopicLog};
use server::{Engine, Session};
use tests::crash::{CrashChild, KILL_PHASES, Progress};
use tests::{execute, wait_until};

/// Partitions of every input topic (and so of the sinks).
const PARTITIONS: u32 = 2;
/// Event time of the first input record.
const FIRST_TIMESTAMP: i64 = 1_600_000_000_000;
/// How many times the child is killed.
const KILLS: usize = 25;
/// How long an uninterrupted run may take to consume its input.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);
const IDLE: &str =
    "CREATE STREAM idle (x INT) WITH (KAFKA_TOPIC='idle', VALUE_FORMAT='JSON', PARTITIONS=1);";
/// A push query that never ends keeps the child running after its script.
const KEEP_ALIVE: &str = "SELECT * FROM idle EMIT CHANGES;";

/// One sink record: KAFKA-format string key, value text (`None`: a tombstone), timestamp.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Output {
    key: String,
    value: Option<String>,
    timestamp: i64,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} {value} @{}", self.key, self.timestamp),
            None => write!(f, "{} <tombstone> @{}", self.key, self.timestamp),
        }
    }
}

impl Output {
    /// A column of the JSON value, as an unsigned number.
    fn number(&self, column: &str) -> u64 {
        let value: serde_json::Value =
            serde_json::from_str(self.value.as_deref().expect("join outputs have a value"))
                .expect("JSON value");
        value[column]
            .as_u64()
            .unwrap_or_else(|| panic!("{column} of {self} is a number"))
    }

    /// A column of the JSON value, as an optional string.
    fn text(&self, column: &str) -> Option<String> {
        let value: serde_json::Value =
            serde_json::from_str(self.value.as_deref().expect("join outputs have a value"))
                .expect("JSON value");
        value[column].as_str().map(str::to_string)
    }
}

/// A sink topic as read so far: per partition, its records in offset order.
struct Sink {
    topic: &'static str,
    partitions: Vec<Vec<Output>>,
}

impl Sink {
    fn new(topic: &'static str) -> Self {
        Sink {
            topic,
            partitions: Vec::new(),
        }
    }

    /// Reads the records appended since the last call.
    fn read_more(&mut self, log: &dyn TopicLog) {
        if log.describe_topic(self.topic).expect("describe").is_none() {
            return;
        }
        let offsets = log.offsets(self.topic).expect("sink offsets");
        self.partitions.resize(offsets.len(), Vec::new());
        for (partition, (start, end)) in offsets.into_iter().enumerate() {
            assert_eq!(
                start, 0,
                "sink partition {partition} lost its first records"
            );
            let records = &mut self.partitions[partition];
            let mut offset = records.len() as u64;
            while offset < end {
                let consumed = log
                    .read(self.topic, partition as u32, offset, 10_000)
                    .expect("read sink");
                for consumed in &consumed {
                    let record = &consumed.record;
                    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("utf-8");
                    records.push(Output {
                        key: text(record.key.as_deref().expect("sink records are keyed")),
                        value: record.value.as_deref().map(text),
                        timestamp: record.timestamp,
                    });
                }
                offset = consumed.last().map_or(end, |last| last.offset + 1);
            }
        }
    }

    fn total(&self) -> usize {
        self.partitions.iter().map(Vec::len).sum()
    }

    /// Partition `partition`'s records (none if the topic does not exist yet).
    fn partition(&self, partition: u32) -> &[Output] {
        self.partitions
            .get(partition as usize)
            .map_or(&[][..], Vec::as_slice)
    }

    /// Asserts that each partition is a prefix of the reference's partition.
    fn assert_prefix_of(&self, reference: &Sink, after: &str) {
        for partition in 0..self.partitions.len() as u32 {
            let got = self.partition(partition);
            let expected = reference.partition(partition);
            if let Some(index) = (0..got.len()).find(|&i| expected.get(i) != Some(&got[i])) {
                panic!(
                    "{after}: record {index} of sink partition {partition} differs from the \
                     uninterrupted run's:\n  got      {}\n  expected {}",
                    got[index],
                    expected
                        .get(index)
                        .map_or("nothing (the run has fewer records)".to_string(), |e| e
                            .to_string())
                );
            }
        }
    }

    /// Asserts that the sink equals the reference, per partition and in order.
    fn assert_equals(&self, reference: &Sink) {
        fn sorted(sink: &Sink) -> Vec<&Output> {
            let mut all: Vec<&Output> = sink.partitions.iter().flatten().collect();
            all.sort();
            all
        }
        let (got, expected) = (sorted(self), sorted(reference));
        if got != expected {
            let missing: Vec<String> = multiset_difference(&expected, &got);
            let extra: Vec<String> = multiset_difference(&got, &expected);
            panic!(
                "the sink differs from the uninterrupted run's: {} records vs {}; \
                 missing ({}): {}; extra ({}): {}",
                got.len(),
                expected.len(),
                missing.len(),
                first_lines(&missing),
                extra.len(),
                first_lines(&extra)
            );
        }
        assert_eq!(
            self.partitions.len(),
            reference.partitions.len(),
            "sink partitions"
        );
        self.assert_prefix_of(reference, "after the last restart (same records)");
    }
}

/// The elements of `a` not in `b`, each as many times as `a` has it more often than `b`.
fn multiset_difference<T: Ord + ToString>(a: &[T], b: &[T]) -> Vec<String> {
    let mut counts: BTreeMap<&T, i64> = BTreeMap::new();
    for item in a {
        *counts.entry(item).or_default() += 1;
    }
    for item in b {
        *counts.entry(item).or_default() -= 1;
    }
    counts
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .flat_map(|(item, count)| std::iter::repeat_n(item.to_string(), count as usize))
        .collect()
}

fn first_lines(lines: &[String]) -> String {
    let shown: Vec<&str> = lines.iter().take(5).map(String::as_str).collect();
    let more = lines.len().saturating_sub(shown.len());
    format!(
        "[{}]{}",
        shown.join("; "),
        if more > 0 { " ..." } else { "" }
    )
}

/// A record with a string key.
fn keyed(key: &str, value: Option<String>, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: value.map(String::into_bytes),
        timestamp,
        headers: Vec::new(),
    }
}

/// Produces `records` (partition, record) to `topic`, in order, 10,000 at a time.
fn produce(log: &dyn TopicLog, topic: &str, records: impl IntoIterator<Item = (u32, Record)>) {
    let mut records = records.into_iter().peekable();
    while records.peek().is_some() {
        let chunk: Vec<(u32, Record)> = records.by_ref().take(10_000).collect();
        log.produce(topic, chunk).expect("produce");
    }
}

/// The next offsets `query` committed on each partition of `topics` (0 before any).
fn committed_offsets(log: &dyn TopicLog, query: &str, topics: &[&str]) -> Progress {
    let mut progress = Progress::new();
    for topic in topics {
        let committed = log
            .committed_offsets(query, topic)
            .expect("committed offsets");
        for (partition, offset) in committed.into_iter().enumerate() {
            progress.insert((topic.to_string(), partition as u32), offset.unwrap_or(0));
        }
    }
    progress
}

/// The committed offset of one input.
fn offset_of(progress: &Progress, topic: &str, partition: u32) -> u64 {
    progress
        .get(&(topic.to_string(), partition))
        .copied()
        .unwrap_or(0)
}

/// Waits until `query` committed every record of `topics`.
fn wait_for_query_end(log: &dyn TopicLog, query: &str, topics: &[&str]) {
    let ends: Vec<(String, Vec<(u64, u64)>)> = topics
        .iter()
        .map(|topic| (topic.to_string(), log.offsets(topic).expect("offsets")))
        .collect();
    wait_until(
        QUERY_TIMEOUT,
        &format!("{query} to consume all of {topics:?}"),
        || {
            for (topic, ends) in &ends {
                let committed = log.committed_offsets(query, topic)?;
                if !committed
                    .iter()
                    .zip(ends)
                    .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end))
                {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )
    .expect("the query consumes its input");
}

/// The log of a stopped data directory (no engine: its queries would start).
fn open_log(data: &Path) -> EmbeddedLog {
    EmbeddedLog::new(Store::open(data).expect("store opens")).expect("log opens")
}

/// Creates `sources` in a fresh data directory `data`.
fn create_sources(data: &Path, sources: &str) {
    let engine = Engine::open(data).expect("engine opens");
    execute(
        &engine,
        &mut Session::default(),
        &format!("{sources}\n{IDLE}"),
    );
}

/// The child's scripts in `directory`: the first starts `query`, the others only keep the
/// child alive (the command log restarts the query).
fn write_scripts(directory: &Path, query: &str) -> (PathBuf, PathBuf) {
    let first = directory.join("first.sql");
    std::fs::write(&first, format!("{query}\n{KEEP_ALIVE}")).expect("write script");
    let again = directory.join("again.sql");
    std::fs::write(&again, KEEP_ALIVE).expect("write script");
    (first, again)
}

/// `count` summed progresses in `(from, to]` at which the child is killed: spread over the
/// range, the last ones near its end (the last one right at it, when the query is idle).
fn kill_points(from: u64, to: u64, count: u64, near_end: u64) -> Vec<u64> {
    let spread = count - 2;
    (1..=spread)
        .map(|k| from + (to - from) * k / (spread + 1))
        .chain([to - near_end, to])
        .collect()
}

/// Reopens the engine on `data` (the command log restarts the query), waits for the query to
/// consume `topics` and reads the rest of `sink`.
fn finish(data: &Path, query: &str, topics: &[&str], sink: &mut Sink) {
    let engine = Engine::open(data).expect("engine reopens");
    let log = engine.topic_log();
    wait_for_query_end(log.as_ref(), query, topics);
    sink.read_more(log.as_ref());
}

// ---------------------------------------------------------------------------------------
// Stream-table LEFT JOIN
// ---------------------------------------------------------------------------------------

/// Distinct user ids of the table.
const USERS: u64 = 4_000;
/// Rows of the table: every user updated 4 times, every 10th row a delete.
const USER_ROWS: u64 = 16_000;
/// Records of the stream; one in five has a user id the table never had.
const CLICKS: u64 = 100_000;
const ENRICHED_QUERY: &str = "CSAS_ENRICHED_0";
const USERS_TOPIC: &str = "users";
const CLICKS_TOPIC: &str = "clicks";
const ENRICHED_SOURCES: &str = "
    CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR)
      WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE STREAM clicks (user_id VARCHAR KEY, n BIGINT)
      WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);";
/// Epochs of 1,000 records per input partition, so that the run has enough of them to kill
/// in, the table's included.
const ENRICHED_JOIN: &str = "SET 'cache.max.bytes.buffering'='0';
    SET 'max.poll.records'='1000';
    CREATE STREAM enriched AS SELECT c.user_id, c.n, u.name
      FROM clicks c LEFT JOIN users u ON c.user_id = u.id;";

/// The `n`th table row: user id, JSON value (`None`: a delete), timestamp (before every
/// click's).
fn user_row(n: u64) -> (String, Option<String>, i64) {
    let id = format!("user_{}", (n * 7) % USERS);
    let value = (n % 10 != 9).then(|| format!(r#"{{"NAME":"name_{n}"}}"#));
    (id, value, FIRST_TIMESTAMP + n as i64)
}

/// The `n`th click: user id, JSON value, timestamp.
fn click(n: u64) -> (String, String, i64) {
    let user = format!("user_{}", (n * 13) % (USERS + USERS / 4));
    let value = format!(r#"{{"N":{n}}}"#);
    (user, value, FIRST_TIMESTAMP + (USER_ROWS + n) as i64)
}

fn produce_users(log: &dyn TopicLog) {
    produce(
        log,
        USERS_TOPIC,
        (0..USER_ROWS).map(|n| {
            let (id, value, timestamp) = user_row(n);
            let partition = partition_for_key(id.as_bytes(), PARTITIONS);
            (partition, keyed(&id, value, timestamp))
        }),
    );
}

/// Produces the clicks; returns how many each partition has.
fn produce_clicks(log: &dyn TopicLog) -> Vec<u64> {
    let mut counts = vec![0; PARTITIONS as usize];
    produce(
        log,
        CLICKS_TOPIC,
        (0..CLICKS).map(|n| {
            let (user, value, timestamp) = click(n);
            let partition = partition_for_key(user.as_bytes(), PARTITIONS);
            counts[partition as usize] += 1;
            (partition, keyed(&user, Some(value), timestamp))
        }),
    );
    counts
}

/// Runs the stream-table join uninterrupted, in-process: the table is consumed before the
/// clicks are produced. Checks its output against the table's last rows.
fn enriched_reference(data: &Path) -> Sink {
    create_sources(data, ENRICHED_SOURCES);
    let engine = Engine::open(data).expect("engine opens");
    let log = engine.topic_log();
    produce_users(log.as_ref());
    execute(&engine, &mut Session::default(), ENRICHED_JOIN);
    wait_for_query_end(log.as_ref(), ENRICHED_QUERY, &[USERS_TOPIC]);
    let counts = produce_clicks(log.as_ref());
    wait_for_query_end(log.as_ref(), ENRICHED_QUERY, &[USERS_TOPIC, CLICKS_TOPIC]);
    let mut sink = Sink::new("ENRICHED");
    sink.read_more(log.as_ref());

    // Each click is joined with its user's last row (every table row is older), in order.
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    for n in 0..USER_ROWS {
        let (id, value, _) = user_row(n);
        names.insert(id, value.map(|_| format!("name_{n}")));
    }
    let mut padded = 0;
    for partition in 0..PARTITIONS {
        let records = sink.partition(partition);
        assert_eq!(
            records.len() as u64,
            counts[partition as usize],
            "one output per click of partition {partition}, on the same partition"
        );
        let mut previous = None;
        for record in records {
            let n = record.number("N");
            let (user, _, timestamp) = click(n);
            let name = names.get(&user).cloned().flatten();
            padded += u64::from(name.is_none());
            assert_eq!(
                (&record.key, record.text("NAME"), record.timestamp),
                (&user, name, timestamp),
                "output of click {n}: {record}"
            );
            assert!(
                previous < Some(n),
                "clicks in order: {n} after {previous:?}"
            );
            previous = Some(n);
        }
    }
    assert!(
        padded > CLICKS / 10 && padded < CLICKS / 2,
        "{padded} null-padded outputs: deleted and unknown users"
    );
    sink
}

/// Reads the new sink records of the (stopped) data directory `data` and checks that each
/// partition holds exactly the outputs of its committed clicks, as the reference has them.
/// Returns the committed offsets.
fn check_enriched(data: &Path, reference: &Sink, sink: &mut Sink, after: &str) -> Progress {
    let log = open_log(data);
    let committed = committed_offsets(&log, ENRICHED_QUERY, &[USERS_TOPIC, CLICKS_TOPIC]);
    sink.read_more(&log);
    sink.assert_prefix_of(reference, after);
    for partition in 0..PARTITIONS {
        assert_eq!(
            sink.partition(partition).len() as u64,
            offset_of(&committed, CLICKS_TOPIC, partition),
            "{after}: sink records of partition {partition} vs committed clicks \
             (offsets {committed:?})"
        );
    }
    committed
}

#[test]
fn stream_table_left_join_survives_sigkill_at_many_points_like_an_uninterrupted_run() {
    let started = Instant::now();
    let directory = tempfile::tempdir().expect("temp dir");
    let reference = enriched_reference(&directory.path().join("reference"));
    eprintln!(
        "reference run: {} sink records after {:.1}s",
        reference.total(),
        started.elapsed().as_secs_f64()
    );

    let data = directory.path().join("data");
    create_sources(&data, ENRICHED_SOURCES);
    produce_users(&open_log(&data));
    let (first, again) = write_scripts(directory.path(), ENRICHED_JOIN);
    // Five kills while the table is read (the last once all of it is), then the clicks.
    let points: Vec<u64> = (1..=5)
        .map(|k| USER_ROWS * k / 5)
        .chain(kill_points(
            USER_ROWS,
            USER_ROWS + CLICKS,
            KILLS as u64 - 5,
            1_500,
        ))
        .collect();

    let mut sink = Sink::new("ENRICHED");
    let mut committed = Progress::new();
    let mut clicks_produced = false;
    let mut kills = 0;
    let mut epoch = Duration::from_millis(50);
    for (index, kill_at) in points.into_iter().enumerate() {
        let consumed: u64 = committed.values().sum();
        if !clicks_produced && consumed == USER_ROWS {
            // The table is all in the join's state: now the clicks.
            produce_clicks(&open_log(&data));
            clicks_produced = true;
        }
        if consumed >= USER_ROWS + CLICKS {
            break;
        }
        let child = CrashChild {
            data: &data,
            script: if index == 0 { &first } else { &again },
            query_id: ENRICHED_QUERY,
            timed_topic: CLICKS_TOPIC,
        };
        let phase = index as u32 % KILL_PHASES;
        let (progress, delay) = child.run_and_kill(&committed, kill_at, phase, &mut epoch);
        kills += 1;
        committed = check_enriched(
            &data,
            &reference,
            &mut sink,
            &format!("after kill {kills} (progress {progress})"),
        );
        eprintln!(
            "kill {kills} at progress {progress} (point {kill_at}) + {delay:?}: committed \
             {committed:?}, {} sink records",
            sink.total()
        );
    }
    eprintln!(
        "{kills} kills after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        clicks_produced,
        "the table was never consumed (committed {committed:?})"
    );
    assert!(
        kills >= 20,
        "only {kills} kills: the runs overshot the kill points"
    );

    finish(
        &data,
        ENRICHED_QUERY,
        &[USERS_TOPIC, CLICKS_TOPIC],
        &mut sink,
    );
    sink.assert_equals(&reference);
    eprintln!("done after {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------
// Stream-stream INNER JOIN within a window
// ---------------------------------------------------------------------------------------

/// Records of each stream.
const PER_SIDE: u64 = 10_000;
/// Distinct pages (join keys) over both partitions.
const PAGES: u64 = 1_000;
/// `WITHIN (1 SECOND, 2 SECONDS)`: a view at t matches clicks in [t - 1s, t + 2s].
const BEFORE_MS: i64 = 1_000;
const AFTER_MS: i64 = 2_000;
/// Every this many records of a stream, one arrives this late (ms): out of order, within
/// the window stores' retention (1s + 2s + the grace period).
const VIEW_LATE_EVERY: u64 = 29;
const VIEW_LATE_MS: i64 = 700;
const CLICK_LATE_EVERY: u64 = 31;
const CLICK_LATE_MS: i64 = 400;
const JOINED_QUERY: &str = "CSAS_JOINED_0";
const VIEWS_TOPIC: &str = "views";
const PAGE_CLICKS_TOPIC: &str = "page_clicks";
const JOINED_SOURCES: &str = "
    CREATE STREAM views (page VARCHAR KEY, view_id BIGINT)
      WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE STREAM page_clicks (page VARCHAR KEY, click_id BIGINT)
      WITH (KAFKA_TOPIC='page_clicks', VALUE_FORMAT='JSON', PARTITIONS=2);";
/// Epochs of 250 records per input partition: the window stores' range reads make this join
/// the slowest per record (a debug build's RocksDB is unoptimized).
const STREAM_STREAM_JOIN: &str = "SET 'cache.max.bytes.buffering'='0';
    SET 'max.poll.records'='250';
    CREATE STREAM joined AS SELECT v.page, v.view_id, c.click_id
      FROM views v JOIN page_clicks c WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 1 SECOND
      ON v.page = c.page;";

/// The pages of each partition.
fn pages_by_partition() -> Vec<Vec<String>> {
    let mut pages = vec![Vec::new(); PARTITIONS as usize];
    for page in (0..PAGES).map(|i| format!("page_{i}")) {
        pages[partition_for_key(page.as_bytes(), PARTITIONS) as usize].push(page);
    }
    pages
}

/// An input record of the stream-stream join: its partition, offset there, page and time.
#[derive(Debug, Clone)]
struct PageEvent {
    partition: u32,
    offset: u64,
    page: String,
    timestamp: i64,
}

/// The `n`th record of `views` (`click == false`) or `page_clicks`: record `n` of either
/// goes to partition `n % 2`, views at even milliseconds and clicks at odd ones, so that the
/// two inputs of a partition advance together (an epoch reads as many records of each).
fn page_event(pages: &[Vec<String>], n: u64, click: bool) -> PageEvent {
    let partition = (n % u64::from(PARTITIONS)) as u32;
    let offset = n / u64::from(PARTITIONS);
    let pages = &pages[partition as usize];
    let len = pages.len() as u64;
    let (index, late) = if click {
        (
            (offset * 11 + 3) % len,
            if n % CLICK_LATE_EVERY == CLICK_LATE_EVERY - 1 {
                CLICK_LATE_MS
            } else {
                0
            },
        )
    } else {
        (
            (offset * 7) % len,
            if n % VIEW_LATE_EVERY == VIEW_LATE_EVERY - 1 {
                VIEW_LATE_MS
            } else {
                0
            },
        )
    };
    PageEvent {
        partition,
        offset,
        page: pages[index as usize].clone(),
        timestamp: FIRST_TIMESTAMP + 2 * n as i64 + i64::from(click) - late,
    }
}

fn produce_page_events(log: &dyn TopicLog, pages: &[Vec<String>]) {
    for (topic, click, column) in [
        (VIEWS_TOPIC, false, "VIEW_ID"),
        (PAGE_CLICKS_TOPIC, true, "CLICK_ID"),
    ] {
        produce(
            log,
            topic,
            (0..PER_SIDE).map(|n| {
                let event = page_event(pages, n, click);
                let value = format!(r#"{{"{column}":{n}}}"#);
                (
                    event.partition,
                    keyed(&event.page, Some(value), event.timestamp),
                )
            }),
        );
    }
}

/// A join result: partition, page, view, click and time (the later of the two).
type Match = (u32, String, u64, u64, i64);

/// Every match of the inputs: a view and a click of one page within the window.
fn expected_matches(pages: &[Vec<String>]) -> Vec<(PageEvent, PageEvent, Match)> {
    let mut clicks: BTreeMap<String, Vec<(u64, PageEvent)>> = BTreeMap::new();
    for m in 0..PER_SIDE {
        let event = page_event(pages, m, true);
        clicks
            .entry(event.page.clone())
            .or_default()
            .push((m, event));
    }
    let mut matches = Vec::new();
    for n in 0..PER_SIDE {
        let view = page_event(pages, n, false);
        for (m, click) in clicks.get(&view.page).map_or(&[][..], Vec::as_slice) {
            let after_view = click.timestamp - view.timestamp;
            if (-BEFORE_MS..=AFTER_MS).contains(&after_view) {
                let result = (
                    view.partition,
                    view.page.clone(),
                    n,
                    *m,
                    view.timestamp.max(click.timestamp),
                );
                matches.push((view.clone(), click.clone(), result));
            }
        }
    }
    matches
}

/// The sink's records as matches, sorted.
fn decode_matches(sink: &Sink) -> Vec<Match> {
    let mut matches: Vec<Match> = (0..sink.partitions.len() as u32)
        .flat_map(|partition| {
            sink.partition(partition).iter().map(move |record| {
                (
                    partition,
                    record.key.clone(),
                    record.number("VIEW_ID"),
                    record.number("CLICK_ID"),
                    record.timestamp,
                )
            })
        })
        .collect();
    matches.sort();
    matches
}

/// Asserts that the sink holds exactly `expected` (sorted) matches.
fn assert_matches(sink: &Sink, expected: &[Match], after: &str) {
    let got = decode_matches(sink);
    if got != expected {
        let show = |matches: &[Match]| -> Vec<String> {
            matches
                .iter()
                .map(|(partition, page, view, click, time)| {
                    format!("[{partition}] {page} view {view} click {click} @{time}")
                })
                .collect()
        };
        let (got, expected) = (show(&got), show(expected));
        let missing = multiset_difference(&expected, &got);
        let extra = multiset_difference(&got, &expected);
        panic!(
            "{after}: {} join results vs {} expected; missing ({}): {}; extra ({}): {}",
            got.len(),
            expected.len(),
            missing.len(),
            first_lines(&missing),
            extra.len(),
            first_lines(&extra)
        );
    }
}

/// Runs the stream-stream join uninterrupted, in-process, and checks its output against
/// every match of the inputs.
fn joined_reference(data: &Path, matches: &[Match]) -> Sink {
    create_sources(data, JOINED_SOURCES);
    let engine = Engine::open(data).expect("engine opens");
    let log = engine.topic_log();
    produce_page_events(log.as_ref(), &pages_by_partition());
    execute(&engine, &mut Session::default(), STREAM_STREAM_JOIN);
    wait_for_query_end(
        log.as_ref(),
        JOINED_QUERY,
        &[VIEWS_TOPIC, PAGE_CLICKS_TOPIC],
    );
    let mut sink = Sink::new("JOINED");
    sink.read_more(log.as_ref());
    assert_matches(&sink, matches, "uninterrupted run");
    sink
}

#[test]
fn stream_stream_inner_join_survives_sigkill_at_many_points_like_an_uninterrupted_run() {
    let started = Instant::now();
    let pages = pages_by_partition();
    let matches = expected_matches(&pages);
    let mut all: Vec<Match> = matches
        .iter()
        .map(|(_, _, result)| result.clone())
        .collect();
    all.sort();
    assert!(
        all.len() as u64 > PER_SIDE / 2,
        "{} matches: enough to notice a lost one",
        all.len()
    );
    let directory = tempfile::tempdir().expect("temp dir");
    let reference = joined_reference(&directory.path().join("reference"), &all);
    eprintln!(
        "reference run: {} sink records after {:.1}s",
        reference.total(),
        started.elapsed().as_secs_f64()
    );

    let data = directory.path().join("data");
    create_sources(&data, JOINED_SOURCES);
    produce_page_events(&open_log(&data), &pages);
    let (first, again) = write_scripts(directory.path(), STREAM_STREAM_JOIN);
    let total = 2 * PER_SIDE;

    let mut sink = Sink::new("JOINED");
    let mut committed = Progress::new();
    let mut kills = 0;
    let mut epoch = Duration::from_millis(50);
    for (index, kill_at) in kill_points(0, total, KILLS as u64, 750)
        .into_iter()
        .enumerate()
    {
        if committed.values().sum::<u64>() >= total {
            break;
        }
        let child = CrashChild {
            data: &data,
            script: if index == 0 { &first } else { &again },
            query_id: JOINED_QUERY,
            timed_topic: VIEWS_TOPIC,
        };
        let phase = index as u32 % KILL_PHASES;
        let (progress, delay) = child.run_and_kill(&committed, kill_at, phase, &mut epoch);
        kills += 1;
        let after = format!("after kill {kills} (progress {progress})");

        let log = open_log(&data);
        committed = committed_offsets(&log, JOINED_QUERY, &[VIEWS_TOPIC, PAGE_CLICKS_TOPIC]);
        sink.read_more(&log);
        drop(log);
        // Exactly the matches whose view and click are both committed: each is emitted by
        // the second of the two to be processed, in the epoch that commits it.
        let mut expected: Vec<Match> = matches
            .iter()
            .filter(|(view, click, _)| {
                view.offset < offset_of(&committed, VIEWS_TOPIC, view.partition)
                    && click.offset < offset_of(&committed, PAGE_CLICKS_TOPIC, click.partition)
            })
            .map(|(_, _, result)| result.clone())
            .collect();
        expected.sort();
        assert_matches(&sink, &expected, &format!("{after}, offsets {committed:?}"));
        sink.assert_prefix_of(&reference, &after);
        eprintln!(
            "kill {kills} at progress {progress} (point {kill_at}) + {delay:?}: committed \
             {committed:?}, {} sink records",
            sink.total()
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

    finish(
        &data,
        JOINED_QUERY,
        &[VIEWS_TOPIC, PAGE_CLICKS_TOPIC],
        &mut sink,
    );
    sink.assert_equals(&reference);
    eprintln!("done after {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------
// Stream-stream INNER JOIN through a repartition topic
// ---------------------------------------------------------------------------------------

const REJOINED_QUERY: &str = "CSAS_REJOINED_0";
const KEYED_CLICKS_TOPIC: &str = "keyed_clicks";
const REJOINED_REPARTITION: &str =
    "_confluent-ksql-default_query_CSAS_REJOINED_0-Join-right-repartition";
/// The clicks keyed by their own id, the page a value column: the join repartitions them by
/// page into the views' key format.
const REJOINED_SOURCES: &str = "
    CREATE STREAM views (page VARCHAR KEY, view_id BIGINT)
      WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE STREAM keyed_clicks (click VARCHAR KEY, click_id BIGINT, page VARCHAR)
      WITH (KAFKA_TOPIC='keyed_clicks', VALUE_FORMAT='JSON', PARTITIONS=2);";
/// The grace period outlasts the whole input's time span (20s): however far the views run
/// ahead of the repartitioned clicks (the stages run apart), no record is ever too late, so
/// the matches do not depend on how the two stages interleave.
const REPARTITIONED_JOIN: &str = "SET 'cache.max.bytes.buffering'='0';
    SET 'max.poll.records'='250';
    CREATE STREAM rejoined AS SELECT v.page, v.view_id, c.click_id
      FROM views v JOIN keyed_clicks c WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 1 MINUTE
      ON v.page = c.page;";

/// The views as `produce_page_events` writes them; the clicks of the same events keyed by
/// `click_<n>` in the partition of the view of the same number (not their page's), their
/// page in the value.
fn produce_keyed_clicks(log: &dyn TopicLog, pages: &[Vec<String>]) {
    produce(
        log,
        VIEWS_TOPIC,
        (0..PER_SIDE).map(|n| {
            let event = page_event(pages, n, false);
            let value = format!(r#"{{"VIEW_ID":{n}}}"#);
            (
                event.partition,
                keyed(&event.page, Some(value), event.timestamp),
            )
        }),
    );
    produce(
        log,
        KEYED_CLICKS_TOPIC,
        (0..PER_SIDE).map(|n| {
            let event = page_event(pages, n, true);
            let value = format!(r#"{{"CLICK_ID":{n},"PAGE":"{}"}}"#, event.page);
            (
                event.partition,
                keyed(&format!("click_{n}"), Some(value), event.timestamp),
            )
        }),
    );
}

/// Asserts that the sink holds no match twice and none the inputs do not have.
fn assert_no_duplicate_or_foreign_match(sink: &Sink, all: &[Match], after: &str) {
    let got = decode_matches(sink);
    if let Some(pair) = got.windows(2).find(|pair| pair[0] == pair[1]) {
        panic!("{after}: a join result is duplicated: {:?}", pair[0]);
    }
    if let Some(foreign) = got.iter().find(|found| all.binary_search(found).is_err()) {
        panic!("{after}: a join result the inputs do not have: {foreign:?}");
    }
}

/// Kill -9 of a join whose right side goes through a repartition topic: the stage writing
/// the topic and the stage joining commit apart, each atomically with its offsets, so after
/// every kill the sink holds no duplicate, and once restarted to the end it holds every
/// match of the inputs exactly once (the matches of the views and clicks, each click found
/// through the topic in its page's partition).
#[test]
fn repartitioned_stream_stream_join_survives_sigkill_without_losing_or_duplicating() {
    let started = Instant::now();
    let pages = pages_by_partition();
    let mut all: Vec<Match> = expected_matches(&pages)
        .into_iter()
        .map(|(_, _, result)| result)
        .collect();
    all.sort();
    assert!(
        all.len() as u64 > PER_SIDE / 2,
        "{} matches: enough to notice a lost one",
        all.len()
    );
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    create_sources(&data, REJOINED_SOURCES);
    produce_keyed_clicks(&open_log(&data), &pages);
    let (first, again) = write_scripts(directory.path(), REPARTITIONED_JOIN);
    let topics = [VIEWS_TOPIC, KEYED_CLICKS_TOPIC, REJOINED_REPARTITION];
    // Each click is read twice: from its topic, then from the repartition topic.
    let total = 3 * PER_SIDE;

    let mut sink = Sink::new("REJOINED");
    let mut committed = Progress::new();
    let mut kills = 0;
    let mut epoch = Duration::from_millis(50);
    for (index, kill_at) in kill_points(0, total, KILLS as u64, 750)
        .into_iter()
        .enumerate()
    {
        if committed.values().sum::<u64>() >= total {
            break;
        }
        let child = CrashChild {
            data: &data,
            script: if index == 0 { &first } else { &again },
            query_id: REJOINED_QUERY,
            timed_topic: VIEWS_TOPIC,
        };
        let phase = index as u32 % KILL_PHASES;
        let (progress, delay) = child.run_and_kill(&committed, kill_at, phase, &mut epoch);
        kills += 1;
        let after = format!("after kill {kills} (progress {progress})");

        let log = open_log(&data);
        committed = committed_offsets(&log, REJOINED_QUERY, &topics);
        sink.read_more(&log);
        drop(log);
        assert_no_duplicate_or_foreign_match(&sink, &all, &after);
        eprintln!(
            "kill {kills} at progress {progress} (point {kill_at}) + {delay:?}: committed \
             {committed:?}, {} sink records",
            sink.total()
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

    // The sources first: once the clicks are consumed, the repartition topic holds them all.
    let engine = Engine::open(&data).expect("engine reopens");
    let log = engine.topic_log();
    wait_for_query_end(log.as_ref(), REJOINED_QUERY, &topics[..2]);
    wait_for_query_end(log.as_ref(), REJOINED_QUERY, &topics[2..]);
    sink.read_more(log.as_ref());
    assert_matches(&sink, &all, "after the last restart");
    eprintln!("done after {:.1}s", started.elapsed().as_secs_f64());
}
