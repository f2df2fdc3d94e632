//! Kea's memfile lease file: the CSV format, replay at start, durable appends
//! with group commit, and atomic compaction (Kea's LFC).
//!
//! **Format** (`src/lib/dhcpsrv/csv_lease_file4.cc`): a header line, then one
//! line per lease change; the last line for an address wins, and a line with
//! `valid_lifetime` 0 deletes the lease. Columns, in Kea's order:
//! `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,
//! hostname,state,user_context` (Kea 1.6 to 2.4; 2.6 appends `pool_id`, older
//! versions lack the last columns). We read every such header and write lines
//! with the file's own column count, so Kea reads what we append and we read
//! what Kea wrote. Hardware addresses and client ids are colon-separated hex;
//! in `hostname` and `user_context` a comma is written `&#x2c` (Kea's
//! `CSVFile::escapeCharacters`), and so are `&`, CR and LF here (Kea's unescape
//! turns any `&#xNN` back into its byte).
//!
//! **Durability**: [`LeaseFile::append`] resolves only after the lines are
//! written and fsynced. One writer thread takes every append waiting at that
//! moment, writes them with one write and covers them with one fsync (group
//! commit), so a burst of requests costs a few fsyncs, not one each. With a
//! commit window the writer, woken by a first append, waits that long before
//! it writes, so at moderate rates one fsync still covers several leases (an
//! fsync costs far more CPU than handling a request: see the README).
//! [`LeaseFile::submit_append_then`] runs a callback on the writer thread
//! once the lines are durable, so a reply can leave without waking anything.
//!
//! **Crash safety**: a torn last line (no newline: the process died mid-write)
//! is cut off at open; a line that does not decode is skipped and reported with
//! its number. Compaction writes the live leases to `<file>.tmp`, fsyncs it,
//! renames it over the file and fsyncs the directory, inside the writer thread
//! so no append interleaves: a crash at any moment leaves the old file or the
//! new one, both complete.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::error::{LeaseFileError, LineError};
use crate::lease::{Lease, LeaseState};

/// Every column Kea has written, in order; a file has the first 9 to 12.
pub const COLUMNS: [&str; 12] = [
    "address",
    "hwaddr",
    "client_id",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "state",
    "user_context",
    "pool_id",
];

/// Columns of a file we create: Kea 2.2's header (Debian 12), which every Kea
/// from 1.6 on reads.
pub const NEW_FILE_COLUMNS: usize = 11;

/// The fewest columns a Kea DHCPv4 lease file has ever had.
const MIN_COLUMNS: usize = 9;

/// Kea's escape tag for a character in a text column.
const ESCAPE_TAG: &str = "&#x";

/// The header line for a file of `columns` columns (no newline).
pub fn header(columns: usize) -> String {
    COLUMNS[..columns.clamp(MIN_COLUMNS, COLUMNS.len())].join(",")
}

/// The number of columns `line` declares, if it is a Kea DHCPv4 header.
pub fn parse_header(line: &str) -> Option<usize> {
    let names: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
    let n = names.len();
    (MIN_COLUMNS..=COLUMNS.len())
        .contains(&n)
        .then_some(n)
        .filter(|&n| names[..] == COLUMNS[..n])
}

/// One lease as a line of a `columns`-column file (no newline).
pub fn encode_line(lease: &Lease, columns: usize) -> String {
    let columns = columns.clamp(MIN_COLUMNS, COLUMNS.len());
    let mut line = String::with_capacity(128);
    let _ = write!(
        line,
        "{},{},{},{},{},{},{},{},{}",
        lease.address,
        hex_colon(&lease.hwaddr),
        lease
            .client_id
            .as_deref()
            .map(hex_colon)
            .unwrap_or_default(),
        lease.valid_lifetime,
        lease.expire,
        lease.subnet_id,
        u8::from(lease.fqdn_fwd),
        u8::from(lease.fqdn_rev),
        escape(&lease.hostname),
    );
    if columns > 9 {
        let _ = write!(line, ",{}", lease.state.code());
    }
    if columns > 10 {
        let _ = write!(line, ",{}", escape(&lease.user_context));
    }
    if columns > 11 {
        line.push_str(",0");
    }
    line
}

