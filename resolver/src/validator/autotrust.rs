//! RFC 5011 tracking of `auto-trust-anchor-file:` trust points, as Unbound's
//! `validator/autotrust.c` does it: the same state table (START, ADDPEND,
//! VALID, MISSING, REVOKED, REMOVED), hold-down timers, pending count, probe
//! intervals and file format, so Unbound reads our file and we read its.
//!
//! [`TrustPoint`] is the pure logic: every method takes `now` (Unix seconds)
//! and, where Unbound draws a random number, a `jitter` value; nothing here
//! reads a clock. [`write_atomically`] and [`AutoTrust`] are the edge: the
//! runtime owner the validator calls after each DNSKEY fetch of a tracked zone,
//! which writes the file back when it can and, when it cannot (a read-only
//! ConfigMap mount), logs once per file and keeps the state in memory.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use data_encoding::{BASE64, HEXUPPER};
use hickory_proto::rr::Name;
use tracing::{info, warn};

use super::anchor::{
    parse_anchor_text, AnchorError, AnchorRecord, AnchorSet, KeyState, ZoneAnchor,
};
use super::crypto;
use super::records::{Dnskey, Ds, FLAG_REVOKE, FLAG_SEP};
use crate::config::{AutotrustTimers, ValidationConfig};

/// Unbound's `MIN_PENDINGCOUNT`: times a new key must be seen before the
/// add hold-down can make it VALID.
const MIN_PENDING_COUNT: u8 = 2;
/// Unbound caps the pending count at 250 ("no numerical overflow, please").
const MAX_PENDING_COUNT: u8 = 250;
/// RFC 5011 §2.3: the active refresh interval is at most 15 days.
const MAX_QUERY_INTERVAL: u64 = 15 * 86400;
/// RFC 5011 §2.3: the retry interval is at most one day.
const MAX_RETRY_TIME: u64 = 86400;
/// RFC 5011 §2.3: neither interval is shorter than one hour (unless
/// `permit-small-holddown`).
const MIN_INTERVAL: u64 = 3600;
/// The TTL Unbound's record parser gives a record written without one.
const DEFAULT_TTL: u32 = 3600;

/// Why an autotrust file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AutotrustError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of the file is wrong.
    #[error("{}:{line}: {kind}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line where the record or header line starts.
        line: usize,
        /// What is wrong.
        kind: ParseErrorKind,
    },
    /// The file holds no DS or DNSKEY record and is not a `;;REVOKED` file.
    #[error("{}: no DS or DNSKEY record", path.display())]
    NoKeys {
        /// The file.
        path: PathBuf,
    },
}

/// What is wrong with one line of an autotrust file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// `;;id:` without a valid `name class`.
    #[error("bad ;;id: line (want `;;id: name class`)")]
    BadId,
    /// A `;;last_queried:`-style header line before `;;id:`.
    #[error("header variable before the ;;id: line")]
    VariableBeforeId,
    /// `;;REVOKED` after the `;;id:` line (Unbound: "must be at start of file").
    #[error(";;REVOKED must be at the start of the file")]
    RevokedNotFirst,
    /// Parentheses do not balance.
    #[error("unbalanced parentheses")]
    Parentheses,
    /// The record itself is malformed.
    #[error("{0}")]
    Record(AnchorError),
    /// A record for another zone (a file holds one trust point).
    #[error("record for {0}, but the file is for another zone")]
    OtherZone(Name),
}

/// One DNSKEY tracked by RFC 5011, with Unbound's per-key annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedKey {
    /// The key; once REVOKED it carries the REVOKE bit (Unbound's `revoke_dnskey`).
    pub key: Dnskey,
    /// The TTL it was read or seen with (written back).
    pub ttl: u32,
    /// Its RFC 5011 state.
    pub state: KeyState,
    /// `;;count=`: how many probes saw it while ADDPEND.
    pub pending_count: u8,
    /// `;;lastchange=`: when the state last changed (0: configured, never seen).
    pub last_change: u64,
}

impl TrackedKey {
    fn is_sep(&self) -> bool {
        self.key.flags & FLAG_SEP != 0
    }
}

/// One DNSKEY RRset of a tracked zone, as the validator fetched it.
#[derive(Clone, Copy, Debug)]
pub struct DnskeyProbe<'a> {
    /// Every DNSKEY of the RRset, revoked ones included.
    pub keys: &'a [Dnskey],
    /// The RRset's TTL as received (Unbound's `key_ttl`).
    pub ttl: u32,
    /// The expiration fields of the RRSIGs over the RRset (Unbound's `min_expiry`).
    pub sig_expirations: &'a [u32],
    /// Keys of `keys` with the REVOKE bit whose own RRSIG verifies the RRset
    /// (RFC 5011 §2.1; Unbound's `rr_is_selfsigned_revoked`). They need no
    /// other trust: the owner of a key may always revoke it.
    pub revoked_self_signed: &'a [Dnskey],
    /// Whether the RRset verified with the keys [`TrustPoint::trusted`] gave
    /// (Unbound's `verify_dnskey`). Revocations are applied either way.
    pub verified: bool,
}

