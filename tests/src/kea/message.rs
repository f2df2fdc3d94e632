//! DHCPv4 messages as the differential tests write and read them, from RFC
//! 2131 §2 and RFC 2132, independently of the server's code: a request
//! builder that writes options exactly in the order given, and a decoder
//! that keeps every option as it was on the wire (order, repeats, padding),
//! so two replies can be compared byte for byte and explained field by field.

use std::net::Ipv4Addr;

/// The magic cookie that starts the options (RFC 2131 §3).
pub const COOKIE: [u8; 4] = [99, 130, 83, 99];

/// DHCPDISCOVER.
pub const DISCOVER: u8 = 1;
/// DHCPOFFER.
pub const OFFER: u8 = 2;
/// DHCPREQUEST.
pub const REQUEST: u8 = 3;
/// DHCPACK.
pub const ACK: u8 = 5;
/// DHCPNAK.
pub const NAK: u8 = 6;
/// DHCPRELEASE.
pub const RELEASE: u8 = 7;
/// DHCPINFORM.
pub const INFORM: u8 = 8;

/// A BOOTREQUEST to send: header fields and options (after option 53) in
/// the order they go on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Message type (option 53, always written first).
    pub kind: u8,
    /// Transaction id.
    pub xid: u32,
    /// The client's hardware (Ethernet) address.
    pub chaddr: [u8; 6],
    /// Sets the BROADCAST flag (RFC 2131 §4.1): a client without an address.
    pub broadcast: bool,
    /// The client's address (RENEWING, INFORM).
    pub ciaddr: Ipv4Addr,
    /// The relay agent's address; unspecified for a directly connected client.
    pub giaddr: Ipv4Addr,
    /// Options after option 53, in wire order.
    pub options: Vec<(u8, Vec<u8>)>,
}

impl Request {
    /// A request of type `kind` from `chaddr`, directly connected, with the
    /// broadcast flag set.
    pub fn new(kind: u8, xid: u32, chaddr: [u8; 6]) -> Request {
        Request {
            kind,
            xid,
            chaddr,
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            options: Vec::new(),
        }
    }

    /// The same request as forwarded by the relay agent at `giaddr` (hops
    /// 1, no broadcast flag: the server answers the relay).
    pub fn relayed(mut self, giaddr: Ipv4Addr) -> Request {
        self.giaddr = giaddr;
        self.broadcast = false;
        self
    }

    /// Sets or clears the BROADCAST flag (a RENEWING client, which has an
    /// address, clears it).
    pub fn broadcast(mut self, on: bool) -> Request {
        self.broadcast = on;
        self
    }

    /// Sets ciaddr.
    pub fn ciaddr(mut self, ciaddr: Ipv4Addr) -> Request {
        self.ciaddr = ciaddr;
        self
    }

    /// Appends option `code` with `data`.
    pub fn option(mut self, code: u8, data: impl AsRef<[u8]>) -> Request {
        self.options.push((code, data.as_ref().to_vec()));
        self
    }

    /// Appends a parameter request list (option 55).
    pub fn prl(self, codes: &[u8]) -> Request {
        self.option(55, codes)
    }

    /// Whether option `code` is among the request's options.
    pub fn has(&self, code: u8) -> bool {
        self.options.iter().any(|(c, _)| *c == code)
    }

    /// The wire form: the 236-byte header, the cookie, option 53, the
    /// options in order (data longer than 255 bytes split as RFC 3396
    /// allows), the end option; no padding.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![0u8; 236];
        p[0] = 1;
        p[1] = 1;
        p[2] = 6;
        p[3] = u8::from(!self.giaddr.is_unspecified());
        p[4..8].copy_from_slice(&self.xid.to_be_bytes());
        if self.broadcast {
            p[10] = 0x80;
        }
        p[12..16].copy_from_slice(&self.ciaddr.octets());
        p[24..28].copy_from_slice(&self.giaddr.octets());
        p[28..34].copy_from_slice(&self.chaddr);
        p.extend_from_slice(&COOKIE);
        p.extend_from_slice(&[53, 1, self.kind]);
        for (code, data) in &self.options {
            let mut chunks = data.chunks(255).peekable();
            if chunks.peek().is_none() {
                p.extend_from_slice(&[*code, 0]);
            }
            for chunk in chunks {
                p.push(*code);
                p.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                p.extend_from_slice(chunk);
            }
        }
        p.push(255);
        p
    }
}

