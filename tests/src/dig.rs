//! Ask DNS questions the way an operator would (the real `dig` and `kdig`) and the
//! way a program would (a small hickory-proto client, [`query`]).
//!
//! ```no_run
//! # async fn demo(ip: std::net::IpAddr, addr: std::net::SocketAddr) -> anyhow::Result<()> {
//! use e2e::dig::{query, Dig, Transport};
//! use hickory_proto::rr::RecordType;
//! let r = Dig::new(ip).norec().run("www.example.com", "A").await?;
//! assert_eq!(r.status, "NOERROR");
//! assert!(r.has_flag("aa"));
//! assert_eq!(r.answer[0].rdata, "192.0.2.1");
//! let r = Dig::kdig(ip).port(853).tls().run("www.example.com", "A").await?;
//! let msg = query(addr, "www.example.com.", RecordType::A, Transport::Tcp).await?;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::process::Command;
use tokio::time::Instant;

/// Which command-line tool runs the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// ISC `dig` (bind9-dnsutils).
    Dig,
    /// Knot `kdig` (knot-dnsutils); needed for `+tls`.
    Kdig,
}

/// One record line of an answer, authority or additional section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLine {
    /// Owner name as printed (fully qualified, with trailing dot).
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Class (`IN`).
    pub class: String,
    /// Type mnemonic (`A`, `CNAME`, `DNAME`, `SOA`, ...).
    pub rtype: String,
    /// Record data as printed, fields joined by single spaces.
    pub rdata: String,
}

/// The parsed output of one `dig` / `kdig` run.
#[derive(Debug, Clone, Default)]
pub struct DigResult {
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ... or `TIMEOUT` when no reply came.
    pub status: String,
    /// Header flags, lower-case (`qr`, `aa`, `tc`, `rd`, `ra`, `ad`, `cd`).
    pub flags: Vec<String>,
    /// Transaction id, when a reply came.
    pub id: Option<u16>,
    /// Whether the reply carried an OPT record (EDNS).
    pub edns: bool,
    /// Answer section.
    pub answer: Vec<RecordLine>,
    /// Authority section.
    pub authority: Vec<RecordLine>,
    /// Additional section (without the OPT pseudo-record).
    pub additional: Vec<RecordLine>,
    /// Extended DNS Error codes of the OPT record (RFC 8914), in order.
    pub ede: Vec<u16>,
    /// The tool's full output, for failure messages.
    pub raw: String,
}

impl DigResult {
    /// Whether header flag `flag` (`"aa"`, `"tc"`, ...) is set.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }

    /// Whether the tool got no reply at all.
    pub fn timed_out(&self) -> bool {
        self.status == "TIMEOUT"
    }

    /// The rdata of every answer record of type `rtype`.
    pub fn answers_of(&self, rtype: &str) -> Vec<&str> {
        self.answer
            .iter()
            .filter(|r| r.rtype.eq_ignore_ascii_case(rtype))
            .map(|r| r.rdata.as_str())
            .collect()
    }
}

/// A `dig` / `kdig` invocation under construction. Defaults: port 53, UDP,
/// recursion desired, one try with a 2 s wait (`+tries=1 +time=2` /
/// `+retry=0 +time=2`), the process killed if it outlives that by 5 s.
#[derive(Debug, Clone)]
pub struct Dig {
    tool: Tool,
    server: IpAddr,
    port: u16,
    tcp: bool,
    tls: bool,
    norec: bool,
    dnssec: bool,
    ignore_tc: bool,
    edns: Option<bool>,
    bufsize: Option<u16>,
    wait: Duration,
    extra: Vec<String>,
    netns: Option<String>,
}

impl Dig {
    /// `dig @server`.
    pub fn new(server: IpAddr) -> Self {
        Self {
            tool: Tool::Dig,
            server,
            port: 53,
            tcp: false,
            tls: false,
            norec: false,
            dnssec: false,
            ignore_tc: false,
            edns: None,
            bufsize: None,
            wait: Duration::from_secs(2),
            extra: Vec::new(),
            netns: None,
        }
    }

    /// `kdig @server`.
    pub fn kdig(server: IpAddr) -> Self {
        Self {
            tool: Tool::Kdig,
            ..Self::new(server)
        }
    }

    /// `-p port`.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `+tcp`.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// `+tls` (kdig only; certificate not verified).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// `+norec` (RD=0).
    pub fn norec(mut self) -> Self {
        self.norec = true;
        self
    }

