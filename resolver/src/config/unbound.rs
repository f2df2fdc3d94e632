//! unbound.conf lexer: the operator's file (and everything it includes) as a flat list
//! of located [`Directive`]s, each tagged with the clause it belongs to.
//!
//! The grammar follows Unbound's flex lexer (util/configlexer.lex) rather than a
//! line-based reading, so files Unbound accepts read the same here:
//!
//! - A directive is a `key:` token followed by a fixed number of values (most keys
//!   take one, `access-control:` and `local-zone:` two, clause headers such as
//!   `server:` none). Several directives may share a line (`server: verbosity: 1`)
//!   and a value may sit on the line after its key.
//! - Values are bare words or quoted with `"` or `'`; quotes are stripped and
//!   backslash escapes are kept as written (the RR parser reads them in `local-data`).
//! - `#` starts a comment only at the start of a token: `forward-addr: 1.1.1.1#cloudflare-dns.com`
//!   keeps its TLS name, `port: 53 # comment` drops the comment.
//! - `local-data:`, `local-data-ptr:`, `module-config:` and `target-fetch-policy:`
//!   take a single value that Unbound wants quoted because it contains spaces; written
//!   unquoted, the rest of the line is the value (Unbound would reject such a line).
//! - `include: path` splices a file in place (glob patterns allowed, sorted, as
//!   Unbound's `glob(3)` call); `include-toplevel: path` closes the current clause
//!   before and after the file. A relative path is resolved against the last
//!   `directory:` seen so far (Unbound `chdir`s there while parsing), else against
//!   the directory of the top-level file (Unbound uses its working directory, which
//!   in a container is arbitrary). An include loop is an error.
//!
//! Every directive keeps its file and line, so later errors read `file:line: key: …`.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use common::config::{ConfigError, ConfigErrorKind, ConfigWarning, Location};

/// Nested includes deeper than this are refused (a loop is caught earlier).
const MAX_INCLUDE_DEPTH: usize = 64;

/// The clause (`server:`, `forward-zone:`, …) a directive was written in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Clause {
    /// `server:`.
    Server,
    /// The n-th `forward-zone:` clause (0-based, across all included files).
    ForwardZone(usize),
    /// The n-th `stub-zone:` clause (0-based, across all included files).
    StubZone(usize),
    /// `cachedb:`.
    Cachedb,
    /// `remote-control:`.
    RemoteControl,
    /// Any other clause Unbound has (`auth-zone`, `view`, `dnstap`, `rpz`, …), by name.
    Other(String),
}

impl Clause {
    /// The clause header as written in unbound.conf, without the colon.
    pub fn name(&self) -> &str {
        match self {
            Clause::Server => "server",
            Clause::ForwardZone(_) => "forward-zone",
            Clause::StubZone(_) => "stub-zone",
            Clause::Cachedb => "cachedb",
            Clause::RemoteControl => "remote-control",
            Clause::Other(name) => name,
        }
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.name())
    }
}

/// Clause headers Unbound knows (util/configlexer.lex, the `YDVAR(0, …)` keywords).
pub const CLAUSES: &[&str] = &[
    "server",
    "forward-zone",
    "stub-zone",
    "cachedb",
    "remote-control",
    "auth-zone",
    "view",
    "rpz",
    "python",
    "dynlib",
    "dnstap",
    "dnscrypt",
    "ipset",
];

/// One `key: value…` line of unbound.conf (clause headers included, with no args).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// File and line of the key.
    pub location: Location,
    /// The clause the key is in; for a header, the clause it opens.
    pub clause: Clause,
    /// The key without its colon, as written (Unbound keys are case-sensitive).
    pub key: String,
    /// The values, quotes stripped.
    pub args: Vec<String>,
}

/// The lexed configuration: directives in file order, with includes spliced in.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// Every directive, in the order Unbound would apply them.
    pub directives: Vec<Directive>,
    /// Warnings from lexing (an include pattern that matched nothing).
    pub warnings: Vec<ConfigWarning>,
    /// The directory relative file names (root-hints, TLS keys) are resolved
    /// against: the last `directory:`, else the top-level file's directory.
    pub base_dir: PathBuf,
}

/// How many values a key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arity {
    /// Exactly this many tokens.
    Fixed(usize),
    /// One token if quoted, else the rest of the line.
    RestOfLine,
}

