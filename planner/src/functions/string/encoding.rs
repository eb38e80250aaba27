//! ksqlDB encoding functions: ENCODE, TO_BYTES, FROM_BYTES and INT/BIGINT/DOUBLE_FROM_BYTES.
//!
//! Encodings are 'hex', 'utf8', 'ascii' and 'base64' (case-insensitive). Undecodable input
//! or an unknown encoding gives null for that row.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;

use super::{build_bytes, build_strings, bytes_at, string_at};
use crate::functions::FunctionCategory;
use crate::functions::signature::{Overload, ParamType, ReturnType};
use crate::functions::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Bytes, String as Str};
    let from_bytes = |name, description, result: DataType, eval| {
        FunctionDefinition::new(
            name,
            FunctionCategory::Conversions,
            description,
            vec![
                Overload::new(vec![Bytes], ReturnType::Fixed(result.clone())),
                Overload::new(vec![Bytes, Str], ReturnType::Fixed(result)),
            ],
            eval,
        )
    };
    vec![
        FunctionDefinition::new(
            "ENCODE",
            FunctionCategory::String,
            "Re-encodes a string from one encoding (hex, utf8, ascii, base64) to another",
            vec![Overload::new(
                vec![Str, Str, Str],
                ReturnType::Fixed(DataType::Utf8),
            )],
            eval_encode,
        ),
        FunctionDefinition::new(
            "TO_BYTES",
            FunctionCategory::String,
            "Converts a string in an encoding (hex, utf8, ascii, base64) to bytes",
            vec![Overload::new(
                vec![Str, Str],
                ReturnType::Fixed(DataType::Binary),
            )],
            eval_to_bytes,
        ),
        FunctionDefinition::new(
            "FROM_BYTES",
            FunctionCategory::String,
            "Converts bytes to a string in an encoding (hex, utf8, ascii, base64)",
            vec![Overload::new(
                vec![Bytes, Str],
                ReturnType::Fixed(DataType::Utf8),
            )],
            eval_from_bytes,
        ),
        from_bytes(
            "INT_FROM_BYTES",
            "Converts 4 bytes to an INT, big-endian unless 'LITTLE_ENDIAN' is given",
            DataType::Int32,
            eval_int_from_bytes,
        ),
        from_bytes(
            "BIGINT_FROM_BYTES",
            "Converts 8 bytes to a BIGINT, big-endian unless 'LITTLE_ENDIAN' is given",
            DataType::Int64,
            eval_bigint_from_bytes,
        ),
        from_bytes(
            "DOUBLE_FROM_BYTES",
            "Converts 8 bytes to a DOUBLE, big-endian unless 'LITTLE_ENDIAN' is given",
            DataType::Float64,
            eval_double_from_bytes,
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Some(Encoding::Hex),
            "utf8" => Some(Encoding::Utf8),
            "ascii" => Some(Encoding::Ascii),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(BASE64_ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_value(byte: u8) -> Option<u32> {
    BASE64_ALPHABET
        .iter()
        .position(|&c| c == byte)
        .map(|index| index as u32)
}

/// Base64 decoding. `strict` rejects anything but the standard alphabet with correct padding
/// (Java's `Base64.getDecoder`); lenient skips foreign characters (commons-codec).
fn base64_decode(text: &str, strict: bool) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if strict {
        let padding = text.len() - body.len();
        if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
            return None;
        }
    }
    let mut values = Vec::with_capacity(body.len());
    for byte in body.bytes() {
        match base64_value(byte) {
            Some(value) => values.push(value),
            None if strict => return None,
            None => {}
        }
    }
    if strict && values.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(values.len() * 3 / 4);
    for chunk in values.chunks(4) {
        let mut n = 0;
        for (index, value) in chunk.iter().enumerate() {
            n |= value << (18 - 6 * index);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        for index in 0..produced {
            out.push((n >> (16 - 8 * index)) as u8);
        }
    }
    Some(out)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}

fn hex_encode(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|byte| {
            if upper {
                format!("{byte:02X}")
            } else {
                format!("{byte:02x}")
            }
        })
        .collect()
}

/// ENCODE's hex input: strips `0x` (padding an odd digit count) or `X'...'`.
fn strip_hex(text: &str) -> String {
    if let Some(digits) = text.strip_prefix("0x") {
        if !text.len().is_multiple_of(2) {
            return format!("0{digits}");
        }
        return digits.to_string();
    }
    if text.len() >= 3 && (text.starts_with("x'") || text.starts_with("X'")) && text.ends_with('\'')
    {
        return text[2..text.len() - 1].to_string();
    }
    text.to_string()
}

/// Java's `String.getBytes(US_ASCII)`: characters outside ASCII become '?'.
fn ascii_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect()
}

