//! A mock internet for unit tests (hickory's `MockProvider`): an in-memory
//! [`Transport`] where each server address serves zones as an authoritative
//! server would (answers, CNAMEs, referrals with NS and glue, NXDOMAIN and
//! NODATA with the SOA), or misbehaves as told ([`Behaviour`]). Every query
//! sent is logged, so tests assert what was asked of whom, over which
//! transport, with or without EDNS and RD.
//!
//! No sockets, no root, no clock: the iterator, the pipeline and (later) a
//! DNSSEC validator are tested in process. [`example_internet`] is a ready
//! root → TLD → leaf tree the tests share.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use parking_lot::Mutex;

use super::caps::Perturbed;
use super::{case_echoed, encode_query, judge, QueryOptions, Reply, Transport, Verdict};
use crate::cache::RrsetCache;
use crate::config::Config;
use crate::error::TransportError;
use crate::iterate::hints::RootHints;
use crate::iterate::infra::Infra;
use crate::iterate::Recursor;
use crate::pipeline::ttl_policy;

/// The ID of every query the mock receives (its replies are built with it).
const MOCK_ID: u16 = 0;

/// CNAME links a mock server follows inside its own zone.
const MAX_IN_ZONE_CHAIN: usize = 8;

/// How a mock server treats the queries it gets.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Behaviour {
    /// Answers from its zones; REFUSED for names outside them.
    Authoritative,
    /// Never answers: every exchange times out.
    Timeout,
    /// Answers every query with this rcode (REFUSED: lame; SERVFAIL: broken).
    Rcode(ResponseCode),
    /// Over UDP: TC=1 with empty sections; over TCP: the full answer (RFC 7766).
    TruncateUdp,
    /// FORMERR to any query with an OPT record; answers without one (RFC 6891 §7).
    NoEdns,
    /// A plain function gets the question and the authoritative reply and
    /// returns what is sent instead (None: nothing, a timeout).
    Rewrite(fn(&Query, Message) -> Option<Message>),
    /// Answers from its zones after this long (the reply's measured RTT), so
    /// queries overlap and the infra cache sees servers of different speeds;
    /// a query whose timeout is shorter times out after its timeout.
    Delay(Duration),
}

/// One query the mock received.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sent {
    /// Where it went.
    pub server: IpAddr,
    /// The name asked.
    pub name: Name,
    /// The type asked.
    pub qtype: RecordType,
    /// Over TCP (or TLS) rather than UDP.
    pub tcp: bool,
    /// With an OPT record.
    pub edns: bool,
    /// With RD set.
    pub rd: bool,
    /// With the name's case randomised (use-caps-for-id).
    pub caps: bool,
}

/// One zone a server is authoritative for.
#[derive(Clone, Debug)]
struct Zone {
    origin: Name,
    records: Vec<Record>,
}

#[derive(Clone, Debug)]
struct Server {
    zones: Vec<Zone>,
    behaviour: Behaviour,
}

/// The mock internet. Clones share servers and the query log, so a test keeps
/// one while the recursor owns another.
#[derive(Clone, Debug, Default)]
pub(crate) struct MockTransport {
    servers: Arc<Mutex<HashMap<IpAddr, Server>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

/// Parses an address written in a test.
pub(crate) fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|_| panic!("bad test address {text}"))
}

/// Parses a name written in a test.
pub(crate) fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap_or_else(|_| panic!("bad test name {text}"))
}

impl MockTransport {
    /// An internet with no servers (every query times out).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Makes `server` authoritative for `origin`, with the records of
    /// `zone_text` (zone-file lines with absolute names and TTLs).
    pub(crate) fn zone(&self, server: &str, origin: &str, zone_text: &str) -> &Self {
        let origin = name(origin);
        let (_, sets) = Parser::new(zone_text, None, Some(origin.clone()))
            .parse()
            .unwrap_or_else(|e| panic!("bad test zone {origin}: {e}"));
        let records = sets
            .values()
            .flat_map(|set| set.records_without_rrsigs().cloned())
            .collect();
        self.servers
            .lock()
            .entry(ip(server))
            .or_insert(Server {
                zones: Vec::new(),
                behaviour: Behaviour::Authoritative,
            })
            .zones
            .push(Zone { origin, records });
        self
    }

