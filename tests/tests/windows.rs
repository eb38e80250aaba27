//! Golden end-to-end tests of the stateful features: tumbling, hopping and session windows,
//! grace periods, `EMIT FINAL`, table aggregations with retraction, `HAVING`, pull queries
//! over windowed tables and aggregates that continue across a restart.
//!
//! Every expected record is derived by hand from the ksqlDB (Kafka Streams) rules stated in
//! each test, never copied from Eddy's output. No record cache: one output per input update.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use executor::{QueryState, Record};
use server::{Engine, Session};
use tests::{execute, pull_rows as pull, wait_until};

/// How long a test waits for its queries; they normally catch up in milliseconds.
const WAIT: Duration = Duration::from_secs(30);
/// A base event time (ms) that is a multiple of every window size used here, so that no window
/// starts at 0.
const T: i64 = 1_000_000;
/// 10 seconds, the window size of most tests.
const SIZE: i64 = 10_000;

/// The orders stream: KAFKA-format string key `REGION`, JSON value `AMOUNT`.
const ORDERS: &str = "SET 'cache.max.bytes.buffering'='0';
     CREATE STREAM orders (region VARCHAR KEY, amount INT)
       WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// How the window (if any) is laid out after the key bytes of a sink record.
#[derive(Clone, Copy)]
enum Layout {
    /// No window: the key bytes only.
    Plain,
    /// Tumbling or hopping windows of this size: 8-byte big-endian start.
    Time(i64),
    /// Session windows: 8-byte big-endian end, then start.
    Session,
}

/// One sink record, decoded: key, window `[start, end)` (session: `[start, end]`), value
/// (`None` for a tombstone) and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Output {
    key: String,
    window: Option<(i64, i64)>,
    value: Option<String>,
    timestamp: i64,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some((start, end)) = self.window {
            write!(f, " [{start}..{end}]")?;
        }
        match &self.value {
            Some(value) => write!(f, " {value}")?,
            None => write!(f, " <tombstone>")?,
        }
        write!(f, " @{}", self.timestamp)
    }
}

/// An expected record without window.
fn row(key: &str, value: Option<&str>, timestamp: i64) -> Output {
    Output {
        key: key.to_string(),
        window: None,
        value: value.map(str::to_string),
        timestamp,
    }
}

/// An expected record of window `[start, end)` (or session `[start, end]`).
fn windowed(key: &str, window: (i64, i64), value: Option<&str>, timestamp: i64) -> Output {
    Output {
        window: Some(window),
        ..row(key, value, timestamp)
    }
}

/// An input record: KAFKA-format string key (or null), JSON value (or tombstone), timestamp.
fn input(key: Option<&str>, value: Option<&str>, timestamp: i64) -> Record {
    Record {
        key: key.map(|key| key.as_bytes().to_vec()),
        value: value.map(|value| value.as_bytes().to_vec()),
        timestamp,
        headers: Vec::new(),
    }
}

