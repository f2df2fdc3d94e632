//! Decoding a DHCPv4 packet without losing options.
//!
//! dhcproto 0.15 decodes options in a loop that stops at the first one it
//! cannot parse and returns the message as if the rest did not exist: a host
//! name with a non-UTF-8 byte silently drops the client identifier and the
//! parameter request list after it. So the fixed BOOTP part comes from
//! dhcproto, and the options are walked here: every TLV is taken on its own,
//! repeated codes are concatenated (RFC 3396), the `file` and `sname` fields
//! are read when option 52 says they carry options (RFC 2132 §9.3), each code
//! is decoded by dhcproto separately, and one that does not decode is kept as
//! raw bytes (`DhcpOption::Unknown`) rather than dropped.

use dhcproto::v4::{DhcpOption, DhcpOptions, Message, OptionCode, UnknownOption};
use dhcproto::{Decodable, Decoder};

/// Offset of the `sname` field in a BOOTP message.
const SNAME: usize = 44;
/// Offset of the `file` field.
const FILE: usize = 108;
/// Offset of the magic cookie; options follow it.
const COOKIE: usize = 236;
/// Option 82, kept raw.
const RELAY_AGENT_INFORMATION: u8 = 82;
/// Option 81, kept raw (its flags and name encoding matter to the reply).
const CLIENT_FQDN: u8 = 81;
/// RFC 2131's magic cookie.
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// Why a datagram is not a DHCPv4 message we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than the fixed part and the cookie.
    #[error("{0} bytes: shorter than a BOOTP header with the DHCP cookie")]
    TooShort(usize),
    /// No DHCP magic cookie (plain BOOTP, or not DHCP at all).
    #[error("no DHCP magic cookie")]
    NoCookie,
    /// The fixed part does not decode.
    #[error("bad BOOTP header: {0}")]
    Header(String),
    /// An option runs past the end of its area.
    #[error("option {code} at offset {offset} runs past the end of the packet")]
    Truncated {
        /// The option code.
        code: u8,
        /// Where it starts.
        offset: usize,
    },
}

/// Decodes `bytes`: dhcproto's message with every option the packet carries.
pub fn decode(bytes: &[u8]) -> Result<Message, PacketError> {
    if bytes.len() < COOKIE + MAGIC.len() {
        return Err(PacketError::TooShort(bytes.len()));
    }
    if bytes[COOKIE..COOKIE + MAGIC.len()] != MAGIC {
        return Err(PacketError::NoCookie);
    }
    // The header alone: no options for dhcproto to stop early on.
    let mut header = bytes[..COOKIE + MAGIC.len()].to_vec();
    header.push(OptionCode::End.into());
    let mut message = Message::decode(&mut Decoder::new(&header))
        .map_err(|e| PacketError::Header(e.to_string()))?;

    let mut raw: Vec<(u8, Vec<u8>)> = Vec::new();
    let overload = walk(bytes, COOKIE + MAGIC.len(), bytes.len(), &mut raw)?;
    // RFC 2132 §9.3: 1 = options in `file`, 2 = in `sname`, 3 = both (file first).
    if matches!(overload, Some(1 | 3)) {
        walk(bytes, FILE, COOKIE, &mut raw)?;
        message.clear_fname();
    }
    if matches!(overload, Some(2 | 3)) {
        walk(bytes, SNAME, FILE, &mut raw)?;
        message.clear_sname();
    }
    let mut options = DhcpOptions::new();
    for (code, data) in raw {
        let option = decode_option(code, data);
        // dhcproto's `msg_type()` panics (unreachable!) on anything but a
        // decoded message type under code 53: one that does not decode
        // (`53 0`) is left out, and the packet reads as plain BOOTP.
        if code == u8::from(OptionCode::MessageType)
            && !matches!(option, DhcpOption::MessageType(_))
        {
            continue;
        }
        options.insert(option);
    }
    message.set_opts(options);
    Ok(message)
}

