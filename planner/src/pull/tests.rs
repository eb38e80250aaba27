use super::*;
use crate::plan_statement;

/// A catalog with a stream, a plain table, a source table and materialized tables
/// (single key, two keys, windowed).
fn catalog() -> Catalog {
    let statements = [
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        "CREATE TABLE PLAIN (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='p', value_format='JSON', partitions=1);",
        "CREATE SOURCE TABLE CST (ID INT PRIMARY KEY, V STRING) WITH (kafka_topic='c', value_format='JSON', partitions=1);",
        "CREATE TABLE T AS SELECT V, COUNT(*) AS N FROM S GROUP BY V;",
        "CREATE TABLE NUM AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
        "CREATE TABLE TWO WITH (key_format='JSON') AS SELECT ID, V, COUNT(*) AS N FROM S GROUP BY ID, V;",
        "CREATE TABLE W AS SELECT V, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY V;",
    ];
    let mut catalog = Catalog::default();
    for sql in statements {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::CreateAsSelect { sink, query, .. }) => {
                catalog.put_source(sink);
                catalog.put_query(query);
                catalog.take_query_number();
            }
            _ => panic!("{sql}: not a CREATE"),
        }
    }
    catalog
}

/// What a pull query plans to, in short: `stream`, `sql`, `scan T`, `keys T [..]`,
/// `range T ..`, or the error message.
fn plan(catalog: &Catalog, sql: &str, properties: &[(&str, &str)]) -> String {
    let properties: Properties = properties
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let statement = parser::parse_statements(sql).expect("parses").remove(0);
    match plan_statement(catalog, &statement, &properties) {
        Err(error) => error.to_string(),
        Ok(Some(StatementPlan::Select { .. })) => "push".into(),
        Ok(Some(StatementPlan::Pull(pull))) => match pull {
            PullPlan::Stream { .. } => "stream".into(),
            PullPlan::Sql(_) => "sql".into(),
            PullPlan::Table { table, .. } => {
                let source = if table.materialized { "" } else { " (topic)" };
                match table.keys {
                    KeyLookup::Scan => format!("scan {}{source}", table.table),
                    KeyLookup::Keys(keys) => {
                        let keys: Vec<String> = keys
                            .iter()
                            .map(|key| {
                                let values: Vec<String> =
                                    key.iter().map(ToString::to_string).collect();
                                values.join("/")
                            })
                            .collect();
                        format!("keys {}{source} {}", table.table, keys.join(", "))
                    }
                    KeyLookup::Range { lower, upper } => {
                        format!("range {}{source} {lower:?} {upper:?}", table.table)
                    }
                }
            }
        },
        Ok(_) => "not a select".into(),
    }
}

/// A table-driven case: the statement, the session properties and the expected plan.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn pull_queries_read_what_their_where_clause_selects() {
    let catalog = catalog();
    let no_scans = [("ksql.query.pull.table.scan.enabled", "false")];
    let cases: Vec<Case> = vec![
        ("SELECT * FROM T WHERE V = 'a';", &[], "keys T a"),
        (
            "SELECT * FROM T WHERE V IN ('a', 'b', 'a');",
            &[],
            "keys T a, b",
        ),
        (
            "SELECT * FROM T WHERE V = 'a' OR V = 'b';",
            &[],
            "keys T a, b",
        ),
        (
            "SELECT * FROM NUM WHERE ID = 10 + 1;",
            &no_scans,
            "keys NUM 11",
        ),
        ("SELECT * FROM NUM WHERE 10 = ID;", &no_scans, "keys NUM 10"),
        (
            "SELECT * FROM TWO WHERE ID = 1 AND V = 'x';",
            &no_scans,
            "keys TWO 1/x",
        ),
        (
            "SELECT * FROM W WHERE V = 'a' AND WINDOWSTART >= 1000;",
            &no_scans,
            "keys W a",
        ),
        (
            "SELECT * FROM T WHERE V > 'a';",
            &no_scans,
            "range T Excluded(Utf8(\"a\")) Unbounded",
        ),
        (
            "SELECT * FROM T WHERE V BETWEEN 'a' AND 'c';",
            &[],
            "range T Included(Utf8(\"a\")) Included(Utf8(\"c\"))",
        ),
        (
            "SELECT * FROM T WHERE V > 'a';",
            &[("ksql.query.pull.range.scan.enabled", "false")],
            "scan T",
        ),
        ("SELECT * FROM NUM WHERE ID > 1;", &[], "scan NUM"),
        ("SELECT * FROM W WHERE V <= 'a';", &[], "scan W"),
        ("SELECT * FROM T;", &[], "scan T"),
        ("SELECT * FROM T WHERE N > 1;", &[], "scan T"),
        ("SELECT * FROM T WHERE V = 'a' OR N > 1;", &[], "scan T"),
        ("SELECT * FROM CST WHERE ID = 1;", &[], "keys CST (topic) 1"),
        ("SELECT * FROM S WHERE ID = 1;", &[], "stream"),
        ("SELECT V, COUNT(*) FROM T GROUP BY V;", &[], "sql"),
        ("SELECT * FROM T JOIN NUM ON T.N = NUM.ID;", &[], "sql"),
        ("SELECT * FROM T EMIT CHANGES;", &[], "push"),
    ];
    for (sql, properties, expected) in cases {
        assert_eq!(plan(&catalog, sql, properties), expected, "{sql}");
    }
}

