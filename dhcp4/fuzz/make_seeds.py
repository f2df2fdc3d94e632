#!/usr/bin/env python3
"""Writes the hand-built seed corpus of the `packet` fuzz target.

Usage: python3 make_seeds.py DIR   (default: corpus/packet next to this file)

Real client and relay messages for the harness's configuration
(192.168.1.0/24, pool .100-.200, reservations 02:00:00:00:00:0a -> .10 and
client id 01:02:00:00:00:00:0b -> .20, relay 10.0.0.1): DISCOVER, REQUEST in
every RFC 2131 state, RELEASE, DECLINE, INFORM, relayed with option 82,
option overload, split options, odd hardware address lengths, and truncated
copies.
"""

import os
import sys

MAGIC = bytes([99, 130, 83, 99])


def ip(text):
    return bytes(int(p) for p in text.split("."))


def opt(code, data):
    out = b""
    data = bytes(data)
    while True:  # RFC 3396: longer than 255 bytes -> several instances
        out += bytes([code, min(len(data), 255)]) + data[:255]
        data = data[255:]
        if not data:
            return out


def packet(kind=None, mac=b"\x02\x00\x00\x00\x00\x01", xid=0x12345678, op=1,
           htype=1, hlen=None, hops=0, flags=0, ciaddr="0.0.0.0",
           giaddr="0.0.0.0", options=b"", sname=b"", file=b"", end=True,
           pad_to=0):
    hlen = len(mac) if hlen is None else hlen
    p = bytearray(236)
    p[0], p[1], p[2], p[3] = op, htype, hlen, hops
    p[4:8] = xid.to_bytes(4, "big")
    p[10:12] = flags.to_bytes(2, "big")
    p[12:16] = ip(ciaddr)
    p[24:28] = ip(giaddr)
    p[28:28 + min(len(mac), 16)] = mac[:16]
    p[44:44 + len(sname)] = sname
    p[108:108 + len(file)] = file
    p += MAGIC
    if kind is not None:
        p += opt(53, [kind])
    p += options
    if end:
        p.append(255)
    if len(p) < pad_to:
        p += bytes(pad_to - len(p))
    return bytes(p)


CLIENT_ID = opt(61, b"\x01\x02\x00\x00\x00\x00\x01")
PRL = opt(55, [1, 3, 6, 15, 12, 28, 42, 51, 54, 58, 59, 119, 121, 252])
HOST = opt(12, b"laptop")
MAXSIZE = opt(57, [0x05, 0xdc])
SERVER = opt(54, ip("192.168.1.1"))
RELAY = opt(82, opt(1, b"eth0/1/7") + opt(2, b"\x00\x11\x22\x33\x44\x55"))
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)


