//! Pull queries, run the way the planner picked (`planner::pull::PullPlan`): `run_pull`.
//!
//! A ksqlDB pull query over a table reads its rows on the caller's thread: a materialized
//! table from one state snapshot, in the layout and through the key lookups of
//! `state::materialized` (the same reads as `table_provider`'s), a `CREATE SOURCE TABLE`
//! from its topic (the last record per key); the query's filter and projection then run over
//! the rows read. A pull query over a stream is a transient query that stops at the end
//! offsets it saw when it started. SQL over tables runs in DataFusion (`pull::sql`).

mod sql;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use planner::plan::DataflowPlan;
use planner::pull::{PullPlan, TablePull};
use tokio::sync::mpsc;

use crate::graph::OperatorGraph;
use crate::log::{ConsumedRecord, TopicLog};
use crate::metrics::Metrics;
use crate::operator::OperatorContext;
use crate::query::{QueryHandle, StartPosition, finished_query, start_transient};
use crate::state::StateStore;
use crate::state::materialized::{
    MaterializedKeyEncoder, SnapshotTable, decode_record, read_entries, table_state_id,
};
use crate::{ExecError, Result};

pub use self::sql::SqlPullQuery;

/// Rows decoded and processed at a time.
const BATCH_ROWS: usize = 4096;

/// What pull queries read and count.
pub struct PullContext<'a> {
    pub log: &'a Arc<dyn TopicLog>,
    pub state: &'a StateStore,
    pub metrics: &'a Metrics,
    /// Batches buffered between a pull query over a stream and its reader.
    pub stream_buffer: usize,
}

/// Runs a pull query as `plan` says. Its rows (the visible columns, LIMIT applied) arrive on
/// the receiver: all of them before this returns for a table or SQL over tables; as the
/// topic is read for a stream, until the end offsets it has now. Dropping the handle stops
/// the query.
pub fn run_pull(
    plan: &PullPlan,
    context: &PullContext<'_>,
) -> Result<(mpsc::Receiver<RecordBatch>, QueryHandle)> {
    match plan {
        PullPlan::Stream { plan, .. } => {
            let (sender, receiver) = mpsc::channel(context.stream_buffer);
            let handle = start_transient(
                plan,
                Arc::clone(context.log),
                context.metrics,
                StartPosition::Earliest,
                true,
                sender,
                context.state,
            )?;
            Ok((receiver, handle))
        }
        PullPlan::Table { plan, table, .. } => Ok(finished_query(read_table(
            plan,
            table,
            context.state,
            context.log.as_ref(),
            context.metrics,
        )?)),
        PullPlan::Sql(plan) => {
            let query = SqlPullQuery::prepare(plan, context.state, Arc::clone(context.log))?;
            Ok(finished_query(query.execute()?))
        }
    }
}

/// Runs a pull query over a table: the visible columns of its result rows, LIMIT applied.
fn read_table(
    plan: &DataflowPlan,
    table: &TablePull,
    state: &StateStore,
    log: &dyn TopicLog,
    metrics: &Metrics,
) -> Result<Vec<RecordBatch>> {
    let sources = plan.root.sources();
    let [source] = sources.as_slice() else {
        return Err(ExecError::Internal(
            "a pull query over a table reads one source".into(),
        ));
    };
    let mut graph = OperatorGraph::compile(plan, metrics, None, false)?;
    let records: Vec<ConsumedRecord> = if table.materialized {
        let keys = MaterializedKeyEncoder::new(
            &source.key_format,
            source.key_fields.clone(),
            source.window,
        )?;
        let lookup = keys.lookup(&table.keys)?;
        let snapshot = state.snapshot();
        let id = table_state_id(&table.table);
        let entries = read_entries(
            &SnapshotTable {
                snapshot: &snapshot,
                id: &id,
            },
            &lookup,
        )?;
        entries
            .into_iter()
            .filter_map(|(key, value)| decode_record(key, value))
            .collect()
    } else {
        read_topic(log, &source.topic)?
    };
    let visible: Vec<usize> = (0..graph.visible_columns()).collect();
    let mut remaining = plan.limit;
    let mut batches = Vec::new();
    for chunk in records.chunks(BATCH_ROWS) {
        if remaining == Some(0) {
            break;
        }
        let mut produced = Vec::new();
        let mut context = OperatorContext::new(0, &mut produced);
        let mut batch = graph.push(0, chunk, &mut context)?.project(&visible)?;
        if let Some(left) = &mut remaining {
            let rows = (batch.num_rows() as u64).min(*left);
            batch = batch.slice(0, rows as usize);
            *left -= rows;
        }
        if batch.num_rows() > 0 {
            batches.push(batch);
        }
    }
    Ok(batches)
}

