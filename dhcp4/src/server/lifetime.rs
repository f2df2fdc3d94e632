//! Lease lifetimes and T1/T2 as Kea 2.2 chooses them
//! (AllocEngine::getValidLft, Dhcpv4Srv::setTeeTimes).

use crate::config::model::{Lifetime, Timers};

/// The valid lifetime for a client that asked for `requested` seconds
/// (option 51; 0 or absent: it asked for none) under `lifetime` (the first
/// of the client's classes that sets one, else the subnet's): the request
/// bounded by min and max, else the default.
pub(super) fn valid_lifetime(lifetime: &Lifetime, requested: Option<u32>) -> u32 {
    match requested {
        Some(asked) if asked > 0 => asked.clamp(lifetime.min, lifetime.max.max(lifetime.min)),
        _ => lifetime.default,
    }
}

/// T1 and T2 for a lease of `valid` seconds: the configured timers, else
/// (with `calculate-tee-times`) the percentages of `valid` rounded to the
/// nearest second. T2 is sent only below `valid`, T1 only below what is
/// sent above it (T2, else `valid`); 0 is never sent.
pub(super) fn tee_times(timers: &Timers, valid: u32) -> (Option<u32>, Option<u32>) {
    let percent = |p: f64| {
        let value = (p * f64::from(valid)).round();
        // Kea's static_cast<uint32_t>; percentages are below 1.
        if value.is_finite() && value >= 0.0 && value <= f64::from(u32::MAX) {
            value as u32
        } else {
            0
        }
    };
    let t2 = match timers.rebind {
        Some(t2) => t2,
        None if timers.calculate => percent(timers.t2_percent),
        None => 0,
    };
    let t2 = (t2 > 0 && t2 < valid).then_some(t2);
    let ceiling = t2.unwrap_or(valid);
    let t1 = match timers.renew {
        Some(t1) => t1,
        None if timers.calculate => percent(timers.t1_percent),
        None => 0,
    };
    let t1 = (t1 > 0 && t1 < ceiling).then_some(t1);
    (t1, t2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timers(renew: Option<u32>, rebind: Option<u32>, calculate: bool) -> Timers {
        Timers {
            renew,
            rebind,
            calculate,
            t1_percent: 0.5,
            t2_percent: 0.875,
        }
    }

    #[test]
    fn option_51_is_bounded_by_min_and_max_as_get_valid_lft() {
        let lifetime = Lifetime {
            default: 600,
            min: 300,
            max: 900,
        };
        assert_eq!(valid_lifetime(&lifetime, None), 600);
        assert_eq!(valid_lifetime(&lifetime, Some(0)), 600, "0 is no request");
        assert_eq!(valid_lifetime(&lifetime, Some(60)), 300);
        assert_eq!(valid_lifetime(&lifetime, Some(700)), 700);
        assert_eq!(valid_lifetime(&lifetime, Some(86_400)), 900);
    }

    #[test]
    fn tee_times_follow_set_tee_times() {
        // Configured timers win; calculated ones are rounded percentages.
        assert_eq!(
            tee_times(&timers(Some(100), Some(200), true), 1000),
            (Some(100), Some(200))
        );
        assert_eq!(
            tee_times(&timers(None, None, true), 1001),
            (Some(501), Some(876))
        );
        // Neither configured nor calculated (Kea's default): none sent.
        assert_eq!(tee_times(&timers(None, None, false), 1000), (None, None));
        // T2 not below the lifetime is not sent, and T1 is then bounded by
        // the lifetime; T1 not below T2 is not sent.
        assert_eq!(
            tee_times(&timers(Some(500), Some(1000), false), 1000),
            (Some(500), None)
        );
        assert_eq!(
            tee_times(&timers(Some(800), Some(700), false), 1000),
            (None, Some(700))
        );
        assert_eq!(
            tee_times(&timers(Some(1000), None, false), 1000),
            (None, None)
        );
    }
}
