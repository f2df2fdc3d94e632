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

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Reads and parses the file at `path`.
pub fn parse_file(path: &Path, warnings: &mut Vec<ConfigWarning>) -> Result<Node, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    parse_str(&text, path, warnings)
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    location: Location,
}

struct Lexer {
    tokens: Vec<Token>,
    /// The files being lexed, outermost first (include cycle detection).
    stack: Vec<PathBuf>,
}

/// A cursor over one file's text that counts lines.
struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    file: Arc<Path>,
}

impl Cursor<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn here(&self) -> Location {
        Location::new(Arc::clone(&self.file), self.line)
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.bump();
        }
    }
}

impl Lexer {
    fn lex(&mut self, text: &str, file: Arc<Path>) -> Result<(), ConfigError> {
        let mut cur = Cursor {
            chars: text.chars().peekable(),
            line: 1,
            file,
        };
        while let Some(c) = cur.peek() {
            let at = cur.here();
            let tok = match c {
                c if c.is_ascii_whitespace() => {
                    cur.bump();
                    continue;
                }
                '#' => {
                    skip_line(&mut cur);
                    continue;
                }
                '/' => {
                    skip_slash_comment(&mut cur)?;
                    continue;
                }
                '<' => {
                    self.include(&mut cur)?;
                    continue;
                }
                '{' | '[' => {
                    cur.bump();
                    Tok::Open(c)
                }
                '}' | ']' => {
                    cur.bump();
                    Tok::Close(c)
                }
                ',' => {
                    cur.bump();
                    Tok::Comma
                }
                ':' => {
                    cur.bump();
                    Tok::Colon
                }
                '"' => Tok::Str(string(&mut cur)?),
                c if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => number(&mut cur)?,
                c if c.is_ascii_alphabetic() => word(&mut cur)?,
                other => return Err(syntax(&at, format!("invalid character {other:?}"))),
            };
            self.tokens.push(Token { tok, location: at });
        }
        Ok(())
    }

    /// `<?include "file"?>`: the file's tokens are spliced in here.
    fn include(&mut self, cur: &mut Cursor<'_>) -> Result<(), ConfigError> {
        let at = cur.here();
        cur.bump();
        if cur.bump() != Some('?') {
            return Err(syntax(&at, "invalid character '<'"));
        }
        cur.skip_blanks();
        let word: String = std::iter::from_fn(|| {
            cur.peek().filter(|c| c.is_ascii_alphabetic())?;
            cur.bump()
        })
        .collect();
        if word != "include" {
            return Err(syntax(
                &at,
                format!("unknown directive <?{word}; expected <?include \"file\"?>"),
            ));
        }
        cur.skip_blanks();
        if cur.peek() != Some('"') {
            return Err(syntax(&at, "expected a quoted file name after <?include"));
        }
        let name = string(cur)?;
        cur.skip_blanks();
        if cur.bump() != Some('?') || cur.bump() != Some('>') {
            return Err(syntax(&at, "directive not closed: expected ?>"));
        }
        self.include_file(&name, &at)
    }

    fn include_file(&mut self, name: &str, at: &Location) -> Result<(), ConfigError> {
        let including = self
            .stack
            .last()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(""));
        let path = match including.parent() {
            Some(dir) if Path::new(name).is_relative() => dir.join(name),
            _ => PathBuf::from(name),
        };
        let key = "<?include?>";
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(ConfigError::invalid(
                at,
                key,
                format!(
                    "includes nest deeper than {MAX_INCLUDE_DEPTH} (at {})",
                    path.display()
                ),
            ));
        }
        let canonical = std::fs::canonicalize(&path).map_err(|e| {
            ConfigError::invalid(
                at,
                key,
                format!("cannot open include file {}: {e}", path.display()),
            )
        })?;
        let cycle = self
            .stack
            .iter()
            .any(|open| std::fs::canonicalize(open).is_ok_and(|c| c == canonical));
        if cycle {
            return Err(ConfigError::invalid(
                at,
                key,
                format!("{} includes itself (an include cycle)", path.display()),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::invalid(
                at,
                key,
                format!("cannot read include file {}: {e}", path.display()),
            )
        })?;
        self.stack.push(path.clone());
        self.lex(&text, Arc::from(path.as_path()))?;
        self.stack.pop();
        Ok(())
    }
}

fn skip_line(cur: &mut Cursor<'_>) {
    while let Some(c) = cur.peek() {
        if c == '\n' {
            return;
        }
        cur.bump();
    }
}

