//! The DataFusion execution plan that reads one materialized table from the snapshot.
//!
//! One partition. It asks the snapshot thread for the entries its `StateLookup` selects, then
//! decodes them `SCAN_BATCH_ROWS` at a time, only as fast as the consumer takes batches.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PhysicalExpr, PlanProperties,
};

use super::MaterializedTable;
use crate::state::materialized::StateLookup;

/// Rows decoded per output batch.
const SCAN_BATCH_ROWS: usize = 4096;

/// Reads the rows of one materialized table that a key lookup selects.
#[derive(Debug)]
pub(crate) struct StateTableScanExec {
    table: Arc<MaterializedTable>,
    lookup: StateLookup,
    projection: Option<Vec<usize>>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl StateTableScanExec {
    pub(crate) fn new(
        table: Arc<MaterializedTable>,
        lookup: StateLookup,
        projection: Option<Vec<usize>>,
        limit: Option<usize>,
    ) -> Result<Self> {
        let schema: SchemaRef = match &projection {
            Some(indices) => Arc::new(table.decoder.schema().project(indices)?),
            None => Arc::clone(table.decoder.schema()),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(StateTableScanExec {
            table,
            lookup,
            projection,
            limit,
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for StateTableScanExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match format {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "StateTableScanExec: table={}, ", self.table.name)?;
                match &self.lookup {
                    StateLookup::Scan => write!(f, "lookup=scan"),
                    StateLookup::Keys(keys) => write!(f, "lookup=keys({})", keys.len()),
                    StateLookup::Windows { keys, .. } => {
                        write!(f, "lookup=windows({})", keys.len())
                    }
                    StateLookup::Ranges(ranges) => write!(f, "lookup=ranges({})", ranges.len()),
                }?;
                if let Some(limit) = self.limit {
                    write!(f, ", limit={limit}")?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => write!(f, "table={}", self.table.name),
        }
    }
}

impl ExecutionPlan for StateTableScanExec {
    fn name(&self) -> &str {
        "StateTableScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _visit: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "StateTableScanExec has one partition, not {}",
                partition + 1
            )));
        }
        let mut builder = RecordBatchReceiverStream::builder(self.schema(), 2);
        let output = builder.tx();
        let table = Arc::clone(&self.table);
        let lookup = self.lookup.clone();
        let projection = self.projection.clone();
        let mut remaining = self.limit;
        builder.spawn(async move {
            let entries = table
                .reader
                .read(&table.rows, lookup)
                .await
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
            for chunk in entries.chunks(SCAN_BATCH_ROWS) {
                if remaining == Some(0) {
                    break;
                }
                table
                    .rows_decoded
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                let batch = table
                    .decoder
                    .decode(chunk)
                    .map_err(|error| DataFusionError::External(Box::new(error)))?;
                let mut batch = match &projection {
                    Some(indices) => batch.project(indices)?,
                    None => batch,
                };
                if let Some(left) = remaining.as_mut() {
                    batch = batch.slice(0, batch.num_rows().min(*left));
                    *left -= batch.num_rows();
                }
                if output.send(Ok(batch)).await.is_err() {
                    // The consumer is gone (its LIMIT is reached, or the query failed).
                    break;
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}
