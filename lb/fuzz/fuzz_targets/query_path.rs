//! A client's datagram through the lb's query path and its backend's answer:
//! `lb::fuzzing::query_path`, which the `fuzz_corpus` test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lb::fuzzing::query_path(data));