/// Transient per-probe events of a key (Unbound's `fetched`, `revoked`).
#[derive(Clone, Copy, Default)]
struct Events {
    fetched: bool,
    revoked: bool,
}

/// A DS anchor of a file given as a DS (dropped after the first good probe).
#[derive(Clone, Debug, PartialEq, Eq)]
struct DsAnchor {
    ds: Ds,
    ttl: u32,
}

/// One RFC 5011 trust point: the tracked keys of one zone and Unbound's
/// `;;` header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPoint {
    zone: Name,
    class: u16,
    keys: Vec<TrackedKey>,
    ds: Vec<DsAnchor>,
    last_queried: u64,
    last_success: u64,
    next_probe_time: u64,
    query_failed: u8,
    query_interval: u64,
    retry_time: u64,
    revoked: bool,
}

impl TrustPoint {
    /// Reads an autotrust file, or a plain DS/DNSKEY file such as Debian's
    /// `/usr/share/dns/root.key` (Unbound's `autr_read_file`): plain keys
    /// start VALID with `lastchange=0`; DS records are trusted until the first
    /// good probe, which makes the DNSKEYs they match VALID at once and drops
    /// the DS (Unbound's `update_events` and `autr_cleanup_keys`).
    pub fn read(path: &Path) -> Result<Self, AutotrustError> {
        let text = fs::read_to_string(path).map_err(|source| AutotrustError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of an autotrust file; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, AutotrustError> {
        let fail = |line: usize, kind: ParseErrorKind| AutotrustError::Parse {
            path: path.to_path_buf(),
            line,
            kind,
        };
        let mut point: Option<TrustPoint> = None;
        let mut revoked = false;
        let mut header_seen = false;
        for (line_no, line) in
            logical_lines(text).map_err(|line| fail(line, ParseErrorKind::Parentheses))?
        {
            if let Some(rest) = line.strip_prefix(";;id: ") {
                let id = parse_id(rest).ok_or_else(|| fail(line_no, ParseErrorKind::BadId))?;
                point = Some(TrustPoint::new(id.0, id.1, revoked));
                header_seen = true;
                continue;
            }
            if line.starts_with(";;REVOKED") {
                if point.is_some() {
                    return Err(fail(line_no, ParseErrorKind::RevokedNotFirst));
                }
                revoked = true;
                continue;
            }
            if let Some((field, value)) = header_variable(&line) {
                let tp = point
                    .as_mut()
                    .ok_or_else(|| fail(line_no, ParseErrorKind::VariableBeforeId))?;
                match field {
                    Header::LastQueried => tp.last_queried = value,
                    Header::LastSuccess => tp.last_success = value,
                    Header::NextProbeTime => tp.next_probe_time = value,
                    Header::QueryFailed => tp.query_failed = u8::try_from(value).unwrap_or(u8::MAX),
                    Header::QueryInterval => tp.query_interval = value,
                    Header::RetryTime => tp.retry_time = value,
                }
                continue;
            }
            let records = parse_anchor_text(&line).map_err(|mut e| {
                e.line = line_no;
                fail(line_no, ParseErrorKind::Record(e))
            })?;
            let Some(record) = records.into_iter().next() else {
                continue; // blank, comment, $ directive or another type
            };
            let comment = line.find(';').map_or("", |at| &line[at..]);
            let annotation = parse_annotation(comment);
            if header_seen && annotation.state.is_none() {
                // Unbound: "trust anchor in state file has no ;;state= annotation, ignoring".
                warn!(file = %path.display(), line = line_no, "autotrust key without ;;state=, ignored");
                continue;
            }
            let owner = record.owner.to_lowercase();
            let tp = point.get_or_insert_with(|| TrustPoint::new(owner.clone(), 1, revoked));
            if tp.zone != owner {
                return Err(fail(line_no, ParseErrorKind::OtherZone(record.owner)));
            }
            let ttl = record_ttl(&line);
            match record.record {
                AnchorRecord::Ds(ds) => tp.ds.push(DsAnchor { ds, ttl }),
                AnchorRecord::Dnskey(key, _) => tp.keys.push(TrackedKey {
                    key,
                    ttl,
                    state: annotation.state.unwrap_or(KeyState::Valid),
                    pending_count: annotation.count,
                    last_change: annotation.last_change,
                }),
            }
        }
        match point {
            Some(tp) if tp.revoked || !tp.keys.is_empty() || !tp.ds.is_empty() => Ok(tp),
            _ => Err(AutotrustError::NoKeys {
                path: path.to_path_buf(),
            }),
        }
    }

    fn new(zone: Name, class: u16, revoked: bool) -> Self {
        Self {
            zone,
            class,
            keys: Vec::new(),
            ds: Vec::new(),
            last_queried: 0,
            last_success: 0,
            next_probe_time: 0,
            query_failed: 0,
            query_interval: 0,
            retry_time: 0,
            revoked,
        }
    }

    /// The zone this trust point anchors.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The tracked keys, in file order (new keys first, as Unbound adds them).
    pub fn keys(&self) -> &[TrackedKey] {
        &self.keys
    }

    /// Whether every key was revoked: Unbound then deletes the trust point and
    /// writes a `;;REVOKED` file, and the zone has no anchor of its own.
    pub fn is_revoked(&self) -> bool {
        self.revoked
    }

    /// The anchors trusted now (RFC 5011 §4: VALID and MISSING keys, ZSK
    /// anchors a file configured included) and the DS anchors while a DS-only
    /// file is still in use (Unbound's `autr_assemble`). Empty when the trust
    /// point is revoked: remove the zone's anchors ([`AnchorSet::replace_zone`]).
    pub fn trusted(&self) -> ZoneAnchor {
        if self.revoked {
            return ZoneAnchor::default();
        }
        ZoneAnchor {
            ds: self.ds.iter().map(|d| d.ds.clone()).collect(),
            keys: self
                .keys
                .iter()
                .filter(|k| k.state.is_trusted())
                .map(|k| k.key.clone())
                .collect(),
        }
    }

    /// Applies one DNSKEY RRset of the zone fetched at `now` (Unbound's
    /// `autr_process_prime`): time alone may end an add hold-down; self-signed
    /// revoked keys become REVOKED even if the set does not verify; a set that
    /// does not verify counts as a failed query; a verified set runs the RFC
    /// 5011 §4 state table for every SEP key and sets the probe intervals
    /// (§2.3). `jitter` is a random number: the next probe is due 90-100% of the
    /// query interval ahead (Unbound's `calc_next_probe`). Returns whether the
    /// state changed in a way Unbound would write to the file.
    pub fn update(
        &mut self,
        probe: &DnskeyProbe<'_>,
        timers: &AutotrustTimers,
        now: u64,
        jitter: u64,
    ) -> bool {
        if self.revoked {
            return false;
        }
        let mut changed = false;
        self.last_queried = now;
        self.holddown_exceed(timers, now, &mut changed);
        let mut events = vec![Events::default(); self.keys.len()];
        self.check_contains_revoked(probe, &mut events, now, &mut changed);
        if changed && !self.has_trusted() {
            self.last_success = now;
            self.revoke_point();
            return true;
        }
        if !probe.verified {
            // Unbound counts a failure only after a first success (a DS-only
            // point must not be written in the DNSKEY-only format before then).
            self.next_probe_time = calc_next_probe(self.retry_time, timers, now, jitter);
            if self.last_success != 0 {
                self.query_failed = self.query_failed.saturating_add(1);
                return true;
            }
            return changed;
        }
        self.last_success = now;
        self.query_failed = 0;
        self.update_events(probe, &mut events, timers, now, &mut changed);
        self.do_statetable(&events, timers, now, &mut changed);
        self.cleanup_keys();
        self.next_probe_time = calc_next_probe(self.query_interval, timers, now, jitter);
        if changed && !self.has_trusted() {
            self.revoke_point();
        }
        changed
    }

    /// Records a probe that got no DNSKEY RRset at all (timeout, SERVFAIL):
    /// the next probe is a retry (RFC 5011 §2.3), and time alone may end an add
    /// hold-down. Like Unbound, `;;query_failed:` is not counted and nothing is
    /// written; returns whether the trusted keys changed.
    pub fn probe_failed(&mut self, timers: &AutotrustTimers, now: u64, jitter: u64) -> bool {
        if self.revoked {
            return false;
        }
        let mut changed = false;
        self.last_queried = now;
        self.holddown_exceed(timers, now, &mut changed);
        self.next_probe_time = calc_next_probe(self.retry_time, timers, now, jitter);
        changed
    }

    /// When the next probe is due (Unix seconds; 0: at once, as after reading
    /// a plain key file); None once the trust point is revoked.
    pub fn next_probe(&self) -> Option<u64> {
        (!self.revoked).then_some(self.next_probe_time)
    }

    /// The file text in Unbound's format (`autr_write_contents`): header,
    /// `;;` variables with `ctime` comments (UTC), then one line per DNSKEY
    /// except START and REMOVED keys. DS anchors, which Unbound never writes
    /// because its first write follows the probe that drops them, are written
    /// with a `;;state=` annotation, which Unbound's reader accepts.
    pub fn to_text(&self) -> String {
        let mut out = String::from("; autotrust trust anchor file\n");
        if self.revoked {
            out.push_str(
                ";;REVOKED\n\
                 ; The zone has all keys revoked, and is\n\
                 ; considered as if it has no trust anchors.\n\
                 ; the remainder of the file is the last probe.\n\
                 ; to restart the trust anchor, overwrite this file.\n\
                 ; with one containing valid DNSKEYs or DSes.\n",
            );
        }
        let _ = writeln!(out, ";;id: {} {}", self.zone, self.class);
        let _ = write!(
            out,
            ";;last_queried: {} ;;{}",
            self.last_queried,
            ctime(self.last_queried)
        );
        let _ = write!(
            out,
            ";;last_success: {} ;;{}",
            self.last_success,
            ctime(self.last_success)
        );
        let _ = write!(
            out,
            ";;next_probe_time: {} ;;{}",
            self.next_probe_time,
            ctime(self.next_probe_time)
        );
        let _ = writeln!(out, ";;query_failed: {}", self.query_failed);
        let _ = writeln!(out, ";;query_interval: {}", self.query_interval);
        let _ = writeln!(out, ";;retry_time: {}", self.retry_time);
        for key in &self.keys {
            if matches!(key.state, KeyState::Start | KeyState::Removed) {
                continue;
            }
            let _ = writeln!(
                out,
                "{}\t{}\tIN\tDNSKEY\t{} ;;state={} [{}] ;;count={} ;;lastchange={} ;;{}",
                self.zone,
                key.ttl,
                dnskey_presentation(&key.key),
                key.state.number(),
                padded_state(key.state),
                key.pending_count,
                key.last_change,
                ctime(key.last_change).trim_end(),
            );
        }
        for anchor in &self.ds {
            let ds = &anchor.ds;
            let _ = writeln!(
                out,
                "{}\t{}\tIN\tDS\t{} {} {} {} ;;state={} [{}] ;;count=0 ;;lastchange=0 ;;{}",
                self.zone,
                anchor.ttl,
                ds.tag,
                ds.algorithm,
                ds.digest_type,
                HEXUPPER.encode(&ds.digest),
                KeyState::Valid.number(),
                padded_state(KeyState::Valid),
                ctime(0).trim_end(),
            );
        }
        out
    }

    /// Whether any DS or VALID/MISSING key is left (Unbound: an assembled
    /// DS or DNSKEY RRset exists).
    fn has_trusted(&self) -> bool {
        !self.ds.is_empty() || self.keys.iter().any(|k| k.state.is_trusted())
    }

    /// Unbound's `autr_tp_remove`: every key is revoked; no more probes.
    fn revoke_point(&mut self) {
        warn!(zone = %self.zone, "RFC 5011: trust point revoked, the zone has no trust anchor now");
        self.revoked = true;
        self.next_probe_time = 0;
    }

    /// Unbound's `autr_holddown_exceed`: ADDPEND keys whose add hold-down ran out.
    fn holddown_exceed(&mut self, timers: &AutotrustTimers, now: u64, changed: &mut bool) {
        for key in self
            .keys
            .iter_mut()
            .filter(|k| k.is_sep() && k.state == KeyState::AddPend)
        {
            do_addtime(key, timers, now, changed);
        }
    }

    /// Unbound's `check_contains_revoked`: a tracked SEP key present with the
    /// REVOKE bit and self-signed is revoked (RFC 5011 §2.1, §4 "Revoked").
    fn check_contains_revoked(
        &mut self,
        probe: &DnskeyProbe<'_>,
        events: &mut [Events],
        now: u64,
        changed: &mut bool,
    ) {
        for seen in probe.revoked_self_signed {
            if seen.flags & FLAG_SEP == 0
                || seen.flags & FLAG_REVOKE == 0
                || !probe.keys.contains(seen)
            {
                continue;
            }
            let Some(i) = self.find_key(seen) else {
                continue;
            };
            events[i].revoked = true;
            do_revoked(&mut self.keys[i], now, changed);
        }
    }

    /// Unbound's `update_events`: note which SEP keys the set holds (adding new
    /// ones: START, or VALID at once when a DS anchor matches) and set the
    /// probe intervals.
    fn update_events(
        &mut self,
        probe: &DnskeyProbe<'_>,
        events: &mut Vec<Events>,
        timers: &AutotrustTimers,
        now: u64,
        changed: &mut bool,
    ) {
        for event in events.iter_mut() {
            event.fetched = false;
        }
        for key in probe.keys {
            if key.flags & FLAG_SEP == 0 || key.flags & FLAG_REVOKE != 0 {
                continue; // revoked keys were handled above; others are not added again
            }
            if !crypto::algorithm_supported(key.algorithm) {
                info!(zone = %self.zone, tag = key.tag, algorithm = key.algorithm,
                    "RFC 5011: key with an unsupported algorithm is not tracked");
                continue;
            }
            let i = match self.find_key(key) {
                Some(i) => i,
                None => {
                    let state = if self.ds_matches(key) {
                        KeyState::Valid
                    } else {
                        KeyState::Start
                    };
                    self.keys.insert(
                        0,
                        TrackedKey {
                            key: key.clone(),
                            ttl: probe.ttl,
                            state,
                            pending_count: 0,
                            last_change: 0,
                        },
                    );
                    events.insert(0, Events::default());
                    *changed = true;
                    0
                }
            };
            events[i].fetched = true;
            if self.keys[i].pending_count < MAX_PENDING_COUNT {
                self.keys[i].pending_count += 1;
            }
        }
        let expiry = min_expiry(probe.sig_expirations, now);
        self.set_times(expiry, u64::from(probe.ttl), timers, changed);
    }

    /// Unbound's `set_tp_times` (RFC 5011 §2.3): query interval
    /// MAX(1h, MIN(15 days, TTL/2, expiry/2)), retry
    /// MAX(1h, MIN(1 day, TTL/10, expiry/10)); no 1h floor with
    /// `permit-small-holddown`.
    fn set_times(&mut self, expiry: u64, ttl: u64, timers: &AutotrustTimers, changed: &mut bool) {
        let old = (self.query_interval, self.retry_time);
        let mut interval = MAX_QUERY_INTERVAL.min(ttl / 2).min(expiry / 2);
        let mut retry = MAX_RETRY_TIME.min(ttl / 10).min(expiry / 10);
        if !timers.permit_small_holddown {
            interval = interval.max(MIN_INTERVAL);
            retry = retry.max(MIN_INTERVAL);
        }
        self.query_interval = interval;
        self.retry_time = retry;
        if old != (interval, retry) {
            *changed = true;
        }
    }

    /// Unbound's `key_matches_a_ds`: a new key matching a DS anchor of the
    /// favourite digest type (the highest supported number) is trusted at once.
    fn ds_matches(&self, key: &Dnskey) -> bool {
        let favourite = self
            .ds
            .iter()
            .filter(|d| d.ds.is_supported())
            .map(|d| d.ds.digest_type)
            .max();
        self.ds
            .iter()
            .filter(|d| Some(d.ds.digest_type) == favourite)
            .any(|d| d.ds.matches(&self.zone, key))
    }

    /// Unbound's `do_statetable`: the RFC 5011 §4 transitions of every SEP
    /// key, then `remove_missing_trustanchors`.
    fn do_statetable(
        &mut self,
        events: &[Events],
        timers: &AutotrustTimers,
        now: u64,
        changed: &mut bool,
    ) {
        for (key, event) in self.keys.iter_mut().zip(events) {
            if key.is_sep() {
                anchor_state_update(key, *event, timers, now, changed);
            }
        }
        self.remove_missing(timers, now, changed);
    }

    /// Unbound's `remove_missing_trustanchors`: with at least one VALID KSK,
    /// configured ZSK anchors are REMOVED and keys MISSING longer than
    /// keep-missing are REMOVED. Without one, nothing is removed, so the last
    /// trusted key never goes without a replacement (only revocation removes it).
    fn remove_missing(&mut self, timers: &AutotrustTimers, now: u64, changed: &mut bool) {
        let mut valid = self
            .keys
            .iter()
            .filter(|k| k.is_sep() && k.state == KeyState::Valid)
            .count();
        if valid == 0 {
            valid = self.init_zsk_to_ksk(now, changed);
            if valid == 0 {
                return;
            }
        }
        let keep_missing = timers.keep_missing.as_secs();
        for key in &mut self.keys {
            if key.state == KeyState::Start {
                continue;
            }
            if !key.is_sep() {
                set_state(key, KeyState::Removed, now, changed);
                continue;
            }
            if key.state != KeyState::Missing || keep_missing == 0 {
                continue; // keep-missing 0: keep forever
            }
            if check_holddown(key, keep_missing, now) > 0 {
                set_state(key, KeyState::Removed, now, changed);
            }
        }
    }

    /// Unbound's `init_zsk_to_ksk`: a file that configured a ZSK (VALID,
    /// never changed) and no valid KSK trusts the pending KSKs at once, since
    /// the ZSK verified the set they came in.
    fn init_zsk_to_ksk(&mut self, now: u64, changed: &mut bool) -> usize {
        let configured_zsk = self
            .keys
            .iter()
            .any(|k| k.last_change == 0 && !k.is_sep() && k.state == KeyState::Valid);
        if !configured_zsk {
            return 0;
        }
        let mut promoted = 0;
        for key in &mut self.keys {
            if key.is_sep() && key.state == KeyState::AddPend {
                set_state(key, KeyState::Valid, now, changed);
                promoted += 1;
            }
        }
        promoted
    }

    /// Unbound's `autr_cleanup_keys`: START and REMOVED keys and the DS
    /// anchors go; pending counts are kept only while ADDPEND.
    fn cleanup_keys(&mut self) {
        self.keys
            .retain(|k| !matches!(k.state, KeyState::Start | KeyState::Removed));
        for key in &mut self.keys {
            if key.state != KeyState::AddPend {
                key.pending_count = 0;
            }
        }
        self.ds.clear();
    }

    /// Unbound's `find_key`: the tracked DNSKEY equal to `key` but for the
    /// REVOKE bit (`dnskey_compare_skip_revbit`).
    fn find_key(&self, key: &Dnskey) -> Option<usize> {
        self.keys
            .iter()
            .position(|k| same_key_ignoring_revoke(&k.key.rdata, &key.rdata))
    }
}

/// Unbound's `anchor_state_update`: one key's RFC 5011 §4 transition.
fn anchor_state_update(
    key: &mut TrackedKey,
    event: Events,
    timers: &AutotrustTimers,
    now: u64,
    changed: &mut bool,
) {
    match key.state {
        // NewKey: ADDPEND.
        KeyState::Start if event.fetched => set_state(key, KeyState::AddPend, now, changed),
        KeyState::Start => {}
        // KeyRem: back to START, forgetting the count.
        KeyState::AddPend if !event.fetched => {
            set_state(key, KeyState::Start, now, changed);
            key.pending_count = 0;
        }
        // AddTime: VALID.
        KeyState::AddPend => do_addtime(key, timers, now, changed),
        KeyState::Valid | KeyState::Missing if event.revoked => do_revoked(key, now, changed),
        // KeyRem: MISSING (still trusted).
        KeyState::Valid if !event.fetched => set_state(key, KeyState::Missing, now, changed),
        KeyState::Valid if key.last_change == 0 => {
            // "first seen": a configured key starts its clock.
            key.last_change = now;
            *changed = true;
        }
        KeyState::Valid => {}
        // KeyPres: VALID again.
        KeyState::Missing if event.fetched => set_state(key, KeyState::Valid, now, changed),
        KeyState::Missing => {}
        KeyState::Revoked if event.fetched => {
            key.last_change = now;
            *changed = true;
        }
        // RemTime: REMOVED.
        KeyState::Revoked => {
            if check_holddown(key, timers.del_holddown.as_secs(), now) > 0 {
                set_state(key, KeyState::Removed, now, changed);
            }
        }
        KeyState::Removed => {}
    }
}

/// Unbound's `do_addtime`: ADDPEND becomes VALID once the add hold-down has
/// passed (RFC 5011 §2.4.1) and the key was seen at least twice. Unbound uses
/// add-holddown alone, not MAX(30 days, TTL) as the RFC asks.
fn do_addtime(key: &mut TrackedKey, timers: &AutotrustTimers, now: u64, changed: &mut bool) {
    let exceeded = check_holddown(key, timers.add_holddown.as_secs(), now);
    if exceeded > 0 && key.state == KeyState::AddPend && key.pending_count >= MIN_PENDING_COUNT {
        set_state(key, KeyState::Valid, now, changed);
        key.pending_count = 0;
    }
}

/// Unbound's `do_revoked`: a VALID or MISSING key becomes REVOKED and keeps
/// the REVOKE bit from now on (RFC 5011 §2.1: never trusted again).
fn do_revoked(key: &mut TrackedKey, now: u64, changed: &mut bool) {
    if !matches!(key.state, KeyState::Valid | KeyState::Missing) {
        return;
    }
    set_state(key, KeyState::Revoked, now, changed);
    let mut rdata = key.key.rdata.to_vec();
    rdata[1] |= FLAG_REVOKE as u8;
    if let Some(revoked) = Dnskey::from_rdata(&rdata) {
        key.key = revoked;
    }
}

/// Unbound's `set_trustanchor_state`: the state changes and its clock restarts.
fn set_state(key: &mut TrackedKey, state: KeyState, now: u64, changed: &mut bool) {
    key.state = state;
    key.last_change = now;
    *changed = true;
}

/// Unbound's `check_holddown`: seconds by which `holddown` has been exceeded
/// since the last change (0: not yet; also 0 when the clock went backwards).
fn check_holddown(key: &TrackedKey, holddown: u64, now: u64) -> u64 {
    now.checked_sub(key.last_change)
        .and_then(|elapsed| elapsed.checked_sub(holddown))
        .unwrap_or(0)
}

/// Unbound's `min_expiry`: the shortest time to an RRSIG expiration still in
/// the future (serial arithmetic), at most 15 days.
fn min_expiry(expirations: &[u32], now: u64) -> u64 {
    let mut shortest = MAX_QUERY_INTERVAL;
    for expiration in expirations {
        // Wrapping on purpose: RRSIG times are serial numbers (RFC 4034 §3.1.5).
        let left = expiration.wrapping_sub(now as u32) as i32;
        if left > 0 {
            shortest = shortest.min(left as u64);
        }
    }
    shortest
}

/// Unbound's `calc_next_probe`: `wait` (at least 1h, or 1s with
/// permit-small-holddown) less a random 0-10%.
fn calc_next_probe(wait: u64, timers: &AutotrustTimers, now: u64, jitter: u64) -> u64 {
    let wait = if timers.permit_small_holddown {
        wait.max(1)
    } else {
        wait.max(MIN_INTERVAL)
    };
    let spread = wait / 10;
    let random = if spread == 0 { 0 } else { jitter % spread };
    now + (wait - spread) + random
}

/// Whether two DNSKEY RDATAs are equal when the REVOKE bit is ignored.
fn same_key_ignoring_revoke(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
            if i == 1 {
                x | FLAG_REVOKE as u8 == y | FLAG_REVOKE as u8
            } else {
                x == y
            }
        })
}

