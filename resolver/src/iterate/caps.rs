//! `use-caps-for-id` in the iterator: which queries get 0x20 (not those for
//! names under `caps-exempt`, not those to TLS forwarders, whose channel is
//! authenticated already), and the fallback for servers that do not echo the
//! case (Unbound's caps_fallback in iterator.c).
//!
//! Unbound enters the fallback at the first reply that fails the case check
//! (or after three timeouts): it sends the query again without 0x20 to every
//! server of the zone, up to three replies per address, and takes the answer
//! only when all replies agree (rcode, flags and sections, TTLs aside; error
//! rcodes do not vote); replies that differ are SERVFAIL. Here a reply that
//! fails the check is first a failure of that server: the other servers are
//! asked with 0x20 (a reply that echoes the case needs no vote). Only when
//! every server has failed, one of them by case, or after three timeouts
//! (as in Unbound), does the same fallback run. The mismatched reply itself is not kept as a vote
//! (Unbound keeps it): a spoofer's lucky ID and port cannot then turn the
//! answer into SERVFAIL, and the vote stands on replies asked for afresh.

use std::net::SocketAddr;

use futures_util::stream::{FuturesUnordered, StreamExt};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use super::ask::{Budget, MAX_FAILURES_PER_SERVER};
use super::delegation::DelegationPoint;
use super::shared::Asked;
use super::Recursor;
use crate::error::ResolveError;
use crate::transport::{QueryOptions, Transport};

/// Matching replies wanted per server address in the fallback (Unbound:
/// `naddr*3`, the mismatched reply counting as one).
const REPLIES_PER_SERVER: usize = 3;

/// At most this many fallback replies in all (Unbound stops at half of
/// max-sent-count, 32).
const MAX_FALLBACK_REPLIES: usize = 15;

/// Timeouts in a query to a zone after which 0x20 may be what the servers
/// choke on (Unbound: `timeout_count >= 3`).
const FALLBACK_AFTER_TIMEOUTS: u32 = 3;

