//! How a join sees its rows: the join keys and passed-on columns of each input batch in
//! Arrow's row format (byte-comparable keys, self-delimiting rows), and the output batch
//! built back from such bytes.
//!
//! The variants (`stream_stream`, `table`, `foreign_key`) keep these bytes as state and
//! never look inside them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int8Array, Int64Array, new_null_array};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::catalog::{OP_DELETE, OP_RETRACT, OP_UPSERT};
use planner::plan::{JoinNode, JoinSide};

use super::Side;
use crate::metrics::Counters;
use crate::{ExecError, Result};

/// One result row of a join, its sides as row bytes (`None`: absent, null-padded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Emitted {
    pub left: Option<Vec<u8>>,
    pub right: Option<Vec<u8>>,
    /// The join key in the key row format; `None`: a null key.
    pub key: Option<Vec<u8>>,
    pub time: i64,
    /// A delete of `key` (table outputs); its sides are absent.
    pub delete: bool,
    /// The key's previous joined row, retracted (table outputs an aggregation reads).
    pub retract: bool,
}

impl Emitted {
    /// `own` (a row of `side`) with `other` (a row of the other side, or absent).
    pub fn joined(
        side: Side,
        own: Option<&[u8]>,
        other: Option<&[u8]>,
        key: Option<&[u8]>,
        time: i64,
    ) -> Self {
        let (left, right) = match side {
            Side::Left => (own, other),
            Side::Right => (other, own),
        };
        Emitted {
            left: left.map(<[u8]>::to_vec),
            right: right.map(<[u8]>::to_vec),
            key: key.map(<[u8]>::to_vec),
            time,
            delete: false,
            retract: false,
        }
    }

    /// This joined row as a retraction.
    pub fn retracted(self) -> Self {
        Emitted {
            retract: true,
            ..self
        }
    }

    /// A delete of `key` at `time`.
    pub fn delete(key: &[u8], time: i64) -> Self {
        Emitted {
            left: None,
            right: None,
            key: Some(key.to_vec()),
            time,
            delete: true,
            retract: false,
        }
    }
}

/// One input batch of a side as row bytes.
pub(super) struct Decoded {
    keys: Rows,
    /// Whether each row's key has no null column.
    key_valid: Vec<bool>,
    rows: Rows,
    times: Vec<i64>,
    ops: Option<Int8Array>,
    /// The primary keys of a foreign-key join's left rows.
    primary_keys: Option<Rows>,
}

impl Decoded {
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// The join key of row `index`, `None` when one of its columns is null.
    pub fn key(&self, index: usize) -> Option<&[u8]> {
        self.key_valid[index].then(|| self.keys.row(index).data())
    }

    /// The passed-on columns of row `index`.
    pub fn row(&self, index: usize) -> &[u8] {
        self.rows.row(index).data()
    }

    pub fn time(&self, index: usize) -> i64 {
        self.times[index]
    }

    /// The changelog op of row `index` (`OP_UPSERT` for a stream).
    pub fn op(&self, index: usize) -> i8 {
        match &self.ops {
            Some(ops) if ops.is_valid(index) => ops.value(index),
            _ => OP_UPSERT,
        }
    }

    /// The primary key of row `index` (the left rows of a foreign-key join).
    pub fn primary_key(&self, index: usize) -> Option<&[u8]> {
        self.primary_keys
            .as_ref()
            .map(|keys| keys.row(index).data())
    }

    /// Whether row `index` is a delete (a table's tombstone, a stream's null value).
    pub fn is_delete(&self, index: usize) -> bool {
        self.op(index) == OP_DELETE
    }

    /// Whether row `index` is a retraction (an aggregation's input; joins skip them).
    pub fn is_retract(&self, index: usize) -> bool {
        self.op(index) == OP_RETRACT
    }
}

