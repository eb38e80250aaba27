//! JSON values to column values, with the coercions of ksqlDB's `KsqlJsonDeserializer`.
//!
//! A JSON number reaches INT and BIGINT truncated and wrapped (Jackson's `intValue`/`asLong`),
//! numeric strings are parsed as Java does, anything else that does not fit is an error
//! naming Jackson's node class and the required type, with the path of the value.

use std::borrow::Cow;

use arrow::datatypes::{DataType, Fields};
use base64::Engine;

use super::encode::write_json_string;
use super::scanner::{Key, Kind, RawValue, SyntaxError};
use crate::format::number::{DecimalText, parse_java_double};
use crate::format::type_name::connect_type_name;
use crate::format::writer::ColumnWriter;

/// Base64 as Jackson writes and reads it: standard alphabet, padding required.
pub(super) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Milliseconds in a day: the largest TIME value.
const MILLIS_PER_DAY: i64 = 86_400_000;

/// How a column's JSON values are read, compiled once per decoder.
#[derive(Debug)]
pub(super) enum JsonType {
    Boolean,
    Int32,
    Int64,
    Float64,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Utf8,
    Binary,
    Date,
    Time,
    Timestamp,
    List {
        item: Box<JsonType>,
        name: String,
    },
    /// Keys are JSON object keys (STRING).
    Map {
        value: Box<JsonType>,
        name: String,
    },
    Struct(StructType),
}

/// The fields of a STRUCT (or of the wrapped row) and how JSON keys find them.
#[derive(Debug)]
pub(super) struct StructType {
    names: Vec<String>,
    /// Whether the name has no lower-case letters, so an upper-cased key can equal it.
    upper_case: Vec<bool>,
    types: Vec<JsonType>,
    name: String,
    /// Fields no one reads (`JsonDecoder::set_unused`): a value that cannot fail to coerce
    /// is not written (the column holds a null), so a record still fails exactly when
    /// one of its values cannot be read as its column's type.
    unused: Vec<bool>,
    /// The names are ASCII and no two are equal ignoring case: a key then matches at most
    /// one field, so `assign` stops at the first.
    folded_unique: bool,
}

/// A failed row: a syntax error, or a value that cannot be coerced, with its path.
#[derive(Debug)]
pub(super) enum JsonError {
    Syntax(String),
    Coerce { message: String, path: String },
}

impl From<SyntaxError> for JsonError {
    fn from(error: SyntaxError) -> Self {
        Self::Syntax(error.message)
    }
}

impl JsonError {
    fn coerce(message: String) -> Self {
        Self::Coerce {
            message,
            path: String::new(),
        }
    }

    /// Prefixes the path with the segment of the enclosing value (`$`, `.NAME`, `[3]`).
    pub(super) fn within(mut self, segment: &str) -> Self {
        if let Self::Coerce { path, .. } = &mut self {
            path.insert_str(0, segment);
        }
        self
    }

    pub(super) fn into_message(self) -> String {
        match self {
            Self::Syntax(message) => format!("failed to deserialize JSON: {message}"),
            Self::Coerce { message, path } => format!("{message}, path: {path}"),
        }
    }
}

impl JsonType {
    /// Compiles `data_type`; the caller has checked it is in ksqlDB's mapping.
    pub(super) fn new(data_type: &DataType) -> Self {
        match data_type {
            DataType::Boolean => Self::Boolean,
            DataType::Int32 => Self::Int32,
            DataType::Int64 => Self::Int64,
            DataType::Float64 => Self::Float64,
            DataType::Decimal128(precision, scale) => Self::Decimal {
                precision: *precision,
                scale: *scale,
            },
            DataType::Utf8 => Self::Utf8,
            DataType::Binary => Self::Binary,
            DataType::Date32 => Self::Date,
            DataType::Time32(_) => Self::Time,
            DataType::Timestamp(_, _) => Self::Timestamp,
            DataType::List(item) => Self::List {
                item: Box::new(Self::new(item.data_type())),
                name: connect_type_name(data_type),
            },
            DataType::Map(entries, _) => {
                let value = match entries.data_type() {
                    DataType::Struct(fields) if fields.len() == 2 => {
                        Self::new(fields[1].data_type())
                    }
                    _ => Self::Utf8,
                };
                Self::Map {
                    value: Box::new(value),
                    name: connect_type_name(data_type),
                }
            }
            DataType::Struct(fields) => Self::Struct(StructType::new(fields)),
            _ => Self::Utf8,
        }
    }

