//! The fields of a request the protocol needs, taken once out of the
//! decoded message (slices into it, no copies).

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode};

use crate::config::model::IdentifierType;

use super::code;

/// Sub-option 1 of option 82: the relay's circuit id.
const CIRCUIT_ID: u8 = 1;
/// Sub-option 5 of option 82: link selection (RFC 3527).
const LINK_SELECTION: u8 = 5;
/// RFC 4361 client identifier type: IAID and DUID follow.
const CLIENT_ID_DUID: u8 = 255;

/// A request, read.
pub(super) struct Request<'a> {
    pub message: &'a Message,
    pub kind: MessageType,
    pub hwaddr: &'a [u8],
    /// Option 61, whole (Kea's client id).
    pub client_id: Option<&'a [u8]>,
    pub requested: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    /// Option 55.
    pub parameters: Vec<u8>,
    /// Option 12, raw.
    pub hostname: Option<&'a [u8]>,
    /// Option 82's data.
    pub relay_agent: Option<&'a [u8]>,
    /// Option 60, without trailing NULs (Kea's OptionString).
    pub vendor_class: Option<&'a [u8]>,
    /// Option 51.
    pub lease_time: Option<u32>,
    /// Option 118 (RFC 3011), echoed back.
    pub subnet_selection: Option<Ipv4Addr>,
    /// Option 125's data (vendor-identifying vendor-specific information).
    pub vivso: Option<&'a [u8]>,
    /// Option 81's data (client FQDN).
    pub fqdn: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// The request's fields, or `None` for what a server does not answer
    /// (replies, BOOTP without a message type, a hardware address longer
    /// than chaddr).
    pub fn read(message: &'a Message) -> Option<Request<'a>> {
        if message.opcode() != Opcode::BootRequest || message.hlen() > 16 {
            return None;
        }
        let options = message.opts();
        let kind = options.msg_type()?;
        let mut request = Request {
            message,
            kind,
            hwaddr: message.chaddr(),
            client_id: None,
            requested: None,
            server_id: None,
            parameters: Vec::new(),
            hostname: None,
            relay_agent: None,
            vendor_class: None,
            lease_time: None,
            subnet_selection: None,
            vivso: None,
            fqdn: None,
        };
        for (_, option) in options.iter() {
            request.take(option);
        }
        Some(request)
    }

    fn take(&mut self, option: &'a DhcpOption) {
        match option {
            DhcpOption::ClientIdentifier(id) if !id.is_empty() => self.client_id = Some(id),
            DhcpOption::RequestedIpAddress(addr) => self.requested = Some(*addr),
            DhcpOption::ServerIdentifier(addr) => self.server_id = Some(*addr),
            DhcpOption::ParameterRequestList(codes) => {
                self.parameters = codes.iter().map(|&c| u8::from(c)).collect();
            }
            DhcpOption::Hostname(name) => self.hostname = Some(name.as_bytes()),
            DhcpOption::ClassIdentifier(text) => {
                let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                self.vendor_class = text.get(..end);
            }
            DhcpOption::AddressLeaseTime(secs) => self.lease_time = Some(*secs),
            DhcpOption::SubnetSelection(addr) => self.subnet_selection = Some(*addr),
            DhcpOption::Unknown(raw) => match u8::from(raw.code()) {
                code::RELAY_AGENT => self.relay_agent = Some(raw.data()),
                code::HOST_NAME => self.hostname = Some(raw.data()),
                code::VIVSO => self.vivso = Some(raw.data()),
                code::CLIENT_FQDN => self.fqdn = Some(raw.data()),
                _ => {}
            },
            _ => {}
        }
    }

    /// The value Kea's host lookup uses for identifier `kind`, if the
    /// request carries one.
    pub fn identifier(&self, kind: IdentifierType) -> Option<&'a [u8]> {
        let value = match kind {
            IdentifierType::HwAddress => Some(self.hwaddr),
            IdentifierType::ClientId => self.client_id,
            IdentifierType::Duid => self
                .client_id
                .filter(|id| id.len() > 5 && id.first() == Some(&CLIENT_ID_DUID))
                .and_then(|id| id.get(5..)),
            IdentifierType::CircuitId => self.relay_sub_option(CIRCUIT_ID),
            IdentifierType::FlexId => None,
        };
        value.filter(|v| !v.is_empty())
    }

    /// Sub-option `code` of option 82.
    pub fn relay_sub_option(&self, code: u8) -> Option<&'a [u8]> {
        sub_option(self.relay_agent?, code)
    }

    /// The address a relay or client names for subnet selection (RFC 3527
    /// link selection, else RFC 3011 subnet selection), as Kea's selector.
    pub fn selection_address(&self) -> Option<Ipv4Addr> {
        let link = self
            .relay_sub_option(LINK_SELECTION)
            .and_then(|d| <[u8; 4]>::try_from(d).ok())
            .map(Ipv4Addr::from);
        link.or(self.subnet_selection)
            .filter(|a| !a.is_unspecified())
    }

    /// The option codes the client's option 125 asks for in DOCSIS's ORO
    /// (sub-option 1 of its block).
    pub fn docsis_oro(&self) -> Option<&'a [u8]> {
        let block = self.vivso?;
        let len = usize::from(*block.get(4)?);
        sub_option(block.get(5..5 + len)?, 1)
    }

    /// The enterprise of the client's option 125 (its first block: Kea's
    /// OptionVendor::getVendorId).
    pub fn vendor_id(&self) -> Option<u32> {
        let id = self.vivso?.get(..4)?;
        <[u8; 4]>::try_from(id).ok().map(u32::from_be_bytes)
    }
}

/// The data of sub-option `code` in TLV-encoded `data`.
fn sub_option(mut data: &[u8], code: u8) -> Option<&[u8]> {
    for _ in 0..data.len() {
        let (&c, &len) = (data.first()?, data.get(1)?);
        let value = data.get(2..2 + usize::from(len))?;
        if c == code {
            return Some(value);
        }
        data = data.get(2 + usize::from(len)..)?;
    }
    None
}
