//! Tests of the DELIMITED format: decoding, encoding and quoting as ksqlDB does them.

use arrow::datatypes::Fields;
use serde_json::{Value, json};

use super::*;
use crate::format::testing::{columns, columns_from_json, decode_one, encode_texts};
use crate::format::{Decoder, FormatKind, FormatOptions};

fn with_delimiter(delimiter: char) -> FormatOptions {
    FormatOptions {
        delimiter: Some(delimiter),
        ..FormatOptions::default()
    }
}

fn all_types() -> Fields {
    columns(&[
        ("B", DataType::Boolean),
        ("I", DataType::Int32),
        ("L", DataType::Int64),
        ("D", DataType::Float64),
        ("M", DataType::Decimal128(6, 4)),
        ("S", DataType::Utf8),
        ("Y", DataType::Binary),
        ("DT", DataType::Date32),
        ("T", DataType::Time32(TimeUnit::Millisecond)),
        ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
    ])
}

#[test]
fn fields_are_read_like_ksqldb() {
    let fields = all_types();
    let cases: [(&str, Result<Value, String>); 9] = [
        (
            "true,10,998877665544332211,10.3,12.365,bob,IQ==,10,100,1000",
            Ok(json!([
                true,
                10,
                998877665544332211i64,
                10.3,
                12.365,
                "bob",
                "IQ==",
                10,
                100,
                1000
            ])),
        ),
        (
            "TRUE,\"22\",-1,1e3,\"12.0\",\"a,b\",IQ,-10,0,-5",
            Ok(json!([
                true, 22, -1, 1000.0, 12.0, "a,b", "IQ==", -10, 0, -5
            ])),
        ),
        (
            ",,,,,,,,,",
            Ok(json!([
                null, null, null, null, null, null, null, null, null, null
            ])),
        ),
        (
            "yes,,,NaN,,\"\",,,,",
            Ok(json!([
                false, null, null, "NaN", null, null, null, null, null, null
            ])),
        ),
        (
            "true,abc,,,,,,,,",
            Err("failed to deserialize DELIMITED field `I`: For input string: \"abc\"".to_string()),
        ),
        (
            ",,,,123.45,,,,,",
            Err(
                "failed to deserialize DELIMITED field `M`: Numeric field overflow: A field \
                     with precision 6 and scale 4 must round to an absolute value less than \
                     10^2. Got 123.45"
                    .to_string(),
            ),
        ),
        (
            "1,2",
            Err("Column count mismatch on deserialization. expected: 10, got: 2".to_string()),
        ),
        (
            "",
            Err("failed to deserialize DELIMITED: No fields in record".to_string()),
        ),
        (
            "\"open",
            Err(
                "failed to deserialize DELIMITED: EOF reached before encapsulated token \
                     finished"
                    .to_string(),
            ),
        ),
    ];
    for (payload, expected) in cases {
        let actual = decode_one(
            FormatKind::Delimited,
            &FormatOptions::default(),
            &fields,
            payload,
        )
        .map(Value::from);
        assert_eq!(actual, expected, "{payload:?}");
    }
}

#[test]
fn custom_delimiters_split_fields() {
    let fields = columns(&[
        ("ID", DataType::Int64),
        ("NAME", DataType::Utf8),
        ("VALUE", DataType::Int32),
    ]);
    let cases = [
        ('|', "0|zero|0"),
        ('$', "0$zero$0"),
        ('\t', "0\tzero\t0"),
        (' ', "0 zero 0"),
        (';', "0;zero;0"),
    ];
    for (delimiter, payload) in cases {
        let options = with_delimiter(delimiter);
        let values = decode_one(FormatKind::Delimited, &options, &fields, payload);
        assert_eq!(
            values,
            Ok(vec![json!(0), json!("zero"), json!(0)]),
            "{payload:?}"
        );
        let batch = columns_from_json(
            &fields,
            &[Some("{\"ID\": 0, \"NAME\": \"zero\", \"VALUE\": 0}")],
        );
        let encoded = encode_texts(FormatKind::Delimited, &options, &fields, &batch);
        assert_eq!(encoded, [Some(payload.to_string())]);
    }
    let foo_bar = columns(&[("K1", DataType::Utf8), ("K2", DataType::Utf8)]);
    assert_eq!(
        decode_one(
            FormatKind::Delimited,
            &with_delimiter(';'),
            &foo_bar,
            "foo,bar;baz"
        ),
        Ok(vec![json!("foo,bar"), json!("baz")])
    );
}

