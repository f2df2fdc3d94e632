//! Encoding replies: the BOOTP fixed part, the cookie, and options as
//! code/length/data, one buffer, no per-option allocation.
//!
//! Written here rather than through dhcproto's encoder so that options we
//! carry as bytes (configured option data, option 82 echoed back) go out
//! exactly as they came, and an option longer than 255 bytes is split into
//! consecutive instances as RFC 3396 says.

use std::net::Ipv4Addr;

/// BOOTREPLY.
const BOOT_REPLY: u8 = 2;
/// Offset of the magic cookie.
const COOKIE: usize = 236;
/// Offset and size of `sname`.
const SNAME: usize = 44;
const SNAME_LEN: usize = 64;
/// Offset and size of `file`.
const FILE: usize = 108;
const FILE_LEN: usize = 128;
/// RFC 2131's magic cookie.
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// The fixed fields of a reply.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// Hardware type, copied from the request.
    pub htype: u8,
    /// Hardware address length, copied from the request.
    pub hlen: u8,
    /// Relay hops, copied from the request.
    pub hops: u8,
    /// Transaction id, copied from the request.
    pub xid: u32,
    /// Flags (the broadcast bit), copied from the request.
    pub flags: u16,
    /// The client's address (INFORM and renewals).
    pub ciaddr: Ipv4Addr,
    /// The address given to the client.
    pub yiaddr: Ipv4Addr,
    /// The next server (PXE's TFTP server).
    pub siaddr: Ipv4Addr,
    /// The relay's address, copied from the request.
    pub giaddr: Ipv4Addr,
    /// The client's hardware address (up to 16 bytes).
    pub chaddr: &'a [u8],
    /// The server host name (up to 64 bytes; longer is cut).
    pub sname: &'a [u8],
    /// The boot file name (up to 128 bytes; longer is cut).
    pub file: &'a [u8],
}

/// A reply under construction.
#[derive(Debug, Clone)]
pub struct ReplyWriter {
    bytes: Vec<u8>,
}

impl ReplyWriter {
    /// Starts a reply with `header` and the cookie.
    pub fn new(header: &Header<'_>) -> ReplyWriter {
        let mut bytes = Vec::with_capacity(576);
        bytes.resize(COOKIE, 0);
        bytes[0] = BOOT_REPLY;
        bytes[1] = header.htype;
        bytes[2] = header.hlen;
        bytes[3] = header.hops;
        bytes[4..8].copy_from_slice(&header.xid.to_be_bytes());
        bytes[10..12].copy_from_slice(&header.flags.to_be_bytes());
        bytes[12..16].copy_from_slice(&header.ciaddr.octets());
        bytes[16..20].copy_from_slice(&header.yiaddr.octets());
        bytes[20..24].copy_from_slice(&header.siaddr.octets());
        bytes[24..28].copy_from_slice(&header.giaddr.octets());
        let chaddr = &header.chaddr[..header.chaddr.len().min(16)];
        bytes[28..28 + chaddr.len()].copy_from_slice(chaddr);
        let sname = &header.sname[..header.sname.len().min(SNAME_LEN)];
        bytes[SNAME..SNAME + sname.len()].copy_from_slice(sname);
        let file = &header.file[..header.file.len().min(FILE_LEN)];
        bytes[FILE..FILE + file.len()].copy_from_slice(file);
        bytes.extend_from_slice(&MAGIC);
        ReplyWriter { bytes }
    }

    /// Appends option `code` with `data`, split into 255-byte instances when
    /// longer (RFC 3396); an empty `data` is written as a zero-length option.
    pub fn option(&mut self, code: u8, data: &[u8]) {
        if data.is_empty() {
            self.bytes.extend_from_slice(&[code, 0]);
            return;
        }
        for chunk in data.chunks(255) {
            self.bytes.push(code);
            // chunks(255) bounds the length.
            self.bytes
                .push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
            self.bytes.extend_from_slice(chunk);
        }
    }

    /// Appends an already encoded option (code, length, data) verbatim.
    pub fn raw(&mut self, tlv: &[u8]) {
        self.bytes.extend_from_slice(tlv);
    }

    /// Ends the options. No padding: Kea 2.2's Pkt4::pack sends the END
    /// option last and nothing after it.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.push(255);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use dhcproto::v4::{DhcpOption, MessageType};

    #[test]
    fn dhcproto_reads_what_we_write() {
        let mac = [2, 0, 0, 0, 0, 7];
        let mut reply = ReplyWriter::new(&Header {
            htype: 1,
            hlen: 6,
            hops: 1,
            xid: 0xdead_beef,
            flags: 0x8000,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::new(192, 168, 1, 100),
            siaddr: Ipv4Addr::new(10, 0, 0, 9),
            giaddr: Ipv4Addr::new(10, 0, 0, 1),
            chaddr: &mac,
            sname: b"tftp",
            file: b"pxelinux.0",
        });
        reply.option(53, &[2]);
        reply.option(54, &[192, 168, 1, 1]);
        let long: Vec<u8> = (0..300u32).map(|i| (i % 250) as u8).collect();
        reply.option(224, &long);
        let bytes = reply.finish();
        assert_eq!(bytes.last(), Some(&255), "END last, no padding");
        assert_eq!(&bytes[FILE..FILE + 10], b"pxelinux.0");
        let message = crate::packet::decode(&bytes).unwrap();
        assert_eq!(message.xid(), 0xdead_beef);
        assert_eq!(message.yiaddr(), Ipv4Addr::new(192, 168, 1, 100));
        assert_eq!(message.giaddr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(message.siaddr(), Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(message.hops(), 1);
        assert_eq!(message.chaddr(), &mac);
        assert!(message.flags().broadcast());
        assert_eq!(message.opts().msg_type(), Some(MessageType::Offer));
        match message.opts().get(dhcproto::v4::OptionCode::from(224)) {
            Some(DhcpOption::Unknown(option)) => assert_eq!(option.data(), &long[..]),
            other => panic!("option 224: {other:?}"),
        }
    }
}