/// Decodes one line of a `columns`-column file.
pub fn decode_line(line: &str, columns: usize) -> Result<Lease, LineError> {
    let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
    if fields.len() != columns {
        return Err(LineError::Columns {
            found: fields.len(),
            expected: columns,
        });
    }
    let bad = |column: &'static str, value: &str, what: &'static str| LineError::Value {
        column,
        value: value.to_string(),
        what,
    };
    let address: Ipv4Addr = fields[0]
        .parse()
        .map_err(|_| bad("address", fields[0], "an IPv4 address"))?;
    let hwaddr = parse_hex_colon(fields[1]).ok_or_else(|| bad("hwaddr", fields[1], "colon hex"))?;
    let client_id = match fields[2] {
        "" => None,
        text => Some(parse_hex_colon(text).ok_or_else(|| bad("client_id", text, "colon hex"))?),
    };
    let number = |i: usize, what: &'static str| -> Result<u64, LineError> {
        fields[i]
            .parse::<u64>()
            .map_err(|_| bad(COLUMNS[i], fields[i], what))
    };
    let valid_lifetime = u32::try_from(number(3, "a 32-bit number")?)
        .map_err(|_| bad("valid_lifetime", fields[3], "a 32-bit number"))?;
    let expire = number(4, "a Unix time")?;
    let subnet_id = u32::try_from(number(5, "a 32-bit number")?)
        .map_err(|_| bad("subnet_id", fields[5], "a 32-bit number"))?;
    let flag = |i: usize| match fields[i] {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(bad(COLUMNS[i], other, "0 or 1")),
    };
    let state = match fields.get(9) {
        None => LeaseState::Default,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .and_then(LeaseState::from_code)
            .ok_or_else(|| bad("state", text, "0, 1 or 2"))?,
    };
    Ok(Lease {
        address,
        hwaddr,
        client_id,
        valid_lifetime,
        expire,
        subnet_id,
        fqdn_fwd: flag(6)?,
        fqdn_rev: flag(7)?,
        hostname: unescape(fields[8]),
        state,
        user_context: fields.get(10).map(|t| unescape(t)).unwrap_or_default(),
    })
}

fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn parse_hex_colon(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(':')
        .map(|pair| {
            (pair.len() <= 2 && !pair.is_empty())
                .then(|| u8::from_str_radix(pair, 16).ok())
                .flatten()
        })
        .collect()
}