    /// `+dnssec` (DO=1).
    pub fn dnssec(mut self) -> Self {
        self.dnssec = true;
        self
    }

    /// `+ignore` (dig) / `+ignoretc` (kdig): report TC instead of retrying over TCP.
    pub fn ignore_tc(mut self) -> Self {
        self.ignore_tc = true;
        self
    }

    /// `+edns` / `+noedns`.
    pub fn edns(mut self, on: bool) -> Self {
        self.edns = Some(on);
        self
    }

    /// `+bufsize=N` (EDNS payload).
    pub fn bufsize(mut self, size: u16) -> Self {
        self.bufsize = Some(size);
        self
    }

    /// Per-try wait (`+time=`, whole seconds, at least 1).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Any other option, passed verbatim (e.g. `"+nsid"`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_string());
        self
    }

    /// Runs the tool inside network namespace `name` (`ip netns exec name dig …`).
    pub fn netns(mut self, name: &str) -> Self {
        self.netns = Some(name.to_string());
        self
    }

    /// The command line (program and arguments) for `name` / `rtype`.
    pub fn command_line(&self, name: &str, rtype: &str) -> Vec<String> {
        let secs = self.wait.as_secs().max(1);
        let mut args = vec![
            match self.tool {
                Tool::Dig => "dig".to_string(),
                Tool::Kdig => "kdig".to_string(),
            },
            format!("@{}", self.server),
            "-p".into(),
            self.port.to_string(),
            name.to_string(),
            rtype.to_string(),
            format!("+time={secs}"),
        ];
        args.push(match self.tool {
            Tool::Dig => "+tries=1".into(),
            Tool::Kdig => "+retry=0".into(),
        });
        if self.tcp {
            args.push("+tcp".into());
        }
        if self.tls {
            args.push("+tls".into());
        }
        if self.norec {
            args.push("+norec".into());
        }
        if self.dnssec {
            args.push("+dnssec".into());
        }
        if self.ignore_tc {
            args.push(match self.tool {
                Tool::Dig => "+ignore".into(),
                Tool::Kdig => "+ignoretc".into(),
            });
        }
        match self.edns {
            Some(true) => args.push("+edns=0".into()),
            Some(false) => args.push("+noedns".into()),
            None => {}
        }
        if let Some(size) = self.bufsize {
            args.push(format!("+bufsize={size}"));
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Runs the tool and parses its output. A reply-less run gives status `TIMEOUT`;
    /// a tool that cannot run, hangs past its own timeout, or prints something
    /// unparseable is an error carrying the output.
    pub async fn run(&self, name: &str, rtype: &str) -> anyhow::Result<DigResult> {
        let mut argv = self.command_line(name, rtype);
        if let Some(netns) = &self.netns {
            let prefix = ["ip", "netns", "exec", netns.as_str()].map(String::from);
            argv.splice(0..0, prefix);
        }
        let (program, args) = argv.split_first().ok_or_else(|| anyhow!("empty command"))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("running {program} (is it installed?)"))?;
        let limit = self.wait.max(Duration::from_secs(1)) * 2 + Duration::from_secs(5);
        let output = tokio::time::timeout(limit, child.wait_with_output())
            .await
            .map_err(|_| anyhow!("`{}` still running after {limit:?}", argv.join(" ")))??;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        parse_output(&text).with_context(|| format!("`{}`", argv.join(" ")))
    }
}

