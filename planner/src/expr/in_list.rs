//! ksqlDB's `IN` predicate: the value and the list items compared in their common type; the
//! keys and the values of a `MAP` constructor converted the same way.
//!
//! As ksqlDB coerces a user list: numbers widen to the widest of them, arrays and maps by
//! element, structs by field name; a string literal converts to the others' type (a number, a
//! boolean) or is refused as invalid input; any other mix is refused. A struct constructor
//! lacking a field of the value's type has it null; one with a field the type lacks never
//! matches. The value matches an item when they are equal; a null value matches nothing.

use arrow::datatypes::{DataType as ArrowType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{Case, InList};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator};
use sqlparser::ast::{Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Value};

use super::{ExprLowering, FormattedExpr, normalize_ident, number_literal};
use crate::functions::widest;
use crate::types::arrow_type_name;
use crate::{PlanError, Result};

/// The start of ksqlDB's messages for operands of `IN` it does not compare.
const PREDICATE: &str = "Invalid Predicate: ";

/// The start of ksqlDB's message for a string literal that does not convert.
const INVALID_INPUT: &str = "Invalid Predicate: invalid input syntax for type ";

impl ExprLowering<'_> {
    /// `value [NOT] IN (list)`.
    pub(super) fn in_list(&self, value: &SqlExpr, list: &[SqlExpr], negated: bool) -> Result<Expr> {
        let operands = std::iter::once(value)
            .chain(list)
            .map(|sql| {
                let expr = self.lower_inner(sql)?;
                let data_type = expr.get_type(self.schema)?;
                Ok((sql, expr, data_type))
            })
            .collect::<Result<Vec<_>>>()?;
        let target = self.common_type(&operands)?;
        let Some(target) = target else {
            // Only NULLs and strings: compared as they are.
            let list = operands[1..]
                .iter()
                .map(|(_, expr, _)| expr.clone())
                .collect();
            return Ok(Expr::InList(InList::new(
                Box::new(operands[0].1.clone()),
                list,
                negated,
            )));
        };
        let mut coerced = Vec::with_capacity(operands.len());
        for (sql, expr, data_type) in &operands {
            coerced.push(self.coerce_operand(sql, expr.clone(), data_type, &target)?);
        }
        let value = coerced.remove(0);
        let Some(value) = value else {
            return Ok(Expr::Literal(ScalarValue::Boolean(Some(negated)), None));
        };
        let mut matches: Option<Expr> = None;
        for item in coerced.into_iter().flatten() {
            // A comparison: false, not null, when the value is null (see `comparison`).
            let equal = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(value.clone()),
                Operator::Eq,
                Box::new(item),
            ));
            matches = Some(match matches {
                Some(previous) => previous.or(equal),
                None => equal,
            });
        }
        let matches = matches.unwrap_or(Expr::Literal(ScalarValue::Boolean(Some(false)), None));
        Ok(if negated {
            Expr::Not(Box::new(matches))
        } else {
            matches
        })
    }

    /// `MAP(key := value, ...)`: keys and values each converted to their common type, as
    /// ksqlDB converts a user list (a string literal to the others' type).
    pub(super) fn map_constructor(&self, entries: &[(&SqlExpr, &SqlExpr)]) -> Result<Expr> {
        let keys = self.coerce_list(entries.iter().map(|(key, _)| *key))?;
        let values = self.coerce_list(entries.iter().map(|(_, value)| *value))?;
        if values.iter().all(|value| {
            value
                .get_type(self.schema)
                .is_ok_and(|data_type| data_type.is_null())
        }) {
            return Err(PlanError::User(
                "Cannot construct a map with all NULL values".to_string(),
            ));
        }
        Ok(datafusion::functions_nested::map::map(keys, values))
    }

    /// The expressions of a user list converted to their common type.
    fn coerce_list<'s>(&self, list: impl Iterator<Item = &'s SqlExpr>) -> Result<Vec<Expr>> {
        let operands = list
            .map(|sql| {
                let expr = self.lower_inner(sql)?;
                let data_type = expr.get_type(self.schema)?;
                Ok((sql, expr, data_type))
            })
            .collect::<Result<Vec<_>>>()?;
        let outside_predicate = |error: PlanError| match error {
            PlanError::User(message) => PlanError::User(
                message
                    .strip_prefix(PREDICATE)
                    .map(str::to_string)
                    .unwrap_or(message),
            ),
            other => other,
        };
        let Some(target) = self.common_type(&operands).map_err(outside_predicate)? else {
            return Ok(operands.into_iter().map(|(_, expr, _)| expr).collect());
        };
        operands
            .iter()
            .map(|(sql, expr, data_type)| {
                self.coerce_operand(sql, expr.clone(), data_type, &target)
                    .map_err(outside_predicate)?
                    .ok_or_else(|| mismatch(&target, data_type, sql))
                    .map_err(outside_predicate)
            })
            .collect()
    }

    /// The type the operands are compared in: the common type of those that are not NULL,
    /// string literals or struct constructors, widened by the numbers the string literals
    /// hold when it is numeric.
    fn common_type(&self, operands: &[(&SqlExpr, Expr, ArrowType)]) -> Result<Option<ArrowType>> {
        let mut target: Option<ArrowType> = None;
        for (sql, _, data_type) in operands {
            if data_type.is_null() || string_literal(sql).is_some() || is_struct_constructor(sql) {
                continue;
            }
            target = Some(match target {
                None => data_type.clone(),
                Some(current) => {
                    common(&current, data_type).ok_or_else(|| mismatch(&current, data_type, sql))?
                }
            });
        }
        if let Some(current) = &target
            && is_number(current)
        {
            let mut widened = current.clone();
            for (sql, _, _) in operands {
                if let Some(text) = string_literal(sql) {
                    let number = parse_number(text, current)?;
                    widened = widest(&widened, &number.data_type()).unwrap_or(widened);
                }
            }
            target = Some(widened);
        }
        if target.is_none() {
            // Struct constructors only: the first one's type.
            target = operands
                .iter()
                .find(|(sql, _, _)| is_struct_constructor(sql))
                .map(|(_, _, data_type)| data_type.clone());
        }
        Ok(target)
    }

    /// An operand converted to `target`; `None` for a struct constructor that can never be
    /// equal to a value of `target` (it has a field `target` lacks).
    fn coerce_operand(
        &self,
        sql: &SqlExpr,
        expr: Expr,
        data_type: &ArrowType,
        target: &ArrowType,
    ) -> Result<Option<Expr>> {
        if data_type == target {
            return Ok(Some(expr));
        }
        if data_type.is_null() {
            return Ok(Some(Expr::Cast(Cast::new(Box::new(expr), target.clone()))));
        }
        if let Some(text) = string_literal(sql)
            && !is_string(target)
        {
            let literal =
                literal_of(text, target).ok_or_else(|| mismatch(target, data_type, sql))??;
            return Ok(Some(Expr::Cast(Cast::new(
                Box::new(Expr::Literal(literal, None)),
                target.clone(),
            ))));
        }
        if let (Some(fields), ArrowType::Struct(target_fields)) = (struct_fields(sql), target) {
            if fields
                .iter()
                .any(|(name, _)| !target_fields.iter().any(|field| field.name() == name))
            {
                // Still check the fields it shares with the target.
                for (name, value) in &fields {
                    if let Some(field) = target_fields.iter().find(|field| field.name() == name) {
                        self.coerce_field(sql, data_type, target, value, field.data_type())?;
                    }
                }
                return Ok(None);
            }
            let mut pairs = Vec::new();
            for field in target_fields {
                pairs.push(Expr::Literal(
                    ScalarValue::Utf8(Some(field.name().clone())),
                    None,
                ));
                pairs.push(match fields.iter().find(|(name, _)| name == field.name()) {
                    Some((_, value)) => {
                        self.coerce_field(sql, data_type, target, value, field.data_type())?
                    }
                    None => Expr::Cast(Cast::new(
                        Box::new(Expr::Literal(ScalarValue::Null, None)),
                        field.data_type().clone(),
                    )),
                });
            }
            return Ok(Some(datafusion::functions::core::expr_fn::named_struct(
                pairs,
            )));
        }
        if common(target, data_type).as_ref() != Some(target) {
            return Err(mismatch(target, data_type, sql));
        }
        Ok(Some(convert(expr, data_type, target)))
    }

    /// A field value of a struct constructor converted to the field's type; a mismatch is the
    /// constructor's.
    fn coerce_field(
        &self,
        constructor: &SqlExpr,
        constructor_type: &ArrowType,
        target: &ArrowType,
        value: &SqlExpr,
        field_type: &ArrowType,
    ) -> Result<Expr> {
        let expr = self.lower_inner(value)?;
        let data_type = expr.get_type(self.schema)?;
        match self.coerce_operand(value, expr, &data_type, field_type) {
            Ok(Some(expr)) => Ok(expr),
            Err(PlanError::User(message)) if message.starts_with(INVALID_INPUT) => {
                Err(PlanError::User(message))
            }
            _ => Err(mismatch(target, constructor_type, constructor)),
        }
    }
}

