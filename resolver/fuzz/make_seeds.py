#!/usr/bin/env python3
"""Hand-built seeds for the resolver's fuzz targets (no dependencies).

    python3 fuzz/make_seeds.py [OUT_DIR]     # default: fuzz/corpus

writes OUT_DIR/query_path/seed-* (client queries) and
OUT_DIR/upstream_reply/seed-* (one byte picking the client question of
resolver::fuzzing::QUESTIONS, then the reply example.com.'s servers send).
"""
import os
import struct
import sys

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, DNAME, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 39, 41
DS, RRSIG, NSEC, DNSKEY, NSEC3, ANY, AXFR, IXFR, TSIG = 43, 46, 47, 48, 50, 255, 252, 251, 250
IN, CH = 1, 3

# Keep in step with QUESTIONS in resolver/src/fuzzing.rs.
QUESTIONS = [
    ("www.example.com.", A), ("www.example.com.", AAAA), ("example.com.", NS),
    ("example.com.", SOA), ("alias.example.com.", A), ("nothere.example.com.", A),
    ("www.example.com.", MX), ("www.glueless.com.", A), ("sub.example.com.", TXT),
    ("www.example.com.", DS), ("example.com.", DNSKEY), ("hop1.example.com.", A),
]


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(ident=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def question(qname, qtype, qclass=IN):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def rr(owner, rtype, rdata, ttl=300, rclass=IN, raw_owner=None):
    owner_wire = raw_owner if raw_owner is not None else name(owner)
    return owner_wire + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(payload=1232, do=False, version=0, ext_rcode=0, options=b""):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack(">HHIH", OPT, payload, ttl, len(options)) + options


def option(code, data):
    return struct.pack(">HH", code, len(data)) + data


def ipv4(text):
    return bytes(int(x) for x in text.split("."))


def soa(mname="ns1.example.com.", rname="hostmaster.example.com.", minimum=300):
    return name(mname) + name(rname) + struct.pack(">IIIII", 1, 3600, 600, 86400, minimum)


def rrsig(covered, signer="example.com.", labels=3):
    return struct.pack(">HBBIIIH", covered, 13, labels, 300, 0x7FFFFFFF, 0x60000000, 12345) \
        + name(signer) + b"\x55" * 64


def message(flags, qd, an=(), ns=(), ar=(), ident=0x1234):
    body = b"".join(qd) + b"".join(an) + b"".join(ns) + b"".join(ar)
    return header(ident, flags, len(qd), len(an), len(ns), len(ar)) + body


def query_seeds():
    q = {}
    www = question("www.example.com.", A)
    q["a"] = message(0x0100, [www])
    q["a-edns"] = message(0x0100, [www], ar=[opt()])
    q["a-edns-do"] = message(0x0100, [www], ar=[opt(4096, do=True)])
    q["a-edns-small"] = message(0x0100, [www], ar=[opt(100)])
    q["a-cd-ad"] = message(0x0130, [www], ar=[opt(do=True)])
    q["a-no-rd"] = message(0x0000, [www])
    q["a-tc"] = message(0x0300, [www])
    for label, qtype in [("aaaa", AAAA), ("mx", MX), ("txt", TXT), ("ns", NS), ("soa", SOA),
                         ("any", ANY), ("axfr", AXFR), ("ixfr", IXFR), ("opt", OPT),
                         ("tsig", TSIG), ("type200", 200), ("ds", DS), ("dnskey", DNSKEY),
                         ("rrsig", RRSIG), ("type65535", 65535)]:
        q["qtype-" + label] = message(0x0100, [question("www.example.com.", qtype)])
    for label, qname, qtype in [
        ("local-a", "printer.example.com.", A), ("local-txt", "printer.example.com.", TXT),
        ("local-aaaa", "printer.example.com.", AAAA), ("refused-zone", "blocked.example.com.", A),
        ("localhost", "localhost.", A), ("reverse-localhost", "1.0.0.127.in-addr.arpa.", PTR),
        ("onion", "x.onion.", A), ("alias", "alias.example.com.", A),
        ("loop", "loop.example.com.", A), ("hops", "hop1.example.com.", A),
        ("nxdomain", "nothere.example.com.", A), ("nodata", "www.example.com.", MX),
        ("ent", "ent.example.com.", A), ("glueless", "www.glueless.com.", A),
        ("root-ns", ".", NS), ("com-ds", "example.com.", DS), ("case", "WwW.ExAmPlE.CoM.", A),
        ("forwarded-name", "host.corp.example.com.", A)]:
        q["name-" + label] = message(0x0100, [question(qname, qtype)], ar=[opt(do=True)])
    q["class-ch"] = message(0x0100, [question("version.bind.", TXT, CH)])
    q["class-any"] = message(0x0100, [question("www.example.com.", A, 255)])
    q["class-none"] = message(0x0100, [question("www.example.com.", A, 254)])
    for op in (1, 2, 4, 5, 15):
        q["opcode-%d" % op] = message(0x0100 | (op << 11), [www])
    q["response"] = message(0x8100, [www])
    q["no-question"] = header(qd=0)
    q["two-questions"] = message(0x0100, [www, question("example.com.", NS)])
    q["answer-record"] = message(0x0100, [www], an=[rr("www.example.com.", A, ipv4("1.2.3.4"))])
    q["authority-record"] = message(0x0100, [www], ns=[rr("example.com.", NS, name("ns.evil."))])
    q["additional-a"] = message(0x0100, [www], ar=[rr("x.", A, ipv4("1.2.3.4"))])
    q["edns-version-1"] = message(0x0100, [www], ar=[opt(version=1)])
    q["edns-two-opts"] = message(0x0100, [www], ar=[opt(), opt(512)])
    q["edns-owner-not-root"] = message(0x0100, [www], ar=[name("x.") + opt()[1:]])
    q["edns-ext-rcode"] = message(0x0100, [www], ar=[opt(ext_rcode=1)])
    q["edns-cookie"] = message(0x0100, [www], ar=[opt(options=option(10, b"\1" * 8))])
    q["edns-cookie-server"] = message(0x0100, [www], ar=[opt(options=option(10, b"\1" * 24))])
    q["edns-cookie-bad"] = message(0x0100, [www], ar=[opt(options=option(10, b"\1" * 5))])
    q["edns-ecs"] = message(0x0100, [www], ar=[opt(options=option(8, b"\0\1\x18\0\xc0\0\2"))])
    q["edns-padding"] = message(0x0100, [www], ar=[opt(options=option(12, b"\0" * 40))])
    q["edns-option-overrun"] = message(0x0100, [www], ar=[
        b"\0" + struct.pack(">HHIH", OPT, 1232, 0, 4) + struct.pack(">HH", 10, 40)])
    q["edns-rdlen-overrun"] = message(0x0100, [www], ar=[b"\0" + struct.pack(">HHIH", OPT, 1232, 0, 50)])
    # Names: compression pointers in a query, loops, limits, odd bytes.
    q["pointer-self"] = header() + b"\xc0\x0c" + struct.pack(">HH", A, IN)
    q["pointer-forward"] = header() + b"\xc0\x12" + struct.pack(">HH", A, IN) + name("www.example.com.")
    q["pointer-loop"] = header() + b"\x01a\xc0\x0e" + struct.pack(">HH", A, IN)
    q["pointer-into-header"] = header() + b"\xc0\x02" + struct.pack(">HH", A, IN)
    q["label-type-01"] = header() + b"\x41abc\0" + struct.pack(">HH", A, IN)
    q["label-63"] = message(0x0100, [question("a" * 63 + ".example.com.", A)])
    q["name-255"] = message(0x0100, [question(".".join(["a" * 61] * 4) + ".", A)])
    q["name-too-long"] = header() + (b"\x3f" + b"a" * 63) * 4 + b"\0" + struct.pack(">HH", A, IN)
    q["binary-label"] = header() + b"\x04\0.\xff\x80\x07example\x03com\0" + struct.pack(">HH", A, IN)
    q["root-a"] = message(0x0100, [question(".", A)])
    q["empty"] = b""
    q["one-byte"] = b"\x12"
    q["header-only"] = header()[:12]
    for cut in (2, 11, 13, 20, 30):
        q["cut-%d" % cut] = q["a-edns"][:cut]
    q["trailing-garbage"] = q["a"] + b"\xde\xad\xbe\xef"
    return q


def reply_seeds():
    out = {}
    for index, (qname, qtype) in enumerate(QUESTIONS):
        qd = [question(qname, qtype)]
        zone_soa = rr("example.com.", SOA, soa(), 3600)

        def add(label, data):
            out["q%02d-%s" % (index, label)] = bytes([index]) + data

        add("nxdomain", message(0x8403, qd, ns=[zone_soa]))
        add("nodata", message(0x8400, qd, ns=[zone_soa]))
        add("nodata-no-soa", message(0x8400, qd))
        add("nodata-com-soa", message(0x8400, qd, ns=[rr("com.", SOA, soa("a.gtld-servers.net."))]))
        add("servfail", message(0x8002, qd))
        add("refused", message(0x8005, qd))
        add("formerr-no-question", message(0x8001, []))
        add("truncated", message(0x8600, qd))
        add("recursive-lame", message(0x8180, qd))
        add("upward-referral", message(0x8000, qd, ns=[rr("com.", NS, name("a.gtld-servers.net."))],
                                       ar=[rr("a.gtld-servers.net.", A, ipv4("6.6.6.6"))]))
        add("referral-sub", message(0x8000, qd, ns=[rr("sub.example.com.", NS, name("ns.sub.example.com."))],
                                    ar=[rr("ns.sub.example.com.", A, ipv4("198.51.100.10"))]))
        add("referral-foreign-glue", message(
            0x8000, qd, ns=[rr("sub.example.com.", NS, name("ns.evil.org."))],
            ar=[rr("ns.evil.org.", A, ipv4("6.6.6.6")), rr("www.example.net.", A, ipv4("6.6.6.6"))]))
        add("wrong-question", message(0x8400, [question("www.evil.org.", qtype)],
                                      an=[rr("www.evil.org.", A, ipv4("6.6.6.6"))]))
        if qtype in (A, AAAA, MX, TXT, NS, SOA, DS, DNSKEY):
            rdata = {A: ipv4("192.0.2.1"), AAAA: b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\1",
                     MX: b"\0\x0a" + name("mail.example.com."), TXT: b"\x04fuzz",
                     NS: name("ns1.example.com."), SOA: soa(),
                     DS: struct.pack(">HBB", 12345, 13, 2) + b"\xaa" * 32,
                     DNSKEY: struct.pack(">HBB", 257, 3, 13) + b"\xbb" * 64}[qtype]
            answer = rr(qname, qtype, rdata)
            add("answer", message(0x8400, qd, an=[answer]))
            add("answer-compressed", message(
                0x8400, qd, an=[rr(None, qtype, rdata, raw_owner=b"\xc0\x0c")] * 2))
            add("answer-signed", message(0x8400, qd, an=[answer, rr(qname, RRSIG, rrsig(qtype))],
                                         ns=[rr("example.com.", NS, name("ns1.example.com."))],
                                         ar=[opt(do=True)]))
            add("answer-poison", message(
                0x8400, qd, an=[answer, rr("www.example.net.", A, ipv4("6.6.6.6"))],
                ns=[rr("com.", NS, name("ns.evil.org.")), rr("example.com.", NS, name("ns.evil.org."))],
                ar=[rr("ns.evil.org.", A, ipv4("6.6.6.6")), rr("a.gtld-servers.net.", A, ipv4("6.6.6.6"))]))
            add("answer-ttl-high-bit", message(0x8400, qd, an=[rr(qname, qtype, rdata, 0x80000000)]))
            add("answer-ttl-zero", message(0x8400, qd, an=[rr(qname, qtype, rdata, 0)]))
            add("answer-class-ch", message(0x8400, qd, an=[rr(qname, qtype, rdata, rclass=CH)]))
            add("answer-not-aa", message(0x8000, qd, an=[answer]))
            add("answer-two-opts", message(0x8400, qd, an=[answer], ar=[opt(), opt()]))
            add("answer-opt-in-answer", message(0x8400, qd, an=[answer, opt()]))
            add("answer-badvers", message(0x8400, qd, an=[answer], ar=[opt(ext_rcode=1)]))
            add("answer-cut", message(0x8400, qd, an=[answer])[:-3])
        add("cname-in-zone", message(0x8400, qd, an=[rr(qname, CNAME, name("www.example.com.")),
                                                    rr("www.example.com.", A, ipv4("192.0.2.2"))]))
        add("cname-out-of-zone", message(0x8400, qd, an=[rr(qname, CNAME, name("www.example.net.")),
                                                        rr("www.example.net.", A, ipv4("6.6.6.6"))]))
        add("cname-loop", message(0x8400, qd, an=[rr(qname, CNAME, name("b.example.com.")),
                                                 rr("b.example.com.", CNAME, name(qname))]))
        add("dname", message(0x8400, qd, an=[rr("example.com.", DNAME, name("example.net.")),
                                            rr(qname, CNAME, name("x.example.net."))]))
        add("nsec-denial", message(0x8403, qd, ns=[
            zone_soa, rr("example.com.", RRSIG, rrsig(SOA, labels=2)),
            rr("example.com.", NSEC, name("www.example.com.") + b"\0\x06\x62\0\0\0\0\x03"),
            rr("example.com.", RRSIG, rrsig(NSEC, labels=2))], ar=[opt(do=True)]))
        add("nsec3-denial", message(0x8403, qd, ns=[
            zone_soa, rr("abcdefghijklmnopqrstuvwxyz012345.example.com.", NSEC3,
                         b"\1\0\0\x0a\x02\xab\xcd\x14" + b"\x11" * 20 + b"\0\x01\x40")]))
        add("pointer-loop", header(0x1234, 0x8400, 1, 1) + b"".join(qd) + b"\xc0\x30\xc0\x2e"
            + struct.pack(">HHIH", A, IN, 300, 4) + ipv4("6.6.6.6"))
        add("pointer-self", header(0x1234, 0x8400, 1, 1) + b"".join(qd)
            + bytes([0xc0, 12 + len(qd[0])]) + struct.pack(">HHIH", A, IN, 300, 4) + ipv4("6.6.6.6"))
        add("count-overrun", header(0x1234, 0x8400, 1, 40, 40, 40) + b"".join(qd))
    return out


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for target, seeds in (("query_path", query_seeds()), ("upstream_reply", reply_seeds())):
        path = os.path.join(base, target)
        os.makedirs(path, exist_ok=True)
        for label, data in seeds.items():
            with open(os.path.join(path, "seed-" + label), "wb") as f:
                f.write(data)
        print(target, len(seeds), "seeds in", path)


if __name__ == "__main__":
    main()
