//! Kea's JSON dialect, read into a tree where every value and every object
//! key carries the file and line it was written at.
//!
//! Kea's lexer (bin/dhcp4/dhcp4_lexer.ll) accepts more than JSON, and
//! operators' files use all of it: `//`, `#` and `/* */` comments; a comma
//! before a closing bracket or a doubled comma (a warning: "a piece of
//! configuration may have been omitted"); numbers such as `.5`, `+1.5` or
//! `1e3` (floats) beside integers `-?[0-9]+`; and `<?include "file"?>`, which
//! Kea splices in as tokens wherever it appears. Includes are resolved
//! relative to the including file, nest at most [`MAX_INCLUDE_DEPTH`] deep and
//! may not include themselves. A key written twice in one object is an error,
//! as in Kea.

use std::path::Path;
use std::sync::Arc;

mod lex;

use lex::{Lexer, Tok, Token};

use common::config::{ConfigError, ConfigErrorKind, ConfigWarning, Location};

/// How deep includes may nest (Kea refuses more than 10).
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// How deep lists and objects may nest: a bound on the parser's recursion.
const MAX_NESTING: usize = 64;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub location: Location,
    /// The value.
    pub value: Value,
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is written.
    pub location: Location,
    /// Its value.
    pub value: Node,
}

/// A JSON value as Kea's lexer types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (`-?[0-9]+`).
    Int(i64),
    /// Any other number (`.5`, `1e3`, `2.0`).
    Float(f64),
    /// A string, escapes decoded.
    Str(String),
    /// A list.
    List(Vec<Node>),
    /// An object, entries in the order written.
    Map(Vec<Entry>),
}

impl Value {
    /// What the value is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number with a fraction",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

impl Node {
    /// The value as plain JSON (places dropped): what `config-get` answers.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses `text`, which was read from `path` (includes resolve beside it).
pub fn parse_str(
    text: &str,
    path: &Path,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Node, ConfigError> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        stack: vec![path.to_path_buf()],
        included_bytes: 0,
    };
    lexer.lex(text, Arc::from(path))?;
    let end = Location::new(
        Arc::<Path>::from(path),
        u32::try_from(text.lines().count().max(1)).unwrap_or(u32::MAX),
    );
    let mut parser = Parser {
        tokens: &lexer.tokens,
        next: 0,
        end,
        warnings,
    };
    let root = parser.value(0)?;
    if let Some(extra) = parser.tokens.get(parser.next) {
        return Err(syntax(
            &extra.location,
            "unexpected text after the end of the document",
        ));
    }
    Ok(root)
}

fn syntax(location: &Location, what: impl Into<String>) -> ConfigError {
    ConfigError::at(location, "", ConfigErrorKind::Syntax(what.into()))
}

struct Parser<'a> {
    tokens: &'a [Token],
    next: usize,
    end: Location,
    warnings: &'a mut Vec<ConfigWarning>,
}

impl Parser<'_> {
    fn take(&mut self) -> Result<&Token, ConfigError> {
        let token = self
            .tokens
            .get(self.next)
            .ok_or_else(|| syntax(&self.end, "unexpected end of the document"))?;
        self.next += 1;
        Ok(token)
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.next).map(|t| &t.tok)
    }

    fn value(&mut self, depth: usize) -> Result<Node, ConfigError> {
        let token = self.take()?;
        let location = token.location.clone();
        let value = match &token.tok {
            Tok::Open('{') => self.map(&location, depth)?,
            Tok::Open(_) => self.list(&location, depth)?,
            Tok::Str(s) => Value::Str(s.clone()),
            Tok::Int(n) => Value::Int(*n),
            Tok::Float(f) => Value::Float(*f),
            Tok::Bool(b) => Value::Bool(*b),
            Tok::Null => Value::Null,
            other => {
                return Err(syntax(
                    &location,
                    format!("expected a value, found {}", describe(other)),
                ))
            }
        };
        Ok(Node { location, value })
    }

    fn nest(&self, at: &Location, depth: usize) -> Result<(), ConfigError> {
        if depth >= MAX_NESTING {
            return Err(syntax(
                at,
                format!("lists and maps nest deeper than {MAX_NESTING}"),
            ));
        }
        Ok(())
    }

    /// After an element: `true` when another element follows. Extra commas
    /// (doubled, or before the closer) are accepted with Kea's warning.
    fn separator(&mut self, closer: char, what: &str) -> Result<bool, ConfigError> {
        let token = self.take()?;
        let at = token.location.clone();
        match &token.tok {
            Tok::Close(c) if *c == closer => return Ok(false),
            Tok::Comma => {}
            other => {
                return Err(syntax(
                    &at,
                    format!(
                        "expected ',' or '{closer}' in {what}, found {}",
                        describe(other)
                    ),
                ))
            }
        }
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.extra_comma(at.clone());
                    self.next += 1;
                }
                Some(Tok::Close(c)) if *c == closer => {
                    self.extra_comma(at);
                    self.next += 1;
                    return Ok(false);
                }
                _ => return Ok(true),
            }
        }
    }

    fn extra_comma(&mut self, location: Location) {
        self.warnings.push(ConfigWarning {
            location,
            key: ",".into(),
            message: "extraneous comma; a piece of configuration may have been omitted".into(),
        });
    }

    fn list(&mut self, at: &Location, depth: usize) -> Result<Value, ConfigError> {
        self.nest(at, depth)?;
        let mut items = Vec::new();
        if self.peek() == Some(&Tok::Close(']')) {
            self.next += 1;
            return Ok(Value::List(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            if !self.separator(']', "a list")? {
                return Ok(Value::List(items));
            }
        }
    }

    fn map(&mut self, at: &Location, depth: usize) -> Result<Value, ConfigError> {
        self.nest(at, depth)?;
        let mut entries: Vec<Entry> = Vec::new();
        if self.peek() == Some(&Tok::Close('}')) {
            self.next += 1;
            return Ok(Value::Map(entries));
        }
        loop {
            let token = self.take()?;
            let location = token.location.clone();
            let key = match &token.tok {
                Tok::Str(key) => key.clone(),
                other => {
                    return Err(syntax(
                        &location,
                        format!("expected a quoted key, found {}", describe(other)),
                    ))
                }
            };
            if let Some(previous) = entries.iter().find(|e| e.key == key) {
                return Err(syntax(
                    &location,
                    format!(
                        "duplicate {key:?} entries in a map (previous at {})",
                        previous.location
                    ),
                ));
            }
            let colon = self.take()?;
            if colon.tok != Tok::Colon {
                let found = describe(&colon.tok);
                return Err(syntax(
                    &colon.location.clone(),
                    format!("expected ':' after {key:?}, found {found}"),
                ));
            }
            let value = self.value(depth + 1)?;
            entries.push(Entry {
                key,
                location,
                value,
            });
            if !self.separator('}', "a map")? {
                return Ok(Value::Map(entries));
            }
        }
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Open(c) | Tok::Close(c) => format!("'{c}'"),
        Tok::Comma => "','".into(),
        Tok::Colon => "':'".into(),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Int(n) => format!("number {n}"),
        Tok::Float(f) => format!("number {f}"),
        Tok::Bool(b) => b.to_string(),
        Tok::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests;
