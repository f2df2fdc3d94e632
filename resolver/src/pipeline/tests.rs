//! The pipeline over the mock internet: stage order, cache hits without
//! upstream queries, coalescing, and the answers given by rcode alone.

use std::net::SocketAddr;

use common::frontend::{DnsHandler, Query, Reply, Transport as Proto};
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use metrics::Counter;
use tokio::time::Instant;

use super::Pipeline;
use crate::cache::MessageCache;
use crate::metrics::Metrics;
use crate::ratelimit::ZoneLimiter;
use crate::transport::mock::{
    config, example_internet, name, recursor, MockTransport, EXAMPLE_NS1, EXAMPLE_NS2,
};

/// A client the default access-control allows.
const LOCAL_CLIENT: &str = "127.0.0.1:40000";

/// A pipeline over `net` for the `server:` lines in `text`.
fn pipeline(net: &MockTransport, text: &str) -> Pipeline<MockTransport> {
    let conf = config(text);
    Pipeline::new(
        &conf,
        MessageCache::new(1 << 20),
        recursor(net, &conf),
        Metrics::new(&crate::server::registry()),
        None,
        None,
        common::shutdown::Shutdown::never(),
    )
}

/// A recursive query for `qname`/`qtype` with ID 0x1234.
fn query(qname: &str, qtype: RecordType) -> Message {
    let mut message = Message::new(0x1234, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Question::query(name(qname), qtype));
    message
}

/// What the pipeline did with one query.
#[derive(Debug)]
enum Got {
    /// Answered synchronously (the HOT PATH).
    Now(Message),
    /// Answered after a resolution.
    Later(Message),
    /// Nothing sent.
    Dropped,
}

/// Hands `wire` from `peer` over UDP to `pipeline`; returns its reply (a
/// pending one not yet awaited) and what it wrote.
fn handle(pipeline: &Pipeline<MockTransport>, wire: &[u8], peer: &str) -> (Reply, Vec<u8>) {
    let peer: SocketAddr = peer.parse().unwrap();
    let query = Query {
        wire,
        peer,
        local: "127.0.0.1:53".parse().unwrap(),
        transport: Proto::Udp,
        received_at: Instant::now(),
        responder: None,
    };
    let mut out = Vec::new();
    let reply = pipeline.handle(&query, &mut out);
    (reply, out)
}

/// Awaits what `handle` returned.
async fn outcome((reply, out): (Reply, Vec<u8>)) -> Got {
    match reply {
        Reply::Ready => Got::Now(Message::from_vec(&out).unwrap()),
        Reply::Pending(pending) => Got::Later(Message::from_vec(&pending.await.unwrap()).unwrap()),
        Reply::Drop => Got::Dropped,
        Reply::Detached => panic!("the resolver never detaches"),
    }
}

/// Sends `message` from `peer` and waits for the outcome.
async fn ask(pipeline: &Pipeline<MockTransport>, message: &Message, peer: &str) -> Got {
    outcome(handle(pipeline, &message.to_vec().unwrap(), peer)).await
}

/// The A addresses of a reply.
fn addresses(message: &Message) -> Vec<String> {
    crate::transport::mock::a_texts(&message.answers)
}

/// Unbound's message cache: a miss is resolved upstream and answered later;
/// the same question again is answered at once from the cache (same ID as the
/// query, TTLs patched) with no upstream query at all.
#[tokio::test]
async fn second_identical_query_is_a_cache_hit_without_upstream_queries() {
    let net = example_internet();
    let pipeline = pipeline(&net, "  qname-minimisation: no\n");
    let question = query("www.example.com.", RecordType::A);
    let Got::Later(first) = ask(&pipeline, &question, LOCAL_CLIENT).await else {
        panic!("a cold cache resolves");
    };
    assert_eq!(first.metadata.id, 0x1234);
    assert_eq!(addresses(&first), ["192.0.2.80"]);
    assert_eq!(net.sent().len(), 3);

    net.clear_log();
    let Got::Now(second) = ask(&pipeline, &question, LOCAL_CLIENT).await else {
        panic!("a warm cache answers synchronously");
    };
    assert_eq!(second.metadata.id, 0x1234);
    assert_eq!(addresses(&second), ["192.0.2.80"]);
    assert!(net.sent().is_empty(), "{:?}", net.sent());
}

/// Unbound's order: local data is answered by the local-zone stage, before
/// resolution, even for a name under a zone that exists upstream.
#[tokio::test]
async fn local_data_is_answered_before_resolution() {
    let net = example_internet();
    let pipeline = pipeline(&net, "  local-data: \"printer.example.com. A 192.0.2.9\"\n");
    let question = query("printer.example.com.", RecordType::A);
    let Got::Now(reply) = ask(&pipeline, &question, LOCAL_CLIENT).await else {
        panic!("local data answers synchronously");
    };
    assert_eq!(addresses(&reply), ["192.0.2.9"]);
    assert!(net.sent().is_empty(), "{:?}", net.sent());
}

/// Unbound's mesh: identical questions in flight share one resolution, so a
/// burst for one name costs one set of upstream queries.
#[tokio::test]
async fn identical_concurrent_queries_share_one_upstream_resolution() {
    let net = example_internet();
    let pipeline = pipeline(&net, "  qname-minimisation: no\n");
    let wire = query("www.example.com.", RecordType::A).to_vec().unwrap();
    let pending: Vec<(Reply, Vec<u8>)> = (0..5)
        .map(|_| handle(&pipeline, &wire, LOCAL_CLIENT))
        .collect();
    for handled in pending {
        let Got::Later(reply) = outcome(handled).await else {
            panic!("each waits for the resolution");
        };
        assert_eq!(addresses(&reply), ["192.0.2.80"]);
    }
    assert_eq!(
        net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2),
        1,
        "{:?}",
        net.sent()
    );
}

