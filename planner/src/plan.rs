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

mod join;
mod repartition;
mod table_function;

pub use self::join::{
    JOIN_TIME_COLUMN, JoinKind, JoinNode, JoinSide, JoinStateTables, JoinVariant, JoinWindow,
    join_key_column,
};
pub use self::repartition::{
    RepartitionEncoding, RepartitionNode, StageInput, internal_topic_prefix,
};
pub use self::table_function::{TableFunctionCall, TableFunctionNode};

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
    TableFunction(TableFunctionNode),
    Aggregate(AggregateNode),
    Join(JoinNode),
    Repartition(RepartitionNode),
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
    /// A record whose TIMESTAMP column cannot be read fails the query
    /// (`ksql.timestamp.throw.on.invalid`) instead of being counted, logged and skipped.
    pub throw_on_invalid_timestamp: bool,
    /// Windowed keys: the window is split off the key into `WINDOWSTART`/`WINDOWEND`.
    pub window: Option<WindowInfo>,
    /// Read as a changelog: tombstones (records with a null value) become delete rows and a
    /// last `$op` column tells upserts from deletes. Tables are; so is a stream a persistent
    /// query passes null values on from.
    pub changelog: bool,
    /// Also emit each key's previous row as a retract row before its update or delete
    /// (aggregations over tables); needs the source's last value per key as state.
    pub retract: bool,
    /// The state table (under the query's state prefix) holding the last value per key when
    /// `retract`; assigned by `assign_state_tables`.
    pub state: Option<String>,
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
    /// The state tables (under the query's state prefix) of the aggregates per group and of
    /// the stream time per input partition; assigned by `assign_state_tables`.
    pub state: AggregateStateTables,
    pub schema: DFSchemaRef,
}

impl AggregateNode {
    /// Whether each group is fed by a single partition of the aggregation's input: it reads
    /// a repartition (keyed by its grouping), or it groups by every key column of its one
    /// keyed source, unchanged.
    pub fn groups_within_partitions(&self) -> bool {
        if let DataflowNode::Repartition(_) = self.input.as_ref() {
            return true;
        }
        let sources = self.input.sources();
        let [source] = sources.as_slice() else {
            return false;
        };
        let keys = &source.key_fields;
        !keys.is_empty()
            && keys.iter().all(|key| {
                self.group_by.iter().any(|expr| match strip_alias(expr) {
                    Expr::Column(column) => {
                        self.input.source_key_of(&column.name) == Some(key.name())
                    }
                    _ => false,
                })
            })
    }
}

/// Where an aggregation keeps its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateStateTables {
    /// One entry per group (and window): the aggregates' states.
    pub groups: String,
    /// One entry per input partition: the stream time the aggregation has seen.
    pub time: String,
    /// `EMIT FINAL`: one entry per window not emitted yet, under its input partition.
    pub open: Option<String>,
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
    /// The record timestamp comes from a TIMESTAMP column: a record whose timestamp is null
    /// or negative (or did not parse) is counted, logged and left out, as ksqlDB does; a
    /// tombstone passes.
    pub skip_invalid_timestamps: bool,
    /// Write a key whose columns are all null as a null key: the query passes its source's
    /// keys on unchanged (no PARTITION BY, GROUP BY or join), so they are all null only when
    /// the source record had a null key, which ksqlDB forwards as such.
    pub null_keys_pass_through: bool,
}

/// A complete dataflow.
#[derive(Debug, Clone)]
pub struct DataflowPlan {
    pub root: DataflowNode,
    pub sink: Option<SinkPlan>,
    /// `LIMIT n` of a push query.
    pub limit: Option<u64>,
    /// Records read from one partition per epoch (`max.poll.records`); `None`: the
    /// executor's default.
    pub max_poll_records: Option<usize>,
}

