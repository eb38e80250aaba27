//! Event time from a formatted STRING column (`TIMESTAMP` with `TIMESTAMP_FORMAT`): windows
//! follow the parsed time, and a record whose timestamp does not parse is skipped and counted.
//!
//! Expected records are worked out by hand: 2024-03-01T00:00:00Z is 19,783 days after the
//! epoch (54 years with 13 leap days, then 31 + 29 days), 1,709,251,200,000 ms; 10:00:00Z adds
//! 36,000,000 ms.

use std::time::Duration;

use executor::{QueryState, Record};
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::{execute, wait_until};

/// 2024-03-01T10:00:00Z in epoch milliseconds.
const TEN: i64 = 1_709_287_200_000;
const MINUTE: i64 = 60_000;

fn record(key: &str, ts: &str) -> (u32, Record) {
    (
        0,
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(format!(r#"{{"TS":"{ts}"}}"#).into_bytes()),
            // The record time is never the event time here.
            timestamp: 5,
            headers: Vec::new(),
        },
    )
}

/// A sink record of the tumbling-windowed table: key, window start, value, timestamp.
fn decode(record: &Record) -> (String, i64, String, i64) {
    let key = record.key.as_deref().expect("windowed key");
    let split = key.len() - 8;
    let start = i64::from_be_bytes(key[split..].try_into().expect("8 bytes"));
    (
        String::from_utf8(key[..split].to_vec()).expect("utf-8 key"),
        start,
        String::from_utf8(record.value.clone().expect("no tombstone")).expect("utf-8 value"),
        record.timestamp,
    )
}

#[test]
fn windows_follow_a_formatted_string_timestamp_and_unparseable_records_are_skipped() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "SET 'cache.max.bytes.buffering'='0';
         CREATE STREAM visits (k VARCHAR KEY, ts VARCHAR)
           WITH (KAFKA_TOPIC='visits', VALUE_FORMAT='JSON', PARTITIONS=1,
                 TIMESTAMP='ts', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss[XXX]');
         CREATE TABLE per_minute AS SELECT k, COUNT(*) AS n FROM visits
           WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY k;",
    );
    let log = engine.topic_log();
    log.produce(
        "visits",
        vec![
            record("a", "2024-03-01 10:00:05"),
            record("a", "2024-03-01 10:00:59"),
            record("a", "yesterday at noon"),
            record("a", "2024-03-01 10:01:00"),
            record("b", "2024-03-01 09:59:59"),
            // 12:00:30 at +02:00 is 10:00:30Z: the first window of `a` again.
            record("a", "2024-03-01 12:00:30+02:00"),
        ],
    )
    .expect("produce");
    let end = || -> anyhow::Result<u64> {
        Ok(log
            .offsets("PER_MINUTE")?
            .iter()
            .map(|(_, end)| end)
            .sum::<u64>())
    };
    wait_until(
        Duration::from_secs(60),
        "five records in PER_MINUTE",
        || Ok(end()? >= 5),
    )
    .expect("the good records are aggregated");
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            panic!("query {id} failed: {message}");
        }
    }
    let records = log.read("PER_MINUTE", 0, 0, 100).expect("read the sink");
    let actual: Vec<_> = records.iter().map(|r| decode(&r.record)).collect();
    // A window's output carries the largest event time it has seen (Kafka Streams).
    let expected = vec![
        ("a".to_string(), TEN, r#"{"N":1}"#.to_string(), TEN + 5_000),
        ("a".to_string(), TEN, r#"{"N":2}"#.to_string(), TEN + 59_000),
        (
            "a".to_string(),
            TEN + MINUTE,
            r#"{"N":1}"#.to_string(),
            TEN + MINUTE,
        ),
        (
            "b".to_string(),
            TEN - MINUTE,
            r#"{"N":1}"#.to_string(),
            TEN - 1_000,
        ),
        ("a".to_string(), TEN, r#"{"N":3}"#.to_string(), TEN + 59_000),
    ];
    assert_eq!(actual, expected);

    let mut description = String::new();
    engine
        .execute_script("DESCRIBE visits EXTENDED;", &mut session, |_, output| {
            if let StatementOutput::Completed(StatementResult::SourceDescription(source)) = output {
                description.push_str(&source.statistics);
                description.push_str(source.last_failure.as_deref().unwrap_or_default());
            }
        })
        .expect("describe");
    assert!(
        description.contains("consumer-failed-messages: 1"),
        "{description}"
    );
    assert!(
        description.contains("offset 2") && description.contains("yesterday at noon"),
        "the failure names the record and its value:\n{description}"
    );
}

#[test]
fn a_sink_timestamp_format_sets_the_output_timestamps_and_leaves_out_bad_ones() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM events (k VARCHAR KEY, ts VARCHAR)
           WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM stamped WITH (TIMESTAMP='ts', TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ssX')
           AS SELECT k, ts FROM events;",
    );
    let log = engine.topic_log();
    log.produce(
        "events",
        vec![
            record("a", "2024-03-01T10:00:05Z"),
            record("b", "not a timestamp"),
            // 11:00:00 at +01 is 10:00:00Z.
            record("c", "2024-03-01T11:00:00+01"),
        ],
    )
    .expect("produce");
    wait_until(Duration::from_secs(60), "the query to catch up", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("the query catches up");
    let stamped: Vec<(Option<Vec<u8>>, i64)> = log
        .read("STAMPED", 0, 0, 10)
        .expect("read the sink")
        .iter()
        .map(|consumed| (consumed.record.key.clone(), consumed.record.timestamp))
        .collect();
    assert_eq!(
        stamped,
        vec![
            (Some(b"a".to_vec()), TEN + 5_000),
            (Some(b"c".to_vec()), TEN)
        ]
    );
}
