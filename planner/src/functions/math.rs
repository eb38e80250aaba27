//! ksqlDB mathematical functions: ABS, CEIL, FLOOR, ROUND, TRUNC, SIGN, roots, logarithms,
//! trigonometry, RANDOM, GREATEST/LEAST and GEO_DISTANCE.
//!
//! Results follow Java's `Math`: NaN and infinities come out as values, not errors. ROUND
//! rounds halves towards positive infinity, like `Math.round`. Decimal rounding is in
//! `math::decimal`.

mod decimal;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    PrimitiveArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::cmp::{gt, lt};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType};
use datafusion::common::cast::{
    as_decimal128_array, as_float64_array, as_int32_array, as_int64_array,
};
use datafusion::common::{Result, internal_err};

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType};
use super::string::{RandomBits, string_at};
use super::udf::{EvalArgs, FunctionDefinition};
use decimal::{DecimalRounding, round_decimal, round_double};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Bigint, Decimal, Double, Int, String as Str};
    let category = FunctionCategory::Mathematical;
    let double = || ReturnType::Fixed(DataType::Float64);
    let bigint = || ReturnType::Fixed(DataType::Int64);
    let same_numeric = || {
        vec![
            Overload::new(vec![Int], ReturnType::Arg(0)),
            Overload::new(vec![Bigint], ReturnType::Arg(0)),
            Overload::new(vec![Decimal], ReturnType::Arg(0)),
            Overload::new(vec![Double], ReturnType::Arg(0)),
        ]
    };
    let rounding = || {
        vec![
            Overload::new(vec![Int], bigint()),
            Overload::new(vec![Bigint], bigint()),
            Overload::new(vec![Double], bigint()),
            Overload::new(vec![Double, Int], double()),
            Overload::new(
                vec![Decimal],
                ReturnType::Derived(integral_decimal, "DECIMAL(p - s, 0)"),
            ),
            Overload::new(vec![Decimal, Int], ReturnType::Arg(0)),
        ]
    };
    let unary = |name, description, eval| {
        FunctionDefinition::new(
            name,
            category,
            description,
            vec![Overload::new(vec![Double], double())],
            eval,
        )
    };
    // One overload per comparable type, as ksqlDB declares them: a call mixing INT and
    // BIGINT matches several after widening and is ambiguous, as in ksqlDB.
    let comparable = || {
        [
            Int,
            Bigint,
            Double,
            Decimal,
            Str,
            ParamType::Bytes,
            ParamType::Date,
            ParamType::Time,
            ParamType::Timestamp,
        ]
        .into_iter()
        .map(|param| {
            Overload::variadic(
                vec![param.clone(), param],
                ReturnType::Derived(widest_argument, "T"),
            )
        })
        .collect::<Vec<_>>()
    };
    vec![
        FunctionDefinition::new(
            "ABS",
            category,
            "Returns the absolute value of a number",
            same_numeric(),
            eval_abs,
        ),
        FunctionDefinition::new(
            "CEIL",
            category,
            "Returns the smallest integer not less than a number",
            same_numeric(),
            eval_ceil,
        ),
        FunctionDefinition::new(
            "FLOOR",
            category,
            "Returns the largest integer not greater than a number",
            same_numeric(),
            eval_floor,
        ),
        FunctionDefinition::new(
            "ROUND",
            category,
            "Rounds a number to a number of decimal places, halves towards positive infinity",
            rounding(),
            eval_round,
        ),
        FunctionDefinition::new(
            "TRUNC",
            category,
            "Truncates a number to a number of decimal places",
            rounding(),
            eval_trunc,
        ),
        FunctionDefinition::new(
            "SIGN",
            category,
            "Returns the sign of a number as -1, 0 or 1",
            vec![
                Overload::new(vec![Int], ReturnType::Fixed(DataType::Int32)),
                Overload::new(vec![Bigint], ReturnType::Fixed(DataType::Int32)),
                Overload::new(vec![Double], ReturnType::Fixed(DataType::Int32)),
            ],
            eval_sign,
        ),
        unary("SQRT", "Returns the square root of a number", |args| {
            eval_unary(args, f64::sqrt)
        }),
        unary("CBRT", "Returns the cube root of a number", |args| {
            eval_unary(args, f64::cbrt)
        }),
        unary("EXP", "Returns e raised to the power of a number", |args| {
            eval_unary(args, f64::exp)
        }),
        unary("LN", "Returns the natural logarithm of a number", |args| {
            eval_unary(args, f64::ln)
        }),
        unary("SIN", "Returns the sine of an angle in radians", |args| {
            eval_unary(args, f64::sin)
        }),
        unary("COS", "Returns the cosine of an angle in radians", |args| {
            eval_unary(args, f64::cos)
        }),
        unary(
            "TAN",
            "Returns the tangent of an angle in radians",
            |args| eval_unary(args, f64::tan),
        ),
        unary(
            "COT",
            "Returns the cotangent of an angle in radians",
            |args| eval_unary(args, |value| 1.0 / value.tan()),
        ),
        unary(
            "ASIN",
            "Returns the arc sine of a number, in radians",
            |args| eval_unary(args, f64::asin),
        ),
        unary(
            "ACOS",
            "Returns the arc cosine of a number, in radians",
            |args| eval_unary(args, f64::acos),
        ),
        unary(
            "ATAN",
            "Returns the arc tangent of a number, in radians",
            |args| eval_unary(args, f64::atan),
        ),
        unary("SINH", "Returns the hyperbolic sine of a number", |args| {
            eval_unary(args, f64::sinh)
        }),
        unary(
            "COSH",
            "Returns the hyperbolic cosine of a number",
            |args| eval_unary(args, f64::cosh),
        ),
        unary(
            "TANH",
            "Returns the hyperbolic tangent of a number",
            |args| eval_unary(args, f64::tanh),
        ),
        unary(
            "DEGREES",
            "Converts an angle from radians to degrees",
            |args| eval_unary(args, f64::to_degrees),
        ),
        unary(
            "RADIANS",
            "Converts an angle from degrees to radians",
            |args| eval_unary(args, f64::to_radians),
        ),
        FunctionDefinition::new(
            "ATAN2",
            category,
            "Returns the angle in radians of the point (x, y), given y and x",
            vec![Overload::new(vec![Double, Double], double())],
            |args| eval_binary(args, f64::atan2),
        ),
        FunctionDefinition::new(
            "POWER",
            category,
            "Returns a base raised to an exponent",
            vec![Overload::new(vec![Double, Double], double())],
            |args| eval_binary(args, f64::powf),
        ),
        FunctionDefinition::new(
            "LOG",
            category,
            "Returns the natural logarithm of a number, or its logarithm in a given base",
            vec![
                Overload::new(vec![Double], double()),
                Overload::new(vec![Double, Double], double()),
            ],
            eval_log,
        ),
        FunctionDefinition::new(
            "PI",
            category,
            "Returns the value of pi",
            vec![Overload::new(vec![], double())],
            |args| {
                Ok(Arc::new(Float64Array::from(vec![
                    std::f64::consts::PI;
                    args.rows
                ])))
            },
        ),
        FunctionDefinition::new(
            "RANDOM",
            category,
            "Returns a random DOUBLE between 0.0 inclusive and 1.0 exclusive",
            vec![Overload::new(vec![], double())],
            eval_random,
        )
        .volatile(),
        FunctionDefinition::new(
            "GREATEST",
            category,
            "Returns the greatest non-null value among its arguments",
            comparable(),
            |args| eval_extreme(args, true),
        ),
        FunctionDefinition::new(
            "LEAST",
            category,
            "Returns the least non-null value among its arguments",
            comparable(),
            |args| eval_extreme(args, false),
        ),
        FunctionDefinition::new(
            "GEO_DISTANCE",
            category,
            "Returns the great-circle distance between two (lat, lon) points in KM or MILES",
            vec![
                Overload::new(vec![Double, Double, Double, Double], double()),
                Overload::new(vec![Double, Double, Double, Double, Str], double()),
            ],
            eval_geo_distance,
        ),
    ]
}