/// An order of `amount` in `region` at `timestamp`.
fn order(region: &str, amount: i64, timestamp: i64) -> Record {
    input(
        Some(region),
        Some(&format!(r#"{{"AMOUNT":{amount}}}"#)),
        timestamp,
    )
}

fn open(data: &Path) -> Arc<Engine> {
    Engine::open(data).unwrap_or_else(|error| {
        panic!(
            "engine opens {}: {}",
            data.display(),
            executor::error_chain(&error)
        )
    })
}

/// A fresh engine in a temporary directory, after a script ran in `session`.
struct Fixture {
    engine: Arc<Engine>,
    session: Session,
    _directory: tempfile::TempDir,
}

/// Opens a fresh engine and runs `script`.
fn start(script: &str) -> Fixture {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = open(directory.path());
    let mut session = Session::default();
    execute(&engine, &mut session, script);
    Fixture {
        engine,
        session,
        _directory: directory,
    }
}

/// Opens a fresh engine with the orders stream (`ORDERS`) and runs `statements`.
fn start_orders(statements: &str) -> Fixture {
    start(&format!("{ORDERS}\n{statements}"))
}

/// Waits until every persistent query consumed all its input; fails on a query in error.
fn wait_caught_up(engine: &Engine) {
    wait_until(WAIT, "the persistent queries to catch up", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("queries catch up");
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            panic!("query {id} failed: {message}");
        }
    }
}

/// Produces `records` to partition 0 of `topic`, in order, and waits for the queries.
fn feed(engine: &Engine, topic: &str, records: Vec<Record>) {
    let records = records.into_iter().map(|record| (0, record)).collect();
    engine.topic_log().produce(topic, records).expect("produce");
    wait_caught_up(engine);
}

/// Every record of the single-partition sink `topic`, decoded with `layout`.
fn read_sink(engine: &Engine, topic: &str, layout: Layout) -> Vec<Output> {
    let log = engine.topic_log();
    let offsets = log.offsets(topic).expect("sink topic exists");
    assert_eq!(
        offsets.len(),
        1,
        "sink {topic} has the source's one partition"
    );
    let (start, end) = offsets[0];
    let mut outputs = Vec::new();
    let mut offset = start;
    while offset < end {
        let records = log.read(topic, 0, offset, 10_000).expect("read sink");
        for consumed in &records {
            outputs.push(decode(&consumed.record, layout));
        }
        offset = records.last().map_or(end, |last| last.offset + 1);
    }
    outputs
}

fn decode(record: &Record, layout: Layout) -> Output {
    let bytes = record.key.as_deref().expect("sink records are keyed");
    let long = |slice: &[u8]| i64::from_be_bytes(slice.try_into().expect("8 bytes"));
    let (key, window) = match layout {
        Layout::Plain => (bytes, None),
        Layout::Time(size) => {
            let split = bytes.len().checked_sub(8).expect("time-windowed key");
            let start = long(&bytes[split..]);
            (&bytes[..split], Some((start, start + size)))
        }
        Layout::Session => {
            let split = bytes.len().checked_sub(16).expect("session-windowed key");
            let end = long(&bytes[split..split + 8]);
            let start = long(&bytes[split + 8..]);
            (&bytes[..split], Some((start, end)))
        }
    };
    Output {
        key: String::from_utf8(key.to_vec()).expect("utf-8 key"),
        window,
        value: record
            .value
            .as_deref()
            .map(|value| String::from_utf8(value.to_vec()).expect("utf-8 value")),
        timestamp: record.timestamp,
    }
}

/// Compares the sink with the expected records, one line per record.
fn assert_sink(engine: &Engine, topic: &str, layout: Layout, expected: &[Output]) {
    let actual: Vec<String> = read_sink(engine, topic, layout)
        .iter()
        .map(Output::to_string)
        .collect();
    let expected: Vec<String> = expected.iter().map(Output::to_string).collect();
    assert_eq!(
        actual,
        expected,
        "records of sink {topic}:\n  got:\n    {}\n  expected:\n    {}",
        actual.join("\n    "),
        expected.join("\n    ")
    );
}

/// A pull query row of a windowed table with `N` and `TOTAL`.
fn window_row(key: &str, start: i64, end: i64, n: i64, total: i64) -> String {
    format!("\"{key}\" | {start} | {end} | {n} | {total}")
}

/// `{"N":n,"TOTAL":total}`.
fn n_total(n: i64, total: i64) -> String {
    format!(r#"{{"N":{n},"TOTAL":{total}}}"#)
}

/// Tumbling window `[start, start + SIZE)` starting at `T + offset`.
fn tumbling(offset: i64) -> (i64, i64) {
    (T + offset, T + offset + SIZE)
}

#[test]
fn tumbling_window_updates_out_of_order_record_within_grace_and_drops_late_records() {
    let Fixture {
        engine, _directory, ..
    } = start_orders(
        "CREATE TABLE per_window AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS)
               GROUP BY region EMIT CHANGES;",
    );
    // Windows W0 = [T, T+10s), W1 = [T+10s, T+20s), W2 = [T+20s, T+30s). A record is dropped
    // when its window end <= stream time - 5s.
    feed(
        &engine,
        "orders",
        vec![
            order("A", 5, T + 1_000),  // W0, stream time T+1s
            order("A", 7, T + 12_000), // W1, stream time T+12s
            // Out of order: W0 ends at T+10s > T+12s - 5s, still open.
            order("A", 3, T + 4_000),
            // Stream time T+16s: W0 closes (T+10s <= T+11s).
            order("B", 2, T + 16_000),
        ],
    );
    feed(
        &engine,
        "orders",
        vec![
            order("A", 100, T + 9_000),                       // W0 is closed: dropped
            order("A", 4, T + 11_000),                        // W1, output time stays T+12s (max)
            order("A", 1, T + 25_000),                        // W2, stream time T+25s
            input(None, Some(r#"{"AMOUNT":9}"#), T + 21_000), // null group key: skipped
            // W1 ends at T+20s <= T+25s - 5s: closed, exactly at the boundary.
            order("B", 50, T + 19_999),
            order("B", 6, T + 20_000), // W2
        ],
    );
    assert_sink(
        &engine,
        "PER_WINDOW",
        Layout::Time(SIZE),
        &[
            windowed("A", tumbling(0), Some(&n_total(1, 5)), T + 1_000),
            windowed("A", tumbling(SIZE), Some(&n_total(1, 7)), T + 12_000),
            windowed("A", tumbling(0), Some(&n_total(2, 8)), T + 4_000),
            windowed("B", tumbling(SIZE), Some(&n_total(1, 2)), T + 16_000),
            windowed("A", tumbling(SIZE), Some(&n_total(2, 11)), T + 12_000),
            windowed("A", tumbling(2 * SIZE), Some(&n_total(1, 1)), T + 25_000),
            windowed("B", tumbling(2 * SIZE), Some(&n_total(1, 6)), T + 20_000),
        ],
    );
}

#[test]
fn hopping_window_record_updates_every_window_that_contains_it() {
    let Fixture {
        engine,
        mut session,
        _directory,
    } = start_orders(
        "CREATE TABLE hopping_counts AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS)
               GROUP BY region;",
    );
    // Windows start at multiples of 5s and last 10s: each record lands in two of them,
    // emitted in window start order.
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T + 7_000),  // [T, T+10s) and [T+5s, T+15s)
            order("A", 2, T + 12_000), // [T+5s, T+15s) and [T+10s, T+20s)
            // At a window boundary: [T, T+10s) and [T+5s, T+15s), not [T-5s, T+5s).
            order("A", 4, T + 5_000),
            order("B", 8, T + 10_000), // [T+5s, T+15s) and [T+10s, T+20s)
        ],
    );
    let window = |offset: i64| (T + offset, T + offset + SIZE);
    assert_sink(
        &engine,
        "HOPPING_COUNTS",
        Layout::Time(SIZE),
        &[
            windowed("A", window(0), Some(&n_total(1, 1)), T + 7_000),
            windowed("A", window(5_000), Some(&n_total(1, 1)), T + 7_000),
            windowed("A", window(5_000), Some(&n_total(2, 3)), T + 12_000),
            windowed("A", window(10_000), Some(&n_total(1, 2)), T + 12_000),
            windowed("A", window(0), Some(&n_total(2, 5)), T + 7_000),
            windowed("A", window(5_000), Some(&n_total(3, 7)), T + 12_000),
            windowed("B", window(5_000), Some(&n_total(1, 8)), T + 10_000),
            windowed("B", window(10_000), Some(&n_total(1, 8)), T + 10_000),
        ],
    );
    let (header, rows) = pull(&engine, &mut session, "SELECT * FROM hopping_counts;");
    assert_eq!(header, ["REGION", "WINDOWSTART", "WINDOWEND", "N", "TOTAL"]);
    assert_eq!(
        rows,
        [
            window_row("A", T, T + 10_000, 2, 5),
            window_row("A", T + 5_000, T + 15_000, 3, 7),
            window_row("A", T + 10_000, T + 20_000, 1, 2),
            window_row("B", T + 5_000, T + 15_000, 1, 8),
            window_row("B", T + 10_000, T + 20_000, 1, 8),
        ],
        "one row per key and window"
    );
}

#[test]
fn session_window_merges_on_bridge_record_and_splits_on_gap() {
    let Fixture {
        engine,
        mut session,
        _directory,
    } = start_orders(
        "CREATE TABLE sessions AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW SESSION (10 SECONDS) GROUP BY region;",
    );
    // A record joins every session of its key within 10s of it. Merged-away sessions are
    // deleted with a tombstone at their end time (ascending end), then the merged session
    // is emitted at its end time.
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T),          // new session [T, T]
            order("A", 2, T + 3_000),  // joins it: [T, T+3s]
            order("A", 4, T + 20_000), // 17s after T+3s: a second session [T+20s, T+20s]
            order("B", 8, T + 5_000),  // another key: its own session
            // Within 10s of both A sessions: bridges them into [T, T+20s].
            order("A", 16, T + 11_000),
            order("A", 32, T + 40_000), // 20s after the last: a new session
        ],
    );
    assert_sink(
        &engine,
        "SESSIONS",
        Layout::Session,
        &[
            windowed("A", (T, T), Some(&n_total(1, 1)), T),
            windowed("A", (T, T), None, T),
            windowed("A", (T, T + 3_000), Some(&n_total(2, 3)), T + 3_000),
            windowed(
                "A",
                (T + 20_000, T + 20_000),
                Some(&n_total(1, 4)),
                T + 20_000,
            ),
            windowed("B", (T + 5_000, T + 5_000), Some(&n_total(1, 8)), T + 5_000),
            windowed("A", (T, T + 3_000), None, T + 3_000),
            windowed("A", (T + 20_000, T + 20_000), None, T + 20_000),
            windowed("A", (T, T + 20_000), Some(&n_total(4, 23)), T + 20_000),
            windowed(
                "A",
                (T + 40_000, T + 40_000),
                Some(&n_total(1, 32)),
                T + 40_000,
            ),
        ],
    );
    // The materialized table holds the live sessions only, the merged-away ones are gone.
    let (header, rows) = pull(&engine, &mut session, "SELECT * FROM sessions;");
    assert_eq!(header, ["REGION", "WINDOWSTART", "WINDOWEND", "N", "TOTAL"]);
    assert_eq!(
        rows,
        [
            window_row("A", T, T + 20_000, 4, 23),
            window_row("A", T + 40_000, T + 40_000, 1, 32),
            window_row("B", T + 5_000, T + 5_000, 1, 8),
        ]
    );
}

