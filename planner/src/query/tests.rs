use super::*;
use crate::{StatementPlan, plan_statement};

/// The output columns of push query `sql` over a keyed stream `S`.
fn push_columns(sql: &str) -> Vec<String> {
    let mut catalog = Catalog::default();
    let create = "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);";
    for statement in parser::parse_statements(&format!("{create}{sql}")).expect("parses") {
        match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::Select { columns, .. }) => {
                return columns.into_iter().map(|column| column.name).collect();
            }
            _ => panic!("{}: not a CREATE or a push query", statement.text),
        }
    }
    panic!("no push query in {sql}")
}

#[test]
fn push_queries_list_their_columns_in_select_order() {
    let cases = [
        ("SELECT ID, K FROM S EMIT CHANGES;", vec!["ID", "K"]),
        (
            "SELECT ROWTIME, * FROM S EMIT CHANGES;",
            vec!["ROWTIME", "K", "ID"],
        ),
        (
            "SELECT *, ROWPARTITION FROM S EMIT CHANGES;",
            vec!["K", "ID", "ROWPARTITION"],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(push_columns(sql), expected, "{sql}");
    }
}

/// The error of planning `sql` after a stream `T` with columns of most types, or `planned`.
fn plan_error(sql: &str) -> String {
    let mut catalog = Catalog::default();
    let create = "CREATE STREAM T (K STRING KEY, I INT, B BIGINT, S STRING, A ARRAY<INT>, M MAP<STRING, INT>, R STRUCT<ID INT>) WITH (kafka_topic='t', value_format='JSON', partitions=1);";
    let statements = parser::parse_statements(&format!("{create}{sql}")).expect("parses");
    let (last, first) = statements.split_last().expect("statements");
    for statement in first {
        if let Some(StatementPlan::CreateSource { source, .. }) =
            plan_statement(&catalog, statement, &Properties::new()).expect("plans")
        {
            catalog.put_source(source);
        }
    }
    match plan_statement(&catalog, last, &Properties::new()) {
        Err(error) => error.to_string(),
        Ok(_) => "planned".into(),
    }
}

#[test]
fn comparisons_follow_ksqldb_type_rules() {
    let cases = [
        ("SELECT K, I < B, S = 'x' FROM T EMIT CHANGES;", "planned"),
        ("SELECT K, A = A, M <> M FROM T EMIT CHANGES;", "planned"),
        (
            "SELECT K FROM T WHERE ROWTIME > '2020-01-01' EMIT CHANGES;",
            "planned",
        ),
        (
            "SELECT K, A < A FROM T EMIT CHANGES;",
            "Cannot compare A (ARRAY<INTEGER>) to A (ARRAY<INTEGER>) with LESS_THAN.",
        ),
        (
            "SELECT K FROM T WHERE I + 1.5 EMIT CHANGES;",
            "Type error in WHERE expression: Should evaluate to boolean but is (I + 1.5) (DECIMAL(12, 1)) instead.",
        ),
        (
            "SELECT K, NULL <> NULL FROM T EMIT CHANGES;",
            "Comparison with NULL not supported: NULL <> NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.",
        ),
        (
            "SELECT K FROM T WHERE I = NULL EMIT CHANGES;",
            "Error in WHERE expression: Comparison with NULL not supported: INTEGER = NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.",
        ),
        (
            "SELECT K FROM T WHERE I = 'x' EMIT CHANGES;",
            "Error in WHERE expression: Cannot compare I (INTEGER) to 'x' (STRING) with EQUAL.",
        ),
        (
            "CREATE TABLE O AS SELECT K, SUM(B) AS N FROM T GROUP BY K HAVING SUM(B) > '100';",
            "Error in HAVING expression: Cannot compare SUM(B) (BIGINT) to '100' (STRING) with GREATER_THAN.",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(plan_error(sql), expected, "{sql}");
    }
}

#[test]
fn table_functions_plan_between_source_and_projection() {
    let mut catalog = Catalog::default();
    let sql = "CREATE STREAM T (K STRING KEY, I INT, A ARRAY<INT>, R ARRAY<STRUCT<F INT>>) WITH (kafka_topic='t', value_format='JSON', partitions=1);
        SELECT I, EXPLODE(A) + 1, EXPLODE(R)->F, CUBE_EXPLODE(ARRAY[I]) AS C FROM T WHERE I > 0 EMIT CHANGES;";
    let mut planned = None;
    for statement in parser::parse_statements(sql).expect("parses") {
        match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::Select { columns, plan, .. }) => planned = Some((columns, plan)),
            _ => panic!("{}: not a CREATE or a push query", statement.text),
        }
    }
    let (columns, plan) = planned.expect("a push query");
    let described: Vec<String> = columns
        .iter()
        .map(|column| {
            format!(
                "{} {}",
                column.name,
                crate::types::sql_type_name(&column.data_type)
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            "I INTEGER",
            "KSQL_COL_0 INTEGER",
            "F INTEGER",
            "C ARRAY<INTEGER>"
        ]
    );
    let DataflowNode::Project(project) = &plan.root else {
        panic!("a projection on top: {plan}")
    };
    let DataflowNode::TableFunction(node) = project.input.as_ref() else {
        panic!("table functions below the projection: {plan}")
    };
    let calls: Vec<(&str, &str)> = node
        .calls
        .iter()
        .map(|call| (call.kind.name(), call.name.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("EXPLODE", "KSQL_SYNTH_0"),
            ("EXPLODE", "KSQL_SYNTH_1"),
            ("CUBE_EXPLODE", "KSQL_SYNTH_2")
        ]
    );
    assert!(matches!(node.input.as_ref(), DataflowNode::Filter(_)));
}

#[test]
fn table_functions_are_rejected_outside_a_plain_select_list() {
    let cases = [
        (
            "SELECT K, EXPLODE(M) FROM T EMIT CHANGES;",
            "Function 'explode' does not accept parameters (MAP<STRING, INTEGER>).\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)",
        ),
        (
            "SELECT K, EXPLODE(A) FROM T WHERE EXPLODE(A) > 1 EMIT CHANGES;",
            "Table function EXPLODE is not supported in WHERE: table functions are only allowed in the SELECT list",
        ),
        (
            "SELECT K, EXPLODE(A), COUNT(*) FROM T GROUP BY K EMIT CHANGES;",
            "Table functions cannot be used with aggregations.",
        ),
        (
            "SELECT K, CUBE_EXPLODE(ARRAY[EXPLODE(A)]) FROM T EMIT CHANGES;",
            "Table functions cannot be nested: CUBE_EXPLODE(EXPLODE())",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(plan_error(sql), expected, "{sql}");
    }
}

#[test]
fn expression_errors_read_as_ksqldb_writes_them() {
    let cases = [
        // IN: the operands' common type, string literals converted.
        (
            "SELECT * FROM T WHERE I IN (1, '2', 3.5, B) EMIT CHANGES;",
            "planned",
        ),
        (
            "SELECT * FROM T WHERE I IN (1, 'x') EMIT CHANGES;",
            "Invalid Predicate: invalid input syntax for type INTEGER: \"x\".",
        ),
        (
            "SELECT * FROM T WHERE I IN (1, S) EMIT CHANGES;",
            "Invalid Predicate: operator does not exist: INTEGER = STRING (S)\nHint: You might need to add explicit type casts.",
        ),
        (
            "SELECT * FROM T WHERE R IN (STRUCT(ID := 'x')) EMIT CHANGES;",
            "Invalid Predicate: invalid input syntax for type INTEGER: \"x\".",
        ),
        (
            "SELECT * FROM T WHERE R IN (STRUCT(ID := S)) EMIT CHANGES;",
            "Invalid Predicate: operator does not exist: STRUCT<`ID` INTEGER> = STRUCT<`ID` STRING> (STRUCT(ID:=S))",
        ),
        (
            "SELECT * FROM T WHERE R IN (STRUCT(ID := 1, X := 2)) EMIT CHANGES;",
            "planned",
        ),
        // Arithmetic on what is not a number.
        (
            "SELECT 1 + NULL FROM T EMIT CHANGES;",
            "Error processing expression: (1 + null). Arithmetic on types INTEGER and null are not supported.",
        ),
        (
            "SELECT A * 2 FROM T EMIT CHANGES;",
            "Error processing expression: (A * 2). Arithmetic on types ARRAY<INTEGER> and INTEGER are not supported.",
        ),
        // Functions: declared names, no DataFusion wrapper.
        (
            "SELECT GREATEST(I, B) FROM T EMIT CHANGES;",
            "Function 'greatest' cannot be resolved due to ambiguous method parameters (INTEGER, BIGINT).",
        ),
        (
            "SELECT GREATEST(S, I) FROM T EMIT CHANGES;",
            "Function 'greatest' does not accept parameters (STRING, INTEGER).",
        ),
        (
            "SELECT GREATEST(I, NULL, 2) FROM T EMIT CHANGES;",
            "planned",
        ),
        // Constructors and casts.
        (
            "SELECT MAP('a' := NULL) FROM T EMIT CHANGES;",
            "Cannot construct a map with all NULL values",
        ),
        (
            "SELECT MAP('a' := I, 'b' := 'x') FROM T EMIT CHANGES;",
            "invalid input syntax for type INTEGER: \"x\".",
        ),
        (
            "SELECT STRUCT(F := I, F := S) FROM T EMIT CHANGES;",
            "Duplicate field names found in STRUCT: `F`",
        ),
        (
            "SELECT CAST(S AS STRUCT<F INT>) FROM T EMIT CHANGES;",
            "Invalid Select: Cast of STRING to STRUCT<`F` INTEGER> is not supported",
        ),
        (
            "SELECT CAST(R AS STRING), CAST(M AS STRING) FROM T EMIT CHANGES;",
            "planned",
        ),
        // Window bounds outside a windowed source.
        (
            "SELECT * FROM T WHERE WINDOWSTART > 1 EMIT CHANGES;",
            "Error in WHERE expression: Unknown column WINDOWSTART.",
        ),
        // Qualified names, by source name and alias.
        ("SELECT T.I, T.K FROM T EMIT CHANGES;", "planned"),
        ("SELECT X.I, X.K FROM T X EMIT CHANGES;", "planned"),
    ];
    for (sql, expected) in cases {
        let error = plan_error(sql);
        assert!(error.contains(expected), "{sql}: {error}");
    }
}
