//! The HA state machine (Kea 2.2's HAService): heartbeats to the partner
//! every `heartbeat-delay`, failure detection (`max-response-delay`, then
//! unacked clients against `max-unacked-clients`), each state's handler,
//! and lease synchronisation (`dhcp-disable`, `lease4-get-page` pages,
//! `ha-sync-complete-notify`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::shutdown::Shutdown;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::client::REQUEST_TIMEOUT;
use super::state::{normal_state, scopes_in, Partner, Scopes, State};
use super::{index_of, millis, HaService};
use crate::clock::{parse_http_date, unix_now};
use crate::config::model::{HaMode, HaPause, HaRole};
use crate::run::{Origin, Shared};

/// Clock skew that is warned about, and that terminates HA (Kea: 30, 60 s).
const SKEW_WARN: i64 = 30;
const SKEW_TERMINATE: i64 = 60;

/// How often the machine runs when heartbeats are off.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Runs the machine until shutdown.
pub(crate) async fn run(shared: Arc<Shared>, ha: Arc<HaService>, shutdown: Shutdown) {
    super::updates::start(&ha);
    let first = if ha.role == HaRole::Backup {
        State::Backup
    } else {
        State::Waiting
    };
    ha.enter(&shared, first);
    let mut beat = Beat::new(if ha.config.heartbeat_delay_ms == 0 {
        IDLE_TICK
    } else {
        millis(ha.config.heartbeat_delay_ms)
    });
    loop {
        if beat.due(Instant::now()) {
            if ha.config.heartbeat_delay_ms > 0 && ha.state().heartbeats() && ha.partner.is_some() {
                ha.heartbeat().await;
            }
            beat.sent(Instant::now());
        }
        ha.refresh_interrupted();
        ha.run_model(&shared).await;
        tokio::select! {
            () = shutdown.requested() => break,
            () = tokio::time::sleep_until(beat.next()) => {}
            () = ha.wake.notified() => {}
        }
    }
}

/// The heartbeat timer: Kea's one-shot timer, re-armed `every` after each
/// heartbeat's outcome. A wake-up of the machine (a command, a failed
/// update) runs the model without a heartbeat, so the partner sees one
/// heartbeat per `heartbeat-delay` whatever it sends us.
#[derive(Debug, Clone, Copy)]
struct Beat {
    every: Duration,
    next: Instant,
}

impl Beat {
    /// A timer whose first heartbeat is due at once.
    fn new(every: Duration) -> Beat {
        Beat {
            every,
            next: Instant::now(),
        }
    }

    /// Whether a heartbeat is due at `now`.
    fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// A heartbeat completed at `now`: the next one is `every` later.
    fn sent(&mut self, now: Instant) {
        self.next = now + self.every;
    }

    /// When the next heartbeat is due.
    fn next(&self) -> Instant {
        self.next
    }
}

impl HaService {
    /// Enters `state`: its scopes and DHCP service, pauses, metrics.
    pub(crate) fn enter(&self, shared: &Shared, state: State) {
        let mut inner = self.inner.lock();
        let from = inner.state;
        let mut late = Vec::new();
        if from == State::CommunicationRecovery && state != from {
            // Updates queued after the drain go out now when the partner
            // takes updates again; otherwise a synchronisation follows.
            if state == State::LoadBalancing {
                late.extend(inner.backlog.drain(..));
            }
            inner.backlog.clear();
            inner.overflowed = false;
        }
        let maintenance = |s| s == State::InMaintenance || s == State::PartnerInMaintenance;
        if maintenance(state) && !maintenance(from) {
            inner.before_maintenance = Some(from);
        }
        if state != State::PartnerDown {
            inner.failover_for_maintenance = false;
        }
        if state != from {
            inner.sync_complete_notified = false;
        }
        inner.state = state;
        inner.scopes_override = None;
        let pause = self
            .config
            .pauses
            .iter()
            .find(|(name, _)| name == state.name())
            .map(|(_, pause)| *pause);
        inner.paused = match pause {
            Some(HaPause::Always) => true,
            Some(HaPause::Once) if !inner.paused_once.contains(&state) => {
                inner.paused_once.push(state);
                true
            }
            _ => false,
        };
        let failover = self.partner_auto_failover || inner.failover_for_maintenance;
        let scopes = scopes_in(state, self.config.mode, self.role, failover);
        self.scopes.store(scopes.bits(), Ordering::Relaxed);
        self.state.store(index_of(state), Ordering::Relaxed);
        drop(inner);
        self.send_later(late);
        let settling = matches!(
            state,
            State::Waiting | State::Syncing | State::Ready | State::InMaintenance
        );
        if !settling {
            if let Some(latch) = self.settled.lock().take() {
                latch.release();
            }
        }
        shared.switch.set(Origin::Ha, !state.serves(), None);
        self.metrics.state(state);
        if state != from {
            tracing::info!(from = from.name(), to = state.name(), "HA state");
        }
    }