def seeds():
    s = {}
    s["discover"] = packet(DISCOVER, options=CLIENT_ID + PRL + HOST + MAXSIZE)
    s["discover-bare"] = packet(DISCOVER)
    s["discover-broadcast"] = packet(DISCOVER, flags=0x8000, options=PRL)
    s["discover-requested"] = packet(DISCOVER, options=opt(50, ip("192.168.1.150")) + PRL)
    s["discover-requested-outside-pool"] = packet(DISCOVER, options=opt(50, ip("192.168.1.5")))
    s["discover-reserved-mac"] = packet(DISCOVER, mac=b"\x02\x00\x00\x00\x00\x0a", options=PRL)
    s["discover-reserved-client-id"] = packet(
        DISCOVER, mac=b"\x02\x00\x00\x00\x00\x0b",
        options=opt(61, b"\x01\x02\x00\x00\x00\x00\x0b") + PRL)
    s["discover-empty-client-id"] = packet(DISCOVER, options=opt(61, b""))
    s["discover-padded-576"] = packet(DISCOVER, options=CLIENT_ID + PRL, pad_to=576)
    s["discover-no-end"] = packet(DISCOVER, options=CLIENT_ID + PRL, end=False)
    s["discover-pads"] = packet(DISCOVER, options=bytes(20) + PRL + bytes(5))
    s["discover-split-prl"] = packet(DISCOVER, options=opt(55, [1, 3]) + HOST + opt(55, [6, 121]))
    s["discover-bad-hostname"] = packet(
        DISCOVER, options=opt(12, b"pc\xff1") + CLIENT_ID + PRL)
    s["discover-client-routes"] = packet(
        DISCOVER, options=opt(121, [24, 10, 1, 2, 192, 168, 1, 1, 0, 192, 168, 1, 1]) + PRL)
    s["discover-bad-routes"] = packet(DISCOVER, options=opt(121, [33, 10, 1, 2]) + PRL)
    s["discover-fqdn"] = packet(DISCOVER, options=opt(81, b"\x05\x00\x00laptop.example") + PRL)
    s["discover-vendor"] = packet(
        DISCOVER, options=opt(60, b"MSFT 5.0") + opt(43, opt(1, b"x")) + opt(77, b"\x00\x01a"))
    # The harness's classes: pxe (option 60), relayed (82 sub-options),
    # lab (option 77 split), known-lab (KNOWN pass), odd-xid (required), DROP.
    s["discover-pxe"] = packet(DISCOVER, xid=0x12345677,
                               options=opt(60, b"PXEClient:Arch:00007") + opt(93, [0, 7]) + PRL)
    s["discover-lab-user-class"] = packet(DISCOVER, options=opt(77, b"a,lab,c") + PRL)
    s["discover-drop"] = packet(DISCOVER, options=opt(60, b"drop-me") + PRL)
    s["relayed-discover-pxe-known"] = packet(
        DISCOVER, giaddr="10.0.0.1", mac=b"\x02\x00\x00\x00\x00\x0a",
        options=opt(60, b"PXEClient") + PRL + RELAY)
    s["discover-long-option"] = packet(DISCOVER, options=opt(224, bytes(range(256)) * 2))
    s["discover-token-ring"] = packet(DISCOVER, htype=6, options=PRL)
    s["discover-hlen-0"] = packet(DISCOVER, mac=b"", options=PRL)
    s["discover-hlen-16"] = packet(DISCOVER, mac=bytes(range(1, 17)), options=PRL)
    s["discover-hlen-17"] = packet(DISCOVER, mac=bytes(range(1, 17)), hlen=17, options=PRL)
    s["discover-hlen-255"] = packet(DISCOVER, mac=bytes(range(1, 17)), hlen=255, options=PRL)
    s["discover-hlen-20-infiniband"] = packet(DISCOVER, htype=32, mac=bytes(range(1, 17)),
                                              hlen=20, options=CLIENT_ID)
    s["relayed-discover"] = packet(DISCOVER, giaddr="10.0.0.1", hops=1,
                                   options=CLIENT_ID + PRL + RELAY)
    s["relayed-discover-giaddr-in-subnet"] = packet(DISCOVER, giaddr="192.168.1.254", hops=1,
                                                    options=PRL + RELAY)
    s["relayed-discover-unknown-relay"] = packet(DISCOVER, giaddr="172.20.0.1", hops=1,
                                                 options=PRL + RELAY)
    s["relayed-discover-long-82"] = packet(
        DISCOVER, giaddr="10.0.0.1", hops=2,
        options=PRL + opt(82, opt(1, bytes(200)) + opt(2, bytes(range(150)))))
    s["relayed-discover-empty-82"] = packet(DISCOVER, giaddr="10.0.0.1", options=opt(82, b""))
    s["relayed-request"] = packet(REQUEST, giaddr="10.0.0.1", hops=1,
                                  options=opt(50, ip("192.168.1.100")) + SERVER + CLIENT_ID + RELAY)
    s["relayed-request-wrong-net"] = packet(REQUEST, giaddr="10.0.0.1",
                                            options=opt(50, ip("10.0.0.9")) + RELAY)
    s["relayed-inform"] = packet(INFORM, giaddr="10.0.0.1", ciaddr="192.168.1.50",
                                 options=PRL + RELAY)
    s["request-selecting"] = packet(
        REQUEST, options=opt(50, ip("192.168.1.100")) + SERVER + CLIENT_ID + PRL + HOST)
    s["request-selecting-ciaddr"] = packet(REQUEST, ciaddr="192.168.1.101", options=SERVER)
    s["request-selecting-no-address"] = packet(REQUEST, options=SERVER)
    s["request-selecting-other-server"] = packet(
        REQUEST, options=opt(50, ip("192.168.1.100")) + opt(54, ip("192.168.1.2")))
    s["request-selecting-reserved-by-other"] = packet(
        REQUEST, options=opt(50, ip("192.168.1.10")) + SERVER)
    s["request-selecting-reserved"] = packet(
        REQUEST, mac=b"\x02\x00\x00\x00\x00\x0a", options=opt(50, ip("192.168.1.10")) + SERVER + PRL)
    s["request-selecting-out-of-pool"] = packet(
        REQUEST, options=opt(50, ip("192.168.1.7")) + SERVER)
    s["request-init-reboot"] = packet(REQUEST, options=opt(50, ip("192.168.1.100")) + CLIENT_ID)
    s["request-init-reboot-wrong-net"] = packet(REQUEST, options=opt(50, ip("10.0.0.5")))
    s["request-renewing"] = packet(REQUEST, ciaddr="192.168.1.100", options=CLIENT_ID + PRL)
    s["request-rebinding"] = packet(REQUEST, ciaddr="192.168.1.100", flags=0x8000, options=PRL)
    s["request-renewing-other-net"] = packet(REQUEST, ciaddr="10.1.1.1", options=PRL)
    s["request-bad-requested-length"] = packet(REQUEST, options=opt(50, [192, 168, 1]) + SERVER)
    s["request-bad-server-id-length"] = packet(
        REQUEST, options=opt(50, ip("192.168.1.100")) + opt(54, [192, 168]))
    s["request-nothing"] = packet(REQUEST)
    s["release"] = packet(RELEASE, ciaddr="192.168.1.100", options=SERVER + CLIENT_ID)
    s["release-other-server"] = packet(RELEASE, ciaddr="192.168.1.100",
                                       options=opt(54, ip("10.9.9.9")))
    s["decline"] = packet(DECLINE, options=opt(50, ip("192.168.1.100")) + SERVER + CLIENT_ID)
    s["decline-no-address"] = packet(DECLINE, options=SERVER)
    s["inform"] = packet(INFORM, ciaddr="192.168.1.50", options=PRL)
    s["inform-no-ciaddr"] = packet(INFORM, options=opt(55, [3, 6, 121]))
    s["inform-reserved-host"] = packet(INFORM, mac=b"\x02\x00\x00\x00\x00\x0a",
                                       ciaddr="192.168.1.10", options=opt(55, [12, 3]))
    # RFC 2132 9.3: options in `file` (1), `sname` (2) or both (3).
    s["overload-file"] = packet(
        DISCOVER, options=opt(52, [1]) + PRL,
        file=CLIENT_ID + HOST + b"\xff")
    s["overload-sname"] = packet(
        REQUEST, options=opt(52, [2]) + SERVER,
        sname=opt(50, ip("192.168.1.100")) + b"\xff")
    s["overload-both"] = packet(
        None, options=opt(52, [3]) + opt(55, [1, 3]),
        file=opt(53, [DISCOVER]) + opt(55, [6]) + b"\xff",
        sname=CLIENT_ID + b"\xff")
    s["overload-file-unterminated"] = packet(
        DISCOVER, options=opt(52, [1]), file=bytes([61, 200, 1, 2, 3]))
    s["overload-bad-value"] = packet(DISCOVER, options=opt(52, [7]), file=b"boot.efi\x00")
    s["sname-file-names"] = packet(DISCOVER, sname=b"tftp.example\x00", file=b"pxelinux.0\x00",
                                   options=PRL)
    s["bootp-no-message-type"] = packet(None, options=PRL)
    s["offer-from-server"] = packet(OFFER, op=2, options=SERVER)
    s["ack-from-client"] = packet(ACK, options=SERVER)
    s["nak-from-client"] = packet(NAK)
    s["message-type-unknown"] = packet(13, options=PRL)
    s["message-type-empty"] = packet(None, options=opt(53, b"") + PRL)
    s["message-type-twice"] = packet(DISCOVER, options=opt(53, [REQUEST]) + PRL)
    s["opcode-unknown"] = packet(DISCOVER, op=7)
    s["no-cookie"] = packet(DISCOVER)[:236] + b"\x00\x00\x00\x00" + opt(53, [1]) + b"\xff"
    # Truncations: mid-option, in the cookie, in the header.
    full = s["discover"]
    s["truncated-option"] = full[:240 + 3 + 5]
    s["truncated-length-byte"] = full[:240 + 3 + 1]
    s["truncated-cookie"] = full[:238]
    s["truncated-header"] = full[:100]
    s["truncated-after-cookie"] = full[:240]
    s["truncated-overflowing-length"] = packet(DISCOVER, options=bytes([61, 250, 1, 2]), end=False)
    s["empty"] = b""
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "packet")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"{len(seeds())} seeds in {out}")


if __name__ == "__main__":
    main()
