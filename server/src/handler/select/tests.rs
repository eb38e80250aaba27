use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use executor::pull::SqlPullQuery;
use planner::pull::SqlPullPlan;

use super::*;
use crate::{ServerError, Session};

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
        let plan = PlannedSelect::Pull(PullPlan::Sql(Box::new(self.plan(sql)?)));
        run(&self.engine, plan, &self.session)
    }

    fn prepare(&self, sql: &str) -> SqlPullQuery {
        self.plan(sql)
            .and_then(|plan| {
                let log = self.engine.topic_log();
                SqlPullQuery::prepare(&plan, self.engine.state_store(), log)
                    .map_err(ServerError::Exec)
            })
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
    let tables: Vec<_> = ["USER_CLICKS", "USER_REGIONS"]
        .into_iter()
        .map(|name| prepared.table(name).expect("read").clone())
        .collect();
    let batches = prepared.execute().expect("execute");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 1);
    let decoded: Vec<(u64, u64)> = tables
        .iter()
        .map(|table| (table.rows_decoded(), table.full_scans()))
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
    let batches = prepared.execute().expect("execute");
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
