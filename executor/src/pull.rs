//! Pull queries over tables: reads the rows a `planner::pull::TablePull` selects, on the
//! caller's thread.
//!
//! A materialized table is read from one state snapshot (`table/<NAME>`: key bytes in the
//! table's key format, windowed keys followed by the window; values are an 8-byte big-endian
//! timestamp and the value bytes). Key lookups encode the keys with the sink's key encoding
//! and read just those keys (every window of a windowed key); KAFKA-format STRING key ranges
//! read a byte range; everything else scans. A `CREATE SOURCE TABLE` is read from its topic,
//! the last record per key. The query's filter and projection then run over the rows read.

use std::collections::BTreeMap;
use std::ops::Bound;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use planner::catalog::WindowKind;
use planner::plan::{DataflowPlan, SourceNode};
use planner::pull::{KeyLookup, TablePull};

use crate::format::{Encoder, FormatKind};
use crate::graph::OperatorGraph;
use crate::log::{ConsumedRecord, Record, TopicLog};
use crate::metrics::Metrics;
use crate::operator::OperatorContext;
use crate::operator::sink::table_state_id;
use crate::operator::source::key_format_of;
use crate::state::{StateSnapshot, StateStore};
use crate::{ExecError, Result};

/// Rows decoded and processed at a time.
const BATCH_ROWS: usize = 4096;

/// Runs a pull query over a table: the visible columns of its result rows, LIMIT applied.
pub fn read_table(
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
    let records = if table.materialized {
        let snapshot = state.snapshot();
        let entries = read_state(
            &snapshot,
            &table_state_id(&table.table),
            source,
            &table.keys,
        )?;
        entries
            .into_iter()
            .filter_map(|(key, value)| state_record(key, value))
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
        let mut context = OperatorContext {
            partition: 0,
            produced: &mut Vec::new(),
        };
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

/// A stored state entry as a record: the value's first 8 bytes are its timestamp.
fn state_record(key: Vec<u8>, mut value: Vec<u8>) -> Option<ConsumedRecord> {
    if value.len() < 8 {
        return None;
    }
    let timestamp = i64::from_be_bytes(value[..8].try_into().expect("eight bytes"));
    value.drain(..8);
    Some(ConsumedRecord {
        partition: 0,
        offset: 0,
        record: Record {
            key: Some(key),
            value: Some(value),
            timestamp,
            headers: Vec::new(),
        },
    })
}

/// The state entries of `state_table` that `keys` selects, in key order per lookup.
fn read_state(
    snapshot: &StateSnapshot<'_>,
    state_table: &str,
    source: &SourceNode,
    keys: &KeyLookup,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    match keys {
        KeyLookup::Scan => snapshot.scan(state_table),
        KeyLookup::Keys(keys) => {
            let encoded = encode_keys(source, keys)?;
            let mut entries = Vec::with_capacity(encoded.len());
            let window_bytes = source.window.map(|window| match window.kind {
                WindowKind::Session => 16,
                WindowKind::Tumbling | WindowKind::Hopping => 8,
            });
            for key in encoded {
                match window_bytes {
                    None => {
                        if let Some(value) = snapshot.get(state_table, &key)? {
                            entries.push((key, value));
                        }
                    }
                    Some(window_bytes) => {
                        let windows = match prefix_end(&key) {
                            Some(end) => snapshot.range(state_table, &key, &end)?,
                            None => snapshot.scan(state_table)?,
                        };
                        entries.extend(windows.into_iter().filter(|(stored, _)| {
                            stored.len() == key.len() + window_bytes && stored.starts_with(&key)
                        }));
                    }
                }
            }
            Ok(entries)
        }
        KeyLookup::Range { lower, upper } => {
            if !ordered_key_bytes(source) {
                return snapshot.scan(state_table);
            }
            let encode_one = |value: &ScalarValue| -> Result<Vec<u8>> {
                encode_keys(source, std::slice::from_ref(&vec![value.clone()]))?
                    .pop()
                    .ok_or_else(|| ExecError::Internal("a key encoded to nothing".into()))
            };
            let from = match lower {
                Bound::Unbounded => Vec::new(),
                Bound::Included(value) => encode_one(value)?,
                Bound::Excluded(value) => successor(encode_one(value)?),
            };
            let to = match upper {
                // UTF-8 never contains 0xFF: every string key sorts before it.
                Bound::Unbounded => vec![0xFF],
                Bound::Included(value) => successor(encode_one(value)?),
                Bound::Excluded(value) => encode_one(value)?,
            };
            snapshot.range(state_table, &from, &to)
        }
    }
}

/// Keys whose bytes sort like their values: one STRING key column in the KAFKA format of a
/// table without windows.
fn ordered_key_bytes(source: &SourceNode) -> bool {
    source.window.is_none()
        && source.key_fields.len() == 1
        && source.key_fields[0].data_type() == &arrow::datatypes::DataType::Utf8
        && source
            .key_format
            .name
            .eq_ignore_ascii_case(FormatKind::Kafka.name())
}

/// The smallest byte string greater than `bytes` (in byte order).
fn successor(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.push(0);
    bytes
}

/// The smallest byte string greater than every string starting with `prefix`; `None` when
/// there is none (the prefix is empty or all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Encodes keys (one value per key column each) in the table's key format, as the sink does.
fn encode_keys(source: &SourceNode, keys: &[Vec<ScalarValue>]) -> Result<Vec<Vec<u8>>> {
    let (kind, options) = key_format_of(&source.key_format, source.key_fields.len())?;
    let encoder = Encoder::new(kind, &options, source.key_fields.clone())?;
    let columns = (0..source.key_fields.len())
        .map(|index| {
            let values = keys.iter().map(|key| key[index].clone());
            let array = ScalarValue::iter_to_array(values)?;
            let wanted = source.key_fields[index].data_type();
            Ok(if array.data_type() == wanted {
                array
            } else {
                arrow::compute::cast(&array, wanted)?
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(encoder
        .encode(&columns, keys.len())?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
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

    #[test]
    fn successors_and_prefix_ends_bound_byte_ranges() {
        assert_eq!(successor(b"ab".to_vec()), b"ab\0".to_vec());
        let cases: [(&[u8], Option<&[u8]>); 4] = [
            (b"ab", Some(b"ac")),
            (b"a\xff", Some(b"b")),
            (b"\xff\xff", None),
            (b"", None),
        ];
        for (prefix, expected) in cases {
            assert_eq!(
                prefix_end(prefix),
                expected.map(<[u8]>::to_vec),
                "{prefix:?}"
            );
        }
    }

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
            Ok(Some(StatementPlan::Select {
                plan,
                is_pull: Some(planner::pull::PullPlan::Table(table)),
                ..
            })) => (plan, table),
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
            let mut value = (1_000 + index as i64).to_be_bytes().to_vec();
            value.extend_from_slice(format!("{{\"N\":{index}}}").as_bytes());
            table.put(format!("k{index:02}").as_bytes(), value);
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
