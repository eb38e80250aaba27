use datafusion::logical_expr::Expr;

use crate::plan::{DataflowNode, ROWTIME_OUTPUT};
use crate::{Catalog, Properties, StatementPlan, plan_statement};

fn plan(catalog: &Catalog, sql: &str) -> StatementPlan {
    let statement = parser::parse_statements(sql).expect("parses").remove(0);
    plan_statement(catalog, &statement, &Properties::new())
        .expect("plans")
        .expect("a plan")
}

#[test]
fn a_sink_timestamp_column_replaces_the_rowtime_output_and_keeps_the_op_column() {
    let mut catalog = Catalog::default();
    let create = "CREATE STREAM S (ID STRING KEY, V BIGINT, N STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);";
    match plan(&catalog, create) {
        StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
        _ => panic!("not a CREATE"),
    }
    let sql = "CREATE STREAM O WITH (timestamp='V') AS SELECT ID, V, N FROM S;";
    let StatementPlan::CreateAsSelect { plan, .. } = plan(&catalog, sql) else {
        panic!("not a CREATE AS SELECT");
    };
    let DataflowNode::Project(project) = &plan.root else {
        panic!("a projection at the root: {plan}");
    };
    let names: Vec<&str> = project
        .exprs
        .iter()
        .map(|expr| match expr {
            Expr::Alias(alias) => alias.name.as_str(),
            _ => "",
        })
        .collect();
    let schema_names: Vec<&str> = project
        .schema
        .fields()
        .iter()
        .map(|field| field.name().as_str())
        .collect();
    assert_eq!(
        names, schema_names,
        "each expression is named as its output column"
    );
    let rowtime = project
        .exprs
        .iter()
        .position(|expr| matches!(expr, Expr::Alias(alias) if alias.name == ROWTIME_OUTPUT))
        .expect("a $rowtime output");
    let text = project.exprs[rowtime].to_string();
    assert!(
        text.contains("CAST(") && text.contains(".V AS Int64"),
        "{text}"
    );
}

#[test]
fn with_properties_a_statement_does_not_define_are_rejected_by_name() {
    let mut catalog = Catalog::default();
    let create = "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);";
    match plan(&catalog, create) {
        StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
        _ => panic!("not a CREATE"),
    }
    let error = |sql: &str| {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match plan_statement(&catalog, &statement, &Properties::new()) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("{sql} is accepted"),
        }
    };
    assert_eq!(
        error(
            "CREATE STREAM T (ID STRING KEY) WITH (kafka_topic='t', key='id', value_format='JSON', foo='x');"
        ),
        "Invalid config variable(s) in the WITH clause: KEY,FOO"
    );
    // WINDOW_TYPE describes an existing topic: a query's output cannot take it.
    assert_eq!(
        error("CREATE STREAM O WITH (window_type='TUMBLING') AS SELECT * FROM S;"),
        "Invalid config variable(s) in the WITH clause: WINDOW_TYPE"
    );
    assert_eq!(
        error("INSERT INTO S WITH (kafka_topic='x') SELECT * FROM S;"),
        "Invalid config variable(s) in the WITH clause: KAFKA_TOPIC"
    );
    // What ksqlDB defines is accepted, in any case.
    plan(
        &catalog,
        "CREATE TABLE W (ID STRING PRIMARY KEY, V BIGINT) WITH (Kafka_Topic='w', format='JSON', \
         partitions=2, replicas=1, retention_ms=1000, window_type='TUMBLING', window_size='1 SECOND');",
    );
    plan(
        &catalog,
        "CREATE STREAM O WITH (kafka_topic='o', partitions=1, timestamp='V', wrap_single_value=true) AS SELECT * FROM S;",
    );
    plan(
        &catalog,
        "INSERT INTO S WITH (query_id='Q') SELECT * FROM S;",
    );
}

/// Plans `setup` (registering what it creates), then returns the error of `failing`.
fn error_after(setup: &[&str], failing: &str) -> String {
    let mut catalog = Catalog::default();
    for sql in setup {
        match plan(&catalog, sql) {
            StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
            StatementPlan::CreateAsSelect { sink, query, .. } => {
                catalog.put_source(sink);
                catalog.put_query(query);
            }
            _ => panic!("{sql}: not a CREATE"),
        }
    }
    let statement = parser::parse_statements(failing).expect("parses").remove(0);
    match plan_statement(&catalog, &statement, &Properties::new()) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{failing}: planned"),
    }
}

const SOURCE_STREAM: &str = "CREATE SOURCE STREAM INPUT (K STRING KEY, T STRING) WITH (kafka_topic='t', value_format='JSON');";

