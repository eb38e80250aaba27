//! Expressions printed as ksqlDB prints them in messages (its `Expression.toString()` and
//! `ExpressionFormatter`): names upper-cased unless quoted, function names upper-cased,
//! strings in single quotes, `null` in lower case, every binary operation, comparison and
//! predicate in parentheses: `(F1 * SUM(F2))`, `SUBSTRING(REGION, 7, 1)`, `(ID = '10')`.
//!
//! [`FormattedExpr`] quotes names that need it (`` `lower` ``), as statement errors show them;
//! [`KsqlText`] prints them bare, as pull-query messages quoting a WHERE clause do. For
//! parseable SQL text use `parser::ast::SqlExpr` instead.

use std::fmt::{self, Display, Formatter};

use parser::ast::SqlName;
use sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArgOperator,
    FunctionArguments, Ident, ObjectNamePart, Subscript, UnaryOperator, Value,
};

use super::normalize_ident;

/// Prints the wrapped expression the way ksqlDB's statement errors show it.
#[derive(Debug, Clone, Copy)]
pub struct FormattedExpr<'a>(pub &'a SqlExpr);

impl Display for FormattedExpr<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Writer { quote_names: true }.expr(self.0, f)
    }
}

/// Prints the wrapped expression in ksqlDB's text form with bare names: `(Key = 'it''s')`.
#[derive(Debug, Clone, Copy)]
pub struct KsqlText<'a>(pub &'a SqlExpr);

impl Display for KsqlText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Writer { quote_names: false }.expr(self.0, f)
    }
}

/// The ksqlDB symbol of a binary operator, if ksqlDB has it.
pub fn operator_symbol(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "=",
        BinaryOperator::NotEq => "<>",
        BinaryOperator::Lt => "<",
        BinaryOperator::LtEq => "<=",
        BinaryOperator::Gt => ">",
        BinaryOperator::GtEq => ">=",
        BinaryOperator::Plus => "+",
        BinaryOperator::Minus => "-",
        BinaryOperator::Multiply => "*",
        BinaryOperator::Divide => "/",
        BinaryOperator::Modulo => "%",
        BinaryOperator::And => "AND",
        BinaryOperator::Or => "OR",
        BinaryOperator::StringConcat => "||",
        _ => return None,
    })
}

/// How names are printed; everything else is the same for both forms.
#[derive(Clone, Copy)]
struct Writer {
    quote_names: bool,
}

impl Writer {
    fn name(self, ident: &Ident, f: &mut Formatter<'_>) -> fmt::Result {
        let name = normalize_ident(ident);
        if self.quote_names {
            write!(f, "{}", SqlName(&name))
        } else {
            f.write_str(&name)
        }
    }

