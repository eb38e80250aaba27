//! Expressions printed as ksqlDB prints them in messages (its `ExpressionFormatter`): names
//! upper-cased unless quoted, function names upper-cased, every binary operation, comparison
//! and predicate in parentheses: `(F1 * SUM(F2))`, `SUBSTRING(REGION, 7, 1)`.
//!
//! For parseable SQL text use `parser::ast::SqlExpr` instead.

use std::fmt::{self, Display, Formatter};

use parser::ast::SqlName;
use sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArgOperator,
    FunctionArguments, Ident, ObjectNamePart, Subscript, UnaryOperator, Value,
};

use super::normalize_ident;

/// Prints the wrapped expression the way ksqlDB's messages show it.
#[derive(Debug, Clone, Copy)]
pub struct FormattedExpr<'a>(pub &'a SqlExpr);

impl Display for FormattedExpr<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(self.0, f)
    }
}

fn name(ident: &Ident, f: &mut Formatter<'_>) -> fmt::Result {
    write!(f, "{}", SqlName(&normalize_ident(ident)))
}

fn list<'a>(items: impl IntoIterator<Item = &'a SqlExpr>, f: &mut Formatter<'_>) -> fmt::Result {
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write_expr(item, f)?;
    }
    Ok(())
}

fn write_expr(expr: &SqlExpr, f: &mut Formatter<'_>) -> fmt::Result {
    match expr {
        SqlExpr::Identifier(ident) => name(ident, f),
        SqlExpr::CompoundIdentifier(parts) => {
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    f.write_str(".")?;
                }
                name(part, f)?;
            }
            Ok(())
        }
        SqlExpr::Nested(inner) => write_expr(inner, f),
        SqlExpr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) => write!(f, "'{}'", text.replace('\'', "''")),
            Value::Null => f.write_str("null"),
            Value::Boolean(flag) => write!(f, "{flag}"),
            other => write!(f, "{other}"),
        },
        SqlExpr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::NotEq => "<>".to_string(),
                other => other.to_string(),
            };
            f.write_str("(")?;
            write_expr(left, f)?;
            write!(f, " {op} ")?;
            write_expr(right, f)?;
            f.write_str(")")
        }
        SqlExpr::UnaryOp { op, expr } => match op {
            UnaryOperator::Not => {
                f.write_str("(NOT ")?;
                write_expr(expr, f)?;
                f.write_str(")")
            }
            UnaryOperator::Minus => {
                f.write_str("-")?;
                write_expr(expr, f)
            }
            other => {
                write!(f, "{other}")?;
                write_expr(expr, f)
            }
        },
        SqlExpr::IsNull(inner) | SqlExpr::IsNotNull(inner) => {
            let not = if matches!(expr, SqlExpr::IsNotNull(_)) {
                " NOT"
            } else {
                ""
            };
            f.write_str("(")?;
            write_expr(inner, f)?;
            write!(f, " IS{not} NULL)")
        }
        SqlExpr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            f.write_str("(")?;
            write_expr(expr, f)?;
            f.write_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            })?;
            write_expr(low, f)?;
            f.write_str(" AND ")?;
            write_expr(high, f)?;
            f.write_str(")")
        }
        SqlExpr::InList {
            expr,
            list: items,
            negated,
        } => {
            f.write_str("(")?;
            write_expr(expr, f)?;
            f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
            list(items, f)?;
            f.write_str("))")
        }
        SqlExpr::Like {
            negated,
            expr,
            pattern,
            ..
        } => {
            f.write_str("(")?;
            write_expr(expr, f)?;
            f.write_str(if *negated { " NOT LIKE " } else { " LIKE " })?;
            write_expr(pattern, f)?;
            f.write_str(")")
        }
        SqlExpr::Cast {
            expr, data_type, ..
        } => {
            f.write_str("CAST(")?;
            write_expr(expr, f)?;
            write!(f, " AS {data_type})")
        }
        SqlExpr::Array(array) => {
            f.write_str("ARRAY[")?;
            list(&array.elem, f)?;
            f.write_str("]")
        }
        SqlExpr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            f.write_str("SUBSTRING(")?;
            write_expr(expr, f)?;
            for arg in [substring_from, substring_for].into_iter().flatten() {
                f.write_str(", ")?;
                write_expr(arg, f)?;
            }
            f.write_str(")")
        }
        SqlExpr::Function(function) => {
            for (index, part) in function.name.0.iter().enumerate() {
                if index > 0 {
                    f.write_str(".")?;
                }
                match part {
                    ObjectNamePart::Identifier(ident) => {
                        f.write_str(&ident.value.to_uppercase())?
                    }
                    other => write!(f, "{other}")?,
                }
            }
            f.write_str("(")?;
            if let FunctionArguments::List(arguments) = &function.args {
                for (index, arg) in arguments.args.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => write_expr(expr, f)?,
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => f.write_str("*")?,
                        FunctionArg::Named {
                            name: field,
                            arg: FunctionArgExpr::Expr(expr),
                            operator: FunctionArgOperator::Assignment,
                        } => {
                            name(field, f)?;
                            f.write_str(":=")?;
                            write_expr(expr, f)?;
                        }
                        FunctionArg::ExprNamed {
                            name: key,
                            arg: FunctionArgExpr::Expr(expr),
                            operator: FunctionArgOperator::Assignment,
                        } => {
                            write_expr(key, f)?;
                            f.write_str(":=")?;
                            write_expr(expr, f)?;
                        }
                        other => write!(f, "{other}")?,
                    }
                }
            }
            f.write_str(")")
        }
        SqlExpr::CompoundFieldAccess { root, access_chain } => {
            write_expr(root, f)?;
            for access in access_chain {
                match access {
                    AccessExpr::Dot(field) => {
                        f.write_str("->")?;
                        write_expr(field, f)?;
                    }
                    AccessExpr::Subscript(Subscript::Index { index }) => {
                        f.write_str("[")?;
                        write_expr(index, f)?;
                        f.write_str("]")?;
                    }
                    other => write!(f, "{other}")?,
                }
            }
            Ok(())
        }
        other => write!(f, "{}", parser::ast::SqlExpr(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_expressions_as_ksqldb_messages_show_them() {
        let cases = [
            ("f1 - f2", "(F1 - F2)"),
            ("f1 * SUM(f2)", "(F1 * SUM(F2))"),
            ("substring(region, 7, 1)", "SUBSTRING(REGION, 7, 1)"),
            ("as_value(col1)", "AS_VALUE(COL1)"),
            ("name IS NULL", "(NAME IS NULL)"),
            ("`lower` = 'it''s'", "(`lower` = 'it''s')"),
            ("test.data", "TEST.DATA"),
            ("ARRAY[a, b]", "ARRAY[A, B]"),
            ("NOT (a > 1)", "(NOT (A > 1))"),
            ("count(*)", "COUNT(*)"),
        ];
        for (input, expected) in cases {
            let expr = parser::parse_expression(input).expect("parses");
            assert_eq!(FormattedExpr(&expr).to_string(), expected, "{input}");
        }
    }
}
