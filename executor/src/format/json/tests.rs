//! Tests of the JSON format: decoding and encoding rows as ksqlDB does.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, TimeUnit};
use serde_json::{Value, json};

use crate::format::testing::{
    columns, columns_from_json, decode_one, decode_values, encode_texts, list, map, structure,
};
use crate::format::{Decoder, FormatKind, FormatOptions};

fn unwrapped() -> FormatOptions {
    FormatOptions {
        wrap_single_value: Some(false),
        ..FormatOptions::default()
    }
}

/// Decodes `payload` as the bare value of a single column `V`.
fn decode_unwrapped(data_type: &DataType, payload: &str) -> Result<Value, String> {
    let fields = columns(&[("V", data_type.clone())]);
    decode_one(FormatKind::Json, &unwrapped(), &fields, payload).map(|mut values| values.remove(0))
}

#[test]
fn values_coerce_like_ksqldb() {
    let int = DataType::Int32;
    let bigint = DataType::Int64;
    let double = DataType::Float64;
    let string = DataType::Utf8;
    let decimal = DataType::Decimal128(4, 2);
    let time = DataType::Time32(TimeUnit::Millisecond);
    let timestamp = DataType::Timestamp(TimeUnit::Millisecond, None);
    let bigints = list(DataType::Int64);
    let strings = list(DataType::Utf8);
    let bigint_map = map(DataType::Utf8, DataType::Int64);
    let record = structure(&[("A", DataType::Float64), ("caseField", DataType::Int64)]);
    let convert = |source: &str, required: &str| {
        Err(format!(
            "Can't convert type. sourceType: {source}, requiredType: {required}, path: $"
        ))
    };
    let cases: Vec<(&DataType, &str, Result<Value, String>)> = vec![
        (&DataType::Boolean, "true", Ok(json!(true))),
        (&DataType::Boolean, "false", Ok(json!(false))),
        (&DataType::Boolean, "null", Ok(json!(null))),
        (
            &DataType::Boolean,
            "\"true\"",
            convert("TextNode", "BOOLEAN"),
        ),
        (&DataType::Boolean, "1", convert("IntNode", "BOOLEAN")),
        (&int, "41", Ok(json!(41))),
        (&int, "41.456", Ok(json!(41))),
        (&int, "-41.9", Ok(json!(-41))),
        (&int, "\"41\"", Ok(json!(41))),
        (&int, "1e2", Ok(json!(100))),
        (&int, "2147483648", Ok(json!(-2147483648))),
        (&int, "true", convert("BooleanNode", "INTEGER")),
        (&int, "[1]", convert("ArrayNode", "INTEGER")),
        (&int, "{}", convert("ObjectNode", "INTEGER")),
        (
            &int,
            "\"41.5\"",
            Err("Can't coerce string to type. targetType: INTEGER, path: $".to_string()),
        ),
        (&bigint, "10827272222", Ok(json!(10827272222i64))),
        (&bigint, "42.456", Ok(json!(42))),
        (&bigint, "\"42\"", Ok(json!(42))),
        (&bigint, "9223372036854775808", Ok(json!(i64::MIN))),
        (&bigint, "true", convert("BooleanNode", "BIGINT")),
        (
            &bigint,
            "12345678901234567890123",
            Ok(json!(4807115922877859019i64)),
        ),
        (&double, "1234.589", Ok(json!(1234.589))),
        (&double, "42", Ok(json!(42.0))),
        (&double, "\"42.000\"", Ok(json!(42.0))),
        (&double, "\" 1.5 \"", Ok(json!(1.5))),
        (&double, "\"NaN\"", Ok(json!("NaN"))),
        (&double, "1e400", Ok(json!("Infinity"))),
        (&double, "true", convert("BooleanNode", "DOUBLE")),
        (
            &double,
            "\"x\"",
            Err("Can't coerce string to type. targetType: DOUBLE, path: $".to_string()),
        ),
        (&decimal, "10.1", Ok(json!(10.1))),
        (&decimal, "\"10.10\"", Ok(json!(10.1))),
        (&decimal, "1E+1", Ok(json!(10.0))),
        (
            &decimal,
            "1.123",
            Err(
                "Cannot fit decimal '1.123' into DECIMAL(4, 2) without rounding. \
                     (Requires 4,3), path: $"
                    .to_string(),
            ),
        ),
        (
            &decimal,
            "100",
            Err(
                "Numeric field overflow: A field with precision 4 and scale 2 must round \
                     to an absolute value less than 10^2. Got 100, path: $"
                    .to_string(),
            ),
        ),
        (&decimal, "true", convert("BooleanNode", "DECIMAL(4, 2)")),
        (&string, "\"hello\"", Ok(json!("hello"))),
        (&string, "\"a\\u00e9\\n\"", Ok(json!("aé\n"))),
        (&string, "true", Ok(json!("true"))),
        (&string, "42", Ok(json!("42"))),
        (&string, "-0", Ok(json!("0"))),
        (&string, "42.000", Ok(json!("42.000"))),
        (&string, "1e5", Ok(json!("1E+5"))),
        (&string, "0.0000001", Ok(json!("1E-7"))),
        (
            &string,
            "{\"json\": \"object\"}",
            Ok(json!("{\"json\":\"object\"}")),
        ),
        (
            &string,
            "{\"a\": 1, \"b\": [1, 2.50], \"a\": {\"c\": \"\\u0001\\/\"}}",
            Ok(json!("{\"a\":{\"c\":\"\\u0001/\"},\"b\":[1,2.50]}")),
        ),
        (&string, "[\"json\", \"array\"]", Ok(json!("[json, array]"))),
        (
            &string,
            "[1, null, [2, \"x\"], {\"a\": 1.50}]",
            Ok(json!("[1, null, [2, x], {\"a\":1.50}]")),
        ),
        (&string, "null", Ok(json!(null))),
        (
            &DataType::Binary,
            "\"dmFyaWF0aW9ucw==\"",
            Ok(json!("dmFyaWF0aW9ucw==")),
        ),
        (
            &DataType::Binary,
            "\"abc\"",
            Err("Value is not a valid Base64 encoded string: abc, path: $".to_string()),
        ),
        (&DataType::Binary, "123", convert("IntNode", "BYTES")),
        (&DataType::Date32, "10", Ok(json!(10))),
        (&DataType::Date32, "\"-10\"", Ok(json!(-10))),
        (&DataType::Date32, "true", convert("BooleanNode", "DATE")),
        (&time, "100", Ok(json!(100))),
        (&time, "\"100\"", Ok(json!(100))),
        (
            &time,
            "86400001",
            Err(
                "Time values must use number of milliseconds greater than 0 and less than \
                     86400000., path: $"
                    .to_string(),
            ),
        ),
        (&time, "true", convert("BooleanNode", "TIME")),
        (&timestamp, "1000", Ok(json!(1000))),
        (&timestamp, "\"1000\"", Ok(json!(1000))),
        (&timestamp, "1.5", Ok(json!(1))),
        (&timestamp, "true", convert("BooleanNode", "TIMESTAMP")),
        (
            &bigints,
            "[42, 42.000, \"42\", null]",
            Ok(json!([42, 42, 42, null])),
        ),
        (&bigints, "[]", Ok(json!([]))),
        (&bigints, "true", convert("BooleanNode", "ARRAY<BIGINT>")),
        (
            &bigints,
            "[0, \"not\"]",
            Err("Can't coerce string to type. targetType: BIGINT, path: $[1]".to_string()),
        ),
        (&strings, "[1, 2, 3]", Ok(json!(["1", "2", "3"]))),
        (
            &strings,
            "[\"a\", \"b\", null]",
            Ok(json!(["a", "b", null])),
        ),
        (
            &bigint_map,
            "{\"a\": 42, \"b\": 42.5, \"c\": \"42\", \"d\": null}",
            Ok(json!({"a": 42, "b": 42, "c": 42, "d": null})),
        ),
        (&bigint_map, "{\"a\": 1, \"a\": 2}", Ok(json!({"a": 2}))),
        (
            &bigint_map,
            "{\"a\": 1, \"b\": true}",
            Err(
                "Can't convert type. sourceType: BooleanNode, requiredType: BIGINT, \
                     path: $.b.value"
                    .to_string(),
            ),
        ),
        (
            &bigint_map,
            "[]",
            convert("ArrayNode", "MAP<VARCHAR, BIGINT>"),
        ),
        (
            &record,
            "{\"a\": 45.67}",
            Ok(json!({"A": 45.67, "caseField": null})),
        ),
        (
            &record,
            "{\"A\": 1, \"a\": 2}",
            Ok(json!({"A": 1.0, "caseField": null})),
        ),
        (
            &record,
            "{\"a\": 2, \"A\": 1}",
            Ok(json!({"A": 1.0, "caseField": null})),
        ),
        (
            &record,
            "{\"CASEFIELD\": 1}",
            Ok(json!({"A": null, "caseField": null})),
        ),
        (
            &record,
            "{\"caseField\": 1}",
            Ok(json!({"A": null, "caseField": 1})),
        ),
        (
            &record,
            "{\"A\": \"x\"}",
            Err("Can't coerce string to type. targetType: DOUBLE, path: $.A".to_string()),
        ),
        (
            &record,
            "true",
            convert("BooleanNode", "STRUCT<A DOUBLE, caseField BIGINT>"),
        ),
    ];
    for (data_type, payload, expected) in cases {
        assert_eq!(
            decode_unwrapped(data_type, payload),
            expected,
            "{payload} as {data_type}"
        );
    }
}

