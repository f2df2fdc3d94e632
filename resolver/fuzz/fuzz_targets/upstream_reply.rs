//! Arbitrary upstream replies for a query in flight, classified by the
//! iterator: `resolver::fuzzing::upstream_reply`, which the `fuzz_corpus` test
//! also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resolver::fuzzing::upstream_reply(data));
