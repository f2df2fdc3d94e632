//! Kea's HA states, their names, and what each does to the DHCP service
//! and the scopes served (Kea 2.2's ha_service.cc).

use crate::config::model::{Ha, HaMode, HaRole};

/// A server's HA state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// A backup server: receives lease updates.
    Backup,
    /// Load-balancing with the partner unreachable: updates queued.
    CommunicationRecovery,
    /// Hot-standby's normal state.
    HotStandby,
    /// Load-balancing's normal state.
    LoadBalancing,
    /// Stopped for the operator's maintenance.
    InMaintenance,
    /// The partner is down: this server serves every scope.
    PartnerDown,
    /// The partner is in maintenance: this server serves every scope.
    PartnerInMaintenance,
    /// Passive-backup's state for the primary.
    PassiveBackup,
    /// Synchronised; waiting for the partner.
    Ready,
    /// Fetching the partner's leases.
    Syncing,
    /// Stopped for good (clock skew, or the partner terminated).
    Terminated,
    /// The start: waiting to learn the partner's state.
    Waiting,
}

/// Every state, in Kea's order of names.
pub const STATES: [State; 12] = [
    State::Backup,
    State::CommunicationRecovery,
    State::HotStandby,
    State::LoadBalancing,
    State::InMaintenance,
    State::PartnerDown,
    State::PartnerInMaintenance,
    State::PassiveBackup,
    State::Ready,
    State::Syncing,
    State::Terminated,
    State::Waiting,
];

impl State {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            State::Backup => "backup",
            State::CommunicationRecovery => "communication-recovery",
            State::HotStandby => "hot-standby",
            State::LoadBalancing => "load-balancing",
            State::InMaintenance => "in-maintenance",
            State::PartnerDown => "partner-down",
            State::PartnerInMaintenance => "partner-in-maintenance",
            State::PassiveBackup => "passive-backup",
            State::Ready => "ready",
            State::Syncing => "syncing",
            State::Terminated => "terminated",
            State::Waiting => "waiting",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<State> {
        STATES.iter().copied().find(|s| s.name() == name)
    }

    /// Whether the DHCP service runs in this state.
    pub fn serves(self) -> bool {
        matches!(
            self,
            State::CommunicationRecovery
                | State::HotStandby
                | State::LoadBalancing
                | State::PartnerDown
                | State::PartnerInMaintenance
                | State::PassiveBackup
                | State::Terminated
        )
    }

    /// Whether lease updates go to the partner in this state.
    pub fn sends_updates(self) -> bool {
        matches!(
            self,
            State::HotStandby | State::LoadBalancing | State::PartnerInMaintenance
        )
    }

    /// Whether heartbeats go out in this state.
    pub fn heartbeats(self) -> bool {
        !matches!(
            self,
            State::Terminated | State::Backup | State::PassiveBackup
        )
    }
}

/// The partner's state as last learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partner {
    /// Nothing learnt yet.
    Unknown,
    /// The last exchange failed.
    Unavailable,
    /// Its state.
    In(State),
}

impl Partner {
    /// As status-get's `last-state` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Partner::Unknown => "",
            Partner::Unavailable => "unavailable",
            Partner::In(state) => state.name(),
        }
    }
}

/// The mode's normal state for a server of `role`.
pub fn normal_state(config: &Ha, role: HaRole) -> State {
    if role == HaRole::Backup {
        return State::Backup;
    }
    match config.mode {
        HaMode::LoadBalancing => State::LoadBalancing,
        HaMode::HotStandby => State::HotStandby,
        HaMode::PassiveBackup => State::PassiveBackup,
    }
}

/// The two scopes HA can serve: the primary's and the secondary's (the
/// standby's is always empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    /// The primary's scope.
    pub primary: bool,
    /// The secondary's scope (load-balancing).
    pub secondary: bool,
}

impl Scopes {
    /// As a bit mask (bit 0 the primary's scope, bit 1 the secondary's).
    pub fn bits(self) -> u8 {
        u8::from(self.primary) | (u8::from(self.secondary) << 1)
    }

    /// From [`Scopes::bits`].
    pub fn from_bits(bits: u8) -> Scopes {
        Scopes {
            primary: bits & 1 != 0,
            secondary: bits & 2 != 0,
        }
    }
}

/// The scopes a server of `role` serves in `state` (`failover`: the
/// partner's auto-failover allows taking its scope, or maintenance asks).
pub fn scopes_in(state: State, mode: HaMode, role: HaRole, failover: bool) -> Scopes {
    let own = Scopes {
        primary: role == HaRole::Primary,
        secondary: role == HaRole::Secondary,
    };
    let all = Scopes {
        primary: true,
        secondary: mode == HaMode::LoadBalancing,
    };
    match state {
        State::Waiting | State::Syncing | State::Ready | State::InMaintenance | State::Backup => {
            Scopes::default()
        }
        State::PartnerInMaintenance => all,
        State::PartnerDown if failover => all,
        State::PartnerDown
        | State::LoadBalancing
        | State::HotStandby
        | State::CommunicationRecovery
        | State::Terminated
        | State::PassiveBackup => own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_services_follow_keas_table() {
        for state in STATES {
            assert_eq!(State::parse(state.name()), Some(state));
        }
        assert_eq!(State::parse("unavailable"), None);
        assert!(State::HotStandby.serves() && !State::Ready.serves() && State::Terminated.serves());
        let hs = scopes_in(State::HotStandby, HaMode::HotStandby, HaRole::Standby, true);
        assert_eq!(hs, Scopes::default());
        let down = scopes_in(
            State::PartnerDown,
            HaMode::HotStandby,
            HaRole::Standby,
            true,
        );
        assert_eq!(
            down,
            Scopes {
                primary: true,
                secondary: false
            }
        );
        let lb = scopes_in(
            State::LoadBalancing,
            HaMode::LoadBalancing,
            HaRole::Secondary,
            true,
        );
        assert_eq!(
            lb,
            Scopes {
                primary: false,
                secondary: true
            }
        );
        let lb_down = scopes_in(
            State::PartnerDown,
            HaMode::LoadBalancing,
            HaRole::Secondary,
            true,
        );
        assert_eq!(lb_down.bits(), 3);
        let no_failover = scopes_in(
            State::PartnerDown,
            HaMode::LoadBalancing,
            HaRole::Secondary,
            false,
        );
        assert_eq!(no_failover.bits(), 2);
    }
}
