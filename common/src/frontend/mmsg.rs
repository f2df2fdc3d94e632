//! recvmmsg(2)/sendmmsg(2) for the UDP loop (Linux): several datagrams per
//! system call, and the IP_PKTINFO / IPV6_RECVPKTINFO ancillary data that lets a
//! wildcard-bound socket answer from the address each query was sent to
//! (Unbound's `interface-automatic`). This is the crate's only unsafe code.
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
//!
//! Destination addresses: with [`enable_pktinfo`] on the socket and a batch
//! made by [`RecvBatch::with_pktinfo`], each datagram's control message gives
//! the local address it arrived on; [`SendBatch::send`] and [`send_from`] put
//! it back as an IP_PKTINFO / IPV6_PKTINFO control message, so the kernel uses
//! it as the reply's source. As in Unbound (util/netevent.c), the interface
//! index is zeroed on send so the routing table still picks the way out. Without
//! pktinfo no control buffer is passed, so the common case costs nothing more.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use libc::{
    c_int, c_uint, c_void, cmsghdr, in6_pktinfo, in_pktinfo, iovec, mmsghdr, msghdr, sockaddr_in,
    sockaddr_in6, sockaddr_storage, socklen_t,
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

/// Asks the kernel for each datagram's destination address on `socket`
/// (IP_PKTINFO for IPv4, IPV6_RECVPKTINFO for IPv6).
pub(super) fn enable_pktinfo(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    let on: c_int = 1;
    // SAFETY: `on` is a live c_int and the length passed is its size; the kernel
    // only reads it during the call. An invalid descriptor is reported as an error.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            ptr::from_ref(&on).cast::<c_void>(),
            mem::size_of::<c_int>() as socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Control-buffer bytes per datagram: room for one in6_pktinfo message (the
/// larger of the two) with headers and padding; u64 words keep it aligned for
/// cmsghdr.
const CTRL_WORDS: usize = 8;

/// CMSG_SPACE/CMSG_LEN as usize (they are const-free functions in libc).
fn cmsg_space(data: usize) -> usize {
    // SAFETY: CMSG_SPACE only computes an aligned size from its argument.
    unsafe { libc::CMSG_SPACE(data as c_uint) as usize }
}

fn cmsg_len(data: usize) -> usize {
    // SAFETY: CMSG_LEN only computes a size from its argument.
    unsafe { libc::CMSG_LEN(data as c_uint) as usize }
}

/// Writes the pktinfo control message that makes `source` the reply's source
/// address into `ctrl` and points `hdr` at it.
fn put_source(hdr: &mut msghdr, ctrl: &mut [u64; CTRL_WORDS], source: IpAddr) {
    let size = match source {
        IpAddr::V4(_) => mem::size_of::<in_pktinfo>(),
        IpAddr::V6(_) => mem::size_of::<in6_pktinfo>(),
    };
    debug_assert!(cmsg_space(size) <= mem::size_of_val(ctrl));
    *ctrl = [0; CTRL_WORDS];
    hdr.msg_control = ctrl.as_mut_ptr().cast::<c_void>();
    hdr.msg_controllen = cmsg_space(size) as _;
    // SAFETY: msg_control points at `ctrl`, which is 8-aligned and at least
    // CMSG_SPACE(size) bytes long (both pktinfo sizes fit in CTRL_WORDS words),
    // so CMSG_FIRSTHDR returns a non-null, aligned header inside it and
    // CMSG_DATA leaves `size` bytes before the end. The writes are unaligned-safe.
    unsafe {
        let cmsg: *mut cmsghdr = libc::CMSG_FIRSTHDR(hdr);
        (*cmsg).cmsg_len = cmsg_len(size) as _;
        let data = libc::CMSG_DATA(cmsg);
        match source {
            IpAddr::V4(ip) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IP;
                (*cmsg).cmsg_type = libc::IP_PKTINFO;
                let addr = libc::in_addr {
                    s_addr: u32::from(ip).to_be(),
                };
                let info = in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: addr,
                    ipi_addr: addr,
                };
                ptr::write_unaligned(data.cast::<in_pktinfo>(), info);
            }
            IpAddr::V6(ip) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                let info = in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: ip.octets(),
                    },
                    ipi6_ifindex: 0,
                };
                ptr::write_unaligned(data.cast::<in6_pktinfo>(), info);
            }
        }
    }
}

