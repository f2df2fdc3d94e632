//! A client's datagram through the resolver's pipeline over the mock internet:
//! `resolver::fuzzing::query_path`, which the `fuzz_corpus` test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resolver::fuzzing::query_path(data));
