//! Tests of the JSON functions, against the results of ksqlDB.

use datafusion::arrow::array::{
    Date32Array, Float64Array, ListArray, StringArray, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::Int32Type;

use super::*;
use crate::functions::testing::{call, rows};

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(values.iter().copied().collect::<StringArray>())
}

#[test]
fn extract_json_field_paths() {
    let json = "{\"array\": [1.23450, {\"b\": \"x\"}], \"log\": {\"cloud\": \"gcp\", \"n\": null}}";
    let cases = [
        ("$.array[0]", "1.23450"),
        ("$.array[1].b", "x"),
        ("$.array[1]", "{\"b\":\"x\"}"),
        ("$.array[-1]", "NULL"),
        ("$.array[2]", "NULL"),
        ("$.log.cloud", "gcp"),
        ("$['log'][\"cloud\"]", "gcp"),
        ("$.log.n", "null"),
        ("$.missing", "NULL"),
        ("$.array.0", "1.23450"),
        ("$['array']['1']['b']", "x"),
        ("log", "NULL"),
    ];
    for (path, expected) in cases {
        let result = call(
            "EXTRACTJSONFIELD",
            vec![strings(&[Some(json)]), strings(&[Some(path)])],
        )
        .expect("extract");
        assert_eq!(rows(&result), vec![expected], "{path}");
    }
    let result = call(
        "EXTRACTJSONFIELD",
        vec![strings(&[Some("{bad"), None]), strings(&[Some("$.a"); 2])],
    )
    .expect("bad json");
    assert_eq!(rows(&result), vec!["NULL", "NULL"]);
}

#[test]
fn json_predicates_and_lists() {
    let values = strings(&[
        Some("1"),
        Some("abc"),
        Some("[1, 2, 3]"),
        Some("\"abc\""),
        Some(""),
        None,
    ]);
    let result = call("IS_JSON_STRING", vec![Arc::clone(&values)]).expect("is_json_string");
    assert_eq!(
        rows(&result),
        vec!["true", "false", "true", "true", "false", "false"]
    );
    let result = call("JSON_ARRAY_LENGTH", vec![values]).expect("length");
    assert_eq!(
        rows(&result),
        vec!["NULL", "NULL", "3", "NULL", "NULL", "NULL"]
    );
    let arrays = strings(&[Some("[\"Red\", \"Green\"]"), Some("[\"Pink\", null]"), None]);
    let result = call(
        "JSON_ARRAY_CONTAINS",
        vec![arrays, strings(&[Some("Pink"); 3])],
    )
    .expect("contains");
    assert_eq!(rows(&result), vec!["false", "true", "false"]);
    let numbers = strings(&[Some("[1, 2]"), Some("[1.5]")]);
    let wanted: ArrayRef = Arc::new(Int32Array::from(vec![2, 1]));
    let result = call("JSON_ARRAY_CONTAINS", vec![numbers, wanted]).expect("contains ints");
    assert_eq!(rows(&result), vec!["true", "false"]);
    let objects = strings(&[Some("{\"type\": \"A\", \"at\": [1]}"), Some("[1]")]);
    let result = call("JSON_KEYS", vec![Arc::clone(&objects)]).expect("keys");
    assert_eq!(rows(&result), vec!["[type, at]", "NULL"]);
    let result = call(
        "JSON_ITEMS",
        vec![strings(&[Some("[{\"type\": \"A\", \"t\": 1}, 2]")])],
    )
    .expect("items");
    assert_eq!(rows(&result), vec!["[{\"type\":\"A\",\"t\":1}, 2]"]);
    let result = call("JSON_RECORDS", vec![objects]).expect("records");
    assert_eq!(result.null_count(), 1);
}

#[test]
fn json_concat_matches_ksqldb() {
    let cases = [
        (Some("{\"a\": 1}"), Some("{\"b\": 2}"), "{\"a\":1,\"b\":2}"),
        (
            Some("{\"a\": {\"5\": 6}}"),
            Some("{\"a\": {\"3\": 4}}"),
            "{\"a\":{\"3\":4}}",
        ),
        (Some("[1, 2]"), Some("[3, 4]"), "[1,2,3,4]"),
        (Some("null"), Some("null"), "[null,null]"),
        (Some("[1, 2]"), Some("{\"a\": 1}"), "[1,2,{\"a\":1}]"),
        (
            Some("[1, [2]]"),
            Some("[[[3]], [[[4]]]]"),
            "[1,[2],[[3]],[[[4]]]]",
        ),
        (Some("1"), Some(""), "NULL"),
        (None, Some("1"), "NULL"),
    ];
    for (left, right, expected) in cases {
        let result =
            call("JSON_CONCAT", vec![strings(&[left]), strings(&[right])]).expect("concat");
        assert_eq!(rows(&result), vec![expected], "{left:?} {right:?}");
    }
}

#[test]
fn to_json_string_of_each_type() {
    let cases: Vec<(ArrayRef, &str)> = vec![
        (Arc::new(Int32Array::from(vec![Some(1), None])), "1"),
        (strings(&[Some("a\"b"), None]), "\"a\\\"b\""),
        (
            Arc::new(Float64Array::from(vec![Some(123.456), None])),
            "123.456",
        ),
        (
            Arc::new(Float64Array::from(vec![Some(1e10), None])),
            "1.0E10",
        ),
        (
            Arc::new(Time32MillisecondArray::from(vec![Some(60_220_000), None])),
            "\"16:43:40\"",
        ),
        (
            Arc::new(Date32Array::from(vec![Some(1000), None])),
            "\"1972-09-27\"",
        ),
        (
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(60_220_000_000),
                None,
            ])),
            "\"1971-11-28T23:46:40.000\"",
        ),
        (
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(vec![Some(1), None]),
                None,
            ])),
            "[1,null]",
        ),
    ];
    for (array, expected) in cases {
        let result = call("TO_JSON_STRING", vec![array]).expect("to_json_string");
        assert_eq!(rows(&result), vec![expected, "null"]);
    }
    let map = call("JSON_RECORDS", vec![strings(&[Some("{\"id\": 1}")])]).expect("map");
    let result = call("TO_JSON_STRING", vec![map]).expect("map json");
    assert_eq!(rows(&result), vec!["{\"id\":\"1\"}"]);
}

#[test]
fn java_doubles() {
    let cases = [
        (0.0, "0.0"),
        (1.23, "1.23"),
        (-23.42, "-23.42"),
        (1e7, "1.0E7"),
        (1.5e-4, "1.5E-4"),
        (123456.789, "123456.789"),
        (f64::NAN, "NaN"),
    ];
    for (value, expected) in cases {
        assert_eq!(java_double_string(value), expected, "{value}");
    }
}
