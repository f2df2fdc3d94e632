use std::time::Duration;

use super::*;
use crate::validator::anchor::AnchorLine;

/// Keys of Unbound's testdata/autotrust_*.rpl (example.com., RSASHA1, 512 bits).
const K55582: &str = "257 3 5 AwEAAc3Z5DQDJpH4oPdNtC4BUQHk50XMD+dHr4r8psHmivIa83hxR5CRgCtd9sENCW9Ae8OIO19xw9t/RPaEAqQa+OE=";
const K60946: &str = "257 3 5 AwEAAeiaUiUIpWMfYz5L0sfJTZWnuN9IyBX4em9VjsoqQTsOD1HDQpNb4buvJo7pN2aBCxNS7e0OL8e2mVB6CLZ+8ek=";
const ZSK30899: &str = "256 3 5 AQPQ41chR9DEHt/aIzIFAqanbDlRflJoRs5yz1jFsoRIT7dWf0r+PeDuewdxkszNH6wnU4QL8pfKFRh5PIYVBLK3";

/// The file Unbound wrote in testdata/autotrust_revtp.rpl (one line's
/// spacing edited by hand there: spaces instead of tabs).
const UNBOUND_FILE: &str = include_str!("../testdata/unbound-revtp.autotrust");
/// Debian's /usr/share/dns/root.key (package dns-root-data), a plain key file.
const DEBIAN_ROOT_KEY: &str = include_str!("../testdata/debian-root.key");
/// The DS-only file of Unbound's testdata/autotrust_init_ds.rpl.
const UNBOUND_INIT_DS: &str = include_str!("../testdata/unbound-init-ds.key");

const DAY: u64 = 86400;
/// Mon Aug 24 07:46:40 2009, Unbound's test clock.
const T0: u64 = 1_251_100_000;

fn key(rdata: &str) -> Dnskey {
    let lines = parse_anchor_text(&format!("example.com. IN DNSKEY {rdata}")).unwrap();
    match lines.into_iter().next() {
        Some(AnchorLine {
            record: AnchorRecord::Dnskey(key, _),
            ..
        }) => key,
        other => panic!("not a DNSKEY: {other:?}"),
    }
}

fn revoked(key: &Dnskey) -> Dnskey {
    let mut rdata = key.rdata.to_vec();
    rdata[1] |= FLAG_REVOKE as u8;
    Dnskey::from_rdata(&rdata).unwrap()
}

fn parse(text: &str) -> TrustPoint {
    TrustPoint::parse(text, Path::new("test.key")).unwrap()
}

fn timers() -> AutotrustTimers {
    AutotrustTimers::default()
}

/// A verified set of `keys` with TTL 10800 and no signature expiring soon.
fn seen(keys: &[Dnskey]) -> DnskeyProbe<'_> {
    DnskeyProbe {
        keys,
        ttl: 10800,
        sig_expirations: &[],
        revoked_self_signed: &[],
        verified: true,
    }
}

fn state_of(point: &TrustPoint, tag: u16) -> Option<KeyState> {
    point
        .keys()
        .iter()
        .find(|k| k.key.tag == tag)
        .map(|k| k.state)
}

fn trusted_tags(point: &TrustPoint) -> Vec<u16> {
    let mut tags: Vec<u16> = point.trusted().keys.iter().map(|k| k.tag).collect();
    tags.sort_unstable();
    tags
}

/// A plain file holding K55582, seen once at T0: VALID since T0.
fn tracking_55582() -> TrustPoint {
    let mut point = parse(&format!("example.com. 10800 IN DNSKEY {K55582}\n"));
    assert!(point.update(&seen(&[key(K55582)]), &timers(), T0, 0));
    point
}

