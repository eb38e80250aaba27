//! Planning of `SELECT` queries into dataflows: source, filter, projection, partitioning.
//!
//! Decides the output columns of a query the ksqlDB way: which are key columns, their names
//! (aliases, column names, struct field names, `KSQL_COL_n`), and their order: keys first for a
//! persistent query, select order for push and pull queries.

mod join;
mod projection;
mod table_function;
#[cfg(test)]
mod tests;

pub use self::join::MissingJoinKey;

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field, Schema};
use datafusion::common::{Column, DFSchema, DFSchemaRef, TableReference};
use datafusion::logical_expr::{Expr, ExprSchemable};
use parser::ast::{Query, Relation, SelectItem, SourceKind};
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr};

use self::projection::{plan_aggregate_projection, plan_projection};
use crate::aggregate::{is_aggregation, plan_aggregation};
use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, OP_COLUMN, ROWOFFSET, ROWPARTITION, ROWTIME,
    SourceDefinition, WINDOWEND, WINDOWSTART, WindowInfo,
};
use crate::expr::{ExprLowering, FormattedExpr, normalize_ident};
use crate::plan::{
    DataflowNode, FilterNode, ProjectNode, ROWTIME_OUTPUT, SourceNode, WINDOWEND_OUTPUT,
    WINDOWSTART_OUTPUT,
};
use crate::types::from_arrow;
use crate::{PlanError, Properties, Result, user_error};

/// A planned query before a sink is attached.
#[derive(Debug, Clone)]
pub struct PlannedQuery {
    pub root: DataflowNode,
    /// Output columns: keys first, then values.
    pub columns: Vec<ColumnDefinition>,
    /// The source the query reads (for a join, the joined row as a source).
    pub source: SourceDefinition,
    /// Every source the query reads, in FROM order.
    pub sources: Vec<String>,
    /// A persistent join query that does not select its join key.
    pub missing_join_key: Option<MissingJoinKey>,
    /// Windowed output keys (a windowed aggregation, or a windowed source).
    pub window: Option<WindowInfo>,
    /// The output is a changelog (a table): rows carry `$op`.
    pub changelog: bool,
    /// Grouping expressions of an aggregation missing from its projection (an error for a
    /// persistent query).
    pub missing_keys: Vec<String>,
    /// A PARTITION BY expression left out of a persistent query's projection whose key
    /// name a value column already takes (ksqlDB's text of it, qualified).
    pub missing_partition_key: Option<String>,
}

/// One output column being decided.
#[derive(Clone)]
struct OutputColumn {
    name: String,
    expr: Expr,
    is_key: bool,
}

/// What a query is planned for; the output columns differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A persistent query: keys first, a window stays in the key.
    Persistent,
    /// A push query: columns in select order; `SELECT *` over a windowed source also lists
    /// `WINDOWSTART` and `WINDOWEND`.
    Push,
    /// A pull query: columns in select order (as ksqlDB returns them); `SELECT *` over a
    /// windowed source lists the window bounds, which are key columns as the source's keys.
    Pull,
}

/// Whether ksqlDB runs push query `query` as a scalable push query
/// (`ksql.query.push.v2.enabled`): a plain `EMIT CHANGES` query from `latest` over the sink of
/// exactly one persistent query, without GROUP BY, WINDOW, HAVING, PARTITION BY, joins or
/// the `ROWPARTITION`/`ROWOFFSET` columns. Its rows are the same; its query id differs.
pub fn is_scalable_push(catalog: &Catalog, query: &Query, properties: &Properties) -> bool {
    let enabled = |name: &str, value: &str| {
        properties
            .get(name)
            .is_some_and(|text| text.eq_ignore_ascii_case(value))
    };
    let Relation::Source { name, .. } = &query.from else {
        return false;
    };
    let writers = catalog.queries().filter(|q| q.sink == *name).count();
    let mut expressions: Vec<&SqlExpr> = query.where_clause.iter().collect();
    expressions.extend(query.select.iter().filter_map(|item| match item {
        SelectItem::Expr { expr, .. } => Some(expr),
        _ => None,
    }));
    let disallowed = expressions.iter().any(|expr| {
        sqlparser::ast::visit_expressions(*expr, |expr| {
            let column = match expr {
                SqlExpr::Identifier(ident) => Some(ident),
                SqlExpr::CompoundIdentifier(parts) => parts.last(),
                _ => None,
            };
            match column.map(normalize_ident).as_deref() {
                Some(ROWPARTITION | ROWOFFSET) => std::ops::ControlFlow::Break(()),
                _ => std::ops::ControlFlow::Continue(()),
            }
        })
        .is_break()
    });
    enabled("ksql.query.push.v2.enabled", "true")
        && enabled("auto.offset.reset", "latest")
        && query.emit == Some(parser::ast::Emit::Changes)
        && query.group_by.is_empty()
        && query.window.is_none()
        && query.having.is_none()
        && query.partition_by.is_empty()
        && writers == 1
        && !disallowed
}

