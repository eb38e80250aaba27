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