/// RFC 5011 §4 and Unbound's file format: a file Unbound wrote reads back
/// with its header fields, states, counts and last-change times.
#[test]
fn reads_the_file_unbound_writes() {
    let point = parse(UNBOUND_FILE);
    assert_eq!(point.zone(), &Name::from_ascii("example.com.").unwrap());
    assert_eq!(
        (
            point.last_queried,
            point.last_success,
            point.next_probe_time
        ),
        (1_258_962_400, 1_258_962_400, 1_258_967_360)
    );
    assert_eq!(
        (point.query_failed, point.query_interval, point.retry_time),
        (0, 5400, 3600)
    );
    let keys: Vec<(u16, KeyState, u8, u64, u32)> = point
        .keys()
        .iter()
        .map(|k| (k.key.tag, k.state, k.pending_count, k.last_change, k.ttl))
        .collect();
    assert_eq!(
        keys,
        vec![
            (16486, KeyState::Valid, 0, 1_258_962_400, 10800),
            (55582, KeyState::Valid, 0, 1_258_962_400, 10800),
        ]
    );
    assert_eq!(trusted_tags(&point), vec![16486, 55582]);
    assert_eq!(point.next_probe(), Some(1_258_967_360));
}

/// Unbound's `parse_comments`: in a file with a `;;id:` header a key without
/// `;;state=` is ignored, an unknown state is START (untrusted), and keys for
/// another zone are refused.
#[test]
fn header_files_need_state_annotations() {
    let text = format!(
        ";;id: example.com. 1\n\
         example.com. 10800 IN DNSKEY {K55582} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=5\n\
         example.com. 10800 IN DNSKEY {K60946}\n\
         example.com. 10800 IN DNSKEY {ZSK30899} ;;state=9 ;;count=4\n"
    );
    let point = parse(&text);
    assert_eq!(point.keys().len(), 2);
    assert_eq!(state_of(&point, 30899), Some(KeyState::Start));
    assert_eq!(trusted_tags(&point), vec![55582]);

    let other = format!(";;id: example.com. 1\nexample.net. IN DNSKEY {K55582} ;;state=2\n");
    let err = TrustPoint::parse(&other, Path::new("x")).unwrap_err();
    assert!(
        matches!(
            err,
            AutotrustError::Parse {
                line: 2,
                kind: ParseErrorKind::OtherZone(_),
                ..
            }
        ),
        "{err}"
    );
    let err = TrustPoint::parse(";;last_queried: 5\n", Path::new("x")).unwrap_err();
    assert!(matches!(
        err,
        AutotrustError::Parse {
            kind: ParseErrorKind::VariableBeforeId,
            ..
        }
    ));
    assert!(matches!(
        TrustPoint::parse("; nothing\n", Path::new("x")),
        Err(AutotrustError::NoKeys { .. })
    ));
}

/// RFC 5011 §4 (keys configured by the operator are trusted): Debian's plain
/// root.key reads as two VALID keys never changed, probed at once, and they
/// are the keys of IANA's root DS anchors.
#[test]
fn debian_root_key_starts_valid() {
    let point = parse(DEBIAN_ROOT_KEY);
    assert!(point.zone().is_root());
    let keys: Vec<(u16, KeyState, u64, u32)> = point
        .keys()
        .iter()
        .map(|k| (k.key.tag, k.state, k.last_change, k.ttl))
        .collect();
    assert_eq!(
        keys,
        vec![
            (20326, KeyState::Valid, 0, DEFAULT_TTL),
            (38696, KeyState::Valid, 0, DEFAULT_TTL)
        ]
    );
    assert_eq!(point.next_probe(), Some(0));
    let root = AnchorSet::iana_root();
    let (_, iana) = root.closest(&Name::root()).unwrap();
    for key in &point.trusted().keys {
        assert!(iana.ds.iter().any(|ds| ds.matches(&Name::root(), key)));
    }
    let text = point.to_text();
    assert!(text.contains(";{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=0 ;;Thu Jan  1 00:00:00 1970\n"), "{text}");
    assert!(
        text.starts_with("; autotrust trust anchor file\n;;id: . 1\n"),
        "{text}"
    );
}

