//! Golden end-to-end tests of pull queries as ksqlDB answers them: key lookups (`=`, `IN`,
//! multi-column keys), key ranges, window bounds, table scans with WHERE and LIMIT, pull
//! queries over streams, and ksqlDB's validation errors.
//!
//! Expected rows are derived by hand from the records each test writes. The header is
//! printed as ksqlDB's REST header: `NAME TYPE [KEY]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use executor::{QueryState, Record};
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::{execute, wait_until};

/// How long a test waits for its queries; they normally catch up in milliseconds.
const WAIT: Duration = Duration::from_secs(30);

/// Orders (KAFKA-format string key `REGION`) and the per-region totals table.
const ORDERS: &str = "
    CREATE STREAM orders (region VARCHAR KEY, item VARCHAR, amount INT)
      WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE totals AS
      SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY region;
    CREATE TABLE per_item WITH (KEY_FORMAT='JSON') AS
      SELECT region, item, SUM(amount) AS total FROM orders GROUP BY region, item;
    CREATE TABLE per_second AS
      SELECT region, COUNT(*) AS n FROM orders WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY region;
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (1000, 'eu', 'tea', 5);
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (1500, 'eu', 'cake', 7);
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (2100, 'eu', 'tea', 1);
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (1200, 'us', 'tea', 3);
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (3300, 'asia', 'rice', 2);
    INSERT INTO orders (ROWTIME, region, item, amount) VALUES (3400, 'africa', 'tea', 4);";

/// A fresh engine in a temporary directory.
struct Fixture {
    engine: Arc<Engine>,
    session: Session,
    _directory: tempfile::TempDir,
}

/// Opens a fresh engine, runs `script` and waits for its persistent queries.
fn start(script: &str) -> Fixture {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(&engine, &mut session, script);
    wait_caught_up(&engine);
    Fixture {
        engine,
        session,
        _directory: directory,
    }
}

fn wait_caught_up(engine: &Engine) {
    wait_until(WAIT, "the persistent queries to catch up", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("queries catch up");
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            panic!("query {id} failed: {message}");
        }
    }
}

/// A pull query's answer: header, rows (cells as JSON joined by ` | `, in arrival order)
/// and final message.
#[derive(Debug)]
struct Answer {
    header: Vec<String>,
    rows: Vec<String>,
    final_message: Option<&'static str>,
}

impl Fixture {
    fn set(&mut self, name: &str, value: &str) {
        self.session
            .properties
            .insert(name.to_string(), value.to_string());
    }

    fn output(&mut self, sql: &str) -> Result<StatementOutput, String> {
        let mut outputs = Vec::new();
        self.engine
            .execute_script(sql, &mut self.session, |_, output| outputs.push(output))
            .map_err(|error| executor::error_chain(&error))?;
        Ok(outputs.pop().expect("one statement"))
    }

    fn pull(&mut self, sql: &str) -> Answer {
        let output = self
            .output(sql)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        let StatementOutput::Rows(mut stream) = output else {
            panic!("{sql}: a pull query returns rows");
        };
        assert!(stream.is_pull, "{sql}: marked as a pull query");
        let header = stream
            .columns
            .iter()
            .map(|column| {
                let key = if column.key { " KEY" } else { "" };
                format!("{} {}{key}", column.name, column.type_name)
            })
            .collect();
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
        if let QueryState::Error(message) = stream.handle.state() {
            panic!("{sql}: the pull query failed: {message}");
        }
        Answer {
            header,
            rows,
            final_message: stream.final_message,
        }
    }

    /// The rows of a pull query, sorted.
    fn rows(&mut self, sql: &str) -> Vec<String> {
        let mut rows = self.pull(sql).rows;
        rows.sort();
        rows
    }

    fn error(&mut self, sql: &str) -> String {
        match self.output(sql) {
            Ok(_) => panic!("{sql}: expected an error"),
            Err(message) => message,
        }
    }

    /// Records of the table `name` read by queries (`consumer-messages` of DESCRIBE EXTENDED).
    fn rows_decoded(&mut self, name: &str) -> u64 {
        let Ok(StatementOutput::Completed(StatementResult::SourceDescription(description))) =
            self.output(&format!("DESCRIBE {name} EXTENDED;"))
        else {
            panic!("DESCRIBE {name} EXTENDED describes the source");
        };
        let text = &description.statistics;
        let count = text
            .split("consumer-messages: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no consumer-messages in:\n{text}"));
        count.parse().expect("a count")
    }
}