/// The header variables Unbound writes after `;;id:`.
enum Header {
    LastQueried,
    LastSuccess,
    NextProbeTime,
    QueryFailed,
    QueryInterval,
    RetryTime,
}

/// Unbound's `parse_var_line` for the numeric variables (`strtol` of what follows).
fn header_variable(line: &str) -> Option<(Header, u64)> {
    const FIELDS: [(&str, Header); 6] = [
        (";;last_queried: ", Header::LastQueried),
        (";;last_success: ", Header::LastSuccess),
        (";;next_probe_time: ", Header::NextProbeTime),
        (";;query_failed: ", Header::QueryFailed),
        (";;query_interval: ", Header::QueryInterval),
        (";;retry_time: ", Header::RetryTime),
    ];
    FIELDS.into_iter().find_map(|(prefix, field)| {
        let rest = line.strip_prefix(prefix)?;
        Some((field, leading_number(rest)))
    })
}

/// `;;id: name class`.
fn parse_id(rest: &str) -> Option<(Name, u16)> {
    let mut words = rest.split_whitespace();
    let mut zone = Name::from_ascii(words.next()?).ok()?;
    zone.set_fqdn(true);
    let class = words.next()?.parse().ok()?;
    Some((zone.to_lowercase(), class))
}

/// The `;;state=N`, `;;count=N` and `;;lastchange=N` annotations of a key line.
struct Annotation {
    state: Option<KeyState>,
    count: u8,
    last_change: u64,
}