    /// Whether `coerce` reads `value` as this type without fail (what an unused column
    /// may skip).
    fn always_reads(&self, value: RawValue<'_>) -> bool {
        matches!(
            (self, value.kind),
            (_, Kind::Null)
                | (Self::Utf8, _)
                | (Self::Boolean, Kind::Bool(_))
                | (
                    Self::Int32 | Self::Int64 | Self::Timestamp | Self::Date,
                    Kind::Number { .. }
                )
        )
    }

    /// The required type as ksqlDB's messages name it.
    fn name(&self) -> Cow<'_, str> {
        match self {
            Self::Boolean => "BOOLEAN".into(),
            Self::Int32 => "INTEGER".into(),
            Self::Int64 => "BIGINT".into(),
            Self::Float64 => "DOUBLE".into(),
            Self::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})").into(),
            Self::Utf8 => "STRING".into(),
            Self::Binary => "BYTES".into(),
            Self::Date => "DATE".into(),
            Self::Time => "TIME".into(),
            Self::Timestamp => "TIMESTAMP".into(),
            Self::List { name, .. } | Self::Map { name, .. } => name.into(),
            Self::Struct(structure) => (&structure.name).into(),
        }
    }
}

impl StructType {
    pub(super) fn new(fields: &Fields) -> Self {
        Self {
            names: fields.iter().map(|field| field.name().clone()).collect(),
            upper_case: fields
                .iter()
                .map(|field| !field.name().chars().any(char::is_lowercase))
                .collect(),
            types: fields
                .iter()
                .map(|field| JsonType::new(field.data_type()))
                .collect(),
            name: connect_type_name(&DataType::Struct(fields.clone())),
            unused: vec![false; fields.len()],
            folded_unique: fields.iter().enumerate().all(|(index, field)| {
                field.name().is_ascii()
                    && fields
                        .iter()
                        .skip(index + 1)
                        .all(|other| !other.name().eq_ignore_ascii_case(field.name()))
            }),
        }
    }

    /// Marks the fields no one reads (see `unused`).
    pub(super) fn set_unused(&mut self, unused: &[bool]) {
        for (flag, &unused) in self.unused.iter_mut().zip(unused) {
            *flag = unused;
        }
    }

    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// Reads the members of an object into `slots`, one `(exact, upper-cased)` pair per
    /// field: a member goes to the field named exactly like its key, and to the field named
    /// like its upper-cased key; later duplicates win.
    pub(super) fn match_members<'a>(
        &self,
        object: RawValue<'a>,
        slots: &mut Vec<Slot<'a>>,
    ) -> Result<(), JsonError> {
        slots.clear();
        slots.resize(self.len(), Slot::default());
        let mut position = 0;
        object.scanner().members(|key, value| {
            self.assign(key, value, position, slots);
            position += 1;
            Ok::<_, JsonError>(())
        })
    }

    /// Assigns one member (the `position`th of its object) to the slots of the fields it
    /// matches.
    pub(super) fn assign<'a>(
        &self,
        key: Key<'a>,
        value: RawValue<'a>,
        position: usize,
        slots: &mut [Slot<'a>],
    ) {
        let key = key.unescaped();
        let key = key.as_ref();
        let ascii = key.is_ascii();
        if self.folded_unique && ascii {
            // One field at most: most payloads list the columns in order, so the field at
            // the member's position is tried first.
            let matches = |index: usize| {
                let name = &self.names[index];
                name.len() == key.len()
                    && (name == key || (self.upper_case[index] && key.eq_ignore_ascii_case(name)))
            };
            let found = if position < self.names.len() && matches(position) {
                Some(position)
            } else {
                (0..self.names.len()).find(|&index| matches(index))
            };
            if let Some(index) = found {
                if self.names[index] == key {
                    slots[index].exact = Some(value);
                } else {
                    slots[index].upper = Some(value);
                }
            }
            return;
        }
        let mut upper: Option<String> = None;
        for (index, name) in self.names.iter().enumerate() {
            if ascii && name.len() != key.len() {
                continue;
            }
            if name == key {
                slots[index].exact = Some(value);
            } else if self.upper_case[index] {
                let matches = if ascii {
                    key.eq_ignore_ascii_case(name)
                } else {
                    upper.get_or_insert_with(|| key.to_uppercase()) == name
                };
                if matches {
                    slots[index].upper = Some(value);
                }
            }
        }
    }

    /// Writes one row (or STRUCT value) from matched slots; fields without a member are null.
    pub(super) fn write_fields(
        &self,
        slots: &[Slot<'_>],
        writers: &mut [ColumnWriter],
    ) -> Result<(), JsonError> {
        for (index, writer) in writers.iter_mut().enumerate() {
            let slot = slots[index];
            let value = slot.exact.or(slot.upper);
            if self.unused[index] && value.is_none_or(|value| self.types[index].always_reads(value))
            {
                writer.push_null();
                continue;
            }
            coerce(&self.types[index], value, writer).map_err(|error| {
                let mut segment = String::with_capacity(self.names[index].len() + 1);
                segment.push('.');
                segment.push_str(&self.names[index]);
                error.within(&segment)
            })?;
        }
        Ok(())
    }

    /// The error for a value that is not an object.
    pub(super) fn not_an_object(&self, value: Option<RawValue<'_>>) -> JsonError {
        invalid_conversion(value, &self.name)
    }
}