/// Java's `new String(bytes, US_ASCII)`: bytes outside ASCII become U+FFFD.
fn ascii_string(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&byte| {
            if byte.is_ascii() {
                char::from(byte)
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
}

fn eval_encode(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(value), Some(input), Some(output)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            string_at(&args.args[2], row)?,
        ) else {
            out.push(None);
            continue;
        };
        let (Some(input), Some(output)) = (Encoding::parse(input), Encoding::parse(output)) else {
            out.push(None);
            continue;
        };
        if input == output {
            out.push(None);
            continue;
        }
        let bytes = match input {
            Encoding::Hex => hex_decode(&strip_hex(value)),
            Encoding::Utf8 => Some(value.as_bytes().to_vec()),
            Encoding::Ascii => Some(ascii_bytes(value)),
            Encoding::Base64 => base64_decode(value, false),
        };
        out.push(bytes.map(|bytes| match output {
            Encoding::Hex => hex_encode(&bytes, false),
            Encoding::Utf8 => String::from_utf8_lossy(&bytes).into_owned(),
            Encoding::Ascii => ascii_string(&bytes),
            Encoding::Base64 => base64_encode(&bytes),
        }));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_to_bytes(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let decoded = match (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?.and_then(Encoding::parse),
        ) {
            (Some(value), Some(encoding)) => match encoding {
                Encoding::Hex => hex_decode(value),
                Encoding::Utf8 => Some(value.as_bytes().to_vec()),
                Encoding::Ascii => Some(ascii_bytes(value)),
                Encoding::Base64 => base64_decode(value, true),
            },
            _ => None,
        };
        out.push(decoded);
    }
    Ok(build_bytes(args.rows, |row| out[row].take()))
}

fn eval_from_bytes(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let encoded = match (
            bytes_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?.and_then(Encoding::parse),
        ) {
            (Some(bytes), Some(encoding)) => Some(match encoding {
                Encoding::Hex => hex_encode(bytes, true),
                Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
                Encoding::Ascii => ascii_string(bytes),
                Encoding::Base64 => base64_encode(bytes),
            }),
            _ => None,
        };
        out.push(encoded);
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

/// The fixed-size byte array of one row, in big-endian order; None when null, of the wrong
/// size, or with an unknown byte order.
fn fixed_bytes<const N: usize>(args: &EvalArgs<'_>, row: usize) -> Result<Option<[u8; N]>> {
    let Some(bytes) = bytes_at(&args.args[0], row)? else {
        return Ok(None);
    };
    let little_endian = match args.args.get(1) {
        Some(order) => match string_at(order, row)? {
            Some(order) if order.eq_ignore_ascii_case("LITTLE_ENDIAN") => true,
            Some(order) if order.eq_ignore_ascii_case("BIG_ENDIAN") => false,
            _ => return Ok(None),
        },
        None => false,
    };
    let Ok(mut array) = <[u8; N]>::try_from(bytes) else {
        return Ok(None);
    };
    if little_endian {
        array.reverse();
    }
    Ok(Some(array))
}

fn eval_int_from_bytes(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(fixed_bytes::<4>(args, row)?.map(i32::from_be_bytes));
    }
    Ok(Arc::new(Int32Array::from(out)))
}

fn eval_bigint_from_bytes(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(fixed_bytes::<8>(args, row)?.map(i64::from_be_bytes));
    }
    Ok(Arc::new(Int64Array::from(out)))
}

