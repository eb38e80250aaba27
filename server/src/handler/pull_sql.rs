//! SQL pull queries beyond ksqlDB's, run: the plan `planner::pull::plan_sql_pull` made, over
//! one snapshot of the tables it reads.
//!
//! Every table of the query reads one snapshot of the state, taken before the query runs,
//! and key predicates narrow the reads (`executor::table_provider`). The query runs to the
//! end on its own thread; its rows come back through a pre-filled `RowStream`. Queries of
//! the shapes ksqlDB supports take the fast path in `handler::select` instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use executor::ExecError;
use executor::table_provider::{SnapshotReader, StateTableProvider};
use planner::pull::SqlPullPlan;

use crate::engine::{Engine, OutputColumn, RowStream, StatementOutput};
use crate::{Result, ServerError, user_error};

/// Runs a planned SQL pull query and returns all its rows.
pub fn run(engine: &Engine, plan: SqlPullPlan) -> Result<StatementOutput> {
    let prepared = PreparedQuery::prepare(engine, plan)?;
    let (schema, batches) = prepared.execute()?;
    rows_output(&schema, batches)
}

/// A planned query with readers of its tables over a snapshot taken at `prepare`.
struct PreparedQuery {
    plan: LogicalPlan,
    tables: HashMap<String, StateTableProvider>,
    key_reads_only: bool,
}

impl PreparedQuery {
    fn prepare(engine: &Engine, plan: SqlPullPlan) -> Result<Self> {
        let topics: Vec<String> = plan
            .tables
            .iter()
            .filter(|table| !table.materialized)
            .map(|table| table.source.topic.clone())
            .collect();
        let reader = SnapshotReader::spawn(engine.state_store(), engine.topic_log(), &topics)?;
        let tables = plan
            .tables
            .iter()
            .map(|table| {
                let reader = reader.clone();
                let provider = if table.materialized {
                    StateTableProvider::new(&table.source, reader)?
                } else {
                    StateTableProvider::from_topic(&table.source, reader)?
                };
                Ok((table.source.name.clone(), provider))
            })
            .collect::<Result<_>>()?;
        Ok(PreparedQuery {
            plan: plan.plan,
            tables,
            key_reads_only: plan.key_reads_only,
        })
    }

    /// Runs the query on a thread of its own (DataFusion needs a tokio runtime, and the
    /// caller may be on one): the output schema and every batch.
    fn execute(self) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let worker = std::thread::Builder::new()
            .name("pull-sql".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(|error| ServerError::Exec(ExecError::Io(error)))?;
                runtime.block_on(self.collect())
            })
            .map_err(|error| ServerError::Exec(ExecError::Io(error)))?;
        worker
            .join()
            .map_err(|_| ServerError::Internal("the SQL pull query thread panicked".into()))?
    }

    async fn collect(self) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let state = planner::pull::session_state();
        let plan = with_readers(self.plan, &self.tables)?;
        let physical = state
            .create_physical_plan(&plan)
            .await
            .map_err(user_message)?;
        if self.key_reads_only && self.tables.values().any(|table| table.full_scans() > 0) {
            return user_error(
                "Query requires table scan to be enabled. Table scans can be enabled by setting \
                 ksql.query.pull.table.scan.enabled=true",
            );
        }
        let context = Arc::new(TaskContext::from(state));
        let batches = datafusion::physical_plan::collect(Arc::clone(&physical), context)
            .await
            .map_err(user_message)?;
        Ok((physical.schema(), batches))
    }
}