#[test]
fn read_only_sources_refuse_writes_and_replacement() {
    assert_eq!(
        error_after(&[SOURCE_STREAM], "INSERT INTO INPUT VALUES ('a', 'b');"),
        "Cannot insert values into read-only stream: INPUT"
    );
    assert_eq!(
        error_after(
            &[
                SOURCE_STREAM,
                "CREATE STREAM I2 (K STRING KEY, T STRING) WITH (kafka_topic='u', value_format='JSON');"
            ],
            "INSERT INTO INPUT SELECT * FROM I2;"
        ),
        "Cannot insert into read-only stream: INPUT"
    );
    assert_eq!(
        error_after(
            &[SOURCE_STREAM],
            "CREATE OR REPLACE STREAM INPUT (K STRING KEY, T STRING) WITH (kafka_topic='t', value_format='JSON');"
        ),
        "Cannot add stream 'INPUT': CREATE OR REPLACE is not supported on source streams."
    );
    assert_eq!(
        error_after(
            &[],
            "CREATE OR REPLACE SOURCE TABLE INPUT (K INT PRIMARY KEY, T STRING) WITH (kafka_topic='t', value_format='JSON');"
        ),
        "Cannot add table 'INPUT': CREATE OR REPLACE is not supported on source tables."
    );
}

#[test]
fn drop_and_alter_check_the_source() {
    let mut catalog = Catalog::default();
    match plan(&catalog, SOURCE_STREAM) {
        StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
        _ => panic!("not a CREATE"),
    }
    let drop = |sql: &str| {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        let parser::ast::StatementKind::DropSource(drop) = statement.kind else {
            panic!("not a DROP");
        };
        crate::drop_target(&catalog, &drop).map(|source| source.map(|s| s.name.clone()))
    };
    assert_eq!(
        drop("DROP STREAM test;").unwrap_err().to_string(),
        "Stream TEST does not exist."
    );
    assert_eq!(drop("DROP TABLE IF EXISTS test;").expect("no error"), None);
    assert_eq!(
        drop("DROP STREAM INPUT DELETE TOPIC;")
            .unwrap_err()
            .to_string(),
        "Cannot delete topic for read-only source: INPUT"
    );
    assert_eq!(
        drop("DROP STREAM INPUT;").expect("drops"),
        Some("INPUT".into())
    );
    let statement = parser::parse_statements("ALTER STREAM INPUT ADD COLUMN N INT;")
        .expect("parses")
        .remove(0);
    let parser::ast::StatementKind::AlterSource(alter) = statement.kind else {
        panic!("not an ALTER");
    };
    assert_eq!(
        crate::check_alter_target(&catalog, &alter)
            .unwrap_err()
            .to_string(),
        "Cannot alter stream 'INPUT': ALTER operations are not supported on source streams."
    );
}

#[test]
fn insert_targets_are_checked_with_ksqldb_messages() {
    let stream =
        "CREATE STREAM S (K STRING KEY, D STRING) WITH (kafka_topic='s', value_format='JSON');";
    assert_eq!(
        error_after(&[stream], "INSERT INTO\n  UNKNOWN SELECT * FROM S;"),
        "Line: 2, Col: 3: Source `UNKNOWN` does not exist."
    );
    assert_eq!(
        error_after(
            &[
                stream,
                "CREATE TABLE T (D STRING PRIMARY KEY, N BIGINT) WITH (kafka_topic='t', value_format='JSON');"
            ],
            "INSERT INTO T SELECT D, COUNT(*) AS N FROM S GROUP BY D;"
        ),
        "INSERT INTO can only be used to insert into a stream. T is a table."
    );
    assert_eq!(
        error_after(
            &[
                "CREATE STREAM \"input\" (ID INT KEY, V STRING) WITH (kafka_topic='i', value_format='JSON');"
            ],
            "INSERT INTO input (ID, V) VALUES (1, 'a');"
        ),
        "Cannot insert values into an unknown stream/table: `INPUT`\nDid you mean \"input\"? Hint: wrap the source name in double quotes to make it case-sensitive."
    );
    assert_eq!(
        error_after(&[stream], "INSERT INTO S (K, D) VALUES ('a');"),
        "Failed to prepare statement: Expected number columns and values to match: 2, 1"
    );
    assert_eq!(
        error_after(
            &[stream],
            "INSERT INTO S (K, D, ROWOFFSET) VALUES ('a', 'b', 1);"
        ),
        "Inserting into column `ROWOFFSET` is not allowed."
    );
}

