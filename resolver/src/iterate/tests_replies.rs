//! Odd replies against the mock internet (issue 17): authoritative upward
//! referrals, records of another type than asked, empty NOERROR without SOA,
//! and replies to another question or none, each asserted on the answer and on
//! the servers asked, as Unbound's iter_resptype.c and iter_scrub.c judge them.

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::{AAAA, NS, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Answer, Recursor};
use crate::error::ResolveError;
use crate::transport::mock::{
    a_addresses as addresses, example_internet, name, plain, prefer_ns1, Behaviour, MockTransport,
    EXAMPLE_NET, EXAMPLE_NS1, EXAMPLE_NS2,
};

async fn resolve(
    recursor: &Recursor<MockTransport>,
    qname: &str,
    qtype: RecordType,
) -> Result<Answer, ResolveError> {
    recursor.resolve(&name(qname), qtype).await
}

/// Queries either example.com. server received.
fn example_com_queries(net: &MockTransport) -> usize {
    net.queries_to(EXAMPLE_NS1) + net.queries_to(EXAMPLE_NS2)
}

/// An authoritative (AA) reply with no answer and no SOA whose authority
/// section points at the root: `. NS a.root-servers.net.`.
fn aa_referral_to_root(_query: &Query, mut reply: Message) -> Option<Message> {
    reply.answers.clear();
    reply.authorities = vec![Record::from_rdata(
        Name::root(),
        86400,
        RData::NS(NS(name("a.root-servers.net."))),
    )];
    reply.additionals.clear();
    reply.metadata.authoritative = true;
    Some(reply)
}

/// The same, pointing at the parent zone (`com. NS a.gtld-servers.net.`).
fn aa_referral_to_parent(_query: &Query, mut reply: Message) -> Option<Message> {
    reply.answers.clear();
    reply.authorities = vec![Record::from_rdata(
        name("com."),
        172800,
        RData::NS(NS(name("a.gtld-servers.net."))),
    )];
    reply.additionals.clear();
    reply.metadata.authoritative = true;
    Some(reply)
}

/// Records of other types than asked for the name asked (AAAA and TXT),
/// added to whatever the server answers.
fn stray(query: &Query) -> Vec<Record> {
    let owner = query.name().clone();
    vec![
        Record::from_rdata(
            owner.clone(),
            300,
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66)),
        ),
        Record::from_rdata(owner, 300, RData::TXT(TXT::new(vec!["stray".into()]))),
    ]
}

/// For www.example.com. A: only stray records (AA, no SOA); other questions
/// are answered as usual.
fn only_stray_for_www(query: &Query, mut reply: Message) -> Option<Message> {
    if query.name() == &name("www.example.com.") && query.query_type() == RecordType::A {
        reply.answers = stray(query);
        reply.authorities.clear();
        reply.additionals.clear();
    }
    Some(reply)
}

/// The real answer with stray records around it.
fn answer_with_stray(query: &Query, mut reply: Message) -> Option<Message> {
    let mut answers = stray(query);
    answers.append(&mut reply.answers);
    answers.extend(stray(query));
    reply.answers = answers;
    Some(reply)
}

/// NOERROR with every section empty, AA unset (no SOA to cache it by).
fn empty_noerror(_query: &Query, mut reply: Message) -> Option<Message> {
    reply.metadata.response_code = ResponseCode::NoError;
    reply.metadata.authoritative = false;
    reply.answers.clear();
    reply.authorities.clear();
    reply.additionals.clear();
    Some(reply)
}

/// The answer, with the question section left out.
fn no_question(_query: &Query, mut reply: Message) -> Option<Message> {
    reply.queries.clear();
    Some(reply)
}

/// The answer, to another question.
fn other_question(query: &Query, mut reply: Message) -> Option<Message> {
    reply.queries = vec![Query::query(name("other.example.com."), query.query_type())];
    Some(reply)
}

/// The answer under another ID (a spoofer's guess).
fn wrong_id(_query: &Query, mut reply: Message) -> Option<Message> {
    reply.metadata.id = reply.metadata.id.wrapping_add(1);
    Some(reply)
}

/// iter_resptype.c RESPONSE_TYPE_LAME: an authoritative reply that sends us
/// back to the root is lame, AA or not; the next server is asked and answers,
/// and the lame one is not asked again for the zone.
#[tokio::test]
async fn authoritative_upward_referral_is_lame_and_the_next_server_answers() {
    for rewrite in [aa_referral_to_root, aa_referral_to_parent] {
        let net = example_internet();
        net.behave(EXAMPLE_NS1, Behaviour::Rewrite(rewrite));
        let recursor = plain(&net);
        prefer_ns1(&recursor);
        let answer = resolve(&recursor, "www.example.com.", RecordType::A)
            .await
            .unwrap();
        assert_eq!(addresses(&answer), ["192.0.2.80"]);
        assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "{:?}", net.sent());
        assert_eq!(net.queries_to(EXAMPLE_NS2), 1, "{:?}", net.sent());

        net.clear_log();
        let answer = resolve(&recursor, "deep.www.example.com.", RecordType::A)
            .await
            .unwrap();
        assert_eq!(addresses(&answer), ["192.0.2.81"]);
        assert_eq!(net.queries_to(EXAMPLE_NS1), 0, "{:?}", net.sent());
    }
}

