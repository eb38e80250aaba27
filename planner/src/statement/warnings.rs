//! Warnings ksqlDB attaches to statements that succeed (the `warnings` of their entity).
//!
//! Today one: ksqlDB's `DeprecatedStatementsChecker` flags a `CREATE ... AS SELECT` with a
//! stream-stream join that has no `GRACE PERIOD`. Statements that do nothing and say why
//! (`CREATE ... IF NOT EXISTS` of an existing source) are the server's.

use parser::ast::{Query, Relation, SourceKind};

use crate::catalog::Catalog;

/// ksqlDB's notice for stream-stream joins without a grace period.
pub(crate) const STREAM_STREAM_JOIN_WITHOUT_GRACE: &str = "DEPRECATION NOTICE: Stream-stream joins statements without a GRACE PERIOD will not be accepted in a future ksqlDB version.\nPlease use the GRACE PERIOD clause as specified in https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-reference/select-push-query/";

/// The warnings of a `CREATE ... AS SELECT` whose query is `query`.
pub(crate) fn create_as_select_warnings(catalog: &Catalog, query: &Query) -> Vec<String> {
    if joins_streams_without_grace(catalog, &query.from) {
        vec![STREAM_STREAM_JOIN_WITHOUT_GRACE.to_string()]
    } else {
        Vec::new()
    }
}

/// ksqlDB's rule: the first source of the join is a stream, and a stream joined to it has
/// no `GRACE PERIOD`.
fn joins_streams_without_grace(catalog: &Catalog, relation: &Relation) -> bool {
    let mut joined = Vec::new();
    let mut first = relation;
    while let Relation::Join(join) = first {
        joined.push((&join.right, join.within.and_then(|within| within.grace)));
        first = &join.left;
    }
    !joined.is_empty()
        && is_stream(catalog, first)
        && joined
            .iter()
            .any(|(right, grace)| is_stream(catalog, right) && grace.is_none())
}

fn is_stream(catalog: &Catalog, relation: &Relation) -> bool {
    match relation {
        Relation::Source { name, .. } => catalog
            .source(name)
            .is_some_and(|source| source.kind == SourceKind::Stream),
        Relation::Join(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::{Properties, StatementPlan, plan_statement};

    #[test]
    fn stream_stream_joins_without_grace_are_deprecated() {
        let mut catalog = Catalog::default();
        for sql in [
            "CREATE STREAM A (ID INT KEY, V STRING) WITH (kafka_topic='a', value_format='JSON', partitions=1);",
            "CREATE STREAM B (ID INT KEY, V STRING) WITH (kafka_topic='b', value_format='JSON', partitions=1);",
            "CREATE TABLE T (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
        ] {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            match plan_statement(&catalog, &statement, &Properties::new()) {
                Ok(Some(StatementPlan::CreateSource { source, .. })) => catalog.put_source(source),
                other => panic!("{sql}: {other:?}"),
            }
        }
        let cases = [
            (
                "SELECT * FROM A JOIN B WITHIN 1 MINUTE ON A.ID = B.ID",
                true,
            ),
            (
                "SELECT * FROM A JOIN B WITHIN 1 MINUTE GRACE PERIOD 1 SECOND ON A.ID = B.ID",
                false,
            ),
            ("SELECT * FROM A JOIN T ON A.ID = T.ID", false),
            ("SELECT * FROM T JOIN A ON A.ID = T.ID", false),
            (
                "SELECT * FROM A JOIN T ON A.ID = T.ID JOIN B WITHIN 1 MINUTE ON A.ID = B.ID",
                true,
            ),
            ("SELECT * FROM A", false),
        ];
        for (select, deprecated) in cases {
            let sql = format!("CREATE STREAM J AS {select};");
            let statement = parser::parse_statements(&sql).expect("parses").remove(0);
            let parser::ast::StatementKind::CreateAsSelect(create) = &statement.kind else {
                panic!("{sql}: not a CREATE ... AS SELECT");
            };
            let expected = if deprecated {
                vec![STREAM_STREAM_JOIN_WITHOUT_GRACE.to_string()]
            } else {
                Vec::new()
            };
            assert_eq!(
                create_as_select_warnings(&catalog, &create.query),
                expected,
                "{select}"
            );
        }
    }
}