/// Unbound's `parse_comments`: `state=` anywhere in the comment (an unknown
/// digit is START), `count=` after it, `lastchange=` after that.
fn parse_annotation(comment: &str) -> Annotation {
    let mut rest = comment;
    let state = rest.find("state=").map(|at| {
        rest = &rest[at + 6..];
        rest.bytes()
            .next()
            .and_then(|b| KeyState::from_number(b.wrapping_sub(b'0')))
            .unwrap_or(KeyState::Start)
    });
    let mut count = 0;
    if let Some(at) = rest.find("count=") {
        rest = &rest[at + 6..];
        count = u8::try_from(leading_number(rest)).unwrap_or(u8::MAX);
    }
    let last_change = rest
        .find("lastchange=")
        .map_or(0, |at| leading_number(&rest[at + 11..]));
    Annotation {
        state,
        count,
        last_change,
    }
}

/// The decimal number at the start of `text` (after spaces), 0 if none.
fn leading_number(text: &str) -> u64 {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().unwrap_or(0)
}

/// The TTL of a record line: the first number after the owner, before the type.
fn record_ttl(line: &str) -> u32 {
    let body = line.split(';').next().unwrap_or_default();
    body.split_whitespace()
        .skip(1)
        .take_while(|w| w.chars().all(|c| c.is_ascii_digit()) || w.eq_ignore_ascii_case("IN"))
        .find_map(|w| w.parse().ok())
        .unwrap_or(DEFAULT_TTL)
}

