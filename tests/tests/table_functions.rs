//! Table functions (EXPLODE, CUBE_EXPLODE) in persistent and push queries: one output record
//! per value, several functions zipped (shorter ones padded with null), the input's key and
//! record time kept, and ksqlDB's errors where table functions are not allowed.

use std::time::Duration;

use executor::{Record, TopicLog};
use server::{Engine, Session};
use tests::{execute, pull_rows, wait_until};

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

/// Key, value and record time of every record of `topic`, once it holds `count` records.
fn records_of(log: &dyn TopicLog, topic: &str, count: u64) -> Vec<(String, String, i64)> {
    wait_until(Duration::from_secs(60), topic, || {
        Ok(log.offsets(topic)?.iter().map(|(_, end)| end).sum::<u64>() >= count)
    })
    .expect("the query writes its records");
    let text = |bytes: &Option<Vec<u8>>| match bytes {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => "<null>".to_string(),
    };
    log.read(topic, 0, 0, 100)
        .expect("read")
        .into_iter()
        .map(|consumed| {
            (
                text(&consumed.record.key),
                text(&consumed.record.value),
                consumed.record.timestamp,
            )
        })
        .collect()
}

fn open() -> (tempfile::TempDir, std::sync::Arc<Engine>, Session) {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (k VARCHAR KEY, a ARRAY<INT>, b ARRAY<VARCHAR>, n INT)
           WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);",
    );
    (directory, engine, session)
}

#[test]
fn explode_and_cube_explode_zip_rows_keeping_key_and_time() {
    let (_directory, engine, mut session) = open();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM zipped AS SELECT k, n, EXPLODE(a) AS x, EXPLODE(b) FROM s WHERE n > 0;
         CREATE STREAM cubes AS SELECT k, CUBE_EXPLODE(ARRAY[n, n * 10]) AS c FROM s;",
    );
    let log = engine.topic_log();
    log.produce(
        "s",
        vec![
            record("p", Some(r#"{"A":[1,2,3],"B":["u"],"N":1}"#), 10),
            // WHERE drops it before the table functions run.
            record("q", Some(r#"{"A":[4],"B":["v"],"N":0}"#), 20),
            // Null and empty arrays give no rows; a null value gives none (not even for
            // CUBE_EXPLODE, whose array of nulls would give one).
            record("r", Some(r#"{"A":null,"B":[],"N":null}"#), 30),
            record("t", None, 40),
            record("w", Some(r#"{"A":[],"B":["y","z"],"N":3}"#), 50),
        ],
    )
    .expect("produce");
    let owned = |rows: &[(&str, &str, i64)]| -> Vec<(String, String, i64)> {
        rows.iter()
            .map(|(key, value, time)| (key.to_string(), value.to_string(), *time))
            .collect()
    };
    assert_eq!(
        records_of(log.as_ref(), "ZIPPED", 5),
        owned(&[
            ("p", r#"{"N":1,"X":1,"KSQL_COL_0":"u"}"#, 10),
            ("p", r#"{"N":1,"X":2,"KSQL_COL_0":null}"#, 10),
            ("p", r#"{"N":1,"X":3,"KSQL_COL_0":null}"#, 10),
            ("w", r#"{"N":3,"X":null,"KSQL_COL_0":"y"}"#, 50),
            ("w", r#"{"N":3,"X":null,"KSQL_COL_0":"z"}"#, 50),
        ])
    );
    // A null element (`r`'s N) is only ever null: the combinations keeping it are left out.
    assert_eq!(
        records_of(log.as_ref(), "CUBES", 13),
        owned(&[
            ("p", r#"{"C":[null,null]}"#, 10),
            ("p", r#"{"C":[null,10]}"#, 10),
            ("p", r#"{"C":[1,null]}"#, 10),
            ("p", r#"{"C":[1,10]}"#, 10),
            ("q", r#"{"C":[null,null]}"#, 20),
            ("q", r#"{"C":[null,0]}"#, 20),
            ("q", r#"{"C":[0,null]}"#, 20),
            ("q", r#"{"C":[0,0]}"#, 20),
            ("r", r#"{"C":[null,null]}"#, 30),
            ("w", r#"{"C":[null,null]}"#, 50),
            ("w", r#"{"C":[null,30]}"#, 50),
            ("w", r#"{"C":[3,null]}"#, 50),
            ("w", r#"{"C":[3,30]}"#, 50),
        ])
    );
}

#[test]
fn a_push_query_explodes_arrays() {
    let (_directory, engine, mut session) = open();
    execute(&engine, &mut session, "SET 'auto.offset.reset'='earliest';");
    engine
        .topic_log()
        .produce(
            "s",
            vec![
                record("p", Some(r#"{"A":[1,2],"B":null,"N":1}"#), 10),
                record("q", Some(r#"{"A":[3],"B":null,"N":2}"#), 20),
            ],
        )
        .expect("produce");
    let (header, rows) = pull_rows(
        &engine,
        &mut session,
        "SELECT k, EXPLODE(a) + n FROM s EMIT CHANGES LIMIT 3;",
    );
    assert_eq!(header, ["K", "KSQL_COL_0"]);
    assert_eq!(rows, [r#""p" | 2"#, r#""p" | 3"#, r#""q" | 5"#]);
}

#[test]
fn table_functions_are_rejected_where_ksqldb_rejects_them() {
    let (_directory, engine, mut session) = open();
    execute(
        &engine,
        &mut session,
        "CREATE TABLE t (k VARCHAR PRIMARY KEY, a ARRAY<INT>)
           WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);",
    );
    let cases = [
        (
            "CREATE STREAM o1 AS SELECT k, EXPLODE(n) FROM s;",
            "Function 'explode' does not accept parameters (INTEGER).\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)",
        ),
        (
            "CREATE TABLE o2 AS SELECT k, EXPLODE(a), COUNT(*) FROM s GROUP BY k;",
            "Table functions cannot be used with aggregations.",
        ),
        (
            "CREATE STREAM o3 AS SELECT k, EXPLODE(EXPLODE(ARRAY[a])) FROM s;",
            "Table functions cannot be nested: EXPLODE(EXPLODE())",
        ),
        (
            "CREATE STREAM o4 AS SELECT k, CASE WHEN n > 0 THEN EXPLODE(a) END AS x FROM s;",
            "Table functions cannot be used in CASE: ",
        ),
        (
            "CREATE TABLE o5 AS SELECT k, EXPLODE(a) AS x FROM t;",
            "Table source is not supported with table functions",
        ),
    ];
    for (sql, expected) in cases {
        let error = engine
            .execute_script(sql, &mut session, |_, _| {})
            .expect_err(sql);
        let message = executor::error_chain(&error);
        assert!(message.contains(expected), "{sql}: {message}");
    }
}