/// Unbound's `update_events` with a DS anchor (autotrust_init_ds.rpl): the DS
/// is trusted until the first good probe, the KSK it matches is VALID at once,
/// the DS is dropped, and the file is byte for byte what Unbound writes
/// (`autr_write_contents`, expected text of that test at STEP 8, jitter 0).
#[test]
fn ds_file_becomes_the_matching_key_and_writes_what_unbound_writes() {
    let mut point = parse(UNBOUND_INIT_DS);
    let before = point.trusted();
    assert_eq!((before.ds.len(), before.keys.len()), (1, 0));
    // RRSIG expiration 20090924111500.
    let expirations = [1_253_790_900];
    let keys = [key(K55582), key(ZSK30899)];
    let probe = DnskeyProbe {
        sig_expirations: &expirations,
        ..seen(&keys)
    };
    assert!(point.update(&probe, &timers(), T0, 0));
    let after = point.trusted();
    assert!(after.ds.is_empty());
    assert_eq!(trusted_tags(&point), vec![55582]);
    let expected = format!(
        "; autotrust trust anchor file\n\
         ;;id: example.com. 1\n\
         ;;last_queried: 1251100000 ;;Mon Aug 24 07:46:40 2009\n\
         ;;last_success: 1251100000 ;;Mon Aug 24 07:46:40 2009\n\
         ;;next_probe_time: 1251104860 ;;Mon Aug 24 09:07:40 2009\n\
         ;;query_failed: 0\n\
         ;;query_interval: 5400\n\
         ;;retry_time: 3600\n\
         example.com.\t10800\tIN\tDNSKEY\t{K55582} ;{{id = 55582 (ksk), size = 512b}} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=1251100000 ;;Mon Aug 24 07:46:40 2009\n"
    );
    assert_eq!(point.to_text(), expected);
}

/// Unbound's writer, line by line: a key line Unbound wrote comes back out
/// unchanged (owner, TTL, class, type, RDATA, `;{id, size}` comment,
/// `;;state=` with the padded name, `;;count=`, `;;lastchange=`), and so do
/// the header lines in their order; only the trailing ctime comment differs,
/// Unbound printing local time (UTC+1 in that file) and we UTC.
#[test]
fn unbound_lines_come_back_verbatim_but_for_the_time_zone() {
    fn without_ctime(line: &str) -> &str {
        match line.rfind(" ;;") {
            Some(at) if line[at + 3..].ends_with(" 2009") => &line[..at],
            _ => line,
        }
    }
    let ours = parse(UNBOUND_FILE).to_text();
    let unbound_line = UNBOUND_FILE.lines().find(|l| l.contains("55582")).unwrap();
    assert!(
        ours.lines()
            .any(|l| without_ctime(l) == without_ctime(unbound_line)),
        "{ours}"
    );
    let header: Vec<&str> = UNBOUND_FILE.lines().take(8).map(without_ctime).collect();
    let our_header: Vec<&str> = ours.lines().take(8).map(without_ctime).collect();
    assert_eq!(header, our_header);
    assert!(our_header[2].starts_with(";;last_queried: 1258962400"));
}

/// Round trip: read → to_text → read gives the same state, also with keys in
/// ADDPEND and REVOKED states and a DS anchor not yet replaced.
#[test]
fn text_round_trips() {
    for point in [
        parse(UNBOUND_FILE),
        parse(DEBIAN_ROOT_KEY),
        parse(UNBOUND_INIT_DS),
    ] {
        assert_eq!(parse(&point.to_text()), point);
    }
    let mut point = parse(UNBOUND_FILE);
    let keys = [
        key(K60946),
        revoked(&key(K55582)),
        point.keys()[0].key.clone(),
    ];
    let revoked_keys = [revoked(&key(K55582))];
    let probe = DnskeyProbe {
        revoked_self_signed: &revoked_keys,
        ..seen(&keys)
    };
    assert!(point.update(&probe, &timers(), 1_258_962_400 + DAY, 7));
    assert_eq!(state_of(&point, 60946), Some(KeyState::AddPend));
    assert_eq!(state_of(&point, 55582 + 128), Some(KeyState::Revoked));
    assert_eq!(state_of(&point, 16486), Some(KeyState::Valid));
    assert_eq!(parse(&point.to_text()), point);
}

