//! Recursive-descent parser for Kea's grammar (`lib/eval/parser.yy`),
//! checking types (boolean or string) and emitting the postfix program.
//! Precedence as Kea's: `or` < `and` < `not` < `==` < `+`.

use super::lexer::{tokenize, Kind, Token};
use super::program::{IntText, Op, Pkt4Field, PktField, Repr, SubLen};
use super::ExprError;

/// The type of a sub-expression: Kea's `bool_expr` or `string_expr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Str,
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    /// How many `(`, `not` and keywords (function calls) enclose the current token.
    depth: usize,
    ops: Vec<Op>,
    option_code: &'t dyn Fn(&str) -> Option<u8>,
}

/// How deeply parentheses, `not` and function calls may nest. The parser
/// recurses once per level; a bound keeps a hostile or broken config file
/// (read again on SIGHUP by the running server) from overflowing the stack.
/// Real tests nest a handful of levels.
pub(super) const MAX_NESTING: usize = 64;

/// Parses `text` into a postfix program whose result is a boolean.
pub(super) fn compile(
    text: &str,
    option_code: &dyn Fn(&str) -> Option<u8>,
) -> Result<Vec<Op>, ExprError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        depth: 0,
        ops: Vec::new(),
        option_code,
    };
    let ty = parser.or_expr()?;
    let end = parser.peek();
    if end.kind != Kind::End {
        return Err(err(
            end.position,
            format!("unexpected {}", end.kind.describe()),
        ));
    }
    if ty != Ty::Bool {
        return Err(err(
            end.position,
            "a class test must be a boolean expression: expected '==' or '+' after this string, found end of expression",
        ));
    }
    Ok(parser.ops)
}