fn skip_slash_comment(cur: &mut Cursor<'_>) -> Result<(), ConfigError> {
    let at = cur.here();
    cur.bump();
    match cur.bump() {
        Some('/') => {
            skip_line(cur);
            Ok(())
        }
        Some('*') => {
            let mut star = false;
            while let Some(c) = cur.bump() {
                if star && c == '/' {
                    return Ok(());
                }
                star = c == '*';
            }
            Err(syntax(
                &at,
                format!("comment not closed (/* at line {})", at.line),
            ))
        }
        _ => Err(syntax(&at, "invalid character '/'")),
    }
}

/// A JSON string, the opening quote next; escapes decoded.
fn string(cur: &mut Cursor<'_>) -> Result<String, ConfigError> {
    let at = cur.here();
    cur.bump();
    let mut out = String::new();
    loop {
        match cur.bump() {
            None | Some('\n') => return Err(syntax(&at, "string not closed")),
            Some('"') => return Ok(out),
            Some('\\') => out.push(escape(cur, &at)?),
            Some(c) if u32::from(c) < 0x20 => {
                return Err(syntax(&at, format!("control character {c:?} in a string")))
            }
            Some(c) => out.push(c),
        }
    }
}

fn escape(cur: &mut Cursor<'_>, at: &Location) -> Result<char, ConfigError> {
    Ok(match cur.bump() {
        Some('"') => '"',
        Some('\\') => '\\',
        Some('/') => '/',
        Some('b') => '\u{8}',
        Some('f') => '\u{c}',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('u') => {
            let high = hex4(cur, at)?;
            if (0xD800..0xDC00).contains(&high) {
                if cur.bump() != Some('\\') || cur.bump() != Some('u') {
                    return Err(syntax(at, "unpaired surrogate in a \\u escape"));
                }
                let low = hex4(cur, at)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(syntax(at, "unpaired surrogate in a \\u escape"));
                }
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                char::from_u32(code).ok_or_else(|| syntax(at, "bad \\u escape"))?
            } else {
                char::from_u32(high)
                    .ok_or_else(|| syntax(at, "unpaired surrogate in a \\u escape"))?
            }
        }
        other => {
            return Err(syntax(
                at,
                format!(
                    "bad escape \\{}",
                    other.map(String::from).unwrap_or_default()
                ),
            ))
        }
    })
}

fn hex4(cur: &mut Cursor<'_>, at: &Location) -> Result<u32, ConfigError> {
    let mut value = 0;
    for _ in 0..4 {
        let digit = cur
            .bump()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| syntax(at, "a \\u escape needs four hex digits"))?;
        value = value * 16 + digit;
    }
    Ok(value)
}

/// A number as Kea's lexer reads it: `-?[0-9]+` is an integer, anything else
/// matching `[-+]?[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?` a float.
fn number(cur: &mut Cursor<'_>) -> Result<Tok, ConfigError> {
    let at = cur.here();
    let mut text = String::new();
    if let Some(sign) = cur.peek().filter(|c| *c == '-' || *c == '+') {
        text.push(sign);
        cur.bump();
    }
    take_digits(cur, &mut text);
    if cur.peek() == Some('.') {
        text.push('.');
        cur.bump();
        take_digits(cur, &mut text);
    }
    if cur.peek().is_some_and(|c| c == 'e' || c == 'E') {
        text.push('e');
        cur.bump();
        if let Some(sign) = cur.peek().filter(|c| *c == '-' || *c == '+') {
            text.push(sign);
            cur.bump();
        }
        take_digits(cur, &mut text);
    }
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(Tok::Int)
            .map_err(|_| syntax(&at, format!("integer {text} out of range")));
    }
    text.parse()
        .map(Tok::Float)
        .map_err(|_| syntax(&at, format!("invalid number {text:?}")))
}

fn take_digits(cur: &mut Cursor<'_>, text: &mut String) {
    while let Some(c) = cur.peek().filter(char::is_ascii_digit) {
        text.push(c);
        cur.bump();
    }
}

fn word(cur: &mut Cursor<'_>) -> Result<Tok, ConfigError> {
    let at = cur.here();
    let mut text = String::new();
    while let Some(c) = cur
        .peek()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
    {
        text.push(c);
        cur.bump();
    }
    match text.as_str() {
        "true" => Ok(Tok::Bool(true)),
        "false" => Ok(Tok::Bool(false)),
        "null" => Ok(Tok::Null),
        other
            if ["true", "false", "null"]
                .iter()
                .any(|w| w.eq_ignore_ascii_case(other)) =>
        {
            Err(syntax(
                &at,
                format!("JSON {} is lower case only", other.to_ascii_lowercase()),
            ))
        }
        other => Err(syntax(
            &at,
            format!("unexpected word {other:?} (strings are quoted)"),
        )),
    }
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
#[path = "json_tests.rs"]
mod tests;
