//! Runs a compiled program on a packet as Kea's tokens do (`token.cc`):
//! values are byte strings (booleans kept apart: the grammar never mixes
//! them), borrowed from the packet or the program where possible, on a stack
//! held inline for the usual depth.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::{self, Packet, RELAY_AGENT, VIVCO, VIVSO};
use super::program::{IntText, Op, Pkt4Field, PktField, Repr, SubLen};
use super::{format, text};

/// A value on the stack.
#[derive(Debug)]
enum Value<'a> {
    Bool(bool),
    Bytes(Cow<'a, [u8]>),
    /// A 4-byte integer or address held inline (no allocation).
    Word([u8; 4]),
}

impl Value<'_> {
    fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Word(w) => Some(w),
            Value::Bool(_) => None,
        }
    }
}

/// Kea raised an `EvalTypeError` (e.g. `addrtotext` of 3 bytes): the class
/// does not match.
#[derive(Debug)]
pub(super) struct EvalError;

/// How many values live on the stack without a heap allocation.
const INLINE: usize = 12;

/// A value stack: the first `INLINE` values inline, more spilled.
struct Stack<'a> {
    inline: [Option<Value<'a>>; INLINE],
    len: usize,
    spill: Vec<Value<'a>>,
}

impl<'a> Stack<'a> {
    fn new() -> Self {
        Stack {
            inline: Default::default(),
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, value: Value<'a>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(value),
            None => self.spill.push(value),
        }
        self.len += 1;
    }

    fn pop(&mut self) -> Result<Value<'a>, EvalError> {
        self.len = self.len.checked_sub(1).ok_or(EvalError)?;
        match self.inline.get_mut(self.len) {
            Some(slot) => slot.take().ok_or(EvalError),
            None => self.spill.pop().ok_or(EvalError),
        }
    }

    fn pop_bytes(&mut self) -> Result<Cow<'a, [u8]>, EvalError> {
        match self.pop()? {
            Value::Bytes(b) => Ok(b),
            Value::Word(w) => Ok(Cow::Owned(w.to_vec())),
            Value::Bool(_) => Err(EvalError),
        }
    }

    fn pop_bool(&mut self) -> Result<bool, EvalError> {
        match self.pop()? {
            Value::Bool(b) => Ok(b),
            Value::Bytes(_) | Value::Word(_) => Err(EvalError),
        }
    }
}

/// Evaluates `ops` on `packet`; `member` answers `member('NAME')`.
pub(super) fn run<'a>(
    ops: &'a [Op],
    packet: &Packet<'a>,
    member: &dyn Fn(&str) -> bool,
) -> Result<bool, EvalError> {
    let mut stack = Stack::new();
    for op in ops {
        let value = step(op, packet, member, &mut stack)?;
        stack.push(value);
    }
    let result = stack.pop_bool()?;
    if stack.len != 0 {
        return Err(EvalError);
    }
    Ok(result)
}

fn bytes<'a>(b: impl Into<Cow<'a, [u8]>>) -> Value<'a> {
    Value::Bytes(b.into())
}