fn err(position: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        position,
        message: message.into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.at.min(last)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn unexpected(&self, wanted: &str) -> ExprError {
        let token = self.peek();
        err(
            token.position,
            format!("expected {wanted}, found {}", token.kind.describe()),
        )
    }

    fn eat(&mut self, kind: &Kind) -> bool {
        if &self.peek().kind == kind {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &'static str) -> Result<(), ExprError> {
        if self.eat(&Kind::Punct(p)) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{p}'")))
        }
    }

    fn expect_word(&mut self, w: &'static str) -> Result<(), ExprError> {
        if self.eat(&Kind::Word(w)) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{w}'")))
        }
    }

    /// Parses an operand and checks it has type `want`. A mismatch is
    /// reported where Kea's parser notices it: at the token after the operand.
    fn typed(
        &mut self,
        want: Ty,
        parse: fn(&mut Self) -> Result<Ty, ExprError>,
    ) -> Result<(), ExprError> {
        let got = parse(self)?;
        self.check(got, want)
    }

    /// Refuses an operand of type `got` where `want` is needed, at the
    /// current token.
    fn check(&self, got: Ty, want: Ty) -> Result<(), ExprError> {
        if got == want {
            return Ok(());
        }
        let found = self.peek().kind.describe();
        let message = match want {
            Ty::Bool => format!(
                "expected '==' or '+' after a string (a boolean is needed here), found {found}"
            ),
            Ty::Str => format!("unexpected {found} after a boolean (a string is needed here)"),
        };
        Err(err(self.peek().position, message))
    }

    fn or_expr(&mut self) -> Result<Ty, ExprError> {
        let first = self.and_expr()?;
        if self.peek().kind != Kind::Word("or") {
            return Ok(first);
        }
        self.check(first, Ty::Bool)?;
        while self.eat(&Kind::Word("or")) {
            self.typed(Ty::Bool, Self::and_expr)?;
            self.ops.push(Op::Or);
        }
        Ok(Ty::Bool)
    }

    fn and_expr(&mut self) -> Result<Ty, ExprError> {
        let first = self.not_expr()?;
        if self.peek().kind != Kind::Word("and") {
            return Ok(first);
        }
        self.check(first, Ty::Bool)?;
        while self.eat(&Kind::Word("and")) {
            self.typed(Ty::Bool, Self::not_expr)?;
            self.ops.push(Op::And);
        }
        Ok(Ty::Bool)
    }

    /// Runs `parse` one nesting level deeper, refusing to go past
    /// [`MAX_NESTING`].
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.depth >= MAX_NESTING {
            return Err(err(
                self.peek().position,
                format!("nested more than {MAX_NESTING} levels deep"),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn not_expr(&mut self) -> Result<Ty, ExprError> {
        if self.eat(&Kind::Word("not")) {
            self.nested(|parser| parser.typed(Ty::Bool, Self::not_expr))?;
            self.ops.push(Op::Not);
            return Ok(Ty::Bool);
        }
        self.equal_expr()
    }

    fn equal_expr(&mut self) -> Result<Ty, ExprError> {
        let first = self.concat_expr()?;
        if self.peek().kind != Kind::Punct("==") {
            return Ok(first);
        }
        self.check(first, Ty::Str)?;
        self.next();
        self.typed(Ty::Str, Self::concat_expr)?;
        self.ops.push(Op::Equal);
        Ok(Ty::Bool)
    }

    fn concat_expr(&mut self) -> Result<Ty, ExprError> {
        let first = self.primary()?;
        if self.peek().kind != Kind::Punct("+") {
            return Ok(first);
        }
        self.check(first, Ty::Str)?;
        while self.eat(&Kind::Punct("+")) {
            self.typed(Ty::Str, Self::primary)?;
            self.ops.push(Op::Concat);
        }
        Ok(Ty::Str)
    }

    fn primary(&mut self) -> Result<Ty, ExprError> {
        let token = self.next();
        match token.kind {
            Kind::Punct("(") => {
                let ty = self.nested(Self::or_expr)?;
                self.expect_punct(")")?;
                Ok(ty)
            }
            Kind::Str(s) => self.push_const(s.into_bytes()),
            Kind::Hex(b) | Kind::Ip(b) => self.push_const(b),
            Kind::Int(text) => {
                let value = convert_u32(&text, token.position)?;
                self.push_const(value.to_be_bytes().to_vec())
            }
            Kind::Word(word) => self.nested(|parser| parser.keyword(word, token.position)),
            other => Err(err(
                token.position,
                format!("unexpected {}", other.describe()),
            )),
        }
    }

    fn push_const(&mut self, bytes: Vec<u8>) -> Result<Ty, ExprError> {
        self.ops.push(Op::Const(bytes));
        Ok(Ty::Str)
    }

    fn keyword(&mut self, word: &'static str, position: usize) -> Result<Ty, ExprError> {
        match word {
            "option" => self.option(),
            "relay4" => self.relay4(),
            "pkt" => self.pkt(),
            "pkt4" => self.pkt4(),
            "vendor" => self.vendor(),
            "vendor-class" => self.vendor_class(),
            "member" => self.member(),
            "relay6" | "pkt6" => Err(err(position, format!("not supported in DHCPv4: {word}"))),
            _ => self.function(word, position),
        }
    }

    /// `(` code `]` or name `]` after `option[`.
    fn option_code(&mut self) -> Result<u8, ExprError> {
        self.expect_punct("[")?;
        let token = self.next();
        let code = match token.kind {
            Kind::Int(text) => convert_code(&text, token.position)?,
            Kind::Name(name) => (self.option_code)(&name)
                .ok_or_else(|| err(token.position, format!("option '{name}' is not defined")))?,
            other => {
                return Err(err(
                    token.position,
                    format!(
                        "expected an option code or name, found {}",
                        other.describe()
                    ),
                ))
            }
        };
        self.expect_punct("]")?;
        Ok(code)
    }

    /// `[` integer `]` for a sub-option code.
    fn sub_code(&mut self) -> Result<u8, ExprError> {
        self.expect_punct("[")?;
        let token = self.next();
        let Kind::Int(text) = token.kind else {
            return Err(err(
                token.position,
                format!(
                    "expected a sub-option code, found {}",
                    token.kind.describe()
                ),
            ));
        };
        let code = convert_code(&text, token.position)?;
        self.expect_punct("]")?;
        Ok(code)
    }

    /// `.hex`, `.text` or `.exists` (the dot already read).
    fn repr(&mut self) -> Result<(Repr, Ty), ExprError> {
        let found = match self.peek().kind {
            Kind::Word("hex") => (Repr::Hex, Ty::Str),
            Kind::Word("text") => (Repr::Text, Ty::Str),
            Kind::Word("exists") => (Repr::Exists, Ty::Bool),
            _ => return Err(self.unexpected("'hex', 'text' or 'exists'")),
        };
        self.next();
        Ok(found)
    }

    fn option(&mut self) -> Result<Ty, ExprError> {
        let code = self.option_code()?;
        self.expect_punct(".")?;
        if self.eat(&Kind::Word("option")) {
            let sub = self.sub_code()?;
            self.expect_punct(".")?;
            let (repr, ty) = self.repr()?;
            self.ops.push(Op::SubOption { code, sub, repr });
            return Ok(ty);
        }
        let (repr, ty) = self.repr()?;
        self.ops.push(Op::Option { code, repr });
        Ok(ty)
    }

    fn relay4(&mut self) -> Result<Ty, ExprError> {
        let sub = self.sub_code()?;
        self.expect_punct(".")?;
        let (repr, ty) = self.repr()?;
        self.ops.push(Op::Relay4 { sub, repr });
        Ok(ty)
    }

    fn pkt(&mut self) -> Result<Ty, ExprError> {
        self.expect_punct(".")?;
        let field = match self.peek().kind {
            Kind::Word("iface") => PktField::Iface,
            Kind::Word("src") => PktField::Src,
            Kind::Word("dst") => PktField::Dst,
            Kind::Word("len") => PktField::Len,
            _ => return Err(self.unexpected("'iface', 'src', 'dst' or 'len'")),
        };
        self.next();
        self.ops.push(Op::Pkt(field));
        Ok(Ty::Str)
    }

    fn pkt4(&mut self) -> Result<Ty, ExprError> {
        self.expect_punct(".")?;
        let field = match self.peek().kind {
            Kind::Word("mac") => Pkt4Field::Mac,
            Kind::Word("hlen") => Pkt4Field::Hlen,
            Kind::Word("htype") => Pkt4Field::Htype,
            Kind::Word("ciaddr") => Pkt4Field::Ciaddr,
            Kind::Word("giaddr") => Pkt4Field::Giaddr,
            Kind::Word("yiaddr") => Pkt4Field::Yiaddr,
            Kind::Word("siaddr") => Pkt4Field::Siaddr,
            Kind::Word("msgtype") => Pkt4Field::Msgtype,
            Kind::Word("transid") => Pkt4Field::Transid,
            _ => return Err(self.unexpected(
                "a pkt4 field (mac, hlen, htype, ciaddr, giaddr, yiaddr, siaddr, msgtype, transid)",
            )),
        };
        self.next();
        self.ops.push(Op::Pkt4(field));
        Ok(Ty::Str)
    }

    /// `[` integer or `*` `]`: an enterprise id, 0 for any.
    fn enterprise(&mut self) -> Result<u32, ExprError> {
        self.expect_punct("[")?;
        let token = self.next();
        let id = match token.kind {
            Kind::Punct("*") => 0,
            Kind::Int(text) => convert_u32(&text, token.position)?,
            other => {
                return Err(err(
                    token.position,
                    format!(
                        "expected an enterprise id or '*', found {}",
                        other.describe()
                    ),
                ))
            }
        };
        self.expect_punct("]")?;
        Ok(id)
    }

    fn vendor(&mut self) -> Result<Ty, ExprError> {
        if self.eat(&Kind::Punct(".")) {
            self.expect_word("enterprise")?;
            self.ops.push(Op::VendorEnterprise);
            return Ok(Ty::Str);
        }
        let enterprise = self.enterprise()?;
        self.expect_punct(".")?;
        if self.eat(&Kind::Word("exists")) {
            self.ops.push(Op::VendorExists(enterprise));
            return Ok(Ty::Bool);
        }
        if !self.eat(&Kind::Word("option")) {
            return Err(self.unexpected("'exists' or 'option'"));
        }
        let code = self.sub_code()?;
        self.expect_punct(".")?;
        let (repr, ty) = self.repr()?;
        self.ops.push(Op::VendorOption {
            enterprise,
            code,
            repr,
        });
        Ok(ty)
    }

    fn vendor_class(&mut self) -> Result<Ty, ExprError> {
        if self.eat(&Kind::Punct(".")) {
            self.expect_word("enterprise")?;
            self.ops.push(Op::VendorClassEnterprise);
            return Ok(Ty::Str);
        }
        let enterprise = self.enterprise()?;
        self.expect_punct(".")?;
        if self.eat(&Kind::Word("exists")) {
            self.ops.push(Op::VendorClassExists(enterprise));
            return Ok(Ty::Bool);
        }
        if !self.eat(&Kind::Word("data")) {
            return Err(self.unexpected("'exists' or 'data'"));
        }
        let mut index = 0;
        if self.eat(&Kind::Punct("[")) {
            let token = self.next();
            let Kind::Int(text) = token.kind else {
                return Err(err(
                    token.position,
                    format!("expected an integer, found {}", token.kind.describe()),
                ));
            };
            index = convert_u8(&text, token.position)?;
            self.expect_punct("]")?;
        }
        self.ops.push(Op::VendorClassData { enterprise, index });
        Ok(Ty::Str)
    }

    fn member(&mut self) -> Result<Ty, ExprError> {
        self.expect_punct("(")?;
        let token = self.next();
        let Kind::Str(name) = token.kind else {
            return Err(err(
                token.position,
                format!(
                    "expected a class name in quotes, found {}",
                    token.kind.describe()
                ),
            ));
        };
        self.expect_punct(")")?;
        self.ops.push(Op::Member(name));
        Ok(Ty::Bool)
    }

    /// An integer literal argument (substring, split), as Kea's `int`.
    fn int_arg(&mut self) -> Result<Option<i32>, ExprError> {
        let token = self.next();
        match token.kind {
            Kind::Int(text) => Ok(text.parse::<i32>().ok()),
            other => Err(err(
                token.position,
                format!("expected an integer, found {}", other.describe()),
            )),
        }
    }

    /// The string functions: `name(` args `)`.
    fn function(&mut self, word: &'static str, position: usize) -> Result<Ty, ExprError> {
        let unary = |op: Op| {
            move |p: &mut Self| -> Result<Op, ExprError> {
                p.typed(Ty::Str, Self::or_expr)?;
                Ok(op)
            }
        };
        let int_text = |width, signed| unary(Op::IntToText(IntText { width, signed }));
        self.expect_punct("(")?;
        let op = match word {
            "substring" => self.substring()?,
            "split" => {
                self.typed(Ty::Str, Self::or_expr)?;
                self.expect_punct(",")?;
                self.typed(Ty::Str, Self::or_expr)?;
                self.expect_punct(",")?;
                Op::Split {
                    field: self.int_arg()?,
                }
            }
            "concat" | "hexstring" => {
                self.typed(Ty::Str, Self::or_expr)?;
                self.expect_punct(",")?;
                self.typed(Ty::Str, Self::or_expr)?;
                if word == "concat" {
                    Op::Concat
                } else {
                    Op::ToHexString
                }
            }
            "ifelse" => {
                self.typed(Ty::Bool, Self::or_expr)?;
                self.expect_punct(",")?;
                self.typed(Ty::Str, Self::or_expr)?;
                self.expect_punct(",")?;
                self.typed(Ty::Str, Self::or_expr)?;
                Op::IfElse
            }
            "lcase" => unary(Op::Lcase)(self)?,
            "ucase" => unary(Op::Ucase)(self)?,
            "addrtotext" => unary(Op::AddrToText)(self)?,
            "int8totext" => int_text(1, true)(self)?,
            "int16totext" => int_text(2, true)(self)?,
            "int32totext" => int_text(4, true)(self)?,
            "uint8totext" => int_text(1, false)(self)?,
            "uint16totext" => int_text(2, false)(self)?,
            "uint32totext" => int_text(4, false)(self)?,
            _ => return Err(err(position, format!("unexpected '{word}'"))),
        };
        self.expect_punct(")")?;
        self.ops.push(op);
        Ok(Ty::Str)
    }

    fn substring(&mut self) -> Result<Op, ExprError> {
        self.typed(Ty::Str, Self::or_expr)?;
        self.expect_punct(",")?;
        let start = self.int_arg()?;
        self.expect_punct(",")?;
        let len = if self.eat(&Kind::Word("all")) {
            SubLen::All
        } else {
            SubLen::Count(self.int_arg()?)
        };
        Ok(Op::Substring { start, len })
    }
}

/// Kea's `convertOptionCode` for DHCPv4: 0..255.
fn convert_code(text: &str, position: usize) -> Result<u8, ExprError> {
    text.parse::<u8>().map_err(|_| {
        err(
            position,
            format!("option code has invalid value in {text}. Allowed range: 0..255"),
        )
    })
}

/// Kea's `convertUint32`.
fn convert_u32(text: &str, position: usize) -> Result<u32, ExprError> {
    text.parse::<i64>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            err(
                position,
                format!("invalid value in {text}. Allowed range: 0..4294967295"),
            )
        })
}

/// Kea's `convertUint8`.
fn convert_u8(text: &str, position: usize) -> Result<u8, ExprError> {
    text.parse::<i64>()
        .ok()
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| {
            err(
                position,
                format!("invalid value in {text}. Allowed range: 0..255"),
            )
        })
}