/// Parses `dig` or `kdig` output.
pub fn parse_output(text: &str) -> anyhow::Result<DigResult> {
    let mut result = DigResult {
        raw: text.to_string(),
        ..DigResult::default()
    };
    #[derive(PartialEq)]
    enum Section {
        None,
        Answer,
        Authority,
        Additional,
    }
    let mut section = Section::None;
    let mut got_header = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(pos) = trimmed.find("->>HEADER<<-") {
            got_header = true;
            let header = &trimmed[pos..];
            result.status = field(header, "status:").unwrap_or_default();
            result.id = field(header, "id:").and_then(|id| id.parse().ok());
            continue;
        }
        let lower = trimmed.to_ascii_lowercase();
        if got_header && result.flags.is_empty() && lower.starts_with(";; flags:") {
            let flags = &trimmed[";; flags:".len()..];
            let flags = flags.split(';').next().unwrap_or("");
            result.flags = flags
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            continue;
        }
        if let Some(pos) = trimmed.find("EDE:") {
            let code: String = trimmed[pos + 4..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(code) = code.parse() {
                result.ede.push(code);
            }
            continue;
        }
        if lower.contains("opt pseudosection") || lower.contains("edns pseudosection") {
            result.edns = true;
            section = Section::None;
            continue;
        }
        if trimmed.starts_with(";;") {
            section = if lower.contains("answer section") {
                Section::Answer
            } else if lower.contains("authority section") {
                Section::Authority
            } else if lower.contains("additional section") {
                Section::Additional
            } else {
                Section::None
            };
            continue;
        }
        if trimmed.is_empty() {
            section = Section::None;
            continue;
        }
        if trimmed.starts_with(';') || section == Section::None {
            continue;
        }
        let Some(record) = parse_record_line(trimmed) else {
            continue;
        };
        if record.rtype == "OPT" {
            continue;
        }
        match section {
            Section::Answer => result.answer.push(record),
            Section::Authority => result.authority.push(record),
            Section::Additional => result.additional.push(record),
            Section::None => {}
        }
    }
    if !got_header {
        let lower = text.to_ascii_lowercase();
        if lower.contains("timed out")
            || lower.contains("no servers could be reached")
            || lower.contains("failed to query")
        {
            result.status = "TIMEOUT".into();
            return Ok(result);
        }
        bail!("no DNS header in output:\n{text}");
    }
    Ok(result)
}

/// `key: VALUE,` or `key: VALUE;` out of a header line.
fn field(header: &str, key: &str) -> Option<String> {
    let start = header.find(key)? + key.len();
    let value = header[start..]
        .trim_start()
        .split([',', ';', ' '])
        .next()?
        .trim();
    Some(value.to_string())
}

/// `name ttl class type rdata...`.
fn parse_record_line(line: &str) -> Option<RecordLine> {
    let mut parts = line.split_whitespace();
    let name = parts.next()?.to_string();
    let ttl = parts.next()?.parse().ok()?;
    let class = parts.next()?.to_string();
    let rtype = parts.next()?.to_string();
    let rdata = parts.collect::<Vec<_>>().join(" ");
    Some(RecordLine {
        name,
        ttl,
        class,
        rtype,
        rdata,
    })
}

/// Transport for [`query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One datagram each way.
    Udp,
    /// RFC 7766: 2-byte length prefix.
    Tcp,
}

/// Options for [`query_with`].
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// Send an OPT record.
    pub edns: bool,
    /// EDNS UDP payload advertised.
    pub payload: u16,
    /// Set the DO bit (implies `edns`).
    pub dnssec_ok: bool,
    /// Set RD.
    pub recursion_desired: bool,
    /// How long to wait for the reply.
    pub timeout: Duration,
}

impl Default for QueryOptions {
    /// EDNS with a 1232-byte payload, DO=0, RD=1, 2 s timeout.
    fn default() -> Self {
        Self {
            edns: true,
            payload: 1232,
            dnssec_ok: false,
            recursion_desired: true,
            timeout: Duration::from_secs(2),
        }
    }
}

/// Asks `server` one question with [`QueryOptions::default`].
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    transport: Transport,
) -> anyhow::Result<Message> {
    query_with(server, name, rtype, transport, QueryOptions::default()).await
}

/// The wire form of a recursive A query for `name` with `id`, without EDNS:
/// what the flood and slow-loris tests send in bulk.
pub fn a_query_wire(name: &str, id: u16) -> anyhow::Result<Vec<u8>> {
    let qname = Name::from_ascii(name).with_context(|| format!("bad name {name}"))?;
    let mut msg = Message::query();
    msg.metadata.id = id;
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, RecordType::A));
    Ok(msg.to_vec()?)
}

/// Asks `server` one question; the name keeps its case. Over UDP, replies with
/// another id or from another address are skipped until the timeout; the reply's
/// question is not checked (tests inspect it). A timeout is an error.
pub async fn query_with(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    transport: Transport,
    options: QueryOptions,
) -> anyhow::Result<Message> {
    let mut qname = Name::from_ascii(name).with_context(|| format!("bad name {name}"))?;
    qname.set_fqdn(true);
    let mut msg = Message::query();
    msg.metadata.recursion_desired = options.recursion_desired;
    msg.add_query(Query::query(qname, rtype));
    if options.edns || options.dnssec_ok {
        let mut edns = Edns::new();
        edns.set_max_payload(options.payload.max(512));
        edns.set_dnssec_ok(options.dnssec_ok);
        msg.set_edns(edns);
    }
    let bytes = msg.to_vec()?;
    let exchange = async {
        match transport {
            Transport::Udp => udp_exchange(server, &bytes, msg.id).await,
            Transport::Tcp => tcp_exchange(server, &bytes).await,
        }
    };
    let reply = tokio::time::timeout(options.timeout, exchange)
        .await
        .map_err(|_| {
            anyhow!(
                "no reply from {server} ({transport:?}) within {:?}",
                options.timeout
            )
        })??;
    Ok(reply)
}