/// RFC 5011 §2.4.1 and §4 (START → ADDPEND → VALID): a new key is trusted
/// only once the add hold-down has passed and it was seen on two probes
/// (Unbound's MIN_PENDINGCOUNT), not a second before.
#[test]
fn new_key_waits_for_the_add_holddown() {
    let mut point = tracking_55582();
    let both = [key(K60946), key(K55582)];
    let t1 = T0 + 30 * DAY;
    assert!(point.update(&seen(&both), &timers(), t1, 0));
    assert_eq!(state_of(&point, 60946), Some(KeyState::AddPend));
    assert_eq!(point.keys()[0].pending_count, 1);
    assert_eq!(trusted_tags(&point), vec![55582]);
    // Time alone does not do it with one sighting.
    point.probe_failed(&timers(), t1 + 31 * DAY, 0);
    assert_eq!(state_of(&point, 60946), Some(KeyState::AddPend));

    let mut point = tracking_55582();
    point.update(&seen(&both), &timers(), t1, 0);
    point.update(&seen(&both), &timers(), t1 + 10 * DAY, 0);
    // Exactly the hold-down is not enough (Unbound: elapsed > holddown).
    point.update(&seen(&both), &timers(), t1 + 30 * DAY, 0);
    assert_eq!(state_of(&point, 60946), Some(KeyState::AddPend));
    assert_eq!(point.keys()[0].pending_count, 3);
    assert_eq!(trusted_tags(&point), vec![55582]);
    assert!(point.update(&seen(&both), &timers(), t1 + 30 * DAY + 1, 0));
    assert_eq!(state_of(&point, 60946), Some(KeyState::Valid));
    assert_eq!(point.keys()[0].pending_count, 0);
    assert_eq!(trusted_tags(&point), vec![55582, 60946]);
}

/// RFC 5011 §4 (ADDPEND, KeyRem → START): a pending key that disappears is
/// forgotten, so its hold-down starts over when it returns.
#[test]
fn pending_key_that_disappears_is_forgotten() {
    let mut point = tracking_55582();
    point.update(&seen(&[key(K60946), key(K55582)]), &timers(), T0 + DAY, 0);
    assert!(point.update(&seen(&[key(K55582)]), &timers(), T0 + 2 * DAY, 0));
    assert_eq!(state_of(&point, 60946), None);
    assert!(!point.to_text().contains("60946"));
}

/// RFC 5011 §4 (VALID, KeyRem → MISSING; MISSING, KeyPres → VALID): a key
/// missing from the set stays trusted and is VALID again when it returns.
#[test]
fn missing_key_stays_trusted() {
    let mut point = tracking_55582();
    let both = [key(K60946), key(K55582)];
    point.update(&seen(&both), &timers(), T0 + DAY, 0);
    point.update(&seen(&both), &timers(), T0 + 32 * DAY, 0);
    assert_eq!(trusted_tags(&point), vec![55582, 60946]);
    assert!(point.update(&seen(&[key(K60946)]), &timers(), T0 + 33 * DAY, 0));
    assert_eq!(state_of(&point, 55582), Some(KeyState::Missing));
    assert_eq!(trusted_tags(&point), vec![55582, 60946]);
    assert!(point.update(&seen(&both), &timers(), T0 + 34 * DAY, 0));
    assert_eq!(state_of(&point, 55582), Some(KeyState::Valid));
}

/// RFC 5011 §2.1 and §4 (Revoked → REVOKED, RemTime → REMOVED): a
/// self-signed revoked key is distrusted at once, stays in the file with its
/// REVOKE bit, and goes after the delete hold-down. A REVOKE bit the key did
/// not sign itself is not honoured: the key is only MISSING.
#[test]
fn revoked_key_is_distrusted_then_removed() {
    let both = [key(K60946), key(K55582)];
    let mut point = tracking_55582();
    point.update(&seen(&both), &timers(), T0 + DAY, 0);
    point.update(&seen(&both), &timers(), T0 + 32 * DAY, 0);
    assert_eq!(trusted_tags(&point), vec![55582, 60946]);

    let rolled = [key(K60946), revoked(&key(K55582))];
    let mut forged = point.clone();
    forged.update(&seen(&rolled), &timers(), T0 + 40 * DAY, 0);
    assert_eq!(state_of(&forged, 55582), Some(KeyState::Missing));

    let self_signed = [revoked(&key(K55582))];
    let probe = DnskeyProbe {
        revoked_self_signed: &self_signed,
        ..seen(&rolled)
    };
    let t_rev = T0 + 40 * DAY;
    assert!(point.update(&probe, &timers(), t_rev, 0));
    assert_eq!(state_of(&point, 55582 + 128), Some(KeyState::Revoked));
    assert_eq!(trusted_tags(&point), vec![60946]);
    assert!(point.to_text().contains("385 3 5 AwEAAc3Z"));
    point.update(&probe, &timers(), t_rev + 30 * DAY, 0);
    assert_eq!(state_of(&point, 55582 + 128), Some(KeyState::Revoked));
    assert!(point.update(&seen(&[key(K60946)]), &timers(), t_rev + 30 * DAY + 1, 0));
    assert_eq!(state_of(&point, 55582 + 128), None);
    assert!(!point.to_text().contains("AwEAAc3Z"));
}

