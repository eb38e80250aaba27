//! Tests of the record and value comparison.

use executor::Header;

use super::*;
use crate::corpus::Window;

fn json(text: &str) -> Json {
    Json::parse(text).expect("valid JSON in test")
}

fn decimal(precision: u8, scale: u8) -> DataType {
    DataType::Decimal { precision, scale }
}

#[test]
fn value_comparison_rules() {
    let row = vec![
        ("ID".to_string(), DataType::Bigint),
        ("D".to_string(), DataType::Double),
        ("M".to_string(), decimal(4, 2)),
    ];
    let single = vec![("V".to_string(), decimal(3, 1))];
    let struct_type = DataType::Struct(vec![("A".into(), DataType::Int)]);
    let map_type = DataType::Map(Box::new(DataType::String), Box::new(DataType::Double));
    let array_type = DataType::Array(Box::new(decimal(3, 1)));
    let (d32, d30, d41) = (decimal(3, 2), decimal(3, 0), decimal(4, 1));
    let exact = CompareOptions::default();
    let loose = CompareOptions {
        exact_numeric: false,
        ..exact
    };
    let cases: Vec<(&str, &str, &str, Hint<'_>, CompareOptions, bool)> = vec![
        (
            "ints exact",
            "1",
            "1",
            Hint::Type(&DataType::Int),
            exact,
            true,
        ),
        (
            "ints differ",
            "1",
            "2",
            Hint::Type(&DataType::Bigint),
            exact,
            false,
        ),
        (
            "double within tolerance",
            "0.3",
            "0.30000000000000004",
            Hint::Type(&DataType::Double),
            exact,
            true,
        ),
        (
            "double outside tolerance",
            "0.3",
            "0.31",
            Hint::Type(&DataType::Double),
            exact,
            false,
        ),
        (
            "decimal same scale",
            "1.10",
            "1.10",
            Hint::Type(&d32),
            exact,
            true,
        ),
        (
            "decimal other scale",
            "1.1",
            "1.10",
            Hint::Type(&d32),
            exact,
            false,
        ),
        (
            "decimal integer literal vs scale 2",
            "1",
            "1.00",
            Hint::Type(&d32),
            exact,
            false,
        ),
        (
            "decimal integer literal vs scale 0",
            "1",
            "1",
            Hint::Type(&d30),
            exact,
            true,
        ),
        (
            "decimal string",
            "\"005.4\"",
            "5.4",
            Hint::Type(&d41),
            exact,
            true,
        ),
        (
            "decimal actual padded to column scale",
            "1.10",
            "1.1",
            Hint::Type(&d32),
            exact,
            true,
        ),
        ("string exact", "\"a\"", "\"a\"", Hint::Unknown, exact, true),
        (
            "string differs",
            "\"a\"",
            "\"A\"",
            Hint::Unknown,
            exact,
            false,
        ),
        (
            "number vs string",
            "1",
            "\"1\"",
            Hint::Unknown,
            exact,
            false,
        ),
        (
            "number vs string when loose",
            "1",
            "\"1\"",
            Hint::Unknown,
            loose,
            true,
        ),
        (
            "loose compares doubles",
            "1.10",
            "1.1",
            Hint::Type(&d32),
            loose,
            true,
        ),
        ("bool", "true", "true", Hint::Unknown, exact, true),
        ("bool differs", "true", "false", Hint::Unknown, exact, false),
        ("null", "null", "null", Hint::Unknown, exact, true),
        ("null vs value", "null", "0", Hint::Unknown, exact, false),
        (
            "row by upper-cased name",
            "{\"id\":1,\"d\":1.0,\"m\":2.50}",
            "{\"ID\":1,\"D\":1.0000000001,\"M\":2.50}",
            Hint::Row(&row),
            exact,
            true,
        ),
        (
            "row decimal scale",
            "{\"ID\":1,\"D\":1.0,\"M\":2.5}",
            "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
            Hint::Row(&row),
            exact,
            false,
        ),
        (
            "row field count",
            "{\"ID\":1}",
            "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
            Hint::Row(&row),
            exact,
            false,
        ),
        (
            "row missing field",
            "{\"ID\":1,\"X\":1,\"M\":2.50}",
            "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
            Hint::Row(&row),
            exact,
            false,
        ),
        (
            "unwrapped single column",
            "1.5",
            "1.5",
            Hint::Row(&single),
            exact,
            true,
        ),
        (
            "wrapped single column",
            "{\"V\":1.5}",
            "{\"V\":1.5}",
            Hint::Row(&single),
            exact,
            true,
        ),
        (
            "struct field type",
            "{\"A\":1.0}",
            "{\"A\":1}",
            Hint::Type(&struct_type),
            exact,
            true,
        ),
        (
            "map value type",
            "{\"k\":1.0000001}",
            "{\"k\":1.0}",
            Hint::Type(&map_type),
            exact,
            true,
        ),
        (
            "array elements",
            "[1.0,2.0]",
            "[1.0,2.0]",
            Hint::Type(&array_type),
            exact,
            true,
        ),
        (
            "array length",
            "[1.0]",
            "[1.0,2.0]",
            Hint::Type(&array_type),
            exact,
            false,
        ),
        (
            "array element scale",
            "[1.0,2]",
            "[1.0,2.0]",
            Hint::Type(&array_type),
            exact,
            false,
        ),
        (
            "unknown type compares values",
            "1.0",
            "1",
            Hint::Unknown,
            exact,
            true,
        ),
    ];
    for (name, expected, actual, hint, options, matches) in cases {
        let result = values_match(&json(expected), &json(actual), hint, options);
        assert_eq!(result.is_ok(), matches, "{name}: {result:?}");
    }
}

