//! Pull queries (a `SELECT` without `EMIT CHANGES`): validation and how they read their source.
//!
//! A pull query over a stream reads the topic to its current end. A pull query over a table
//! reads the table's current rows, narrowed by the keys its WHERE clause looks up (analyzed in
//! `pull::where_clause`), with ksqlDB's rules and messages. Queries over materialized tables
//! whose shape ksqlDB rejects (joins, GROUP BY, aggregates) go to SQL over the state instead.
//! The executor (`executor::pull`) does the reading.

mod key_value;
mod timestamp;
mod where_clause;

use std::collections::HashSet;
use std::ops::{Bound, ControlFlow};

use datafusion::common::ScalarValue;
use parser::ast::{Query, Relation, SelectItem, SourceKind, Statement};
use sqlparser::ast::{Expr as SqlExpr, visit_expressions};

use crate::aggregate::is_aggregation;
use crate::catalog::{
    Catalog, ColumnKind, ROWOFFSET, ROWPARTITION, SourceDefinition, WINDOWEND, WINDOWSTART,
    quote_source_name,
};
use crate::expr::normalize_ident;
use crate::plan::DataflowPlan;
use crate::query::{Purpose, natural_name, plan_query_for};
use crate::statement::{Properties, StatementPlan, set_emit_per_record};
use crate::types::sql_type_name;
use crate::{PlanError, Result};
use where_clause::{Constraint, WhereContext, analyze_where};

/// Appended to pull-query rule violations, as ksqlDB does (leading space included).
pub(crate) const PULL_QUERY_SYNTAX_HELP: &str = " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

/// The error of a table scan that table scans are disabled for.
const TABLE_SCAN_REQUIRED: &str = "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true";

/// The hint ending ksqlDB's invalid-WHERE messages (its double comma included).
pub(crate) const TABLE_SCAN_HINT: &str = "If more flexible queries are needed, , table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true.";

/// How a pull query reads its source.
#[derive(Debug, Clone)]
pub enum PullPlan {
    /// A stream: its records from the start of the topic to the end it has when the query
    /// starts; ends with `Query Completed`.
    Stream,
    /// A table: its current row per key (never a tombstone), narrowed by `TablePull::keys`.
    Table(TablePull),
    /// A query over materialized tables whose shape ksqlDB's pull queries reject (a join,
    /// GROUP BY, aggregates), answered by SQL over the tables' state; holds the statement text.
    Sql(String),
}

/// A pull query over a table.
#[derive(Debug, Clone)]
pub struct TablePull {
    /// The table's name.
    pub table: String,
    /// A persistent query writes the table's state (`table/<name>`). Otherwise the table is
    /// a `CREATE SOURCE TABLE` read from its topic, the last record per key.
    pub materialized: bool,
    /// The rows to read; the WHERE clause is applied to them afterwards in any case.
    pub keys: KeyLookup,
}

/// Which rows of a table a pull query reads.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyLookup {
    /// Every row.
    Scan,
    /// The rows of these keys, each one value per key column in key column order, converted
    /// to the key columns' types; every window of a key of a windowed table.
    Keys(Vec<Vec<ScalarValue>>),
    /// The rows whose single STRING or BYTES key column is within the bounds.
    Range {
        lower: Bound<ScalarValue>,
        upper: Bound<ScalarValue>,
    },
}

/// Session properties that shape pull queries.
struct PullOptions {
    table_scans: bool,
    range_scans: bool,
    limit_clause: bool,
}

impl PullOptions {
    fn from_properties(properties: &Properties) -> Self {
        let enabled = |name: &str| {
            properties
                .get(name)
                .is_none_or(|value| !value.trim().eq_ignore_ascii_case("false"))
        };
        PullOptions {
            table_scans: enabled("ksql.query.pull.table.scan.enabled"),
            range_scans: enabled("ksql.query.pull.range.scan.enabled"),
            limit_clause: enabled("ksql.query.pull.limit.clause.enabled"),
        }
    }
}

