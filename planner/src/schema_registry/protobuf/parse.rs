//! `.proto` text to a `ProtoFile`: a tokenizer and a recursive-descent parser of the
//! declarations schemas hold. Unknown options are skipped with balanced brackets.

/// A parsed `.proto` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProtoFile {
    /// `package a.b;`, or empty.
    pub package: String,
    pub imports: Vec<String>,
    pub messages: Vec<MessageDefinition>,
    pub enums: Vec<EnumDefinition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageDefinition {
    pub name: String,
    pub fields: Vec<FieldDefinition>,
    pub messages: Vec<MessageDefinition>,
    pub enums: Vec<EnumDefinition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub name: String,
    pub number: u32,
    pub label: Label,
    pub type_ref: TypeRef,
    /// `(confluent.field_meta)` parameters, such as `precision` and `scale`.
    pub params: Vec<(String, String)>,
}

/// A field's cardinality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// proto3 singular (no presence).
    Singular,
    /// `optional` (presence), or proto2 `optional`/`required`, or a `oneof` member.
    Optional,
    Repeated,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// A scalar type name (`int32`, `string`, ...) or a message or enum name as written.
    Named(String),
    Map(String, Box<TypeRef>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumDefinition {
    pub name: String,
    pub values: Vec<(String, i32)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(String),
    Text(String),
    Symbol(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c == '/' && chars.get(index + 1) == Some(&'/') {
            while index < chars.len() && chars[index] != '\n' {
                index += 1;
            }
        } else if c == '/' && chars.get(index + 1) == Some(&'*') {
            index += 2;
            while index + 1 < chars.len() && !(chars[index] == '*' && chars[index + 1] == '/') {
                index += 1;
            }
            index += 2;
        } else if c == '"' || c == '\'' {
            let mut value = String::new();
            index += 1;
            while index < chars.len() && chars[index] != c {
                if chars[index] == '\\' && index + 1 < chars.len() {
                    index += 1;
                }
                value.push(chars[index]);
                index += 1;
            }
            if index >= chars.len() {
                return Err("unterminated string in protobuf schema".to_string());
            }
            index += 1;
            tokens.push(Token::Text(value));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(index + 1).is_some_and(char::is_ascii_digit))
        {
            let start = index;
            index += 1;
            while index < chars.len()
                && (chars[index].is_ascii_alphanumeric() || chars[index] == '.')
            {
                index += 1;
            }
            tokens.push(Token::Number(chars[start..index].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '.' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_alphanumeric() || chars[index] == '_' || chars[index] == '.')
            {
                index += 1;
            }
            tokens.push(Token::Word(chars[start..index].iter().collect()));
        } else {
            tokens.push(Token::Symbol(c));
            index += 1;
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    proto3: bool,
}

impl ProtoFile {
    /// Parses `.proto` text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: tokenize(text)?,
            position: 0,
            proto3: false,
        };
        parser
            .file()
            .map_err(|error| format!("invalid protobuf schema: {error}"))
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Result<Token, String> {
        let token = self
            .tokens
            .get(self.position)
            .cloned()
            .ok_or("unexpected end of schema")?;
        self.position += 1;
        Ok(token)
    }

    fn is_symbol(&self, symbol: char) -> bool {
        self.peek() == Some(&Token::Symbol(symbol))
    }

    fn expect_symbol(&mut self, symbol: char) -> Result<(), String> {
        match self.next()? {
            Token::Symbol(found) if found == symbol => Ok(()),
            other => Err(format!("expected '{symbol}', found {other:?}")),
        }
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next()? {
            Token::Word(word) => Ok(word),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn text(&mut self) -> Result<String, String> {
        match self.next()? {
            Token::Text(text) => Ok(text),
            other => Err(format!("expected a string, found {other:?}")),
        }
    }

    fn number(&mut self) -> Result<i64, String> {
        match self.next()? {
            Token::Number(number) => parse_integer(&number),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }

    /// Skips to the end of a statement (`;`), over balanced brackets.
    fn skip_statement(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Token::Symbol('{' | '[' | '(') => depth += 1,
                Token::Symbol('}' | ']' | ')') => depth = depth.saturating_sub(1),
                Token::Symbol(';') if depth == 0 => return Ok(()),
                _ => {}
            }
        }
    }

    fn file(&mut self) -> Result<ProtoFile, String> {
        let mut file = ProtoFile::default();
        while let Some(token) = self.peek().cloned() {
            match token {
                Token::Word(word) if word == "syntax" => {
                    self.next()?;
                    self.expect_symbol('=')?;
                    self.proto3 = self.text()? == "proto3";
                    self.expect_symbol(';')?;
                }
                Token::Word(word) if word == "package" => {
                    self.next()?;
                    file.package = self.word()?;
                    self.expect_symbol(';')?;
                }
                Token::Word(word) if word == "import" => {
                    self.next()?;
                    if matches!(self.peek(), Some(Token::Word(w)) if w == "public" || w == "weak") {
                        self.next()?;
                    }
                    file.imports.push(self.text()?);
                    self.expect_symbol(';')?;
                }
                Token::Word(word) if word == "message" => {
                    self.next()?;
                    file.messages.push(self.message()?);
                }
                Token::Word(word) if word == "enum" => {
                    self.next()?;
                    file.enums.push(self.enumeration()?);
                }
                Token::Word(word) if word == "option" || word == "extend" || word == "service" => {
                    self.skip_statement_or_block()?;
                }
                Token::Symbol(';') => {
                    self.next()?;
                }
                other => return Err(format!("unexpected {other:?}")),
            }
        }
        Ok(file)
    }

    /// Skips `option ...;` or `extend X { ... }` / `service X { ... }`.
    fn skip_statement_or_block(&mut self) -> Result<(), String> {
        let keyword = self.word()?;
        if keyword == "option" {
            return self.skip_statement();
        }
        while !self.is_symbol('{') {
            self.next()?;
        }
        self.skip_block()
    }

    fn skip_block(&mut self) -> Result<(), String> {
        self.expect_symbol('{')?;
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                Token::Symbol('{') => depth += 1,
                Token::Symbol('}') => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    fn message(&mut self) -> Result<MessageDefinition, String> {
        let mut message = MessageDefinition {
            name: self.word()?,
            ..MessageDefinition::default()
        };
        self.expect_symbol('{')?;
        loop {
            let token = self.next()?;
            match token {
                Token::Symbol('}') => break,
                Token::Symbol(';') => {}
                Token::Word(word) => match word.as_str() {
                    "message" => message.messages.push(self.message()?),
                    "enum" => message.enums.push(self.enumeration()?),
                    "option" | "reserved" | "extensions" => self.skip_statement()?,
                    "extend" => {
                        while !self.is_symbol('{') {
                            self.next()?;
                        }
                        self.skip_block()?;
                    }
                    "oneof" => {
                        self.word()?;
                        self.expect_symbol('{')?;
                        while !self.is_symbol('}') {
                            if matches!(self.peek(), Some(Token::Word(w)) if w == "option") {
                                self.skip_statement()?;
                                continue;
                            }
                            let type_name = self.word()?;
                            let mut field =
                                self.field(Label::Optional, TypeRef::Named(type_name))?;
                            field.label = Label::Optional;
                            message.fields.push(field);
                        }
                        self.expect_symbol('}')?;
                    }
                    "map" => {
                        self.expect_symbol('<')?;
                        let key = self.word()?;
                        self.expect_symbol(',')?;
                        let value = self.word()?;
                        self.expect_symbol('>')?;
                        let map = TypeRef::Map(key, Box::new(TypeRef::Named(value)));
                        message.fields.push(self.field(Label::Repeated, map)?);
                    }
                    "repeated" => {
                        let type_name = self.word()?;
                        message
                            .fields
                            .push(self.field(Label::Repeated, TypeRef::Named(type_name))?);
                    }
                    "optional" | "required" => {
                        let type_name = self.word()?;
                        message
                            .fields
                            .push(self.field(Label::Optional, TypeRef::Named(type_name))?);
                    }
                    _ => {
                        let label = if self.proto3 {
                            Label::Singular
                        } else {
                            Label::Optional
                        };
                        message
                            .fields
                            .push(self.field(label, TypeRef::Named(word))?);
                    }
                },
                other => return Err(format!("unexpected {other:?} in message {}", message.name)),
            }
        }
        Ok(message)
    }

    /// `name = number [options];` after the type.
    fn field(&mut self, label: Label, type_ref: TypeRef) -> Result<FieldDefinition, String> {
        let name = self.word()?;
        self.expect_symbol('=')?;
        let number = u32::try_from(self.number()?)
            .map_err(|_| format!("field {name} has an invalid number"))?;
        let mut params = Vec::new();
        if self.is_symbol('[') {
            params = self.field_options()?;
        }
        self.expect_symbol(';')?;
        Ok(FieldDefinition {
            name,
            number,
            label,
            type_ref,
            params,
        })
    }

    /// `[ ... ]`, collecting `{ key: "k", value: "v" }` pairs (Confluent's field meta params).
    fn field_options(&mut self) -> Result<Vec<(String, String)>, String> {
        self.expect_symbol('[')?;
        let mut depth = 1usize;
        let mut params = Vec::new();
        let mut key: Option<String> = None;
        let mut value: Option<String> = None;
        let mut last_word: Option<String> = None;
        while depth > 0 {
            match self.next()? {
                Token::Symbol('[' | '{' | '(') => depth += 1,
                Token::Symbol(']' | ')') => depth -= 1,
                Token::Symbol('}') => {
                    depth -= 1;
                    if let (Some(key), Some(value)) = (key.take(), value.take()) {
                        params.push((key, value));
                    }
                }
                Token::Word(word) => last_word = Some(word),
                Token::Text(text) | Token::Number(text) => match last_word.take().as_deref() {
                    Some("key") => key = Some(text),
                    Some("value") => value = Some(text),
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(params)
    }

    fn enumeration(&mut self) -> Result<EnumDefinition, String> {
        let name = self.word()?;
        let mut values = Vec::new();
        self.expect_symbol('{')?;
        loop {
            match self.next()? {
                Token::Symbol('}') => break,
                Token::Symbol(';') => {}
                Token::Word(word) if word == "option" || word == "reserved" => {
                    self.skip_statement()?;
                }
                Token::Word(word) => {
                    self.expect_symbol('=')?;
                    let number = i32::try_from(self.number()?)
                        .map_err(|_| format!("enum value {word} is out of range"))?;
                    if self.is_symbol('[') {
                        self.field_options()?;
                    }
                    self.expect_symbol(';')?;
                    values.push((word, number));
                }
                other => return Err(format!("unexpected {other:?} in enum {name}")),
            }
        }
        Ok(EnumDefinition { name, values })
    }
}

fn parse_integer(text: &str) -> Result<i64, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse()
    }
    .map_err(|_| format!("invalid number {text}"))?;
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_parse_into_messages_fields_and_enums() {
        let text = r#"
            syntax = "proto3";
            package com.example; // comment
            import "google/protobuf/wrappers.proto";
            option java_package = "x.y";
            /* block
               comment */
            message ConfluentDefault1 {
              enum Suit {SPADES = 0; HEARTS = 1; option allow_alias = true;}
              message Something {int32 f1 = 1;}
              Suit c1 = 1;
              repeated string c2 = 2 [packed = true];
              map<string, Something> c3 = 3;
              optional int64 c4 = 4;
              oneof choice { string a = 5; int32 b = 6; }
              confluent.type.Decimal c6 = 7 [(confluent.field_meta) = { params: [{ value: "4", key: "precision" }, { value: "2", key: "scale" }]}];
              reserved 9, 10;
            }
            message Second { google.protobuf.Int32Value w = 1; }
        "#;
        let file = ProtoFile::parse(text).expect("parses");
        assert_eq!(file.package, "com.example");
        assert_eq!(file.imports, ["google/protobuf/wrappers.proto"]);
        let names: Vec<&str> = file.messages.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["ConfluentDefault1", "Second"]);
        let message = &file.messages[0];
        assert_eq!(
            message.enums[0].values,
            [("SPADES".into(), 0), ("HEARTS".into(), 1)]
        );
        assert_eq!(message.messages[0].name, "Something");
        let fields: Vec<(&str, u32, Label)> = message
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.number, f.label))
            .collect();
        assert_eq!(
            fields,
            [
                ("c1", 1, Label::Singular),
                ("c2", 2, Label::Repeated),
                ("c3", 3, Label::Repeated),
                ("c4", 4, Label::Optional),
                ("a", 5, Label::Optional),
                ("b", 6, Label::Optional),
                ("c6", 7, Label::Singular),
            ]
        );
        assert_eq!(
            message.fields[2].type_ref,
            TypeRef::Map(
                "string".into(),
                Box::new(TypeRef::Named("Something".into()))
            )
        );
        assert_eq!(
            message.fields[6].params,
            [
                ("precision".to_string(), "4".to_string()),
                ("scale".to_string(), "2".to_string())
            ]
        );
    }

    #[test]
    fn broken_schemas_fail() {
        for text in [
            "message A { int32 a = ; }",
            "message A { int32 a = 1 }",
            "syntax = \"proto3",
            "message A {",
        ] {
            assert!(ProtoFile::parse(text).is_err(), "{text}");
        }
    }
}