/// The members matched to one field.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Slot<'a> {
    exact: Option<RawValue<'a>>,
    upper: Option<RawValue<'a>>,
}

/// Writes one value of type `json_type`; `None` is a missing value (Jackson's `MissingNode`).
pub(super) fn coerce(
    json_type: &JsonType,
    value: Option<RawValue<'_>>,
    writer: &mut ColumnWriter,
) -> Result<(), JsonError> {
    let Some(value) = value else {
        writer.push_null();
        return Ok(());
    };
    match (json_type, value.kind) {
        (_, Kind::Null) => writer.push_null(),
        (JsonType::Boolean, Kind::Bool(flag)) => writer.push_bool(flag),
        (JsonType::Int32, Kind::Number { integer }) => {
            writer.push_i32(number_to_i64(value.text, integer) as i32)
        }
        (JsonType::Int32, Kind::String { .. }) => {
            let parsed = value
                .string_content()
                .parse()
                .map_err(|_| coerce_failed("INTEGER"))?;
            writer.push_i32(parsed);
        }
        (JsonType::Int64 | JsonType::Timestamp, Kind::Number { integer }) => {
            writer.push_i64(number_to_i64(value.text, integer))
        }
        (JsonType::Int64 | JsonType::Timestamp, Kind::String { .. }) => {
            let parsed = value
                .string_content()
                .parse()
                .map_err(|_| coerce_failed(&json_type.name()))?;
            writer.push_i64(parsed);
        }
        (JsonType::Date, Kind::Number { integer }) => {
            writer.push_i32(number_to_i64(value.text, integer) as i32)
        }
        (JsonType::Date, Kind::String { .. }) => {
            let parsed: i64 = value
                .string_content()
                .parse()
                .map_err(|_| coerce_failed("DATE"))?;
            writer.push_i32(parsed as i32);
        }
        (JsonType::Time, Kind::Number { integer }) => {
            writer.push_i32(time_of_day(number_to_i64(value.text, integer))?)
        }
        (JsonType::Time, Kind::String { .. }) => {
            let parsed = value
                .string_content()
                .parse()
                .map_err(|_| coerce_failed("TIME"))?;
            writer.push_i32(time_of_day(parsed)?);
        }
        (JsonType::Float64, Kind::Number { .. }) => {
            let parsed = value.text.parse().map_err(|_| coerce_failed("DOUBLE"))?;
            writer.push_f64(parsed);
        }
        (JsonType::Float64, Kind::String { .. }) => {
            let parsed = parse_java_double(&value.string_content())
                .ok_or_else(|| coerce_failed("DOUBLE"))?;
            writer.push_f64(parsed);
        }
        (JsonType::Decimal { precision, scale }, Kind::Number { .. }) => {
            let decimal = DecimalText::parse(value.text).ok_or_else(|| coerce_failed("DECIMAL"))?;
            writer.push_i128(
                decimal
                    .to_decimal(*precision, *scale)
                    .map_err(JsonError::coerce)?,
            );
        }
        (JsonType::Decimal { precision, scale }, Kind::String { .. }) => {
            let content = value.string_content();
            let decimal =
                DecimalText::parse(&content).ok_or_else(|| coerce_failed(&json_type.name()))?;
            writer.push_i128(
                decimal
                    .to_decimal(*precision, *scale)
                    .map_err(JsonError::coerce)?,
            );
        }
        (JsonType::Utf8, _) => {
            write_as_text(value, writer.bytes_buffer());
            writer.commit_bytes();
        }
        (JsonType::Binary, Kind::String { .. }) => {
            let content = value.string_content();
            if BASE64
                .decode_vec(content.as_bytes(), writer.bytes_buffer())
                .is_err()
            {
                return Err(JsonError::coerce(format!(
                    "Value is not a valid Base64 encoded string: {content}"
                )));
            }
            writer.commit_bytes();
        }
        (JsonType::List { item, .. }, Kind::Array) => {
            let child = writer.list_child();
            value.scanner().elements(|index, element| {
                coerce(item, Some(element), child)
                    .map_err(|error| error.within(&format!("[{index}]")))
            })?;
            writer.commit_list();
        }
        (
            JsonType::Map {
                value: value_type, ..
            },
            Kind::Object,
        ) => {
            write_map(value_type, value, writer)?;
        }
        (JsonType::Struct(structure), Kind::Object) => {
            let mut slots = Vec::with_capacity(structure.len());
            structure.match_members(value, &mut slots)?;
            structure.write_fields(&slots, writer.struct_children())?;
            writer.commit_struct();
        }
        _ => return Err(invalid_conversion(Some(value), &json_type.name())),
    }
    Ok(())
}

