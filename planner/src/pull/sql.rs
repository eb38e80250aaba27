//! SQL pull queries beyond ksqlDB's: any SELECT over materialized tables (joins, GROUP BY and
//! aggregates, ORDER BY, LIMIT, subqueries, UNION), planned into a DataFusion `LogicalPlan`.
//!
//! The plan's table scans read placeholder sources with the tables' row schemas
//! (`sql_table_schema`); the executor gives them readers of one state snapshot
//! (`executor::table_provider`) and runs the plan (`executor::pull`). Identifiers follow ksqlDB's case rule
//! (`sql::identifiers`), unnamed columns ksqlDB's names (`sql::naming`).

mod context;
mod identifiers;
mod naming;

use std::collections::{BTreeMap, HashSet};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::{DFParser, Statement as DataFusionStatement};
use datafusion::sql::planner::SqlToRel;
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::ParserError;
use parser::ast::SourceKind;

use super::is_materialized;
use crate::catalog::{Catalog, ROWTIME, SourceDefinition, WINDOWEND, WINDOWSTART};
use crate::statement::Properties;
use crate::{PlanError, Result, user_error};

pub use context::session_state;

/// The session property that allows reading whole tables.
const TABLE_SCAN_PROPERTY: &str = "ksql.query.pull.table.scan.enabled";

/// A SQL pull query, planned.
#[derive(Debug, Clone)]
pub struct SqlPullPlan {
    /// DataFusion's plan (run in `session_state`). Its table scans name the tables of
    /// `tables` and read placeholders of their row schemas, to be replaced by readers.
    pub plan: LogicalPlan,
    /// The tables the query reads, by name.
    pub tables: Vec<SqlPullTable>,
    /// `ksql.query.pull.table.scan.enabled` is false: every table read must be narrowed by a
    /// key predicate (the executor checks once the scans are planned).
    pub key_reads_only: bool,
    /// The result rows: the plan's columns with unique names and the Arrow types Eddy uses
    /// for their ksqlDB types (types ksqlDB lacks, such as NULL and intervals, as STRING).
    pub output: SchemaRef,
}

/// A table a SQL pull query reads.
#[derive(Debug, Clone)]
pub struct SqlPullTable {
    pub source: SourceDefinition,
    /// A persistent query writes the table (its state holds the rows). Otherwise the table
    /// is a `CREATE SOURCE TABLE` read from its topic, the last record per key.
    pub materialized: bool,
}

/// The rows of a table as SQL pull queries read them: the key columns, the value columns,
/// `ROWTIME` and, for windowed tables, `WINDOWSTART` and `WINDOWEND`.
pub fn sql_table_schema(source: &SourceDefinition) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = source
        .key_fields()?
        .iter()
        .chain(source.value_fields()?.iter())
        .map(|field| field.as_ref().clone())
        .collect();
    fields.push(Field::new(ROWTIME, DataType::Int64, true));
    if source.window.is_some() {
        fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
        fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    }
    Ok(SchemaRef::new(Schema::new(fields)))
}

/// Plans `sql` (the text of one SELECT) over the materialized tables it names.
pub fn plan_sql_pull(catalog: &Catalog, sql: &str, properties: &Properties) -> Result<SqlPullPlan> {
    let text = identifiers::upper_case_identifiers(sql)?;
    let mut statements =
        DFParser::parse_sql_with_dialect(&text, &GenericDialect {}).map_err(sql_error)?;
    let mut statement = match (statements.pop_front(), statements.is_empty()) {
        (Some(statement), true) => statement,
        _ => return user_error("expected one SELECT statement"),
    };
    let DataFusionStatement::Statement(sql) = &mut statement else {
        return user_error("expected a SELECT statement");
    };
    let SqlStatement::Query(select) = sql.as_mut() else {
        return user_error("expected a SELECT statement");
    };
    check_limit(select)?;
    naming::name_select_items(select);
    let (references, _) = resolve_table_references(&statement, false).map_err(sql_error)?;
    let tables = queried_tables(catalog, &references)?;
    let state = session_state();
    let mut context = context::PlanningContext::new(state);
    for table in &tables {
        context.add_table(&table.source.name, sql_table_schema(&table.source)?);
    }
    let plan = SqlToRel::new_with_options(&context, context::parser_options(state))
        .statement_to_plan(statement)
        .map_err(sql_error)?;
    let key_reads_only = properties
        .get(TABLE_SCAN_PROPERTY)
        .is_some_and(|value| value.eq_ignore_ascii_case("false"));
    let output = output_schema(&plan);
    Ok(SqlPullPlan {
        plan,
        tables,
        key_reads_only,
        output,
    })
}

