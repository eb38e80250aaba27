//! The join operator: matches rows of two inputs on equal join keys (stream-stream within a
//! window, stream-table, table-table and foreign-key), keeping each side as state.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use planner::plan::JoinNode;

use crate::metrics::Counters;
use crate::operator::{Operator, OperatorContext};
use crate::state::StateTable;
use crate::{ExecError, Result};

/// The state tables of one join.
pub struct JoinState {
    pub left: StateTable,
    pub right: StateTable,
    pub pending: StateTable,
}

/// The join operator of one query.
pub struct JoinOperator {
    variant: &'static str,
}

impl JoinOperator {
    pub fn new(node: &JoinNode, _state: JoinState, _counters: Arc<Counters>) -> Result<Self> {
        Ok(JoinOperator {
            variant: node.variant.name(),
        })
    }
}

impl Operator for JoinOperator {
    fn process(
        &mut self,
        _input: usize,
        _batch: RecordBatch,
        _context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        Err(ExecError::Internal(format!(
            "{} joins cannot run yet",
            self.variant
        )))
    }
}