/// RFC 5011 §2.1, Unbound's `autr_tp_remove` (autotrust_revtp.rpl): when
/// every trusted key is revoked, even in a set that no longer verifies, the
/// trust point is revoked: nothing is trusted, no more probes, and the file
/// says `;;REVOKED` with the revoked keys, as Unbound writes it.
#[test]
fn revoking_every_key_revokes_the_trust_point() {
    let mut point = parse(UNBOUND_FILE);
    let both = [revoked(&key(K55582)), revoked(&point.keys()[0].key)];
    let probe = DnskeyProbe {
        revoked_self_signed: &both,
        verified: false,
        ..seen(&both)
    };
    let t0 = 1_258_962_400 + 7200;
    assert!(point.update(&probe, &timers(), t0, 0));
    assert!(point.is_revoked());
    assert!(point.trusted().keys.is_empty() && point.trusted().ds.is_empty());
    assert_eq!(point.next_probe(), None);
    let ctime_t0 = "Mon Nov 23 09:46:40 2009";
    let expected = format!(
        "; autotrust trust anchor file\n\
         ;;REVOKED\n\
         ; The zone has all keys revoked, and is\n\
         ; considered as if it has no trust anchors.\n\
         ; the remainder of the file is the last probe.\n\
         ; to restart the trust anchor, overwrite this file.\n\
         ; with one containing valid DNSKEYs or DSes.\n\
         ;;id: example.com. 1\n\
         ;;last_queried: {t0} ;;{ctime_t0}\n\
         ;;last_success: {t0} ;;{ctime_t0}\n\
         ;;next_probe_time: 0 ;;Thu Jan  1 00:00:00 1970\n\
         ;;query_failed: 0\n\
         ;;query_interval: 5400\n\
         ;;retry_time: 3600\n\
         example.com.\t10800\tIN\tDNSKEY\t385 3 5 AwEAAas/cAhCFXvBUgTSNZCvQp0pLx1dY+7rXR0hH4/3EUgWmsmbYUpI1qD0xhwKD/oYGEwAm291fyWJ9c0oVxXDEK8= ;{{id = 16614 (ksk), size = 512b}} ;;state=4 [ REVOKED ] ;;count=0 ;;lastchange={t0} ;;{ctime_t0}\n\
         example.com.\t10800\tIN\tDNSKEY\t385 3 5 AwEAAc3Z5DQDJpH4oPdNtC4BUQHk50XMD+dHr4r8psHmivIa83hxR5CRgCtd9sENCW9Ae8OIO19xw9t/RPaEAqQa+OE= ;{{id = 55710 (ksk), size = 512b}} ;;state=4 [ REVOKED ] ;;count=0 ;;lastchange={t0} ;;{ctime_t0}\n"
    );
    assert_eq!(point.to_text(), expected);
    let mut reread = parse(&point.to_text());
    assert!(reread.is_revoked());
    assert!(!reread.update(&seen(&[key(K55582)]), &timers(), t0 + DAY, 0));
    let mut set = AnchorSet::default();
    set.replace_zone(point.zone(), parse(UNBOUND_FILE).trusted());
    assert!(set.closest(point.zone()).is_some());
    set.replace_zone(point.zone(), point.trusted());
    assert!(set.is_empty());
}