fn schemas() -> TopicSchemas {
    TopicSchemas {
        key: PayloadSchema {
            format: "KAFKA".into(),
            columns: vec![("K".into(), DataType::String)],
            typed: true,
            registry: None,
        },
        value: PayloadSchema {
            format: "JSON".into(),
            columns: vec![("V".into(), DataType::Bigint)],
            typed: true,
            registry: None,
        },
    }
}

fn expected(key: &str, value: &str, timestamp: Option<i64>) -> TestRecord {
    TestRecord {
        topic: "T".into(),
        key: Json::String(key.into()),
        value: json(value),
        timestamp,
        window: None,
        headers: None,
    }
}

fn actual(partition: u32, offset: u64, key: &str, value: &str, timestamp: i64) -> ActualRecord {
    ActualRecord {
        partition,
        offset,
        record: Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        },
    }
}

#[test]
fn topics_match_in_order_and_count() {
    let e = [
        expected("a", "{\"V\":1}", Some(10)),
        expected("b", "{\"V\":2}", None),
    ];
    let expected_records: Vec<&TestRecord> = e.iter().collect();
    let options = CompareOptions::default();
    let good = [
        actual(0, 0, "a", "{\"V\":1}", 10),
        actual(0, 1, "b", "{\"V\":2}", 99),
    ];
    assert_eq!(
        compare_topic("T", &expected_records, &good, &schemas(), options),
        Ok(())
    );

    // Any interleaving of partitions is accepted, order within a partition is not.
    let interleaved = [
        actual(1, 0, "b", "{\"V\":2}", 0),
        actual(0, 0, "a", "{\"V\":1}", 10),
    ];
    assert_eq!(
        compare_topic("T", &expected_records, &interleaved, &schemas(), options),
        Ok(())
    );
    let swapped = [
        actual(0, 0, "b", "{\"V\":2}", 0),
        actual(0, 1, "a", "{\"V\":1}", 10),
    ];
    assert!(compare_topic("T", &expected_records, &swapped, &schemas(), options).is_err());
}

