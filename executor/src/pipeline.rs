//! A dataflow compiled to physical operators: decode, filter, project (and encode).
//!
//! Expressions are DataFusion physical expressions evaluated on whole batches. When a batch
//! fails to evaluate (for example a division by zero in one row), the batch is retried row
//! by row so that only the bad rows are skipped, counted and logged.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int8Array};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::catalog::{OP_COLUMN, OP_DELETE};
use planner::plan::{DataflowNode, DataflowPlan};

use crate::log::ConsumedRecord;
use crate::log::StateWrite;
use crate::metrics::Counters;
use crate::operator::aggregate::AggregateOperator;
use crate::operator::source::SourceOperator;
use crate::query::{SOURCE_STATE, query_state_table};
use crate::state::{StateStore, StateTable};
use crate::{ExecError, Result};

enum Step {
    Filter {
        predicate: Arc<dyn PhysicalExpr>,
        to_tombstone: bool,
        drop_deletes: bool,
    },
    Project {
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
    },
}

/// A runnable single-source pipeline: stateless steps, an optional aggregate, and the
/// stateless steps after it.
pub struct Pipeline {
    pub source: SourceOperator,
    /// The last value per key of a table source whose rows are retracted (aggregations).
    previous: Option<StateTable>,
    steps: Vec<Step>,
    steps_schema: SchemaRef,
    aggregate: Option<AggregateOperator>,
    after: Vec<Step>,
    pub output_schema: SchemaRef,
    counters: Arc<Counters>,
}

impl Pipeline {
    /// Compiles a plan; `counters` receives decode and processing failures. Stateful plans
    /// need `state`: the store and the id their state tables are named after.
    pub fn compile(
        plan: &DataflowPlan,
        counters: Arc<Counters>,
        state: Option<(&StateStore, &str)>,
    ) -> Result<Self> {
        let mut steps = Vec::new();
        let mut after = Vec::new();
        let mut aggregate = None;
        let source = compile_node(
            &plan.root,
            &mut steps,
            &mut after,
            &mut aggregate,
            state,
            &counters,
        )?;
        let previous = match state {
            Some((store, id)) if plan.root.source().retract => {
                Some(store.table(&query_state_table(id, SOURCE_STATE)))
            }
            _ => None,
        };
        let steps_schema = match &aggregate {
            Some((_, schema)) => Arc::clone(schema),
            None => Arc::new(plan.root.schema().as_arrow().clone()),
        };
        Ok(Pipeline {
            source,
            previous,
            steps,
            steps_schema,
            aggregate: aggregate.map(|(operator, _)| operator),
            after,
            output_schema: Arc::new(plan.root.schema().as_arrow().clone()),
            counters,
        })
    }

    /// Decodes and processes records of one partition.
    pub fn process(&mut self, records: &[ConsumedRecord], partition: u32) -> Result<RecordBatch> {
        let batch = self.source.decode(records, self.previous.as_mut())?;
        let batch = self.run(&self.steps, &self.steps_schema, &batch)?;
        let Some(aggregate) = self.aggregate.as_mut() else {
            return Ok(batch);
        };
        let aggregated = aggregate.process(&batch, partition)?;
        self.run(&self.after, &self.output_schema, &aggregated)
    }

    /// How many leading output columns a client sees (all but `$rowtime` and the hidden
    /// columns after it).
    pub fn visible_columns(&self) -> usize {
        self.output_schema
            .index_of(planner::plan::ROWTIME_OUTPUT)
            .unwrap_or(self.output_schema.fields().len())
    }

    /// State writes of the last processed batches, for the epoch's transaction.
    pub fn take_writes(&mut self) -> Result<Vec<StateWrite>> {
        let mut writes = match &mut self.previous {
            Some(previous) => previous.take_writes(),
            None => Vec::new(),
        };
        if let Some(aggregate) = &mut self.aggregate {
            writes.extend(aggregate.take_writes()?);
        }
        Ok(writes)
    }

    /// Runs stateless steps; a batch that fails is retried row by row, skipping bad rows.
    fn run(&self, steps: &[Step], schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
        match apply(steps, batch) {
            Ok(output) => Ok(output),
            Err(_) if batch.num_rows() > 1 => {
                let mut outputs = Vec::new();
                for row in 0..batch.num_rows() {
                    match apply(steps, &batch.slice(row, 1)) {
                        Ok(output) => outputs.push(output),
                        Err(error) => self.report(batch, row, &error),
                    }
                }
                Ok(arrow::compute::concat_batches(schema, &outputs)?)
            }
            Err(error) => {
                self.report(batch, 0, &error);
                Ok(RecordBatch::new_empty(Arc::clone(schema)))
            }
        }
    }

    fn report(&self, batch: &RecordBatch, row: usize, error: &ExecError) {
        let position = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|column| {
                    column
                        .as_any()
                        .downcast_ref::<arrow::array::Int64Array>()
                        .map(|a| a.value(row).to_string())
                        .or_else(|| {
                            column
                                .as_any()
                                .downcast_ref::<arrow::array::Int32Array>()
                                .map(|a| a.value(row).to_string())
                        })
                })
                .unwrap_or_default()
        };
        let message = format!(
            "failed to process record from topic \"{}\" partition {} offset {}: {}",
            self.source.topic(),
            position(planner::catalog::ROWPARTITION),
            position(planner::catalog::ROWOFFSET),
            error_chain(error)
        );
        tracing::warn!("{message}");
        self.counters.record_failure(message);
    }
}