fn step<'a>(
    op: &'a Op,
    packet: &Packet<'a>,
    member: &dyn Fn(&str) -> bool,
    stack: &mut Stack<'a>,
) -> Result<Value<'a>, EvalError> {
    Ok(match op {
        Op::Const(b) => bytes(b.as_slice()),
        Op::Option { code, repr } => option(packet, *code, *repr),
        Op::SubOption { code, sub, repr } => sub_option(packet, *code, *sub, *repr),
        Op::Relay4 { sub, repr } => sub_option(packet, RELAY_AGENT, *sub, *repr),
        Op::Pkt(field) => pkt(packet, *field),
        Op::Pkt4(field) => pkt4(packet, *field)?,
        Op::VendorEnterprise | Op::VendorExists(_) | Op::VendorOption { .. } => vendor(packet, op),
        Op::VendorClassEnterprise | Op::VendorClassExists(_) | Op::VendorClassData { .. } => {
            vendor_class(packet, op)
        }
        Op::Substring { start, len } => bytes(substring(stack.pop_bytes()?, *start, *len)?),
        Op::Split { field } => {
            let delims = stack.pop_bytes()?;
            bytes(split(stack.pop_bytes()?, &delims, *field)?)
        }
        Op::Concat => {
            let right = stack.pop_bytes()?;
            let mut left = stack.pop_bytes()?;
            if !right.is_empty() {
                left.to_mut().extend_from_slice(&right);
            }
            bytes(left)
        }
        Op::Lcase => bytes(map_ascii(stack.pop_bytes()?, u8::to_ascii_lowercase)),
        Op::Ucase => bytes(map_ascii(stack.pop_bytes()?, u8::to_ascii_uppercase)),
        Op::IfElse => {
            let if_false = stack.pop()?;
            let if_true = stack.pop()?;
            if stack.pop_bool()? {
                if_true
            } else {
                if_false
            }
        }
        Op::ToHexString => {
            let separator = stack.pop_bytes()?;
            bytes(text::hex_string(&stack.pop_bytes()?, &separator))
        }
        Op::AddrToText => bytes(addr_to_text(stack.pop_bytes()?)?),
        Op::IntToText(kind) => bytes(int_to_text(stack.pop_bytes()?, *kind)?),
        Op::Equal => {
            let right = stack.pop()?;
            let left = stack.pop()?;
            Value::Bool(left.as_bytes().ok_or(EvalError)? == right.as_bytes().ok_or(EvalError)?)
        }
        Op::Not => Value::Bool(!stack.pop_bool()?),
        Op::And => {
            let right = stack.pop_bool()?;
            Value::Bool(stack.pop_bool()? && right)
        }
        Op::Or => {
            let right = stack.pop_bool()?;
            Value::Bool(stack.pop_bool()? || right)
        }
        Op::Member(name) => Value::Bool(member(name)),
    })
}

/// The value Kea pushes for an absent option: "" or false.
fn absent<'a>(repr: Repr) -> Value<'a> {
    match repr {
        Repr::Exists => Value::Bool(false),
        Repr::Hex | Repr::Text => bytes(&[][..]),
    }
}

fn option<'a>(packet: &Packet<'a>, code: u8, repr: Repr) -> Value<'a> {
    if packet.count(code) == 0 {
        return absent(repr);
    }
    match repr {
        Repr::Exists => Value::Bool(true),
        Repr::Hex => bytes(text::option_hex(packet, code)),
        Repr::Text => bytes(text::option_text(packet, code)),
    }
}

fn sub_option<'a>(packet: &Packet<'a>, code: u8, sub: u8, repr: Repr) -> Value<'a> {
    let parent = match code {
        RELAY_AGENT if packet.count(code) > 0 => packet.data(code),
        VIVSO if packet.count(code) > 0 => text::vendor_subs(packet),
        _ => None,
    };
    let Some(found) = parent.and_then(|p| packet::sub_option(&p, sub, packet.fuses())) else {
        return absent(repr);
    };
    match repr {
        Repr::Exists => Value::Bool(true),
        Repr::Hex => bytes(found),
        Repr::Text => {
            let enterprise = match code {
                VIVSO if !packet.fused(VIVSO) => packet
                    .data(VIVSO)
                    .and_then(|d| packet::vendor_option(&d).map(|(id, _)| id)),
                _ => None,
            };
            let text = match enterprise {
                Some(id) => format::vendor_sub_text(id, sub, &found, 0),
                None => text::generic_text(sub, &found, 0),
            };
            bytes(text.into_bytes())
        }
    }
}

fn pkt<'a>(packet: &Packet<'a>, field: PktField) -> Value<'a> {
    match field {
        PktField::Iface => bytes(packet.meta.iface.as_bytes()),
        PktField::Src => Value::Word(packet.meta.src.octets()),
        PktField::Dst => Value::Word(packet.meta.dst.octets()),
        PktField::Len => Value::Word(text::pkt_len(packet).to_be_bytes()),
    }
}