/// Unbound's `read_multiline`: a record in parentheses over several lines
/// becomes one line (inner comments dropped, the last line's kept). Yields
/// (first line number, text); Err(line) on unbalanced parentheses.
fn logical_lines(text: &str) -> Result<Vec<(usize, String)>, usize> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut depth = 0usize;
    for (index, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let code = raw.split(';').next().unwrap_or_default();
        for c in code.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.checked_sub(1).ok_or(index + 1)?,
                _ => {}
            }
        }
        if depth == 0 {
            current.push_str(raw);
            out.push((start, std::mem::take(&mut current)));
        } else {
            current.push_str(code);
            current.push(' ');
        }
    }
    if depth != 0 {
        return Err(start);
    }
    Ok(out)
}

/// A DNSKEY as `sldns_wire2str_rr` prints its RDATA and comment:
/// `257 3 8 <base64> ;{id = 20326 (ksk), size = 2048b}`.
fn dnskey_presentation(key: &Dnskey) -> String {
    let protocol = key.rdata.get(2).copied().unwrap_or(3);
    let mut text = format!(
        "{} {} {} {} ;{{id = {}",
        key.flags,
        protocol,
        key.algorithm,
        BASE64.encode(key.public_key()),
        key.tag
    );
    if key.flags & 0x0100 != 0 {
        text.push_str(if key.flags & FLAG_SEP != 0 {
            " (ksk)"
        } else {
            " (zsk)"
        });
    }
    let _ = write!(
        text,
        ", size = {}b}}",
        key_size_bits(key.algorithm, key.public_key())
    );
    text
}

