//! The fuzz corpora as regression tests: every file in
//! `tests/fuzz_corpus/<target>/` (the minimised corpus of `resolver/fuzz`'s
//! target, hand-built seeds and any crash inputs) runs through the same
//! `resolver::fuzzing` function the fuzz target calls, which panics on a
//! broken invariant.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The corpus files of `target`, sorted; at least `min` of them.
fn corpus(target: &str, min: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "{} inputs in {}: the corpus is missing",
        files.len(),
        dir.display()
    );
    files
}

/// Runs `harness` on every corpus file of `target`.
fn replay(target: &str, min: usize, harness: fn(&[u8])) {
    for path in corpus(target, min) {
        let data = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| harness(&data)).is_err() {
            panic!("{} broke the harness (panic above)", path.display());
        }
    }
}

#[test]
fn query_path_corpus_keeps_the_invariants() {
    replay("query_path", 40, resolver::fuzzing::query_path);
}

#[test]
fn upstream_reply_corpus_keeps_the_invariants() {
    replay("upstream_reply", 40, resolver::fuzzing::upstream_reply);
}
