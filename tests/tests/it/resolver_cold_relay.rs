//! The cold-cache bench's plumbing at small scale: `delay-relay` between a
//! resolvers' namespace and a servers' namespace, holding each packet for its
//! server's delay and dropping everything to a dead server, and our resolver
//! answering every name of a tiny hierarchy through it (a zone with a lame and a
//! dead NS, a glueless zone, a CNAME across zones).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use e2e::daemon::{cargo_bin, Daemon};
use e2e::dig::Dig;
use e2e::netns::Netns;

/// Round trip to every server of the tiny hierarchy (ms).
const RTT_MS: u64 = 40;
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 78, 1, 1);
/// ok.com.'s lame (REFUSED) and dead (100 % loss) servers.
const LAME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 11);
const DEAD: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 12);

const ROOT: &str = "$ORIGIN .\n$TTL 3600\n\
. SOA a.root-servers.net. h.root-servers.net. 1 3600 900 604800 300\n\
. NS a.root-servers.net.\na.root-servers.net. A 10.77.0.1\n\
com. NS a.nic.com.\na.nic.com. A 10.77.0.2\n";
const COM: &str = "$ORIGIN com.\n$TTL 3600\n\
@ SOA a.nic.com. h.nic.com. 1 3600 900 604800 300\n@ NS a.nic.com.\na.nic A 10.77.0.2\n\
ok NS ns1.ok.com.\nok NS ns2.ok.com.\nok NS ns3.ok.com.\n\
ns1.ok A 10.77.0.10\nns2.ok A 10.77.0.11\nns3.ok A 10.77.0.12\n\
glueless NS ns1.ok.com.\n";
const OK: &str = "$ORIGIN ok.com.\n$TTL 3600\n\
@ SOA ns1 h 1 3600 900 604800 300\n@ NS ns1\n@ NS ns2\n@ NS ns3\n\
ns1 A 10.77.0.10\nns2 A 10.77.0.11\nns3 A 10.77.0.12\n\
www A 192.0.2.1\nmail A 192.0.2.2\nalias CNAME www.glueless.com.\n";
const GLUELESS: &str = "$ORIGIN glueless.com.\n$TTL 3600\n\
@ SOA ns1.ok.com. h 1 3600 900 604800 300\n@ NS ns1.ok.com.\nwww A 192.0.2.3\n";
const MANIFEST: &str = "1 root.zone\n2 com.zone\n10 ok.com.zone glueless.com.zone\n11 +refused\n";

/// (name, expected A) asked through our resolver.
const NAMES: [(&str, &str); 4] = [
    ("www.ok.com", "192.0.2.1"),
    ("mail.ok.com", "192.0.2.2"),
    ("www.glueless.com", "192.0.2.3"),
    ("alias.ok.com", "192.0.2.3"),
];

