//! Row values as ksqlDB's REST API writes them (Jackson with ksqlDB's `ApiJsonMapper`).
//!
//! DECIMAL is a plain number that keeps its scale (`10.0`), DOUBLE reads as Java prints it
//! (`1.0E10`), TIMESTAMP, DATE and TIME are ISO text in UTC (`1999-11-30T11:00:00.000`,
//! `1970-01-11`, `00:00:10`), BYTES is base64, STRUCT an object in field order, MAP an object.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow::util::display::array_value_to_string;
use base64::Engine as _;
use std::io::Write;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Appends the values of `row` as a JSON array: `[1,"a",null]`.
pub(crate) fn write_row(columns: &[ArrayRef], row: usize, out: &mut Vec<u8>) {
    out.push(b'[');
    for (index, column) in columns.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_value(column.as_ref(), row, out);
    }
    out.push(b']');
}

/// Appends the value at `row` of `array` (see the module documentation for the mapping).
pub(crate) fn write_value(array: &dyn Array, row: usize, out: &mut Vec<u8>) {
    if array.is_null(row) {
        out.extend_from_slice(b"null");
        return;
    }
    match array.data_type() {
        DataType::Null => out.extend_from_slice(b"null"),
        DataType::Boolean => out.extend_from_slice(if array.as_boolean().value(row) {
            b"true"
        } else {
            b"false"
        }),
        DataType::Int8 => write_display(out, array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => write_display(out, array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => write_display(out, array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => write_display(out, array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => write_display(out, array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => write_display(out, array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => write_display(out, array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => write_display(out, array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => write_java_double(
            out,
            f64::from(array.as_primitive::<Float32Type>().value(row)),
        ),
        DataType::Float64 => write_java_double(out, array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) => write_plain_decimal(
            out,
            array.as_primitive::<Decimal128Type>().value(row),
            *scale,
        ),
        DataType::Utf8 => write_string(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => write_string(array.as_string::<i64>().value(row), out),
        DataType::Utf8View => write_string(array.as_string_view().value(row), out),
        DataType::Binary => write_base64(array.as_binary::<i32>().value(row), out),
        DataType::LargeBinary => write_base64(array.as_binary::<i64>().value(row), out),
        DataType::BinaryView => write_base64(array.as_binary_view().value(row), out),
        DataType::Date32 => {
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            write_quoted(out, |out| write_date(out, days));
        }
        DataType::Date64 => {
            let millis = array.as_primitive::<Date64Type>().value(row);
            write_quoted(out, |out| {
                write_date(out, millis.div_euclid(MILLIS_PER_DAY))
            });
        }
        DataType::Time32(unit) | DataType::Time64(unit) => {
            let millis = time_millis(array, row, *unit);
            write_quoted(out, |out| write_time_of_day(out, millis, false));
        }
        DataType::Timestamp(unit, _) => {
            let millis = timestamp_millis(array, row, *unit);
            write_quoted(out, |out| write_timestamp(out, millis));
        }
        DataType::List(_) => write_items(out, array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => write_items(out, array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(_, _) => {
            write_items(out, array.as_fixed_size_list().value(row).as_ref())
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            out.push(b'{');
            for entry in 0..entries.len() {
                if entry > 0 {
                    out.push(b',');
                }
                write_key(keys.as_ref(), entry, out);
                out.push(b':');
                write_value(values.as_ref(), entry, out);
            }
            out.push(b'}');
        }
        DataType::Struct(fields) => {
            let structs = array.as_struct();
            out.push(b'{');
            for (index, (field, column)) in fields.iter().zip(structs.columns()).enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(field.name(), out);
                out.push(b':');
                write_value(column.as_ref(), row, out);
            }
            out.push(b'}');
        }
        _ => match array_value_to_string(array, row) {
            Ok(text) => write_string(&text, out),
            Err(_) => out.extend_from_slice(b"null"),
        },
    }
}

/// Appends a JSON string with Jackson's escapes: `\"`, `\\`, `\b \t \n \f \r`, and
/// `\u00XX` for other control characters; everything else as UTF-8.
pub(crate) fn write_string(value: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..index]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(control >> 4)],
                HEX[usize::from(control & 0xF)],
            ]),
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{value}");
}

fn write_quoted(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    body(out);
    out.push(b'"');
}

fn write_items(out: &mut Vec<u8>, items: &dyn Array) {
    out.push(b'[');
    for item in 0..items.len() {
        if item > 0 {
            out.push(b',');
        }
        write_value(items, item, out);
    }
    out.push(b']');
}

/// A map key as a JSON string (ksqlDB keys are STRING; other types are written as text).
fn write_key(keys: &dyn Array, entry: usize, out: &mut Vec<u8>) {
    match keys.data_type() {
        DataType::Utf8 => write_string(keys.as_string::<i32>().value(entry), out),
        _ => {
            let mut text = Vec::new();
            write_value(keys, entry, &mut text);
            let text = String::from_utf8_lossy(&text);
            write_string(text.trim_matches('"'), out);
        }
    }
}

fn write_base64(value: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(value)
            .as_bytes(),
    );
    out.push(b'"');
}

/// Appends `value` as Java's `Double.toString` writes it (`1.0`, `0.001`, `1.0E7`,
/// `1.234E-5`); NaN and the infinities as strings, as Jackson does by default.
fn write_java_double(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
        return;
    }
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // `{:e}` gives the shortest digits that round-trip: "1.2345e-7", "1e10".
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output has an exponent");
    let exponent: i64 = exponent
        .parse()
        .expect("`{:e}` output has a decimal exponent");
    let digits: Vec<u8> = mantissa.bytes().filter(|byte| *byte != b'.').collect();
    if value.is_sign_negative() {
        out.push(b'-');
    }
    if (-3..7).contains(&exponent) {
        if exponent < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exponent - 1) as usize));
            out.extend_from_slice(&digits);
        } else {
            let integer_digits = exponent as usize + 1;
            for position in 0..integer_digits {
                out.push(digits.get(position).copied().unwrap_or(b'0'));
            }
            out.push(b'.');
            if digits.len() > integer_digits {
                out.extend_from_slice(&digits[integer_digits..]);
            } else {
                out.push(b'0');
            }
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        write_display(out, exponent);
    }
}

/// Appends a DECIMAL as `BigDecimal.toPlainString()` writes it: `10.0`, `0.001`, `-1.50`.
fn write_plain_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i8) {
    let digits = unscaled.unsigned_abs().to_string();
    if unscaled < 0 {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if unscaled != 0 {
            out.extend(std::iter::repeat_n(b'0', usize::from(scale.unsigned_abs())));
        }
        return;
    }
    let scale = usize::from(scale.unsigned_abs());
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits.as_bytes()[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits.as_bytes()[point..]);
    }
}

