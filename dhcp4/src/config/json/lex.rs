//! The lexer of Kea's dialect: comments skipped, numbers typed as Kea's
//! lexer types them, and `<?include "file"?>` spliced in as tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::config::{ConfigError, Location};

use super::{syntax, MAX_INCLUDE_DEPTH};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) location: Location,
}

pub(super) struct Lexer {
    pub(super) tokens: Vec<Token>,
    /// The files being lexed, outermost first (include cycle detection).
    pub(super) stack: Vec<PathBuf>,
    /// Bytes read from included files so far: depth and cycle checks alone
    /// let a file include the same child twice per level, 2^10 copies.
    pub(super) included_bytes: u64,
}

/// The most text includes may bring in, all files together: far beyond a
/// real configuration, and a bound on what a mistaken include (a device, a
/// log file, a fan-out of the same file) can make us read and keep.
const MAX_INCLUDED_BYTES: u64 = 64 << 20;

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
    pub(super) fn lex(&mut self, text: &str, file: Arc<Path>) -> Result<(), ConfigError> {
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
        let text = self.read_bounded(&path, at)?;
        self.stack.push(path.clone());
        self.lex(&text, Arc::from(path.as_path()))?;
        self.stack.pop();
        Ok(())
    }
}

impl Lexer {
    /// Reads an included file, counting it against [`MAX_INCLUDED_BYTES`].
    fn read_bounded(&mut self, path: &Path, at: &Location) -> Result<String, ConfigError> {
        use std::io::Read as _;
        let key = "<?include?>";
        let cannot = |e: std::io::Error| {
            ConfigError::invalid(
                at,
                key,
                format!("cannot read include file {}: {e}", path.display()),
            )
        };
        let left = MAX_INCLUDED_BYTES.saturating_sub(self.included_bytes);
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(left.saturating_add(1)).read_to_string(&mut text))
            .map_err(cannot)?;
        self.included_bytes = self.included_bytes.saturating_add(text.len() as u64);
        if self.included_bytes > MAX_INCLUDED_BYTES {
            return Err(ConfigError::invalid(
                at,
                key,
                format!(
                    "includes bring in more than {} MiB (at {})",
                    MAX_INCLUDED_BYTES >> 20,
                    path.display()
                ),
            ));
        }
        Ok(text)
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
