//! A small DNS server standing in for the cluster DNS (CoreDNS' `kubernetes`
//! plugin) in the data-plane tests: it answers A queries for the names in a
//! records file (the resolvers' headless Service, the Redis Service), so the
//! lb discovers its backends and the resolvers find Redis through the pods'
//! `resolv.conf`, as in the cluster.
//!
//! The records file holds one `<name> <IPv4 address>` per line (`#` starts a
//! comment); a name may have several lines. It is read again for every query,
//! so a test "scales" the resolvers by rewriting it (write a temporary file,
//! then rename it over the old one). Answers carry TTL 5, CoreDNS' default for
//! Service records. A name not in the file is NXDOMAIN (the search-list
//! expansions a pod's `ndots:5` makes); another type for a known name is NODATA.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::{bail, Context as _};
use tokio::net::UdpSocket;

/// TTL of every answer (CoreDNS' `kubernetes` plugin default).
pub const TTL: u32 = 5;

/// Names (lower case, no trailing dot) and their addresses.
pub type Records = BTreeMap<String, Vec<Ipv4Addr>>;

/// Parses a records file's text.
pub fn parse_records(text: &str) -> anyhow::Result<Records> {
    let mut records = Records::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(name), Some(addr), None) = (fields.next(), fields.next(), fields.next()) else {
            bail!("line {}: want `<name> <address>`: {line}", index + 1);
        };
        let addr: Ipv4Addr = addr
            .parse()
            .with_context(|| format!("line {}: address {addr}", index + 1))?;
        records
            .entry(name.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(addr);
    }
    Ok(records)
}

/// Writes `records` to `path` atomically (a temporary file renamed over it),
/// so the server never reads half a file.
pub fn write_records(path: &Path, records: &[(&str, Ipv4Addr)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, addr) in records {
        text.push_str(&format!("{name} {addr}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// The response to `query` from `records`, or `None` for something that is
/// not a one-question query.
pub fn answer(query: &[u8], records: &Records) -> Option<Vec<u8>> {
    let (name, qtype, end) = crate::wire::question(query)?;
    let mut out = query[..end].to_vec();
    out[2] = 0x84 | (query[2] & 0x01); // QR, AA; RD copied
    out[3] = 0x80; // RA, NOERROR
    out[6..12].fill(0);
    match records.get(&name) {
        None => out[3] |= 3, // NXDOMAIN
        Some(addrs) if qtype == 1 => {
            let count = u16::try_from(addrs.len()).unwrap_or(u16::MAX);
            out[6..8].copy_from_slice(&count.to_be_bytes());
            for addr in addrs.iter().take(usize::from(count)) {
                out.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
                out.extend_from_slice(&TTL.to_be_bytes());
                out.extend_from_slice(&[0, 4]);
                out.extend_from_slice(&addr.octets());
            }
        }
        Some(_) => {} // NODATA
    }
    Some(out)
}

/// Binds the UDP socket [`serve`] answers on.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(listen)
        .await
        .with_context(|| format!("binding udp {listen}"))
}

/// Answers on `socket` from the records file `path` until the future is
/// dropped; an unreadable file answers SERVFAIL (and says so on stderr once
/// per failure streak).
pub async fn serve(socket: UdpSocket, path: &Path) {
    let mut buf = vec![0u8; 65_535];
    let mut failing = false;
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(_) => continue,
        };
        if let Some(reply) = reply_from_file(&buf[..len], path, &mut failing) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Answers DNS over TCP (two-byte length framing, any number of queries
/// per connection) on `listener` from the records file `path`, as
/// [`serve`] does over UDP, until the future is dropped.
pub async fn serve_tcp(listener: tokio::net::TcpListener, path: &Path) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let path = path.to_path_buf();
        connections.spawn(async move {
            let mut failing = false;
            loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                let Some(reply) = reply_from_file(&query, &path, &mut failing) else {
                    return;
                };
                let Ok(size) = u16::try_from(reply.len()) else {
                    return;
                };
                let mut framed = size.to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The reply to `query` from the records file `path` (re-read each time);
/// SERVFAIL while it cannot be read, said once per failure streak.
fn reply_from_file(query: &[u8], path: &Path, failing: &mut bool) -> Option<Vec<u8>> {
    let records = std::fs::read_to_string(path)
        .map_err(anyhow::Error::from)
        .and_then(|text| parse_records(&text));
    match records {
        Ok(records) => {
            *failing = false;
            answer(query, &records)
        }
        Err(error) => {
            if !*failing {
                eprintln!("dns-stub: {}: {error:#}", path.display());
                *failing = true;
            }
            answer(query, &Records::new()).map(|mut r| {
                r[3] = (r[3] & 0xF0) | 2; // SERVFAIL
                r
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(u8::try_from(label.len()).unwrap());
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, qtype.try_into().unwrap(), 0, 1]);
        q
    }

    #[test]
    fn answers_known_names_nodata_and_nxdomain() {
        let records =
            parse_records("# c\nsvc.cluster.local 10.0.0.1\nSVC.cluster.local. 10.0.0.2\n")
                .unwrap();
        let a = answer(&query("Svc.Cluster.Local", 1), &records).unwrap();
        assert_eq!(&a[..2], &[0x12, 0x34]);
        assert_eq!(a[3] & 0x0F, 0);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 2);
        assert_eq!(&a[a.len() - 4..], &[10, 0, 0, 2]);
        let aaaa = answer(&query("svc.cluster.local", 28), &records).unwrap();
        assert_eq!((aaaa[3] & 0x0F, aaaa[7]), (0, 0));
        let nx = answer(&query("other.cluster.local", 1), &records).unwrap();
        assert_eq!(nx[3] & 0x0F, 3);
        assert!(parse_records("name only\n").is_err());
        assert!(answer(&[0; 5], &records).is_none());
    }
}
