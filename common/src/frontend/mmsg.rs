//! recvmmsg(2)/sendmmsg(2) for the UDP loop (Linux): several datagrams per
//! system call. This is the crate's only unsafe code.
//!
//! Each batch struct owns its `mmsghdr`, `iovec` and `sockaddr_storage` arrays
//! and is reused for every call, so a batch costs no allocation. The raw pointers
//! in those arrays are rewritten from their live owners right before each call
//! and are never dereferenced by Rust code, so no pointer outlives what it was
//! taken from in any way that matters.
//!
//! Sends always use MSG_DONTWAIT, and so do receives for the event loop; both
//! report EAGAIN as [`io::ErrorKind::WouldBlock`], for tokio's `async_io`/`try_io`
//! to turn into a wait for readiness. The blocking loop receives with
//! MSG_WAITFORONE instead (see [`RecvBatch::recv_waiting`]).
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::ptr;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use libc::{
    c_uint, c_void, iovec, mmsghdr, sockaddr_in, sockaddr_in6, sockaddr_storage, socklen_t,
};
use socket2::SockAddr;

/// Registers `socket` with the current runtime's reactor for `interest` only
/// (tokio's own UdpSocket always asks for readability and writability).
pub(super) fn register(
    socket: std::net::UdpSocket,
    interest: Interest,
) -> io::Result<AsyncFd<std::net::UdpSocket>> {
    // SAFETY: the AsyncFd takes ownership of the socket, so the descriptor stays
    // open and refers to the same socket for the AsyncFd's whole life (until it is
    // dropped or `into_inner` returns the socket), and `UdpSocket::as_raw_fd`
    // always returns that one descriptor.
    unsafe { AsyncFd::register_with_interest(socket, interest) }.map_err(|e| e.into_parts().1)
}

/// The kernel caps `vlen` at UIO_MAXIOV; so do we.
pub(super) const MAX_BATCH: usize = 1024;

fn zeroed_hdr() -> mmsghdr {
    // SAFETY: mmsghdr is plain C data (integers and raw pointers, plus padding
    // on some libcs); all-zero bytes are a valid value: null pointers, zero lengths.
    unsafe { mem::zeroed() }
}

fn zeroed_storage() -> sockaddr_storage {
    // SAFETY: sockaddr_storage is plain C data (integers); all-zero is valid.
    unsafe { mem::zeroed() }
}

const EMPTY_IOV: iovec = iovec {
    iov_base: ptr::null_mut(),
    iov_len: 0,
};

/// Up to `count` received datagrams: payloads, sender addresses and the
/// scratch headers for recvmmsg.
pub(super) struct RecvBatch {
    /// `count` slots of `slot_len` bytes, back to back.
    bufs: Box<[u8]>,
    slot_len: usize,
    names: Box<[sockaddr_storage]>,
    iovs: Box<[iovec]>,
    hdrs: Box<[mmsghdr]>,
    /// Datagrams the last [`RecvBatch::recv`] returned.
    got: usize,
}

// SAFETY: the only non-Send fields are the raw pointers inside `iovs` and `hdrs`.
// They point into this struct's own heap arrays, are rewritten before every
// recvmmsg and are only read by the kernel during that call (which borrows the
// struct mutably); moving the struct to another thread moves their targets with it.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    /// `count` slots (1..=[`MAX_BATCH`]) of `slot_len` bytes each. The buffer is
    /// zero-filled, so untouched pages cost no memory.
    pub(super) fn new(count: usize, slot_len: usize) -> Self {
        let count = count.clamp(1, MAX_BATCH);
        RecvBatch {
            bufs: vec![0u8; count * slot_len].into_boxed_slice(),
            slot_len,
            names: vec![zeroed_storage(); count].into_boxed_slice(),
            iovs: vec![EMPTY_IOV; count].into_boxed_slice(),
            hdrs: vec![zeroed_hdr(); count].into_boxed_slice(),
            got: 0,
        }
    }

    /// One recvmmsg(MSG_DONTWAIT) on `fd`: how many datagrams arrived (at least
    /// one), or WouldBlock when none was queued.
    pub(super) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.recv_flags(fd, libc::MSG_DONTWAIT)
    }

    /// One recvmmsg(MSG_WAITFORONE) on a blocking `fd`: sleeps until one
    /// datagram arrives (or the socket's SO_RCVTIMEO passes: WouldBlock), then
    /// takes whatever else is queued without waiting.
    pub(super) fn recv_waiting(&mut self, fd: RawFd) -> io::Result<usize> {
        self.recv_flags(fd, libc::MSG_WAITFORONE)
    }

    fn recv_flags(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
        self.got = 0;
        let base = self.bufs.as_mut_ptr();
        for (i, iov) in self.iovs.iter_mut().enumerate() {
            iov.iov_base = base.wrapping_add(i * self.slot_len).cast::<c_void>();
            iov.iov_len = self.slot_len;
        }
        let names = self.names.as_mut_ptr();
        let iovs = self.iovs.as_mut_ptr();
        for (i, hdr) in self.hdrs.iter_mut().enumerate() {
            hdr.msg_hdr.msg_name = names.wrapping_add(i).cast::<c_void>();
            hdr.msg_hdr.msg_namelen = mem::size_of::<sockaddr_storage>() as socklen_t;
            hdr.msg_hdr.msg_iov = iovs.wrapping_add(i);
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_control = ptr::null_mut();
            hdr.msg_hdr.msg_controllen = 0;
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
        // SAFETY: `hdrs` has `hdrs.len()` entries (at most MAX_BATCH, so the cast
        // is exact); entry i points at `names[i]` with its true size and at the one
        // iovec `iovs[i]`, which covers bytes [i*slot_len, (i+1)*slot_len) of
        // `bufs` (count*slot_len long). All four arrays are owned by `self`, which
        // is mutably borrowed for the call, so nothing else reads or writes them
        // while the kernel does. The timeout pointer may be null.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                self.hdrs.len() as c_uint,
                flags as _,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.got = (n as usize).min(self.hdrs.len());
        Ok(self.got)
    }

    /// Datagram `i` of the last [`RecvBatch::recv`] and its sender (`None` if the
    /// kernel reported an address that is neither IPv4 nor IPv6).
    ///
    /// Panics if `i` is not below what `recv` returned.
    pub(super) fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let hdr = &self.hdrs[..self.got][i];
        let len = (hdr.msg_len as usize).min(self.slot_len);
        let start = i * self.slot_len;
        let peer = socket_addr(&self.names[i], hdr.msg_hdr.msg_namelen);
        (&self.bufs[start..start + len], peer)
    }
}