/// The last record per key of a table's topic (tombstones delete), in key byte order.
fn read_topic(log: &dyn TopicLog, topic: &str) -> Result<Vec<ConsumedRecord>> {
    let mut latest: BTreeMap<Vec<u8>, ConsumedRecord> = BTreeMap::new();
    for (partition, (earliest, end)) in log.offsets(topic)?.into_iter().enumerate() {
        let mut offset = earliest;
        while offset < end {
            let wanted = ((end - offset) as usize).min(BATCH_ROWS);
            let records = log.read(topic, partition as u32, offset, wanted)?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            for record in records {
                let Some(key) = record.record.key.clone() else {
                    continue;
                };
                match record.record.value {
                    Some(_) => latest.insert(key, record),
                    None => latest.remove(&key),
                };
            }
        }
    }
    Ok(latest.into_values().collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use planner::{Catalog, Properties, StatementPlan};

    use super::*;
    use crate::{EmbeddedLog, Store};

    /// A catalog with a materialized table `T` (STRING key `ID`, BIGINT `N`).
    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        for sql in [
            "CREATE STREAM S (ID STRING KEY, N BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            "CREATE TABLE T AS SELECT ID, LATEST_BY_OFFSET(N) AS N FROM S GROUP BY ID;",
        ] {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            match planner::plan_statement(&catalog, &statement, &Properties::new()).expect("plans")
            {
                Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
                Some(StatementPlan::CreateAsSelect { sink, query, .. }) => {
                    catalog.put_source(sink);
                    catalog.put_query(query);
                }
                _ => panic!("{sql}: not a CREATE"),
            }
        }
        catalog
    }

    fn pull_plan(catalog: &Catalog, sql: &str) -> (DataflowPlan, TablePull) {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match planner::plan_statement(catalog, &statement, &Properties::new()) {
            Ok(Some(StatementPlan::Pull(PullPlan::Table { plan, table, .. }))) => (plan, table),
            other => panic!("{sql}: not a table pull query: {other:?}"),
        }
    }

    #[test]
    fn lookups_decode_only_the_rows_they_select() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let log = EmbeddedLog::new(Arc::clone(&store)).expect("log");
        let state = StateStore::new(store);
        let mut table = state.table(&table_state_id("T"));
        for index in 0..100 {
            let value = format!("{{\"N\":{index}}}");
            let stored = crate::state::materialized::encode_value(1_000 + index, value.as_bytes());
            table.put(format!("k{index:02}").as_bytes(), stored);
        }
        state.apply(&table.take_writes()).expect("commit");
        let catalog = catalog();
        // (query, rows returned, rows decoded)
        let cases = [
            ("SELECT * FROM T WHERE ID = 'k42';", 1, 1),
            (
                "SELECT * FROM T WHERE ID IN ('k01', 'k02', 'missing');",
                2,
                2,
            ),
            ("SELECT * FROM T WHERE ID >= 'k10' AND ID < 'k20';", 10, 10),
            ("SELECT * FROM T WHERE ID > 'k95';", 4, 4),
            ("SELECT * FROM T WHERE ID <= 'k03';", 4, 4),
            ("SELECT * FROM T WHERE N > 97;", 2, 100),
            ("SELECT * FROM T LIMIT 3;", 3, 100),
        ];
        for (sql, rows, decoded) in cases {
            let metrics = Metrics::default();
            let (plan, pull) = pull_plan(&catalog, sql);
            let batches = read_table(&plan, &pull, &state, &log, &metrics).expect("reads");
            let got: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(got, rows, "{sql}: rows");
            let consumed = metrics.counters("T").consumed.load(Ordering::Relaxed);
            assert_eq!(consumed, decoded, "{sql}: rows decoded");
        }
    }
}