/// Plans a pull query.
pub(crate) fn plan_pull(
    catalog: &Catalog,
    query: &Query,
    statement: &Statement,
    properties: &Properties,
) -> Result<StatementPlan> {
    let options = PullOptions::from_properties(properties);
    if let Some(plan) = plan_beyond_ksql(catalog, query, statement)? {
        return Ok(plan);
    }
    let (source, alias) = match &query.from {
        Relation::Source { name, alias } => (catalog.require_source(name)?, alias.clone()),
        Relation::Join(_) => return rule_violation("Pull queries don't support JOIN clauses."),
    };
    let qualifier = alias.unwrap_or_else(|| source.name.clone());
    let qualifiers = [qualifier.as_str(), source.name.as_str()];

    let mut where_clause = query.where_clause.clone();
    if let Some(condition) = &mut where_clause {
        timestamp::rewrite_timestamp_strings(condition)?;
        key_value::check_comparisons(condition, source, &qualifiers)?;
    }
    check_rules(query, &options)?;
    check_pseudo_columns(query)?;
    check_duplicate_columns(query, source, &qualifiers)?;
    // ksqlDB validates the WHERE clause of a table before it plans the expressions.
    let keys = match (&where_clause, source.kind) {
        (Some(condition), SourceKind::Table) => {
            let context = WhereContext {
                source,
                qualifiers: &qualifiers,
                catalog,
                table_scans_enabled: options.table_scans,
            };
            let analysis = analyze_where(condition, &context)?;
            key_lookup(&analysis.constraints, analysis.requires_table_scan)
        }
        _ => KeyLookup::Scan,
    };
    let rewritten = Query {
        where_clause,
        ..query.clone()
    };
    let mut planned = plan_query_for(catalog, &rewritten, Purpose::Pull)?;
    set_emit_per_record(&mut planned.root, properties);

    let pull = match source.kind {
        SourceKind::Stream => PullPlan::Stream,
        SourceKind::Table => {
            let materialized = is_materialized(catalog, source);
            if !materialized && !source.is_source {
                let name = &source.name;
                return Err(PlanError::User(format!(
                    "The {} table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'.{PULL_QUERY_SYNTAX_HELP}",
                    quote_source_name(name)
                )));
            }
            let keys = match keys {
                KeyLookup::Range { .. } if !options.range_scans || source.window.is_some() => {
                    KeyLookup::Scan
                }
                keys => keys,
            };
            if keys == KeyLookup::Scan && !options.table_scans {
                return Err(PlanError::User(TABLE_SCAN_REQUIRED.into()));
            }
            PullPlan::Table(TablePull {
                table: source.name.clone(),
                materialized,
                keys,
            })
        }
    };
    Ok(StatementPlan::Select {
        columns: planned.columns,
        plan: DataflowPlan {
            root: planned.root,
            sink: None,
            limit: query.limit,
            max_poll_records: None,
        },
        is_pull: Some(pull),
    })
}

/// A persistent query writes the table (its state holds the table's rows).
fn is_materialized(catalog: &Catalog, source: &SourceDefinition) -> bool {
    catalog.queries().any(|query| query.sink == source.name)
}

/// How ksqlDB's physical planner reads the keys of the disjuncts' constraints.
fn key_lookup(constraints: &[Constraint], requires_table_scan: bool) -> KeyLookup {
    if requires_table_scan || constraints.contains(&Constraint::NonKey) {
        return KeyLookup::Scan;
    }
    if constraints
        .iter()
        .all(|c| matches!(c, Constraint::Equal(_)))
    {
        let mut keys: Vec<Vec<ScalarValue>> = Vec::with_capacity(constraints.len());
        for constraint in constraints {
            if let Constraint::Equal(key) = constraint
                && !keys.contains(key)
            {
                keys.push(key.clone());
            }
        }
        return KeyLookup::Keys(keys);
    }
    match constraints {
        [Constraint::Range { lower, upper }] => KeyLookup::Range {
            lower: lower.clone(),
            upper: upper.clone(),
        },
        _ => KeyLookup::Scan,
    }
}