#[test]
fn decimals_keep_their_digits() {
    let cases: [(DataType, &str, i128); 5] = [
        (
            DataType::Decimal128(20, 19),
            "1.1234512345123451234",
            11234512345123451234,
        ),
        (
            DataType::Decimal128(20, 19),
            "\"1.1234512345123451234\"",
            11234512345123451234,
        ),
        (DataType::Decimal128(4, 3), "1.1", 1100),
        (DataType::Decimal128(3, 1), "1E+1", 100),
        (
            DataType::Decimal128(38, 2),
            "123456789012345678901234567890123456.78",
            12345678901234567890123456789012345678,
        ),
    ];
    for (data_type, payload, expected) in cases {
        let fields = columns(&[("V", data_type)]);
        let decoder = Decoder::new(FormatKind::Json, &unwrapped(), fields).expect("decoder");
        let decoded = decoder.decode(&[Some(payload.as_bytes())]);
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        let values = decoded.columns[0].as_primitive::<Decimal128Type>();
        assert_eq!(values.value(0), expected, "{payload}");
    }
}

#[test]
fn rows_are_objects_matched_by_name() {
    let fields = columns(&[
        ("ORDERTIME", DataType::Int64),
        ("ITEMID", DataType::Utf8),
        ("caseField", DataType::Int64),
    ]);
    let struct_name = "STRUCT<ORDERTIME BIGINT, ITEMID VARCHAR, caseField BIGINT>";
    let cases: Vec<(&[u8], Result<Value, String>)> = vec![
        (
            b"{\"ordertime\": 1, \"itemid\": \"x\", \"caseField\": 2, \"extra\": [true]}",
            Ok(json!([1, "x", 2])),
        ),
        (
            b"{\"ORDERTIME\": 1, \"ordertime\": 2}",
            Ok(json!([1, null, null])),
        ),
        (
            b"{\"ordertime\": 2, \"Ordertime\": 3}",
            Ok(json!([3, null, null])),
        ),
        (
            b"{\"\\u0049TEMID\": \"escaped key\"}",
            Ok(json!([null, "escaped key", null])),
        ),
        (b" {} ", Ok(json!([null, null, null]))),
        (
            b"{\"ITEMID\": \"x\"} trailing",
            Ok(json!([null, "x", null])),
        ),
        (b"null", Ok(json!([null, null, null]))),
        (
            b"",
            Err(format!(
                "Can't convert type. sourceType: MissingNode, requiredType: {struct_name}, \
                     path: $"
            )),
        ),
        (
            b"[1]",
            Err(format!(
                "Can't convert type. sourceType: ArrayNode, requiredType: {struct_name}, \
                     path: $"
            )),
        ),
        (
            b"{\"ORDERTIME\": true}",
            Err(
                "Can't convert type. sourceType: BooleanNode, requiredType: BIGINT, \
                     path: $.ORDERTIME"
                    .to_string(),
            ),
        ),
        (
            b"{\"ORDERTIME\": 1",
            Err("failed to deserialize JSON: unexpected end of input".to_string()),
        ),
        (
            b"{\"ITEMID\": tru}",
            Err("failed to deserialize JSON: unrecognized token at byte 11".to_string()),
        ),
        (
            b"{\"ITEMID\": \"\xff\"}",
            Err("failed to deserialize JSON: invalid UTF-8 at byte 12".to_string()),
        ),
    ];
    for (payload, expected) in cases {
        let actual = decode_values(
            FormatKind::Json,
            &FormatOptions::default(),
            &fields,
            &[Some(payload)],
        )
        .pop()
        .expect("one row")
        .map(Value::from);
        assert_eq!(actual, expected, "{}", String::from_utf8_lossy(payload));
    }
}

