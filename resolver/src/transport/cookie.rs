//! DNS Cookies to upstream servers (RFC 7873 §5.1, §5.3): every UDP query
//! carries a client cookie, the server cookie a server returned is sent back
//! next time, and a reply whose COOKIE option does not carry our client
//! cookie is a forgery and is discarded. A server that ignores cookies (no
//! COOKIE option in its reply) keeps working.
//!
//! Unbound (1.17 and its current source alike) sends no cookies upstream;
//! this is RFC 7873's client side.
//!
//! The client cookie is SipHash-2-4(server address | day, secret) with a
//! random secret drawn at start (RFC 7873 §4.1 suggests hashing the client
//! address too; the source address of our fresh per-query sockets is chosen
//! by the kernel, so the server address and a daily epoch stand in for it): a
//! server cannot link our queries to other servers', and the cookie changes
//! once a day. Learned server cookies are kept per server address in a
//! bounded concurrent cache (no global lock on the query path).

use std::hash::Hasher;
use std::net::IpAddr;

use common::dns::edns::{find_opt, OPTION_COOKIE};
use common::dns::wire::QueryView;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use quick_cache::sync::Cache;
use siphasher::sip::SipHasher24;

/// Servers whose cookies we remember (Unbound's infra-cache-numhosts default).
const MAX_SERVERS: usize = 10_000;

/// Longest server cookie (RFC 7873 §4.2: 8 to 32 bytes).
const MAX_SERVER_COOKIE: usize = 32;

/// Seconds a client cookie lasts before it is rotated.
const ROTATE_SECS: u64 = 86_400;

/// A server cookie learned from a reply, with the client cookie it answers
/// (it is only valid with that one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Learned {
    client: [u8; 8],
    server: [u8; MAX_SERVER_COOKIE],
    len: u8,
}

/// The COOKIE option sent in one query: client cookie, then the server
/// cookie when one is known. Fixed-size; nothing allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    option: [u8; 8 + MAX_SERVER_COOKIE],
    len: usize,
}

impl Sent {
    /// The option data as sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.option[..self.len]
    }

    fn client(&self) -> &[u8] {
        &self.option[..8]
    }
}

/// What a reply's COOKIE option says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// No COOKIE option (the server does not do cookies), or ours: take it.
    /// A BADCOOKIE reply with ours has taught us the server's new cookie; the
    /// iterator asks once more (RFC 7873 §5.3), within its query budget.
    Accept,
    /// A COOKIE option that does not carry our client cookie, or is malformed:
    /// not the server's reply (RFC 7873 §5.3); discard it and keep waiting.
    Forged,
}

/// Our client-cookie secret and the server cookies learned, per server.
pub struct ClientCookies {
    secret: [u8; 16],
    servers: Cache<IpAddr, Learned>,
}

impl std::fmt::Debug for ClientCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCookies")
            .field("servers", &self.servers.len())
            .finish_non_exhaustive()
    }
}

impl Default for ClientCookies {
    fn default() -> Self {
        Self::new(rand::random())
    }
}

impl ClientCookies {
    /// Cookies made with `secret`.
    pub fn new(secret: [u8; 16]) -> Self {
        Self {
            secret,
            servers: Cache::new(MAX_SERVERS),
        }
    }

    /// The client cookie for `server` at Unix time `now`.
    fn client_cookie(&self, server: IpAddr, now: u64) -> [u8; 8] {
        let mut hasher = SipHasher24::new_with_key(&self.secret);
        match server {
            IpAddr::V4(ip) => hasher.write(&ip.octets()),
            IpAddr::V6(ip) => hasher.write(&ip.octets()),
        }
        hasher.write(&(now / ROTATE_SECS).to_be_bytes());
        hasher.finish().to_le_bytes()
    }

