//! The streaming dataflow plan: what the executor runs for a persistent or push query.
//!
//! A plan is a tree of nodes over Arrow batches. Every node's output schema is a DataFusion
//! `DFSchema`; expressions are DataFusion logical expressions over the node's input schema.
//! `Display` prints the tree for `EXPLAIN`.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::Fields;
use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::Expr;
use parser::ast::SourceKind;

use crate::aggregate::AggregateSignature;
use crate::catalog::{ColumnKind, FormatDefinition, TimestampColumn, WindowInfo, WindowKind};

/// Name of the column that carries each output row's record timestamp.
pub const ROWTIME_OUTPUT: &str = "$rowtime";
/// Hidden output columns after `$rowtime` carrying a windowed row's window bounds.
pub const WINDOWSTART_OUTPUT: &str = "$windowstart";
pub const WINDOWEND_OUTPUT: &str = "$windowend";

/// One node of a dataflow.
#[derive(Debug, Clone)]
pub enum DataflowNode {
    Source(SourceNode),
    Filter(FilterNode),
    Project(ProjectNode),
    Aggregate(AggregateNode),
}

/// Reads a topic and decodes its records into rows of the source's row schema.
///
/// Stream input: one row per record; records with a null value are dropped. A record that
/// cannot be decoded is counted, logged and skipped.
#[derive(Debug, Clone)]
pub struct SourceNode {
    pub name: String,
    pub kind: SourceKind,
    pub topic: String,
    pub key_format: FormatDefinition,
    pub value_format: FormatDefinition,
    pub key_fields: Fields,
    pub value_fields: Fields,
    /// Header columns in schema order.
    pub header_columns: Vec<(String, ColumnKind)>,
    pub timestamp: Option<TimestampColumn>,
    /// Windowed keys: the window is split off the key into `WINDOWSTART`/`WINDOWEND`.
    pub window: Option<WindowInfo>,
    /// Read as a changelog: tombstones (records with a null value) become delete rows and a
    /// last `$op` column tells upserts from deletes. Tables are; so is a stream a persistent
    /// query passes null values on from.
    pub changelog: bool,
    /// Also emit each key's previous row as a retract row before its update or delete
    /// (aggregations over tables); needs the source's last value per key as state.
    pub retract: bool,
    /// Keys, values, headers, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, then `WINDOWSTART` and
    /// `WINDOWEND` when windowed, then `$op` for a changelog.
    pub schema: DFSchemaRef,
}

/// Keeps the rows for which `predicate` is true (null counts as false).
#[derive(Debug, Clone)]
pub struct FilterNode {
    pub input: Box<DataflowNode>,
    pub predicate: Expr,
    /// The output is a table: an upsert that fails the predicate becomes a delete of its key
    /// (ksqlDB's table filter emits a tombstone) instead of being dropped.
    pub to_tombstone: bool,
    /// Rows that are deletes (a stream record with a null value) are dropped whatever the
    /// predicate says: ksqlDB's WHERE never passes a null value on.
    pub drop_deletes: bool,
}

/// A window of an aggregation, times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    pub kind: WindowKind,
    /// Tumbling/hopping size, or the session inactivity gap.
    pub size: i64,
    /// Hopping advance (tumbling: `size`; session: unused).
    pub advance: i64,
    pub grace: i64,
    pub retention: i64,
}

/// One aggregate call of an aggregation.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    pub signature: AggregateSignature,
    /// The value arguments, over the input schema, cast to `signature.arg_types`.
    pub args: Vec<Expr>,
    /// A size limit from the session (`ksql.functions.collect_list.limit`, ...).
    pub limit: Option<i64>,
}

/// Groups rows by `group_by` (and window) and maintains aggregates per group as state.
/// Emits a changelog: the new aggregate row of each group a record updated (every update when
/// `emit_per_record`, else the last per group and batch), or only closed windows' final rows
/// when `emit_final`.
///
/// Output schema: the group columns, the aggregate columns, `WINDOWSTART`, `WINDOWEND`,
/// `ROWTIME`, `$op`.
#[derive(Debug, Clone)]
pub struct AggregateNode {
    pub input: Box<DataflowNode>,
    pub group_by: Vec<Expr>,
    pub aggregates: Vec<AggregateCall>,
    pub window: Option<WindowPlan>,
    pub emit_final: bool,
    pub emit_per_record: bool,
    pub schema: DFSchemaRef,
}

