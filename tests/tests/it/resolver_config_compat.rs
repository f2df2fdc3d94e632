//! Files Unbound accepts, through the resolver binary (issue 15): Unbound's own
//! example.conf (empty `python:` and `dynlib:` clauses) loads; a module script is
//! refused as "not supported" naming file, line and key, with exit code 64.

use std::path::Path;
use std::process::Command;

use crate::resolver_process::resolver_bin;
use crate::resolver_support::scratch_dir;

/// Unbound 1.22.0's doc/example.conf passes --check-config.
#[test]
fn unbound_example_conf_passes_check_config() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/unbound/unbound-1.22.0-example.conf");
    let out = Command::new(resolver_bin())
        .args(["--check-config", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `python-script:` cannot run here: exit 64, "file:line: python-script: not supported: …".
#[test]
fn python_script_is_refused_naming_file_line_and_key() {
    let dir = scratch_dir("python");
    let path = dir.join("unbound.conf");
    std::fs::write(
        &path,
        "server:\n  verbosity: 1\npython:\n  python-script: \"/etc/unbound/filter.py\"\n",
    )
    .unwrap();
    let out = Command::new(resolver_bin())
        .args(["--check-config", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:4: python-script: not supported:",
            path.display()
        )),
        "{stderr}"
    );
}
