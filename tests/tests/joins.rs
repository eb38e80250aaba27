//! Golden end-to-end tests of joins: stream-table, stream-stream (WITHIN, GRACE PERIOD, outer
//! joins), table-table, foreign-key and n-way joins, the schema of a join's result and a push
//! query over a join.
//!
//! Every expected record is derived by hand from the ksqlDB (Kafka Streams) rules stated in
//! each test, never copied from Eddy's output. Inputs are produced one topic at a time, and
//! the test waits for the queries to catch up before the next, so that the order in which
//! the join sees its inputs is the order written here. No record cache: one output per input.

use std::sync::Arc;
use std::time::Duration;

use executor::log::partitioner::partition_for_key;
use executor::{QueryState, Record};
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::{execute, wait_until};

/// How long a test waits for its queries; they normally catch up in milliseconds.
const WAIT: Duration = Duration::from_secs(30);
/// A base event time (ms), far from 0 so that no window is clipped at 0.
const T: i64 = 1_000_000;

/// One sink record, decoded: string key, value text (`None` for a tombstone), timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// An expected record.
fn row(key: &str, value: &str, timestamp: i64) -> Output {
    Output {
        key: key.to_string(),
        value: Some(value.to_string()),
        timestamp,
    }
}

/// An expected tombstone.
fn tombstone(key: &str, timestamp: i64) -> Output {
    Output {
        key: key.to_string(),
        value: None,
        timestamp,
    }
}

/// An input record: KAFKA-format string key, JSON value, timestamp.
fn input(key: &str, value: &str, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        headers: Vec::new(),
    }
}

/// An input tombstone (a table row's delete).
fn delete(key: &str, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: None,
        timestamp,
        headers: Vec::new(),
    }
}

/// A fresh engine in a temporary directory, after a script ran in `session`.
struct Fixture {
    engine: Arc<Engine>,
    session: Session,
    _directory: tempfile::TempDir,
}

/// Opens a fresh engine with the record cache off and runs `script`.
fn start(script: &str) -> Fixture {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).unwrap_or_else(|error| {
        panic!("engine opens: {}", executor::error_chain(&error));
    });
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        &format!("SET 'cache.max.bytes.buffering'='0';\n{script}"),
    );
    Fixture {
        engine,
        session,
        _directory: directory,
    }
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

/// Every record of the single-partition sink `topic`.
fn read_sink(engine: &Engine, topic: &str) -> Vec<Output> {
    let log = engine.topic_log();
    let offsets = log.offsets(topic).expect("sink topic exists");
    assert_eq!(offsets.len(), 1, "sink {topic} has one partition");
    let (start, end) = offsets[0];
    let mut outputs = Vec::new();
    let mut offset = start;
    while offset < end {
        let records = log.read(topic, 0, offset, 10_000).expect("read sink");
        for consumed in &records {
            let record = &consumed.record;
            let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("utf-8");
            outputs.push(Output {
                key: text(record.key.as_deref().expect("sink records are keyed")),
                value: record.value.as_deref().map(text),
                timestamp: record.timestamp,
            });
        }
        offset = records.last().map_or(end, |last| last.offset + 1);
    }
    outputs
}

