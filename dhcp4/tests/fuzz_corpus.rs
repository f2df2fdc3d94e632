//! The fuzz corpus as a regression test: every file in `tests/fuzz_corpus/`
//! (the minimised corpus of `dhcp4/fuzz`'s `packet` target, hand-built seeds
//! and any crash inputs) runs through the fuzz harness, which panics on a
//! broken invariant.
#![allow(clippy::unwrap_used)]

mod common_fuzz;

use std::path::Path;

#[test]
fn every_corpus_input_keeps_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "{} inputs in {}: the corpus is missing",
        files.len(),
        dir.display()
    );
    let mut answered = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        match std::panic::catch_unwind(|| common_fuzz::run(&data)) {
            Ok(replies) => answered += usize::from(replies > 0),
            Err(_) => panic!("{} broke the harness (panic above)", path.display()),
        }
    }
    // The corpus reaches the protocol, not only the decoder's error paths.
    assert!(answered >= 20, "only {answered} inputs got a reply");
}
