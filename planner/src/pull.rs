//! Pull queries (a `SELECT` without `EMIT CHANGES`): validation and how they read their source.
//!
//! A pull query over a stream reads the topic to its current end. A pull query over a table
//! reads the table's current rows, narrowed by the keys its WHERE clause looks up, with
//! ksqlDB's rules and messages. Queries over materialized tables whose shape ksqlDB rejects
//! (joins, GROUP BY, aggregates) are planned as SQL over the state (`pull::sql`). Both read
//! keys through one analysis (`pull::key_analysis`). The executor does the reading
//! (`executor::pull`, `executor::table_provider`).

mod key_analysis;
mod key_value;
mod sql;
mod timestamp;

use std::collections::HashSet;
use std::ops::ControlFlow;

use parser::ast::{Query, Relation, SelectItem, SourceKind, Statement};
use sqlparser::ast::{Expr as SqlExpr, visit_expressions};

use crate::aggregate::is_aggregation;
use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, ROWOFFSET, ROWPARTITION, SourceDefinition, WINDOWEND,
    WINDOWSTART, quote_source_name,
};
use crate::expr::normalize_ident;
use crate::plan::DataflowPlan;
use crate::query::{Purpose, natural_name, plan_query_for};
use crate::statement::{Properties, StatementPlan, set_emit_per_record};
use crate::types::sql_type_name;
use crate::{PlanError, Result};
use key_analysis::{WhereContext, analyze_where};

pub use key_analysis::{KeyAnalysis, KeyColumns, KeyLookup};
pub use sql::{
    SqlPullPlan, SqlPullTable, plan_sql_pull, session_state, sql_error, sql_table_schema,
};
pub(crate) use timestamp::{parse_partial_timestamp, rewrite_timestamp_strings};

/// Appended to pull-query rule violations, as ksqlDB does (leading space included).
pub(crate) const PULL_QUERY_SYNTAX_HELP: &str = " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

/// The error of a table scan that table scans are disabled for.
const TABLE_SCAN_REQUIRED: &str = "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true";

/// The hint ending ksqlDB's invalid-WHERE messages (its double comma included).
pub(crate) const TABLE_SCAN_HINT: &str = "If more flexible queries are needed, , table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true.";

/// How a pull query is answered, as the planner picked it; `executor::pull::run_pull` runs
/// every kind.
#[derive(Debug, Clone)]
pub enum PullPlan {
    /// A stream: the dataflow runs over its records from the start of the topic to the end
    /// the topic has when the query starts; ends with `Query Completed`.
    Stream {
        plan: DataflowPlan,
        columns: Vec<ColumnDefinition>,
    },
    /// ksqlDB's pull query over one table, the fast path: the rows `table.keys` selects (key
    /// lookups, a key range or every row; never a tombstone) run through the dataflow's
    /// filter and projection.
    Table {
        plan: DataflowPlan,
        columns: Vec<ColumnDefinition>,
        table: TablePull,
    },
    /// A query over materialized tables whose shape ksqlDB's pull queries reject (a join,
    /// GROUP BY, aggregates, ORDER BY, subqueries), answered by SQL over the tables' state.
    Sql(Box<SqlPullPlan>),
}

impl PullPlan {
    /// A pull query over a table that reads only the keys it looks up: it answers in
    /// microseconds, so the server runs it where it is received.
    pub fn is_key_lookup(&self) -> bool {
        matches!(self, PullPlan::Table { table, .. } if matches!(table.keys, KeyLookup::Keys(_)))
    }
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
    if let Some(plan) = plan_beyond_ksql(catalog, query, statement, properties)? {
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
                range_scans_enabled: options.range_scans,
            };
            analyze_where(condition, &context)?
        }
        _ => KeyLookup::Scan,
    };
    let rewritten = Query {
        where_clause,
        ..query.clone()
    };
    let mut planned = plan_query_for(catalog, &rewritten, Purpose::Pull)?;
    set_emit_per_record(&mut planned.root, properties);

    let plan = DataflowPlan {
        root: planned.root,
        sink: None,
        limit: query.limit,
        max_poll_records: None,
    };
    let mut columns = planned.columns;
    // `SELECT *` answers the source's columns, its header columns as such.
    if matches!(query.select.as_slice(), [SelectItem::Wildcard]) {
        for column in &mut columns {
            if let Some(header) = source
                .header_columns()
                .find(|header| header.name == column.name)
            {
                column.kind = header.kind.clone();
            }
        }
    }
    let pull = match source.kind {
        SourceKind::Stream => PullPlan::Stream { plan, columns },
        SourceKind::Table => {
            let materialized = is_materialized(catalog, source);
            if !materialized && !source.is_source {
                let name = &source.name;
                return Err(PlanError::User(format!(
                    "The {} table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'.{PULL_QUERY_SYNTAX_HELP}",
                    quote_source_name(name)
                )));
            }
            if keys == KeyLookup::Scan && !options.table_scans {
                return Err(PlanError::User(TABLE_SCAN_REQUIRED.into()));
            }
            PullPlan::Table {
                plan,
                columns,
                table: TablePull {
                    table: source.name.clone(),
                    materialized,
                    keys,
                },
            }
        }
    };
    Ok(StatementPlan::Pull(pull))
}

/// A persistent query writes the table (its state holds the table's rows).
fn is_materialized(catalog: &Catalog, source: &SourceDefinition) -> bool {
    catalog.queries().any(|query| query.sink == source.name)
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
    properties: &Properties,
) -> Result<Option<StatementPlan>> {
    let joined = matches!(query.from, Relation::Join(_));
    let aggregating = !query.group_by.is_empty() || is_aggregation(query);
    if query.window.is_some() || !(joined || aggregating) {
        return Ok(None);
    }
    let mut names = Vec::new();
    relation_sources(&query.from, &mut names);
    for name in &names {
        match catalog.source(name) {
            Some(source)
                if source.kind == SourceKind::Table
                    && (source.is_source || is_materialized(catalog, source)) => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(StatementPlan::Pull(PullPlan::Sql(Box::new(
        plan_sql_pull(catalog, &statement.text, properties)?,
    )))))
}

#[cfg(test)]
mod tests;
