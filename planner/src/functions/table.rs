//! ksqlDB's built-in table functions: EXPLODE and CUBE_EXPLODE.
//!
//! A table function gives zero or more values per input row. In an expression it is a
//! placeholder `ScalarUDF` (so that it type-checks and nests like any call); the planner
//! takes each call out of the select list into a table-function node, and the executor
//! expands the rows with `TableFunctionKind::expand`. The placeholder is never evaluated.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, ListArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_list_array;
use datafusion::common::{Result, exec_err, internal_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::signature::ksql_type_name;
use super::user::{self, TableUdf};

/// The largest array CUBE_EXPLODE takes: 2^n rows come out of an array of n elements.
const CUBE_MAX_ELEMENTS: usize = 20;

/// Which table function a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFunctionKind {
    /// `EXPLODE(ARRAY<T>)`: one row per element, in order.
    Explode,
    /// `CUBE_EXPLODE(ARRAY<T>)`: one row per combination of the elements, each element
    /// kept or replaced by null; a null element only once (as null).
    CubeExplode,
    /// A registered user table function.
    User(&'static TableUdf),
}

impl TableFunctionKind {
    /// Every built-in table function, by name order.
    pub const ALL: [TableFunctionKind; 2] =
        [TableFunctionKind::CubeExplode, TableFunctionKind::Explode];

    /// The upper-case ksqlDB name.
    pub fn name(self) -> &'static str {
        match self {
            TableFunctionKind::Explode => "EXPLODE",
            TableFunctionKind::CubeExplode => "CUBE_EXPLODE",
            TableFunctionKind::User(udtf) => udtf.name(),
        }
    }

    /// One line, for DESCRIBE FUNCTION.
    pub fn description(self) -> &'static str {
        match self {
            TableFunctionKind::Explode => {
                "Explodes an array. This function outputs one value for each element of the array."
            }
            TableFunctionKind::CubeExplode => {
                "Takes as argument a list of columns and outputs all possible combinations of them."
            }
            TableFunctionKind::User(_) => "",
        }
    }

    /// The overloads as ksqlDB lists them, for messages and DESCRIBE FUNCTION: parameter
    /// type, parameter name and return type.
    pub fn signatures(self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            TableFunctionKind::Explode => &[
                ("ARRAY<DECIMAL>", "input", "DECIMAL"),
                ("ARRAY<T>", "list", "T"),
            ],
            TableFunctionKind::CubeExplode => &[("ARRAY<T>", "columns", "ARRAY<T>")],
            // DESCRIBE FUNCTION reads user functions' overloads from `user::describe`.
            TableFunctionKind::User(_) => &[],
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .or_else(|| user::table_function(name).map(TableFunctionKind::User))
    }

    /// The type of the values a call over `arg_types` gives, or ksqlDB's error when it does
    /// not take them.
    pub fn return_type(self, arg_types: &[DataType]) -> Result<DataType, String> {
        if let TableFunctionKind::User(udtf) = self {
            return udtf.return_type(arg_types);
        }
        match arg_types {
            [DataType::List(element)] => Ok(match self {
                TableFunctionKind::Explode => element.data_type().clone(),
                TableFunctionKind::CubeExplode | TableFunctionKind::User(_) => {
                    DataType::List(Arc::clone(element))
                }
            }),
            _ => {
                let name = self.name().to_lowercase();
                let given: Vec<String> = arg_types.iter().map(ksql_type_name).collect();
                let valid: Vec<String> = self
                    .signatures()
                    .iter()
                    .map(|(param_type, param, _)| format!("{name}({param_type} {param})"))
                    .collect();
                Err(format!(
                    "Function '{name}' does not accept parameters ({}).\nValid alternatives are:\n{}",
                    given.join(", "),
                    valid.join("\n")
                ))
            }
        }
    }

    /// Expands `input` (the argument's values, one per row): the values of every row, one
    /// after the other, and where each row's values start (`rows + 1` offsets). A null or
    /// empty array gives no values (CUBE_EXPLODE: an empty array gives one empty array).
    pub fn expand(self, input: &ArrayRef) -> Result<(ArrayRef, Vec<usize>)> {
        self.expand_args(std::slice::from_ref(input), input.len())
    }

    /// Like `expand`, for calls of any number of arguments (`rows` values each).
    pub fn expand_args(self, args: &[ArrayRef], rows: usize) -> Result<(ArrayRef, Vec<usize>)> {
        if let TableFunctionKind::User(udtf) = self {
            return udtf.expand(args, rows);
        }
        let [input] = args else {
            return internal_err!("{} takes one argument", self.name());
        };
        let list = as_list_array(input)?;
        match self {
            TableFunctionKind::Explode => Ok(explode(list)),
            TableFunctionKind::CubeExplode => cube_explode(list),
            TableFunctionKind::User(_) => unreachable!("handled above"),
        }
    }
}