#[test]
fn header_columns_have_fixed_types_and_take_no_inserts() {
    let with_header = "CREATE STREAM S1 (K STRING KEY, H1 BYTES HEADER('abc'), V BIGINT) WITH (kafka_topic='s1', value_format='JSON');";
    assert_eq!(
        error_after(
            &[],
            "CREATE STREAM S1 (K STRING KEY, H1 INT HEADER('key'), V BIGINT) WITH (kafka_topic='s1', value_format='JSON');"
        ),
        "Invalid type for HEADER('key') column: expected BYTES, got INTEGER"
    );
    assert_eq!(
        error_after(&[with_header], "INSERT INTO S1 VALUES ('abc', NULL, 44);"),
        "Cannot insert into HEADER columns: H1"
    );
    assert_eq!(
        error_after(
            &[
                with_header,
                "CREATE STREAM S2 (K STRING KEY, H1 BYTES, V BIGINT) WITH (kafka_topic='s2', value_format='JSON');"
            ],
            "INSERT INTO S1 SELECT * FROM S2;"
        ),
        "Cannot insert into S1 because it has header columns"
    );
}

#[test]
fn persistent_query_rules_have_ksqldb_messages() {
    let delimited = "CREATE STREAM I (ID STRING KEY, V INT, X DOUBLE) WITH (kafka_topic='i', value_format='DELIMITED');";
    let json = "CREATE STREAM J (ID INT KEY, NAME STRING, AGE INT) WITH (kafka_topic='j', value_format='JSON');";
    let cases = [
        (
            delimited,
            "CREATE TABLE O AS SELECT ID, AVG(V) AS A FROM I GROUP BY ID;",
            "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
        ),
        (
            "CREATE STREAM K (ID STRING KEY, D STRING) WITH (kafka_topic='k', value_format='KAFKA');",
            "CREATE TABLE O WITH (value_format='JSON') AS SELECT D, COUNT(*) FROM K GROUP BY D;",
            "Source(s) K are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
        ),
        (
            json,
            "CREATE TABLE O AS SELECT NAME, NAME AS N2, COUNT(*) FROM J GROUP BY NAME;",
            "The projection contains a key column more than once: `NAME` and `N2`.",
        ),
        (
            json,
            "CREATE TABLE O AS SELECT NAME FROM J GROUP BY NAME HAVING COUNT(*) > 1;",
            "The projection contains no value columns.",
        ),
        (
            json,
            "CREATE TABLE O AS SELECT NAME AS C, COUNT(*) AS C FROM J GROUP BY NAME;",
            "Duplicate value columns found in schema: `C` BIGINT",
        ),
        (
            json,
            "CREATE TABLE O AS SELECT *, COUNT(*) FROM J GROUP BY ID;",
            "Non-aggregate SELECT expression(s) not part of GROUP BY: NAME, AGE\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT * FROM J WINDOW TUMBLING (SIZE 30 SECONDS);",
            "WINDOW clause requires a GROUP BY clause.",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT * FROM J LIMIT 2;",
            "CREATE STREAM AS SELECT statements don't support LIMIT clause.",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT ID, AGE, NAME FROM J PARTITION BY NULL, ID;",
            "Cannot PARTITION BY multiple columns including NULL",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT NAME AS ID, NAME FROM J PARTITION BY ID;",
            "The query used to build `O` must include the partitioning expression J.ID in its projection (eg, SELECT J.ID...).",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT ID, UNKNOWN.* FROM J X;",
            "Failed to prepare statement: 'UNKNOWN' is not a valid stream/table name or alias.",
        ),
        (
            json,
            "CREATE STREAM O AS SELECT ID, NAME AS SOMETHING FROM J PARTITION BY SOMETHING;",
            "PARTITION BY column 'SOMETHING' cannot be resolved. 'SOMETHING' must be a column in the source schema since PARTITION BY is applied on the input.",
        ),
    ];
    for (setup, failing, expected) in cases {
        assert_eq!(error_after(&[setup], failing), expected, "{failing}");
    }
}

#[test]
fn table_only_aggregates_are_listed_in_call_order() {
    assert_eq!(
        error_after(
            &[
                "CREATE TABLE T (ID BIGINT PRIMARY KEY, F0 INT, F1 BIGINT) WITH (kafka_topic='t', value_format='JSON');"
            ],
            "CREATE TABLE O AS SELECT ID, LATEST_BY_OFFSET(F0), MIN(F1), MAX(F1) FROM T GROUP BY ID;"
        ),
        "The aggregation functions LATEST_BY_OFFSET, MIN and MAX cannot be applied to a table source, only to a stream source."
    );
}