/// Compares the sink with the expected records, one line per record.
fn assert_sink(engine: &Engine, topic: &str, expected: &[Output]) {
    let actual: Vec<String> = read_sink(engine, topic)
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

/// The columns of source `name` as `DESCRIBE` lists them: `NAME TYPE[ KEY]`.
fn describe_columns(fixture: &mut Fixture, name: &str) -> Vec<String> {
    let mut outputs = execute(
        &fixture.engine,
        &mut fixture.session,
        &format!("DESCRIBE {name};"),
    );
    let Some(StatementOutput::Completed(StatementResult::SourceDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE {name} describes the source");
    };
    description
        .fields
        .iter()
        .map(|field| {
            // `ColumnKind` lives in the planner, which this crate does not depend on.
            let key = if format!("{:?}", field.kind) == "Key" {
                " KEY"
            } else {
                ""
            };
            format!("{} {}{key}", field.name, field.data_type)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Stream-table joins
// ---------------------------------------------------------------------------------------

const CLICKS_AND_USERS: &str = "
    CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR)
      WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE STREAM clicks (user_id VARCHAR KEY, page VARCHAR)
      WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// Drives the stream-table scenario: users, clicks, user updates (an update of `u1`, a
/// delete of `u2`), clicks again, then a click older than the last user update.
fn feed_clicks_and_users(engine: &Engine, sink: &str) {
    feed(
        engine,
        "users",
        vec![
            input("u1", r#"{"NAME":"ann"}"#, 100),
            input("u2", r#"{"NAME":"bob"}"#, 110),
        ],
    );
    // Table rows alone emit nothing.
    assert_sink(engine, sink, &[]);
    feed(
        engine,
        "clicks",
        vec![
            input("u1", r#"{"PAGE":"home"}"#, 200),
            input("u3", r#"{"PAGE":"faq"}"#, 210),
            input("u2", r#"{"PAGE":"news"}"#, 220),
        ],
    );
    feed(
        engine,
        "users",
        vec![input("u1", r#"{"NAME":"anna"}"#, 300), delete("u2", 310)],
    );
    feed(
        engine,
        "clicks",
        vec![
            input("u1", r#"{"PAGE":"cart"}"#, 400),
            input("u2", r#"{"PAGE":"help"}"#, 410),
            // Older than the update of u1, but processed after it: the table is not
            // versioned, so the click sees the row current when it is processed.
            input("u1", r#"{"PAGE":"back"}"#, 250),
        ],
    );
}

/// `DESCRIBE ... EXTENDED` of a join's sink shows the key and value bytes of the join's
/// committed state: the table rows it holds, more after an insert, fewer after a tombstone.
/// A source no stateful query writes (the join's input, a stateless query's sink) shows none.
#[test]
fn describe_extended_shows_the_state_size_of_a_join() {
    let mut fixture = start(&format!(
        "{CLICKS_AND_USERS}
         CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
           FROM clicks c JOIN users u ON c.user_id = u.id;
         CREATE STREAM copied AS SELECT * FROM clicks;"
    ));
    let engine = Arc::clone(&fixture.engine);
    let query_bytes = || {
        executor::query::query_state_bytes(engine.state_store(), "CSAS_ENRICHED_0")
            .expect("state readable")
    };
    feed(
        &engine,
        "users",
        vec![
            input("u1", r#"{"NAME":"ann"}"#, 100),
            input("u2", r#"{"NAME":"bob"}"#, 110),
        ],
    );
    let two_users = query_bytes();
    assert!(two_users > 0, "the users' rows are join state");
    assert_eq!(state_bytes(&mut fixture, "ENRICHED"), Some(two_users));
    feed(&engine, "users", vec![input("u3", r#"{"NAME":"cy"}"#, 120)]);
    let three_users = query_bytes();
    assert!(three_users > two_users, "{three_users} > {two_users}");
    assert_eq!(state_bytes(&mut fixture, "ENRICHED"), Some(three_users));
    feed(&engine, "users", vec![delete("u2", 130)]);
    let after_delete = query_bytes();
    assert!(after_delete < three_users, "{after_delete} < {three_users}");
    assert_eq!(state_bytes(&mut fixture, "ENRICHED"), Some(after_delete));
    for source in ["CLICKS", "USERS", "COPIED"] {
        assert_eq!(state_bytes(&mut fixture, source), None, "{source}");
    }
}

/// The REPL prints the state size in `DESCRIBE ... EXTENDED`'s runtime statistics: the
/// engine that ran the join is closed, and `eddy --execute` describes its sink.
#[test]
fn repl_describe_extended_prints_the_state_size_of_a_join() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    let bytes = {
        let engine = Engine::open(&data).expect("engine opens");
        execute(
            &engine,
            &mut Session::default(),
            &format!(
                "{CLICKS_AND_USERS}
                 CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
                   FROM clicks c JOIN users u ON c.user_id = u.id;"
            ),
        );
        feed(
            &engine,
            "users",
            vec![input("u1", r#"{"NAME":"ann"}"#, 100)],
        );
        executor::query::query_state_bytes(engine.state_store(), "CSAS_ENRICHED_0")
            .expect("state readable")
    };
    assert!(bytes > 0, "the user row is join state");
    let output = tests::run_eddy(&data, &["--execute", "DESCRIBE enriched EXTENDED;"], WAIT)
        .expect("eddy runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("   state-bytes: {bytes}\n")),
        "{stdout}"
    );
}

/// The state size `DESCRIBE ... EXTENDED` shows for source `name`.
fn state_bytes(fixture: &mut Fixture, name: &str) -> Option<u64> {
    let mut outputs = execute(
        &fixture.engine,
        &mut fixture.session,
        &format!("DESCRIBE {name} EXTENDED;"),
    );
    let Some(StatementOutput::Completed(StatementResult::SourceDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE {name} EXTENDED describes the source");
    };
    description.state_bytes
}

/// Stream-table LEFT join: table updates emit nothing; a click is joined with the user row
/// current when it is processed, at the click's time; a click without a user (never there,
/// or deleted by a tombstone) is emitted null-padded.
#[test]
fn stream_table_left_join_pads_clicks_without_a_current_user() {
    let fixture = start(&format!(
        "{CLICKS_AND_USERS}
         CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
           FROM clicks c LEFT JOIN users u ON c.user_id = u.id;"
    ));
    feed_clicks_and_users(&fixture.engine, "ENRICHED");
    assert_sink(
        &fixture.engine,
        "ENRICHED",
        &[
            row("u1", r#"{"PAGE":"home","NAME":"ann"}"#, 200),
            row("u3", r#"{"PAGE":"faq","NAME":null}"#, 210),
            row("u2", r#"{"PAGE":"news","NAME":"bob"}"#, 220),
            row("u1", r#"{"PAGE":"cart","NAME":"anna"}"#, 400),
            row("u2", r#"{"PAGE":"help","NAME":null}"#, 410),
            row("u1", r#"{"PAGE":"back","NAME":"anna"}"#, 250),
        ],
    );
}

/// Stream-table INNER join: the same inputs, but clicks without a current user are dropped.
#[test]
fn stream_table_inner_join_drops_clicks_without_a_current_user() {
    let fixture = start(&format!(
        "{CLICKS_AND_USERS}
         CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
           FROM clicks c JOIN users u ON c.user_id = u.id;"
    ));
    feed_clicks_and_users(&fixture.engine, "ENRICHED");
    assert_sink(
        &fixture.engine,
        "ENRICHED",
        &[
            row("u1", r#"{"PAGE":"home","NAME":"ann"}"#, 200),
            row("u2", r#"{"PAGE":"news","NAME":"bob"}"#, 220),
            row("u1", r#"{"PAGE":"cart","NAME":"anna"}"#, 400),
            row("u1", r#"{"PAGE":"back","NAME":"anna"}"#, 250),
        ],
    );
}

/// A join started over inputs that already hold data reads them in time order, as Kafka
/// Streams does: each click sees the user row of its time, not the last one. (The embedded
/// log hands the task both backlogs in its first poll, so no idle wait is needed.)
#[test]
fn stream_table_join_over_existing_data_reads_both_inputs_in_time_order() {
    let mut fixture = start(&format!(
        "SET 'auto.offset.reset'='earliest';
         {CLICKS_AND_USERS}"
    ));
    let engine = Arc::clone(&fixture.engine);
    let log = engine.topic_log();
    let produce = |topic: &str, records: Vec<Record>| {
        let records = records.into_iter().map(|record| (0, record)).collect();
        log.produce(topic, records).expect("produce");
    };
    produce(
        "users",
        vec![
            input("u1", r#"{"NAME":"ann"}"#, 100),
            input("u1", r#"{"NAME":"anna"}"#, 300),
            delete("u1", 500),
        ],
    );
    produce(
        "clicks",
        vec![
            input("u1", r#"{"PAGE":"p1"}"#, 50),
            input("u1", r#"{"PAGE":"p2"}"#, 200),
            input("u1", r#"{"PAGE":"p4"}"#, 400),
            input("u1", r#"{"PAGE":"p6"}"#, 600),
        ],
    );
    execute(
        &engine,
        &mut fixture.session,
        "CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
           FROM clicks c LEFT JOIN users u ON c.user_id = u.id;",
    );
    wait_caught_up(&engine);
    assert_sink(
        &engine,
        "ENRICHED",
        &[
            row("u1", r#"{"PAGE":"p1","NAME":null}"#, 50),
            row("u1", r#"{"PAGE":"p2","NAME":"ann"}"#, 200),
            row("u1", r#"{"PAGE":"p4","NAME":"anna"}"#, 400),
            row("u1", r#"{"PAGE":"p6","NAME":null}"#, 600),
        ],
    );
}

/// A table backlog larger than one poll (`max.poll.records` = 3) is read to its end, up to
/// the stream's times, before the stream records after it: an input with nothing buffered
/// but records in its partition is waited for (Kafka Streams with `max.task.idle.ms` = 0),
/// so every click sees its user, not only the users of the first poll.
#[test]
fn stream_table_join_over_a_backlog_larger_than_a_poll_waits_for_the_table() {
    let mut fixture = start(&format!(
        "SET 'auto.offset.reset'='earliest';
         SET 'max.poll.records'='3';
         {CLICKS_AND_USERS}"
    ));
    let engine = Arc::clone(&fixture.engine);
    let log = engine.topic_log();
    let produce = |topic: &str, records: Vec<Record>| {
        let records = records.into_iter().map(|record| (0, record)).collect();
        log.produce(topic, records).expect("produce");
    };
    // One append per user: the embedded log hands a poll whole appends.
    for n in 0..12 {
        produce(
            "users",
            vec![input(
                &format!("u{n}"),
                &format!(r#"{{"NAME":"name{n}"}}"#),
                n,
            )],
        );
    }
    // The first clicks are of the last users.
    let clicks: Vec<Record> = (0..12)
        .map(|n| {
            input(
                &format!("u{}", 11 - n),
                &format!(r#"{{"PAGE":"p{n}"}}"#),
                1_000 + n,
            )
        })
        .collect();
    produce("clicks", clicks);
    execute(
        &engine,
        &mut fixture.session,
        "CREATE STREAM enriched AS SELECT c.user_id, c.page, u.name
           FROM clicks c LEFT JOIN users u ON c.user_id = u.id;",
    );
    wait_caught_up(&engine);
    let expected: Vec<Output> = (0..12)
        .map(|n| {
            row(
                &format!("u{}", 11 - n),
                &format!(r#"{{"PAGE":"p{n}","NAME":"name{}"}}"#, 11 - n),
                1_000 + n,
            )
        })
        .collect();
    assert_sink(&engine, "ENRICHED", &expected);
}

// ---------------------------------------------------------------------------------------
// Stream-stream joins
// ---------------------------------------------------------------------------------------

const TWO_STREAMS: &str = "
    CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
      WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE STREAM rights (id VARCHAR KEY, b VARCHAR)
      WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=1);";

fn a(value: &str) -> String {
    format!(r#"{{"A":"{value}"}}"#)
}

fn b(value: &str) -> String {
    format!(r#"{{"B":"{value}"}}"#)
}

/// `{"A":..,"B":..}` with `None` as JSON null.
fn ab(a: Option<&str>, b: Option<&str>) -> String {
    let text = |value: Option<&str>| value.map_or("null".to_string(), |v| format!("\"{v}\""));
    format!(r#"{{"A":{},"B":{}}}"#, text(a), text(b))
}

/// `WITHIN (2 SECONDS, 5 SECONDS)`: a left record at t matches right records in
/// [t - 2s, t + 5s] (bounds included), and a right record at t left records in
/// [t - 5s, t + 2s]. Each match is emitted once, by whichever record arrives second, at the
/// later of the two times; an out-of-order record still matches what the stores hold.
#[test]
fn stream_stream_inner_join_matches_within_asymmetric_window_and_out_of_order() {
    let fixture = start(&format!(
        "{TWO_STREAMS}
         CREATE STREAM joined AS SELECT l.id, a, b
           FROM lefts l JOIN rights r WITHIN (2 SECONDS, 5 SECONDS) ON l.id = r.id;"
    ));
    let engine = &fixture.engine;
    feed(engine, "lefts", vec![input("k", &a("a1"), T + 10_000)]);
    feed(
        engine,
        "rights",
        vec![
            input("k", &b("b1"), T + 7_000),   // 3s before a1: outside
            input("k", &b("b2"), T + 8_000),   // 2s before a1: the bound, matches
            input("k", &b("b3"), T + 15_000),  // 5s after a1: the bound, matches
            input("k", &b("b4"), T + 15_001),  // just outside
            input("x", &b("bx"), T + 10_000),  // no left record of x yet
            input("k2", &b("b5"), T + 10_000), // another key: never matches k
        ],
    );
    feed(
        engine,
        "lefts",
        vec![
            // Out of order (stream time is T+15.001s): [T+7s, T+14s] holds b1 and b2.
            input("k", &a("a2"), T + 9_000),
            // [T+10s, T+17s] holds bx (right at T+10s sees left in [T+5s, T+12s]).
            input("x", &a("ax"), T + 12_000),
            // 6s after bx: outside [T+10s - 2s, T+10s + 5s].
            input("x", &a("ay"), T + 16_000),
        ],
    );
    assert_sink(
        engine,
        "JOINED",
        &[
            row("k", &ab(Some("a1"), Some("b2")), T + 10_000),
            row("k", &ab(Some("a1"), Some("b3")), T + 15_000),
            row("k", &ab(Some("a2"), Some("b1")), T + 9_000),
            row("k", &ab(Some("a2"), Some("b2")), T + 9_000),
            row("x", &ab(Some("ax"), Some("bx")), T + 12_000),
        ],
    );
}

/// `LEFT JOIN ... WITHIN 10 SECONDS GRACE PERIOD 5 SECONDS`: an unmatched left record at t
/// waits until the stream time (the largest time seen on either side) passes t + 10s + 5s,
/// then is emitted null-padded at t; a matched one is never null-padded. A left record
/// older than its store's retention (the left stream time minus 10s + 10s + 5s) is late:
/// joined with what is left, emitted null-padded at once, and not stored, so later right
/// records do not match it.
#[test]
fn stream_stream_left_join_with_grace_pads_unmatched_records_once_the_window_closes() {
    let mut fixture = start(&format!(
        "{TWO_STREAMS}
         CREATE STREAM joined AS SELECT l.id, a, b
           FROM lefts l LEFT JOIN rights r WITHIN 10 SECONDS GRACE PERIOD 5 SECONDS
           ON l.id = r.id;"
    ));
    let engine = &fixture.engine;
    feed(
        engine,
        "lefts",
        vec![input("k1", &a("a1"), T), input("k2", &a("a2"), T + 1_000)],
    );
    assert_sink(engine, "JOINED", &[]);
    feed(engine, "rights", vec![input("k2", &b("b2"), T + 3_000)]);
    let matched = row("k2", &ab(Some("a2"), Some("b2")), T + 3_000);
    assert_sink(engine, "JOINED", std::slice::from_ref(&matched));
    feed(
        engine,
        "lefts",
        vec![
            input("k3", &a("a3"), T + 14_000),
            // Stream time T+15s: a1's window closes at T+15s, not before it.
            input("k3", &a("a3b"), T + 15_000),
        ],
    );
    assert_sink(engine, "JOINED", std::slice::from_ref(&matched));
    // A right record of another key moves the stream time past a1's T + 15s.
    feed(engine, "rights", vec![input("k9", &b("b9"), T + 15_001)]);
    let mut expected = vec![matched, row("k1", &ab(Some("a1"), None), T)];
    assert_sink(engine, "JOINED", &expected);
    // T+60s closes a3 (T+29s) and a3b (T+30s); a5 waits.
    feed(engine, "lefts", vec![input("k5", &a("a5"), T + 60_000)]);
    expected.push(row("k3", &ab(Some("a3"), None), T + 14_000));
    expected.push(row("k3", &ab(Some("a3b"), None), T + 15_000));
    assert_sink(engine, "JOINED", &expected);
    // Late: the left store keeps [T+35.001s, T+60s]. Emitted at once (its window is closed).
    feed(engine, "lefts", vec![input("k6", &a("a6"), T + 30_000)]);
    expected.push(row("k6", &ab(Some("a6"), None), T + 30_000));
    assert_sink(engine, "JOINED", &expected);
    // Within 10s of a6, but a6 was not stored: no match.
    feed(engine, "rights", vec![input("k6", &b("b6"), T + 31_000)]);
    assert_sink(engine, "JOINED", &expected);
    // a2, matched, was never padded, even with the stream time far past its window; a5 is
    // still waiting for its window to close.
    feed(engine, "rights", vec![input("k5", &b("b5"), T + 69_000)]);
    expected.push(row("k5", &ab(Some("a5"), Some("b5")), T + 69_000));
    assert_sink(engine, "JOINED", &expected);
    // DESCRIBE EXTENDED of the joined source counts the one late record (a6).
    assert_eq!(error_statistics(&mut fixture, "LEFTS"), "late-records: 1");
}

/// The error statistics `DESCRIBE ... EXTENDED` shows for source `name`.
fn error_statistics(fixture: &mut Fixture, name: &str) -> String {
    let mut outputs = execute(
        &fixture.engine,
        &mut fixture.session,
        &format!("DESCRIBE {name} EXTENDED;"),
    );
    let Some(StatementOutput::Completed(StatementResult::SourceDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE {name} EXTENDED describes the source");
    };
    description.error_statistics
}

/// `FULL OUTER JOIN ... WITHIN 5 SECONDS` without a grace period: every record without a
/// match is emitted null-padded at once, on either side, and a later match is emitted as
/// well (the null-padded row is not retracted). The key is the synthetic `ROWKEY`.
#[test]
fn stream_stream_full_outer_join_without_grace_pads_eagerly_on_both_sides() {
    let mut fixture = start(&format!(
        "{TWO_STREAMS}
         CREATE STREAM joined AS SELECT ROWKEY AS id, a, b
           FROM lefts l FULL OUTER JOIN rights r WITHIN 5 SECONDS ON l.id = r.id;"
    ));
    let engine = Arc::clone(&fixture.engine);
    feed(&engine, "lefts", vec![input("k1", &a("a1"), T)]);
    assert_sink(&engine, "JOINED", &[row("k1", &ab(Some("a1"), None), T)]);
    feed(
        &engine,
        "rights",
        vec![
            input("k1", &b("b1"), T + 3_000),
            input("k2", &b("b2"), T + 4_000),
            input("k1", &b("b1x"), T + 6_000), // 6s after a1
        ],
    );
    feed(
        &engine,
        "lefts",
        vec![
            input("k2", &a("a2"), T + 1_000),  // out of order: b2 is 3s after
            input("k1", &a("a1y"), T + 2_000), // b1 and b1x are within 5s
            input("k3", &a("a3"), T + 2_000),
        ],
    );
    assert_sink(
        &engine,
        "JOINED",
        &[
            row("k1", &ab(Some("a1"), None), T),
            row("k1", &ab(Some("a1"), Some("b1")), T + 3_000),
            row("k2", &ab(None, Some("b2")), T + 4_000),
            row("k1", &ab(None, Some("b1x")), T + 6_000),
            row("k2", &ab(Some("a2"), Some("b2")), T + 4_000),
            row("k1", &ab(Some("a1y"), Some("b1")), T + 3_000),
            row("k1", &ab(Some("a1y"), Some("b1x")), T + 6_000),
            row("k3", &ab(Some("a3"), None), T + 2_000),
        ],
    );
    assert_eq!(
        describe_columns(&mut fixture, "JOINED"),
        ["ID STRING KEY", "A STRING", "B STRING"]
    );
}

/// `FULL OUTER JOIN ... WITHIN (1 SECOND, 3 SECONDS) GRACE PERIOD 2 SECONDS`: unmatched
/// records of both sides wait for their window to close, each side by its own look-ahead:
/// a left record at t (which matches right records up to t + 3s) closes once the stream
/// time passes t + 3s + 2s, a right record at t (which matches left records up to t + 1s)
/// once it passes t + 1s + 2s. A record matched by an out-of-order record within the grace
/// period is never padded.
#[test]
fn stream_stream_full_outer_join_with_grace_closes_each_side_by_its_own_window() {
    let fixture = start(&format!(
        "{TWO_STREAMS}
         CREATE STREAM joined AS SELECT ROWKEY AS id, a, b
           FROM lefts l FULL OUTER JOIN rights r WITHIN (1 SECOND, 3 SECONDS)
           GRACE PERIOD 2 SECONDS ON l.id = r.id;"
    ));
    let engine = &fixture.engine;
    feed(engine, "lefts", vec![input("k1", &a("a1"), T)]);
    feed(engine, "rights", vec![input("k2", &b("b2"), T)]);
    assert_sink(engine, "JOINED", &[]);
    // Stream time T+3.001s: b2 (closes after T+3s) is padded, a1 (T+5s) waits.
    feed(engine, "rights", vec![input("k9", &b("b9"), T + 3_001)]);
    let mut expected = vec![row("k2", &ab(None, Some("b2")), T)];
    assert_sink(engine, "JOINED", &expected);
    feed(engine, "lefts", vec![input("k8", &a("a8"), T + 5_000)]);
    assert_sink(engine, "JOINED", &expected);
    feed(engine, "lefts", vec![input("k8", &a("a8b"), T + 5_001)]);
    expected.push(row("k1", &ab(Some("a1"), None), T));
    assert_sink(engine, "JOINED", &expected);
    // Out of order, within the grace period: matches a8 and a8b (left records in
    // [T+1.5s, T+5.5s]), which are then never padded.
    feed(engine, "rights", vec![input("k8", &b("b8"), T + 4_500)]);
    expected.push(row("k8", &ab(Some("a8"), Some("b8")), T + 5_000));
    expected.push(row("k8", &ab(Some("a8b"), Some("b8")), T + 5_001));
    assert_sink(engine, "JOINED", &expected);
    // Stream time T+20s closes everything before it: only b9 is still unmatched.
    feed(engine, "lefts", vec![input("k0", &a("a0"), T + 20_000)]);
    expected.push(row("k9", &ab(None, Some("b9")), T + 3_001));
    assert_sink(engine, "JOINED", &expected);
}

/// The state of a stream-stream LEFT join with a grace period survives restarts: the
/// unmatched records waiting for their window, the window stores and the per-side times
/// that make a record late all continue where the previous run committed them.
#[test]
fn stream_stream_left_join_with_grace_continues_after_restart() {
    let directory = tempfile::tempdir().expect("temp dir");
    let open = || {
        Engine::open(directory.path()).unwrap_or_else(|error| {
            panic!("engine opens: {}", executor::error_chain(&error));
        })
    };
    {
        let engine = open();
        execute(
            &engine,
            &mut Session::default(),
            &format!(
                "SET 'cache.max.bytes.buffering'='0';
                 {TWO_STREAMS}
                 CREATE STREAM joined AS SELECT l.id, a, b
                   FROM lefts l LEFT JOIN rights r WITHIN 10 SECONDS GRACE PERIOD 5 SECONDS
                   ON l.id = r.id;"
            ),
        );
        feed(
            &engine,
            "lefts",
            vec![input("k1", &a("a1"), T), input("k2", &a("a2"), T + 1_000)],
        );
        assert_sink(&engine, "JOINED", &[]);
    }
    let mut expected = Vec::new();
    {
        let engine = open();
        // a2, kept by the first run, is matched.
        feed(&engine, "rights", vec![input("k2", &b("b2"), T + 3_000)]);
        expected.push(row("k2", &ab(Some("a2"), Some("b2")), T + 3_000));
        // The stream time passes a1's T + 15s: the pending a1 is padded, a2 is not.
        feed(&engine, "lefts", vec![input("k3", &a("a3"), T + 40_000)]);
        expected.push(row("k1", &ab(Some("a1"), None), T));
        assert_sink(&engine, "JOINED", &expected);
    }
    let engine = open();
    // Late by the left time of the previous run (T+40s - 25s): padded at once, not stored.
    feed(&engine, "lefts", vec![input("k6", &a("a6"), T + 10_000)]);
    expected.push(row("k6", &ab(Some("a6"), None), T + 10_000));
    feed(&engine, "rights", vec![input("k6", &b("b6"), T + 12_000)]);
    // a3, kept by the second run, is matched, and never padded afterwards.
    feed(
        &engine,
        "rights",
        vec![
            input("k3", &b("b3"), T + 45_000),
            input("k9", &b("b9"), T + 60_000),
        ],
    );
    expected.push(row("k3", &ab(Some("a3"), Some("b3")), T + 45_000));
    assert_sink(&engine, "JOINED", &expected);
}

/// Produces `records` to partition `partition` of `topic` and waits for the queries.
fn feed_partition(engine: &Engine, topic: &str, partition: u32, records: Vec<Record>) {
    let records = records
        .into_iter()
        .map(|record| (partition, record))
        .collect();
    engine.topic_log().produce(topic, records).expect("produce");
    wait_caught_up(engine);
}

/// Kafka Streams runs one task per partition, each with its own stream time and window
/// stores: a record of partition 0 far ahead in time does not close the windows of
/// partition 1. (Keys `a` and `d` are where the engine's partitioner puts them with two
/// partitions.)
#[test]
fn stream_stream_left_join_keeps_stream_time_per_partition() {
    let fixture = start(
        "CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
           WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM rights (id VARCHAR KEY, b VARCHAR)
           WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM joined AS SELECT l.id, a, b
           FROM lefts l LEFT JOIN rights r WITHIN 1 SECOND GRACE PERIOD 0 SECONDS
           ON l.id = r.id;",
    );
    let engine = &fixture.engine;
    feed_partition(engine, "lefts", 1, vec![input("d", &a("ad"), T)]);
    // Partition 0's stream time moves far ahead; partition 1's stays at T.
    feed_partition(engine, "lefts", 0, vec![input("a", &a("aa"), T + 100_000)]);
    // Within 1s of ad, in partition 1, whose window [T - 1s, T + 1s] is still open.
    feed_partition(engine, "rights", 1, vec![input("d", &b("bd"), T + 500)]);
    let log = engine.topic_log();
    let records: Vec<String> = log
        .offsets("JOINED")
        .expect("sink topic exists")
        .into_iter()
        .enumerate()
        .flat_map(|(partition, (start, end))| {
            log.read("JOINED", partition as u32, start, (end - start) as usize)
                .expect("read sink")
                .into_iter()
                .map(move |consumed| {
                    let text = |bytes: Option<Vec<u8>>| {
                        bytes.map_or("<null>".to_string(), |bytes| {
                            String::from_utf8_lossy(&bytes).into_owned()
                        })
                    };
                    format!(
                        "[{partition}] {} {} @{}",
                        text(consumed.record.key),
                        text(consumed.record.value),
                        consumed.record.timestamp
                    )
                })
        })
        .collect();
    assert_eq!(
        records,
        [format!("[1] d {} @{}", ab(Some("ad"), Some("bd")), T + 500)]
    );
}

/// Every record of every partition of `topic`, as `key value @time` lines, sorted (the
/// order across partitions is not defined).
fn read_all_partitions(engine: &Engine, topic: &str) -> Vec<String> {
    let log = engine.topic_log();
    let mut lines: Vec<String> = log
        .offsets(topic)
        .expect("topic exists")
        .into_iter()
        .enumerate()
        .flat_map(|(partition, (start, end))| {
            log.read(topic, partition as u32, start, (end - start) as usize)
                .expect("read topic")
                .into_iter()
                .map(|consumed| {
                    let text = |bytes: Option<Vec<u8>>| {
                        bytes.map_or("<null>".to_string(), |bytes| {
                            String::from_utf8_lossy(&bytes).into_owned()
                        })
                    };
                    format!(
                        "{} {} @{}",
                        text(consumed.record.key),
                        text(consumed.record.value),
                        consumed.record.timestamp
                    )
                })
        })
        .collect();
    lines.sort();
    lines
}

/// A stream-stream join on a value column of the right side over two partitions: ksqlDB
/// repartitions the right side by `r.lid` (into the left side's key format), so a right
/// record meets the left records of its `lid` whatever partition its own key put it in.
/// Keys `a` and `d` are in partitions 0 and 1; each right record sits in the partition
/// that is not its `lid`'s, so without the repartition nothing would match.
#[test]
fn stream_stream_join_on_a_value_column_matches_across_partitions() {
    let fixture = start(
        "CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
           WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM rights (rid VARCHAR KEY, lid VARCHAR, b VARCHAR)
           WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM joined AS SELECT l.id, a, b
           FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.id = r.lid;",
    );
    let engine = &fixture.engine;
    feed_partition(engine, "lefts", 0, vec![input("a", &a("aa"), T)]);
    feed_partition(engine, "lefts", 1, vec![input("d", &a("ad"), T + 1_000)]);
    // Right record `d` (partition 1) refers to `a`, right record `a` (partition 0) to `d`;
    // `x` refers to no left record; `y` refers to `a` but 11s after it: outside the window.
    feed_partition(
        engine,
        "rights",
        1,
        vec![
            input("d", r#"{"LID":"a","B":"b1"}"#, T + 2_000),
            input("x", r#"{"LID":"zz","B":"bx"}"#, T + 2_000),
        ],
    );
    feed_partition(
        engine,
        "rights",
        0,
        vec![
            input("a", r#"{"LID":"d","B":"b2"}"#, T + 3_000),
            input("y", r#"{"LID":"a","B":"by"}"#, T + 11_001),
        ],
    );
    // Each match is emitted at the later of its two times, keyed by the left id.
    assert_eq!(
        read_all_partitions(engine, "JOINED"),
        [
            format!("a {} @{}", ab(Some("aa"), Some("b1")), T + 2_000),
            format!("d {} @{}", ab(Some("ad"), Some("b2")), T + 3_000),
        ]
    );
}

/// A repartitioned join reopened between its inputs resumes both stages where they
/// committed: the left record stored before the restart is matched by a right record that
/// goes through the repartition topic after it, and nothing is emitted twice.
#[test]
fn repartitioned_join_continues_after_restart() {
    let directory = tempfile::tempdir().expect("temp dir");
    let open = || {
        Engine::open(directory.path()).unwrap_or_else(|error| {
            panic!("engine opens: {}", executor::error_chain(&error));
        })
    };
    let first = format!("a {} @{}", ab(Some("aa"), Some("b1")), T + 2_000);
    {
        let engine = open();
        execute(
            &engine,
            &mut Session::default(),
            "SET 'cache.max.bytes.buffering'='0';
             CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
               WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
             CREATE STREAM rights (rid VARCHAR KEY, lid VARCHAR, b VARCHAR)
               WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);
             CREATE STREAM joined AS SELECT l.id, a, b
               FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.id = r.lid;",
        );
        feed_partition(&engine, "lefts", 0, vec![input("a", &a("aa"), T)]);
        feed_partition(&engine, "lefts", 1, vec![input("d", &a("ad"), T + 1_000)]);
        feed_partition(
            &engine,
            "rights",
            1,
            vec![input("d", r#"{"LID":"a","B":"b1"}"#, T + 2_000)],
        );
        assert_eq!(
            read_all_partitions(&engine, "JOINED"),
            std::slice::from_ref(&first)
        );
    }
    let engine = open();
    feed_partition(
        &engine,
        "rights",
        0,
        vec![input("a", r#"{"LID":"d","B":"b2"}"#, T + 3_000)],
    );
    assert_eq!(
        read_all_partitions(&engine, "JOINED"),
        [
            first,
            format!("d {} @{}", ab(Some("ad"), Some("b2")), T + 3_000)
        ]
    );
}

/// Produces `records` to `topic` (of `partitions` partitions), each to the partition the
/// log's partitioner picks for its key, and waits for the queries.
fn feed_by_key(engine: &Engine, topic: &str, partitions: u32, records: Vec<Record>) {
    let records = records
        .into_iter()
        .map(|record| {
            let key = record.key.as_deref().expect("keyed record");
            (partition_for_key(key, partitions), record)
        })
        .collect();
    engine.topic_log().produce(topic, records).expect("produce");
    wait_caught_up(engine);
}

/// An n-way join repartitioned twice: the inner stream-stream join moves `rights` by
/// `r.lid`, and the outer stream-table join moves the inner join's rows by `l.g` (the
/// table's key) into a second topic, read by the last stage: three stages, each match
/// found across partitions.
#[test]
fn n_way_join_repartitions_a_joined_stream_by_the_next_join_key() {
    let fixture = start(
        "CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR, g VARCHAR)
           WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM rights (rid VARCHAR KEY, lid VARCHAR, b VARCHAR)
           WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE TABLE groups (gid VARCHAR PRIMARY KEY, name VARCHAR)
           WITH (KAFKA_TOPIC='groups', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM enriched AS SELECT l.g, l.id AS lid, a, b, name
           FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.id = r.lid
           JOIN groups gr ON l.g = gr.gid;",
    );
    let engine = &fixture.engine;
    let internal: Vec<String> = engine
        .topic_log()
        .list_topics()
        .expect("topics")
        .into_iter()
        .map(|topic| topic.name)
        .filter(|name| name.starts_with("_confluent-ksql-"))
        .collect();
    assert_eq!(
        internal,
        [
            "_confluent-ksql-default_query_CSAS_ENRICHED_0-Join-repartition",
            "_confluent-ksql-default_query_CSAS_ENRICHED_0-Join-right-repartition",
        ]
    );
    feed_by_key(
        engine,
        "groups",
        2,
        vec![
            input("x", r#"{"NAME":"nx"}"#, T),
            input("y", r#"{"NAME":"ny"}"#, T),
        ],
    );
    // `a` is in partition 0 and `d` in 1, groups `x` and `y` both in 0: `d`'s joined rows
    // meet their group only through the second repartition.
    feed_partition(
        engine,
        "lefts",
        0,
        vec![input("a", r#"{"A":"aa","G":"y"}"#, T + 1_000)],
    );
    feed_partition(
        engine,
        "lefts",
        1,
        vec![input("d", r#"{"A":"ad","G":"x"}"#, T + 1_000)],
    );
    feed_partition(
        engine,
        "rights",
        1,
        vec![input("d", r#"{"LID":"a","B":"b1"}"#, T + 2_000)],
    );
    feed_partition(
        engine,
        "rights",
        0,
        vec![input("a", r#"{"LID":"d","B":"b2"}"#, T + 3_000)],
    );
    assert_eq!(
        read_all_partitions(engine, "ENRICHED"),
        [
            format!(
                r#"x {{"LID":"d","A":"ad","B":"b2","NAME":"nx"}} @{}"#,
                T + 3_000
            ),
            format!(
                r#"y {{"LID":"a","A":"aa","B":"b1","NAME":"ny"}} @{}"#,
                T + 2_000
            ),
        ]
    );
}

/// The names of the topics `SHOW TOPICS` (or `SHOW ALL TOPICS`) lists.
fn shown_topics(fixture: &mut Fixture, statement: &str) -> Vec<String> {
    let mut outputs = execute(&fixture.engine, &mut fixture.session, statement);
    let Some(StatementOutput::Completed(StatementResult::Topics { topics, .. })) = outputs.pop()
    else {
        panic!("{statement} lists topics");
    };
    topics.into_iter().map(|topic| topic.name).collect()
}

/// A repartition topic lives with its query: ksqlDB's name for it, two partitions like the
/// sides, hidden from SHOW TOPICS but listed by SHOW ALL TOPICS, and deleted when the query is
/// terminated. A join of topics with different partition counts is rejected with ksqlDB's
/// message and starts nothing.
#[test]
fn repartition_topics_are_hidden_and_deleted_with_their_query() {
    let mut fixture = start(
        "CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
           WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM rights (rid VARCHAR KEY, lid VARCHAR, b VARCHAR)
           WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM threes (id VARCHAR KEY, c VARCHAR)
           WITH (KAFKA_TOPIC='threes', VALUE_FORMAT='JSON', PARTITIONS=3);
         CREATE STREAM joined AS SELECT l.id, a, b
           FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.id = r.lid;",
    );
    let internal = "_confluent-ksql-default_query_CSAS_JOINED_0-Join-right-repartition";
    let log = fixture.engine.topic_log();
    let described = log.describe_topic(internal).expect("describe");
    assert_eq!(described.map(|topic| topic.partitions), Some(2));
    let mut visible = shown_topics(&mut fixture, "SHOW TOPICS;");
    visible.sort();
    assert_eq!(visible, ["JOINED", "lefts", "rights", "threes"]);
    assert!(shown_topics(&mut fixture, "SHOW ALL TOPICS;").contains(&internal.to_string()));

    let error = fixture
        .engine
        .execute_script(
            "CREATE STREAM bad AS SELECT l.id, a, c
               FROM lefts l JOIN threes t WITHIN 10 SECONDS ON l.id = t.id;",
            &mut fixture.session,
            |_, _| {},
        )
        .expect_err("partition counts differ");
    assert_eq!(
        executor::error_chain(&error),
        "Can't join `L` with `T` since the number of partitions don't match. `L` partitions = 2; `T` partitions = 3. Please repartition either one so that the number of partitions match."
    );
    assert!(fixture.engine.catalog().source("BAD").is_none());
    assert_eq!(fixture.engine.query_states().len(), 1);

    execute(
        &fixture.engine,
        &mut fixture.session,
        "TERMINATE CSAS_JOINED_0;",
    );
    assert!(log.describe_topic(internal).expect("describe").is_none());
    assert!(fixture.engine.query_states().is_empty());
}

// ---------------------------------------------------------------------------------------
// Table-table joins
// ---------------------------------------------------------------------------------------

const TWO_TABLES: &str = "
    CREATE TABLE lt (id VARCHAR PRIMARY KEY, a VARCHAR)
      WITH (KAFKA_TOPIC='lt', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE rt (id VARCHAR PRIMARY KEY, b VARCHAR)
      WITH (KAFKA_TOPIC='rt', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// An aggregation over a table-table LEFT join: each change of a joined row retracts the
/// key's previous joined row from its group before adding the new one. A change within one
/// group is one update (the retraction is not emitted on its own); a row that moves to
/// another group updates both; a delete only retracts.
#[test]
fn aggregation_over_a_table_table_join_retracts_the_previous_joined_row() {
    let fixture = start(&format!(
        "{TWO_TABLES}
         CREATE TABLE counts AS SELECT a, COUNT(*) AS n, COUNT(b) AS matched
           FROM lt LEFT JOIN rt ON lt.id = rt.id GROUP BY a;"
    ));
    let engine = &fixture.engine;
    let counts = |n: i64, matched: i64| format!(r#"{{"N":{n},"MATCHED":{matched}}}"#);
    feed(
        engine,
        "lt",
        vec![input("k1", &a("x"), 100), input("k2", &a("x"), 110)],
    );
    let mut expected = vec![row("x", &counts(1, 0), 100), row("x", &counts(2, 0), 110)];
    assert_sink(engine, "COUNTS", &expected);
    // k1 gains a right row: (k1, x, null) becomes (k1, x, b1) within group x.
    feed(engine, "rt", vec![input("k1", &b("b1"), 120)]);
    expected.push(row("x", &counts(2, 1), 120));
    assert_sink(engine, "COUNTS", &expected);
    // k1 moves from group x to group y.
    feed(engine, "lt", vec![input("k1", &a("y"), 130)]);
    expected.push(row("x", &counts(1, 0), 130));
    expected.push(row("y", &counts(1, 1), 130));
    assert_sink(engine, "COUNTS", &expected);
    // k1 loses its right row: null-padded again, at the later of the two rows' times.
    feed(engine, "rt", vec![delete("k1", 140)]);
    expected.push(row("y", &counts(1, 0), 140));
    assert_sink(engine, "COUNTS", &expected);
    // k2 is deleted: only retracted from group x.
    feed(engine, "lt", vec![delete("k2", 150)]);
    expected.push(row("x", &counts(0, 0), 150));
    assert_sink(engine, "COUNTS", &expected);
}

/// Drives the table-table scenario, one step per topic; each step's comment says what
/// changes. Right rows older than the left ones show that a result's time is the larger of
/// its two rows' times.
fn feed_two_tables(engine: &Engine) {
    // 1. k1 on the left.
    feed(engine, "lt", vec![input("k1", &a("a1"), 100)]);
    // 2. k1 on the right, older than the left row; k2 on the right only.
    feed(
        engine,
        "rt",
        vec![input("k1", &b("b1"), 50), input("k2", &b("b2"), 200)],
    );
    // 3. k1 updated on the left; k2 on the left, older than its right row.
    feed(
        engine,
        "lt",
        vec![input("k1", &a("a1x"), 300), input("k2", &a("a2"), 150)],
    );
    // 4. k1 deleted on the right.
    feed(engine, "rt", vec![delete("k1", 400)]);
    // 5. k2 deleted on the left.
    feed(engine, "lt", vec![delete("k2", 450)]);
    // 6. k2 deleted on the right: now on neither side.
    feed(engine, "rt", vec![delete("k2", 500)]);
    // 7. A delete of a key that never existed.
    feed(engine, "lt", vec![delete("k7", 600)]);
}

/// Table-table INNER join: a row exists only while both sides do; deleting either side
/// deletes it (a tombstone at the later time of the two rows).
#[test]
fn table_table_inner_join_emits_rows_while_both_sides_exist() {
    let fixture = start(&format!(
        "{TWO_TABLES}
         CREATE TABLE joined AS SELECT lt.id, a, b FROM lt JOIN rt ON lt.id = rt.id;"
    ));
    feed_two_tables(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "JOINED",
        &[
            row("k1", &ab(Some("a1"), Some("b1")), 100), // 2: max(50, 100)
            row("k1", &ab(Some("a1x"), Some("b1")), 300), // 3
            row("k2", &ab(Some("a2"), Some("b2")), 200), // 3: max(150, 200)
            tombstone("k1", 400),                        // 4
            tombstone("k2", 450),                        // 5
        ],
    );
}

/// Table-table LEFT join: every left row is in the result, null-padded without a right
/// row; deleting the right row pads it, deleting the left row deletes it, and right rows
/// alone emit nothing.
#[test]
fn table_table_left_join_pads_left_rows_and_retracts_deleted_ones() {
    let fixture = start(&format!(
        "{TWO_TABLES}
         CREATE TABLE joined AS SELECT lt.id, a, b FROM lt LEFT JOIN rt ON lt.id = rt.id;"
    ));
    feed_two_tables(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "JOINED",
        &[
            row("k1", &ab(Some("a1"), None), 100),        // 1
            row("k1", &ab(Some("a1"), Some("b1")), 100),  // 2
            row("k1", &ab(Some("a1x"), Some("b1")), 300), // 3
            row("k2", &ab(Some("a2"), Some("b2")), 200),  // 3
            row("k1", &ab(Some("a1x"), None), 400),       // 4: max(400, 300)
            tombstone("k2", 450),                         // 5
        ],
    );
}

/// Table-table RIGHT join: the mirror of LEFT; every right row is in the result, and left
/// rows alone emit nothing.
#[test]
fn table_table_right_join_pads_right_rows_and_retracts_deleted_ones() {
    let fixture = start(&format!(
        "{TWO_TABLES}
         CREATE TABLE joined AS SELECT rt.id, a, b FROM lt RIGHT JOIN rt ON lt.id = rt.id;"
    ));
    feed_two_tables(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "JOINED",
        &[
            row("k1", &ab(Some("a1"), Some("b1")), 100),  // 2
            row("k2", &ab(None, Some("b2")), 200),        // 2
            row("k1", &ab(Some("a1x"), Some("b1")), 300), // 3
            row("k2", &ab(Some("a2"), Some("b2")), 200),  // 3
            tombstone("k1", 400),                         // 4
            row("k2", &ab(None, Some("b2")), 450),        // 5
            tombstone("k2", 500),                         // 6
        ],
    );
}

/// Table-table FULL OUTER join: a key is in the result while either side has it, padded
/// on the missing side; it is deleted when its last side is. The key is `ROWKEY`.
#[test]
fn table_table_full_outer_join_keeps_keys_of_either_side() {
    let mut fixture = start(&format!(
        "{TWO_TABLES}
         CREATE TABLE joined AS SELECT ROWKEY AS id, a, b
           FROM lt FULL OUTER JOIN rt ON lt.id = rt.id;"
    ));
    feed_two_tables(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "JOINED",
        &[
            row("k1", &ab(Some("a1"), None), 100),        // 1
            row("k1", &ab(Some("a1"), Some("b1")), 100),  // 2
            row("k2", &ab(None, Some("b2")), 200),        // 2
            row("k1", &ab(Some("a1x"), Some("b1")), 300), // 3
            row("k2", &ab(Some("a2"), Some("b2")), 200),  // 3
            row("k1", &ab(Some("a1x"), None), 400),       // 4
            row("k2", &ab(None, Some("b2")), 450),        // 5: max(450, 200)
            tombstone("k2", 500),                         // 6
        ],
    );
    assert_eq!(
        describe_columns(&mut fixture, "JOINED"),
        ["ID STRING KEY", "A STRING", "B STRING"]
    );
}

// ---------------------------------------------------------------------------------------
// Foreign-key joins
// ---------------------------------------------------------------------------------------

const ORDERS_AND_CUSTOMERS: &str = "
    CREATE TABLE orders (id VARCHAR PRIMARY KEY, customer VARCHAR, amount INT)
      WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE customers (id VARCHAR PRIMARY KEY, name VARCHAR)
      WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=1);";

fn order(customer: &str, amount: i64) -> String {
    format!(r#"{{"CUSTOMER":"{customer}","AMOUNT":{amount}}}"#)
}

fn name(name: &str) -> String {
    format!(r#"{{"NAME":"{name}"}}"#)
}

/// `{"AMOUNT":..,"NAME":..}` with `None` as JSON null.
fn amount_name(amount: i64, name: Option<&str>) -> String {
    let name = name.map_or("null".to_string(), |name| format!("\"{name}\""));
    format!(r#"{{"AMOUNT":{amount},"NAME":{name}}}"#)
}

/// Drives the foreign-key scenario. Every right update is later than the left rows it
/// re-emits, so a result's time is the updated row's time whichever rule applies.
fn feed_orders_and_customers(engine: &Engine) {
    // 1. Customers alone emit nothing.
    feed(
        engine,
        "customers",
        vec![
            input("c1", &name("ann"), 100),
            input("c2", &name("bob"), 110),
        ],
    );
    // 2. o1, o2 of c1; o3 of c3, which does not exist.
    feed(
        engine,
        "orders",
        vec![
            input("o1", &order("c1", 10), 200),
            input("o2", &order("c1", 20), 210),
            input("o3", &order("c3", 30), 220),
        ],
    );
    // 3. c1 renamed: re-emits o1 and o2.
    feed(engine, "customers", vec![input("c1", &name("anna"), 300)]);
    // 4. o2 moves to c2 (a match); o1 moves to c9 (none).
    feed(
        engine,
        "orders",
        vec![
            input("o2", &order("c2", 25), 400),
            input("o1", &order("c9", 15), 410),
        ],
    );
    // 5. c1 renamed again: no order refers to it any more. c2 deleted.
    feed(
        engine,
        "customers",
        vec![input("c1", &name("annie"), 500), delete("c2", 510)],
    );
    // 6. c3 appears: o3 finds it.
    feed(engine, "customers", vec![input("c3", &name("cid"), 600)]);
    // 7. o3 deleted.
    feed(engine, "orders", vec![delete("o3", 700)]);
}

/// Foreign-key INNER join: a customer update re-emits every order referring to it; an
/// order moving to a customer that does not exist is deleted (tombstone), and a customer's
/// delete deletes its orders' rows.
#[test]
fn foreign_key_inner_join_follows_customer_updates_and_moved_orders() {
    let mut fixture = start(&format!(
        "{ORDERS_AND_CUSTOMERS}
         CREATE TABLE enriched AS SELECT o.id, o.amount, c.name
           FROM orders o JOIN customers c ON o.customer = c.id;"
    ));
    feed_orders_and_customers(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "ENRICHED",
        &[
            row("o1", &amount_name(10, Some("ann")), 200),  // 2
            row("o2", &amount_name(20, Some("ann")), 210),  // 2
            row("o1", &amount_name(10, Some("anna")), 300), // 3
            row("o2", &amount_name(20, Some("anna")), 300), // 3
            row("o2", &amount_name(25, Some("bob")), 400),  // 4
            tombstone("o1", 410),                           // 4
            tombstone("o2", 510),                           // 5
            row("o3", &amount_name(30, Some("cid")), 600),  // 6
            tombstone("o3", 700),                           // 7
        ],
    );
    assert_eq!(
        describe_columns(&mut fixture, "ENRICHED"),
        ["O_ID STRING KEY", "AMOUNT INTEGER", "NAME STRING"]
    );
}

/// Foreign-key LEFT join: the same inputs; orders without a customer are null-padded
/// instead of deleted, and only an order's own delete deletes its row.
#[test]
fn foreign_key_left_join_pads_orders_without_a_customer() {
    let fixture = start(&format!(
        "{ORDERS_AND_CUSTOMERS}
         CREATE TABLE enriched AS SELECT o.id, o.amount, c.name
           FROM orders o LEFT JOIN customers c ON o.customer = c.id;"
    ));
    feed_orders_and_customers(&fixture.engine);
    assert_sink(
        &fixture.engine,
        "ENRICHED",
        &[
            row("o1", &amount_name(10, Some("ann")), 200),  // 2
            row("o2", &amount_name(20, Some("ann")), 210),  // 2
            row("o3", &amount_name(30, None), 220),         // 2
            row("o1", &amount_name(10, Some("anna")), 300), // 3
            row("o2", &amount_name(20, Some("anna")), 300), // 3
            row("o2", &amount_name(25, Some("bob")), 400),  // 4
            row("o1", &amount_name(15, None), 410),         // 4
            row("o2", &amount_name(25, None), 510),         // 5
            row("o3", &amount_name(30, Some("cid")), 600),  // 6
            tombstone("o3", 700),                           // 7
        ],
    );
}

// ---------------------------------------------------------------------------------------
// N-way joins
// ---------------------------------------------------------------------------------------

/// `purchases JOIN customers ON customer LEFT JOIN items ON item`: the stream is joined
/// with each table's current row in turn; the INNER join drops purchases without a
/// customer, the LEFT join pads purchases without an item. The result is keyed by the last
/// join's key, `p.item`, the first join column selected (named `ITEM`: no other source has
/// a column of that name).
#[test]
fn n_way_stream_table_table_join_enriches_from_both_tables() {
    let mut fixture = start(
        "CREATE STREAM purchases (id VARCHAR KEY, customer VARCHAR, item VARCHAR)
           WITH (KAFKA_TOPIC='purchases', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE customers (id VARCHAR PRIMARY KEY, name VARCHAR)
           WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE items (id VARCHAR PRIMARY KEY, price INT)
           WITH (KAFKA_TOPIC='items', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM enriched AS SELECT p.item, p.id AS purchase, c.name, i.price
           FROM purchases p JOIN customers c ON p.customer = c.id
           LEFT JOIN items i ON p.item = i.id;",
    );
    let engine = Arc::clone(&fixture.engine);
    let purchase =
        |customer: &str, item: &str| format!(r#"{{"CUSTOMER":"{customer}","ITEM":"{item}"}}"#);
    feed(&engine, "customers", vec![input("c1", &name("ann"), 100)]);
    feed(&engine, "items", vec![input("i1", r#"{"PRICE":5}"#, 100)]);
    feed(
        &engine,
        "purchases",
        vec![
            input("p1", &purchase("c1", "i1"), 200),
            input("p2", &purchase("c1", "i2"), 210), // no item i2
            input("p3", &purchase("c2", "i1"), 220), // no customer c2
        ],
    );
    feed(&engine, "items", vec![input("i1", r#"{"PRICE":7}"#, 300)]);
    feed(
        &engine,
        "customers",
        vec![delete("c1", 300), input("c2", &name("bob"), 310)],
    );
    feed(
        &engine,
        "purchases",
        vec![
            input("p4", &purchase("c1", "i1"), 400), // c1 deleted
            input("p5", &purchase("c2", "i1"), 410),
        ],
    );
    assert_sink(
        &engine,
        "ENRICHED",
        &[
            row("i1", r#"{"PURCHASE":"p1","NAME":"ann","PRICE":5}"#, 200),
            row("i2", r#"{"PURCHASE":"p2","NAME":"ann","PRICE":null}"#, 210),
            row("i1", r#"{"PURCHASE":"p5","NAME":"bob","PRICE":7}"#, 410),
        ],
    );
    assert_eq!(
        describe_columns(&mut fixture, "ENRICHED"),
        [
            "ITEM STRING KEY",
            "PURCHASE STRING",
            "NAME STRING",
            "PRICE INTEGER"
        ]
    );
}

const THREE_TABLES: &str = "
    CREATE TABLE t1 (id VARCHAR PRIMARY KEY, a VARCHAR)
      WITH (KAFKA_TOPIC='t1', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE t2 (id VARCHAR PRIMARY KEY, b VARCHAR)
      WITH (KAFKA_TOPIC='t2', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE t3 (id VARCHAR PRIMARY KEY, c VARCHAR)
      WITH (KAFKA_TOPIC='t3', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// `{"A":..,"B":..,"C":..}` with `None` as JSON null.
fn abc(a: Option<&str>, b: Option<&str>, c: Option<&str>) -> String {
    let text = |value: Option<&str>| value.map_or("null".to_string(), |v| format!("\"{v}\""));
    format!(r#"{{"A":{},"B":{},"C":{}}}"#, text(a), text(b), text(c))
}

/// `t1 LEFT JOIN t2 LEFT JOIN t3` on the primary keys: each update of any table emits the
/// new row of its key, at the latest time of the rows joined; a key only the right tables
/// have emits nothing.
#[test]
fn n_way_table_table_table_left_join_follows_updates_of_every_table() {
    let fixture = start(&format!(
        "{THREE_TABLES}
         CREATE TABLE joined AS SELECT t1.id, a, b, c
           FROM t1 LEFT JOIN t2 ON t1.id = t2.id LEFT JOIN t3 ON t1.id = t3.id;"
    ));
    let engine = &fixture.engine;
    feed(engine, "t1", vec![input("k", &a("a"), 100)]);
    feed(engine, "t2", vec![input("k", &b("b"), 200)]);
    feed(
        engine,
        "t3",
        vec![
            input("k", r#"{"C":"c"}"#, 300),
            input("m", r#"{"C":"cm"}"#, 310),
        ],
    );
    feed(engine, "t2", vec![input("m", &b("bm"), 320)]);
    feed(engine, "t1", vec![input("k", &a("a2"), 150)]);
    // A delete of the middle table: the first join pads, the second passes that on.
    feed(engine, "t2", vec![delete("k", 400)]);
    assert_sink(
        engine,
        "JOINED",
        &[
            row("k", &abc(Some("a"), None, None), 100),
            row("k", &abc(Some("a"), Some("b"), None), 200),
            row("k", &abc(Some("a"), Some("b"), Some("c")), 300),
            row("k", &abc(Some("a2"), Some("b"), Some("c")), 300),
            row("k", &abc(Some("a2"), None, Some("c")), 400),
        ],
    );
}

/// The delete a first table-table join emits must reach the second join by its key: with
/// INNER joins, deleting `k` from the middle table deletes `k` from the result; with LEFT
/// joins, deleting `k` from the first table does.
#[test]
fn n_way_table_table_table_join_propagates_deletes_of_the_first_join() {
    let fixture = start(&format!(
        "{THREE_TABLES}
         CREATE TABLE inner_joined AS SELECT t1.id, a, b, c
           FROM t1 JOIN t2 ON t1.id = t2.id JOIN t3 ON t1.id = t3.id;
         CREATE TABLE left_joined AS SELECT t1.id, a, b, c
           FROM t1 LEFT JOIN t2 ON t1.id = t2.id LEFT JOIN t3 ON t1.id = t3.id;"
    ));
    let engine = &fixture.engine;
    feed(engine, "t1", vec![input("k", &a("a"), 100)]);
    feed(engine, "t2", vec![input("k", &b("b"), 200)]);
    feed(engine, "t3", vec![input("k", r#"{"C":"c"}"#, 300)]);
    feed(engine, "t2", vec![delete("k", 400)]);
    feed(engine, "t1", vec![delete("k", 500)]);
    let full = row("k", &abc(Some("a"), Some("b"), Some("c")), 300);
    // INNER: t2's delete deletes t1 JOIN t2 (at 400), and with it the result (max(400, 300)).
    assert_sink(engine, "INNER_JOINED", &[full.clone(), tombstone("k", 400)]);
    // LEFT: t1's delete deletes t1 LEFT JOIN t2 (at 500), and with it the result.
    assert_sink(
        engine,
        "LEFT_JOINED",
        &[
            row("k", &abc(Some("a"), None, None), 100),
            row("k", &abc(Some("a"), Some("b"), None), 200),
            full,
            row("k", &abc(Some("a"), None, Some("c")), 400),
            tombstone("k", 500),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Result schemas
// ---------------------------------------------------------------------------------------

/// `SELECT *` over a join names every column `<ALIAS>_<COLUMN>`: the left join column is
/// the key (`L_ID`) and the right one a value column; a FULL OUTER join is keyed by the
/// synthetic `ROWKEY`, listed first; selecting only the right join column makes it the key.
#[test]
fn join_result_schemas_name_columns_by_alias_and_pick_the_key() {
    let mut fixture = start(&format!(
        "{TWO_STREAMS}
         {TWO_TABLES}
         CREATE STREAM star AS SELECT * FROM lefts l JOIN rights r WITHIN 1 SECOND ON l.id = r.id;
         CREATE STREAM right_key AS SELECT r.id, a, b
           FROM lefts l JOIN rights r WITHIN 1 SECOND ON l.id = r.id;
         CREATE TABLE full_star AS SELECT * FROM lt FULL OUTER JOIN rt ON lt.id = rt.id;"
    ));
    assert_eq!(
        describe_columns(&mut fixture, "STAR"),
        ["L_ID STRING KEY", "L_A STRING", "R_ID STRING", "R_B STRING"]
    );
    assert_eq!(
        describe_columns(&mut fixture, "RIGHT_KEY"),
        ["R_ID STRING KEY", "A STRING", "B STRING"]
    );
    assert_eq!(
        describe_columns(&mut fixture, "FULL_STAR"),
        [
            "ROWKEY STRING KEY",
            "LT_ID STRING",
            "LT_A STRING",
            "RT_ID STRING",
            "RT_B STRING"
        ]
    );
    let engine = Arc::clone(&fixture.engine);
    feed(&engine, "lefts", vec![input("k", &a("a1"), T)]);
    feed(&engine, "rights", vec![input("k", &b("b1"), T + 500)]);
    feed(&engine, "lt", vec![input("k", &a("a1"), T)]);
    assert_sink(
        &engine,
        "STAR",
        &[row("k", r#"{"L_A":"a1","R_ID":"k","R_B":"b1"}"#, T + 500)],
    );
    assert_sink(
        &engine,
        "RIGHT_KEY",
        &[row("k", &ab(Some("a1"), Some("b1")), T + 500)],
    );
    assert_sink(
        &engine,
        "FULL_STAR",
        &[row(
            "k",
            r#"{"LT_ID":"k","LT_A":"a1","RT_ID":null,"RT_B":null}"#,
            T,
        )],
    );
}

// ---------------------------------------------------------------------------------------
// Push queries
// ---------------------------------------------------------------------------------------

/// Reads the rows of a push query (cells as JSON joined by ` | `) until it ends by itself,
/// failing after `WAIT`.
fn push_rows(fixture: &mut Fixture, sql: &str) -> (Vec<String>, Vec<String>) {
    let mut outputs = execute(&fixture.engine, &mut fixture.session, sql);
    let Some(StatementOutput::Rows(mut stream)) = outputs.pop() else {
        panic!("{sql}: a push query returns rows");
    };
    let header = stream
        .columns
        .iter()
        .map(|column| column.name.clone())
        .collect();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rows = Vec::new();
        while let Some(batch) = stream.receiver.blocking_recv() {
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|column| {
                        executor::format::arrow_value_to_json(column.as_ref(), row).to_string()
                    })
                    .collect();
                rows.push(cells.join(" | "));
            }
        }
        let _ = sender.send((rows, stream.final_message));
    });
    let (rows, final_message) = receiver
        .recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("{sql}: the push query did not end within {WAIT:?}"));
    assert_eq!(final_message, Some("Limit Reached"), "{sql}");
    (header, rows)
}

/// A push query over a stream-stream join returns the joined rows, up to its LIMIT.
#[test]
fn push_query_over_a_join_returns_the_joined_rows_up_to_its_limit() {
    let mut fixture = start(&format!(
        "SET 'auto.offset.reset'='earliest';
         {TWO_STREAMS}"
    ));
    let engine = Arc::clone(&fixture.engine);
    let log = engine.topic_log();
    let produce = |topic: &str, records: Vec<Record>| {
        let records = records.into_iter().map(|record| (0, record)).collect();
        log.produce(topic, records).expect("produce");
    };
    produce(
        "lefts",
        vec![
            input("k1", &a("a1"), T),
            input("k2", &a("a2"), T + 2_000),
            input("k3", &a("a3"), T + 3_000),
        ],
    );
    produce(
        "rights",
        vec![
            input("k1", &b("b1"), T + 1_000),
            input("k9", &b("b9"), T + 2_000),
            input("k2", &b("b2"), T + 2_500),
            input("k3", &b("b3"), T + 9_000), // 6s after a3: no match
        ],
    );
    let (header, rows) = push_rows(
        &mut fixture,
        "SELECT l.id AS id, a, b FROM lefts l JOIN rights r WITHIN 5 SECONDS ON l.id = r.id
         EMIT CHANGES LIMIT 2;",
    );
    assert_eq!(header, ["ID", "A", "B"]);
    assert_eq!(rows, [r#""k1" | "a1" | "b1""#, r#""k2" | "a2" | "b2""#]);
}

/// A push query over a stream-stream join on a value column, over two partitions, finds the
/// matches whose records sit in different partitions: its right side goes through a
/// repartition topic of its own (deleted when the query ends), as a persistent query's does.
#[test]
fn push_query_over_a_join_on_a_value_column_matches_across_partitions() {
    let mut fixture = start(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM lefts (id VARCHAR KEY, a VARCHAR)
           WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM rights (rid VARCHAR KEY, lid VARCHAR, b VARCHAR)
           WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);",
    );
    let log = fixture.engine.topic_log();
    let produce = |topic: &str, partition: u32, records: Vec<Record>| {
        let records = records
            .into_iter()
            .map(|record| (partition, record))
            .collect();
        log.produce(topic, records).expect("produce");
    };
    // `a` is in partition 0 and `d` in 1; each right record is in the other one.
    produce("lefts", 0, vec![input("a", &a("aa"), T)]);
    produce("lefts", 1, vec![input("d", &a("ad"), T + 1_000)]);
    produce(
        "rights",
        1,
        vec![input("d", r#"{"LID":"a","B":"b1"}"#, T + 2_000)],
    );
    produce(
        "rights",
        0,
        vec![input("a", r#"{"LID":"d","B":"b2"}"#, T + 3_000)],
    );
    let (header, mut rows) = push_rows(
        &mut fixture,
        "SELECT l.id AS id, a, b FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.id = r.lid
         EMIT CHANGES LIMIT 2;",
    );
    rows.sort();
    assert_eq!(header, ["ID", "A", "B"]);
    assert_eq!(rows, [r#""a" | "aa" | "b1""#, r#""d" | "ad" | "b2""#]);
    wait_until(
        WAIT,
        "the push query's repartition topic to be deleted",
        || {
            Ok(!log
                .list_topics()?
                .iter()
                .any(|topic| topic.name.starts_with("_confluent-ksql-")))
        },
    )
    .expect("the repartition topic is deleted");
}

// ---------------------------------------------------------------------------------------
// Joins on several conditions (beyond ksqlDB, which takes one)
// ---------------------------------------------------------------------------------------

/// `ON s.x = t.a AND s.y = t.b` against a table keyed by `(A, B)`: a stream record meets the
/// row whose whole key equals its two columns; the result is keyed by both join columns.
#[test]
fn stream_table_join_on_two_conditions_matches_the_whole_key() {
    let fixture = start(
        "CREATE TABLE prices (a INT PRIMARY KEY, b INT PRIMARY KEY, v VARCHAR)
           WITH (KAFKA_TOPIC='prices', KEY_FORMAT='JSON', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM orders (x INT, y INT, w VARCHAR)
           WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM priced WITH (KEY_FORMAT='JSON') AS SELECT o.x, o.y, w, v
           FROM orders o LEFT JOIN prices p ON o.x = p.a AND o.y = p.b;",
    );
    let engine = &fixture.engine;
    feed(
        engine,
        "prices",
        vec![
            input(r#"{"A":1,"B":2}"#, r#"{"V":"one-two"}"#, 10),
            input(r#"{"A":1,"B":3}"#, r#"{"V":"one-three"}"#, 11),
            input(r#"{"A":2,"B":2}"#, r#"{"V":"two-two"}"#, 12),
        ],
    );
    let order = |x: i64, y: i64, w: &str| format!(r#"{{"X":{x},"Y":{y},"W":"{w}"}}"#);
    feed(
        engine,
        "orders",
        vec![
            input("o1", &order(1, 2, "a"), 100),
            input("o2", &order(1, 3, "b"), 101),
            // Each column matches some row, but no row matches both.
            input("o3", &order(2, 3, "c"), 102),
            input("o4", &order(2, 2, "d"), 103),
        ],
    );
    assert_sink(
        engine,
        "PRICED",
        &[
            row(r#"{"X":1,"Y":2}"#, r#"{"W":"a","V":"one-two"}"#, 100),
            row(r#"{"X":1,"Y":3}"#, r#"{"W":"b","V":"one-three"}"#, 101),
            row(r#"{"X":2,"Y":3}"#, r#"{"W":"c","V":null}"#, 102),
            row(r#"{"X":2,"Y":2}"#, r#"{"W":"d","V":"two-two"}"#, 103),
        ],
    );
}

/// `ON l.id = r.id AND l.region = r.region WITHIN 10 SECONDS`: a pair of records joins only
/// when both columns are equal and their times are within the window.
#[test]
fn stream_stream_join_on_two_conditions_needs_both_equal() {
    let fixture = start(
        "CREATE STREAM ls (id VARCHAR KEY, region VARCHAR, a VARCHAR)
           WITH (KAFKA_TOPIC='ls', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM rs (id VARCHAR KEY, region VARCHAR, b VARCHAR)
           WITH (KAFKA_TOPIC='rs', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM both_equal WITH (KEY_FORMAT='JSON') AS
           SELECT l.id, l.region, a, b
           FROM ls l JOIN rs r WITHIN 10 SECONDS ON l.id = r.id AND l.region = r.region;",
    );
    let engine = &fixture.engine;
    let left = |region: &str, a: &str| format!(r#"{{"REGION":"{region}","A":"{a}"}}"#);
    let right = |region: &str, b: &str| format!(r#"{{"REGION":"{region}","B":"{b}"}}"#);
    feed(
        engine,
        "ls",
        vec![
            input("k1", &left("eu", "a1"), 1_000),
            input("k1", &left("us", "a2"), 2_000),
            input("k2", &left("eu", "a3"), 3_000),
        ],
    );
    feed(
        engine,
        "rs",
        vec![
            // Same id and region as a1, within 10 s: joins a1 only.
            input("k1", &right("eu", "b1"), 5_000),
            // Same region as a3 but another id: no match.
            input("k9", &right("eu", "b2"), 5_500),
            // Same id and region as a2, but 10.5 s later: outside the window.
            input("k1", &right("us", "b3"), 12_500),
        ],
    );
    assert_sink(
        engine,
        "BOTH_EQUAL",
        &[row(
            r#"{"L_ID":"k1","L_REGION":"eu"}"#,
            r#"{"A":"a1","B":"b1"}"#,
            5_000,
        )],
    );
}

/// A table-table join on a two-column key: a delete on either side retracts the row of
/// that whole key and no other.
#[test]
fn table_table_join_on_two_conditions_retracts_by_the_whole_key() {
    let fixture = start(
        "CREATE TABLE lt (a INT PRIMARY KEY, b INT PRIMARY KEY, x VARCHAR)
           WITH (KAFKA_TOPIC='lt', KEY_FORMAT='JSON', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE rt (a INT PRIMARY KEY, b INT PRIMARY KEY, y VARCHAR)
           WITH (KAFKA_TOPIC='rt', KEY_FORMAT='JSON', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE joined AS SELECT l.a, l.b, x, y
           FROM lt l JOIN rt r ON l.a = r.a AND l.b = r.b;",
    );
    let engine = &fixture.engine;
    let key = |a: i64, b: i64| format!(r#"{{"A":{a},"B":{b}}}"#);
    feed(
        engine,
        "lt",
        vec![
            input(&key(1, 1), r#"{"X":"x11"}"#, 10),
            input(&key(1, 2), r#"{"X":"x12"}"#, 20),
        ],
    );
    feed(
        engine,
        "rt",
        vec![
            input(&key(1, 1), r#"{"Y":"y11"}"#, 30),
            input(&key(1, 2), r#"{"Y":"y12"}"#, 5),
            input(&key(2, 1), r#"{"Y":"y21"}"#, 40),
        ],
    );
    feed(engine, "rt", vec![delete(&key(1, 1), 50)]);
    let out = |a: i64, b: i64| format!(r#"{{"L_A":{a},"L_B":{b}}}"#);
    assert_sink(
        engine,
        "JOINED",
        &[
            row(&out(1, 1), r#"{"X":"x11","Y":"y11"}"#, 30),
            row(&out(1, 2), r#"{"X":"x12","Y":"y12"}"#, 20),
            tombstone(&out(1, 1), 50),
        ],
    );
}

/// Nexmark's Q3 in miniature: keyless `persons` and `auctions` over two partitions each, a
/// table of the persons by id (a repartitioned aggregation) built first, then the auctions
/// joined by seller (repartitioned too). Every auction's seller is in the table before the
/// join starts, so each auction finds it, whichever partition either landed in.
#[test]
fn stream_table_join_of_repartitioned_sides_finds_every_row_of_a_loaded_table() {
    let fixture = start(
        "CREATE STREAM persons (id BIGINT, name STRING, dateTime BIGINT)
           WITH (kafka_topic='persons', value_format='JSON', partitions=2, timestamp='dateTime');
         CREATE STREAM auctions (id BIGINT, seller BIGINT, dateTime BIGINT)
           WITH (kafka_topic='auctions', value_format='JSON', partitions=2, timestamp='dateTime');
         CREATE TABLE person_t AS SELECT id, LATEST_BY_OFFSET(name) AS name FROM persons GROUP BY id;",
    );
    let engine = &fixture.engine;
    let persons = 500_i64;
    let auctions = 3_000_i64;
    let keyless = |value: String, timestamp: i64| Record {
        key: None,
        value: Some(value.into_bytes()),
        timestamp,
        headers: Vec::new(),
    };
    // Person p is created at T + 10p; auction a at T + 10a/6 + 5000, by one of the persons
    // created before it (as Nexmark's generator picks sellers).
    let records: Vec<(u32, Record)> = (0..persons)
        .map(|p| {
            let time = T + 10 * p;
            let value = format!(r#"{{"id":{p},"name":"p{p}","dateTime":{time}}}"#);
            ((p % 2) as u32, keyless(value, time))
        })
        .collect();
    engine
        .topic_log()
        .produce("persons", records)
        .expect("produce");
    wait_caught_up(engine);
    let records: Vec<(u32, Record)> = (0..auctions)
        .map(|a| {
            let time = T + 10 * a / 6 + 5_000;
            let seller = (a * 7919) % persons.min((time - T) / 10 + 1);
            let value = format!(r#"{{"id":{a},"seller":{seller},"dateTime":{time}}}"#);
            ((a % 2) as u32, keyless(value, time))
        })
        .collect();
    engine
        .topic_log()
        .produce("auctions", records)
        .expect("produce");
    let mut session = Session::default();
    execute(
        engine,
        &mut session,
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM q3 WITH (partitions=1) AS SELECT A.seller, P.name, A.id AS id FROM auctions A
           JOIN person_t P ON A.seller = P.id;",
    );
    wait_caught_up(engine);
    let log = engine.topic_log();
    let (start, end) = log.offsets("Q3").expect("sink")[0];
    let mut values = Vec::new();
    let mut offset = start;
    while offset < end {
        let records = log.read("Q3", 0, offset, 10_000).expect("read sink");
        offset = records.last().map_or(end, |last| last.offset + 1);
        values.extend(records.into_iter().map(|consumed| {
            String::from_utf8(consumed.record.value.unwrap_or_default()).expect("utf-8")
        }));
    }
    let unmatched: Vec<i64> = (0..auctions)
        .filter(|a| !values.iter().any(|v| v.contains(&format!("\"ID\":{a}}}"))))
        .collect();
    assert_eq!(
        values.len() as i64,
        auctions,
        "every auction finds its seller; {} unmatched, the first: {:?}; a row: {:?}",
        unmatched.len(),
        &unmatched[..unmatched.len().min(10)],
        values.first()
    );
}