    /// Sets how `server` behaves from now on.
    pub(crate) fn behave(&self, server: &str, behaviour: Behaviour) -> &Self {
        self.servers
            .lock()
            .entry(ip(server))
            .or_insert(Server {
                zones: Vec::new(),
                behaviour,
            })
            .behaviour = behaviour;
        self
    }

    /// Every query received so far, in order.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.sent.lock().clone()
    }

    /// Queries `server` received (UDP and TCP).
    pub(crate) fn queries_to(&self, server: &str) -> usize {
        let server = ip(server);
        self.sent
            .lock()
            .iter()
            .filter(|s| s.server == server)
            .count()
    }

    /// Queries received over UDP and over TCP, in total.
    pub(crate) fn by_transport(&self) -> (usize, usize) {
        let sent = self.sent.lock();
        let tcp = sent.iter().filter(|s| s.tcp).count();
        (sent.len() - tcp, tcp)
    }

    /// The questions `server` received, as (name, type) text pairs.
    pub(crate) fn asked(&self, server: &str) -> Vec<(String, RecordType)> {
        let server = ip(server);
        self.sent
            .lock()
            .iter()
            .filter(|s| s.server == server)
            .map(|s| (s.name.to_ascii(), s.qtype))
            .collect()
    }

    /// Forgets the queries logged so far.
    pub(crate) fn clear_log(&self) {
        self.sent.lock().clear();
    }

    /// What `server` sends back, if anything.
    fn respond(&self, server: IpAddr, query: &Query, options: &QueryOptions) -> Option<Message> {
        let servers = self.servers.lock();
        let entry = servers.get(&server)?;
        let stream = options.tcp || options.tls_name.is_some();
        match entry.behaviour {
            Behaviour::Timeout => None,
            Behaviour::Rcode(rcode) => Some(empty_reply(query, rcode)),
            Behaviour::NoEdns if options.edns_payload.is_some() => {
                Some(empty_reply(query, ResponseCode::FormErr))
            }
            Behaviour::TruncateUdp if !stream => {
                let mut reply = empty_reply(query, ResponseCode::NoError);
                reply.metadata.truncation = true;
                Some(reply)
            }
            Behaviour::Rewrite(rewrite) => rewrite(query, authoritative(&entry.zones, query)),
            _ => Some(authoritative(&entry.zones, query)),
        }
    }
}

impl Transport for MockTransport {
    async fn exchange(
        &self,
        server: SocketAddr,
        query: &Query,
        options: &QueryOptions,
    ) -> Result<Reply, TransportError> {
        let stream = options.tcp || options.tls_name.is_some();
        self.sent.lock().push(Sent {
            server: server.ip(),
            name: query.name().clone(),
            qtype: query.query_type(),
            tcp: stream,
            edns: options.edns_payload.is_some(),
            rd: options.recursion_desired,
            caps: options.caps,
        });
        let delay = match self.servers.lock().get(&server.ip()).map(|s| s.behaviour) {
            Some(Behaviour::Delay(delay)) => Some(delay),
            _ => None,
        };
        if let Some(delay) = delay {
            if delay > options.timeout {
                tokio::time::sleep(options.timeout).await;
                return Err(TransportError::Timeout(server));
            }
            tokio::time::sleep(delay).await;
        }
        // use-caps-for-id: the server sees the name in the case the network
        // transport would send; authoritative servers echo it.
        let (asked, perturbed) = perturb(query, options, server)?;
        let Some(message) = self.respond(server.ip(), &asked, options) else {
            return Err(TransportError::Timeout(server));
        };
        // The reply goes through the network transport's own checks, as wire:
        // the mock's queries carry ID 0, so a rewrite that changes the ID plays
        // a spoofer (ignored: the real reply never comes, a timeout), one that
        // changes the question a broken server (rejected at once), one that
        // does not echo the 0x20 case a server that lowercases.
        let mut wire = message
            .to_vec()
            .map_err(|_| TransportError::Malformed(server))?;
        if !case_echoed(perturbed.as_ref(), &mut wire, MOCK_ID) {
            return Err(TransportError::CaseMismatch(server));
        }
        match judge(&wire, MOCK_ID, query) {
            Verdict::Accept(message) => Ok(Reply {
                message,
                rtt: delay.unwrap_or(Duration::from_millis(1)),
                stream,
            }),
            Verdict::Ignore if stream => Err(TransportError::Mismatch(server)),
            Verdict::Ignore => Err(TransportError::Timeout(server)),
            Verdict::Reject => Err(TransportError::Mismatch(server)),
        }
    }
}