/// Writes the root of an empty payload, which Jackson reads as a `MissingNode`: an empty
/// STRING, or an error for other types.
pub(super) fn coerce_missing_root(
    json_type: &JsonType,
    writer: &mut ColumnWriter,
) -> Result<(), JsonError> {
    match json_type {
        JsonType::Utf8 => {
            writer.push_bytes(b"");
            Ok(())
        }
        _ => Err(invalid_conversion(None, &json_type.name())),
    }
}

/// A MAP from an object: keys as they are, later duplicates replace earlier values.
fn write_map(
    value_type: &JsonType,
    object: RawValue<'_>,
    writer: &mut ColumnWriter,
) -> Result<(), JsonError> {
    let mut members: Vec<(Cow<'_, str>, RawValue<'_>)> = Vec::new();
    object.scanner().members(|key, value| {
        let key = key.unescaped();
        match members.iter_mut().find(|(existing, _)| *existing == key) {
            Some(member) => member.1 = value,
            None => members.push((key, value)),
        }
        Ok::<_, JsonError>(())
    })?;
    let (keys, values) = writer.map_children();
    for (key, value) in &members {
        keys.push_bytes(key.as_bytes());
        coerce(value_type, Some(*value), values)
            .map_err(|error| error.within(&format!(".{key}.value")))?;
    }
    writer.commit_map();
    Ok(())
}

/// A JSON number as Jackson's `asLong` reads it: truncated toward zero, low 64 bits kept.
fn number_to_i64(text: &str, integer: bool) -> i64 {
    if integer && text.len() <= 18 {
        let (negative, digits) = match text.as_bytes().split_first() {
            Some((b'-', digits)) => (true, digits),
            _ => (false, text.as_bytes()),
        };
        let value = digits
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        return if negative { -value } else { value };
    }
    DecimalText::parse(text).map_or(0, |decimal| decimal.wrapping_i64())
}

fn time_of_day(millis: i64) -> Result<i32, JsonError> {
    if (0..=MILLIS_PER_DAY).contains(&millis) {
        Ok(millis as i32)
    } else {
        Err(JsonError::coerce(format!(
            "Time values must use number of milliseconds greater than 0 and less than \
             {MILLIS_PER_DAY}."
        )))
    }
}