async fn udp_exchange(server: SocketAddr, bytes: &[u8], id: u16) -> anyhow::Result<Message> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.send_to(bytes, server).await?;
    let mut buf = vec![0u8; 65535];
    // Bounded by the caller's timeout; the count bound stops a flood.
    let started = Instant::now();
    for _ in 0..1000 {
        let (len, from) = socket.recv_from(&mut buf).await?;
        if from != server {
            continue;
        }
        let Ok(reply) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        if reply.id == id {
            return Ok(reply);
        }
    }
    bail!(
        "no matching reply from {server} after 1000 datagrams in {:?}",
        started.elapsed()
    )
}

async fn tcp_exchange(server: SocketAddr, bytes: &[u8]) -> anyhow::Result<Message> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(bytes.len()).map_err(|_| anyhow!("query too large"))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await?;
    Ok(Message::from_vec(&reply)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIG: &str = "\n; <<>> DiG 9.18.28 <<>> @127.1.0.10 www.example.com A\n\
; (1 server found)\n;; global options: +cmd\n;; Got answer:\n\
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242\n\
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n\
;; WARNING: recursion requested but not available\n\n\
;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n\
;; QUESTION SECTION:\n;www.example.com.\t\tIN\tA\n\n\
;; ANSWER SECTION:\nwww.example.com.\t3600\tIN\tA\t192.0.2.1\n\n\
;; AUTHORITY SECTION:\nexample.com.\t300\tIN\tSOA\tns1.example.com. hostmaster.example.com. 1 2 3 4 300\n\n\
;; Query time: 0 msec\n";

    const KDIG: &str = ";; ->>HEADER<<- opcode: QUERY; status: NXDOMAIN; id: 17\n\
;; Flags: qr aa rd; QUERY: 1; ANSWER: 0; AUTHORITY: 1; ADDITIONAL: 1\n\n\
;; EDNS PSEUDOSECTION:\n;; Version: 0; flags: ; UDP size: 1232 B; ext-rcode: NOERROR\n\n\
;; QUESTION SECTION:\n;; nope.example.com.   \t\tIN\tA\n\n\
;; AUTHORITY SECTION:\nexample.com.        \t300\tIN\tSOA\tns1.example.com. hostmaster.example.com. 1 2 3 4 300\n\n\
;; Received 100 B\n";

    #[test]
    fn parses_dig() {
        let r = parse_output(DIG).unwrap();
        assert_eq!(r.status, "NOERROR");
        assert_eq!(r.id, Some(4242));
        assert_eq!(r.flags, ["qr", "aa", "rd"]);
        assert!(r.edns);
        assert_eq!(r.answer[0].rdata, "192.0.2.1");
        assert_eq!(r.answer[0].ttl, 3600);
        assert_eq!(r.authority[0].rtype, "SOA");
    }

    #[test]
    fn parses_kdig() {
        let r = parse_output(KDIG).unwrap();
        assert_eq!(r.status, "NXDOMAIN");
        assert!(r.has_flag("aa"));
        assert!(r.answer.is_empty());
        assert_eq!(r.authority.len(), 1);
    }

    #[test]
    fn parses_extended_errors_of_dig_and_kdig() {
        let dig = DIG.replace(
            "; EDNS: version: 0, flags:; udp: 1232\n",
            "; EDNS: version: 0, flags:; udp: 1232\n; EDE: 7 (Signature Expired): (for DNSKEY x)\n",
        );
        assert_eq!(parse_output(&dig).unwrap().ede, [7]);
        let kdig = KDIG.replace(
            "ext-rcode: NOERROR\n",
            "ext-rcode: NOERROR\n;; EDE: 6 (DNSSEC Bogus): 'validation failure'\n",
        );
        assert_eq!(parse_output(&kdig).unwrap().ede, [6]);
        assert!(parse_output(DIG).unwrap().ede.is_empty());
    }

    #[test]
    fn timeout_is_a_status() {
        let r = parse_output(";; connection timed out; no servers could be reached\n").unwrap();
        assert!(r.timed_out());
        assert!(parse_output("garbage").is_err());
    }
}
