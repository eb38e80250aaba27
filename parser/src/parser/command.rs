//! Administrative statements: `SHOW`/`LIST`, `DESCRIBE`, `DROP`, `TERMINATE`, `PRINT`,
//! `SET`/`UNSET`, `DEFINE`/`UNDEFINE`, `RUN SCRIPT` and `ASSERT`.
//!
//! ```text
//! SHOW|LIST STREAMS|TABLES|QUERIES [EXTENDED] | [ALL] TOPICS [EXTENDED]
//!         | PROPERTIES | FUNCTIONS | TYPES | VARIABLES
//! DESCRIBE [EXTENDED] name [EXTENDED] | DESCRIBE STREAMS|TABLES [EXTENDED] | DESCRIBE FUNCTION name
//! DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC] | DROP TYPE [IF EXISTS] name
//! TERMINATE query_id | TERMINATE ALL
//! PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]
//! SET 'name' = 'value' | UNSET 'name' | DEFINE name = 'value' | UNDEFINE name
//! RUN SCRIPT 'path'
//! ASSERT [NOT EXISTS] TOPIC topic [WITH (...)] [TIMEOUT n unit]
//! ASSERT [NOT EXISTS] SCHEMA [SUBJECT subject] [ID n] [TIMEOUT n unit]
//! ```

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::ast::{Assert, Describe, DropSource, Print, Show, StatementKind, Terminate};
use crate::parser::create::{parse_optional_properties, parse_source_kind};
use crate::parser::query::parse_duration;
use crate::parser::tokens::ParserExt;

/// The words that may follow `SHOW` or `LIST`.
pub const SHOW_WORDS: &[&str] = &[
    "STREAMS",
    "TABLES",
    "QUERIES",
    "TOPICS",
    "ALL",
    "PROPERTIES",
    "FUNCTIONS",
    "TYPES",
    "VARIABLES",
];

/// Parses what follows `SHOW` or `LIST`.
pub(crate) fn parse_show(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let show = match parser.expect_one_of_words(SHOW_WORDS)? {
        "STREAMS" => Show::Streams {
            extended: parser.parse_word("EXTENDED"),
        },
        "TABLES" => Show::Tables {
            extended: parser.parse_word("EXTENDED"),
        },
        "QUERIES" => Show::Queries {
            extended: parser.parse_word("EXTENDED"),
        },
        "TOPICS" => Show::Topics {
            all: false,
            extended: parser.parse_word("EXTENDED"),
        },
        "ALL" => {
            parser.expect_word("TOPICS")?;
            Show::Topics {
                all: true,
                extended: parser.parse_word("EXTENDED"),
            }
        }
        "PROPERTIES" => Show::Properties,
        "FUNCTIONS" => Show::Functions,
        "TYPES" => Show::Types,
        _ => Show::Variables,
    };
    Ok(StatementKind::Show(show))
}

/// Whether a name (a word token) comes next.
fn name_follows(parser: &Parser) -> bool {
    matches!(parser.peek_nth_token_ref(1).token, Token::Word(_))
}

/// Parses what follows `DESCRIBE`.
pub(crate) fn parse_describe(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let describe = if parser.parse_word("STREAMS") {
        Describe::Streams {
            extended: parser.parse_word("EXTENDED"),
        }
    } else if parser.parse_word("TABLES") {
        Describe::Tables {
            extended: parser.parse_word("EXTENDED"),
        }
    } else if parser.peek_word("FUNCTION") && name_follows(parser) {
        parser.advance_token();
        Describe::Function {
            name: parser.parse_name()?,
        }
    } else {
        let leading = parser.peek_word("EXTENDED") && name_follows(parser);
        if leading {
            parser.advance_token();
        }
        let name = parser.parse_name()?;
        let trailing = parser.parse_word("EXTENDED");
        Describe::Source {
            name,
            extended: leading || trailing,
        }
    };
    Ok(StatementKind::Describe(describe))
}