fn apply(steps: &[Step], batch: &RecordBatch) -> Result<RecordBatch> {
    let mut current = batch.clone();
    for step in steps {
        current = match step {
            Step::Filter {
                predicate,
                to_tombstone,
                drop_deletes,
            } => {
                let mask = predicate
                    .evaluate(&current)?
                    .into_array(current.num_rows())?;
                let mask = mask
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| ExecError::Internal("predicate is not boolean".into()))?;
                if *to_tombstone {
                    tombstone_failing(&current, mask)?
                } else if *drop_deletes {
                    let ops = op_column(&current)?;
                    let keep: BooleanArray = (0..current.num_rows())
                        .map(|row| {
                            Some(
                                mask.is_valid(row)
                                    && mask.value(row)
                                    && ops.value(row) != OP_DELETE,
                            )
                        })
                        .collect();
                    filter_record_batch(&current, &keep)?
                } else {
                    filter_record_batch(&current, mask)?
                }
            }
            Step::Project { exprs, schema } => {
                let rows = current.num_rows();
                let columns = exprs
                    .iter()
                    .map(|expr| expr.evaluate(&current)?.into_array(rows))
                    .collect::<datafusion::error::Result<Vec<_>>>()?;
                let columns = columns
                    .into_iter()
                    .zip(schema.fields())
                    .map(|(column, field)| {
                        if column.data_type() == field.data_type() {
                            Ok(column)
                        } else {
                            arrow::compute::cast(&column, field.data_type())
                        }
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                RecordBatch::try_new(Arc::clone(schema), columns)?
            }
        };
    }
    Ok(current)
}

/// The `$op` column of changelog rows.
fn op_column(batch: &RecordBatch) -> Result<&Int8Array> {
    batch
        .column_by_name(OP_COLUMN)
        .ok_or_else(|| ExecError::Internal("changelog rows without $op".into()))?
        .as_any()
        .downcast_ref::<Int8Array>()
        .ok_or_else(|| ExecError::Internal("$op is not TINYINT".into()))
}

/// A table filter: rows failing the predicate become deletes of their key.
fn tombstone_failing(batch: &RecordBatch, mask: &BooleanArray) -> Result<RecordBatch> {
    let index = batch
        .schema()
        .index_of(OP_COLUMN)
        .map_err(|_| ExecError::Internal("table rows without $op".into()))?;
    let ops = op_column(batch)?;
    let ops: Int8Array = (0..batch.num_rows())
        .map(|row| {
            let passes = mask.is_valid(row) && mask.value(row);
            Some(if passes { ops.value(row) } else { OP_DELETE })
        })
        .collect();
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(ops);
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

type CompiledAggregate = Option<(AggregateOperator, SchemaRef)>;

fn compile_node(
    node: &DataflowNode,
    steps: &mut Vec<Step>,
    after: &mut Vec<Step>,
    aggregate: &mut CompiledAggregate,
    state: Option<(&StateStore, &str)>,
    counters: &Arc<Counters>,
) -> Result<SourceOperator> {
    let props = ExecutionProps::new();
    let context = PhysicalPlanningContext::default();
    match node {
        DataflowNode::Source(source) => SourceOperator::new(source, Arc::clone(counters)),
        DataflowNode::Filter(filter) => {
            let source = compile_node(&filter.input, steps, after, aggregate, state, counters)?;
            let schema = filter.input.schema();
            let step = Step::Filter {
                predicate: create_physical_expr(&filter.predicate, schema, &props, &context)?,
                to_tombstone: filter.to_tombstone,
                drop_deletes: filter.drop_deletes,
            };
            match aggregate {
                Some(_) => after.push(step),
                None => steps.push(step),
            }
            Ok(source)
        }
        DataflowNode::Project(project) => {
            let source = compile_node(&project.input, steps, after, aggregate, state, counters)?;
            let input_schema = project.input.schema();
            let exprs = project
                .exprs
                .iter()
                .map(|expr| create_physical_expr(expr, input_schema, &props, &context))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let step = Step::Project {
                exprs,
                schema: Arc::new(project.schema.as_arrow().clone()),
            };
            match aggregate {
                Some(_) => after.push(step),
                None => steps.push(step),
            }
            Ok(source)
        }
        DataflowNode::Aggregate(node) => {
            let source = compile_node(&node.input, steps, after, aggregate, state, counters)?;
            if aggregate.is_some() {
                return Err(ExecError::Internal("a plan with two aggregations".into()));
            }
            let (store, id) = state
                .ok_or_else(|| ExecError::Internal("an aggregation needs a state store".into()))?;
            let input_schema = Arc::new(node.input.schema().as_arrow().clone());
            let operator = AggregateOperator::new(node, store, id, Arc::clone(counters))?;
            *aggregate = Some((operator, input_schema));
            Ok(source)
        }
    }
}
