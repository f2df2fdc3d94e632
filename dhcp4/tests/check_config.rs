//! `dhcp4 --check-config` on real files: a summary for a good one; for a
//! bad one exit 64 and an error naming the file and the key's path.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn check(name: &str, text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("dhcp4-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dhcp4"))
        .args(["--check-config", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_good_file_is_summarised_with_its_warnings() {
    let (code, stdout, _) = check(
        "good.json",
        r#"{ "Dhcp4": {
  # Kea allows shell, C and C++ comments
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "control-socket": { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" },
  "subnet4": [ { "id": 7, "subnet": "10.1.0.0/16", "pools": [ { "pool": "10.1.1.0/24" } ] } ] /* end */
} }"#,
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("subnet 7 10.1.0.0/16: pools 10.1.1.0-10.1.1.255"),
        "{stdout}"
    );
    assert!(
        stdout.contains("control: UNIX socket /run/kea/kea4-ctrl-socket"),
        "{stdout}"
    );
}

#[test]
fn a_bad_key_is_named_with_its_path_and_exits_64() {
    let (code, _, stderr) = check(
        "bad.json",
        r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "10.1.0.0/16",
  "pools": [ { "pool": "10.1.1.0/24", "pool-colour": "blue" } ] } ] } }"#,
    );
    assert_eq!(code, 64);
    assert!(stderr.contains("bad.json"), "{stderr}");
    assert!(
        stderr.contains("Dhcp4.subnet4[0].pools[0].pool-colour"),
        "{stderr}"
    );
}

#[test]
fn the_summary_says_how_often_the_lease_file_is_compacted() {
    let with_interval = |lfc: u32| {
        format!(
            r#"{{ "Dhcp4": {{ "lease-database": {{ "type": "memfile", "name": "/tmp/x.leases", "lfc-interval": {lfc} }},
  "subnet4": [ {{ "id": 1, "subnet": "10.1.0.0/16", "pools": [ {{ "pool": "10.1.1.0/24" }} ] }} ] }} }}"#
        )
    };
    let (code, stdout, _) = check("lfc.json", &with_interval(600));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("leases: memfile /tmp/x.leases (compacted every 600 s)"),
        "{stdout}"
    );
    let (code, stdout, _) = check("lfc0.json", &with_interval(0));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("leases: memfile /tmp/x.leases (never compacted: lfc-interval 0)"),
        "{stdout}"
    );
}

#[test]
fn a_negative_window_is_refused_naming_its_flag() {
    for flag in ["--commit-window", "--receive-window"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dhcp4"))
            .args(["--check-config", "-c", "/nonexistent.json"])
            .arg(format!("{flag}=-1"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{stderr}");
        assert!(
            stderr.contains(&format!("{flag} must be a number of milliseconds")),
            "{stderr}"
        );
    }
}
