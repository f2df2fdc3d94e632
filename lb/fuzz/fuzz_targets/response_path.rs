//! Arbitrary backend replies to a query in flight through the lb's response
//! path: `lb::fuzzing::response_path`, which the `fuzz_corpus` test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lb::fuzzing::response_path(data));
