//! The client's name in replies as Kea 2.2's processClientName handles it
//! with DDNS off: option 81 (RFC 4702) answered with the server's flags and
//! a fully qualified name, or option 12.

use super::exchange::Exchange;
use super::Server;

/// Option 81 flags (RFC 4702 §2.1).
const FLAG_S: u8 = 0x01;
const FLAG_O: u8 = 0x02;
const FLAG_E: u8 = 0x04;
const FLAG_N: u8 = 0x08;

/// The name option a reply carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClientName {
    /// Option 81's data.
    Fqdn(Vec<u8>),
    /// Option 12's text.
    Hostname(String),
}

/// A client FQDN option as Kea's Option4ClientFqdn reads it: labels in
/// lower case, and whether the name is fully qualified.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientFqdn {
    flags: u8,
    rcode1: u8,
    rcode2: u8,
    labels: Vec<String>,
    full: bool,
}

impl ClientFqdn {
    /// Reads option 81's data; `None` where Kea refuses it (shorter than
    /// the flags and codes, S and N both set, a name that is not one).
    fn parse(data: &[u8]) -> Option<ClientFqdn> {
        let (&flags, &rcode1, &rcode2) = (data.first()?, data.get(1)?, data.get(2)?);
        if flags & FLAG_S != 0 && flags & FLAG_N != 0 {
            return None;
        }
        let name = data.get(3..)?;
        let (labels, full) = if name.is_empty() {
            (Vec::new(), false)
        } else if flags & FLAG_E != 0 {
            wire_labels(name)?
        } else {
            let text = std::str::from_utf8(name).ok()?;
            let full = text.ends_with('.');
            (text_labels(text)?, full)
        };
        Some(ClientFqdn {
            flags,
            rcode1,
            rcode2,
            labels,
            full,
        })
    }

    /// The server's option 81 (Kea's adjustFqdnFlags with updates off:
    /// N set, O when the client asked to update itself, E as the client's;
    /// the reserved name, else the client's cleaned and qualified).
    fn answer(&self, reserved: Option<&str>, addr: std::net::Ipv4Addr) -> Option<Vec<u8>> {
        let mut flags = FLAG_N | (self.flags & FLAG_E);
        if self.flags & FLAG_S != 0 {
            flags |= FLAG_O;
        }
        let labels: Vec<String> = match reserved {
            Some(name) => text_labels(&name.to_ascii_lowercase()).unwrap_or_default(),
            None => self
                .labels
                .iter()
                .map(|l| {
                    l.chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect()
                })
                .collect(),
        };
        // No name: Kea's postAllocateNameUpdate generates one.
        let labels = if labels.is_empty() {
            vec![generated_name(addr)]
        } else {
            labels
        };
        let mut data = vec![flags, self.rcode1, self.rcode2];
        if labels.iter().any(String::is_empty) {
            // Kea's name processing fails and the reply carries no name.
            return None;
        }
        if flags & FLAG_E != 0 {
            for label in &labels {
                data.push(u8::try_from(label.len()).unwrap_or(63));
                data.extend_from_slice(label.as_bytes());
            }
            data.push(0);
        } else {
            for label in &labels {
                data.extend_from_slice(label.as_bytes());
                data.push(b'.');
            }
        }
        Some(data)
    }

    /// The name as text, fully qualified with its trailing dot (what Kea
    /// stores in the lease).
    fn text(&self) -> String {
        let mut text = String::new();
        for label in &self.labels {
            text.push_str(label);
            text.push('.');
        }
        if !self.full {
            text.pop();
        }
        text
    }
}

/// Kea's generated name for `addr` (ddns-generated-prefix "myhost", no
/// qualifying suffix): `myhost-10-0-0-5`.
fn generated_name(addr: std::net::Ipv4Addr) -> String {
    let [a, b, c, d] = addr.octets();
    format!("myhost-{a}-{b}-{c}-{d}")
}

/// Labels of a DNS wire name, lower case; fully qualified when it ends with
/// the root label.
fn wire_labels(mut name: &[u8]) -> Option<(Vec<String>, bool)> {
    let mut labels = Vec::new();
    for _ in 0..128 {
        let Some((&len, rest)) = name.split_first() else {
            return Some((labels, false));
        };
        if len == 0 {
            return Some((labels, true));
        }
        let label = rest.get(..usize::from(len)).filter(|_| len <= 63)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        name = rest.get(usize::from(len)..)?;
    }
    None
}

/// Labels of a text name, lower case (a trailing dot ends it).
fn text_labels(text: &str) -> Option<Vec<String>> {
    let body = text.strip_suffix('.').unwrap_or(text);
    if body.is_empty() || body.len() > 253 {
        return None;
    }
    body.split('.')
        .map(|l| (!l.is_empty() && l.len() <= 63).then(|| l.to_ascii_lowercase()))
        .collect()
}

impl Server {
    /// The name option of an OFFER or ACK from subnet `s`, as Kea 2.2's
    /// processClientName decides it with DDNS off: option 81 answered when
    /// the client sent one, else option 12 (processHostnameOption): the
    /// reservation's name in lower case, else the client's own name cleaned
    /// (characters outside `[A-Za-z0-9.-]` removed, lower case, a single
    /// label without its trailing dot).
    pub(super) fn client_name(
        &self,
        s: usize,
        cx: &Exchange<'_, '_>,
        addr: std::net::Ipv4Addr,
    ) -> Option<ClientName> {
        let reserved = self
            .current_host(s, cx.hosts)
            .and_then(|h| h.hostname.as_deref())
            .filter(|n| !n.is_empty());
        if let Some(fqdn) = cx.request.fqdn.and_then(ClientFqdn::parse) {
            return fqdn.answer(reserved, addr).map(ClientName::Fqdn);
        }
        if let Some(name) = reserved {
            return Some(ClientName::Hostname(name.to_ascii_lowercase()));
        }
        let name = client_hostname(cx.request.hostname?)?;
        // "." stands for "to be generated" (postAllocateNameUpdate).
        Some(ClientName::Hostname(if name == "." {
            generated_name(addr)
        } else {
            name
        }))
    }

    /// The host name a lease records: the name the reply gives.
    pub(super) fn lease_hostname(
        &self,
        s: usize,
        cx: &Exchange<'_, '_>,
        addr: std::net::Ipv4Addr,
    ) -> String {
        match self.client_name(s, cx, addr) {
            Some(ClientName::Hostname(name)) => name,
            Some(ClientName::Fqdn(data)) => ClientFqdn::parse(&data)
                .map(|f| f.text())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// The client's option 12 as Kea returns it (DDNS off, default
/// `hostname-char-set`), or `None` when Kea ignores it.
fn client_hostname(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    let labels = label_count(text)?;
    if labels == 0 {
        return None;
    }
    if labels < 2 {
        return Some(".".to_string());
    }
    let mut clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if labels == 2 && clean.ends_with('.') {
        clean.pop();
    }
    Some(clean)
}

/// The labels of `name` as a DNS name, the root included ("host" is 2), or
/// `None` when it is not one (an empty label, one over 63 bytes, over 255).
fn label_count(name: &str) -> Option<usize> {
    if name.is_empty() {
        return Some(0);
    }
    if name == "." {
        return Some(1);
    }
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.len() > 253 {
        return None;
    }
    let mut count = 1;
    for label in body.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        count += 1;
    }
    Some(count)
}
