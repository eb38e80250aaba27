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
