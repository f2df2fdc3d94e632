//! Negative answers without an SOA (issue 17): an empty NOERROR is answered
//! NOERROR and kept in the message cache for Unbound's NORR_TTL (5 s), not
//! turned into SERVFAIL and not left uncached.

use common::frontend::{DnsHandler, Query, Reply, Transport as Proto};
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::time::Instant;

use super::{Pipeline, NORR_TTL};
use crate::cache::MessageCache;
use crate::iterate::Answer;
use crate::metrics::Metrics;
use crate::transport::mock::{
    config, example_internet, name, recursor, Behaviour, MockTransport, EXAMPLE_NS1, EXAMPLE_NS2,
};
use crate::validator::Security;

fn pipeline(net: &MockTransport) -> Pipeline<MockTransport> {
    let conf = config("  qname-minimisation: no\n");
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

/// Asks `pipeline` for `qname`/`qtype` from a local client: the reply, and
/// whether it came at once (from the cache).
async fn ask(
    pipeline: &Pipeline<MockTransport>,
    qname: &str,
    qtype: RecordType,
) -> (Message, bool) {
    let mut message = Message::new(0x4242, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Question::query(name(qname), qtype));
    let wire = message.to_vec().unwrap();
    let query = Query {
        wire: &wire,
        peer: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:53".parse().unwrap(),
        transport: Proto::Udp,
        received_at: Instant::now(),
        responder: None,
    };
    let mut out = Vec::new();
    match pipeline.handle(&query, &mut out) {
        Reply::Ready => (Message::from_vec(&out).unwrap(), true),
        Reply::Pending(pending) => (Message::from_vec(&pending.await.unwrap()).unwrap(), false),
        _ => panic!("the pipeline sent nothing"),
    }
}

/// Every section empty, no AA, no SOA.
fn empty_noerror(_query: &hickory_proto::op::Query, mut reply: Message) -> Option<Message> {
    reply.metadata.authoritative = false;
    reply.answers.clear();
    reply.authorities.clear();
    reply.additionals.clear();
    Some(reply)
}

/// Both servers of example.com. answer empty: the client gets NOERROR with
/// no data, and the same question again is a cache hit with no upstream query.
#[tokio::test]
async fn empty_noerror_is_answered_nodata_and_cached() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(empty_noerror));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(empty_noerror));
    let pipeline = pipeline(&net);
    let (first, cached) = ask(&pipeline, "www.example.com.", RecordType::A).await;
    assert!(!cached);
    assert_eq!(first.metadata.response_code, ResponseCode::NoError);
    assert!(
        first.answers.is_empty() && first.authorities.is_empty(),
        "{first:?}"
    );

    net.clear_log();
    let (second, cached) = ask(&pipeline, "www.example.com.", RecordType::A).await;
    assert!(cached, "a NODATA without SOA is cached");
    assert_eq!(second.metadata.response_code, ResponseCode::NoError);
    assert!(net.sent().is_empty(), "{:?}", net.sent());
}

/// msgreply.c: a message with no records lives NORR_TTL (5 s); a negative
/// answer without SOA whose chain records say less lives that long.
#[tokio::test]
async fn negative_answers_without_soa_live_norr_ttl() {
    let net = example_internet();
    let pipeline = pipeline(&net);
    let engine = pipeline.engine.load();
    let qname = name("www.example.com.");
    let now = Instant::now();
    let lifetime = |answer: Answer| {
        engine
            .cache_entry(&qname, RecordType::A, &answer, Security::Unchecked, now)
            .map(|(entry, ttl)| (entry.ttl(), ttl))
    };
    let empty = |rcode| Answer {
        rcode,
        answers: Vec::new(),
        authorities: Vec::new(),
    };
    assert_eq!(
        lifetime(empty(ResponseCode::NoError)),
        Some((NORR_TTL, NORR_TTL))
    );
    assert_eq!(
        lifetime(empty(ResponseCode::NXDomain)),
        Some((NORR_TTL, NORR_TTL))
    );
    let chain = |ttl| Answer {
        rcode: ResponseCode::NoError,
        answers: vec![Record::from_rdata(
            qname.clone(),
            ttl,
            RData::CNAME(CNAME(name("www.example.net."))),
        )],
        authorities: Vec::new(),
    };
    assert_eq!(lifetime(chain(300)), Some((NORR_TTL, NORR_TTL)));
    assert_eq!(lifetime(chain(2)), Some((2, 2)));
}
