//! A dataflow compiled to physical operators: decode, filter, project (and encode).
//!
//! Expressions are DataFusion physical expressions evaluated on whole batches. When a batch
//! fails to evaluate (for example a division by zero in one row), the batch is retried row
//! by row so that only the bad rows are skipped, counted and logged.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::plan::{DataflowNode, DataflowPlan};

use crate::log::ConsumedRecord;
use crate::metrics::Counters;
use crate::operator::source::SourceOperator;
use crate::{ExecError, Result};

enum Step {
    Filter(Arc<dyn PhysicalExpr>),
    Project {
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
    },
}

/// A runnable single-source pipeline.
pub struct Pipeline {
    pub source: SourceOperator,
    steps: Vec<Step>,
    pub output_schema: SchemaRef,
    counters: Arc<Counters>,
}

impl Pipeline {
    /// Compiles a plan; `counters` receives decode and processing failures.
    pub fn compile(plan: &DataflowPlan, counters: Arc<Counters>) -> Result<Self> {
        let mut steps = Vec::new();
        let source = compile_node(&plan.root, &mut steps, &counters)?;
        Ok(Pipeline {
            source,
            steps,
            output_schema: Arc::new(plan.root.schema().as_arrow().clone()),
            counters,
        })
    }

    /// Decodes and processes records of one partition.
    pub fn process(&self, records: &[ConsumedRecord]) -> Result<RecordBatch> {
        let batch = self.source.decode(records)?;
        match self.apply(&batch) {
            Ok(output) => Ok(output),
            Err(_) if batch.num_rows() > 1 => self.apply_row_by_row(&batch),
            Err(error) => {
                self.report(&batch, 0, &error);
                Ok(RecordBatch::new_empty(Arc::clone(&self.output_schema)))
            }
        }
    }

    fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut current = batch.clone();
        for step in &self.steps {
            current = match step {
                Step::Filter(predicate) => {
                    let mask = predicate
                        .evaluate(&current)?
                        .into_array(current.num_rows())?;
                    let mask = mask
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .ok_or_else(|| ExecError::Internal("predicate is not boolean".into()))?;
                    filter_record_batch(&current, mask)?
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

    fn apply_row_by_row(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut outputs = Vec::new();
        for row in 0..batch.num_rows() {
            let single = batch.slice(row, 1);
            match self.apply(&single) {
                Ok(output) => outputs.push(output),
                Err(error) => self.report(batch, row, &error),
            }
        }
        Ok(arrow::compute::concat_batches(
            &self.output_schema,
            &outputs,
        )?)
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

fn compile_node(
    node: &DataflowNode,
    steps: &mut Vec<Step>,
    counters: &Arc<Counters>,
) -> Result<SourceOperator> {
    let props = ExecutionProps::new();
    let context = PhysicalPlanningContext::default();
    match node {
        DataflowNode::Source(source) => SourceOperator::new(source, Arc::clone(counters)),
        DataflowNode::Filter(filter) => {
            let source = compile_node(&filter.input, steps, counters)?;
            let schema = filter.input.schema();
            steps.push(Step::Filter(create_physical_expr(
                &filter.predicate,
                schema,
                &props,
                &context,
            )?));
            Ok(source)
        }
        DataflowNode::Project(project) => {
            let source = compile_node(&project.input, steps, counters)?;
            let input_schema = project.input.schema();
            let exprs = project
                .exprs
                .iter()
                .map(|expr| create_physical_expr(expr, input_schema, &props, &context))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            steps.push(Step::Project {
                exprs,
                schema: Arc::new(project.schema.as_arrow().clone()),
            });
            Ok(source)
        }
    }
}
