//! Keys over null keys and null values, as ksqlDB writes them: PARTITION BY keys come in
//! PARTITION BY order and, over a record with a null value, only source key columns keep
//! their value; a query that passes its source's keys on writes a null key as null; a table
//! leaves out records with a null key. Expected records are worked out by hand.

use std::time::Duration;

use executor::{QueryState, Record};
use server::{Engine, Session};
use tests::{execute, wait_until};

/// A sink record's key and value as text (None: null).
type KeyValue = (Option<String>, Option<String>);

fn record(key: Option<&str>, value: Option<&str>) -> (u32, Record) {
    (
        0,
        Record {
            key: key.map(|key| key.as_bytes().to_vec()),
            value: value.map(|value| value.as_bytes().to_vec()),
            timestamp: 7,
            headers: Vec::new(),
        },
    )
}

/// Starts `script` on a fresh engine, feeds `records` to `input` and returns the records of
/// the sink `output` as (key, value) text once it holds `count`.
fn run(
    script: &str,
    input: &str,
    records: Vec<(u32, Record)>,
    output: &str,
    count: u64,
) -> (Vec<KeyValue>, String) {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(&engine, &mut session, script);
    let log = engine.topic_log();
    log.produce(input, records).expect("produce");
    wait_until(Duration::from_secs(60), "the sink records", || {
        Ok(log.offsets(output)?.iter().map(|(_, end)| end).sum::<u64>() >= count)
    })
    .expect("the query writes its records");
    wait_until(Duration::from_secs(60), "the query to catch up", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("the query catches up");
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            panic!("query {id} failed: {message}");
        }
    }
    let text = |bytes: &Option<Vec<u8>>| {
        bytes
            .as_ref()
            .map(|bytes| String::from_utf8(bytes.clone()).expect("utf-8"))
    };
    let records = log
        .read(output, 0, 0, 100)
        .expect("read the sink")
        .iter()
        .map(|consumed| (text(&consumed.record.key), text(&consumed.record.value)))
        .collect();
    let schema = engine
        .catalog()
        .source(output)
        .expect("the sink exists")
        .schema_text();
    (records, schema)
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

#[test]
fn partition_by_keys_follow_partition_by_order_and_a_null_value_keeps_only_source_keys() {
    let (records, schema) = run(
        "CREATE STREAM input (name STRING KEY, id INT, age INT)
           WITH (KAFKA_TOPIC='input', FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM output AS SELECT id, age, name FROM input
           PARTITION BY name, id, ROWTIME;",
        "input",
        vec![
            record(Some(r#""bob""#), Some(r#"{"ID":10,"AGE":30}"#)),
            record(Some(r#""bob""#), None),
        ],
        "OUTPUT",
        2,
    );
    assert_eq!(
        schema,
        "NAME STRING KEY, ID INTEGER KEY, ROWTIME BIGINT KEY, AGE INTEGER"
    );
    assert_eq!(
        records,
        vec![
            (
                some(r#"{"NAME":"bob","ID":10,"ROWTIME":7}"#),
                some(r#"{"AGE":30}"#)
            ),
            // The value is null: NAME is a source key and keeps its value; ID and even
            // ROWTIME are computed from the missing row, so they are null.
            (some(r#"{"NAME":"bob","ID":null,"ROWTIME":null}"#), None),
        ]
    );
}

#[test]
fn a_null_key_passes_through_a_stream_query_and_a_table_drops_it() {
    let (records, _) = run(
        "CREATE STREAM input (k INT KEY, k2 INT KEY, v INT)
           WITH (KAFKA_TOPIC='input', FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM output AS SELECT * FROM input;",
        "input",
        vec![
            record(Some(r#"{"K":1,"K2":2}"#), Some(r#"{"V":0}"#)),
            record(Some(r#"{"K":null,"K2":2}"#), Some(r#"{"V":1}"#)),
            record(None, Some(r#"{"V":2}"#)),
        ],
        "OUTPUT",
        3,
    );
    assert_eq!(
        records,
        vec![
            (some(r#"{"K":1,"K2":2}"#), some(r#"{"V":0}"#)),
            (some(r#"{"K":null,"K2":2}"#), some(r#"{"V":1}"#)),
            (None, some(r#"{"V":2}"#)),
        ]
    );

    let (records, _) = run(
        "CREATE TABLE input (k STRING PRIMARY KEY, v INT)
           WITH (KAFKA_TOPIC='input', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE output AS SELECT * FROM input;",
        "input",
        vec![
            record(Some("a"), Some(r#"{"V":1}"#)),
            record(None, Some(r#"{"V":2}"#)),
            record(Some("a"), Some(r#"{"V":3}"#)),
        ],
        "OUTPUT",
        2,
    );
    assert_eq!(
        records,
        vec![
            (some("a"), some(r#"{"V":1}"#)),
            (some("a"), some(r#"{"V":3}"#)),
        ]
    );
}