#[test]
fn session_window_drops_late_session_but_accepts_late_record_joining_open_session() {
    let Fixture {
        engine, _directory, ..
    } = start_orders(
        "CREATE TABLE sessions AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW SESSION (10 SECONDS, GRACE PERIOD 5 SECONDS)
               GROUP BY region;",
    );
    // After the second record stream time is T+30s. As in Kafka Streams, a session closes
    // `gap + grace` after its end: a (merged) session ending before T+15s is late and dropped,
    // one ending at or after T+15s is accepted. Sessions ending before T+15s are also past
    // retention (gap + grace) and no longer merge.
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T),
            order("A", 2, T + 30_000),
            // Joins [T+30s, T+30s]: the merged session ends at T+30s, accepted.
            order("A", 4, T + 24_000),
            // [T, T] is past retention: a new session [T+5s, T+5s], late, dropped.
            order("A", 8, T + 5_000),
            // Before T+15s itself, but joins [T+24s, T+30s] which ends at T+30s: accepted.
            order("A", 16, T + 14_000),
            // A new session of B ending at T+14s: late, dropped.
            order("B", 32, T + 14_000),
            // A new session of B ending exactly at T+15s: accepted.
            order("B", 64, T + 15_000),
        ],
    );
    assert_sink(
        &engine,
        "SESSIONS",
        Layout::Session,
        &[
            windowed("A", (T, T), Some(&n_total(1, 1)), T),
            windowed(
                "A",
                (T + 30_000, T + 30_000),
                Some(&n_total(1, 2)),
                T + 30_000,
            ),
            windowed("A", (T + 30_000, T + 30_000), None, T + 30_000),
            windowed(
                "A",
                (T + 24_000, T + 30_000),
                Some(&n_total(2, 6)),
                T + 30_000,
            ),
            windowed("A", (T + 24_000, T + 30_000), None, T + 30_000),
            windowed(
                "A",
                (T + 14_000, T + 30_000),
                Some(&n_total(3, 22)),
                T + 30_000,
            ),
            windowed(
                "B",
                (T + 15_000, T + 15_000),
                Some(&n_total(1, 64)),
                T + 15_000,
            ),
        ],
    );
}

