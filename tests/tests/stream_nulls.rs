//! A stream record with a null value: a persistent query passes it on as a null value (its
//! key recomputed), a WHERE clause drops it, and an aggregation skips it, as ksqlDB does.

use executor::Record;
use server::{Engine, Session};
use tests::{execute, records_of};

fn record(key: &str, value: Option<&str>, timestamp: i64) -> (u32, Record) {
    (
        0,
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: value.map(|value| value.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        },
    )
}

#[test]
fn stream_null_values_pass_through_projection_and_are_dropped_by_where() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (k VARCHAR KEY, a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM copied AS SELECT k, a FROM s;
         CREATE STREAM filtered AS SELECT k, a FROM s WHERE a IS NULL OR a > 0;
         CREATE STREAM rekeyed AS SELECT k, a FROM s PARTITION BY a;
         CREATE TABLE counts AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;",
    );
    let log = engine.topic_log();
    log.produce(
        "s",
        vec![
            record("x", Some(r#"{"A":1}"#), 1),
            record("y", None, 2),
            record("x", Some(r#"{"A":2}"#), 3),
        ],
    )
    .expect("produce");
    assert_eq!(
        records_of(log.as_ref(), "COPIED", 3),
        [
            ("x".to_string(), r#"{"A":1}"#.to_string()),
            ("y".to_string(), "<null>".to_string()),
            ("x".to_string(), r#"{"A":2}"#.to_string()),
        ]
    );
    // `a IS NULL` would hold for the null value's columns: WHERE drops it all the same.
    assert_eq!(
        records_of(log.as_ref(), "FILTERED", 2),
        [
            ("x".to_string(), r#"{"A":1}"#.to_string()),
            ("x".to_string(), r#"{"A":2}"#.to_string()),
        ]
    );
    // PARTITION BY a value column gives the null value a null key.
    assert_eq!(
        records_of(log.as_ref(), "REKEYED", 3)[1],
        ("<null>".to_string(), "<null>".to_string())
    );
    // The aggregation counts only the two records of `x` (with the record cache, the batch's
    // last update per key is emitted).
    let counts = records_of(log.as_ref(), "COUNTS", 1);
    assert_eq!(
        counts.last(),
        Some(&("x".to_string(), r#"{"N":2}"#.to_string()))
    );
}

#[test]
fn a_sink_timestamp_column_sets_record_times_and_null_values_still_pass_through() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (k VARCHAR KEY, a INT, t BIGINT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM timed WITH (TIMESTAMP='T') AS SELECT k, a, t FROM s;",
    );
    let log = engine.topic_log();
    log.produce(
        "s",
        vec![
            record("x", Some(r#"{"A":1,"T":1000}"#), 1),
            record("y", None, 2),
            record("z", Some(r#"{"A":3,"T":3000}"#), 3),
        ],
    )
    .expect("produce");
    assert_eq!(
        records_of(log.as_ref(), "TIMED", 3),
        [
            ("x".to_string(), r#"{"A":1,"T":1000}"#.to_string()),
            ("y".to_string(), "<null>".to_string()),
            ("z".to_string(), r#"{"A":3,"T":3000}"#.to_string()),
        ]
    );
    let times: Vec<i64> = log
        .read("TIMED", 0, 0, 10)
        .expect("read")
        .iter()
        .filter(|consumed| consumed.record.value.is_some())
        .map(|consumed| consumed.record.timestamp)
        .collect();
    assert_eq!(times, [1000, 3000], "record times come from column T");
    let tombstone = log
        .read("TIMED", 0, 1, 1)
        .expect("read")
        .pop()
        .expect("the null value's record");
    assert_eq!(
        (tombstone.record.value, tombstone.record.timestamp),
        (None, 2),
        "a null value has no T: it keeps its record time"
    );
}
