//! ksqlDB string functions: case, length, concatenation, trimming, substrings, padding,
//! splitting and lookups.
//!
//! Positions are 1-based and count characters (code points). Masking is in `string::mask`,
//! encodings and byte conversions in `string::encoding`, regular expressions in `regex`.

mod encoding;
mod mask;
mod pad;
mod position;
mod split;

pub(super) use encoding::base64_encode;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, Int32Array, MapBuilder, MapFieldNames, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::Field;
use datafusion::common::Result;
use datafusion::common::cast::{as_binary_array, as_int32_array, as_string_array};
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType, list_type};
use super::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Bytes, Int, String as Str};
    let string = || ReturnType::Fixed(DataType::Utf8);
    let bytes = || ReturnType::Fixed(DataType::Binary);
    let int = || ReturnType::Fixed(DataType::Int32);
    let category = FunctionCategory::String;
    let mut definitions = vec![
        FunctionDefinition::new(
            "UCASE",
            category,
            "Converts a string to upper case",
            vec![Overload::new(vec![Str], string())],
            eval_ucase,
        ),
        FunctionDefinition::new(
            "LCASE",
            category,
            "Converts a string to lower case",
            vec![Overload::new(vec![Str], string())],
            eval_lcase,
        ),
        FunctionDefinition::new(
            "LEN",
            category,
            "Returns the length of a string in characters, or of bytes in bytes",
            vec![
                Overload::new(vec![Str], int()),
                Overload::new(vec![Bytes], int()),
            ],
            eval_len,
        ),
        FunctionDefinition::new(
            "CONCAT",
            category,
            "Concatenates strings or bytes, skipping nulls",
            vec![
                Overload::variadic(vec![Str], string()),
                Overload::variadic(vec![Bytes], bytes()),
            ],
            eval_concat,
        ),
        FunctionDefinition::new(
            "CONCAT_WS",
            category,
            "Concatenates strings or bytes with a separator, skipping nulls",
            vec![
                Overload::variadic(vec![Str, Str], string()),
                Overload::variadic(vec![Bytes, Bytes], bytes()),
            ],
            eval_concat_ws,
        ),
        FunctionDefinition::new(
            "TRIM",
            category,
            "Removes leading and trailing whitespace from a string",
            vec![Overload::new(vec![Str], string())],
            eval_trim,
        ),
        FunctionDefinition::new(
            "SUBSTRING",
            category,
            "Returns the part of a string or bytes from a 1-based position, with an optional length",
            vec![
                Overload::new(vec![Str, Int], string()),
                Overload::new(vec![Str, Int, Int], string()),
                Overload::new(vec![Bytes, Int], bytes()),
                Overload::new(vec![Bytes, Int, Int], bytes()),
            ],
            position::eval_substring,
        ),
        FunctionDefinition::new(
            "REPLACE",
            category,
            "Replaces every occurrence of a substring with another string",
            vec![Overload::new(vec![Str, Str, Str], string())],
            eval_replace,
        ),
        FunctionDefinition::new(
            "INSTR",
            category,
            "Returns the 1-based position of a substring, or 0 when it is absent",
            vec![
                Overload::new(vec![Str, Str], int()),
                Overload::new(vec![Str, Str, Int], int()),
                Overload::new(vec![Str, Str, Int, Int], int()),
            ],
            position::eval_instr,
        ),
        FunctionDefinition::new(
            "LPAD",
            category,
            "Pads a string or bytes on the left to a length, truncating longer input",
            vec![
                Overload::new(vec![Str, Int, Str], string()),
                Overload::new(vec![Bytes, Int, Bytes], bytes()),
            ],
            pad::eval_lpad,
        ),
        FunctionDefinition::new(
            "RPAD",
            category,
            "Pads a string or bytes on the right to a length, truncating longer input",
            vec![
                Overload::new(vec![Str, Int, Str], string()),
                Overload::new(vec![Bytes, Int, Bytes], bytes()),
            ],
            pad::eval_rpad,
        ),
        FunctionDefinition::new(
            "SPLIT",
            category,
            "Splits a string or bytes into an array on a delimiter",
            vec![
                Overload::new(vec![Str, Str], ReturnType::Fixed(list_type(DataType::Utf8))),
                Overload::new(
                    vec![Bytes, Bytes],
                    ReturnType::Fixed(list_type(DataType::Binary)),
                ),
            ],
            split::eval_split,
        ),
        FunctionDefinition::new(
            "SPLIT_TO_MAP",
            category,
            "Splits a string into a map of key-value pairs using an entry and a key-value delimiter",
            vec![Overload::new(
                vec![Str, Str, Str],
                ReturnType::Fixed(super::signature::map_type(DataType::Utf8, DataType::Utf8)),
            )],
            split::eval_split_to_map,
        ),
        FunctionDefinition::new(
            "INITCAP",
            category,
            "Capitalizes the first letter of each word and lower-cases the rest",
            vec![Overload::new(vec![Str], string())],
            eval_initcap,
        ),
        FunctionDefinition::new(
            "ELT",
            category,
            "Returns the n-th (1-based) of the following strings",
            vec![Overload::variadic(vec![Int, Str], string())],
            eval_elt,
        ),
        FunctionDefinition::new(
            "FIELD",
            category,
            "Returns the 1-based position of a string among the following strings, or 0",
            vec![Overload::variadic(vec![Str, Str], int())],
            eval_field,
        ),
        FunctionDefinition::new(
            "CHR",
            category,
            "Returns the character of a decimal code point or of a '\\uXXXX' escape",
            vec![
                Overload::new(vec![Int], string()),
                Overload::new(vec![Str], string()),
            ],
            eval_chr,
        ),
        FunctionDefinition::new(
            "UUID",
            category,
            "Returns a random version 4 UUID string",
            vec![Overload::new(vec![], string())],
            eval_uuid,
        )
        .volatile(),
        FunctionDefinition::new(
            "MD5",
            category,
            "Returns the hex-encoded MD5 hash of a string",
            vec![Overload::new(vec![Str], string())],
            eval_md5,
        ),
    ];
    definitions.extend(mask::definitions());
    definitions.extend(encoding::definitions());
    definitions
}

