//! `CAST` as ksqlDB does it: which casts it accepts; structs, maps and arrays cast to a
//! string as Java prints them (`Struct{F0=1,f1=3}`, `{this=1}`); strings cast to a date as
//! ksqlDB's partial datetime parser reads them (`2020-05` is May 1st).
//!
//! Other casts are DataFusion's (`TRY_CAST`: a value that does not convert is null).

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, ListArray, StringBuilder};
use arrow::datatypes::DataType as ArrowType;
use arrow::datatypes::{Int32Type, Int64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Result as DataFusionResult;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::types::arrow_type_name;
use crate::{PlanError, Result};

/// Refuses the casts ksqlDB refuses: anything converts to a string and a NULL to anything;
/// arrays, maps and structs convert only to their own kind; the other types as DataFusion
/// converts them. `clause` names the clause for the message (`Invalid Select: ...`).
pub(super) fn check_cast(from: &ArrowType, to: &ArrowType, clause: &str) -> Result<()> {
    let nested = |data_type: &ArrowType| {
        matches!(
            data_type,
            ArrowType::List(_)
                | ArrowType::LargeList(_)
                | ArrowType::Map(..)
                | ArrowType::Struct(_)
        )
    };
    let accepted = match (from, to) {
        (ArrowType::Null, _) | (_, ArrowType::Utf8) => true,
        (ArrowType::List(_) | ArrowType::LargeList(_), ArrowType::List(_)) => true,
        (ArrowType::Map(..), ArrowType::Map(..)) | (ArrowType::Struct(_), ArrowType::Struct(_)) => {
            true
        }
        (from, to) if nested(from) || nested(to) => false,
        (from, to) => arrow::compute::can_cast_types(from, to),
    };
    if accepted {
        return Ok(());
    }
    let prefix = match clause {
        "SELECT" => "Invalid Select: ",
        "WHERE" => "Invalid Predicate: ",
        _ => "",
    };
    Err(PlanError::User(format!(
        "{prefix}Cast of {} to {} is not supported",
        arrow_type_name(from),
        arrow_type_name(to)
    )))
}

/// `CAST(expr AS STRING)` of a struct, a map or an array: Java's text of the value.
pub(super) fn nested_to_string(expr: Expr) -> Expr {
    ScalarUDF::new_from_impl(KsqlCast::new(Conversion::JavaText)).call(vec![expr])
}

/// `CAST(expr AS DATE)` of a string: a possibly partial ISO date (`2020`, `2020-05`,
/// `2020-05-17`, a datetime's day), null when it is none.
pub(super) fn string_to_date(expr: Expr) -> Expr {
    ScalarUDF::new_from_impl(KsqlCast::new(Conversion::PartialDate)).call(vec![expr])
}

/// Whether a cast to a string is Java's text of a struct, a map or an array.
pub(super) fn is_java_text(from: &ArrowType, to: &ArrowType) -> bool {
    matches!(
        from,
        ArrowType::Struct(_) | ArrowType::Map(..) | ArrowType::List(_)
    ) && matches!(to, ArrowType::Utf8)
}

/// `CAST(expr AS INT)` of a BIGINT, or of an array of them: Java's narrowing, which keeps
/// the low 32 bits (`2147483648` becomes `-2147483648`).
pub(super) fn narrow_to_int(expr: Expr, to: ArrowType) -> Expr {
    ScalarUDF::new_from_impl(KsqlCast::new(Conversion::NarrowToInt(to))).call(vec![expr])
}

/// Whether a cast narrows BIGINTs to INTs (alone or as array elements).
pub(super) fn is_narrowing_to_int(from: &ArrowType, to: &ArrowType) -> bool {
    match (from, to) {
        (ArrowType::Int64, ArrowType::Int32) => true,
        (ArrowType::List(from), ArrowType::List(to)) => {
            matches!(
                (from.data_type(), to.data_type()),
                (ArrowType::Int64, ArrowType::Int32)
            )
        }
        _ => false,
    }
}

/// Whether a cast is a string to a date.
pub(super) fn is_string_to_date(from: &ArrowType, to: &ArrowType) -> bool {
    matches!(from, ArrowType::Utf8) && matches!(to, ArrowType::Date32)
}

/// The casts ksqlDB does differently from DataFusion.
#[derive(Debug, PartialEq, Eq, Hash, Clone)]
enum Conversion {
    /// Java's text of a struct (Kafka Connect's `Struct{name=value,...}`, null fields left
    /// out), a map (`{key=value, ...}`) or an array (`[a, b]`).
    JavaText,
    /// A string to a DATE, read as ksqlDB's partial datetime parser reads it.
    PartialDate,
    /// BIGINTs to INTs (of this type: INT or an array of INT), keeping the low 32 bits.
    NarrowToInt(ArrowType),
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct KsqlCast {
    conversion: Conversion,
    signature: Signature,
}

impl KsqlCast {
    fn new(conversion: Conversion) -> Self {
        Self {
            conversion,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for KsqlCast {
    fn name(&self) -> &str {
        match &self.conversion {
            Conversion::JavaText => "$java_text",
            Conversion::PartialDate => "$partial_date",
            Conversion::NarrowToInt(_) => "$narrow_to_int",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[ArrowType]) -> DataFusionResult<ArrowType> {
        Ok(match &self.conversion {
            Conversion::JavaText => ArrowType::Utf8,
            Conversion::PartialDate => ArrowType::Date32,
            Conversion::NarrowToInt(to) => to.clone(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DataFusionResult<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let result: ArrayRef = match &self.conversion {
            Conversion::JavaText => {
                let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 16);
                for row in 0..array.len() {
                    if array.is_null(row) {
                        builder.append_null();
                    } else {
                        let mut text = String::new();
                        write_value(&mut text, &array, row)?;
                        builder.append_value(text);
                    }
                }
                Arc::new(builder.finish())
            }
            Conversion::PartialDate => {
                const MILLIS_PER_DAY: i64 = 86_400_000;
                let strings = array.as_string::<i32>();
                Arc::new(
                    strings
                        .iter()
                        .map(|text| {
                            let millis = crate::pull::parse_partial_timestamp(text?.trim())?;
                            i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).ok()
                        })
                        .collect::<Date32Array>(),
                )
            }
            Conversion::NarrowToInt(_) => narrow(&array)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// BIGINTs, alone or in arrays, as INTs with their low 32 bits.
fn narrow(array: &ArrayRef) -> DataFusionResult<ArrayRef> {
    Ok(match array.data_type() {
        ArrowType::List(field) => {
            let list = array.as_list::<i32>();
            let values = narrow(list.values())?;
            let field = Arc::new(
                field
                    .as_ref()
                    .clone()
                    .with_data_type(values.data_type().clone()),
            );
            Arc::new(ListArray::try_new(
                field,
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?)
        }
        _ => {
            let longs = array.as_primitive::<Int64Type>();
            Arc::new(longs.unary::<_, Int32Type>(|value| value as i32))
        }
    })
}

/// Appends Java's text of `array[row]` (not null) to `out`.
fn write_value(out: &mut String, array: &ArrayRef, row: usize) -> DataFusionResult<()> {
    match array.data_type() {
        ArrowType::Struct(fields) => {
            let columns = array.as_struct().columns();
            out.push_str("Struct{");
            let mut first = true;
            for (field, column) in fields.iter().zip(columns) {
                if column.is_null(row) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(field.name());
                out.push('=');
                write_value(out, column, row)?;
            }
            out.push('}');
        }
        ArrowType::Map(..) => {
            let map = array.as_map();
            let entries = map.value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for index in 0..entries.len() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_element(out, keys, index)?;
                out.push('=');
                write_element(out, values, index)?;
            }
            out.push('}');
        }
        ArrowType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            out.push('[');
            for index in 0..list.len() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_element(out, &list, index)?;
            }
            out.push(']');
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
            write!(out, "{}", formatter.value(row))
                .map_err(|error| datafusion::error::DataFusionError::External(error.into()))?;
        }
    }
    Ok(())
}

/// An element that may be null (`null`, as Java prints it).
fn write_element(out: &mut String, array: &ArrayRef, index: usize) -> DataFusionResult<()> {
    if array.is_null(index) {
        out.push_str("null");
        Ok(())
    } else {
        write_value(out, array, index)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, Int64Array, MapBuilder, StringArray, StructArray};
    use arrow::datatypes::{Field, Fields};

    use super::*;

    fn java_text(array: ArrayRef) -> Vec<String> {
        (0..array.len())
            .map(|row| {
                let mut text = String::new();
                write_value(&mut text, &array, row).expect("formats");
                text
            })
            .collect()
    }

    #[test]
    fn structs_maps_and_arrays_print_as_java_does() {
        let fields = Fields::from(vec![
            Field::new("F0", ArrowType::Int32, true),
            Field::new("f1", ArrowType::Utf8, true),
        ]);
        let structs = StructArray::new(
            fields,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), Some(2)])),
                Arc::new(StringArray::from(vec![Some("x"), None])),
            ],
            None,
        );
        // A null field is left out, as Kafka Connect's Struct.toString does.
        assert_eq!(
            java_text(Arc::new(structs)),
            vec!["Struct{F0=1,f1=x}", "Struct{F0=2}"]
        );
        let mut maps = MapBuilder::new(
            None,
            arrow::array::StringBuilder::new(),
            Int32Array::builder(2),
        );
        maps.keys().append_value("this");
        maps.values().append_value(1);
        maps.keys().append_value("that");
        maps.values().append_null();
        maps.append(true).expect("map");
        assert_eq!(
            java_text(Arc::new(maps.finish())),
            vec!["{this=1, that=null}"]
        );
    }

    #[test]
    fn bigints_narrow_to_their_low_bits() {
        let narrowed =
            narrow(&(Arc::new(Int64Array::from(vec![1, 2_147_483_648, -1])) as ArrayRef))
                .expect("narrows");
        assert_eq!(
            narrowed.as_primitive::<Int32Type>().values().to_vec(),
            vec![1, -2_147_483_648, -1]
        );
    }

    #[test]
    fn casts_ksqldb_refuses_are_named() {
        let structure =
            ArrowType::Struct(Fields::from(vec![Field::new("F0", ArrowType::Utf8, true)]));
        let cases = [
            (
                ArrowType::Utf8,
                structure.clone(),
                "SELECT",
                Some("Invalid Select: Cast of STRING to STRUCT<`F0` STRING> is not supported"),
            ),
            (structure.clone(), ArrowType::Utf8, "SELECT", None),
            (ArrowType::Int64, ArrowType::Int32, "WHERE", None),
            (ArrowType::Null, structure, "SELECT", None),
        ];
        for (from, to, clause, expected) in cases {
            let error = check_cast(&from, &to, clause)
                .err()
                .map(|error| error.to_string());
            assert_eq!(error.as_deref(), expected, "{from} -> {to}");
        }
    }
}