fn explode(list: &ListArray) -> (ArrayRef, Vec<usize>) {
    let offsets = list.value_offsets();
    let first = offsets[0] as usize;
    let mut starts = Vec::with_capacity(list.len() + 1);
    let mut indices = Vec::new();
    starts.push(0);
    for row in 0..list.len() {
        if list.is_valid(row) {
            indices.extend(offsets[row] as u32..offsets[row + 1] as u32);
        }
        starts.push(indices.len());
    }
    let contiguous = list.null_count() == 0;
    let values = if contiguous {
        let end = offsets[list.len()] as usize;
        list.values().slice(first, end - first)
    } else {
        take(list.values(), &UInt32Array::from(indices), None)
            .expect("indices are within the list's values")
    };
    (values, starts)
}

fn cube_explode(list: &ListArray) -> Result<(ArrayRef, Vec<usize>)> {
    let offsets = list.value_offsets();
    let elements = list.values();
    let mut starts = Vec::with_capacity(list.len() + 1);
    let mut child: Vec<Option<u32>> = Vec::new();
    let mut child_offsets: Vec<i32> = vec![0];
    starts.push(0);
    for row in 0..list.len() {
        if list.is_valid(row) {
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            let n = end - start;
            if n > CUBE_MAX_ELEMENTS {
                return exec_err!(
                    "CUBE_EXPLODE takes arrays of at most {CUBE_MAX_ELEMENTS} elements, not {n}"
                );
            }
            // Bit `n - 1 - i` of a combination keeps element `i`; a null element is only
            // ever null, so the combinations keeping it are left out.
            let null_mask = (0..n)
                .filter(|i| elements.is_null(start + i))
                .fold(0u32, |mask, i| mask | 1 << (n - 1 - i));
            for combination in 0..1u32 << n {
                if combination & null_mask != 0 {
                    continue;
                }
                child.extend(
                    (0..n).map(|i| {
                        (combination & 1 << (n - 1 - i) != 0).then_some((start + i) as u32)
                    }),
                );
                child_offsets.push(child.len() as i32);
            }
        }
        starts.push(child_offsets.len() - 1);
    }
    let DataType::List(field) = list.data_type() else {
        return internal_err!("CUBE_EXPLODE over a non-list");
    };
    let values = take(elements, &UInt32Array::from(child), None)?;
    let cubes = ListArray::try_new(
        Arc::clone(field),
        OffsetBuffer::new(child_offsets.into()),
        values,
        None,
    )?;
    Ok((Arc::new(cubes), starts))
}

/// The table function named `name` (upper-case), as the placeholder UDF that stands for its
/// calls in expressions.
pub fn table_function(name: &str) -> Option<Arc<ScalarUDF>> {
    static UDFS: OnceLock<Vec<Arc<ScalarUDF>>> = OnceLock::new();
    let kind = TableFunctionKind::from_name(name)?;
    if let TableFunctionKind::User(_) = kind {
        return Some(Arc::new(ScalarUDF::new_from_impl(
            TableFunctionPlaceholder {
                kind,
                signature: Signature::user_defined(Volatility::Volatile),
            },
        )));
    }
    let udfs = UDFS.get_or_init(|| {
        TableFunctionKind::ALL
            .into_iter()
            .map(|kind| {
                Arc::new(ScalarUDF::new_from_impl(TableFunctionPlaceholder {
                    kind,
                    signature: Signature::user_defined(Volatility::Immutable),
                }))
            })
            .collect()
    });
    udfs.iter()
        .find(|udf| udf.name() == kind.name())
        .map(Arc::clone)
}