/// sldns's `sldns_rr_dnskey_key_size_raw`: the key size shown in the comment.
fn key_size_bits(algorithm: u8, key: &[u8]) -> usize {
    match algorithm {
        3 | 6 => key.first().map_or(0, |t| (64 + usize::from(*t) * 8) * 8),
        1 | 5 | 7 | 8 | 10 => {
            let (exponent_len, offset) = match key {
                [0, hi, lo, ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), 3),
                [len, ..] => (usize::from(*len), 1),
                [] => return 0,
            };
            let Some(modulus) = key.get(exponent_len + offset..) else {
                return 0;
            };
            let leading_zeros = modulus.iter().take_while(|b| **b == 0).count();
            (modulus.len() - leading_zeros) * 8
        }
        12 => 512,
        13 | 15 => 256,
        14 => 384,
        16 => 456,
        _ => 0,
    }
}

/// Unbound's `trustanchor_state2str`: the name padded to nine columns.
fn padded_state(state: KeyState) -> &'static str {
    match state {
        KeyState::Start => "  START  ",
        KeyState::AddPend => " ADDPEND ",
        KeyState::Valid => "  VALID  ",
        KeyState::Missing => " MISSING ",
        KeyState::Revoked => " REVOKED ",
        KeyState::Removed => " REMOVED ",
    }
}

