//! Two-byte length framing of DNS over TCP and TLS (RFC 1035 §4.2.2, RFC 7858 §3.3).
//!
//! [`read_frame`] and [`write_frame`] are the simple one-message helpers (upstream
//! clients); [`FrameReader`] is the cancel-safe, batching reader the frontend uses
//! for pipelined connections.

use std::io::{self, IoSlice};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one length-prefixed message into `buf` (cleared first).
///
/// Returns `Ok(false)` on a clean end of stream before the first prefix byte, and
/// `UnexpectedEof` when the stream ends inside a frame.
///
/// CANCEL-SAFETY: not cancel-safe (a partly read frame is lost); use
/// [`FrameReader`] inside `select!`.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut prefix = [0u8; 2];
    let n = r.read(&mut prefix).await?;
    if n == 0 {
        return Ok(false);
    }
    if n == 1 {
        r.read_exact(&mut prefix[1..]).await?;
    }
    let len = usize::from(u16::from_be_bytes(prefix));
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf).await?;
    Ok(true)
}

/// Writes `msg` with its length prefix, in one write call where the writer
/// supports vectored writes (TCP does), and flushes (TLS needs it).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, msg: &[u8]) -> io::Result<()> {
    let prefix = frame_prefix(msg)?;
    if w.is_write_vectored() {
        let total = msg.len() + 2;
        let mut written = w
            .write_vectored(&[IoSlice::new(&prefix), IoSlice::new(msg)])
            .await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        if written < 2 {
            w.write_all(&prefix[written..]).await?;
            written = 2;
        }
        if written < total {
            w.write_all(&msg[written - 2..]).await?;
        }
    } else {
        let mut frame = Vec::with_capacity(msg.len() + 2);
        frame.extend_from_slice(&prefix);
        frame.extend_from_slice(msg);
        w.write_all(&frame).await?;
    }
    w.flush().await
}

fn frame_prefix(msg: &[u8]) -> io::Result<[u8; 2]> {
    u16::try_from(msg.len()).map(u16::to_be_bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "DNS message longer than 65535 bytes",
        )
    })
}

/// Appends `msg` with its length prefix to `out`, so several replies go out in one
/// write. Fails (leaving `out` unchanged) when `msg` is longer than 65535 bytes.
pub fn append_frame(out: &mut Vec<u8>, msg: &[u8]) -> io::Result<()> {
    let prefix = frame_prefix(msg)?;
    out.reserve(msg.len() + 2);
    out.extend_from_slice(&prefix);
    out.extend_from_slice(msg);
    Ok(())
}

const INITIAL_READ_BUF: usize = 4096;

/// A cancel-safe reader of length-prefixed messages that reads as much as the
/// socket has and hands out every complete frame in it: one read syscall serves a
/// whole burst of pipelined queries.
///
/// The buffer starts at 4 KiB and grows only to the largest frame seen (64 KiB
/// at most), so idle connections stay cheap.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        FrameReader {
            buf: vec![0; INITIAL_READ_BUF],
            start: 0,
            end: 0,
        }
    }

    /// The next complete frame already buffered, if any. The slice is valid until
    /// the next call on this reader.
    pub fn next_frame(&mut self) -> Option<&[u8]> {
        let avail = &self.buf[self.start..self.end];
        if avail.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([avail[0], avail[1]]));
        if avail.len() < 2 + len {
            return None;
        }
        let frame = self.start + 2..self.start + 2 + len;
        self.start = frame.end;
        Some(&self.buf[frame])
    }

    /// Bytes buffered that do not yet make a complete frame (or that follow it).
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Reads more bytes from `r`; returns how many (0 at end of stream).
    ///
    /// CANCEL-SAFETY: safe in `select!`: a cancelled read consumed nothing, and
    /// bytes already read stay buffered.
    pub async fn read_more<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<usize> {
        self.make_room();
        let n = r.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Makes sure the buffer has room past `end` for the rest of the pending frame
    /// (or at least some room when no frame is pending).
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let avail = self.end - self.start;
        let need = if avail >= 2 {
            2 + usize::from(u16::from_be_bytes([
                self.buf[self.start],
                self.buf[self.start + 1],
            ]))
        } else {
            2
        };
        let need = need.max(INITIAL_READ_BUF);
        if self.buf.len() - self.start < need || self.end == self.buf.len() {
            // Move the partial frame to the front, then grow if it still does not fit.
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = avail;
            if self.buf.len() < need {
                self.buf.resize(need, 0);
            }
        }
        if self.end == self.buf.len() {
            // Complete frames the caller has not taken yet fill the buffer: never
            // read into an empty slice (that would look like end of stream).
            self.buf.resize(self.buf.len() + INITIAL_READ_BUF, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frame_round_trip_and_eof() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            write_frame(&mut a, b"hello").await.unwrap();
            write_frame(&mut a, b"").await.unwrap();
        });
        let mut buf = Vec::new();
        assert!(read_frame(&mut b, &mut buf).await.unwrap());
        assert_eq!(buf, b"hello");
        assert!(read_frame(&mut b, &mut buf).await.unwrap());
        assert!(buf.is_empty());
        writer.await.unwrap();
        assert!(!read_frame(&mut b, &mut buf).await.unwrap());
    }

    #[tokio::test]
    async fn eof_inside_a_frame_is_an_error() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 5, 1, 2]).await.unwrap();
        drop(a);
        let mut buf = Vec::new();
        let err = read_frame(&mut b, &mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn oversized_messages_are_refused() {
        let big = vec![0u8; 70_000];
        let mut out = Vec::new();
        assert!(append_frame(&mut out, &big).is_err());
        assert!(out.is_empty());
        append_frame(&mut out, b"ab").unwrap();
        assert_eq!(out, [0, 2, b'a', b'b']);
    }

    #[tokio::test]
    async fn frame_reader_handles_bursts_and_large_frames() {
        let (mut a, mut b) = tokio::io::duplex(1 << 20);
        let big = vec![7u8; 60_000];
        let mut burst = Vec::new();
        append_frame(&mut burst, b"one").unwrap();
        append_frame(&mut burst, b"two").unwrap();
        append_frame(&mut burst, &big).unwrap();
        append_frame(&mut burst, b"four").unwrap();
        // Split the burst at awkward places.
        let w = tokio::spawn(async move {
            for chunk in burst.chunks(1000) {
                a.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut reader = FrameReader::new();
        let mut got: Vec<Vec<u8>> = Vec::new();
        while got.len() < 4 {
            while let Some(f) = reader.next_frame() {
                got.push(f.to_vec());
            }
            if got.len() < 4 {
                assert!(reader.read_more(&mut b).await.unwrap() > 0);
            }
        }
        w.await.unwrap();
        assert_eq!(got[0], b"one");
        assert_eq!(got[1], b"two");
        assert_eq!(got[2], big);
        assert_eq!(got[3], b"four");
        assert_eq!(reader.buffered(), 0);
        assert_eq!(reader.read_more(&mut b).await.unwrap(), 0);
    }
}