/// Collects the TLVs of `bytes[start..end]` into `raw` (data of a repeated code
/// appended to its first occurrence); returns the option-overload value when
/// this area carries option 52.
fn walk(
    bytes: &[u8],
    start: usize,
    end: usize,
    raw: &mut Vec<(u8, Vec<u8>)>,
) -> Result<Option<u8>, PacketError> {
    let mut overload = None;
    let mut at = start;
    while at < end {
        let code = bytes[at];
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let len = usize::from(
            *bytes
                .get(at + 1)
                .ok_or(PacketError::Truncated { code, offset: at })?,
        );
        let data = bytes
            .get(at + 2..at + 2 + len)
            .filter(|_| at + 2 + len <= end)
            .ok_or(PacketError::Truncated { code, offset: at })?;
        if code == u8::from(OptionCode::OptionOverload) {
            overload = data.first().copied();
        }
        match raw.iter_mut().find(|(c, _)| *c == code) {
            Some((_, existing)) => existing.extend_from_slice(data),
            None => raw.push((code, data.to_vec())),
        }
        at += 2 + len;
    }
    Ok(overload)
}

/// dhcproto's decoding of one option, or the raw bytes when it has none.
fn decode_option(code: u8, data: Vec<u8>) -> DhcpOption {
    if code == RELAY_AGENT_INFORMATION || code == CLIENT_FQDN {
        // Option 82 is echoed back byte for byte (RFC 3046 §2.2), so never
        // re-encoded; option 81's bytes are read as Kea reads them.
        return DhcpOption::Unknown(UnknownOption::new(OptionCode::from(code), data));
    }
    let len = u8::try_from(data.len()).ok();
    if let Some(len) = len.filter(|&len| dhcproto_takes(code, len)) {
        let mut tlv = Vec::with_capacity(data.len() + 2);
        tlv.push(code);
        tlv.push(len);
        tlv.extend_from_slice(&data);
        if let Ok(option) = DhcpOption::decode(&mut Decoder::new(&tlv)) {
            if !matches!(option, DhcpOption::Pad | DhcpOption::End) {
                return option;
            }
        }
    }
    DhcpOption::Unknown(UnknownOption::new(OptionCode::from(code), data))
}

