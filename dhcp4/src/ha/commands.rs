//! The HA commands (Kea's ha_callouts.cc) and the HA part of status-get.

use serde_json::{json, Map, Value};

use super::client::{PeerError, REQUEST_TIMEOUT};
use super::state::{Partner, State};
use super::HaService;
use crate::control::{result, Answer, Request};
use crate::run::Shared;

/// The HA commands, in Kea's order.
pub const HA_COMMANDS: &[&str] = &[
    "ha-continue",
    "ha-heartbeat",
    "ha-maintenance-cancel",
    "ha-maintenance-notify",
    "ha-maintenance-start",
    "ha-reset",
    "ha-scopes",
    "ha-sync",
    "ha-sync-complete-notify",
];

/// What the HA listener answers with `restrict-commands` (Kea's list).
pub const RESTRICTED: &[&str] = &[
    "list-commands",
    "status-get",
    "dhcp-disable",
    "dhcp-enable",
    "ha-reset",
    "ha-heartbeat",
    "lease4-update",
    "lease4-del",
    "lease4-get-all",
    "lease4-get-page",
    "ha-maintenance-notify",
    "ha-sync-complete-notify",
];

/// Kea's result code for a maintenance transition the state forbids.
const MAINTENANCE_NOT_ALLOWED: u32 = 1001;

impl HaService {
    /// Runs an `ha-*` command.
    pub(crate) async fn command(&self, shared: &Shared, request: &Request) -> Answer {
        let answer = match request.command.as_str() {
            "ha-heartbeat" => Answer::with(
                result::SUCCESS,
                "HA peer status returned.",
                self.heartbeat_answer(),
            ),
            "ha-sync" => self.sync_command(shared, request).await,
            "ha-scopes" => self.scopes_command(request),
            "ha-continue" => {
                let mut inner = self.inner.lock();
                if inner.paused {
                    inner.paused = false;
                    Answer::ok("HA state machine continues.")
                } else {
                    Answer::ok("HA state machine is not paused.")
                }
            }
            "ha-maintenance-notify" => self.maintenance_notify(shared, request),
            "ha-maintenance-start" => self.maintenance_start(shared).await,
            "ha-maintenance-cancel" => self.maintenance_cancel(shared).await,
            "ha-reset" => {
                if self.state() == State::Waiting {
                    Answer::ok("HA state machine already in WAITING state.")
                } else {
                    self.enter(shared, State::Waiting);
                    Answer::ok("HA state machine reset.")
                }
            }
            "ha-sync-complete-notify" => {
                if self.state() == State::PartnerDown {
                    self.inner.lock().sync_complete_notified = true;
                } else {
                    shared
                        .switch
                        .set(crate::run::Origin::Ha, !self.state().serves(), None);
                }
                Answer::ok("Server successfully notified about the synchronization completion.")
            }
            other => Answer::unsupported(other),
        };
        // Kea answers a heartbeat without running its state machine; the
        // other commands may change what the machine decides.
        if request.command != "ha-heartbeat" {
            self.poke_machine();
        }
        answer
    }