/// Unbound's value count for `key` (util/configlexer.lex `YDVAR(n, …)`); unknown keys take one.
fn arity(key: &str) -> Arity {
    if CLAUSES.contains(&key) {
        return Arity::Fixed(0);
    }
    match key {
        "local-data"
        | "local-data-ptr"
        | "module-config"
        | "define-tag"
        | "target-fetch-policy"
        | "val-nsec3-keysize-iterations"
        | "interface-automatic-ports" => Arity::RestOfLine,
        "access-control"
        | "local-zone"
        | "interface-action"
        | "wait-limit-netblock"
        | "wait-limit-cookie-netblock"
        | "local-zone-tag"
        | "access-control-tag"
        | "access-control-view"
        | "interface-tag"
        | "interface-view"
        | "ratelimit-for-domain"
        | "ratelimit-below-domain"
        | "response-ip-tag"
        | "response-ip"
        | "response-ip-data"
        | "tcp-connection-limit"
        | "edns-client-string" => Arity::Fixed(2),
        "access-control-tag-action"
        | "access-control-tag-data"
        | "interface-tag-action"
        | "interface-tag-data"
        | "local-zone-override" => Arity::Fixed(3),
        _ => Arity::Fixed(1),
    }
}

/// Reads `path` and everything it includes.
pub fn parse_file(path: &Path) -> Result<Parsed, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    parse_text(&text, path)
}

/// Lexes `text` as if it were the file `path` (includes resolve against its directory).
pub fn parse_text(text: &str, path: &Path) -> Result<Parsed, ConfigError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut lexer = Lexer {
        directives: Vec::new(),
        warnings: Vec::new(),
        clause: None,
        forward_zones: 0,
        stub_zones: 0,
        base_dir: dir,
        stack: Vec::new(),
    };
    let identity = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    lexer.stack.push((identity, path.to_path_buf()));
    lexer.lex(text, Arc::from(path))?;
    Ok(Parsed {
        directives: lexer.directives,
        warnings: lexer.warnings,
        base_dir: lexer.base_dir,
    })
}

struct Lexer {
    directives: Vec<Directive>,
    warnings: Vec<ConfigWarning>,
    clause: Option<Clause>,
    forward_zones: usize,
    stub_zones: usize,
    /// Where relative includes resolve (`directory:` or the top-level file's dir).
    base_dir: PathBuf,
    /// Files being read: (canonical path for loop detection, path as named).
    stack: Vec<(PathBuf, PathBuf)>,
}

fn syntax(location: &Location, key: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::at(location, key, ConfigErrorKind::Syntax(why.into()))
}

impl Lexer {
    fn lex(&mut self, text: &str, file: Arc<Path>) -> Result<(), ConfigError> {
        let mut scan = Scanner {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
            file,
            pending: None,
        };
        while let Some(item) = scan.next_item()? {
            let token = match item {
                Item::Newline => continue,
                Item::Token(token) => token,
            };
            let location = scan.location(token.line);
            if token.quoted {
                return Err(syntax(
                    &location,
                    "",
                    format!(
                        "expected a `key:`, found the quoted string \"{}\"",
                        token.text
                    ),
                ));
            }
            let Some(colon) = token.text.find(':') else {
                return Err(syntax(
                    &location,
                    "",
                    format!(
                        "expected a `key:`, found `{}` (a value with spaces must be quoted)",
                        token.text
                    ),
                ));
            };
            let key = token.text[..colon].to_string();
            if key.is_empty() {
                return Err(syntax(&location, "", format!("stray `{}`", token.text)));
            }
            let rest = &token.text[colon + 1..];
            if !rest.is_empty() {
                // `port:53` or `server:verbosity:1`: the remainder is the next token.
                scan.pending = Some(Token {
                    text: rest.to_string(),
                    quoted: false,
                    line: token.line,
                    start: token.start + colon + 1,
                });
            }
            self.directive(&mut scan, key, location)?;
        }
        Ok(())
    }