/// Builds a string column by applying `f` to each row index.
pub(super) fn build_strings(rows: usize, mut f: impl FnMut(usize) -> Option<String>) -> ArrayRef {
    let mut builder = StringBuilder::with_capacity(rows, rows * 8);
    for row in 0..rows {
        builder.append_option(f(row));
    }
    Arc::new(builder.finish())
}

/// Builds a bytes column by applying `f` to each row index.
pub(super) fn build_bytes(rows: usize, mut f: impl FnMut(usize) -> Option<Vec<u8>>) -> ArrayRef {
    let mut builder = BinaryBuilder::with_capacity(rows, rows * 8);
    for row in 0..rows {
        builder.append_option(f(row));
    }
    Arc::new(builder.finish())
}

/// Row `row` of a string column, or None when null.
pub(super) fn string_at(array: &dyn Array, row: usize) -> Result<Option<&str>> {
    let strings = as_string_array(array)?;
    Ok(strings.is_valid(row).then(|| strings.value(row)))
}

/// Row `row` of an INT column, or None when null.
pub(super) fn int_at(array: &dyn Array, row: usize) -> Result<Option<i32>> {
    let ints = as_int32_array(array)?;
    Ok(ints.is_valid(row).then(|| ints.value(row)))
}

/// Row `row` of a bytes column, or None when null.
pub(super) fn bytes_at(array: &dyn Array, row: usize) -> Result<Option<&[u8]>> {
    let bytes = as_binary_array(array)?;
    Ok(bytes.is_valid(row).then(|| bytes.value(row)))
}

fn map_strings(args: &EvalArgs<'_>, f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    Ok(Arc::new(
        strings
            .iter()
            .map(|value| value.map(&f))
            .collect::<datafusion::arrow::array::StringArray>(),
    ))
}

fn eval_ucase(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    map_strings(args, str::to_uppercase)
}

fn eval_lcase(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    map_strings(args, str::to_lowercase)
}

/// Java's `String.trim`: strips every character up to and including the space.
fn eval_trim(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    map_strings(args, |value| value.trim_matches(|c| c <= ' ').to_string())
}

fn eval_len(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let array = &args.args[0];
    if array.data_type() == &DataType::Binary {
        let bytes = as_binary_array(array)?;
        return Ok(Arc::new(
            bytes
                .iter()
                .map(|value| value.map(|value| value.len() as i32))
                .collect::<Int32Array>(),
        ));
    }
    let strings = as_string_array(array)?;
    // Java counts UTF-16 code units.
    Ok(Arc::new(
        strings
            .iter()
            .map(|value| value.map(|value| value.encode_utf16().count() as i32))
            .collect::<Int32Array>(),
    ))
}

fn eval_concat(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    if args.return_type == &DataType::Binary {
        let columns = args
            .args
            .iter()
            .map(|array| as_binary_array(array))
            .collect::<Result<Vec<_>>>()?;
        return Ok(build_bytes(args.rows, |row| {
            let mut out = Vec::new();
            for column in &columns {
                if column.is_valid(row) {
                    out.extend_from_slice(column.value(row));
                }
            }
            Some(out)
        }));
    }
    let columns = args
        .args
        .iter()
        .map(|array| as_string_array(array))
        .collect::<Result<Vec<_>>>()?;
    Ok(build_strings(args.rows, |row| {
        let mut out = String::new();
        for column in &columns {
            if column.is_valid(row) {
                out.push_str(column.value(row));
            }
        }
        Some(out)
    }))
}

fn eval_concat_ws(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    if args.return_type == &DataType::Binary {
        let columns = args
            .args
            .iter()
            .map(|array| as_binary_array(array))
            .collect::<Result<Vec<_>>>()?;
        return Ok(build_bytes(args.rows, |row| {
            if columns[0].is_null(row) {
                return None;
            }
            let separator = columns[0].value(row);
            let parts = columns[1..]
                .iter()
                .filter(|column| column.is_valid(row))
                .map(|column| column.value(row))
                .collect::<Vec<_>>();
            Some(parts.join(separator))
        }));
    }
    let columns = args
        .args
        .iter()
        .map(|array| as_string_array(array))
        .collect::<Result<Vec<_>>>()?;
    Ok(build_strings(args.rows, |row| {
        if columns[0].is_null(row) {
            return None;
        }
        let separator = columns[0].value(row);
        let parts = columns[1..]
            .iter()
            .filter(|column| column.is_valid(row))
            .map(|column| column.value(row))
            .collect::<Vec<_>>();
        Some(parts.join(separator))
    }))
}

