"""Rendered objects, failures, and the small helpers every check shares."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any, Iterator

import yaml

# Kinds without a namespace (the ones these manifests could meet).
CLUSTER_SCOPED = frozenset(
    """Namespace Node PersistentVolume StorageClass CustomResourceDefinition ClusterRole
    ClusterRoleBinding PriorityClass IngressClass RuntimeClass APIService ClusterIssuer
    ValidatingWebhookConfiguration MutatingWebhookConfiguration CSIDriver VolumeAttachment""".split()
)
WORKLOAD_KINDS = frozenset("Deployment StatefulSet DaemonSet ReplicaSet Job CronJob Pod".split())

# Our images and the binaries in them. noc/lb-nodelocal is the lb with the
# iptables and nft binaries its node-local mode runs (docker/Dockerfile).
OUR_IMAGES = {"noc/lb": "lb", "noc/resolver": "resolver", "noc/dhcp4": "dhcp4", "noc/lb-nodelocal": "lb"}
NODELOCAL_IMAGE = "noc/lb-nodelocal"
# The node-local agent's capabilities: the interface and the packet-filter
# rules (NET_ADMIN), :53 (NET_BIND_SERVICE); nothing else.
NODELOCAL_CAPS = frozenset({"NET_ADMIN", "NET_BIND_SERVICE"})
# The lock every iptables on a node takes (node-local-dns mounts it too).
XTABLES_LOCK = "/run/xtables.lock"


@dataclasses.dataclass
class Failure:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Report:
    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.notes: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.failures.append(Failure(where, message))

    def note(self, message: str) -> None:
        self.notes.append(message)


@dataclasses.dataclass
class Obj:
    """One rendered object and where it came from."""

    source: str  # overlay path, e.g. overlays/poc
    data: dict

    @property
    def kind(self) -> str:
        return self.data.get("kind", "")

    @property
    def api_version(self) -> str:
        return self.data.get("apiVersion", "")

    @property
    def name(self) -> str:
        return (self.data.get("metadata") or {}).get("name", "")

    @property
    def namespace(self) -> str | None:
        return (self.data.get("metadata") or {}).get("namespace")

    @property
    def labels(self) -> dict:
        return (self.data.get("metadata") or {}).get("labels") or {}

    @property
    def annotations(self) -> dict:
        return (self.data.get("metadata") or {}).get("annotations") or {}

    @property
    def spec(self) -> dict:
        return self.data.get("spec") or {}

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.source}: {self.kind} {ns}{self.name}"


def load_rendered(path: str, source: str) -> list[Obj]:
    with open(path) as f:
        return [Obj(source, d) for d in yaml.safe_load_all(f) if d]


def pod_template(obj: Obj) -> dict | None:
    """The pod template (metadata + spec) of a workload."""
    if obj.kind == "Pod":
        return {"metadata": obj.data.get("metadata") or {}, "spec": obj.spec}
    if obj.kind == "CronJob":
        return ((obj.spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    if obj.kind in WORKLOAD_KINDS:
        return obj.spec.get("template")
    return None


STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"


def pod_instances(obj: Obj) -> list[tuple[str | None, dict]]:
    """(pod name, labels) of the pods a workload makes, as far as the render
    says: a StatefulSet's pods are <name>-0 .. <name>-(replicas-1), each with
    the labels its controller adds (statefulset.kubernetes.io/pod-name,
    apps.kubernetes.io/pod-index); other workloads give one unnamed pod with
    the template's labels."""
    template = pod_template(obj) or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if obj.kind != "StatefulSet":
        return [(None, labels)]
    out = []
    for index in range(int(obj.spec.get("replicas", 1))):
        name = f"{obj.name}-{index}"
        out.append((name, {**labels, STATEFULSET_POD_NAME: name, "apps.kubernetes.io/pod-index": str(index)}))
    return out


def claim_template_volumes(obj: Obj, pod_name: str | None) -> list[dict]:
    """A StatefulSet's volumeClaimTemplates as the pod's volumes (the claims
    are named <template>-<pod>)."""
    if obj.kind != "StatefulSet":
        return []
    out = []
    for claim in obj.spec.get("volumeClaimTemplates") or []:
        name = (claim.get("metadata") or {}).get("name")
        out.append({"name": name, "persistentVolumeClaim": {"claimName": f"{name}-{pod_name or obj.name + '-0'}"}})
    return out


def expand_env_refs(text: str, env: list[dict], pod_name: str | None, namespace: str | None) -> str:
    """Kubernetes' $(VAR) expansion in a container's args: env values and the
    downward API's metadata.name / metadata.namespace; $$ escapes; an unknown
    reference stays as written (as the kubelet leaves it)."""
    values: dict[str, str] = {}
    for item in env:
        if "value" in item:
            values[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), m.group(0)), str(item["value"]))
        field = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field == "metadata.name" and pod_name:
            values[item["name"]] = pod_name
        elif field == "metadata.namespace" and namespace:
            values[item["name"]] = namespace

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return values.get(m.group(1), m.group(0))

    return re.sub(r"\$\$|\$\((\w+)\)", sub, text)


def containers(template: dict) -> Iterator[tuple[str, dict]]:
    spec = template.get("spec") or {}
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(field) or []:
            yield field, c


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label map.
    An empty selector matches everything; None matches nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def image_parts(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


def normalise_repo(repo: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if repo.startswith(prefix):
            return repo[len(prefix) :]
    return repo


def parse_duration(text: str) -> float | None:
    """Prometheus/Go durations (1m, 1h30m, 500ms) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(a) * units[b] for a, b in parts)


def ip_in_ranges(ip: str, ranges: list[str]) -> bool:
    """Whether `ip` is in one of MetalLB's address entries (CIDR or a-b)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in ranges:
        entry = entry.replace(" ", "")
        try:
            if "-" in entry:
                start, end = (ipaddress.ip_address(x) for x in entry.split("-", 1))
                if start.version == addr.version and start <= addr <= end:
                    return True
            elif addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def strip_kea_comments(text: str) -> str:
    """Kea's comments (//, #, /* */) removed outside strings, lines kept."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
            continue
        if text.startswith("//", i) or c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def toml_dump(data: dict) -> str:
    """A TOML writer for the lb config's shapes (tables of scalars, lists of
    scalars or of inline tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(f"cannot write {type(v).__name__} as TOML")

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else value(k)

    lines = [f"{key(k)} = {value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{key(k)}]")
            for k2, v2 in v.items():
                if isinstance(v2, dict):
                    raise TypeError("nested tables are not needed here")
                lines.append(f"{key(k2)} = {value(v2)}")
    return "\n".join(lines) + "\n"