/// The destination address in the pktinfo control message of `hdr`, if any.
// msg_controllen and cmsg_len are size_t on glibc and socklen_t on musl: the
// casts are needed on one of them.
#[allow(clippy::unnecessary_cast)]
fn read_destination(hdr: &msghdr) -> Option<IpAddr> {
    if hdr.msg_control.is_null() || (hdr.msg_controllen as usize) < mem::size_of::<cmsghdr>() {
        return None;
    }
    // SAFETY: msg_control points at this datagram's control slot, owned by the
    // batch and at least msg_controllen bytes long (the kernel lowered
    // msg_controllen to what it wrote). CMSG_FIRSTHDR/CMSG_NXTHDR only return
    // headers that lie within msg_controllen, and each data read is checked
    // against its header's cmsg_len first; the reads are unaligned-safe.
    unsafe {
        let mut cmsg: *const cmsghdr = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let header = ptr::read_unaligned(cmsg);
            let data = libc::CMSG_DATA(cmsg);
            let len = header.cmsg_len as usize;
            if header.cmsg_level == libc::IPPROTO_IP
                && header.cmsg_type == libc::IP_PKTINFO
                && len >= cmsg_len(mem::size_of::<in_pktinfo>())
            {
                let info = ptr::read_unaligned(data.cast::<in_pktinfo>());
                // ipi_spec_dst: the local address the reply should come from.
                return Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    info.ipi_spec_dst.s_addr,
                ))));
            }
            if header.cmsg_level == libc::IPPROTO_IPV6
                && header.cmsg_type == libc::IPV6_PKTINFO
                && len >= cmsg_len(mem::size_of::<in6_pktinfo>())
            {
                let info = ptr::read_unaligned(data.cast::<in6_pktinfo>());
                return Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// One sendmsg of `msg` to `peer` from the local address `source`, with
/// `flags` (MSG_DONTWAIT, or 0 to wait on a blocking descriptor).
pub(super) fn send_from(
    fd: RawFd,
    msg: &[u8],
    peer: SocketAddr,
    source: IpAddr,
    flags: c_int,
) -> io::Result<()> {
    let name = SockAddr::from(peer);
    let mut iov = iovec {
        iov_base: msg.as_ptr().cast_mut().cast::<c_void>(),
        iov_len: msg.len(),
    };
    let mut ctrl = [0u64; CTRL_WORDS];
    // SAFETY: msghdr is plain C data; all-zero is a valid (empty) value.
    let mut hdr: msghdr = unsafe { mem::zeroed() };
    hdr.msg_name = name.as_ptr().cast_mut().cast::<c_void>();
    hdr.msg_namelen = name.len();
    hdr.msg_iov = ptr::from_mut(&mut iov);
    hdr.msg_iovlen = 1;
    put_source(&mut hdr, &mut ctrl, source);
    // SAFETY: `hdr` points at `name`, the one iovec covering `msg`, and `ctrl`,
    // all alive on this frame for the call; sendmsg only reads them.
    let sent = unsafe { libc::sendmsg(fd, &hdr, flags) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
    /// One control slot per datagram when destination addresses are wanted, else empty.
    ctrl: Box<[[u64; CTRL_WORDS]]>,
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
            ctrl: Box::new([]),
            got: 0,
        }
    }

    /// As [`RecvBatch::new`], also reading each datagram's destination address
    /// (the socket needs [`enable_pktinfo`]); see [`RecvBatch::destination`].
    pub(super) fn with_pktinfo(count: usize, slot_len: usize) -> Self {
        let mut batch = RecvBatch::new(count, slot_len);
        batch.ctrl = vec![[0u64; CTRL_WORDS]; batch.hdrs.len()].into_boxed_slice();
        batch
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
        let ctrl = self.ctrl.as_mut_ptr();
        let with_ctrl = !self.ctrl.is_empty();
        for (i, hdr) in self.hdrs.iter_mut().enumerate() {
            hdr.msg_hdr.msg_name = names.wrapping_add(i).cast::<c_void>();
            hdr.msg_hdr.msg_namelen = mem::size_of::<sockaddr_storage>() as socklen_t;
            hdr.msg_hdr.msg_iov = iovs.wrapping_add(i);
            hdr.msg_hdr.msg_iovlen = 1;
            if with_ctrl {
                hdr.msg_hdr.msg_control = ctrl.wrapping_add(i).cast::<c_void>();
                hdr.msg_hdr.msg_controllen = mem::size_of::<[u64; CTRL_WORDS]>() as _;
            } else {
                hdr.msg_hdr.msg_control = ptr::null_mut();
                hdr.msg_hdr.msg_controllen = 0;
            }
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
        // SAFETY: `hdrs` has `hdrs.len()` entries (at most MAX_BATCH, so the cast
        // is exact); entry i points at `names[i]` with its true size and at the one
        // iovec `iovs[i]`, which covers bytes [i*slot_len, (i+1)*slot_len) of
        // `bufs` (count*slot_len long). All four arrays are owned by `self`, which
        // is mutably borrowed for the call, so nothing else reads or writes them
        // while the kernel does; so is `ctrl`, whose slot i (its true size) entry i
        // points at when destination addresses are wanted. The timeout pointer
        // may be null.
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

    /// The local address datagram `i` was sent to, when the batch was made by
    /// [`RecvBatch::with_pktinfo`] and the kernel reported it.
    ///
    /// Panics if `i` is not below what `recv` returned.
    pub(super) fn destination(&self, i: usize) -> Option<IpAddr> {
        let hdr = &self.hdrs[..self.got][i];
        if self.ctrl.is_empty() {
            return None;
        }
        read_destination(&hdr.msg_hdr)
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
    /// Control slots for replies that carry a source address.
    ctrl: Box<[[u64; CTRL_WORDS]]>,
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
            ctrl: vec![[0u64; CTRL_WORDS]; count].into_boxed_slice(),
        }
    }

    /// One sendmmsg(MSG_DONTWAIT) of `msgs[k]` to `peers[k]` (from the local
    /// address `sources[k]` when `sources` has an entry that is `Some`; an empty
    /// `sources` lets the kernel choose for all), as many as fit the
    /// batch: how many were sent, always a prefix and at least one. An error
    /// (including WouldBlock) means the first message was not sent; the kernel
    /// stops at the first failure after that and reports only the count.
    pub(super) fn send(
        &mut self,
        fd: RawFd,
        msgs: &[Vec<u8>],
        peers: &[SocketAddr],
        sources: &[Option<IpAddr>],
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
            if let (Some(Some(source)), Some(ctrl)) = (sources.get(i), self.ctrl.get_mut(i)) {
                put_source(&mut hdr.msg_hdr, ctrl, *source);
            }
        }
        // SAFETY: entries 0..n (n <= hdrs.len() <= MAX_BATCH, so the cast is exact)
        // each point at `names[i]` with its length and at the one iovec `iovs[i]`,
        // which covers exactly `msgs[i]`, and, for a reply with a source, at
        // `ctrl[i]` with its written length. `self` is mutably borrowed and `msgs`
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
                .send(srv.as_raw_fd(), &msgs[sent..], &peers[sent..], &[])
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

    /// Queries sent to `dsts` (at the wildcard socket's port) from clients
    /// connected there: each client accepts only datagrams from its `dst`.
    fn connected_clients(srv: &UdpSocket, dsts: &[&str]) -> Vec<UdpSocket> {
        let port = srv.local_addr().unwrap().port();
        dsts.iter()
            .map(|dst| {
                let ip: IpAddr = dst.parse().unwrap();
                let client = UdpSocket::bind(SocketAddr::new(ip, 0)).unwrap();
                client.connect(SocketAddr::new(ip, port)).unwrap();
                client
                    .set_read_timeout(Some(std::time::Duration::from_millis(300)))
                    .unwrap();
                client.send(dst.as_bytes()).unwrap();
                client
            })
            .collect()
    }

    /// Receives `want` datagrams with their destination addresses.
    fn recv_with_destinations(
        rx: &mut RecvBatch,
        fd: RawFd,
        want: usize,
    ) -> Vec<(Vec<u8>, SocketAddr, Option<IpAddr>)> {
        let mut got = Vec::new();
        for _ in 0..1000 {
            match rx.recv(fd) {
                Ok(n) => {
                    for i in 0..n {
                        let (data, peer) = rx.get(i);
                        got.push((data.to_vec(), peer.unwrap(), rx.destination(i)));
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

    /// interface-automatic: a wildcard socket learns each query's destination
    /// (IP_PKTINFO) and answers from it, in a batch or one at a time; without
    /// the source the kernel picks 127.0.0.1 and the connected client hears nothing.
    #[test]
    fn wildcard_socket_answers_from_the_destination_address() {
        let srv = bound("0.0.0.0:0").unwrap();
        enable_pktinfo(&srv, false).unwrap();
        let clients = connected_clients(&srv, &["127.0.0.2", "127.0.0.3"]);
        let mut rx = RecvBatch::with_pktinfo(4, 512);
        let got = recv_with_destinations(&mut rx, srv.as_raw_fd(), 2);
        assert_eq!(got.len(), 2);
        for (data, _, dst) in &got {
            let sent_to: IpAddr = std::str::from_utf8(data).unwrap().parse().unwrap();
            assert_eq!(*dst, Some(sent_to));
        }
        let msgs: Vec<Vec<u8>> = got.iter().map(|(d, _, _)| d.clone()).collect();
        let peers: Vec<SocketAddr> = got.iter().map(|(_, p, _)| *p).collect();
        let sources: Vec<Option<IpAddr>> = got.iter().map(|(_, _, d)| *d).collect();

        // Without sources: the kernel's choice (127.0.0.1) is filtered by the clients.
        let mut tx = SendBatch::new(4);
        assert_eq!(tx.send(srv.as_raw_fd(), &msgs, &peers, &[]).unwrap(), 2);
        let mut buf = [0u8; 64];
        for client in &clients {
            assert!(
                client.recv(&mut buf).is_err(),
                "reply from the wrong address accepted"
            );
        }
        // With sources: each client gets its reply.
        assert_eq!(
            tx.send(srv.as_raw_fd(), &msgs, &peers, &sources).unwrap(),
            2
        );
        for client in &clients {
            let n = client.recv(&mut buf).unwrap();
            let want = client.peer_addr().unwrap().ip().to_string();
            assert_eq!(&buf[..n], want.as_bytes());
        }
        // One at a time.
        send_from(
            srv.as_raw_fd(),
            b"again",
            peers[1],
            sources[1].unwrap(),
            libc::MSG_DONTWAIT,
        )
        .unwrap();
        let n = clients
            .iter()
            .find(|c| c.local_addr().unwrap() == peers[1])
            .unwrap()
            .recv(&mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b"again");
    }

    #[test]
    fn ipv6_destination_is_reported() {
        let Some(srv) = bound("[::]:0") else {
            return; // IPv6 disabled
        };
        enable_pktinfo(&srv, true).unwrap();
        let port = srv.local_addr().unwrap().port();
        let Ok(client) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        client.send_to(b"q", ("::1", port)).unwrap();
        let mut rx = RecvBatch::with_pktinfo(2, 512);
        let got = recv_with_destinations(&mut rx, srv.as_raw_fd(), 1);
        assert_eq!(got[0].2, Some("::1".parse().unwrap()));
        let mut plain = RecvBatch::new(2, 512);
        client.send_to(b"q", ("::1", port)).unwrap();
        let got = recv_with_destinations(&mut plain, srv.as_raw_fd(), 1);
        assert_eq!(got[0].2, None, "no control buffer, no destination");
    }

    #[test]
    fn nothing_to_send_is_not_a_call() {
        let srv = bound("127.0.0.1:0").unwrap();
        let mut tx = SendBatch::new(8);
        assert_eq!(tx.send(srv.as_raw_fd(), &[], &[], &[]).unwrap(), 0);
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
