//! Entry points for the cargo fuzz targets (`resolver/fuzz/`) and for the
//! corpus replay test (`tests/fuzz_corpus.rs`), so `cargo test` runs every
//! committed corpus file through the same code the fuzzer ran. Compiled with
//! the `fuzzing` feature only.
//!
//! Both run over the in-memory mock internet
//! ([`crate::transport::mock::example_internet`]): no socket, no network, a
//! paused clock. The query path runs the real pipeline (access → parse →
//! admit → cache → local zone → resolve), one per process (building its local
//! zones costs far more than a query), so its caches carry over from input to
//! input as a server's do. The upstream replies go to a fresh iterator (empty
//! caches) per input, so each reply is really asked for. A broken invariant
//! panics.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::dns::edns::{find_opt, udp_reply_limit};
use common::dns::wire::QueryView;
use common::frontend::{DnsHandler, Query, Reply, Transport as Proto};
use hickory_proto::op::{Message, Query as Question};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::time::Instant;

use crate::cache::rrset::Trust;
use crate::cache::{MessageCache, RrsetCache};
use crate::config::Config;
use crate::error::TransportError;
use crate::iterate::infra::Infra;
use crate::iterate::Recursor;
use crate::metrics::Metrics;
use crate::pipeline::{ttl_policy, Pipeline};
use crate::transport::mock::{self, MockTransport};
use crate::transport::{judge, QueryOptions, Reply as Upstream, Transport, Verdict};

/// The fuzzed client.
const CLIENT: &str = "127.0.0.1:40000";

/// The configuration both targets run: one query per zone (no QNAME
/// minimisation), local data and a refused network beside the mock internet.
const CONFIG: &str = "\
  qname-minimisation: no
  access-control: 127.0.0.0/8 allow
  local-zone: \"printer.example.com.\" static
  local-data: \"printer.example.com. A 192.0.2.9\"
  local-data: \"printer.example.com. TXT \\\"fuzz\\\"\"
  local-zone: \"blocked.example.com.\" refuse
";

/// The zone whose servers send the fuzzed reply, and their addresses.
const HOSTILE_ZONE: &str = "example.com.";

/// The ID the hostile servers' queries are taken to carry (the fuzzed reply's
/// first two bytes are overwritten with it: a reply with another ID is only a
/// blind spoofer's, which the transport ignores).
const HOSTILE_ID: u16 = 0;

/// The client questions of [`upstream_reply`]: the fuzzed input's first byte
/// picks one (its index modulo the length).
pub const QUESTIONS: &[(&str, RecordType)] = &[
    ("www.example.com.", RecordType::A),
    ("www.example.com.", RecordType::AAAA),
    ("example.com.", RecordType::NS),
    ("example.com.", RecordType::SOA),
    ("alias.example.com.", RecordType::A),
    ("nothere.example.com.", RecordType::A),
    ("www.example.com.", RecordType::MX),
    ("www.glueless.com.", RecordType::A),
    ("sub.example.com.", RecordType::TXT),
    ("www.example.com.", RecordType::DS),
    ("example.com.", RecordType::DNSKEY),
    ("hop1.example.com.", RecordType::A),
];

/// The query path: `wire` is a client's datagram, handled over UDP twice (the
/// second may be a cache hit) and once over TCP. Every reply must carry the
/// query's ID with QR set, decode, and fit the client's UDP limit.
pub fn query_path(wire: &[u8]) {
    static PIPELINE: OnceLock<Pipeline<MockTransport>> = OnceLock::new();
    let pipeline = PIPELINE.get_or_init(|| pipeline(internet().clone()));
    internet().clear_log();
    runtime().block_on(async {
        for transport in [Proto::Udp, Proto::Udp, Proto::Tcp] {
            if let Some(reply) = ask(pipeline, wire, transport).await {
                check_reply(wire, transport, &reply);
            }
        }
    });
}

