//! SQL text primitives: names, string literals and expressions printed as ksqlDB reads them.
//!
//! Statement `Display` impls in `display` build on these; [`SqlName`] and [`SqlExpr`] are public
//! so that other stages print names and expressions the same way.

use std::fmt::{self, Display, Formatter};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, OneOrManyWithParens, Value, visit_expressions, visit_expressions_mut,
};

use crate::keywords::is_reserved;

/// A name printed so that it parses back to itself: bare if it is an upper-case identifier
/// that is not reserved, otherwise in backticks.
#[derive(Debug, Clone, Copy)]
pub struct SqlName<'a>(pub &'a str);

impl Display for SqlName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = self.0;
        let mut chars = name.chars();
        let bare = chars
            .next()
            .is_some_and(|first| first.is_ascii_uppercase() || first == '_')
            && chars.all(|ch| {
                ch.is_ascii_uppercase() || ch.is_ascii_digit() || matches!(ch, '_' | '@' | '$')
            })
            && !is_reserved(name);
        if bare {
            f.write_str(name)
        } else {
            write!(f, "`{}`", name.replace('`', "``"))
        }
    }
}

/// An expression printed as ksqlDB SQL.
///
/// `sqlparser` prints lambdas as `x -> body`, which ksqlDB reads as a dereference, and does not
/// double a quote that follows a backslash; this prints `x => body` and escapes every quote
/// in strings and quoted identifiers by doubling it.
#[derive(Debug, Clone, Copy)]
pub struct SqlExpr<'a>(pub &'a Expr);

impl Display for SqlExpr<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let needs_rewrite = visit_expressions(self.0, |expr| {
            if rewrite(expr).is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break();
        if !needs_rewrite {
            return write!(f, "{}", self.0);
        }
        // Post-order: inner expressions are already text when an outer lambda is printed.
        let mut expr = self.0.clone();
        let _ = visit_expressions_mut(&mut expr, |expr| {
            if let Some(text) = rewrite(expr) {
                *expr = Expr::Identifier(Ident::new(text));
            }
            ControlFlow::<()>::Continue(())
        });
        write!(f, "{expr}")
    }
}

/// The ksqlDB text of `expr` when `sqlparser` would print it differently, else `None`.
fn rewrite(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lambda(lambda) => {
            let params = match &lambda.params {
                OneOrManyWithParens::One(param) => ident_text(&param.name),
                OneOrManyWithParens::Many(params) => {
                    let names: Vec<String> =
                        params.iter().map(|param| ident_text(&param.name)).collect();
                    format!("({})", names.join(", "))
                }
            };
            Some(format!("{params} => {}", lambda.body))
        }
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) if text.contains('\'') => {
                Some(SqlString(text).to_string())
            }
            _ => None,
        },
        Expr::Identifier(ident) if has_inner_quote(ident) => Some(ident_text(ident)),
        Expr::CompoundIdentifier(parts) if parts.iter().any(has_inner_quote) => {
            let parts: Vec<String> = parts.iter().map(ident_text).collect();
            Some(parts.join("."))
        }
        _ => None,
    }
}

fn has_inner_quote(ident: &Ident) -> bool {
    ident
        .quote_style
        .is_some_and(|quote| ident.value.contains(quote))
}

/// An identifier as written, with its quote character doubled inside.
fn ident_text(ident: &Ident) -> String {
    match ident.quote_style {
        Some(quote) => {
            let doubled = format!("{quote}{quote}");
            format!("{quote}{}{quote}", ident.value.replace(quote, &doubled))
        }
        None => ident.value.clone(),
    }
}

/// A single-quoted string literal.
pub(super) struct SqlString<'a>(pub(super) &'a str);

impl Display for SqlString<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.replace('\'', "''"))
    }
}

/// Items separated by `, `.
pub(super) struct Commas<'a, T>(pub(super) &'a [T]);

impl<T: Display> Display for Commas<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

/// Expressions separated by `, `.
pub(super) fn exprs(exprs: &[Expr]) -> String {
    let texts: Vec<String> = exprs.iter().map(|expr| SqlExpr(expr).to_string()).collect();
    texts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_only_when_needed() {
        let cases = [
            ("FOO", "FOO"),
            ("FOO_1", "FOO_1"),
            ("foo", "`foo`"),
            ("Foo", "`Foo`"),
            ("SELECT", "`SELECT`"),
            ("1A", "`1A`"),
            ("a`b", "`a``b`"),
            ("", "``"),
        ];
        for (name, expected) in cases {
            assert_eq!(SqlName(name).to_string(), expected);
        }
    }
}
