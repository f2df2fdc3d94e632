//! The rate windows, factor and backoff with an injected clock (no sleeping),
//! and the hard cap on queries sent to a zone.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_proto::rr::Name;
use tokio::time::Instant;

use super::*;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn verdicts(window: &mut Window, second: u32, n: usize, limit: u32, factor: u32) -> Vec<Verdict> {
    (0..n)
        .map(|_| window.check(second, limit, factor, false).verdict)
        .collect()
}

/// Unbound's infra_rate_max without backoff: the current second's count
/// decides, and each second starts afresh.
#[test]
fn demand_is_counted_per_second() {
    let mut window = Window::default();
    let first: Vec<Check> = (0..5).map(|_| window.check(1, 3, 0, false)).collect();
    assert_eq!(
        first.iter().map(|c| c.verdict).collect::<Vec<_>>(),
        [
            Verdict::Within,
            Verdict::Within,
            Verdict::Within,
            Verdict::Limited,
            Verdict::Limited
        ]
    );
    assert_eq!(
        first.iter().map(|c| c.first_over).collect::<Vec<_>>(),
        [false, false, false, true, false],
        "the query that crosses the limit is the one logged"
    );
    assert_eq!(
        verdicts(&mut window, 2, 3, 3, 0),
        [Verdict::Within; 3],
        "a new second starts afresh"
    );
}

/// ratelimit-factor / ip-ratelimit-factor: 1 in `factor` of the excess slips
/// through; 0 lets none through.
#[test]
fn factor_lets_one_in_n_of_the_excess_through() {
    let mut window = Window::default();
    let got = verdicts(&mut window, 1, 8, 2, 3);
    use Verdict::*;
    assert_eq!(
        got,
        [Within, Within, Limited, Limited, Slipped, Limited, Limited, Slipped]
    );
    let mut none = Window::default();
    assert!(verdicts(&mut none, 1, 50, 2, 0)[2..]
        .iter()
        .all(|v| *v == Limited));
    let mut all = Window::default();
    assert!(verdicts(&mut all, 1, 10, 2, 1)[2..]
        .iter()
        .all(|v| *v == Slipped));
}

/// ratelimit-backoff: a second over the limit keeps the key limited while it
/// is in the 2-second window, even when the current second's demand is low.
#[test]
fn backoff_keeps_the_key_limited_over_the_window() {
    let mut plain = Window::default();
    let mut backoff = Window::default();
    for _ in 0..10 {
        plain.check(1, 3, 0, false);
        backoff.check(1, 3, 0, true);
    }
    assert_eq!(plain.check(2, 3, 0, false).verdict, Verdict::Within);
    assert_eq!(backoff.check(2, 3, 0, true).verdict, Verdict::Limited);
    // Second 3: second 1 leaves the window as second 3 takes its place.
    assert_eq!(backoff.check(3, 3, 0, true).verdict, Verdict::Within);
    // Demand that stays over the limit keeps it limited.
    let mut flood = Window::default();
    for second in 1..=5 {
        for _ in 0..10 {
            flood.check(second, 3, 0, true);
        }
    }
    assert_eq!(flood.check(6, 3, 0, true).verdict, Verdict::Limited);
}

/// The send cap: never more than the limit over any span of one second,
/// however the sends fall on the slots.
#[test]
fn send_cap_holds_over_any_one_second_span() {
    let mut cap = SendCap::default();
    assert_eq!((0..8).filter(|_| cap.try_take(0, 5, false)).count(), 5);
    assert!(
        !cap.try_take(10, 5, false),
        "slot 10 is within a second of slot 0's sends"
    );
    assert!(
        cap.try_take(11, 5, false),
        "slot 11 starts more than a second later"
    );

    // Sends tried every 7 ms for 10 s: every 1-second span holds at most 5.
    let mut cap = SendCap::default();
    let sent: Vec<u64> = (0..10_000u64)
        .step_by(7)
        .filter(|ms| cap.try_take(ms / 100, 5, false))
        .collect();
    for (i, start) in sent.iter().enumerate() {
        let in_span = sent[i..].iter().take_while(|t| **t < start + 1000).count();
        assert!(in_span <= 5, "{in_span} sends within 1 s of {start} ms");
    }
    assert!(sent.len() >= 40, "the capacity is used: {}", sent.len());
}

fn zone_limiter(config: ZoneLimitConfig, now: Instant) -> ZoneLimiter {
    ZoneLimiter::new(&config, Counter::noop(), now).unwrap()
}

