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
