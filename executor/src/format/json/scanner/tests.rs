//! Tests of the JSON scanner: what it accepts, rejects and hands out as spans.

use super::*;

fn root(text: &str) -> Result<(Kind, &str), String> {
    Scanner::new(text)
        .root_value()
        .map(|value| (value.kind, value.text))
        .map_err(|error| error.message)
}

#[test]
fn valid_values_are_spanned() {
    let cases = [
        ("null", Kind::Null, "null"),
        (" true ", Kind::Bool(true), "true"),
        ("-12", Kind::Number { integer: true }, "-12"),
        ("0.5e-3", Kind::Number { integer: false }, "0.5e-3"),
        ("\"a\\\"b\"", Kind::String { escaped: true }, "\"a\\\"b\""),
        ("{}", Kind::Object, "{}"),
        (
            "[1, [2, {\"a\": []}], \"x\"] tail",
            Kind::Array,
            "[1, [2, {\"a\": []}], \"x\"]",
        ),
        (
            "{\"a\": {\"b\": [true, null]}, \"c\": 1.5}",
            Kind::Object,
            "{\"a\": {\"b\": [true, null]}, \"c\": 1.5}",
        ),
        ("12 34", Kind::Number { integer: true }, "12"),
    ];
    for (text, kind, span) in cases {
        assert_eq!(root(text), Ok((kind, span)), "{text}");
    }
}

#[test]
fn invalid_json_is_refused() {
    let cases = [
        "",
        "   ",
        "{",
        "{\"a\" 1}",
        "{\"a\": 1,}",
        "[1,]",
        "[1 2]",
        "{a: 1}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "nul",
        "truex",
        "12abc",
        "NaN",
        "'a'",
        "\"a",
        "\"a\\x\"",
        "\"a\\u12\"",
        "\"a\u{1}\"",
        "[1}",
        "{\"a\": 1]",
    ];
    for text in cases {
        assert!(root(text).is_err(), "{text:?} should be refused");
    }
}

#[test]
fn nesting_is_limited() {
    let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(root(&deep_ok).is_ok());
    let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(root(&too_deep).is_err());
}

#[test]
fn members_and_elements_are_walked() {
    let mut seen = Vec::new();
    Scanner::new("{\"a\": 1, \"b\\n\": [2], \"c\": {}}")
        .members(|key, value| {
            seen.push((key.unescaped().into_owned(), value.text.to_string()));
            Ok::<_, SyntaxError>(())
        })
        .expect("valid");
    assert_eq!(
        seen,
        [
            ("a".to_string(), "1".to_string()),
            ("b\n".to_string(), "[2]".to_string()),
            ("c".to_string(), "{}".to_string()),
        ]
    );
    let mut elements = Vec::new();
    Scanner::new("[ 1 , \"x\" , null ]")
        .elements(|index, value| {
            elements.push((index, value.text.to_string()));
            Ok::<_, SyntaxError>(())
        })
        .expect("valid");
    assert_eq!(
        elements,
        [
            (0, "1".to_string()),
            (1, "\"x\"".to_string()),
            (2, "null".to_string())
        ]
    );
}

#[test]
fn escapes_are_unescaped() {
    let cases = [
        ("plain", "plain"),
        ("a\\\"b\\\\c\\/d", "a\"b\\c/d"),
        ("\\b\\f\\n\\r\\t", "\u{8}\u{c}\n\r\t"),
        ("\\u00e9\\u20AC", "é€"),
        ("\\ud83d\\ude00", "😀"),
        ("\\ud83dx", "\u{FFFD}x"),
    ];
    for (content, expected) in cases {
        let mut out = Vec::new();
        unescape_into(content, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            expected,
            "{content}"
        );
    }
}

#[test]
fn eight_byte_check_finds_every_byte_that_ends_a_plain_run() {
    for byte in 0..=255u8 {
        let special = byte == b'"' || byte == b'\\' || byte < 0x20;
        for position in 0..8 {
            let mut chunk = *b"abcdefgh";
            chunk[position] = byte;
            assert_eq!(
                needs_attention(u64::from_le_bytes(chunk)),
                special,
                "byte {byte:#04x} at {position}"
            );
        }
    }
    // Non-ASCII text (UTF-8 continuation and lead bytes) is plain.
    assert!(!needs_attention(u64::from_le_bytes(
        *"héllo wö".as_bytes().first_chunk().unwrap()
    )));
}

#[test]
fn long_strings_with_escapes_and_controls_after_plain_runs() {
    let plain = "x".repeat(37);
    let escaped = format!("\"{plain}\\\"{plain}\"");
    let mut scanner = Scanner::new(&escaped);
    let value = scanner.value().expect("a string");
    assert_eq!(value.kind, Kind::String { escaped: true });
    let control = format!("\"{plain}\u{1}{plain}\"");
    assert!(Scanner::new(&control).value().is_err());
}
