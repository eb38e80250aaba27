//! Planning of aggregations: `GROUP BY`, aggregate calls, `WINDOW`, `HAVING`, and the
//! projection over the aggregate's output.
//!
//! Select and `HAVING` expressions are rewritten before lowering: each aggregate call becomes
//! a reference to its aggregate column (`$AGG<i>`) and each grouping expression that is not a
//! plain column becomes a reference to its group column (`$KEY<i>`); what remains must be
//! computable from the group and aggregate columns, as ksqlDB requires.

mod repartition;

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::DataType as ArrowType;
use datafusion::common::{DFSchema, TableReference};
use datafusion::logical_expr::{Cast, Expr, ExprSchemable};
use parser::ast::{Query, SelectItem, SourceKind, WindowExpr};
use sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Visit, VisitMut,
    Visitor, VisitorMut,
};

use crate::catalog::{
    Catalog, OP_COLUMN, ROWTIME, SourceDefinition, WINDOWEND, WINDOWSTART, WindowKind,
};
use crate::expr::{ExprLowering, FormattedExpr, canonical, normalize_ident};
pub use crate::functions::aggregate::{
    AggregateSignature, is_aggregate_function, resolve_aggregate_with_sql,
};
use crate::plan::{AggregateCall, AggregateNode, DataflowNode, FilterNode, WindowPlan};
use crate::{PlanError, Result, user_error};

/// Default grace period of windows without `GRACE PERIOD` (Kafka Streams' legacy default).
const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

/// The aggregation of a query: the aggregate node (with `HAVING` above it) and the rewritten
/// select items to project over its schema.
pub struct PlannedAggregation {
    pub root: DataflowNode,
    /// The aggregate node's output schema (what projections are lowered against).
    pub schema: Arc<DFSchema>,
    /// Select items with aggregate calls and grouping expressions replaced by column refs,
    /// each with its alias and natural name.
    pub items: Vec<(SqlExpr, Option<String>, Option<String>)>,
    /// The `WINDOW` of the aggregation.
    pub window: Option<WindowPlan>,
    /// Names of the group columns in `schema`, in `GROUP BY` order.
    pub group_names: Vec<String>,
    /// Text of each `GROUP BY` expression, for messages.
    pub group_texts: Vec<String>,
}

/// Whether a query aggregates (GROUP BY, WINDOW, or aggregate calls).
pub fn is_aggregation(query: &Query) -> bool {
    if !query.group_by.is_empty() || query.window.is_some() || query.having.is_some() {
        return true;
    }
    query.select.iter().any(|item| match item {
        SelectItem::Expr { expr, .. } => contains_aggregate(expr),
        _ => false,
    })
}

fn contains_aggregate(expr: &SqlExpr) -> bool {
    first_aggregate(expr).is_some()
}

/// The upper-cased name of the first aggregate function called in `expr`.
fn first_aggregate(expr: &SqlExpr) -> Option<String> {
    let mut found = None;
    let _ = Visit::visit(expr, &mut FindAggregates { found: &mut found });
    found
}

struct FindAggregates<'a> {
    found: &'a mut Option<String>,
}

impl Visitor for FindAggregates<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::Function(function) = expr
            && is_aggregate_function(&function.name.to_string())
        {
            *self.found = Some(function.name.to_string().to_uppercase());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// The window plan of a `WINDOW` clause.
pub fn window_plan(window: &WindowExpr) -> Result<WindowPlan> {
    let millis = |d: &parser::ast::Duration| d.as_millis() as i64;
    let (kind, size, advance, retention, grace) = match window {
        WindowExpr::Tumbling {
            size,
            retention,
            grace,
        } => (
            WindowKind::Tumbling,
            millis(size),
            millis(size),
            retention,
            grace,
        ),
        WindowExpr::Hopping {
            size,
            advance,
            retention,
            grace,
        } => {
            if millis(advance) > millis(size) {
                return user_error(format!(
                    "Window advance must be less than or equal to window size. Got advance={}ms and size={}ms",
                    millis(advance),
                    millis(size)
                ));
            }
            if millis(advance) == 0 {
                return user_error("Window advance must be greater than zero");
            }
            (
                WindowKind::Hopping,
                millis(size),
                millis(advance),
                retention,
                grace,
            )
        }
        WindowExpr::Session {
            gap,
            retention,
            grace,
        } => (WindowKind::Session, millis(gap), 0, retention, grace),
    };
    if size <= 0 && kind != WindowKind::Session {
        return user_error("Window size must be greater than zero");
    }
    let grace = grace.as_ref().map(millis).unwrap_or(DEFAULT_GRACE_MS);
    // Kafka Streams' default retention of a window store: size plus grace.
    let retention = retention.as_ref().map(millis).unwrap_or(size + grace);
    if retention < size + grace && kind != WindowKind::Session {
        return user_error(format!(
            "The retention period ({retention} ms) must be greater than or equal to the window size plus grace period ({} ms)",
            size + grace
        ));
    }
    Ok(WindowPlan {
        kind,
        size,
        advance,
        grace,
        retention,
    })
}

/// Plans the aggregation of `query` over `input` (source and WHERE already planned);
/// `repartition`: a persistent query, whose groups that span the source's partitions move
/// through a `GroupBy` repartition (see `repartition`).
/// The aggregation's state is written in the source's value format (ksqlDB's internal
/// topics): KAFKA cannot hold it at all, DELIMITED not the ARRAY, MAP or STRUCT states of
/// functions such as AVG or TOPK.
fn check_internal_format(source: &SourceDefinition, calls: &[AggregateCall]) -> Result<()> {
    match source.value_format.name.as_str() {
        "KAFKA" => user_error(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )),
        "DELIMITED" if calls.iter().any(|call| call.signature.complex_intermediate) => user_error(
            "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
        ),
        _ => Ok(()),
    }
}