/// The iterator's reply handling: `data[0]` picks a question of
/// [`QUESTIONS`], the rest is what example.com.'s two servers answer to every
/// query they get (its ID set to the query's); the root, com. and net. stay
/// honest. A fresh iterator resolves the question; nothing the hostile servers
/// said about a name outside example.com. may be in its RRset cache unless an
/// honest server says the same.
pub fn upstream_reply(data: &[u8]) {
    let Some((&pick, reply)) = data.split_first() else {
        return;
    };
    let (qname, qtype) = QUESTIONS[usize::from(pick) % QUESTIONS.len()];
    let net = internet();
    net.clear_log();
    let hostile = Hostile {
        net: net.clone(),
        reply: Arc::from(reply),
    };
    let recursor = recursor(hostile);
    runtime().block_on(async {
        let _ = recursor.resolve(&mock::name(qname), qtype).await;
        no_foreign_data(&recursor.rrsets, net, reply).await;
    });
}

/// The mock internet, built once (parsing its zones costs more than a query).
fn internet() -> &'static MockTransport {
    static NET: OnceLock<MockTransport> = OnceLock::new();
    NET.get_or_init(mock::example_internet)
}

/// [`CONFIG`], parsed once.
fn config() -> &'static Config {
    static CONFIG_PARSED: OnceLock<Config> = OnceLock::new();
    CONFIG_PARSED.get_or_init(|| mock::config(CONFIG))
}

/// A current-thread runtime with a paused clock: timers fire as soon as
/// nothing else can run, so a timeout costs no wall time.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

/// An iterator over `transport` with empty caches, for [`CONFIG`].
fn recursor<T: Transport>(transport: T) -> Recursor<T> {
    let config = config();
    Recursor::new(
        transport,
        RrsetCache::new(1 << 20, ttl_policy(config)),
        Arc::new(Infra::new(config.server.infra_host_ttl)),
        mock::example_hints(),
        config,
    )
}

/// A pipeline over `transport` for [`CONFIG`].
fn pipeline<T: Transport>(transport: T) -> Pipeline<T> {
    Pipeline::new(
        config(),
        MessageCache::new(1 << 20),
        recursor(transport),
        Metrics::new(&crate::server::registry()),
        None,
        None,
        common::shutdown::Shutdown::never(),
    )
}

/// What the pipeline sends back for `wire` over `transport`, if anything.
async fn ask<T: Transport>(
    pipeline: &Pipeline<T>,
    wire: &[u8],
    transport: Proto,
) -> Option<Vec<u8>> {
    let peer: SocketAddr = CLIENT
        .parse()
        .unwrap_or_else(|e| panic!("client address: {e}"));
    let query = Query {
        wire,
        peer,
        local: SocketAddr::from(([127, 0, 0, 1], 53)),
        transport,
        received_at: Instant::now(),
        responder: None,
    };
    let mut out = Vec::new();
    match pipeline.handle(&query, &mut out) {
        Reply::Ready => Some(out),
        Reply::Drop => None,
        Reply::Pending(pending) => pending.await,
        Reply::Detached => panic!("the resolver never detaches (no responder was given)"),
    }
}

/// A reply to `query` over `transport`: the query's ID, QR set, a message
/// that decodes, within the client's UDP limit.
fn check_reply(query: &[u8], transport: Proto, reply: &[u8]) {
    assert!(reply.len() >= 12, "a reply of {} bytes", reply.len());
    assert_eq!(reply[..2], query[..2], "the reply carries another ID");
    assert_ne!(reply[2] & 0x80, 0, "the reply has QR clear");
    if let Err(e) = Message::from_vec(reply) {
        panic!("the reply does not decode: {e}\n{reply:02x?}");
    }
    if transport == Proto::Udp {
        let limit = QueryView::parse(query)
            .ok()
            .and_then(|view| find_opt(query, &view).ok())
            .map_or(512, |opt| {
                udp_reply_limit(opt.as_ref(), config().server.max_udp_size)
            });
        assert!(
            reply.len() <= limit,
            "a UDP reply of {} bytes for a limit of {limit}",
            reply.len()
        );
    }
}

