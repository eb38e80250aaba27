use arrow::datatypes::{DataType, Field};
use datafusion::common::Column;
use datafusion::logical_expr::{Expr, lit};

use super::*;
use crate::catalog::Catalog;
use crate::statement::{Properties, StatementPlan};

fn text(value: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

fn int(value: i32) -> ScalarValue {
    ScalarValue::Int32(Some(value))
}

fn columns(keys: &[(&str, DataType)], ranges: bool) -> KeyColumns {
    let fields: Fields = keys
        .iter()
        .map(|(name, data_type)| Field::new(*name, data_type.clone(), true))
        .collect();
    KeyColumns::new(fields, ranges)
}

fn key(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn range(lower: Bound<ScalarValue>, upper: Bound<ScalarValue>) -> KeyLookup {
    KeyLookup::Range { lower, upper }
}

#[test]
fn disjuncts_of_terms_select_keys_ranges_nothing_or_everything() {
    let eq = |column, value| Term::Key {
        column,
        op: CompareOp::Eq,
        value,
    };
    let compare = |op, value| Term::Key {
        column: 0,
        op,
        value,
    };
    let one = columns(&[("ID", DataType::Utf8)], true);
    let two = columns(&[("A", DataType::Int32), ("B", DataType::Utf8)], true);
    // (key columns, disjuncts, expected)
    let cases: Vec<(&KeyColumns, Vec<Vec<Term>>, KeyLookup)> = vec![
        (
            &one,
            vec![
                vec![eq(0, text("a"))],
                vec![eq(0, text("b"))],
                vec![eq(0, text("a"))],
            ],
            KeyLookup::Keys(vec![vec![text("a")], vec![text("b")]]),
        ),
        // A contradiction and a NULL comparison select nothing.
        (
            &one,
            vec![
                vec![eq(0, text("a")), eq(0, text("b"))],
                vec![Term::Never, eq(0, text("c"))],
            ],
            KeyLookup::Keys(vec![]),
        ),
        // Residual terms narrow nothing; a disjunct of them alone reads everything.
        (
            &one,
            vec![vec![eq(0, text("a")), Term::Residual], vec![Term::Residual]],
            KeyLookup::Scan,
        ),
        // The tightest bounds win; an exclusive bound beats an inclusive one.
        (
            &one,
            vec![vec![
                compare(CompareOp::GtEq, text("b")),
                compare(CompareOp::Gt, text("b")),
                compare(CompareOp::Lt, text("x")),
                compare(CompareOp::LtEq, text("d")),
            ]],
            range(Bound::Excluded(text("b")), Bound::Included(text("d"))),
        ),
        // Two ranges, or a range and a key, read everything.
        (
            &one,
            vec![
                vec![compare(CompareOp::Lt, text("b"))],
                vec![compare(CompareOp::Gt, text("x"))],
            ],
            KeyLookup::Scan,
        ),
        (
            &one,
            vec![
                vec![compare(CompareOp::Lt, text("b"))],
                vec![eq(0, text("c"))],
            ],
            KeyLookup::Scan,
        ),
        // Not-equal narrows nothing.
        (
            &one,
            vec![vec![compare(CompareOp::NotEq, text("b"))]],
            KeyLookup::Scan,
        ),
        // Every key column needs a value.
        (
            &two,
            vec![vec![eq(1, text("x")), eq(0, int(1))]],
            KeyLookup::Keys(vec![vec![int(1), text("x")]]),
        ),
        (&two, vec![vec![eq(0, int(1))]], KeyLookup::Scan),
        // Ranges over several key columns are not read as ranges.
        (
            &two,
            vec![vec![Term::Key {
                column: 0,
                op: CompareOp::Gt,
                value: int(1),
            }]],
            KeyLookup::Scan,
        ),
    ];
    for (keys, disjuncts, expected) in cases {
        assert_eq!(keys.lookup(&disjuncts), expected, "{disjuncts:?}");
    }
    let no_ranges = columns(&[("ID", DataType::Utf8)], false);
    assert_eq!(
        no_ranges.lookup(&[vec![compare(CompareOp::Gt, text("a"))]]),
        KeyLookup::Scan
    );
}

/// `(key columns, ranges readable, filters, expected lookup)`.
type FilterCase<'a> = (&'a [(&'a str, DataType)], bool, Vec<Expr>, KeyLookup);

#[test]
fn datafusion_filters_become_lookups() {
    let string_key = [("ID", DataType::Utf8)];
    let bigint_key = [("ID", DataType::Int64)];
    let int_key = [("ID", DataType::Int32)];
    let two_keys = [("A", DataType::Int32), ("B", DataType::Utf8)];
    let cases: Vec<FilterCase> = vec![
        (
            &string_key,
            true,
            vec![key("ID").eq(lit("b"))],
            KeyLookup::Keys(vec![vec![text("b")]]),
        ),
        (
            &string_key,
            true,
            vec![key("ID").in_list(vec![lit("b"), lit("a"), lit("b")], false)],
            KeyLookup::Keys(vec![vec![text("b")], vec![text("a")]]),
        ),
        (
            &string_key,
            true,
            vec![key("ID").eq(lit("c")).or(lit("a").eq(key("ID")))],
            KeyLookup::Keys(vec![vec![text("c")], vec![text("a")]]),
        ),
        (
            &string_key,
            true,
            vec![key("ID").eq(lit("a")), key("ID").eq(lit("b"))],
            KeyLookup::Keys(vec![]),
        ),
        (
            &string_key,
            true,
            vec![key("ID").in_list(vec![lit(ScalarValue::Utf8(None)), lit("a")], false)],
            KeyLookup::Keys(vec![vec![text("a")]]),
        ),
        (
            &string_key,
            true,
            vec![
                key("ID").in_list(vec![lit("a"), lit("b")], false),
                key("ID").in_list(vec![lit("b"), lit("c")], false),
            ],
            KeyLookup::Keys(vec![vec![text("b")]]),
        ),
        (
            &string_key,
            true,
            vec![key("ID").gt_eq(lit("b")), key("ID").lt(lit("d"))],
            range(Bound::Included(text("b")), Bound::Excluded(text("d"))),
        ),
        (
            &string_key,
            true,
            vec![lit("b").gt_eq(key("ID"))],
            range(Bound::Unbounded, Bound::Included(text("b"))),
        ),
        (
            &bigint_key,
            true,
            vec![key("ID").between(lit(-2i64), lit(3i64))],
            range(
                Bound::Included(ScalarValue::Int64(Some(-2))),
                Bound::Included(ScalarValue::Int64(Some(3))),
            ),
        ),
        (
            &int_key,
            true,
            vec![key("ID").eq(lit(7i64))],
            KeyLookup::Keys(vec![vec![int(7)]]),
        ),
        // A literal that does not convert exactly narrows nothing.
        (
            &int_key,
            true,
            vec![key("ID").eq(lit(1i64 << 40))],
            KeyLookup::Scan,
        ),
        (
            &string_key,
            false,
            vec![key("ID").gt(lit("a"))],
            KeyLookup::Scan,
        ),
        (
            &string_key,
            true,
            vec![key("ID").lt(lit("b")).or(key("ID").eq(lit("c")))],
            KeyLookup::Scan,
        ),
        (
            &string_key,
            true,
            vec![key("COUNT").eq(lit(1i64)), key("ID").gt(lit("a"))],
            range(Bound::Excluded(text("a")), Bound::Unbounded),
        ),
        (
            &two_keys,
            false,
            vec![
                key("A").eq(lit(1i32)),
                key("B").in_list(vec![lit("x"), lit("y")], false),
            ],
            KeyLookup::Keys(vec![vec![int(1), text("x")], vec![int(1), text("y")]]),
        ),
        (
            &two_keys,
            false,
            vec![key("A").eq(lit(1i32))],
            KeyLookup::Scan,
        ),
    ];
    for (keys, ranges, filters, expected) in cases {
        let filters: Vec<&Expr> = filters.iter().collect();
        let analysis = columns(keys, ranges).analyze_filters(&filters);
        assert_eq!(analysis.lookup, expected, "{keys:?} {filters:?}");
    }
}

#[test]
fn filters_that_narrow_no_read_are_the_residual() {
    let two_keys = columns(&[("A", DataType::Int32), ("B", DataType::Utf8)], false);
    let filters = [
        key("A").eq(lit(1i32)),
        key("A").gt(lit(1i32)),
        key("N").eq(lit(1i32)),
        key("B").eq(lit("x")).or(key("N").eq(lit(2i32))),
        key("B").in_list(vec![lit("x"), lit(ScalarValue::Utf8(None))], false),
    ];
    let filters: Vec<&Expr> = filters.iter().collect();
    let analysis = two_keys.analyze_filters(&filters);
    assert_eq!(analysis.residual, [1, 2, 3]);
    assert_eq!(
        analysis.lookup,
        KeyLookup::Keys(vec![vec![int(1), text("x")]])
    );
}

/// A catalog with materialized tables: `T` (STRING key `V`), `NUM` (INT key `ID`), `TWO`
/// (keys `ID`, `V`) and `W` (windowed, STRING key `V`).
fn catalog() -> Catalog {
    let statements = [
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        "CREATE TABLE T AS SELECT V, COUNT(*) AS N FROM S GROUP BY V;",
        "CREATE TABLE NUM AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
        "CREATE TABLE TWO WITH (key_format='JSON') AS SELECT ID, V, COUNT(*) AS N FROM S GROUP BY ID, V;",
        "CREATE TABLE W AS SELECT V, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY V;",
    ];
    let mut catalog = Catalog::default();
    for sql in statements {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match crate::plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
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

/// The lookup of `condition` over `table` with table scans enabled or not, or the error.
fn analyze(
    catalog: &Catalog,
    table: &str,
    condition: &str,
    scans: bool,
) -> Result<KeyLookup, String> {
    let sql = format!("SELECT * FROM {table} WHERE {condition};");
    let statement = parser::parse_statements(&sql).expect("parses").remove(0);
    let parser::ast::StatementKind::Select(query) = &statement.kind else {
        panic!("{sql}: not a query");
    };
    let context = WhereContext {
        source: catalog.source(table).expect("table"),
        qualifiers: &[table],
        catalog,
        table_scans_enabled: scans,
        range_scans_enabled: true,
    };
    let condition = query.where_clause.as_ref().expect("a WHERE");
    analyze_where(condition, &context).map_err(|error| error.to_string())
}

#[test]
fn where_clauses_become_lookups() {
    let catalog = catalog();
    let cases = [
        ("T", "V = 'a'", KeyLookup::Keys(vec![vec![text("a")]])),
        (
            "T",
            "V IN ('b', 'a', 'b')",
            KeyLookup::Keys(vec![vec![text("b")], vec![text("a")]]),
        ),
        ("NUM", "ID = 10 + 1", KeyLookup::Keys(vec![vec![int(11)]])),
        (
            "TWO",
            "V = 'x' AND ID IN (1, 2)",
            KeyLookup::Keys(vec![vec![int(1), text("x")], vec![int(2), text("x")]]),
        ),
        (
            "T",
            "V BETWEEN 'a' AND 'c' AND N > 1",
            range(Bound::Included(text("a")), Bound::Included(text("c"))),
        ),
        // Ranges over an INTEGER key or a windowed table are not read as ranges.
        ("NUM", "ID > 1", KeyLookup::Scan),
        ("W", "V < 'b'", KeyLookup::Scan),
        // Window bounds are residual.
        (
            "W",
            "V = 'a' AND WINDOWSTART >= 1000 AND WINDOWEND < 5000",
            KeyLookup::Keys(vec![vec![text("a")]]),
        ),
        ("T", "N > 1", KeyLookup::Scan),
        ("T", "V = 'a' OR N > 1", KeyLookup::Scan),
        ("T", "V <> 'a'", KeyLookup::Scan),
    ];
    for (table, condition, expected) in cases {
        assert_eq!(
            analyze(&catalog, table, condition, true),
            Ok(expected),
            "{table}: {condition}"
        );
    }
}

#[test]
fn where_clauses_fail_with_ksqldb_messages() {
    let catalog = catalog();
    // (table, condition, table scans enabled, start of the message)
    let cases = [
        (
            "W",
            "V = 'a' AND WINDOWSTART > 1 AND WINDOWSTART >= 2",
            true,
            "Duplicate WINDOWSTART bounds on: GREATER_THAN.",
        ),
        (
            "W",
            "V = 'a' AND WINDOWEND = 1 AND WINDOWEND < 2",
            true,
            "`(WINDOWEND < 2)` cannot be combined with other WINDOWEND bounds.",
        ),
        (
            "W",
            "V = 'a' AND WINDOWSTART <> 1",
            true,
            "Unsupported WINDOWSTART bounds: NOT_EQUAL.",
        ),
        (
            "T",
            "V = 'a' AND WINDOWEND > 1",
            true,
            "Cannot use WINDOWSTART/WINDOWEND on non-windowed source.",
        ),
        (
            "T",
            "V = NULL",
            true,
            "Primary key columns can not be NULL: (V = null)",
        ),
        (
            "NUM",
            "ID IN (1, 'x')",
            true,
            "'x' can not be converted to the type of the key column: ID INTEGER KEY",
        ),
        (
            "T",
            "N = 1",
            false,
            "WHERE clause missing key column for disjunct: (N = 1).",
        ),
        (
            "T",
            "V <> 'a'",
            false,
            "Bound on key columns '[`V` STRING KEY]' must currently be '='.",
        ),
        (
            "TWO",
            "V = 'x'",
            false,
            "Multi-column sources must specify every key in the WHERE clause. Specified: [`V`] Expected: [`ID` INTEGER KEY, `V` STRING KEY].",
        ),
        (
            "T",
            "V = 'a' OR LEN(V) = 1",
            false,
            "A comparison must directly reference a key column.",
        ),
    ];
    for (table, condition, scans, expected) in cases {
        match analyze(&catalog, table, condition, scans) {
            Err(message) => assert!(
                message.starts_with(expected),
                "{table}: {condition}\n got: {message}\nwant: {expected}"
            ),
            Ok(lookup) => panic!("{table}: {condition}: no error but {lookup:?}"),
        }
    }
}
