//! Golden end-to-end tests of lambdas (TRANSFORM, FILTER, REDUCE) in a persistent query, a
//! push query and a pull query, with outer columns, nested lambdas and map arguments.
//!
//! Expected values are worked out by hand from the orders produced below.

use std::time::Duration;

use executor::{Record, TopicLog};
use serde_json::{Value, json};
use server::{Engine, Session, StatementOutput};
use tests::{execute, pull_rows, wait_until};

const WAIT: Duration = Duration::from_secs(60);

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

/// The values of the records of `topic` as JSON, once it holds `count` records.
fn values_of(log: &dyn TopicLog, topic: &str, count: u64) -> Vec<Value> {
    wait_until(WAIT, topic, || {
        Ok(log.offsets(topic)?.iter().map(|(_, end)| end).sum::<u64>() >= count)
    })
    .expect("the query writes its records");
    log.read(topic, 0, 0, 100)
        .expect("read")
        .into_iter()
        .map(|consumed| {
            serde_json::from_slice(&consumed.record.value.expect("a value")).expect("JSON")
        })
        .collect()
}

/// Three orders: quantities, prices per item and a discount.
fn engine_with_orders() -> (tempfile::TempDir, std::sync::Arc<Engine>, Session) {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    session
        .properties
        .insert("auto.offset.reset".into(), "earliest".into());
    execute(
        &engine,
        &mut session,
        "CREATE STREAM orders (id VARCHAR KEY, qty ARRAY<INT>, prices MAP<STRING, DOUBLE>, discount INT)
           WITH (kafka_topic='orders', value_format='JSON', partitions=1);",
    );
    engine
        .topic_log()
        .produce(
            "orders",
            vec![
                record(
                    "a",
                    r#"{"QTY": [1, 2, 3], "PRICES": {"pen": 1.5, "book": 12.0}, "DISCOUNT": 1}"#,
                ),
                record(
                    "b",
                    r#"{"QTY": [5, null], "PRICES": {"ink": 3.0}, "DISCOUNT": 2}"#,
                ),
                record("a", r#"{"QTY": [], "PRICES": null, "DISCOUNT": 4}"#),
            ],
        )
        .expect("produce");
    (directory, engine, session)
}

#[test]
fn lambdas_in_a_persistent_query() {
    let (_directory, engine, mut session) = engine_with_orders();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM totals AS SELECT id,
           TRANSFORM(qty, q => q * discount) AS scaled,
           FILTER(prices, (item, price) => price > 2.0) AS dear,
           TRANSFORM(prices, (item, price) => UCASE(item), (item, price) => price - discount) AS net,
           REDUCE(qty, 0, (s, q) => s + q) AS total,
           TRANSFORM(qty, q => REDUCE(qty, 0, (s, r) => s + q * r)) AS nested
         FROM orders;",
    );
    // Order b: `5 * 2` and `null * 2`: arithmetic on a null element fails the whole TRANSFORM
    // (and REDUCE), as in ksqlDB; the nested REDUCE fails on the null element for every q.
    assert_eq!(
        values_of(engine.topic_log().as_ref(), "TOTALS", 3),
        [
            json!({"SCALED": [1, 2, 3], "DEAR": {"book": 12.0}, "NET": {"PEN": 0.5, "BOOK": 11.0},
                   "TOTAL": 6, "NESTED": [6, 12, 18]}),
            json!({"SCALED": null, "DEAR": {"ink": 3.0}, "NET": {"INK": 1.0},
                   "TOTAL": null, "NESTED": null}),
            json!({"SCALED": [], "DEAR": null, "NET": null, "TOTAL": 0, "NESTED": []}),
        ]
    );
}

#[test]
fn lambdas_in_push_and_pull_queries() {
    let (_directory, engine, mut session) = engine_with_orders();
    let mut outputs = execute(
        &engine,
        &mut session,
        "SELECT id, FILTER(qty, q => q > discount) AS above FROM orders EMIT CHANGES LIMIT 3;",
    );
    let Some(StatementOutput::Rows(mut stream)) = outputs.pop() else {
        panic!("a push query returns rows");
    };
    let rows = tests::stream_rows(&mut stream);
    // FILTER drops null elements (their comparison is not true).
    assert_eq!(rows, [r#""a" | [2,3]"#, r#""b" | [5]"#, r#""a" | []"#]);

    execute(
        &engine,
        &mut session,
        "CREATE TABLE discounts AS SELECT id, COLLECT_LIST(discount) AS ds FROM orders GROUP BY id;",
    );
    wait_until(WAIT, "the persistent queries", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("queries catch up");
    // a: [1, 4] sums to 5; b: [2] sums to 2.
    let (header, rows) = pull_rows(
        &engine,
        &mut session,
        "SELECT id, TRANSFORM(ds, d => d * 10) AS tens FROM discounts
           WHERE REDUCE(ds, 0, (s, d) => s + d) > 3;",
    );
    assert_eq!(header, ["ID", "TENS"]);
    assert_eq!(rows, [r#""a" | [10,40]"#]);
}