impl DataflowNode {
    /// The schema of the rows this node emits.
    pub fn schema(&self) -> &DFSchemaRef {
        match self {
            DataflowNode::Source(source) => &source.schema,
            DataflowNode::Filter(filter) => filter.input.schema(),
            DataflowNode::Project(project) => &project.schema,
            DataflowNode::TableFunction(node) => &node.schema,
            DataflowNode::Aggregate(aggregate) => &aggregate.schema,
            DataflowNode::Join(join) => &join.schema,
            DataflowNode::Repartition(repartition) => repartition.schema(),
        }
    }

    /// Whether each group of the plan's aggregation (if any) is fed by a single partition of
    /// its stage's input: the grouping includes every key column of a keyed source,
    /// unchanged, or the aggregation reads a repartition keyed by its grouping. Records are
    /// partitioned by key, so the records of such a group all come from the partition of its
    /// key, and the partitions can be processed independently, as Kafka Streams processes
    /// each partition in a task of its own. Stateless plans qualify too.
    pub fn groups_within_partitions(&self) -> bool {
        // A join's sides are co-partitioned by its key (repartitioned when they were not),
        // except a foreign-key join's: its left rows may meet a right row of any partition.
        // An aggregation over a join groups by columns of the joined rows: one task.
        if self.has_join() {
            return !self.has_foreign_key_join() && self.aggregate().is_none();
        }
        self.aggregate()
            .is_none_or(AggregateNode::groups_within_partitions)
    }

    /// The aggregation of this dataflow, if it has one.
    pub fn aggregate(&self) -> Option<&AggregateNode> {
        match self {
            DataflowNode::Source(_) => None,
            DataflowNode::Filter(filter) => filter.input.aggregate(),
            DataflowNode::Project(project) => project.input.aggregate(),
            DataflowNode::TableFunction(node) => node.input.aggregate(),
            DataflowNode::Aggregate(aggregate) => Some(aggregate),
            DataflowNode::Join(_) | DataflowNode::Repartition(_) => None,
        }
    }

    /// The source key column that the column `name` of this node's rows is, passed through
    /// unchanged (perhaps renamed).
    fn source_key_of(&self, name: &str) -> Option<&str> {
        match self {
            DataflowNode::Source(source) => source
                .key_fields
                .iter()
                .find(|field| field.name() == name)
                .map(|field| field.name().as_str()),
            DataflowNode::Filter(filter) => filter.input.source_key_of(name),
            DataflowNode::TableFunction(node) => node.input.source_key_of(name),
            DataflowNode::Project(project) => {
                let index = project
                    .schema
                    .fields()
                    .iter()
                    .position(|field| field.name() == name)?;
                match strip_alias(project.exprs.get(index)?) {
                    Expr::Column(column) => project.input.source_key_of(&column.name),
                    _ => None,
                }
            }
            DataflowNode::Aggregate(_) | DataflowNode::Join(_) | DataflowNode::Repartition(_) => {
                None
            }
        }
    }

    /// The nodes whose rows this node reads, in input order (input 0 first). Sources have
    /// none; joins will have two.
    pub fn inputs(&self) -> Vec<&DataflowNode> {
        match self {
            DataflowNode::Source(_) => Vec::new(),
            DataflowNode::Filter(filter) => vec![&filter.input],
            DataflowNode::Project(project) => vec![&project.input],
            DataflowNode::TableFunction(node) => vec![&node.input],
            DataflowNode::Aggregate(aggregate) => vec![&aggregate.input],
            DataflowNode::Join(join) => vec![&join.left, &join.right],
            DataflowNode::Repartition(repartition) => vec![&repartition.input],
        }
    }

    /// Whether this dataflow contains a foreign-key join.
    fn has_foreign_key_join(&self) -> bool {
        matches!(self, DataflowNode::Join(join) if join.variant == JoinVariant::ForeignKey)
            || self.inputs().into_iter().any(Self::has_foreign_key_join)
    }

