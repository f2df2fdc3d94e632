#!/usr/bin/env python3
"""Hand-built seeds for the lb's fuzz targets (no dependencies).

    python3 fuzz/make_seeds.py [OUT_DIR]     # default: fuzz/corpus

writes OUT_DIR/query_path/seed-* (the client queries of the resolver's seeds,
resolver/fuzz/make_seeds.py) and OUT_DIR/response_path/seed-* (one byte
picking the client query of lb::fuzzing::QUERIES, then the backend's reply).
"""
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "resolver_seeds", os.path.join(HERE, "..", "..", "resolver", "fuzz", "make_seeds.py"))
dns = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dns)

# Keep in step with QUERIES in lb/src/fuzzing.rs: name, type, flags byte, EDNS.
QUERIES = [
    ("www.example.com.", dns.A, 0x01, None),
    ("www.example.com.", dns.A, 0x01, (1232, True)),
    ("www.Example.COM.", dns.AAAA, 0x01, (4096, False)),
    ("example.com.", dns.NS, 0x01, (1232, True)),
    ("example.com.", dns.DNSKEY, 0x01, (1232, True)),
    ("nothere.example.com.", dns.A, 0x01, (512, False)),
    ("alias.example.com.", dns.CNAME, 0x00, None),
    ("example.com.", dns.MX, 0x01, (1232, False)),
    (".", dns.NS, 0x01, (1232, True)),
]


def response_seeds():
    out = {}
    for index, (qname, qtype, flags, edns) in enumerate(QUERIES):
        qd = [dns.question(qname, qtype)]
        ar = [dns.opt(edns[0], do=edns[1])] if edns else []
        rd = flags & 0x01

        def add(label, data):
            out["q%d-%s" % (index, label)] = bytes([index]) + data

        answer = dns.rr(None, dns.A, dns.ipv4("192.0.2.1"), raw_owner=b"\xc0\x0c")
        soa = dns.rr("example.com.", dns.SOA, dns.soa(), 3600)
        add("answer", dns.message(0x8480 | (rd << 8), qd, an=[answer], ar=ar))
        add("answer-two", dns.message(0x8180, qd, an=[answer, answer], ar=ar))
        add("answer-ttl-zero", dns.message(0x8180, qd, an=[dns.rr(None, dns.A, b"\1\2\3\4", 0, raw_owner=b"\xc0\x0c")]))
        add("answer-ttl-high-bit", dns.message(0x8180, qd, an=[dns.rr(None, dns.A, b"\1\2\3\4", 0x80000001, raw_owner=b"\xc0\x0c")]))
        add("answer-lower-case", dns.message(0x8180, [dns.question(qname.lower(), qtype)], an=[answer]))
        add("answer-upper-case", dns.message(0x8180, [dns.question(qname.upper(), qtype)], an=[answer]))
        add("nxdomain", dns.message(0x8183, qd, ns=[soa], ar=ar))
        add("nodata", dns.message(0x8180, qd, ns=[soa], ar=ar))
        add("servfail", dns.message(0x8182, qd, ar=ar))
        add("refused", dns.message(0x8185, qd))
        add("formerr-no-question", dns.message(0x8181, []))
        add("servfail-no-question", dns.message(0x8182, []))
        add("noerror-no-question", dns.message(0x8180, [], an=[dns.rr("www.example.com.", dns.A, b"\1\2\3\4")]))
        add("nxdomain-no-question", dns.message(0x8183, [], ns=[soa]))
        add("truncated", dns.message(0x8380, qd))
        add("qr-clear", dns.message(0x0180, qd, an=[answer]))
        add("wrong-question", dns.message(0x8180, [dns.question("www.evil.org.", qtype)], an=[answer]))
        add("wrong-type", dns.message(0x8180, [dns.question(qname, 65)], an=[answer]))
        add("two-questions", dns.message(0x8180, qd * 2, an=[answer]))
        add("header-only", dns.header(0, 0x8180, 0))
        add("short", b"\0\0\x81")
        add("cut", dns.message(0x8180, qd, an=[answer], ar=ar)[:-5])
        add("count-overrun", dns.header(0, 0x8180, 1, 30, 30, 30) + b"".join(qd))
        add("pointer-loop", dns.header(0, 0x8180, 1, 1) + b"".join(qd) + b"\xc0\x30\xc0\x2e"
            + struct.pack(">HHIH", dns.A, dns.IN, 300, 4) + b"\1\2\3\4")
        add("pointer-self", dns.header(0, 0x8180, 1, 1) + b"".join(qd)
            + bytes([0xc0, 12 + len(qd[0])]) + struct.pack(">HHIH", dns.A, dns.IN, 300, 4) + b"\1\2\3\4")
        add("opt-two", dns.message(0x8180, qd, an=[answer], ar=[dns.opt(), dns.opt()]))
        add("opt-badvers", dns.message(0x8180, qd, ar=[dns.opt(ext_rcode=1)]))
        add("opt-in-answer", dns.message(0x8180, qd, an=[answer, dns.opt()]))
        add("big", dns.message(0x8180, qd, an=[dns.rr(None, dns.TXT, b"\xff" + b"x" * 255, raw_owner=b"\xc0\x0c")] * 16, ar=ar))
        add("signed", dns.message(0x8180, qd, an=[answer, dns.rr(None, dns.RRSIG, dns.rrsig(qtype), raw_owner=b"\xc0\x0c")], ar=ar))
    return out


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for target, seeds in (("query_path", dns.query_seeds()), ("response_path", response_seeds())):
        path = os.path.join(base, target)
        os.makedirs(path, exist_ok=True)
        for label, data in seeds.items():
            with open(os.path.join(path, "seed-" + label), "wb") as f:
                f.write(data)
        print(target, len(seeds), "seeds in", path)


if __name__ == "__main__":
    main()