#[test]
fn an_empty_unwrapped_payload_is_an_empty_string() {
    assert_eq!(decode_unwrapped(&DataType::Utf8, ""), Ok(json!("")));
    assert_eq!(
        decode_unwrapped(&DataType::Int32, " "),
        Err(
            "Can't convert type. sourceType: MissingNode, requiredType: INTEGER, path: $"
                .to_string()
        )
    );
}

#[test]
fn a_failed_row_leaves_the_others_intact() {
    let fields = columns(&[
        ("ID", DataType::Int64),
        (
            "ITEMS",
            list(structure(&[("N", DataType::Int32), ("S", DataType::Utf8)])),
        ),
        ("TAGS", map(DataType::Utf8, DataType::Utf8)),
    ]);
    let payloads: [Option<&[u8]>; 6] = [
        Some(b"{\"ID\": 1, \"ITEMS\": [{\"N\": 1, \"S\": \"a\"}], \"TAGS\": {\"k\": \"v\"}}"),
        // Fails after writing ID, one list element and half of the second.
        Some(b"{\"ID\": 2, \"ITEMS\": [{\"N\": 2, \"S\": \"b\"}, {\"S\": \"c\", \"N\": \"x\"}]}"),
        None,
        Some(b"{\"ID\": 4, \"ITEMS\": [null, {\"n\": 4}], \"TAGS\": {}}"),
        Some(b"not json"),
        Some(b"{\"ID\": 6, \"TAGS\": {\"a\": \"1\", \"b\": 2}}"),
    ];
    let rows = decode_values(
        FormatKind::Json,
        &FormatOptions::default(),
        &fields,
        &payloads,
    );
    assert_eq!(
        rows[0],
        Ok(vec![
            json!(1),
            json!([{"N": 1, "S": "a"}]),
            json!({"k": "v"})
        ])
    );
    assert_eq!(
        rows[1],
        Err("Can't coerce string to type. targetType: INTEGER, path: $.ITEMS[1].N".to_string())
    );
    assert_eq!(rows[2], Ok(vec![json!(null), json!(null), json!(null)]));
    assert_eq!(
        rows[3],
        Ok(vec![
            json!(4),
            json!([null, {"N": 4, "S": null}]),
            json!({})
        ])
    );
    assert!(
        rows[4]
            .as_ref()
            .is_err_and(|error| error.starts_with("failed to deserialize JSON"))
    );
    assert_eq!(
        rows[5],
        Ok(vec![json!(6), json!(null), json!({"a": "1", "b": "2"})])
    );

    let decoder = Decoder::new(FormatKind::Json, &FormatOptions::default(), fields).expect("ok");
    let decoded = decoder.decode(&payloads);
    assert_eq!(decoded.kept, [0, 2, 3, 5]);
    assert_eq!(
        decoded
            .errors
            .iter()
            .map(|(row, _)| *row)
            .collect::<Vec<_>>(),
        [1, 4]
    );
    let items = decoded.columns[1].as_list::<i32>();
    assert_eq!(
        items.values().len(),
        3,
        "the abandoned elements are rolled back"
    );
}

