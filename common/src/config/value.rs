//! Shared value parsers for config files: yes/no, sizes with `k`/`m`/`g` suffixes,
//! whole numbers, milliseconds and seconds, CIDR netblocks.
//!
//! Each parser returns `Err(String)` with a message that names what was expected and
//! what was found; the caller wraps it in a [`super::ConfigError`] that adds the file,
//! line and key. Parsers are strict where the original daemons are sloppy (Unbound
//! reads numbers with `atoi`, so `12abc` is 12 there): a typo is an error here, never
//! a silently different value.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

/// `yes` or `no` (any case), as Unbound's boolean options are written.
pub fn parse_yes_no(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(format!("expected yes or no, found `{value}`"))
    }
}

/// A memory or file size: a whole number of bytes with an optional `k`, `m` or `g`
/// suffix (powers of 1024, any case), optionally followed by `b`, spaces allowed
/// between number and suffix: `1024`, `100k`, `4m`, `1G`, `4mb`, `16 m`.
///
/// This is Unbound's `cfg_parse_memsize` (util/config_file.c), with overflow checked.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let bad = || format!("expected a size such as 1024, 100k, 4m or 1g, found `{value}`");
    let mut rest = value.trim_end_matches(' ');
    if rest.is_empty() {
        return Err(bad());
    }
    // An optional trailing b/B ("4mb"), then an optional k/m/g multiplier.
    if rest.len() > 1 && (rest.ends_with('b') || rest.ends_with('B')) {
        rest = &rest[..rest.len() - 1];
    }
    let multiplier: u64 = match rest.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') if rest.len() > 1 => 1 << 10,
        Some('m') if rest.len() > 1 => 1 << 20,
        Some('g') if rest.len() > 1 => 1 << 30,
        Some(c) if c.is_ascii_digit() => 1,
        _ => return Err(bad()),
    };
    if multiplier != 1 {
        rest = &rest[..rest.len() - 1];
    }
    let digits = rest.trim_end_matches(' ');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("size `{value}` is too large"))
}

/// Parses an unsigned whole number of type `T`, naming the accepted range on error.
fn parse_unsigned<T>(value: &str, max: u64) -> Result<T, String>
where
    T: TryFrom<u64>,
{
    let range = || format!("expected a whole number from 0 to {max}, found `{value}`");
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(range());
    }
    let n: u64 = value.parse().map_err(|_| range())?;
    if n > max {
        return Err(range());
    }
    T::try_from(n).map_err(|_| range())
}

/// A whole number from 0 to 4294967295.
pub fn parse_u32(value: &str) -> Result<u32, String> {
    parse_unsigned(value, u64::from(u32::MAX))
}

/// A whole number from 0 to 65535.
pub fn parse_u16(value: &str) -> Result<u16, String> {
    parse_unsigned(value, u64::from(u16::MAX))
}

/// A whole number that fits the platform's `usize`.
pub fn parse_usize(value: &str) -> Result<usize, String> {
    parse_unsigned(value, usize::MAX as u64)
}

/// A port number from 1 to 65535 (0 is rejected: it would mean "any port").
pub fn parse_port(value: &str) -> Result<u16, String> {
    match parse_u16(value) {
        Ok(0) | Err(_) => Err(format!(
            "expected a port number from 1 to 65535, found `{value}`"
        )),
        Ok(port) => Ok(port),
    }
}

/// A duration written as a whole number of milliseconds (`1800`).
pub fn parse_millis(value: &str) -> Result<Duration, String> {
    parse_u64_unit(value, "milliseconds").map(Duration::from_millis)
}

/// A duration written as a whole number of seconds (`900`).
pub fn parse_seconds(value: &str) -> Result<Duration, String> {
    parse_u64_unit(value, "seconds").map(Duration::from_secs)
}

