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