/// `DECIMAL(p - s, 0)` for ROUND and TRUNC of a DECIMAL(p, s).
fn integral_decimal(types: &[DataType]) -> Result<DataType> {
    match types.first() {
        Some(DataType::Decimal128(precision, scale)) => {
            let integer_digits = (i16::from(*precision) - i16::from(*scale)).max(1);
            Ok(DataType::Decimal128(integer_digits as u8, 0))
        }
        other => internal_err!("expected a DECIMAL argument, got {other:?}"),
    }
}

fn map_primitive<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    f: impl Fn(T::Native) -> T::Native,
) -> PrimitiveArray<T> {
    array.unary(f)
}

fn eval_abs(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let array = &args.args[0];
    Ok(match array.data_type() {
        DataType::Int32 => Arc::new(map_primitive(as_int32_array(array)?, i32::wrapping_abs)),
        DataType::Int64 => Arc::new(map_primitive(as_int64_array(array)?, i64::wrapping_abs)),
        DataType::Float64 => Arc::new(map_primitive(as_float64_array(array)?, f64::abs)),
        DataType::Decimal128(precision, scale) => Arc::new(
            map_primitive(as_decimal128_array(array)?, i128::wrapping_abs)
                .with_precision_and_scale(*precision, *scale)?,
        ),
        other => return internal_err!("ABS of {other}"),
    })
}

