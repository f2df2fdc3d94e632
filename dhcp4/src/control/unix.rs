//! Kea's UNIX control socket: one command per connection. The server reads
//! until the first complete JSON object (what follows it is ignored),
//! answers, and closes; a client that stalls for [`READ_TIMEOUT`] gets Kea's
//! timeout answer. The socket file is made owner- and group-only and removed
//! at shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::shutdown::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use super::{kea_text, Answer, Control, Request, MAX_COMMAND};

/// How long a client may leave the socket silent mid-command (Kea's 10 s).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 16;

/// Binds the socket at `path`, replacing a stale file that nothing listens
/// on (a socket left by a crash); refuses a path some server still serves.
pub fn bind(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{}: exists and is not a socket; not replaced",
                    path.display()
                ),
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{}: another server answers on it", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves commands on `listener` (bound at `path`) until shutdown, then
/// removes the socket file.
pub async fn serve(
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    control: Arc<Control>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let listener = UnixListener::from_std(listener)?;
    tracing::info!(socket = %path.display(), "control socket listening");
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = shutdown.requested() => break,
            permit = slots.clone().acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let stream = tokio::select! {
            () = shutdown.requested() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let control = control.clone();
        tokio::spawn(async move {
            if let Err(error) = connection(stream, &control).await {
                tracing::debug!(%error, "control socket: connection ended");
            }
            drop(permit);
        });
    }
    if let Err(error) = std::fs::remove_file(&path) {
        tracing::warn!(socket = %path.display(), %error, "control socket: not removed");
    }
    Ok(())
}

/// One connection: read a command, answer it, close.
async fn connection(mut stream: UnixStream, control: &Control) -> std::io::Result<()> {
    let answer = match read_command(&mut stream).await? {
        Some(Ok(request)) => control.execute(&request).await,
        Some(Err(answer)) => answer,
        None => return Ok(()),
    };
    stream
        .write_all(kea_text(&answer.to_json()).as_bytes())
        .await?;
    stream.shutdown().await
}

/// Reads until one whole JSON object or list has arrived. `None`: the
/// client left before finishing one.
async fn read_command(stream: &mut UnixStream) -> std::io::Result<Option<Result<Request, Answer>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        match json_end(&buf) {
            Feed::Complete(end) => return Ok(Some(Request::parse(buf.get(..end).unwrap_or(&[])))),
            Feed::Invalid(c) => {
                return Ok(Some(Err(Answer::error(format!(
                    "invalid first character {c}"
                )))))
            }
            Feed::Incomplete if buf.len() > MAX_COMMAND => {
                return Ok(Some(Err(Answer::error(format!(
                    "command larger than {MAX_COMMAND} bytes refused"
                )))))
            }
            Feed::Incomplete => {}
        }
        let read = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut chunk)).await;
        match read {
            Err(_) => {
                let text = if buf.is_empty() {
                    "Connection over control channel timed out".to_string()
                } else {
                    format!(
                        "Connection over control channel timed out, discarded partial command of {} bytes",
                        buf.len()
                    )
                };
                return Ok(Some(Err(Answer::error(text))));
            }
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Ok(Err(error)) => return Err(error),
        }
    }
}

/// How far a command has arrived.
#[derive(Debug, PartialEq, Eq)]
enum Feed {
    /// More is needed.
    Incomplete,
    /// The first value ends at this offset.
    Complete(usize),
    /// It does not start with `{` or `[`.
    Invalid(char),
}

/// Finds the end of the first JSON object or list in `buf` by counting
/// brackets outside strings (Kea's JSONFeed).
fn json_end(buf: &[u8]) -> Feed {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut started = false;
    for (i, &b) in buf.iter().enumerate() {
        if !started {
            if b.is_ascii_whitespace() {
                continue;
            }
            if b != b'{' && b != b'[' {
                return Feed::Invalid(char::from(b));
            }
            started = true;
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Feed::Complete(i + 1);
                }
            }
            _ => {}
        }
    }
    Feed::Incomplete
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_whole_value_ends_the_command() {
        assert_eq!(
            json_end(b"  {\"command\":\"x\"}{\"b\"}"),
            Feed::Complete(17)
        );
        assert_eq!(json_end(b"{\"a\":\"}\\\"{\"}"), Feed::Complete(12));
        assert_eq!(json_end(b"{\"a\":[1,{"), Feed::Incomplete);
        assert_eq!(json_end(b"\n\n"), Feed::Incomplete);
        assert_eq!(json_end(b"x{}"), Feed::Invalid('x'));
    }
}
