//! The cryptography of DNSSEC: which algorithms we verify, signature checks
//! over the to-be-signed bytes, and DS digests. All of it is `ring`.
//!
//! Algorithms (RFC 8624 §3.1 and its 2025 update; numbers from IANA's registry):
//! - verified: RSA/SHA-1 (5) and RSASHA1-NSEC3-SHA1 (7), RSA/SHA-256 (8),
//!   RSA/SHA-512 (10), ECDSA P-256/SHA-256 (13), ECDSA P-384/SHA-384 (14),
//!   Ed25519 (15);
//! - not verified, so a zone signed only with them is insecure (RFC 4035 §5.2):
//!   RSA/MD5 (1) and DSA (3, 6) (MUST NOT validate), GOST (12) (MUST NOT),
//!   Ed448 (16) (ring has no Ed448; no well-kept Rust crate verifies it),
//!   anything unassigned or private (253, 254).
//!
//! RSA keys are accepted from 1024 bits (ring's legacy floor): zones still
//! sign with 1024-bit ZSKs, and refusing them would make their answers bogus.

use ring::digest;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

/// Whether we can verify signatures made with `algorithm`.
pub fn algorithm_supported(algorithm: u8) -> bool {
    matches!(algorithm, 5 | 7 | 8 | 10 | 13 | 14 | 15)
}

/// Whether we can compute DS digests of `digest_type` (RFC 4034 §5.1.3, RFC
/// 4509, RFC 6605): SHA-1 (1), SHA-256 (2), SHA-384 (4). GOST (3) is not.
pub fn digest_supported(digest_type: u8) -> bool {
    matches!(digest_type, 1 | 2 | 4)
}

/// The digest of `data` for a DS of `digest_type`, or None if unsupported.
pub fn ds_digest(digest_type: u8, data: &[u8]) -> Option<digest::Digest> {
    let algorithm = match digest_type {
        1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        2 => &digest::SHA256,
        4 => &digest::SHA384,
        _ => return None,
    };
    Some(digest::digest(algorithm, data))
}

/// Why one signature did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoFailure {
    /// The algorithm is not one we verify.
    Unsupported,
    /// The public key is malformed for its algorithm.
    BadKey,
    /// The signature does not match.
    Mismatch,
}

/// Verifies `sig` over `message` with a DNSKEY public key field of `algorithm`.
pub fn verify(
    algorithm: u8,
    public_key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Result<(), CryptoFailure> {
    match algorithm {
        5 | 7 => verify_rsa(
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
            message,
            sig,
        ),
        8 => verify_rsa(
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            public_key,
            message,
            sig,
        ),
        10 => verify_rsa(
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            public_key,
            message,
            sig,
        ),
        13 => verify_ecdsa(
            &signature::ECDSA_P256_SHA256_FIXED,
            64,
            public_key,
            message,
            sig,
        ),
        14 => verify_ecdsa(
            &signature::ECDSA_P384_SHA384_FIXED,
            96,
            public_key,
            message,
            sig,
        ),
        15 => {
            if public_key.len() != 32 {
                return Err(CryptoFailure::BadKey);
            }
            UnparsedPublicKey::new(&signature::ED25519, public_key)
                .verify(message, sig)
                .map_err(|_| CryptoFailure::Mismatch)
        }
        _ => Err(CryptoFailure::Unsupported),
    }
}

/// RFC 3110 §2: a one-byte exponent length (or 0 then two bytes), the
/// exponent, then the modulus.
fn verify_rsa(
    params: &'static signature::RsaParameters,
    public_key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Result<(), CryptoFailure> {
    let (exponent_len, rest) = match public_key {
        [0, high, low, rest @ ..] => (usize::from(u16::from_be_bytes([*high, *low])), rest),
        [len, rest @ ..] => (usize::from(*len), rest),
        [] => return Err(CryptoFailure::BadKey),
    };
    if exponent_len == 0 || rest.len() <= exponent_len {
        return Err(CryptoFailure::BadKey);
    }
    let (e, n) = rest.split_at(exponent_len);
    let components = RsaPublicKeyComponents {
        n: strip_leading_zeros(n),
        e: strip_leading_zeros(e),
    };
    components
        .verify(params, message, sig)
        .map_err(|_| CryptoFailure::Mismatch)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// RFC 6605 §4: the key is x‖y, the signature r‖s, both fixed length.
fn verify_ecdsa(
    algorithm: &'static signature::EcdsaVerificationAlgorithm,
    key_len: usize,
    public_key: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Result<(), CryptoFailure> {
    if public_key.len() != key_len {
        return Err(CryptoFailure::BadKey);
    }
    let mut point = Vec::with_capacity(key_len + 1);
    point.push(0x04);
    point.extend_from_slice(public_key);
    UnparsedPublicKey::new(algorithm, point)
        .verify(message, sig)
        .map_err(|_| CryptoFailure::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    /// RFC 6605 §4: an ECDSA P-256 DNSKEY carries x‖y and signatures are r‖s.
    #[test]
    fn ecdsa_p256_signature_verifies_and_a_changed_message_does_not() {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let public = &pair.public_key().as_ref()[1..];
        let sig = pair.sign(&rng, b"signed data").unwrap();
        assert_eq!(verify(13, public, b"signed data", sig.as_ref()), Ok(()));
        assert_eq!(
            verify(13, public, b"signed datb", sig.as_ref()),
            Err(CryptoFailure::Mismatch)
        );
        assert_eq!(
            verify(14, public, b"signed data", sig.as_ref()),
            Err(CryptoFailure::BadKey)
        );
    }

    /// RFC 8080 §3: an Ed25519 DNSKEY is the 32-byte public key.
    #[test]
    fn ed25519_signature_verifies() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let sig = pair.sign(b"data");
        assert_eq!(
            verify(15, pair.public_key().as_ref(), b"data", sig.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify(15, pair.public_key().as_ref(), b"dat", sig.as_ref()),
            Err(CryptoFailure::Mismatch)
        );
    }

    /// RFC 4035 §5.2: algorithms we cannot verify are reported as such, so the
    /// zone is treated as insecure rather than bogus.
    #[test]
    fn unsupported_algorithms_are_named_not_failed() {
        for algorithm in [1, 3, 6, 12, 16, 200, 253] {
            assert!(!algorithm_supported(algorithm));
            assert_eq!(
                verify(algorithm, &[1; 32], b"x", b"y"),
                Err(CryptoFailure::Unsupported)
            );
        }
        assert!(digest_supported(2) && digest_supported(4) && !digest_supported(3));
    }

    /// RFC 3110 §2: a malformed RSA key (exponent longer than the key) is a bad
    /// key, never a panic.
    #[test]
    fn malformed_rsa_keys_are_rejected() {
        assert_eq!(verify(8, &[], b"m", b"s"), Err(CryptoFailure::BadKey));
        assert_eq!(
            verify(8, &[5, 1, 2], b"m", b"s"),
            Err(CryptoFailure::BadKey)
        );
        assert_eq!(verify(8, &[0, 0], b"m", b"s"), Err(CryptoFailure::BadKey));
        assert_eq!(
            verify(8, &[1, 3, 0, 0, 7], b"m", b"s"),
            Err(CryptoFailure::Mismatch)
        );
    }
}