/// The layout of one side.
struct SideCodec {
    layout: JoinSide,
    key_exprs: Vec<Arc<dyn PhysicalExpr>>,
    converter: RowConverter,
    /// A row of all nulls, for padding.
    null_row: Vec<u8>,
    /// The primary key columns to encode (the left side of a foreign-key join) and their
    /// format.
    primary_key: Option<(Vec<usize>, RowConverter)>,
}

/// Both sides' row formats, the key format and the output schema of one join.
pub(super) struct JoinCodec {
    sides: [SideCodec; 2],
    key_types: Vec<DataType>,
    key_converter: RowConverter,
    null_key: Vec<u8>,
    schema: SchemaRef,
    emits_table: bool,
    counters: Arc<Counters>,
}

impl JoinCodec {
    /// `primary_key`: the left input's primary key columns, for a foreign-key join.
    pub fn new(
        node: &JoinNode,
        primary_key: Option<Vec<usize>>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let schema: SchemaRef = Arc::new(node.schema.as_arrow().clone());
        let passed_on = node.left_side.columns.len() + node.right_side.columns.len();
        let key_types: Vec<DataType> = (0..node.left_keys.len())
            .map(|index| {
                schema
                    .fields()
                    .get(passed_on + index)
                    .map(|field| field.data_type().clone())
                    .ok_or_else(|| {
                        ExecError::Internal("join output schema lacks a $joinkey column".into())
                    })
            })
            .collect::<Result<_>>()?;
        let key_converter = RowConverter::new(
            key_types
                .iter()
                .map(|data_type| SortField::new(data_type.clone()))
                .collect(),
        )?;
        let null_key = null_row(&key_converter, &key_types)?;
        let left = side_codec(node, Side::Left, primary_key)?;
        let right = side_codec(node, Side::Right, None)?;
        Ok(JoinCodec {
            sides: [left, right],
            key_types,
            key_converter,
            null_key,
            schema,
            emits_table: node.variant.emits_table(),
            counters,
        })
    }

