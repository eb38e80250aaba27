//! User-defined functions (the `my-functions` example crate's MULTIPLY, SUM_SQUARES and
//! SPLIT_WORDS, registered as its `my-eddy` does) in persistent, push and pull queries, in
//! SHOW FUNCTIONS and DESCRIBE FUNCTION, and ksqlDB's error for arguments no overload takes.

use std::sync::Once;
use std::time::Duration;

use executor::Record;
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::{execute, pull_rows, records_of, wait_until};

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| my_functions::register().expect("the example functions register"));
}

fn record(key: &str, value: &str, timestamp: i64) -> (u32, Record) {
    (
        0,
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        },
    )
}

#[test]
fn scalar_aggregate_and_table_functions_run_in_persistent_and_pull_queries() {
    register();
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (k VARCHAR KEY, n INT, text VARCHAR)
           WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM words AS SELECT k, MULTIPLY(n, 3) AS m, SPLIT_WORDS(text) AS word FROM s;
         CREATE TABLE squares AS SELECT k, SUM_SQUARES(n) AS sq, COUNT(*) AS c FROM s GROUP BY k;",
    );
    let log = engine.topic_log();
    log.produce(
        "s",
        vec![
            record("p", r#"{"N":2,"TEXT":"a b"}"#, 10),
            record("p", r#"{"N":3,"TEXT":"c"}"#, 20),
            // No words: no rows out of SPLIT_WORDS; the aggregate still counts it.
            record("q", r#"{"N":-1,"TEXT":null}"#, 30),
        ],
    )
    .expect("produce");
    // MULTIPLY(INT, INT) is the BIGINT overload: 2 * 3, 3 * 3.
    assert_eq!(
        records_of(log.as_ref(), "WORDS", 3),
        [
            ("p".to_string(), r#"{"M":6,"WORD":"a"}"#.to_string()),
            ("p".to_string(), r#"{"M":6,"WORD":"b"}"#.to_string()),
            ("p".to_string(), r#"{"M":9,"WORD":"c"}"#.to_string()),
        ]
    );
    // p: 2² + 3² = 13; q: (-1)² = 1.
    wait_until(Duration::from_secs(60), "SQUARES", || {
        Ok(pull_rows(&engine, &mut session, "SELECT * FROM squares;")
            .1
            .len()
            == 2)
    })
    .expect("the table holds both keys");
    let (header, rows) = pull_rows(
        &engine,
        &mut session,
        "SELECT k, sq, MULTIPLY(sq, sq) AS squared FROM squares;",
    );
    assert_eq!(header, ["K", "SQ", "SQUARED"]);
    assert_eq!(rows, [r#""p" | 13 | 169"#, r#""q" | 1 | 1"#]);

    // A push query: MULTIPLY(DECIMAL, INT) widens to the DOUBLE overload (the only one that
    // takes a DECIMAL), SPLIT_WORDS expands.
    session
        .properties
        .insert("auto.offset.reset".into(), "earliest".into());
    let mut outputs = execute(
        &engine,
        &mut session,
        "SELECT k, MULTIPLY(CAST(n AS DECIMAL(4, 1)), 10) AS m, SPLIT_WORDS(text) AS w FROM s
           EMIT CHANGES LIMIT 3;",
    );
    let Some(StatementOutput::Rows(mut stream)) = outputs.pop() else {
        panic!("a push query returns rows");
    };
    assert_eq!(
        tests::stream_rows(&mut stream),
        [
            r#""p" | 20.0 | "a""#,
            r#""p" | 20.0 | "b""#,
            r#""p" | 30.0 | "c""#
        ]
    );
}

#[test]
fn an_aggregate_with_undo_aggregates_a_table() {
    register();
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE TABLE t (id VARCHAR PRIMARY KEY, region VARCHAR, n BIGINT)
           WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE by_region AS SELECT region, SUM_SQUARES(n) AS sq FROM t GROUP BY region;",
    );
    engine
        .topic_log()
        .produce(
            "t",
            vec![
                record("a", r#"{"REGION":"east","N":2}"#, 10),
                record("b", r#"{"REGION":"east","N":3}"#, 20),
                // b moves west: east takes its 9 back out (undo), west adds 16.
                record("b", r#"{"REGION":"west","N":4}"#, 30),
            ],
        )
        .expect("produce");
    wait_until(Duration::from_secs(60), "BY_REGION", || {
        let rows = pull_rows(&engine, &mut session, "SELECT * FROM by_region;").1;
        Ok(rows == [r#""east" | 4"#, r#""west" | 16"#])
    })
    .expect("east is 2² = 4 and west 4² = 16");
}

#[test]
fn show_and_describe_functions_list_user_functions() {
    register();
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    let mut outputs = execute(&engine, &mut session, "SHOW FUNCTIONS;");
    let Some(StatementOutput::Completed(StatementResult::Functions(functions))) = outputs.pop()
    else {
        panic!("SHOW FUNCTIONS lists functions");
    };
    let listed = |name: &str| {
        functions
            .iter()
            .find(|function| function.name == name)
            .map(|function| (function.kind.as_str(), function.category.as_str()))
    };
    assert_eq!(listed("MULTIPLY"), Some(("SCALAR", "MATHEMATICAL")));
    assert_eq!(listed("SUM_SQUARES"), Some(("AGGREGATE", "AGGREGATE")));
    assert_eq!(listed("SPLIT_WORDS"), Some(("TABLE", "TABLE")));
    assert!(
        functions
            .windows(2)
            .all(|pair| pair[0].name <= pair[1].name),
        "sorted by name"
    );

    let mut outputs = execute(&engine, &mut session, "DESCRIBE FUNCTION multiply;");
    let Some(StatementOutput::Completed(StatementResult::FunctionDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE FUNCTION describes");
    };
    assert_eq!(description.name, "MULTIPLY");
    assert_eq!(description.kind, "SCALAR");
    assert_eq!(description.author, "me");
    assert_eq!(description.version, "1.0");
    let variations: Vec<String> = description
        .variations
        .iter()
        .map(|variation| {
            let arguments: Vec<String> = variation
                .arguments
                .iter()
                .map(|argument| argument.signature())
                .collect();
            format!("({}) -> {}", arguments.join(", "), variation.return_type)
        })
        .collect();
    assert_eq!(
        variations,
        [
            "(a INT, b INT) -> BIGINT",
            "(a BIGINT, b BIGINT) -> BIGINT",
            "(a DOUBLE, b DOUBLE) -> DOUBLE",
        ]
    );

    let mut outputs = execute(&engine, &mut session, "DESCRIBE FUNCTION Split_Words;");
    let Some(StatementOutput::Completed(StatementResult::FunctionDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE FUNCTION describes");
    };
    assert_eq!(description.kind, "TABLE");
    assert_eq!(description.variations.len(), 1);
    assert_eq!(
        description.variations[0].arguments[0].signature(),
        "text STRING"
    );
    assert_eq!(description.variations[0].return_type, "STRING");
}

#[test]
fn arguments_no_overload_takes_are_refused_with_ksqldb_message() {
    register();
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (k VARCHAR KEY, n INT)
           WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);",
    );
    for (sql, message) in [
        (
            "CREATE STREAM bad AS SELECT k, MULTIPLY(k, n) FROM s;",
            "Function 'multiply' does not accept parameters (STRING, INTEGER).",
        ),
        (
            // INT, BIGINT widens to (BIGINT, BIGINT) and to (DOUBLE, DOUBLE) alike.
            "CREATE STREAM bad AS SELECT k, MULTIPLY(n, CAST(n AS BIGINT)) FROM s;",
            "Function 'multiply' cannot be resolved due to ambiguous method parameters (INTEGER, BIGINT).\n\
             Use CAST() to explicitly cast your parameters to one of the supported function calls.\n\
             Valid function calls are:\n\
             multiply(INTEGER a, INTEGER b)\n\
             multiply(BIGINT a, BIGINT b)\n\
             multiply(DOUBLE a, DOUBLE b)\n",
        ),
        (
            "CREATE TABLE bad AS SELECT k, SUM_SQUARES(k) FROM s GROUP BY k;",
            "Function 'sum_squares' does not accept parameters (STRING).",
        ),
        (
            "CREATE STREAM bad AS SELECT k, SPLIT_WORDS(n) FROM s;",
            "Function 'split_words' does not accept parameters (INTEGER).",
        ),
    ] {
        let error = engine
            .execute_script(sql, &mut session, |_, _| {})
            .expect_err(sql);
        let error = executor::error_chain(&error);
        assert!(error.contains(message), "{sql}: {error}");
    }
}
