"""Checks that run our binaries: the containers' arguments against `--help`, every
mounted config through `--check-config` (with the pod's files laid out as the pod
sees them), listen ports against containerPorts, and a live run on loopback that
serves the probe paths and whose /metrics gives the real list of metric names."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import tomllib

from netns_helper import http_get, recv_frame
from model import (
    NODELOCAL_IMAGE,
    OUR_IMAGES,
    XTABLES_LOCK,
    Obj,
    Report,
    claim_template_volumes,
    containers,
    expand_env_refs,
    image_parts,
    normalise_repo,
    pod_instances,
    pod_template,
    strip_kea_comments,
    toml_dump,
)

COMMAND_TIMEOUT = 20  # seconds for --help and --check-config
START_TIMEOUT = 15  # seconds for a daemon to report ready

# unbound.conf keys that name files.
UNBOUND_FILE_KEYS = (
    "include", "include-toplevel", "root-hints", "tls-service-key", "tls-service-pem", "tls-cert-bundle",
    "auto-trust-anchor-file", "trust-anchor-file", "redis-server-path", "directory", "pidfile", "logfile",
)


@dataclasses.dataclass
class Container:
    """One of our containers, with the pod's filesystem laid out under `root`."""

    obj: Obj
    spec: dict
    pod_spec: dict
    binary: str
    root: pathlib.Path
    mounts: dict[str, dict]  # mountPath -> {"writable": bool, "volume": name}
    args: list[str]  # with paths under mounts rewritten into root
    config: pathlib.Path | None  # rewritten config path
    config_in_pod: str | None
    metrics_port: int | None = None
    # A StatefulSet's pod (its args and volumes are that pod's).
    pod: str | None = None

    @property
    def where(self) -> str:
        pod = f" pod {self.pod}" if self.pod else ""
        return f"{self.obj}{pod} container {self.spec.get('name')}"


# ---- --help ---------------------------------------------------------------------------

_help_cache: dict[str, tuple[dict[str, bool], str]] = {}