/// Plans a query over the catalog.
pub fn plan_query(catalog: &Catalog, query: &Query) -> Result<PlannedQuery> {
    plan_query_for(catalog, query, Purpose::Persistent)
}

/// Plans a query for `purpose`; its state tables are named (`assign_state_tables`).
pub fn plan_query_for(catalog: &Catalog, query: &Query, purpose: Purpose) -> Result<PlannedQuery> {
    let mut planned = plan_dataflow(catalog, query, purpose)?;
    planned.root.assign_state_tables();
    Ok(planned)
}

fn plan_dataflow(catalog: &Catalog, query: &Query, purpose: Purpose) -> Result<PlannedQuery> {
    check_system_column_aliases(query, purpose)?;
    let aggregating = is_aggregation(query);
    if let Relation::Join(_) = &query.from {
        let joined = join::plan_join(
            catalog,
            query,
            purpose == Purpose::Persistent,
            purpose != Purpose::Pull,
            aggregating,
        )?;
        let mut planned = plan_over(
            catalog,
            &joined.query,
            purpose,
            joined.source,
            Some(joined.root),
        )?;
        planned.sources = joined.sources;
        planned.missing_join_key = joined.missing_key;
        return Ok(planned);
    }
    let Relation::Source { name, .. } = &query.from else {
        unreachable!("a FROM is a source or a join");
    };
    let source = catalog.require_source(name)?.clone();
    plan_over(catalog, query, purpose, source, None)
}

