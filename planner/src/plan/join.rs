//! The join node of a dataflow plan: two inputs matched on equal join keys.
//!
//! A join's inputs keep their columns qualified by their source's alias (`L.ID`, `R.ID`);
//! its output is the left input's columns, then the right input's (each without the hidden
//! `$joinkey*`, `$jointime` and `$op` columns of a nested join), then one `$joinkey<i>`
//! column per join condition (the key values the rows matched on: the left key, or the
//! right key when the left row is absent), `$jointime` (the result's record time) and, for
//! a table-table join, `$op`. The planner puts a projection on top that names the columns
//! as ksqlDB does (`L_ID`, `ROWKEY`, ...).

use std::fmt;

use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::Expr;

use super::DataflowNode;

/// Name of the join output column holding the value of join condition `index`.
pub fn join_key_column(index: usize) -> String {
    format!("$joinkey{index}")
}

/// Name of the join output column holding each result row's record time.
pub const JOIN_TIME_COLUMN: &str = "$jointime";

/// Which rows of each side a join keeps: the parser's kind.
pub use parser::ast::JoinKind;

/// The time bounds of a stream-stream join, in milliseconds: a left record at `t` matches
/// right records in `[t - before, t + after]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    pub before: i64,
    pub after: i64,
    /// `GRACE PERIOD`: records older than stream time minus window and grace are too late.
    /// With a grace period an outer join emits an unmatched row only once its window has
    /// closed; without one (ksqlDB's older semantics) it emits it at once, and the grace is
    /// 24 hours minus the window.
    pub grace: Option<i64>,
}

impl JoinWindow {
    /// The grace period in effect.
    pub fn grace_ms(&self) -> i64 {
        self.grace
            .unwrap_or_else(|| (24 * 60 * 60 * 1000 - self.before - self.after).max(0))
    }

    /// How long a record is kept: the window plus the grace period.
    pub fn retention_ms(&self) -> i64 {
        self.before + self.after + self.grace_ms()
    }
}

/// What the two inputs of a join are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinVariant {
    /// Two streams, records matched within a time window; both sides kept as window state.
    StreamStream(JoinWindow),
    /// A stream (left) enriched with a table's (right) current row for its key; table
    /// updates emit nothing.
    StreamTable,
    /// Two tables on their primary keys; an update or delete on either side updates the
    /// result.
    TableTable,
    /// Two tables, the left's foreign-key expression equal to the right's primary key.
    ForeignKey,
}

impl JoinVariant {
    pub fn name(self) -> &'static str {
        match self {
            JoinVariant::StreamStream(_) => "stream-stream",
            JoinVariant::StreamTable => "stream-table",
            JoinVariant::TableTable => "table-table",
            JoinVariant::ForeignKey => "foreign-key",
        }
    }

    /// Whether the join emits a changelog (a table).
    pub fn emits_table(self) -> bool {
        matches!(self, JoinVariant::TableTable | JoinVariant::ForeignKey)
    }
}

/// The state tables of a join (under the query's state prefix); assigned by
/// `DataflowNode::assign_state_tables`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinStateTables {
    /// Left rows: stream-stream, by (key, time); tables, by key.
    pub left: String,
    /// Right rows, the same way.
    pub right: String,
    /// Stream-stream outer joins with a grace period: unmatched rows waiting for their window
    /// to close; foreign-key joins: the left keys per foreign key. Also the join's stream
    /// times.
    pub pending: String,
}

/// One side of a join: which columns of the input carry the row time and the changelog op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSide {
    /// Index in the input schema of the column holding each row's record time.
    pub time_column: usize,
    /// Index in the input schema of `$op` (table inputs), if any.
    pub op_column: Option<usize>,
    /// Indices in the input schema of the columns the join passes on, in output order.
    pub columns: Vec<usize>,
}

/// Matches rows of `left` and `right` whose join keys are equal.
///
/// Output schema: the left side's `columns`, the right side's, `$joinkey0..n`, `$jointime`,
/// then `$op` when `variant.emits_table()`.
#[derive(Debug, Clone)]
pub struct JoinNode {
    pub left: Box<DataflowNode>,
    pub right: Box<DataflowNode>,
    pub kind: JoinKind,
    pub variant: JoinVariant,
    /// One expression per join condition over the left input's schema, and the matching one
    /// over the right's (same types).
    pub left_keys: Vec<Expr>,
    pub right_keys: Vec<Expr>,
    pub left_side: JoinSide,
    pub right_side: JoinSide,
    /// A table-table join also emits the key's previous joined row as a retract row before
    /// its update or delete (an aggregation over it undoes that row).
    pub retract: bool,
    pub state: JoinStateTables,
    pub schema: DFSchemaRef,
}

impl JoinNode {
    pub(super) fn fmt_line(&self, f: &mut fmt::Formatter<'_>, pad: &str) -> fmt::Result {
        let conditions: Vec<String> = self
            .left_keys
            .iter()
            .zip(&self.right_keys)
            .map(|(left, right)| format!("{left} = {right}"))
            .collect();
        write!(
            f,
            "{pad}Join: {} {} on [{}]",
            self.variant.name(),
            self.kind.name(),
            conditions.join(", ")
        )?;
        if self.retract {
            write!(f, " retract")?;
        }
        if let JoinVariant::StreamStream(window) = &self.variant {
            write!(
                f,
                " within=({}ms, {}ms) grace={}ms",
                window.before,
                window.after,
                window.grace_ms()
            )?;
        }
        writeln!(f)
    }
}