pub(crate) fn time_millis(array: &dyn Array, row: usize, unit: TimeUnit) -> i64 {
    match (array.data_type(), unit) {
        (DataType::Time32(_), TimeUnit::Second) => {
            i64::from(array.as_primitive::<Time32SecondType>().value(row)) * 1000
        }
        (DataType::Time32(_), _) => {
            i64::from(array.as_primitive::<Time32MillisecondType>().value(row))
        }
        (_, TimeUnit::Microsecond) => {
            array.as_primitive::<Time64MicrosecondType>().value(row) / 1000
        }
        _ => array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000,
    }
}

pub(crate) fn timestamp_millis(array: &dyn Array, row: usize, unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .saturating_mul(1000),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .div_euclid(1000),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .value(row)
            .div_euclid(1_000_000),
    }
}

/// `yyyy-MM-ddTHH:mm:ss.SSS` of milliseconds since the epoch, in UTC.
fn write_timestamp(out: &mut Vec<u8>, millis: i64) {
    write_date(out, millis.div_euclid(MILLIS_PER_DAY));
    out.push(b'T');
    write_time_of_day(out, millis.rem_euclid(MILLIS_PER_DAY), true);
}

/// `HH:mm:ss` (and `.SSS` when `with_millis`) of milliseconds since midnight.
fn write_time_of_day(out: &mut Vec<u8>, millis: i64, with_millis: bool) {
    let millis = millis.rem_euclid(MILLIS_PER_DAY);
    let seconds = millis / 1000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if with_millis {
        let _ = write!(out, ".{:03}", millis % 1000);
    }
}

