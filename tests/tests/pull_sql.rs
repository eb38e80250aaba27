//! Golden end-to-end tests of SQL pull queries beyond ksqlDB's: joins between materialized
//! tables, GROUP BY with aggregates and LIMIT, answered by DataFusion over one snapshot of
//! the state (`server::handler::pull_sql`).
//!
//! Expected rows are derived by hand from the clicks inserted below.

use std::sync::Arc;
use std::time::Duration;

use server::{Engine, Session, StatementOutput};
use tests::{execute, wait_until};

/// How long a test waits for its persistent queries; they normally catch up in milliseconds.
const WAIT: Duration = Duration::from_secs(30);

/// Clicks of alice (eu, 10 + 30), bob (us, 20) and carol (eu, 5) into two tables: clicks and
/// amount per user, and each user's last region.
const SETUP: &str = "
    CREATE STREAM clicks (user_id VARCHAR KEY, region VARCHAR, amount BIGINT)
      WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
    INSERT INTO clicks (user_id, region, amount) VALUES ('alice', 'eu', 10);
    INSERT INTO clicks (user_id, region, amount) VALUES ('bob', 'us', 20);
    INSERT INTO clicks (user_id, region, amount) VALUES ('alice', 'eu', 30);
    INSERT INTO clicks (user_id, region, amount) VALUES ('carol', 'eu', 5);
    CREATE TABLE user_clicks AS
      SELECT user_id, COUNT(*) AS clicks, SUM(amount) AS amount FROM clicks GROUP BY user_id;
    CREATE TABLE user_regions AS
      SELECT user_id, LATEST_BY_OFFSET(region) AS region FROM clicks GROUP BY user_id;";

