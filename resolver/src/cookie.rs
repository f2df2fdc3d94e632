//! DNS Cookies for clients (RFC 7873, server side), with the interoperable
//! server cookie of RFC 9018 so that a client talking to several of our
//! replicas (or to BIND and Unbound sharing the secret) keeps one cookie.
//!
//! Behaviour follows Unbound's `parse_edns_options_from_query` and
//! `edns_cookie_server_validate` (util/edns.c): only with `answer-cookie:
//! yes`; the first COOKIE option counts; a length other than 8 or 16..=40 is
//! FORMERR (RFC 7873 §5.2.2); a valid 24-byte cookie is echoed; anything else
//! (client cookie only, another length, wrong version or hash, older than an
//! hour, more than five minutes in the future, or valid but older than half an
//! hour or made with the staging secret) gets a fresh server cookie and the
//! query is answered normally. BADCOOKIE is Unbound's answer only for clients
//! under `access-control: ... allow_cookie`, which we refuse at load, so it is
//! never sent.
//!
//! HOT PATH: validating and writing a cookie is a few fixed-size copies on the
//! stack and one SipHash-2-4 per secret; nothing is allocated.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// Length of a server secret (RFC 9018 §4.4: 128 bits, as SipHash-2-4's key).
pub const SECRET_LEN: usize = 16;

/// A server secret.
pub type Secret = [u8; SECRET_LEN];

/// Length of the whole COOKIE option we send: client cookie (8) and the
/// RFC 9018 server cookie (16).
pub const COOKIE_LEN: usize = 24;

/// The COOKIE option data of a reply: client cookie and server cookie.
pub type ReplyCookie = [u8; COOKIE_LEN];

/// Secrets Unbound keeps from `cookie-secret-file` (UNBOUND_COOKIE_HISTORY_SIZE):
/// the active one, and a staging one that is accepted but never written.
pub const MAX_SECRETS: usize = 2;

/// Server cookies older than this are refused (RFC 9018 §4.3: one hour).
const MAX_AGE: u32 = 3600;
/// Server cookies older than this are valid but replaced (RFC 9018 §4.3).
const RENEW_AGE: u32 = 1800;
/// Timestamps further ahead than this are refused (RFC 9018 §4.3: 5 minutes).
const MAX_FUTURE: u32 = 300;

/// What a query's COOKIE option amounts to (Unbound's `edns_cookie_val_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not a 24-byte client and server cookie (a client cookie alone, or a
    /// server cookie of another format): a fresh one is sent.
    ClientOnly,
    /// The timestamp is more than five minutes ahead.
    Future,
    /// The timestamp is more than an hour old.
    Expired,
    /// Wrong version, or the hash does not match any secret.
    Invalid,
    /// Ours, and recent: echoed as it is.
    Valid,
    /// Ours, but over half an hour old or made with the staging secret:
    /// valid, and replaced by a fresh one.
    ValidRenew,
}

impl Status {
    /// Whether the client proved it saw one of our replies (RFC 7873 §5.2.4):
    /// what `ip-ratelimit-cookie` lets through at its own rate.
    pub fn is_valid(self) -> bool {
        matches!(self, Status::Valid | Status::ValidRenew)
    }
}

/// A COOKIE option whose length RFC 7873 §4 does not allow: FORMERR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("COOKIE option of {0} bytes: expected 8, or 16 to 40")]
pub struct Malformed(pub usize);

/// The verdict on one query's COOKIE option and the option data to reply with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// What the client sent amounts to.
    pub status: Status,
    /// The COOKIE option for the reply; None when `cookie-secret-file` holds
    /// no secret (Unbound then sends none either).
    pub reply: Option<ReplyCookie>,
}

/// The server secrets: the active one first, then one staging secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCookies {
    secrets: [Secret; MAX_SECRETS],
    count: usize,
}

/// Secrets stay out of logs: only how many there are.
impl std::fmt::Debug for ServerCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCookies")
            .field("secrets", &self.count)
            .finish()
    }
}

impl ServerCookies {
    /// Cookies with `secrets` (the first active; at most [`MAX_SECRETS`]
    /// are used, as Unbound reads at most that many lines).
    pub fn new(secrets: &[Secret]) -> Self {
        let mut kept = [[0; SECRET_LEN]; MAX_SECRETS];
        let count = secrets.len().min(MAX_SECRETS);
        kept[..count].copy_from_slice(&secrets[..count]);
        Self {
            secrets: kept,
            count,
        }
    }

    /// Judges the COOKIE option `option` a client at `client` sent, at Unix
    /// time `now` (seconds, as the RFC's 32-bit timestamp).
    pub fn answer(&self, option: &[u8], client: IpAddr, now: u32) -> Result<Answer, Malformed> {
        // RFC 7873 §5.2.2 and Unbound: 8 bytes, or a client cookie with a
        // server cookie of 8 to 32 bytes.
        if option.len() != 8 && !(16..=40).contains(&option.len()) {
            return Err(Malformed(option.len()));
        }
        let status = self.validate(option, client, now);
        let reply = match status {
            Status::Valid => option.try_into().ok(),
            _ => self.active().map(|secret| {
                write(
                    option[..8].try_into().unwrap_or([0; 8]),
                    client,
                    secret,
                    now,
                )
            }),
        };
        Ok(Answer { status, reply })
    }