/// The inverse of `socket2::SockAddr::from(SocketAddr)`, as std's `recv_from` does it.
fn socket_addr(storage: &sockaddr_storage, len: socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    let at = ptr::from_ref(storage);
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= mem::size_of::<sockaddr_in>() => {
            // SAFETY: sockaddr_storage is at least as large and as aligned as every
            // sockaddr type, all its bytes are initialised (zeroed at creation, then
            // written by the kernel), and any bytes are a valid sockaddr_in.
            let sin = unsafe { &*at.cast::<sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= mem::size_of::<sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*at.cast::<sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Scratch headers for sendmmsg of up to `count` datagrams.
pub(super) struct SendBatch {
    names: Vec<SockAddr>,
    iovs: Box<[iovec]>,
    hdrs: Box<[mmsghdr]>,
}

// SAFETY: the only non-Send fields are the raw pointers inside `iovs` and `hdrs`.
// They are rewritten before every sendmmsg from `names` and the caller's
// buffers, read only by the kernel during that call, and never dereferenced
// afterwards; nothing is shared with another thread.
unsafe impl Send for SendBatch {}

impl SendBatch {
    /// Room for `count` (1..=[`MAX_BATCH`]) datagrams per call.
    pub(super) fn new(count: usize) -> Self {
        let count = count.clamp(1, MAX_BATCH);
        SendBatch {
            names: Vec::with_capacity(count),
            iovs: vec![EMPTY_IOV; count].into_boxed_slice(),
            hdrs: vec![zeroed_hdr(); count].into_boxed_slice(),
        }
    }

    /// One sendmmsg(MSG_DONTWAIT) of `msgs[k]` to `peers[k]`, as many as fit the
    /// batch: how many were sent, always a prefix and at least one. An error
    /// (including WouldBlock) means the first message was not sent; the kernel
    /// stops at the first failure after that and reports only the count.
    pub(super) fn send(
        &mut self,
        fd: RawFd,
        msgs: &[Vec<u8>],
        peers: &[SocketAddr],
    ) -> io::Result<usize> {
        let n = msgs.len().min(peers.len()).min(self.hdrs.len());
        if n == 0 {
            return Ok(0);
        }
        self.names.clear();
        self.names
            .extend(peers[..n].iter().map(|&peer| SockAddr::from(peer)));
        for (iov, msg) in self.iovs.iter_mut().zip(&msgs[..n]) {
            iov.iov_base = msg.as_ptr().cast_mut().cast::<c_void>();
            iov.iov_len = msg.len();
        }
        let iovs = self.iovs.as_mut_ptr();
        for (i, (hdr, name)) in self.hdrs.iter_mut().zip(&self.names).enumerate() {
            hdr.msg_hdr.msg_name = name.as_ptr().cast_mut().cast::<c_void>();
            hdr.msg_hdr.msg_namelen = name.len();
            hdr.msg_hdr.msg_iov = iovs.wrapping_add(i);
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_control = ptr::null_mut();
            hdr.msg_hdr.msg_controllen = 0;
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
        // SAFETY: entries 0..n (n <= hdrs.len() <= MAX_BATCH, so the cast is exact)
        // each point at `names[i]` with its length and at the one iovec `iovs[i]`,
        // which covers exactly `msgs[i]`. `self` is mutably borrowed and `msgs`
        // shared-borrowed for the call, so all of it stays alive and unchanged;
        // sendmmsg only reads the buffers and addresses (it writes `msg_len`,
        // inside `hdrs`).
        let sent = unsafe {
            libc::sendmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                n as c_uint,
                libc::MSG_DONTWAIT as _,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((sent as usize).min(n))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn bound(addr: &str) -> Option<UdpSocket> {
        let s = UdpSocket::bind(addr).ok()?;
        s.set_nonblocking(true).unwrap();
        Some(s)
    }

    /// Receives until `want` datagrams arrived (loopback delivery is immediate,
    /// but be patient with a loaded machine).
    fn recv_all(batch: &mut RecvBatch, fd: RawFd, want: usize) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut got = Vec::new();
        for _ in 0..1000 {
            match batch.recv(fd) {
                Ok(n) => {
                    for i in 0..n {
                        let (data, peer) = batch.get(i);
                        got.push((data.to_vec(), peer.unwrap()));
                    }
                    if got.len() >= want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
        got
    }

    fn round_trip(server: &str, client: &str) {
        let (Some(srv), Some(a), Some(b)) = (bound(server), bound(client), bound(client)) else {
            return; // no such loopback (IPv6 disabled)
        };
        let to = srv.local_addr().unwrap();
        let mut rx = RecvBatch::new(4, 2048);
        assert_eq!(
            rx.recv(srv.as_raw_fd()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        for k in 0..6u8 {
            let from = if k % 2 == 0 { &a } else { &b };
            from.send_to(&vec![k; 1 + usize::from(k) * 100], to)
                .unwrap();
        }
        a.send_to(&[], to).unwrap();
        let got = recv_all(&mut rx, srv.as_raw_fd(), 7);
        assert_eq!(got.len(), 7);
        for (k, (data, peer)) in got.iter().take(6).enumerate() {
            assert_eq!(data.len(), 1 + k * 100);
            assert!(data.iter().all(|&x| usize::from(x) == k));
            let from = if k % 2 == 0 { &a } else { &b };
            assert_eq!(*peer, from.local_addr().unwrap());
        }
        assert!(
            got[6].0.is_empty(),
            "an empty datagram is received as empty"
        );

        // Reply to every sender, in two calls' worth (the batch holds 4).
        let msgs: Vec<Vec<u8>> = got
            .iter()
            .map(|(d, _)| d.iter().rev().copied().collect())
            .collect();
        let peers: Vec<SocketAddr> = got.iter().map(|&(_, p)| p).collect();
        let mut tx = SendBatch::new(4);
        let mut sent = 0;
        while sent < msgs.len() {
            let n = tx
                .send(srv.as_raw_fd(), &msgs[sent..], &peers[sent..])
                .unwrap();
            assert!((1..=4).contains(&n));
            sent += n;
        }
        let mut buf = [0u8; 2048];
        let mut at_a = 0;
        let mut at_b = 0;
        for _ in 0..2000 {
            if at_a + at_b == 7 {
                break;
            }
            let mut progressed = false;
            if let Ok((n, from)) = a.recv_from(&mut buf) {
                assert_eq!(from, to);
                let k = if n == 0 { 0 } else { usize::from(buf[0]) };
                assert!(n == 0 || (k % 2 == 0 && n == 1 + k * 100));
                at_a += 1;
                progressed = true;
            }
            if let Ok((n, from)) = b.recv_from(&mut buf) {
                assert_eq!(from, to);
                let k = usize::from(buf[0]);
                assert!(k % 2 == 1 && n == 1 + k * 100);
                at_b += 1;
                progressed = true;
            }
            if !progressed {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        assert_eq!((at_a, at_b), (4, 3));
    }

    #[test]
    fn ipv4_round_trip() {
        round_trip("127.0.0.1:0", "127.0.0.1:0");
    }

    #[test]
    fn ipv6_round_trip() {
        round_trip("[::1]:0", "[::1]:0");
    }

    #[test]
    fn nothing_to_send_is_not_a_call() {
        let srv = bound("127.0.0.1:0").unwrap();
        let mut tx = SendBatch::new(8);
        assert_eq!(tx.send(srv.as_raw_fd(), &[], &[]).unwrap(), 0);
    }

    #[test]
    fn address_conversion_matches_socket2() {
        for addr in [
            "192.0.2.7:53",
            "0.0.0.0:0",
            "[2001:db8::1]:5353",
            "[fe80::1%3]:1",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            let sa = SockAddr::from(addr);
            let mut storage = zeroed_storage();
            // Copy socket2's bytes into a libc sockaddr_storage, as the kernel would write it.
            let bytes = sa.len() as usize;
            // SAFETY: both are sockaddr_storage-sized; `bytes` is at most that.
            unsafe {
                ptr::copy_nonoverlapping(
                    sa.as_ptr().cast::<u8>(),
                    ptr::from_mut(&mut storage).cast::<u8>(),
                    bytes,
                );
            }
            assert_eq!(socket_addr(&storage, sa.len()), Some(addr));
            assert_eq!(socket_addr(&storage, 2), None, "short length");
        }
        assert_eq!(socket_addr(&zeroed_storage(), 128), None, "AF_UNSPEC");
    }
}