    fn directive(
        &mut self,
        scan: &mut Scanner<'_>,
        key: String,
        location: Location,
    ) -> Result<(), ConfigError> {
        if key == "include" || key == "include-toplevel" {
            let mut args = scan.fixed_args(&key, &location, 1)?;
            let pattern = args.pop().unwrap_or_default();
            let toplevel = key == "include-toplevel";
            if toplevel {
                self.clause = None;
            }
            self.include(&pattern, &location, &key)?;
            if toplevel {
                self.clause = None;
            }
            return Ok(());
        }
        if CLAUSES.contains(&key.as_str()) {
            let clause = match key.as_str() {
                "server" => Clause::Server,
                "forward-zone" => {
                    self.forward_zones += 1;
                    Clause::ForwardZone(self.forward_zones - 1)
                }
                "stub-zone" => {
                    self.stub_zones += 1;
                    Clause::StubZone(self.stub_zones - 1)
                }
                "cachedb" => Clause::Cachedb,
                "remote-control" => Clause::RemoteControl,
                other => Clause::Other(other.to_string()),
            };
            self.clause = Some(clause.clone());
            self.directives.push(Directive {
                location,
                clause,
                key,
                args: Vec::new(),
            });
            return Ok(());
        }
        let Some(clause) = self.clause.clone() else {
            return Err(syntax(
                &location,
                &key,
                "outside any clause: start the section with `server:` (or `forward-zone:`, \
                 `stub-zone:`, `cachedb:`, `remote-control:`)",
            ));
        };
        let args = match arity(&key) {
            Arity::Fixed(n) => scan.fixed_args(&key, &location, n)?,
            Arity::RestOfLine => scan.rest_of_line(&key, &location)?,
        };
        if key == "directory" && clause == Clause::Server {
            if let Some(dir) = args.first().filter(|d| !d.is_empty()) {
                // Unbound chdir()s here at once, so later relative includes follow it.
                self.base_dir = self.base_dir.join(dir);
            }
        }
        self.directives.push(Directive {
            location,
            clause,
            key,
            args,
        });
        Ok(())
    }

    fn include(
        &mut self,
        pattern: &str,
        location: &Location,
        key: &str,
    ) -> Result<(), ConfigError> {
        if pattern.is_empty() {
            return Err(ConfigError::invalid(
                location,
                key,
                "empty include file name",
            ));
        }
        let path = self.base_dir.join(pattern); // an absolute pattern replaces the base
        let files = if has_glob_meta(pattern) {
            let files = glob(&path).map_err(|source| ConfigError {
                location: Some(location.clone()),
                key: key.to_string(),
                kind: ConfigErrorKind::Io {
                    path: path.clone(),
                    source,
                },
            })?;
            if files.is_empty() {
                // Unbound skips a pattern with no match (GLOB_NOMATCH) silently; we say so.
                self.warnings.push(ConfigWarning {
                    location: location.clone(),
                    key: key.to_string(),
                    message: format!(
                        "pattern {} matched no files; nothing included",
                        path.display()
                    ),
                });
            }
            files
        } else {
            vec![path]
        };
        for file in files {
            self.include_file(&file, location, key)?;
        }
        Ok(())
    }

    fn include_file(
        &mut self,
        path: &Path,
        location: &Location,
        key: &str,
    ) -> Result<(), ConfigError> {
        let io_error = |source: io::Error| ConfigError {
            location: Some(location.clone()),
            key: key.to_string(),
            kind: ConfigErrorKind::Io {
                path: path.to_path_buf(),
                source,
            },
        };
        let identity = fs::canonicalize(path).map_err(io_error)?;
        if let Some(first) = self.stack.iter().position(|(seen, _)| *seen == identity) {
            let chain: Vec<String> = self.stack[first..]
                .iter()
                .map(|(_, named)| named.display().to_string())
                .chain(std::iter::once(path.display().to_string()))
                .collect();
            return Err(syntax(
                location,
                key,
                format!("include loop: {}", chain.join(" -> ")),
            ));
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(syntax(
                location,
                key,
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
            ));
        }
        let text = fs::read_to_string(path).map_err(io_error)?;
        self.stack.push((identity, path.to_path_buf()));
        let result = self.lex(&text, Arc::from(path));
        self.stack.pop();
        result
    }
}

/// A value or key token.
#[derive(Clone, Debug)]
struct Token {
    text: String,
    quoted: bool,
    line: u32,
    /// Byte offset of the token's first character (after an opening quote: the quote).
    start: usize,
}

enum Item {
    Token(Token),
    Newline,
}

/// Byte-level scanner: every syntax character is ASCII, and UTF-8 continuation bytes
/// never are, so slicing at the positions it stops at is always on a char boundary.
struct Scanner<'t> {
    text: &'t [u8],
    pos: usize,
    line: u32,
    file: Arc<Path>,
    pending: Option<Token>,
}

