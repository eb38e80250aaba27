//! Table functions in a select list (EXPLODE, CUBE_EXPLODE): ksqlDB's rules on where they
//! may appear, and taking their calls out of the projection into a table-function node that
//! runs between the source (and WHERE) and the projection.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::Field;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, DFSchemaRef, TableReference};
use datafusion::logical_expr::{Expr, ExprSchemable};
use parser::ast::{Query, SelectItem, SourceKind};
use sqlparser::ast::{Expr as SqlExpr, visit_expressions};

use super::OutputColumn;
use crate::expr::{FormattedExpr, normalize_ident};
use crate::functions::table::{TableFunctionKind, is_table_function, table_function_kind};
use crate::plan::{DataflowNode, TableFunctionCall, TableFunctionNode};
use crate::{PlanError, Result, user_error};

/// The upper-case name of `expr` when it is a table function call.
fn table_function_name(expr: &SqlExpr) -> Option<String> {
    let SqlExpr::Function(function) = expr else {
        return None;
    };
    let name = function
        .name
        .0
        .last()
        .and_then(|part| part.as_ident())
        .map(normalize_ident)?;
    is_table_function(&name).then_some(name)
}

/// The first table function called in `expr` (outermost first).
fn first_table_function(expr: &SqlExpr) -> Option<String> {
    match visit_expressions(expr, |expr| match table_function_name(expr) {
        Some(name) => ControlFlow::Break(name),
        None => ControlFlow::Continue(()),
    }) {
        ControlFlow::Break(name) => Some(name),
        ControlFlow::Continue(()) => None,
    }
}

/// Checks where `query` calls table functions, as ksqlDB does: only in the select list of a
/// query over a stream without aggregation, not nested and not inside CASE. Returns whether
/// the select list calls any.
pub(super) fn check_table_functions(
    query: &Query,
    source_kind: SourceKind,
    aggregating: bool,
) -> Result<bool> {
    let selected: Vec<&SqlExpr> = query
        .select
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { expr, .. } | SelectItem::StructWildcard(expr) => Some(expr),
            _ => None,
        })
        .collect();
    let clauses = [
        ("WHERE", query.where_clause.iter().collect::<Vec<_>>()),
        ("GROUP BY", query.group_by.iter().collect()),
        ("PARTITION BY", query.partition_by.iter().collect()),
        ("HAVING", query.having.iter().collect()),
    ];
    for (clause, exprs) in clauses {
        if let Some(name) = exprs.into_iter().find_map(first_table_function) {
            if aggregating {
                return user_error("Table functions cannot be used with aggregations.");
            }
            return user_error(format!(
                "Table function {name} is not supported in {clause}: table functions are only allowed in the SELECT list"
            ));
        }
    }
    if !selected
        .iter()
        .any(|expr| first_table_function(expr).is_some())
    {
        return Ok(false);
    }
    for expr in &selected {
        let nested = visit_expressions(*expr, |expr| {
            let Some(outer) = table_function_name(expr) else {
                return ControlFlow::Continue(());
            };
            let SqlExpr::Function(function) = expr else {
                return ControlFlow::Continue(());
            };
            let inner = match &function.args {
                sqlparser::ast::FunctionArguments::List(list) => {
                    list.args.iter().find_map(|arg| match arg {
                        sqlparser::ast::FunctionArg::Unnamed(
                            sqlparser::ast::FunctionArgExpr::Expr(arg),
                        ) => first_table_function(arg),
                        _ => None,
                    })
                }
                _ => None,
            };
            match inner {
                Some(inner) => ControlFlow::Break(format!("{outer}({inner}())")),
                None => ControlFlow::Continue(()),
            }
        });
        if let ControlFlow::Break(text) = nested {
            return user_error(format!("Table functions cannot be nested: {text}"));
        }
    }
    if aggregating {
        return user_error("Table functions cannot be used with aggregations.");
    }
    for expr in &selected {
        let case = visit_expressions(*expr, |expr| match expr {
            SqlExpr::Case { .. } if first_table_function(expr).is_some() => {
                ControlFlow::Break(FormattedExpr(expr).to_string())
            }
            _ => ControlFlow::Continue(()),
        });
        if let ControlFlow::Break(text) = case {
            return user_error(format!("Table functions cannot be used in CASE: {text}"));
        }
    }
    if source_kind == SourceKind::Table {
        return user_error("Table source is not supported with table functions");
    }
    Ok(true)
}

/// Takes the table function calls out of `outputs` (lowered over `schema`, rows of `input`):
/// each call becomes a column (`KSQL_SYNTH_n`, qualified by `qualifier`) of a
/// table-function node over `input`. Returns the node and its schema, over which `outputs`
/// now read.
pub(super) fn plan_table_functions(
    outputs: &mut [OutputColumn],
    input: DataflowNode,
    schema: &DFSchemaRef,
    qualifier: &str,
) -> Result<(DataflowNode, DFSchemaRef)> {
    let mut calls: Vec<TableFunctionCall> = Vec::new();
    let mut fields: Vec<(Option<TableReference>, Arc<Field>)> = schema
        .iter()
        .map(|(qualifier, field)| (qualifier.cloned(), Arc::clone(field)))
        .collect();
    for output in outputs.iter_mut() {
        let expr = std::mem::replace(
            &mut output.expr,
            Expr::Literal(datafusion::common::ScalarValue::Null, None),
        );
        let rewritten = expr.transform_up(|expr| {
            let Expr::ScalarFunction(function) = &expr else {
                return Ok(Transformed::no(expr));
            };
            let Some(kind) = table_function_kind(&function.func) else {
                return Ok(Transformed::no(expr));
            };
            let arg_types = function
                .args
                .iter()
                .map(|arg| arg.get_type(schema))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let data_type = kind
                .return_type(&arg_types)
                .map_err(|message| datafusion::error::DataFusionError::External(message.into()))?;
            let name = format!("KSQL_SYNTH_{}", calls.len());
            // User functions take their arguments cast to the chosen overload's types.
            let args = match kind {
                TableFunctionKind::User(udtf) => {
                    let coerced = udtf.coerced_types(&arg_types).map_err(|message| {
                        datafusion::error::DataFusionError::External(message.into())
                    })?;
                    function
                        .args
                        .iter()
                        .zip(coerced)
                        .zip(&arg_types)
                        .map(|((arg, wanted), given)| {
                            if &wanted == given {
                                arg.clone()
                            } else {
                                Expr::Cast(datafusion::logical_expr::Cast::new(
                                    Box::new(arg.clone()),
                                    wanted,
                                ))
                            }
                        })
                        .collect()
                }
                _ => function.args.clone(),
            };
            calls.push(TableFunctionCall {
                kind,
                args,
                name: name.clone(),
            });
            fields.push((
                Some(TableReference::bare(qualifier)),
                Arc::new(Field::new(&name, data_type, true)),
            ));
            Ok(Transformed::yes(Expr::Column(Column::new(
                Some(TableReference::bare(qualifier)),
                name,
            ))))
        });
        output.expr = match rewritten {
            Ok(rewritten) => rewritten.data,
            Err(datafusion::error::DataFusionError::External(message)) => {
                return user_error(message.to_string());
            }
            Err(error) => return Err(PlanError::from(error)),
        };
    }
    let schema = Arc::new(DFSchema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )?);
    let node = DataflowNode::TableFunction(TableFunctionNode {
        input: Box::new(input),
        calls,
        schema: Arc::clone(&schema),
    });
    Ok((node, schema))
}
