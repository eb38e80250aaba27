//! ksqlDB aggregate functions (UDAFs): names, argument checking and result types.
//!
//! `resolve_aggregate` turns a call such as `TOPK(price, 3)` into an `AggregateSignature`:
//! which leading arguments are evaluated per row (and the types they are cast to), which
//! trailing arguments are literal parameters, and the result type. The accumulators that
//! run the functions live in `executor::aggregate::function`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use parser::ast::DataType as SqlType;

use crate::types::{arrow_type_name, to_arrow};

/// A resolved aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateSignature {
    /// Upper-case ksqlDB name, e.g. "COUNT".
    pub name: String,
    /// How many leading arguments are evaluated per row.
    pub value_args: usize,
    /// The types the value arguments are cast to (`value_args` entries).
    pub arg_types: Vec<DataType>,
    /// The remaining arguments: literal parameters (TOPK's k, LATEST_BY_OFFSET's n and
    /// ignoreNulls), in call order, as written.
    pub params: Vec<ScalarValue>,
    pub return_type: DataType,
    /// Whether the function can aggregate a table (ksqlDB's `TableUdaf`: it can undo a
    /// row's contribution). ksqlDB rejects the others on table sources.
    pub table_supported: bool,
    /// Whether the function's intermediate state is an ARRAY, MAP or STRUCT, which ksqlDB
    /// refuses with value formats that cannot hold them (DELIMITED).
    pub complex_intermediate: bool,
}

impl AggregateSignature {
    /// The property that caps the size of the result (`ksql.functions.collect_list.limit`,
    /// `ksql.functions.collect_set.limit`), if the function has one.
    pub fn limit_property(&self) -> Option<&'static str> {
        match self.name.as_str() {
            "COLLECT_LIST" => Some("ksql.functions.collect_list.limit"),
            "COLLECT_SET" => Some("ksql.functions.collect_set.limit"),
            _ => None,
        }
    }
}

/// Every aggregate function, with whether it is a ksqlDB `TableUdaf` and whether its
/// intermediate state is complex.
const FUNCTIONS: &[(&str, bool, bool)] = &[
    // Resolved and run through the user-function API (`functions::user`).
    ("ATTR", true, true),
    ("AVG", true, true),
    ("COLLECT_LIST", true, true),
    ("COLLECT_SET", false, true),
    ("CORRELATION", true, true),
    ("COUNT", true, false),
    ("COUNT_DISTINCT", false, true),
    ("EARLIEST_BY_OFFSET", false, true),
    ("HISTOGRAM", true, true),
    ("LATEST_BY_OFFSET", false, true),
    ("MAX", false, false),
    ("MIN", false, false),
    ("STDDEV_SAMP", true, true),
    ("STDDEV_SAMPLE", true, true),
    ("SUM", true, false),
    ("SUM_LIST", true, false),
    ("TOPK", false, true),
    ("TOPKDISTINCT", false, true),
];

/// True when `name` (any case) is an aggregate function (built-in or user).
pub fn is_aggregate_function(name: &str) -> bool {
    let upper = name.to_uppercase();
    is_builtin_aggregate(&upper) || super::user::is_aggregate(&upper)
}

/// True when `name` (upper-case) is a built-in aggregate function.
pub(crate) fn is_builtin_aggregate(name: &str) -> bool {
    FUNCTIONS.iter().any(|(function, _, _)| *function == name)
}

/// Every aggregate function name, sorted.
pub fn aggregate_function_names() -> Vec<&'static str> {
    FUNCTIONS.iter().map(|(name, _, _)| *name).collect()
}

/// Resolves a call of aggregate `name` (any case).
///
/// `arg_types`: the Arrow types of all argument expressions (`COUNT(*)` has none);
/// `literals[i]`: the value of argument `i` when it is a literal. Errors carry ksqlDB's
/// message text.
pub fn resolve_aggregate(
    name: &str,
    arg_types: &[DataType],
    literals: &[Option<ScalarValue>],
) -> Result<AggregateSignature, String> {
    resolve_aggregate_with_sql(name, arg_types, literals, &[])
}

