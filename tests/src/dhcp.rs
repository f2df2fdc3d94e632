//! A minimal DHCPv4 relay-side client for the tests' load and checks:
//! builds BOOTREQUESTs as a relay agent would forward them (giaddr set,
//! optional option 82) and reads the fields of replies. Written separately
//! from the server's code on purpose, from RFC 2131/2132.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// DHCP message types.
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

/// The Ethernet address the tools give client number `index`.
pub fn mac(index: u32) -> [u8; 6] {
    let b = index.to_be_bytes();
    [0x02, 0x4c, b[0], b[1], b[2], b[3]]
}

/// `aa:bb:...` text of a hardware address.
pub fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A BOOTREQUEST from `mac` with message type `kind`, forwarded by the
/// relay at `giaddr`, with `options` (code, data) after the type.
pub fn request(
    kind: u8,
    xid: u32,
    mac: [u8; 6],
    ciaddr: Ipv4Addr,
    giaddr: Ipv4Addr,
    options: &[(u8, &[u8])],
) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1;
    p[1] = 1;
    p[2] = 6;
    p[3] = u8::from(!giaddr.is_unspecified());
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[12..16].copy_from_slice(&ciaddr.octets());
    p[24..28].copy_from_slice(&giaddr.octets());
    p[28..34].copy_from_slice(&mac);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    for (code, data) in options {
        p.push(*code);
        p.push(u8::try_from(data.len()).unwrap_or(u8::MAX));
        p.extend_from_slice(data);
    }
    p.push(255);
    p
}

/// The fields of a BOOTREPLY the tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyView {
    /// Transaction id.
    pub xid: u32,
    /// Message type (option 53).
    pub kind: u8,
    /// The offered or leased address.
    pub yiaddr: Ipv4Addr,
    /// chaddr's first six bytes.
    pub mac: [u8; 6],
    /// Options by code (data of repeated codes concatenated).
    pub options: Vec<(u8, Vec<u8>)>,
}

impl ReplyView {
    /// Parses a reply; `None` when it is not a BOOTREPLY with options.
    pub fn parse(bytes: &[u8]) -> Option<ReplyView> {
        if bytes.len() < 240 || bytes[0] != 2 || bytes[236..240] != [99, 130, 83, 99] {
            return None;
        }
        let mut options: Vec<(u8, Vec<u8>)> = Vec::new();
        let mut at = 240;
        while at < bytes.len() {
            let code = bytes[at];
            if code == 255 {
                break;
            }
            if code == 0 {
                at += 1;
                continue;
            }
            let len = usize::from(*bytes.get(at + 1)?);
            let data = bytes.get(at + 2..at + 2 + len)?;
            match options.iter_mut().find(|(c, _)| *c == code) {
                Some((_, existing)) => existing.extend_from_slice(data),
                None => options.push((code, data.to_vec())),
            }
            at += 2 + len;
        }
        let kind = options.iter().find(|(c, _)| *c == 53)?.1.first().copied()?;
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&bytes[28..34]);
        Some(ReplyView {
            xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            kind,
            yiaddr: Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]),
            mac,
            options,
        })
    }

    /// The data of option `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    /// Option 54 as an address.
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        let d = self.option(54)?;
        Some(Ipv4Addr::new(
            *d.first()?,
            *d.get(1)?,
            *d.get(2)?,
            *d.get(3)?,
        ))
    }
}

/// A hook script for real DHCP clients at `dir/name`, returned with its
/// events file `dir/name.events`: one `key=value` line per event, and the
/// address and default route it was given configured as a real client's
/// script does. It serves udhcpc (`$1`, `$ip`, …) and ISC dhclient / dhcpcd
/// (`$reason`, `$new_ip_address`, …).
pub fn hook_script(dir: &Path, name: &str) -> std::io::Result<(PathBuf, PathBuf)> {
    let script = dir.join(name);
    let events = dir.join(format!("{name}.events"));
    let text = format!(
        r#"#!/bin/sh
out="{events}"
if [ -n "$reason" ]; then
  echo "event=$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers dns=$new_domain_name_servers domain=$new_domain_name lease=$new_dhcp_lease_time server=$new_dhcp_server_identifier host=$new_host_name" >> "$out"
  case "$reason" in
    BOUND|RENEW|REBIND|REBOOT)
      ip addr flush dev "$interface"
      ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
      for r in $new_routers; do ip route replace default via "$r" dev "$interface"; break; done ;;
    RELEASE|EXPIRE|STOP) ip addr flush dev "$interface" ;;
  esac
else
  echo "event=$1 ip=$ip mask=$subnet routers=$router dns=$dns domain=$domain lease=$lease server=$serverid routes=$staticroutes host=$hostname" >> "$out"
  case "$1" in
    bound|renew)
      ip addr flush dev "$interface"
      ip addr add "$ip/$mask" dev "$interface"
      for r in $router; do ip route replace default via "$r" dev "$interface"; break; done ;;
    deconfig) ip addr flush dev "$interface" ;;
  esac
fi
exit 0
"#,
        events = events.display()
    );
    std::fs::write(&script, text)?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Ok((script, events))
}