    /// The scopes served now, by name (heartbeats, status-get).
    pub fn served_scope_names(&self) -> Vec<String> {
        let scopes = Scopes::from_bits(self.scopes.load(Ordering::Relaxed));
        let mut names = Vec::new();
        if scopes.primary {
            names.extend(self.scope_names[0].clone());
        }
        if scopes.secondary {
            names.extend(self.scope_names[1].clone());
        }
        names.sort();
        names
    }

    /// Sets the scopes served by name (ha-scopes); refuses unknown names.
    pub fn set_scopes(&self, names: &[String]) -> Result<(), String> {
        let mut scopes = Scopes::default();
        for name in names {
            if self.scope_names[0].as_deref() == Some(name.as_str()) {
                scopes.primary = true;
            } else if self.scope_names[1].as_deref() == Some(name.as_str()) {
                scopes.secondary = true;
            } else {
                return Err(format!(
                    "invalid server name specified '{name}' while enabling/disabling HA scopes"
                ));
            }
        }
        self.inner.lock().scopes_override = Some(scopes);
        self.scopes.store(scopes.bits(), Ordering::Relaxed);
        Ok(())
    }

    /// The partner failed an exchange: its state is unknown now.
    pub(crate) fn partner_failed(&self) {
        let mut inner = self.inner.lock();
        if inner.partner != Partner::Unavailable {
            tracing::warn!("HA: partner unavailable");
        }
        inner.partner = Partner::Unavailable;
        drop(inner);
        self.metrics.partner("unavailable");
        self.wake.notify_one();
    }

    /// Sends a heartbeat and records what the partner said.
    async fn heartbeat(&self) {
        let Some(partner) = &self.partner else {
            return;
        };
        match partner.send("ha-heartbeat", None, REQUEST_TIMEOUT).await {
            Ok(reply) => match read_heartbeat(reply.arguments.as_ref()) {
                Ok(heard) => self.heard(heard),
                Err(why) => {
                    tracing::warn!(peer = partner.name(), why, "HA: bad heartbeat answer");
                    self.partner_failed();
                }
            },
            Err(error) => {
                tracing::debug!(%error, "HA: heartbeat failed");
                self.partner_failed();
            }
        }
    }

    /// A good heartbeat answer: the partner's state, scopes and clock.
    fn heard(&self, heard: Heartbeat) {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if inner.partner != Partner::In(heard.state) {
            tracing::info!(partner = heard.state.name(), "HA: partner state");
        }
        inner.partner = Partner::In(heard.state);
        inner.partner_scopes = heard.scopes;
        inner.partner_seen = Some(now);
        inner.partner_unsent = (inner.partner_unsent.1, heard.unsent);
        inner.poke = now;
        inner.clients.clear();
        inner.unacked = 0;
        inner.analyzed = 0;
        inner.clock_skew = heard.skew;
        if heard.skew.abs() > SKEW_WARN
            && inner
                .last_skew_warning
                .is_none_or(|at| at.elapsed() > Duration::from_secs(60))
        {
            inner.last_skew_warning = Some(now);
            tracing::warn!(skew_seconds = heard.skew, "HA: clock skew with the partner");
        }
        drop(inner);
        self.metrics.unacked.set(0.0);
        self.metrics.partner(heard.state.name());
        self.interrupted.store(false, Ordering::Relaxed);
    }

