//! The server's sockets: one UDP socket per interface (bound to the device,
//! so the receiving interface is known and broadcasts leave through it), and
//! a packet socket for RFC 2131's unicast to a client that has no address
//! yet (the kernel cannot ARP for it, so the frame is addressed by hand).
//!
//! The unsafe code is the libc calls with no safe wrapper in our
//! dependencies: `getifaddrs`, `capget`/`capset`, `sendto` on an `AF_PACKET`
//! socket and `recv` with `MSG_DONTWAIT`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use socket2::{Domain, Protocol, Socket, Type};

/// Ethernet type of IPv4.
const ETH_P_IP: u16 = 0x0800;

/// An interface to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInterface {
    /// Its name.
    pub name: String,
    /// Its index (for the packet socket).
    pub index: u32,
    /// Its IPv4 address (the one in the config, else its first).
    pub addr: Option<Ipv4Addr>,
}

/// Why the interfaces cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configured interface does not exist.
    #[error("interfaces-config.interfaces: no interface named {0:?} on this host")]
    NoSuchInterface(String),
    /// No interface to serve.
    #[error(
        "interfaces-config.interfaces: no interface to listen on (give at least one, or \"*\")"
    )]
    NoInterfaces,
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The interfaces named in `interfaces-config.interfaces` (`eth0`,
/// `eth0/192.0.2.1`, or `*` for every interface but loopback).
pub fn interfaces(names: &[String]) -> Result<Vec<NetInterface>, NetError> {
    let addrs = ipv4_addresses().map_err(|source| NetError::Io {
        what: "listing interface addresses".into(),
        source,
    })?;
    let first_addr =
        |name: &str| -> Option<Ipv4Addr> { addrs.iter().find(|(n, _)| n == name).map(|(_, a)| *a) };
    let mut out: Vec<NetInterface> = Vec::new();
    for entry in names {
        let (name, addr) = match entry.split_once('/') {
            Some((name, addr)) => (name, addr.parse::<Ipv4Addr>().ok()),
            None => (entry.as_str(), None),
        };
        let selected: Vec<String> = if name == "*" {
            let mut all = system_interfaces().map_err(|source| NetError::Io {
                what: "listing interfaces".into(),
                source,
            })?;
            all.retain(|n| n != "lo");
            all
        } else {
            vec![name.to_string()]
        };
        for name in selected {
            if out.iter().any(|i| i.name == name) {
                continue;
            }
            let index =
                interface_index(&name).ok_or_else(|| NetError::NoSuchInterface(name.clone()))?;
            let addr = addr.or_else(|| first_addr(&name));
            out.push(NetInterface { name, index, addr });
        }
    }
    if out.is_empty() {
        return Err(NetError::NoInterfaces);
    }
    Ok(out)
}

/// Every interface's name, from sysfs.
fn system_interfaces() -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/sys/class/net")? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The interface's index, from sysfs.
fn interface_index(name: &str) -> Option<u32> {
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// (interface name, IPv4 address) for every address on the host.
fn ipv4_addresses() -> io::Result<Vec<(String, Ipv4Addr)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned.
        let entry = unsafe { &*cursor };
        if !entry.ifa_addr.is_null() && !entry.ifa_name.is_null() {
            // SAFETY: non-null, and sa_family says which sockaddr it is.
            let family = unsafe { (*entry.ifa_addr).sa_family };
            if i32::from(family) == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                // SAFETY: ifa_name is a NUL-terminated string.
                let name = unsafe { CStr::from_ptr(entry.ifa_name) };
                out.push((name.to_string_lossy().into_owned(), addr));
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// A UDP socket on `port` for `interface`: bound to the device, broadcast
/// allowed, address reuse so one socket per interface can share the port.
pub fn bind_udp(interface: &NetInterface, port: u16) -> Result<std::net::UdpSocket, NetError> {
    let io = |what: &str, source| NetError::Io {
        what: format!("{}: {what}", interface.name),
        source,
    };
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| io("creating the UDP socket", e))?;
    socket
        .set_reuse_address(true)
        .map_err(|e| io("SO_REUSEADDR", e))?;
    socket
        .set_broadcast(true)
        .map_err(|e| io("SO_BROADCAST", e))?;
    socket
        .bind_device(Some(interface.name.as_bytes()))
        .map_err(|e| io("SO_BINDTODEVICE", e))?;
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket
        .set_nonblocking(true)
        .map_err(|e| io("non-blocking", e))?;
    socket
        .bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())
        .map_err(|e| io(&format!("binding 0.0.0.0:{port}"), e))?;
    Ok(socket.into())
}

/// The capabilities dhcp4 uses: binding port 67, and the packet socket
/// that unicasts to a client without an address.
const WANTED_CAPABILITIES: [(u32, &str); 2] = [(10, "NET_BIND_SERVICE"), (13, "NET_RAW")];

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Makes effective whichever of NET_BIND_SERVICE and NET_RAW this process
/// is permitted, and returns their names.
///
/// The image's binary carries them as permitted-only file capabilities
/// (`cap_net_bind_service,cap_net_raw=p`): the kernel then starts it whatever
/// subset the pod allows (an effective file capability the pod does not allow
/// makes exec itself fail), and the daemon raises what it got. So one image
/// binds :67 in a pod that adds NET_BIND_SERVICE alone, and also unicasts
/// through a packet socket in a hostNetwork pod that adds NET_RAW.
pub fn raise_capabilities() -> io::Result<Vec<&'static str>> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget(2) with a v3 header and room for its two data words.
    if unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    let mut raised = Vec::new();
    for (bit, name) in WANTED_CAPABILITIES {
        let mask = 1u32 << bit;
        if data[0].permitted & mask != 0 {
            data[0].effective |= mask;
            raised.push(name);
        }
    }
    // SAFETY: capset(2) with the header and data capget filled in.
    if unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(raised)
}

