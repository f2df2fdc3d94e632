//! RFC 9018 Appendix A's test vectors (as Unbound's testcode/unitmain.c runs
//! them), byte for byte, and the validation edge cases.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

fn secret() -> Secret {
    parse_secret(SECRET).unwrap()
}

fn cookies() -> ServerCookies {
    ServerCookies::new(&[secret()])
}

const CLIENT_A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100));
const CLIENT_B: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 203));

/// RFC 9018 A.1: a client cookie alone gets a server cookie, byte-exact.
#[test]
fn rfc9018_a1_learning_a_new_server_cookie() {
    let answer = cookies()
        .answer(&hex("2464c4abcf10c957"), CLIENT_A, 1_559_731_985)
        .unwrap();
    assert_eq!(answer.status, Status::ClientOnly);
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
    );
}

/// RFC 9018 A.2: the cookie of A.1 sent back 40 minutes later is valid and
/// renewed (older than half an hour).
#[test]
fn rfc9018_a2_the_same_client_learning_a_renewed_server_cookie() {
    let sent = hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
    let answer = cookies().answer(&sent, CLIENT_A, 1_559_734_385).unwrap();
    assert_eq!(answer.status, Status::ValidRenew);
    assert!(answer.status.is_valid());
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
    );
}

/// RFC 9018 A.3: a cookie over an hour old (reserved bits set by another
/// server) is expired and replaced; the reply's reserved bits are zero.
#[test]
fn rfc9018_a3_another_client_with_an_expired_server_cookie() {
    let sent = hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
    let answer = cookies().answer(&sent, CLIENT_B, 1_559_734_700).unwrap();
    assert_eq!(answer.status, Status::Expired);
    assert!(!answer.status.is_valid());
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
    );
}

/// Unbound's a3_better, invalid_hash and invalid_version vectors: reserved
/// bits are hashed as sent; a wrong hash or version is invalid.
#[test]
fn reserved_bits_hash_and_version() {
    let c = cookies();
    let sent = hex("fc93fc62807ddb8601abcdef0000000032f243b9bcfec406");
    let answer = c.answer(&sent, CLIENT_B, 1801).unwrap();
    assert_eq!(answer.status, Status::ValidRenew);
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("fc93fc62807ddb86010000000000070962d59309145c239d")
    );
    let wrong_hash = hex("fc93fc62807ddb86010000000000000032f243b9bcfec406");
    let answer = c.answer(&wrong_hash, CLIENT_B, 0).unwrap();
    assert_eq!(answer.status, Status::Invalid);
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("fc93fc62807ddb860100000000000000ba0d82908faaebbd")
    );
    let version = hex("2464c4abcf10c957990000005cf79f111f8130c3eee29480");
    let answer = c.answer(&version, CLIENT_A, 1_559_734_385).unwrap();
    assert_eq!(answer.status, Status::Invalid);
    assert_eq!(
        answer.reply.unwrap().to_vec(),
        hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
    );
}

/// A fresh cookie is echoed as sent; the same cookie from another address,
/// or too far in the future, is not valid.
#[test]
fn valid_is_echoed_and_bound_to_the_client_address() {
    let c = cookies();
    let now = 1_700_000_000;
    let v6 = IpAddr::V6(Ipv6Addr::new(
        0x2001, 0xdb8, 0x220, 1, 0x59de, 0xd0f4, 0x8769, 0x82b8,
    ));
    for client in [CLIENT_A, v6] {
        let first = c.answer(&hex("22681ab97d52c298"), client, now).unwrap();
        let cookie = first.reply.unwrap();
        let again = c.answer(&cookie, client, now + 60).unwrap();
        assert_eq!(
            again,
            Answer {
                status: Status::Valid,
                reply: Some(cookie)
            }
        );
        let elsewhere = c.answer(&cookie, CLIENT_B, now + 60).unwrap();
        assert_eq!(elsewhere.status, Status::Invalid);
        assert_ne!(elsewhere.reply, Some(cookie));
        let early = c.answer(&cookie, client, now - 301).unwrap();
        assert_eq!(early.status, Status::Future);
        assert_eq!(
            c.answer(&cookie, client, now - 300).unwrap().status,
            Status::Valid
        );
    }
}

/// RFC 7873 §5.2.2: lengths other than 8 and 16..=40 are malformed (FORMERR);
/// 16..=40 other than 24 are a client cookie with a foreign server cookie.
#[test]
fn malformed_lengths() {
    let c = cookies();
    for len in [0, 1, 7, 9, 15, 41, 64] {
        assert_eq!(
            c.answer(&vec![7; len], CLIENT_A, 0),
            Err(Malformed(len)),
            "{len}"
        );
    }
    for len in [16, 23, 25, 40] {
        let answer = c.answer(&vec![7; len], CLIENT_A, 0).unwrap();
        assert_eq!(answer.status, Status::ClientOnly, "{len}");
        assert_eq!(answer.reply.unwrap()[..8], [7; 8]);
    }
}

/// Secret rollover as Unbound's cookie-secret-file: a cookie made with the
/// staging (second) secret is valid and renewed with the active one; with no
/// secret at all nothing is written.
#[test]
fn staging_secret_is_accepted_and_renewed() {
    let old = secret();
    let new = parse_secret("000102030405060708090a0b0c0d0e0f").unwrap();
    let now = 1_700_000_000;
    let made_by_old = write(*b"abcdefgh", CLIENT_A, &old, now);
    let rolled = ServerCookies::new(&[new, old]);
    let answer = rolled.answer(&made_by_old, CLIENT_A, now + 1).unwrap();
    assert_eq!(answer.status, Status::ValidRenew);
    assert_eq!(
        answer.reply,
        Some(write(*b"abcdefgh", CLIENT_A, &new, now + 1))
    );
    let only_new = ServerCookies::new(&[new]);
    assert_eq!(
        only_new.answer(&made_by_old, CLIENT_A, now).unwrap().status,
        Status::Invalid
    );
    let none = ServerCookies::new(&[]);
    assert_eq!(
        none.answer(&made_by_old, CLIENT_A, now).unwrap(),
        Answer {
            status: Status::Invalid,
            reply: None
        }
    );
}

#[test]
fn secret_file_format() {
    let file =
        format!("{SECRET}\n000102030405060708090a0b0c0d0e0f\nffffffffffffffffffffffffffffffff\n");
    let secrets = parse_secret_file(&file).unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0], secret());
    assert_eq!(parse_secret_file("").unwrap(), Vec::<Secret>::new());
    assert_eq!(parse_secret_file(SECRET).unwrap().len(), 1);
    assert!(parse_secret_file("\n").is_err());
    assert!(parse_secret_file("e5e973e5a6b2a43f48e7dc849e37bfc\n").is_err());
    assert!(parse_secret_file("g5e973e5a6b2a43f48e7dc849e37bfcf\n").is_err());
}