impl<T: Transport> Recursor<T> {
    /// Asks the servers of `dp` for `name`/`qtype` ([`Self::ask_servers`]),
    /// with 0x20 where configured and the fallback when it fails.
    pub(super) async fn ask_zone(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<Asked, ResolveError> {
        let caps = self.uses_caps(name);
        if !caps {
            return self.ask_servers(dp, name, qtype, budget, false).await;
        }
        let timeouts_before = dp.timeouts();
        match self.ask_servers(dp, name, qtype, budget, true).await {
            Err(ResolveError::AllServersFailed { .. })
                if !dp.caps_failed.is_empty() || Self::caps_timed_out(dp, timeouts_before) =>
            {
                tracing::debug!(zone = %dp.zone, %name, "0x20 failed; asking without it and comparing");
                self.caps_fallback(dp, name, qtype, budget).await
            }
            other => other,
        }
    }

    /// Whether the queries with 0x20 to `dp` have timed out often enough
    /// since `before` (its timeout count then) to try without it: servers or
    /// middleboxes that drop mixed-case queries (Unbound: "Capsforid:
    /// timeouts, starting fallback"). The query in flight is abandoned.
    pub(super) fn caps_timed_out(dp: &DelegationPoint, before: u32) -> bool {
        dp.timeouts().saturating_sub(before) >= FALLBACK_AFTER_TIMEOUTS
    }

    /// Whether queries for `name` get 0x20 (`use-caps-for-id`, not under a
    /// `caps-exempt` name).
    fn uses_caps(&self, name: &Name) -> bool {
        self.options.use_caps_for_id
            && !self
                .options
                .caps_exempt
                .iter()
                .any(|exempt| exempt.zone_of(name))
    }

    /// `options` with 0x20 on when `caps` asks for it, except over TLS.
    pub(super) fn with_caps(mut options: QueryOptions, caps: bool) -> QueryOptions {
        options.caps = caps && options.tls_name.is_none();
        options
    }

    /// Unbound's caps_fallback: the question again without 0x20 to each
    /// server of `dp` (round after round, those that answered), until
    /// REPLIES_PER_SERVER replies per server agree or no server or budget is
    /// left. Agreement is the answer; disagreement is SERVFAIL.
    async fn caps_fallback(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) -> Result<Asked, ResolveError> {
        let mut query = Query::query(name.clone(), qtype);
        query.set_query_class(DNSClass::IN);
        let mut live: Vec<SocketAddr> = dp
            .addrs
            .iter()
            .copied()
            .filter(|a| self.may_query(a.ip()))
            .filter(|a| dp.caps_failed.contains(a) || dp.failures_of(*a) < MAX_FAILURES_PER_SERVER)
            .collect();
        // The first matching reply counts as one (the mismatched one in Unbound).
        let wanted = (live.len() * REPLIES_PER_SERVER)
            .saturating_sub(1)
            .clamp(1, MAX_FALLBACK_REPLIES);
        let mut vote = Vote::default();
        while vote.matched < wanted && !live.is_empty() {
            let mut pending = FuturesUnordered::new();
            for &server in live.iter().take(wanted - vote.matched) {
                if !budget.spend_query(self.options.limits.max_upstream_queries) {
                    break;
                }
                let options = Self::with_caps(self.options_for(dp, server), false);
                let asked = &query;
                pending.push(async move {
                    let result = self.transport.exchange(server, asked, &options).await;
                    (server, options, result)
                });
            }
            if pending.is_empty() {
                break;
            }
            let mut answered = Vec::with_capacity(live.len());
            while let Some(done) = pending.next().await {
                let Some((message, server)) =
                    self.settle(dp, &mut Vec::new(), done, &query, budget).await
                else {
                    continue;
                };
                answered.push(server);
                if !vote.add(message, server) {
                    tracing::debug!(zone = %dp.zone, %name, "0x20 fallback: replies differ");
                    return Err(ResolveError::CapsFallbackDiffers {
                        zone: dp.zone.to_string(),
                    });
                }
            }
            live.retain(|s| answered.contains(s));
        }
        vote.decided()
            .ok_or_else(|| ResolveError::AllServersFailed {
                zone: dp.zone.to_string(),
            })
    }
}

/// The replies of a 0x20 fallback so far.
#[derive(Default)]
struct Vote {
    /// The first NOERROR/NXDOMAIN reply, which all others must equal.
    agreed: Option<Asked>,
    /// The first error reply, taken only when no other came.
    failed: Option<Asked>,
    /// Replies that voted (NOERROR/NXDOMAIN and equal).
    matched: usize,
}

impl Vote {
    /// Counts `message` from `server`; false when it differs from the replies
    /// before it. Error rcodes do not vote (caps_failed_rcode).
    fn add(&mut self, message: Message, server: SocketAddr) -> bool {
        if !matches!(
            message.metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        ) {
            self.failed.get_or_insert((message, server));
            return true;
        }
        match &self.agreed {
            Some((first, _)) if !same_reply(first, &message) => false,
            Some(_) => {
                self.matched += 1;
                true
            }
            None => {
                self.agreed = Some((message, server));
                self.matched += 1;
                true
            }
        }
    }

    /// The answer the vote gives, if any reply came.
    fn decided(self) -> Option<Asked> {
        self.agreed.or(self.failed)
    }
}

/// Unbound's reply_equal after caps_strip_reply: the same rcode and flags,
/// and the same records (TTLs aside, any order) in each section; an
/// authoritative reply is compared without its additional section and NS
/// records in its authority section (what middleboxes alter).
pub(super) fn same_reply(a: &Message, b: &Message) -> bool {
    let (ma, mb) = (&a.metadata, &b.metadata);
    if ma.response_code != mb.response_code
        || ma.authoritative != mb.authoritative
        || ma.truncation != mb.truncation
        || ma.recursion_available != mb.recursion_available
    {
        return false;
    }
    let strip = ma.authoritative;
    let authority = |m: &Message| -> Vec<RecordKey> {
        keys(
            m.authorities
                .iter()
                .filter(|r| !strip || r.record_type() != RecordType::NS),
        )
    };
    let additional = |m: &Message| -> Vec<RecordKey> {
        if strip {
            Vec::new()
        } else {
            keys(m.additionals.iter())
        }
    };
    keys(a.answers.iter()) == keys(b.answers.iter())
        && authority(a) == authority(b)
        && additional(a) == additional(b)
}

/// A record as compared: owner (lowercase), type, class and RDATA wire.
type RecordKey = (String, u16, u16, Vec<u8>);

/// The sorted comparison keys of `records`.
fn keys<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<RecordKey> {
    let mut keys: Vec<RecordKey> = records
        .map(|r| {
            (
                r.name.to_lowercase().to_ascii(),
                u16::from(r.record_type()),
                u16::from(r.dns_class),
                r.data.to_bytes().unwrap_or_default(),
            )
        })
        .collect();
    keys.sort();
    keys
}
