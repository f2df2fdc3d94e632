"""Checks of the rendered manifests that need neither a cluster nor our binaries:
schemas, namespaces, cross-object references, pod settings, alert rules and
dashboards (metric names are checked against a MetricSet the caller gives)."""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from collections import defaultdict
from typing import Iterable

from model import (
    CLUSTER_SCOPED,
    NODELOCAL_CAPS,
    NODELOCAL_IMAGE,
    OUR_IMAGES,
    XTABLES_LOCK,
    WORKLOAD_KINDS,
    Obj,
    Report,
    claim_template_volumes,
    containers,
    image_parts,
    ip_in_ranges,
    normalise_repo,
    parse_duration,
    pod_instances,
    pod_template,
    selector_matches,
    strip_kea_comments,
)
import promql

PIN_ANNOTATION = "dataplane.noc/pin-namespace"
DASHBOARD_LABEL = "grafana_dashboard"
METALLB_NAMESPACE = "metallb-system"
DASHBOARD_NAMESPACE = "monitoring"
# Labels Prometheus puts on every series of a ServiceMonitor target.
TARGET_LABELS = frozenset("job instance namespace pod service endpoint container node".split())

# Pod Security Standards (v1.32).
BASELINE_CAPS = frozenset(
    "AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID SYS_CHROOT".split()
)
SAFE_SYSCTLS = frozenset(
    """kernel.shm_rmid_forced net.ipv4.ip_local_port_range net.ipv4.ip_unprivileged_port_start
    net.ipv4.tcp_syncookies net.ipv4.ping_group_range net.ipv4.ip_local_reserved_ports
    net.ipv4.tcp_keepalive_time net.ipv4.tcp_fin_timeout net.ipv4.tcp_keepalive_intvl
    net.ipv4.tcp_keepalive_probes""".split()
)
RESTRICTED_VOLUMES = frozenset(
    "configMap csi downwardAPI emptyDir ephemeral persistentVolumeClaim projected secret".split()
)


# ---- schemas ------------------------------------------------------------------------

