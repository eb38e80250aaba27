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