/// `plan` with every table scan (in subqueries too) reading its table from `tables`.
fn with_readers(
    plan: LogicalPlan,
    tables: &HashMap<String, StateTableProvider>,
) -> Result<LogicalPlan> {
    let transformed = plan
        .transform_up_with_subqueries(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                let Some(table) = tables.get(scan.table_name.table()) else {
                    return Err(DataFusionError::Internal(format!(
                        "the SQL pull query reads table \"{}\", which it did not plan",
                        scan.table_name
                    )));
                };
                scan.source = provider_as_source(Arc::new(table.clone()));
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map_err(user_message)?;
    Ok(transformed.data)
}

/// The rows as a finished pull query's stream: ksqlDB types and unique column names.
fn rows_output(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<StatementOutput> {
    let mut used = HashSet::new();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            Field::new(
                planner::pull::unique_name(field.name(), &mut used),
                output_type(field.data_type()),
                true,
            )
        })
        .collect();
    let columns = fields
        .iter()
        .map(|field| OutputColumn {
            name: field.name().clone(),
            type_name: planner::types::arrow_type_name(field.data_type()),
            key: false,
        })
        .collect();
    let output_schema = Arc::new(Schema::new(fields));
    let batches = batches
        .into_iter()
        .filter(|batch| batch.num_rows() > 0)
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(output_schema.fields())
                .map(|(column, field)| cast(column, field.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| ServerError::User(error.to_string()))?;
            RecordBatch::try_new(Arc::clone(&output_schema), columns)
                .map_err(|error| ServerError::Internal(error.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let (receiver, handle) = executor::query::finished_query(batches);
    Ok(StatementOutput::Rows(RowStream {
        columns,
        receiver,
        handle,
        is_pull: true,
        final_message: None,
        scalable_push: false,
    }))
}

/// The Arrow type Eddy uses for the ksqlDB type of a DataFusion result column; types ksqlDB
/// lacks (NULL, intervals) become STRING.
fn output_type(data_type: &DataType) -> DataType {
    planner::types::from_arrow(data_type)
        .and_then(|ksql_type| planner::types::to_arrow(&ksql_type).ok())
        .unwrap_or(DataType::Utf8)
}

/// A DataFusion error of running a query as the server reports it: a storage failure keeps
/// its kind, the rest reads as planning errors do (`planner::pull::sql_error`).
fn user_message(error: DataFusionError) -> ServerError {
    match error {
        DataFusionError::External(inner) => match inner.downcast::<ExecError>() {
            Ok(error) => ServerError::Exec(*error),
            Err(inner) => ServerError::User(inner.to_string()),
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            user_message(*inner)
        }
        DataFusionError::Collection(mut errors) if !errors.is_empty() => {
            user_message(errors.swap_remove(0))
        }
        other => match planner::pull::sql_error(other) {
            planner::PlanError::Internal(message) => ServerError::Internal(message),
            error => ServerError::User(error.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::Session;

    /// Clicks per user into two materialized tables: `USER_CLICKS` (count and amount per user)
    /// and `USER_REGIONS` (the region of each user's last click).
    const SETUP: &str = "
        CREATE STREAM CLICKS (USER_ID VARCHAR KEY, REGION VARCHAR, AMOUNT BIGINT)
          WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=1);
        INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('alice', 'eu', 10);
        INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('bob', 'us', 20);
        INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('alice', 'eu', 30);
        INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('carol', 'eu', 5);
        CREATE TABLE USER_CLICKS AS
          SELECT USER_ID, COUNT(*) AS CLICKS, SUM(AMOUNT) AS AMOUNT FROM CLICKS GROUP BY USER_ID;
        CREATE TABLE USER_REGIONS AS
          SELECT USER_ID, LATEST_BY_OFFSET(REGION) AS REGION FROM CLICKS GROUP BY USER_ID;
        CREATE TABLE DECLARED (ID VARCHAR PRIMARY KEY, V BIGINT)
          WITH (KAFKA_TOPIC='declared', VALUE_FORMAT='JSON', PARTITIONS=1);
        CREATE SOURCE TABLE FACTORS (REGION VARCHAR PRIMARY KEY, FACTOR BIGINT)
          WITH (KAFKA_TOPIC='factors', VALUE_FORMAT='JSON', PARTITIONS=1);";

    struct Fixture {
        engine: Arc<Engine>,
        session: Session,
        _directory: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let directory = tempfile::tempdir().expect("temp dir");
            let engine = Engine::open(directory.path()).expect("engine");
            let mut session = Session::default();
            session
                .properties
                .insert("auto.offset.reset".into(), "earliest".into());
            let fixture = Fixture {
                engine,
                session,
                _directory: directory,
            };
            fixture.execute(SETUP);
            fixture
        }

        /// Runs statements, then waits until the persistent queries have caught up.
        fn execute(&self, sql: &str) {
            let mut session = self.session.clone();
            self.engine
                .execute_script(sql, &mut session, |_, _| {})
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
            let started = Instant::now();
            while !self.engine.queries_caught_up().expect("caught up") {
                assert!(started.elapsed() < Duration::from_secs(30), "queries lag");
                std::thread::park_timeout(Duration::from_millis(5));
            }
        }

        fn plan(&self, sql: &str) -> Result<SqlPullPlan> {
            let catalog = self.engine.catalog();
            Ok(planner::pull::plan_sql_pull(
                &catalog,
                sql,
                &self.session.properties,
            )?)
        }

        fn run(&self, sql: &str) -> Result<StatementOutput> {
            run(&self.engine, self.plan(sql)?)
        }

        fn prepare(&self, sql: &str) -> PreparedQuery {
            self.plan(sql)
                .and_then(|plan| PreparedQuery::prepare(&self.engine, plan))
                .unwrap_or_else(|error| panic!("{sql}: {error}"))
        }

        /// Header `NAME TYPE, ...` and rows `a | b` of a query, in its order.
        fn rows(&self, sql: &str) -> (String, Vec<String>) {
            let output = self
                .run(sql)
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
            let StatementOutput::Rows(mut stream) = output else {
                panic!("{sql}: not rows");
            };
            let header = stream
                .columns
                .iter()
                .map(|column| format!("{} {}", column.name, column.type_name))
                .collect::<Vec<_>>()
                .join(", ");
            let mut rows = Vec::new();
            while let Ok(batch) = stream.receiver.try_recv() {
                for row in 0..batch.num_rows() {
                    let cells: Vec<String> = batch
                        .columns()
                        .iter()
                        .map(|column| {
                            executor::format::arrow_value_to_json(column.as_ref(), row).to_string()
                        })
                        .collect();
                    rows.push(cells.join(" | "));
                }
            }
            assert_eq!(stream.handle.state(), executor::QueryState::Done);
            (header, rows)
        }

        fn error(&self, sql: &str) -> String {
            match self.run(sql) {
                Ok(_) => panic!("{sql}: no error"),
                Err(error) => error.to_string(),
            }
        }
    }

    #[test]
    fn identifiers_follow_ksqldb_case_rules() {
        let fixture = Fixture::new();
        let expected = ("KSQL_COL_0 BIGINT".to_string(), vec!["3".to_string()]);
        for sql in [
            "select count(*) from user_clicks",
            "SELECT COUNT(*) FROM USER_CLICKS",
            "SELECT count(*) FROM \"USER_CLICKS\"",
        ] {
            assert_eq!(fixture.rows(sql), expected, "{sql}");
        }
        assert_eq!(
            fixture.error("SELECT COUNT(*) FROM \"user_clicks\""),
            "`user_clicks` does not exist."
        );
    }

    #[test]
    fn ksqldb_functions_run_on_state() {
        let fixture = Fixture::new();
        let (header, rows) = fixture.rows(
            "SELECT UCASE(USER_ID) AS NAME, LEN(USER_ID), ROUND(AMOUNT / 3.0) AS THIRD \
             FROM USER_CLICKS WHERE USER_ID = 'alice'",
        );
        assert_eq!(header, "NAME STRING, KSQL_COL_0 INTEGER, THIRD BIGINT");
        assert_eq!(rows, ["\"ALICE\" | 5 | 13"]);
    }

    #[test]
    fn order_by_limit_subqueries_and_unions() {
        let fixture = Fixture::new();
        let cases: [(&str, &[&str]); 6] = [
            (
                "SELECT USER_ID, AMOUNT FROM USER_CLICKS ORDER BY AMOUNT DESC LIMIT 2",
                &["\"alice\" | 40", "\"bob\" | 20"],
            ),
            (
                "SELECT USER_ID FROM USER_CLICKS \
                 WHERE AMOUNT > (SELECT AVG(AMOUNT) FROM USER_CLICKS)",
                &["\"alice\""],
            ),
            (
                "SELECT REGION, N FROM \
                 (SELECT REGION, COUNT(*) AS N FROM USER_REGIONS GROUP BY REGION) T \
                 WHERE N > 1",
                &["\"eu\" | 2"],
            ),
            (
                "SELECT USER_ID FROM USER_REGIONS \
                 WHERE USER_ID IN (SELECT USER_ID FROM USER_CLICKS WHERE CLICKS > 1)",
                &["\"alice\""],
            ),
            (
                "WITH BIG AS (SELECT USER_ID FROM USER_CLICKS WHERE AMOUNT >= 20) \
                 SELECT COUNT(*) AS N FROM BIG",
                &["2"],
            ),
            (
                "SELECT USER_ID FROM USER_CLICKS WHERE USER_ID = 'bob' UNION ALL \
                 SELECT REGION FROM USER_REGIONS WHERE USER_ID = 'carol' ORDER BY 1",
                &["\"bob\"", "\"eu\""],
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(fixture.rows(sql).1, expected, "{sql}");
        }
    }

    #[test]
    fn key_equality_reads_only_that_key() {
        let fixture = Fixture::new();
        let prepared = fixture.prepare(
            "SELECT C.USER_ID, C.CLICKS, R.REGION FROM USER_CLICKS C \
             JOIN USER_REGIONS R ON C.USER_ID = R.USER_ID WHERE C.USER_ID = 'alice'",
        );
        let mut tables: Vec<(String, StateTableProvider)> = prepared
            .tables
            .iter()
            .map(|(name, table)| (name.clone(), table.clone()))
            .collect();
        tables.sort_by(|left, right| left.0.cmp(&right.0));
        let (_, batches) = prepared.execute().expect("execute");
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1);
        let decoded: Vec<(u64, u64)> = tables
            .iter()
            .map(|(_, table)| (table.rows_decoded(), table.full_scans()))
            .collect();
        // USER_CLICKS: the point read of 'alice'. USER_REGIONS: DataFusion infers
        // R.USER_ID = 'alice' from the join condition, so it is a point read too.
        assert_eq!(decoded, [(1, 0), (1, 0)]);
    }

    #[test]
    fn all_tables_read_the_snapshot_taken_when_prepared() {
        let fixture = Fixture::new();
        let sql = "SELECT R.REGION, SUM(C.CLICKS) AS CLICKS FROM USER_CLICKS C \
                   JOIN USER_REGIONS R ON C.USER_ID = R.USER_ID GROUP BY R.REGION ORDER BY R.REGION";
        let prepared = fixture.prepare(sql);
        fixture.execute(
            "INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('dave', 'us', 1);
             INSERT INTO CLICKS (USER_ID, REGION, AMOUNT) VALUES ('alice', 'us', 1);",
        );
        let (_, batches) = prepared.execute().expect("execute");
        let before = arrow::util::pretty::pretty_format_batches(&batches)
            .expect("format")
            .to_string();
        assert!(before.contains("| eu     | 3      |"), "{before}");
        assert!(before.contains("| us     | 1      |"), "{before}");
        let (_, after) = fixture.rows(sql);
        assert_eq!(after, ["\"eu\" | 1", "\"us\" | 5"]);
    }

    #[test]
    fn source_tables_join_from_their_topic() {
        let fixture = Fixture::new();
        let records = [
            ("eu", Some("{\"FACTOR\":2}")),
            ("us", Some("{\"FACTOR\":3}")),
            ("eu", Some("{\"FACTOR\":4}")),
        ]
        .into_iter()
        .chain([("us", None)])
        .map(|(key, value): (&str, Option<&str>)| {
            let record = executor::Record {
                key: Some(key.as_bytes().to_vec()),
                value: value.map(|value| value.as_bytes().to_vec()),
                timestamp: 1,
                headers: Vec::new(),
            };
            (0, record)
        })
        .collect();
        fixture
            .engine
            .topic_log()
            .produce("factors", records)
            .expect("produce");
        let (header, rows) = fixture.rows(
            "SELECT R.USER_ID, C.AMOUNT * F.FACTOR AS WEIGHTED FROM USER_REGIONS R \
             JOIN USER_CLICKS C ON R.USER_ID = C.USER_ID \
             LEFT JOIN FACTORS F ON R.REGION = F.REGION ORDER BY R.USER_ID",
        );
        assert_eq!(header, "USER_ID STRING, WEIGHTED BIGINT");
        assert_eq!(
            rows,
            ["\"alice\" | 160", "\"bob\" | null", "\"carol\" | 20"]
        );
    }

    #[test]
    fn sources_must_be_materialized_tables() {
        let fixture = Fixture::new();
        let cases = [
            (
                "SELECT COUNT(*) FROM NOPE",
                "`NOPE` does not exist.".to_string(),
            ),
            (
                "SELECT COUNT(*) FROM CLICKS",
                "`CLICKS` is a stream: pull queries with joins, aggregates, ORDER BY or \
                 subqueries read tables only"
                    .to_string(),
            ),
            (
                "SELECT COUNT(*) FROM DECLARED",
                "The `DECLARED` table isn't queryable. To derive a queryable table, you can do \
                 'CREATE TABLE QUERYABLE_DECLARED AS SELECT * FROM DECLARED'. See \
                 https://cnfl.io/queries for more info."
                    .to_string(),
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(fixture.error(sql), expected, "{sql}");
        }
    }

    #[test]
    fn datafusion_errors_lose_their_prefixes() {
        let fixture = Fixture::new();
        let cases = [
            ("SELECT NOPE FROM USER_CLICKS", "No field named \"NOPE\""),
            ("SELECT COUNT(*) FROM USER_CLICKS GROUP", "Expected"),
            ("SELECT NOPE(1) FROM USER_CLICKS", "Invalid function 'nope'"),
        ];
        for (sql, start) in cases {
            let error = fixture.error(sql);
            assert!(error.starts_with(start), "{sql}: {error}");
        }
    }

    #[test]
    fn disabled_table_scans_allow_key_reads_only() {
        let mut fixture = Fixture::new();
        fixture
            .session
            .properties
            .insert("ksql.query.pull.table.scan.enabled".into(), "false".into());
        let (_, rows) = fixture.rows(
            "SELECT USER_ID, CLICKS FROM USER_CLICKS WHERE USER_ID IN ('bob', 'carol') ORDER BY USER_ID",
        );
        assert_eq!(rows, ["\"bob\" | 1", "\"carol\" | 1"]);
        let error = fixture.error("SELECT COUNT(*) FROM USER_CLICKS");
        assert!(
            error.starts_with("Query requires table scan to be enabled"),
            "{error}"
        );
    }
}