pub fn plan_aggregation(
    catalog: &Catalog,
    query: &Query,
    source: &SourceDefinition,
    input: DataflowNode,
    input_schema: &DFSchema,
    repartition: bool,
) -> Result<PlannedAggregation> {
    let lowering = ExprLowering {
        schema: input_schema,
        catalog,
        clause: "GROUP BY",
    };
    // Without GROUP BY, the whole input is one group: a constant key (a push query leaves
    // it out; a persistent query is rejected in `query`).
    let whole_input = [SqlExpr::value(sqlparser::ast::Value::Boolean(true))];
    let group_by: &[SqlExpr] = if query.group_by.is_empty() {
        &whole_input
    } else {
        &query.group_by
    };
    // Group columns.
    let mut group_exprs = Vec::new();
    let mut group_names = Vec::new();
    let mut group_texts = Vec::new();
    let mut fields: Vec<(Option<TableReference>, Arc<arrow::datatypes::Field>)> = Vec::new();
    for (index, expr) in group_by.iter().enumerate() {
        if let Some(function) = first_aggregate(expr) {
            return user_error(format!(
                "GROUP BY does not support aggregate functions: {function} is an aggregate function."
            ));
        }
        let lowered = lowering.lower(expr)?;
        let data_type = lowered.get_type(input_schema)?;
        let (qualifier, name) = match &lowered {
            Expr::Column(column) => (column.relation.clone(), column.name.clone()),
            _ => (None, format!("$KEY{index}")),
        };
        if group_names.contains(&name) {
            continue;
        }
        fields.push((
            qualifier,
            Arc::new(arrow::datatypes::Field::new(&name, data_type, true)),
        ));
        group_exprs.push(lowered);
        group_names.push(name);
        group_texts.push(expr.to_string());
    }

    // Aggregate calls, collected while rewriting select items and HAVING.
    let mut rewriter = Rewriter {
        lowering: ExprLowering {
            schema: input_schema,
            catalog,
            clause: "SELECT",
        },
        group_by: group_by.iter().map(canonical).collect(),
        group_names: &group_names,
        calls: Vec::new(),
        texts: Vec::new(),
        written: Vec::new(),
        error: None,
    };
    let mut items = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Expr { expr, alias } => {
                let natural = crate::query::natural_name(expr);
                let mut rewritten = expr.clone();
                let _ = VisitMut::visit(&mut rewritten, &mut rewriter);
                items.push((rewritten, alias.clone(), natural));
            }
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                if query.group_by.is_empty() && query.window.is_some() {
                    return user_error("WINDOW clause requires a GROUP BY clause.");
                }
                // The columns `*` selects that are not grouped: ksqlDB's error.
                let ungrouped: Vec<&str> = source
                    .key_columns()
                    .chain(source.value_columns())
                    .map(|column| column.name.as_str())
                    .filter(|name| !group_names.iter().any(|group| group == name))
                    .collect();
                if !ungrouped.is_empty() {
                    return user_error(format!(
                        "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
                        ungrouped.join(", ")
                    ));
                }
                return user_error(
                    "SELECT * is not supported in aggregations: list the grouping and aggregate expressions",
                );
            }
            SelectItem::StructWildcard(_) => {
                return user_error("struct wildcards are not supported in aggregations");
            }
        }
    }
    let having = query.having.as_ref().map(|having| {
        let mut rewritten = having.clone();
        let _ = VisitMut::visit(&mut rewritten, &mut rewriter);
        rewritten
    });
    if let Some(error) = rewriter.error.take() {
        return Err(error);
    }
    if rewriter.calls.is_empty() && query.group_by.is_empty() {
        return user_error("WINDOW clause requires a GROUP BY clause.");
    }
    if rewriter.calls.is_empty() {
        // An unknown function is a better explanation than a missing aggregate.
        let lowering = ExprLowering {
            schema: input_schema,
            catalog,
            clause: "SELECT",
        };
        for item in &query.select {
            if let SelectItem::Expr { expr, .. } = item
                && let Err(PlanError::User(message)) = lowering.lower(expr)
                && message.contains("Can't find any functions")
            {
                return Err(PlanError::User(message));
            }
        }
        return user_error(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
        );
    }
    if source.kind == SourceKind::Table {
        let mut unsupported: Vec<&str> = rewriter
            .calls
            .iter()
            .filter(|call| !call.signature.table_supported)
            .map(|call| call.signature.name.as_str())
            .collect();
        // In call order, each once, as ksqlDB lists them.
        let mut seen = std::collections::HashSet::new();
        unsupported.retain(|name| seen.insert(*name));
        if !unsupported.is_empty() {
            let listed = and_list(&unsupported);
            let plural = if unsupported.len() > 1 {
                "functions"
            } else {
                "function"
            };
            return user_error(format!(
                "The aggregation {plural} {listed} cannot be applied to a table source, only to a stream source."
            ));
        }
    }
    check_internal_format(source, &rewriter.calls)?;
    for (index, call) in rewriter.calls.iter().enumerate() {
        fields.push((
            None,
            Arc::new(arrow::datatypes::Field::new(
                format!("$AGG{index}"),
                call.signature.return_type.clone(),
                true,
            )),
        ));
    }
    let window = query.window.as_ref().map(window_plan).transpose()?;
    if window.is_some() {
        fields.push((
            None,
            Arc::new(arrow::datatypes::Field::new(
                WINDOWSTART,
                ArrowType::Int64,
                true,
            )),
        ));
        fields.push((
            None,
            Arc::new(arrow::datatypes::Field::new(
                WINDOWEND,
                ArrowType::Int64,
                true,
            )),
        ));
    }
    fields.push((
        None,
        Arc::new(arrow::datatypes::Field::new(
            ROWTIME,
            ArrowType::Int64,
            true,
        )),
    ));
    fields.push((
        None,
        Arc::new(arrow::datatypes::Field::new(
            OP_COLUMN,
            ArrowType::Int8,
            true,
        )),
    ));
    let schema = Arc::new(DFSchema::new_with_metadata(fields, Default::default())?);

    let mut aggregate = AggregateNode {
        input: Box::new(input),
        group_by: group_exprs,
        aggregates: rewriter.calls,
        window,
        emit_final: query.emit == Some(parser::ast::Emit::Final),
        emit_per_record: false,
        state: Default::default(),
        schema: Arc::clone(&schema),
    };
    if repartition {
        aggregate = repartition::repartition_groups(aggregate, source)?;
    }
    let mut root = DataflowNode::Aggregate(aggregate);
    if let Some(having) = having {
        let lowering = ExprLowering {
            schema: &schema,
            catalog,
            clause: "HAVING",
        };
        let predicate = lowering.lower(&having).map_err(|error| match error {
            PlanError::User(message) if message.contains("cannot be resolved") => {
                PlanError::User(format!(
                    "Non-aggregate HAVING expression not part of GROUP BY: {}",
                    unresolved_columns(&having, &schema).join(", ")
                ))
            }
            // Messages name the aggregate calls as written, not their result columns.
            PlanError::User(mut message) => {
                for (index, written) in rewriter.written.iter().enumerate() {
                    message = message.replace(
                        &FormattedExpr(&quoted(&format!("$AGG{index}"))).to_string(),
                        written,
                    );
                }
                PlanError::User(message)
            }
            other => other,
        })?;
        root = DataflowNode::Filter(FilterNode {
            input: Box::new(root),
            predicate,
            to_tombstone: true,
            drop_deletes: false,
        });
    }
    Ok(PlannedAggregation {
        root,
        schema,
        items,
        window,
        group_names,
        group_texts,
    })
}

