//! Filters, projections and table functions: the stateless steps between a source and the
//! next stateful operator (or the sink), fused into one operator.
//!
//! Expressions are DataFusion physical expressions evaluated on whole batches. When a batch
//! fails to evaluate (for example a division by zero in one row), the batch is retried row
//! by row so that only the bad rows are skipped, counted and logged with their topic,
//! partition and offset.
//!
//! Stream input: a filter drops failing rows. Table input (`$op`): a table filter turns a
//! failing upsert into a delete of its key (`to_tombstone`); deletes pass on unchanged
//! unless `drop_deletes`. A projection computes the output columns of every row, deletes
//! included. A table-function step repeats each row once per value of its longest table
//! function, the functions' values zipped beside it (null-padded).

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int8Array, UInt32Array};
use arrow::compute::{filter_record_batch, take};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::catalog::{OP_COLUMN, OP_DELETE};
use planner::functions::table::TableFunctionKind;
use planner::plan::{DataflowNode, FilterNode, ProjectNode, TableFunctionNode};

use crate::error::error_chain;
use crate::metrics::{Counters, Metrics};
use crate::operator::{Operator, OperatorContext};
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
    TableFunction {
        calls: Vec<(TableFunctionKind, Vec<Arc<dyn PhysicalExpr>>)>,
        schema: SchemaRef,
    },
}

/// A chain of filters and projections run as one operator.
pub struct StatelessOperator {
    steps: Vec<Step>,
    /// The schema of the rows it emits.
    schema: SchemaRef,
    /// The topic its rows come from, for error messages.
    topic: String,
    counters: Arc<Counters>,
}

impl StatelessOperator {
    /// An operator that passes rows of `schema` through unchanged until steps are added.
    pub fn new(schema: SchemaRef, topic: &str, counters: Arc<Counters>) -> Self {
        StatelessOperator {
            steps: Vec::new(),
            schema,
            topic: topic.to_string(),
            counters,
        }
    }

    /// The run of filters and projections from `top` down to the first other node, as one
    /// operator over that node's rows; returns it and that node.
    pub fn compile<'p>(
        top: &'p DataflowNode,
        metrics: &Metrics,
    ) -> Result<(Self, &'p DataflowNode)> {
        let mut chain = Vec::new();
        let mut bottom = top;
        while let DataflowNode::Filter(_)
        | DataflowNode::Project(_)
        | DataflowNode::TableFunction(_) = bottom
        {
            chain.push(bottom);
            bottom = bottom.inputs()[0];
        }
        let (topic, source_name) = bottom
            .sources()
            .first()
            .map(|source| (source.topic.as_str(), source.name.as_str()))
            .unwrap_or_default();
        let mut operator = StatelessOperator::new(
            Arc::new(bottom.schema().as_arrow().clone()),
            topic,
            metrics.counters(source_name),
        );
        for step in chain.into_iter().rev() {
            match step {
                DataflowNode::Filter(filter) => operator.push_filter(filter)?,
                DataflowNode::Project(project) => operator.push_project(project)?,
                DataflowNode::TableFunction(node) => operator.push_table_function(node)?,
                _ => unreachable!("the chain holds filters, projections and table functions"),
            }
        }
        Ok((operator, bottom))
    }

    /// Adds a filter after the steps so far.
    pub fn push_filter(&mut self, filter: &FilterNode) -> Result<()> {
        let props = ExecutionProps::new();
        let context = PhysicalPlanningContext::default();
        self.steps.push(Step::Filter {
            predicate: create_physical_expr(
                &filter.predicate,
                filter.input.schema(),
                &props,
                &context,
            )?,
            to_tombstone: filter.to_tombstone,
            drop_deletes: filter.drop_deletes,
        });
        Ok(())
    }

    /// Adds a projection after the steps so far.
    pub fn push_project(&mut self, project: &ProjectNode) -> Result<()> {
        let props = ExecutionProps::new();
        let context = PhysicalPlanningContext::default();
        let exprs = project
            .exprs
            .iter()
            .map(|expr| create_physical_expr(expr, project.input.schema(), &props, &context))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        self.schema = Arc::new(project.schema.as_arrow().clone());
        self.steps.push(Step::Project {
            exprs,
            schema: Arc::clone(&self.schema),
        });
        Ok(())
    }

    /// Adds a table-function step after the steps so far.
    pub fn push_table_function(&mut self, node: &TableFunctionNode) -> Result<()> {
        let props = ExecutionProps::new();
        let context = PhysicalPlanningContext::default();
        let calls = node
            .calls
            .iter()
            .map(|call| {
                let args = call
                    .args
                    .iter()
                    .map(|arg| create_physical_expr(arg, node.input.schema(), &props, &context))
                    .collect::<datafusion::error::Result<Vec<_>>>()?;
                Ok((call.kind, args))
            })
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        self.schema = Arc::new(node.schema.as_arrow().clone());
        self.steps.push(Step::TableFunction {
            calls,
            schema: Arc::clone(&self.schema),
        });
        Ok(())
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
            self.topic,
            position(planner::catalog::ROWPARTITION),
            position(planner::catalog::ROWOFFSET),
            error_chain(error)
        );
        tracing::warn!("{message}");
        self.counters.record_failure(message);
    }
}