#[test]
fn values_are_written_like_ksqldb() {
    let decimals = columns(&[("V", DataType::Decimal128(33, 16))]);
    let dates = columns(&[("V", DataType::Date32)]);
    let doubles = columns(&[("V", DataType::Float64)]);
    let pairs = columns(&[("S", DataType::Utf8), ("B", DataType::Binary)]);
    let cases: [(&Fields, &str, &str); 13] = [
        (
            &decimals,
            "12345678987654321.2345678987654321",
            "12345678987654321.2345678987654321",
        ),
        (&decimals, "0.12", "0.1200000000000000"),
        (&decimals, "-12345.12", "\"-12345.1200000000000000\""),
        (&decimals, "0", "0.0000000000000000"),
        (&dates, "10", "10"),
        (&dates, "-10", "\"-10\""),
        (&doubles, "10.3", "10.3"),
        (&doubles, "1e10", "1.0E10"),
        (&doubles, "0.1", "0.1"),
        (&pairs, "{\"S\": \"!\", \"B\": \"IQ==\"}", "\"!\",IQ=="),
        (&pairs, "{\"S\": \"1AB2\", \"B\": \"GrI=\"}", "1AB2,GrI="),
        (&pairs, "{\"S\": null, \"B\": \"GrI=\"}", ",GrI="),
        (&pairs, "{\"S\": \"\", \"B\": null}", "\"\","),
    ];
    for (fields, value, expected) in cases {
        let row = if value.starts_with('{') {
            value.to_string()
        } else {
            format!("{{\"V\": {value}}}")
        };
        let batch = columns_from_json(fields, &[Some(&row)]);
        let encoded = encode_texts(
            FormatKind::Delimited,
            &FormatOptions::default(),
            fields,
            &batch,
        );
        assert_eq!(encoded, [Some(expected.to_string())], "{value}");
    }
    let single = columns(&[("V", DataType::Utf8)]);
    let batch = columns_from_json(&single, &[None, Some("{\"V\": \"\"}")]);
    let encoded = encode_texts(
        FormatKind::Delimited,
        &FormatOptions::default(),
        &single,
        &batch,
    );
    assert_eq!(encoded, [Some(String::new()), Some("\"\"".to_string())]);
}

#[test]
fn encoded_lines_decode_to_the_same_columns() {
    let fields = all_types();
    let batch = columns_from_json(
        &fields,
        &[
            Some(
                "{\"B\": false, \"I\": -1, \"L\": 5, \"D\": -1.5e-7, \"M\": -0.0001, \
                      \"S\": \"say \\\"hi\\\", \\n bye \", \"Y\": \"AAEC\", \"DT\": -3, \
                      \"T\": 86400000, \"TS\": -1}",
            ),
            Some("{\"S\": \"#tag\", \"D\": \"Infinity\"}"),
            Some("{\"B\": true}"),
        ],
    );
    for delimiter in [',', '|', '\t', '€'] {
        let options = with_delimiter(delimiter);
        let encoded = encode_texts(FormatKind::Delimited, &options, &fields, &batch);
        let payloads: Vec<Option<&[u8]>> = encoded
            .iter()
            .map(|text| text.as_deref().map(str::as_bytes))
            .collect();
        let decoded = Decoder::new(FormatKind::Delimited, &options, fields.clone())
            .expect("ok")
            .decode(&payloads);
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        for (expected, actual) in batch.iter().zip(&decoded.columns) {
            assert_eq!(expected.to_data(), actual.to_data(), "{delimiter:?}");
        }
    }
}

fn record(text: &str, delimiter: char) -> Result<Option<Vec<String>>, String> {
    let mut fields = Vec::new();
    let found = parse_record(text.as_bytes(), 0, Delimiter::new(delimiter), &mut fields)?;
    Ok(found.map(|_| {
        fields
            .iter()
            .map(|field| String::from_utf8_lossy(field).into_owned())
            .collect()
    }))
}

#[test]
fn records_are_read_like_commons_csv() {
    let cases: [(&str, char, Option<&[&str]>); 14] = [
        ("a,b,c", ',', Some(&["a", "b", "c"])),
        ("a,,c", ',', Some(&["a", "", "c"])),
        ("a,", ',', Some(&["a", ""])),
        (",", ',', Some(&["", ""])),
        ("\"a,b\",c", ',', Some(&["a,b", "c"])),
        ("\"say \"\"hi\"\"\",x", ',', Some(&["say \"hi\"", "x"])),
        ("\"\"", ',', Some(&[""])),
        ("\"a\"  ,b", ',', Some(&["a", "b"])),
        ("a\"b,c", ',', Some(&["a\"b", "c"])),
        ("a,b\nc,d", ',', Some(&["a", "b"])),
        ("\n\r\na,b", ',', Some(&["a", "b"])),
        ("0\tzero\t0", '\t', Some(&["0", "zero", "0"])),
        ("a€b€", '€', Some(&["a", "b", ""])),
        ("", ',', None),
    ];
    for (text, delimiter, expected) in cases {
        let expected = expected.map(|fields| fields.iter().map(|f| f.to_string()).collect());
        assert_eq!(record(text, delimiter), Ok(expected), "{text:?}");
    }
}

#[test]
fn malformed_records_are_refused() {
    for text in ["\"abc", "\"a\"b,c", "\"a\"\"", "x,\"unterminated"] {
        assert!(record(text, ',').is_err(), "{text:?}");
    }
}

#[test]
fn fields_are_quoted_like_commons_csv() {
    let encoder = DelimitedEncoder::new(',');
    let cases = [
        ("abc", true, "abc"),
        ("abc", false, "abc"),
        ("", true, "\"\""),
        ("", false, ""),
        ("-10", true, "\"-10\""),
        ("-10", false, "-10"),
        ("!", false, "\"!\""),
        ("#x", false, "\"#x\""),
        ("a,b", false, "\"a,b\""),
        ("say \"hi\"", false, "\"say \"\"hi\"\"\""),
        ("line\nbreak", false, "\"line\nbreak\""),
        ("trailing ", false, "\"trailing \""),
        ("é", true, "\"é\""),
        ("é", false, "é"),
        ("0.1200000000000000", true, "0.1200000000000000"),
    ];
    for (value, first, expected) in cases {
        let mut out = Vec::new();
        encoder.write_field(value.as_bytes(), first, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            expected,
            "{value:?}"
        );
    }
}