    async fn sync_command(&self, shared: &Shared, request: &Request) -> Answer {
        let Some(args) = &request.arguments else {
            return Answer::error("arguments not found in the 'ha-sync' command");
        };
        match args.get("server-name") {
            None => return Answer::error("'server-name' is mandatory for the 'ha-sync' command"),
            Some(Value::String(_)) => {}
            Some(_) => {
                return Answer::error("'server-name' must be a string in the 'ha-sync' command")
            }
        }
        let period = match args.get("max-period") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(p) if p > 0 => Some(p),
                _ => {
                    return Answer::error(
                        "'max-period' must be a positive integer in the 'ha-sync' command",
                    )
                }
            },
        };
        match self.synchronize(shared, period).await {
            Ok(_) => Answer::ok("Lease database synchronization complete."),
            Err(error) => Answer::error(error),
        }
    }

    fn scopes_command(&self, request: &Request) -> Answer {
        let Some(args) = &request.arguments else {
            return Answer::error("arguments not found in the 'ha-scopes' command");
        };
        let names = match args.get("scopes") {
            None => return Answer::error("'scopes' is mandatory for the 'ha-scopes' command"),
            Some(Value::Array(items)) => {
                let names: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                match names {
                    Some(names) => names,
                    None => {
                        return Answer::error(
                            "scope name must be a string in the 'scopes' argument",
                        )
                    }
                }
            }
            Some(_) => return Answer::error("'scopes' must be a list in the 'ha-scopes' command"),
        };
        match self.set_scopes(&names) {
            Ok(()) => Answer::ok("New HA scopes configured."),
            Err(why) => Answer::error(why),
        }
    }

    fn maintenance_notify(&self, shared: &Shared, request: &Request) -> Answer {
        let cancel = match request.arguments.as_ref().and_then(|a| a.get("cancel")) {
            Some(Value::Bool(cancel)) => *cancel,
            Some(_) => {
                return Answer::error(
                    "'cancel' must be a boolean in the 'ha-maintenance-notify' command",
                )
            }
            None => {
                return Answer::error(
                    "'cancel' is mandatory for the 'ha-maintenance-notify' command",
                )
            }
        };
        let state = self.state();
        if cancel {
            if state != State::InMaintenance {
                return Answer::error("Unable to cancel the maintenance for the server not in the in-maintenance state.");
            }
            let back = self
                .inner
                .lock()
                .before_maintenance
                .take()
                .unwrap_or(State::Waiting);
            self.enter(shared, back);
            return Answer::ok("Server maintenance canceled.");
        }
        if matches!(
            state,
            State::Backup | State::PartnerInMaintenance | State::Terminated
        ) {
            return Answer::text(
                MAINTENANCE_NOT_ALLOWED,
                format!(
                    "Unable to transition the server from the {} to in-maintenance state.",
                    state.name()
                ),
            );
        }
        self.enter(shared, State::InMaintenance);
        Answer::ok("Server is in-maintenance state.")
    }

    async fn maintenance_start(&self, shared: &Shared) -> Answer {
        let state = self.state();
        if matches!(
            state,
            State::Backup | State::InMaintenance | State::PartnerInMaintenance | State::Terminated
        ) {
            return Answer::error(format!(
                "Unable to transition the server from the {} to partner-in-maintenance state.",
                state.name()
            ));
        }
        let Some(peer) = &self.partner else {
            return Answer::error("no partner to put in maintenance");
        };
        match peer
            .send("ha-maintenance-notify", Some(json!({"cancel": false})), REQUEST_TIMEOUT)
            .await
        {
            Ok(_) => {
                self.enter(shared, State::PartnerInMaintenance);
                Answer::ok("Server is now in the partner-in-maintenance state and its partner is in-maintenance state. The partner can be now safely shut down.")
            }
            Err(PeerError::Refused { code, text, .. }) if code != 1 => Answer::error(format!(
                "Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: {text}, error code {code}."
            )),
            Err(_) => {
                self.inner.lock().failover_for_maintenance = true;
                self.enter(shared, State::PartnerDown);
                Answer::ok("Server is now in the partner-down state as its partner appears to be offline for maintenance.")
            }
        }
    }

    async fn maintenance_cancel(&self, shared: &Shared) -> Answer {
        if self.state() != State::PartnerInMaintenance {
            return Answer::error("Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.");
        }
        if let Some(peer) = &self.partner {
            if let Err(error) = peer
                .send(
                    "ha-maintenance-notify",
                    Some(json!({"cancel": true})),
                    REQUEST_TIMEOUT,
                )
                .await
            {
                return Answer::error(format!(
                    "Unable to cancel maintenance. The partner server responded with the following message to the ha-maintenance-notify command: {error}."
                ));
            }
        }
        let back = self
            .inner
            .lock()
            .before_maintenance
            .take()
            .unwrap_or(State::Waiting);
        self.enter(shared, back);
        Answer::ok("Server maintenance successfully canceled.")
    }

    /// status-get's `high-availability` list.
    pub fn status(&self) -> Value {
        let inner = self.inner.lock();
        let local = json!({
            "role": self.role.name(),
            "scopes": self.served_scope_names(),
            "state": inner.state.name(),
        });
        let mut servers = Map::new();
        servers.insert("local".into(), local);
        if let (Some(_), Some(role)) = (&self.partner, self.partner_role) {
            let interrupted =
                inner.poke.elapsed() > super::millis(self.config.max_response_delay_ms);
            let unacked = inner.unacked as u64;
            let max = u64::from(self.config.max_unacked_clients);
            let left = if interrupted && max >= unacked {
                max - unacked + 1
            } else {
                0
            };
            let in_touch = inner.partner != Partner::Unknown;
            servers.insert(
                "remote".into(),
                json!({
                    "age": if in_touch { inner.partner_seen.map_or(0, |t| t.elapsed().as_secs()) } else { 0 },
                    "analyzed-packets": inner.analyzed,
                    "communication-interrupted": interrupted,
                    "connecting-clients": inner.clients.len(),
                    "in-touch": in_touch,
                    "last-scopes": inner.partner_scopes,
                    "last-state": inner.partner.name(),
                    "role": role.name(),
                    "unacked-clients": unacked,
                    "unacked-clients-left": left,
                }),
            );
        }
        json!([{ "ha-mode": self.config.mode.name(), "ha-servers": servers }])
    }
}
