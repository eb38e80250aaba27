//! Syntax highlighting at the `eddy>` prompt: keywords, string literals, numbers, comments,
//! quoted identifiers, and the names of known streams, tables and functions.
//!
//! The REPL uses it only when stdout is a terminal (and `NO_COLOR` is unset).

use std::sync::Arc;

use nu_ansi_term::{Color, Style};
use reedline::{Highlighter, StyledText};

use super::complete::Vocabulary;

/// What a piece of the line is, for its color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Keyword,
    String,
    Number,
    Comment,
    QuotedIdentifier,
    Source,
    Function,
    Other,
}

impl Token {
    fn style(self) -> Style {
        match self {
            Token::Keyword => Color::LightBlue.bold(),
            Token::String => Color::Green.normal(),
            Token::Number => Color::Magenta.normal(),
            Token::Comment => Color::DarkGray.italic(),
            Token::QuotedIdentifier => Color::Yellow.normal(),
            Token::Source => Color::Cyan.normal(),
            Token::Function => Color::LightYellow.normal(),
            Token::Other => Style::new(),
        }
    }
}

/// The highlighter the REPL gives reedline.
pub struct SqlHighlighter {
    vocabulary: Arc<Vocabulary>,
}

impl SqlHighlighter {
    pub fn new(vocabulary: Arc<Vocabulary>) -> SqlHighlighter {
        SqlHighlighter { vocabulary }
    }

    /// `line` cut into (token, text) pieces that together are the whole line.
    fn tokens<'a>(&self, line: &'a str) -> Vec<(Token, &'a str)> {
        let mut tokens = Vec::new();
        let mut rest = line;
        while let Some(first) = rest.chars().next() {
            let (token, length) = if rest.starts_with("--") {
                (Token::Comment, rest.find('\n').unwrap_or(rest.len()))
            } else if rest.starts_with("/*") {
                (
                    Token::Comment,
                    rest.find("*/").map_or(rest.len(), |end| end + 2),
                )
            } else if first == '\'' {
                (Token::String, quoted_length(rest, '\''))
            } else if first == '"' || first == '`' {
                (Token::QuotedIdentifier, quoted_length(rest, first))
            } else if first.is_ascii_digit() {
                let length = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                    .unwrap_or(rest.len());
                (Token::Number, length)
            } else if first.is_alphabetic() || first == '_' {
                let length = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (self.word_token(&rest[..length]), length)
            } else {
                (Token::Other, first.len_utf8())
            };
            tokens.push((token, &rest[..length]));
            rest = &rest[length..];
        }
        tokens
    }

    fn word_token(&self, word: &str) -> Token {
        let upper = word.to_ascii_uppercase();
        if self.vocabulary.is_source(word) {
            Token::Source
        } else if parser::keywords().contains(&upper.as_str()) {
            Token::Keyword
        } else if self.vocabulary.is_function(word) {
            Token::Function
        } else {
            Token::Other
        }
    }
}

/// The length of the quoted text at the start of `text` (to the end if unclosed); a
/// doubled quote inside stands for one.
fn quoted_length(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((index, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|(_, next)| *next == quote) {
                chars.next();
            } else {
                return index + c.len_utf8();
            }
        }
    }
    text.len()
}

impl Highlighter for SqlHighlighter {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        let mut styled = StyledText::new();
        let mut previous: Option<(Token, String)> = None;
        // Adjacent pieces of the same kind make one styled run.
        for (token, text) in self.tokens(line) {
            match &mut previous {
                Some((kind, run)) if *kind == token => run.push_str(text),
                _ => {
                    if let Some((kind, run)) = previous.take() {
                        styled.push((kind.style(), run));
                    }
                    previous = Some((token, text.to_string()));
                }
            }
        }
        if let Some((kind, run)) = previous {
            styled.push((kind.style(), run));
        }
        styled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_highlighted_tokens() {
        let mut vocabulary = Vocabulary::default();
        vocabulary.add_source("PAGEVIEWS", Vec::new());
        vocabulary.functions = vec!["UCASE".into()];
        let highlighter = SqlHighlighter::new(Arc::new(vocabulary));
        let line = "select ucase(x), 'it''s', 4.5 from pageviews -- done\n/* c */ `q`";
        let got: Vec<(Token, &str)> = highlighter
            .tokens(line)
            .into_iter()
            .filter(|(token, _)| *token != Token::Other)
            .collect();
        let expected = [
            (Token::Keyword, "select"),
            (Token::Function, "ucase"),
            (Token::String, "'it''s'"),
            (Token::Number, "4.5"),
            (Token::Keyword, "from"),
            (Token::Source, "pageviews"),
            (Token::Comment, "-- done"),
            (Token::Comment, "/* c */"),
            (Token::QuotedIdentifier, "`q`"),
        ];
        assert_eq!(got, expected);
        let styled = highlighter.highlight(line, 0);
        let text: String = styled
            .buffer
            .iter()
            .map(|(_, text)| text.as_str())
            .collect();
        assert_eq!(text, line, "highlighting keeps the text");
    }
}