fn pkt4<'a>(packet: &Packet<'a>, field: Pkt4Field) -> Result<Value<'a>, EvalError> {
    let byte_u32 = |offset: usize| {
        Value::Word(u32::from(packet.field(offset, 1).first().copied().unwrap_or(0)).to_be_bytes())
    };
    Ok(match field {
        Pkt4Field::Mac => bytes(packet.mac()),
        Pkt4Field::Htype => byte_u32(1),
        Pkt4Field::Hlen => {
            let hlen = packet.field(2, 1).first().copied().unwrap_or(0);
            Value::Word(u32::from(hlen.min(16)).to_be_bytes())
        }
        Pkt4Field::Transid => bytes(packet.field(4, 4)),
        Pkt4Field::Ciaddr => bytes(packet.field(12, 4)),
        Pkt4Field::Yiaddr => bytes(packet.field(16, 4)),
        Pkt4Field::Siaddr => bytes(packet.field(20, 4)),
        Pkt4Field::Giaddr => bytes(packet.field(24, 4)),
        Pkt4Field::Msgtype => {
            // Pkt4::getType: 0 without option 53, else its first byte (none
            // once Kea fused repeated instances of this OptionInt: an error).
            let kind = match packet.count(53) {
                0 => 0,
                _ => *text::option_hex(packet, 53).first().ok_or(EvalError)?,
            };
            Value::Word(u32::from(kind).to_be_bytes())
        }
    })
}

/// `vendor.*`: option 125 read as Kea's `OptionVendor` (absent when fused
/// from several instances: Kea's fused option is no longer one).
fn vendor<'a>(packet: &Packet<'a>, op: &Op) -> Value<'a> {
    let (wanted, repr) = match op {
        Op::VendorExists(e) => (*e, Repr::Exists),
        Op::VendorOption {
            enterprise, repr, ..
        } => (*enterprise, *repr),
        _ => (0, Repr::Hex),
    };
    let found = (!packet.fused(VIVSO))
        .then(|| packet.data(VIVSO))
        .flatten()
        .and_then(|d| packet::vendor_option(&d).map(|(id, _)| id));
    let Some(id) = found.filter(|id| wanted == 0 || wanted == *id) else {
        return absent(repr);
    };
    match op {
        Op::VendorOption { code, repr, .. } => sub_option(packet, VIVSO, *code, *repr),
        Op::VendorExists(_) => Value::Bool(true),
        _ => Value::Word(id.to_be_bytes()),
    }
}

/// `vendor-class.*`: option 124 read as Kea's `OptionVendorClass`.
fn vendor_class<'a>(packet: &Packet<'a>, op: &Op) -> Value<'a> {
    let (wanted, repr) = match op {
        Op::VendorClassExists(e) => (*e, Repr::Exists),
        Op::VendorClassData { enterprise, .. } => (*enterprise, Repr::Hex),
        _ => (0, Repr::Hex),
    };
    let data = (!packet.fused(VIVCO)).then(|| packet.data(VIVCO)).flatten();
    let Some(data) = data else {
        return absent(repr);
    };
    let Some((id, tuples)) =
        packet::vendor_class_tuples(&data).filter(|(id, _)| wanted == 0 || wanted == *id)
    else {
        return absent(repr);
    };
    match op {
        Op::VendorClassExists(_) => Value::Bool(true),
        Op::VendorClassData { index, .. } if usize::from(*index) < tuples => {
            let index = usize::from(*index);
            bytes(match data {
                Cow::Borrowed(d) => {
                    Cow::Borrowed(packet::vendor_class_tuple(d, index).unwrap_or(&[]))
                }
                Cow::Owned(v) => Cow::Owned(
                    packet::vendor_class_tuple(&v, index)
                        .unwrap_or(&[])
                        .to_vec(),
                ),
            })
        }
        Op::VendorClassData { .. } => absent(repr),
        _ => Value::Word(id.to_be_bytes()),
    }
}

