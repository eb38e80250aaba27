//! Materialized tables as DataFusion tables, for SQL pull queries (joins, aggregates, ORDER BY
//! and subqueries over the state of persistent queries).
//!
//! Every table of a query reads the same `SnapshotReader`, so the query sees one committed
//! epoch. Key predicates become key lookups (`planner::pull::KeyColumns`), and those become
//! point reads or key ranges in the state layout, which `state::materialized` owns with its
//! decoding. A `CREATE SOURCE TABLE` that no query materializes is read from its topic
//! instead. `planner::pull::plan_sql_pull` plans SQL pull queries; `pull::SqlPullQuery` runs
//! them.

mod reader;
mod scan;
#[cfg(test)]
pub(crate) mod testing;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use planner::SourceDefinition;
use planner::pull::KeyColumns;

use self::reader::RowSource;
use self::scan::StateTableScanExec;
use crate::state::materialized::{
    MaterializedKeyEncoder, MaterializedRowDecoder, StateLookup, table_state_id,
};
use crate::{ExecError, Result};

pub use self::reader::SnapshotReader;

/// What the scans of one table share.
#[derive(Debug)]
struct MaterializedTable {
    name: String,
    rows: RowSource,
    decoder: MaterializedRowDecoder,
    key_columns: KeyColumns,
    keys: MaterializedKeyEncoder,
    reader: SnapshotReader,
    /// Entries read from the state and decoded, over every scan.
    rows_decoded: AtomicU64,
    /// Scans planned that read the whole table.
    full_scans: AtomicU64,
}

/// One materialized table (`table_state_id`), or one source table's topic, read from a
/// snapshot.
///
/// Columns: the key columns, the value columns, `ROWTIME` (the stored record time) and, for
/// windowed tables, `WINDOWSTART` and `WINDOWEND`. Filters on the key columns (`=`, `IN`,
/// ranges) narrow the scan to point reads or key ranges; DataFusion still applies them.
#[derive(Debug, Clone)]
pub struct StateTableProvider {
    table: Arc<MaterializedTable>,
}

impl StateTableProvider {
    /// A provider over the materialized rows of table `source` (the state a persistent
    /// query writing it keeps), read through `reader`.
    pub fn new(source: &SourceDefinition, reader: SnapshotReader) -> Result<Self> {
        Self::with_rows(
            source,
            RowSource::State(table_state_id(&source.name)),
            reader,
        )
    }

    /// A provider over the rows of table `source` in its topic: the last record per key up
    /// to the end offsets `reader` took (it must have been spawned with `source.topic`).
    pub fn from_topic(source: &SourceDefinition, reader: SnapshotReader) -> Result<Self> {
        Self::with_rows(source, RowSource::Topic(source.topic.clone()), reader)
    }

    fn with_rows(
        source: &SourceDefinition,
        rows: RowSource,
        reader: SnapshotReader,
    ) -> Result<Self> {
        let key_fields = source
            .key_fields()
            .map_err(|error| ExecError::User(error.to_string()))?;
        let keys =
            MaterializedKeyEncoder::new(&source.key_format, key_fields.clone(), source.window)?;
        Ok(StateTableProvider {
            table: Arc::new(MaterializedTable {
                name: source.name.clone(),
                rows,
                decoder: MaterializedRowDecoder::new(source)?,
                key_columns: KeyColumns::new(key_fields, keys.orders_keys()),
                keys,
                reader,
                rows_decoded: AtomicU64::new(0),
                full_scans: AtomicU64::new(0),
            }),
        })
    }

    /// Rows read from the state and decoded by the scans of this provider so far.
    pub fn rows_decoded(&self) -> u64 {
        self.table.rows_decoded.load(Ordering::Relaxed)
    }

    /// Scans of this provider planned so far that read the whole table (no key predicate
    /// narrowed them).
    pub fn full_scans(&self) -> u64 {
        self.table.full_scans.load(Ordering::Relaxed)
    }

    /// The physical scan: a `StateTableScanExec` reading what `filters` leave of the table.
    fn plan_scan(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        let filters: Vec<&Expr> = filters.iter().collect();
        let analysis = self.table.key_columns.analyze_filters(&filters);
        let lookup = self
            .table
            .keys
            .lookup(&analysis.lookup)
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        if lookup == StateLookup::Scan {
            self.table.full_scans.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Arc::new(StateTableScanExec::new(
            Arc::clone(&self.table),
            lookup,
            projection.cloned(),
            limit,
        )?))
    }
}

/// The future `TableProvider::scan` returns (the trait is an `async_trait`).
type ScanFuture<'a> =
    Pin<Box<dyn Future<Output = DataFusionResult<Arc<dyn ExecutionPlan>>> + Send + 'a>>;

