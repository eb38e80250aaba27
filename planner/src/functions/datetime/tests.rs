//! Tests of the date and time functions, against the results of ksqlDB.

use datafusion::arrow::array::StringArray;

use super::*;
use crate::functions::testing::{call, call_rows, return_type, rows};

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(values.iter().copied().collect::<StringArray>())
}

fn repeat(value: &str, count: usize) -> ArrayRef {
    strings(&vec![Some(value); count])
}

fn timestamps(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(values.to_vec()))
}

#[test]
fn format_timestamps_in_zones() {
    let instants = timestamps(&[Some(1_526_075_913_000), None]);
    let result = call(
        "FORMAT_TIMESTAMP",
        vec![
            Arc::clone(&instants),
            repeat("yyyy-MM-dd HH:mm:ss zzz", 2),
            repeat("America/Los_Angeles", 2),
        ],
    )
    .expect("format_timestamp");
    assert_eq!(rows(&result), vec!["2018-05-11 14:58:33 PDT", "NULL"]);
    let result = call(
        "FORMAT_TIMESTAMP",
        vec![instants, repeat("yyyy-MM-dd HH:mm:ss", 2)],
    )
    .expect("utc");
    assert_eq!(rows(&result), vec!["2018-05-11 21:58:33", "NULL"]);
    let millis: ArrayRef = Arc::new(Int64Array::from(vec![Some(1_526_075_913_000); 3]));
    let result = call(
        "TIMESTAMPTOSTRING",
        vec![
            millis,
            strings(&[Some("yyyy-MM-dd HH:mm:ss zzz"), Some("bad'"), Some("yyyy")]),
            strings(&[Some("Europe/London"), Some("UTC"), Some("Not/AZone")]),
        ],
    )
    .expect("timestamptostring");
    assert_eq!(
        rows(&result),
        vec!["2018-05-11 22:58:33 BST", "NULL", "NULL"]
    );
}

#[test]
fn parse_timestamps() {
    let result = call(
        "PARSE_TIMESTAMP",
        vec![
            strings(&[
                Some("2018-05-11T21:58:33"),
                Some("2018-05-11T21:58:33 PST"),
                Some("garbage"),
                None,
            ]),
            strings(&[
                Some("yyyy-MM-dd'T'HH:mm:ss"),
                Some("yyyy-MM-dd'T'HH:mm:ss zzz"),
                Some("yyyy"),
                Some("yyyy"),
            ]),
        ],
    )
    .expect("parse_timestamp");
    assert_eq!(result.data_type(), &timestamp_type());
    let values = result
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .expect("timestamps");
    assert_eq!(
        values.iter().collect::<Vec<_>>(),
        vec![Some(1_526_075_913_000), Some(1_526_101_113_000), None, None]
    );
    let result = call(
        "STRINGTOTIMESTAMP",
        vec![
            repeat("2018-05-11 14:58:33", 1),
            repeat("yyyy-MM-dd HH:mm:ss", 1),
            repeat("America/Los_Angeles", 1),
        ],
    )
    .expect("stringtotimestamp");
    assert_eq!(rows(&result), vec!["1526075913000"]);
}

#[test]
fn dates_and_times() {
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(17662),
        Some(18993),
        Some(-1),
        None,
    ]));
    let result = call(
        "FORMAT_DATE",
        vec![
            dates,
            strings(&[
                Some("yyyy-MM-dd"),
                Some("dd-MMM-yyyy"),
                Some("dd-MM-yyyy'Sophia'"),
                Some("yyyy"),
            ]),
        ],
    )
    .expect("format_date");
    assert_eq!(
        rows(&result),
        vec!["2018-05-11", "01-Jan-2022", "31-12-1969Sophia", "NULL"]
    );
    let result = call(
        "PARSE_DATE",
        vec![
            strings(&[Some("2018-05-11Lit"), Some("JAN-2022"), Some("x")]),
            strings(&[Some("yyyy-MM-dd'Lit'"), Some("MMM-yyyy"), Some("yyyy")]),
        ],
    )
    .expect("parse_date");
    assert_eq!(rows(&result), vec!["2018-05-11", "2022-01-01", "NULL"]);
    let times: ArrayRef = Arc::new(Time32MillisecondArray::from(vec![
        Some(65000),
        Some(1_234_567),
        None,
    ]));
    let result = call(
        "FORMAT_TIME",
        vec![
            times,
            strings(&[Some("HH_mm_ss_SSS"), Some("HHmmss'AAAAA'"), Some("HH")]),
        ],
    )
    .expect("format_time");
    assert_eq!(rows(&result), vec!["00_01_05_000", "002034AAAAA", "NULL"]);
    let result = call(
        "PARSE_TIME",
        vec![repeat("01:00:00 PM", 1), repeat("hh:mm:ss a", 1)],
    )
    .expect("parse_time");
    assert_eq!(rows(&result), vec!["46800000"]);
    let result = call(
        "FORMAT_DATE",
        vec![Arc::new(Date32Array::from(vec![0])), repeat("HH", 1)],
    )
    .expect("time field of a date");
    assert_eq!(rows(&result), vec!["NULL"]);
}

