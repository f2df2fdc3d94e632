//! A bounded DNS load for the data-plane fault tests, run inside the client's
//! namespace by the `dns-load` binary: `count` A queries at `rate` per second,
//! at most `concurrency` in flight, each waiting `timeout` for its reply, and
//! no query sent after `max_time` (so a run ends within `max_time + timeout`
//! whatever happens to the servers). Each query is classified:
//!
//! - answered: a reply with the query's ID and NOERROR or NXDOMAIN;
//! - failed: a reply with another rcode (SERVFAIL, REFUSED);
//! - lost: no reply within `timeout` (or an ICMP error on the socket).
//!
//! The binary prints one [`LoadReport`] line at the end, which
//! [`LoadReport::parse`] reads back in the test.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What to send (to the LoadBalancer address in the data-plane tests, to
/// `--server` from the `dns-load` binary).
#[derive(Debug, Clone)]
pub struct Load {
    /// Queries to send at most.
    pub count: u64,
    /// Queries per second (paced from the start; a slow server makes it lag).
    pub rate: u32,
    /// Queries in flight at most.
    pub concurrency: usize,
    /// How long one query waits for its reply.
    pub timeout: Duration,
    /// No query is sent after this long.
    pub max_time: Duration,
    /// Query names: `{i}` is replaced by the query's index (`q{i}.wild.net`).
    pub names: String,
    /// Every `tcp_every`-th query goes over TCP (0: none).
    pub tcp_every: u64,
}

impl Load {
    /// `count` queries at `rate`/s named `names`, 32 in flight, 3 s per
    /// query (a stub resolver's patience: longer than the lb's 1 s backend
    /// timeout plus its one retry), stopping after count/rate + 5 s.
    pub fn new(count: u64, rate: u32, names: &str) -> Load {
        let secs = count / u64::from(rate.max(1)) + 5;
        Load {
            count,
            rate,
            concurrency: 32,
            timeout: Duration::from_secs(3),
            max_time: Duration::from_secs(secs),
            names: names.to_string(),
            tcp_every: 0,
        }
    }

    /// Every `n`-th query over TCP.
    pub fn tcp_every(mut self, n: u64) -> Load {
        self.tcp_every = n;
        self
    }

    /// `n` in flight at most.
    pub fn concurrency(mut self, n: usize) -> Load {
        self.concurrency = n;
        self
    }
}

/// Outcome counts of one run, with when (ms from the start) each lost or
/// failed query was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Queries sent.
    pub sent: u64,
    /// NOERROR or NXDOMAIN replies.
    pub answered: u64,
    /// Replies with another rcode.
    pub failed: u64,
    /// Queries without a reply.
    pub lost: u64,
    /// Of those, over TCP.
    pub tcp_sent: u64,
    /// Run time, ms.
    pub elapsed_ms: u64,
    /// Send times of the lost queries, ms from the start.
    pub lost_at_ms: Vec<u64>,
    /// Send times of the failed queries, ms from the start.
    pub failed_at_ms: Vec<u64>,
}

impl LoadReport {
    /// The one-line form the binary prints:
    /// `load: sent=N answered=N failed=N lost=N tcp=N elapsed_ms=N lost_at_ms=a,b failed_at_ms=c`.
    pub fn line(&self) -> String {
        let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let mut out = String::new();
        let _ = write!(
            out,
            "load: sent={} answered={} failed={} lost={} tcp={} elapsed_ms={} lost_at_ms={} failed_at_ms={}",
            self.sent,
            self.answered,
            self.failed,
            self.lost,
            self.tcp_sent,
            self.elapsed_ms,
            join(&self.lost_at_ms),
            join(&self.failed_at_ms)
        );
        out
    }

    /// Reads the last `load:` line of `text` (the binary's output).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with("load: "))
            .ok_or_else(|| anyhow!("no `load:` line in:\n{text}"))?;
        let mut report = LoadReport::default();
        for field in line["load: ".len()..].split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| anyhow!("bad field {field} in {line}"))?;
            let number = || -> anyhow::Result<u64> {
                value
                    .parse()
                    .with_context(|| format!("{key}={value} in {line}"))
            };
            let list = || -> anyhow::Result<Vec<u64>> {
                value
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(|v| v.parse().with_context(|| format!("{key} in {line}")))
                    .collect()
            };
            match key {
                "sent" => report.sent = number()?,
                "answered" => report.answered = number()?,
                "failed" => report.failed = number()?,
                "lost" => report.lost = number()?,
                "tcp" => report.tcp_sent = number()?,
                "elapsed_ms" => report.elapsed_ms = number()?,
                "lost_at_ms" => report.lost_at_ms = list()?,
                "failed_at_ms" => report.failed_at_ms = list()?,
                _ => bail!("unknown field {key} in {line}"),
            }
        }
        Ok(report)
    }
}