/// A random-subdomain flood against one zone: Unbound would send
/// limit + excess / factor a second; ours sends at most the limit over any
/// second, and the capacity is used.
#[test]
fn flood_sends_at_most_the_limit_per_second() {
    for (factor, backoff) in [(10, false), (0, false), (10, true), (1, false)] {
        let t0 = Instant::now();
        let limiter = zone_limiter(
            ZoneLimitConfig {
                qps: 10,
                factor,
                backoff,
                ..ZoneLimitConfig::default()
            },
            t0,
        );
        let zone = name("victim.example.");
        // 1000 queries a second for 5 s.
        let sent: Vec<u64> = (0..5000u64)
            .filter(|ms| {
                limiter
                    .admit(&zone, Attempt::Query, t0 + Duration::from_millis(*ms))
                    .send
            })
            .collect();
        for (i, start) in sent.iter().enumerate() {
            let in_span = sent[i..].iter().take_while(|t| **t < start + 1000).count();
            assert!(
                in_span <= 10,
                "factor {factor} backoff {backoff}: {in_span} in 1 s"
            );
        }
        if !backoff || factor != 0 {
            assert!(
                sent.len() >= 35,
                "factor {factor} backoff {backoff}: only {} sent",
                sent.len()
            );
        }
        // Another zone is not affected.
        assert!(
            limiter
                .admit(
                    &name("other.example."),
                    Attempt::Query,
                    t0 + Duration::from_millis(5000)
                )
                .send
        );
    }
}

/// Under a flood the zone's sends are spread over the window, a tenth of
/// the limit per 100 ms, instead of going out in one burst each time the
/// window frees; a burst within the limit is not held back.
#[test]
fn flood_sends_are_paced_and_a_burst_within_the_limit_is_not() {
    let t0 = Instant::now();
    let limiter = zone_limiter(
        ZoneLimitConfig {
            qps: 100,
            ..ZoneLimitConfig::default()
        },
        t0,
    );
    let zone = name("victim.example.");
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let burst = (0..100)
        .filter(|_| limiter.admit(&zone, Attempt::Query, at(0)).send)
        .count();
    assert_eq!(
        burst, 100,
        "a burst of the limit, no flood: all sent at once"
    );

    // 20 queries a millisecond for 5 s, from 3 s on (the burst's window and
    // demand long gone).
    let sent: Vec<u64> = (3000..8000u64)
        .flat_map(|ms| std::iter::repeat_n(ms, 20))
        .filter(|ms| limiter.admit(&zone, Attempt::Query, at(*ms)).send)
        .collect();
    let in_slot = |from: u64| {
        sent.iter()
            .filter(|t| (from..from + 100).contains(*t))
            .count()
    };
    assert_eq!(
        in_slot(3000),
        100,
        "the flood's first 100 are within the limit"
    );
    for from in (4100..8000).step_by(100) {
        assert!(
            in_slot(from) <= 10,
            "{} sent in the 100 ms from {from}",
            in_slot(from)
        );
    }
    let paced = sent.iter().filter(|t| **t >= 4100).count();
    assert!(paced >= 300, "the capacity is used: {paced} in 3.9 s");
    for (i, start) in sent.iter().enumerate() {
        let in_span = sent[i..].iter().take_while(|t| **t < start + 1000).count();
        assert!(in_span <= 100, "{in_span} sends within 1 s of {start} ms");
    }
}

/// ratelimit-backoff with ratelimit-factor 0: nothing is sent while the
/// demand stays over the limit, and sending resumes once it falls.
#[test]
fn backoff_without_factor_is_a_hard_stop() {
    let t0 = Instant::now();
    let limiter = zone_limiter(
        ZoneLimitConfig {
            qps: 5,
            factor: 0,
            backoff: true,
            ..ZoneLimitConfig::default()
        },
        t0,
    );
    let zone = name("victim.example.");
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let first: usize = (0..100u64)
        .filter(|ms| limiter.admit(&zone, Attempt::Query, at(*ms)).send)
        .count();
    assert_eq!(first, 5);
    // Seconds 2 to 4 at 100 queries a second: limited all along.
    let during = (1000..4000u64)
        .step_by(10)
        .filter(|ms| limiter.admit(&zone, Attempt::Query, at(*ms)).send)
        .count();
    assert_eq!(during, 0);
    // The flood stops; two quiet seconds later the zone is served again.
    assert!(limiter.admit(&zone, Attempt::Query, at(7000)).send);
}

/// Prefetches and retries are not demand (Unbound exempts prefetch) but are
/// sent, so they stay within the cap.
#[test]
fn exempt_attempts_stay_within_the_cap() {
    let t0 = Instant::now();
    let limiter = zone_limiter(
        ZoneLimitConfig {
            qps: 3,
            factor: 0,
            ..ZoneLimitConfig::default()
        },
        t0,
    );
    let zone = name("victim.example.");
    let sent = (0..10)
        .filter(|_| limiter.admit(&zone, Attempt::Exempt, t0).send)
        .count();
    assert_eq!(sent, 3);
}

