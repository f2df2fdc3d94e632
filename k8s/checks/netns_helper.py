#!/usr/bin/env python3
"""What the node-local live run (binaries.LiveRun.run_lb_nodelocal) runs inside
the network namespace it made, under `ip netns exec NS`:

    netns_helper.py stub --addr 127.0.0.1 --port 53
        a stub DNS server on UDP and TCP, the agent's upstreams: A answers
        192.0.2.1 (TTL 300), PTR answers, names starting with `nx` NXDOMAIN
        and other types NODATA (both with an SOA, so the agent caches the
        denial), names starting with `servfail` SERVFAIL; until killed.
    netns_helper.py probe --dns 169.254.20.10 --metrics 169.254.20.10:9253
                          --health 169.254.20.10:8080
        waits for /readyz, checks /health, /healthz, /readyz and /metrics
        answer 200 and a made-up path does not, sends queries over UDP and TCP
        (a cluster.local name, reverse and other names, repeated so the cache
        hits), scrapes /metrics and prints one JSON object: {"failures": [...],
        "metrics": "<exposition>", "answers": {...}}.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

SOA_RDATA_TTL = 60


def parse_question(msg: bytes) -> tuple[int, str, int, int] | None:
    """(id, name, qtype, offset after the question) of a query."""
    if len(msg) < 12:
        return None
    qid = struct.unpack("!H", msg[:2])[0]
    i, labels = 12, []
    while i < len(msg) and msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1 : i + 1 + n].decode(errors="replace"))
        i += 1 + n
    i += 1
    if i + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[i : i + 2])[0]
    return qid, ".".join(labels).lower(), qtype, i + 4


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def answer(msg: bytes) -> bytes | None:
    q = parse_question(msg)
    if q is None:
        return None
    qid, name, qtype, end = q
    question = msg[12:end]
    first = name.split(".")[0]
    rcode, answers, authority = 0, [], []
    soa = encode_name("example.") + encode_name("ns.example.") + encode_name("hostmaster.example.") + struct.pack(
        "!IIIII", 1, 3600, 600, 86400, SOA_RDATA_TTL
    )
    soa_rr = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, SOA_RDATA_TTL, len(soa)) + soa
    if first.startswith("servfail"):
        rcode = 2
    elif first.startswith("nx"):
        rcode = 3
        authority.append(soa_rr)
    elif qtype == 1:
        answers.append(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton("192.0.2.1"))
    elif qtype == 12:
        target = encode_name("host.example.")
        answers.append(b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 300, len(target)) + target)
    else:
        authority.append(soa_rr)
    flags = 0x8180 | rcode  # QR, RD, RA
    header = struct.pack("!HHHHHH", qid, flags, 1, len(answers), len(authority), 0)
    return header + question + b"".join(answers) + b"".join(authority)


def recv_frame(sock: socket.socket) -> bytes | None:
    """One DNS message off a TCP stream (RFC 1035 4.2.2 length prefix), or None at its end."""
    head = recv_exact(sock, 2)
    if head is None:
        return None
    return recv_exact(sock, struct.unpack("!H", head)[0])


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """Exactly n bytes from sock, or None when the stream ends first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def stub(addr: str, port: int) -> None:
    class Tcp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            sock.settimeout(10)
            try:
                while True:
                    body = recv_frame(sock)
                    if body is None:
                        return
                    reply = answer(body)
                    if reply is not None:
                        sock.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    tcp = Server((addr, port), Tcp)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    print(f"stub DNS on {addr}:{port} (UDP, TCP)", flush=True)
    while True:
        msg, peer = udp.recvfrom(4096)
        reply = answer(msg)
        if reply is not None:
            udp.sendto(reply, peer)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def query(addr: tuple[str, int], name: str, qtype: int, tcp: bool, qid: int) -> tuple[int, int] | None:
    """(rcode, answer count), or None without an answer."""
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)
    try:
        if tcp:
            with socket.create_connection(addr, timeout=3) as s:
                s.sendall(struct.pack("!H", len(q)) + q)
                framed = recv_frame(s)
                if framed is None:
                    return None
                reply = framed
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(q, addr)
                reply = s.recv(4096)
    except (OSError, struct.error):
        return None
    if len(reply) < 12 or struct.unpack("!H", reply[:2])[0] != qid:
        return None
    flags, _, ancount = struct.unpack("!HHH", reply[2:8])
    return flags & 0x000F, ancount


def probe(dns: str, metrics: str, health: str, timeout: float) -> dict:
    failures: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and http_get(f"http://{metrics}/readyz", 1)[0] != 200:
        time.sleep(0.2)
    if http_get(f"http://{metrics}/readyz", 1)[0] != 200:
        failures.append(f"/readyz on {metrics} did not answer 200 within {timeout:.0f} s")
        return {"failures": failures, "metrics": "", "answers": {}}
    for url in (f"http://{health}/health", f"http://{metrics}/healthz", f"http://{metrics}/readyz", f"http://{metrics}/metrics"):
        status = http_get(url)[0]
        if status != 200:
            failures.append(f"{url} answered {status or 'nothing'}, not 200")
    if http_get(f"http://{metrics}/no-such-probe-path")[0] == 200:
        failures.append(f"http://{metrics} answers 200 on any path: the probe paths prove nothing")
    addr = (dns, 53)
    answers: dict[str, list] = {}
    qid = 0x2000
    plan = [
        ("kubernetes.default.svc.cluster.local", 1, False, 3),
        ("www.example.com", 1, False, 3),
        ("www.example.com", 28, False, 2),
        ("nx.example.com", 1, False, 2),
        ("10.0.96.10.in-addr.arpa", 12, False, 2),
        ("servfail.example.com", 1, False, 1),
        ("www.example.com", 1, True, 2),
        ("kubernetes.default.svc.cluster.local", 1, True, 1),
    ]
    for name, qtype, tcp, times in plan:
        for _ in range(times):
            qid += 1
            answers.setdefault(f"{name}/{qtype}/{'tcp' if tcp else 'udp'}", []).append(query(addr, name, qtype, tcp, qid))
    for key, want in (
        ("kubernetes.default.svc.cluster.local/1/udp", (0, 1)),
        ("www.example.com/1/udp", (0, 1)),
        ("www.example.com/1/tcp", (0, 1)),
        ("nx.example.com/1/udp", (3, 0)),
        ("10.0.96.10.in-addr.arpa/12/udp", (0, 1)),
    ):
        got = [tuple(a) if a else None for a in answers[key]]
        if any(g != want for g in got):
            failures.append(f"{key} through the agent on {dns}:53: (rcode, answers) {got}, want {want} each time")
    time.sleep(0.3)
    status, text = http_get(f"http://{metrics}/metrics")
    if status != 200:
        failures.append(f"/metrics on {metrics} answered {status}")
    return {"failures": failures, "metrics": text, "answers": answers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("stub")
    s.add_argument("--addr", default="127.0.0.1")
    s.add_argument("--port", type=int, default=53)
    p = sub.add_parser("probe")
    p.add_argument("--dns", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--health", required=True)
    p.add_argument("--timeout", type=float, default=15)
    args = parser.parse_args()
    if args.mode == "stub":
        stub(args.addr, args.port)
        return 0
    print(json.dumps(probe(args.dns, args.metrics, args.health, args.timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
