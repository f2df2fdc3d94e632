//! Splits an expression into tokens the way Kea's `lib/eval/lexer.ll` does:
//! quoted strings, `0x` hex strings, integers, IP addresses, option names
//! (an identifier directly before `]`), keywords and punctuation.

use super::ExprError;

/// One token with the 1-based character position where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) position: usize,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// `'text'` without the quotes.
    Str(String),
    /// `0x...` decoded (an odd digit count gets a leading zero, as Kea).
    Hex(Vec<u8>),
    /// `-?[0-9]+` kept as text: its meaning depends on where it stands.
    Int(String),
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
    Ip(Vec<u8>),
    /// An identifier directly followed by `]`: an option name.
    Name(String),
    /// A keyword of the language.
    Word(&'static str),
    /// One of `( ) [ ] . , * +` or `==`.
    Punct(&'static str),
    /// The end of the text.
    End,
}

impl Kind {
    /// How a token is named in an error message.
    pub(super) fn describe(&self) -> String {
        match self {
            Kind::Str(s) => format!("string '{s}'"),
            Kind::Hex(_) => "hex string".to_string(),
            Kind::Int(i) => format!("integer {i}"),
            Kind::Ip(_) => "IP address".to_string(),
            Kind::Name(n) => format!("option name '{n}'"),
            Kind::Word(w) => format!("'{w}'"),
            Kind::Punct(p) => format!("'{p}'"),
            Kind::End => "end of expression".to_string(),
        }
    }
}

/// Every keyword of Kea 2.6's lexer (`lexer.ll`).
const KEYWORDS: &[&str] = &[
    "option",
    "relay4",
    "relay6",
    "peeraddr",
    "linkaddr",
    "text",
    "hex",
    "exists",
    "pkt",
    "iface",
    "src",
    "dst",
    "len",
    "pkt4",
    "mac",
    "hlen",
    "htype",
    "ciaddr",
    "giaddr",
    "yiaddr",
    "siaddr",
    "pkt6",
    "msgtype",
    "transid",
    "vendor",
    "vendor-class",
    "data",
    "enterprise",
    "substring",
    "lcase",
    "ucase",
    "split",
    "all",
    "concat",
    "ifelse",
    "hexstring",
    "addrtotext",
    "int8totext",
    "int16totext",
    "int32totext",
    "uint8totext",
    "uint16totext",
    "uint32totext",
    "not",
    "and",
    "or",
    "member",
];

const PUNCT: &[&str] = &["(", ")", "[", "]", ".", ",", "*", "+"];

/// Tokenizes `text`; the last token is always `Kind::End`.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if is_blank(c) {
            at += 1;
            continue;
        }
        let position = at + 1;
        let (kind, len) = lex_one(&chars, at)?;
        tokens.push(Token { kind, position });
        at += len;
    }
    tokens.push(Token {
        kind: Kind::End,
        position: chars.len() + 1,
    });
    Ok(tokens)
}

fn error(position: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        position,
        message: message.into(),
    }
}

/// Lexes the token starting at `chars[at]`: its kind and length in chars.
fn lex_one(chars: &[char], at: usize) -> Result<(Kind, usize), ExprError> {
    let rest = &chars[at..];
    let position = at + 1;
    match rest {
        ['\'', ..] => {
            let end = rest[1..]
                .iter()
                .position(|&c| c == '\'' || c == '\n')
                .filter(|&i| rest[1 + i] == '\'')
                .ok_or_else(|| error(position, "unterminated string"))?;
            Ok((Kind::Str(rest[1..1 + end].iter().collect()), end + 2))
        }
        ['=', '=', ..] => Ok((Kind::Punct("=="), 2)),
        [c, ..] => match PUNCT.iter().find(|p| p.starts_with(*c)) {
            Some(p) => Ok((Kind::Punct(p), 1)),
            None => lex_word_or_number(rest, position),
        },
        [] => Ok((Kind::End, 0)),
    }
}