/// Appends a value read as STRING: strings as they are, numbers and booleans as Jackson's
/// `asText`, objects as compact JSON, arrays as `[a, b]` of their elements read as STRING.
pub(super) fn write_as_text(value: RawValue<'_>, out: &mut Vec<u8>) {
    match value.kind {
        Kind::String { escaped: false } => {
            out.extend_from_slice(&value.text.as_bytes()[1..value.text.len() - 1])
        }
        Kind::String { escaped: true } => {
            super::scanner::unescape_into(&value.text[1..value.text.len() - 1], out)
        }
        Kind::Number { integer } => write_number_text(value.text, integer, out),
        Kind::Bool(flag) => out.extend_from_slice(if flag { b"true" } else { b"false" }),
        Kind::Null => out.extend_from_slice(b"null"),
        Kind::Object => write_compact(value, out),
        Kind::Array => {
            out.push(b'[');
            let mut first = true;
            let walked = value.scanner().elements(|_, element| {
                if !first {
                    out.extend_from_slice(b", ");
                }
                first = false;
                write_as_text(element, out);
                Ok::<_, SyntaxError>(())
            });
            debug_assert!(walked.is_ok(), "the payload was validated");
            out.push(b']');
        }
    }
}

/// A number's text as Jackson's tree keeps it: integers as `int`/`long`/`BigInteger`,
/// others as an exact `BigDecimal` (`1.50`, `1E+5`).
fn write_number_text(text: &str, integer: bool, out: &mut Vec<u8>) {
    if integer {
        if text == "-0" {
            out.push(b'0');
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    } else if let Some(decimal) = DecimalText::parse(text) {
        decimal.write_java_string(out);
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Writes a value as Jackson re-serializes a parsed tree: compact, duplicate keys merged
/// (the last value in the first position), numbers normalized.
fn write_compact(value: RawValue<'_>, out: &mut Vec<u8>) {
    match value.kind {
        Kind::Object => {
            let mut members: Vec<(Cow<'_, str>, RawValue<'_>)> = Vec::new();
            let walked = value.scanner().members(|key, member| {
                let key = key.unescaped();
                match members.iter_mut().find(|(existing, _)| *existing == key) {
                    Some(existing) => existing.1 = member,
                    None => members.push((key, member)),
                }
                Ok::<_, SyntaxError>(())
            });
            debug_assert!(walked.is_ok(), "the payload was validated");
            out.push(b'{');
            for (index, (key, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_compact(*member, out);
            }
            out.push(b'}');
        }
        Kind::Array => {
            out.push(b'[');
            let walked = value.scanner().elements(|index, element| {
                if index > 0 {
                    out.push(b',');
                }
                write_compact(element, out);
                Ok::<_, SyntaxError>(())
            });
            debug_assert!(walked.is_ok(), "the payload was validated");
            out.push(b']');
        }
        Kind::String { escaped: false } => out.extend_from_slice(value.text.as_bytes()),
        Kind::String { escaped: true } => write_json_string(&value.string_content(), out),
        Kind::Number { integer } => write_number_text(value.text, integer, out),
        Kind::Bool(flag) => out.extend_from_slice(if flag { b"true" } else { b"false" }),
        Kind::Null => out.extend_from_slice(b"null"),
    }
}

fn coerce_failed(type_name: &str) -> JsonError {
    JsonError::coerce(format!(
        "Can't coerce string to type. targetType: {type_name}"
    ))
}

/// ksqlDB's `Can't convert type` error, naming the Jackson node class of `value`.
fn invalid_conversion(value: Option<RawValue<'_>>, type_name: &str) -> JsonError {
    JsonError::coerce(format!(
        "Can't convert type. sourceType: {}, requiredType: {type_name}",
        node_class(value)
    ))
}

/// The class of the node Jackson builds for `value`.
fn node_class(value: Option<RawValue<'_>>) -> &'static str {
    let Some(value) = value else {
        return "MissingNode";
    };
    match value.kind {
        Kind::Null => "NullNode",
        Kind::Bool(_) => "BooleanNode",
        Kind::String { .. } => "TextNode",
        Kind::Array => "ArrayNode",
        Kind::Object => "ObjectNode",
        Kind::Number { integer: false } => "DecimalNode",
        Kind::Number { integer: true } => match value.text.parse::<i64>() {
            Ok(number) if i32::try_from(number).is_ok() => "IntNode",
            Ok(_) => "LongNode",
            Err(_) => "BigIntegerNode",
        },
    }
}