def read_help(binary_path: pathlib.Path) -> tuple[dict[str, bool], str]:
    """{flag: takes a value} from `binary --help` (long and short forms), and the text."""
    key = str(binary_path)
    if key not in _help_cache:
        out = subprocess.run([binary_path, "--help"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        if out.returncode != 0:
            raise RuntimeError(f"{binary_path} --help exited {out.returncode}: {out.stderr.strip()}")
        flags: dict[str, bool] = {}
        for line in out.stdout.splitlines():
            m = re.match(r"^\s+(?:(-\w),\s+)?(--[\w-]+)(?:\s+<([^>]+)>)?", line)
            if m:
                takes = m.group(3) is not None
                flags[m.group(2)] = takes
                if m.group(1):
                    flags[m.group(1)] = takes
            m = re.match(r"^\s+(-\w)(?:\s+<([^>]+)>)?\s*$", line)
            if m:
                flags[m.group(1)] = m.group(2) is not None
        _help_cache[key] = (flags, out.stdout)
    return _help_cache[key]


def check_args(args: list[str], flags: dict[str, bool], where: str, binary: str, report: Report) -> dict[str, str]:
    """The container's args against the flags `--help` lists; returns {flag: value}."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            report.fail(where, f"argument {arg!r}: {binary} takes no positional argument here")
            i += 1
            continue
        name, _, inline = arg.partition("=")
        if name not in flags:
            report.fail(where, f"{binary} has no flag {name} (see `{binary} --help`)")
            i += 1
            continue
        if flags[name]:
            if inline:
                values[name] = inline
            elif i + 1 < len(args):
                values[name] = args[i + 1]
                i += 1
            else:
                report.fail(where, f"{name} needs a value")
        i += 1
    return values


def flag_value(values: dict[str, str], *names: str) -> str | None:
    for n in names:
        if n in values:
            return values[n]
    return None


# ---- the pod's filesystem --------------------------------------------------------------

def _write(path: pathlib.Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def lay_out(obj: Obj, spec: dict, pod_spec: dict, objs: list[Obj], root: pathlib.Path, secret_maker) -> dict[str, dict]:
    """Writes what the container's volumeMounts show under root; returns the mounts."""
    by_id = {(o.kind, o.namespace, o.name): o for o in objs}
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
    mounts: dict[str, dict] = {}

    def data_of(kind: str, name: str) -> dict[str, str] | None:
        o = by_id.get((kind, obj.namespace, name))
        if o is None:
            if kind == "Secret":
                return secret_maker(name)
            return None
        data = dict(o.data.get("data") or {})
        if kind == "Secret":
            import base64

            data = {k: base64.b64decode(v).decode("latin-1") for k, v in data.items()}
            data.update(o.data.get("stringData") or {})
        return data

    def project(target: pathlib.Path, data: dict[str, str], items: list[dict] | None) -> None:
        if items:
            for item in items:
                if item["key"] in data:
                    _write(target / item["path"], data[item["key"]])
        else:
            for key, value in data.items():
                _write(target / key, value)

    for mount in spec.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        path = mount["mountPath"]
        target = root / path.lstrip("/")
        if mount.get("subPath"):
            raise RuntimeError(f"subPath mounts are not laid out by this check ({path})")
        target.mkdir(parents=True, exist_ok=True)
        writable = not mount.get("readOnly", False)
        if "configMap" in volume:
            writable = False
            data = data_of("ConfigMap", volume["configMap"]["name"]) or {}
            project(target, data, volume["configMap"].get("items"))
        elif "secret" in volume:
            writable = False
            data = data_of("Secret", volume["secret"]["secretName"]) or {}
            project(target, data, volume["secret"].get("items"))
        elif "projected" in volume:
            writable = False
            for source in volume["projected"].get("sources") or []:
                if "configMap" in source:
                    project(target, data_of("ConfigMap", source["configMap"]["name"]) or {}, source["configMap"].get("items"))
                if "secret" in source:
                    project(target, data_of("Secret", source["secret"]["name"]) or {}, source["secret"].get("items"))
        elif not ("emptyDir" in volume or "persistentVolumeClaim" in volume or "ephemeral" in volume):
            writable = False
        mounts[path] = {"writable": writable, "volume": mount.get("name")}
    return mounts


def in_root(root: pathlib.Path, mounts: dict[str, dict], pod_path: str) -> pathlib.Path | None:
    """Where an absolute pod path lies in the laid-out root, if under a mount."""
    for mount in sorted(mounts, key=len, reverse=True):
        if pod_path == mount or pod_path.startswith(mount.rstrip("/") + "/"):
            return root / pod_path.lstrip("/")
    return None


def writable_mount(mounts: dict[str, dict], pod_path: str) -> bool:
    for mount in sorted(mounts, key=len, reverse=True):
        if pod_path.startswith(mount.rstrip("/") + "/"):
            return mounts[mount]["writable"]
    return False


def rewrite_unbound_paths(container: Container, report: Report) -> None:
    """Absolute file names inside the mounted unbound.conf files must lie in the
    pod's mounts; they are pointed into the laid-out root. Relative ones resolve
    against the top-level file's directory, as in the pod."""
    config_dir = container.config.parent
    for path in sorted(config_dir.rglob("*")):
        if not path.is_file():
            continue
        lines = path.read_text(errors="replace").splitlines(keepends=True)
        changed = False
        for index, line in enumerate(lines):
            m = re.match(r'^(\s*(?:server:\s*)?)(%s):\s*(["\']?)(/[^"\'\s#]*)\3' % "|".join(map(re.escape, UNBOUND_FILE_KEYS)), line)
            if not m:
                continue
            key, pod_path = m.group(2), m.group(4)
            if key in ("pidfile", "logfile"):
                continue
            target = in_root(container.root, container.mounts, pod_path)
            if target is None:
                report.fail(container.where, f"{path.name}: {key}: {pod_path} is not in any of the pod's volumes")
                continue
            lines[index] = line.replace(pod_path, str(target), 1)
            changed = True
        if changed:
            path.write_text("".join(lines))


# Kea keys (HA peers, the HA map, control-sockets) whose values are files.
KEA_FILE_KEYS = ("basic-auth-password-file", "trust-anchor", "cert-file", "key-file", "password-file")


def ha_of(kea: dict) -> dict | None:
    """The HA hook's parameters (first high-availability entry), if loaded."""
    for hook in (kea.get("Dhcp4") or {}).get("hooks-libraries") or []:
        library = str(hook.get("library", ""))
        if "libdhcp_ha" in library or "high_availability" in library:
            entries = (hook.get("parameters") or {}).get("high-availability") or []
            if entries and isinstance(entries[0], dict):
                return entries[0]
    return None


def rewrite_kea_paths(container: Container, report: Report) -> None:
    """Absolute file names in the Kea config (the HA password file, TLS files)
    must lie in the pod's volumes; they are pointed into the laid-out root,
    in the text itself, so line numbers and comments stay."""
    text = container.config.read_text()

    def sub(m: re.Match) -> str:
        target = in_root(container.root, container.mounts, m.group(3))
        if target is None or not target.is_file():
            report.fail(container.where, f"{container.config_in_pod}: {m.group(2)} {m.group(3)} is not a file of the pod's volumes")
            return m.group(0)
        return f'{m.group(1)}{target}"'

    pattern = r'("(%s)"\s*:\s*")(/[^"]*)"' % "|".join(map(re.escape, KEA_FILE_KEYS))
    new = re.sub(pattern, sub, text)
    if new != text:
        container.config.write_text(new)


def prepare(obj: Obj, spec: dict, pod_spec: dict, objs: list[Obj], bin_dir: pathlib.Path, work: pathlib.Path,
            report: Report, secret_maker, pod: str | None = None) -> Container | None:
    repo = normalise_repo(image_parts(spec.get("image", ""))[0])
    binary = OUR_IMAGES[repo]
    where = f"{obj}{f' pod {pod}' if pod else ''} container {spec.get('name')}"
    binary_path = bin_dir / binary
    flags, _ = read_help(binary_path)
    if spec.get("command"):
        report.fail(where, "sets `command`: the image's entrypoint is the binary; give flags in `args`")
    args = [str(a) for a in spec.get("args") or []]
    values = check_args(args, flags, where, binary, report)
    root = pathlib.Path(tempfile.mkdtemp(prefix=f"{binary}-", dir=work))
    mounts = lay_out(obj, spec, pod_spec, objs, root, secret_maker)
    config_in_pod = flag_value(values, "-c", "--config")
    if config_in_pod is None:
        if binary == "dhcp4":
            config_in_pod = "/etc/kea/kea-dhcp4.conf"
        else:
            report.fail(where, f"no -c: {binary} would run its embedded default, not the ConfigMap")
    config = None
    if config_in_pod:
        config = in_root(root, mounts, config_in_pod)
        if config is None or not config.is_file():
            report.fail(where, f"config {config_in_pod} is not a file of the pod's volumes")
            config = None
    new_args = []
    for a in args:
        name, sep, inline = a.partition("=")
        if a.startswith("/") and in_root(root, mounts, a) is not None:
            new_args.append(str(in_root(root, mounts, a)))
        elif sep and inline.startswith("/") and in_root(root, mounts, inline) is not None:
            new_args.append(f"{name}={in_root(root, mounts, inline)}")
        else:
            new_args.append(a)
    return Container(obj, spec, pod_spec, binary, root, mounts, new_args, config, config_in_pod, pod=pod)


# ---- --check-config, ports ------------------------------------------------------------

def _addr_port(text: str) -> int:
    return int(text.rsplit(":", 1)[1])


def served_ports(container: Container, summary: str, report: Report) -> set[tuple[int, str]]:
    """(port, protocol) the binary will listen on with this config and these args."""
    ports: set[tuple[int, str]] = set()
    values = {}
    args = container.args
    for i, a in enumerate(args):
        if a.startswith("--metrics-addr"):
            values["metrics"] = a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
        if a in ("-p", "--port") and i + 1 < len(args):
            values["port"] = args[i + 1]
        elif a.startswith("--port="):
            values["port"] = a.split("=", 1)[1]
    metrics = values.get("metrics")
    if container.binary == "resolver":
        for proto, name in (("UDP", "udp"), ("TCP", "tcp"), ("TCP", "dot")):
            for line in re.findall(rf"^listen {name}: (.*)$", summary, re.M):
                for addr in re.split(r",\s*", line):
                    if re.search(r":\d+$", addr.strip()):
                        ports.add((_addr_port(addr.strip()), proto))
    elif container.binary == "lb":
        m = re.search(r"^listen: udp (.*?) \| tcp (.*?) \| dot (.*)$", summary, re.M)
        if not m:
            report.fail(container.where, "cannot read the listeners from `lb --check-config`")
        else:
            for group, proto in ((1, "UDP"), (2, "TCP"), (3, "TCP")):
                for addr in m.group(group).split(","):
                    if re.search(r":\d+$", addr.strip()):
                        ports.add((_addr_port(addr.strip()), proto))
        if metrics is None and container.config is not None:
            metrics = (tomllib.loads(container.config.read_text()).get("metrics") or {}).get("addr")
        if container.config is not None:
            health = nodelocal_health(tomllib.loads(container.config.read_text()))
            if health is not None:
                ports.add((health[1], "TCP"))
    elif container.binary == "dhcp4":
        ports.add((int(values.get("port", 67)), "UDP"))
        # The HA listener (this server's peer url) and Kea's control-sockets.
        for port in re.findall(r"^ha: .* listening on https?://[^ ]*?:(\d+)/?;", summary, re.M):
            ports.add((int(port), "TCP"))
        for port in re.findall(r"^control: https?://\S+:(\d+) ", summary, re.M):
            ports.add((int(port), "TCP"))
    if metrics is None:
        report.fail(container.where, "metrics address is implicit: give --metrics-addr (or [metrics] addr) so the port is visible")
    else:
        ports.add((_addr_port(metrics), "TCP"))
        container.metrics_port = _addr_port(metrics)
    return ports


def nodelocal_health(toml: dict) -> tuple[str, int] | None:
    """node-local mode's /health address (health-addr; default the first
    local-ip, port 8080), or None without [node-local]."""
    node_local = toml.get("node-local")
    if not isinstance(node_local, dict):
        return None
    addr = node_local.get("health-addr")
    if addr:
        host, _, port = str(addr).rpartition(":")
        if host and port.isdigit():
            return host.strip("[]"), int(port)
        return str(addr).strip("[]"), 8080
    return str((node_local.get("local-ip") or ["169.254.20.10"])[0]), 8080


def check_nodelocal_container(container: Container, toml: dict, report: Report) -> None:
    """An lb in node-local mode: the image with iptables and nft, the xtables
    lock from the node where the firewall is iptables, and the liveness probe
    on the agent's /health (host and port)."""
    repo = normalise_repo(image_parts(container.spec.get("image", ""))[0])
    node_local = toml.get("node-local")
    if not isinstance(node_local, dict):
        if repo == NODELOCAL_IMAGE:
            report.fail(container.where, f"{NODELOCAL_IMAGE} runs an lb without [node-local]: use noc/lb")
        return
    if repo != NODELOCAL_IMAGE:
        report.fail(container.where, f"{container.config_in_pod} has [node-local], which runs iptables/nft: "
                    f"use the {NODELOCAL_IMAGE} image (noc/lb has neither)")
    firewall = node_local.get("firewall", "iptables")
    if firewall in ("iptables", "iptables-legacy"):
        mount = container.mounts.get(XTABLES_LOCK)
        volume = next((v for v in container.pod_spec.get("volumes") or [] if mount and v.get("name") == mount["volume"]), None)
        host_path = (volume or {}).get("hostPath") or {}
        if mount is None or host_path.get("path") != XTABLES_LOCK:
            report.fail(container.where, f"firewall = {firewall} without the node's {XTABLES_LOCK} mounted (hostPath "
                        f"{XTABLES_LOCK}, type FileOrCreate): its rule changes would race kube-proxy's")
        elif any(m.get("mountPath") == XTABLES_LOCK and m.get("readOnly") for m in container.spec.get("volumeMounts") or []):
            report.fail(container.where, f"{XTABLES_LOCK} is mounted read-only: iptables takes the lock by opening it")
    host, port = nodelocal_health(toml)
    probe = (container.spec.get("livenessProbe") or {}).get("httpGet") or {}
    probe_port = probe.get("port")
    if isinstance(probe_port, str):
        probe_port = next((p.get("containerPort") for p in container.spec.get("ports") or [] if p.get("name") == probe_port), probe_port)
    if probe and (probe.get("host"), probe_port) != (host, port):
        report.fail(container.where, f"livenessProbe on {probe.get('host')}:{probe.get('port')}, but /health is served on "
                    f"{host}:{port} (node-local.health-addr)")


def check_config(container: Container, bin_dir: pathlib.Path, report: Report) -> str | None:
    """Runs the container's own args plus --check-config; returns the summary."""
    if container.config is None:
        return None
    if container.binary == "resolver":
        rewrite_unbound_paths(container, report)
    if container.binary == "lb":
        toml = tomllib.loads(container.config.read_text())
        check_nodelocal_container(container, toml, report)
        for key in ("tls-cert", "tls-key"):
            pod_path = (toml.get("listen") or {}).get(key)
            if pod_path:
                target = in_root(container.root, container.mounts, pod_path)
                if target is None or not target.is_file():
                    report.fail(container.where, f"listen.{key} {pod_path} is not a file of the pod's volumes")
    if container.binary == "dhcp4":
        kea = json.loads(strip_kea_comments(container.config.read_text()))
        lease = ((kea.get("Dhcp4") or {}).get("lease-database") or {})
        if lease.get("persist", True):
            name = lease.get("name", "/var/lib/kea/kea-leases4.csv")
            if not writable_mount(container.mounts, name):
                report.fail(container.where, f"lease file {name} is not on a writable volume (the root filesystem is read-only)")
            elif container.mounts.get(os.path.dirname(name), {}).get("volume") and not any(
                v.get("name") == container.mounts[os.path.dirname(name)]["volume"] and "persistentVolumeClaim" in v
                for v in container.pod_spec.get("volumes") or []
            ):
                report.fail(container.where, f"lease file {name} is not on a PersistentVolumeClaim: leases would be lost with the pod")
        rewrite_kea_paths(container, report)
        ha = ha_of(kea)
        if ha is not None and container.pod and str(ha.get("this-server-name", "")).strip() != container.pod:
            report.fail(container.where, f"{container.config_in_pod}: this-server-name {ha.get('this-server-name')!r} is not the pod's name {container.pod!r}")
        socket_type = (kea.get("Dhcp4") or {}).get("interfaces-config", {}).get("dhcp-socket-type", "raw")
        caps = set(((container.spec.get("securityContext") or {}).get("capabilities") or {}).get("add") or [])
        if socket_type == "raw" and "NET_RAW" not in caps:
            report.fail(container.where, 'dhcp-socket-type "raw" needs CAP_NET_RAW (add NET_RAW, or use "udp" where every client is relayed)')
        if socket_type == "udp" and "NET_RAW" in caps:
            report.fail(container.where, 'NET_RAW is added but dhcp-socket-type is "udp": drop the capability')
    cmd = [str(bin_dir / container.binary), *container.args, "--check-config"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, cwd=container.root)
    except subprocess.TimeoutExpired:
        report.fail(container.where, f"`{container.binary} --check-config` did not finish in {COMMAND_TIMEOUT} s")
        return None
    if out.returncode != 0:
        report.fail(container.where, f"`{container.binary} {' '.join(container.spec.get('args') or [])} --check-config` exited {out.returncode}: {(out.stderr or out.stdout).strip()}")
        return None
    summary = out.stdout
    warnings = re.findall(r"^\s*(?:warning: .*|\S+:\d+: .*)$", summary, re.M)
    m = re.search(r"^warnings: (\d+)", summary, re.M)
    if (m and int(m.group(1)) > 0) or [w for w in warnings if w.strip().startswith("warning:")]:
        report.fail(container.where, f"{container.config_in_pod} passes with warnings (keys with no effect here): {summary.strip()}")
    return summary


def check_ports(container: Container, summary: str, report: Report) -> None:
    served = served_ports(container, summary, report)
    declared = {(p.get("containerPort"), p.get("protocol", "TCP")) for p in container.spec.get("ports") or []}
    for port, proto in sorted(served - declared):
        report.fail(container.where, f"serves {port}/{proto} (config and args) but declares no such containerPort")
    for port, proto in sorted(declared - served):
        report.fail(container.where, f"containerPort {port}/{proto} is not served by {container.binary} with this config")
    metrics_port = container.metrics_port
    named = {p.get("name"): p.get("containerPort") for p in container.spec.get("ports") or []}
    if metrics_port is not None and named.get("metrics") != metrics_port:
        report.fail(container.where, f"the port named metrics is {named.get('metrics')}, but /metrics, /healthz and /readyz are served on {metrics_port}")


# ---- live run on loopback ---------------------------------------------------------------

def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def parse_exposition(text: str) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        labels = out.setdefault(m.group(1), {})
        for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            labels.setdefault(key, set()).add(value)
    return out


def dns_query(name: str, qid: int) -> bytes:
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def dns_answer_ok(reply: bytes, qid: int) -> bool:
    if len(reply) < 12:
        return False
    rid, flags, _, ancount = struct.unpack("!HHHH", reply[:8])
    return rid == qid and flags & 0x8000 and flags & 0x000F == 0 and ancount >= 1


def query_udp(addr: tuple[str, int], name: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(dns_query(name, 0x1234), addr)
        try:
            return bool(dns_answer_ok(s.recv(4096), 0x1234))
        except OSError:
            return False


def _stream_query(sock, name: str) -> bool:
    q = dns_query(name, 0x4321)
    sock.sendall(struct.pack("!H", len(q)) + q)
    body = recv_frame(sock)
    return body is not None and bool(dns_answer_ok(body, 0x4321))


def query_tcp(addr: tuple[str, int], name: str) -> bool:
    try:
        with socket.create_connection(addr, timeout=2) as s:
            return _stream_query(s, name)
    except OSError:
        return False


def query_tls(addr: tuple[str, int], name: str, cafile: pathlib.Path, server_name: str) -> str | None:
    """A DoT query verifying the certificate against itself (self-signed) and the
    name; returns an error, or None."""
    context = ssl.create_default_context(cafile=str(cafile))
    try:
        with socket.create_connection(addr, timeout=3) as raw:
            with context.wrap_socket(raw, server_hostname=server_name) as s:
                return None if _stream_query(s, name) else "no answer over DoT"
    except (OSError, ssl.SSLError) as e:
        return f"DoT: {e}"


def dhcp_packet(msg_type: int, xid: bytes, relay_ip: str, mac: bytes, extra: bytes = b"", secs: int = 0) -> bytes:
    """A relayed BOOTREQUEST (giaddr relay_ip) of DHCP type msg_type."""
    fixed = struct.pack(
        "!BBBB4sHH4s4s4s4s16s64s128s", 1, 1, 6, 1, xid, secs, 0, b"\0" * 4, b"\0" * 4, b"\0" * 4,
        socket.inet_aton(relay_ip), mac + b"\0" * 10, b"\0" * 64, b"\0" * 128,
    )
    return fixed + bytes([99, 130, 83, 99, 53, 1, msg_type]) + extra + bytes([55, 3, 1, 3, 6, 255])


def dhcp_discover_only(server_port: int, relay_ip: str, mac: bytes, secs: int) -> None:
    """A relayed DISCOVER whose client has been trying for `secs` seconds; the
    answer, if any, is not read (an HA standby counts such clients)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(dhcp_packet(1, os.urandom(4), relay_ip, mac, secs=secs), ("127.0.0.1", server_port))


def dhcp_exchange(server_port: int, relay_ip: str, mac: bytes, timeout: float = 3) -> tuple[bool, bool]:
    """A relayed DISCOVER then REQUEST from relay_ip (a loopback address); returns
    (offered, acked)."""
    xid = os.urandom(4)

    def packet(msg_type: int, extra: bytes) -> bytes:
        return dhcp_packet(msg_type, xid, relay_ip, mac, extra)

    def options(reply: bytes) -> dict[int, bytes]:
        out, i = {}, 240
        while i < len(reply) and reply[i] != 255:
            if reply[i] == 0:
                i += 1
                continue
            out[reply[i]] = reply[i + 2 : i + 2 + reply[i + 1]]
            i += 2 + reply[i + 1]
        return out

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        s.bind((relay_ip, server_port))
        s.settimeout(timeout)
        s.sendto(packet(1, b""), ("127.0.0.1", server_port))
        try:
            offer = s.recv(2048)
        except OSError:
            return False, False
        opts = options(offer)
        if offer[4:8] != xid or opts.get(53) != b"\x02":
            return False, False
        yiaddr = offer[16:20]
        server_id = opts.get(54, b"")
        s.sendto(packet(3, bytes([50, 4]) + yiaddr + (bytes([54, 4]) + server_id if server_id else b"")), ("127.0.0.1", server_port))
        try:
            ack = s.recv(2048)
        except OSError:
            return True, False
        return True, ack[4:8] == xid and options(ack).get(53) == b"\x05"


class Daemons:
    """Processes this check started; stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self, work: pathlib.Path):
        self.work = work
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], cwd: pathlib.Path) -> subprocess.Popen:
        log = open(self.work / f"{name}.log", "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop_all(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 8
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()


def wait_ready(metrics: str, proc: subprocess.Popen, timeout: float = START_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if http_get(f"http://{metrics}/readyz", 1)[0] == 200:
            return True
        time.sleep(0.1)
    return False


def probe_paths(container: Container, metrics: str, report: Report) -> None:
    """The probe paths are served (and a made-up path is not, so 200 means something)."""
    for path in ("/healthz", "/readyz", "/metrics"):
        status, _ = http_get(f"http://{metrics}{path}")
        if status != 200:
            report.fail(container.where, f"{container.binary} answers {path} with {status or 'nothing'}, not 200")
    status, _ = http_get(f"http://{metrics}/no-such-probe-path")
    if status == 200:
        report.fail(container.where, f"{container.binary} answers 200 on any path: the probe paths prove nothing")


class LiveRun:
    """Starts each distinct config once on loopback, sends it traffic, scrapes it."""

    def __init__(self, bin_dir: pathlib.Path, work: pathlib.Path, report: Report):
        self.bin_dir = bin_dir
        self.work = work
        self.report = report
        self.daemons = Daemons(work)
        self.scraped: dict[str, dict[str, set[str]]] = {}
        self.done: set[str] = set()
        self.redis: tuple[str, int] | None = None
        self.resolver_dns: tuple[str, int] | None = None
        self.discover_names: set[str] = set()
        # Network namespaces made for node-local runs, deleted by close().
        self.netns: list[str] = []
        self.counter = 0
        # The Redis Deployment's redis.conf, to start Redis with (loopback port).
        self.redis_conf: tuple[str, pathlib.Path] | None = None

    def _merge(self, text: str) -> None:
        for name, labels in parse_exposition(text).items():
            mine = self.scraped.setdefault(name, {})
            for key, values in labels.items():
                mine.setdefault(key, set()).update(values)

    def _key(self, container: Container) -> str:
        digest = hashlib.sha256(container.binary.encode())
        for path in sorted(container.root.rglob("*")):
            # Stand-in certificates differ on every run; the config does not.
            if path.is_file() and path.suffix not in (".crt", ".key", ".pem"):
                digest.update(str(path.relative_to(container.root)).encode() + path.read_bytes())
        digest.update(json.dumps(container.spec.get("args") or []).encode())
        return digest.hexdigest()

    def _start_redis(self) -> tuple[str, int]:
        if self.redis:
            return self.redis
        port = free_port()
        server = shutil.which("redis-server")
        if server:
            cmd = [server]
            if self.redis_conf:
                cmd.append(str(self.redis_conf[1]))
            cmd += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.work), "--daemonize", "no"]
            proc = self.daemons.start("redis", cmd, self.work)
            deadline = time.monotonic() + 5
            up = False
            while time.monotonic() < deadline and proc.poll() is None and not up:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    up = True
                time.sleep(0.05)
            if not up:
                where = self.redis_conf[0] if self.redis_conf else "redis"
                self.report.fail(where, f"redis-server did not start with the mounted redis.conf: {self.daemons.log('redis')}")
            used = f" with {self.redis_conf[0]}'s redis.conf" if self.redis_conf else ""
            self.report.note(f"live run: Redis on 127.0.0.1:{port}{used} for the resolver's cachedb")
        else:
            self.report.note("live run: no redis-server here; the resolver's cachedb points at a closed port (its breaker opens)")
        self.redis = ("127.0.0.1", port)
        return self.redis

    def _metrics_args(self, args: list[str], metrics: str) -> list[str]:
        out, skip = [], False
        for i, a in enumerate(args):
            if skip:
                skip = False
                continue
            if a == "--metrics-addr":
                skip = True
                continue
            if a.startswith("--metrics-addr="):
                continue
            out.append(a)
        return out + ["--metrics-addr", metrics]

    def run_resolver(self, container: Container) -> None:
        key = self._key(container)
        if key in self.done:
            return
        self.done.add(key)
        live = pathlib.Path(tempfile.mkdtemp(prefix="live-resolver-", dir=self.work))
        shutil.copytree(container.config.parent, live, dirs_exist_ok=True)
        main = live / container.config.name
        port = free_port()
        redis_host, redis_port = self._start_redis()
        for path in live.rglob("*"):
            if not path.is_file():
                continue
            text = path.read_text(errors="replace")
            text = re.sub(r"(?m)^(\s*)interface:.*$", r"\1interface: 127.0.0.1", text)
            text = re.sub(r"(?m)^(\s*)port:.*$", rf"\1port: {port}", text)
            text = re.sub(r"(?m)^(\s*)redis-server-host:.*$", rf"\1redis-server-host: {redis_host}", text)
            text = re.sub(r"(?m)^(\s*)redis-server-port:.*$", rf"\1redis-server-port: {redis_port}", text)
            path.write_text(text)
        # The lb discovers the resolvers through this name; here it is this resolver.
        extra = "".join(f'    local-data: "{name.rstrip(".")}. 30 IN A 127.0.0.1"\n' for name in sorted(self.discover_names))
        with main.open("a") as f:
            f.write("\n# added by k8s/checks for the loopback run\nserver:\n    interface: 127.0.0.1\n" + extra)
        metrics = f"127.0.0.1:{free_port()}"
        args = [a if a != str(container.config) else str(main) for a in container.args]
        self.counter += 1
        name = f"resolver-{self.counter}"
        proc = self.daemons.start(name, [str(self.bin_dir / "resolver"), *self._metrics_args(args, metrics)], live)
        if not wait_ready(metrics, proc):
            self.report.fail(container.where, f"resolver did not become ready on loopback: {self.daemons.log(name)}")
            return
        probe_paths(container, metrics, self.report)
        if not query_udp(("127.0.0.1", port), "localhost"):
            self.report.fail(container.where, "resolver did not answer localhost/A on loopback")
        self.resolver_dns = ("127.0.0.1", port)
        self._merge(http_get(f"http://{metrics}/metrics")[1])
        self.report.note(f"live run: {container.where}: ready, answered, scraped")

    def run_lb(self, container: Container, tls_name: str) -> None:
        key = self._key(container)
        if key in self.done:
            return
        self.done.add(key)
        if "node-local" in tomllib.loads(container.config.read_text()):
            self.run_lb_nodelocal(container)
            return
        if self.resolver_dns is None:
            self.report.fail(container.where, "no resolver ran on loopback to serve as the lb's backend")
            return
        config = tomllib.loads(container.config.read_text())
        listen = config.setdefault("listen", {})
        dns_port, dot_port = free_port(), free_port()
        for proto in ("udp", "tcp"):
            if listen.get(proto):
                listen[proto] = [f"127.0.0.1:{dns_port}"]
        if listen.get("tls"):
            listen["tls"] = [f"127.0.0.1:{dot_port}"]
        cert = None
        for k in ("tls-cert", "tls-key"):
            if listen.get(k):
                target = in_root(container.root, container.mounts, listen[k])
                listen[k] = str(target)
                if k == "tls-cert":
                    cert = target
        backends = config.setdefault("backends", {})
        if backends.get("discover"):
            backends["discover-server"] = f"{self.resolver_dns[0]}:{self.resolver_dns[1]}"
            backends["discover-port"] = self.resolver_dns[1]
        if backends.get("servers"):
            backends["servers"] = [{**s, "addr": f"{self.resolver_dns[0]}:{self.resolver_dns[1]}"} for s in backends["servers"][:1]]
        metrics = f"127.0.0.1:{free_port()}"
        config.setdefault("metrics", {})["addr"] = metrics
        live = pathlib.Path(tempfile.mkdtemp(prefix="live-lb-", dir=self.work))
        (live / "lb.toml").write_text(toml_dump(config))
        args = [a if a != str(container.config) else str(live / "lb.toml") for a in container.args]
        self.counter += 1
        name = f"lb-{self.counter}"
        proc = self.daemons.start(name, [str(self.bin_dir / "lb"), *self._metrics_args(args, metrics)], live)
        if not wait_ready(metrics, proc):
            self.report.fail(container.where, f"lb did not become ready on loopback: {self.daemons.log(name)}")
            return
        probe_paths(container, metrics, self.report)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            series = http_get(f"http://{metrics}/metrics")[1]
            if re.search(r"^dnsdist_server_status\{[^}]*\} 1$", series, re.M):
                break
            time.sleep(0.2)
        else:
            self.report.fail(container.where, "the lb found no healthy backend through discovery on loopback")
        addr = ("127.0.0.1", dns_port)
        if listen.get("udp") and not query_udp(addr, "localhost"):
            self.report.fail(container.where, "no answer through the lb over UDP")
        if listen.get("tcp") and not query_tcp(addr, "localhost"):
            self.report.fail(container.where, "no answer through the lb over TCP")
        if listen.get("tls") and cert is not None:
            error = query_tls(("127.0.0.1", dot_port), "localhost", cert, tls_name)
            if error:
                self.report.fail(container.where, f"DoT through the lb with the made certificate (name {tls_name}): {error}")
        time.sleep(0.2)
        self._merge(http_get(f"http://{metrics}/metrics")[1])
        self.report.note(f"live run: {container.where}: discovered its backend, answered UDP/TCP/DoT, scraped")

    def run_lb_nodelocal(self, container: Container) -> None:
        """node-local mode creates an interface and packet-filter rules, so it
        runs in a network namespace made for it (root needed): the config as
        mounted, but link-type ifb where the kernel has no dummy module, the
        upstreams stub DNS servers in the namespace (k8s/checks/netns_helper.py:
        resolv.conf's on 127.0.0.1:53, cluster-dns on 127.0.0.2:53), and no
        fallback-chain (kube-proxy's chain is not there). netns_helper.py
        probe then checks /health, /healthz, /readyz and /metrics, sends a
        cluster.local name and others over UDP and TCP, repeated so the cache
        hits, and scrapes: CoreDNS's series appear only after such queries.
        At SIGTERM the agent must remove its interface; then the namespace is
        deleted and every process stopped by its PID."""
        where = container.where
        if os.geteuid() != 0 or shutil.which("ip") is None:
            self.report.fail(where, "the node-local live run needs root and iproute2 (`ip netns`): run k8s/check.sh as root")
            return
        config = tomllib.loads(container.config.read_text())
        node_local = config["node-local"]
        live = pathlib.Path(tempfile.mkdtemp(prefix="live-lb-nodelocal-", dir=self.work))
        self.counter += 1
        netns = f"k8scheck{os.getpid()}-{self.counter}"
        if subprocess.run(["ip", "netns", "add", netns], capture_output=True, timeout=10).returncode != 0:
            self.report.fail(where, f"ip netns add {netns} failed")
            return
        self.netns.append(netns)
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True, timeout=10)
        dummy = subprocess.run(["ip", "-n", netns, "link", "add", "k8scheck0", "type", "dummy"], capture_output=True, timeout=10)
        if dummy.returncode == 0:
            subprocess.run(["ip", "-n", netns, "link", "del", "k8scheck0"], capture_output=True, timeout=10)
        elif node_local.get("link-type", "dummy") == "dummy":
            node_local["link-type"] = "ifb"
            self.report.note("live run: this kernel has no dummy links; the node-local agent runs with link-type ifb")
        node_local.pop("fallback-chain", None)
        (live / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        node_local["resolv-conf"] = str(live / "resolv.conf")
        node_local["cluster-dns"] = "127.0.0.2:53"
        backends = config.get("backends") or {}
        if backends.get("servers"):
            backends["servers"] = [{**s, "addr": "127.0.0.1:53"} for s in backends["servers"][:1]]
        if backends.get("discover"):
            backends["discover-server"] = "127.0.0.1:53"
        (live / "lb.toml").write_text(toml_dump(config))
        helper = pathlib.Path(__file__).resolve().parent / "netns_helper.py"
        in_ns = ["ip", "netns", "exec", netns]
        # Two upstreams, so `to` tells them apart: the node's resolvers and the cluster DNS.
        self.daemons.start(f"{netns}-stub", [*in_ns, sys.executable, str(helper), "stub"], live)
        self.daemons.start(f"{netns}-stub2", [*in_ns, sys.executable, str(helper), "stub", "--addr", "127.0.0.2"], live)
        # The upstreams answer before the agent starts (else its first checks mark them down).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            "stub DNS on" in self.daemons.log(f"{netns}-{stub}") for stub in ("stub", "stub2")
        ):
            time.sleep(0.1)
        args = [a if a != str(container.config) else str(live / "lb.toml") for a in container.args]
        name = f"{netns}-lb"
        proc = self.daemons.start(name, [*in_ns, str(self.bin_dir / "lb"), *args], live)
        local = str((node_local.get("local-ip") or ["169.254.20.10"])[0])
        metrics_addr = str((config.get("metrics") or {}).get("addr", "0.0.0.0:9253"))
        metrics = metrics_addr.replace("0.0.0.0", local) if metrics_addr.startswith("0.0.0.0") else metrics_addr
        health_host, health_port = nodelocal_health(config)
        try:
            out = subprocess.run(
                [*in_ns, sys.executable, str(helper), "probe", "--dns", local, "--metrics", metrics,
                 "--health", f"{health_host}:{health_port}", "--timeout", str(START_TIMEOUT)],
                capture_output=True, text=True, timeout=START_TIMEOUT + 60,
            )
            result = json.loads(out.stdout) if out.returncode == 0 else {"failures": [f"probe: {out.stderr.strip()}"], "metrics": ""}
        except (subprocess.TimeoutExpired, ValueError) as e:
            result = {"failures": [f"probe: {e}"], "metrics": ""}
        for failure in result["failures"]:
            self.report.fail(where, f"node-local live run (netns {netns}): {failure}; lb log: {self.daemons.log(name)[-800:]}")
        if result["metrics"]:
            self._merge(result["metrics"])
        # SIGTERM: the hand-over, the drain, then the interface and rules go.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
                self.report.fail(where, f"the node-local agent did not stop within 20 s of SIGTERM: {self.daemons.log(name)[-800:]}")
        interface = str(node_local.get("interface", "nodelocaldns"))
        left = subprocess.run(["ip", "-n", netns, "link", "show", interface], capture_output=True, timeout=10)
        if proc.returncode not in (0, None) or left.returncode == 0:
            self.report.fail(where, f"the node-local agent exited {proc.returncode} and left interface {interface}: "
                             f"{left.returncode == 0}; {self.daemons.log(name)[-800:]}")
        if not result["failures"]:
            self.report.note(f"live run: {where}: node-local agent in netns {netns} (interface, rules, /health), answered "
                             "cluster.local, reverse and other names over UDP and TCP via a stub upstream, cache hits, "
                             "scraped; removed its interface at SIGTERM")
        self.close_netns(netns)

    def close_netns(self, netns: str) -> None:
        """Stops what runs in netns (by PID) and deletes it."""
        for proc_name, proc in list(self.daemons.procs):
            if proc_name.startswith(f"{netns}-") and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=10)
        if netns in self.netns:
            self.netns.remove(netns)

    def is_ha(self, container: Container) -> bool:
        if container.config is None:
            return False
        return ha_of(json.loads(strip_kea_comments(container.config.read_text()))) is not None

    def run_dhcp4_ha(self, group: list[Container]) -> None:
        """An HA pair on loopback: each pod's own config, peer urls moved to
        loopback ports, heartbeat-delay 500 ms and max-response-delay 2 s (the
        other HA keys as configured). Both must reach the mode's normal state;
        in hot-standby the primary answers a relayed DORA after its partner
        took the lease update and the standby stays silent; then the primary
        stops, and the standby must go partner-down once more than
        max-unacked-clients clients have retried for longer than max-ack-delay,
        and serve."""
        key = "ha:" + "".join(sorted(self._key(c) for c in group))
        if key in self.done:
            return
        self.done.add(key)
        where = f"{group[0].obj} (HA pods {', '.join(str(c.pod) for c in group)})"
        relay = "127.0.0.2"
        peer_ports: dict[str, int] = {}
        servers = []  # (container, name, role, dhcp port, metrics addr, proc)
        ha_params = None
        for container in group:
            kea = json.loads(strip_kea_comments(container.config.read_text()))
            dhcp = kea["Dhcp4"]
            ha = ha_of(kea)
            ha_params = ha_params or ha
            live = pathlib.Path(tempfile.mkdtemp(prefix="live-dhcp4-ha-", dir=self.work))
            dhcp.setdefault("interfaces-config", {})["interfaces"] = ["lo"]
            dhcp["interfaces-config"]["dhcp-socket-type"] = "udp"
            dhcp.setdefault("lease-database", {})["name"] = str(live / "dhcp4.leases")
            for subnet in (dhcp.get("subnet4") or [])[:1]:
                subnet.setdefault("relay", {})["ip-addresses"] = [relay]
                subnet.pop("reservations", None)
            ha["heartbeat-delay"] = 500
            ha["max-response-delay"] = 2000
            role = "?"
            for peer in ha.get("peers") or []:
                name = str(peer.get("name"))
                if name not in peer_ports:
                    peer_ports[name] = free_port()
                peer["url"] = f"http://127.0.0.1:{peer_ports[name]}/"
                if name == str(ha.get("this-server-name", "")).strip():
                    role = peer.get("role", "?")
            (live / "kea-dhcp4.conf").write_text(json.dumps(kea, indent=2))
            port = free_port()
            metrics = f"127.0.0.1:{free_port()}"
            args, skip = [], False
            for a in container.args:
                if skip:
                    skip = False
                    continue
                if a in ("-p", "--port"):
                    skip = True
                    continue
                args.append(str(live / "kea-dhcp4.conf") if a == str(container.config) else a)
            self.counter += 1
            name = f"dhcp4-ha-{self.counter}"
            proc = self.daemons.start(name, [str(self.bin_dir / "dhcp4"), *self._metrics_args(args, metrics), "-p", str(port)], live)
            servers.append((container, name, role, port, metrics, proc))
        for container, name, _, _, metrics, proc in servers:
            if not wait_ready(metrics, proc):
                self.report.fail(container.where, f"dhcp4 (HA) did not become ready on loopback: {self.daemons.log(name)}")
                return
            probe_paths(container, metrics, self.report)
        mode = str(ha_params.get("mode"))
        normal = {"hot-standby": "hot-standby", "load-balancing": "load-balancing"}.get(mode)
        if normal is None:
            self.report.note(f"live run: {where}: mode {mode} is not run as a pair here")
            for _, _, _, _, metrics, _ in servers:
                self._merge(http_get(f"http://{metrics}/metrics")[1])
            return

        def state(metrics: str) -> str | None:
            m = re.search(r'^dhcp4_ha_state\{state="([^"]+)"\} 1$', http_get(f"http://{metrics}/metrics")[1], re.M)
            return m.group(1) if m else None

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(state(s[4]) != normal for s in servers):
            time.sleep(0.2)
        states = {s[1]: state(s[4]) for s in servers}
        if any(v != normal for v in states.values()):
            self.report.fail(where, f"the pair did not reach {normal} on loopback within 20 s: {states}; "
                             + " | ".join(self.daemons.log(s[1])[-600:] for s in servers))
            return
        for _, _, _, _, metrics, _ in servers:
            self._merge(http_get(f"http://{metrics}/metrics")[1])
        if mode != "hot-standby":
            self.report.note(f"live run: {where}: both reached {normal}, scraped")
            return
        primary = next((s for s in servers if s[2] == "primary"), None)
        standby = next((s for s in servers if s[2] == "standby"), None)
        if primary is None or standby is None:
            self.report.fail(where, "hot-standby without a primary and a standby among the pods")
            return
        offered, acked = dhcp_exchange(primary[3], relay, bytes.fromhex("02005eed0101"))
        if not (offered and acked):
            self.report.fail(primary[0].where, f"relayed DORA to the HA primary: offered={offered} acked={acked}")
        offered, _ = dhcp_exchange(standby[3], relay, bytes.fromhex("02005eed0102"), timeout=1.5)
        if offered:
            self.report.fail(standby[0].where, "the standby answered a client in hot-standby (the primary's scope)")
        series = http_get(f"http://{primary[4]}/metrics")[1]
        sent = re.search(r'^dhcp4_ha_lease_updates_total\{result="sent"\} (\d+)', series, re.M)
        if not sent or int(sent.group(1)) < 1:
            self.report.fail(primary[0].where, "the primary's ACK went out without a lease update to the standby (dhcp4_ha_lease_updates_total{result=\"sent\"})")
        self._merge(series)
        # Failover: the primary stops; the standby needs max-response-delay
        # without an answer, then more than max-unacked-clients clients whose
        # secs exceed max-ack-delay.
        primary[5].send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            primary[5].wait(timeout=8)
        unacked = int(ha_params.get("max-unacked-clients", 10))
        secs = int(ha_params.get("max-ack-delay", 10000)) // 1000 + 5
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and state(standby[4]) != "partner-down":
            for i in range(unacked + 1):
                dhcp_discover_only(standby[3], relay, bytes.fromhex("02005eed02") + bytes([i]), secs)
            time.sleep(0.5)
        if state(standby[4]) != "partner-down":
            self.report.fail(standby[0].where, f"the standby did not go partner-down within 15 s of its primary's stop "
                             f"with {unacked + 1} clients unanswered for {secs} s: {state(standby[4])}; {self.daemons.log(standby[1])[-600:]}")
        else:
            offered, acked = dhcp_exchange(standby[3], relay, bytes.fromhex("02005eed0103"))
            if not (offered and acked):
                self.report.fail(standby[0].where, f"relayed DORA to the standby in partner-down: offered={offered} acked={acked}")
        self._merge(http_get(f"http://{standby[4]}/metrics")[1])
        self.report.note(f"live run: {where}: both reached hot-standby; the primary answered with its lease "
                         "update acknowledged, the standby stayed silent, took over (partner-down) when the primary stopped, scraped")

    def run_dhcp4(self, container: Container) -> None:
        if self.is_ha(container):
            return  # run as a pair by run_dhcp4_ha
        key = self._key(container)
        if key in self.done:
            return
        self.done.add(key)
        kea = json.loads(strip_kea_comments(container.config.read_text()))
        dhcp = kea["Dhcp4"]
        live = pathlib.Path(tempfile.mkdtemp(prefix="live-dhcp4-", dir=self.work))
        dhcp.setdefault("interfaces-config", {})["interfaces"] = ["lo"]
        dhcp["interfaces-config"]["dhcp-socket-type"] = "udp"
        dhcp.setdefault("lease-database", {})["name"] = str(live / "dhcp4.leases")
        relay = "127.0.0.2"
        subnets = dhcp.get("subnet4") or []
        # One address, short leases and a fast reclaim timer, so that a second
        # client's DISCOVER fails and the first lease expires and is reclaimed:
        # the series those events create are scraped as well.
        pool = None
        if subnets:
            subnets[0].setdefault("relay", {})["ip-addresses"] = [relay]
            pools = subnets[0].get("pools") or []
            if pools:
                first = re.split(r"\s*[-/]\s*", pools[0]["pool"].strip())[0]
                pool = first
                subnets[0]["pools"] = [{**pools[0], "pool": f"{first} - {first}"}]
            subnets[0].pop("reservations", None)
            for key in ("valid-lifetime", "renew-timer", "rebind-timer"):
                subnets[0].pop(key, None)
        dhcp.update({"valid-lifetime": 3, "renew-timer": 1, "rebind-timer": 2})
        dhcp["expired-leases-processing"] = {"reclaim-timer-wait-time": 1, "hold-reclaimed-time": 3600}
        (live / "kea-dhcp4.conf").write_text(json.dumps(kea, indent=2))
        port = free_port()
        metrics = f"127.0.0.1:{free_port()}"
        args, skip = [], False
        for a in container.args:
            if skip:
                skip = False
                continue
            if a in ("-p", "--port"):
                skip = True
                continue
            if a.startswith("--port="):
                continue
            args.append(str(live / "kea-dhcp4.conf") if a == str(container.config) else a)
        if str(container.config) not in container.args:
            args += ["-c", str(live / "kea-dhcp4.conf")]
        self.counter += 1
        name = f"dhcp4-{self.counter}"
        proc = self.daemons.start(name, [str(self.bin_dir / "dhcp4"), *self._metrics_args(args, metrics), "-p", str(port)], live)
        if not wait_ready(metrics, proc):
            self.report.fail(container.where, f"dhcp4 did not become ready on loopback: {self.daemons.log(name)}")
            return
        probe_paths(container, metrics, self.report)
        if subnets and pool:
            offered, acked = dhcp_exchange(port, relay, bytes.fromhex("02005eed0001"))
            if not (offered and acked):
                self.report.fail(container.where, f"relayed DISCOVER/REQUEST on loopback: offered={offered} acked={acked}")
            offered, _ = dhcp_exchange(port, relay, bytes.fromhex("02005eed0002"))
            if offered:
                self.report.fail(container.where, "a second client got an offer from a one-address pool")
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                if "kea_dhcp4_addresses_reclaimed_total{" in http_get(f"http://{metrics}/metrics")[1]:
                    break
                time.sleep(0.25)
        self._merge(http_get(f"http://{metrics}/metrics")[1])
        self.report.note(f"live run: {container.where}: relayed DORA answered, pool exhausted, lease reclaimed, scraped")

    def close(self) -> None:
        self.daemons.stop_all()
        for netns in list(self.netns):
            self.close_netns(netns)


