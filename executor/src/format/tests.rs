//! Tests of the format dispatch: decoders and encoders per format, NONE and JSON_SR.

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, TimeUnit};
use serde_json::json;

use super::testing::{decode_values, list, map, structure};
use super::*;

#[test]
fn format_names_parse_ignoring_case() {
    let cases = [
        ("JSON", Some(FormatKind::Json)),
        ("json", Some(FormatKind::Json)),
        ("Delimited", Some(FormatKind::Delimited)),
        ("KAFKA", Some(FormatKind::Kafka)),
        ("none", Some(FormatKind::None)),
        ("FOO", None),
        ("", None),
    ];
    for (text, expected) in cases {
        match (text.parse::<FormatKind>(), expected) {
            (Ok(kind), Some(expected)) => assert_eq!(kind, expected),
            (Err(error), None) => {
                assert_eq!(error.to_string(), format!("unknown format: {text}"))
            }
            (actual, expected) => panic!("{text}: got {actual:?}, expected {expected:?}"),
        }
    }
    assert_eq!(FormatKind::Delimited.to_string(), "DELIMITED");
}

#[test]
fn delimiters_parse_like_ksqldb() {
    let cases = [
        (",", Ok(',')),
        ("|", Ok('|')),
        ("$", Ok('$')),
        ("TAB", Ok('\t')),
        ("space", Ok(' ')),
        ("€", Ok('€')),
        ("", Err("Delimiter cannot be empty")),
        (" ", Err("Delimiter cannot be empty")),
        ("\t", Err("Delimiter cannot be empty")),
        (";;", Err("Invalid delimiter value: ';;'")),
    ];
    for (text, expected) in cases {
        match (parse_delimiter(text), expected) {
            (Ok(actual), Ok(expected)) => assert_eq!(actual, expected),
            (Err(error), Err(expected)) => {
                assert!(error.to_string().starts_with(expected), "{error}")
            }
            (actual, expected) => panic!("{text:?}: got {actual:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn formats_refuse_what_they_cannot_hold() {
    let one =
        |name: &str, data_type: DataType| Fields::from(vec![Field::new(name, data_type, true)]);
    let unwrapped = FormatOptions {
        wrap_single_value: Some(false),
        ..FormatOptions::default()
    };
    let wrapped = FormatOptions {
        wrap_single_value: Some(true),
        ..FormatOptions::default()
    };
    let defaults = FormatOptions::default();
    let two = Fields::from(vec![
        Field::new("A", DataType::Int32, true),
        Field::new("B", DataType::Utf8, true),
    ]);
    let cases = [
        (
            FormatKind::Delimited,
            &defaults,
            one("K", list(DataType::Float64)),
            "The 'DELIMITED' format does not support type 'ARRAY'",
        ),
        (
            FormatKind::Delimited,
            &defaults,
            one("K", map(DataType::Utf8, DataType::Int32)),
            "The 'DELIMITED' format does not support type 'MAP'",
        ),
        (
            FormatKind::Delimited,
            &defaults,
            one("K", structure(&[("F1", DataType::Float64)])),
            "The 'DELIMITED' format does not support type 'STRUCT'",
        ),
        (
            FormatKind::Delimited,
            &wrapped,
            one("FOO", DataType::Int32),
            "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", DataType::Boolean),
            "The 'KAFKA' format does not support type 'BOOLEAN'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", DataType::Decimal128(4, 2)),
            "The 'KAFKA' format does not support type 'DECIMAL'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", DataType::Date32),
            "The 'KAFKA' format does not support type 'DATE'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", DataType::Time32(TimeUnit::Millisecond)),
            "The 'KAFKA' format does not support type 'TIME'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", DataType::Timestamp(TimeUnit::Millisecond, None)),
            "The 'KAFKA' format does not support type 'TIMESTAMP'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", list(DataType::Int32)),
            "The 'KAFKA' format does not support type 'ARRAY'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            one("K", structure(&[("F1", DataType::Float64)])),
            "The 'KAFKA' format does not support type 'STRUCT'",
        ),
        (
            FormatKind::Kafka,
            &defaults,
            two.clone(),
            "The 'KAFKA' format only supports a single field. Got: [`A` INTEGER, `B` STRING]",
        ),
        (
            FormatKind::Kafka,
            &wrapped,
            one("FOO", DataType::Int32),
            "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
        ),
        (
            FormatKind::None,
            &defaults,
            one("K", DataType::Utf8),
            "The 'NONE' format can only be used when no columns are defined. Got: [`K` STRING]",
        ),
        (
            FormatKind::Json,
            &defaults,
            one("FOO", map(DataType::Int32, DataType::Float64)),
            "JSON only supports MAP types with STRING keys",
        ),
        (
            FormatKind::Json,
            &unwrapped,
            one("FOO", list(map(DataType::Int32, DataType::Float64))),
            "JSON only supports MAP types with STRING keys",
        ),
    ];
    for (kind, options, fields, expected) in cases {
        let decoder = Decoder::new(kind, options, fields.clone()).expect_err(expected);
        assert_eq!(decoder.to_string(), expected);
        assert!(matches!(decoder, ExecError::User(_)));
        let encoder = Encoder::new(kind, options, fields).expect_err(expected);
        assert_eq!(encoder.to_string(), expected);
    }
    let float = one("F", DataType::Float32);
    assert!(matches!(
        Decoder::new(FormatKind::Json, &defaults, float),
        Err(ExecError::Internal(_))
    ));
}

