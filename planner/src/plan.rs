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

use crate::catalog::{ColumnKind, FormatDefinition, TimestampColumn};

/// Name of the column that carries each output row's record timestamp.
pub const ROWTIME_OUTPUT: &str = "$rowtime";

/// One node of a dataflow.
#[derive(Debug, Clone)]
pub enum DataflowNode {
    Source(SourceNode),
    Filter(FilterNode),
    Project(ProjectNode),
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
    /// Keys, values, headers, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`.
    pub schema: DFSchemaRef,
}

/// Keeps the rows for which `predicate` is true (null counts as false).
#[derive(Debug, Clone)]
pub struct FilterNode {
    pub input: Box<DataflowNode>,
    pub predicate: Expr,
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
        }
    }

    /// The sources this node reads, in plan order.
    pub fn source_names(&self) -> Vec<String> {
        match self {
            DataflowNode::Source(source) => vec![source.name.clone()],
            DataflowNode::Filter(filter) => filter.input.source_names(),
            DataflowNode::Project(project) => project.input.source_names(),
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
