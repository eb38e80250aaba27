//! SQL pull queries (`planner::pull::SqlPullPlan`) run over one snapshot of the tables they
//! read.
//!
//! Every table of the query reads one snapshot of the state, taken when the query is
//! prepared, and key predicates narrow the reads (`table_provider`). The query runs to the
//! end on a thread of its own, with a tokio runtime of its own.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::compute::cast;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use planner::pull::SqlPullPlan;

use crate::log::TopicLog;
use crate::state::StateStore;
use crate::table_provider::{SnapshotReader, StateTableProvider};
use crate::{ExecError, Result};

/// A planned SQL pull query with readers of its tables over a snapshot taken by `prepare`.
pub struct SqlPullQuery {
    plan: SqlPullPlan,
    tables: HashMap<String, StateTableProvider>,
}

impl SqlPullQuery {
    /// Takes the snapshot the query reads: the state, and the end offsets of the topics of
    /// the source tables no query materializes.
    pub fn prepare(plan: &SqlPullPlan, state: &StateStore, log: Arc<dyn TopicLog>) -> Result<Self> {
        let topics: Vec<String> = plan
            .tables
            .iter()
            .filter(|table| !table.materialized)
            .map(|table| table.source.topic.clone())
            .collect();
        let reader = SnapshotReader::spawn(state, log, &topics)?;
        let tables = plan
            .tables
            .iter()
            .map(|table| {
                let reader = reader.clone();
                let provider = if table.materialized {
                    StateTableProvider::new(&table.source, reader)?
                } else {
                    StateTableProvider::from_topic(&table.source, reader)?
                };
                Ok((table.source.name.clone(), provider))
            })
            .collect::<Result<_>>()?;
        Ok(SqlPullQuery {
            plan: plan.clone(),
            tables,
        })
    }

    /// The reader of table `name`, with its counters.
    pub fn table(&self, name: &str) -> Option<&StateTableProvider> {
        self.tables.get(name)
    }

    /// Runs the query on a thread of its own (DataFusion needs a tokio runtime, and the
    /// caller may be on one): every batch, in `SqlPullPlan::output`'s schema.
    pub fn execute(self) -> Result<Vec<RecordBatch>> {
        let worker = std::thread::Builder::new()
            .name("pull-sql".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().build()?;
                runtime.block_on(self.collect())
            })?;
        worker
            .join()
            .map_err(|_| ExecError::Internal("the SQL pull query thread panicked".into()))?
    }

    async fn collect(self) -> Result<Vec<RecordBatch>> {
        let state = planner::pull::session_state();
        let plan = with_readers(self.plan.plan.clone(), &self.tables)?;
        let physical = state
            .create_physical_plan(&plan)
            .await
            .map_err(user_message)?;
        if self.plan.key_reads_only && self.tables.values().any(|table| table.full_scans() > 0) {
            return Err(ExecError::User(
                "Query requires table scan to be enabled. Table scans can be enabled by setting \
                 ksql.query.pull.table.scan.enabled=true"
                    .into(),
            ));
        }
        let context = Arc::new(TaskContext::from(state));
        let batches = datafusion::physical_plan::collect(physical, context)
            .await
            .map_err(user_message)?;
        let output = &self.plan.output;
        batches
            .into_iter()
            .filter(|batch| batch.num_rows() > 0)
            .map(|batch| {
                let columns = batch
                    .columns()
                    .iter()
                    .zip(output.fields())
                    .map(|(column, field)| cast(column, field.data_type()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| ExecError::User(error.to_string()))?;
                RecordBatch::try_new(Arc::clone(output), columns)
                    .map_err(|error| ExecError::Internal(error.to_string()))
            })
            .collect()
    }
}

/// `plan` with every table scan (in subqueries too) reading its table from `tables`.
fn with_readers(
    plan: LogicalPlan,
    tables: &HashMap<String, StateTableProvider>,
) -> Result<LogicalPlan> {
    let transformed = plan
        .transform_up_with_subqueries(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                let Some(table) = tables.get(scan.table_name.table()) else {
                    return Err(DataFusionError::Internal(format!(
                        "the SQL pull query reads table \"{}\", which it did not plan",
                        scan.table_name
                    )));
                };
                scan.source = provider_as_source(Arc::new(table.clone()));
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map_err(user_message)?;
    Ok(transformed.data)
}

/// A DataFusion error of running a query: a storage failure keeps its kind, the rest reads
/// as planning errors do (`planner::pull::sql_error`).
fn user_message(error: DataFusionError) -> ExecError {
    match error {
        DataFusionError::External(inner) => match inner.downcast::<ExecError>() {
            Ok(error) => *error,
            Err(inner) => ExecError::User(inner.to_string()),
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            user_message(*inner)
        }
        DataFusionError::Collection(mut errors) if !errors.is_empty() => {
            user_message(errors.swap_remove(0))
        }
        other => match planner::pull::sql_error(other) {
            planner::PlanError::Internal(message) => ExecError::Internal(message),
            error => ExecError::User(error.to_string()),
        },
    }
}