/// Computes output columns. The first `key_columns` outputs are the key columns of the
/// result; a last column named `ROWTIME_OUTPUT` carries each row's record timestamp.
#[derive(Debug, Clone)]
pub struct ProjectNode {
    pub input: Box<DataflowNode>,
    /// Output expressions over the input schema, each aliased to its output name.
    pub exprs: Vec<Expr>,
    pub key_columns: usize,
    pub schema: DFSchemaRef,
}

/// Where a persistent query writes.
#[derive(Debug, Clone)]
pub struct SinkPlan {
    pub name: String,
    pub topic: String,
    pub key_format: FormatDefinition,
    pub value_format: FormatDefinition,
    pub key_fields: Fields,
    pub value_fields: Fields,
    pub partitions: u32,
    /// Windowed keys: the window start (and session end) are appended to the key bytes.
    pub window: Option<WindowInfo>,
    /// Keep the latest row per key as state (tables), readable by pull queries.
    pub materialize: bool,
    /// Leave out tombstones of keys the table does not hold (an aggregation's HAVING: Kafka
    /// Streams knows the old value and forwards nothing when old and new both fail).
    pub skip_absent_deletes: bool,
}

/// A complete dataflow.
#[derive(Debug, Clone)]
pub struct DataflowPlan {
    pub root: DataflowNode,
    pub sink: Option<SinkPlan>,
    /// `LIMIT n` of a push query.
    pub limit: Option<u64>,
}

impl DataflowNode {
    /// The schema of the rows this node emits.
    pub fn schema(&self) -> &DFSchemaRef {
        match self {
            DataflowNode::Source(source) => &source.schema,
            DataflowNode::Filter(filter) => filter.input.schema(),
            DataflowNode::Project(project) => &project.schema,
            DataflowNode::Aggregate(aggregate) => &aggregate.schema,
        }
    }

    /// The source node this dataflow reads.
    pub fn source(&self) -> &SourceNode {
        match self {
            DataflowNode::Source(source) => source,
            DataflowNode::Filter(filter) => filter.input.source(),
            DataflowNode::Project(project) => project.input.source(),
            DataflowNode::Aggregate(aggregate) => aggregate.input.source(),
        }
    }

    fn fmt_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let pad = "  ".repeat(depth);
        match self {
            DataflowNode::Source(source) => writeln!(
                f,
                "{pad}Source: {} {} topic={} key={} value={}",
                source.kind,
                source.name,
                source.topic,
                source.key_format.name,
                source.value_format.name
            ),
            DataflowNode::Filter(filter) => {
                writeln!(f, "{pad}Filter: {}", filter.predicate)?;
                filter.input.fmt_indented(f, depth + 1)
            }
            DataflowNode::Project(project) => {
                let exprs: Vec<String> = project.exprs.iter().map(|e| e.to_string()).collect();
                writeln!(
                    f,
                    "{pad}Project: keys={} [{}]",
                    project.key_columns,
                    exprs.join(", ")
                )?;
                project.input.fmt_indented(f, depth + 1)
            }
            DataflowNode::Aggregate(aggregate) => {
                let groups: Vec<String> =
                    aggregate.group_by.iter().map(|e| e.to_string()).collect();
                let calls: Vec<String> = aggregate
                    .aggregates
                    .iter()
                    .map(|call| {
                        let args: Vec<String> = call.args.iter().map(|e| e.to_string()).collect();
                        format!("{}({})", call.signature.name, args.join(", "))
                    })
                    .collect();
                write!(
                    f,
                    "{pad}Aggregate: group=[{}] aggregates=[{}]",
                    groups.join(", "),
                    calls.join(", ")
                )?;
                if let Some(window) = &aggregate.window {
                    write!(
                        f,
                        " window={} size={}ms grace={}ms",
                        window.kind.name(),
                        window.size,
                        window.grace
                    )?;
                }
                if aggregate.emit_final {
                    write!(f, " emit=FINAL")?;
                }
                writeln!(f)?;
                aggregate.input.fmt_indented(f, depth + 1)
            }
        }
    }
}

impl fmt::Display for DataflowPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let depth = match &self.sink {
            Some(sink) => {
                writeln!(
                    f,
                    "Sink: {} topic={} key={} value={} partitions={}",
                    sink.name,
                    sink.topic,
                    sink.key_format.name,
                    sink.value_format.name,
                    sink.partitions
                )?;
                1
            }
            None => 0,
        };
        self.root.fmt_indented(f, depth)?;
        if let Some(limit) = self.limit {
            writeln!(f, "Limit: {limit}")?;
        }
        Ok(())
    }
}

/// Shared pointer to a plan, as the executor holds it.
pub type DataflowPlanRef = Arc<DataflowPlan>;
