//! `SELECT` queries: projection, sources and joins, windows, filters, grouping, `EMIT`, `LIMIT`.
//!
//! ```text
//! SELECT item [, ...] FROM source [[AS] alias]
//!   [[INNER | LEFT [OUTER] | RIGHT [OUTER] | FULL [OUTER]] JOIN source [[AS] alias]
//!     [WITHIN n unit | WITHIN (n unit, n unit)] [GRACE PERIOD n unit] ON condition]*
//!   [WINDOW TUMBLING (...) | HOPPING (...) | SESSION (...)]
//!   [WHERE condition] [GROUP BY expressions] [PARTITION BY expressions] [HAVING condition]
//!   [EMIT CHANGES | EMIT FINAL] [LIMIT n]
//! ```

use sqlparser::ast::Expr;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::ast::{
    Duration, Emit, Join, JoinKind, Query, Relation, SelectItem, TimeUnit, WindowExpr, Within,
};
use crate::keywords::is_reserved;
use crate::parser::expression::parse_value_expression;
use crate::parser::tokens::{ParserExt, is_word};

/// Parses a query starting at `SELECT`.
pub(crate) fn parse_query(parser: &mut Parser) -> Result<Query, ParserError> {
    parser.expect_word("SELECT")?;
    let select = parser.parse_comma_separated(parse_select_item)?;
    parser.expect_word("FROM")?;
    let from = parse_relation(parser)?;
    let window = if parser.parse_word("WINDOW") {
        Some(parse_window(parser)?)
    } else {
        None
    };
    let where_clause = if parser.parse_word("WHERE") {
        Some(parser.parse_expr()?)
    } else {
        None
    };
    let group_by = if parser.parse_words(&["GROUP", "BY"]) {
        parse_grouping(parser)?
    } else {
        Vec::new()
    };
    let partition_by = if parser.parse_words(&["PARTITION", "BY"]) {
        parse_grouping(parser)?
    } else {
        Vec::new()
    };
    let having = if parser.parse_word("HAVING") {
        Some(parser.parse_expr()?)
    } else {
        None
    };
    let emit = if parser.parse_word("EMIT") {
        Some(match parser.expect_one_of_words(&["CHANGES", "FINAL"])? {
            "CHANGES" => Emit::Changes,
            _ => Emit::Final,
        })
    } else {
        None
    };
    let limit = if parser.parse_word("LIMIT") {
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    Ok(Query {
        select,
        from,
        window,
        where_clause,
        group_by,
        partition_by,
        having,
        emit,
        limit,
    })
}

fn parse_select_item(parser: &mut Parser) -> Result<SelectItem, ParserError> {
    if parser.consume_token(&Token::Mul) {
        return Ok(SelectItem::Wildcard);
    }
    if parser.peek_nth_token_ref(1).token == Token::Period
        && parser.peek_nth_token_ref(2).token == Token::Mul
    {
        let source = parser.parse_name()?;
        parser.advance_token();
        parser.advance_token();
        return Ok(SelectItem::QualifiedWildcard(source));
    }
    let expr = parser.parse_expr()?;
    if parser.peek_token_ref().token == Token::Arrow
        && parser.peek_nth_token_ref(1).token == Token::Mul
    {
        parser.advance_token();
        parser.advance_token();
        return Ok(SelectItem::StructWildcard(expr));
    }
    let alias = if parser.parse_word("AS") || starts_alias(parser) {
        Some(parser.parse_name()?)
    } else {
        None
    };
    Ok(SelectItem::Expr { expr, alias })
}

/// Whether the next token is an implicit (no `AS`) alias.
fn starts_alias(parser: &Parser) -> bool {
    match &parser.peek_token_ref().token {
        Token::Word(word) if word.quote_style.is_some() => true,
        Token::Word(word) if is_reserved(&word.value) => false,
        // `PARTITION BY` and `EMIT CHANGES` follow a source without alias.
        Token::Word(_) if parser.peek_word("PARTITION") => !parser.peek_nth_word(1, "BY"),
        Token::Word(_) if parser.peek_word("EMIT") => {
            !(parser.peek_nth_word(1, "CHANGES") || parser.peek_nth_word(1, "FINAL"))
        }
        Token::Word(_) => true,
        _ => false,
    }
}

fn parse_relation(parser: &mut Parser) -> Result<Relation, ParserError> {
    let mut relation = parse_source(parser)?;
    while let Some(kind) = parse_join_kind(parser)? {
        let right = parse_source(parser)?;
        let within = if parser.parse_word("WITHIN") {
            Some(parse_within(parser)?)
        } else {
            None
        };
        parser.expect_word("ON")?;
        let on = parser.parse_expr()?;
        relation = Relation::Join(Box::new(Join {
            left: relation,
            right,
            kind,
            within,
            on,
        }));
    }
    Ok(relation)
}

fn parse_source(parser: &mut Parser) -> Result<Relation, ParserError> {
    let name = parser.parse_name()?;
    let alias = if parser.parse_word("AS") || starts_alias(parser) {
        Some(parser.parse_name()?)
    } else {
        None
    };
    Ok(Relation::Source { name, alias })
}

/// `[INNER] JOIN`, `LEFT [OUTER] JOIN`, `RIGHT [OUTER] JOIN` or `FULL [OUTER] JOIN`.
fn parse_join_kind(parser: &mut Parser) -> Result<Option<JoinKind>, ParserError> {
    let kind = if parser.parse_word("JOIN") {
        return Ok(Some(JoinKind::Inner));
    } else if parser.parse_word("INNER") {
        JoinKind::Inner
    } else if parser.parse_word("LEFT") {
        JoinKind::Left
    } else if parser.parse_word("RIGHT") {
        JoinKind::Right
    } else if parser.parse_word("FULL") {
        JoinKind::Full
    } else {
        return Ok(None);
    };
    if kind != JoinKind::Inner {
        let _outer = parser.parse_word("OUTER");
    }
    parser.expect_word("JOIN")?;
    Ok(Some(kind))
}

/// `n unit [GRACE PERIOD n unit]` or `(n unit, n unit) [GRACE PERIOD n unit]` after `WITHIN`.
fn parse_within(parser: &mut Parser) -> Result<Within, ParserError> {
    let (before, after) = if parser.consume_token(&Token::LParen) {
        let before = parse_duration(parser)?;
        parser.expect_token(&Token::Comma)?;
        let after = parse_duration(parser)?;
        parser.expect_token(&Token::RParen)?;
        (before, after)
    } else {
        let size = parse_duration(parser)?;
        (size, size)
    };
    let grace = if parser.parse_words(&["GRACE", "PERIOD"]) {
        Some(parse_duration(parser)?)
    } else {
        None
    };
    Ok(Within {
        before,
        after,
        grace,
    })
}

/// `n unit`, e.g. `10 SECONDS`.
pub(crate) fn parse_duration(parser: &mut Parser) -> Result<Duration, ParserError> {
    let value = parser.parse_unsigned()?;
    let unit = parse_time_unit(parser)?;
    Ok(Duration { value, unit })
}

fn parse_time_unit(parser: &mut Parser) -> Result<TimeUnit, ParserError> {
    const UNITS: &[&str] = &[
        "MILLISECOND",
        "MILLISECONDS",
        "SECOND",
        "SECONDS",
        "MINUTE",
        "MINUTES",
        "HOUR",
        "HOURS",
        "DAY",
        "DAYS",
    ];
    let unit = parser.expect_one_of_words(UNITS)?;
    Ok(match unit.trim_end_matches('S') {
        "MILLISECOND" => TimeUnit::Milliseconds,
        "SECOND" => TimeUnit::Seconds,
        "MINUTE" => TimeUnit::Minutes,
        "HOUR" => TimeUnit::Hours,
        _ => TimeUnit::Days,
    })
}

/// The window after `WINDOW`, with an optional window name (ignored) before its kind.
fn parse_window(parser: &mut Parser) -> Result<WindowExpr, ParserError> {
    const KINDS: &[&str] = &["TUMBLING", "HOPPING", "SESSION"];
    let named = KINDS.iter().any(|kind| parser.peek_nth_word(1, kind))
        && !KINDS.iter().any(|kind| parser.peek_word(kind));
    if named {
        parser.parse_ident()?;
    }
    let kind = parser.expect_one_of_words(KINDS)?;
    parser.expect_token(&Token::LParen)?;
    let window = match kind {
        "TUMBLING" => {
            parser.expect_word("SIZE")?;
            let size = parse_duration(parser)?;
            let (retention, grace) = parse_window_options(parser)?;
            WindowExpr::Tumbling {
                size,
                retention,
                grace,
            }
        }
        "HOPPING" => {
            parser.expect_word("SIZE")?;
            let size = parse_duration(parser)?;
            parser.expect_token(&Token::Comma)?;
            parser.expect_word("ADVANCE")?;
            parser.expect_word("BY")?;
            let advance = parse_duration(parser)?;
            let (retention, grace) = parse_window_options(parser)?;
            WindowExpr::Hopping {
                size,
                advance,
                retention,
                grace,
            }
        }
        _ => {
            let gap = parse_duration(parser)?;
            let (retention, grace) = parse_window_options(parser)?;
            WindowExpr::Session {
                gap,
                retention,
                grace,
            }
        }
    };
    parser.expect_token(&Token::RParen)?;
    Ok(window)
}

/// `[, RETENTION n unit] [, GRACE PERIOD n unit]`.
fn parse_window_options(
    parser: &mut Parser,
) -> Result<(Option<Duration>, Option<Duration>), ParserError> {
    let mut retention = None;
    let mut grace = None;
    while parser.consume_token(&Token::Comma) {
        if retention.is_none() && grace.is_none() && parser.parse_word("RETENTION") {
            retention = Some(parse_duration(parser)?);
        } else if grace.is_none() && parser.parse_words(&["GRACE", "PERIOD"]) {
            grace = Some(parse_duration(parser)?);
        } else {
            return parser.expected_next("one of: RETENTION, GRACE PERIOD");
        }
    }
    Ok((retention, grace))
}

/// The expressions after `GROUP BY` or `PARTITION BY`: `a, b` or `(a, b)`.
fn parse_grouping(parser: &mut Parser) -> Result<Vec<Expr>, ParserError> {
    if parser.peek_token_ref().token == Token::LParen {
        let parenthesized = parser.maybe_parse(|parser| {
            parser.expect_token(&Token::LParen)?;
            let mut exprs = Vec::new();
            if !parser.consume_token(&Token::RParen) {
                exprs = parser.parse_comma_separated(parse_value_expression)?;
                parser.expect_token(&Token::RParen)?;
            }
            if ends_grouping(&parser.peek_token_ref().token) {
                Ok(exprs)
            } else {
                parser.expected_next("end of grouping")
            }
        })?;
        if let Some(exprs) = parenthesized {
            return Ok(exprs);
        }
    }
    parser.parse_comma_separated(parse_value_expression)
}

/// Whether `token` can follow a complete `GROUP BY` or `PARTITION BY` list.
fn ends_grouping(token: &Token) -> bool {
    matches!(token, Token::EOF | Token::SemiColon | Token::RParen)
        || ["PARTITION", "HAVING", "EMIT", "LIMIT"]
            .iter()
            .any(|word| is_word(token, word))
}