    /// Whether this dataflow keeps state: a join, an aggregation or a table source whose
    /// rows are retracted.
    pub fn keeps_state(&self) -> bool {
        let own = match self {
            DataflowNode::Source(source) => source.retract,
            DataflowNode::Aggregate(_) | DataflowNode::Join(_) => true,
            DataflowNode::Filter(_)
            | DataflowNode::Project(_)
            | DataflowNode::TableFunction(_)
            | DataflowNode::Repartition(_) => false,
        };
        own || self.inputs().into_iter().any(Self::keeps_state)
    }

    /// Whether this dataflow contains a join.
    pub fn has_join(&self) -> bool {
        matches!(self, DataflowNode::Join(_)) || self.inputs().into_iter().any(Self::has_join)
    }

    fn inputs_mut(&mut self) -> Vec<&mut DataflowNode> {
        match self {
            DataflowNode::Source(_) => Vec::new(),
            DataflowNode::Filter(filter) => vec![&mut filter.input],
            DataflowNode::Project(project) => vec![&mut project.input],
            DataflowNode::TableFunction(node) => vec![&mut node.input],
            DataflowNode::Aggregate(aggregate) => vec![&mut aggregate.input],
            DataflowNode::Join(join) => vec![&mut join.left, &mut join.right],
            DataflowNode::Repartition(repartition) => vec![&mut repartition.input],
        }
    }

    /// The source nodes this dataflow reads, depth first in input order, through
    /// repartitions (a stage's inputs, as the executor numbers them, are `stage_inputs`).
    pub fn sources(&self) -> Vec<&SourceNode> {
        match self {
            DataflowNode::Source(source) => vec![source],
            other => other
                .inputs()
                .into_iter()
                .flat_map(DataflowNode::sources)
                .collect(),
        }
    }

    /// The source nodes this dataflow reads, as `sources` finds them, to change.
    pub fn sources_mut(&mut self) -> Vec<&mut SourceNode> {
        match self {
            DataflowNode::Source(source) => vec![source],
            other => other
                .inputs_mut()
                .into_iter()
                .flat_map(DataflowNode::sources_mut)
                .collect(),
        }
    }

    /// Names the state tables of every stateful node, unique within the plan: the first
    /// source keeping its last values gets `source`, the next `source-1`, and so on; the
    /// first aggregation `aggregate` and `time`. The executor places them under the query's
    /// state prefix (`<query id>/`), so dropping a query deletes its state by that prefix.
    pub fn assign_state_tables(&mut self) {
        let mut used: Vec<String> = Vec::new();
        self.assign_state_tables_into(&mut used);
    }