/// Plans `query` over `source`; `input` is the node producing its rows (a join), else the
/// source is read from its topic.
fn plan_over(
    catalog: &Catalog,
    query: &Query,
    purpose: Purpose,
    source: SourceDefinition,
    input: Option<DataflowNode>,
) -> Result<PlannedQuery> {
    let transient = purpose != Purpose::Persistent;
    let qualifier = match (&query.from, &input) {
        (Relation::Source { name, alias }, None) => alias.clone().unwrap_or_else(|| name.clone()),
        _ => source.name.clone(),
    };
    check_system_column_selects(query, purpose)?;
    let aggregating = is_aggregation(query);
    let table_functions = table_function::check_table_functions(query, source.kind, aggregating)?;
    let changelog = source.kind == SourceKind::Table;
    // A persistent query over a stream passes a record with a null value on as a null value
    // (as ksqlDB does; WHERE drops it), so its rows carry `$op` like a table's.
    let null_values = !changelog && !aggregating && purpose == Purpose::Persistent;
    let carries_op = changelog || null_values;
    let mut row_schema = source.row_schema()?.as_ref().clone();
    if carries_op {
        let mut fields: Vec<Arc<Field>> = row_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(OP_COLUMN, ArrowType::Int8, true)));
        row_schema = Schema::new(fields);
    }
    // The qualifier is the name as written (`TableReference::bare`): parsing it would
    // lower-case it, and `source.column` would no longer find its source.
    let schema = Arc::new(DFSchema::try_from_qualified_schema(
        TableReference::bare(qualifier.as_str()),
        &row_schema,
    )?);
    let sources = vec![source.name.clone()];
    let mut root = match input {
        Some(input) => input,
        None => source_node(
            &source,
            Arc::clone(&schema),
            carries_op,
            changelog && aggregating,
        )?,
    };

    if let Some(predicate) = &query.where_clause {
        let lowering = ExprLowering {
            schema: &schema,
            catalog,
            clause: "WHERE",
        };
        // A datetime string compared with ROWTIME or a window bound is its epoch millis.
        let mut predicate = predicate.clone();
        crate::pull::rewrite_timestamp_strings(&mut predicate)?;
        let predicate = lowering.lower(&predicate)?;
        let predicate_type = predicate.get_type(&schema)?;
        if !matches!(predicate_type, ArrowType::Boolean | ArrowType::Null) {
            return Err(PlanError::User(format!(
                "Type error in WHERE expression: Should evaluate to boolean but is {} ({}) instead.",
                query
                    .where_clause
                    .as_ref()
                    .map(|e| FormattedExpr(e).to_string())
                    .unwrap_or_default(),
                crate::types::arrow_type_name(&predicate_type)
            )));
        }
        root = DataflowNode::Filter(FilterNode {
            input: Box::new(root),
            predicate,
            // A persistent table query turns failing rows into tombstones; a transient query
            // (push or pull) just leaves them out.
            to_tombstone: changelog && !aggregating && !transient,
            drop_deletes: null_values,
        });
    }

    if aggregating {
        let aggregation = plan_aggregation(
            catalog,
            query,
            &source,
            root,
            &schema,
            purpose == Purpose::Persistent,
        )?;
        let mut planned = plan_aggregate_projection(catalog, query, source, aggregation, purpose)?;
        planned.sources = sources;
        if purpose == Purpose::Persistent && query.group_by.is_empty() {
            return user_error(format!(
                "CREATE TABLE AS SELECT statement does not support aggregate function [{}] without a GROUP BY clause.",
                aggregate_calls_text(query).join(", ")
            ));
        }
        return Ok(planned);
    }

    let (mut outputs, missing_partition_key) =
        plan_projection(catalog, query, &source, &schema, purpose)?;
    if null_values && !query.partition_by.is_empty() {
        null_partition_keys_of_null_values(&mut outputs, &source, &schema, &qualifier)?;
    }
    let (root, schema) = if table_functions {
        table_function::plan_table_functions(&mut outputs, root, &schema, &qualifier)?
    } else {
        (root, schema)
    };
    let (ordered, key_columns): (Vec<&OutputColumn>, usize) = if purpose != Purpose::Persistent {
        // Select order, as ksqlDB returns the rows of push and pull queries; only the leading
        // keys count as the projection's key columns.
        let leading_keys = outputs.iter().take_while(|c| c.is_key).count();
        (outputs.iter().collect(), leading_keys)
    } else {
        let mut ordered: Vec<&OutputColumn> = outputs.iter().filter(|c| c.is_key).collect();
        let key_columns = ordered.len();
        ordered.extend(outputs.iter().filter(|c| !c.is_key));
        (ordered, key_columns)
    };

    let mut exprs = Vec::new();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for output in &ordered {
        let (expr, field, column) =
            output_column(&schema, &output.expr, &output.name, output.is_key)?;
        let data_type = column.data_type.clone();
        if output.is_key && crate::types::contains_map(&data_type) {
            return Err(crate::types::map_key_error(&output.name, &data_type));
        }
        fields.push(field);
        exprs.push(expr);
        columns.push(column);
    }
    let column = |name: &str| {
        Expr::Column(Column::new(
            Some(TableReference::bare(qualifier.as_str())),
            name,
        ))
    };
    let window = if query.partition_by.is_empty() {
        source.window
    } else {
        None
    };
    let root = finish_projection(
        root,
        exprs,
        fields,
        key_columns,
        column(ROWTIME),
        window.map(|_| (column(WINDOWSTART), column(WINDOWEND))),
        carries_op.then(|| column(OP_COLUMN)),
    )?;
    Ok(PlannedQuery {
        root,
        columns,
        window,
        changelog,
        missing_keys: Vec::new(),
        missing_partition_key,
        source,
        sources,
        missing_join_key: None,
    })
}