/// `yyyy-MM-dd` of days since the epoch (proleptic Gregorian calendar).
fn write_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
}

/// Howard Hinnant's `civil_from_days`: (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        ListArray, MapBuilder, StringArray, StringBuilder, StructArray, Time32MillisecondArray,
        TimestampMillisecondArray,
    };
    use arrow::datatypes::Field;

    use super::*;

    fn text(array: &dyn Array, row: usize) -> String {
        let mut out = Vec::new();
        write_value(array, row, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn doubles_read_as_java_prints_them() {
        let cases = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.234e-5, "1.234E-5"),
            (1.0e21, "1.0E21"),
            (0.0, "0.0"),
            (123.456, "123.456"),
            (f64::NAN, "\"NaN\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            write_java_double(&mut out, value);
            assert_eq!(String::from_utf8_lossy(&out), expected, "{value}");
        }
    }

    #[test]
    fn decimals_keep_their_scale() {
        let cases = [
            (100, 1, "10.0"),
            (1, 3, "0.001"),
            (-150, 2, "-1.50"),
            (0, 2, "0.00"),
            (12, 0, "12"),
            (1, -1, "10"),
        ];
        for (unscaled, scale, expected) in cases {
            let mut out = Vec::new();
            write_plain_decimal(&mut out, unscaled, scale);
            assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }

    #[test]
    fn values_follow_ksqldb_rest_json() {
        let decimals = Decimal128Array::from(vec![Some(110)])
            .with_precision_and_scale(4, 2)
            .expect("valid decimal");
        let timestamps = TimestampMillisecondArray::from(vec![943_959_600_000, -1]);
        let dates = Date32Array::from(vec![10, -1]);
        let times = Time32MillisecondArray::from(vec![10_000]);
        let bytes = BinaryArray::from(vec![&[123u8][..]]);
        let strings = StringArray::from(vec![Some("a\"b\n"), None]);
        let booleans = BooleanArray::from(vec![true]);
        let doubles = Float64Array::from(vec![10.0]);
        let list =
            ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None])]);
        let structs = StructArray::from(vec![
            (
                Arc::new(Field::new("Z", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("A", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![7])) as ArrayRef,
            ),
        ]);
        let mut maps = MapBuilder::new(None, StringBuilder::new(), Int32Array::builder(2));
        maps.keys().append_value("k");
        maps.values().append_value(1);
        maps.append(true).expect("map entry");
        let maps = maps.finish();
        let cases: [(&dyn Array, usize, &str); 13] = [
            (&decimals, 0, "1.10"),
            (&timestamps, 0, "\"1999-11-30T11:00:00.000\""),
            (&timestamps, 1, "\"1969-12-31T23:59:59.999\""),
            (&dates, 0, "\"1970-01-11\""),
            (&dates, 1, "\"1969-12-31\""),
            (&times, 0, "\"00:00:10\""),
            (&bytes, 0, "\"ew==\""),
            (&strings, 0, "\"a\\\"b\\n\""),
            (&strings, 1, "null"),
            (&booleans, 0, "true"),
            (&doubles, 0, "10.0"),
            (&list, 0, "[1,null]"),
            (&structs, 0, "{\"Z\":\"x\",\"A\":7}"),
        ];
        for (array, row, expected) in cases {
            assert_eq!(text(array, row), expected, "{:?}", array.data_type());
        }
        assert_eq!(text(&maps, 0), "{\"k\":1}");
    }

    #[test]
    fn rows_are_json_arrays() {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["k1"])),
            Arc::new(Int32Array::from(vec![None])),
        ];
        let mut out = Vec::new();
        write_row(&columns, 0, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "[\"k1\",null]");
    }

    #[test]
    fn civil_dates_cover_leap_years_and_negative_days() {
        let cases = [
            (0, (1970, 1, 1)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (-1, (1969, 12, 31)),
            (-719_468, (0, 3, 1)),
        ];
        for (days, expected) in cases {
            assert_eq!(civil_from_days(days), expected, "{days}");
        }
    }
}