def check_schemas(objs: list[Obj], report: Report, k8s_version: str, custom: dict) -> int:
    """Every object against Kubernetes' schemas (strict) or, for custom kinds, its
    validator; a custom kind without one fails. Returns how many were checked."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    checked = 0
    for obj in objs:
        try:
            kubernetes_validate.validate(obj.data, k8s_version, strict=True)
            checked += 1
            continue
        except ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "."
            report.fail(str(obj), f"does not validate against Kubernetes {e.version} (strict): {path}: {e.message}")
            continue
        except SchemaNotFoundError:
            pass
        validator = custom.get((obj.api_version, obj.kind))
        if validator is None:
            report.fail(
                str(obj),
                f"custom kind {obj.kind} ({obj.api_version}) has no validator: add one to "
                "k8s/checks/crds.py (a model or a schema in k8s/schemas/)",
            )
            continue
        for problem in validator(obj.data):
            report.fail(str(obj), f"{obj.kind} schema: {problem}")
        checked += 1
    return checked


# ---- namespaces ---------------------------------------------------------------------

def check_namespaces(objs: list[Obj], report: Report) -> None:
    namespaces = {o.name for o in objs if o.kind == "Namespace"}
    used: set[str] = set()
    for obj in objs:
        if obj.kind in CLUSTER_SCOPED:
            if obj.namespace:
                report.fail(str(obj), f"{obj.kind} is cluster-scoped but has namespace {obj.namespace}")
            continue
        if not obj.namespace:
            report.fail(str(obj), "no namespace: set one in the overlay (`namespace:`)")
            continue
        pin = obj.annotations.get(PIN_ANNOTATION)
        if pin and obj.namespace != pin:
            report.fail(
                str(obj),
                f"must stay in namespace {pin} ({PIN_ANNOTATION}) but the overlay moved it to "
                f"{obj.namespace}: add the pin-namespace replacements to the overlay",
            )
        if obj.api_version.startswith("metallb.io/") and obj.namespace != METALLB_NAMESPACE:
            report.fail(str(obj), f"MetalLB reads its objects only in {METALLB_NAMESPACE}, not {obj.namespace}")
        if obj.kind == "ConfigMap" and obj.labels.get(DASHBOARD_LABEL) is not None:
            if obj.namespace != DASHBOARD_NAMESPACE:
                report.fail(str(obj), f"Grafana dashboards belong in {DASHBOARD_NAMESPACE}, not {obj.namespace}")
            if obj.labels.get(DASHBOARD_LABEL) != "1":
                report.fail(str(obj), f'the Grafana sidecar label is {DASHBOARD_LABEL}: "1"')
        if obj.kind in WORKLOAD_KINDS:
            used.add(obj.namespace)
    for ns in sorted(used - namespaces):
        report.fail(objs[0].source if objs else "?", f"workloads run in namespace {ns} but the render has no Namespace {ns}")


# ---- services and selectors ---------------------------------------------------------

def _workloads(objs: list[Obj], namespace: str | None) -> list[tuple[Obj, dict]]:
    out = []
    for obj in objs:
        template = pod_template(obj)
        if template is not None and obj.namespace == namespace:
            out.append((obj, template))
    return out


def _container_ports(template: dict) -> list[dict]:
    return [p for _, c in containers(template) for p in c.get("ports") or []]


def check_workload_selectors(objs: list[Obj], report: Report) -> None:
    for obj in objs:
        if obj.kind not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            continue
        template = pod_template(obj) or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        selector = obj.spec.get("selector")
        if not selector or not selector_matches(selector, labels):
            report.fail(str(obj), "spec.selector does not match the pod template's labels")


def _external_pods(external: dict | None) -> list[tuple[Obj, dict]]:
    """external.yaml's `pods` (made outside the render, e.g. the cluster's
    CoreDNS) as (stand-in workload, pod template)."""
    out = []
    for key, info in ((external or {}).get("pods") or {}).items():
        namespace, _, name = key.partition("/")
        template = {
            "metadata": {"labels": dict(info.get("labels") or {})},
            "spec": {"containers": [{"name": name, "ports": list(info.get("ports") or [])}]},
        }
        obj = Obj("k8s/checks/external.yaml", {"kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                                               "spec": {"template": template}})
        out.append((obj, template))
    return out


def check_services(objs: list[Obj], report: Report, external: dict | None = None) -> None:
    outside = _external_pods(external)
    for svc in (o for o in objs if o.kind == "Service"):
        selector = svc.spec.get("selector")
        if not selector:
            if svc.spec.get("type") != "ExternalName":
                report.fail(str(svc), "no selector (endpoints would have to be managed by hand)")
            continue
        # A StatefulSet's pods also carry their own name
        # (statefulset.kubernetes.io/pod-name), which per-pod Services select.
        matched = [
            (w, t)
            for w, t in _workloads(objs, svc.namespace)
            if any(selector_matches({"matchLabels": selector}, labels) for _, labels in pod_instances(w))
        ]
        matched += [
            (w, t)
            for w, t in outside
            if w.namespace == svc.namespace and selector_matches({"matchLabels": selector}, t["metadata"]["labels"])
        ]
        if not matched:
            report.fail(str(svc), f"selector {selector} matches no pod template in {svc.namespace} "
                        "(nor a pod k8s/checks/external.yaml lists)")
            continue
        for port in svc.spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            protocol = port.get("protocol", "TCP")
            for workload, template in matched:
                ports = _container_ports(template)
                if isinstance(target, str):
                    found = [p for p in ports if p.get("name") == target]
                    if not found:
                        report.fail(str(svc), f"port {port.get('name')}: targetPort {target!r} is no named port of {workload.kind} {workload.name}")
                    elif all(p.get("protocol", "TCP") != protocol for p in found):
                        report.fail(str(svc), f"port {port.get('name')}: {target!r} on {workload.name} is not {protocol}")
                elif not any(p.get("containerPort") == target and p.get("protocol", "TCP") == protocol for p in ports):
                    report.fail(str(svc), f"port {port.get('name')}: no container of {workload.name} declares {target}/{protocol}")


def check_service_monitors(objs: list[Obj], report: Report) -> set[str]:
    """Returns the job names the ServiceMonitors give their targets."""
    jobs: set[str] = set()
    scraped: dict[tuple, str] = {}
    services = [o for o in objs if o.kind == "Service"]
    for sm in (o for o in objs if o.kind == "ServiceMonitor"):
        ns_selector = sm.spec.get("namespaceSelector") or {}
        if ns_selector.get("any"):
            namespaces = None
        else:
            namespaces = set(ns_selector.get("matchNames") or [sm.namespace])
        selected = [
            s
            for s in services
            if (namespaces is None or s.namespace in namespaces) and selector_matches(sm.spec.get("selector") or {}, s.labels)
        ]
        if not selected:
            report.fail(str(sm), "selector matches no Service")
            continue
        job_label = sm.spec.get("jobLabel")
        for svc in selected:
            if job_label:
                if job_label not in svc.labels:
                    report.fail(str(sm), f"jobLabel {job_label!r} is not a label of Service {svc.name}")
                else:
                    jobs.add(svc.labels[job_label])
            else:
                jobs.add(svc.name)
        for index, endpoint in enumerate(sm.spec.get("endpoints") or []):
            port = endpoint.get("port")
            if not port:
                report.fail(str(sm), f"endpoints[{index}] has no named `port` (targetPort numbers break when the pod changes; name the Service port)")
                continue
            for svc in selected:
                names = [p.get("name") for p in svc.spec.get("ports") or []]
                if port not in names:
                    report.fail(str(sm), f"endpoints[{index}].port {port!r} is not a named port of Service {svc.name} (has {names})")
                    continue
                key = (svc.namespace, svc.name, port)
                if key in scraped:
                    report.fail(str(sm), f"Service {svc.name} port {port} is already scraped by {scraped[key]} (every sample twice)")
                scraped[key] = f"ServiceMonitor {sm.name}"
            path = endpoint.get("path", "/metrics")
            if path != "/metrics":
                report.fail(str(sm), f"endpoints[{index}].path {path!r}: our binaries serve /metrics")
    return jobs


def check_pdbs(objs: list[Obj], report: Report) -> None:
    pdbs = [o for o in objs if o.kind == "PodDisruptionBudget"]
    for pdb in pdbs:
        matched = [
            w for w, t in _workloads(objs, pdb.namespace)
            if selector_matches(pdb.spec.get("selector"), (t.get("metadata") or {}).get("labels") or {})
        ]
        if not matched:
            report.fail(str(pdb), "selector matches no workload's pods")
            continue
        for workload in matched:
            replicas = workload.spec.get("replicas", 1)
            min_available = pdb.spec.get("minAvailable")
            max_unavailable = pdb.spec.get("maxUnavailable")
            if isinstance(min_available, int) and min_available >= replicas:
                report.fail(str(pdb), f"minAvailable {min_available} >= {workload.name}'s {replicas} replicas: no pod can ever be evicted (drains block)")
            if max_unavailable in (0, "0%"):
                report.fail(str(pdb), "maxUnavailable 0: no pod can ever be evicted (drains block)")
    for workload in objs:
        if workload.kind not in ("Deployment", "StatefulSet") or workload.spec.get("replicas", 1) <= 1:
            continue
        labels = ((pod_template(workload) or {}).get("metadata") or {}).get("labels") or {}
        if not any(p.namespace == workload.namespace and selector_matches(p.spec.get("selector"), labels) for p in pdbs):
            report.fail(str(workload), f"{workload.spec.get('replicas')} replicas and no PodDisruptionBudget")


# ---- images ---------------------------------------------------------------------------

def check_images(objs: list[Obj], report: Report, versions: dict[str, str]) -> None:
    for obj in objs:
        template = pod_template(obj)
        if template is None:
            continue
        for _, c in containers(template):
            image = c.get("image", "")
            repo, tag, digest = image_parts(image)
            repo = normalise_repo(repo)
            where = f"{obj} container {c.get('name')}"
            if not tag and not digest:
                report.fail(where, f"image {image!r} has no tag or digest (would pull :latest)")
                continue
            if tag == "latest":
                report.fail(where, f"image {image!r} uses :latest")
                continue
            if repo in OUR_IMAGES:
                want = versions.get(OUR_IMAGES[repo])
                if want and tag != want:
                    report.fail(where, f"image {image!r}: tag should be the workspace version {want} (kustomize `images:` in the overlay)")
            elif not digest and not re.match(r"^v?\d+\.\d+\.\d+", tag or ""):
                report.fail(where, f"image {image!r}: pin an exact version (x.y.z) or a digest, not a moving tag")


# ---- references -----------------------------------------------------------------------

def _secret_providers(objs: list[Obj]) -> dict[tuple[str, str], str]:
    """Secrets made by something in the render (cert-manager Certificates)."""
    out = {}
    for o in objs:
        if o.kind == "Certificate" and o.spec.get("secretName"):
            out[(o.namespace, o.spec["secretName"])] = f"Certificate {o.name}"
    return out


def check_references(objs: list[Obj], report: Report, external: dict) -> None:
    have = {(o.kind, o.namespace, o.name): o for o in objs}
    providers = _secret_providers(objs)
    external_secrets = external.get("secrets") or {}
    mounted_configmaps: set[tuple[str, str]] = set()

    def need(kind: str, ns: str, name: str, where: str, optional: bool, keys: Iterable[str] = ()) -> None:
        obj = have.get((kind, ns, name))
        if obj is None:
            if optional:
                return
            if kind == "Secret" and ((ns, name) in providers or name in external_secrets):
                return
            report.fail(where, f"{kind} {ns}/{name} does not exist in the render")
            return
        data = set((obj.data.get("data") or {}).keys()) | set((obj.data.get("binaryData") or {}).keys()) | set(
            (obj.data.get("stringData") or {}).keys()
        )
        for key in keys:
            if key not in data:
                report.fail(where, f"{kind} {ns}/{name} has no key {key!r}")

    def need_sources(holder, ns, where, secret_name_key):
        """A volume's (or projected source's) ConfigMap and Secret; a
        volume names its Secret `secretName`, a projected source `name`."""
        if "configMap" in holder:
            cm = holder["configMap"]
            mounted_configmaps.add((ns, cm.get("name")))
            need("ConfigMap", ns, cm.get("name"), where, cm.get("optional", False), [i["key"] for i in cm.get("items") or []])
        if "secret" in holder:
            s = holder["secret"]
            need("Secret", ns, s.get(secret_name_key), where, s.get("optional", False), [i["key"] for i in s.get("items") or []])

    for obj in objs:
        template = pod_template(obj)
        if template is None:
            continue
        spec = template.get("spec") or {}
        ns = obj.namespace
        for volume in spec.get("volumes") or []:
            where = f"{obj} volume {volume.get('name')}"
            need_sources(volume, ns, where, "secretName")
            if "persistentVolumeClaim" in volume:
                need("PersistentVolumeClaim", ns, volume["persistentVolumeClaim"].get("claimName"), where, False)
            for source in (volume.get("projected") or {}).get("sources") or []:
                need_sources(source, ns, where, "name")
        for _, c in containers(template):
            where = f"{obj} container {c.get('name')}"
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {})
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    mounted_configmaps.add((ns, r.get("name")))
                    need("ConfigMap", ns, r.get("name"), where, r.get("optional", False), [r.get("key")])
                if "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    need("Secret", ns, r.get("name"), where, r.get("optional", False), [r.get("key")])
            for env_from in c.get("envFrom") or []:
                if "configMapRef" in env_from:
                    mounted_configmaps.add((ns, env_from["configMapRef"].get("name")))
                    need("ConfigMap", ns, env_from["configMapRef"].get("name"), where, env_from["configMapRef"].get("optional", False))
                if "secretRef" in env_from:
                    need("Secret", ns, env_from["secretRef"].get("name"), where, env_from["secretRef"].get("optional", False))
            volume_names = {v.get("name") for v in (spec.get("volumes") or []) + claim_template_volumes(obj, None)}
            for mount in c.get("volumeMounts") or []:
                if mount.get("name") not in volume_names:
                    report.fail(where, f"volumeMount {mount.get('name')!r} names no volume")
    for obj in objs:
        if obj.kind == "ConfigMap" and obj.labels.get(DASHBOARD_LABEL) is None:
            if (obj.namespace, obj.name) not in mounted_configmaps:
                report.fail(str(obj), "no pod uses this ConfigMap")
    for name, info in external_secrets.items():
        for path in [info.get("made-by")] if isinstance(info, dict) else []:
            if not path:
                report.fail("k8s/checks/external.yaml", f"Secret {name}: say what makes it (made-by)")


# ---- pods: probes, security, resources, Pod Security Standards ------------------------

def _effective(pod_sc: dict, c_sc: dict, key: str):
    return c_sc.get(key, pod_sc.get(key))


def check_pods(objs: list[Obj], report: Report) -> None:
    ns_levels = {
        o.name: o.labels.get("pod-security.kubernetes.io/enforce", "privileged") for o in objs if o.kind == "Namespace"
    }
    for obj in objs:
        template = pod_template(obj)
        if template is None:
            continue
        spec = template.get("spec") or {}
        pod_sc = spec.get("securityContext") or {}
        level = ns_levels.get(obj.namespace, "privileged")
        for field, c in containers(template):
            where = f"{obj} container {c.get('name')}"
            repo = normalise_repo(image_parts(c.get("image", ""))[0])
            ours = repo in OUR_IMAGES
            nodelocal = repo == NODELOCAL_IMAGE
            sc = c.get("securityContext") or {}
            if nodelocal and field == "containers":
                check_nodelocal_pod(obj, spec, c, where, report)
            # resources
            resources = c.get("resources") or {}
            for part in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in (resources.get(part) or {}):
                        report.fail(where, f"no resources.{part}.{res}")
            # probes
            if field == "containers":
                for probe_name in ("livenessProbe", "readinessProbe"):
                    if probe_name not in c:
                        report.fail(where, f"no {probe_name}")
                if ours:
                    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
                    if "metrics" not in ports:
                        report.fail(where, "no container port named `metrics`")
                    probes = (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz"))
                    if nodelocal:
                        # node-local-dns' liveness probe: /health on the agent's own
                        # address (host), which fails when the interface is gone;
                        # binaries.py checks host and port against the config.
                        probes = probes[1:]
                        got = (c.get("livenessProbe") or {}).get("httpGet")
                        if got is None:
                            report.fail(where, "livenessProbe must be httpGet /health on the agent's address (host) and health port")
                        else:
                            if got.get("path") != "/health":
                                report.fail(where, f"livenessProbe path {got.get('path')!r}: should be /health (the agent's health-addr)")
                            if not got.get("host"):
                                report.fail(where, "livenessProbe has no host: /health listens on the agent's address (169.254.20.10), not the node's")
                    for probe_name, path in probes:
                        probe = c.get(probe_name)
                        if probe is None:
                            continue
                        kinds = [k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in probe]
                        if kinds != ["httpGet"]:
                            report.fail(where, f"{probe_name} must be httpGet on the metrics port (has {kinds})")
                            continue
                        got = probe["httpGet"]
                        if got.get("path") != path:
                            report.fail(where, f"{probe_name} path {got.get('path')!r}: should be {path}")
                        port = got.get("port")
                        if port != "metrics" and port != ports.get("metrics"):
                            report.fail(where, f"{probe_name} port {port!r} is not the metrics port")
            # security context
            uid = _effective(pod_sc, sc, "runAsUser")
            if nodelocal:
                # As node-local-dns: uid 0 with two capabilities, so that the
                # iptables and nft it runs have NET_ADMIN effective (Kubernetes
                # gives no ambient capabilities, and exec drops a non-root
                # process's); not privileged, no escalation, read-only root.
                if uid != 0 or _effective(pod_sc, sc, "runAsNonRoot") is not False:
                    report.fail(where, f"runAsUser {uid}, runAsNonRoot {_effective(pod_sc, sc, 'runAsNonRoot')}: the node-local agent "
                                "runs iptables/nft, which need uid 0 with NET_ADMIN (set runAsUser: 0, runAsNonRoot: false)")
            else:
                if _effective(pod_sc, sc, "runAsNonRoot") is not True:
                    report.fail(where, "runAsNonRoot is not true")
                if ours and uid != 65532:
                    report.fail(where, f"runAsUser {uid}: our images run as 65532")
                if uid == 0:
                    report.fail(where, "runAsUser 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                report.fail(where, "readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                report.fail(where, "allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                report.fail(where, "privileged")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                report.fail(where, "capabilities.drop does not contain ALL")
            added = set(caps.get("add") or [])
            allowed = {"NET_BIND_SERVICE", "NET_RAW"} if repo == "noc/dhcp4" else {"NET_BIND_SERVICE"} if ours else set()
            if nodelocal:
                allowed = set(NODELOCAL_CAPS)
                if "NET_ADMIN" not in added:
                    report.fail(where, "NET_ADMIN not added: the node-local agent creates its interface and packet-filter rules")
            for cap in sorted(added - allowed):
                report.fail(where, f"capability {cap} added")
            if ours and "NET_BIND_SERVICE" not in added:
                report.fail(where, "NET_BIND_SERVICE not added (our daemons bind ports below 1024)")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                report.fail(where, f"seccompProfile {seccomp!r}: use RuntimeDefault")
            # Pod Security Standards of the namespace
            if level in ("baseline", "restricted"):
                for cap in sorted(added - BASELINE_CAPS):
                    report.fail(where, f"capability {cap} is refused by the namespace's {level} Pod Security level")
            if level == "restricted":
                for cap in sorted(added - {"NET_BIND_SERVICE"}):
                    report.fail(where, f"capability {cap} is refused by the namespace's restricted Pod Security level")
        if level in ("baseline", "restricted"):
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                if spec.get(key):
                    report.fail(str(obj), f"{key} is refused by namespace {obj.namespace}'s {level} Pod Security level")
            for sysctl in pod_sc.get("sysctls") or []:
                if sysctl.get("name") not in SAFE_SYSCTLS:
                    report.fail(str(obj), f"sysctl {sysctl.get('name')} is refused by the {level} Pod Security level")
            for volume in spec.get("volumes") or []:
                if "hostPath" in volume:
                    report.fail(str(obj), f"hostPath volume {volume.get('name')} is refused by the {level} Pod Security level")
                if level == "restricted" and not (set(volume) - {"name"}) <= RESTRICTED_VOLUMES:
                    report.fail(str(obj), f"volume {volume.get('name')} type is refused by the restricted Pod Security level")
            for _, c in containers(template):
                for p in c.get("ports") or []:
                    if p.get("hostPort") and not spec.get("hostNetwork"):
                        report.fail(str(obj), f"hostPort {p['hostPort']} is refused by the {level} Pod Security level")
        if spec.get("hostNetwork") and pod_sc.get("sysctls"):
            report.fail(str(obj), "net sysctls cannot be set in a hostNetwork pod")


def check_nodelocal_pod(obj: Obj, spec: dict, c: dict, where: str, report: Report) -> None:
    """The node-local agent's pod, as node-local-dns runs: a DaemonSet on every
    node (tolerating every taint, node-critical priority, a rolling update of
    a few nodes at a time), host network with the node's resolv.conf, a grace
    period longer than the lameduck, and no host path but the xtables lock."""
    if obj.kind != "DaemonSet":
        report.fail(str(obj), f"the node-local agent ({NODELOCAL_IMAGE}) runs as a DaemonSet (one per node), not a {obj.kind}")
    else:
        strategy = obj.spec.get("updateStrategy") or {}
        unavailable = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            report.fail(str(obj), "updateStrategy is not RollingUpdate: an image change would never reach the nodes")
        elif unavailable in (0, "0", "0%"):
            report.fail(str(obj), "updateStrategy.rollingUpdate.maxUnavailable 0: a DaemonSet could never update")
    if not spec.get("hostNetwork"):
        report.fail(str(obj), "the node-local agent needs hostNetwork: true (its interface, address and rules are the node's)")
    if spec.get("dnsPolicy") != "Default":
        report.fail(str(obj), f"dnsPolicy {spec.get('dnsPolicy')!r}: use Default (the node's resolv.conf holds the agent's upstreams)")
    if spec.get("priorityClassName") != "system-node-critical":
        report.fail(str(obj), f"priorityClassName {spec.get('priorityClassName')!r}: use system-node-critical (as node-local-dns)")
    tolerations = spec.get("tolerations") or []
    for effect in ("NoSchedule", "NoExecute"):
        if not any(t.get("operator") == "Exists" and not t.get("key") and t.get("effect") in (None, effect) for t in tolerations):
            report.fail(str(obj), f"no `operator: Exists` toleration for {effect}: nodes with such taints would have no agent")
    lameduck = 1.0
    args = [str(a) for a in c.get("args") or []]
    for i, a in enumerate(args):
        if a == "--lameduck" and i + 1 < len(args):
            lameduck = float(args[i + 1])
        elif a.startswith("--lameduck="):
            lameduck = float(a.split("=", 1)[1])
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < lameduck + 5:
        report.fail(str(obj), f"terminationGracePeriodSeconds {grace} leaves no time to drain after the {lameduck:g} s lameduck")
    for volume in spec.get("volumes") or []:
        host_path = volume.get("hostPath")
        if host_path is None:
            continue
        if host_path.get("path") != XTABLES_LOCK or host_path.get("type") != "FileOrCreate":
            report.fail(str(obj), f"hostPath volume {volume.get('name')} ({host_path.get('path')}): the node-local agent "
                        f"mounts only {XTABLES_LOCK} (type FileOrCreate)")


# ---- addresses: MetalLB pools, pinned LoadBalancer IPs, DHCP options, service names ----

def _lb_ips(svc: Obj) -> list[str]:
    ips = []
    for key in ("metallb.universe.tf/loadBalancerIPs", "metallb.io/loadBalancerIPs"):
        if key in svc.annotations:
            ips += [x.strip() for x in svc.annotations[key].split(",") if x.strip()]
    if svc.spec.get("loadBalancerIP"):
        ips.append(svc.spec["loadBalancerIP"])
    return ips


def kea_config(text: str) -> dict | None:
    try:
        return json.loads(strip_kea_comments(text))
    except ValueError:
        return None


def check_addresses(objs: list[Obj], report: Report, external: dict | None = None) -> None:
    external_services = set(((external or {}).get("services") or {}).keys())
    pools = {o.name: o for o in objs if o.kind == "IPAddressPool"}
    advertised: set[str] = set()
    for adv in (o for o in objs if o.kind == "L2Advertisement"):
        names = adv.spec.get("ipAddressPools")
        if adv.spec.get("ipAddressPoolSelectors"):
            names = [p.name for p in pools.values() if any(selector_matches(s, p.labels) for s in adv.spec["ipAddressPoolSelectors"])]
        if names is None:
            names = list(pools)
        for name in names:
            if name not in pools:
                report.fail(str(adv), f"ipAddressPools names {name!r}, which does not exist")
        advertised.update(names)
    for name, pool in pools.items():
        if name not in advertised:
            report.fail(str(pool), "no L2Advertisement announces this pool (its addresses would not answer ARP)")
        for entry in pool.spec.get("addresses") or []:
            try:
                if "-" in entry:
                    a, b = (ipaddress.ip_address(x.strip()) for x in entry.split("-", 1))
                    if a > b:
                        report.fail(str(pool), f"range {entry} ends before it starts")
                else:
                    ipaddress.ip_network(entry, strict=True)
            except ValueError as e:
                report.fail(str(pool), f"address entry {entry!r}: {e}")
    services = [o for o in objs if o.kind == "Service"]
    by_ip: dict[str, list[Obj]] = defaultdict(list)
    for svc in services:
        if svc.spec.get("type") != "LoadBalancer":
            continue
        pool_name = svc.annotations.get("metallb.universe.tf/address-pool") or svc.annotations.get("metallb.io/address-pool")
        candidate = [pools[pool_name]] if pool_name in pools else list(pools.values())
        if pool_name and pool_name not in pools:
            report.fail(str(svc), f"address-pool {pool_name!r} does not exist")
        if not pool_name and not any(p.spec.get("autoAssign", True) for p in pools.values()):
            report.fail(str(svc), "no address-pool annotation and no pool assigns automatically")
        for ip in _lb_ips(svc):
            if not any(ip_in_ranges(ip, p.spec.get("addresses") or []) for p in candidate):
                report.fail(str(svc), f"LoadBalancer address {ip} is in no IPAddressPool it may use")
            by_ip[ip].append(svc)
    for ip, holders in by_ip.items():
        keys = {s.annotations.get("metallb.universe.tf/allow-shared-ip") for s in holders}
        if len(holders) > 1 and (None in keys or len(keys) > 1):
            report.fail(str(holders[1]), f"address {ip} is also pinned by Service {holders[0].name}")

    def service_with(ip: str, port: int, protocol: str) -> Obj | None:
        for svc in services:
            if ip in _lb_ips(svc) and any(
                p.get("port") == port and p.get("protocol", "TCP") == protocol for p in svc.spec.get("ports") or []
            ):
                return svc
        return None

    svc_names = {(s.namespace, s.name): s for s in services}
    for cm in (o for o in objs if o.kind == "ConfigMap" and o.labels.get(DASHBOARD_LABEL) is None):
        for key, text in (cm.data.get("data") or {}).items():
            where = f"{cm} key {key}"
            # In-cluster names must be Services of the render.
            for name, ns in re.findall(r"\b([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)\.svc(?:\.cluster\.local)?\b", text):
                if (ns, name) not in svc_names and f"{ns}/{name}" not in external_services:
                    report.fail(where, f"names {name}.{ns}.svc, but there is no Service {ns}/{name}")
            if key.endswith(".toml"):
                try:
                    toml = tomllib.loads(text)
                except tomllib.TOMLDecodeError as e:
                    report.fail(where, f"TOML: {e}")
                    continue
                discover = (toml.get("backends") or {}).get("discover")
                if discover:
                    m = re.match(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc", discover)
                    svc = svc_names.get((m.group(2), m.group(1))) if m else None
                    if svc is None:
                        report.fail(where, f"discover {discover!r} is not a Service of the render")
                    else:
                        if svc.spec.get("clusterIP") != "None":
                            report.fail(where, f"discover {discover!r}: Service {svc.name} is not headless, so it resolves to one virtual IP, not the pods")
                        port = (toml.get("backends") or {}).get("discover-port", 53)
                        if not any(p.get("port") == port for p in svc.spec.get("ports") or []):
                            report.fail(where, f"discover-port {port} is not a port of Service {svc.name}")
                node_local = toml.get("node-local")
                if isinstance(node_local, dict) and node_local.get("cluster-dns"):
                    check_cluster_dns(str(node_local["cluster-dns"]), node_local, services, where, report)
                if isinstance(node_local, dict) and node_local.get("fallback"):
                    fallback = str(node_local["fallback"]).rsplit(":", 1)[0] if str(node_local["fallback"]).count(":") == 1 else str(node_local["fallback"])
                    if fallback.strip("[]") in [str(a) for a in node_local.get("local-ip") or ["169.254.20.10"]]:
                        report.fail(where, f"node-local.fallback {fallback} is one of the agent's own addresses (local-ip): with "
                                    "the agent down, queries would be sent to the address nobody answers on; use kube-dns-upstream's")
            kea = kea_config(text) if "Dhcp4" in text else None
            if kea and isinstance(kea.get("Dhcp4"), dict):
                options = list(kea["Dhcp4"].get("option-data") or [])
                for subnet in kea["Dhcp4"].get("subnet4") or []:
                    options += subnet.get("option-data") or []
                for option in options:
                    name, data = option.get("name"), str(option.get("data", ""))
                    if name == "domain-name-servers":
                        for ip in [x.strip() for x in data.split(",")]:
                            if service_with(ip, 53, "UDP") is None:
                                report.fail(where, f"DHCP hands out DNS server {ip}, which is no Service's LoadBalancer address with 53/UDP")
                    if name == "dhcp-server-identifier":
                        if service_with(data.strip(), 67, "UDP") is None:
                            report.fail(where, f"dhcp-server-identifier {data} is no Service's LoadBalancer address with 67/UDP: clients could not renew")
                check_ha_peers(kea["Dhcp4"], cm, where, objs, report)


def check_cluster_dns(cluster_dns: str, node_local: dict, services: list[Obj], where: str, report: Report) -> None:
    """node-local's cluster-dns, where the agents send the cluster zones over
    TCP: a Service of the render (kube-dns-upstream) with that fixed
    clusterIP and port 53/TCP, not one of the agent's own addresses."""
    text = cluster_dns.strip()
    try:
        ip, port = str(ipaddress.ip_address(text)), 53
    except ValueError:
        host, _, port_text = text.rpartition(":")
        try:
            ip, port = str(ipaddress.ip_address(host.strip("[]"))), int(port_text)
        except ValueError:
            report.fail(where, f"node-local.cluster-dns {cluster_dns!r} is not an address")
            return
    if ip in [str(a) for a in node_local.get("local-ip") or ["169.254.20.10"]]:
        report.fail(where, f"node-local.cluster-dns {ip} is one of the agent's own addresses (local-ip): the agent would ask itself")
        return
    svc = next((o for o in services if o.spec.get("clusterIP") == ip), None)
    if svc is None:
        report.fail(where, f"node-local.cluster-dns {ip} is no Service's fixed clusterIP in the render "
                    "(kube-dns-upstream, spec.clusterIP)")
        return
    if not any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in svc.spec.get("ports") or []):
        report.fail(where, f"node-local.cluster-dns {ip}:{port}: Service {svc.namespace}/{svc.name} has no port {port}/TCP "
                    "(the agent forwards the cluster zones over TCP)")