    /// Whether communication with the partner has been down longer than
    /// `max-response-delay`.
    fn refresh_interrupted(&self) -> bool {
        let interrupted = self.partner.is_some()
            && self.inner.lock().poke.elapsed() > millis(self.config.max_response_delay_ms);
        self.interrupted.store(interrupted, Ordering::Relaxed);
        interrupted
    }

    /// Kea's shouldPartnerDown.
    fn should_partner_down(&self, shared: &Shared) -> bool {
        if !self.refresh_interrupted() {
            return false;
        }
        let serving = shared.switch.is_enabled();
        if serving && (self.config.mode == HaMode::LoadBalancing || self.role == HaRole::Standby) {
            let unacked = self.inner.lock().unacked;
            return self.config.max_unacked_clients == 0
                || unacked > self.config.max_unacked_clients as usize;
        }
        true
    }

    fn partner(&self) -> Partner {
        self.inner.lock().partner
    }

    /// Kea's isPartnerStateInvalid.
    fn partner_state_invalid(&self) -> bool {
        let lb = self.config.mode == HaMode::LoadBalancing;
        match self.partner() {
            Partner::In(State::CommunicationRecovery) | Partner::In(State::LoadBalancing) => !lb,
            Partner::In(State::HotStandby) => self.config.mode != HaMode::HotStandby,
            _ => false,
        }
    }

    fn normal(&self) -> State {
        normal_state(&self.config, self.role)
    }

    /// Runs state handlers until one stays put.
    pub(crate) async fn run_model(&self, shared: &Shared) {
        for _ in 0..8 {
            let state = self.state();
            let next = self.step(shared, state).await;
            match next {
                // A command may have moved the state while the handler
                // waited (a sync, a drain): its move stands.
                Some(next) if next != state && self.state() == state => self.enter(shared, next),
                _ => break,
            }
        }
    }

    /// One handler: the state to go to, if any.
    async fn step(&self, shared: &Shared, state: State) -> Option<State> {
        if self.inner.lock().paused {
            return None;
        }
        let terminal = matches!(
            state,
            State::Terminated | State::Backup | State::PassiveBackup | State::InMaintenance
        );
        if terminal {
            return None;
        }
        if self.inner.lock().clock_skew.abs() > SKEW_TERMINATE {
            tracing::error!("HA: clock skew over {SKEW_TERMINATE} s with the partner: terminated");
            return Some(State::Terminated);
        }
        if state == State::PartnerInMaintenance {
            return (self.partner() == Partner::Unavailable).then_some(State::PartnerDown);
        }
        if self.partner_state_invalid() {
            return (state != State::Waiting).then_some(State::Waiting);
        }
        let partner = self.partner();
        match state {
            State::Waiting => self.waiting(shared, partner),
            State::Syncing => self.syncing(shared, partner).await,
            State::Ready => self.ready(shared, partner),
            State::LoadBalancing | State::HotStandby => self.normal_step(shared, partner),
            State::CommunicationRecovery => self.recovery(shared, partner).await,
            State::PartnerDown => self.partner_down(shared, partner),
            _ => None,
        }
    }

    fn sync_or_ready(&self) -> State {
        if self.config.sync_leases {
            State::Syncing
        } else {
            State::Ready
        }
    }

    fn waiting(&self, shared: &Shared, partner: Partner) -> Option<State> {
        if self.role == HaRole::Backup {
            return Some(State::Backup);
        }
        if self.config.mode == HaMode::PassiveBackup {
            return Some(State::PassiveBackup);
        }
        match partner {
            Partner::In(
                State::CommunicationRecovery
                | State::HotStandby
                | State::LoadBalancing
                | State::InMaintenance
                | State::PartnerDown
                | State::PartnerInMaintenance
                | State::Ready,
            ) => Some(self.sync_or_ready()),
            Partner::In(State::Waiting) if self.role == HaRole::Primary => {
                Some(self.sync_or_ready())
            }
            Partner::Unavailable if self.should_partner_down(shared) => Some(State::PartnerDown),
            _ => None,
        }
    }

