//! Hostile input never panics the wire helpers: random buffers, and valid
//! messages with random bytes flipped or cut short.

use common::dns::edns::{find_opt, options};
use common::dns::truncate::truncate_to;
use common::dns::wire::{
    layout, lowercase_name_into, patch_ttls, read_name_into, skip_name, QueryView,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn exercise(buf: &[u8], rng: &mut StdRng) {
    if let Ok(v) = QueryView::parse(buf) {
        let _ = (
            v.id(),
            v.flags(),
            v.opcode(),
            v.qtype(),
            v.qclass(),
            v.ancount(),
            v.arcount(),
        );
        let mut key = Vec::new();
        lowercase_name_into(v.qname_wire(), &mut key);
        assert!(v.question_end() <= buf.len());
        if let Ok(Some(e)) = find_opt(buf, &v) {
            assert!(e.opt.end <= buf.len());
            for (_code, data) in options(buf, &e) {
                assert!(data.len() <= buf.len());
            }
        }
    }
    if let Ok(l) = layout(buf) {
        let mut copy = buf.to_vec();
        patch_ttls(&mut copy, &l.ttl_offsets, rng.random());
        if let Some(opt) = l.opt {
            assert!(opt.end <= buf.len());
        }
    }
    if !buf.is_empty() {
        let pos = rng.random_range(0..buf.len());
        let _ = skip_name(buf, pos);
        let mut out = Vec::new();
        if read_name_into(buf, pos, &mut out).is_ok() {
            assert!(out.len() <= 255);
        }
    }
    let mut copy = buf.to_vec();
    let limit = rng.random_range(0..buf.len() + 20);
    let cut = truncate_to(&mut copy, limit);
    assert_eq!(cut, buf.len() > limit);
    if cut {
        assert!(copy.len() <= buf.len());
    }
}

#[test]
fn random_buffers_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED);
    for i in 0..5000 {
        let len = rng.random_range(0..700);
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf[..]);
        if i % 2 == 0 && len >= 12 {
            // Plausible header counts reach the deeper code paths.
            buf[4] = 0;
            buf[5] = 1;
            for b in &mut buf[6..12] {
                *b &= 0x03;
            }
        }
        exercise(&buf, &mut rng);
    }
}

#[test]
fn mutated_messages_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xD15EA5E);
    let mut base = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, 1];
    base.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    base.extend_from_slice(&[
        0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, b'f', b'o', b'o', 0xC0, 16,
    ]);
    base.extend_from_slice(&[0xC0, 41, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1]);
    base.extend_from_slice(&[0xC0, 16, 0, 2, 0, 1, 0, 0, 14, 16, 0, 2, 0xC0, 41]);
    base.extend_from_slice(&[
        0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 8, 0, 10, 0, 4, 1, 2, 3, 4,
    ]);
    let l = layout(&base).unwrap();
    assert_eq!(l.ttl_offsets.len(), 3);
    assert_eq!(l.min_ttl, Some(30));
    for _ in 0..5000 {
        let mut m = base.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..m.len());
            m[i] = rng.random();
        }
        if rng.random_bool(0.3) {
            m.truncate(rng.random_range(0..m.len()));
        }
        exercise(&m, &mut rng);
    }
}
