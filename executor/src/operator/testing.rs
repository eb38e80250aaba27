//! The operator test harness: plans from SQL over a small catalog, records decoded by the
//! plan's sources, and one operator fed batch by batch (per input), with stream-time
//! advances, its output rows and its state writes observable. Epochs of whole tasks are
//! observed through `commit::MemoryCommitter`.

use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use planner::plan::{DataflowNode, DataflowPlan};
use planner::{Catalog, Properties, StatementPlan};

use crate::commit::StateWrite;
use crate::graph::StatePrefix;
use crate::log::{ConsumedRecord, Record};
use crate::metrics::Metrics;
use crate::operator::source::SourceOperator;
use crate::operator::{Operator, OperatorContext};
use crate::state::StateStore;
use crate::store::Store;

/// The DDL every fixture starts with: a keyed stream, a keyless one and a table.
pub(crate) const DDL: &[&str] = &[
    "CREATE STREAM S (ID STRING KEY, N BIGINT, V STRING) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
    "CREATE STREAM K (N BIGINT, V STRING) WITH (kafka_topic='k', value_format='JSON', partitions=1);",
    "CREATE TABLE T (ID STRING PRIMARY KEY, N BIGINT, V STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
];

/// A catalog, a state store in a temporary directory and metrics.
pub(crate) struct Fixture {
    catalog: Catalog,
    pub state: StateStore,
    pub metrics: Metrics,
    _directory: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let mut catalog = Catalog::default();
        for sql in DDL {
            match plan(&catalog, sql) {
                StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
                _ => panic!("{sql}: not a CREATE"),
            }
        }
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open store");
        Fixture {
            catalog,
            state: StateStore::new(store),
            metrics: Metrics::default(),
            _directory: directory,
        }
    }

    /// The dataflow plan of a `CREATE ... AS SELECT` or a push query.
    pub(crate) fn plan(&self, sql: &str) -> DataflowPlan {
        match plan(&self.catalog, sql) {
            StatementPlan::CreateAsSelect { plan, .. } | StatementPlan::Select { plan, .. } => plan,
            _ => panic!("{sql}: no dataflow"),
        }
    }

    /// The state tables of query `id`.
    pub(crate) fn prefix(&self, id: &str) -> StatePrefix {
        StatePrefix {
            store: self.state.clone(),
            prefix: id.into(),
        }
    }

    /// Records `(key, value, timestamp)` of partition 0, offsets from 0, decoded by source
    /// `index` of `plan` (a table source without state: no retractions).
    pub(crate) fn decode(
        &self,
        plan: &DataflowPlan,
        index: usize,
        records: &[(Option<&str>, Option<&str>, i64)],
    ) -> RecordBatch {
        let node = plan.root.sources()[index].clone();
        let mut source =
            SourceOperator::new(&node, None, self.metrics.counters(&node.name)).expect("source");
        source.decode(&consumed(records)).expect("decodes")
    }
}

fn plan(catalog: &Catalog, sql: &str) -> StatementPlan {
    let statement = parser::parse_statements(sql).expect("parses").remove(0);
    planner::plan_statement(catalog, &statement, &Properties::new())
        .expect("plans")
        .expect("a plan")
}

/// Records of partition 0 at offsets 0, 1, ...
pub(crate) fn consumed(records: &[(Option<&str>, Option<&str>, i64)]) -> Vec<ConsumedRecord> {
    records
        .iter()
        .enumerate()
        .map(|(offset, (key, value, timestamp))| ConsumedRecord {
            partition: 0,
            offset: offset as u64,
            record: Record {
                key: key.map(|key| key.as_bytes().to_vec()),
                value: value.map(|value| value.as_bytes().to_vec()),
                timestamp: *timestamp,
                headers: Vec::new(),
            },
        })
        .collect()
}

/// The first node of `plan` (depth first from the root) that `pick` accepts.
pub(crate) fn find<'p, T>(
    node: &'p DataflowNode,
    pick: &impl Fn(&'p DataflowNode) -> Option<&'p T>,
) -> Option<&'p T> {
    pick(node).or_else(|| {
        node.inputs()
            .into_iter()
            .find_map(|input| find(input, pick))
    })
}

/// One operator, fed by hand.
pub(crate) struct Harness {
    operator: Box<dyn Operator>,
    /// The partition the next batches come from.
    pub partition: u32,
    /// Records the operator produced (sinks).
    pub produced: Vec<(String, u32, Record)>,
}

impl Harness {
    pub(crate) fn new(operator: impl Operator + 'static) -> Self {
        Harness {
            operator: Box::new(operator),
            partition: 0,
            produced: Vec::new(),
        }
    }

    /// Feeds `batch` on `input`; returns what the operator emits.
    pub(crate) fn feed(&mut self, input: usize, batch: RecordBatch) -> RecordBatch {
        let mut context = OperatorContext::new(self.partition, &mut self.produced);
        self.operator
            .process(input, batch, &mut context)
            .expect("processes")
    }

    /// Advances stream time; returns what the operator emits.
    pub(crate) fn advance_time(&mut self, time: i64) -> Option<RecordBatch> {
        let mut context = OperatorContext::new(self.partition, &mut self.produced);
        self.operator
            .advance_time(time, &mut context)
            .expect("advances")
    }

    /// The state writes since the last call, as `(table id/key text, value or None)`.
    pub(crate) fn writes(&mut self) -> Vec<StateWrite> {
        let mut writes = Vec::new();
        self.operator.take_writes(&mut writes).expect("writes");
        writes
    }
}

/// The rows of `batch`, one string per row: the named columns' values joined by `|`.
pub(crate) fn rows(batch: &RecordBatch, columns: &[&str]) -> Vec<String> {
    let indices: Vec<usize> = columns
        .iter()
        .map(|name| {
            batch
                .schema()
                .index_of(name)
                .unwrap_or_else(|_| panic!("no column {name} in {:?}", batch.schema()))
        })
        .collect();
    rows_at(batch, &indices)
}

/// The rows of `batch`, one string per row: the values of the columns at `indices` joined
/// by `|`.
pub(crate) fn rows_at(batch: &RecordBatch, indices: &[usize]) -> Vec<String> {
    let options = FormatOptions::default().with_null("null");
    let formatters: Vec<ArrayFormatter<'_>> = indices
        .iter()
        .map(|index| {
            ArrayFormatter::try_new(batch.column(*index).as_ref(), &options).expect("formatter")
        })
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|formatter| formatter.value(row).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The table ids of state writes (the part of each key before its NUL separator), in order,
/// without repeats.
pub(crate) fn written_tables(writes: &[StateWrite]) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    for (key, _) in writes {
        let end = key.iter().position(|byte| *byte == 0).unwrap_or(key.len());
        let table = String::from_utf8_lossy(&key[..end]).into_owned();
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    tables
}
