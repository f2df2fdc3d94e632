//! Arbitrary classification expressions through `dhcp4::classify::parse`, and
//! each one that parses evaluated against the rest of the input as a packet:
//! neither may panic, whatever the text or the bytes.
#![no_main]

use std::net::Ipv4Addr;

use dhcp4::classify::{parse, Packet, PacketMeta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (text, packet) = rest.split_at(usize::from(split).min(rest.len()));
    let text = String::from_utf8_lossy(text);
    let option_code = |name: &str| match name {
        "vendor-class-identifier" => Some(60),
        "user-class" => Some(77),
        "dhcp-agent-options" => Some(82),
        _ => None,
    };
    let Ok(expression) = parse(&text, &option_code) else {
        return;
    };
    let meta = PacketMeta {
        iface: "eth0",
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::BROADCAST,
    };
    let packet = Packet::new(packet, meta);
    let _ = expression.matches(&packet, &|name| name == "KNOWN");
});