#[test]
fn altered_expectation_names_the_first_differing_record() {
    let e = [
        expected("a", "{\"V\":1}", None),
        expected("b", "{\"V\":3}", None),
    ];
    let expected_records: Vec<&TestRecord> = e.iter().collect();
    let records = [
        actual(0, 0, "a", "{\"V\":1}", 0),
        actual(0, 1, "b", "{\"V\":2}", 0),
    ];
    let reason = compare_topic(
        "T",
        &expected_records,
        &records,
        &schemas(),
        CompareOptions::default(),
    )
    .expect_err("the second record differs");
    assert_eq!(
        reason,
        "topic T: record 1: expected key=\"b\" value={\"V\":3}, actual key=\"b\" value={\"V\":2} \
         timestamp=0 (value.V: expected 3, got 2; expected 2 records, got 2)"
    );

    let missing = compare_topic(
        "T",
        &expected_records,
        &records[..1],
        &schemas(),
        CompareOptions::default(),
    )
    .expect_err("a record is missing");
    assert!(
        missing.starts_with("topic T: record 1: expected key=\"b\""),
        "{missing}"
    );
    assert!(
        missing.contains("actual none (expected 2 records, got 1)"),
        "{missing}"
    );

    let extra = compare_topic(
        "T",
        &expected_records[..1],
        &records,
        &schemas(),
        CompareOptions::default(),
    )
    .expect_err("a record is extra");
    assert!(
        extra.starts_with("topic T: record 1: expected none, actual key=\"b\""),
        "{extra}"
    );
}

#[test]
fn record_level_rules() {
    let options = CompareOptions::default();
    let base = actual(0, 0, "a", "{\"V\":1}", 5);
    let cases: Vec<(&str, TestRecord, ActualRecord, CompareOptions, bool)> = vec![
        (
            "timestamp ignored when absent",
            expected("a", "{\"V\":1}", None),
            base.clone(),
            options,
            true,
        ),
        (
            "timestamp compared when given",
            expected("a", "{\"V\":1}", Some(6)),
            base.clone(),
            options,
            false,
        ),
        (
            "timestamp 0 accepted without inputs",
            expected("a", "{\"V\":1}", Some(0)),
            base.clone(),
            CompareOptions {
                accept_zero_timestamp: true,
                ..options
            },
            true,
        ),
        (
            "key differs",
            expected("b", "{\"V\":1}", None),
            base.clone(),
            options,
            false,
        ),
        (
            "missing headers means none",
            expected("a", "{\"V\":1}", None),
            ActualRecord {
                record: Record {
                    headers: vec![Header {
                        key: "h".into(),
                        value: None,
                    }],
                    ..base.record.clone()
                },
                ..base.clone()
            },
            options,
            false,
        ),
        (
            "headers compared",
            TestRecord {
                headers: Some(vec![("h".into(), Some(b"!".to_vec()))]),
                ..expected("a", "{\"V\":1}", None)
            },
            ActualRecord {
                record: Record {
                    headers: vec![Header {
                        key: "h".into(),
                        value: Some(b"!".to_vec()),
                    }],
                    ..base.record.clone()
                },
                ..base.clone()
            },
            options,
            true,
        ),
        (
            "window start compared",
            TestRecord {
                window: Some(Window {
                    start: 7,
                    end: 17,
                    kind: WindowKind::Time,
                }),
                ..expected("a", "{\"V\":1}", None)
            },
            ActualRecord {
                record: Record {
                    key: Some([b"a".as_slice(), &7i64.to_be_bytes()].concat()),
                    ..base.record.clone()
                },
                ..base.clone()
            },
            options,
            true,
        ),
        (
            "unwindowed key fails a windowed expectation",
            TestRecord {
                window: Some(Window {
                    start: 7,
                    end: 17,
                    kind: WindowKind::Session,
                }),
                ..expected("a", "{\"V\":1}", None)
            },
            base.clone(),
            options,
            false,
        ),
    ];
    for (name, expected, actual, options, matches) in cases {
        let result = record_matches(&expected, &actual, &schemas(), options);
        assert_eq!(result.is_ok(), matches, "{name}: {result:?}");
    }
}