impl Scanner<'_> {
    fn location(&self, line: u32) -> Location {
        Location {
            file: self.file.clone(),
            line,
        }
    }

    fn slice(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(&self.text[from..to]).into_owned()
    }

    fn next_item(&mut self) -> Result<Option<Item>, ConfigError> {
        if let Some(token) = self.pending.take() {
            return Ok(Some(Item::Token(token)));
        }
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Ok(None);
            };
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    return Ok(Some(Item::Newline));
                }
                b'#' => {
                    while self.text.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'"' | b'\'' => return self.quoted(c).map(|t| Some(Item::Token(t))),
                _ => return Ok(Some(Item::Token(self.word()))),
            }
        }
    }

    fn quoted(&mut self, quote: u8) -> Result<Token, ConfigError> {
        let start = self.pos;
        self.pos += 1;
        let body = self.pos;
        loop {
            match self.text.get(self.pos) {
                None | Some(b'\n') => {
                    return Err(syntax(
                        &self.location(self.line),
                        "",
                        format!("newline inside quoted string, no closing {}", quote as char),
                    ));
                }
                Some(b'\\') if self.text.get(self.pos + 1).is_some_and(|&c| c != b'\n') => {
                    self.pos += 2;
                }
                Some(&c) if c == quote => {
                    let text = self.slice(body, self.pos);
                    self.pos += 1;
                    return Ok(Token {
                        text,
                        quoted: true,
                        line: self.line,
                        start,
                    });
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn word(&mut self) -> Token {
        let start = self.pos;
        while let Some(&c) = self.text.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' => break,
                b'\\' if self.text.get(self.pos + 1).is_some_and(|&c| c != b'\n') => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        Token {
            text: self.slice(start, self.pos),
            quoted: false,
            line: self.line,
            start,
        }
    }

    /// Exactly `n` values, possibly on following lines (as Unbound's `val` state).
    fn fixed_args(
        &mut self,
        key: &str,
        at: &Location,
        n: usize,
    ) -> Result<Vec<String>, ConfigError> {
        let mut args = Vec::with_capacity(n);
        let mut new_line = false;
        while args.len() < n {
            match self.next_item()? {
                None => {
                    return Err(syntax(
                        at,
                        key,
                        missing_values(n, args.len(), "the end of the file"),
                    ));
                }
                Some(Item::Newline) => new_line = true,
                Some(Item::Token(token)) => {
                    if new_line && !token.quoted && looks_like_key(&token.text) {
                        let found = format!("the next line's `{}`", token.text);
                        return Err(syntax(at, key, missing_values(n, args.len(), &found)));
                    }
                    args.push(token.text);
                }
            }
        }
        Ok(args)
    }

    /// One value: a quoted token, or the raw rest of the line (comment stripped).
    fn rest_of_line(&mut self, key: &str, at: &Location) -> Result<Vec<String>, ConfigError> {
        loop {
            match self.next_item()? {
                None => return Err(syntax(at, key, missing_values(1, 0, "the end of the file"))),
                Some(Item::Newline) => continue,
                Some(Item::Token(token)) if token.quoted => return Ok(vec![token.text]),
                Some(Item::Token(token)) => {
                    if looks_like_key(&token.text) {
                        let found = format!("`{}`", token.text);
                        return Err(syntax(at, key, missing_values(1, 0, &found)));
                    }
                    let mut end = token.start;
                    let mut in_quote = false;
                    while let Some(&c) = self.text.get(end) {
                        match c {
                            b'\n' => break,
                            b'\\' if self.text.get(end + 1).is_some_and(|&c| c != b'\n') => {
                                end += 1
                            }
                            b'"' => in_quote = !in_quote,
                            b'#' if !in_quote
                                && end > token.start
                                && matches!(self.text[end - 1], b' ' | b'\t') =>
                            {
                                break
                            }
                            _ => {}
                        }
                        end += 1;
                    }
                    let value = self.slice(token.start, end).trim_end().to_string();
                    // Skip a trailing comment; leave the newline for the main loop.
                    while self.text.get(end).is_some_and(|&c| c != b'\n') {
                        end += 1;
                    }
                    self.pos = end;
                    return Ok(vec![value]);
                }
            }
        }
    }
}

fn missing_values(expected: usize, found: usize, before: &str) -> String {
    let plural = if expected == 1 { "value" } else { "values" };
    format!("expects {expected} {plural}, found {found} before {before}")
}

/// `name:` (or `name:value`) shaped like an Unbound keyword rather than a value.
///
/// Keywords are lowercase letters, digits and dashes; every keyword with a digit also
/// has a dash (`do-ip4`), which keeps IPv6 groups such as `fe80:` from matching.
fn looks_like_key(text: &str) -> bool {
    let Some((key, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && (!key.chars().any(|c| c.is_ascii_digit()) || key.contains('-'))
        && !rest.starts_with(':')
}

fn has_glob_meta(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// `glob(3)` with `GLOB_BRACE`, as Unbound calls it: matches sorted per pattern,
/// hidden files only when the pattern's component starts with a dot.
fn glob(pattern: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for expanded in expand_braces(&pattern.to_string_lossy()) {
        let mut found = glob_one(Path::new(&expanded))?;
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn glob_one(pattern: &Path) -> io::Result<Vec<PathBuf>> {
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let Component::Normal(part) = component else {
            for candidate in &mut candidates {
                candidate.push(component);
            }
            continue;
        };
        let part = part.to_string_lossy();
        if !has_glob_meta(&part) {
            for candidate in &mut candidates {
                candidate.push(part.as_ref());
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &candidates {
            let listing = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let entries = match fs::read_dir(listing) {
                Ok(entries) => entries,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            for entry in entries {
                let name = entry?.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && !part.starts_with('.') {
                    continue;
                }
                if fnmatch(part.as_bytes(), name.as_bytes()) {
                    next.push(dir.join(name.as_ref()));
                }
            }
        }
        candidates = next;
    }
    candidates.retain(|path| path.exists());
    Ok(candidates)
}

/// `a{b,c}d` → `abd`, `acd` (nested braces expand recursively).
fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let Some(open) = bytes.iter().position(|&b| b == b'{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0usize;
    let mut splits = vec![open];
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => splits.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    splits.push(close);
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    splits
        .windows(2)
        .flat_map(|w| expand_braces(&format!("{head}{}{tail}", &pattern[w[0] + 1..w[1]])))
        .collect()
}

/// Shell pattern match of one path component: `*`, `?`, `[a-z]`, `[!x]`, `\x`.
fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if pattern.get(p) == Some(&b'*') {
            star = Some((p, n));
            p += 1;
            continue;
        }
        if let Some(next) = match_one(pattern, p, name[n]) {
            p = next;
            n += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// If the pattern element at `p` matches `c`, the index after it.
fn match_one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => match bracket(pattern, p, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (c == b'[').then_some(p + 1),
        },
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        literal => (literal == c).then_some(p + 1),
    }
}

/// `[...]` at `p`: whether `c` is in the class, and the index after `]`; `None` if unterminated.
fn bracket(pattern: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = p + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pattern.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&hi| hi != b']') {
            let hi = pattern[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod glob_tests {
    use super::*;

    #[test]
    fn fnmatch_basics() {
        assert!(fnmatch(b"*.conf", b"a.conf"));
        assert!(!fnmatch(b"*.conf", b"a.conf.bak"));
        assert!(fnmatch(b"zone-?.conf", b"zone-1.conf"));
        assert!(fnmatch(b"[a-c]*", b"b.conf"));
        assert!(!fnmatch(b"[!a-c]*", b"b.conf"));
        assert!(fnmatch(b"a*b*c", b"aXXbYYc"));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"\\*", b"x"));
    }

    #[test]
    fn braces_expand_in_order() {
        assert_eq!(
            expand_braces("/a/{x,y}.conf"),
            vec!["/a/x.conf", "/a/y.conf"]
        );
        assert_eq!(expand_braces("{a,b{c,d}}"), vec!["a", "bc", "bd"]);
        assert_eq!(expand_braces("no-brace"), vec!["no-brace"]);
    }

    #[test]
    fn key_shape() {
        assert!(looks_like_key("port:"));
        assert!(looks_like_key("do-ip4:"));
        assert!(looks_like_key("port:53"));
        assert!(!looks_like_key("fe80::1"));
        assert!(!looks_like_key("fe80:"));
        assert!(!looks_like_key("10.0.0.0/8"));
        assert!(!looks_like_key("allow"));
    }
}