fn eval_double_from_bytes(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(fixed_bytes::<8>(args, row)?.map(f64::from_be_bytes));
    }
    Ok(Arc::new(Float64Array::from(out)))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{BinaryArray, StringArray};

    use super::*;
    use crate::functions::testing::{call, rows};

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    fn repeat(value: &str, count: usize) -> ArrayRef {
        strings(&vec![Some(value); count])
    }

    #[test]
    fn encode_hex_input_forms() {
        let inputs = [
            (Some("4578616d706C6521"), "Example!", "RXhhbXBsZSE="),
            (
                Some("c39c6265726d656e736368"),
                "Übermensch",
                "w5xiZXJtZW5zY2g=",
            ),
            (None, "NULL", "NULL"),
            (Some("0x4578616d706C6521"), "Example!", "RXhhbXBsZSE="),
            (Some("X'4578616d706C6521'"), "Example!", "RXhhbXBsZSE="),
            (Some("0x"), "", ""),
            (Some("x''"), "", ""),
            (Some("0x0x"), "NULL", "NULL"),
            (Some("X'"), "NULL", "NULL"),
            (Some("x'4578616d706C6521"), "NULL", "NULL"),
            (Some("x'578616d706C6521'"), "NULL", "NULL"),
            (Some("0x578616d706C6521"), "\u{5}xample!", "BXhhbXBsZSE="),
            (Some("578616d706C6521"), "NULL", "NULL"),
        ];
        let values = strings(
            &inputs
                .iter()
                .map(|(value, _, _)| *value)
                .collect::<Vec<_>>(),
        );
        let count = inputs.len();
        let utf8 = call(
            "ENCODE",
            vec![
                Arc::clone(&values),
                repeat("hex", count),
                repeat("utf8", count),
            ],
        )
        .expect("hex to utf8");
        let base64 = call(
            "ENCODE",
            vec![values, repeat("hex", count), repeat("base64", count)],
        )
        .expect("hex to base64");
        for (index, (value, expected_utf8, expected_base64)) in inputs.iter().enumerate() {
            assert_eq!(rows(&utf8)[index], *expected_utf8, "{value:?}");
            assert_eq!(rows(&base64)[index], *expected_base64, "{value:?}");
        }
    }

    #[test]
    fn encode_ascii_base64_and_unknown() {
        let cases = [
            ("Example!", "ascii", "hex", "4578616d706c6521"),
            ("Ελλάδα", "ascii", "utf8", "??????"),
            ("Ελλάδα", "ascii", "base64", "Pz8/Pz8/"),
            ("zpXOu867zqzOtM6x", "base64", "utf8", "Ελλάδα"),
            (
                "zpXOu867zqzOtM6x",
                "base64",
                "hex",
                "ce95cebbcebbceacceb4ceb1",
            ),
            (
                "w5xiZXJtZW5zY2g=",
                "base64",
                "ascii",
                "\u{fffd}\u{fffd}bermensch",
            ),
            ("RXhhbXBsZSE=", "base64", "null", "NULL"),
            ("RXhhbXBsZSE=", "HEX", "hex", "NULL"),
        ];
        for (value, input, output, expected) in cases {
            let result = call(
                "ENCODE",
                vec![
                    strings(&[Some(value)]),
                    strings(&[Some(input)]),
                    strings(&[Some(output)]),
                ],
            )
            .expect("encode");
            assert_eq!(rows(&result), vec![expected], "{value} {input} {output}");
        }
    }

    #[test]
    fn to_bytes_and_from_bytes_round_trip() {
        let cases = [
            ("1aB2", "hex", "1AB2"),
            ("IQ==", "base64", "IQ=="),
            ("!", "ascii", "!"),
            ("é", "utf8", "é"),
        ];
        for (value, encoding, expected) in cases {
            let bytes = call(
                "TO_BYTES",
                vec![strings(&[Some(value)]), strings(&[Some(encoding)])],
            )
            .expect("to_bytes");
            let back =
                call("FROM_BYTES", vec![bytes, strings(&[Some(encoding)])]).expect("from_bytes");
            assert_eq!(rows(&back), vec![expected], "{value} {encoding}");
        }
        let bad = call(
            "TO_BYTES",
            vec![
                strings(&[Some("xyz"), Some("a"), Some("ab")]),
                strings(&[Some("hex"), Some("nope"), None]),
            ],
        )
        .expect("bad input");
        assert_eq!(rows(&bad), vec!["NULL", "NULL", "NULL"]);
        assert_eq!(base64_decode("Zg=", true), None);
        assert_eq!(base64_decode("Zg==", true), Some(b"f".to_vec()));
        assert_eq!(base64_encode(b"yes"), "eWVz");
        assert_eq!(base64_encode(b"no"), "bm8=");
    }

    #[test]
    fn numbers_from_bytes() {
        let big: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(&[0u8, 0, 7, 0xE5][..]),
            Some(&[1u8, 2][..]),
            None,
        ]));
        let result = call("INT_FROM_BYTES", vec![big]).expect("int");
        assert_eq!(rows(&result), vec!["2021", "NULL", "NULL"]);
        let little: ArrayRef = Arc::new(BinaryArray::from(vec![Some(
            &[0x00u8, 0xF2, 0x05, 0x2A, 0x01, 0, 0, 0][..],
        )]));
        let result = call(
            "BIGINT_FROM_BYTES",
            vec![little, strings(&[Some("LITTLE_ENDIAN")])],
        )
        .expect("bigint");
        assert_eq!(rows(&result), vec!["5000000000"]);
        let double: ArrayRef = Arc::new(BinaryArray::from(vec![Some(
            &532.8738323f64.to_be_bytes()[..],
        )]));
        let result = call("DOUBLE_FROM_BYTES", vec![double]).expect("double");
        assert_eq!(rows(&result), vec!["532.8738323"]);
    }
}