#[test]
fn columns_are_written_like_ksqldb() {
    let fields = columns(&[
        ("B", DataType::Boolean),
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("M", DataType::Decimal128(4, 2)),
        ("S", DataType::Utf8),
        ("Y", DataType::Binary),
        ("DT", DataType::Date32),
        ("T", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ("A", list(DataType::Float64)),
        ("MP", map(DataType::Utf8, DataType::Int32)),
        (
            "ST",
            structure(&[("X", DataType::Int32), ("y", DataType::Utf8)]),
        ),
    ]);
    let full = "{\"B\":true,\"I\":1,\"L\":10827272222,\"D\":1.0,\"M\":1.10,\"S\":\"a\\\"b\",\
                    \"Y\":\"dmFyaWF0aW9ucw==\",\"DT\":10,\"T\":100,\"TS\":1000,\
                    \"A\":[1.5,null,1.0E10],\"MP\":{\"k\":1},\"ST\":{\"X\":1,\"y\":\"z\"}}";
    let nulls = "{\"B\":null,\"I\":null,\"L\":null,\"D\":null,\"M\":null,\"S\":null,\
                     \"Y\":null,\"DT\":null,\"T\":null,\"TS\":null,\"A\":null,\"MP\":null,\
                     \"ST\":null}";
    let input = [
        Some(
            "{\"b\":true,\"i\":1,\"l\":10827272222,\"d\":1,\"m\":1.1,\"s\":\"a\\\"b\",\
                  \"y\":\"dmFyaWF0aW9ucw==\",\"dt\":10,\"t\":100,\"ts\":1000,\
                  \"a\":[1.5,null,1e10],\"mp\":{\"k\":1},\"st\":{\"x\":1,\"Y\":\"no\",\"y\":\"z\"}}",
        ),
        Some("{}"),
        None,
    ];
    let batch = columns_from_json(&fields, &input);
    let encoded = encode_texts(FormatKind::Json, &FormatOptions::default(), &fields, &batch);
    assert_eq!(
        encoded,
        [
            Some(full.to_string()),
            Some(nulls.to_string()),
            Some(nulls.to_string())
        ]
    );
}

#[test]
fn special_numbers_are_written_like_jackson() {
    let fields = columns(&[("D", DataType::Float64), ("M", DataType::Decimal128(10, 8))]);
    let batch = columns_from_json(
        &fields,
        &[
            Some("{\"D\": \"NaN\", \"M\": 0.00000001}"),
            Some("{\"D\": \"-Infinity\", \"M\": 0}"),
            Some("{\"D\": 0.001, \"M\": -12.5}"),
        ],
    );
    let encoded = encode_texts(FormatKind::Json, &FormatOptions::default(), &fields, &batch);
    let expected = [
        "{\"D\":\"NaN\",\"M\":1E-8}",
        "{\"D\":\"-Infinity\",\"M\":0E-8}",
        "{\"D\":0.001,\"M\":-12.50000000}",
    ];
    assert_eq!(encoded, expected.map(|text| Some(text.to_string())));
}

#[test]
fn single_values_are_written_bare_when_unwrapped() {
    let cases = [
        (DataType::Boolean, "true", "true"),
        (DataType::Int64, "1234567890", "1234567890"),
        (DataType::Float64, "9876.54321", "9876.54321"),
        (DataType::Utf8, "\"world\"", "\"world\""),
        (list(DataType::Float64), "[99.99]", "[99.99]"),
        (
            structure(&[("A", DataType::Float64)]),
            "{\"a\": 76.54}",
            "{\"A\":76.54}",
        ),
    ];
    for (data_type, value, expected) in cases {
        let fields = columns(&[("V", data_type)]);
        let wrapped = format!("{{\"V\": {value}}}");
        let batch = columns_from_json(&fields, &[Some(&wrapped), Some("{\"V\": null}")]);
        let encoded = encode_texts(FormatKind::Json, &unwrapped(), &fields, &batch);
        assert_eq!(encoded, [Some(expected.to_string()), None], "{value}");
    }
}

#[test]
fn encoded_rows_decode_to_the_same_columns() {
    let fields = columns(&[
        ("ID", DataType::Int32),
        ("AMOUNT", DataType::Decimal128(10, 3)),
        ("RATE", DataType::Float64),
        ("NAME", DataType::Utf8),
        ("DATA", DataType::Binary),
        ("AT", DataType::Timestamp(TimeUnit::Millisecond, None)),
        (
            "NESTED",
            list(map(
                DataType::Utf8,
                structure(&[("Q", list(DataType::Date32))]),
            )),
        ),
    ]);
    let input = [
        Some(
            "{\"ID\": 1, \"AMOUNT\": \"-1.5\", \"RATE\": 0.1, \"NAME\": \"tab\\there \\u2603\", \
                  \"DATA\": \"AAEC\", \"AT\": 1589234313000, \
                  \"NESTED\": [{\"a\": {\"Q\": [1, null]}, \"b\": null}, null, {}]}",
        ),
        Some("{\"RATE\": 1e300, \"NAME\": \"\"}"),
        Some("{\"RATE\": \"NaN\"}"),
        None,
    ];
    let batch = columns_from_json(&fields, &input);
    let options = FormatOptions::default();
    let encoded = encode_texts(FormatKind::Json, &options, &fields, &batch);
    let payloads: Vec<Option<&[u8]>> = encoded
        .iter()
        .map(|text| text.as_deref().map(str::as_bytes))
        .collect();
    let decoder = Decoder::new(FormatKind::Json, &options, fields.clone()).expect("ok");
    let decoded = decoder.decode(&payloads);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    for (expected, actual) in batch.iter().zip(&decoded.columns) {
        assert_eq!(expected.to_data(), actual.to_data());
    }
    let single = columns(&[("V", structure(&[("A", DataType::Utf8)]))]);
    let batch = columns_from_json(&single, &[Some("{\"V\": {\"A\": \"x\"}}"), Some("{}")]);
    let encoded = encode_texts(FormatKind::Json, &unwrapped(), &single, &batch);
    let payloads: Vec<Option<&[u8]>> = encoded
        .iter()
        .map(|text| text.as_deref().map(str::as_bytes))
        .collect();
    let decoded = Decoder::new(FormatKind::Json, &unwrapped(), single)
        .expect("ok")
        .decode(&payloads);
    assert_eq!(batch[0].to_data(), decoded.columns[0].to_data());
}

#[test]
fn sliced_columns_are_encoded_from_their_offset() {
    let fields = columns(&[("V", list(DataType::Int32))]);
    let batch = columns_from_json(
        &fields,
        &[
            Some("{\"V\": [1]}"),
            Some("{\"V\": [2, 3]}"),
            Some("{\"V\": null}"),
        ],
    );
    let sliced: Vec<Arc<dyn Array>> = batch.iter().map(|column| column.slice(1, 2)).collect();
    let encoded = encode_texts(
        FormatKind::Json,
        &FormatOptions::default(),
        &fields,
        &sliced,
    );
    assert_eq!(
        encoded,
        [
            Some("{\"V\":[2,3]}".to_string()),
            Some("{\"V\":null}".to_string())
        ]
    );
}

#[test]
fn unused_columns_are_not_copied_but_still_checked() {
    let fields = columns(&[
        ("A", DataType::Int64),
        ("B", DataType::Utf8),
        ("C", DataType::Int32),
        ("D", DataType::Utf8),
    ]);
    let mut decoder =
        Decoder::new(FormatKind::Json, &FormatOptions::default(), fields).expect("decoder");
    decoder.set_unused(&[false, true, true, false]);
    let payloads = [
        r#"{"A": 1, "B": "long text", "C": 7, "D": "kept"}"#,
        // An unused column whose value cannot be read fails the record as before.
        r#"{"A": 2, "B": "x", "C": "not a number", "D": "y"}"#,
        // An unused column read from a string is still checked, and passes.
        r#"{"A": 3, "B": {"nested": true}, "C": "12", "D": "z"}"#,
    ];
    let payloads: Vec<Option<&[u8]>> = payloads.iter().map(|p| Some(p.as_bytes())).collect();
    let decoded = decoder.decode(&payloads);
    assert_eq!(decoded.kept, [0, 2]);
    assert_eq!(decoded.errors.len(), 1);
    assert_eq!(decoded.errors[0].0, 1);
    let a = decoded.columns[0].as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(a.values().to_vec(), [1, 3]);
    let d = decoded.columns[3].as_string::<i32>();
    assert_eq!((d.value(0), d.value(1)), ("kept", "z"));
    // The unused string column holds nulls instead of copies.
    assert_eq!(decoded.columns[1].null_count(), 2);
}

#[test]
fn strings_with_escapes_anywhere_round_trip() {
    let pieces = ["plain text ", "\"", "\\", "\n", "\u{1}", "é", "\u{1f}", "x"];
    for length in 0..40 {
        let text: String = (0..length)
            .map(|i| pieces[(i * 7 + length) % pieces.len()])
            .collect();
        let mut out = Vec::new();
        super::write_json_string(&text, &mut out);
        let back: String = serde_json::from_slice(&out).expect("valid JSON string");
        assert_eq!(back, text);
    }
}

#[test]
fn members_find_their_columns_in_any_order_and_case() {
    let fields = columns(&[
        ("ID", DataType::Int64),
        ("NAME", DataType::Utf8),
        ("Mixed", DataType::Int64),
    ]);
    let decoder =
        Decoder::new(FormatKind::Json, &FormatOptions::default(), fields).expect("decoder");
    let payloads = [
        r#"{"id": 1, "name": "in order", "Mixed": 5}"#,
        r#"{"Mixed": 6, "NAME": "reversed", "ID": 2}"#,
        // An exact key wins over an upper-cased one, whichever comes first.
        r#"{"ID": 3, "id": 30, "name": "x", "NAME": "exact", "mixed": 7}"#,
        r#"{"extra": true, "id": 4}"#,
    ];
    let payloads: Vec<Option<&[u8]>> = payloads.iter().map(|p| Some(p.as_bytes())).collect();
    let decoded = decoder.decode(&payloads);
    assert_eq!(decoded.kept, [0, 1, 2, 3]);
    let ids = decoded.columns[0].as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(ids.values().to_vec(), [1, 2, 3, 4]);
    let names = decoded.columns[1].as_string::<i32>();
    assert_eq!(
        (names.value(0), names.value(1), names.value(2)),
        ("in order", "reversed", "exact")
    );
    assert!(names.is_null(3));
    // "mixed" upper-cases to "MIXED", not "Mixed": only the exact key reaches it.
    let mixed = decoded.columns[2].as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(
        (mixed.value(0), mixed.value(1), mixed.is_null(2)),
        (5, 6, true)
    );
}