/// Receives a datagram already queued on `socket` without blocking (the
/// socket itself blocks): `None` when none is waiting; else its length and
/// its IPv4 source address (for classification's `pkt.src`). One system
/// call, where switching the socket to non-blocking and back would take three.
pub fn recv_queued(
    socket: &std::net::UdpSocket,
    buf: &mut [u8],
) -> io::Result<Option<(usize, Option<Ipv4Addr>)>> {
    // SAFETY: an all-zero sockaddr_in is a valid value of the C struct.
    let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut from_len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_in>())
        .unwrap_or(libc::socklen_t::MAX);
    // SAFETY: recvfrom(2) into a buffer we own, with its length, and into a
    // sockaddr_in with its size; the result is checked before either is used.
    let len = unsafe {
        libc::recvfrom(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            std::ptr::addr_of_mut!(from).cast(),
            &mut from_len,
        )
    };
    if len >= 0 {
        let source = (libc::c_int::from(from.sin_family) == libc::AF_INET)
            .then(|| Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr)));
        return Ok(Some((len.unsigned_abs(), source)));
    }
    let error = io::Error::last_os_error();
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
        _ => Err(error),
    }
}

/// Sends IPv4/UDP frames to a hardware address through a packet socket.
#[derive(Debug)]
pub struct HardwareSender {
    fd: OwnedFd,
}

impl HardwareSender {
    /// Opens the packet socket (protocol 0: it receives nothing).
    pub fn open() -> io::Result<HardwareSender> {
        // SAFETY: plain socket(2); the result is checked and owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        Ok(HardwareSender {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends `payload` as UDP from `from` to `to` inside an IPv4 packet
    /// addressed to `mac` on interface `ifindex`.
    pub fn send(
        &self,
        ifindex: u32,
        mac: [u8; 6],
        from: SocketAddrV4,
        to: SocketAddrV4,
        payload: &[u8],
    ) -> io::Result<()> {
        let packet = ipv4_udp(from, to, payload);
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_IP.to_be();
        addr.sll_ifindex = i32::try_from(ifindex).unwrap_or(0);
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&mac);
        // SAFETY: the buffer and the address are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// An IPv4 header and a UDP header (both with checksums) around `payload`.
pub fn ipv4_udp(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0x10]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&from.ip().octets());
    p.extend_from_slice(&to.ip().octets());
    let header_sum = checksum(&[&p[..20]]);
    p[10..12].copy_from_slice(&header_sum.to_be_bytes());
    p.extend_from_slice(&from.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&from.ip().octets());
    pseudo[4..8].copy_from_slice(&to.ip().octets());
    pseudo[9] = 17;
    pseudo[10..12].copy_from_slice(&(udp_len as u16).to_be_bytes());
    let udp_sum = match checksum(&[&pseudo, &p[20..]]) {
        0 => 0xffff,
        sum => sum,
    };
    p[26..28].copy_from_slice(&udp_sum.to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071) of the concatenated parts (each of even
/// length but the last).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for pair in &mut chunks {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_check_out() {
        let from = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 1), 67);
        let to = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 100), 68);
        let packet = ipv4_udp(from, to, b"hello, client");
        assert_eq!(checksum(&[&packet[..20]]), 0, "IPv4 header sums to zero");
        let mut pseudo = [0u8; 12];
        pseudo[..4].copy_from_slice(&from.ip().octets());
        pseudo[4..8].copy_from_slice(&to.ip().octets());
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&((packet.len() - 20) as u16).to_be_bytes());
        assert_eq!(checksum(&[&pseudo, &packet[20..]]), 0, "UDP sums to zero");
        assert_eq!(&packet[28..], b"hello, client");
    }

    #[test]
    fn loopback_is_found_by_name() {
        let found = interfaces(&["lo".to_string()]);
        let Ok(found) = found else {
            panic!("lo: {found:?}");
        };
        assert_eq!(found[0].addr, Some(Ipv4Addr::LOCALHOST));
        assert!(matches!(
            interfaces(&["no-such-if0".to_string()]),
            Err(NetError::NoSuchInterface(_))
        ));
    }
}