/// How one query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Failed,
    Lost,
}

/// Sends `spec` to `server`.
pub async fn run(server: SocketAddr, spec: &Load) -> LoadReport {
    let start = Instant::now();
    let deadline = start + spec.max_time;
    let slots = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let mut tasks: JoinSet<(u64, Outcome)> = JoinSet::new();
    let mut report = LoadReport::default();
    let record = |report: &mut LoadReport, (sent_ms, outcome): (u64, Outcome)| match outcome {
        Outcome::Answered => report.answered += 1,
        Outcome::Failed => {
            report.failed += 1;
            report.failed_at_ms.push(sent_ms);
        }
        Outcome::Lost => {
            report.lost += 1;
            report.lost_at_ms.push(sent_ms);
        }
    };
    let rate = f64::from(spec.rate.max(1));
    for i in 0..spec.count {
        // u64 → f64 loses nothing below 2^53 queries.
        #[allow(clippy::cast_precision_loss)]
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due).await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if Instant::now() >= deadline {
            break;
        }
        while let Some(done) = tasks.try_join_next() {
            if let Ok(done) = done {
                record(&mut report, done);
            }
        }
        let tcp = spec.tcp_every > 0 && i % spec.tcp_every == spec.tcp_every - 1;
        report.sent += 1;
        report.tcp_sent += u64::from(tcp);
        let name = spec.names.replace("{i}", &i.to_string());
        let timeout = spec.timeout;
        let sent_ms = millis(start.elapsed());
        tasks.spawn(async move {
            let _slot = slot;
            let outcome = match tokio::time::timeout(timeout, ask(server, &name, tcp)).await {
                Ok(Ok(rcode)) if rcode == 0 || rcode == 3 => Outcome::Answered,
                Ok(Ok(_)) => Outcome::Failed,
                Ok(Err(_)) | Err(_) => Outcome::Lost,
            };
            (sent_ms, outcome)
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(done) = done {
            record(&mut report, done);
        }
    }
    report.lost_at_ms.sort_unstable();
    report.failed_at_ms.sort_unstable();
    report.elapsed_ms = millis(start.elapsed());
    report
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An A query for `name` (RD, EDNS with a 1232-byte payload) with id `id`.
fn query_bytes(name: &str, id: u16) -> anyhow::Result<Vec<u8>> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))
            .ok_or_else(|| anyhow!("bad label in {name}"))?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    // OPT: root name, type 41, payload 1232, no extended rcode or flags.
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
    Ok(q)
}

/// One exchange; the reply's rcode.
async fn ask(server: SocketAddr, name: &str, tcp: bool) -> anyhow::Result<u8> {
    let id: u16 = rand::random();
    let query = query_bytes(name, id)?;
    if tcp {
        let mut stream = TcpStream::connect(server).await?;
        let len = u16::try_from(query.len())?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        stream.write_all(&framed).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut reply).await?;
        if reply.len() < 4 || reply[..2] != id.to_be_bytes() {
            bail!("reply with another id");
        }
        return Ok(reply[3] & 0x0F);
    }
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(&query).await?;
    let mut buf = vec![0u8; 65_535];
    // Bounded by the caller's timeout; the count bound stops a flood.
    for _ in 0..100 {
        let len = socket.recv(&mut buf).await?;
        if len >= 4 && buf[..2] == id.to_be_bytes() && buf[2] & 0x80 != 0 {
            return Ok(buf[3] & 0x0F);
        }
    }
    bail!("no matching reply among 100 datagrams")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_round_trips() {
        let report = LoadReport {
            sent: 10,
            answered: 7,
            failed: 1,
            lost: 2,
            tcp_sent: 3,
            elapsed_ms: 1234,
            lost_at_ms: vec![5, 900],
            failed_at_ms: vec![17],
        };
        assert_eq!(
            LoadReport::parse(&format!("noise\n{}\n", report.line())).unwrap(),
            report
        );
        let empty = LoadReport::default();
        assert_eq!(LoadReport::parse(&empty.line()).unwrap(), empty);
        assert!(LoadReport::parse("nothing").is_err());
    }

    #[test]
    fn query_is_well_formed() {
        let q = query_bytes("q1.wild.net", 7).unwrap();
        assert_eq!(&q[..2], &[0, 7]);
        assert!(query_bytes("a..b", 1).is_err());
    }
}
