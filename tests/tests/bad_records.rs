//! A malformed record is skipped, counted and reported with its position; the query keeps
//! running.

use std::time::Duration;

use executor::Record;
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::wait_until;

fn record(key: &str, value: &str) -> (u32, Record) {
    (
        0,
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            timestamp: 1,
            headers: Vec::new(),
        },
    )
}

fn text_of(engine: &Engine, sql: &str) -> String {
    let mut session = Session::default();
    let mut text = String::new();
    engine
        .execute_script(sql, &mut session, |_, output| {
            // A description's statistics and last failure; other results are not needed.
            if let StatementOutput::Completed(StatementResult::SourceDescription(description)) =
                output
            {
                text.push_str(&description.statistics);
                text.push('\n');
                text.push_str(description.last_failure.as_deref().unwrap_or_default());
            }
        })
        .unwrap_or_else(|error| panic!("{sql}: {}", executor::error_chain(&error)));
    text
}

#[test]
fn malformed_json_record_is_skipped_counted_and_the_query_keeps_running() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    text_of(
        &engine,
        "CREATE STREAM s (k VARCHAR KEY, a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM t AS SELECT k, a FROM s;",
    );
    let log = engine.topic_log();
    log.produce(
        "s",
        vec![
            record("x", r#"{"A":1}"#),
            record("y", "{not json"),
            record("z", r#"{"a":2}"#),
        ],
    )
    .expect("produce");
    wait_until(Duration::from_secs(60), "two records in T", || {
        Ok(log.offsets("T")?.iter().map(|(_, end)| end).sum::<u64>() == 2)
    })
    .expect("good records pass");
    // The query is still running: a later good record arrives too.
    log.produce("s", vec![record("w", r#"{"A":3}"#)])
        .expect("produce");
    wait_until(Duration::from_secs(60), "three records in T", || {
        Ok(log.offsets("T")?.iter().map(|(_, end)| end).sum::<u64>() == 3)
    })
    .expect("query keeps running");
    let description = text_of(&engine, "DESCRIBE s EXTENDED;");
    assert!(
        description.contains("consumer-failed-messages: 1"),
        "{description}"
    );
    assert!(
        description.contains("topic \"s\" partition 0 offset 1"),
        "the failure names its position:\n{description}"
    );
}
