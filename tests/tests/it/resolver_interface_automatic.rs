//! `interface-automatic: yes` (issue 15): the resolver binary bound to `0.0.0.0`
//! and `::` answers each UDP query from the address it was sent to, as
//! Unbound does with IP_PKTINFO / IPV6_RECVPKTINFO. Node-local caches on a
//! link-local address behind a wildcard bind rely on it: a client's connected
//! UDP socket (as glibc's stub resolver uses) only accepts replies from the
//! address it sent to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use e2e::daemon::{Daemon, Signal};
use e2e::fake_dns::Hierarchy;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::resolver_process::resolver_bin;
use crate::resolver_support::scratch_dir;

/// Starts the binary with `listen` lines (and the hierarchy's root hints) on a
/// free port; returns it with that port.
async fn spawn(hierarchy: &Hierarchy, listen: &str) -> (Daemon, u16) {
    let dir = scratch_dir("ifauto");
    let hints = dir.join("root.hints");
    hierarchy.write_root_hints(&hints).unwrap();
    let port = e2e::free_port();
    let path = dir.join("unbound.conf");
    std::fs::write(
        &path,
        format!(
            "server:\n{listen}  port: {port}\n  do-not-query-localhost: no\n  root-hints: \"{}\"\n  \
             access-control: 127.0.0.0/8 allow\n  access-control: ::1 allow\n  \
             local-data: \"printer.lan. A 192.168.1.50\"\n",
            hints.display()
        ),
    )
    .unwrap();
    let metrics = SocketAddr::new(e2e::test_addr(hierarchy.net(), 1), e2e::free_port());
    let mut daemon = Daemon::spawn(
        &resolver_bin(),
        &[
            "-c".into(),
            path.display().to_string(),
            "--metrics-addr".into(),
            metrics.to_string(),
        ],
    )
    .unwrap();
    daemon
        .wait_ready(metrics, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    (daemon, port)
}

/// Asks `name` A of `server` from a UDP socket connected to it, so only a reply
/// whose source is `server` is received. `None` when none came in `wait`.
fn ask_connected(from: IpAddr, server: SocketAddr, name: &str, wait: Duration) -> Option<Message> {
    let socket = UdpSocket::bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(server).unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    let mut query = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    socket.send(&query.to_vec().unwrap()).unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    Some(Message::from_vec(&buf[..n]).unwrap())
}

fn addresses(reply: &Message) -> Vec<String> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// unbound.conf(5) interface-automatic: "detect the source interface on UDP
/// queries and copy them to replies". Local data (answered inline), a cache
/// miss (answered later) and a cache hit each come back from 127.N.2.2 or
/// 127.N.2.3, whichever the query was sent to, and from ::1 over IPv6.
#[tokio::test]
async fn replies_leave_from_the_address_each_query_was_sent_to() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, port) = spawn(&hierarchy, "  interface-automatic: yes\n").await;
    let net = hierarchy.net();
    let client = IpAddr::V4(Ipv4Addr::new(127, net, 2, 9));
    let wait = Duration::from_secs(3);
    for host in [2, 3] {
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, net, 2, host)), port);
        for name in ["printer.lan.", "www.example.com.", "www.example.com."] {
            let reply =
                tokio::task::spawn_blocking(move || ask_connected(client, server, name, wait))
                    .await
                    .unwrap()
                    .unwrap_or_else(|| {
                        panic!("no reply from {server} for {name}\n{}", daemon.log())
                    });
            assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
            let want = if name == "printer.lan." {
                "192.168.1.50"
            } else {
                "192.0.2.1"
            };
            assert_eq!(addresses(&reply), vec![want], "{name} via {server}");
        }
    }
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port);
    let reply = tokio::task::spawn_blocking(move || {
        ask_connected(IpAddr::V6(Ipv6Addr::LOCALHOST), v6, "printer.lan.", wait)
    })
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("no reply over IPv6\n{}", daemon.log()));
    assert_eq!(addresses(&reply), vec!["192.168.1.50"]);
    daemon.signal(Signal::Term).unwrap();
    assert!(daemon.wait_exit(Duration::from_secs(10)).await.is_some());
}

/// The same wildcard bind without interface-automatic: the kernel picks the
/// reply's source (127.0.0.1), so the connected client hears nothing. This is
/// what the option fixes, and shows the test above can fail.
#[tokio::test]
async fn without_it_a_wildcard_bind_answers_from_the_wrong_address() {
    let hierarchy = Hierarchy::start_unique().await.unwrap();
    let (mut daemon, port) = spawn(&hierarchy, "  interface: 0.0.0.0\n").await;
    let net = hierarchy.net();
    let client = IpAddr::V4(Ipv4Addr::new(127, net, 2, 9));
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, net, 2, 2)), port);
    let reply = tokio::task::spawn_blocking(move || {
        ask_connected(client, server, "printer.lan.", Duration::from_millis(700))
    })
    .await
    .unwrap();
    assert!(reply.is_none(), "{reply:?}");
    daemon.signal(Signal::Term).unwrap();
    assert!(daemon.wait_exit(Duration::from_secs(10)).await.is_some());
}
