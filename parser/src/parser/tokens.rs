//! Token-level helpers over `sqlparser`'s `Parser`: tokenizing with the ksqlDB dialect,
//! matching ksqlDB words (many are not `sqlparser` keywords), names and small literals.
//!
//! Names are normalized here: unquoted identifiers are upper-cased, quoted ones kept.

use sqlparser::ast::Ident;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, TokenizerError};

use crate::dialect::KsqlDialect;
use crate::keywords::is_reserved;

/// Tokenizes `sql` with the ksqlDB dialect.
///
/// `>>` is split into two `>` tokens: ksqlDB has no shift operator, and nested types such as
/// `MAP<STRING, ARRAY<INT>>` must close two angle brackets.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>, TokenizerError> {
    let tokens = Tokenizer::new(&KsqlDialect, sql).tokenize_with_location()?;
    let mut split = Vec::with_capacity(tokens.len());
    for token in tokens {
        if token.token == Token::ShiftRight {
            let start = token.span.start;
            let middle = Location::new(start.line, start.column + 1);
            split.push(TokenWithSpan::new(Token::Gt, Span::new(start, middle)));
            split.push(TokenWithSpan::new(
                Token::Gt,
                Span::new(middle, token.span.end),
            ));
        } else {
            split.push(token);
        }
    }
    Ok(split)
}

/// The normalized name of an identifier: upper-cased unless quoted.
pub(crate) fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_uppercase()
    }
}

/// Whether `token` is the unquoted word `word` (case-insensitive).
pub(crate) fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// ksqlDB-flavoured helpers on `sqlparser`'s parser.
pub(crate) trait ParserExt {
    /// Whether the next token is the unquoted word `word`.
    fn peek_word(&self, word: &str) -> bool;
    /// Whether the token `n` places ahead (0 = next) is the unquoted word `word`.
    fn peek_nth_word(&self, n: usize, word: &str) -> bool;
    /// Consumes the next token if it is the unquoted word `word`.
    fn parse_word(&mut self, word: &str) -> bool;
    /// Consumes the words if they all come next, in order; otherwise consumes nothing.
    fn parse_words(&mut self, words: &[&str]) -> bool;
    /// Consumes the unquoted word `word` or fails.
    fn expect_word(&mut self, word: &str) -> Result<(), ParserError>;
    /// Consumes one of `words` and returns it (upper-case), or fails expecting them.
    fn expect_one_of_words(&mut self, words: &[&'static str]) -> Result<&'static str, ParserError>;
    /// Consumes a name: a quoted identifier or an unquoted word that is not reserved.
    fn parse_ident(&mut self) -> Result<Ident, ParserError>;
    /// Consumes a name and returns it normalized.
    fn parse_name(&mut self) -> Result<String, ParserError>;
    /// Consumes an unsigned integer literal.
    fn parse_unsigned(&mut self) -> Result<u64, ParserError>;
    /// Consumes a single-quoted string literal and returns its (unescaped) value.
    fn parse_string(&mut self) -> Result<String, ParserError>;
    /// Fails with `Expected: {expected}` at the next token.
    fn expected_next<T>(&self, expected: &str) -> Result<T, ParserError>;
    /// Fails at the next token where the grammar requires one of the tokens `expected`
    /// (ANTLR's names), reported as ksqlDB's `Expecting {...}`.
    fn expected_tokens<T>(&self, expected: &[&str]) -> Result<T, ParserError>;
    /// Where the next token starts.
    fn next_location(&self) -> Location;
}

impl ParserExt for Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        is_word(&self.peek_token_ref().token, word)
    }

    fn peek_nth_word(&self, n: usize, word: &str) -> bool {
        is_word(&self.peek_nth_token_ref(n).token, word)
    }

    fn parse_word(&mut self, word: &str) -> bool {
        if self.peek_word(word) {
            self.advance_token();
            true
        } else {
            false
        }
    }

    fn parse_words(&mut self, words: &[&str]) -> bool {
        let all = words
            .iter()
            .enumerate()
            .all(|(n, word)| self.peek_nth_word(n, word));
        if all {
            for _ in words {
                self.advance_token();
            }
        }
        all
    }

    fn expect_word(&mut self, word: &str) -> Result<(), ParserError> {
        if self.parse_word(word) {
            Ok(())
        } else {
            self.expected_next(word)
        }
    }

    fn expect_one_of_words(&mut self, words: &[&'static str]) -> Result<&'static str, ParserError> {
        for word in words {
            if self.parse_word(word) {
                return Ok(word);
            }
        }
        self.expected_next(&format!("one of: {}", words.join(", ")))
    }

    fn parse_ident(&mut self) -> Result<Ident, ParserError> {
        let token = self.peek_token_ref();
        match &token.token {
            Token::Word(word) if word.quote_style.is_some() || !is_reserved(&word.value) => {
                let ident = word.to_ident(token.span);
                self.advance_token();
                Ok(ident)
            }
            _ => self.expected_next("an identifier"),
        }
    }

    fn parse_name(&mut self) -> Result<String, ParserError> {
        self.parse_ident().map(|ident| normalize(&ident))
    }

    fn parse_unsigned(&mut self) -> Result<u64, ParserError> {
        if let Token::Number(text, _) = &self.peek_token_ref().token
            && let Ok(value) = text.parse::<u64>()
        {
            self.advance_token();
            return Ok(value);
        }
        self.expected_next("an integer")
    }

    fn parse_string(&mut self) -> Result<String, ParserError> {
        if let Token::SingleQuotedString(text) = &self.peek_token_ref().token {
            let text = text.clone();
            self.advance_token();
            return Ok(text);
        }
        self.expected_next("a string")
    }

    fn expected_next<T>(&self, expected: &str) -> Result<T, ParserError> {
        self.expected_ref(expected, self.peek_token_ref())
    }

    fn expected_tokens<T>(&self, expected: &[&str]) -> Result<T, ParserError> {
        Err(crate::error::mismatch_error(expected, self.next_location()))
    }

    fn next_location(&self) -> Location {
        self.peek_token_ref().span.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_right_is_split_into_two_closing_brackets() {
        let tokens = tokenize("ARRAY<ARRAY<INT>>").expect("tokenizes");
        let kinds: Vec<&Token> = tokens.iter().map(|token| &token.token).collect();
        assert_eq!(kinds[kinds.len() - 2..], [&Token::Gt, &Token::Gt]);
        let last = &tokens[tokens.len() - 1];
        assert_eq!((last.span.start.column, last.span.end.column), (17, 18));
    }

    #[test]
    fn identifiers_are_normalized_unless_quoted() {
        let cases = [
            (Ident::new("foo"), "FOO"),
            (Ident::with_quote('`', "foo"), "foo"),
            (Ident::with_quote('"', "Foo"), "Foo"),
        ];
        for (ident, expected) in cases {
            assert_eq!(normalize(&ident), expected);
        }
    }
}