/// PARTITION BY over a stream record with a null value: as in ksqlDB, a new key column that
/// is a source key column keeps its value and any other expression (even `ROWTIME` or
/// `x IS NULL`) is null, since the row it would be computed from is null.
fn null_partition_keys_of_null_values(
    outputs: &mut [OutputColumn],
    source: &SourceDefinition,
    schema: &DFSchema,
    qualifier: &str,
) -> Result<()> {
    let deleted = Expr::Column(Column::new(
        Some(TableReference::bare(qualifier)),
        OP_COLUMN,
    ))
    .eq(datafusion::logical_expr::lit(crate::catalog::OP_DELETE));
    for output in outputs.iter_mut().filter(|output| output.is_key) {
        let is_source_key = matches!(&output.expr, Expr::Column(column)
            if source.column(&column.name).is_some_and(|c| c.kind == ColumnKind::Key));
        if is_source_key {
            continue;
        }
        let null = datafusion::common::ScalarValue::try_from(&output.expr.get_type(schema)?)?;
        output.expr = datafusion::logical_expr::when(deleted.clone(), Expr::Literal(null, None))
            .otherwise(output.expr.clone())?;
    }
    Ok(())
}

/// The node reading `source`'s topic into rows of `schema`: a changelog (`$op`) when
/// `changelog`, with retract rows before updates when `retract`.
pub(crate) fn source_node(
    source: &SourceDefinition,
    schema: DFSchemaRef,
    changelog: bool,
    retract: bool,
) -> Result<DataflowNode> {
    Ok(DataflowNode::Source(SourceNode {
        name: source.name.clone(),
        kind: source.kind,
        topic: source.topic.clone(),
        key_format: source.key_format.clone(),
        value_format: source.value_format.clone(),
        key_fields: source.key_fields()?,
        value_fields: source.value_fields()?,
        header_columns: source
            .header_columns()
            .map(|column| (column.name.clone(), column.kind.clone()))
            .collect(),
        timestamp: source.timestamp.clone(),
        throw_on_invalid_timestamp: false,
        window: source.window,
        changelog,
        retract,
        state: None,
        schema,
    }))
}

