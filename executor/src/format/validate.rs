//! Which columns each format can hold: `validate` refuses, with ksqlDB's messages, the types,
//! map keys, column counts and options a format cannot write or read.

use arrow::datatypes::{DataType, Fields};

use super::type_name::{base_type_name, column_list, find_unsupported};
use super::{FormatKind, FormatOptions, delimited, kafka};
use crate::{ExecError, Result};

/// Checks that format `kind` can hold `fields`, with ksqlDB's messages.
pub(super) fn validate(kind: FormatKind, options: &FormatOptions, fields: &Fields) -> Result<()> {
    for field in fields {
        if let Some(unsupported) = find_unsupported(field.data_type()) {
            return Err(ExecError::Internal(format!(
                "column `{}` has Arrow type {unsupported}, which no ksqlDB type maps to",
                field.name()
            )));
        }
    }
    let refuse_wrapping = || {
        ExecError::User(format!(
            "Format '{kind}' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        ))
    };
    let unsupported_type = |data_type: &DataType| {
        ExecError::User(format!(
            "The '{kind}' format does not support type '{}'",
            base_type_name(data_type).unwrap_or("UNKNOWN")
        ))
    };
    let map_keys = |message: &str| {
        if fields
            .iter()
            .any(|field| has_non_string_map_key(field.data_type()))
        {
            Err(ExecError::User(message.to_string()))
        } else {
            Ok(())
        }
    };
    match kind {
        FormatKind::Json | FormatKind::JsonSr => {
            map_keys("JSON only supports MAP types with STRING keys")?
        }
        FormatKind::Avro => map_keys("Avro only supports MAPs with STRING keys")?,
        FormatKind::Protobuf | FormatKind::ProtobufNosr => {
            map_keys("PROTOBUF format only supports MAP types with STRING keys")?
        }
        FormatKind::Delimited => {
            if options.wrap_single_value == Some(true) {
                return Err(refuse_wrapping());
            }
            if let Some(delimiter @ ('"' | '\n' | '\r')) = options.delimiter {
                return Err(ExecError::User(format!(
                    "Invalid delimiter value: {delimiter:?}. The delimiter cannot be a quote or \
                     a line break"
                )));
            }
            if let Some(field) = fields
                .iter()
                .find(|field| !delimited::supports(field.data_type()))
            {
                return Err(unsupported_type(field.data_type()));
            }
        }
        FormatKind::Kafka => {
            if options.wrap_single_value == Some(true) {
                return Err(refuse_wrapping());
            }
            if fields.len() > 1 {
                return Err(ExecError::User(format!(
                    "The 'KAFKA' format only supports a single field. Got: {}",
                    column_list(fields)
                )));
            }
            if let Some(field) = fields
                .iter()
                .find(|field| !kafka::supports(field.data_type()))
            {
                return Err(unsupported_type(field.data_type()));
            }
        }
        FormatKind::None => {
            if !fields.is_empty() {
                return Err(ExecError::User(format!(
                    "The 'NONE' format can only be used when no columns are defined. Got: {}",
                    column_list(fields)
                )));
            }
        }
    }
    Ok(())
}

fn has_non_string_map_key(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(item) => has_non_string_map_key(item.data_type()),
        DataType::Struct(fields) => fields
            .iter()
            .any(|field| has_non_string_map_key(field.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                fields[0].data_type() != &DataType::Utf8
                    || has_non_string_map_key(fields[1].data_type())
            }
            _ => true,
        },
        _ => false,
    }
}
