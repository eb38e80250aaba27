use crate::catalog::Catalog;
use crate::{Properties, StatementPlan, plan_statement};

/// Two streams and two tables, all keyed by `ID`, sharing the value column `V`.
fn catalog() -> Catalog {
    let statements = [
        "CREATE STREAM S1 (ID INT KEY, V STRING, A ARRAY<INT>) WITH (kafka_topic='s1', value_format='JSON', partitions=1);",
        "CREATE STREAM S2 (ID INT KEY, V STRING) WITH (kafka_topic='s2', value_format='JSON', partitions=1);",
        "CREATE TABLE T1 (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t1', value_format='JSON', partitions=1);",
        "CREATE TABLE T2 (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t2', value_format='JSON', partitions=1);",
    ];
    let mut catalog = Catalog::default();
    for sql in statements {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            _ => panic!("{sql}: not a CREATE"),
        }
    }
    catalog
}

/// The error of planning the last statement of `script` (earlier lines shift positions).
fn error_of(catalog: &Catalog, script: &str) -> String {
    let statement = parser::parse_statements(script)
        .expect("parses")
        .pop()
        .expect("a statement");
    match plan_statement(catalog, &statement, &Properties::new()) {
        Err(error) => error.to_string(),
        Ok(_) => "planned".into(),
    }
}

#[test]
fn wrong_column_references_name_their_position_in_the_script() {
    let catalog = catalog();
    let cases = [
        (
            "CREATE STREAM O AS SELECT S1.ID, V FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.ID = S2.ID;",
            "Exception while preparing statement: Line: 1, Col: 34: Column 'V' is ambiguous. Could be S1.V or S2.V.",
        ),
        (
            "\n\nCREATE TABLE O AS SELECT T1.ID, T2.V FROM T1 JOIN T2 ON ID = T2.ID;",
            "Exception while preparing statement: Line: 3, Col: 57: Column 'ID' is ambiguous. Could be T1.ID or T2.ID.",
        ),
        // The unknown column is reported before the missing WITHIN.
        (
            "\nCREATE STREAM O AS SELECT * FROM S1 L JOIN S2 R ON L.ID = R.NOPE;",
            "Line: 2, Col: 59: JOIN ON column 'R.NOPE' cannot be resolved.",
        ),
        // Elsewhere the message has no position.
        (
            "CREATE STREAM O AS SELECT NOPE FROM S1;",
            "SELECT column 'NOPE' cannot be resolved.",
        ),
    ];
    for (script, expected) in cases {
        assert_eq!(error_of(&catalog, script), expected, "{script}");
    }
}

/// The key format of the sink of the `CREATE ... AS SELECT` in `script`, planned with
/// `properties`.
fn sink_key_format(script: &str, properties: &[(&str, &str)]) -> String {
    let properties: Properties = properties
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let mut catalog = Catalog::default();
    for statement in parser::parse_statements(script).expect("parses") {
        match plan_statement(&catalog, &statement, &properties).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::CreateAsSelect { sink, .. }) => {
                return sink.key_format.name;
            }
            _ => panic!("{}: not a CREATE", statement.text),
        }
    }
    panic!("no CREATE ... AS SELECT in {script}")
}

#[test]
fn keys_made_from_keyless_sources_take_a_keyed_source_or_the_default_key_format() {
    let table = "CREATE TABLE T (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t', key_format='DELIMITED', value_format='JSON', partitions=1);";
    let keyless = |name: &str| {
        format!(
            "CREATE STREAM {name} (ID INT, V STRING) WITH (kafka_topic='{name}', key_format='NONE', value_format='JSON', partitions=1);"
        )
    };
    let cases = [
        // The table's key format, not the keyless stream's.
        (
            format!(
                "{table}{}CREATE STREAM O AS SELECT S.ID, T.V FROM S JOIN T ON S.ID = T.ID;",
                keyless("S")
            ),
            vec![],
            "DELIMITED",
        ),
        // No source has keys: the default key format.
        (
            format!(
                "{}{}CREATE STREAM O AS SELECT A.ID, B.V FROM A JOIN B WITHIN 1 SECOND ON A.ID = B.ID;",
                keyless("A"),
                keyless("B")
            ),
            vec![],
            "KAFKA",
        ),
        (
            format!(
                "{}{}CREATE STREAM O AS SELECT A.ID, B.V FROM A JOIN B WITHIN 1 SECOND ON A.ID = B.ID;",
                keyless("A"),
                keyless("B")
            ),
            vec![("ksql.persistence.default.format.key", "json")],
            "JSON",
        ),
        (
            format!(
                "{}CREATE TABLE O AS SELECT V, COUNT(*) AS N FROM S GROUP BY V;",
                keyless("S")
            ),
            vec![],
            "KAFKA",
        ),
    ];
    for (script, properties, expected) in cases {
        assert_eq!(sink_key_format(&script, &properties), expected, "{script}");
    }
}