/// Kea's escaping of a text column, plus `&`, CR and LF (see the module doc).
fn escape(text: &str) -> String {
    if !text.contains([',', '&', '\r', '\n']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            ',' | '&' | '\r' | '\n' => {
                let _ = write!(out, "{ESCAPE_TAG}{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Kea's unescaping: every `&#xNN` becomes the byte NN.
fn unescape(text: &str) -> String {
    if !text.contains(ESCAPE_TAG) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(ESCAPE_TAG) {
        out.push_str(&rest[..at]);
        let after = &rest[at + ESCAPE_TAG.len()..];
        match after.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &after[2..];
            }
            None => {
                out.push_str(ESCAPE_TAG);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a lease file held at open.
#[derive(Debug, Default)]
pub struct Replay {
    /// The live state: the last entry for each address, deletions applied.
    pub leases: HashMap<Ipv4Addr, Lease>,
    /// Lines that did not decode (1-based line number, why); they are skipped.
    pub skipped: Vec<(usize, LineError)>,
    /// Whether a torn last line (no newline) was cut off.
    pub truncated_tail: bool,
    /// Lease lines read (for the compaction policy: lines minus live leases is
    /// what compaction would drop).
    pub lines: usize,
}

/// A callback the writer runs once an append is durable (or failed).
pub type OnDurable = Box<dyn FnOnce(Result<(), LeaseFileError>) + Send>;

/// Where the writer answers a job: Ok once durable, or why not.
enum Done {
    /// An async waiter ([`Pending`]).
    Channel(oneshot::Sender<Result<(), String>>),
    /// A callback run on the writer thread, with the file's path for errors.
    Call(OnDurable, PathBuf),
}

impl Done {
    fn send(self, result: Result<(), String>) {
        match self {
            Done::Channel(sender) => {
                let _ = sender.send(result);
            }
            Done::Call(call, path) => {
                call(result.map_err(|reason| LeaseFileError::WriterStopped { path, reason }));
            }
        }
    }
}

/// Work for the writer thread.
enum Job {
    /// Lines to append; answered once they are on disk.
    Append(Vec<u8>, Done),
    /// The whole new content (header included) for compaction.
    Compact(Vec<u8>, Done),
}

impl Job {
    fn answer(self, result: Result<(), String>) {
        match self {
            Job::Append(_, done) | Job::Compact(_, done) => done.send(result),
        }
    }
}

/// An open lease file: appends go through its writer thread.
#[derive(Debug)]
pub struct LeaseFile {
    path: PathBuf,
    columns: usize,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    fsyncs: Arc<AtomicU64>,
}

impl LeaseFile {
    /// Opens (or creates, with Kea 2.2's header) the lease file at `path`,
    /// replays it, and starts its writer, which commits at once.
    pub fn open(path: &Path) -> Result<(LeaseFile, Replay), LeaseFileError> {
        LeaseFile::open_with_window(path, Duration::ZERO)
    }

    /// As [`LeaseFile::open`], with a writer that waits `window` after the
    /// first append it sees before writing and fsyncing what has come.
    pub fn open_with_window(
        path: &Path,
        window: Duration,
    ) -> Result<(LeaseFile, Replay), LeaseFileError> {
        let io = |source| LeaseFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        let mut replay = Replay::default();
        let columns = if text.is_empty() {
            let header = format!("{}\n", header(NEW_FILE_COLUMNS));
            file.write_all(header.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            sync_dir(path).map_err(io)?;
            NEW_FILE_COLUMNS
        } else {
            let first = text.lines().next().unwrap_or_default();
            let columns = parse_header(first).ok_or_else(|| LeaseFileError::Header {
                path: path.to_path_buf(),
                header: first.chars().take(200).collect(),
            })?;
            let complete = text.rfind('\n').map_or(0, |i| i + 1);
            if complete < text.len() {
                // A torn last line: cut it off so the next append starts clean.
                file.set_len(complete as u64).map_err(io)?;
                file.sync_all().map_err(io)?;
                replay.truncated_tail = true;
            }
            for (index, line) in text[..complete].lines().enumerate().skip(1) {
                if line.trim().is_empty() {
                    continue;
                }
                replay.lines += 1;
                match decode_line(line, columns) {
                    Ok(lease) if lease.is_deletion() => {
                        replay.leases.remove(&lease.address);
                    }
                    Ok(lease) => {
                        replay.leases.insert(lease.address, lease);
                    }
                    Err(error) => replay.skipped.push((index + 1, error)),
                }
            }
            columns
        };
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let fsyncs = Arc::new(AtomicU64::new(0));
        let (jobs, rx) = mpsc::channel();
        let writer = {
            let path = path.to_path_buf();
            let fsyncs = fsyncs.clone();
            std::thread::Builder::new()
                .name("lease-writer".into())
                .spawn(move || write_loop(file, &path, &rx, &fsyncs, window))
                .map_err(io)?
        };
        Ok((
            LeaseFile {
                path: path.to_path_buf(),
                columns,
                jobs: Some(jobs),
                writer: Some(writer),
                fsyncs,
            },
            replay,
        ))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Columns per line in this file.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// fsyncs done so far (group commit shows as fewer fsyncs than appends).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Appends these lease changes and returns once they are durable.
    pub async fn append(&self, leases: &[Lease]) -> Result<(), LeaseFileError> {
        self.submit_append(leases).wait().await
    }

    /// Queues these lease changes now (in the order of calls, so a caller
    /// holding its state lock keeps the file in the order of its changes);
    /// the result says when they are durable.
    pub fn submit_append(&self, leases: &[Lease]) -> Pending {
        let bytes = self.lines(leases);
        self.submit(|done| Job::Append(bytes, done))
    }

    /// Queues these lease changes now, as [`LeaseFile::submit_append`], and
    /// runs `then` on the writer thread once they are durable (or with the
    /// error if they cannot be). `then` must not block for long: the next
    /// group commit waits for it.
    pub fn submit_append_then(&self, leases: &[Lease], then: OnDurable) {
        let bytes = self.lines(leases);
        let job = Job::Append(bytes, Done::Call(then, self.path.clone()));
        if let Some(jobs) = &self.jobs {
            if let Err(mpsc::SendError(job)) = jobs.send(job) {
                job.answer(Err("writer thread exited".into()));
            }
        } else {
            job.answer(Err("closed".into()));
        }
    }

    /// The file's lines for these lease changes.
    fn lines(&self, leases: &[Lease]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(leases.len() * 96);
        for lease in leases {
            bytes.extend_from_slice(encode_line(lease, self.columns).as_bytes());
            bytes.push(b'\n');
        }
        bytes
    }

    /// Rewrites the file with just `leases` (the live ones), atomically.
    pub async fn compact<'a>(
        &self,
        leases: impl IntoIterator<Item = &'a Lease>,
    ) -> Result<(), LeaseFileError> {
        self.submit_compact(leases).wait().await
    }

    /// Queues a compaction to `leases` now; appends queued before it land
    /// in the old file first, appends queued after it in the new one.
    pub fn submit_compact<'a>(&self, leases: impl IntoIterator<Item = &'a Lease>) -> Pending {
        let mut bytes = header(self.columns).into_bytes();
        bytes.push(b'\n');
        for lease in leases {
            bytes.extend_from_slice(encode_line(lease, self.columns).as_bytes());
            bytes.push(b'\n');
        }
        self.submit(|done| Job::Compact(bytes, done))
    }

    fn submit(&self, job: impl FnOnce(Done) -> Job) -> Pending {
        let (done, result) = oneshot::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job(Done::Channel(done))).is_ok());
        Pending {
            path: self.path.clone(),
            result: sent.then_some(result),
        }
    }
}

/// A queued write; [`Pending::wait`] returns once it is on disk.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    result: Option<oneshot::Receiver<Result<(), String>>>,
}

impl Pending {
    /// Waits for the write to be durable.
    pub async fn wait(self) -> Result<(), LeaseFileError> {
        let stopped = |reason: &str| LeaseFileError::WriterStopped {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        let result = self.result.ok_or_else(|| stopped("closed"))?;
        result
            .await
            .map_err(|_| stopped("writer thread exited"))?
            .map_err(|reason| stopped(&reason))
    }
}

impl Drop for LeaseFile {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has finished what it holds.
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            // A callback run by the writer may hold the last owner of this
            // file: the writer then ends on its own, it cannot join itself.
            if writer.thread().id() != std::thread::current().id() {
                let _ = writer.join();
            }
        }
    }
}

/// Appends a windowed group commit aims to cover when requests come fast:
/// enough that the fsync costs little per lease, few enough that the ACKs it
/// releases at once do not overflow a relay's receive buffer (perfdhcp's
/// did, at 10,000/s with the whole 5 ms window: 50 ACKs at once).
const TARGET_BATCH: u32 = 16;

/// The writer thread: group commit for appends, compaction in between. After
/// a failed write or fsync it answers every job with the error and stops:
/// what was not confirmed durable must not be acknowledged.
fn write_loop(
    mut file: File,
    path: &Path,
    jobs: &mpsc::Receiver<Job>,
    fsyncs: &AtomicU64,
    window: Duration,
) {
    let mut failed: Option<String> = None;
    // Time between appends, as the last batch showed, and when it was taken.
    let mut pace: Option<Duration> = None;
    let mut last_taken: Option<Instant> = None;
    while let Ok(first) = jobs.recv() {
        if !window.is_zero() && matches!(first, Job::Append(..)) {
            // Sleeping (rather than waiting on the channel) lets senders
            // queue without waking this thread once per append.
            let wait = pace.map_or(window, |pace| (pace * TARGET_BATCH).min(window));
            std::thread::sleep(wait);
        }
        let mut batch = vec![first];
        while let Ok(more) = jobs.try_recv() {
            batch.push(more);
        }
        let taken = Instant::now();
        let appends = batch
            .iter()
            .filter(|job| matches!(job, Job::Append(..)))
            .count();
        if let (Some(before), Ok(appends @ 1..)) = (last_taken, u32::try_from(appends)) {
            pace = Some(taken.duration_since(before) / appends);
        }
        last_taken = Some(taken);
        let mut waiting: Vec<(Vec<u8>, Done)> = Vec::new();
        for job in batch {
            match job {
                Job::Append(bytes, done) => waiting.push((bytes, done)),
                Job::Compact(bytes, done) => {
                    // Appends queued before the compaction land first.
                    commit(&mut file, &mut waiting, &mut failed, fsyncs);
                    let result = match &failed {
                        Some(reason) => Err(reason.clone()),
                        None => match compact(path, &bytes) {
                            Ok(new) => {
                                file = new;
                                Ok(())
                            }
                            Err(error) => {
                                // The path holds the old file or the new one,
                                // both complete: append to whichever it is.
                                match OpenOptions::new().append(true).open(path) {
                                    Ok(current) => file = current,
                                    Err(reopen) => failed = Some(reopen.to_string()),
                                }
                                Err(error.to_string())
                            }
                        },
                    };
                    done.send(result);
                }
            }
        }
        commit(&mut file, &mut waiting, &mut failed, fsyncs);
        if let Some(reason) = &failed {
            tracing::error!(file = %path.display(), %reason, "lease file write failed; no more leases are acknowledged");
        }
    }
}

/// Writes every waiting append with one write and one fsync, then answers them.
fn commit(
    file: &mut File,
    waiting: &mut Vec<(Vec<u8>, Done)>,
    failed: &mut Option<String>,
    fsyncs: &AtomicU64,
) {
    if waiting.is_empty() {
        return;
    }
    if failed.is_none() {
        let total: usize = waiting.iter().map(|(bytes, _)| bytes.len()).sum();
        let mut all = Vec::with_capacity(total);
        for (bytes, _) in waiting.iter() {
            all.extend_from_slice(bytes);
        }
        let result = file.write_all(&all).and_then(|()| file.sync_data());
        fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = result {
            *failed = Some(error.to_string());
        }
    }
    for (_, done) in waiting.drain(..) {
        done.send(match failed {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        });
    }
}

/// Writes `bytes` to `<path>.tmp`, fsyncs, renames it over `path`, fsyncs the
/// directory, and returns the new file opened for appending.
fn compact(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut out = File::create(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path)?;
    OpenOptions::new().append(true).open(path)
}

/// fsync of the directory holding `path`, so a create or rename is durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lease(last: u8) -> Lease {
        Lease {
            address: Ipv4Addr::new(10, 0, 0, last),
            hwaddr: vec![0x08, 0x00, 0x27, 0, 0, last],
            client_id: Some(vec![1, 0x08, 0x00, 0x27, 0, 0, last]),
            valid_lifetime: 3600,
            expire: 1_800_000_000 + u64::from(last),
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: true,
            hostname: format!("host-{last}"),
            state: LeaseState::Default,
            user_context: String::new(),
        }
    }

    #[test]
    fn lines_round_trip_and_match_keas_layout() {
        let mut l = lease(7);
        l.hostname = "a,b&c\nd".to_string();
        l.user_context = "{ \"a\": 1, \"b\": 2 }".to_string();
        let line = encode_line(&l, 11);
        assert_eq!(
            line,
            "10.0.0.7,08:00:27:00:00:07,01:08:00:27:00:00:07,3600,1800000007,1,0,1,\
             a&#x2cb&#x26c&#x0ad,0,{ \"a\": 1&#x2c \"b\": 2 }"
        );
        assert_eq!(decode_line(&line, 11).unwrap(), l);
        for columns in [9, 10, 12] {
            let line = encode_line(&l, columns);
            let back = decode_line(&line, columns).unwrap();
            assert_eq!(back.address, l.address);
            assert_eq!(back.hostname, l.hostname);
        }
    }

    #[test]
    fn keas_own_lines_decode() {
        // As Kea 2.2 writes them: no client id, a declined lease, a deletion.
        let columns = parse_header(&header(11)).unwrap();
        let plain = decode_line(
            "192.0.2.10,00:0c:01:02:03:04,,4000,1700000000,1,0,0,,0,",
            columns,
        )
        .unwrap();
        assert_eq!(plain.client_id, None);
        assert_eq!(plain.hostname, "");
        let declined = decode_line("192.0.2.11,,,86400,1700086400,1,0,0,,1,", columns).unwrap();
        assert_eq!(declined.state, LeaseState::Declined);
        assert!(declined.hwaddr.is_empty());
        assert!(decode_line(
            "192.0.2.10,00:0c:01:02:03:04,,0,1700000000,1,0,0,,0,",
            columns
        )
        .unwrap()
        .is_deletion());
        assert_eq!(parse_header(&header(12)), Some(12));
        assert_eq!(parse_header("address,hwaddr"), None);
        assert_eq!(parse_header("address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len"), None);
    }

    #[test]
    fn bad_lines_say_which_column() {
        let err = decode_line("10.0.0.1,zz,,3600,1,1,0,0,,0,", 11).unwrap_err();
        assert_eq!(
            err,
            LineError::Value {
                column: "hwaddr",
                value: "zz".into(),
                what: "colon hex"
            }
        );
        assert!(matches!(
            decode_line("10.0.0.1,,,3600", 11),
            Err(LineError::Columns {
                found: 4,
                expected: 11
            })
        ));
        assert!(decode_line("10.0.0.1,,,3600,1,1,0,0,,7,", 11).is_err());
        assert!(decode_line("10.0.0.1,,,99999999999,1,1,0,0,,0,", 11).is_err());
    }
}
