//! Tests of the mathematical functions, against the results of ksqlDB.

use datafusion::arrow::array::StringArray;

use super::*;
use crate::functions::testing::{call, call_rows, return_type, rows};

fn doubles(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

fn ints(values: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(values.to_vec()))
}

fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .expect("valid decimal type"),
    )
}

#[test]
fn return_types_follow_ksqldb() {
    let cases = [
        ("ABS", vec![DataType::Int32], DataType::Int32),
        (
            "ABS",
            vec![DataType::Decimal128(2, 1)],
            DataType::Decimal128(2, 1),
        ),
        ("ROUND", vec![DataType::Float64], DataType::Int64),
        ("ROUND", vec![DataType::Int32], DataType::Int64),
        (
            "ROUND",
            vec![DataType::Float64, DataType::Int32],
            DataType::Float64,
        ),
        (
            "ROUND",
            vec![DataType::Decimal128(33, 16)],
            DataType::Decimal128(17, 0),
        ),
        (
            "ROUND",
            vec![DataType::Decimal128(33, 16), DataType::Int32],
            DataType::Decimal128(33, 16),
        ),
        (
            "FLOOR",
            vec![DataType::Decimal128(2, 1)],
            DataType::Decimal128(2, 1),
        ),
        ("SQRT", vec![DataType::Int32], DataType::Float64),
        ("SQRT", vec![DataType::Decimal128(4, 2)], DataType::Float64),
        ("SIGN", vec![DataType::Float64], DataType::Int32),
        (
            "GREATEST",
            vec![DataType::Int32, DataType::Float64],
            DataType::Float64,
        ),
        (
            "GREATEST",
            vec![DataType::Decimal128(4, 2), DataType::Decimal128(5, 1)],
            DataType::Decimal128(6, 2),
        ),
    ];
    for (name, args, expected) in cases {
        assert_eq!(
            return_type(name, &args).expect(name),
            expected,
            "{name} {args:?}"
        );
    }
    assert!(return_type("ABS", &[DataType::Utf8]).is_err());
    assert!(return_type("GREATEST", &[DataType::Boolean, DataType::Boolean]).is_err());
}

#[test]
fn round_doubles_like_java() {
    let values = doubles(&[
        Some(1.2),
        Some(1.5),
        Some(-1.5),
        Some(-1.7),
        Some(12345.678),
        Some(-12345.678),
        Some(111.0),
        None,
    ]);
    let result = call("ROUND", vec![Arc::clone(&values)]).expect("round");
    assert_eq!(
        rows(&result),
        vec!["1", "2", "-1", "-2", "12346", "-12346", "111", "NULL"]
    );
    let cases = [
        (
            2,
            vec![
                "1.2",
                "1.5",
                "-1.5",
                "-1.7",
                "12345.68",
                "-12345.68",
                "111",
                "NULL",
            ],
        ),
        (
            -1,
            vec!["0", "0", "0", "0", "12350", "-12350", "110", "NULL"],
        ),
        (
            -2,
            vec!["0", "0", "0", "0", "12300", "-12300", "100", "NULL"],
        ),
    ];
    for (places, expected) in cases {
        let result = call("ROUND", vec![Arc::clone(&values), ints(&[Some(places); 8])])
            .expect("round places");
        assert_eq!(rows(&result), expected, "{places}");
    }
}

#[test]
fn round_and_trunc_decimals() {
    let value = decimals(&[Some(123_456_789_876_543_212_345_678_987_654_321)], 33, 16);
    let result = call("ROUND", vec![Arc::clone(&value)]).expect("round decimal");
    assert_eq!(rows(&result), vec!["12345678987654321"]);
    let cases = [
        (1, "12345678987654321.2000000000000000"),
        (10, "12345678987654321.2345678988000000"),
        (-1, "12345678987654320.0000000000000000"),
    ];
    for (places, expected) in cases {
        let result = call("ROUND", vec![Arc::clone(&value), ints(&[Some(places)])]).expect("round");
        assert_eq!(rows(&result), vec![expected], "{places}");
    }
    let value = decimals(
        &[Some(-123_456_780), Some(15_000_000), Some(-15_000_000)],
        12,
        7,
    );
    let result = call("TRUNC", vec![Arc::clone(&value), ints(&[Some(2); 3])]).expect("trunc");
    assert_eq!(
        rows(&result),
        vec!["-12.3400000", "1.5000000", "-1.5000000"]
    );
    let result = call("TRUNC", vec![value]).expect("trunc");
    assert_eq!(rows(&result), vec!["-12", "1", "-1"]);
    let result = call("ROUND", vec![decimals(&[Some(-15), Some(15)], 2, 1)]).expect("round");
    assert_eq!(rows(&result), vec!["-1", "2"]);
}