    /// The COOKIE option to send to `server`: our client cookie and, when we
    /// learned one for it, the server's cookie.
    pub fn for_server(&self, server: IpAddr, now: u64) -> Sent {
        let client = self.client_cookie(server, now);
        let mut sent = Sent {
            option: [0; 8 + MAX_SERVER_COOKIE],
            len: 8,
        };
        sent.option[..8].copy_from_slice(&client);
        if let Some(learned) = self.servers.get(&server) {
            if learned.client == client {
                let len = usize::from(learned.len);
                sent.option[8..8 + len].copy_from_slice(&learned.server[..len]);
                sent.len = 8 + len;
            }
        }
        sent
    }

    /// Judges `reply` from `server` against the option `sent` (None: the
    /// query carried none, as without EDNS), and learns the server cookie it
    /// carries.
    pub fn check(&self, server: IpAddr, sent: Option<&Sent>, reply: &Message) -> Check {
        let (Some(sent), Some(option)) = (sent, reply_cookie(reply)) else {
            return Check::Accept;
        };
        // RFC 7873 §5.3: a client cookie with a server cookie of 8 to 32 bytes.
        let well_formed = (16..=8 + MAX_SERVER_COOKIE).contains(&option.len());
        if !well_formed || &option[..8] != sent.client() {
            return Check::Forged;
        }
        let mut learned = Learned {
            client: [0; 8],
            server: [0; MAX_SERVER_COOKIE],
            len: (option.len() - 8) as u8,
        };
        learned.client.copy_from_slice(&option[..8]);
        learned.server[..option.len() - 8].copy_from_slice(&option[8..]);
        self.servers.insert(server, learned);
        Check::Accept
    }

    /// How many servers' cookies are remembered.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether no server cookie is remembered.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}

/// The data of the first COOKIE option of `reply`, if any.
fn reply_cookie(reply: &Message) -> Option<&[u8]> {
    match reply.edns.as_ref()?.options().get(EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, data) => Some(data),
        _ => None,
    }
}

/// Adds the COOKIE option `sent` to the OPT record of the encoded query
/// `wire`; a query without OPT (a server that rejects EDNS) is left alone.
/// Returns whether the option was added.
pub fn add_to_query(wire: &mut Vec<u8>, sent: &Sent) -> bool {
    let Ok(view) = QueryView::parse(wire) else {
        return false;
    };
    let Ok(Some(opt)) = find_opt(wire, &view) else {
        return false;
    };
    let data = sent.as_bytes();
    let rdlen_at = opt.options.start - 2;
    let rdlen = u16::from_be_bytes([wire[rdlen_at], wire[rdlen_at + 1]]);
    let added = (4 + data.len()) as u16;
    let mut option = [0u8; 4 + 8 + MAX_SERVER_COOKIE];
    option[..2].copy_from_slice(&OPTION_COOKIE.to_be_bytes());
    option[2..4].copy_from_slice(&(data.len() as u16).to_be_bytes());
    option[4..4 + data.len()].copy_from_slice(data);
    let at = opt.options.end;
    let _ = wire.splice(at..at, option[..4 + data.len()].iter().copied());
    wire[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.saturating_add(added).to_be_bytes());
    true
}