#[test]
fn epoch_conversions_and_zones() {
    let millis: ArrayRef = Arc::new(Int64Array::from(vec![Some(100), None]));
    let result = call("FROM_UNIXTIME", vec![millis]).expect("from_unixtime");
    assert_eq!(result.data_type(), &timestamp_type());
    let result = call("UNIX_TIMESTAMP", vec![result]).expect("unix_timestamp");
    assert_eq!(rows(&result), vec!["100", "NULL"]);
    let days: ArrayRef = Arc::new(Int32Array::from(vec![Some(-10), None]));
    let result = call("FROM_DAYS", vec![days]).expect("from_days");
    let result = call("UNIX_DATE", vec![result]).expect("unix_date");
    assert_eq!(rows(&result), vec!["-10", "NULL"]);
    let now = call_rows("UNIX_TIMESTAMP", vec![], 1).expect("now");
    assert_eq!(now.len(), 1);
    let cases = [
        ("+0200", "+0500"),
        ("America/Los_Angeles", "America/New_York"),
    ];
    for (from, to) in cases {
        let result = call(
            "CONVERT_TZ",
            vec![
                timestamps(&[Some(100), Some(1_589_234_313_000)]),
                repeat(from, 2),
                repeat(to, 2),
            ],
        )
        .expect("convert_tz");
        assert_eq!(
            result
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .expect("timestamps")
                .values()
                .to_vec(),
            vec![10_800_100, 1_589_245_113_000],
            "{from} {to}"
        );
    }
}

#[test]
fn unit_arithmetic() {
    let amounts: ArrayRef = Arc::new(Int32Array::from(vec![Some(-5), Some(10), None]));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(2), Some(10), Some(1)]));
    let result = call(
        "DATEADD",
        vec![repeat("DAYS", 3), Arc::clone(&amounts), dates],
    )
    .expect("dateadd");
    assert_eq!(
        result
            .as_any()
            .downcast_ref::<Date32Array>()
            .expect("dates")
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(-3), Some(20), None]
    );
    let times: ArrayRef = Arc::new(Time32MillisecondArray::from(vec![2, 10, 1]));
    let result = call(
        "TIMEADD",
        vec![repeat("MILLISECONDS", 3), Arc::clone(&amounts), times],
    )
    .expect("timeadd");
    assert_eq!(
        result
            .as_any()
            .downcast_ref::<Time32MillisecondArray>()
            .expect("times")
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(86_399_997), Some(20), None]
    );
    let result = call(
        "TIMESTAMPSUB",
        vec![
            repeat("seconds", 3),
            amounts,
            timestamps(&[Some(0), Some(0), Some(0)]),
        ],
    )
    .expect("timestampsub");
    assert_eq!(rows(&result)[0], "5000");
    assert!(
        return_type(
            "DATEADD",
            &[DataType::Date32, DataType::Int32, DataType::Date32]
        )
        .is_err()
    );
    assert_eq!(TimeUnit::parse("hour"), Some(TimeUnit::Hours));
    assert_eq!(TimeUnit::parse("WEEKS"), None);
}

#[test]
fn timestamp_formats_read_text_in_utc_unless_it_names_a_zone() {
    // 2018-05-11T21:58:33Z is 1,526,075,913,000 ms (the value ksqlDB's own tests use).
    let cases = [
        (
            "yyyy-MM-dd''T''HH:mm:ssX",
            "2018-05-11T21:58:33Z",
            Some(1_526_075_913_000),
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ssX",
            "2018-05-11T23:58:33+02",
            Some(1_526_075_913_000),
        ),
        (
            "yyyy-MM-dd HH:mm:ss",
            "2018-05-11 21:58:33",
            Some(1_526_075_913_000),
        ),
        (
            "yyyy-MM-dd HH:mm:ss.SSS",
            "2018-05-11 21:58:33.250",
            Some(1_526_075_913_250),
        ),
        (
            "yyyy-MM-dd HH:mm:ss VV",
            "2018-05-11 14:58:33 America/Los_Angeles",
            Some(1_526_075_913_000),
        ),
        ("yyyy-MM-dd HH:mm:ss", "11/05/2018 21:58", None),
    ];
    for (pattern, text, expected) in cases {
        // The SQL form doubles quotes; the WITH property arrives with them undone.
        let pattern = pattern.replace("''", "'");
        let format = TimestampFormat::compile(&pattern).expect("a valid pattern");
        assert_eq!(format.parse(text), expected, "{text} as {pattern}");
    }
    assert!(TimestampFormat::compile("yyyy-MM-dd'T").is_none());
}