#[test]
fn pull_queries_fail_with_ksqldb_messages() {
    let catalog = catalog();
    let no_scans = [("ksql.query.pull.table.scan.enabled", "false")];
    let cases: Vec<Case> = vec![
        (
            "SELECT * FROM S LIMIT -1;",
            &[],
            "Pull queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info.",
        ),
        (
            "SELECT * FROM PLAIN WHERE ID = 1;",
            &[],
            "The `PLAIN` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_PLAIN AS SELECT * FROM PLAIN'. See https://cnfl.io/queries for more info.",
        ),
        (
            "SELECT * FROM T WHERE N = 100;",
            &no_scans,
            "WHERE clause missing key column for disjunct: (N = 100)",
        ),
        (
            "SELECT * FROM NUM WHERE ID + 10 = 20;",
            &no_scans,
            "A comparison must directly reference a key column.",
        ),
        (
            "SELECT * FROM NUM WHERE ID = N - 1;",
            &no_scans,
            "A comparison must be between a key column and a resolvable expression.",
        ),
        (
            "SELECT * FROM NUM WHERE ID IN (NULL);",
            &[],
            "Primary key columns can not be NULL: (ID = null)",
        ),
        (
            "SELECT * FROM NUM WHERE ID = NULL;",
            &[],
            "Error in WHERE expression: Comparison with NULL not supported: INTEGER = NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.\nStatement: (ID = null)",
        ),
        (
            "SELECT * FROM NUM WHERE ID = '10';",
            &[],
            "Error in WHERE expression: Cannot compare ID (INTEGER) to '10' (STRING) with EQUAL.\nStatement: (ID = '10')",
        ),
        (
            "SELECT * FROM NUM WHERE ID IN ('10', 8);",
            &[],
            "'10' can not be converted to the type of the key column: ID INTEGER KEY",
        ),
        (
            "SELECT * FROM TWO WHERE ID = 1;",
            &no_scans,
            "Multi-column sources must specify every key in the WHERE clause. Specified: [`ID`] Expected: [`ID` INTEGER KEY, `V` STRING KEY].",
        ),
        (
            "SELECT * FROM T WHERE V >= 'a' AND V <= 'c';",
            &no_scans,
            "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate.",
        ),
        (
            "SELECT * FROM T WHERE V <= 'a' OR V >= 'c';",
            &no_scans,
            "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true",
        ),
        (
            "SELECT * FROM T;",
            &no_scans,
            "Query requires table scan to be enabled",
        ),
        (
            "SELECT * FROM NUM WHERE WINDOWSTART = 10;",
            &[],
            "WHERE column 'WINDOWSTART' cannot be resolved.",
        ),
        (
            "SELECT * FROM NUM WHERE N LIKE 'x%';",
            &[],
            "The column type for Like condition must be VARCHAR. The column type is BIGINT.",
        ),
        (
            "SELECT * FROM S LIMIT 1;",
            &[("ksql.query.pull.limit.clause.enabled", "false")],
            "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
        ),
        (
            "SELECT *, ROWPARTITION FROM T WHERE V = 'a';",
            &[],
            "Pull queries don't support the following columns in SELECT clauses: `ROWPARTITION`\n See",
        ),
        (
            "SELECT * FROM S WHERE ID < 1 AND ROWOFFSET != 2;",
            &[],
            "Pull queries don't support the following columns in WHERE clauses: `ROWOFFSET`",
        ),
        (
            "SELECT * FROM S GROUP BY ID;",
            &[],
            "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
        ),
        (
            "SELECT * FROM S WINDOW TUMBLING (SIZE 1 SECOND);",
            &[],
            "Pull queries don't support WINDOW clauses.",
        ),
        (
            "SELECT * FROM T JOIN S ON T.N = S.ID;",
            &[],
            "Pull queries don't support JOIN clauses.",
        ),
        (
            "SELECT V, V FROM T WHERE V = 'a';",
            &[],
            "Duplicate key columns found in schema: `V` STRING",
        ),
        (
            "SELECT N, N FROM T WHERE V = 'a';",
            &[],
            "Duplicate value columns found in schema: `N` BIGINT",
        ),
    ];
    for (sql, properties, expected) in cases {
        let got = plan(&catalog, sql, properties);
        assert!(
            got.starts_with(expected),
            "{sql}\n got: {got}\nwant: {expected}"
        );
    }
}

#[test]
fn pull_query_columns_keep_select_order_and_mark_keys() {
    let catalog = catalog();
    let cases = [
        (
            "SELECT N, V FROM T WHERE V = 'a';",
            "N BIGINT, V STRING KEY",
        ),
        (
            "SELECT * FROM W WHERE V = 'a';",
            "V STRING KEY, WINDOWSTART BIGINT KEY, WINDOWEND BIGINT KEY, N BIGINT",
        ),
        (
            "SELECT ROWTIME, WINDOWEND FROM W WHERE V = 'a';",
            "ROWTIME BIGINT, WINDOWEND BIGINT KEY",
        ),
    ];
    for (sql, expected) in cases {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        let Ok(Some(StatementPlan::Pull(PullPlan::Table { columns, .. }))) =
            plan_statement(&catalog, &statement, &Properties::new())
        else {
            panic!("{sql}: does not plan");
        };
        let text: Vec<String> = columns
            .iter()
            .map(|column| {
                let key = if column.kind == ColumnKind::Key {
                    " KEY"
                } else {
                    ""
                };
                format!("{} {}{key}", column.name, sql_type_name(&column.data_type))
            })
            .collect();
        assert_eq!(text.join(", "), expected, "{sql}");
    }
}
