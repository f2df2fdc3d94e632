//! Arbitrary bytes through `dhcp4::packet::decode` and `Server::handle`, with
//! the invariants of `dhcp4/tests/common_fuzz/mod.rs` (the same harness the
//! `fuzz_corpus` regression test runs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common_fuzz/mod.rs"]
mod common_fuzz;

fuzz_target!(|data: &[u8]| {
    let _ = common_fuzz::run(data);
});