#[test]
fn floor_ceil_abs_keep_types() {
    let value = decimals(&[Some(-11), Some(17), None], 2, 1);
    let result = call("FLOOR", vec![Arc::clone(&value)]).expect("floor");
    assert_eq!(rows(&result), vec!["-2.0", "1.0", "NULL"]);
    let result = call("CEIL", vec![Arc::clone(&value)]).expect("ceil");
    assert_eq!(rows(&result), vec!["-1.0", "2.0", "NULL"]);
    let result = call("ABS", vec![value]).expect("abs");
    assert_eq!(rows(&result), vec!["1.1", "1.7", "NULL"]);
    let result = call("FLOOR", vec![doubles(&[Some(-1.1), Some(1.7)])]).expect("floor");
    assert_eq!(rows(&result), vec!["-2", "1"]);
    let result = call("ABS", vec![ints(&[Some(-1), Some(i32::MIN)])]).expect("abs");
    assert_eq!(rows(&result), vec!["1", "-2147483648"]);
}

#[test]
fn double_functions_give_nan_not_errors() {
    let cases: [(&str, f64, f64); 8] = [
        ("SQRT", -1.0, f64::NAN),
        ("SQRT", 2.0, std::f64::consts::SQRT_2),
        ("EXP", 1.0, std::f64::consts::E),
        ("LN", 0.0, f64::NEG_INFINITY),
        ("CBRT", -8.0, -2.0),
        ("ACOS", 2.0, f64::NAN),
        ("COT", 0.0, f64::INFINITY),
        ("DEGREES", std::f64::consts::PI, 180.0),
    ];
    for (name, input, expected) in cases {
        let result = call(name, vec![doubles(&[Some(input), None])]).expect(name);
        let values = result
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("doubles");
        let actual = values.value(0);
        assert!(
            actual == expected || (actual.is_nan() && expected.is_nan()),
            "{name}({input}) = {actual}"
        );
        assert!(values.is_null(1), "{name}(NULL)");
    }
}

#[test]
fn log_with_base() {
    let bases = doubles(&[
        Some(15.0),
        Some(15.0),
        Some(15.0),
        Some(-15.0),
        Some(0.0),
        Some(1.0),
        None,
    ]);
    let values = doubles(&[
        Some(1.0),
        Some(0.0),
        Some(-13.0),
        Some(13.0),
        Some(13.0),
        Some(13.0),
        Some(13.0),
    ]);
    let result = call("LOG", vec![bases, values]).expect("log");
    assert_eq!(
        rows(&result),
        vec!["0", "-inf", "NaN", "NaN", "NaN", "NaN", "NULL"]
    );
}

#[test]
fn greatest_and_least_skip_nulls() {
    let result = call(
        "GREATEST",
        vec![
            ints(&[Some(1), None, None]),
            doubles(&[Some(2.5), Some(1.0), None]),
        ],
    )
    .expect("greatest");
    assert_eq!(rows(&result), vec!["2.5", "1", "NULL"]);
    let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None]));
    let other: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some("c")]));
    let result = call("LEAST", vec![strings, other]).expect("least");
    assert_eq!(rows(&result), vec!["a", "c"]);
}

#[test]
fn sign_pi_random_and_geo_distance() {
    let result = call(
        "SIGN",
        vec![doubles(&[Some(-2.5), Some(0.0), Some(3.0), None])],
    )
    .expect("sign");
    assert_eq!(rows(&result), vec!["-1", "0", "1", "NULL"]);
    let result = call_rows("PI", vec![], 2).expect("pi");
    assert_eq!(rows(&result), vec!["3.141592653589793"; 2]);
    let result = call_rows("RANDOM", vec![], 100).expect("random");
    let values = result
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("doubles");
    assert!(
        values
            .values()
            .iter()
            .all(|value| (0.0..1.0).contains(value))
    );
    let distance =
        geo_distance(37.4439, -122.1663, 51.5257, -0.1122, EARTH_RADIUS_KM).expect("in range");
    assert!((distance - 8634.6528).abs() < 0.01, "{distance}");
    assert_eq!(geo_distance(91.0, 0.0, 0.0, 0.0, EARTH_RADIUS_KM), None);
    assert_eq!(earth_radius(Some(" MILES ")), Some(EARTH_RADIUS_MILES));
    assert_eq!(earth_radius(Some("parsecs")), None);
}