/// Sources for the join rules below: windowed streams, streams with maps and arrays, and a
/// stream and tables joined by value.
const JOIN_RULE_SOURCES: &str = "
    CREATE STREAM W1 (K STRING KEY, F0 INT) WITH (kafka_topic='w1', value_format='JSON', window_type='tumbling', window_size='1 second', partitions=1);
    CREATE STREAM W2 (K STRING KEY, F1 INT) WITH (kafka_topic='w2', value_format='JSON', window_type='tumbling', window_size='1 second', partitions=1);
    CREATE STREAM M1 (ID STRING KEY, M MAP<STRING, INT>, A ARRAY<INT>) WITH (kafka_topic='m1', format='JSON', partitions=1);
    CREATE STREAM M2 (ID INT KEY, M MAP<STRING, INT>) WITH (kafka_topic='m2', format='JSON', partitions=1);
    CREATE STREAM M3 (ID INT KEY, V INT) WITH (kafka_topic='m3', format='JSON', partitions=1);
    CREATE STREAM OUT2 (K STRING KEY, F0 INT) WITH (kafka_topic='out2', value_format='JSON', partitions=1);";

/// The outcome of planning the last statement of `script` after `JOIN_RULE_SOURCES`: the
/// error, or `key <name>` (the sink's key columns).
fn outcome(script: &str) -> String {
    let mut catalog = catalog();
    let statements =
        parser::parse_statements(&format!("{JOIN_RULE_SOURCES}{script}")).expect("parses");
    let (last, sources) = statements.split_last().expect("statements");
    for statement in sources {
        match plan_statement(&catalog, statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            _ => panic!("{}: not a CREATE", statement.text),
        }
    }
    match plan_statement(&catalog, last, &Properties::new()) {
        Err(error) => error.to_string(),
        Ok(Some(StatementPlan::CreateAsSelect { sink, .. })) => {
            let keys: Vec<&str> = sink.key_columns().map(|c| c.name.as_str()).collect();
            format!("key {}", keys.join(", "))
        }
        Ok(_) => "planned".into(),
    }
}

#[test]
fn join_rules_and_their_messages() {
    let cases = [
        // A system column selected under its own name is selected, not aliased.
        (
            "CREATE STREAM O AS SELECT L.K, L.WINDOWSTART AS WINDOWSTART, F0 FROM W1 L JOIN W2 R WITHIN 1 SECOND ON L.K = R.K;",
            "Reserved column name in select: `WINDOWSTART`. Please remove or alias the column.",
        ),
        (
            "CREATE STREAM O AS SELECT L.K, F0 AS WINDOWEND FROM W1 L JOIN W2 R WITHIN 1 SECOND ON L.K = R.K;",
            "`WINDOWEND` is a reserved column name. You cannot use it as an alias for a column.",
        ),
        // The join's key column is named after the left column.
        (
            "CREATE STREAM O AS SELECT L.M, L.ID FROM M1 L JOIN M2 R WITHIN 1 SECOND ON L.M = R.M;",
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `L_M`. Column type: MAP<STRING, INTEGER>. See https://github.com/confluentinc/ksql/issues/6621 for more.",
        ),
        // Every join condition is checked before the joins are planned.
        (
            "CREATE STREAM O AS SELECT * FROM S1 JOIN T1 ON S1.V = T1.V JOIN T2 ON S1.V = S1.V;",
            "Each side of the join must reference exactly one source and not the same source. Left side references `S1` and right references `S1`",
        ),
        // A qualified column may be indexed in a condition.
        (
            "CREATE STREAM O AS SELECT R.ID, L.ID AS LID FROM M1 L JOIN M3 R WITHIN 1 SECOND ON L.A[1] = R.ID;",
            "key R_ID",
        ),
        // An expression equal to a nested join's key joins on that key: `S1.ID` is the key.
        (
            "CREATE STREAM O AS SELECT S1.ID, S1.V, S2.V AS V2, M3.V AS V3 FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.ID = ABS(S2.ID) JOIN M3 WITHIN 1 SECOND ON ABS(S2.ID) = ABS(M3.ID);",
            "key S1_ID",
        ),
        (
            "INSERT INTO OUT2 SELECT L.K AS K, F0, F1 FROM W1 L JOIN W2 R WITHIN 1 SECOND ON L.K = R.K;",
            "Incompatible schema between results and sink.\nResult schema is `K` STRING KEY, `F0` INTEGER, `F1` INTEGER\nSink schema is `K` STRING KEY, `F0` INTEGER",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(outcome(sql), expected, "{sql}");
    }
}
