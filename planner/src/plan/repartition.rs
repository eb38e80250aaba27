//! The repartition node of a dataflow plan: its input's rows re-keyed and moved through an
//! internal topic, so that the rows of one key meet the other side of a join, or the other
//! rows of their group, in one partition (Kafka Streams' repartition topics).
//!
//! The executor cuts a plan at its repartitions into stages: the stage below writes the rows
//! into the internal topic, the stage above reads them back. `DataflowNode::stage_inputs`
//! lists what a stage reads; `DataflowNode::repartitions` every stage below the top one.

use std::fmt;

use arrow::datatypes::Fields;
use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::Expr;

use super::{DataflowNode, SourceNode};
use crate::catalog::FormatDefinition;

/// Writes its input's rows into an internal topic keyed by `keys`, and emits them as read
/// back from it: the same rows (hidden columns such as `ROWTIME` and `$op` included), now in
/// the partition their new key is in.
///
/// Stream input: every row is written, in order, as one record. Table (changelog) input:
/// upserts, deletes and retractions are written as rows too (their `$op` travels with them);
/// the new key of a table side is its own key in another format, so the rows of one key stay
/// in order. A row whose key is null keeps the partition it came from, unless
/// `drop_null_keys` (an aggregation skips such rows anyway): then it is not written.
#[derive(Debug, Clone)]
pub struct RepartitionNode {
    pub input: Box<DataflowNode>,
    /// The new key: expressions over the input's schema, in the order of `key_fields`.
    pub keys: Vec<Expr>,
    /// The format the new key is serialized in: for a join side, the one of the side it is
    /// co-partitioned with, so that the log's partitioner puts equal keys in the same
    /// partition number as that side's producer did; for an aggregation, ksqlDB's key format
    /// of its `GroupBy` topic.
    pub key_format: FormatDefinition,
    /// The new key's columns as the key format encodes them.
    pub key_fields: Fields,
    /// The internal topic's partition count: the co-partitioned side's.
    pub partitions: u32,
    /// The topic's name within the query (`Join-left-repartition`, unique in the plan).
    pub name: String,
    /// The internal topic: `_confluent-ksql-<service id>query_<query id>-<name>`, assigned by
    /// `DataflowNode::assign_internal_topics` once the query has an id (a push query's when
    /// it starts).
    pub topic: String,
    /// Index in the input's schema of the column holding each row's record time.
    pub time_column: usize,
    /// How a record carries a row.
    pub encoding: RepartitionEncoding,
    /// Rows whose new key is null are left out rather than kept in their partition.
    pub drop_null_keys: bool,
}

/// How the records of a repartition topic carry the rows.
#[derive(Debug, Clone, PartialEq)]
pub enum RepartitionEncoding {
    /// The whole row (hidden columns such as `$op` included) in Arrow's row format: join
    /// sides, and aggregations over tables (their retractions travel as rows).
    Rows,
    /// ksqlDB's records of an aggregation's `GroupBy` topic: the input's first
    /// `key_fields.len()` columns are the key (in `key_format`), the columns after them but
    /// the time column (the last) the value (in `value_format`, as `value_fields`), and the
    /// row's time the record timestamp.
    Columns {
        value_format: FormatDefinition,
        value_fields: Fields,
    },
}

impl RepartitionNode {
    /// The schema of the rows it emits: its input's.
    pub fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    pub(super) fn fmt_line(&self, f: &mut fmt::Formatter<'_>, pad: &str) -> fmt::Result {
        let keys: Vec<String> = self.keys.iter().map(|key| key.to_string()).collect();
        write!(
            f,
            "{pad}Repartition: keys=[{}] topic={} key={}",
            keys.join(", "),
            self.name,
            self.key_format.name,
        )?;
        if let RepartitionEncoding::Columns { value_format, .. } = &self.encoding {
            write!(f, " value={}", value_format.name)?;
        }
        writeln!(f, " partitions={}", self.partitions)
    }
}

/// What one stage of a plan reads: a source topic, or the internal topic of a repartition
/// below it.
#[derive(Debug, Clone, Copy)]
pub enum StageInput<'a> {
    Source(&'a SourceNode),
    Repartition(&'a RepartitionNode),
}

impl StageInput<'_> {
    /// The topic the stage reads.
    pub fn topic(&self) -> &str {
        match self {
            StageInput::Source(source) => &source.topic,
            StageInput::Repartition(repartition) => &repartition.topic,
        }
    }
}

/// The prefix of the internal topics of query `query_id` under service `service_id`
/// (ksqlDB's `ksql.service.id`, default `default_`).
pub fn internal_topic_prefix(service_id: &str, query_id: &str) -> String {
    format!("_confluent-ksql-{service_id}query_{query_id}-")
}

impl DataflowNode {
    /// The inputs of this node's stage, depth first in input order: its sources, and the
    /// repartitions it reads (whose own inputs are other stages). The executor numbers a
    /// stage's inputs in this order.
    pub fn stage_inputs(&self) -> Vec<StageInput<'_>> {
        match self {
            DataflowNode::Source(source) => vec![StageInput::Source(source)],
            DataflowNode::Repartition(repartition) => vec![StageInput::Repartition(repartition)],
            other => other
                .inputs()
                .into_iter()
                .flat_map(DataflowNode::stage_inputs)
                .collect(),
        }
    }

    /// Every repartition of this dataflow, inputs before the nodes reading them: each is
    /// the root of a stage below the top one.
    pub fn repartitions(&self) -> Vec<&RepartitionNode> {
        let mut below: Vec<&RepartitionNode> = self
            .inputs()
            .into_iter()
            .flat_map(DataflowNode::repartitions)
            .collect();
        if let DataflowNode::Repartition(repartition) = self {
            below.push(repartition);
        }
        below
    }

    /// Names the internal topics of the repartitions: `prefix` (see
    /// `internal_topic_prefix`) followed by each one's name.
    pub fn assign_internal_topics(&mut self, prefix: &str) {
        for input in self.inputs_mut() {
            input.assign_internal_topics(prefix);
        }
        if let DataflowNode::Repartition(repartition) = self {
            repartition.topic = format!("{prefix}{}", repartition.name);
        }
    }
}