/// ksqlDB's error for a pull-query rule: the message and the syntax help.
fn rule_violation<T>(message: &str) -> Result<T> {
    Err(PlanError::User(format!(
        "{message}{PULL_QUERY_SYNTAX_HELP}"
    )))
}

/// ksqlDB's `PullQueryValidator` rules on the clauses (joins are checked by the caller).
fn check_rules(query: &Query, options: &PullOptions) -> Result<()> {
    if query.window.is_some() {
        return rule_violation("Pull queries don't support WINDOW clauses.");
    }
    if !query.group_by.is_empty() {
        return rule_violation("Pull queries don't support GROUP BY clauses.");
    }
    if !query.partition_by.is_empty() {
        return rule_violation("Pull queries don't support PARTITION BY clauses.");
    }
    if query.having.is_some() {
        return rule_violation("Pull queries don't support HAVING clauses.");
    }
    if query.limit.is_some() && !options.limit_clause {
        return rule_violation(
            "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true.",
        );
    }
    Ok(())
}

/// `ROWPARTITION` and `ROWOFFSET` are not available to pull queries.
fn check_pseudo_columns(query: &Query) -> Result<()> {
    let select: Vec<&SqlExpr> = query
        .select
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { expr, .. } | SelectItem::StructWildcard(expr) => Some(expr),
            _ => None,
        })
        .collect();
    let clauses = [
        ("SELECT", select),
        ("WHERE", query.where_clause.iter().collect()),
    ];
    for (clause, exprs) in clauses {
        let mut found: Vec<String> = Vec::new();
        for expr in exprs {
            let _ = visit_expressions(expr, |node| {
                let name = match node {
                    SqlExpr::Identifier(ident) => Some(normalize_ident(ident)),
                    SqlExpr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
                    _ => None,
                };
                if let Some(name) = name
                    && (name == ROWPARTITION || name == ROWOFFSET)
                {
                    found.push(format!("`{name}`"));
                }
                ControlFlow::<()>::Continue(())
            });
        }
        if !found.is_empty() {
            return rule_violation(&format!(
                "Pull queries don't support the following columns in {clause} clauses: {}\n",
                found.join(", ")
            ));
        }
    }
    Ok(())
}

/// Two select items with the same name that reference columns (ksqlDB builds the result
/// schema without renaming duplicates).
fn check_duplicate_columns(
    query: &Query,
    source: &SourceDefinition,
    qualifiers: &[&str],
) -> Result<()> {
    let mut seen: HashSet<String> = HashSet::new();
    for item in &query.select {
        let SelectItem::Expr { expr, alias } = item else {
            continue;
        };
        let Some(name) = alias.clone().or_else(|| natural_name(expr)) else {
            continue;
        };
        if seen.insert(name.clone()) {
            continue;
        }
        let Some(column) = key_value::column_ref(expr, qualifiers) else {
            continue;
        };
        let Some(data_type) = key_value::column_type(source, &column) else {
            continue;
        };
        let is_key = source
            .column(&column)
            .is_some_and(|c| c.kind == ColumnKind::Key)
            || (source.window.is_some() && (column == WINDOWSTART || column == WINDOWEND));
        let kind = if is_key { "key" } else { "value" };
        return Err(PlanError::User(format!(
            "Duplicate {kind} columns found in schema: `{name}` {}",
            sql_type_name(&data_type)
        )));
    }
    Ok(())
}

/// The sources a relation reads.
fn relation_sources(relation: &Relation, names: &mut Vec<String>) {
    match relation {
        Relation::Source { name, .. } => names.push(name.clone()),
        Relation::Join(join) => {
            relation_sources(&join.left, names);
            relation_sources(&join.right, names);
        }
    }
}