fn eval_replace(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let [values, targets, replacements] = args.args else {
        return datafusion::common::internal_err!("REPLACE takes three arguments");
    };
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(
            match (
                string_at(values, row)?,
                string_at(targets, row)?,
                string_at(replacements, row)?,
            ) {
                (Some(value), Some(target), Some(replacement)) => {
                    Some(value.replace(target, replacement))
                }
                _ => None,
            },
        );
    }
    Ok(Arc::new(
        out.into_iter()
            .collect::<datafusion::arrow::array::StringArray>(),
    ))
}

/// A `MAP<STRING, STRING>` builder with ksqlDB's field names.
pub(super) fn string_map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(
        Some(MapFieldNames {
            entry: "entries".to_string(),
            key: "key".to_string(),
            value: "value".to_string(),
        }),
        StringBuilder::new(),
        StringBuilder::new(),
    )
}

/// ksqlDB's INITCAP: lower-cases, then upper-cases the first letter of each run of
/// non-whitespace. Leading whitespace is dropped, as in ksqlDB.
fn initcap(value: &str) -> String {
    let lower = value.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut at_word_start = true;
    let mut seen_word = false;
    for character in lower.chars() {
        if character.is_whitespace() {
            if seen_word {
                out.push(character);
            }
            at_word_start = true;
        } else {
            if at_word_start {
                out.extend(character.to_uppercase());
            } else {
                out.push(character);
            }
            at_word_start = false;
            seen_word = true;
        }
    }
    out
}

fn eval_initcap(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    map_strings(args, initcap)
}

fn eval_elt(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let chosen = match int_at(&args.args[0], row)? {
            Some(index) if index >= 1 && (index as usize) < args.args.len() => {
                string_at(&args.args[index as usize], row)?.map(str::to_string)
            }
            _ => None,
        };
        out.push(chosen);
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_field(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let mut position = 0;
        if let Some(wanted) = string_at(&args.args[0], row)? {
            for (index, candidate) in args.args[1..].iter().enumerate() {
                if string_at(candidate, row)? == Some(wanted) {
                    position = index as i32 + 1;
                    break;
                }
            }
        }
        out.push(Some(position));
    }
    Ok(Arc::new(out.into_iter().collect::<Int32Array>()))
}

/// Decodes a sequence of `\uXXXX` escapes that together form exactly one character.
fn chr_from_escape(value: &str) -> Option<String> {
    let mut units = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let hex = rest.strip_prefix("\\u")?;
        let digits = hex.get(..4)?;
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        units.push(u16::from_str_radix(digits, 16).ok()?);
        rest = &hex[4..];
    }
    let decoded = String::from_utf16(&units).ok()?;
    (decoded.chars().count() == 1).then_some(decoded)
}

fn eval_chr(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let array = &args.args[0];
    if array.data_type() == &DataType::Int32 {
        let codes = as_int32_array(array)?;
        return Ok(build_strings(args.rows, |row| {
            if codes.is_null(row) {
                return None;
            }
            let code = u32::try_from(codes.value(row)).ok()?;
            char::from_u32(code).map(String::from)
        }));
    }
    let strings = as_string_array(array)?;
    Ok(build_strings(args.rows, |row| {
        if strings.is_null(row) {
            return None;
        }
        chr_from_escape(strings.value(row))
    }))
}

/// A small non-cryptographic generator (splitmix64) seeded from the process's random hasher
/// keys, for UUID and RANDOM.
pub(super) struct RandomBits(u64);

impl RandomBits {
    pub(super) fn new() -> Self {
        use std::collections::hash_map::RandomState;
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or_default(),
        );
        Self(hasher.finish())
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn uuid_v4(random: &mut RandomBits) -> String {
    let high = (random.next_u64() & !0xF000) | 0x4000;
    let low = (random.next_u64() & !(0xC000 << 48)) | (0x8000 << 48);
    let hex = format!("{high:016x}{low:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn eval_uuid(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut random = RandomBits::new();
    Ok(build_strings(args.rows, |_| Some(uuid_v4(&mut random))))
}

fn eval_md5(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let md5 = datafusion::functions::crypto::md5();
    let result = md5.invoke_with_args(ScalarFunctionArgs {
        args: vec![ColumnarValue::Array(Arc::clone(&args.args[0]))],
        arg_fields: vec![Arc::new(Field::new("value", DataType::Utf8, true))],
        number_rows: args.rows,
        return_field: Arc::new(Field::new("md5", DataType::Utf8View, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })?;
    Ok(cast(&result.to_array(args.rows)?, &DataType::Utf8)?)
}

#[cfg(test)]
mod tests;
