//! `EXPLAIN` snapshots: the dataflow plan of representative statements, as `EXPLAIN` prints it.
//!
//! Each case is compared with `tests/snapshots/explain/<name>.txt`. After a plan change,
//! regenerate every snapshot with `EDDY_UPDATE_SNAPSHOTS=1 cargo test -p planner --test explain`
//! and read the diff; never edit a snapshot by hand.

use std::path::{Path, PathBuf};

use planner::{Catalog, Properties, StatementPlan, plan_statement};

/// The sources every case is planned against.
const SOURCES: &[&str] = &[
    "CREATE STREAM PAGEVIEWS (USER_ID STRING KEY, PAGE_ID STRING, VIEWTIME BIGINT, DURATION INT, \
     TAGS ARRAY<STRING>, ADDRESS STRUCT<CITY STRING, ZIP INT>) \
     WITH (kafka_topic='pageviews', value_format='JSON', partitions=2);",
    "CREATE TABLE USERS (ID STRING PRIMARY KEY, NAME STRING, REGION STRING, SCORE INT) \
     WITH (kafka_topic='users', value_format='JSON', partitions=2);",
    "CREATE STREAM ORDERS (REGION STRING KEY, PRODUCT STRING KEY, AMOUNT DOUBLE, QUANTITY INT) \
     WITH (kafka_topic='orders', key_format='JSON', value_format='DELIMITED', partitions=3);",
    "CREATE STREAM READINGS (SENSOR STRING KEY, READING DOUBLE, TS BIGINT) \
     WITH (kafka_topic='readings', value_format='JSON', timestamp='TS', partitions=1);",
    "CREATE STREAM EVENTS (ID BIGINT KEY, KIND STRING, HEADERS_ALL ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS, \
     TRACE BYTES HEADER('trace')) \
     WITH (kafka_topic='events', key_format='KAFKA', value_format='JSON', partitions=1);",
    "CREATE TABLE PAGE_COUNTS (PAGE_ID STRING PRIMARY KEY, VIEWS BIGINT) \
     WITH (kafka_topic='page_counts', value_format='JSON', window_type='TUMBLING', window_size='1 MINUTE');",
    "CREATE STREAM CLICKS (URL STRING, USER_ID STRING) \
     WITH (kafka_topic='clicks', value_format='JSON', partitions=1);",
    "CREATE STREAM SHORT_VIEWS (USER_ID STRING KEY, PAGE_ID STRING) \
     WITH (kafka_topic='short_views', value_format='JSON', partitions=2);",
    "CREATE TABLE USER_BONUSES (ID STRING PRIMARY KEY, BONUS INT) \
     WITH (kafka_topic='user_bonuses', value_format='JSON', partitions=2);",
    "CREATE TABLE REGIONS (REGION STRING PRIMARY KEY, MANAGER STRING) \
     WITH (kafka_topic='regions', value_format='JSON', partitions=2);",
    "CREATE STREAM BIDS (AUCTION BIGINT, PRICE BIGINT, BIDDER BIGINT) \
     WITH (kafka_topic='bids', key_format='NONE', value_format='JSON', partitions=2);",
];