/// The question as the network transport would send it: with `caps`, the
/// name's case randomised (the record of it checks the echo).
fn perturb(
    query: &Query,
    options: &QueryOptions,
    server: SocketAddr,
) -> Result<(Query, Option<Perturbed>), TransportError> {
    if !options.caps {
        return Ok((query.clone(), None));
    }
    let malformed = |_| TransportError::Malformed(server);
    let (_, mut wire) = encode_query(query, options)?;
    let perturbed = Perturbed::perturb(&mut wire, query.query_type());
    let sent = Message::from_vec(&wire).map_err(malformed)?;
    let asked = sent
        .queries
        .first()
        .cloned()
        .ok_or(TransportError::Malformed(server))?;
    Ok((asked, perturbed))
}

/// A Behaviour::Rewrite: a server that answers in lowercase whatever case
/// the question came in (some middleboxes and old servers; use-caps-for-id
/// needs its fallback for them).
pub(crate) fn no_case_echo(_: &Query, mut reply: Message) -> Option<Message> {
    for query in &mut reply.queries {
        let lower = query.name().to_lowercase();
        query.set_name(lower);
    }
    Some(reply)
}

/// A reply to `query` with `rcode` and nothing else.
fn empty_reply(query: &Query, rcode: ResponseCode) -> Message {
    let mut reply = Message::new(MOCK_ID, MessageType::Response, OpCode::Query);
    reply.metadata.response_code = rcode;
    reply.add_query(query.clone());
    reply
}

/// What an authoritative server with `zones` answers: the deepest zone
/// holding the name decides; a delegation below it refers; then the data,
/// CNAMEs followed inside the zone; NODATA for a name that exists (or has
/// names below it) without that type; NXDOMAIN otherwise.
fn authoritative(zones: &[Zone], query: &Query) -> Message {
    let qname = query.name();
    let qtype = query.query_type();
    let Some(zone) = zones
        .iter()
        .filter(|z| z.origin.zone_of(qname))
        .max_by_key(|z| z.origin.num_labels())
    else {
        return empty_reply(query, ResponseCode::Refused);
    };
    let mut reply = empty_reply(query, ResponseCode::NoError);
    if let Some(cut) = delegation(zone, qname, qtype) {
        let ns: Vec<Record> = zone
            .records
            .iter()
            .filter(|r| r.name == cut && r.record_type() == RecordType::NS)
            .cloned()
            .collect();
        let glue = ns.iter().flat_map(|r| match &r.data {
            RData::NS(target) => zone
                .records
                .iter()
                .filter(|g| {
                    g.name == target.0
                        && matches!(g.record_type(), RecordType::A | RecordType::AAAA)
                })
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        });
        reply.additionals = glue.collect();
        reply.authorities = ns;
        return reply;
    }
    reply.metadata.authoritative = true;
    let mut name = qname.clone();
    for _ in 0..MAX_IN_ZONE_CHAIN {
        let at_name = |rtype: RecordType| -> Vec<Record> {
            zone.records
                .iter()
                .filter(|r| {
                    r.name == name && (r.record_type() == rtype || rtype == RecordType::ANY)
                })
                .cloned()
                .collect()
        };
        let data = at_name(qtype);
        if !data.is_empty() {
            reply.answers.extend(data);
            return reply;
        }
        let cname = at_name(RecordType::CNAME);
        let target = cname.iter().find_map(|r| match &r.data {
            RData::CNAME(target) => Some(target.0.clone()),
            _ => None,
        });
        match target {
            Some(target) if qtype != RecordType::CNAME => {
                reply.answers.extend(cname);
                if !zone.origin.zone_of(&target) || delegation(zone, &target, qtype).is_some() {
                    return reply;
                }
                name = target;
            }
            _ => break,
        }
    }
    let exists = zone.records.iter().any(|r| name.zone_of(&r.name));
    if !exists {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.authorities = zone
        .records
        .iter()
        .filter(|r| r.name == zone.origin && r.record_type() == RecordType::SOA)
        .cloned()
        .collect();
    reply
}

/// The deepest delegation (NS RRset below the origin) at or above `qname`; a
/// DS question is answered by the parent, above the cut at its own name.
fn delegation(zone: &Zone, qname: &Name, qtype: RecordType) -> Option<Name> {
    zone.records
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && r.name != zone.origin)
        .filter(|r| r.name.zone_of(qname) && !(qtype == RecordType::DS && r.name == *qname))
        .map(|r| r.name.clone())
        .max_by_key(Name::num_labels)
}