#[test]
fn key_lookup_returns_the_current_row_with_a_keyed_header() {
    let mut fixture = start(ORDERS);
    let answer = fixture.pull("SELECT * FROM totals WHERE region = 'eu';");
    assert_eq!(
        answer.header,
        ["REGION STRING KEY", "N BIGINT", "TOTAL INTEGER"]
    );
    assert_eq!(answer.rows, [r#""eu" | 3 | 13"#]);
    assert_eq!(answer.final_message, None);

    let missing = fixture.pull("SELECT * FROM totals WHERE region = 'mars';");
    assert!(missing.rows.is_empty(), "{missing:?}");

    // Select order is kept; ROWTIME is the timestamp of the row's last update.
    let answer = fixture.pull("SELECT total, ROWTIME, region FROM totals WHERE region = 'eu';");
    assert_eq!(
        answer.header,
        ["TOTAL INTEGER", "ROWTIME BIGINT", "REGION STRING KEY"]
    );
    assert_eq!(answer.rows, [r#"13 | 2100 | "eu""#]);
}

#[test]
fn in_lists_and_disjunctions_look_up_each_key_once() {
    let mut fixture = start(ORDERS);
    let cases = [
        (
            "SELECT region, n FROM totals WHERE region IN ('us', 'eu', 'us', 'mars');",
            vec![r#""eu" | 3"#, r#""us" | 1"#],
        ),
        (
            "SELECT region, n FROM totals WHERE region = 'asia' OR region = 'us';",
            vec![r#""asia" | 1"#, r#""us" | 1"#],
        ),
        (
            "SELECT region, n FROM totals WHERE region IN ('eu', 'us') AND n > 1;",
            vec![r#""eu" | 3"#],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(fixture.rows(sql), expected, "{sql}");
    }
}

#[test]
fn key_lookup_decodes_only_the_keys_it_looks_up() {
    let mut fixture = start(ORDERS);
    let before = fixture.rows_decoded("TOTALS");
    fixture.pull("SELECT * FROM totals WHERE region = 'eu';");
    fixture.pull("SELECT * FROM totals WHERE region IN ('us', 'asia', 'mars');");
    assert_eq!(fixture.rows_decoded("TOTALS") - before, 3);
    fixture.pull("SELECT * FROM totals WHERE n > 0;");
    assert_eq!(
        fixture.rows_decoded("TOTALS") - before,
        3 + 4,
        "a scan reads every row"
    );
}

#[test]
fn multi_column_keys_need_every_key_column() {
    let mut fixture = start(ORDERS);
    let answer = fixture.pull("SELECT * FROM per_item WHERE region = 'eu' AND item = 'tea';");
    assert_eq!(
        answer.header,
        ["REGION STRING KEY", "ITEM STRING KEY", "TOTAL INTEGER"]
    );
    assert_eq!(answer.rows, [r#""eu" | "tea" | 6"#]);
    // With table scans, one key column filters a scan.
    assert_eq!(
        fixture.rows("SELECT item, total FROM per_item WHERE region = 'eu';"),
        [r#""cake" | 7"#, r#""tea" | 6"#]
    );
    fixture.set("ksql.query.pull.table.scan.enabled", "false");
    let error = fixture.error("SELECT * FROM per_item WHERE region = 'eu';");
    assert!(
        error.starts_with("Multi-column sources must specify every key in the WHERE clause. Specified: [`REGION`] Expected: [`REGION` STRING KEY, `ITEM` STRING KEY]."),
        "{error}"
    );
}

#[test]
fn key_ranges_read_a_range_even_without_table_scans() {
    let mut fixture = start(ORDERS);
    fixture.set("ksql.query.pull.table.scan.enabled", "false");
    let cases = [
        (
            "SELECT region FROM totals WHERE region < 'eu';",
            vec![r#""africa""#, r#""asia""#],
        ),
        (
            "SELECT region FROM totals WHERE region >= 'eu';",
            vec![r#""eu""#, r#""us""#],
        ),
        (
            "SELECT region FROM totals WHERE region > 'africa' AND total > 2;",
            vec![r#""eu""#, r#""us""#],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(fixture.rows(sql), expected, "{sql}");
    }
    // Two bounds on the key need table scans enabled (ksqlDB's rule), then read one range.
    let error = fixture.error("SELECT * FROM totals WHERE region BETWEEN 'asia' AND 'eu';");
    assert!(
        error.starts_with("A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate."),
        "{error}"
    );
    fixture.set("ksql.query.pull.table.scan.enabled", "true");
    let before = fixture.rows_decoded("TOTALS");
    assert_eq!(
        fixture.rows("SELECT region FROM totals WHERE region BETWEEN 'asia' AND 'eu';"),
        [r#""asia""#, r#""eu""#]
    );
    assert_eq!(
        fixture.rows_decoded("TOTALS") - before,
        2,
        "only the range is read"
    );
    fixture.set("ksql.query.pull.table.scan.enabled", "false");
    fixture.set("ksql.query.pull.range.scan.enabled", "false");
    let error = fixture.error("SELECT * FROM totals WHERE region < 'eu';");
    assert_eq!(
        error,
        "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true"
    );
}

#[test]
fn windowed_lookups_return_window_bounds_as_keys() {
    let mut fixture = start(ORDERS);
    let answer = fixture.pull("SELECT * FROM per_second WHERE region = 'eu';");
    assert_eq!(
        answer.header,
        [
            "REGION STRING KEY",
            "WINDOWSTART BIGINT KEY",
            "WINDOWEND BIGINT KEY",
            "N BIGINT"
        ]
    );
    assert_eq!(
        answer.rows,
        [r#""eu" | 1000 | 2000 | 2"#, r#""eu" | 2000 | 3000 | 1"#]
    );
    let cases = [
        (
            "SELECT WINDOWSTART, n FROM per_second WHERE region = 'eu' AND WINDOWSTART >= 1500;",
            vec!["2000 | 1"],
        ),
        (
            "SELECT WINDOWSTART, n FROM per_second WHERE region = 'eu' AND WINDOWEND <= 2000;",
            vec!["1000 | 2"],
        ),
        (
            "SELECT WINDOWSTART, n FROM per_second WHERE region = 'eu' AND WINDOWSTART = '1970-01-01T00:00:02';",
            vec!["2000 | 1"],
        ),
        (
            "SELECT region, WINDOWSTART FROM per_second WHERE WINDOWSTART >= 3000;",
            vec![r#""africa" | 3000"#, r#""asia" | 3000"#],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(fixture.rows(sql), expected, "{sql}");
    }
}

#[test]
fn table_scans_apply_where_and_limit() {
    let mut fixture = start(ORDERS);
    assert_eq!(
        fixture.rows("SELECT region, total FROM totals WHERE total > 3 AND region LIKE '%a%';"),
        [r#""africa" | 4"#]
    );
    assert_eq!(fixture.pull("SELECT * FROM totals LIMIT 2;").rows.len(), 2);
    assert_eq!(fixture.pull("SELECT * FROM totals LIMIT 0;").rows.len(), 0);
    assert_eq!(fixture.pull("SELECT * FROM totals;").rows.len(), 4);
    fixture.set("ksql.query.pull.table.scan.enabled", "false");
    let error = fixture.error("SELECT * FROM totals WHERE n = 100;");
    assert!(
        error.starts_with("WHERE clause missing key column for disjunct: (N = 100)."),
        "{error}"
    );
    let error = fixture.error("SELECT * FROM totals;");
    assert!(
        error.starts_with("Query requires table scan to be enabled"),
        "{error}"
    );
}

#[test]
fn tables_return_current_values_without_tombstones() {
    let mut fixture = start(
        "CREATE SOURCE TABLE users (id VARCHAR PRIMARY KEY, score INT)
           WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);",
    );
    let record = |key: &str, value: Option<&str>, timestamp| {
        (
            0,
            Record {
                key: Some(key.as_bytes().to_vec()),
                value: value.map(|value| value.as_bytes().to_vec()),
                timestamp,
                headers: Vec::new(),
            },
        )
    };
    fixture
        .engine
        .topic_log()
        .produce(
            "users",
            vec![
                record("ann", Some(r#"{"SCORE":5}"#), 10),
                record("bob", Some(r#"{"SCORE":20}"#), 11),
                record("ann", Some(r#"{"SCORE":30}"#), 12),
                record("cid", Some(r#"{"SCORE":40}"#), 13),
                record("cid", None, 14),
            ],
        )
        .expect("produce");
    execute(
        &fixture.engine,
        &mut fixture.session,
        "CREATE TABLE high AS SELECT id, score FROM users WHERE score > 10;",
    );
    wait_caught_up(&fixture.engine);
    // The source table is read from its topic: the last record per key.
    assert_eq!(
        fixture.rows("SELECT id, score, ROWTIME FROM users;"),
        [r#""ann" | 30 | 12"#, r#""bob" | 20 | 11"#]
    );
    assert_eq!(
        fixture.rows("SELECT * FROM users WHERE id = 'ann';"),
        [r#""ann" | 30"#]
    );
    fixture
        .engine
        .topic_log()
        .produce("users", vec![record("bob", Some(r#"{"SCORE":1}"#), 15)])
        .expect("produce");
    wait_caught_up(&fixture.engine);
    // `bob` no longer passes the filter: the table's tombstone deleted it.
    assert_eq!(fixture.rows("SELECT * FROM high;"), [r#""ann" | 30"#]);
    assert!(
        fixture
            .rows("SELECT * FROM high WHERE id = 'bob';")
            .is_empty()
    );
}

#[test]
fn stream_pull_queries_read_to_the_end_and_complete() {
    let mut fixture = start(ORDERS);
    let answer = fixture.pull("SELECT region, amount FROM orders WHERE amount > 3;");
    assert_eq!(answer.header, ["REGION STRING", "AMOUNT INTEGER"]);
    assert_eq!(
        answer.rows,
        [r#""eu" | 5"#, r#""eu" | 7"#, r#""africa" | 4"#]
    );
    assert_eq!(answer.final_message, Some("Query Completed"));
    let limited = fixture.pull("SELECT * FROM orders LIMIT 2;");
    assert_eq!(limited.rows.len(), 2);
    assert_eq!(limited.final_message, Some("Query Completed"));
}

#[test]
fn invalid_pull_queries_fail_with_ksqldb_messages() {
    let mut fixture = start(&format!(
        "{ORDERS}
         CREATE TABLE plain (id INT PRIMARY KEY, v VARCHAR)
           WITH (KAFKA_TOPIC='plain', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE counts AS SELECT amount, COUNT(*) AS n FROM orders GROUP BY amount;"
    ));
    let cases = [
        (
            "SELECT * FROM plain WHERE id = 1;",
            "The `PLAIN` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_PLAIN AS SELECT * FROM PLAIN'. See https://cnfl.io/queries for more info.",
        ),
        (
            "SELECT * FROM counts WHERE amount IN (NULL);",
            "Primary key columns can not be NULL: (AMOUNT = null)",
        ),
        (
            "SELECT * FROM counts WHERE amount = NULL;",
            "Error in WHERE expression: Comparison with NULL not supported: INTEGER = NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.\nStatement: (AMOUNT = null)",
        ),
        (
            "SELECT * FROM counts WHERE amount IN ('10', 8);",
            "'10' can not be converted to the type of the key column: AMOUNT INTEGER KEY",
        ),
        (
            "SELECT * FROM counts WHERE amount = '10';",
            "Error in WHERE expression: Cannot compare AMOUNT (INTEGER) to '10' (STRING) with EQUAL.\nStatement: (AMOUNT = '10')",
        ),
        (
            "SELECT *, ROWPARTITION FROM totals WHERE region = 'eu';",
            "Pull queries don't support the following columns in SELECT clauses: `ROWPARTITION`",
        ),
        (
            "SELECT * FROM orders GROUP BY region;",
            "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
        ),
        (
            "SELECT * FROM totals t JOIN orders o ON t.region = o.region;",
            "Pull queries don't support JOIN clauses.",
        ),
    ];
    for (sql, expected) in cases {
        let error = fixture.error(sql);
        assert!(
            error.starts_with(expected),
            "{sql}\n  got: {error}\n want: {expected}"
        );
    }
    fixture.set("ksql.query.pull.table.scan.enabled", "false");
    let error = fixture.error("SELECT * FROM counts WHERE amount + 1 = 5;");
    assert!(
        error.starts_with("A comparison must directly reference a key column."),
        "{error}"
    );
}

#[test]
fn shapes_ksqldb_rejects_over_materialized_tables_run_as_sql() {
    let mut fixture = start(ORDERS);
    let rows = fixture.rows("SELECT COUNT(*) AS regions FROM totals;");
    assert_eq!(rows, ["4"]);
}

/// Engine-side cost of a key lookup (parse, plan, read, decode, project, drain), in release:
/// `cargo test --release -p tests --test pull_queries -- --ignored --nocapture`.
#[test]
#[ignore = "a micro-benchmark; run it in release"]
fn key_lookups_cost_microseconds() {
    const KEYS: usize = 10_000;
    const LOOKUPS: usize = 20_000;
    let mut fixture = start(
        "CREATE STREAM s (id VARCHAR KEY, v BIGINT)
           WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE TABLE t AS SELECT id, LATEST_BY_OFFSET(v) AS v, COUNT(*) AS n FROM s GROUP BY id;",
    );
    let records = (0..KEYS)
        .map(|index| {
            (
                0,
                Record {
                    key: Some(format!("k{index}").into_bytes()),
                    value: Some(format!(r#"{{"V":{index}}}"#).into_bytes()),
                    timestamp: index as i64,
                    headers: Vec::new(),
                },
            )
        })
        .collect();
    fixture
        .engine
        .topic_log()
        .produce("s", records)
        .expect("produce");
    wait_caught_up(&fixture.engine);
    let queries: Vec<String> = (0..LOOKUPS)
        .map(|index| format!("SELECT * FROM T WHERE ID='k{}';", (index * 7919) % KEYS))
        .collect();
    let started = Instant::now();
    for sql in &queries {
        let answer = fixture.pull(sql);
        assert_eq!(answer.rows.len(), 1, "{sql}");
    }
    let per_lookup = started.elapsed() / LOOKUPS as u32;
    println!("key lookup: {per_lookup:?} per query ({LOOKUPS} lookups over {KEYS} keys)");
}