impl TableProvider for StateTableProvider {
    fn schema(&self) -> SchemaRef {
        Arc::clone(self.table.decoder.schema())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
        let residual = self.table.key_columns.analyze_filters(filters).residual;
        Ok((0..filters.len())
            .map(|index| {
                if residual.contains(&index) {
                    TableProviderFilterPushDown::Unsupported
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    // Written out as `async_trait` expands it: planning the scan does no asynchronous work.
    fn scan<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _state: &'life1 dyn Session,
        projection: Option<&'life2 Vec<usize>>,
        filters: &'life3 [Expr],
        limit: Option<usize>,
    ) -> ScanFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        let plan = self.plan_scan(projection, filters, limit);
        Box::pin(std::future::ready(plan))
    }
}

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::common::TableReference;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use parser::ast::DataType as SqlType;
    use planner::catalog::{WindowInfo, WindowKind};

    use super::*;
    use crate::operator::window::append_window;
    use crate::state::materialized::encode_value;
    use crate::table_provider::testing::{StateFixture, table_definition};

    /// Runs `sql` over `tables` (upper-case names, as ksqlDB writes them) and prints the rows.
    fn query(tables: &[&StateTableProvider], sql: &str) -> String {
        let mut config = SessionConfig::new().with_target_partitions(1);
        config.options_mut().sql_parser.enable_ident_normalization = false;
        let context = SessionContext::new_with_config(config);
        for table in tables {
            let name = TableReference::bare(table.table.name.as_str());
            context
                .register_table(name, Arc::new((*table).clone()))
                .expect("register");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let batches = runtime
            .block_on(async { context.sql(sql).await?.collect().await })
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        pretty_format_batches(&batches).expect("format").to_string()
    }

    /// Commits table USERS (key ID; a, b, c) and returns a provider over a new snapshot.
    fn users(fixture: &StateFixture) -> StateTableProvider {
        commit_users(fixture);
        let reader =
            SnapshotReader::spawn(&fixture.state, Arc::clone(&fixture.log), &[]).expect("reader");
        StateTableProvider::new(&users_definition(), reader).expect("provider")
    }

    fn users_definition() -> SourceDefinition {
        table_definition("USERS", "KAFKA", &[("ID", SqlType::String)], None)
    }

    fn commit_users(fixture: &StateFixture) {
        fixture.commit_rows(
            "USERS",
            &[
                (b"a".to_vec(), 10, r#"{"COUNT":1,"REGION":"eu"}"#),
                (b"b".to_vec(), 20, r#"{"COUNT":2,"REGION":"us"}"#),
                (b"c".to_vec(), 30, r#"{"COUNT":3,"REGION":"eu"}"#),
            ],
        );
    }

    #[test]
    fn key_equality_reads_one_row() {
        let fixture = StateFixture::new();
        let users = users(&fixture);
        let rows = query(
            &[&users],
            "SELECT ID, COUNT, REGION, ROWTIME FROM USERS WHERE ID = 'b'",
        );
        assert_eq!(
            rows,
            "+----+-------+--------+---------+\n\
             | ID | COUNT | REGION | ROWTIME |\n\
             +----+-------+--------+---------+\n\
             | b  | 2     | us     | 20      |\n\
             +----+-------+--------+---------+"
        );
        assert_eq!((users.rows_decoded(), users.full_scans()), (1, 0));
    }

    #[test]
    fn key_in_list_and_range_read_only_their_keys() {
        let fixture = StateFixture::new();
        let users = users(&fixture);
        let cases = [
            (
                "SELECT COUNT(*) AS N FROM USERS WHERE ID IN ('a', 'c', 'z')",
                "2",
                2,
            ),
            ("SELECT COUNT(*) AS N FROM USERS WHERE ID >= 'b'", "2", 2),
            (
                "SELECT COUNT(*) AS N FROM USERS WHERE ID < 'b' OR ID = 'c'",
                "2",
                3,
            ),
            (
                "SELECT COUNT(*) AS N FROM USERS WHERE REGION = 'eu'",
                "2",
                3,
            ),
        ];
        for (sql, count, decoded) in cases {
            let before = users.rows_decoded();
            let rows = query(&[&users], sql);
            assert!(rows.contains(&format!("| {count} ")), "{sql}:\n{rows}");
            assert_eq!(users.rows_decoded() - before, decoded, "{sql}");
        }
        assert_eq!(users.full_scans(), 2);
    }

    #[test]
    fn tables_join_and_aggregate_from_one_snapshot() {
        let fixture = StateFixture::new();
        commit_users(&fixture);
        let orders_definition =
            table_definition("ORDERS", "KAFKA", &[("USER", SqlType::String)], None);
        fixture.commit_rows(
            "ORDERS",
            &[
                (b"a".to_vec(), 11, r#"{"COUNT":5,"REGION":"x"}"#),
                (b"c".to_vec(), 31, r#"{"COUNT":7,"REGION":"y"}"#),
            ],
        );
        let reader =
            SnapshotReader::spawn(&fixture.state, Arc::clone(&fixture.log), &[]).expect("reader");
        let users = StateTableProvider::new(&users_definition(), reader.clone()).expect("users");
        let orders = StateTableProvider::new(&orders_definition, reader).expect("orders");
        // Committed after the snapshot: invisible to both tables.
        fixture.commit_rows(
            "USERS",
            &[(b"d".to_vec(), 40, r#"{"COUNT":4,"REGION":"eu"}"#)],
        );
        fixture.commit_rows(
            "ORDERS",
            &[(b"d".to_vec(), 41, r#"{"COUNT":9,"REGION":"z"}"#)],
        );
        let rows = query(
            &[&users, &orders],
            "SELECT U.REGION, SUM(O.COUNT) AS TOTAL, COUNT(*) AS N FROM USERS U \
             JOIN ORDERS O ON U.ID = O.USER GROUP BY U.REGION ORDER BY TOTAL DESC",
        );
        assert_eq!(
            rows,
            "+--------+-------+---+\n\
             | REGION | TOTAL | N |\n\
             +--------+-------+---+\n\
             | eu     | 12    | 2 |\n\
             +--------+-------+---+"
        );
        let rows = query(&[&users], "SELECT COUNT(*) AS N FROM USERS");
        assert!(rows.contains("| 3 |"), "{rows}");
    }

    #[test]
    fn source_tables_read_their_topic_up_to_the_snapshot() {
        let fixture = StateFixture::new();
        let mut definition = table_definition("PRICES", "KAFKA", &[("ID", SqlType::String)], None);
        definition.is_source = true;
        fixture.log.create_topic("prices", 1, 1).expect("topic");
        let produce = |records: &[(&str, Option<&str>, i64)]| {
            let records = records
                .iter()
                .map(|(key, value, timestamp)| {
                    let record = crate::Record {
                        key: Some(key.as_bytes().to_vec()),
                        value: value.map(|value| value.as_bytes().to_vec()),
                        timestamp: *timestamp,
                        headers: Vec::new(),
                    };
                    (0, record)
                })
                .collect();
            fixture.log.produce("prices", records).expect("produce");
        };
        produce(&[
            ("a", Some(r#"{"COUNT":1,"REGION":"eu"}"#), 10),
            ("b", Some(r#"{"COUNT":2,"REGION":"us"}"#), 20),
            ("a", Some(r#"{"COUNT":5,"REGION":"eu"}"#), 30),
            ("b", None, 40),
        ]);
        let reader = SnapshotReader::spawn(
            &fixture.state,
            Arc::clone(&fixture.log),
            &[definition.topic.clone()],
        )
        .expect("reader");
        produce(&[("c", Some(r#"{"COUNT":3,"REGION":"eu"}"#), 50)]);
        let prices = StateTableProvider::from_topic(&definition, reader).expect("provider");
        let rows = query(&[&prices], "SELECT ID, COUNT, ROWTIME FROM PRICES");
        assert_eq!(
            rows,
            "+----+-------+---------+\n\
             | ID | COUNT | ROWTIME |\n\
             +----+-------+---------+\n\
             | a  | 5     | 30      |\n\
             +----+-------+---------+"
        );
        let before = prices.rows_decoded();
        let rows = query(
            &[&prices],
            "SELECT COUNT FROM PRICES WHERE ID IN ('a', 'c')",
        );
        assert!(rows.contains("| 5     |"), "{rows}");
        assert_eq!(prices.rows_decoded() - before, 1);
    }

    #[test]
    fn windowed_rows_carry_their_window_and_bad_entries_are_skipped() {
        let fixture = StateFixture::new();
        let window = WindowInfo {
            kind: WindowKind::Tumbling,
            size_ms: Some(1000),
        };
        let definition =
            table_definition("CLICKS", "KAFKA", &[("ID", SqlType::String)], Some(window));
        let windowed = |key: &str, start: i64| {
            let mut bytes = key.as_bytes().to_vec();
            append_window(&mut bytes, WindowKind::Tumbling, start, start + 1000);
            bytes
        };
        let value = |count: i64| encode_value(5, format!(r#"{{"COUNT":{count}}}"#).as_bytes());
        fixture.commit_entries(
            &table_state_id("CLICKS"),
            &[
                (windowed("a", 0), value(1)),
                (windowed("a", 1000), value(2)),
                (windowed("ab", 0), value(3)),
                (windowed("b", 0), b"short".to_vec()),
                (b"x".to_vec(), value(4)),
            ],
        );
        let reader =
            SnapshotReader::spawn(&fixture.state, Arc::clone(&fixture.log), &[]).expect("reader");
        let clicks = StateTableProvider::new(&definition, reader).expect("provider");
        let rows = query(
            &[&clicks],
            "SELECT ID, WINDOWSTART, WINDOWEND, COUNT FROM CLICKS WHERE ID = 'a' ORDER BY WINDOWSTART",
        );
        assert_eq!(
            rows,
            "+----+-------------+-----------+-------+\n\
             | ID | WINDOWSTART | WINDOWEND | COUNT |\n\
             +----+-------------+-----------+-------+\n\
             | a  | 0           | 1000      | 1     |\n\
             | a  | 1000        | 2000      | 2     |\n\
             +----+-------------+-----------+-------+"
        );
        let rows = query(&[&clicks], "SELECT COUNT(*) AS N FROM CLICKS");
        assert!(rows.contains("| 3 |"), "{rows}");
    }
}