/// Unbound's `remove_missing_trustanchors` (keep-missing): a key missing
/// longer than keep-missing is removed while another KSK is VALID, but the
/// last trusted key is never removed without a replacement.
#[test]
fn keep_missing_removes_only_with_a_valid_replacement() {
    let timers = AutotrustTimers {
        keep_missing: Duration::from_secs(60 * DAY),
        ..timers()
    };
    // Alone: the KSK vanishes, only a ZSK is published, for a year.
    let mut alone = tracking_55582();
    alone.update(&seen(&[key(ZSK30899)]), &timers, T0 + DAY, 0);
    alone.update(&seen(&[key(ZSK30899)]), &timers, T0 + 365 * DAY, 0);
    assert_eq!(state_of(&alone, 55582), Some(KeyState::Missing));
    assert_eq!(trusted_tags(&alone), vec![55582]);

    // With a replacement VALID: removed once keep-missing has passed.
    let mut point = tracking_55582();
    let both = [key(K60946), key(K55582)];
    point.update(&seen(&both), &timers, T0 + DAY, 0);
    point.update(&seen(&both), &timers, T0 + 32 * DAY, 0);
    let t_missing = T0 + 33 * DAY;
    point.update(&seen(&[key(K60946)]), &timers, t_missing, 0);
    point.update(&seen(&[key(K60946)]), &timers, t_missing + 60 * DAY, 0);
    assert_eq!(state_of(&point, 55582), Some(KeyState::Missing));
    assert!(point.update(&seen(&[key(K60946)]), &timers, t_missing + 60 * DAY + 1, 0));
    assert_eq!(state_of(&point, 55582), None);
    assert_eq!(trusted_tags(&point), vec![60946]);

    // keep-missing 0 keeps missing keys forever.
    let forever = AutotrustTimers {
        keep_missing: Duration::ZERO,
        ..timers
    };
    let mut point = tracking_55582();
    point.update(&seen(&both), &forever, T0 + DAY, 0);
    point.update(&seen(&both), &forever, T0 + 32 * DAY, 0);
    point.update(&seen(&[key(K60946)]), &forever, T0 + 33 * DAY, 0);
    point.update(&seen(&[key(K60946)]), &forever, T0 + 3000 * DAY, 0);
    assert_eq!(state_of(&point, 55582), Some(KeyState::Missing));
}

/// Unbound's `init_zsk_to_ksk` (autotrust_init_zsk.rpl): a file that
/// configures a ZSK trusts the KSKs of the first set it verifies, then drops
/// the ZSK.
#[test]
fn configured_zsk_hands_over_to_the_ksk() {
    let mut point = parse(&format!("example.com. 10800 IN DNSKEY {ZSK30899}\n"));
    assert!(point.update(&seen(&[key(K55582), key(ZSK30899)]), &timers(), T0, 0));
    assert_eq!(trusted_tags(&point), vec![55582]);
    assert_eq!(point.keys().len(), 1);
}

/// RFC 5011 §2.3 (active refresh), Unbound's `set_tp_times` and
/// `calc_next_probe`: query interval MAX(1h, MIN(15 days, TTL/2, expiry/2)),
/// retry MAX(1h, MIN(1 day, TTL/10, expiry/10)), next probe 90-100% of it.
#[test]
fn probe_intervals_follow_ttl_and_signature_expiry() {
    let now = T0;
    let root = [key(K55582)];
    let expirations = [(now + 10 * DAY) as u32, (now - 5) as u32];
    let probe = DnskeyProbe {
        ttl: 172_800,
        sig_expirations: &expirations,
        ..seen(&root)
    };
    let mut point = tracking_55582();
    point.update(&probe, &timers(), now, 0);
    assert_eq!((point.query_interval, point.retry_time), (DAY, 17_280));
    assert_eq!(point.next_probe(), Some(now + DAY - DAY / 10));
    point.update(&probe, &timers(), now, DAY / 10 - 1);
    assert_eq!(point.next_probe(), Some(now + DAY - 1));
    let soon = [(now + 4 * 3600) as u32];
    point.update(
        &DnskeyProbe {
            sig_expirations: &soon,
            ..probe
        },
        &timers(),
        now,
        0,
    );
    assert_eq!((point.query_interval, point.retry_time), (7200, 3600));

    let short = DnskeyProbe {
        ttl: 60,
        ..seen(&root)
    };
    point.update(&short, &timers(), now, 0);
    assert_eq!((point.query_interval, point.retry_time), (3600, 3600));
    let small = AutotrustTimers {
        permit_small_holddown: true,
        ..timers()
    };
    point.update(&short, &small, now, 0);
    assert_eq!((point.query_interval, point.retry_time), (30, 6));
    assert_eq!(point.next_probe(), Some(now + 27));
}