/// Root server of [`example_internet`].
pub(crate) const ROOT: &str = "198.51.100.1";
/// The com. and net. server.
pub(crate) const TLD: &str = "198.51.100.2";
/// example.com.'s first server (ns1).
pub(crate) const EXAMPLE_NS1: &str = "198.51.100.10";
/// example.com.'s second server (ns2).
pub(crate) const EXAMPLE_NS2: &str = "198.51.100.11";
/// example.net.'s server.
pub(crate) const EXAMPLE_NET: &str = "198.51.100.20";
/// glueless.com.'s server, whose NS name (ns.example.com.) has no glue in com.
pub(crate) const GLUELESS: &str = "198.51.100.30";
/// A forwarder for corp.example.com. (configured per test).
pub(crate) const FORWARDER: &str = "198.51.100.53";

/// The skeleton every mock internet shares: [`ROOT`] serves the root, which
/// delegates com. and net. to [`TLD`]; [`TLD`] serves both, each with its SOA
/// and NS plus the test's own lines (`com`, `net`: zone-file lines with
/// absolute names).
pub(crate) fn root_and_tlds(net: &MockTransport, com: &str, net_lines: &str) {
    net.zone(
        ROOT,
        ".",
        "\
. 86400 SOA a.root-servers.net. hostmaster.root-servers.net. 1 1800 900 604800 86400
. 518400 NS a.root-servers.net.
a.root-servers.net. 518400 A 198.51.100.1
com. 172800 NS a.gtld-servers.net.
net. 172800 NS a.gtld-servers.net.
a.gtld-servers.net. 172800 A 198.51.100.2
",
    );
    net.zone(
        TLD,
        "com.",
        &format!(
            "com. 900 SOA a.gtld-servers.net. hostmaster.gtld-servers.net. 1 1800 900 604800 86400\n\
             com. 172800 NS a.gtld-servers.net.\n{com}"
        ),
    );
    net.zone(
        TLD,
        "net.",
        &format!(
            "net. 900 SOA a.gtld-servers.net. hostmaster.gtld-servers.net. 1 1800 900 604800 86400\n\
             net. 172800 NS a.gtld-servers.net.\n\
             a.gtld-servers.net. 172800 A 198.51.100.2\n{net_lines}"
        ),
    );
}

/// A recursor over `net` without QNAME minimisation, so each zone gets
/// exactly one query.
pub(crate) fn plain(net: &MockTransport) -> Recursor<MockTransport> {
    recursor(net, &config("  qname-minimisation: no\n"))
}

/// Makes ns2 of example.com. dead (three timeouts in a row), so ns1 is asked.
pub(crate) fn prefer_ns1(recursor: &Recursor<MockTransport>) {
    for _ in 0..3 {
        recursor
            .infra
            .record_timeout(ip(EXAMPLE_NS2), tokio::time::Instant::now());
    }
}