/// `(snapshot name, statement)`: one snapshot file per statement.
const CASES: &[(&str, &str)] = &[
    (
        "csas_filter_projection",
        "CREATE STREAM LONG_VIEWS AS SELECT USER_ID, PAGE_ID, DURATION * 2 AS DOUBLED \
         FROM PAGEVIEWS WHERE DURATION > 10;",
    ),
    (
        "csas_select_star",
        "CREATE STREAM PAGEVIEWS_COPY AS SELECT * FROM PAGEVIEWS;",
    ),
    (
        "csas_partition_by_column",
        "CREATE STREAM VIEWS_BY_PAGE AS SELECT * FROM PAGEVIEWS PARTITION BY PAGE_ID;",
    ),
    (
        "csas_partition_by_expression",
        "CREATE STREAM VIEWS_BY_UPPER_PAGE AS SELECT USER_ID, DURATION FROM PAGEVIEWS \
         PARTITION BY UCASE(PAGE_ID);",
    ),
    (
        "csas_keyless_source",
        "CREATE STREAM CLICK_URLS AS SELECT URL FROM CLICKS WHERE USER_ID IS NOT NULL;",
    ),
    (
        "csas_formats_and_partitions",
        "CREATE STREAM VIEWS_DELIMITED WITH (kafka_topic='views_csv', key_format='KAFKA', \
         value_format='DELIMITED', partitions=4) AS SELECT USER_ID, PAGE_ID, DURATION FROM PAGEVIEWS;",
    ),
    (
        "csas_timestamp_column",
        "CREATE STREAM VIEWS_BY_VIEWTIME WITH (timestamp='VIEWTIME') AS \
         SELECT USER_ID, VIEWTIME, PAGE_ID FROM PAGEVIEWS;",
    ),
    (
        "csas_headers_columns",
        "CREATE STREAM EVENT_HEADERS AS SELECT ID, KIND, HEADERS_ALL, TRACE FROM EVENTS \
         WHERE TRACE IS NOT NULL;",
    ),
    (
        "csas_udfs",
        "CREATE STREAM VIEWS_UDFS AS SELECT USER_ID, LCASE(PAGE_ID) AS PAGE, \
         CONCAT(USER_ID, '/', PAGE_ID) AS PATH, ABS(DURATION) AS ABS_DURATION, \
         TIMESTAMPTOSTRING(VIEWTIME, 'yyyy-MM-dd') AS DAY FROM PAGEVIEWS;",
    ),
    (
        "csas_case",
        "CREATE STREAM VIEW_LENGTHS AS SELECT USER_ID, CASE WHEN DURATION < 10 THEN 'short' \
         WHEN DURATION < 60 THEN 'medium' ELSE 'long' END AS LENGTH FROM PAGEVIEWS;",
    ),
    (
        "csas_struct_and_array",
        "CREATE STREAM VIEW_DETAILS AS SELECT USER_ID, ADDRESS->CITY AS CITY, TAGS[1] AS FIRST_TAG, \
         ARRAY_LENGTH(TAGS) AS TAG_COUNT, STRUCT(PAGE := PAGE_ID, TIME_SPENT := DURATION) AS DETAIL \
         FROM PAGEVIEWS WHERE ADDRESS->ZIP > 1000;",
    ),
    (
        "insert_into_select",
        "INSERT INTO SHORT_VIEWS SELECT USER_ID, PAGE_ID FROM PAGEVIEWS WHERE DURATION < 5;",
    ),
    (
        "ctas_group_by_key",
        "CREATE TABLE VIEWS_PER_USER AS SELECT USER_ID, COUNT(*) AS VIEWS, SUM(DURATION) AS TOTAL \
         FROM PAGEVIEWS GROUP BY USER_ID;",
    ),
    (
        "ctas_group_by_non_key",
        "CREATE TABLE VIEWS_PER_PAGE AS SELECT PAGE_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         GROUP BY PAGE_ID;",
    ),
    (
        "ctas_group_by_keyless_source_window",
        "CREATE TABLE BIDS_PER_AUCTION AS SELECT AUCTION, COUNT(*) AS NUM FROM BIDS \
         WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY AUCTION;",
    ),
    (
        "ctas_group_by_constant",
        "CREATE TABLE MAX_PRICE AS SELECT 1 AS K, MAX(PRICE) AS MAX_PRICE, \
         COUNT(DISTINCT BIDDER) AS BIDDERS FROM BIDS GROUP BY 1;",
    ),
    (
        "ctas_group_by_delimited_value",
        "CREATE TABLE PRODUCT_SALES AS SELECT PRODUCT, SUM(AMOUNT) AS REVENUE, \
         SUM(AMOUNT) * 2 AS DOUBLED, COUNT(QUANTITY) AS LINES FROM ORDERS WHERE QUANTITY > 0 \
         GROUP BY PRODUCT;",
    ),
    (
        "ctas_group_by_non_key_emit_final",
        "CREATE TABLE CITY_VIEWS_FINAL WITH (key_format='JSON') AS SELECT ADDRESS->CITY AS CITY, PAGE_ID, COUNT(*) AS VIEWS \
         FROM PAGEVIEWS WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 0 SECONDS) \
         GROUP BY ADDRESS->CITY, PAGE_ID EMIT FINAL;",
    ),
    (
        "ctas_group_by_multiple_columns",
        "CREATE TABLE VIEWS_PER_USER_PAGE WITH (key_format='JSON') AS \
         SELECT USER_ID, PAGE_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS GROUP BY USER_ID, PAGE_ID;",
    ),
    (
        "ctas_group_by_expression",
        "CREATE TABLE VIEWS_PER_CITY AS SELECT UCASE(ADDRESS->CITY) AS CITY, \
         AVG(DURATION) AS AVG_DURATION FROM PAGEVIEWS GROUP BY UCASE(ADDRESS->CITY);",
    ),
    (
        "ctas_multi_key_source",
        "CREATE TABLE SALES AS SELECT REGION, PRODUCT, SUM(AMOUNT) AS REVENUE, \
         MAX(QUANTITY) AS LARGEST FROM ORDERS GROUP BY REGION, PRODUCT;",
    ),
    (
        "ctas_udafs",
        "CREATE TABLE USER_PAGES AS SELECT USER_ID, COLLECT_LIST(PAGE_ID) AS PAGES, \
         LATEST_BY_OFFSET(PAGE_ID) AS LAST_PAGE, MIN(DURATION) AS SHORTEST, \
         COUNT_DISTINCT(PAGE_ID) AS DISTINCT_PAGES FROM PAGEVIEWS GROUP BY USER_ID;",
    ),
    (
        "ctas_having",
        "CREATE TABLE FREQUENT_USERS AS SELECT USER_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         GROUP BY USER_ID HAVING COUNT(*) > 2;",
    ),
    (
        "ctas_tumbling_window_grace",
        "CREATE TABLE VIEWS_PER_MINUTE AS SELECT USER_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY USER_ID;",
    ),
    (
        "ctas_hopping_window_grace",
        "CREATE TABLE VIEWS_HOPPING AS SELECT USER_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 20 SECONDS, GRACE PERIOD 5 SECONDS) \
         GROUP BY USER_ID;",
    ),
    (
        "ctas_session_window_grace",
        "CREATE TABLE VIEW_SESSIONS AS SELECT USER_ID, COUNT(*) AS VIEWS, \
         WINDOWSTART AS SESSION_START, WINDOWEND AS SESSION_END FROM PAGEVIEWS \
         WINDOW SESSION (5 MINUTES, GRACE PERIOD 1 MINUTE) GROUP BY USER_ID;",
    ),
    (
        "ctas_tumbling_window_emit_final",
        "CREATE TABLE VIEWS_PER_HOUR_FINAL AS SELECT USER_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 0 SECONDS) GROUP BY USER_ID EMIT FINAL;",
    ),
    (
        "ctas_window_having",
        "CREATE TABLE BUSY_MINUTES AS SELECT PAGE_ID, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY PAGE_ID HAVING COUNT(*) > 100;",
    ),
    (
        "ctas_timestamp_source_window",
        "CREATE TABLE READINGS_PER_MINUTE AS SELECT SENSOR, AVG(READING) AS AVERAGE FROM READINGS \
         WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 30 SECONDS) GROUP BY SENSOR;",
    ),
    (
        "ctas_table_aggregation_retracts",
        "CREATE TABLE USERS_PER_REGION AS SELECT REGION, COUNT(*) AS USERS, SUM(SCORE) AS SCORE \
         FROM USERS GROUP BY REGION;",
    ),
    (
        "ctas_table_filter_tombstones",
        "CREATE TABLE HIGH_SCORERS AS SELECT * FROM USERS WHERE SCORE > 100;",
    ),
    (
        "ctas_table_projection",
        "CREATE TABLE USER_NAMES WITH (value_format='AVRO') AS \
         SELECT ID, UCASE(NAME) AS NAME FROM USERS;",
    ),
    (
        "ctas_windowed_source_filter",
        "CREATE TABLE POPULAR_PAGES AS SELECT * FROM PAGE_COUNTS WHERE VIEWS > 5;",
    ),
    (
        "push_query_limit",
        "SELECT USER_ID, PAGE_ID FROM PAGEVIEWS WHERE DURATION > 5 EMIT CHANGES LIMIT 3;",
    ),
    ("push_query_table", "SELECT * FROM USERS EMIT CHANGES;"),
    (
        "push_query_windowed_source",
        "SELECT PAGE_ID, WINDOWSTART, WINDOWEND, VIEWS FROM PAGE_COUNTS EMIT CHANGES;",
    ),
    (
        "push_query_aggregation_window",
        "SELECT USER_ID, WINDOWSTART, COUNT(*) AS VIEWS FROM PAGEVIEWS \
         WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY USER_ID \
         EMIT CHANGES LIMIT 10;",
    ),
    (
        "csas_stream_table_left_join",
        "CREATE STREAM VIEWS_WITH_NAMES AS SELECT P.USER_ID, P.PAGE_ID, U.NAME \
         FROM PAGEVIEWS P LEFT JOIN USERS U ON P.USER_ID = U.ID;",
    ),
    (
        "csas_stream_table_inner_join_select_star_where",
        "CREATE STREAM VIEWS_OF_HIGH_SCORERS AS SELECT * FROM PAGEVIEWS P \
         JOIN USERS U ON P.USER_ID = U.ID WHERE U.SCORE > 10;",
    ),
    (
        "csas_stream_stream_inner_join_within",
        "CREATE STREAM VIEW_PAIRS AS SELECT P.USER_ID, P.PAGE_ID, S.PAGE_ID AS SHORT_PAGE \
         FROM PAGEVIEWS P JOIN SHORT_VIEWS S WITHIN (1 MINUTE, 2 MINUTES) \
         ON P.USER_ID = S.USER_ID;",
    ),
    (
        "csas_stream_stream_left_join_grace",
        "CREATE STREAM VIEWS_MAYBE_SHORT AS SELECT P.USER_ID, P.DURATION, S.PAGE_ID AS SHORT_PAGE \
         FROM PAGEVIEWS P LEFT JOIN SHORT_VIEWS S WITHIN 30 SECONDS GRACE PERIOD 10 SECONDS \
         ON P.USER_ID = S.USER_ID;",
    ),
    (
        "csas_stream_stream_full_outer_join",
        "CREATE STREAM ALL_VIEWS AS SELECT ROWKEY AS USER_ID, P.PAGE_ID, S.PAGE_ID AS SHORT_PAGE \
         FROM PAGEVIEWS P FULL OUTER JOIN SHORT_VIEWS S WITHIN 1 MINUTE ON P.USER_ID = S.USER_ID;",
    ),
    (
        "csas_stream_stream_join_on_value_columns_repartitions_both",
        "CREATE STREAM SAME_PAGE_VIEWS AS SELECT P.PAGE_ID, P.USER_ID, S.USER_ID AS SHORT_USER \
         FROM PAGEVIEWS P JOIN SHORT_VIEWS S WITHIN 1 MINUTE ON P.PAGE_ID = S.PAGE_ID;",
    ),
    (
        "csas_stream_table_join_on_value_column_repartitions_stream",
        "CREATE STREAM PAGES_AS_USERS AS SELECT S.PAGE_ID, S.USER_ID, U.NAME \
         FROM SHORT_VIEWS S LEFT JOIN USERS U ON S.PAGE_ID = U.ID;",
    ),
    (
        "ctas_table_table_left_join",
        "CREATE TABLE USERS_WITH_BONUS AS SELECT U.ID, U.NAME, B.BONUS \
         FROM USERS U LEFT JOIN USER_BONUSES B ON U.ID = B.ID;",
    ),
    (
        "ctas_table_table_full_outer_join",
        "CREATE TABLE ALL_USER_IDS AS SELECT ROWKEY AS ID, U.NAME, B.BONUS \
         FROM USERS U FULL OUTER JOIN USER_BONUSES B ON U.ID = B.ID;",
    ),
    (
        "ctas_foreign_key_join",
        "CREATE TABLE USER_MANAGERS AS SELECT U.ID, U.NAME, R.MANAGER \
         FROM USERS U JOIN REGIONS R ON U.REGION = R.REGION;",
    ),
    (
        "csas_n_way_join",
        "CREATE STREAM VIEWS_IN_CONTEXT AS SELECT U.REGION, P.PAGE_ID, U.NAME, R.MANAGER \
         FROM PAGEVIEWS P JOIN USERS U ON P.USER_ID = U.ID \
         LEFT JOIN REGIONS R ON U.REGION = R.REGION;",
    ),
    (
        "push_query_join",
        "SELECT P.USER_ID, P.PAGE_ID, U.NAME FROM PAGEVIEWS P JOIN USERS U ON P.USER_ID = U.ID \
         EMIT CHANGES LIMIT 5;",
    ),
];