/// RFC 5011 §2.3 (retry after a failed query), Unbound's
/// `autr_process_prime`: a probe without an answer schedules a retry and
/// counts nothing; a set that does not verify counts in `;;query_failed:`
/// once a probe has succeeded, and a good one resets it.
#[test]
fn failed_probes_retry_and_count() {
    let mut fresh = parse(&format!("example.com. 10800 IN DNSKEY {K55582}\n"));
    let bogus = DnskeyProbe {
        verified: false,
        ..seen(&[])
    };
    assert!(!fresh.update(&bogus, &timers(), T0, 0));
    assert_eq!(fresh.query_failed, 0);

    let mut point = tracking_55582();
    assert!(!point.probe_failed(&timers(), T0 + 100, 0));
    assert_eq!(point.query_failed, 0);
    assert_eq!(point.next_probe(), Some(T0 + 100 + 3600 - 360));
    assert!(point.update(&bogus, &timers(), T0 + 200, 0));
    assert!(point.update(&bogus, &timers(), T0 + 300, 0));
    assert_eq!(point.query_failed, 2);
    assert!(point.to_text().contains(";;query_failed: 2\n"));
    assert_eq!(trusted_tags(&point), vec![55582]);
    point.update(&seen(&[key(K55582)]), &timers(), T0 + 400, 0);
    assert_eq!(point.query_failed, 0);
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autotrust-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Issue 15: the file is replaced atomically where it is writable, leaving
/// no temporary file behind, and reads back to the same state.
#[test]
fn write_back_replaces_the_file() {
    let dir = scratch_dir("write");
    let path = dir.join("root.key");
    fs::write(&path, DEBIAN_ROOT_KEY).unwrap();
    let mut point = TrustPoint::read(&path).unwrap();
    point.update(&seen(&[]), &timers(), T0, 0);
    write_atomically(&path, &point.to_text()).unwrap();
    assert_eq!(TrustPoint::read(&path).unwrap(), point);
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("root.key")]);
    fs::remove_dir_all(&dir).unwrap();
}

/// Issue 15 (a read-only ConfigMap mount): writing where no file can be
/// created fails without panicking, the state in memory still answers, and
/// the owner logs the failure once per file, again only after a success.
#[test]
fn unwritable_file_is_logged_once_and_state_kept() {
    let dir = scratch_dir("readonly");
    // A regular file as the directory: creating the temporary file fails
    // even for root, like a read-only mount.
    fs::write(dir.join("mount"), "").unwrap();
    let path = dir.join("mount").join("root.key");
    assert!(write_atomically(&path, "x").is_err());

    let root = parse(DEBIAN_ROOT_KEY);
    let keys: Vec<Dnskey> = root.keys().iter().map(|k| k.key.clone()).collect();
    let mut owner = AutoTrust {
        files: vec![TrackedFile {
            path,
            point: root,
            warned_readonly: false,
        }],
        timers: timers(),
    };
    assert!(owner.is_tracked(&Name::root()));
    assert_eq!(owner.due(T0).count(), 1);
    let anchors = owner.observe(&Name::root(), &seen(&keys), T0).unwrap();
    assert_eq!(anchors.keys.len(), 2);
    assert!(owner.files[0].warned_readonly);
    assert_eq!(owner.files[0].persist(), Persisted::FailedQuiet);
    assert_eq!(owner.files[0].point.keys()[0].last_change, T0);
    assert_eq!(owner.next_probe(), owner.files[0].point.next_probe());
    assert!(owner
        .observe(&Name::from_ascii("example.").unwrap(), &seen(&keys), T0)
        .is_none());

    owner.files[0].path = dir.join("root.key");
    assert_eq!(owner.files[0].persist(), Persisted::Written);
    assert!(!owner.files[0].warned_readonly);
    owner.files[0].path = dir.join("mount").join("root.key");
    assert_eq!(owner.files[0].persist(), Persisted::FailedLogged);
    let mut set = AnchorSet::default();
    owner.apply_to(&mut set);
    assert_eq!(set.closest(&Name::root()).unwrap().1.keys.len(), 2);
    fs::remove_dir_all(&dir).unwrap();
}

/// `ctime(3)` as Unbound's comments print it (UTC here).
#[test]
fn ctime_matches_unbounds_comments() {
    assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970\n");
    // Unbound's autotrust_revtp.rpl shows 10:09:20: its author's local time, UTC+1.
    assert_eq!(ctime(1_258_967_360), "Mon Nov 23 09:09:20 2009\n");
    assert_eq!(ctime(1_709_251_200), "Fri Mar  1 00:00:00 2024\n");
}
