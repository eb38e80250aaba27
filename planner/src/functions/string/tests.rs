//! Tests of the string functions, against the results of ksqlDB.

use datafusion::arrow::array::{BinaryArray, StringArray};

use super::*;
use crate::functions::testing::{call, call_rows, return_type, rows};

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(values.iter().copied().collect::<StringArray>())
}

fn ints(values: &[Option<i32>]) -> ArrayRef {
    Arc::new(values.iter().copied().collect::<Int32Array>())
}

fn bytes(values: &[Option<&[u8]>]) -> ArrayRef {
    Arc::new(values.iter().copied().collect::<BinaryArray>())
}

#[test]
fn case_trim_and_len() {
    let input = strings(&[
        Some("MiXeD"),
        Some(" \t with white space \t"),
        None,
        Some("héllo"),
    ]);
    let cases = [
        (
            "UCASE",
            vec!["MIXED", " \t WITH WHITE SPACE \t", "NULL", "HÉLLO"],
        ),
        (
            "LCASE",
            vec!["mixed", " \t with white space \t", "NULL", "héllo"],
        ),
        ("TRIM", vec!["MiXeD", "with white space", "NULL", "héllo"]),
        ("LEN", vec!["5", "21", "NULL", "5"]),
        (
            "INITCAP",
            vec!["Mixed", "With White Space \t", "NULL", "Héllo"],
        ),
    ];
    for (name, expected) in cases {
        let result = call(name, vec![Arc::clone(&input)]).expect(name);
        assert_eq!(rows(&result), expected, "{name}");
    }
    assert_eq!(
        return_type("LEN", &[DataType::Utf8]).expect("len"),
        DataType::Int32
    );
    let result = call("LEN", vec![bytes(&[Some(b"abc"), None])]).expect("len bytes");
    assert_eq!(rows(&result), vec!["3", "NULL"]);
}

#[test]
fn initcap_matches_ksqldb() {
    let cases = [
        ("some_string", "Some_string"),
        ("the   Quick br0wn fOx", "The   Quick Br0wn Fox"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(initcap(input), expected, "{input}");
    }
}

#[test]
fn concat_skips_nulls() {
    let result = call(
        "CONCAT",
        vec![
            strings(&[Some("a"), None, None]),
            strings(&[Some("b"), Some("c"), None]),
        ],
    )
    .expect("concat");
    assert_eq!(rows(&result), vec!["ab", "c", ""]);
    let result = call(
        "CONCAT",
        vec![
            bytes(&[Some(b"ye")]),
            Arc::new(datafusion::arrow::array::NullArray::new(1)),
            bytes(&[Some(b"s")]),
        ],
    )
    .expect("concat bytes");
    assert_eq!(result.data_type(), &DataType::Binary);
    assert_eq!(rows(&result), vec!["796573"]);
}

#[test]
fn concat_ws_skips_nulls_and_needs_a_separator() {
    let result = call(
        "CONCAT_WS",
        vec![
            strings(&[Some("SEP"), Some("SEP"), Some("SEP"), None]),
            strings(&[Some("foo"), Some("foo"), None, Some("foo")]),
            strings(&[Some("bar"), None, None, Some("bar")]),
            strings(&[Some("literal"); 4]),
        ],
    )
    .expect("concat_ws");
    assert_eq!(
        rows(&result),
        vec!["fooSEPbarSEPliteral", "fooSEPliteral", "literal", "NULL"]
    );
}

#[test]
fn replace_is_literal_and_null_safe() {
    let result = call(
        "REPLACE",
        vec![
            strings(&[Some("anaconda"), None, Some("a.c"), Some("x")]),
            strings(&[Some("a"), Some("a"), Some("."), None]),
            strings(&[Some("o"), Some("o"), Some("-"), Some("y")]),
        ],
    )
    .expect("replace");
    assert_eq!(rows(&result), vec!["onocondo", "NULL", "a-c", "NULL"]);
}

#[test]
fn elt_and_field() {
    let result = call(
        "ELT",
        vec![
            ints(&[Some(2), Some(2), Some(3), Some(0)]),
            strings(&[Some("ignored"); 4]),
            strings(&[Some("something"), None, Some("x"), Some("x")]),
        ],
    )
    .expect("elt");
    assert_eq!(rows(&result), vec!["something", "NULL", "NULL", "NULL"]);
    let result = call(
        "FIELD",
        vec![
            strings(&[Some("hello"), Some("hello"), Some("hello"), None]),
            strings(&[Some("hello"), None, Some("world"), None]),
            strings(&[Some("world"), Some("world"), Some("hello"), None]),
        ],
    )
    .expect("field");
    assert_eq!(rows(&result), vec!["1", "0", "2", "0"]);
}

#[test]
fn chr_from_code_points_and_escapes() {
    let result = call(
        "CHR",
        vec![strings(&[
            Some("\\u004b"),
            Some("\\u597d"),
            Some("\\ud820\\udeb8"),
            Some("75"),
            Some("004b"),
            Some("bogus"),
            Some(""),
            None,
        ])],
    )
    .expect("chr string");
    assert_eq!(
        rows(&result),
        vec![
            "K",
            "好",
            "\u{182b8}",
            "NULL",
            "NULL",
            "NULL",
            "NULL",
            "NULL"
        ]
    );
    let result =
        call("CHR", vec![ints(&[Some(75), Some(-1), Some(0xD800), None])]).expect("chr int");
    assert_eq!(rows(&result), vec!["K", "NULL", "NULL", "NULL"]);
}

#[test]
fn uuid_is_random_version_4() {
    let result = call_rows("UUID", vec![], 3).expect("uuid");
    let values = rows(&result);
    assert_eq!(values.len(), 3);
    assert_ne!(values[0], values[1]);
    for value in values {
        assert_eq!(value.len(), 36, "{value}");
        assert_eq!(&value[14..15], "4", "{value}");
        assert!(matches!(&value[19..20], "8" | "9" | "a" | "b"), "{value}");
    }
}

#[test]
fn md5_is_hex() {
    let result = call("MD5", vec![strings(&[Some("r1"), Some(""), None])]).expect("md5");
    assert_eq!(
        rows(&result),
        vec![
            "7c92cf1eee8d99cc85f8355a3d6e4b86",
            "d41d8cd98f00b204e9800998ecf8427e",
            "NULL"
        ]
    );
}