def ha_parameters(dhcp4: dict) -> dict | None:
    """The HA hook's parameters (the first high-availability entry), if loaded."""
    for hook in dhcp4.get("hooks-libraries") or []:
        if "libdhcp_ha" in str(hook.get("library", "")) or "high_availability" in str(hook.get("library", "")):
            entries = ((hook.get("parameters") or {}).get("high-availability")) or []
            if entries and isinstance(entries[0], dict):
                return entries[0]
    return None


def check_ha_peers(dhcp4: dict, cm: Obj, where: str, objs: list[Obj], report: Report) -> None:
    """Kea's peer urls take only IP literals. This server's own url is where it
    listens: a pod cannot bind a Service's virtual address, so it must be an
    unspecified address (0.0.0.0) or loopback. Every other peer's url must be
    the fixed ClusterIP of a Service with that port whose selector picks the
    pod of that name (peer name = StatefulSet pod name), so the address
    outlives the pod's restarts."""
    ha = ha_parameters(dhcp4)
    if ha is None:
        return
    me = str(ha.get("this-server-name", "")).strip()
    services = [o for o in objs if o.kind == "Service" and o.namespace == cm.namespace]
    pods = {
        name: labels
        for w in objs
        if w.namespace == cm.namespace and pod_template(w) is not None
        for name, labels in pod_instances(w)
        if name
    }
    for peer in ha.get("peers") or []:
        url = str(peer.get("url", ""))
        m = re.match(r"^https?://(\[[^\]]+\]|[^/:]+)(?::(\d+))?/?", url)
        if not m:
            report.fail(where, f"HA peer {peer.get('name')}: url {url!r} is not http(s)://IP:PORT/")
            continue
        host = m.group(1).strip("[]")
        port = int(m.group(2) or (443 if url.startswith("https") else 80))
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            report.fail(where, f"HA peer {peer.get('name')}: url {url}: Kea takes only IP literals, not names")
            continue
        svc = next((s for s in services if s.spec.get("clusterIP") == str(ip)), None)
        if peer.get("name") == me:
            if svc is not None:
                report.fail(where, f"HA peer {me} (this server): url {url} is Service {svc.name}'s virtual address, "
                            "which the pod cannot bind: listen on 0.0.0.0 in this server's own entry")
            elif not (ip.is_unspecified or ip.is_loopback):
                report.fail(where, f"HA peer {me} (this server): url {url}: a pod's own address is not fixed; use 0.0.0.0")
            continue
        if svc is None:
            report.fail(where, f"HA peer {peer.get('name')}: url {url}: {ip} is no Service's clusterIP (fix one with spec.clusterIP)")
            continue
        if not any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in svc.spec.get("ports") or []):
            report.fail(where, f"HA peer {peer.get('name')}: url {url}: Service {svc.name} has no port {port}/TCP")
        labels = pods.get(str(peer.get("name")))
        if labels is None:
            report.fail(where, f"HA peer {peer.get('name')}: no pod of that name in the render (peer names are the StatefulSet's pod names)")
        elif not selector_matches({"matchLabels": svc.spec.get("selector") or {}}, labels):
            report.fail(where, f"HA peer {peer.get('name')}: url {url}: Service {svc.name} does not select pod {peer.get('name')}")
        elif [n for n, lab in pods.items() if selector_matches({"matchLabels": svc.spec.get("selector") or {}}, lab)] != [peer.get("name")]:
            report.fail(where, f"HA peer {peer.get('name')}: Service {svc.name} selects more pods than {peer.get('name')}")