/// Panics when the RRset cache holds a record, of a name outside
/// [`HOSTILE_ZONE`], that the hostile `reply` carried and no honest server
/// of the mock internet serves.
async fn no_foreign_data(rrsets: &RrsetCache, net: &MockTransport, reply: &[u8]) {
    let mut wire = reply.to_vec();
    set_id(&mut wire);
    let Ok(message) = Message::from_vec(&wire) else {
        return;
    };
    let zone = mock::name(HOSTILE_ZONE);
    let now = Instant::now();
    let sections = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals);
    for record in sections {
        if zone.zone_of(&record.name) {
            continue;
        }
        let owner = record.name.to_lowercase();
        let rtype = record.record_type();
        let Some(entry) = rrsets.get(&owner, rtype, Trust::ForeignGlue, now) else {
            continue;
        };
        let honest = honest_records(net, &owner, rtype).await;
        for cached in entry.records_at(now) {
            assert!(
                honest.iter().any(|h| same_data(h, &cached)),
                "out-of-bailiwick data from {HOSTILE_ZONE}'s servers was cached: {cached}"
            );
        }
    }
}

/// Every record the honest servers of the mock internet send when asked
/// (`owner`, `rtype`): answers, referrals and glue.
async fn honest_records(net: &MockTransport, owner: &Name, rtype: RecordType) -> Vec<Record> {
    let options = QueryOptions {
        tcp: false,
        tls_name: None,
        timeout: Duration::from_secs(1),
        edns_payload: Some(1232),
        recursion_desired: false,
        caps: false,
    };
    let question = Question::query(owner.clone(), rtype);
    let mut records = Vec::new();
    for server in [mock::ROOT, mock::TLD, mock::EXAMPLE_NET, mock::GLUELESS] {
        let addr = SocketAddr::new(mock::ip(server), 53);
        if let Ok(reply) = net.exchange(addr, &question, &options).await {
            let message = reply.message;
            records.extend(message.answers);
            records.extend(message.authorities);
            records.extend(message.additionals);
        }
    }
    records
}

/// Same owner, type and data (TTLs aside).
fn same_data(a: &Record, b: &Record) -> bool {
    a.name == b.name && a.record_type() == b.record_type() && a.data == b.data
}

/// Puts [`HOSTILE_ID`] in a reply's ID field (when it has one).
fn set_id(wire: &mut [u8]) {
    if let Some(id) = wire.get_mut(..2) {
        id.copy_from_slice(&HOSTILE_ID.to_be_bytes());
    }
}

/// The mock internet, except that example.com.'s servers answer every query
/// with the fuzzed bytes, through the network transport's own checks.
#[derive(Clone)]
struct Hostile {
    net: MockTransport,
    reply: Arc<[u8]>,
}

impl Hostile {
    fn is_hostile(server: IpAddr) -> bool {
        [mock::EXAMPLE_NS1, mock::EXAMPLE_NS2]
            .iter()
            .any(|s| mock::ip(s) == server)
    }
}

impl Transport for Hostile {
    async fn exchange(
        &self,
        server: SocketAddr,
        query: &Question,
        options: &QueryOptions,
    ) -> Result<Upstream, TransportError> {
        if !Self::is_hostile(server.ip()) {
            return self.net.exchange(server, query, options).await;
        }
        let stream = options.tcp || options.tls_name.is_some();
        let mut wire = self.reply.to_vec();
        set_id(&mut wire);
        match judge(&wire, HOSTILE_ID, query) {
            Verdict::Accept(message) => Ok(Upstream {
                message,
                rtt: Duration::from_millis(1),
                stream,
            }),
            Verdict::Ignore if !stream => Err(TransportError::Timeout(server)),
            Verdict::Ignore | Verdict::Reject => Err(TransportError::Mismatch(server)),
        }
    }
}