/// Unix time in seconds, for the client cookie's epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

    const SERVER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 53));
    const NOW: u64 = 1_700_000_000;

    fn reply(rcode: ResponseCode, cookie: Option<&[u8]>) -> Message {
        let mut message = Message::new(1, MessageType::Response, OpCode::Query);
        message.metadata.response_code = rcode;
        let mut edns = Edns::new();
        if let Some(cookie) = cookie {
            edns.options_mut()
                .insert(EdnsOption::Unknown(10, cookie.to_vec()));
        }
        message.set_edns(edns);
        // Through the wire, as a reply arrives (merges the extended rcode).
        Message::from_vec(&message.to_vec().unwrap()).unwrap()
    }

    /// RFC 7873 §5.1 and §5.3: the client cookie goes out alone first; the
    /// server cookie a reply carries is sent back next time.
    #[test]
    fn server_cookie_is_learned_and_sent_back() {
        let jar = ClientCookies::new([7; 16]);
        let first = jar.for_server(SERVER, NOW);
        assert_eq!(first.as_bytes().len(), 8);
        let mut option = first.as_bytes().to_vec();
        option.extend_from_slice(b"server-cookie-16");
        let answer = reply(ResponseCode::NoError, Some(&option));
        assert_eq!(jar.check(SERVER, Some(&first), &answer), Check::Accept);
        let second = jar.for_server(SERVER, NOW + 5);
        assert_eq!(second.as_bytes(), &option[..]);
        // Another server gets another client cookie and no server cookie.
        let other = jar.for_server(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 54)), NOW);
        assert_eq!(other.as_bytes().len(), 8);
        assert_ne!(other.as_bytes(), first.as_bytes());
        // A day later the client cookie rotates and the old server cookie is dropped.
        let rotated = jar.for_server(SERVER, NOW + ROTATE_SECS);
        assert_eq!(rotated.as_bytes().len(), 8);
        assert_ne!(rotated.as_bytes(), first.as_bytes());
    }

    /// RFC 7873 §5.3: a COOKIE option without our client cookie, or malformed,
    /// is a forgery; no COOKIE option at all is a server without cookies.
    #[test]
    fn forged_and_cookieless_replies() {
        let jar = ClientCookies::new([7; 16]);
        let sent = jar.for_server(SERVER, NOW);
        let forged = reply(ResponseCode::NoError, Some(b"12345678server-c"));
        assert_eq!(jar.check(SERVER, Some(&sent), &forged), Check::Forged);
        // A query sent without OPT carried no cookie: nothing to judge.
        assert_eq!(jar.check(SERVER, None, &forged), Check::Accept);
        let short = reply(ResponseCode::NoError, Some(sent.as_bytes()));
        assert_eq!(jar.check(SERVER, Some(&sent), &short), Check::Forged);
        assert!(jar.is_empty());
        let plain = reply(ResponseCode::NoError, None);
        assert_eq!(jar.check(SERVER, Some(&sent), &plain), Check::Accept);
        let mut no_edns = plain.clone();
        no_edns.edns = None;
        assert_eq!(jar.check(SERVER, Some(&sent), &no_edns), Check::Accept);
    }

    /// RFC 7873 §5.3: BADCOOKIE with our client cookie teaches the new server
    /// cookie, for the iterator's one retry.
    #[test]
    fn badcookie_teaches_the_new_cookie() {
        let jar = ClientCookies::new([7; 16]);
        let sent = jar.for_server(SERVER, NOW);
        let mut option = sent.as_bytes().to_vec();
        option.extend_from_slice(b"fresh-cookie");
        let bad = reply(ResponseCode::BADCOOKIE, Some(&option));
        assert_eq!(bad.metadata.response_code, ResponseCode::BADCOOKIE);
        assert_eq!(jar.check(SERVER, Some(&sent), &bad), Check::Accept);
        assert_eq!(jar.for_server(SERVER, NOW).as_bytes(), &option[..]);
        assert_eq!(jar.len(), 1);
    }

    /// The option is added inside the query's OPT record, which then parses
    /// with it; a query without OPT is left alone.
    #[test]
    fn option_is_added_to_the_opt_record() {
        let jar = ClientCookies::new([7; 16]);
        let sent = jar.for_server(SERVER, NOW);
        let mut query = Message::new(9, MessageType::Query, OpCode::Query);
        query.add_query(Query::query(
            Name::from_ascii("www.example.").unwrap(),
            RecordType::A,
        ));
        let bare = query.to_vec().unwrap();
        let mut unchanged = bare.clone();
        assert!(!add_to_query(&mut unchanged, &sent));
        assert_eq!(unchanged, bare);
        let mut edns = Edns::new();
        edns.set_dnssec_ok(true);
        query.set_edns(edns);
        let mut wire = query.to_vec().unwrap();
        assert!(add_to_query(&mut wire, &sent));
        let parsed = Message::from_vec(&wire).unwrap();
        assert_eq!(reply_cookie(&parsed), Some(sent.as_bytes()));
        assert!(parsed.edns.unwrap().flags().dnssec_ok);
    }
}