/// `ctime(3)` in UTC, newline included: `Mon Aug 24 07:46:40 2009\n`. Unbound
/// prints local time; the value is a comment its reader skips.
fn ctime(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86400;
    let seconds = unix % 86400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (no negatives).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}\n",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        year
    )
}

/// Writes `text` to `path` atomically: a temporary file in the same directory,
/// flushed and fsynced, then renamed over `path` (Unbound's `autr_write_file`).
/// A read-only directory (a ConfigMap mount) fails here: the caller logs it
/// once and keeps the state in memory. The temporary file is removed on failure.
///
/// DURABILITY: the file's data is on disk before the rename; the directory
/// entry is not fsynced (as Unbound), so a crash may leave the old file.
pub fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "autotrust path has no file name",
        )
    })?;
    let mut temp_name = name.to_os_string();
    temp_name.push(format!(".{}-tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// One tracked file and whether its write failure was logged.
#[derive(Debug)]
struct TrackedFile {
    path: PathBuf,
    point: TrustPoint,
    warned_readonly: bool,
}

/// What writing a tracked file back did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persisted {
    /// The file was replaced.
    Written,
    /// The write failed and this was logged (the first failure in a row).
    FailedLogged,
    /// The write failed again; already logged.
    FailedQuiet,
}

impl TrackedFile {
    /// Writes the file back; logs the first failure in a row only.
    fn persist(&mut self) -> Persisted {
        match write_atomically(&self.path, &self.point.to_text()) {
            Ok(()) => {
                if self.warned_readonly {
                    info!(file = %self.path.display(), "auto-trust-anchor-file is writable again");
                }
                self.warned_readonly = false;
                Persisted::Written
            }
            Err(error) if !self.warned_readonly => {
                warn!(file = %self.path.display(), %error,
                    "cannot write auto-trust-anchor-file; RFC 5011 state is kept in memory only");
                self.warned_readonly = true;
                Persisted::FailedLogged
            }
            Err(_) => Persisted::FailedQuiet,
        }
    }
}

/// The runtime owner of every `auto-trust-anchor-file:` trust point.
///
/// HOT PATH: none of it. Call it after a DNSKEY fetch of a tracked zone, off
/// the query path; it is synchronous and may write a small file.
#[derive(Debug)]
pub struct AutoTrust {
    files: Vec<TrackedFile>,
    timers: AutotrustTimers,
}

impl AutoTrust {
    /// Reads every `auto-trust-anchor-file:` of the configuration.
    pub fn from_config(config: &ValidationConfig) -> Result<Self, AutotrustError> {
        let mut files = Vec::new();
        for path in config.auto_files() {
            files.push(TrackedFile {
                path: path.to_path_buf(),
                point: TrustPoint::read(path)?,
                warned_readonly: false,
            });
        }
        Ok(Self {
            files,
            timers: config.autotrust,
        })
    }

    /// Puts every tracked zone's trusted anchors into `set` (at start, after
    /// `ValidationConfig::load_anchors`, so a `;;REVOKED` file anchors nothing).
    pub fn apply_to(&self, set: &mut AnchorSet) {
        for file in &self.files {
            set.replace_zone(file.point.zone(), file.point.trusted());
        }
    }

    /// Whether `zone` is tracked (and not revoked): its DNSKEY fetches belong here.
    pub fn is_tracked(&self, zone: &Name) -> bool {
        self.find(zone).is_some_and(|f| !f.point.is_revoked())
    }

    /// The earliest time a tracked zone is due for a probe (RFC 5011 §2.3
    /// active refresh): fetch its DNSKEY RRset bypassing the cache then.
    pub fn next_probe(&self) -> Option<u64> {
        self.files.iter().filter_map(|f| f.point.next_probe()).min()
    }

    /// The tracked zones due for a probe at `now`.
    pub fn due(&self, now: u64) -> impl Iterator<Item = &Name> + '_ {
        self.files
            .iter()
            .filter(move |f| f.point.next_probe().is_some_and(|t| t <= now))
            .map(|f| f.point.zone())
    }

    /// Applies a fetched DNSKEY RRset of `zone` ([`TrustPoint::update`]),
    /// writes the file back when the state changed or a probe was due (Unbound
    /// writes after every probe), and returns the zone's anchors to swap into
    /// the validator's [`AnchorSet`] (`replace_zone`). None: `zone` is not tracked.
    pub fn observe(
        &mut self,
        zone: &Name,
        probe: &DnskeyProbe<'_>,
        now: u64,
    ) -> Option<ZoneAnchor> {
        let timers = self.timers;
        let file = self.find_mut(zone)?;
        let due = file.point.next_probe().is_some_and(|t| t <= now);
        if file.point.update(probe, &timers, now, rand::random()) || due {
            file.persist();
        }
        Some(file.point.trusted())
    }

    /// Records a probe of `zone` that got no DNSKEY RRset
    /// ([`TrustPoint::probe_failed`]); returns the zone's anchors.
    pub fn probe_failed(&mut self, zone: &Name, now: u64) -> Option<ZoneAnchor> {
        let timers = self.timers;
        let file = self.find_mut(zone)?;
        file.point.probe_failed(&timers, now, rand::random());
        Some(file.point.trusted())
    }

    fn find(&self, zone: &Name) -> Option<&TrackedFile> {
        let zone = zone.to_lowercase();
        self.files.iter().find(|f| *f.point.zone() == zone)
    }

    fn find_mut(&mut self, zone: &Name) -> Option<&mut TrackedFile> {
        let zone = zone.to_lowercase();
        self.files.iter_mut().find(|f| *f.point.zone() == zone)
    }
}

#[cfg(test)]
mod tests;