/// Like `resolve_aggregate`, with the SQL text of each argument for messages such as
/// `... must be a literal constant, but was expression: 'F0'`.
pub fn resolve_aggregate_with_sql(
    name: &str,
    arg_types: &[DataType],
    literals: &[Option<ScalarValue>],
    arg_sql: &[String],
) -> Result<AggregateSignature, String> {
    let upper = name.to_uppercase();
    if let Some(resolved) = super::user::resolve_aggregate(&upper, arg_types, literals, arg_sql) {
        return resolved;
    }
    let Some((name, table_supported, complex_intermediate)) = FUNCTIONS
        .iter()
        .find(|(function, _, _)| *function == upper)
        .copied()
    else {
        return Err(format!("unknown aggregate function '{upper}'"));
    };
    let call = Call {
        name,
        arg_types,
        literals,
        arg_sql,
    };
    let (value_args, arg_types, params, return_type) = match name {
        "COUNT" => match arg_types {
            [] => (0, vec![], vec![], DataType::Int64),
            [arg] => {
                let Some(arg) = canonical(arg) else {
                    return Err(call.mismatch(&["()", "(ANY)"]));
                };
                (1, vec![arg], vec![], DataType::Int64)
            }
            _ => return Err(call.mismatch(&["()", "(ANY)"])),
        },
        "SUM" => {
            let [arg] = arg_types else {
                return Err(call.mismatch(SUM_ALTERNATIVES));
            };
            let arg = match canonical(arg) {
                Some(arg @ (DataType::Int32 | DataType::Int64 | DataType::Float64)) => arg,
                Some(arg @ DataType::Decimal128(_, _)) => arg,
                _ => return Err(call.mismatch(SUM_ALTERNATIVES)),
            };
            (1, vec![arg.clone()], vec![], arg)
        }
        "SUM_LIST" => {
            let element = match arg_types {
                [DataType::List(field)] => canonical(field.data_type()),
                _ => None,
            };
            let Some(element @ (DataType::Int32 | DataType::Int64 | DataType::Float64)) = element
            else {
                return Err(call.mismatch(&["(ARRAY<INT>)", "(ARRAY<BIGINT>)", "(ARRAY<DOUBLE>)"]));
            };
            (1, vec![list_of(element.clone())], vec![], element)
        }
        "AVG" | "STDDEV_SAMP" | "STDDEV_SAMPLE" => {
            let [arg] = arg_types else {
                return Err(call.mismatch(NUMBER_ALTERNATIVES));
            };
            let arg = match canonical(arg) {
                Some(arg @ (DataType::Int32 | DataType::Int64 | DataType::Float64)) => arg,
                Some(DataType::Decimal128(_, _)) => DataType::Float64,
                _ => return Err(call.mismatch(NUMBER_ALTERNATIVES)),
            };
            (1, vec![arg], vec![], DataType::Float64)
        }
        "CORRELATION" => {
            if arg_types.len() != 2 || !arg_types.iter().all(is_number) {
                return Err(call.mismatch(&["(DOUBLE, DOUBLE)"]));
            }
            (
                2,
                vec![DataType::Float64, DataType::Float64],
                vec![],
                DataType::Float64,
            )
        }
        "MIN" | "MAX" => {
            let arg = match arg_types {
                [arg] => canonical(arg).filter(is_comparable),
                _ => None,
            };
            let Some(arg) = arg else {
                return Err(call.mismatch(COMPARABLE_ALTERNATIVES));
            };
            (1, vec![arg.clone()], vec![], arg)
        }
        "COUNT_DISTINCT" => {
            let Some(arg) = arg_types
                .first()
                .and_then(canonical)
                .filter(|_| arg_types.len() == 1)
            else {
                return Err(call.mismatch(&["(ANY)"]));
            };
            (1, vec![arg], vec![], DataType::Int64)
        }
        "COLLECT_LIST" | "COLLECT_SET" => {
            let arg = match arg_types {
                [arg] => canonical(arg),
                _ => None,
            };
            let Some(arg) = arg else {
                return Err(call.mismatch(&["(ANY)"]));
            };
            (1, vec![arg.clone()], vec![], list_of(arg))
        }
        "HISTOGRAM" => {
            let arg = match arg_types {
                [arg] => canonical(arg),
                _ => None,
            };
            if arg != Some(DataType::Utf8) {
                return Err(call.mismatch(&["(STRING)"]));
            }
            let return_type = to_arrow(&SqlType::Map(
                Box::new(SqlType::String),
                Box::new(SqlType::Bigint),
            ))
            .map_err(|error| error.to_string())?;
            (1, vec![DataType::Utf8], vec![], return_type)
        }
        "EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET" => {
            return resolve_by_offset(&call, table_supported, complex_intermediate);
        }
        "TOPK" | "TOPKDISTINCT" => {
            return resolve_topk(&call, table_supported, complex_intermediate);
        }
        other => return Err(format!("unknown aggregate function '{other}'")),
    };
    Ok(AggregateSignature {
        name: name.to_string(),
        value_args,
        arg_types,
        params,
        return_type,
        table_supported,
        complex_intermediate,
    })
}