    fn assign_state_tables_into(&mut self, used: &mut Vec<String>) {
        for input in self.inputs_mut() {
            input.assign_state_tables_into(used);
        }
        let mut unique = |base: &str| {
            let mut name = base.to_string();
            let mut n = 0;
            while used.contains(&name) {
                n += 1;
                name = format!("{base}-{n}");
            }
            used.push(name.clone());
            name
        };
        match self {
            DataflowNode::Source(source) => {
                source.state = source.retract.then(|| unique("source"));
            }
            DataflowNode::Aggregate(aggregate) => {
                aggregate.state = AggregateStateTables {
                    groups: unique("aggregate"),
                    time: unique("time"),
                    open: aggregate.emit_final.then(|| unique("open")),
                };
            }
            DataflowNode::Join(join) => {
                join.state = JoinStateTables {
                    left: unique("join-left"),
                    right: unique("join-right"),
                    pending: unique("join-pending"),
                };
            }
            DataflowNode::Repartition(repartition) => {
                repartition.name = unique(&repartition.name);
            }
            DataflowNode::Filter(_) | DataflowNode::Project(_) | DataflowNode::TableFunction(_) => {
            }
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
            DataflowNode::TableFunction(node) => {
                let calls: Vec<String> = node
                    .calls
                    .iter()
                    .map(|call| {
                        format!(
                            "{}({}) AS {}",
                            call.kind.name(),
                            call.args
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            call.name
                        )
                    })
                    .collect();
                writeln!(f, "{pad}TableFunction: [{}]", calls.join(", "))?;
                node.input.fmt_indented(f, depth + 1)
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
            DataflowNode::Join(join) => {
                join.fmt_line(f, &pad)?;
                join.left.fmt_indented(f, depth + 1)?;
                join.right.fmt_indented(f, depth + 1)
            }
            DataflowNode::Repartition(repartition) => {
                repartition.fmt_line(f, &pad)?;
                repartition.input.fmt_indented(f, depth + 1)
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

/// The expression under any aliases.
fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => strip_alias(&alias.expr),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::RepartitionEncoding;
    use crate::{Catalog, Properties, StatementPlan, plan_statement};

    /// Per statement: the `GroupBy` repartition it plans (`key-format value-format [keys]`),
    /// if any, and whether its aggregation then groups within the partitions of its input.
    #[test]
    fn aggregations_group_within_partitions_by_the_source_key_or_a_repartition() {
        let mut catalog = Catalog::default();
        for sql in [
            "CREATE STREAM S (ID INT KEY, V STRING, N INT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
            "CREATE STREAM TWO (A INT KEY, B INT KEY, V STRING) WITH (kafka_topic='t', value_format='JSON', partitions=2, key_format='JSON');",
            "CREATE STREAM NOKEY (V STRING, N INT) WITH (kafka_topic='n', value_format='JSON', partitions=2);",
            "CREATE STREAM ONE (ID INT KEY, V STRING) WITH (kafka_topic='one', value_format='JSON', partitions=1);",
            "CREATE STREAM CSV (ID INT KEY, V STRING, N INT) WITH (kafka_topic='csv', key_format='DELIMITED', value_format='DELIMITED', partitions=2);",
            "CREATE STREAM RAW (ID INT KEY, N INT) WITH (kafka_topic='raw', value_format='KAFKA', partitions=2);",
            "CREATE TABLE T (ID INT PRIMARY KEY, V STRING, N INT) WITH (kafka_topic='tt', value_format='AVRO', partitions=2);",
        ] {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
                Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
                _ => panic!("{sql}: not a CREATE"),
            }
        }
        let cases = [
            (
                "CREATE STREAM O AS SELECT ID, V FROM S WHERE N > 1;",
                None,
                true,
            ),
            ("CREATE STREAM O AS SELECT V FROM NOKEY;", None, true),
            (
                "CREATE STREAM O AS SELECT * FROM S PARTITION BY V;",
                None,
                true,
            ),
            (
                "CREATE TABLE O AS SELECT ID, COUNT(*) FROM S GROUP BY ID;",
                None,
                true,
            ),
            (
                "CREATE TABLE O AS SELECT ID, COUNT(*) FROM S WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY ID HAVING COUNT(*) > 1;",
                None,
                true,
            ),
            (
                "CREATE TABLE O WITH (key_format='JSON') AS SELECT ID, V, COUNT(*) FROM S GROUP BY V, ID;",
                None,
                true,
            ),
            (
                "CREATE TABLE O AS SELECT V, COUNT(*) FROM S GROUP BY V;",
                Some("KAFKA JSON [V]"),
                true,
            ),
            (
                "CREATE TABLE O AS SELECT ID + 1, COUNT(*) FROM S GROUP BY ID + 1;",
                Some("KAFKA JSON [KSQL_COL_0]"),
                true,
            ),
            (
                "CREATE TABLE O AS SELECT A, COUNT(*) FROM TWO GROUP BY A;",
                Some("JSON JSON [A]"),
                true,
            ),
            (
                "CREATE TABLE O AS SELECT A, B, COUNT(*) FROM TWO GROUP BY B, A;",
                None,
                true,
            ),
            // A keyless source's grouping takes ksqlDB's default key format; several
            // grouping columns do not fit KAFKA.
            (
                "CREATE TABLE O AS SELECT V, SUM(N) FROM NOKEY GROUP BY V;",
                Some("KAFKA JSON [V]"),
                true,
            ),
            (
                "CREATE TABLE O WITH (key_format='JSON') AS SELECT V, N, COUNT(*) FROM NOKEY GROUP BY V, N;",
                Some("JSON JSON [V, N]"),
                true,
            ),
            // A grouping column named like a hidden column of the moved rows is renamed.
            (
                "CREATE TABLE O AS SELECT ROWOFFSET AS R, COUNT(*) FROM NOKEY GROUP BY ROWOFFSET;",
                Some("KAFKA JSON [KSQL_COL_0]"),
                true,
            ),
            // One partition holds every group.
            (
                "CREATE TABLE O AS SELECT V, COUNT(*) FROM ONE GROUP BY V;",
                None,
                false,
            ),
            // The source's formats, where they hold the moved columns.
            (
                "CREATE TABLE O AS SELECT V, SUM(N) FROM CSV GROUP BY V;",
                Some("DELIMITED DELIMITED [V]"),
                true,
            ),
            // A table's retractions travel as rows.
            (
                "CREATE TABLE O AS SELECT V, SUM(N) FROM T GROUP BY V;",
                Some("KAFKA rows [V]"),
                true,
            ),
            // A push query aggregates in one task.
            (
                "SELECT V, COUNT(*) FROM S GROUP BY V EMIT CHANGES;",
                None,
                false,
            ),
        ];
        for (sql, repartition, parallel) in cases {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            let plan = match plan_statement(&catalog, &statement, &Properties::new()) {
                Ok(Some(
                    StatementPlan::CreateAsSelect { plan, .. } | StatementPlan::Select { plan, .. },
                )) => plan,
                other => panic!("{sql}: not a query: {other:?}"),
            };
            let repartitions: Vec<String> = plan
                .root
                .repartitions()
                .iter()
                .map(|repartition| {
                    assert_eq!(repartition.name, "Aggregate-GroupBy-repartition", "{sql}");
                    assert_eq!(repartition.partitions, 2, "{sql}");
                    let value = match &repartition.encoding {
                        RepartitionEncoding::Rows => "rows",
                        RepartitionEncoding::Columns { value_format, .. } => &value_format.name,
                    };
                    let keys: Vec<String> =
                        repartition.keys.iter().map(ToString::to_string).collect();
                    format!(
                        "{} {value} [{}]",
                        repartition.key_format.name,
                        keys.join(", ")
                    )
                })
                .collect();
            assert_eq!(
                repartitions,
                repartition
                    .map(str::to_string)
                    .into_iter()
                    .collect::<Vec<_>>(),
                "{sql}"
            );
            assert_eq!(plan.root.groups_within_partitions(), parallel, "{sql}");
        }
    }

    #[test]
    fn max_poll_records_reaches_persistent_and_push_plans() {
        let mut catalog = Catalog::default();
        let create = "CREATE STREAM S (ID INT KEY, V STRING) WITH (kafka_topic='s', value_format='JSON', partitions=2);";
        let statement = parser::parse_statements(create).expect("parses").remove(0);
        match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            _ => panic!("not a CREATE"),
        }
        let property = |name: &str, value: &str| Properties::from([(name.into(), value.into())]);
        let cases = [
            (Properties::new(), None),
            (property("max.poll.records", "500"), Some(500)),
            (property("ksql.streams.max.poll.records", " 7 "), Some(7)),
            (property("max.poll.records", "0"), None),
            (property("max.poll.records", "many"), None),
        ];
        for sql in [
            "CREATE STREAM O AS SELECT ID, V FROM S;",
            "CREATE TABLE O AS SELECT ID, COUNT(*) FROM S GROUP BY ID;",
            "SELECT * FROM S EMIT CHANGES;",
        ] {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            for (properties, expected) in &cases {
                let plan = match plan_statement(&catalog, &statement, properties) {
                    Ok(Some(StatementPlan::CreateAsSelect { plan, .. }))
                    | Ok(Some(StatementPlan::Select { plan, .. })) => plan,
                    other => panic!("{sql}: {other:?}"),
                };
                assert_eq!(
                    plan.max_poll_records, *expected,
                    "{sql} with {properties:?}"
                );
            }
        }
    }
}