# ---- metric names: rules and dashboards ------------------------------------------------

class MetricSet:
    """What our binaries export: names seen in a live scrape (with their labels and
    values), plus names only declared in their source (series that appear after an
    event, e.g. a failed allocation), and Prometheus' own series."""

    def __init__(self, scraped: dict[str, dict[str, set[str]]], declared: set[str]):
        self.scraped = scraped
        self.declared = declared

    def status(self, name: str) -> str | None:
        if name in self.scraped:
            return "scraped"
        if name in promql.SYNTHETIC:
            return "prometheus"
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in self.declared or base in self.declared:
            return "declared"
        return None

    def to_json(self) -> dict:
        return {
            "scraped": {n: {k: sorted(v) for k, v in labels.items()} for n, labels in self.scraped.items()},
            "declared": sorted(self.declared),
        }

    @classmethod
    def from_json(cls, data: dict) -> "MetricSet":
        return cls({n: {k: set(v) for k, v in labels.items()} for n, labels in data["scraped"].items()}, set(data["declared"]))


def _parser_names(expr: str) -> set[str] | None:
    """Metric names by promql-parser's AST, as a second opinion (None: not installed)."""
    try:
        import promql_parser
    except ImportError:
        return None
    names: set[str] = set()

    def walk(node) -> None:
        kind = type(node).__name__
        if kind == "VectorSelector":
            if node.name:
                names.add(node.name)
            for m in node.matchers.matchers:
                if m.name == "__name__" and str(m.op).endswith("Equal") and "Not" not in str(m.op):
                    names.add(m.value)
            return
        if kind == "MatrixSelector":
            walk(node.vector_selector)
            return
        for attr in ("lhs", "rhs", "expr", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, (str, int, float)):
                walk(child)
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    walk(promql_parser.parse(expr))
    return names


