//! ksqlDB JSON functions: EXTRACTJSONFIELD, IS_JSON_STRING, JSON_ARRAY_CONTAINS,
//! JSON_ARRAY_LENGTH, JSON_KEYS, JSON_ITEMS, JSON_RECORDS, JSON_CONCAT and TO_JSON_STRING.
//!
//! JSON text is parsed with the order-preserving tree in `json::value`. This module also
//! prints Arrow values the way Java and Jackson print them, for TO_JSON_STRING and ARRAY_JOIN.

mod value;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, ListBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Result;
use datafusion::common::cast::{
    as_binary_array, as_boolean_array, as_date32_array, as_float64_array, as_int32_array,
    as_int64_array, as_list_array, as_map_array, as_string_array, as_struct_array,
    as_time32_millisecond_array, as_timestamp_millisecond_array,
};

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType, list_type, map_type};
use super::string::{build_strings, string_at, string_map_builder};
use super::udf::{EvalArgs, FunctionDefinition};
use value::{JsonValue, write_string};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::String as Str;
    let category = FunctionCategory::Json;
    let string = || ReturnType::Fixed(DataType::Utf8);
    vec![
        FunctionDefinition::new(
            "EXTRACTJSONFIELD",
            category,
            "Returns the value at a JSONPath ('$.a.b[0]') of a JSON string",
            vec![Overload::new(vec![Str, Str], string())],
            eval_extract_json_field,
        ),
        FunctionDefinition::new(
            "IS_JSON_STRING",
            category,
            "Returns whether a string is valid JSON",
            vec![Overload::new(
                vec![Str],
                ReturnType::Fixed(DataType::Boolean),
            )],
            eval_is_json_string,
        ),
        FunctionDefinition::new(
            "JSON_ARRAY_CONTAINS",
            category,
            "Returns whether a JSON array string contains a value",
            vec![
                Overload::new(
                    vec![Str, ParamType::Boolean],
                    ReturnType::Fixed(DataType::Boolean),
                ),
                Overload::new(
                    vec![Str, ParamType::Int],
                    ReturnType::Fixed(DataType::Boolean),
                ),
                Overload::new(
                    vec![Str, ParamType::Bigint],
                    ReturnType::Fixed(DataType::Boolean),
                ),
                Overload::new(
                    vec![Str, ParamType::Double],
                    ReturnType::Fixed(DataType::Boolean),
                ),
                Overload::new(vec![Str, Str], ReturnType::Fixed(DataType::Boolean)),
            ],
            eval_json_array_contains,
        ),
        FunctionDefinition::new(
            "JSON_ARRAY_LENGTH",
            category,
            "Returns the number of elements of a JSON array string",
            vec![Overload::new(vec![Str], ReturnType::Fixed(DataType::Int32))],
            eval_json_array_length,
        ),
        FunctionDefinition::new(
            "JSON_KEYS",
            category,
            "Returns the keys of a JSON object string",
            vec![Overload::new(
                vec![Str],
                ReturnType::Fixed(list_type(DataType::Utf8)),
            )],
            |args| {
                eval_json_list(args, |value| match value {
                    JsonValue::Object(entries) => {
                        Some(entries.into_iter().map(|(key, _)| key).collect())
                    }
                    _ => None,
                })
            },
        ),
        FunctionDefinition::new(
            "JSON_ITEMS",
            category,
            "Returns the elements of a JSON array string as JSON strings",
            vec![Overload::new(
                vec![Str],
                ReturnType::Fixed(list_type(DataType::Utf8)),
            )],
            |args| {
                eval_json_list(args, |value| match value {
                    JsonValue::Array(items) => Some(items.iter().map(JsonValue::to_json).collect()),
                    _ => None,
                })
            },
        ),
        FunctionDefinition::new(
            "JSON_RECORDS",
            category,
            "Returns the entries of a JSON object string as a map of JSON strings",
            vec![Overload::new(
                vec![Str],
                ReturnType::Fixed(map_type(DataType::Utf8, DataType::Utf8)),
            )],
            eval_json_records,
        ),
        FunctionDefinition::new(
            "JSON_CONCAT",
            category,
            "Merges JSON objects, or concatenates JSON values into one array",
            vec![Overload::variadic(vec![Str], string())],
            eval_json_concat,
        ),
        FunctionDefinition::new(
            "TO_JSON_STRING",
            category,
            "Converts any value to its JSON text",
            vec![Overload::new(vec![ParamType::Any], string())],
            eval_to_json_string,
        ),
    ]
}