    fn list<'a>(
        self,
        items: impl IntoIterator<Item = &'a SqlExpr>,
        f: &mut Formatter<'_>,
    ) -> fmt::Result {
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            self.expr(item, f)?;
        }
        Ok(())
    }

    fn expr(self, expr: &SqlExpr, f: &mut Formatter<'_>) -> fmt::Result {
        match expr {
            SqlExpr::Identifier(ident) => self.name(ident, f),
            SqlExpr::CompoundIdentifier(parts) => {
                for (index, part) in parts.iter().enumerate() {
                    if index > 0 {
                        f.write_str(".")?;
                    }
                    self.name(part, f)?;
                }
                Ok(())
            }
            SqlExpr::Nested(inner) => self.expr(inner, f),
            SqlExpr::Value(value) => match &value.value {
                Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => {
                    write!(f, "'{}'", text.replace('\'', "''"))
                }
                Value::Null => f.write_str("null"),
                Value::Boolean(flag) => write!(f, "{flag}"),
                other => write!(f, "{other}"),
            },
            SqlExpr::BinaryOp { left, op, right } => match operator_symbol(op) {
                Some(symbol) => {
                    f.write_str("(")?;
                    self.expr(left, f)?;
                    write!(f, " {symbol} ")?;
                    self.expr(right, f)?;
                    f.write_str(")")
                }
                None => write!(f, "{expr}"),
            },
            SqlExpr::UnaryOp { op, expr: operand } => match op {
                UnaryOperator::Not => {
                    f.write_str("(NOT ")?;
                    self.expr(operand, f)?;
                    f.write_str(")")
                }
                UnaryOperator::Minus => {
                    f.write_str("-")?;
                    self.expr(operand, f)
                }
                _ => write!(f, "{expr}"),
            },
            SqlExpr::IsNull(inner) | SqlExpr::IsNotNull(inner) => {
                let not = if matches!(expr, SqlExpr::IsNotNull(_)) {
                    " NOT"
                } else {
                    ""
                };
                f.write_str("(")?;
                self.expr(inner, f)?;
                write!(f, " IS{not} NULL)")
            }
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                f.write_str("(")?;
                self.expr(expr, f)?;
                f.write_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                })?;
                self.expr(low, f)?;
                f.write_str(" AND ")?;
                self.expr(high, f)?;
                f.write_str(")")
            }
            SqlExpr::InList {
                expr,
                list: items,
                negated,
            } => {
                f.write_str("(")?;
                self.expr(expr, f)?;
                f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
                self.list(items, f)?;
                f.write_str("))")
            }
            SqlExpr::Like {
                negated,
                expr,
                pattern,
                ..
            } => {
                f.write_str("(")?;
                self.expr(expr, f)?;
                f.write_str(if *negated { " NOT LIKE " } else { " LIKE " })?;
                self.expr(pattern, f)?;
                f.write_str(")")
            }
            SqlExpr::Cast {
                expr, data_type, ..
            } => {
                f.write_str("CAST(")?;
                self.expr(expr, f)?;
                write!(f, " AS {data_type})")
            }
            SqlExpr::Array(array) => {
                f.write_str("ARRAY[")?;
                self.list(&array.elem, f)?;
                f.write_str("]")
            }
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                f.write_str("SUBSTRING(")?;
                self.expr(expr, f)?;
                for arg in [substring_from, substring_for].into_iter().flatten() {
                    f.write_str(", ")?;
                    self.expr(arg, f)?;
                }
                f.write_str(")")
            }
            SqlExpr::Function(function) => {
                let FunctionArguments::List(arguments) = &function.args else {
                    return write!(f, "{expr}");
                };
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
                for (index, arg) in arguments.args.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => self.expr(expr, f)?,
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => f.write_str("*")?,
                        FunctionArg::Named {
                            name: field,
                            arg: FunctionArgExpr::Expr(expr),
                            operator: FunctionArgOperator::Assignment,
                        } => {
                            self.name(field, f)?;
                            f.write_str(":=")?;
                            self.expr(expr, f)?;
                        }
                        FunctionArg::ExprNamed {
                            name: key,
                            arg: FunctionArgExpr::Expr(expr),
                            operator: FunctionArgOperator::Assignment,
                        } => {
                            self.expr(key, f)?;
                            f.write_str(":=")?;
                            self.expr(expr, f)?;
                        }
                        other => write!(f, "{other}")?,
                    }
                }
                f.write_str(")")
            }
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                self.expr(root, f)?;
                for access in access_chain {
                    match access {
                        AccessExpr::Dot(field) => {
                            f.write_str("->")?;
                            self.expr(field, f)?;
                        }
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            f.write_str("[")?;
                            self.expr(index, f)?;
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

    #[test]
    fn ksql_text_prints_names_bare() {
        let cases = [
            ("ID = '10'", "(ID = '10')"),
            ("count = 100", "(COUNT = 100)"),
            ("ID = NULL", "(ID = null)"),
            (
                "a = 1 AND (b < 2 OR NOT c)",
                "((A = 1) AND ((B < 2) OR (NOT C)))",
            ),
            ("ID IN (1, 2)", "(ID IN (1, 2))"),
            ("`Key` = 'it''s'", "(Key = 'it''s')"),
            ("x BETWEEN 1 AND -2", "(X BETWEEN 1 AND -2)"),
            ("floor(exp(ID)) > 30000", "(FLOOR(EXP(ID)) > 30000)"),
        ];
        for (input, expected) in cases {
            let expr = parser::parse_expression(input).expect("parses");
            assert_eq!(KsqlText(&expr).to_string(), expected, "{input}");
        }
    }
}