/// unbound.conf access-control `refuse` (and the default for unlisted
/// clients): REFUSED, and nothing is asked upstream on their behalf.
#[tokio::test]
async fn refused_client_gets_refused_and_causes_no_upstream_query() {
    let net = example_internet();
    let pipeline = pipeline(&net, "  access-control: 192.0.2.0/24 allow\n");
    let question = query("www.example.com.", RecordType::A);
    let Got::Now(reply) = ask(&pipeline, &question, "203.0.113.7:40000").await else {
        panic!("refused clients are answered");
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert_eq!(reply.metadata.id, 0x1234);
    assert!(net.sent().is_empty());
}

/// unbound.conf access-control `deny`: the access stage runs before parsing,
/// so a denied client gets nothing back, not even FORMERR for garbage (which
/// an allowed client does get).
#[tokio::test]
async fn denied_client_gets_no_reply_even_for_a_malformed_query() {
    let net = example_internet();
    let pipeline = pipeline(&net, "  access-control: 203.0.113.0/24 deny\n");
    let no_question = [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    let denied = "203.0.113.7:40000";
    assert!(matches!(
        outcome(handle(&pipeline, &no_question, denied)).await,
        Got::Dropped
    ));
    let question = query("www.example.com.", RecordType::A);
    assert!(matches!(
        ask(&pipeline, &question, denied).await,
        Got::Dropped
    ));
    let Got::Now(reply) = outcome(handle(&pipeline, &no_question, LOCAL_CLIENT)).await else {
        panic!("an allowed client is told");
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    assert!(net.sent().is_empty());
}

/// RFC 1035 §4.1.1 (format error): a query without exactly one question, or
/// with records in its answer section, is answered FORMERR with its ID.
#[tokio::test]
async fn malformed_queries_are_formerr() {
    let net = example_internet();
    let pipeline = pipeline(&net, "");
    let no_question = [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    let Got::Now(reply) = outcome(handle(&pipeline, &no_question, LOCAL_CLIENT)).await else {
        panic!("FORMERR is immediate");
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(reply.metadata.id, 0x1234);

    let mut with_answer = query("www.example.com.", RecordType::A);
    with_answer.add_answer(Record::from_rdata(
        name("www.example.com."),
        60,
        RData::A("192.0.2.1".parse().unwrap()),
    ));
    let Got::Now(reply) = ask(&pipeline, &with_answer, LOCAL_CLIENT).await else {
        panic!("FORMERR is immediate");
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    assert!(net.sent().is_empty());
}

/// RFC 1035 §4.1.1 (not implemented): opcodes other than QUERY get NOTIMP.
#[tokio::test]
async fn other_opcodes_are_notimp() {
    let net = example_internet();
    let pipeline = pipeline(&net, "");
    let mut status = query("www.example.com.", RecordType::A);
    status.metadata.op_code = OpCode::Status;
    let Got::Now(reply) = ask(&pipeline, &status, LOCAL_CLIENT).await else {
        panic!("NOTIMP is immediate");
    };
    assert_eq!(reply.metadata.response_code, ResponseCode::NotImp);
    assert!(net.sent().is_empty());
}

/// `ratelimit`: once a zone's send cap is spent, a new name under it is
/// answered SERVFAIL at once, before any resolution starts, and nothing more
/// is sent to the zone; a name of another zone still resolves, and once the
/// cap's window has passed the zone's names resolve again.
#[tokio::test(start_paused = true)]
async fn a_spent_zone_fails_before_resolution() {
    let net = example_internet();
    let conf = config("  qname-minimisation: no\n  ratelimit: 2\n  ratelimit-factor: 0\n");
    let limiter = ZoneLimiter::new(&conf.server.ratelimit, Counter::noop(), Instant::now());
    let pipeline = Pipeline::new(
        &conf,
        MessageCache::new(1 << 20),
        recursor(&net, &conf).with_zone_ratelimit(limiter),
        Metrics::new(&crate::server::registry()),
        None,
        None,
        common::shutdown::Shutdown::never(),
    );
    let to_example_com =
        |net: &MockTransport| net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2);
    for qname in ["www.example.com.", "n0.example.com."] {
        let got = ask(&pipeline, &query(qname, RecordType::A), LOCAL_CLIENT).await;
        assert!(matches!(got, Got::Later(_)), "{qname}: {got:?}");
    }
    assert_eq!(to_example_com(&net), 2, "{:?}", net.sent());
    for i in 1..6 {
        let got = ask(
            &pipeline,
            &query(&format!("n{i}.example.com."), RecordType::A),
            LOCAL_CLIENT,
        )
        .await;
        let Got::Now(reply) = got else {
            panic!("n{i}: answered at once, got {got:?}");
        };
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    }
    assert_eq!(
        to_example_com(&net),
        2,
        "nothing more was sent: {:?}",
        net.sent()
    );
    let other = ask(
        &pipeline,
        &query("www.example.net.", RecordType::A),
        LOCAL_CLIENT,
    )
    .await;
    let Got::Later(other) = other else {
        panic!("another zone resolves: {other:?}");
    };
    assert_eq!(other.metadata.response_code, ResponseCode::NoError);

    tokio::time::advance(std::time::Duration::from_millis(1200)).await;
    let again = ask(
        &pipeline,
        &query("n9.example.com.", RecordType::A),
        LOCAL_CLIENT,
    )
    .await;
    assert!(matches!(again, Got::Later(_)), "{again:?}");
    assert_eq!(to_example_com(&net), 3, "{:?}", net.sent());
}