const SUM_ALTERNATIVES: &[&str] = &["(INT)", "(BIGINT)", "(DOUBLE)", "(DECIMAL)"];
const NUMBER_ALTERNATIVES: &[&str] = &["(INT)", "(BIGINT)", "(DOUBLE)"];
const COMPARABLE_ALTERNATIVES: &[&str] = &[
    "(INT)",
    "(BIGINT)",
    "(DOUBLE)",
    "(DECIMAL)",
    "(DATE)",
    "(TIME)",
    "(TIMESTAMP)",
    "(STRING)",
    "(BYTES)",
];

/// The arguments of one call, for checks and messages.
struct Call<'a> {
    name: &'static str,
    arg_types: &'a [DataType],
    literals: &'a [Option<ScalarValue>],
    arg_sql: &'a [String],
}

impl Call<'_> {
    /// ksqlDB's message for arguments no variant accepts.
    fn mismatch(&self, alternatives: &[&str]) -> String {
        let given = self
            .arg_types
            .iter()
            .map(arrow_type_name)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "Function '{}' does not accept parameters ({given}); valid alternatives are: {}",
            self.name,
            alternatives.join(", ")
        )
    }

    /// The literal value of argument `index`, or ksqlDB's error when it is an expression.
    fn literal(&self, index: usize) -> Result<&ScalarValue, String> {
        match self.literals.get(index) {
            Some(Some(value)) => Ok(value),
            _ => {
                let sql = self.arg_sql.get(index).map(String::as_str).unwrap_or("?");
                Err(format!(
                    "Parameter {} passed to function {} must be a literal constant, but was expression: '{sql}'",
                    index + 1,
                    self.name
                ))
            }
        }
    }
}

/// `EARLIEST_BY_OFFSET(col [, n] [, ignoreNulls])`: `col`'s type, or `ARRAY` of it with `n`.
fn resolve_by_offset(
    call: &Call<'_>,
    table_supported: bool,
    complex_intermediate: bool,
) -> Result<AggregateSignature, String> {
    const ALTERNATIVES: &[&str] = &[
        "(ANY)",
        "(ANY, BOOLEAN)",
        "(ANY, INT)",
        "(ANY, INT, BOOLEAN)",
    ];
    let Some(value_type) = call.arg_types.first().and_then(canonical) else {
        return Err(call.mismatch(ALTERNATIVES));
    };
    let mut params = Vec::new();
    let mut n = None;
    let mut ignore_nulls = None;
    for index in 1..call.arg_types.len() {
        let value = call.literal(index)?;
        match (index, integer(value), value) {
            (1, Some(count), _) => n = Some(count),
            (1 | 2, None, ScalarValue::Boolean(Some(flag))) if ignore_nulls.is_none() => {
                ignore_nulls = Some(*flag)
            }
            _ => return Err(call.mismatch(ALTERNATIVES)),
        }
        params.push(value.clone());
    }
    if call.arg_types.len() == 3 && (n.is_none() || ignore_nulls.is_none()) {
        return Err(call.mismatch(ALTERNATIVES));
    }
    if let Some(n) = n
        && n <= 0
    {
        let prefix = if call.name == "EARLIEST_BY_OFFSET" {
            "earliestN"
        } else {
            "latestN"
        };
        return Err(format!("{prefix} must be 1 or greater"));
    }
    let return_type = if n.is_some() {
        list_of(value_type.clone())
    } else {
        value_type.clone()
    };
    Ok(AggregateSignature {
        name: call.name.to_string(),
        value_args: 1,
        arg_types: vec![value_type],
        params,
        return_type,
        table_supported,
        complex_intermediate,
    })
}