/// Unbound's infra_find_ratelimit: ratelimit-for-domain for the exact zone,
/// the closest ratelimit-below-domain strictly above it, else ratelimit; a
/// limit of 0 exempts the zone.
#[test]
fn per_domain_overrides() {
    let t0 = Instant::now();
    let limiter = zone_limiter(
        ZoneLimitConfig {
            qps: 100,
            for_domain: vec![(name("example.com."), 5), (name("free.org."), 0)],
            below_domain: vec![(name("example.com."), 7), (name("com."), 9)],
            ..ZoneLimitConfig::default()
        },
        t0,
    );
    assert_eq!(limiter.limit_for(&name("example.com.")), 5);
    assert_eq!(limiter.limit_for(&name("EXAMPLE.com.")), 5);
    assert_eq!(limiter.limit_for(&name("sub.example.com.")), 7);
    assert_eq!(limiter.limit_for(&name("a.sub.example.com.")), 7);
    assert_eq!(limiter.limit_for(&name("other.com.")), 9);
    assert_eq!(
        limiter.limit_for(&name("com.")),
        100,
        "below is strictly below"
    );
    assert_eq!(limiter.limit_for(&name("org.")), 100);
    assert_eq!(limiter.limit_for(&name(".")), 100);
    let free = name("free.org.");
    assert!((0..1000).all(|_| limiter.admit(&free, Attempt::Query, t0).send));
    let five = name("example.com.");
    assert_eq!(
        (0..20)
            .filter(|_| limiter.admit(&five, Attempt::Query, t0).send)
            .count(),
        5
    );
}

/// ratelimit: 0 turns every limit off, overrides included (as Unbound).
#[test]
fn zero_disables() {
    let config = ZoneLimitConfig {
        qps: 0,
        for_domain: vec![(name("example.com."), 5)],
        ..ZoneLimitConfig::default()
    };
    assert!(ZoneLimiter::new(&config, Counter::noop(), Instant::now()).is_none());
    assert!(IpLimiter::new(&IpLimitConfig::default(), Instant::now()).is_none());
}

/// ip-ratelimit: per address, Unbound's window and factor.
#[test]
fn ip_limit_is_per_address() {
    let t0 = Instant::now();
    let limiter = IpLimiter::new(
        &IpLimitConfig {
            qps: 4,
            factor: 0,
            ..IpLimitConfig::default()
        },
        t0,
    )
    .unwrap();
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let passed = (0..10)
        .filter(|_| limiter.check(a, false, t0).verdict == Verdict::Within)
        .count();
    assert_eq!(passed, 4);
    assert_eq!(limiter.check(b, false, t0).verdict, Verdict::Within);
    let later = t0 + Duration::from_millis(1000);
    assert_eq!(limiter.check(a, false, later).verdict, Verdict::Within);
}

/// ip-ratelimit-cookie (Unbound's check_ip_ratelimit): queries with a valid
/// cookie are held to their own limit, none slips through by the factor, and
/// they count toward the address's rate; with 0 they are never limited.
#[test]
fn valid_cookies_have_their_own_limit() {
    let t0 = Instant::now();
    let config = IpLimitConfig {
        qps: 2,
        cookie_qps: 5,
        factor: 1,
        ..IpLimitConfig::default()
    };
    let limiter = IpLimiter::new(&config, t0).unwrap();
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let with_cookie: Vec<Verdict> = (0..7).map(|_| limiter.check(a, true, t0).verdict).collect();
    assert_eq!(with_cookie[..5], [Verdict::Within; 5]);
    assert_eq!(
        with_cookie[5..],
        [Verdict::Limited; 2],
        "no factor slip with a cookie"
    );
    // The cookie queries used up the address's rate: without a cookie the
    // factor (1: every query over the limit) lets it through, marked as a slip.
    assert_eq!(limiter.check(a, false, t0).verdict, Verdict::Slipped);

    let unlimited = IpLimiter::new(
        &IpLimitConfig {
            cookie_qps: 0,
            factor: 0,
            ..config
        },
        t0,
    )
    .unwrap();
    assert!((0..50).all(|_| unlimited.check(a, true, t0).verdict == Verdict::Within));
    assert_eq!(unlimited.check(a, false, t0).verdict, Verdict::Limited);
}

/// ip-ratelimit-size bounds the table: a flood of spoofed sources cannot
/// grow it past its size.
#[test]
fn tables_are_bounded_by_size() {
    let t0 = Instant::now();
    let limiter = IpLimiter::new(
        &IpLimitConfig {
            qps: 1,
            table: TableConfig {
                size: 16 * 1024,
                slabs: Some(4),
            },
            ..IpLimitConfig::default()
        },
        t0,
    )
    .unwrap();
    for i in 0..50_000u32 {
        limiter.check(IpAddr::V4(Ipv4Addr::from(i)), false, t0);
    }
    let per_entry =
        (std::mem::size_of::<IpAddr>() + std::mem::size_of::<Window>()) as u64 + ENTRY_OVERHEAD;
    let bound = (16 * 1024 / per_entry) as usize;
    assert!(
        limiter.len() <= bound,
        "{} entries, bound {bound}",
        limiter.len()
    );
    assert!(
        limiter.len() > bound / 4,
        "the table is used: {}",
        limiter.len()
    );
}
