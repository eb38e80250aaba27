//! The flat joined row: the projection over a join tree that names every column as ksqlDB
//! does (`<ALIAS>_<COLUMN>`, the key, `ROWTIME`, `$op`), and that row as a source.

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field};
use datafusion::common::{Column, DFSchema, ScalarValue, TableReference};
use datafusion::logical_expr::Expr;
use parser::ast::SourceKind;

use super::Input;
use crate::Result;
use crate::catalog::{
    ColumnDefinition, ColumnKind, OP_COLUMN, OP_UPSERT, ROWOFFSET, ROWPARTITION, ROWTIME,
    SourceDefinition, WINDOWEND, WINDOWSTART,
};
use crate::plan::{DataflowNode, JOIN_TIME_COLUMN, ProjectNode, join_key_column};
use crate::types::from_arrow;

/// The projection over the join tree producing the flat joined row, and that row as a
/// source: `ROWKEY` (or, for a foreign-key join, the left table's key columns), every
/// source's columns and pseudo columns, then `ROWTIME`, `ROWPARTITION`, `ROWOFFSET` and
/// (`with_op`, or a table) `$op`.
pub(super) fn flat_row(
    input: Input,
    with_op: bool,
    key_names: &[String],
) -> Result<(DataflowNode, SourceDefinition)> {
    let schema = Arc::clone(input.root.schema());
    let column = |qualifier: Option<&str>, name: &str| {
        Expr::Column(Column::new(qualifier.map(TableReference::bare), name))
    };
    let mut keys: Vec<(ColumnDefinition, Expr)> = Vec::new();
    let mut values: Vec<(ColumnDefinition, Expr)> = Vec::new();
    if !input.foreign_key {
        for (index, name) in key_names.iter().enumerate() {
            let key_type = schema
                .field_with_unqualified_name(&join_key_column(index))?
                .data_type()
                .clone();
            keys.push((
                ColumnDefinition {
                    name: name.clone(),
                    data_type: from_arrow(&key_type).unwrap_or(parser::ast::DataType::String),
                    kind: ColumnKind::Key,
                },
                column(None, &join_key_column(index)),
            ));
        }
    }
    for (position, side) in input.sides.iter().enumerate() {
        for definition in &side.columns() {
            let flat = ColumnDefinition {
                name: side.flat(&definition.name),
                data_type: definition.data_type.clone(),
                kind: if input.foreign_key && position == 0 && definition.kind == ColumnKind::Key {
                    ColumnKind::Key
                } else {
                    ColumnKind::Value
                },
            };
            let expr = column(Some(&side.alias), &definition.name);
            if flat.kind == ColumnKind::Key {
                keys.push((flat, expr));
            } else {
                values.push((flat, expr));
            }
        }
        for (name, data_type) in crate::catalog::PSEUDO_COLUMNS.iter() {
            values.push((
                ColumnDefinition {
                    name: side.flat(name),
                    data_type: data_type.clone(),
                    kind: ColumnKind::Value,
                },
                column(Some(&side.alias), name),
            ));
        }
    }
    let sides = &input.sides;
    let first = &sides[0].source;
    let source = SourceDefinition {
        name: first.name.clone(),
        kind: input.kind,
        topic: first.topic.clone(),
        columns: keys
            .iter()
            .chain(values.iter())
            .map(|(definition, _)| definition.clone())
            .collect(),
        // A keyless source (NONE) takes the key format of the first source that has keys.
        key_format: sides
            .iter()
            .map(|side| &side.source.key_format)
            .find(|format| format.name != "NONE")
            .unwrap_or(&first.key_format)
            .clone(),
        value_format: first.value_format.clone(),
        timestamp: None,
        partitions: first.partitions,
        replicas: first.replicas,
        is_source: false,
        window: first.window,
        sql: String::new(),
    };
    let mut exprs: Vec<Expr> = keys
        .iter()
        .chain(values.iter())
        .map(|(definition, expr)| expr.clone().alias(definition.name.clone()))
        .collect();
    exprs.push(column(None, JOIN_TIME_COLUMN).alias(ROWTIME));
    exprs.push(Expr::Literal(ScalarValue::Int32(None), None).alias(ROWPARTITION));
    exprs.push(Expr::Literal(ScalarValue::Int64(None), None).alias(ROWOFFSET));
    if source.window.is_some() {
        // The window of the result: the left's (the right's when the left is absent).
        let bound = |name: &str| {
            let left = column(Some(&sides[0].alias), name);
            let right = column(Some(&sides[sides.len() - 1].alias), name);
            datafusion::logical_expr::when(left.clone().is_null(), right)
                .otherwise(left)
                .map(|expr| expr.alias(name))
        };
        exprs.push(bound(WINDOWSTART)?);
        exprs.push(bound(WINDOWEND)?);
    }
    let table = input.kind == SourceKind::Table;
    let mut row_schema = source.row_schema()?.as_ref().clone();
    if table || with_op {
        exprs.push(if table {
            column(None, OP_COLUMN).alias(OP_COLUMN)
        } else {
            Expr::Literal(ScalarValue::Int8(Some(OP_UPSERT)), None).alias(OP_COLUMN)
        });
        let mut fields: Vec<Arc<Field>> = row_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(OP_COLUMN, ArrowType::Int8, true)));
        row_schema = arrow::datatypes::Schema::new(fields);
    }
    let qualifier = source.name.clone();
    let project = DataflowNode::Project(ProjectNode {
        input: Box::new(input.root),
        exprs,
        key_columns: keys.len(),
        schema: Arc::new(DFSchema::try_from_qualified_schema(
            TableReference::bare(qualifier.as_str()),
            &row_schema,
        )?),
    });
    Ok((project, source))
}