#[test]
fn formats_accept_what_they_can_hold() {
    let defaults = FormatOptions::default();
    let one = |data_type: DataType| Fields::from(vec![Field::new("V", data_type, true)]);
    let cases = [
        (FormatKind::Kafka, one(DataType::Int32)),
        (FormatKind::Kafka, one(DataType::Int64)),
        (FormatKind::Kafka, one(DataType::Float64)),
        (FormatKind::Kafka, one(DataType::Utf8)),
        (FormatKind::Kafka, one(DataType::Binary)),
        (FormatKind::Kafka, Fields::empty()),
        (FormatKind::None, Fields::empty()),
        (
            FormatKind::Delimited,
            one(DataType::Time32(TimeUnit::Millisecond)),
        ),
        (FormatKind::Delimited, one(DataType::Binary)),
        (
            FormatKind::Json,
            one(map(
                DataType::Utf8,
                list(structure(&[("A", DataType::Date32)])),
            )),
        ),
    ];
    for (kind, fields) in cases {
        Decoder::new(kind, &defaults, fields.clone()).expect("supported");
        Encoder::new(kind, &defaults, fields).expect("supported");
    }
}

#[test]
fn no_columns_means_no_payload() {
    for kind in [
        FormatKind::None,
        FormatKind::Kafka,
        FormatKind::Json,
        FormatKind::Delimited,
    ] {
        let decoder = Decoder::new(kind, &FormatOptions::default(), Fields::empty()).expect("ok");
        let decoded = decoder.decode(&[Some(b"ignored"), None, Some(b"")]);
        assert!(decoded.columns.is_empty());
        assert_eq!(decoded.kept, [0, 1, 2]);
        assert!(decoded.errors.is_empty());
        let encoder = Encoder::new(kind, &FormatOptions::default(), Fields::empty()).expect("ok");
        assert_eq!(encoder.encode(&[], 2).expect("encodes"), [None, None]);
    }
}

#[test]
fn absent_payloads_decode_to_null_rows_in_every_format() {
    let fields = Fields::from(vec![Field::new("V", DataType::Utf8, true)]);
    for kind in [FormatKind::Json, FormatKind::Delimited, FormatKind::Kafka] {
        let values = decode_values(kind, &FormatOptions::default(), &fields, &[None]);
        assert_eq!(values, [Ok(vec![json!(null)])], "{kind}");
    }
}

#[test]
fn encoders_check_their_columns() {
    let fields = Fields::from(vec![Field::new("V", DataType::Int32, true)]);
    let encoder = Encoder::new(FormatKind::Json, &FormatOptions::default(), fields).expect("ok");
    assert!(matches!(
        encoder.encode(&[], 1),
        Err(ExecError::Internal(_))
    ));
    let strings: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["x"]));
    assert!(matches!(
        encoder.encode(&[Arc::clone(&strings)], 2),
        Err(ExecError::Internal(_))
    ));
}

/// Decode and encode throughput of small JSON records; run with
/// `cargo test -p executor --release format::tests::json_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn json_throughput() {
    const RECORDS: usize = 1_000_000;
    const BATCH: usize = 4096;
    let fields = Fields::from(vec![
        Field::new("USERID", DataType::Utf8, true),
        Field::new("VIEWTIME", DataType::Int64, true),
        Field::new("PAGEID", DataType::Utf8, true),
    ]);
    let payloads: Vec<Vec<u8>> = (0..RECORDS)
        .map(|index| {
            format!(
                "{{\"USERID\":\"u{}\",\"VIEWTIME\":{},\"PAGEID\":\"home\"}}",
                index % 1000,
                1000 + index
            )
            .into_bytes()
        })
        .collect();
    let options = FormatOptions::default();
    let decoder = Decoder::new(FormatKind::Json, &options, fields.clone()).expect("ok");
    let encoder = Encoder::new(FormatKind::Json, &options, fields).expect("ok");
    let batches: Vec<Vec<Option<&[u8]>>> = payloads
        .chunks(BATCH)
        .map(|chunk| {
            chunk
                .iter()
                .map(|payload| Some(payload.as_slice()))
                .collect()
        })
        .collect();

    let started = Instant::now();
    let mut decoded_batches = Vec::with_capacity(batches.len());
    for batch in &batches {
        let decoded = decoder.decode(batch);
        assert!(decoded.errors.is_empty());
        decoded_batches.push(decoded);
    }
    let decode_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut bytes = 0;
    for decoded in &decoded_batches {
        let encoded = encoder
            .encode(&decoded.columns, decoded.kept.len())
            .expect("encodes");
        bytes += encoded.iter().flatten().map(Vec::len).sum::<usize>();
    }
    let encode_seconds = started.elapsed().as_secs_f64();
    assert_eq!(bytes, payloads.iter().map(Vec::len).sum::<usize>());
    println!(
        "JSON decode: {:.2} M records/s, encode: {:.2} M records/s",
        RECORDS as f64 / decode_seconds / 1e6,
        RECORDS as f64 / encode_seconds / 1e6
    );
}