/// Longest of the number-like patterns (hex string, integer, IPv4, IPv6)
/// and identifiers at the start of `rest`.
fn lex_word_or_number(rest: &[char], position: usize) -> Result<(Kind, usize), ExprError> {
    let hex_len = match rest {
        ['0', 'x' | 'X', tail @ ..] => {
            let digits = tail.iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if digits > 0 {
                digits + 2
            } else {
                0
            }
        }
        _ => 0,
    };
    let int_len = {
        let sign = usize::from(rest.first() == Some(&'-'));
        let digits = rest[sign..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            sign + digits
        } else {
            0
        }
    };
    let v4_len = addr4_len(rest);
    let v6_len = addr6_len(rest);
    let ident_len = ident_len(rest);
    let best = hex_len.max(int_len).max(v4_len).max(v6_len).max(ident_len);
    if best == 0 {
        return Err(error(position, format!("invalid character '{}'", rest[0])));
    }
    let text: String = rest[..best].iter().collect();
    if best == ident_len {
        return lex_identifier(rest, text, position);
    }
    if best == hex_len {
        return Ok((Kind::Hex(decode_hex(&text[2..])), best));
    }
    if best == int_len {
        if text.parse::<i64>().is_err() {
            return Err(error(
                position,
                format!("failed to convert {text} to an integer"),
            ));
        }
        return Ok((Kind::Int(text), best));
    }
    let bytes = if best == v4_len {
        text.parse::<std::net::Ipv4Addr>()
            .map(|a| a.octets().to_vec())
    } else {
        text.parse::<std::net::Ipv6Addr>()
            .map(|a| a.octets().to_vec())
    };
    bytes.map(|b| (Kind::Ip(b), best)).map_err(|_| {
        error(
            position,
            format!("failed to convert {text} to an IP address"),
        )
    })
}

/// A keyword, or an option name when `]` follows (after blanks), else an
/// unknown word.
fn lex_identifier(
    rest: &[char],
    text: String,
    position: usize,
) -> Result<(Kind, usize), ExprError> {
    let len = text.chars().count();
    let after = rest[len..].iter().find(|c| !is_blank(**c));
    let last_ok = text
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if after == Some(&']') && last_ok {
        return Ok((Kind::Name(text), len));
    }
    if let Some(word) = KEYWORDS.iter().find(|k| **k == text) {
        return Ok((Kind::Word(word), len));
    }
    Err(error(position, format!("unknown token '{text}'")))
}

/// Kea's blanks: space, tab and newline (anything else is an invalid
/// character).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n')
}

/// `[A-Za-z][-_A-Za-z0-9]*`.
fn ident_len(rest: &[char]) -> usize {
    match rest.first() {
        Some(c) if c.is_ascii_alphabetic() => rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '-' || **c == '_')
            .count(),
        _ => 0,
    }
}

/// `[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+`.
fn addr4_len(rest: &[char]) -> usize {
    let mut at = 0;
    for part in 0..4 {
        if part > 0 {
            if rest.get(at) != Some(&'.') {
                return 0;
            }
            at += 1;
        }
        let digits = rest[at.min(rest.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return 0;
        }
        at += digits;
    }
    at
}

/// `[0-9a-fA-F]*\:[0-9a-fA-F]*\:[0-9a-fA-F:.]*`.
fn addr6_len(rest: &[char]) -> usize {
    let hex = |s: &[char]| s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let mut at = hex(rest);
    for _ in 0..2 {
        if rest.get(at) != Some(&':') {
            return 0;
        }
        at += 1;
        if at < rest.len() {
            at += hex(&rest[at..]);
        }
    }
    at + rest[at.min(rest.len())..]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit() || **c == ':' || **c == '.')
        .count()
}

/// Hex digits to bytes, a leading zero added to an odd count.
fn decode_hex(digits: &str) -> Vec<u8> {
    let nibbles: Vec<u8> = digits
        .chars()
        .filter_map(|c| c.to_digit(16))
        .filter_map(|d| u8::try_from(d).ok())
        .collect();
    let padded: Vec<u8> = if nibbles.len() % 2 == 1 {
        std::iter::once(0).chain(nibbles).collect()
    } else {
        nibbles
    };
    padded
        .chunks(2)
        .map(|p| p.iter().fold(0u8, |acc, n| acc << 4 | n))
        .collect()
}