#[test]
fn explain_plans_match_snapshots() {
    let catalog = catalog();
    let update = std::env::var_os("EDDY_UPDATE_SNAPSHOTS").is_some_and(|value| value == "1");
    let directory = snapshot_directory();
    let mut failures = Vec::new();
    for (name, sql) in CASES {
        let actual = format!("-- EXPLAIN {sql}\n{}", explain(&catalog, sql));
        let path = directory.join(format!("{name}.txt"));
        if update {
            write_snapshot(&path, &actual);
        } else if let Err(failure) = compare_snapshot(&path, &actual) {
            failures.push(failure);
        }
    }
    failures.extend(stale_snapshots(&directory, update));
    assert!(
        failures.is_empty(),
        "{} snapshot(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A catalog holding `SOURCES`.
fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    for sql in SOURCES {
        match plan(&catalog, sql) {
            StatementPlan::CreateSource { source, .. } => catalog.put_source(source),
            other => panic!("{sql}: not a CREATE STREAM/TABLE: {other:?}"),
        }
    }
    catalog
}

/// What `EXPLAIN <sql>` prints: the `Display` of the statement's dataflow plan.
fn explain(catalog: &Catalog, sql: &str) -> String {
    match plan(catalog, sql) {
        StatementPlan::CreateAsSelect { plan, .. }
        | StatementPlan::InsertInto { plan, .. }
        | StatementPlan::Select { plan, .. } => plan.to_string(),
        other => panic!("{sql}: EXPLAIN prints no dataflow for {other:?}"),
    }
}

fn plan(catalog: &Catalog, sql: &str) -> StatementPlan {
    let statement = parser::parse_statements(sql)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .remove(0);
    plan_statement(catalog, &statement, &Properties::new())
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .unwrap_or_else(|| panic!("{sql}: not planned"))
}

fn snapshot_directory() -> PathBuf {
    manifest_dir().join("tests/snapshots/explain")
}

fn write_snapshot(path: &Path, text: &str) {
    let directory = path.parent().expect("a snapshot path has a directory");
    std::fs::create_dir_all(directory)
        .unwrap_or_else(|error| panic!("creating {}: {error}", directory.display()));
    std::fs::write(path, text)
        .unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
}

/// `Err` with a message showing both texts when the snapshot at `path` is missing or differs.
fn compare_snapshot(path: &Path, actual: &str) -> Result<(), String> {
    let expected = match std::fs::read_to_string(path) {
        Ok(expected) => expected,
        Err(error) => {
            return Err(format!(
                "snapshot {} cannot be read ({error}); create it with \
                 `EDDY_UPDATE_SNAPSHOTS=1 cargo test -p planner --test explain`\nactual:\n{actual}",
                path.display()
            ));
        }
    };
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "snapshot {} differs; if the new plan is right, regenerate with \
         `EDDY_UPDATE_SNAPSHOTS=1 cargo test -p planner --test explain`\n\
         --- expected\n{expected}--- actual\n{actual}",
        path.display()
    ))
}

/// Snapshot files no case writes: deleted when updating, else reported as failures.
fn stale_snapshots(directory: &Path, update: bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut stale = Vec::new();
    for entry in entries {
        let path = entry.expect("a snapshot directory entry").path();
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("");
        if CASES.iter().any(|(case, _)| *case == name) {
            continue;
        }
        if update {
            std::fs::remove_file(&path)
                .unwrap_or_else(|error| panic!("removing {}: {error}", path.display()));
        } else {
            stale.push(format!(
                "snapshot {} belongs to no case; delete it or rerun with EDDY_UPDATE_SNAPSHOTS=1",
                path.display()
            ));
        }
    }
    stale
}

/// This package's directory, read when the tests run (a test executable built in another
/// checkout sharing the target directory must read this checkout's files).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}