def check_expression(
    expr: str, where: str, report: Report, metrics: MetricSet, jobs: set[str], recorded: set[str], grafana: bool = False
) -> set[str]:
    """One PromQL expression: syntax, metric names, label matchers. Returns names
    only found declared in source (for the summary)."""
    text = promql.grafana_to_promql(expr) if grafana else expr
    try:
        analysis = promql.analyse(text)
    except promql.PromQLError as e:
        report.fail(where, f"PromQL: {e}: {expr.strip()}")
        return set()
    try:
        parsed = _parser_names(text)
    except Exception as e:  # promql_parser raises ValueError subclasses
        report.fail(where, f"PromQL syntax: {e}: {expr.strip()}")
        return set()
    if parsed is not None and parsed != analysis.metrics:
        report.fail(where, f"tokenizer read {sorted(analysis.metrics)} but the parser {sorted(parsed)}: {expr.strip()}")
    only_declared = set()
    if not analysis.metrics and not analysis.name_regexes:
        report.fail(where, f"references no metric: {expr.strip()}")
    for name in sorted(analysis.metrics):
        if name in recorded:
            continue
        status = metrics.status(name)
        if status is None:
            report.fail(where, f"metric {name!r} is exported by none of our binaries: {expr.strip()}")
        elif status == "declared":
            only_declared.add(name)
    for regex in analysis.name_regexes:
        if not any(re.fullmatch(regex, n) for n in metrics.scraped):
            report.fail(where, f"__name__=~{regex!r} matches no exported metric")
    referenced_labels: set[str] = set()
    for name in analysis.metrics:
        referenced_labels |= set(metrics.scraped.get(name, {}))
    for m in analysis.matchers:
        if m.label == "job":
            if m.op == "=" and m.value not in jobs:
                report.fail(where, f'job="{m.value}" matches no ServiceMonitor job (have {sorted(jobs)})')
            if m.op == "=~" and not grafana and not any(re.fullmatch(m.value, j) for j in jobs):
                report.fail(where, f'job=~"{m.value}" matches no ServiceMonitor job')
            continue
        if m.label in TARGET_LABELS or m.metric is None or m.metric not in metrics.scraped:
            continue
        labels = metrics.scraped[m.metric]
        if m.label not in labels:
            report.fail(where, f"{m.metric} has no label {m.label!r} (has {sorted(labels)})")
        elif m.op == "=" and not m.value.startswith("$") and m.value not in labels[m.label]:
            report.fail(where, f'{m.metric}{{{m.label}="{m.value}"}} is never exported (values: {sorted(labels[m.label])})')
    known = any(name in metrics.scraped for name in analysis.metrics)
    for label in analysis.grouping_labels:
        if known and label not in TARGET_LABELS and label != "le" and label not in referenced_labels:
            report.fail(where, f"groups by {label!r}, a label none of {sorted(analysis.metrics)} has")
    return only_declared