    /// Evaluates the join keys of a batch of `side` and encodes its rows. Rows whose key
    /// expressions fail are skipped (counted and logged).
    pub fn decode(&self, side: Side, batch: &RecordBatch) -> Result<Decoded> {
        let codec = &self.sides[side.index()];
        let (batch, keys) = match self.evaluate_keys(codec, batch) {
            Ok(keys) => (batch.clone(), keys),
            Err(_) => {
                let mask: BooleanArray = (0..batch.num_rows())
                    .map(|row| {
                        let good = self.evaluate_keys(codec, &batch.slice(row, 1)).is_ok();
                        if !good {
                            self.counters.record_failure(format!(
                                "failed to evaluate the join key of row {row} of a batch"
                            ));
                        }
                        Some(good)
                    })
                    .collect();
                let batch = filter_record_batch(batch, &mask)?;
                let keys = self.evaluate_keys(codec, &batch)?;
                (batch, keys)
            }
        };
        let key_valid = (0..batch.num_rows())
            .map(|row| keys.iter().all(|key| key.is_valid(row)))
            .collect();
        let keys = self.key_converter.convert_columns(&keys)?;
        let columns: Vec<ArrayRef> = codec
            .layout
            .columns
            .iter()
            .map(|index| Arc::clone(batch.column(*index)))
            .collect();
        let rows = codec.converter.convert_columns(&columns)?;
        let times = batch
            .column(codec.layout.time_column)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ExecError::Internal("join input time column is not BIGINT".into()))?
            .iter()
            .map(|time| time.unwrap_or_default())
            .collect();
        let ops = match codec.layout.op_column {
            Some(index) => Some(
                batch
                    .column(index)
                    .as_any()
                    .downcast_ref::<Int8Array>()
                    .ok_or_else(|| ExecError::Internal("join input $op is not TINYINT".into()))?
                    .clone(),
            ),
            None => None,
        };
        let primary_keys = match &codec.primary_key {
            Some((indices, converter)) => {
                let columns: Vec<ArrayRef> = indices
                    .iter()
                    .map(|index| Arc::clone(batch.column(*index)))
                    .collect();
                Some(converter.convert_columns(&columns)?)
            }
            None => None,
        };
        Ok(Decoded {
            keys,
            key_valid,
            rows,
            times,
            ops,
            primary_keys,
        })
    }

    fn evaluate_keys(&self, codec: &SideCodec, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        codec
            .key_exprs
            .iter()
            .zip(&self.key_types)
            .map(|(expr, data_type)| {
                let array = expr.evaluate(batch)?.into_array(batch.num_rows())?;
                Ok(if array.data_type() == data_type {
                    array
                } else {
                    cast(&array, data_type)?
                })
            })
            .collect()
    }

    /// The output batch of `out`, in order.
    pub fn build(&self, out: &[Emitted]) -> Result<RecordBatch> {
        if out.is_empty() {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for (side, codec) in [Side::Left, Side::Right].into_iter().zip(&self.sides) {
            let parser = codec.converter.parser();
            let rows = out.iter().map(|emitted| {
                let row = match side {
                    Side::Left => emitted.left.as_deref(),
                    Side::Right => emitted.right.as_deref(),
                };
                parser.parse(row.unwrap_or(&codec.null_row))
            });
            columns.extend(codec.converter.convert_rows(rows)?);
        }
        let parser = self.key_converter.parser();
        let keys = out
            .iter()
            .map(|emitted| parser.parse(emitted.key.as_deref().unwrap_or(&self.null_key)));
        columns.extend(self.key_converter.convert_rows(keys)?);
        columns.push(Arc::new(Int64Array::from_iter_values(
            out.iter().map(|emitted| emitted.time),
        )));
        if self.emits_table {
            columns.push(Arc::new(Int8Array::from_iter_values(out.iter().map(
                |emitted| {
                    if emitted.delete {
                        OP_DELETE
                    } else if emitted.retract {
                        OP_RETRACT
                    } else {
                        OP_UPSERT
                    }
                },
            ))));
        }
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(column, field)| {
                if column.data_type() == field.data_type() {
                    Ok(column)
                } else {
                    Ok(cast(&column, field.data_type())?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

fn side_codec(node: &JoinNode, side: Side, primary_key: Option<Vec<usize>>) -> Result<SideCodec> {
    let (input, layout, keys) = match side {
        Side::Left => (&node.left, &node.left_side, &node.left_keys),
        Side::Right => (&node.right, &node.right_side, &node.right_keys),
    };
    let input_schema = input.schema();
    let props = ExecutionProps::new();
    let context = PhysicalPlanningContext::default();
    let key_exprs = keys
        .iter()
        .map(|expr: &Expr| create_physical_expr(expr, input_schema, &props, &context))
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let types: Vec<DataType> = layout
        .columns
        .iter()
        .map(|index| input_schema.field(*index).data_type().clone())
        .collect();
    let converter = RowConverter::new(
        types
            .iter()
            .map(|data_type| SortField::new(data_type.clone()))
            .collect(),
    )?;
    let null_row = null_row(&converter, &types)?;
    let primary_key = match primary_key {
        Some(indices) => {
            let fields = indices
                .iter()
                .map(|index| SortField::new(input_schema.field(*index).data_type().clone()))
                .collect();
            Some((indices, RowConverter::new(fields)?))
        }
        None => None,
    };
    Ok(SideCodec {
        layout: layout.clone(),
        key_exprs,
        converter,
        null_row,
        primary_key,
    })
}

/// The row bytes of one row of nulls.
fn null_row(converter: &RowConverter, types: &[DataType]) -> Result<Vec<u8>> {
    let columns: Vec<ArrayRef> = types
        .iter()
        .map(|data_type| new_null_array(data_type, 1))
        .collect();
    Ok(converter.convert_columns(&columns)?.row(0).data().to_vec())
}