    async fn syncing(&self, shared: &Shared, partner: Partner) -> Option<State> {
        match partner {
            Partner::In(State::Terminated) => Some(State::Terminated),
            Partner::Unavailable => self
                .should_partner_down(shared)
                .then_some(State::PartnerDown),
            _ => {
                let period = (self.config.sync_timeout_ms / 1000).max(1);
                match self.synchronize(shared, Some(u64::from(period))).await {
                    Ok(count) => {
                        tracing::info!(leases = count, "HA: lease database synchronised");
                        Some(State::Ready)
                    }
                    Err(error) => {
                        tracing::warn!(%error, "HA: lease synchronisation failed; retrying");
                        None
                    }
                }
            }
        }
    }

    fn ready(&self, shared: &Shared, partner: Partner) -> Option<State> {
        match partner {
            Partner::In(
                State::HotStandby | State::LoadBalancing | State::CommunicationRecovery,
            ) => Some(self.normal()),
            Partner::In(State::InMaintenance) => Some(State::PartnerInMaintenance),
            Partner::In(State::PartnerInMaintenance) => Some(State::InMaintenance),
            Partner::In(State::Ready) if self.role == HaRole::Primary => Some(self.normal()),
            Partner::In(State::Terminated) => Some(State::Terminated),
            Partner::Unavailable if self.should_partner_down(shared) => Some(State::PartnerDown),
            _ => None,
        }
    }