fn eval_ceil(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_integral(args, f64::ceil, DecimalRounding::Ceiling)
}

fn eval_floor(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_integral(args, f64::floor, DecimalRounding::Floor)
}

/// CEIL and FLOOR: integers pass through, decimals keep their scale.
fn eval_integral(
    args: &EvalArgs<'_>,
    double: fn(f64) -> f64,
    rounding: DecimalRounding,
) -> Result<ArrayRef> {
    let array = &args.args[0];
    Ok(match array.data_type() {
        DataType::Int32 | DataType::Int64 => Arc::clone(array),
        DataType::Float64 => Arc::new(map_primitive(as_float64_array(array)?, double)),
        DataType::Decimal128(precision, scale) => {
            let scale = *scale;
            Arc::new(
                map_primitive(as_decimal128_array(array)?, |value| {
                    round_decimal(value, scale, 0, rounding, true)
                })
                .with_precision_and_scale(*precision, scale)?,
            )
        }
        other => return internal_err!("CEIL/FLOOR of {other}"),
    })
}

/// Java's `Math.round`: nearest integer, halves towards positive infinity, saturating.
fn java_round(value: f64) -> i64 {
    let floor = value.floor();
    let rounded = if value - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    };
    rounded as i64
}

fn eval_round(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_rounding(args, java_round, DecimalRounding::HalfTowardsPositive)
}

fn eval_trunc(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_rounding(args, |value| value as i64, DecimalRounding::Down)
}

/// ROUND and TRUNC over every overload.
fn eval_rounding(
    args: &EvalArgs<'_>,
    to_integer: fn(f64) -> i64,
    rounding: DecimalRounding,
) -> Result<ArrayRef> {
    let value = &args.args[0];
    let places = match args.args.get(1) {
        Some(places) => Some(as_int32_array(places)?),
        None => None,
    };
    Ok(match (value.data_type(), places) {
        (DataType::Int32, None) => Arc::new(
            as_int32_array(value)?
                .iter()
                .map(|value| value.map(i64::from))
                .collect::<Int64Array>(),
        ),
        (DataType::Int64, None) => Arc::clone(value),
        (DataType::Float64, None) => Arc::new(
            as_float64_array(value)?
                .iter()
                .map(|value| value.map(to_integer))
                .collect::<Int64Array>(),
        ),
        (DataType::Float64, Some(places)) => Arc::new(
            as_float64_array(value)?
                .iter()
                .zip(places.iter())
                .map(|(value, places)| Some(round_double(value?, places?, rounding)))
                .collect::<Float64Array>(),
        ),
        (DataType::Decimal128(_, scale), None) => {
            let DataType::Decimal128(precision, _) = args.return_type else {
                return internal_err!("ROUND of a DECIMAL returns a DECIMAL");
            };
            let scale = *scale;
            Arc::new(
                as_decimal128_array(value)?
                    .iter()
                    .map(|value| value.map(|value| round_decimal(value, scale, 0, rounding, false)))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(*precision, 0)?,
            )
        }
        (DataType::Decimal128(precision, scale), Some(places)) => {
            let scale = *scale;
            Arc::new(
                as_decimal128_array(value)?
                    .iter()
                    .zip(places.iter())
                    .map(|(value, places)| {
                        let places = places?.clamp(-100, 100) as i8;
                        Some(round_decimal(value?, scale, places, rounding, true))
                    })
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(*precision, scale)?,
            )
        }
        (other, _) => return internal_err!("ROUND/TRUNC of {other}"),
    })
}

fn eval_sign(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let array = &args.args[0];
    let signs: Int32Array = match array.data_type() {
        DataType::Int32 => as_int32_array(array)?.unary(i32::signum),
        DataType::Int64 => as_int64_array(array)?
            .iter()
            .map(|value| value.map(|value| value.signum() as i32))
            .collect(),
        DataType::Float64 => as_float64_array(array)?
            .iter()
            .map(|value| {
                value.map(|value| {
                    if value > 0.0 {
                        1
                    } else if value < 0.0 {
                        -1
                    } else {
                        0
                    }
                })
            })
            .collect(),
        other => return internal_err!("SIGN of {other}"),
    };
    Ok(Arc::new(signs))
}

