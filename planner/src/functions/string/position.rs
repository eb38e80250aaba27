//! SUBSTRING and INSTR: 1-based character positions, negative ones counting from the end.
//!
//! Positions count characters (code points); the clamping rules are ksqlDB's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder, Int32Array, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::cast::{as_binary_array, as_string_array};

use super::{int_at, string_at};
use crate::functions::udf::EvalArgs;

/// ksqlDB's substring window: `pos` is 1-based, negative counts from the end, and the
/// result is clamped to the value.
fn substring_range(length: usize, pos: i32, count: Option<i32>) -> (usize, usize) {
    let length = length as i64;
    let pos = i64::from(pos);
    let start = if pos < 0 {
        (length + pos).max(0)
    } else {
        (pos - 1).min(length).max(0)
    };
    let end = match count {
        Some(count) => (start + i64::from(count)).min(length).max(start),
        None => length,
    };
    (start as usize, end as usize)
}

pub(super) fn eval_substring(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let positions = &args.args[1];
    let lengths = args.args.get(2);
    let window = |row: usize, length: usize| -> Result<Option<(usize, usize)>> {
        let Some(pos) = int_at(positions, row)? else {
            return Ok(None);
        };
        let count = match lengths {
            Some(lengths) => match int_at(lengths, row)? {
                Some(count) => Some(count),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(substring_range(length, pos, count)))
    };
    if args.return_type == &DataType::Binary {
        let values = as_binary_array(&args.args[0])?;
        let mut builder = BinaryBuilder::with_capacity(args.rows, 0);
        for row in 0..args.rows {
            if values.is_null(row) {
                builder.append_null();
                continue;
            }
            let value = values.value(row);
            match window(row, value.len())? {
                Some((start, end)) => builder.append_value(&value[start..end]),
                None => builder.append_null(),
            }
        }
        return Ok(Arc::new(builder.finish()));
    }
    let values = as_string_array(&args.args[0])?;
    let mut builder = StringBuilder::with_capacity(args.rows, 0);
    for row in 0..args.rows {
        if values.is_null(row) {
            builder.append_null();
            continue;
        }
        let value = values.value(row);
        let chars = value.chars().count();
        match window(row, chars)? {
            Some((start, end)) => {
                let text: String = value.chars().skip(start).take(end - start).collect();
                builder.append_value(text);
            }
            None => builder.append_null(),
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// Commons-lang `ordinalIndexOf`: the char index of the `occurrence`-th (possibly
/// overlapping) match of `needle` in `haystack`.
fn ordinal_index_of(haystack: &[char], needle: &[char], occurrence: i32) -> Option<usize> {
    if occurrence <= 0 {
        return None;
    }
    if needle.is_empty() {
        return Some(0);
    }
    let mut found = 0;
    let mut from = 0;
    loop {
        let index = (from..=haystack.len().checked_sub(needle.len())?)
            .find(|&start| haystack[start..start + needle.len()] == *needle)?;
        found += 1;
        if found == occurrence {
            return Some(index);
        }
        from = index + 1;
    }
}

/// ksqlDB's INSTR: 1-based position of the `occurrence`-th match at or after `position`;
/// a negative position searches backwards from that many characters before the end.
fn instr(value: &str, substring: &str, position: i32, occurrence: i32) -> i32 {
    let chars: Vec<char> = value.chars().collect();
    let needle: Vec<char> = substring.chars().collect();
    let length = chars.len() as i64;
    if i64::from(position).abs() > length {
        return 0;
    }
    let (haystack, needle, position, reversed) = if position < 0 {
        let mut haystack = chars;
        haystack.reverse();
        let mut needle = needle;
        needle.reverse();
        (haystack, needle, -i64::from(position), true)
    } else {
        (chars, needle, i64::from(position), false)
    };
    // Commons-lang `substring(str, position - 1)`: a negative start counts from the end.
    let start = position - 1;
    let start = if start < 0 {
        (length + start).max(0)
    } else {
        start.min(length)
    } as usize;
    let Some(index) = ordinal_index_of(&haystack[start..], &needle, occurrence) else {
        return 0;
    };
    let index = index as i64;
    let result = if reversed {
        length - position - index - needle.len() as i64 + 2
    } else {
        index + position
    };
    result as i32
}

pub(super) fn eval_instr(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let position = match args.args.get(2) {
            Some(array) => int_at(array, row)?,
            None => Some(1),
        };
        let occurrence = match args.args.get(3) {
            Some(array) => int_at(array, row)?,
            None => Some(1),
        };
        let (Some(position), Some(occurrence)) = (position, occurrence) else {
            out.push(None);
            continue;
        };
        out.push(Some(
            match (
                string_at(&args.args[0], row)?,
                string_at(&args.args[1], row)?,
            ) {
                (Some(value), Some(substring)) => instr(value, substring, position, occurrence),
                _ => 0,
            },
        ));
    }
    Ok(Arc::new(out.into_iter().collect::<Int32Array>()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{BinaryArray, Int32Array, StringArray};

    use super::*;
    use crate::functions::testing::{call, rows};

    /// (value, position, length, expected).
    type SubstringCase = (Option<&'static str>, Option<i32>, Option<i32>, &'static str);

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
    fn substring_is_one_based_and_clamped() {
        let cases: [SubstringCase; 9] = [
            (Some("some_string"), Some(6), None, "string"),
            (Some("short"), Some(6), None, ""),
            (Some("some_string"), Some(6), Some(3), "str"),
            (Some("another"), Some(6), Some(3), "er"),
            (Some("some string"), Some(0), Some(2), "so"),
            (Some("some_string"), Some(-6), Some(3), "str"),
            (Some("abc"), Some(-10), Some(2), "ab"),
            (None, Some(1), Some(1), "NULL"),
            (Some("abc"), None, Some(1), "NULL"),
        ];
        for (value, pos, length, expected) in cases {
            let args = match length {
                Some(length) => vec![strings(&[value]), ints(&[pos]), ints(&[Some(length)])],
                None => vec![strings(&[value]), ints(&[pos])],
            };
            let result = call("SUBSTRING", args).expect("substring");
            assert_eq!(
                rows(&result),
                vec![expected],
                "{value:?} {pos:?} {length:?}"
            );
        }
        let result = call(
            "SUBSTRING",
            vec![
                bytes(&[Some(b"some_string")]),
                ints(&[Some(6)]),
                ints(&[Some(3)]),
            ],
        )
        .expect("substring bytes");
        assert_eq!(rows(&result), vec!["737472"]);
        let result = call(
            "SUBSTRING",
            vec![strings(&[Some("abc")]), ints(&[Some(2)]), ints(&[None])],
        )
        .expect("null length");
        assert_eq!(rows(&result), vec!["NULL"]);
    }

    #[test]
    fn substring_rejects_wrong_types() {
        let error = call(
            "SUBSTRING",
            vec![strings(&[Some("a")]), strings(&[Some("b")])],
        )
        .expect_err("string position is not allowed");
        assert!(
            error
                .to_string()
                .contains("does not accept parameters (STRING, STRING)")
        );
    }

    #[test]
    fn instr_matches_ksqldb() {
        let cases = [
            ("corporate floor", "or", 1, 1, 2),
            ("should I stay or should I go", "or", 1, 1, 15),
            ("no substring", "or", 1, 1, 0),
            ("corporate floor", "or", 4, 1, 5),
            ("short", "or", 4, 1, 0),
            ("corporate floor", "or", 4, 2, 14),
            ("corporate floor", "or", -4, 1, 5),
            ("short", "or", -4, 1, 0),
            ("corporate floor", "or", -1, 1, 14),
            ("corporate floor", "or", 100, 1, 0),
        ];
        for (value, substring, position, occurrence, expected) in cases {
            assert_eq!(
                instr(value, substring, position, occurrence),
                expected,
                "{value} {substring} {position} {occurrence}"
            );
        }
        let result = call(
            "INSTR",
            vec![strings(&[None, Some("abc")]), strings(&[Some("a"), None])],
        )
        .expect("instr nulls");
        assert_eq!(rows(&result), vec!["0", "0"]);
    }
}