/// Replaces aggregate calls by `$AGG<i>` and grouping expressions by their group column.
struct Rewriter<'a> {
    lowering: ExprLowering<'a>,
    /// The `GROUP BY` expressions in canonical form.
    group_by: Vec<SqlExpr>,
    group_names: &'a [String],
    calls: Vec<AggregateCall>,
    texts: Vec<String>,
    /// Each call as written (`SUM(V)`), for messages about the expressions using it.
    written: Vec<String>,
    error: Option<PlanError>,
}

fn quoted(name: &str) -> SqlExpr {
    SqlExpr::Identifier(Ident::with_quote('`', name))
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let Some(index) = self
            .group_by
            .iter()
            .position(|group| *group == canonical(expr))
            && index < self.group_names.len()
            && !matches!(
                expr,
                SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)
            )
        {
            *expr = quoted(&self.group_names[index]);
            return ControlFlow::Continue(());
        }
        let SqlExpr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        let name = function.name.to_string().to_uppercase();
        if !is_aggregate_function(&name) {
            return ControlFlow::Continue(());
        }
        match self.aggregate_call(&name, &function.args) {
            Ok(call) => {
                let text = format!("{call:?}");
                let index = match self.texts.iter().position(|t| *t == text) {
                    Some(index) => index,
                    None => {
                        self.texts.push(text);
                        self.written.push(FormattedExpr(expr).to_string());
                        self.calls.push(call);
                        self.calls.len() - 1
                    }
                };
                *expr = quoted(&format!("$AGG{index}"));
                ControlFlow::Continue(())
            }
            Err(error) => {
                self.error.get_or_insert(error);
                ControlFlow::Break(())
            }
        }
    }
}

