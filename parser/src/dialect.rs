//! The ksqlDB dialect for `sqlparser`: tokenizer rules and expression hooks.
//!
//! Identifiers are letters, digits, `_`, `@` and `$` (a leading digit needs a letter later),
//! quoted with backticks or double quotes.
//! The expression forms `sqlparser` does not know the ksqlDB way (lambdas with `=>`, `->`
//! dereference, `MAP(k := v)`, `STRUCT(f := v)`, `CAST` to ksqlDB types) are parsed by the
//! hooks in `parser::expression`, which documents the `Expr` each one produces.

use sqlparser::ast::Expr;
use sqlparser::dialect::Dialect;
use sqlparser::parser::{Parser, ParserError};

use crate::parser::expression;

/// The ksqlDB SQL dialect.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || matches!(ch, '_' | '@' | '$')
    }

    /// ksqlDB's `DIGIT_IDENTIFIER`: `1R` is a name, not `1` followed by `R`.
    fn supports_numeric_prefix(&self) -> bool {
        true
    }

    /// `f(x => x + 1)` passes a lambda, not an argument named `x`.
    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        false
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        expression::parse_prefix(parser)
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        expression::parse_infix(parser, expr)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        expression::next_precedence(parser).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_characters_follow_ksql() {
        let dialect = KsqlDialect;
        let cases = [
            ('a', true, true),
            ('Z', true, true),
            ('_', true, true),
            ('7', false, true),
            ('@', false, true),
            ('$', false, true),
            ('-', false, false),
        ];
        for (ch, start, part) in cases {
            assert_eq!(dialect.is_identifier_start(ch), start, "start {ch}");
            assert_eq!(dialect.is_identifier_part(ch), part, "part {ch}");
        }
    }
}