/// `expr` of type `from` converted to `to`: structs field by field (by name), the rest by a
/// cast.
fn convert(expr: Expr, from: &ArrowType, to: &ArrowType) -> Expr {
    match (from, to) {
        (ArrowType::Struct(from_fields), ArrowType::Struct(to_fields)) => {
            let mut pairs = Vec::new();
            for field in to_fields {
                pairs.push(Expr::Literal(
                    ScalarValue::Utf8(Some(field.name().clone())),
                    None,
                ));
                pairs.push(
                    match from_fields.iter().find(|from| from.name() == field.name()) {
                        Some(from) => convert(
                            datafusion::functions::core::expr_fn::get_field(
                                expr.clone(),
                                field.name().clone(),
                            ),
                            from.data_type(),
                            field.data_type(),
                        ),
                        None => Expr::Cast(Cast::new(
                            Box::new(Expr::Literal(ScalarValue::Null, None)),
                            field.data_type().clone(),
                        )),
                    },
                );
            }
            // A null struct stays null.
            Expr::Case(Case::new(
                None,
                vec![(
                    Box::new(Expr::IsNull(Box::new(expr))),
                    Box::new(Expr::Cast(Cast::new(
                        Box::new(Expr::Literal(ScalarValue::Null, None)),
                        to.clone(),
                    ))),
                )],
                Some(Box::new(
                    datafusion::functions::core::expr_fn::named_struct(pairs),
                )),
            ))
        }
        _ => Expr::Cast(Cast::new(Box::new(expr), to.clone())),
    }
}

