//! Expressions printed the way ksqlDB prints them in pull-query messages.
//!
//! ksqlDB's `Expression.toString()` wraps every binary operation in parentheses, prints names
//! bare, strings in single quotes and `null` in lower case: `(ID = '10')`, `(COUNT = 100)`.
//! Messages that quote a WHERE clause or one of its disjuncts use this form.

use std::fmt::{self, Display, Formatter};

use sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments,
    UnaryOperator, Value,
};

use crate::expr::normalize_ident;

/// An expression in ksqlDB's text form.
#[derive(Debug, Clone, Copy)]
pub struct KsqlText<'a>(pub &'a SqlExpr);

impl Display for KsqlText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self.0)
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

fn write_expr(f: &mut Formatter<'_>, expr: &SqlExpr) -> fmt::Result {
    match expr {
        SqlExpr::Identifier(ident) => f.write_str(&normalize_ident(ident)),
        SqlExpr::CompoundIdentifier(parts) => {
            let names: Vec<String> = parts.iter().map(normalize_ident).collect();
            f.write_str(&names.join("."))
        }
        SqlExpr::Nested(inner) => write_expr(f, inner),
        SqlExpr::Value(value) => write_value(f, &value.value),
        SqlExpr::BinaryOp { left, op, right } => match operator_symbol(op) {
            Some(symbol) => {
                f.write_str("(")?;
                write_expr(f, left)?;
                write!(f, " {symbol} ")?;
                write_expr(f, right)?;
                f.write_str(")")
            }
            None => write!(f, "{expr}"),
        },
        SqlExpr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => {
            f.write_str("(NOT ")?;
            write_expr(f, inner)?;
            f.write_str(")")
        }
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => {
            f.write_str("-")?;
            write_expr(f, inner)
        }
        SqlExpr::IsNull(inner) => {
            f.write_str("(")?;
            write_expr(f, inner)?;
            f.write_str(" IS NULL)")
        }
        SqlExpr::IsNotNull(inner) => {
            f.write_str("(")?;
            write_expr(f, inner)?;
            f.write_str(" IS NOT NULL)")
        }
        SqlExpr::InList {
            expr: inner,
            list,
            negated,
        } => {
            f.write_str("(")?;
            write_expr(f, inner)?;
            f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
            write_list(f, list)?;
            f.write_str("))")
        }
        SqlExpr::Between {
            expr: inner,
            negated,
            low,
            high,
        } => {
            f.write_str("(")?;
            write_expr(f, inner)?;
            f.write_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            })?;
            write_expr(f, low)?;
            f.write_str(" AND ")?;
            write_expr(f, high)?;
            f.write_str(")")
        }
        SqlExpr::Like {
            negated,
            expr: inner,
            pattern,
            ..
        } => {
            f.write_str("(")?;
            write_expr(f, inner)?;
            f.write_str(if *negated { " NOT LIKE " } else { " LIKE " })?;
            write_expr(f, pattern)?;
            f.write_str(")")
        }
        SqlExpr::Cast {
            expr: inner,
            data_type,
            ..
        } => {
            f.write_str("CAST(")?;
            write_expr(f, inner)?;
            write!(f, " AS {data_type})")
        }
        SqlExpr::Function(function) => {
            let FunctionArguments::List(list) = &function.args else {
                return write!(f, "{expr}");
            };
            write!(f, "{}(", function.name.to_string().to_uppercase())?;
            for (index, arg) in list.args.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)) => write_expr(f, arg)?,
                    other => write!(f, "{other}")?,
                }
            }
            f.write_str(")")
        }
        other => write!(f, "{other}"),
    }
}

fn write_list(f: &mut Formatter<'_>, list: &[SqlExpr]) -> fmt::Result {
    for (index, item) in list.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write_expr(f, item)?;
    }
    Ok(())
}

fn write_value(f: &mut Formatter<'_>, value: &Value) -> fmt::Result {
    match value {
        Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) => {
            write!(f, "'{}'", text.replace('\'', "''"))
        }
        Value::Null => f.write_str("null"),
        Value::Boolean(flag) => write!(f, "{flag}"),
        other => write!(f, "{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn where_clause(sql: &str) -> SqlExpr {
        let statements = parser::parse_statements(sql).expect("parses");
        match &statements[0].kind {
            parser::ast::StatementKind::Select(query) => {
                query.where_clause.clone().expect("has a WHERE")
            }
            other => panic!("not a query: {other:?}"),
        }
    }

    #[test]
    fn expressions_print_as_ksqldb_prints_them() {
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
        for (condition, expected) in cases {
            let expr = where_clause(&format!("SELECT * FROM t WHERE {condition};"));
            assert_eq!(KsqlText(&expr).to_string(), expected, "{condition}");
        }
    }
}
