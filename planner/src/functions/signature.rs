//! ksqlDB function signatures: parameter types, overloads and argument resolution.
//!
//! Resolution follows ksqlDB's UDF index (see `resolve`): overloads taking the arguments as
//! they are, else after implicit widenings (INT -> BIGINT -> DECIMAL -> DOUBLE, STRING -> a
//! time type); two equally ranked candidates are ambiguous. NULL arguments match any
//! parameter. Generic parameters bind to the widest argument type.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::common::{Result, plan_err};

/// Largest precision of a ksqlDB DECIMAL.
const MAX_DECIMAL_PRECISION: u8 = 38;

/// The type of one parameter of a ksqlDB function overload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamType {
    Boolean,
    Int,
    Bigint,
    Double,
    /// Any DECIMAL(p, s); INT and BIGINT arguments widen to DECIMAL(10, 0) and DECIMAL(19, 0).
    Decimal,
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<ParamType>),
    Map(Box<ParamType>, Box<ParamType>),
    /// A type variable, bound to the widest of the arguments it appears in.
    Generic(char),
    /// Any type at all, with no binding.
    Any,
    /// A resolved type (a generic after binding).
    Exact(DataType),
}

/// How an overload computes its result type from the coerced argument types.
#[derive(Debug, Clone)]
pub(crate) enum ReturnType {
    Fixed(DataType),
    /// The coerced type of the argument at this index.
    Arg(usize),
    /// Computed from the coerced argument types; the text names the result for humans.
    Derived(fn(&[DataType]) -> Result<DataType>, &'static str),
}

/// One overload of a ksqlDB function.
#[derive(Debug, Clone)]
pub(crate) struct Overload {
    pub params: Vec<ParamType>,
    /// The parameter at this index repeats zero or more times (ksqlDB's `T...`, at the end or,
    /// for aggregates, before the initial arguments).
    pub variadic: Option<usize>,
    pub return_type: ReturnType,
}

impl Overload {
    pub(crate) fn new(params: Vec<ParamType>, return_type: ReturnType) -> Self {
        Self {
            params,
            variadic: None,
            return_type,
        }
    }

    pub(crate) fn variadic(params: Vec<ParamType>, return_type: ReturnType) -> Self {
        let last = params.len().checked_sub(1);
        Self {
            params,
            variadic: last,
            return_type,
        }
    }
}

/// The overload chosen for a call and the types its arguments are cast to.
#[derive(Debug)]
pub(crate) struct Resolution<'a> {
    pub overload: &'a Overload,
    pub arg_types: Vec<DataType>,
}

impl Resolution<'_> {
    pub(crate) fn return_type(&self) -> Result<DataType> {
        match &self.overload.return_type {
            ReturnType::Fixed(data_type) => Ok(data_type.clone()),
            ReturnType::Arg(index) => Ok(self.arg_types[*index].clone()),
            ReturnType::Derived(derive, _) => derive(&self.arg_types),
        }
    }
}