/// The type both compare in: numbers widen, arrays and maps by element, structs by field
/// name; otherwise only the same type.
fn common(left: &ArrowType, right: &ArrowType) -> Option<ArrowType> {
    if left == right {
        return Some(left.clone());
    }
    match (left, right) {
        (ArrowType::List(left), ArrowType::List(right)) => {
            let element = common(left.data_type(), right.data_type())?;
            Some(ArrowType::List(
                Field::new(left.name(), element, true).into(),
            ))
        }
        (ArrowType::Map(left_entries, sorted), ArrowType::Map(right_entries, _)) => {
            let (ArrowType::Struct(left_kv), ArrowType::Struct(right_kv)) =
                (left_entries.data_type(), right_entries.data_type())
            else {
                return None;
            };
            let key = common(left_kv[0].data_type(), right_kv[0].data_type())?;
            let value = common(left_kv[1].data_type(), right_kv[1].data_type())?;
            let entries = Fields::from(vec![
                Field::new(left_kv[0].name(), key, false),
                Field::new(left_kv[1].name(), value, true),
            ]);
            Some(ArrowType::Map(
                Field::new(left_entries.name(), ArrowType::Struct(entries), false).into(),
                *sorted,
            ))
        }
        (ArrowType::Struct(left_fields), ArrowType::Struct(right_fields)) => {
            let mut fields = Vec::new();
            for field in left_fields {
                let data_type = match right_fields
                    .iter()
                    .find(|right| right.name() == field.name())
                {
                    Some(right) => common(field.data_type(), right.data_type())?,
                    None => field.data_type().clone(),
                };
                fields.push(Field::new(field.name(), data_type, true));
            }
            Some(ArrowType::Struct(fields.into()))
        }
        (ArrowType::Null, other) | (other, ArrowType::Null) => Some(other.clone()),
        _ if is_number(left) && is_number(right) => widest(left, right),
        _ if is_string(left) && is_string(right) => Some(ArrowType::Utf8),
        _ => None,
    }
}

