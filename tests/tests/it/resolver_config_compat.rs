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

/// do-not-query-address (unbound.conf(5): "Do not query the given IP address"):
/// example.com's only server is at 127.N.0.10; listed, it is never asked and
/// the name fails, while example.net (host 11) still resolves.
#[tokio::test]
async fn do_not_query_address_keeps_the_server_unasked() {
    let hierarchy = e2e::fake_dns::Hierarchy::start_unique().await.unwrap();
    let banned = hierarchy.addr(10);
    let extra = format!("  do-not-query-address: {banned}\n");
    let r = crate::resolver_support::TestResolver::start_with(hierarchy, &extra, "").await;
    let com = r.q("www.example.com", "A").await;
    assert_eq!(com.status, "SERVFAIL", "{}", com.raw);
    let net = r.q("www.example.net", "A").await;
    assert_eq!(net.answers_of("A"), vec!["192.0.2.11"], "{}", net.raw);
    assert_eq!(r.hierarchy.server(10).unwrap().queries(), 0);
    r.stop().await;
}