/// Picks the overload of `name` that accepts `args`, as ksqlDB's UDF index does: first among
/// the overloads that take the arguments as they are (a NULL takes any type), then, when none
/// does, among those that take them after implicit casts. Of several candidates the best is a
/// fixed-arity one over a variadic one, then the one with more parameters, then the one with
/// fewer generic parameters; two equally good ones make the call ambiguous. Among the
/// candidates of the same rank the fewest widenings win.
pub(crate) fn resolve<'a>(
    name: &str,
    overloads: &'a [Overload],
    args: &[DataType],
) -> Result<Resolution<'a>> {
    let candidates = overloads
        .iter()
        .filter_map(|overload| {
            let (cost, arg_types) = match_overload(overload, args)?;
            // A variadic overload given no arguments has none to take its result type from.
            (!matches!(overload.return_type, ReturnType::Arg(index) if index >= arg_types.len()))
                .then_some((
                    cost,
                    Resolution {
                        overload,
                        arg_types,
                    },
                ))
        })
        .collect::<Vec<_>>();
    let exact = candidates.iter().any(|(cost, _)| *cost == 0);
    let mut candidates = candidates
        .into_iter()
        .filter(|(cost, _)| !exact || *cost == 0)
        .map(|(cost, resolution)| (rank(resolution.overload), cost, resolution))
        .collect::<Vec<_>>();
    candidates.sort_by_key(|(rank, cost, _)| (std::cmp::Reverse(*rank), *cost));
    let given = || {
        args.iter()
            .map(|arg| match arg {
                DataType::Null => "null".to_string(),
                other => ksql_type_name(other),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let display = declared_name(name);
    let valid = || {
        overloads
            .iter()
            .map(|overload| format!("{display}{}", describe_overload(overload)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut candidates = candidates.into_iter();
    match (candidates.next(), candidates.next()) {
        (Some((best, _, resolution)), second)
            if second.as_ref().is_none_or(|(next, _, _)| best > *next) =>
        {
            Ok(resolution)
        }
        (Some(_), Some(_)) => plan_err!(
            "Function '{display}' cannot be resolved due to ambiguous method parameters ({}).\n\
             Use CAST() to explicitly cast your parameters to one of the supported function \
             calls.\nValid function calls are:\n{}",
            given(),
            valid()
        ),
        _ => plan_err!(
            "Function '{display}' does not accept parameters ({}).\nValid alternatives are:\n{}",
            given(),
            valid()
        ),
    }
}

/// How ksqlDB orders overloads that all accept a call: fixed arity before variadic, then more
/// parameters, then fewer generic parameters.
pub(crate) fn rank(overload: &Overload) -> (bool, usize, std::cmp::Reverse<usize>) {
    let generics = overload
        .params
        .iter()
        .filter(|param| has_generics(param))
        .count();
    (
        overload.variadic.is_none(),
        overload.params.len(),
        std::cmp::Reverse(generics),
    )
}

fn has_generics(param: &ParamType) -> bool {
    match param {
        ParamType::Generic(_) => true,
        ParamType::Array(element) => has_generics(element),
        ParamType::Map(key, value) => has_generics(key) || has_generics(value),
        _ => false,
    }
}

/// The name of a built-in function as ksqlDB declares it, which its messages show: lower
/// case, but for the few declared in upper case.
pub(crate) fn declared_name(name: &str) -> String {
    const UPPER_CASE: [&str; 3] = ["COALESCE", "IFNULL", "NULLIF"];
    if UPPER_CASE.contains(&name) {
        name.to_string()
    } else {
        name.to_lowercase()
    }
}

/// `(STRING, INT) -> STRING`, for DESCRIBE FUNCTION and error messages.
pub(crate) fn describe_overload(overload: &Overload) -> String {
    let params = overload
        .params
        .iter()
        .enumerate()
        .map(|(index, param)| {
            let name = param_type_name(param);
            if overload.variadic == Some(index) {
                format!("{name}...")
            } else {
                name
            }
        })
        .collect::<Vec<_>>();
    let result = match &overload.return_type {
        ReturnType::Fixed(data_type) => ksql_type_name(data_type),
        ReturnType::Arg(index) => overload
            .params
            .get(*index)
            .or(overload.params.last())
            .map(param_type_name)
            .unwrap_or_default(),
        ReturnType::Derived(_, name) => name.to_string(),
    };
    format!("({}) -> {result}", params.join(", "))
}

pub(crate) fn param_type_name(param: &ParamType) -> String {
    match param {
        ParamType::Boolean => "BOOLEAN".to_string(),
        ParamType::Int => "INT".to_string(),
        ParamType::Bigint => "BIGINT".to_string(),
        ParamType::Double => "DOUBLE".to_string(),
        ParamType::Decimal => "DECIMAL".to_string(),
        ParamType::String => "STRING".to_string(),
        ParamType::Bytes => "BYTES".to_string(),
        ParamType::Date => "DATE".to_string(),
        ParamType::Time => "TIME".to_string(),
        ParamType::Timestamp => "TIMESTAMP".to_string(),
        ParamType::Array(element) => format!("ARRAY<{}>", param_type_name(element)),
        ParamType::Map(key, value) => {
            format!("MAP<{}, {}>", param_type_name(key), param_type_name(value))
        }
        ParamType::Generic(name) => name.to_string(),
        ParamType::Any => "ANY".to_string(),
        ParamType::Exact(data_type) => ksql_type_name(data_type),
    }
}

/// The ksqlDB spelling of an Arrow type, for error messages.
pub(crate) fn ksql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "NULL".to_string(),
        DataType::Boolean => "BOOLEAN".to_string(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INTEGER".to_string(),
        DataType::Int64 => "BIGINT".to_string(),
        DataType::Float32 | DataType::Float64 => "DOUBLE".to_string(),
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".to_string(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".to_string(),
        DataType::Date32 => "DATE".to_string(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".to_string(),
        DataType::Timestamp(_, _) => "TIMESTAMP".to_string(),
        DataType::List(field) | DataType::LargeList(field) => {
            format!("ARRAY<{}>", ksql_type_name(field.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => format!(
                "MAP<{}, {}>",
                ksql_type_name(fields[0].data_type()),
                ksql_type_name(fields[1].data_type())
            ),
            other => format!("MAP<{other}>"),
        },
        DataType::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|field| format!("`{}` {}", field.name(), ksql_type_name(field.data_type())))
                .collect::<Vec<_>>();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// `ARRAY<element>`.
pub(crate) fn list_type(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// `MAP<key, value>`.
pub(crate) fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// TIMESTAMP.
pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// TIME.
pub(crate) fn time_type() -> DataType {
    DataType::Time32(TimeUnit::Millisecond)
}

/// The element type of an ARRAY type.
pub(crate) fn list_element(data_type: &DataType) -> Option<&DataType> {
    match data_type {
        DataType::List(field) | DataType::LargeList(field) => Some(field.data_type()),
        _ => None,
    }
}

/// The key and value types of a MAP type.
pub(crate) fn map_key_value(data_type: &DataType) -> Option<(&DataType, &DataType)> {
    match data_type {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Some((fields[0].data_type(), fields[1].data_type()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The parameter each of `args` arguments stands for: `None` when the overload does not take
/// that many.
pub(crate) fn params_for(overload: &Overload, args: usize) -> Option<Vec<usize>> {
    let fixed = overload.params.len();
    match overload.variadic {
        Some(variadic) => {
            if args + 1 < fixed {
                return None;
            }
            // Parameters after the variadic one take the last arguments.
            let after = fixed - 1 - variadic;
            Some(
                (0..args)
                    .map(|index| {
                        if index < variadic {
                            index
                        } else if index >= args - after {
                            index + fixed - args
                        } else {
                            variadic
                        }
                    })
                    .collect(),
            )
        }
        None => (args == fixed).then(|| (0..fixed).collect()),
    }
}

pub(crate) fn match_overload(
    overload: &Overload,
    args: &[DataType],
) -> Option<(u32, Vec<DataType>)> {
    let params: Vec<&ParamType> = params_for(overload, args.len())?
        .into_iter()
        .map(|index| &overload.params[index])
        .collect();

    let mut bindings = HashMap::new();
    for (param, arg) in params.iter().zip(args) {
        bind(param, arg, &mut bindings)?;
    }

    let mut total = 0;
    let mut coerced = Vec::with_capacity(args.len());
    for (param, arg) in params.iter().zip(args) {
        let (data_type, cost) = coerce(&instantiate(param, &bindings), arg)?;
        total += cost;
        coerced.push(data_type);
    }
    Some((total, coerced))
}

/// Records in `bindings` the types that the generics of `param` take from `arg`.
fn bind(param: &ParamType, arg: &DataType, bindings: &mut HashMap<char, DataType>) -> Option<()> {
    match (param, arg) {
        (ParamType::Generic(name), _) => {
            let bound = match bindings.get(name) {
                Some(previous) => widest(previous, arg)?,
                None => arg.clone(),
            };
            bindings.insert(*name, bound);
        }
        (ParamType::Array(element), _) => {
            if let Some(arg_element) = list_element(arg) {
                bind(element, arg_element, bindings)?;
            }
        }
        (ParamType::Map(key, value), _) => {
            if let Some((arg_key, arg_value)) = map_key_value(arg) {
                bind(key, arg_key, bindings)?;
                bind(value, arg_value, bindings)?;
            }
        }
        _ => {}
    }
    Some(())
}

fn instantiate(param: &ParamType, bindings: &HashMap<char, DataType>) -> ParamType {
    match param {
        ParamType::Generic(name) => {
            ParamType::Exact(bindings.get(name).cloned().unwrap_or(DataType::Null))
        }
        ParamType::Array(element) => ParamType::Array(Box::new(instantiate(element, bindings))),
        ParamType::Map(key, value) => ParamType::Map(
            Box::new(instantiate(key, bindings)),
            Box::new(instantiate(value, bindings)),
        ),
        other => other.clone(),
    }
}

/// Position of a numeric type on ksqlDB's widening ladder.
fn numeric_rank(data_type: &DataType) -> Option<u32> {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Some(0),
        DataType::Int64 => Some(1),
        DataType::Decimal128(_, _) => Some(2),
        DataType::Float32 | DataType::Float64 => Some(3),
        _ => None,
    }
}

/// The DECIMAL that holds every value of an integer or decimal type.
fn as_decimal(data_type: &DataType) -> Option<(u8, i8)> {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::Decimal128(precision, scale) => Some((*precision, *scale)),
        _ => None,
    }
}

/// The narrowest type both `left` and `right` widen to, if any.
pub(crate) fn widest(left: &DataType, right: &DataType) -> Option<DataType> {
    if left == right {
        return Some(left.clone());
    }
    match (left, right) {
        (DataType::Null, other) | (other, DataType::Null) => return Some(other.clone()),
        (DataType::List(left), DataType::List(right)) => {
            return Some(list_type(widest(left.data_type(), right.data_type())?));
        }
        (DataType::Map(_, _), DataType::Map(_, _)) => {
            let (left_key, left_value) = map_key_value(left)?;
            let (right_key, right_value) = map_key_value(right)?;
            return Some(map_type(
                widest(left_key, right_key)?,
                widest(left_value, right_value)?,
            ));
        }
        _ => {}
    }
    if is_string(left) && is_string(right) {
        return Some(DataType::Utf8);
    }
    if is_binary(left) && is_binary(right) {
        return Some(DataType::Binary);
    }
    let left_rank = numeric_rank(left)?;
    let right_rank = numeric_rank(right)?;
    match left_rank.max(right_rank) {
        0 => Some(DataType::Int32),
        1 => Some(DataType::Int64),
        2 => {
            let (left_precision, left_scale) = as_decimal(left)?;
            let (right_precision, right_scale) = as_decimal(right)?;
            let scale = left_scale.max(right_scale);
            let integer_digits = (left_precision as i16 - left_scale as i16)
                .max(right_precision as i16 - right_scale as i16);
            let precision = (integer_digits + scale as i16).min(MAX_DECIMAL_PRECISION as i16);
            Some(DataType::Decimal128(precision as u8, scale))
        }
        _ => Some(DataType::Float64),
    }
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_binary(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

/// The type `arg` is cast to for `param`, and how many widenings that takes.
fn coerce(param: &ParamType, arg: &DataType) -> Option<(DataType, u32)> {
    let numeric = |target: DataType| -> Option<(DataType, u32)> {
        if arg.is_null() {
            return Some((target, 0));
        }
        let from = numeric_rank(arg)?;
        let to = numeric_rank(&target)?;
        if from > to {
            return None;
        }
        // A cast inside one rung (INT16 -> INT) still costs a little.
        let extra = u32::from(arg != &target && from == to);
        Some((target, to - from + extra))
    };
    match param {
        ParamType::Any => Some((arg.clone(), 0)),
        ParamType::Boolean => exact(arg, DataType::Boolean),
        ParamType::Int => numeric(DataType::Int32),
        ParamType::Bigint => numeric(DataType::Int64),
        ParamType::Double => numeric(DataType::Float64),
        ParamType::Decimal => {
            if arg.is_null() {
                // The narrowest decimal, so that it widens to the other arguments' type.
                return Some((DataType::Decimal128(1, 0), 0));
            }
            let (precision, scale) = as_decimal(arg)?;
            let cost = 2 - numeric_rank(arg)?.min(2);
            Some((DataType::Decimal128(precision, scale), cost))
        }
        ParamType::String => (arg.is_null() || is_string(arg)).then_some((DataType::Utf8, 0)),
        ParamType::Bytes => (arg.is_null() || is_binary(arg)).then_some((DataType::Binary, 0)),
        // A string converts implicitly to a date, a time or a timestamp.
        ParamType::Date if is_string(arg) => Some((DataType::Date32, 1)),
        ParamType::Date => exact(arg, DataType::Date32),
        ParamType::Time => match arg {
            DataType::Null | DataType::Time32(_) | DataType::Time64(_) => Some((time_type(), 0)),
            arg if is_string(arg) => Some((time_type(), 1)),
            _ => None,
        },
        ParamType::Timestamp => match arg {
            DataType::Null | DataType::Timestamp(_, None) => Some((timestamp_type(), 0)),
            arg if is_string(arg) => Some((timestamp_type(), 1)),
            _ => None,
        },
        ParamType::Array(element) => match arg {
            DataType::Null => {
                let (element, _) = coerce(element, &DataType::Null)?;
                Some((list_type(element), 0))
            }
            DataType::List(field) | DataType::LargeList(field) => {
                let (element, cost) = coerce(element, field.data_type())?;
                Some((list_type(element), cost))
            }
            _ => None,
        },
        ParamType::Map(key, value) => {
            let (arg_key, arg_value) = match arg {
                DataType::Null => (&DataType::Null, &DataType::Null),
                _ => map_key_value(arg)?,
            };
            let (key, key_cost) = coerce(key, arg_key)?;
            let (value, value_cost) = coerce(value, arg_value)?;
            Some((map_type(key, value), key_cost + value_cost))
        }
        ParamType::Exact(DataType::Struct(wanted)) => match arg {
            DataType::Null => Some((DataType::Struct(wanted.clone()), 0)),
            // A struct parameter takes a struct with the same fields (names ignore case).
            DataType::Struct(given)
                if given.len() == wanted.len()
                    && given.iter().zip(wanted.iter()).all(|(given, wanted)| {
                        given.name().eq_ignore_ascii_case(wanted.name())
                            && coerce(
                                &ParamType::Exact(wanted.data_type().clone()),
                                given.data_type(),
                            )
                            .is_some_and(|(_, cost)| cost == 0)
                    }) =>
            {
                Some((arg.clone(), 0))
            }
            _ => None,
        },
        ParamType::Exact(target) => {
            if arg == target || arg.is_null() {
                return Some((target.clone(), 0));
            }
            let widened = widest(arg, target)?;
            (&widened == target).then_some((widened, 1))
        }
        ParamType::Generic(_) => Some((arg.clone(), 0)),
    }
}

/// The type `param` stands for once the generics of `overload` are bound by the argument
/// types `args` (already coerced); None for a type with no single concrete form (DECIMAL,
/// ANY, an unbound generic).
pub(crate) fn instantiate_type(
    param: &ParamType,
    overload: &Overload,
    args: &[DataType],
) -> Option<DataType> {
    let mut bindings = HashMap::new();
    for (index, arg) in params_for(overload, args.len())?.into_iter().zip(args) {
        bind(&overload.params[index], arg, &mut bindings)?;
    }
    concrete(&instantiate(param, &bindings))
}

fn concrete(param: &ParamType) -> Option<DataType> {
    Some(match param {
        ParamType::Boolean => DataType::Boolean,
        ParamType::Int => DataType::Int32,
        ParamType::Bigint => DataType::Int64,
        ParamType::Double => DataType::Float64,
        ParamType::String => DataType::Utf8,
        ParamType::Bytes => DataType::Binary,
        ParamType::Date => DataType::Date32,
        ParamType::Time => time_type(),
        ParamType::Timestamp => timestamp_type(),
        ParamType::Array(element) => list_type(concrete(element)?),
        ParamType::Map(key, value) => map_type(concrete(key)?, concrete(value)?),
        ParamType::Exact(DataType::Null) => return None,
        ParamType::Exact(data_type) => data_type.clone(),
        ParamType::Decimal | ParamType::Generic(_) | ParamType::Any => return None,
    })
}

fn exact(arg: &DataType, target: DataType) -> Option<(DataType, u32)> {
    (arg.is_null() || arg == &target).then_some((target, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overloads() -> Vec<Overload> {
        vec![
            Overload::new(vec![ParamType::Int], ReturnType::Fixed(DataType::Int32)),
            Overload::new(vec![ParamType::Bigint], ReturnType::Fixed(DataType::Int64)),
            Overload::new(vec![ParamType::Decimal], ReturnType::Arg(0)),
            Overload::new(
                vec![ParamType::Double],
                ReturnType::Fixed(DataType::Float64),
            ),
        ]
    }

    #[test]
    fn resolve_prefers_the_fewest_widenings() {
        let overloads = overloads();
        let cases = [
            (DataType::Int32, DataType::Int32),
            (DataType::Int64, DataType::Int64),
            (DataType::Decimal128(4, 2), DataType::Decimal128(4, 2)),
            (DataType::Float64, DataType::Float64),
        ];
        for (arg, expected) in cases {
            let resolution =
                resolve("F", &overloads, std::slice::from_ref(&arg)).expect("resolves");
            assert_eq!(resolution.arg_types, vec![expected.clone()], "{arg}");
        }
    }

    #[test]
    fn equally_ranked_candidates_are_ambiguous_as_in_ksqldb() {
        // A NULL matches every overload as it is; INT and BIGINT match the BIGINT, DECIMAL
        // and DOUBLE variadic overloads after widening: neither call picks one.
        let variadic = [
            ParamType::Int,
            ParamType::Bigint,
            ParamType::Decimal,
            ParamType::Double,
        ]
        .into_iter()
        .map(|param| Overload::variadic(vec![param.clone(), param], ReturnType::Arg(0)))
        .collect::<Vec<_>>();
        let cases: [(&[Overload], Vec<DataType>, &str); 3] = [
            (
                &overloads(),
                vec![DataType::Null],
                "Function 'f' cannot be resolved due to ambiguous method parameters (null).",
            ),
            (
                &variadic,
                vec![DataType::Int32, DataType::Int64],
                "Function 'greatest' cannot be resolved due to ambiguous method parameters \
                 (INTEGER, BIGINT).",
            ),
            (
                &variadic,
                vec![DataType::Utf8, DataType::Int32],
                "Function 'greatest' does not accept parameters (STRING, INTEGER).\n\
                 Valid alternatives are:\ngreatest(INT, INT...) -> INT",
            ),
        ];
        for (overloads, args, expected) in cases {
            let name = if overloads.len() == variadic.len() && overloads[0].variadic.is_some() {
                "GREATEST"
            } else {
                "F"
            };
            let error = resolve(name, overloads, &args)
                .expect_err("no single overload")
                .strip_backtrace();
            assert!(error.contains(expected), "{error}");
        }
        // An exact match is preferred to the widenings, a fixed arity to a variadic one.
        let resolution =
            resolve("GREATEST", &variadic, &[DataType::Int64, DataType::Int64]).expect("exact");
        assert_eq!(resolution.arg_types, vec![DataType::Int64; 2]);
        let mixed = vec![
            Overload::variadic(
                vec![ParamType::Bigint, ParamType::Bigint],
                ReturnType::Arg(0),
            ),
            Overload::new(
                vec![ParamType::Bigint, ParamType::Bigint],
                ReturnType::Arg(0),
            ),
        ];
        let resolution = resolve("F", &mixed, &[DataType::Int32, DataType::Int32]).expect("fixed");
        assert!(resolution.overload.variadic.is_none());
    }

    #[test]
    fn resolve_rejects_unknown_types_with_alternatives() {
        let error = resolve("F", &overloads(), &[DataType::Utf8])
            .expect_err("no overload takes a string")
            .to_string();
        assert!(
            error.contains("does not accept parameters (STRING)"),
            "{error}"
        );
        assert!(error.contains("(INT)"), "{error}");
    }

    #[test]
    fn a_variadic_call_without_arguments_is_refused_not_a_panic() {
        let overloads = vec![Overload::variadic(
            vec![ParamType::Generic('T')],
            ReturnType::Arg(0),
        )];
        let error = resolve("COALESCE", &overloads, &[])
            .expect_err("no argument to take the type of")
            .to_string();
        assert!(
            error.contains("Function 'COALESCE' does not accept parameters ()"),
            "{error}"
        );
    }

    #[test]
    fn generics_bind_to_the_widest_argument() {
        let overloads = vec![Overload::variadic(
            vec![ParamType::Generic('T')],
            ReturnType::Arg(0),
        )];
        let resolution = resolve(
            "COALESCE",
            &overloads,
            &[DataType::Int32, DataType::Null, DataType::Int64],
        )
        .expect("resolves");
        assert_eq!(resolution.arg_types, vec![DataType::Int64; 3]);
        assert!(resolve("COALESCE", &overloads, &[DataType::Int32, DataType::Utf8]).is_err());
    }

    #[test]
    fn widest_merges_decimals_and_integers() {
        let cases = [
            (DataType::Int32, DataType::Int64, Some(DataType::Int64)),
            (
                DataType::Decimal128(4, 2),
                DataType::Int32,
                Some(DataType::Decimal128(12, 2)),
            ),
            (
                DataType::Decimal128(4, 2),
                DataType::Float64,
                Some(DataType::Float64),
            ),
            (DataType::Utf8, DataType::Int32, None),
        ];
        for (left, right, expected) in cases {
            assert_eq!(widest(&left, &right), expected, "{left} {right}");
        }
    }
}