/// ksqlDB's message for operands it does not compare.
fn mismatch(target: &ArrowType, data_type: &ArrowType, sql: &SqlExpr) -> PlanError {
    PlanError::User(format!(
        "Invalid Predicate: operator does not exist: {} = {} ({})\nHint: You might need to add explicit type casts.",
        arrow_type_name(target),
        arrow_type_name(data_type),
        FormattedExpr(sql)
    ))
}

/// The value of string literal `text` as `target`; `None` when strings do not convert to
/// `target`, an error when this one does not.
fn literal_of(text: &str, target: &ArrowType) -> Option<Result<ScalarValue>> {
    if is_number(target) {
        return Some(parse_number(text, target).and_then(|number| {
            number
                .cast_to(target)
                .map_err(|_| invalid_input(text, target))
        }));
    }
    match target {
        ArrowType::Boolean => Some(
            parse_boolean(text)
                .map(|flag| ScalarValue::Boolean(Some(flag)))
                .ok_or_else(|| invalid_input(text, target)),
        ),
        ArrowType::Date32
        | ArrowType::Time32(_)
        | ArrowType::Time64(_)
        | ArrowType::Timestamp(..) => Some(
            ScalarValue::Utf8(Some(text.to_string()))
                .cast_to(target)
                .map_err(|_| invalid_input(text, target)),
        ),
        _ => None,
    }
}

/// The number a string literal holds, typed as the literal would be.
fn parse_number(text: &str, target: &ArrowType) -> Result<ScalarValue> {
    number_literal(text.trim()).map_err(|_| invalid_input(text, target))
}

/// ksqlDB's boolean spellings: a prefix of `true`, `false`, `yes` or `no`, in any case.
fn parse_boolean(text: &str) -> Option<bool> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return None;
    }
    if "true".starts_with(&text) || "yes".starts_with(&text) {
        Some(true)
    } else if "false".starts_with(&text) || "no".starts_with(&text) {
        Some(false)
    } else {
        None
    }
}

fn invalid_input(text: &str, target: &ArrowType) -> PlanError {
    let name = match target {
        ArrowType::Decimal128(..) => "DECIMAL".to_string(),
        other => arrow_type_name(other),
    };
    PlanError::User(format!("{INVALID_INPUT}{name}: \"{text}\"."))
}

fn string_literal(sql: &SqlExpr) -> Option<&str> {
    match sql {
        SqlExpr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) => Some(text),
            _ => None,
        },
        SqlExpr::Nested(inner) => string_literal(inner),
        _ => None,
    }
}

fn is_struct_constructor(sql: &SqlExpr) -> bool {
    struct_fields(sql).is_some()
}

/// The fields of a `STRUCT(name := value, ...)` constructor.
fn struct_fields(sql: &SqlExpr) -> Option<Vec<(String, &SqlExpr)>> {
    let SqlExpr::Function(function) = sql else {
        return None;
    };
    let name = function.name.0.last()?.as_ident()?;
    if !name.value.eq_ignore_ascii_case("STRUCT") {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return Some(Vec::new());
    };
    list.args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(value),
                ..
            } => Some((normalize_ident(name), value)),
            _ => None,
        })
        .collect()
}

fn is_number(data_type: &ArrowType) -> bool {
    data_type.is_integer()
        || data_type.is_floating()
        || matches!(data_type, ArrowType::Decimal128(..))
}

fn is_string(data_type: &ArrowType) -> bool {
    matches!(
        data_type,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
    )
}