/// Whether dhcproto 0.15 may be handed option `code` with `len` bytes: for
/// these codes it `debug_assert!`s the length instead of checking it (a
/// panic in debug builds, found by cargo fuzz); other lengths stay raw.
fn dhcproto_takes(code: u8, len: u8) -> bool {
    match code {
        80 => len == 0,        // rapid commit
        81 => len >= 3,        // client FQDN
        94 => len == 3,        // client network interface identifier
        152..=155 => len == 4, // bulk leasequery times
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use dhcproto::v4::MessageType;

    /// A DISCOVER whose options are written out by hand.
    fn discover(options: &[u8]) -> Vec<u8> {
        let mut packet = vec![0u8; COOKIE];
        packet[0] = 1; // BOOTREQUEST
        packet[1] = 1; // Ethernet
        packet[2] = 6;
        packet[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        packet[28..34].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x42]);
        packet.extend_from_slice(&MAGIC);
        packet.extend_from_slice(&[53, 1, 1]); // DISCOVER
        packet.extend_from_slice(options);
        packet.push(255);
        packet
    }

    #[test]
    fn a_bad_hostname_does_not_hide_the_options_after_it() {
        let packet = discover(&[
            12, 4, b'p', b'c', 0xff, b'1', // host name, not UTF-8
            61, 7, 1, 0x02, 0, 0, 0, 0, 0x42, // client identifier
            55, 3, 1, 3, 6, // parameter request list
        ]);
        // dhcproto alone: everything after the host name is gone, no error.
        let theirs = Message::decode(&mut Decoder::new(&packet)).unwrap();
        assert!(theirs.opts().get(OptionCode::ClientIdentifier).is_none());

        let ours = decode(&packet).unwrap();
        assert_eq!(ours.xid(), 0x1234_5678);
        assert_eq!(ours.chaddr(), &[0x02, 0, 0, 0, 0, 0x42]);
        assert_eq!(
            ours.opts().get(OptionCode::MessageType),
            Some(&DhcpOption::MessageType(MessageType::Discover))
        );
        assert_eq!(
            ours.opts().get(OptionCode::ClientIdentifier),
            Some(&DhcpOption::ClientIdentifier(vec![
                1, 0x02, 0, 0, 0, 0, 0x42
            ]))
        );
        assert_eq!(
            ours.opts().get(OptionCode::ParameterRequestList),
            Some(&DhcpOption::ParameterRequestList(vec![
                OptionCode::SubnetMask,
                OptionCode::Router,
                OptionCode::DomainNameServer
            ]))
        );
        assert_eq!(
            ours.opts().get(OptionCode::Hostname),
            Some(&DhcpOption::Unknown(UnknownOption::new(
                OptionCode::Hostname,
                vec![b'p', b'c', 0xff, b'1']
            ))),
            "kept as raw bytes"
        );
    }

    #[test]
    fn split_options_join_and_overloaded_fields_are_read() {
        // The parameter request list in two pieces (RFC 3396), and the client
        // identifier in the `file` field (option 52 = 1).
        let mut packet = discover(&[55, 2, 1, 3, 52, 1, 1, 55, 1, 6]);
        packet[FILE..FILE + 6].copy_from_slice(&[61, 3, 0, 9, 9, 255]);
        let ours = decode(&packet).unwrap();
        assert_eq!(
            ours.opts().get(OptionCode::ParameterRequestList),
            Some(&DhcpOption::ParameterRequestList(vec![
                OptionCode::SubnetMask,
                OptionCode::Router,
                OptionCode::DomainNameServer
            ]))
        );
        assert_eq!(
            ours.opts().get(OptionCode::ClientIdentifier),
            Some(&DhcpOption::ClientIdentifier(vec![0, 9, 9]))
        );
        assert!(
            ours.fname().is_none(),
            "the file field held options, not a name"
        );
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        assert_eq!(decode(&[1, 2, 3]), Err(PacketError::TooShort(3)));
        let mut no_cookie = discover(&[]);
        no_cookie[COOKIE] = 0;
        assert_eq!(decode(&no_cookie), Err(PacketError::NoCookie));
        let mut truncated = discover(&[]);
        truncated.pop();
        truncated.extend_from_slice(&[61, 40, 1]);
        assert!(matches!(
            decode(&truncated),
            Err(PacketError::Truncated { code: 61, .. })
        ));
        // An empty message type is no message type (found by the fuzz seeds:
        // kept raw, it made dhcproto's `msg_type()` panic).
        let empty_type = discover(&[]);
        let mut empty_type = empty_type[..COOKIE + MAGIC.len()].to_vec();
        empty_type.extend_from_slice(&[53, 0, 255]);
        assert_eq!(decode(&empty_type).unwrap().opts().msg_type(), None);
        // Lengths dhcproto only debug_assert!s: kept raw, no panic.
        for tlv in [[80, 1, 0], [81, 1, 0], [94, 1, 0], [155, 1, 0]] {
            let odd = discover(&tlv);
            let message = decode(&odd).unwrap();
            assert!(matches!(
                message.opts().get(OptionCode::from(tlv[0])),
                Some(DhcpOption::Unknown(_))
            ));
        }
        // Every prefix and a byte flipped at every position: errors or messages.
        let packet = discover(&[12, 3, b'a', b'b', b'c', 61, 2, 1, 2, 55, 2, 1, 3]);
        for len in 0..packet.len() {
            let _ = decode(&packet[..len]);
        }
        for at in 0..packet.len() {
            let mut flipped = packet.clone();
            flipped[at] ^= 0xff;
            let _ = decode(&flipped);
        }
    }
}
