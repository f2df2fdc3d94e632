//! The compiled form of an expression: a postfix list of operations, one per
//! Kea token (`lib/eval/token.h`), run on a value stack.

/// How an option's value is read (Kea's `TokenOption::RepresentationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repr {
    /// `.hex`: the option's data bytes.
    Hex,
    /// `.text`: the option as text (the value of a string option).
    Text,
    /// `.exists`: a boolean.
    Exists,
}

/// `pkt.*` metadata (Kea's `TokenPkt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PktField {
    Iface,
    Src,
    Dst,
    Len,
}

/// `pkt4.*` header fields (Kea's `TokenPkt4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pkt4Field {
    Mac,
    Hlen,
    Htype,
    Ciaddr,
    Giaddr,
    Yiaddr,
    Siaddr,
    Msgtype,
    Transid,
}

/// The `*totext` conversions: the width in bytes and whether signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IntText {
    pub(super) width: usize,
    pub(super) signed: bool,
}

/// The length argument of `substring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubLen {
    /// `all`.
    All,
    /// An integer; `None` when it does not fit Kea's `int` (an evaluation
    /// error, as `boost::lexical_cast<int>` throws).
    Count(Option<i32>),
}

/// One step of the postfix program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    /// A literal: string, hex string, address or integer (4 bytes).
    Const(Vec<u8>),
    /// `option[code]`.
    Option { code: u8, repr: Repr },
    /// `option[code].option[sub]`.
    SubOption { code: u8, sub: u8, repr: Repr },
    /// `relay4[sub]`: a sub-option of option 82.
    Relay4 { sub: u8, repr: Repr },
    /// `pkt.*`.
    Pkt(PktField),
    /// `pkt4.*`.
    Pkt4(Pkt4Field),
    /// `vendor.enterprise`: option 125's enterprise id, 4 bytes.
    VendorEnterprise,
    /// `vendor[ent].exists` (0 = any enterprise).
    VendorExists(u32),
    /// `vendor[ent].option[code]`.
    VendorOption {
        enterprise: u32,
        code: u8,
        repr: Repr,
    },
    /// `vendor-class.enterprise`: option 124's enterprise id, 4 bytes.
    VendorClassEnterprise,
    /// `vendor-class[ent].exists`.
    VendorClassExists(u32),
    /// `vendor-class[ent].data[index]`.
    VendorClassData { enterprise: u32, index: u8 },
    /// `substring(s, start, len)`: pops `s`.
    Substring { start: Option<i32>, len: SubLen },
    /// `split(s, delims, field)`: pops `delims` then `s`.
    Split { field: Option<i32> },
    /// `concat(a, b)` or `a + b`.
    Concat,
    /// `lcase(s)`.
    Lcase,
    /// `ucase(s)`.
    Ucase,
    /// `ifelse(cond, a, b)`.
    IfElse,
    /// `hexstring(s, sep)`.
    ToHexString,
    /// `addrtotext(s)`.
    AddrToText,
    /// `[u]intNtotext(s)`.
    IntToText(IntText),
    /// `a == b`.
    Equal,
    /// `not b`.
    Not,
    /// `a and b`.
    And,
    /// `a or b`.
    Or,
    /// `member('name')`.
    Member(String),
}