/// A pull query's LIMIT is not negative (ksqlDB's message).
fn check_limit(query: &datafusion::sql::sqlparser::ast::Query) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, LimitClause, UnaryOperator};
    let limit = match &query.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(limit), ..
        })
        | Some(LimitClause::OffsetCommaLimit { limit, .. }) => limit,
        _ => return Ok(()),
    };
    let negative = match limit {
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => matches!(expr.as_ref(), SqlExpr::Value(_)),
        SqlExpr::Value(value) => value.to_string().starts_with('-'),
        _ => false,
    };
    if negative {
        return user_error(
            "Pull queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info.",
        );
    }
    Ok(())
}

/// The result schema of a SQL pull query: unique names, ksqlDB types.
fn output_schema(plan: &LogicalPlan) -> SchemaRef {
    let mut used = HashSet::new();
    let fields: Vec<Field> = plan
        .schema()
        .fields()
        .iter()
        .map(|field| {
            Field::new(
                naming::unique_name(field.name(), &mut used),
                output_type(field.data_type()),
                true,
            )
        })
        .collect();
    SchemaRef::new(Schema::new(fields))
}

/// The Arrow type Eddy uses for the ksqlDB type of a DataFusion result column; types ksqlDB
/// lacks (NULL, intervals) become STRING.
fn output_type(data_type: &DataType) -> DataType {
    crate::types::from_arrow(data_type)
        .and_then(|ksql_type| crate::types::to_arrow(&ksql_type).ok())
        .unwrap_or(DataType::Utf8)
}

/// The tables a query reads, checked: each exists and is queryable. Qualified names are
/// left to DataFusion, which reports them as unknown tables.
fn queried_tables(catalog: &Catalog, references: &[TableReference]) -> Result<Vec<SqlPullTable>> {
    let mut tables: BTreeMap<String, SqlPullTable> = BTreeMap::new();
    for reference in references {
        let TableReference::Bare { table } = reference else {
            continue;
        };
        let source = catalog.require_source(table)?;
        if source.kind == SourceKind::Stream {
            return user_error(format!(
                "`{}` is a stream: pull queries with joins, aggregates, ORDER BY or subqueries \
                 read tables only",
                source.name
            ));
        }
        let materialized = is_materialized(catalog, source);
        if !materialized && !source.is_source {
            let name = &source.name;
            return user_error(format!(
                "The `{name}` table isn't queryable. To derive a queryable table, you can do \
                 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'. See \
                 https://cnfl.io/queries for more info."
            ));
        }
        let table = SqlPullTable {
            source: source.clone(),
            materialized,
        };
        tables.insert(source.name.clone(), table);
    }
    Ok(tables.into_values().collect())
}

/// A DataFusion error as a planning error: the user's, with DataFusion's prefixes ("Error
/// during planning: ", "SQL error: ", ...) removed; a bug in DataFusion stays internal.
pub fn sql_error(error: DataFusionError) -> PlanError {
    match error {
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            sql_error(*inner)
        }
        DataFusionError::Collection(mut errors) if !errors.is_empty() => {
            sql_error(errors.swap_remove(0))
        }
        DataFusionError::SQL(error, _) => PlanError::User(match *error {
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => message,
            other => other.to_string(),
        }),
        DataFusionError::Internal(message) => PlanError::Internal(message),
        other => PlanError::User(other.message().into_owned()),
    }
}