/// Splits a ksqlDB JSONPath (`$.a.b[0]['c d']`) into its tokens; None when malformed. A
/// token is a field name on objects and an index on arrays, as in ksqlDB.
fn parse_path(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut position = 0;
    while position < chars.len() {
        match chars[position] {
            '.' => {
                position += 1;
                let start = position;
                while position < chars.len() && !matches!(chars[position], '.' | '[') {
                    position += 1;
                }
                if position == start {
                    return None;
                }
                steps.push(chars[start..position].iter().collect());
            }
            '[' => {
                position += 1;
                let close = (position..chars.len()).find(|&index| chars[index] == ']')?;
                let inner: String = chars[position..close].iter().collect();
                let inner = inner.trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|text| text.strip_suffix('\''))
                    .or_else(|| {
                        inner
                            .strip_prefix('"')
                            .and_then(|text| text.strip_suffix('"'))
                    });
                steps.push(quoted.unwrap_or(inner).to_string());
                position = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn follow<'a>(value: &'a JsonValue, steps: &[String]) -> Option<&'a JsonValue> {
    steps.iter().try_fold(value, |node, step| match node {
        JsonValue::Object(entries) => entries
            .iter()
            .find(|(name, _)| name == step)
            .map(|(_, value)| value),
        JsonValue::Array(items) => step
            .parse::<i32>()
            .ok()
            .and_then(|index| usize::try_from(index).ok())
            .and_then(|index| items.get(index)),
        _ => None,
    })
}

fn eval_extract_json_field(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(json), Some(path)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) else {
            out.push(None);
            continue;
        };
        out.push(
            parse_path(path)
                .zip(JsonValue::parse(json))
                .and_then(|(steps, value)| follow(&value, &steps).map(JsonValue::to_text)),
        );
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_is_json_string(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    Ok(Arc::new(
        strings
            .iter()
            .map(|value| Some(value.is_some_and(|value| JsonValue::parse(value).is_some())))
            .collect::<BooleanArray>(),
    ))
}

/// Whether JSON element `item` equals row `row` of the typed `wanted` column.
fn json_equals(item: &JsonValue, wanted: &dyn Array, row: usize) -> Result<bool> {
    if wanted.is_null(row) {
        return Ok(matches!(item, JsonValue::Null));
    }
    Ok(match (item, wanted.data_type()) {
        (JsonValue::Bool(value), DataType::Boolean) => {
            *value == as_boolean_array(wanted)?.value(row)
        }
        (JsonValue::Number(text), DataType::Int32) => {
            text.parse::<i64>().ok() == Some(i64::from(as_int32_array(wanted)?.value(row)))
        }
        (JsonValue::Number(text), DataType::Int64) => {
            text.parse::<i64>().ok() == Some(as_int64_array(wanted)?.value(row))
        }
        // Jackson tells integers from floats: [1] does not contain 1.0, nor [1.0] contain 1.
        (JsonValue::Number(text), DataType::Float64) => {
            text.contains(['.', 'e', 'E'])
                && text.parse::<f64>().ok() == Some(as_float64_array(wanted)?.value(row))
        }
        (JsonValue::String(text), DataType::Utf8) => text == as_string_array(wanted)?.value(row),
        _ => false,
    })
}

fn eval_json_array_contains(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let items = match string_at(&args.args[0], row)?.and_then(JsonValue::parse) {
            Some(JsonValue::Array(items)) => items,
            _ => {
                out.push(Some(false));
                continue;
            }
        };
        let mut found = false;
        for item in &items {
            if json_equals(item, &args.args[1], row)? {
                found = true;
                break;
            }
        }
        out.push(Some(found));
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

fn eval_json_array_length(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    Ok(Arc::new(
        strings
            .iter()
            .map(|value| match value.and_then(JsonValue::parse) {
                Some(JsonValue::Array(items)) => Some(items.len() as i32),
                _ => None,
            })
            .collect::<Int32Array>(),
    ))
}

fn eval_json_list(
    args: &EvalArgs<'_>,
    items: fn(JsonValue) -> Option<Vec<String>>,
) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    let mut builder = ListBuilder::new(StringBuilder::new());
    for value in strings.iter() {
        match value.and_then(JsonValue::parse).and_then(items) {
            Some(items) => {
                for item in items {
                    builder.values().append_value(item);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

fn eval_json_records(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    let mut builder = string_map_builder();
    for value in strings.iter() {
        match value.and_then(JsonValue::parse) {
            Some(JsonValue::Object(entries)) => {
                for (key, value) in entries {
                    builder.keys().append_value(key);
                    builder.values().append_value(value.to_json());
                }
                builder.append(true)?;
            }
            _ => builder.append(false)?,
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// ksqlDB's JSON_CONCAT: objects merge (later keys win), anything else becomes one array.
fn json_concat(values: Vec<JsonValue>) -> JsonValue {
    if values
        .iter()
        .all(|value| matches!(value, JsonValue::Object(_)))
    {
        let mut merged: Vec<(String, JsonValue)> = Vec::new();
        for value in values {
            let JsonValue::Object(entries) = value else {
                continue;
            };
            for (key, value) in entries {
                match merged.iter_mut().find(|(existing, _)| *existing == key) {
                    Some(entry) => entry.1 = value,
                    None => merged.push((key, value)),
                }
            }
        }
        return JsonValue::Object(merged);
    }
    let mut items = Vec::new();
    for value in values {
        match value {
            JsonValue::Array(inner) => items.extend(inner),
            other => items.push(other),
        }
    }
    JsonValue::Array(items)
}

fn eval_json_concat(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let mut values = Vec::with_capacity(args.args.len());
        for column in args.args {
            values.push(string_at(column, row)?.and_then(JsonValue::parse));
        }
        out.push(
            values
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|values| json_concat(values).to_json()),
        );
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

/// Java's `Double.toString`: plain between 1e-3 and 1e7, else `d.dddE±n`; always a `.0`.
pub(crate) fn java_double_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{value}");
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

/// How Java's `String.valueOf` prints element `index` of a primitive column (`null` for
/// nulls), for ARRAY_JOIN.
pub(crate) fn java_value_string(array: &ArrayRef, index: usize) -> Result<String> {
    if array.is_null(index) {
        return Ok("null".to_string());
    }
    Ok(match array.data_type() {
        DataType::Utf8 => as_string_array(array)?.value(index).to_string(),
        DataType::Float64 => java_double_string(as_float64_array(array)?.value(index)),
        _ => scalar_text(array, index)?,
    })
}

fn scalar_text(array: &ArrayRef, index: usize) -> Result<String> {
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
    Ok(formatter.value(index).to_string())
}

/// Writes element `index` of `array` as JSON the way ksqlDB's TO_JSON_STRING does.
fn write_json(array: &ArrayRef, index: usize, out: &mut String) -> Result<()> {
    if array.is_null(index) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Utf8 => write_string(as_string_array(array)?.value(index), out),
        DataType::Float64 => {
            out.push_str(&java_double_string(as_float64_array(array)?.value(index)))
        }
        DataType::Binary => write_string(
            &super::string::base64_encode(as_binary_array(array)?.value(index)),
            out,
        ),
        DataType::Date32 => {
            let days = i64::from(as_date32_array(array)?.value(index));
            write_string(&iso_date(days), out);
        }
        DataType::Time32(_) => {
            let millis = i64::from(as_time32_millisecond_array(array)?.value(index));
            write_string(&iso_time(millis), out);
        }
        DataType::Timestamp(_, _) => {
            let millis = as_timestamp_millisecond_array(array)?.value(index);
            let days = millis.div_euclid(86_400_000);
            let time = millis.rem_euclid(86_400_000);
            write_string(
                &format!(
                    "{}T{:02}:{:02}:{:02}.{:03}",
                    iso_date(days),
                    time / 3_600_000,
                    time / 60_000 % 60,
                    time / 1000 % 60,
                    time % 1000
                ),
                out,
            );
        }
        DataType::List(_) => {
            let list = as_list_array(array)?;
            let values = list.values();
            let offsets = list.value_offsets();
            out.push('[');
            for (position, item) in
                (offsets[index] as usize..offsets[index + 1] as usize).enumerate()
            {
                if position > 0 {
                    out.push(',');
                }
                write_json(values, item, out)?;
            }
            out.push(']');
        }
        DataType::Map(_, _) => {
            let map = as_map_array(array)?;
            let offsets = map.value_offsets();
            out.push('{');
            for (position, entry) in
                (offsets[index] as usize..offsets[index + 1] as usize).enumerate()
            {
                if position > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                write_json(map.keys(), entry, &mut key)?;
                if key.starts_with('"') {
                    out.push_str(&key);
                } else {
                    write_string(&key, out);
                }
                out.push(':');
                write_json(map.values(), entry, out)?;
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let columns = as_struct_array(array)?;
            out.push('{');
            for (position, (field, column)) in fields.iter().zip(columns.columns()).enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(field.name(), out);
                out.push(':');
                write_json(column, index, out)?;
            }
            out.push('}');
        }
        _ => out.push_str(&scalar_text(array, index)?),
    }
    Ok(())
}

fn iso_date(days: i64) -> String {
    let (year, month, day) = super::datetime::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `java.time.LocalTime.toString`: seconds and milliseconds only when not zero.
fn iso_time(millis: i64) -> String {
    let (hours, minutes, seconds, fraction) = (
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000,
    );
    match (seconds, fraction) {
        (0, 0) => format!("{hours:02}:{minutes:02}"),
        (_, 0) => format!("{hours:02}:{minutes:02}:{seconds:02}"),
        _ => format!("{hours:02}:{minutes:02}:{seconds:02}.{fraction:03}"),
    }
}

fn eval_to_json_string(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let mut text = String::new();
        write_json(&args.args[0], row, &mut text)?;
        out.push(Some(text));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

#[cfg(test)]
mod tests;