fn eval_unary(args: &EvalArgs<'_>, f: fn(f64) -> f64) -> Result<ArrayRef> {
    Ok(Arc::new(map_primitive(as_float64_array(&args.args[0])?, f)))
}

fn eval_binary(args: &EvalArgs<'_>, f: fn(f64, f64) -> f64) -> Result<ArrayRef> {
    let left = as_float64_array(&args.args[0])?;
    let right = as_float64_array(&args.args[1])?;
    Ok(Arc::new(
        left.iter()
            .zip(right.iter())
            .map(|(left, right)| Some(f(left?, right?)))
            .collect::<Float64Array>(),
    ))
}

fn eval_log(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    if args.args.len() == 1 {
        return eval_unary(args, f64::ln);
    }
    eval_binary(args, |base, value| {
        if base <= 0.0 || base == 1.0 {
            f64::NAN
        } else {
            value.ln() / base.ln()
        }
    })
}

fn eval_random(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut random = RandomBits::new();
    Ok(Arc::new(
        (0..args.rows)
            .map(|_| (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
            .collect::<Float64Array>(),
    ))
}

/// The type every argument of GREATEST or LEAST widens to (decimals of different scales).
fn widest_argument(types: &[DataType]) -> Result<DataType> {
    let mut widest = DataType::Null;
    for data_type in types {
        widest = match super::signature::widest(&widest, data_type) {
            Some(widened) => widened,
            None => return internal_err!("GREATEST and LEAST arguments of one type expected"),
        };
    }
    Ok(widest)
}

/// GREATEST or LEAST: the extreme non-null value of each row, or null when all are null.
fn eval_extreme(args: &EvalArgs<'_>, greatest: bool) -> Result<ArrayRef> {
    if args.args.is_empty() || args.return_type == &DataType::Null {
        return Ok(super::udf::null_result(args));
    }
    let values = args
        .args
        .iter()
        .map(|array| Ok(cast(array, args.return_type)?))
        .collect::<Result<Vec<_>>>()?;
    let mut result = Arc::clone(&values[0]);
    for candidate in &values[1..] {
        // Take the candidate where it beats the current value or the current value is null.
        let beats = if greatest {
            gt(candidate, &result)?
        } else {
            lt(candidate, &result)?
        };
        let take = (0..args.rows)
            .map(|row| {
                Some(
                    candidate.is_valid(row)
                        && (result.is_null(row) || (beats.is_valid(row) && beats.value(row))),
                )
            })
            .collect::<BooleanArray>();
        result = zip(&take, candidate, &result)?;
    }
    Ok(result)
}

fn eval_geo_distance(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let coordinates = args.args[..4]
        .iter()
        .map(|array| as_float64_array(array))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let radius = match args.args.get(4) {
            Some(units) => earth_radius(string_at(units, row)?),
            None => Some(EARTH_RADIUS_KM),
        };
        let values = coordinates
            .iter()
            .map(|column| column.is_valid(row).then(|| column.value(row)))
            .collect::<Option<Vec<_>>>();
        out.push(match (values, radius) {
            (Some(values), Some(radius)) => {
                geo_distance(values[0], values[1], values[2], values[3], radius)
            }
            _ => None,
        });
    }
    Ok(Arc::new(Float64Array::from(out)))
}

const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3959.0;

/// The earth radius for a unit name; None for an unknown unit (ksqlDB fails the call).
fn earth_radius(units: Option<&str>) -> Option<f64> {
    let Some(units) = units.map(str::trim).filter(|units| !units.is_empty()) else {
        return Some(EARTH_RADIUS_KM);
    };
    match units.to_lowercase().as_str() {
        "mi" | "mile" | "miles" => Some(EARTH_RADIUS_MILES),
        "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => Some(EARTH_RADIUS_KM),
        _ => None,
    }
}

/// Haversine distance; None when a coordinate is out of range.
fn geo_distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64, radius: f64) -> Option<f64> {
    if !(-90.0..=90.0).contains(&lat1)
        || !(-90.0..=90.0).contains(&lat2)
        || !(-180.0..=180.0).contains(&lon1)
        || !(-180.0..=180.0).contains(&lon2)
    {
        return None;
    }
    let haversin = |value: f64| (value / 2.0).sin().powi(2);
    let delta_lat = (lat2 - lat1).to_radians();
    let delta_lon = (lon2 - lon1).to_radians();
    let a = haversin(delta_lat)
        + haversin(delta_lon) * lat1.to_radians().cos() * lat2.to_radians().cos();
    Some(2.0 * a.sqrt().asin() * radius)
}

#[cfg(test)]
mod tests;
