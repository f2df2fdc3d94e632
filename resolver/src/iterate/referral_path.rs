//! `harden-referral-path` (Unbound's iterator.c: the referral is stored only
//! "if we asked for it", and generate_ns_check fetches the NS set of each
//! zone a referral leads to from that zone's own servers). A referral's NS set
//! and glue then serve only the resolution that received it; what the cache
//! keeps for every later query is the child's authoritative NS set (answer
//! trust) and the in-zone addresses it sent with it. A forged or stale
//! referral cannot then steer other queries.
//!
//! Unbound sends the NS check as a detached sub-query; here it is one query
//! (TC/EDNS retries aside) to the new zone's servers, sent beside the
//! iteration's own next query to them (so it costs no round trip), counted
//! against the per-query budget like any other.

use hickory_proto::rr::{Name, RecordType};
use tokio::time::Instant;

use super::ask::Budget;
use super::delegation::DelegationPoint;
use super::shared::Asked;
use super::Recursor;
use crate::error::ResolveError;
use crate::transport::Transport;

impl<T: Transport> Recursor<T> {
    /// Whether a referral to `zone`, received while resolving `name`/`qtype`,
    /// goes into the cache: always, unless harden-referral-path is on; then
    /// only when the question is that zone's NS set.
    pub(super) fn stores_referral(&self, zone: &Name, name: &Name, qtype: RecordType) -> bool {
        !self.options.harden_referral_path || (qtype == RecordType::NS && name == zone)
    }

    /// Asks `dp` for `name`/`ask_type` ([`Self::ask_shared`]) and, at the
    /// same time, the zone `check` (the referral just followed) for its NS set
    /// on a sibling budget sharing the query count. Both finish before the
    /// iteration goes on, so the check is never cut short. `qtype` is the
    /// question being resolved.
    pub(super) async fn ask_beside_referral_check(
        &self,
        dp: &mut DelegationPoint,
        name: &Name,
        ask_type: RecordType,
        budget: &mut Budget<'_>,
        check: DelegationPoint,
        qtype: RecordType,
    ) -> Result<Asked, ResolveError> {
        let mut sibling = budget.sibling();
        let (asked, ()) = tokio::join!(
            self.ask_shared(dp, name, ask_type, budget),
            self.check_referral_path(&check, qtype, &mut sibling)
        );
        asked
    }

    /// Asks the servers of the referral's zone `dp` for its NS set and keeps
    /// their authoritative answer (generate_ns_check). Skipped for DS
    /// questions, which the parent answers ("no need to get the NS record for
    /// DS, it is above the zonecut"). A failure only means nothing is cached.
    pub(super) async fn check_referral_path(
        &self,
        dp: &DelegationPoint,
        qtype: RecordType,
        budget: &mut Budget<'_>,
    ) {
        if qtype == RecordType::DS {
            return;
        }
        let mut check = dp.clone();
        let zone = dp.zone.clone();
        match self
            .ask_zone(&mut check, &zone, RecordType::NS, budget)
            .await
        {
            Ok((mut reply, server)) => {
                self.options.private.scrub(&mut reply);
                tracing::debug!(%zone, %server, "harden-referral-path: NS set fetched from the zone");
                self.keep_child_ns(&reply, &zone, Instant::now());
            }
            Err(error) => {
                tracing::debug!(%zone, %error, "harden-referral-path: NS check failed");
            }
        }
    }
}