/// A query over materialized tables whose shape ksqlDB's pull queries reject: planned as
/// SQL over the state. `None` for every other query.
fn plan_beyond_ksql(
    catalog: &Catalog,
    query: &Query,
    statement: &Statement,
) -> Result<Option<StatementPlan>> {
    let joined = matches!(query.from, Relation::Join(_));
    let aggregating = !query.group_by.is_empty() || is_aggregation(query);
    if query.window.is_some() || !(joined || aggregating) {
        return Ok(None);
    }
    let mut names = Vec::new();
    relation_sources(&query.from, &mut names);
    let mut tables = Vec::with_capacity(names.len());
    for name in &names {
        match catalog.source(name) {
            Some(source)
                if source.kind == SourceKind::Table
                    && (source.is_source || is_materialized(catalog, source)) =>
            {
                tables.push(source)
            }
            _ => return Ok(None),
        }
    }
    // The statement runs elsewhere; the dataflow plan only names the first table, so that
    // EXPLAIN and the server see a plan of the right shape.
    let scan = Query {
        select: vec![SelectItem::Wildcard],
        from: Relation::Source {
            name: tables[0].name.clone(),
            alias: None,
        },
        window: None,
        where_clause: None,
        group_by: Vec::new(),
        partition_by: Vec::new(),
        having: None,
        emit: None,
        limit: None,
    };
    let planned = plan_query_for(catalog, &scan, Purpose::Pull)?;
    Ok(Some(StatementPlan::Select {
        columns: planned.columns,
        plan: DataflowPlan {
            root: planned.root,
            sink: None,
            limit: None,
            max_poll_records: None,
        },
        is_pull: Some(PullPlan::Sql(statement.text.clone())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_statement;

    /// A catalog with a stream, a plain table, a source table and materialized tables
    /// (single key, two keys, windowed).
    fn catalog() -> Catalog {
        let statements = [
            "CREATE STREAM S (ID INT KEY, V STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            "CREATE TABLE PLAIN (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='p', value_format='JSON', partitions=1);",
            "CREATE SOURCE TABLE CST (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='c', value_format='JSON', partitions=1);",
            "CREATE TABLE T AS SELECT V, COUNT(*) AS N FROM S GROUP BY V;",
            "CREATE TABLE NUM AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
            "CREATE TABLE TWO AS SELECT ID, V, COUNT(*) AS N FROM S GROUP BY ID, V;",
            "CREATE TABLE W AS SELECT V, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY V;",
        ];
        let mut catalog = Catalog::default();
        for sql in statements {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
                Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
                Some(StatementPlan::CreateAsSelect { sink, query, .. }) => {
                    catalog.put_source(sink);
                    catalog.put_query(query);
                    catalog.take_query_number();
                }
                _ => panic!("{sql}: not a CREATE"),
            }
        }
        catalog
    }

    /// What a pull query plans to, in short: `stream`, `sql`, `scan T`, `keys T [..]`,
    /// `range T ..`, or the error message.
    fn plan(catalog: &Catalog, sql: &str, properties: &[(&str, &str)]) -> String {
        let properties: Properties = properties
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match plan_statement(catalog, &statement, &properties) {
            Err(error) => error.to_string(),
            Ok(Some(StatementPlan::Select { is_pull, .. })) => match is_pull {
                Some(PullPlan::Stream) => "stream".into(),
                Some(PullPlan::Sql(_)) => "sql".into(),
                Some(PullPlan::Table(table)) => {
                    let source = if table.materialized { "" } else { " (topic)" };
                    match table.keys {
                        KeyLookup::Scan => format!("scan {}{source}", table.table),
                        KeyLookup::Keys(keys) => {
                            let keys: Vec<String> = keys
                                .iter()
                                .map(|key| {
                                    let values: Vec<String> =
                                        key.iter().map(ToString::to_string).collect();
                                    values.join("/")
                                })
                                .collect();
                            format!("keys {}{source} {}", table.table, keys.join(", "))
                        }
                        KeyLookup::Range { lower, upper } => {
                            format!("range {}{source} {lower:?} {upper:?}", table.table)
                        }
                    }
                }
                None => "push".into(),
            },
            Ok(_) => "not a select".into(),
        }
    }

    /// A table-driven case: the statement, the session properties and the expected plan.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

    #[test]
    fn pull_queries_read_what_their_where_clause_selects() {
        let catalog = catalog();
        let no_scans = [("ksql.query.pull.table.scan.enabled", "false")];
        let cases: Vec<Case> = vec![
            ("SELECT * FROM T WHERE V = 'a';", &[], "keys T a"),
            (
                "SELECT * FROM T WHERE V IN ('a', 'b', 'a');",
                &[],
                "keys T a, b",
            ),
            (
                "SELECT * FROM T WHERE V = 'a' OR V = 'b';",
                &[],
                "keys T a, b",
            ),
            (
                "SELECT * FROM NUM WHERE ID = 10 + 1;",
                &no_scans,
                "keys NUM 11",
            ),
            ("SELECT * FROM NUM WHERE 10 = ID;", &no_scans, "keys NUM 10"),
            (
                "SELECT * FROM TWO WHERE ID = 1 AND V = 'x';",
                &no_scans,
                "keys TWO 1/x",
            ),
            (
                "SELECT * FROM W WHERE V = 'a' AND WINDOWSTART >= 1000;",
                &no_scans,
                "keys W a",
            ),
            (
                "SELECT * FROM T WHERE V > 'a';",
                &no_scans,
                "range T Excluded(Utf8(\"a\")) Unbounded",
            ),
            (
                "SELECT * FROM T WHERE V BETWEEN 'a' AND 'c';",
                &[],
                "range T Included(Utf8(\"a\")) Included(Utf8(\"c\"))",
            ),
            (
                "SELECT * FROM T WHERE V > 'a';",
                &[("ksql.query.pull.range.scan.enabled", "false")],
                "scan T",
            ),
            ("SELECT * FROM NUM WHERE ID > 1;", &[], "scan NUM"),
            ("SELECT * FROM W WHERE V <= 'a';", &[], "scan W"),
            ("SELECT * FROM T;", &[], "scan T"),
            ("SELECT * FROM T WHERE N > 1;", &[], "scan T"),
            ("SELECT * FROM T WHERE V = 'a' OR N > 1;", &[], "scan T"),
            ("SELECT * FROM CST WHERE ID = 1;", &[], "keys CST (topic) 1"),
            ("SELECT * FROM S WHERE ID = 1;", &[], "stream"),
            ("SELECT V, COUNT(*) FROM T GROUP BY V;", &[], "sql"),
            ("SELECT * FROM T JOIN NUM ON T.N = NUM.ID;", &[], "sql"),
            ("SELECT * FROM T EMIT CHANGES;", &[], "push"),
        ];
        for (sql, properties, expected) in cases {
            assert_eq!(plan(&catalog, sql, properties), expected, "{sql}");
        }
    }

    #[test]
    fn pull_queries_fail_with_ksqldb_messages() {
        let catalog = catalog();
        let no_scans = [("ksql.query.pull.table.scan.enabled", "false")];
        let cases: Vec<Case> = vec![
            (
                "SELECT * FROM PLAIN WHERE ID = 1;",
                &[],
                "The `PLAIN` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_PLAIN AS SELECT * FROM PLAIN'. See https://cnfl.io/queries for more info.",
            ),
            (
                "SELECT * FROM T WHERE N = 100;",
                &no_scans,
                "WHERE clause missing key column for disjunct: (N = 100)",
            ),
            (
                "SELECT * FROM NUM WHERE ID + 10 = 20;",
                &no_scans,
                "A comparison must directly reference a key column.",
            ),
            (
                "SELECT * FROM NUM WHERE ID = N - 1;",
                &no_scans,
                "A comparison must be between a key column and a resolvable expression.",
            ),
            (
                "SELECT * FROM NUM WHERE ID IN (NULL);",
                &[],
                "Primary key columns can not be NULL: (ID = null)",
            ),
            (
                "SELECT * FROM NUM WHERE ID = NULL;",
                &[],
                "Error in WHERE expression: Comparison with NULL not supported: INTEGER = NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.\nStatement: (ID = null)",
            ),
            (
                "SELECT * FROM NUM WHERE ID = '10';",
                &[],
                "Error in WHERE expression: Cannot compare ID (INTEGER) to '10' (STRING) with EQUAL.\nStatement: (ID = '10')",
            ),
            (
                "SELECT * FROM NUM WHERE ID IN ('10', 8);",
                &[],
                "'10' can not be converted to the type of the key column: ID INTEGER KEY",
            ),
            (
                "SELECT * FROM TWO WHERE ID = 1;",
                &no_scans,
                "Multi-column sources must specify every key in the WHERE clause. Specified: [`ID`] Expected: [`ID` INTEGER KEY, `V` STRING KEY].",
            ),
            (
                "SELECT * FROM T WHERE V >= 'a' AND V <= 'c';",
                &no_scans,
                "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate.",
            ),
            (
                "SELECT * FROM T WHERE V <= 'a' OR V >= 'c';",
                &no_scans,
                "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true",
            ),
            (
                "SELECT * FROM T;",
                &no_scans,
                "Query requires table scan to be enabled",
            ),
            (
                "SELECT * FROM NUM WHERE WINDOWSTART = 10;",
                &[],
                "WHERE column 'WINDOWSTART' cannot be resolved.",
            ),
            (
                "SELECT * FROM NUM WHERE N LIKE 'x%';",
                &[],
                "The column type for Like condition must be VARCHAR. The column type is BIGINT.",
            ),
            (
                "SELECT * FROM S LIMIT 1;",
                &[("ksql.query.pull.limit.clause.enabled", "false")],
                "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
            ),
            (
                "SELECT *, ROWPARTITION FROM T WHERE V = 'a';",
                &[],
                "Pull queries don't support the following columns in SELECT clauses: `ROWPARTITION`\n See",
            ),
            (
                "SELECT * FROM S WHERE ID < 1 AND ROWOFFSET != 2;",
                &[],
                "Pull queries don't support the following columns in WHERE clauses: `ROWOFFSET`",
            ),
            (
                "SELECT * FROM S GROUP BY ID;",
                &[],
                "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
            ),
            (
                "SELECT * FROM S WINDOW TUMBLING (SIZE 1 SECOND);",
                &[],
                "Pull queries don't support WINDOW clauses.",
            ),
            (
                "SELECT * FROM T JOIN S ON T.N = S.ID;",
                &[],
                "Pull queries don't support JOIN clauses.",
            ),
            (
                "SELECT V, V FROM T WHERE V = 'a';",
                &[],
                "Duplicate key columns found in schema: `V` STRING",
            ),
            (
                "SELECT N, N FROM T WHERE V = 'a';",
                &[],
                "Duplicate value columns found in schema: `N` BIGINT",
            ),
        ];
        for (sql, properties, expected) in cases {
            let got = plan(&catalog, sql, properties);
            assert!(
                got.starts_with(expected),
                "{sql}\n got: {got}\nwant: {expected}"
            );
        }
    }

    #[test]
    fn pull_query_columns_keep_select_order_and_mark_keys() {
        let catalog = catalog();
        let cases = [
            (
                "SELECT N, V FROM T WHERE V = 'a';",
                "N BIGINT, V STRING KEY",
            ),
            (
                "SELECT * FROM W WHERE V = 'a';",
                "V STRING KEY, WINDOWSTART BIGINT KEY, WINDOWEND BIGINT KEY, N BIGINT",
            ),
            (
                "SELECT ROWTIME, WINDOWEND FROM W WHERE V = 'a';",
                "ROWTIME BIGINT, WINDOWEND BIGINT KEY",
            ),
        ];
        for (sql, expected) in cases {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            let Ok(Some(StatementPlan::Select { columns, .. })) =
                plan_statement(&catalog, &statement, &Properties::new())
            else {
                panic!("{sql}: does not plan");
            };
            let text: Vec<String> = columns
                .iter()
                .map(|column| {
                    let key = if column.kind == ColumnKind::Key {
                        " KEY"
                    } else {
                        ""
                    };
                    format!("{} {}{key}", column.name, sql_type_name(&column.data_type))
                })
                .collect();
            assert_eq!(text.join(", "), expected, "{sql}");
        }
    }
}
