//! `INSERT INTO ... VALUES`: evaluates one row of constants and produces it to the topic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arrow::array::{Array, ArrayRef, Int64Array, StructArray, new_null_array};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::DFSchema;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::create_physical_expr;
use planner::InsertValuesPlan;
use planner::catalog::ColumnKind;

use crate::format::Encoder;
use crate::log::partitioner::{partition_for_key, partition_for_record};
use crate::log::{Record, TopicLog};
use crate::operator::source::{format_of, key_format_of};
use crate::{ExecError, Result};

/// The round robin of rows inserted without a key: like a Kafka producer's records with a
/// null key, they are spread over the topic's partitions (one after the other, so a bulk
/// load through `/inserts-stream` keeps every partition's task busy).
static KEYLESS_ROUND_ROBIN: AtomicU32 = AtomicU32::new(0);

/// Writes the row of `plan` with timestamp `now_ms` unless it sets `ROWTIME`.
pub fn insert_values(plan: &InsertValuesPlan, log: &dyn TopicLog, now_ms: i64) -> Result<()> {
    let target = &plan.target;
    let mut keys: Vec<ArrayRef> = Vec::new();
    let mut values: Vec<ArrayRef> = Vec::new();
    for (column, expr) in &plan.values {
        let data_type = planner::types::to_arrow(&column.data_type)
            .map_err(|error| ExecError::User(error.to_string()))?;
        let array = match expr {
            Some(expr) => evaluate(expr, &data_type).map_err(|error| {
                ExecError::User(format!(
                    "Failed to insert values into '{}'. Expected type {} for column {}: {}",
                    target.name,
                    planner::types::sql_type_name(&column.data_type),
                    column.name,
                    crate::error_chain(&error)
                ))
            })?,
            None => new_null_array(&data_type, 1),
        };
        match column.kind {
            ColumnKind::Key => keys.push(array),
            _ => values.push(array),
        }
    }
    let timestamp = match &plan.timestamp {
        Some(expr) => {
            let array = evaluate(expr, &DataType::Int64)?;
            array
                .as_any()
                .downcast_ref::<Int64Array>()
                .map(|a| a.value(0))
                .ok_or_else(|| ExecError::User("ROWTIME must be a BIGINT".into()))?
        }
        None => now_ms,
    };
    let (key_kind, key_options) = key_format_of(&target.key_format, target.key_columns().count())?;
    let (value_kind, value_options) = format_of(&target.value_format)?;
    let key_fields = target
        .key_fields()
        .map_err(|e| ExecError::User(e.to_string()))?;
    let value_fields = target
        .value_fields()
        .map_err(|e| ExecError::User(e.to_string()))?;
    let key_payload = Encoder::new(key_kind, &key_options, key_fields)?
        .encode(&keys, 1)?
        .pop()
        .flatten();
    let value_payload = Encoder::new(value_kind, &value_options, value_fields)?
        .encode(&values, 1)?
        .pop()
        .flatten();
    let partitions = log
        .describe_topic(&target.topic)?
        .ok_or_else(|| ExecError::User(format!("topic \"{}\" does not exist", target.topic)))?
        .partitions;
    let partition = match &key_payload {
        Some(key) if !keys.is_empty() => partition_for_key(key, partitions),
        _ if partitions <= 1 => 0,
        _ => {
            let mut next = KEYLESS_ROUND_ROBIN.fetch_add(1, Ordering::Relaxed);
            partition_for_record(None, partitions, &mut next)
        }
    };
    log.produce(
        &target.topic,
        vec![(
            partition,
            Record {
                key: key_payload,
                value: value_payload,
                timestamp,
                headers: Vec::new(),
            },
        )],
    )?;
    Ok(())
}

/// Evaluates a constant expression to a one-row array of `data_type`.
pub fn evaluate(expr: &Expr, data_type: &DataType) -> Result<ArrayRef> {
    let schema = DFSchema::empty();
    let physical = create_physical_expr(
        expr,
        &schema,
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let array = physical.evaluate(&batch)?.into_array(1)?;
    conform(array, data_type)
}

/// `array` as `data_type`: a struct takes the target's fields by name (a field the value
/// lacks is null, as ksqlDB fills a struct literal), anything else is cast.
fn conform(array: ArrayRef, data_type: &DataType) -> Result<ArrayRef> {
    if array.data_type() == data_type {
        return Ok(array);
    }
    if let (DataType::Struct(fields), Some(source)) =
        (data_type, array.as_any().downcast_ref::<StructArray>())
    {
        let columns = fields
            .iter()
            .map(|field| match source.column_by_name(field.name()) {
                Some(child) => conform(Arc::clone(child), field.data_type()),
                None => Ok(new_null_array(field.data_type(), source.len())),
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(Arc::new(StructArray::try_new(
            fields.clone(),
            columns,
            source.nulls().cloned(),
        )?));
    }
    let cast = arrow::compute::cast_with_options(
        &array,
        data_type,
        &arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        },
    )?;
    Ok(cast)
}