impl Rewriter<'_> {
    fn aggregate_call(&self, name: &str, args: &FunctionArguments) -> Result<AggregateCall> {
        let args: Vec<&SqlExpr> = match args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::Subquery(_) => {
                return user_error(format!("{name} does not take a subquery"));
            }
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(Ok(expr)),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => None,
                    other => Some(Err(PlanError::User(format!(
                        "unsupported argument to {name}: {other}"
                    )))),
                })
                .collect::<Result<_>>()?,
        };
        let mut lowered = Vec::new();
        let mut types = Vec::new();
        let mut literals = Vec::new();
        for arg in &args {
            if contains_aggregate(arg) {
                return user_error(format!(
                    "Aggregate functions can not be nested: {name}({arg})"
                ));
            }
            let expr = self.lowering.lower(arg).map_err(|error| {
                // Window bounds exist in the SELECT clause of a windowed aggregation only.
                match [WINDOWSTART, WINDOWEND].into_iter().find(|bound| {
                    matches!(&error, PlanError::User(message)
                        if *message == format!("SELECT column '{bound}' cannot be resolved."))
                }) {
                    Some(bound) => PlanError::User(format!(
                        "Window bounds column {bound} can only be used in the SELECT clause of \
                         windowed aggregations"
                    )),
                    None => error,
                }
            })?;
            types.push(expr.get_type(self.lowering.schema)?);
            literals.push(match &expr {
                Expr::Literal(value, _) => Some(value.clone()),
                Expr::Negative(inner) => match inner.as_ref() {
                    Expr::Literal(value, _) => value.arithmetic_negate().ok(),
                    _ => None,
                },
                _ => None,
            });
            lowered.push(expr);
        }
        let texts: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let signature =
            resolve_aggregate_with_sql(name, &types, &literals, &texts).map_err(PlanError::User)?;
        let args = lowered
            .into_iter()
            .take(signature.value_args)
            .zip(&signature.arg_types)
            .map(|(expr, wanted)| {
                if expr.get_type(self.lowering.schema).ok().as_ref() == Some(wanted) {
                    expr
                } else {
                    Expr::Cast(Cast::new(Box::new(expr), wanted.clone()))
                }
            })
            .collect();
        Ok(AggregateCall {
            signature,
            args,
            limit: None,
        })
    }
}

/// Columns of `expr` that `schema` does not have, as ksqlDB names them in messages.
pub fn unresolved_columns(expr: &SqlExpr, schema: &DFSchema) -> Vec<String> {
    let mut missing = Vec::new();
    let _ = Visit::visit(
        expr,
        &mut FindColumns {
            schema,
            missing: &mut missing,
        },
    );
    missing
}

struct FindColumns<'a> {
    schema: &'a DFSchema,
    missing: &'a mut Vec<String>,
}

impl Visitor for FindColumns<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<()> {
        let name = match expr {
            SqlExpr::Identifier(ident) => normalize_ident(ident),
            SqlExpr::CompoundIdentifier(parts) => match parts.last() {
                Some(ident) => normalize_ident(ident),
                None => return ControlFlow::Continue(()),
            },
            _ => return ControlFlow::Continue(()),
        };
        if !self.schema.fields().iter().any(|f| f.name() == &name) && !self.missing.contains(&name)
        {
            self.missing.push(name);
        }
        ControlFlow::Continue(())
    }
}

/// `A`, `A and B`, `A, B and C`: names listed as ksqlDB's messages list them.
pub(crate) fn and_list<S: AsRef<str>>(names: &[S]) -> String {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}