/// A BOOTREPLY (or any BOOTP message) decoded with nothing normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The bytes it was decoded from.
    pub raw: Vec<u8>,
    /// op, htype, hlen, hops.
    pub op: [u8; 4],
    /// Transaction id.
    pub xid: u32,
    /// secs.
    pub secs: u16,
    /// flags.
    pub flags: u16,
    /// ciaddr.
    pub ciaddr: Ipv4Addr,
    /// yiaddr: the address offered or leased.
    pub yiaddr: Ipv4Addr,
    /// siaddr: the next server (PXE's TFTP server).
    pub siaddr: Ipv4Addr,
    /// giaddr.
    pub giaddr: Ipv4Addr,
    /// All 16 bytes of chaddr.
    pub chaddr: [u8; 16],
    /// The 64-byte sname field.
    pub sname: Vec<u8>,
    /// The 128-byte file field.
    pub file: Vec<u8>,
    /// Options in wire order, repeats kept apart (pads and end excluded).
    pub options: Vec<(u8, Vec<u8>)>,
    /// Pad options (code 0) among the options.
    pub pads: usize,
    /// Bytes after the end option.
    pub trailer: Vec<u8>,
}

/// Why bytes are not a DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed DHCP message: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

impl Message {
    /// Decodes `bytes`: the fixed header, the cookie, then options up to the
    /// end option (or the end of the bytes).
    pub fn parse(bytes: &[u8]) -> Result<Message, Malformed> {
        if bytes.len() < 240 {
            return Err(Malformed(format!("{} bytes, under 240", bytes.len())));
        }
        if bytes[236..240] != COOKIE {
            return Err(Malformed("no magic cookie".into()));
        }
        let mut options = Vec::new();
        let mut pads = 0;
        let mut at = 240;
        let mut trailer = Vec::new();
        while let Some(&code) = bytes.get(at) {
            match code {
                0 => {
                    pads += 1;
                    at += 1;
                }
                255 => {
                    trailer = bytes[at + 1..].to_vec();
                    break;
                }
                _ => {
                    let len = usize::from(
                        *bytes
                            .get(at + 1)
                            .ok_or_else(|| Malformed(format!("option {code} has no length")))?,
                    );
                    let data = bytes.get(at + 2..at + 2 + len).ok_or_else(|| {
                        Malformed(format!("option {code} runs past the end ({len} bytes)"))
                    })?;
                    options.push((code, data.to_vec()));
                    at += 2 + len;
                }
            }
        }
        let mut chaddr = [0u8; 16];
        chaddr.copy_from_slice(&bytes[28..44]);
        Ok(Message {
            raw: bytes.to_vec(),
            op: [bytes[0], bytes[1], bytes[2], bytes[3]],
            xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            secs: u16::from_be_bytes([bytes[8], bytes[9]]),
            flags: u16::from_be_bytes([bytes[10], bytes[11]]),
            ciaddr: addr(bytes, 12),
            yiaddr: addr(bytes, 16),
            siaddr: addr(bytes, 20),
            giaddr: addr(bytes, 24),
            chaddr,
            sname: bytes[44..108].to_vec(),
            file: bytes[108..236].to_vec(),
            options,
            pads,
            trailer,
        })
    }

    /// The message type (option 53), 0 when absent.
    pub fn kind(&self) -> u8 {
        self.option(53)
            .and_then(|d| d.first().copied())
            .unwrap_or(0)
    }

    /// The data of option `code`, repeats concatenated (RFC 3396).
    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        let mut found: Option<Vec<u8>> = None;
        for (c, data) in &self.options {
            if *c == code {
                found.get_or_insert_with(Vec::new).extend_from_slice(data);
            }
        }
        found
    }

    /// Whether option `code` is present.
    pub fn has(&self, code: u8) -> bool {
        self.options.iter().any(|(c, _)| *c == code)
    }

    /// Option `code` as text (lossy UTF-8).
    pub fn option_text(&self, code: u8) -> Option<String> {
        self.option(code)
            .map(|d| String::from_utf8_lossy(&d).into_owned())
    }

    /// Option `code` as a big-endian u32 (lease time, T1, T2).
    pub fn option_u32(&self, code: u8) -> Option<u32> {
        match self.option(code)?.as_slice() {
            &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// Option `code` as one address (server identifier, requested address).
    pub fn option_addr(&self, code: u8) -> Option<Ipv4Addr> {
        match self.option(code)?.as_slice() {
            &[a, b, c, d] => Some(Ipv4Addr::new(a, b, c, d)),
            _ => None,
        }
    }

    /// The sname field up to its first NUL.
    pub fn sname_text(&self) -> String {
        c_string(&self.sname)
    }

    /// The file field up to its first NUL.
    pub fn file_text(&self) -> String {
        c_string(&self.file)
    }

    /// The option codes in wire order.
    pub fn codes(&self) -> Vec<u8> {
        self.options.iter().map(|(c, _)| *c).collect()
    }
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Lower-case hex of `bytes`, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A MAC address for test client `n` of scenario `scenario`.
pub fn mac(scenario: u8, n: u8) -> [u8; 6] {
    [0x02, 0xd1, 0xf0, 0x00, scenario, n]
}