    fn active(&self) -> Option<&Secret> {
        self.secrets[..self.count].first()
    }

    /// Unbound's `cookie_secrets_server_validate`: every secret is tried; one
    /// valid under the staging secret is renewed under the active one.
    fn validate(&self, option: &[u8], client: IpAddr, now: u32) -> Status {
        let Ok(cookie) = <&ReplyCookie>::try_from(option) else {
            return Status::ClientOnly;
        };
        let mut last = Status::Invalid;
        for (i, secret) in self.secrets[..self.count].iter().enumerate() {
            match validate_one(cookie, client, secret, now) {
                Status::Valid if i > 0 => return Status::ValidRenew,
                status if status.is_valid() => return status,
                status => {
                    if last == Status::Invalid {
                        last = status;
                    }
                }
            }
        }
        last
    }
}

/// RFC 9018 §4.4: SipHash-2-4(Client Cookie | Version | Reserved | Timestamp
/// | Client-IP, Server Secret), the first 16 bytes as the client sent them.
fn hash(head: &[u8; 16], client: IpAddr, secret: &Secret) -> [u8; 8] {
    let mut hasher = SipHasher24::new_with_key(secret);
    hasher.write(head);
    match client {
        IpAddr::V4(ip) => hasher.write(&ip.octets()),
        IpAddr::V6(ip) => hasher.write(&ip.octets()),
    }
    // The reference implementation writes the 64-bit result little-endian.
    hasher.finish().to_le_bytes()
}

/// Unbound's `edns_cookie_server_validate` for one secret.
fn validate_one(cookie: &ReplyCookie, client: IpAddr, secret: &Secret, now: u32) -> Status {
    if cookie[8] != 1 {
        return Status::Invalid;
    }
    let timestamp = u32::from_be_bytes([cookie[12], cookie[13], cookie[14], cookie[15]]);
    // Serial-number arithmetic (RFC 1982), so the 2106 wrap is harmless.
    let age = now.wrapping_sub(timestamp);
    let past = age != 0 && age < 1 << 31;
    if past && age > MAX_AGE {
        return Status::Expired;
    }
    if !past && timestamp.wrapping_sub(now) > MAX_FUTURE {
        return Status::Future;
    }
    let mut head = [0u8; 16];
    head.copy_from_slice(&cookie[..16]);
    if hash(&head, client, secret) != cookie[16..] {
        return Status::Invalid;
    }
    if past && age > RENEW_AGE {
        return Status::ValidRenew;
    }
    Status::Valid
}

/// Unbound's `edns_cookie_server_write`: version 1, reserved zero, the time
/// `now`, and the hash over them with `client_cookie` and the client address.
pub fn write(client_cookie: [u8; 8], client: IpAddr, secret: &Secret, now: u32) -> ReplyCookie {
    let mut head = [0u8; 16];
    head[..8].copy_from_slice(&client_cookie);
    head[8] = 1;
    head[12..].copy_from_slice(&now.to_be_bytes());
    let mut cookie = [0u8; COOKIE_LEN];
    cookie[..16].copy_from_slice(&head);
    cookie[16..].copy_from_slice(&hash(&head, client, secret));
    cookie
}

/// Parses a secret written as 32 hex digits (`cookie-secret:` and each line
/// of `cookie-secret-file`).
pub fn parse_secret(text: &str) -> Option<Secret> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * SECRET_LEN {
        return None;
    }
    let mut secret = [0u8; SECRET_LEN];
    for (byte, pair) in secret.iter_mut().zip(bytes.chunks_exact(2)) {
        let digits = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(secret)
}

/// Reads a `cookie-secret-file` as Unbound does (`cookie_secret_file_read`):
/// one secret of 32 hex digits per line, at most [`MAX_SECRETS`] lines read,
/// the first the active secret. An empty file gives no secret (and replies
/// then carry no cookie, as Unbound's).
pub fn parse_secret_file(text: &str) -> Result<Vec<Secret>, String> {
    let mut secrets = Vec::new();
    for (i, line) in text.split_inclusive('\n').take(MAX_SECRETS).enumerate() {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let secret = parse_secret(line).ok_or_else(|| {
            format!(
                "line {}: expected a secret of 32 hex digits, found {:?}",
                i + 1,
                line
            )
        })?;
        secrets.push(secret);
    }
    Ok(secrets)
}

/// A random secret, for `answer-cookie: yes` without `cookie-secret` or a
/// secret file (Unbound's `init_cookie_secret`: 128 random bits at start).
pub fn random_secret() -> Secret {
    rand::random()
}

/// Unix time as the RFC 9018 32-bit timestamp.
pub fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

#[cfg(test)]
mod tests;