def declared_in_source(repo: pathlib.Path) -> set[str]:
    """Metric names written as string literals in the daemons' source."""
    names: set[str] = set()
    for crate in ("lb", "resolver", "dhcp4", "common"):
        for path in (repo / crate / "src").rglob("*.rs"):
            names |= set(re.findall(r'"((?:unbound|dnsdist|kea_dhcp4|dhcp4|process|coredns|nodelocal)_[a-z0-9_]+)"', path.read_text(errors="replace")))
    return names


def our_containers(objs: list[Obj]):
    """(workload, container, pod spec, pod name) of each of our containers; a
    StatefulSet gives one per pod, with $(VAR) in its args expanded for that
    pod (the downward API's pod name) and its claim templates as volumes."""
    for obj in objs:
        template = pod_template(obj)
        if template is None:
            continue
        for field, c in containers(template):
            repo = normalise_repo(image_parts(c.get("image", ""))[0])
            if repo not in OUR_IMAGES or field != "containers":
                continue
            for pod, _ in pod_instances(obj):
                spec = dict(c)
                spec["args"] = [expand_env_refs(str(a), c.get("env") or [], pod, obj.namespace) for a in c.get("args") or []]
                pod_spec = dict(template.get("spec") or {})
                pod_spec["volumes"] = list(pod_spec.get("volumes") or []) + claim_template_volumes(obj, pod)
                yield obj, spec, pod_spec, pod


def redis_config(objs: list[Obj], work: pathlib.Path) -> tuple[str, pathlib.Path] | None:
    """The redis.conf a Redis container is started with, laid out as in the pod."""
    for obj in objs:
        template = pod_template(obj)
        if template is None:
            continue
        for field, c in containers(template):
            if normalise_repo(image_parts(c.get("image", ""))[0]) != "redis" or field != "containers":
                continue
            conf = next((a for a in c.get("args") or [] if str(a).endswith(".conf")), None)
            if conf is None:
                return None
            root = pathlib.Path(tempfile.mkdtemp(prefix="redis-", dir=work))
            mounts = lay_out(obj, c, template.get("spec") or {}, objs, root, lambda name: None)
            path = in_root(root, mounts, conf)
            if path is not None and path.is_file():
                return f"{obj} container {c.get('name')}", path
    return None
