//! Scrape a Prometheus text endpoint with a raw HTTP/1.0 GET and look samples up.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> anyhow::Result<()> {
//! let scrape = e2e::metrics::scrape(addr).await?;
//! assert!(scrape.has("unbound_queries_total"));
//! let servfail = scrape.value("unbound_answer_rcodes_total", &[("rcode", "SERVFAIL")]);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on one HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on a response body.
const MAX_RESPONSE: u64 = 32 << 20;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (for histograms, including `_bucket` / `_sum` / `_count`).
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value (`NaN`, `+Inf`, `-Inf` allowed).
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn matches(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// A parsed scrape.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE` per metric family.
    pub types: BTreeMap<String, String>,
    /// `# HELP` per metric family.
    pub help: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses Prometheus text exposition format (0.0.4).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut scrape = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                let mut parts = rest.trim_start().splitn(3, ' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("TYPE"), Some(name), Some(kind)) => {
                        scrape.types.insert(name.into(), kind.trim().into());
                    }
                    (Some("HELP"), Some(name), help) => {
                        scrape.help.insert(name.into(), help.unwrap_or("").into());
                    }
                    _ => {}
                }
                continue;
            }
            let sample = parse_sample(line)
                .with_context(|| format!("metrics line {}: {line}", index + 1))?;
            scrape.samples.push(sample);
        }
        Ok(scrape)
    }

    /// Whether any sample of `name` exists, or a `# TYPE`/`# HELP` declares it.
    pub fn has(&self, name: &str) -> bool {
        self.types.contains_key(name)
            || self.help.contains_key(name)
            || self.samples.iter().any(|s| s.name == name)
    }

    /// The first sample of `name` whose labels include all of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && s.matches(labels))
            .map(|s| s.value)
    }

    /// The sum over every sample of `name` whose labels include all of `labels`
    /// (0 when none match).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && s.matches(labels))
            .map(|s| s.value)
            .sum()
    }

    /// Every sample of `name`.
    pub fn all(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_sample(line: &str) -> anyhow::Result<Sample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| anyhow!("no value"))?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        loop {
            while chars
                .peek()
                .is_some_and(|(_, c)| *c == ',' || c.is_whitespace())
            {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    end = Some(*i);
                    break;
                }
                None => break,
                _ => {}
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                bail!("label {key} value is not quoted");
            }
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => bail!("dangling escape"),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                bail!("unterminated label value");
            }
            labels.push((key.trim().to_string(), value));
        }
        let end = end.ok_or_else(|| anyhow!("unterminated label set"))?;
        rest = &body[end + 1..];
    }
    let value_text = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| anyhow!("no value"))?;
    let value = match value_text {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().with_context(|| format!("bad value {v}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// `GET http://<addr>/metrics`, parsed.
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let (code, body) = http_get(addr, "/metrics").await?;
    if code != 200 {
        bail!("GET http://{addr}/metrics: HTTP {code}: {body}");
    }
    Scrape::parse(&body)
}

/// A minimal HTTP/1.0 GET (so the server closes the connection and does not chunk);
/// returns the status code and the body. Chunked bodies are decoded anyway.
/// Bounded by a 5 s timeout and a 32 MiB body.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    tokio::time::timeout(HTTP_TIMEOUT, http_get_inner(addr, path))
        .await
        .map_err(|_| anyhow!("GET http://{addr}{path}: timed out after {HTTP_TIMEOUT:?}"))?
}

async fn http_get_inner(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("GET http://{addr}{path}: malformed HTTP response"))?;
    let code: u16 = head
        .lines()
        .next()
        .and_then(|status| status.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("GET http://{addr}{path}: bad status line"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok((code, body))
}

fn dechunk(mut body: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    loop {
        let (size_line, rest) = body
            .split_once("\r\n")
            .ok_or_else(|| anyhow!("bad chunk"))?;
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| anyhow!("bad chunk size"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or_else(|| anyhow!("short chunk"))?;
        out.push_str(chunk);
        body = rest.get(size..).unwrap_or("").trim_start_matches("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_escapes_and_specials() {
        let text = "# HELP q_total Queries.\n# TYPE q_total counter\n\
            q_total{rcode=\"NOERROR\",thread=\"0\"} 12\n\
            q_total{rcode=\"SERVFAIL\",thread=\"0\"} 3 1700000000\n\
            weird{v=\"a\\\"b,c}\"} NaN\nplain 1.5e3\nh_bucket{le=\"+Inf\"} 4\n";
        let s = Scrape::parse(text).unwrap();
        assert!(s.has("q_total"));
        assert_eq!(s.value("q_total", &[("rcode", "SERVFAIL")]), Some(3.0));
        assert_eq!(s.sum("q_total", &[("thread", "0")]), 15.0);
        assert_eq!(s.value("plain", &[]), Some(1500.0));
        assert_eq!(s.all("weird")[0].label("v"), Some("a\"b,c}"));
        assert_eq!(s.value("h_bucket", &[("le", "+Inf")]), Some(4.0));
        assert_eq!(s.types["q_total"], "counter");
    }

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            "abcde"
        );
    }
}