impl StatelessOperator {
    /// Runs the steps on `batch`, keeping in `origins` (when given, one entry per row) the
    /// entries of the rows that come out; a batch that fails is retried row by row,
    /// skipping bad rows.
    fn run(&self, batch: RecordBatch, origins: Option<&mut Vec<u32>>) -> Result<RecordBatch> {
        if self.steps.is_empty() {
            return Ok(batch);
        }
        let mut kept = origins.as_ref().map(|origins| origins.to_vec());
        match apply(&self.steps, &batch, kept.as_mut()) {
            Ok(output) => {
                if let (Some(origins), Some(kept)) = (origins, kept) {
                    *origins = kept;
                }
                Ok(output)
            }
            Err(_) if batch.num_rows() > 1 => {
                let mut outputs = Vec::new();
                let mut kept = Vec::new();
                for row in 0..batch.num_rows() {
                    let mut selection = origins.as_ref().map(|origins| vec![origins[row]]);
                    match apply(&self.steps, &batch.slice(row, 1), selection.as_mut()) {
                        Ok(output) => {
                            outputs.push(output);
                            kept.extend(selection.unwrap_or_default());
                        }
                        Err(error) => self.report(&batch, row, &error),
                    }
                }
                if let Some(origins) = origins {
                    *origins = kept;
                }
                Ok(arrow::compute::concat_batches(&self.schema, &outputs)?)
            }
            Err(error) => {
                self.report(&batch, 0, &error);
                if let Some(origins) = origins {
                    origins.clear();
                }
                Ok(RecordBatch::new_empty(Arc::clone(&self.schema)))
            }
        }
    }
}

impl Operator for StatelessOperator {
    /// Runs the steps; a batch that fails is retried row by row, skipping bad rows.
    fn process(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        _context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        self.run(batch, None)
    }

    fn process_tracked(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        origins: &mut Vec<u32>,
        _context: &mut OperatorContext<'_>,
    ) -> Option<Result<RecordBatch>> {
        Some(self.run(batch, Some(origins)))
    }
}

/// Runs `steps` on `batch`; `selection` (one entry per row) keeps the entries of the rows
/// that pass the filters.
fn apply(
    steps: &[Step],
    batch: &RecordBatch,
    mut selection: Option<&mut Vec<u32>>,
) -> Result<RecordBatch> {
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
                    // Every row stays: failing ones as deletes.
                    tombstone_failing(&current, mask)?
                } else {
                    let keep: BooleanArray = if *drop_deletes {
                        let ops = op_column(&current)?;
                        (0..current.num_rows())
                            .map(|row| {
                                Some(
                                    mask.is_valid(row)
                                        && mask.value(row)
                                        && ops.value(row) != OP_DELETE,
                                )
                            })
                            .collect()
                    } else {
                        mask.clone()
                    };
                    if let Some(selection) = selection.as_deref_mut() {
                        let mut row = 0;
                        selection.retain(|_| {
                            let kept = keep.is_valid(row) && keep.value(row);
                            row += 1;
                            kept
                        });
                    }
                    filter_record_batch(&current, &keep)?
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
            Step::TableFunction { calls, schema } => {
                let (output, rows) = expand(calls, schema, &current)?;
                if let Some(selection) = selection.as_deref_mut() {
                    *selection = rows
                        .values()
                        .iter()
                        .map(|row| selection[*row as usize])
                        .collect();
                }
                output
            }
        };
    }
    Ok(current)
}

/// Runs the table functions `calls` over `batch`: each row repeated once per value of its
/// longest result, followed by one column per call (null where a call gave fewer values).
/// A delete row (a stream record with a null value) gives nothing, as in ksqlDB. Returns the
/// rows and, for each, the input row it repeats.
fn expand(
    calls: &[(TableFunctionKind, Vec<Arc<dyn PhysicalExpr>>)],
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<(RecordBatch, UInt32Array)> {
    let rows = batch.num_rows();
    let results = calls
        .iter()
        .map(|(kind, args)| {
            let args = args
                .iter()
                .map(|arg| arg.evaluate(batch)?.into_array(rows))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            kind.expand_args(&args, rows)
        })
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let ops = match batch.column_by_name(OP_COLUMN) {
        Some(_) => Some(op_column(batch)?),
        None => None,
    };
    let mut input_rows: Vec<u32> = Vec::new();
    let mut value_rows: Vec<Vec<Option<u32>>> = vec![Vec::new(); results.len()];
    for row in 0..rows {
        if ops.is_some_and(|ops| ops.value(row) == OP_DELETE) {
            continue;
        }
        let count = |starts: &[usize]| starts[row + 1] - starts[row];
        let longest = results
            .iter()
            .map(|(_, starts)| count(starts))
            .max()
            .unwrap_or(0);
        for index in 0..longest {
            input_rows.push(row as u32);
            for ((_, starts), taken) in results.iter().zip(&mut value_rows) {
                taken.push((index < count(starts)).then(|| (starts[row] + index) as u32));
            }
        }
    }
    let input_rows = UInt32Array::from(input_rows);
    let mut columns = batch
        .columns()
        .iter()
        .map(|column| take(column, &input_rows, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for ((values, _), taken) in results.iter().zip(value_rows) {
        columns.push(take(values, &UInt32Array::from(taken), None)?);
    }
    Ok((
        RecordBatch::try_new(Arc::clone(schema), columns)?,
        input_rows,
    ))
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

#[cfg(test)]
mod tests;