/// iter_scrub.c scrub_normalize: answer records of another type than asked
/// are dropped; with nothing left the reply is NODATA (after a second server
/// says the same), not a lame server: the same servers then answer other
/// names.
#[tokio::test]
async fn stray_records_are_dropped_and_leave_nodata_not_a_lame_server() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(only_stray_for_www));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(only_stray_for_www));
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert!(answer.answers.is_empty(), "{answer:?}");
    assert!(answer.authorities.is_empty(), "{answer:?}");
    assert_eq!(example_com_queries(&net), 2, "{:?}", net.sent());

    net.clear_log();
    let answer = resolve(&recursor, "deep.www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.81"]);
    assert_eq!(example_com_queries(&net), 1, "{:?}", net.sent());
}

/// Stray records beside the real answer are dropped; the answer stands.
#[tokio::test]
async fn stray_records_beside_the_answer_are_dropped() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(answer_with_stray));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(answer_with_stray));
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    let types: Vec<RecordType> = answer.answers.iter().map(Record::record_type).collect();
    assert_eq!(types, [RecordType::A]);
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    assert_eq!(example_com_queries(&net), 1, "{:?}", net.sent());
}

/// Unbound's EMPTY_NODATA_RETRY_COUNT: an entirely empty NOERROR without SOA
/// sends us to another server first; that one's answer is taken.
#[tokio::test]
async fn empty_noerror_sends_us_to_another_server_first() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(empty_noerror));
    let recursor = plain(&net);
    prefer_ns1(&recursor);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(addresses(&answer), ["192.0.2.80"]);
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "{:?}", net.sent());
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1, "{:?}", net.sent());
}

/// The second empty NOERROR is accepted as NODATA (not SERVFAIL, not lame):
/// from the other server of the zone, or, for a zone of one server, from the
/// same server asked again.
#[tokio::test]
async fn second_empty_noerror_is_nodata() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(empty_noerror));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(empty_noerror));
    net.behave(EXAMPLE_NET, Behaviour::Rewrite(empty_noerror));
    let recursor = plain(&net);
    let answer = resolve(&recursor, "www.example.com.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert!(answer.answers.is_empty() && answer.authorities.is_empty());
    assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "{:?}", net.sent());
    assert_eq!(net.queries_to(EXAMPLE_NS2), 1, "{:?}", net.sent());

    let answer = resolve(&recursor, "www.example.net.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert!(answer.answers.is_empty());
    assert_eq!(net.queries_to(EXAMPLE_NET), 2, "{:?}", net.sent());
}

/// RFC 5452 §9.1 / Unbound's scrub_message: a reply with our ID but no
/// question, or another question, is rejected at once and the next server
/// asked; the rejecting server is not asked again (a timeout would be retried).
#[tokio::test]
async fn reply_without_or_with_another_question_moves_on_at_once() {
    for rewrite in [no_question, other_question] {
        let net = example_internet();
        net.behave(EXAMPLE_NS1, Behaviour::Rewrite(rewrite));
        let recursor = plain(&net);
        prefer_ns1(&recursor);
        let answer = resolve(&recursor, "www.example.com.", RecordType::A)
            .await
            .unwrap();
        assert_eq!(addresses(&answer), ["192.0.2.80"]);
        assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "{:?}", net.sent());

        net.behave(EXAMPLE_NS2, Behaviour::Rewrite(rewrite));
        net.clear_log();
        let failed = resolve(&recursor, "deep.www.example.com.", RecordType::A).await;
        assert!(failed.is_err(), "{failed:?}");
        assert_eq!(net.queries_to(EXAMPLE_NS1), 1, "{:?}", net.sent());
        assert_eq!(net.queries_to(EXAMPLE_NS2), 1, "{:?}", net.sent());
    }
}

/// A reply with another ID is ignored like silence (spoofing defence): the
/// wait ends in a timeout, after which the server may be asked again.
#[tokio::test]
async fn reply_with_another_id_is_ignored_like_silence() {
    let net = example_internet();
    net.behave(EXAMPLE_NS1, Behaviour::Rewrite(wrong_id));
    net.behave(EXAMPLE_NS2, Behaviour::Rewrite(wrong_id));
    let recursor = plain(&net);
    let failed = resolve(&recursor, "www.example.com.", RecordType::A).await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(net.queries_to(EXAMPLE_NS1) > 1, "{:?}", net.sent());
    assert!(net.queries_to(EXAMPLE_NS2) > 1, "{:?}", net.sent());
}
