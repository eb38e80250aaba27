//! The table-function node: ksqlDB's FlatMap step between a query's source (and WHERE) and
//! its projection.

use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::Expr;

use super::DataflowNode;
use crate::functions::table::TableFunctionKind;

/// Expands each input row into as many rows as its longest table function result, the
/// results zipped side by side (shorter ones padded with null) as ksqlDB does. Each output
/// row is its input row (key, values, `ROWTIME`, `$op` unchanged) followed by one column per
/// call. A row whose functions all give nothing (null or empty arrays) emits nothing.
///
/// Stream input only (ksqlDB rejects table functions over tables). A stream record with a
/// null value (a delete row) emits nothing.
#[derive(Debug, Clone)]
pub struct TableFunctionNode {
    pub input: Box<DataflowNode>,
    pub calls: Vec<TableFunctionCall>,
    /// The input's columns, then one column per call (named by `TableFunctionCall::name`).
    pub schema: DFSchemaRef,
}

/// One table function call of a select list.
#[derive(Debug, Clone)]
pub struct TableFunctionCall {
    pub kind: TableFunctionKind,
    /// The arguments, over the input schema.
    pub args: Vec<Expr>,
    /// The output column carrying its values.
    pub name: String,
}
