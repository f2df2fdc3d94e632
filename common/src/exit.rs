//! Process exit codes shared by the three daemons.
//!
//! They follow sysexits(3), so scripts and Kubernetes events tell an operator's
//! mistake (fix the config, do not restart in a loop) from a runtime failure.

/// Bad configuration or command-line arguments (`EX_USAGE` in sysexits(3)): the config
/// file is missing, unreadable or invalid, or an argument is malformed. Restarting
/// will not help; the operator must fix the input.
pub const EX_USAGE: u8 = 64;

/// A runtime failure after the configuration was accepted: a socket could not be
/// bound, the runtime could not start, a listener failed.
pub const EX_FAILURE: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_sysexits() {
        assert_eq!(EX_USAGE, 64);
        assert_eq!(EX_FAILURE, 1);
    }
}