/// An engine with the tables of `SETUP`, their queries caught up.
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
        let mut fixture = Fixture {
            engine,
            session,
            _directory: directory,
        };
        fixture.run(SETUP);
        fixture
    }

    /// Runs statements and waits until the persistent queries have caught up.
    fn run(&mut self, sql: &str) {
        execute(&self.engine, &mut self.session, sql);
        wait_until(WAIT, "the persistent queries", || {
            Ok(self.engine.queries_caught_up()?)
        })
        .expect("queries catch up");
    }

    /// A pull query's header (`NAME TYPE, ...`) and rows (cells as JSON joined by ` | `), in
    /// the order the query returns them.
    fn query(&mut self, sql: &str) -> (String, Vec<String>) {
        let mut outputs = execute(&self.engine, &mut self.session, sql);
        let Some(StatementOutput::Rows(mut stream)) = outputs.pop() else {
            panic!("{sql}: a pull query returns rows");
        };
        assert!(stream.is_pull, "{sql}");
        assert_eq!(stream.final_message, None, "{sql}");
        let header = stream
            .columns
            .iter()
            .map(|column| {
                assert!(!column.key, "{sql}: {} is not a key", column.name);
                format!("{} {}", column.name, column.type_name)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows = Vec::new();
        while let Some(batch) = stream.receiver.blocking_recv() {
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
        assert_eq!(stream.handle.state(), executor::QueryState::Done, "{sql}");
        (header, rows)
    }

    /// The rows of a query, sorted (for queries without ORDER BY).
    fn sorted_rows(&mut self, sql: &str) -> Vec<String> {
        let (_, mut rows) = self.query(sql);
        rows.sort();
        rows
    }

    fn error(&mut self, sql: &str) -> String {
        let mut session = self.session.clone();
        match self.engine.execute_script(sql, &mut session, |_, _| {}) {
            Ok(()) => panic!("{sql}: no error"),
            Err(error) => error.to_string(),
        }
    }
}

#[test]
fn join_between_two_tables() {
    let mut fixture = Fixture::new();
    let (header, _) = fixture.query(
        "SELECT c.user_id, c.clicks, r.region FROM user_clicks c
           JOIN user_regions r ON c.user_id = r.user_id;",
    );
    assert_eq!(header, "USER_ID STRING, CLICKS BIGINT, REGION STRING");
    let rows = fixture.sorted_rows(
        "SELECT c.user_id, c.clicks, r.region FROM user_clicks c
           JOIN user_regions r ON c.user_id = r.user_id;",
    );
    assert_eq!(
        rows,
        [
            "\"alice\" | 2 | \"eu\"",
            "\"bob\" | 1 | \"us\"",
            "\"carol\" | 1 | \"eu\""
        ]
    );
}

#[test]
fn group_by_region_counts_and_sums() {
    let mut fixture = Fixture::new();
    let sql = "SELECT r.region, COUNT(*) AS users, SUM(c.amount) AS amount, MAX(c.clicks)
                 FROM user_clicks c JOIN user_regions r ON c.user_id = r.user_id
                 GROUP BY r.region;";
    let (header, _) = fixture.query(sql);
    assert_eq!(
        header,
        "REGION STRING, USERS BIGINT, AMOUNT BIGINT, KSQL_COL_0 BIGINT"
    );
    assert_eq!(
        fixture.sorted_rows(sql),
        ["\"eu\" | 2 | 45 | 2", "\"us\" | 1 | 20 | 1"]
    );
    // Aggregates over one table, without GROUP BY: one row.
    let (header, rows) =
        fixture.query("SELECT COUNT(*), SUM(clicks), AVG(amount) FROM user_clicks;");
    assert_eq!(
        header,
        "KSQL_COL_0 BIGINT, KSQL_COL_1 BIGINT, KSQL_COL_2 DOUBLE"
    );
    assert_eq!(rows, ["3 | 4 | 21.666666666666668"]);
}

#[test]
fn identifiers_are_case_insensitive_unless_quoted() {
    let mut fixture = Fixture::new();
    for sql in [
        "select count(*) from user_clicks;",
        "SELECT COUNT(*) FROM USER_CLICKS;",
        "SELECT count(*) FROM `USER_CLICKS`;",
    ] {
        assert_eq!(
            fixture.query(sql),
            ("KSQL_COL_0 BIGINT".to_string(), vec!["3".to_string()]),
            "{sql}"
        );
    }
}

#[test]
fn limit_and_key_equality_apply_to_joins() {
    let mut fixture = Fixture::new();
    let (_, rows) = fixture.query(
        "SELECT c.user_id FROM user_clicks c JOIN user_regions r ON c.user_id = r.user_id LIMIT 2;",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (_, rows) = fixture.query(
        "SELECT c.user_id, c.amount, r.region FROM user_clicks c
           JOIN user_regions r ON c.user_id = r.user_id WHERE c.user_id = 'alice';",
    );
    assert_eq!(rows, ["\"alice\" | 40 | \"eu\""]);
    // A key IN list on one table of an aggregate.
    let (_, rows) = fixture.query(
        "SELECT SUM(amount) AS total FROM user_clicks WHERE user_id IN ('bob', 'carol', 'dave');",
    );
    assert_eq!(rows, ["25"]);
}

#[test]
fn queries_read_the_latest_committed_state() {
    let mut fixture = Fixture::new();
    let sql = "SELECT r.region, SUM(c.clicks) AS clicks FROM user_clicks c
                 JOIN user_regions r ON c.user_id = r.user_id GROUP BY r.region;";
    assert_eq!(fixture.sorted_rows(sql), ["\"eu\" | 3", "\"us\" | 1"]);
    // alice moves to us; dave arrives in us.
    fixture.run(
        "INSERT INTO clicks (user_id, region, amount) VALUES ('alice', 'us', 1);
         INSERT INTO clicks (user_id, region, amount) VALUES ('dave', 'us', 1);",
    );
    assert_eq!(fixture.sorted_rows(sql), ["\"eu\" | 1", "\"us\" | 5"]);
}

#[test]
fn errors_name_the_problem() {
    let mut fixture = Fixture::new();
    let error = fixture
        .error("SELECT c.nope FROM user_clicks c JOIN user_regions r ON c.user_id = r.user_id;");
    assert!(error.contains("NOPE"), "{error}");
    assert!(!error.contains("Error during planning"), "{error}");
    assert!(!error.contains("Schema error"), "{error}");
}

#[test]
fn windowed_tables_expose_their_windows() {
    let mut fixture = Fixture::new();
    // alice clicks in minutes 0 (twice) and 1, bob in minute 0.
    fixture.run(
        "CREATE STREAM timed (user_id VARCHAR KEY, amount BIGINT)
           WITH (kafka_topic='timed', value_format='JSON', partitions=1);
         INSERT INTO timed (ROWTIME, user_id, amount) VALUES (0, 'alice', 1);
         INSERT INTO timed (ROWTIME, user_id, amount) VALUES (30000, 'alice', 2);
         INSERT INTO timed (ROWTIME, user_id, amount) VALUES (60000, 'alice', 4);
         INSERT INTO timed (ROWTIME, user_id, amount) VALUES (10000, 'bob', 8);
         CREATE TABLE per_minute AS
           SELECT user_id, COUNT(*) AS n FROM timed
           WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;",
    );
    let sql = "SELECT user_id, COUNT(*) AS windows, SUM(n) AS clicks, MAX(windowend) AS last_end
                 FROM per_minute GROUP BY user_id;";
    assert_eq!(
        fixture.sorted_rows(sql),
        ["\"alice\" | 2 | 3 | 120000", "\"bob\" | 1 | 1 | 60000"]
    );
    let (_, rows) =
        fixture.query("SELECT COUNT(*), MIN(windowstart) FROM per_minute WHERE user_id = 'alice';");
    assert_eq!(rows, ["2 | 0"]);
}