/// Kea's `TokenSubstring`: negative start counts from the end, negative
/// length takes the bytes before the start.
fn substring(
    s: Cow<'_, [u8]>,
    start: Option<i32>,
    len: SubLen,
) -> Result<Cow<'_, [u8]>, EvalError> {
    if s.is_empty() {
        return Ok(s);
    }
    let string_len = i64::try_from(s.len()).map_err(|_| EvalError)?;
    let mut start = i64::from(start.ok_or(EvalError)?);
    let mut length = match len {
        SubLen::All => string_len,
        SubLen::Count(n) => i64::from(n.ok_or(EvalError)?),
    };
    if start < -string_len || start >= string_len {
        return Ok(Cow::Borrowed(&[]));
    }
    if start < 0 {
        start += string_len;
    }
    if length < 0 {
        length = -length;
        if length <= start {
            start -= length;
        } else {
            length = start;
            start = 0;
        }
    }
    let from = usize::try_from(start).map_err(|_| EvalError)?;
    let to =
        usize::try_from(start.saturating_add(length).min(string_len)).map_err(|_| EvalError)?;
    Ok(match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(from..to).unwrap_or(&[])),
        Cow::Owned(v) => Cow::Owned(v.get(from..to).unwrap_or(&[]).to_vec()),
    })
}

/// Kea's `TokenSplit`: fields split on any of `delims`, 1-based.
fn split<'a>(
    s: Cow<'a, [u8]>,
    delims: &[u8],
    field: Option<i32>,
) -> Result<Cow<'a, [u8]>, EvalError> {
    if s.is_empty() {
        return Ok(s);
    }
    let field = field.ok_or(EvalError)?;
    if delims.is_empty() {
        return Ok(s);
    }
    let Some(index) = usize::try_from(field).ok().and_then(|f| f.checked_sub(1)) else {
        return Ok(Cow::Borrowed(&[]));
    };
    let range = {
        let base = s.as_ptr() as usize;
        s.split(|b| delims.contains(b))
            .nth(index)
            .map(|f| (f.as_ptr() as usize - base)..(f.as_ptr() as usize - base + f.len()))
    };
    Ok(match (range, s) {
        (None, _) => Cow::Borrowed(&[]),
        (Some(r), Cow::Borrowed(b)) => Cow::Borrowed(b.get(r).unwrap_or(&[])),
        (Some(r), Cow::Owned(v)) => Cow::Owned(v.get(r).unwrap_or(&[]).to_vec()),
    })
}

fn map_ascii(s: Cow<'_, [u8]>, f: fn(&u8) -> u8) -> Cow<'_, [u8]> {
    if s.iter().all(|b| f(b) == *b) {
        return s;
    }
    Cow::Owned(s.iter().map(f).collect())
}

/// Kea's `TokenIpAddressToText`: "" stays "", 4 or 16 bytes become text.
fn addr_to_text(s: Cow<'_, [u8]>) -> Result<Cow<'_, [u8]>, EvalError> {
    if s.is_empty() {
        return Ok(s);
    }
    let text = if let Ok(v4) = <[u8; 4]>::try_from(&*s) {
        Ipv4Addr::from(v4).to_string()
    } else {
        Ipv6Addr::from(<[u8; 16]>::try_from(&*s).map_err(|_| EvalError)?).to_string()
    };
    Ok(Cow::Owned(text.into_bytes()))
}

/// Kea's `Token[U]IntNToText`: "" stays "", the exact width becomes decimal.
fn int_to_text(s: Cow<'_, [u8]>, kind: IntText) -> Result<Cow<'_, [u8]>, EvalError> {
    if s.is_empty() {
        return Ok(s);
    }
    if s.len() != kind.width {
        return Err(EvalError);
    }
    let unsigned = s.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    let text = if kind.signed {
        let shift = 64 - 8 * kind.width;
        (((unsigned << shift) as i64) >> shift).to_string()
    } else {
        unsigned.to_string()
    };
    Ok(Cow::Owned(text.into_bytes()))
}
