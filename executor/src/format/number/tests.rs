//! Tests of JVM number text: `Double.toString`, parsing and `BigDecimal` rendering.

use super::*;

fn java_double(value: f64) -> String {
    let mut out = Vec::new();
    write_java_double(&mut out, value);
    String::from_utf8(out).expect("ascii")
}

#[test]
fn doubles_are_written_like_java() {
    let cases = [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.0, "1234567.0"),
        (1.0e7, "1.0E7"),
        (1.0e10, "1.0E10"),
        (1.234e-5, "1.234E-5"),
        (12345678.9, "1.23456789E7"),
        (0.1, "0.1"),
        (9876.54321, "9876.54321"),
        (f64::MAX, "1.7976931348623157E308"),
        (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
        (5e-324, "4.9E-324"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    for (value, expected) in cases {
        assert_eq!(java_double(value), expected, "{value:e}");
    }
}

#[test]
fn doubles_are_parsed_like_java() {
    let cases: [(&str, Option<f64>); 14] = [
        ("1.5", Some(1.5)),
        (" 42 ", Some(42.0)),
        ("+1e3", Some(1000.0)),
        (".5", Some(0.5)),
        ("5.", Some(5.0)),
        ("1.5f", Some(1.5)),
        ("2d", Some(2.0)),
        ("-Infinity", Some(f64::NEG_INFINITY)),
        ("inf", None),
        ("nan", None),
        ("", None),
        ("abc", None),
        ("1e", None),
        ("0x10", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_java_double(text), expected, "{text:?}");
    }
    assert!(parse_java_double("NaN").is_some_and(f64::is_nan));
}

#[test]
fn decimal_text_is_written_like_big_decimal() {
    let cases = [
        ("1", "1"),
        ("-0", "0"),
        ("1.50", "1.50"),
        ("1e5", "1E+5"),
        ("1E+1", "1E+1"),
        ("1.5e-10", "1.5E-10"),
        ("0.0000001", "1E-7"),
        ("0.000001", "0.000001"),
        ("0.00000000", "0E-8"),
        ("-12.345e2", "-1234.5"),
        ("00012.5", "12.5"),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
    ];
    for (text, expected) in cases {
        let mut out = Vec::new();
        DecimalText::parse(text)
            .expect(text)
            .write_java_string(&mut out);
        assert_eq!(String::from_utf8(out).expect("ascii"), expected, "{text}");
    }
}

#[test]
fn big_decimal_grammar_is_enforced() {
    for text in [
        "",
        "-",
        ".",
        "1.2.3",
        "1e",
        "e5",
        "1e+",
        "1 ",
        " 1",
        "abc",
        "1e99999999999",
    ] {
        assert!(DecimalText::parse(text).is_none(), "{text:?}");
    }
    for text in ["+1", ".5", "5.", "-0.0", "1E-3", "12e+2"] {
        assert!(DecimalText::parse(text).is_some(), "{text:?}");
    }
}

#[test]
fn decimals_fit_like_ksqldb_ensure_fit() {
    let cases: [(&str, u8, i8, Result<i128, &str>); 12] = [
        ("1.1", 4, 3, Ok(1100)),
        ("10.0", 3, 1, Ok(100)),
        ("1E+1", 3, 1, Ok(100)),
        ("-12345.12", 33, 16, Ok(-123451200000000000000)),
        ("1.10", 4, 1, Ok(11)),
        ("0", 2, 2, Ok(0)),
        ("0.000", 1, 0, Ok(0)),
        ("99.99", 4, 2, Ok(9999)),
        (
            "1.12",
            4,
            1,
            Err("Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding. (Requires 3,2)"),
        ),
        (
            "100",
            4,
            2,
            Err(
                "Numeric field overflow: A field with precision 4 and scale 2 must round to \
                     an absolute value less than 10^2. Got 100",
            ),
        ),
        (
            "99.999",
            4,
            2,
            Err("Cannot fit decimal '99.999' into DECIMAL(4, 2) without rounding. (Requires 5,3)"),
        ),
        (
            "12345678987654321.2345678987654321",
            33,
            16,
            Ok(123456789876543212345678987654321),
        ),
    ];
    for (text, precision, scale, expected) in cases {
        let actual = DecimalText::parse(text)
            .expect(text)
            .to_decimal(precision, scale);
        assert_eq!(actual, expected.map_err(str::to_string), "{text}");
    }
}

#[test]
fn numbers_truncate_and_wrap_like_java_long_value() {
    let cases = [
        ("41", 41),
        ("41.456", 41),
        ("-41.9", -41),
        ("1e2", 100),
        ("1.5e1", 15),
        ("1e-5", 0),
        ("9223372036854775808", i64::MIN),
        ("18446744073709551617", 1),
        ("1e400", 0),
    ];
    for (text, expected) in cases {
        assert_eq!(
            DecimalText::parse(text).expect(text).wrapping_i64(),
            expected,
            "{text}"
        );
    }
}

#[test]
fn decimals_are_written_like_big_decimal() {
    let cases = [
        (110, 2, "1.10", "1.10"),
        (-5, 1, "-0.5", "-0.5"),
        (0, 7, "0E-7", "0.0000000"),
        (1, 8, "1E-8", "0.00000001"),
        (12, 0, "12", "12"),
        (
            -123451200000000000000,
            16,
            "-12345.1200000000000000",
            "-12345.1200000000000000",
        ),
    ];
    for (unscaled, scale, java, plain) in cases {
        let mut out = Vec::new();
        write_java_decimal(&mut out, unscaled, scale);
        assert_eq!(String::from_utf8(out).expect("ascii"), java);
        let mut out = Vec::new();
        write_plain_decimal(&mut out, unscaled, scale);
        assert_eq!(String::from_utf8(out).expect("ascii"), plain);
    }
}