fn parse_u64_unit(value: &str, unit: &str) -> Result<u64, String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected a whole number of {unit}, found `{value}`"
        ));
    }
    value
        .parse()
        .map_err(|_| format!("`{value}` {unit} is too large"))
}

/// A netblock in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a
/// host route (`/32` or `/128`), as Unbound's `access-control` reads it.
///
/// Host bits are kept as written (`10.1.2.3/8` stays so); callers that need the
/// network apply [`IpNet::trunc`].
pub fn parse_ip_net(value: &str) -> Result<IpNet, String> {
    if value.contains('/') {
        value.parse::<IpNet>().map_err(|_| {
            format!("expected a netblock such as 10.0.0.0/8 or 2001:db8::/32, found `{value}`")
        })
    } else {
        value.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            format!("expected an IP address or netblock such as 10.0.0.0/8, found `{value}`")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_accepts_both_cases_and_names_the_bad_value() {
        assert_eq!(parse_yes_no("yes"), Ok(true));
        assert_eq!(parse_yes_no("NO"), Ok(false));
        let err = parse_yes_no("true").unwrap_err();
        assert!(err.contains("yes or no") && err.contains("`true`"), "{err}");
    }

    #[test]
    fn size_follows_unbound_memsize() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("100k"), Ok(100 * 1024));
        assert_eq!(parse_size("100K"), Ok(100 * 1024));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert_eq!(parse_size("4mb"), Ok(4 << 20));
        assert_eq!(parse_size("4MB"), Ok(4 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("16 m"), Ok(16 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("12b"), Ok(12));
    }

    #[test]
    fn size_rejects_garbage_and_overflow() {
        for bad in ["", "m", "4x", "-1", "4.5m", "k4", "4 m m", "mb"] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
        let err = parse_size("99999999999999999999g").unwrap_err();
        assert!(
            err.contains("too large") || err.contains("expected"),
            "{err}"
        );
        assert!(parse_size("17179869184g").is_err());
    }

    #[test]
    fn integers_name_their_range() {
        assert_eq!(parse_u32("86400"), Ok(86400));
        assert_eq!(parse_u16("65535"), Ok(65535));
        assert_eq!(parse_usize("1024"), Ok(1024));
        let err = parse_u16("65536").unwrap_err();
        assert!(err.contains("0 to 65535") && err.contains("65536"), "{err}");
        assert!(parse_u32("-1").is_err());
        assert!(parse_u32("12abc").is_err());
        assert!(parse_u32("").is_err());
        assert!(parse_u32("4294967296").is_err());
    }

    #[test]
    fn port_rejects_zero() {
        assert_eq!(parse_port("53"), Ok(53));
        assert!(parse_port("0").unwrap_err().contains("1 to 65535"));
        assert!(parse_port("70000").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_millis("1800"), Ok(Duration::from_millis(1800)));
        assert_eq!(parse_seconds("900"), Ok(Duration::from_secs(900)));
        assert!(parse_millis("1.5").unwrap_err().contains("milliseconds"));
        assert!(parse_seconds("30s").unwrap_err().contains("seconds"));
    }

    #[test]
    fn ip_net_bare_address_is_a_host_route() {
        assert_eq!(
            parse_ip_net("10.0.0.0/8").map(|n| n.to_string()),
            Ok("10.0.0.0/8".into())
        );
        assert_eq!(
            parse_ip_net("192.0.2.1").map(|n| n.to_string()),
            Ok("192.0.2.1/32".into())
        );
        assert_eq!(
            parse_ip_net("::1").map(|n| n.to_string()),
            Ok("::1/128".into())
        );
        assert_eq!(
            parse_ip_net("2001:db8::/32").map(|n| n.to_string()),
            Ok("2001:db8::/32".into())
        );
        assert!(parse_ip_net("10.0.0.0/33").is_err());
        assert!(parse_ip_net("example.com")
            .unwrap_err()
            .contains("example.com"));
        assert!(parse_ip_net("fe80::1%eth0").is_err());
    }
}