/// The A addresses of an answer section, in order, as text.
pub(crate) fn a_addresses(answer: &crate::iterate::Answer) -> Vec<String> {
    a_texts(&answer.answers)
}

/// The A addresses among `records`, in order, as text.
pub(crate) fn a_texts(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// A small internet: the root delegates com. and net. to one TLD server;
/// example.com. (two servers, glued) holds answers, in-zone and cross-zone
/// CNAMEs, a CNAME loop and an empty non-terminal; example.net. the other
/// ends of the chains; glueless.com. is served by ns.example.com., for which
/// com. has no glue. The forwarder serves corp.example.com. with different
/// data than example.com. holds for it, so a test sees who answered.
pub(crate) fn example_internet() -> MockTransport {
    let net = MockTransport::new();
    root_and_tlds(
        &net,
        "\
example.com. 172800 NS ns1.example.com.
example.com. 172800 NS ns2.example.com.
ns1.example.com. 172800 A 198.51.100.10
ns2.example.com. 172800 A 198.51.100.11
glueless.com. 172800 NS ns.example.com.
",
        "\
example.net. 172800 NS ns.example.net.
ns.example.net. 172800 A 198.51.100.20
",
    );
    let example_com = "\
example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300
example.com. 3600 NS ns1.example.com.
example.com. 3600 NS ns2.example.com.
ns1.example.com. 3600 A 198.51.100.10
ns2.example.com. 3600 A 198.51.100.11
ns.example.com. 3600 A 198.51.100.30
www.example.com. 300 A 192.0.2.80
deep.www.example.com. 300 A 192.0.2.81
x.ent.example.com. 300 A 192.0.2.82
deep.x.ent.example.com. 300 A 192.0.2.84
host.corp.example.com. 300 A 192.0.2.99
alias.example.com. 300 CNAME www.example.net.
loop.example.com. 300 CNAME loop.example.net.
hop1.example.com. 300 CNAME hop1.example.net.
hop2.example.com. 300 CNAME hop2.example.net.
hop3.example.com. 300 A 192.0.2.83
";
    net.zone(EXAMPLE_NS1, "example.com.", example_com);
    net.zone(EXAMPLE_NS2, "example.com.", example_com);
    net.zone(
        EXAMPLE_NET,
        "example.net.",
        "\
example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 600 86400 300
example.net. 3600 NS ns.example.net.
ns.example.net. 3600 A 198.51.100.20
www.example.net. 300 A 192.0.2.90
loop.example.net. 300 CNAME loop.example.com.
hop1.example.net. 300 CNAME hop2.example.com.
hop2.example.net. 300 CNAME hop3.example.com.
",
    );
    net.zone(
        GLUELESS,
        "glueless.com.",
        "\
glueless.com. 3600 SOA ns.example.com. hostmaster.glueless.com. 1 3600 600 86400 300
glueless.com. 3600 NS ns.example.com.
www.glueless.com. 300 A 192.0.2.100
",
    );
    net.zone(
        FORWARDER,
        "corp.example.com.",
        "\
corp.example.com. 3600 SOA ns.corp.example.com. hostmaster.corp.example.com. 1 3600 600 86400 300
host.corp.example.com. 300 A 10.1.2.3
",
    );
    net
}

/// Root hints naming [`ROOT`] as the only root server.
pub(crate) fn example_hints() -> RootHints {
    RootHints::parse(
        ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 198.51.100.1\n",
        Path::new("mock-hints.zone"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A config parsed from unbound.conf text (a `server:` clause is added first).
pub(crate) fn config(text: &str) -> Config {
    Config::parse_str(&format!("server:\n{text}"), Path::new("mock.conf"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A recursor over `net` with [`example_hints`] and fresh caches.
pub(crate) fn recursor(net: &MockTransport, config: &Config) -> Recursor<MockTransport> {
    Recursor::new(
        net.clone(),
        RrsetCache::new(1 << 20, ttl_policy(config)),
        std::sync::Arc::new(Infra::new(config.server.infra_host_ttl)),
        example_hints(),
        config,
    )
}