/// Parses what follows `DROP`.
pub(crate) fn parse_drop(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    if parser.parse_word("TYPE") {
        let if_exists = parser.parse_words(&["IF", "EXISTS"]);
        let name = parser.parse_name()?;
        return Ok(StatementKind::DropType { name, if_exists });
    }
    let kind = parse_source_kind(parser)?;
    let if_exists = parser.parse_words(&["IF", "EXISTS"]);
    let name = parser.parse_name()?;
    let delete_topic = parser.parse_words(&["DELETE", "TOPIC"]);
    Ok(StatementKind::DropSource(DropSource {
        kind,
        if_exists,
        name,
        delete_topic,
    }))
}

/// Parses what follows `TERMINATE`.
pub(crate) fn parse_terminate(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let terminate = if parser.parse_word("ALL") {
        Terminate::All
    } else {
        Terminate::Query(parser.parse_name()?)
    };
    Ok(StatementKind::Terminate(terminate))
}

/// A topic or subject name: an identifier or a string, kept as written (quotes removed).
fn parse_resource_name(parser: &mut Parser) -> Result<String, ParserError> {
    if let Token::SingleQuotedString(_) = parser.peek_token_ref().token {
        return parser.parse_string();
    }
    Ok(parser.parse_ident()?.value)
}

/// Parses what follows `PRINT`.
pub(crate) fn parse_print(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let topic = parse_resource_name(parser)?;
    let from_beginning = parser.parse_words(&["FROM", "BEGINNING"]);
    let interval = if parser.parse_word("INTERVAL") || parser.parse_word("SAMPLE") {
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    let limit = if parser.parse_word("LIMIT") {
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    Ok(StatementKind::Print(Print {
        topic,
        from_beginning,
        interval,
        limit,
    }))
}

/// Parses what follows `SET`.
pub(crate) fn parse_set(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let name = parser.parse_string()?;
    parser.expect_token(&Token::Eq)?;
    let value = parser.parse_string()?;
    Ok(StatementKind::SetProperty { name, value })
}

/// Parses what follows `UNSET`.
pub(crate) fn parse_unset(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let name = parser.parse_string()?;
    Ok(StatementKind::UnsetProperty { name })
}

/// A variable name as written.
fn parse_variable_name(parser: &mut Parser) -> Result<String, ParserError> {
    match &parser.peek_token_ref().token {
        Token::Word(word) if word.quote_style.is_none() => {
            let name = word.value.clone();
            parser.advance_token();
            Ok(name)
        }
        _ => parser.expected_next("a variable name"),
    }
}

/// Parses what follows `DEFINE`.
pub(crate) fn parse_define(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let name = parse_variable_name(parser)?;
    parser.expect_token(&Token::Eq)?;
    let value = parser.parse_string()?;
    Ok(StatementKind::DefineVariable { name, value })
}

/// Parses what follows `UNDEFINE`.
pub(crate) fn parse_undefine(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let name = parse_variable_name(parser)?;
    Ok(StatementKind::UndefineVariable { name })
}

/// Parses what follows `RUN`.
pub(crate) fn parse_run_script(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    parser.expect_word("SCRIPT")?;
    let path = parser.parse_string()?;
    Ok(StatementKind::RunScript { path })
}

/// Parses what follows `ASSERT`.
pub(crate) fn parse_assert(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let exists = !parser.parse_words(&["NOT", "EXISTS"]);
    let assert = match parser.expect_one_of_words(&["TOPIC", "SCHEMA"])? {
        "TOPIC" => {
            let name = parse_resource_name(parser)?;
            let properties = parse_optional_properties(parser)?;
            let timeout = parse_timeout(parser)?;
            Assert::Topic {
                name,
                exists,
                properties,
                timeout,
            }
        }
        _ => {
            let subject = if parser.parse_word("SUBJECT") {
                Some(parse_resource_name(parser)?)
            } else {
                None
            };
            let id = if parser.parse_word("ID") {
                Some(parser.parse_unsigned()?)
            } else {
                None
            };
            let timeout = parse_timeout(parser)?;
            Assert::Schema {
                subject,
                id,
                exists,
                timeout,
            }
        }
    };
    Ok(StatementKind::Assert(assert))
}

fn parse_timeout(parser: &mut Parser) -> Result<Option<crate::ast::Duration>, ParserError> {
    if parser.parse_word("TIMEOUT") {
        Ok(Some(parse_duration(parser)?))
    } else {
        Ok(None)
    }
}