/// The aggregate calls of a query's select list as ksqlDB prints them (`COUNT(*)` counts
/// `ROWTIME`).
fn aggregate_calls_text(query: &Query) -> Vec<String> {
    let mut calls = Vec::new();
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item {
            let _ = sqlparser::ast::visit_expressions(expr, |expr| {
                if let SqlExpr::Function(function) = expr
                    && crate::aggregate::is_aggregate_function(&function.name.to_string())
                {
                    let text = FormattedExpr(expr).to_string();
                    calls.push(match text.as_str() {
                        "COUNT(*)" | "COUNT()" => "COUNT(ROWTIME)".to_string(),
                        _ => text,
                    });
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
    }
    calls
}

/// The system columns: no alias may take their names.
const SYSTEM_COLUMNS: [&str; 5] = [ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND];

/// ksqlDB's rule for aliases in a select list as written: no alias may take the name of a
/// system column (`ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, `WINDOWSTART`, `WINDOWEND`), except
/// that of the system column it selects (`l.WINDOWSTART AS WINDOWSTART`), which a persistent
/// query may not select under its own name (`check_system_column_selects`).
fn check_system_column_aliases(query: &Query, purpose: Purpose) -> Result<()> {
    for item in &query.select {
        let SelectItem::Expr {
            expr,
            alias: Some(alias),
        } = item
        else {
            continue;
        };
        if !SYSTEM_COLUMNS.contains(&alias.as_str()) {
            continue;
        }
        if purpose == Purpose::Persistent && natural_name(expr).as_ref() == Some(alias) {
            return reserved_in_select(alias);
        }
        return user_error(format!(
            "`{alias}` is a reserved column name. You cannot use it as an alias for a column."
        ));
    }
    Ok(())
}

/// ksqlDB's rule for system columns in the select list of a persistent query: none may be
/// selected under its own name.
fn check_system_column_selects(query: &Query, purpose: Purpose) -> Result<()> {
    if purpose != Purpose::Persistent {
        return Ok(());
    }
    for item in &query.select {
        if let SelectItem::Expr { expr, alias: None } = item
            && let Some(name) = natural_name(expr)
            && SYSTEM_COLUMNS.contains(&name.as_str())
        {
            return reserved_in_select(&name);
        }
    }
    Ok(())
}

fn reserved_in_select<T>(name: &str) -> Result<T> {
    user_error(format!(
        "Reserved column name in select: `{name}`. Please remove or alias the column."
    ))
}

/// Adds the hidden trailing columns (`$rowtime`, window bounds, `$op`) and builds the
/// projection node.
fn finish_projection(
    input: DataflowNode,
    mut exprs: Vec<Expr>,
    mut fields: Vec<Field>,
    key_columns: usize,
    rowtime: Expr,
    window: Option<(Expr, Expr)>,
    op: Option<Expr>,
) -> Result<DataflowNode> {
    exprs.push(rowtime.alias(ROWTIME_OUTPUT));
    fields.push(Field::new(ROWTIME_OUTPUT, ArrowType::Int64, true));
    if let Some((start, end)) = window {
        exprs.push(start.alias(WINDOWSTART_OUTPUT));
        fields.push(Field::new(WINDOWSTART_OUTPUT, ArrowType::Int64, true));
        exprs.push(end.alias(WINDOWEND_OUTPUT));
        fields.push(Field::new(WINDOWEND_OUTPUT, ArrowType::Int64, true));
    }
    if let Some(op) = op {
        exprs.push(op.alias(OP_COLUMN));
        fields.push(Field::new(OP_COLUMN, ArrowType::Int8, true));
    }
    let schema = Arc::new(DFSchema::try_from(Schema::new(fields))?);
    Ok(DataflowNode::Project(ProjectNode {
        input: Box::new(input),
        exprs,
        key_columns,
        schema,
    }))
}

/// One output column of an aggregation: its lowered expression and name.
fn output_column(
    data_type_of: &DFSchema,
    expr: &Expr,
    name: &str,
    is_key: bool,
) -> Result<(Expr, Field, ColumnDefinition)> {
    let arrow_type = expr.get_type(data_type_of)?;
    let data_type = match &arrow_type {
        ArrowType::Null => parser::ast::DataType::String,
        other => from_arrow(other).ok_or_else(|| {
            PlanError::User(format!(
                "column \"{name}\" has a type ksqlDB cannot represent: {other}"
            ))
        })?,
    };
    let expr = if arrow_type == ArrowType::Null {
        Expr::Cast(datafusion::logical_expr::Cast::new(
            Box::new(expr.clone()),
            ArrowType::Utf8,
        ))
    } else {
        expr.clone()
    };
    Ok((
        expr.alias(name),
        Field::new(name, crate::types::to_arrow(&data_type)?, true),
        ColumnDefinition {
            name: name.to_string(),
            data_type,
            kind: if is_key {
                ColumnKind::Key
            } else {
                ColumnKind::Value
            },
        },
    ))
}

/// The name ksqlDB gives an unaliased select expression, if it has a natural one.
pub(crate) fn natural_name(expr: &SqlExpr) -> Option<String> {
    match expr {
        SqlExpr::Identifier(ident) => Some(normalize_ident(ident)),
        SqlExpr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
        SqlExpr::Nested(inner) => natural_name(inner),
        SqlExpr::BinaryOp {
            op: BinaryOperator::Arrow,
            right,
            ..
        } => match right.as_ref() {
            SqlExpr::Identifier(ident) => Some(normalize_ident(ident)),
            _ => None,
        },
        _ => None,
    }
}

/// Gives an unqualified column the qualifier the schema has for it.
fn requalify(expr: Expr, schema: &DFSchema) -> Expr {
    match expr {
        Expr::Column(column) if column.relation.is_none() => {
            match schema
                .iter()
                .find(|(_, field)| field.name() == &column.name)
            {
                Some((qualifier, field)) => {
                    Expr::Column(Column::new(qualifier.cloned(), field.name()))
                }
                None => Expr::Column(column),
            }
        }
        other => other,
    }
}
