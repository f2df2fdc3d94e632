//! Kea's classification expressions for DHCPv4 ("Using Expressions in
//! Classification"): parsed once at load into a compact program with errors
//! naming the position, evaluated per packet without allocating where it can.
//!
//! `lexer` and `parser` follow Kea 2.6's `lib/eval/lexer.ll` and `parser.yy`
//! (2.2's grammar plus `lcase`/`ucase`), `program` is the postfix form of
//! Kea's token list, `eval` runs it as `token.cc` does, `packet` indexes a
//! received packet as `Pkt4::unpack` would, `text` and `format` render option
//! values as Kea's option classes do.
//!
//! Checked against Kea 2.2 itself (`tests_diff`, `tests_kea`): the parse
//! outcome and error column of 94 expressions, and 105 expressions evaluated on
//! relayed DISCOVERs in a network namespace. Per packet, indexing and
//! evaluating allocate nothing unless Kea's semantics build a new string
//! (`concat`, `hexstring`, `*totext`, `lcase`, re-packed or fused options).
//!
//! Known differences from Kea, all outside what operators' configs use:
//! - a received option is read with Kea's *standard* definitions only: an
//!   option defined by `option-def` (or by a vendor other than DOCSIS 4491)
//!   is generic here (`.text` is the hex form, strings are not trimmed, a
//!   malformed one does not invalidate the packet);
//! - `.text`, `.hex` and validity of record-typed options other than 94
//!   and 97 (81, 78, ...) are those of a generic option; `OptionInt` data
//!   longer than its type is not split into sub-options;
//! - `option[43].option[N]` finds nothing: in Kea's first classification
//!   pass option 43 is still unparsed (it is parsed before the second pass);
//! - `member('X')` of an undefined class parses; the loader checks
//!   [`Expression::members`] (Kea refuses it at parse time);
//! - `relay6`/`pkt6` are refused at their first token and a misspelt keyword
//!   is named whole (Kea reports the first invalid character).

mod eval;
mod format;
mod lexer;
mod packet;
mod parser;
mod program;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_diff;
#[cfg(test)]
mod tests_kea;
mod text;

use std::net::Ipv4Addr;

pub use packet::Packet;
use program::Op;

/// Why an expression was refused: where in the text and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct ExprError {
    /// 1-based character position in the expression text.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

/// Facts about a packet that are not in its bytes.
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta<'a> {
    /// The interface it came in on (`pkt.iface`).
    pub iface: &'a str,
    /// Its source address (`pkt.src`).
    pub src: Ipv4Addr,
    /// Its destination address (`pkt.dst`).
    pub dst: Ipv4Addr,
}

/// A parsed classification expression (a class's `test`): the postfix
/// program Kea's parser would build, already type-checked as a boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    text: String,
    ops: Vec<Op>,
}

/// Parses `text`; `option_code` resolves an option name written in
/// `option[NAME]` to its `dhcp4` code.
pub fn parse(
    text: &str,
    option_code: &dyn Fn(&str) -> Option<u8>,
) -> Result<Expression, ExprError> {
    let ops = parser::compile(text, option_code)?;
    Ok(Expression {
        text: text.to_string(),
        ops,
    })
}

impl Expression {
    /// Whether `packet` passes; `member` answers `member('NAME')`. An
    /// evaluation error (Kea's `EvalTypeError`, e.g. `addrtotext` of three
    /// bytes) is a non-match, as Kea logs it and does not assign the class.
    pub fn matches(&self, packet: &Packet<'_>, member: &dyn Fn(&str) -> bool) -> bool {
        eval::run(&self.ops, packet, member).unwrap_or(false)
    }

    /// The class names the expression tests with `member(...)`, so the loader
    /// can check they exist and the server can defer classes that depend on
    /// `KNOWN`/`UNKNOWN` until after the host reservation lookup.
    pub fn members(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for op in &self.ops {
            if let Op::Member(name) = op {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The expression as written, for logs and error messages.
    pub fn text(&self) -> &str {
        &self.text
    }
}
