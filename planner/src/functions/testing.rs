//! Test helpers: call a registered function the way the planner and DataFusion do.
//!
//! `call` runs `coerce_types`, casts the arguments, asks for the return type and invokes the
//! UDF, so tests exercise signature resolution and evaluation together.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use super::scalar_function;

/// Calls function `name` on `args` (all of the same length) and returns the result array.
pub(crate) fn call(name: &str, args: Vec<ArrayRef>) -> Result<ArrayRef> {
    let rows = args.first().map_or(1, |arg| arg.len());
    call_rows(name, args, rows)
}

/// Like `call`, with an explicit row count (for functions without arguments).
pub(crate) fn call_rows(name: &str, args: Vec<ArrayRef>, rows: usize) -> Result<ArrayRef> {
    let udf = scalar_function(name).expect("function is registered");
    let types = args
        .iter()
        .map(|arg| arg.data_type().clone())
        .collect::<Vec<_>>();
    let coerced = udf.coerce_types(&types)?;
    let args = args
        .iter()
        .zip(&coerced)
        .map(|(arg, data_type)| Ok(cast(arg, data_type)?))
        .collect::<Result<Vec<_>>>()?;
    let return_type = udf.return_type(&coerced)?;
    let arg_fields = coerced
        .iter()
        .map(|data_type| Arc::new(Field::new("arg", data_type.clone(), true)))
        .collect();
    let result = udf.invoke_with_args(ScalarFunctionArgs {
        args: args.into_iter().map(ColumnarValue::Array).collect(),
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new(name, return_type.clone(), true)),
        config_options: Arc::new(ConfigOptions::default()),
    })?;
    let array = result.to_array(rows)?;
    assert_eq!(array.data_type(), &return_type, "{name} result type");
    assert_eq!(array.len(), rows, "{name} result length");
    Ok(array)
}

/// The return type function `name` gives for arguments of `types`.
pub(crate) fn return_type(name: &str, types: &[DataType]) -> Result<DataType> {
    let udf = scalar_function(name).expect("function is registered");
    let coerced = udf.coerce_types(types)?;
    udf.return_type(&coerced)
}

/// Row `index` of `array` as a `ScalarValue`.
pub(crate) fn value(array: &ArrayRef, index: usize) -> ScalarValue {
    ScalarValue::try_from_array(array, index).expect("index in range")
}

/// Every row of `array` printed with `ScalarValue`'s `Display` (nulls print as `NULL`).
pub(crate) fn rows(array: &ArrayRef) -> Vec<String> {
    (0..array.len())
        .map(|index| {
            if array.is_null(index) {
                "NULL".to_string()
            } else {
                value(array, index).to_string()
            }
        })
        .collect()
}

/// A LIST<INT> array from optional lists of optional values.
pub(crate) fn int_lists(values: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(values))
}

/// A LIST<STRING> array from optional lists of optional values.
pub(crate) fn string_lists(values: Vec<Option<Vec<Option<&str>>>>) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for value in values {
        match value {
            Some(items) => {
                for item in items {
                    builder.values().append_option(item);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Arc::new(builder.finish())
}