def check_rules(objs: list[Obj], report: Report, metrics: MetricSet, jobs: set[str]) -> tuple[int, set[str]]:
    count, declared = 0, set()
    recorded = {
        r["record"] for o in objs if o.kind == "PrometheusRule" for g in o.spec.get("groups") or [] for r in g.get("rules") or [] if "record" in r
    }
    for rule_obj in (o for o in objs if o.kind == "PrometheusRule"):
        for group in rule_obj.spec.get("groups") or []:
            for rule in group.get("rules") or []:
                name = rule.get("alert") or rule.get("record")
                where = f"{rule_obj} rule {name}"
                if "for" in rule and parse_duration(str(rule["for"])) is None:
                    report.fail(where, f"for: {rule['for']!r} is not a duration")
                if "alert" in rule and (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                    report.fail(where, "alerts need labels.severity (critical, warning or info)")
                declared |= check_expression(str(rule.get("expr", "")), where, report, metrics, jobs, recorded)
                count += 1
    return count, declared


def check_dashboards(objs: list[Obj], report: Report, metrics: MetricSet, jobs: set[str]) -> tuple[int, set[str]]:
    count, declared, uids = 0, set(), {}
    for cm in (o for o in objs if o.kind == "ConfigMap" and o.labels.get(DASHBOARD_LABEL) is not None):
        for key, text in (cm.data.get("data") or {}).items():
            where = f"{cm} {key}"
            try:
                dashboard = json.loads(text)
            except ValueError as e:
                report.fail(where, f"not JSON: {e}")
                continue
            uid = dashboard.get("uid")
            if not uid or not dashboard.get("title"):
                report.fail(where, "a dashboard needs a uid and a title")
            elif uid in uids:
                report.fail(where, f"uid {uid!r} is also {uids[uid]}'s")
            uids[uid] = where
            variables = {v.get("name") for v in (dashboard.get("templating") or {}).get("list") or []}
            for var in (dashboard.get("templating") or {}).get("list") or []:
                if var.get("type") != "query":
                    continue
                query = var.get("query")
                query = query.get("query") if isinstance(query, dict) else query
                inner = promql.grafana_variable_query(query or "")
                if inner:
                    declared |= check_expression(inner, f"{where} variable {var.get('name')}", report, metrics, jobs, set(), grafana=True)
                    count += 1

            def panels(items):
                for p in items or []:
                    yield p
                    yield from panels(p.get("panels"))

            for panel in panels(dashboard.get("panels")):
                ds = panel.get("datasource") or {}
                uid_ref = ds.get("uid", "") if isinstance(ds, dict) else str(ds)
                for ref in re.findall(r"\$\{?(\w+)", uid_ref):
                    if ref not in variables:
                        report.fail(f"{where} panel {panel.get('title')!r}", f"datasource variable ${ref} is not defined")
                for target in panel.get("targets") or []:
                    if "expr" in target:
                        declared |= check_expression(
                            target["expr"], f"{where} panel {panel.get('title')!r}", report, metrics, jobs, set(), grafana=True
                        )
                        count += 1
                if panel.get("type") not in ("row", "text") and not panel.get("targets"):
                    report.fail(f"{where} panel {panel.get('title')!r}", "has no query")
    return count, declared