/// The table function `udf` stands for, when it is a table function's placeholder.
pub fn table_function_kind(udf: &ScalarUDF) -> Option<TableFunctionKind> {
    let inner: &dyn std::any::Any = udf.inner().as_ref();
    inner
        .downcast_ref::<TableFunctionPlaceholder>()
        .map(|placeholder| placeholder.kind)
}

/// Whether `name` (upper-case) is a table function (built-in or user).
pub fn is_table_function(name: &str) -> bool {
    TableFunctionKind::from_name(name).is_some()
}

/// Whether `name` (upper-case) is a built-in table function.
pub(crate) fn is_builtin_table_function(name: &str) -> bool {
    TableFunctionKind::ALL
        .into_iter()
        .any(|kind| kind.name() == name)
}

/// A table function call inside an expression, before the planner takes it out. Its
/// arguments are not coerced; a type it does not take gives a null type here and ksqlDB's
/// error when the planner takes the call out.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TableFunctionPlaceholder {
    kind: TableFunctionKind,
    signature: Signature,
}

impl ScalarUDFImpl for TableFunctionPlaceholder {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match self.kind {
            // A user function's arguments are cast to its overload's types.
            TableFunctionKind::User(udtf) => Ok(udtf
                .coerced_types(arg_types)
                .unwrap_or_else(|_| arg_types.to_vec())),
            _ => Ok(arg_types.to_vec()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.kind.return_type(arg_types).unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        internal_err!(
            "table function {} evaluated as a scalar function",
            self.kind.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, Int64Builder, ListBuilder};

    use super::*;

    fn lists(rows: &[Option<Vec<Option<i64>>>]) -> ArrayRef {
        let mut builder = ListBuilder::new(Int64Builder::new());
        for row in rows {
            match row {
                Some(values) => {
                    for value in values {
                        builder.values().append_option(*value);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn explode_gives_each_element_and_nothing_for_empty_or_null_arrays() {
        let input = lists(&[
            Some(vec![Some(1), Some(2)]),
            Some(vec![]),
            None,
            Some(vec![None, Some(3)]),
        ]);
        let (values, starts) = TableFunctionKind::Explode.expand(&input).unwrap();
        assert_eq!(starts, [0, 2, 2, 2, 4]);
        let values = values.as_any().downcast_ref::<Int64Array>().unwrap();
        let values: Vec<Option<i64>> = values.iter().collect();
        assert_eq!(values, [Some(1), Some(2), None, Some(3)]);
    }

    #[test]
    fn cube_explode_gives_every_combination_and_null_elements_once() {
        let input = lists(&[
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(1), None]),
            None,
        ]);
        let (values, starts) = TableFunctionKind::CubeExplode.expand(&input).unwrap();
        assert_eq!(starts, [0, 4, 6, 6]);
        let cubes = as_list_array(&values).unwrap();
        let rows: Vec<Vec<Option<i64>>> = (0..cubes.len())
            .map(|row| {
                let value = cubes.value(row);
                let value = value.as_any().downcast_ref::<Int64Array>().unwrap();
                value.iter().collect()
            })
            .collect();
        assert_eq!(
            rows,
            [
                vec![None, None],
                vec![None, Some(2)],
                vec![Some(1), None],
                vec![Some(1), Some(2)],
                vec![None, None],
                vec![Some(1), None],
            ]
        );
    }

    #[test]
    fn table_functions_reject_maps_with_ksqldb_message() {
        let map = DataType::Map(
            Arc::new(datafusion::arrow::datatypes::Field::new(
                "entries",
                DataType::Struct(
                    vec![
                        datafusion::arrow::datatypes::Field::new("key", DataType::Utf8, false),
                        datafusion::arrow::datatypes::Field::new("value", DataType::Int32, true),
                    ]
                    .into(),
                ),
                false,
            )),
            false,
        );
        assert_eq!(
            TableFunctionKind::Explode.return_type(&[map]).unwrap_err(),
            "Function 'explode' does not accept parameters (MAP<STRING, INTEGER>).\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)"
        );
        assert_eq!(
            TableFunctionKind::CubeExplode.return_type(&[]).unwrap_err(),
            "Function 'cube_explode' does not accept parameters ().\nValid alternatives are:\ncube_explode(ARRAY<T> columns)"
        );
    }
}