/// `TOPK(col, k)`, `TOPK(col, other..., k)`, `TOPKDISTINCT(col, k)`: `ARRAY` of `col`'s type,
/// or of `STRUCT<sort_col, col0, ...>` when TOPK carries other columns.
fn resolve_topk(
    call: &Call<'_>,
    table_supported: bool,
    complex_intermediate: bool,
) -> Result<AggregateSignature, String> {
    let alternatives: &[&str] = if call.name == "TOPK" {
        &["(T, INT)", "(T, ANY..., INT)"]
    } else {
        &["(T, INT)"]
    };
    let count = call.arg_types.len();
    if count < 2 || (call.name == "TOPKDISTINCT" && count != 2) {
        return Err(call.mismatch(alternatives));
    }
    let sort_type = canonical(&call.arg_types[0]).filter(is_comparable);
    let Some(sort_type) = sort_type else {
        return Err(call.mismatch(alternatives));
    };
    let k_value = call.literal(count - 1)?;
    let Some(k) = integer(k_value) else {
        return Err(call.mismatch(alternatives));
    };
    if k <= 0 {
        return Err(format!("{} size must be 1 or greater", call.name));
    }
    let mut arg_types = vec![sort_type.clone()];
    for arg in &call.arg_types[1..count - 1] {
        let Some(arg) = canonical(arg) else {
            return Err(call.mismatch(alternatives));
        };
        arg_types.push(arg);
    }
    let element = if arg_types.len() == 1 {
        sort_type
    } else {
        let mut fields = vec![Field::new("sort_col", sort_type, true)];
        for (index, arg) in arg_types[1..].iter().enumerate() {
            fields.push(Field::new(format!("col{index}"), arg.clone(), true));
        }
        DataType::Struct(Fields::from(fields))
    };
    Ok(AggregateSignature {
        name: call.name.to_string(),
        value_args: count - 1,
        arg_types,
        params: vec![k_value.clone()],
        return_type: list_of(element),
        table_supported,
        complex_intermediate,
    })
}

/// `ARRAY<element>` as Eddy represents it (see `types::to_arrow`).
fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// The Eddy type an argument is cast to: narrow integers widen to INT or BIGINT, floats
/// to DOUBLE, string and binary variants to STRING and BYTES. None for NULL and types
/// Eddy has no SQL type for.
fn canonical(data_type: &DataType) -> Option<DataType> {
    Some(match data_type {
        DataType::Null => return None,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            DataType::Int32
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        other @ (DataType::Boolean
        | DataType::Decimal128(_, _)
        | DataType::Date32
        | DataType::Time32(_)
        | DataType::Timestamp(_, _)
        | DataType::List(_)
        | DataType::Map(_, _)
        | DataType::Struct(_)) => other.clone(),
        _ => return None,
    })
}

/// True for a numeric type (INT, BIGINT, DOUBLE, DECIMAL).
fn is_number(data_type: &DataType) -> bool {
    matches!(
        canonical(data_type),
        Some(DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _))
    )
}

/// True for the types MIN, MAX and TOPK order.
fn is_comparable(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Date32
            | DataType::Time32(_)
            | DataType::Timestamp(_, _)
            | DataType::Utf8
            | DataType::Binary
    )
}

/// The value of an integer literal.
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

mod attr;
#[cfg(test)]
mod tests;

pub(crate) use attr::attr;