#[test]
fn emit_final_emits_each_window_once_when_grace_expires() {
    let Fixture {
        engine, _directory, ..
    } = start_orders(
        "CREATE TABLE finals AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 2 SECONDS)
               GROUP BY region EMIT FINAL;",
    );
    // W0 = [T, T+10s) closes when stream time reaches T+12s, W1 when it reaches T+22s.
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T + 1_000),
            order("B", 2, T + 3_000),
            order("A", 4, T + 9_000),
            order("A", 8, T + 11_000), // W1; stream time T+11s < T+12s
            order("B", 16, T + 5_000), // out of order, W0 still open
        ],
    );
    assert_sink(&engine, "FINALS", Layout::Time(SIZE), &[]);
    let w0_closed = [
        windowed("A", tumbling(0), Some(&n_total(2, 5)), T + 9_000),
        windowed("B", tumbling(0), Some(&n_total(2, 18)), T + 5_000),
    ];
    feed(&engine, "orders", vec![order("A", 32, T + 12_000)]); // W1; closes W0
    assert_sink(&engine, "FINALS", Layout::Time(SIZE), &w0_closed);
    feed(
        &engine,
        "orders",
        vec![
            order("B", 64, T + 4_000),   // W0 is closed: dropped
            order("A", 128, T + 22_000), // W2; closes W1
            order("A", 256, T + 23_000), // W2; nothing closes
        ],
    );
    let mut expected = w0_closed.to_vec();
    expected.push(windowed(
        "A",
        tumbling(SIZE),
        Some(&n_total(2, 40)),
        T + 12_000,
    ));
    assert_sink(&engine, "FINALS", Layout::Time(SIZE), &expected);
}