/// Fields drop in order: the daemons stop before their namespaces go.
struct World {
    _fake: Daemon,
    _relay: Daemon,
    res: Netns,
    _srv: Netns,
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

async fn world(dir: &Path) -> World {
    for (name, text) in [
        ("root.zone", ROOT),
        ("com.zone", COM),
        ("ok.com.zone", OK),
        ("glueless.com.zone", GLUELESS),
        ("manifest", MANIFEST),
    ] {
        write(dir, name, text);
    }
    let table = format!("10.77.0.1 {RTT_MS} 0 0\n10.77.0.2 {RTT_MS} 0 0\n10.77.0.10 {RTT_MS} 0 0\n{LAME} {RTT_MS} 0 0\n{DEAD} 0 0 100\n");
    write(dir, "links.txt", &table);
    let res = Netns::create_with_prefix("cold", "res").unwrap();
    let srv = Netns::create_with_prefix("cold", "srv").unwrap();
    let table_path = dir.join("links.txt");
    let mut relay = Daemon::spawn(
        &cargo_bin("delay-relay").unwrap(),
        &[
            "--client-ns".into(),
            res.name().into(),
            "--server-ns".into(),
            srv.name().into(),
            "--table".into(),
            table_path.display().to_string(),
            "--lifetime".into(),
            "120".into(),
        ],
    )
    .unwrap();
    relay
        .wait_log("ready:", Duration::from_secs(10))
        .await
        .unwrap();
    for args in [
        &["link", "set", "cold0", "up"][..],
        &["addr", "add", "10.78.0.1/32", "dev", "cold0"],
        &[
            "route",
            "add",
            "10.77.0.0/16",
            "dev",
            "cold0",
            "src",
            "10.78.0.1",
        ],
        &["route", "add", "local", "10.78.1.0/24", "dev", "lo"],
    ] {
        res.ip(args).unwrap();
    }
    for args in [
        &["link", "set", "cold0", "up"][..],
        &["addr", "add", "10.77.255.1/32", "dev", "cold0"],
        &["route", "add", "10.78.0.0/16", "dev", "cold0"],
        &["route", "add", "local", "10.77.0.0/24", "dev", "lo"],
    ] {
        srv.ip(args).unwrap();
    }
    let fake_dns = cargo_bin("fake-dns").unwrap().display().to_string();
    let hints = dir.join("root.hints").display().to_string();
    let zones = dir.display().to_string();
    let mut fake = srv
        .spawn(
            &fake_dns,
            &[
                "--prefix",
                "10.77.0",
                "--zones",
                &zones,
                "--root-hints-out",
                &hints,
                "--threads",
                "1",
            ],
        )
        .unwrap();
    fake.wait_log("ready:", Duration::from_secs(10))
        .await
        .unwrap();
    World {
        res,
        _srv: srv,
        _fake: fake,
        _relay: relay,
    }
}

fn dig(world: &World, server: Ipv4Addr) -> Dig {
    Dig::new(IpAddr::V4(server)).netns(world.res.name())
}

/// A query to a server behind the relay is answered no sooner than its round
/// trip; one to the dead server gets nothing.
#[tokio::test]
async fn relay_delays_and_drops() {
    let dir = tempdir("relay");
    let world = world(&dir).await;
    let direct = dig(&world, Ipv4Addr::new(10, 77, 0, 10))
        .norec()
        .wait(Duration::from_secs(3));
    let started = Instant::now();
    let reply = direct.run("www.ok.com", "A").await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reply.answers_of("A"), ["192.0.2.1"], "{}", reply.raw);
    assert!(
        elapsed >= Duration::from_millis(RTT_MS),
        "answered after {elapsed:?}, before the {RTT_MS} ms hold"
    );
    let dead = dig(&world, DEAD).norec().wait(Duration::from_secs(1));
    let reply = dead.run("www.ok.com", "A").await.unwrap();
    assert!(reply.timed_out(), "the dead server answered: {}", reply.raw);
    let lame = dig(&world, LAME).norec().wait(Duration::from_secs(3));
    let reply = lame.run("www.ok.com", "A").await.unwrap();
    assert_eq!(reply.status, "REFUSED", "{}", reply.raw);
}

/// Our resolver, cold, behind the relay, answers every name of the tiny
/// hierarchy though ok.com.'s NS set holds a lame and a dead server.
#[tokio::test]
async fn ours_answers_every_name_through_the_relay() {
    let dir = tempdir("ours");
    let world = world(&dir).await;
    let conf = dir.join("unbound.conf");
    let hints = dir.join("root.hints");
    std::fs::write(
        &conf,
        format!(
            "server:\n  interface: {RESOLVER}\n  do-ip6: no\n  module-config: \"iterator\"\n  root-hints: \"{}\"\n  access-control: 10.78.0.0/16 allow\n  chroot: \"\"\n  username: \"\"\n  pidfile: \"\"\n  use-syslog: no\n",
            hints.display()
        ),
    )
    .unwrap();
    let resolver = cargo_bin("resolver").unwrap().display().to_string();
    let conf_arg = conf.display().to_string();
    let _ours = world
        .res
        .spawn(&resolver, &["-c", conf_arg.as_str()])
        .unwrap();
    let client = dig(&world, RESOLVER).wait(Duration::from_secs(5));
    let mut started = false;
    for _ in 0..50 {
        let reply = client.run("probe.invalid", "A").await;
        if reply.is_ok_and(|r| !r.timed_out()) {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started, "our resolver did not start");
    for (name, want) in NAMES {
        let reply = client.run(name, "A").await.unwrap();
        assert_eq!(reply.status, "NOERROR", "{name}: {}", reply.raw);
        assert!(
            reply.answers_of("A").contains(&want),
            "{name}: {}",
            reply.raw
        );
    }
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cold-relay-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
