//! LPAD and RPAD for strings (by character) and bytes.
//!
//! A null, empty padding or negative length gives null; longer input is truncated.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;

use super::{build_bytes, build_strings, bytes_at, int_at, string_at};
use crate::functions::udf::EvalArgs;

/// Pads `input` to `target` elements with repetitions of `padding`, or truncates it.
fn pad<T: Clone>(input: &[T], target: usize, padding: &[T], left: bool) -> Vec<T> {
    let fill = target.saturating_sub(input.len());
    let filler = padding.iter().cycle().take(fill).cloned();
    let mut out: Vec<T> = if left {
        filler.chain(input.iter().cloned()).collect()
    } else {
        input.iter().cloned().chain(filler).collect()
    };
    out.truncate(target);
    out
}

fn eval_pad(args: &EvalArgs<'_>, left: bool) -> Result<ArrayRef> {
    let target = |row: usize| -> Result<Option<usize>> {
        Ok(int_at(&args.args[1], row)?.and_then(|target| usize::try_from(target).ok()))
    };
    if args.return_type == &DataType::Binary {
        let mut out = Vec::with_capacity(args.rows);
        for row in 0..args.rows {
            out.push(
                match (
                    bytes_at(&args.args[0], row)?,
                    target(row)?,
                    bytes_at(&args.args[2], row)?,
                ) {
                    (Some(input), Some(target), Some(padding)) if !padding.is_empty() => {
                        Some(pad(input, target, padding, left))
                    }
                    _ => None,
                },
            );
        }
        return Ok(build_bytes(args.rows, |row| out[row].take()));
    }
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(
            match (
                string_at(&args.args[0], row)?,
                target(row)?,
                string_at(&args.args[2], row)?,
            ) {
                (Some(input), Some(target), Some(padding)) if !padding.is_empty() => {
                    let input: Vec<char> = input.chars().collect();
                    let padding: Vec<char> = padding.chars().collect();
                    Some(pad(&input, target, &padding, left).into_iter().collect())
                }
                _ => None,
            },
        );
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

pub(super) fn eval_lpad(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_pad(args, true)
}

pub(super) fn eval_rpad(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_pad(args, false)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{BinaryArray, Int32Array, StringArray};

    use super::*;
    use crate::functions::testing::{call, rows};

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
    fn lpad_and_rpad() {
        let subjects = strings(&[
            Some("foo"),
            Some("foo"),
            Some("foo"),
            Some("foo"),
            Some("foo"),
            Some("foo"),
            None,
            Some("foo"),
            Some(""),
        ]);
        let lengths = ints(&[
            Some(7),
            Some(5),
            Some(2),
            Some(-1),
            Some(5),
            None,
            Some(-5),
            Some(7),
            Some(7),
        ]);
        let paddings = strings(&[
            Some("Bar"),
            Some("Bar"),
            Some("Bar"),
            Some("Bar"),
            None,
            Some("Bar"),
            Some("Bar"),
            Some(""),
            Some("Bar"),
        ]);
        let args = vec![subjects, lengths, paddings];
        let left = call("LPAD", args.clone()).expect("lpad");
        assert_eq!(
            rows(&left),
            vec![
                "BarBfoo", "Bafoo", "fo", "NULL", "NULL", "NULL", "NULL", "NULL", "BarBarB"
            ]
        );
        let right = call("RPAD", args).expect("rpad");
        assert_eq!(
            rows(&right),
            vec![
                "fooBarB", "fooBa", "fo", "NULL", "NULL", "NULL", "NULL", "NULL", "BarBarB"
            ]
        );
        let result = call(
            "LPAD",
            vec![
                bytes(&[Some(b"yes"), Some(b"yes")]),
                ints(&[Some(8), Some(0)]),
                bytes(&[Some(b"no"), Some(b"no")]),
            ],
        )
        .expect("lpad bytes");
        assert_eq!(rows(&result), vec!["6E6F6E6F6E796573", ""]);
    }
}