#[test]
fn table_aggregation_retracts_updates_moves_and_deletes() {
    let Fixture {
        engine, _directory, ..
    } = start(
        "SET 'cache.max.bytes.buffering'='0';
         CREATE TABLE accounts (id VARCHAR PRIMARY KEY, region VARCHAR, amount INT)
           WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE by_region AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
           FROM accounts GROUP BY region;",
    );
    let account = |id: &str, region: &str, amount: i64, timestamp: i64| {
        input(
            Some(id),
            Some(&format!(r#"{{"REGION":"{region}","AMOUNT":{amount}}}"#)),
            timestamp,
        )
    };
    feed(
        &engine,
        "accounts",
        vec![
            account("a", "east", 10, 1_000),
            account("b", "east", 5, 2_000),
            account("c", "west", 7, 3_000),
            account("a", "east", 20, 4_000), // update within east: one output
            account("b", "west", 6, 5_000),  // moves: east without b, then west with b
            input(Some("a"), None, 6_000),   // delete: east drops to zero rows
            input(Some("c"), None, 7_000),   // delete: west keeps b
            input(Some("d"), Some(r#"{"REGION":null,"AMOUNT":3}"#), 8_000), // null group
            account("d", "north", 1, 9_000), // from a null group: nothing to retract
            input(Some("e"), None, 10_000),  // delete of an unknown row: nothing
        ],
    );
    assert_sink(
        &engine,
        "BY_REGION",
        Layout::Plain,
        &[
            row("east", Some(&n_total(1, 10)), 1_000),
            row("east", Some(&n_total(2, 15)), 2_000),
            row("west", Some(&n_total(1, 7)), 3_000),
            row("east", Some(&n_total(2, 25)), 4_000),
            row("east", Some(&n_total(1, 20)), 5_000),
            row("west", Some(&n_total(2, 13)), 5_000),
            row("east", Some(&n_total(0, 0)), 6_000),
            row("west", Some(&n_total(1, 6)), 7_000),
            row("north", Some(&n_total(1, 1)), 9_000),
        ],
    );
}

/// `CREATE TABLE big AS ... HAVING SUM(amount) > 10` over the orders stream.
fn start_having() -> Fixture {
    start_orders(
        "CREATE TABLE big AS SELECT region, SUM(amount) AS total
           FROM orders GROUP BY region HAVING SUM(amount) > 10;",
    )
}

#[test]
fn having_emits_tombstone_when_condition_turns_false() {
    let Fixture {
        engine, _directory, ..
    } = start_having();
    feed(
        &engine,
        "orders",
        vec![
            order("A", 12, 1_000), // 12
            order("B", 20, 2_000), // 20
            order("A", -6, 3_000), // 6: no longer passes, tombstone
            order("B", 1, 4_000),  // 21
            order("A", 10, 5_000), // 16: back
        ],
    );
    assert_sink(
        &engine,
        "BIG",
        Layout::Plain,
        &[
            row("A", Some(r#"{"TOTAL":12}"#), 1_000),
            row("B", Some(r#"{"TOTAL":20}"#), 2_000),
            row("A", None, 3_000),
            row("B", Some(r#"{"TOTAL":21}"#), 4_000),
            row("A", Some(r#"{"TOTAL":16}"#), 5_000),
        ],
    );
}

#[test]
fn having_emits_nothing_for_group_not_in_the_table() {
    let Fixture {
        engine, _directory, ..
    } = start_having();
    // ksqlDB filters the aggregated table with its old values: an update that neither passes
    // now nor passed before has nothing to delete and emits nothing. Its own cases pin this:
    // having.json "table having", group-by.json "with multiple having expressions",
    // "subscript in group-by and having", "complex UDAF params matching HAVING".
    feed(
        &engine,
        "orders",
        vec![
            order("A", 4, 1_000),  // 4: never passed, nothing
            order("A", 3, 2_000),  // 7: still nothing
            order("B", 20, 3_000), // 20
            order("A", 5, 4_000),  // 12
            order("A", -6, 5_000), // 6: tombstone
            order("A", -1, 6_000), // 5: already deleted, nothing
            order("A", 10, 7_000), // 15: back
        ],
    );
    assert_sink(
        &engine,
        "BIG",
        Layout::Plain,
        &[
            row("B", Some(r#"{"TOTAL":20}"#), 3_000),
            row("A", Some(r#"{"TOTAL":12}"#), 4_000),
            row("A", None, 5_000),
            row("A", Some(r#"{"TOTAL":15}"#), 7_000),
        ],
    );
}

#[test]
fn pull_query_reads_rows_per_key_and_window_of_windowed_table() {
    let Fixture {
        engine,
        mut session,
        _directory,
    } = start_orders(
        "CREATE TABLE per_window AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY region;",
    );
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T + 1_000),
            order("B", 2, T + 2_000),
            order("A", 4, T + 15_000),
            order("A", 8, T + 3_000),
            order("C", 16, T + 31_000),
            order("B", 32, T + 19_000),
            order("A", 64, T + 9_999),
        ],
    );
    let (header, rows) = pull(&engine, &mut session, "SELECT * FROM per_window;");
    assert_eq!(header, ["REGION", "WINDOWSTART", "WINDOWEND", "N", "TOTAL"]);
    assert_eq!(
        rows,
        [
            window_row("A", T, T + 10_000, 3, 73),
            window_row("A", T + 10_000, T + 20_000, 1, 4),
            window_row("B", T, T + 10_000, 1, 2),
            window_row("B", T + 10_000, T + 20_000, 1, 32),
            window_row("C", T + 30_000, T + 40_000, 1, 16),
        ]
    );
}

#[test]
fn pull_query_where_filters_rows_of_materialized_tables() {
    let Fixture {
        engine,
        mut session,
        _directory,
    } = start_orders(
        "CREATE TABLE per_window AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY region;
             CREATE TABLE totals AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
               FROM orders GROUP BY region;",
    );
    feed(
        &engine,
        "orders",
        vec![
            order("A", 1, T + 1_000),
            order("B", 2, T + 2_000),
            order("A", 4, T + 15_000),
            order("A", 8, T + 3_000),
        ],
    );
    let cases = [
        (
            "SELECT * FROM per_window WHERE region = 'A';",
            vec![
                window_row("A", T, T + 10_000, 2, 9),
                window_row("A", T + 10_000, T + 20_000, 1, 4),
            ],
        ),
        (
            "SELECT * FROM per_window WHERE region = 'A' AND WINDOWSTART >= 1010000;",
            vec![window_row("A", T + 10_000, T + 20_000, 1, 4)],
        ),
        (
            "SELECT * FROM per_window WHERE total = 2;",
            vec![window_row("B", T, T + 10_000, 1, 2)],
        ),
        (
            "SELECT * FROM totals WHERE region = 'B';",
            vec!["\"B\" | 1 | 2".to_string()],
        ),
        (
            "SELECT * FROM totals WHERE n > 1;",
            vec!["\"A\" | 3 | 13".to_string()],
        ),
    ];
    for (sql, expected) in cases {
        let (_, rows) = pull(&engine, &mut session, sql);
        assert_eq!(rows, expected, "{sql}");
    }
}

#[test]
fn aggregates_continue_from_persisted_state_after_restart() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path();
    {
        let engine = open(data);
        let mut session = Session::default();
        execute(
            &engine,
            &mut session,
            &format!(
                "{ORDERS}
                 CREATE TABLE per_window AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
                   FROM orders WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS)
                   GROUP BY region;
                 CREATE TABLE totals AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
                   FROM orders GROUP BY region;"
            ),
        );
        feed(
            &engine,
            "orders",
            vec![
                order("A", 1, T + 1_000),
                order("A", 2, T + 12_000),
                order("B", 4, T + 13_000), // stream time T+13s: W0 still open
            ],
        );
    }
    {
        // The queries restart from the command log, their state and stream time.
        let engine = open(data);
        feed(
            &engine,
            "orders",
            vec![
                order("A", 8, T + 3_000), // W0 still open: counts on top of the first run
                order("A", 16, T + 14_000),
                order("B", 32, T + 21_000), // stream time T+21s: W0 closes
            ],
        );
    }
    let engine = open(data);
    // Late by the stream time of the previous run: a reset stream time would accept it.
    feed(
        &engine,
        "orders",
        vec![order("A", 64, T + 9_000), order("A", 128, T + 22_000)],
    );
    assert_sink(
        &engine,
        "PER_WINDOW",
        Layout::Time(SIZE),
        &[
            windowed("A", tumbling(0), Some(&n_total(1, 1)), T + 1_000),
            windowed("A", tumbling(SIZE), Some(&n_total(1, 2)), T + 12_000),
            windowed("B", tumbling(SIZE), Some(&n_total(1, 4)), T + 13_000),
            windowed("A", tumbling(0), Some(&n_total(2, 9)), T + 3_000),
            windowed("A", tumbling(SIZE), Some(&n_total(2, 18)), T + 14_000),
            windowed("B", tumbling(2 * SIZE), Some(&n_total(1, 32)), T + 21_000),
            windowed("A", tumbling(2 * SIZE), Some(&n_total(1, 128)), T + 22_000),
        ],
    );
    // Non-windowed: the output time is the largest record time of the group so far.
    assert_sink(
        &engine,
        "TOTALS",
        Layout::Plain,
        &[
            row("A", Some(&n_total(1, 1)), T + 1_000),
            row("A", Some(&n_total(2, 3)), T + 12_000),
            row("B", Some(&n_total(1, 4)), T + 13_000),
            row("A", Some(&n_total(3, 11)), T + 12_000),
            row("A", Some(&n_total(4, 27)), T + 14_000),
            row("B", Some(&n_total(2, 36)), T + 21_000),
            row("A", Some(&n_total(5, 91)), T + 14_000),
            row("A", Some(&n_total(6, 219)), T + 22_000),
        ],
    );
    let mut session = Session::default();
    let (_, rows) = pull(&engine, &mut session, "SELECT * FROM per_window;");
    assert_eq!(
        rows,
        [
            window_row("A", T, T + 10_000, 2, 9),
            window_row("A", T + 10_000, T + 20_000, 2, 18),
            window_row("A", T + 20_000, T + 30_000, 1, 128),
            window_row("B", T + 10_000, T + 20_000, 1, 4),
            window_row("B", T + 20_000, T + 30_000, 1, 32),
        ]
    );
    let (header, rows) = pull(&engine, &mut session, "SELECT * FROM totals;");
    assert_eq!(header, ["REGION", "N", "TOTAL"]);
    assert_eq!(rows, ["\"A\" | 6 | 219", "\"B\" | 2 | 36"]);
}