    fn normal_step(&self, shared: &Shared, partner: Partner) -> Option<State> {
        match partner {
            Partner::In(State::InMaintenance) => Some(State::PartnerInMaintenance),
            Partner::In(State::PartnerDown) => Some(State::Waiting),
            Partner::In(State::PartnerInMaintenance) => Some(State::InMaintenance),
            Partner::In(State::Terminated) => Some(State::Terminated),
            Partner::Unavailable => {
                if self.should_partner_down(shared) {
                    Some(State::PartnerDown)
                } else if self.config.mode == HaMode::LoadBalancing
                    && self.config.delayed_updates_limit > 0
                {
                    Some(State::CommunicationRecovery)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    async fn recovery(&self, shared: &Shared, partner: Partner) -> Option<State> {
        match partner {
            Partner::In(State::InMaintenance) => return Some(State::PartnerInMaintenance),
            Partner::In(State::PartnerDown) => return Some(State::Waiting),
            Partner::In(State::PartnerInMaintenance) => return Some(State::InMaintenance),
            Partner::In(State::Terminated) => return Some(State::Terminated),
            Partner::Unavailable => {
                return self
                    .should_partner_down(shared)
                    .then_some(State::PartnerDown)
            }
            Partner::In(State::Waiting | State::Syncing | State::Ready) => {
                let overflowed = self.inner.lock().overflowed;
                return (!self.refresh_interrupted() && overflowed).then_some(State::Waiting);
            }
            _ => {}
        }
        if self.refresh_interrupted() {
            return None;
        }
        if !matches!(
            partner,
            Partner::In(State::LoadBalancing | State::CommunicationRecovery)
        ) {
            return Some(State::Waiting);
        }
        let (backlog, overflowed) = {
            let mut inner = self.inner.lock();
            (std::mem::take(&mut inner.backlog), inner.overflowed)
        };
        let mut sent = !overflowed;
        if sent {
            if let Some(peer) = &self.partner {
                for update in &backlog {
                    if peer
                        .send(
                            update.command,
                            Some(update.arguments.clone()),
                            REQUEST_TIMEOUT,
                        )
                        .await
                        .is_err()
                    {
                        sent = false;
                        break;
                    }
                }
            }
        }
        if sent {
            return Some(State::LoadBalancing);
        }
        let reset = match &self.partner {
            Some(peer) => peer.send("ha-reset", None, REQUEST_TIMEOUT).await.is_ok(),
            None => false,
        };
        reset.then_some(State::Waiting)
    }

    fn partner_down(&self, shared: &Shared, partner: Partner) -> Option<State> {
        match partner {
            // The partner synchronised from us (its dhcp-disable stopped our
            // service) and then went silent: serve again at once (Kea's
            // HA_SYNCED_PARTNER_UNAVAILABLE_EVT).
            Partner::Unavailable if self.inner.lock().sync_complete_notified => {
                self.inner.lock().sync_complete_notified = false;
                shared.switch.set(Origin::Ha, false, None);
                None
            }
            Partner::In(
                State::CommunicationRecovery | State::PartnerDown | State::PartnerInMaintenance,
            ) => Some(State::Waiting),
            Partner::In(State::Ready) => {
                let (older, newer) = self.inner.lock().partner_unsent;
                let new_unsent = newer.is_some_and(|n| n > 0 && Some(n) != older);
                Some(if new_unsent {
                    State::Waiting
                } else {
                    self.normal()
                })
            }
            Partner::In(State::Terminated) => Some(State::Terminated),
            _ => None,
        }
    }

    /// Kea's synchronize: the partner stops serving for `max_period`
    /// seconds while its leases are fetched page by page and merged (a
    /// lease newer than ours, by cltt, wins); then it is told we are done.
    pub(crate) async fn synchronize(
        &self,
        shared: &Shared,
        max_period: Option<u64>,
    ) -> Result<usize, String> {
        let Some(peer) = &self.partner else {
            return Err("no partner to synchronise with".into());
        };
        let disable = || {
            let mut args = json!({"origin": "ha-partner"});
            if let (Some(period), Some(map)) = (max_period, args.as_object_mut()) {
                map.insert("max-period".into(), json!(period));
            }
            args
        };
        if let Err(error) = peer
            .send("dhcp-disable", Some(disable()), REQUEST_TIMEOUT)
            .await
        {
            self.partner_failed();
            self.metrics.sync_failures.increment(1);
            return Err(error.to_string());
        }
        let fetched = self.fetch_pages(shared, &disable).await;
        let finished = match &fetched {
            Ok(_) => match peer
                .send("ha-sync-complete-notify", None, REQUEST_TIMEOUT)
                .await
            {
                Err(super::client::PeerError::Refused { code: 2, .. }) => peer
                    .send(
                        "dhcp-enable",
                        Some(json!({"origin": "ha-partner"})),
                        REQUEST_TIMEOUT,
                    )
                    .await
                    .map(drop),
                other => other.map(drop),
            },
            Err(_) => peer
                .send(
                    "dhcp-enable",
                    Some(json!({"origin": "ha-partner"})),
                    REQUEST_TIMEOUT,
                )
                .await
                .map(drop),
        };
        if let Err(error) = &finished {
            self.partner_failed();
            tracing::warn!(%error, "HA: could not tell the partner the sync ended");
        }
        match fetched {
            Ok(count) => {
                self.metrics.syncs.increment(1);
                Ok(count)
            }
            Err(error) => {
                self.partner_failed();
                self.metrics.sync_failures.increment(1);
                Err(error)
            }
        }
    }

    async fn fetch_pages(
        &self,
        shared: &Shared,
        disable: &(dyn Fn() -> Value + Sync),
    ) -> Result<usize, String> {
        let Some(peer) = &self.partner else {
            return Ok(0);
        };
        let limit = self.config.sync_page_limit.max(1);
        let timeout = millis(self.config.sync_timeout_ms);
        let mut from = "start".to_string();
        let mut total = 0;
        loop {
            let reply = peer
                .send(
                    "lease4-get-page",
                    Some(json!({"from": from, "limit": limit})),
                    timeout,
                )
                .await
                .map_err(|e| e.to_string())?;
            let leases = match reply.arguments.as_ref().and_then(|a| a.get("leases")) {
                Some(Value::Array(leases)) => leases.clone(),
                _ if reply.result == 3 => Vec::new(),
                _ => {
                    return Err("server response does not contain leases argument or this argument is not a list".into())
                }
            };
            let count = leases.len();
            total += shared.merge_leases(&leases).await;
            self.metrics.synced_leases.increment(count as u64);
            if count < limit as usize {
                return Ok(total);
            }
            let Some(last) = leases
                .last()
                .and_then(|l| l.get("ip-address"))
                .and_then(Value::as_str)
            else {
                return Ok(total);
            };
            from = last.to_string();
            peer.send("dhcp-disable", Some(disable()), REQUEST_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
        }
    }

    /// The heartbeat answer's arguments: ours.
    pub fn heartbeat_answer(&self) -> Value {
        let unsent = self.inner.lock().unsent_updates;
        json!({
            "state": self.state().name(),
            "date-time": crate::clock::http_date(SystemTime::now()),
            "scopes": self.served_scope_names(),
            "unsent-update-count": unsent,
        })
    }
}

/// What a heartbeat answer said.
#[derive(Debug)]
struct Heartbeat {
    state: State,
    scopes: Vec<String>,
    unsent: Option<i64>,
    skew: i64,
}

/// Kea's checks on a heartbeat answer.
fn read_heartbeat(arguments: Option<&Value>) -> Result<Heartbeat, String> {
    let Some(Value::Object(args)) = arguments else {
        return Err("returned arguments in the response must be a map".into());
    };
    let Some(Value::String(name)) = args.get("state") else {
        return Err(
            "server state not returned in response to a ha-heartbeat command or it is not a string"
                .into(),
        );
    };
    let state = State::parse(name)
        .ok_or_else(|| format!("unsupported HA partner state returned {name}"))?;
    let Some(Value::String(date)) = args.get("date-time") else {
        return Err(
            "date-time not returned in response to a ha-heartbeat command or it is not a string"
                .into(),
        );
    };
    let partner_clock = parse_http_date(date).ok_or_else(|| format!("bad date-time {date}"))?;
    let partner_secs = partner_clock
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let skew =
        i64::try_from(partner_secs).unwrap_or(i64::MAX) - i64::try_from(unix_now()).unwrap_or(0);
    let scopes = match args.get("scopes") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let unsent = match args.get("unsent-update-count") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or("unsent-update-count is not an integer")?),
    };
    Ok(Heartbeat {
        state,
        scopes,
        unsent,
        skew,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_ups_between_heartbeats_send_none() {
        let mut beat = Beat::new(Duration::from_millis(1000));
        let start = Instant::now();
        assert!(beat.due(start), "the first heartbeat goes at once");
        beat.sent(start);
        // A partner's heartbeat wakes the machine 10 ms later: no heartbeat.
        assert!(!beat.due(start + Duration::from_millis(10)));
        assert!(!beat.due(start + Duration::from_millis(999)));
        assert!(beat.due(start + Duration::from_millis(1000)));
        assert_eq!(beat.next(), start + Duration::from_millis(1000));
        // Re-armed after the outcome (a slow answer delays the next one).
        beat.sent(start + Duration::from_millis(1300));
        assert!(!beat.due(start + Duration::from_millis(2200)));
        assert!(beat.due(start + Duration::from_millis(2300)));
    }

    #[test]
    fn heartbeat_answers_are_checked_as_kea_checks_them() {
        let now = crate::clock::http_date(SystemTime::now());
        let good = json!({"state": "hot-standby", "date-time": now, "scopes": ["server1"], "unsent-update-count": 2});
        let heard = read_heartbeat(Some(&good));
        assert!(
            matches!(
                heard,
                Ok(Heartbeat {
                    state: State::HotStandby,
                    unsent: Some(2),
                    ..
                })
            ),
            "{heard:?}"
        );
        assert!(heard.is_ok_and(|h| h.skew.abs() <= 1 && h.scopes == ["server1"]));
        for bad in [
            json!([]),
            json!({"date-time": now}),
            json!({"state": "unavailable", "date-time": now}),
            json!({"state": "ready"}),
            json!({"state": "ready", "date-time": now, "unsent-update-count": "x"}),
        ] {
            assert!(read_heartbeat(Some(&bad)).is_err(), "{bad}");
        }
        let old = json!({"state": "ready", "date-time": "Thu, 01 Jan 1970 00:00:00 GMT"});
        assert!(read_heartbeat(Some(&old)).is_ok_and(|h| h.skew < -SKEW_TERMINATE));
    }
}
