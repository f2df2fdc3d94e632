"""The check can fail: each test breaks the rendered poc overlay in one way and
asserts that k8s/checks/check.py rejects it, naming the object.

k8s/check.sh runs these after the real check, with
K8S_CHECK_RENDERED (the poc overlay's render), K8S_CHECK_METRICS (the metric
list its live run saved) and K8S_CHECK_BIN_DIR (our binaries); the binaries'
checks (--help, --check-config, ports) run, the live run does not.
"""

from __future__ import annotations

import copy
import os
import pathlib
import sys

import pytest
import yaml

CHECKS = pathlib.Path(__file__).resolve().parent.parent
REPO = CHECKS.parent.parent
sys.path.insert(0, str(CHECKS))

import check  # noqa: E402
import promql  # noqa: E402

RENDERED = os.environ.get("K8S_CHECK_RENDERED")
METRICS = os.environ.get("K8S_CHECK_METRICS")
BIN_DIR = os.environ.get("K8S_CHECK_BIN_DIR")

needs_render = pytest.mark.skipif(not (RENDERED and METRICS), reason="run through k8s/check.sh (needs a render and a metric list)")


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    with open(RENDERED) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def run(docs: list[dict], tmp_path: pathlib.Path, capsys, binaries: bool = False) -> tuple[int, str]:
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    argv = ["--repo", str(REPO), "--metrics-from", METRICS, f"overlays/poc={path}"]
    argv += ["--bin-dir", BIN_DIR] if binaries else ["--no-binaries"]
    code = check.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def find(docs: list[dict], kind: str, name: str) -> dict:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"].startswith(name):
            return d
    raise KeyError(f"{kind} {name}")


def container(docs: list[dict], deployment: str) -> dict:
    return find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def expect_failure(docs, tmp_path, capsys, *needles: str, binaries: bool = False) -> None:
    code, out = run(docs, tmp_path, capsys, binaries)
    assert code == 1, f"the check passed a broken manifest:\n{out}"
    for needle in needles:
        assert needle in out, f"{needle!r} not in the check's output:\n{out}"


@needs_render
def test_the_unbroken_render_passes(docs, tmp_path, capsys):
    code, out = run(docs, tmp_path, capsys, binaries=bool(BIN_DIR))
    assert code == 0, out


@needs_render
def test_wrong_service_selector(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "Service", "resolver-headless")["spec"]["selector"] = {"app.kubernetes.io/name": "unbound"}
    expect_failure(docs, tmp_path, capsys, "Service noc-poc/resolver-headless", "matches no pod template")


@needs_render
def test_servicemonitor_port_by_number(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    endpoint = find(docs, "ServiceMonitor", "resolver")["spec"]["endpoints"][0]
    del endpoint["port"]
    endpoint["targetPort"] = 9167
    expect_failure(docs, tmp_path, capsys, "ServiceMonitor noc-poc/resolver", "no named `port`")


@needs_render
def test_servicemonitor_port_name_missing_on_service(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "ServiceMonitor", "lb")["spec"]["endpoints"][0]["port"] = "prometheus"
    expect_failure(docs, tmp_path, capsys, "ServiceMonitor noc-poc/lb", "'prometheus' is not a named port of Service lb-metrics")


@needs_render
def test_latest_and_untagged_images(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "lb")["image"] = "noc/lb:latest"
    container(docs, "redis")["image"] = "redis"
    expect_failure(docs, tmp_path, capsys, "'noc/lb:latest' uses :latest", "'redis' has no tag or digest")


@needs_render
def test_image_tag_other_than_the_workspace_version(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "resolver")["image"] = "noc/resolver:9.9.9"
    expect_failure(docs, tmp_path, capsys, "tag should be the workspace version")


@needs_render
def test_unchecked_custom_kind(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    docs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "noc-poc"}, "spec": {}})
    expect_failure(docs, tmp_path, capsys, "custom kind Widget (example.com/v1) has no validator")


@needs_render
def test_bad_alert_metric(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    rule = find(docs, "PrometheusRule", "unbound-alerts")["spec"]["groups"][0]["rules"][5]
    rule["expr"] = "sum(rate(unbound_querys_total[5m])) == 0"
    expect_failure(docs, tmp_path, capsys, "rule UnboundNoQueries", "'unbound_querys_total' is exported by none of our binaries")


@needs_render
def test_alert_on_a_job_no_servicemonitor_makes(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "PrometheusRule", "unbound-alerts")["spec"]["groups"][0]["rules"][0]["expr"] = 'up{job="unbound-exporter"} == 0'
    expect_failure(docs, tmp_path, capsys, 'job="unbound-exporter" matches no ServiceMonitor job')


@needs_render
def test_alert_label_value_never_exported(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    rule = find(docs, "PrometheusRule", "unbound-alerts")["spec"]["groups"][0]["rules"][1]
    rule["expr"] = rule["expr"].replace('"SERVFAIL"', '"SERV_FAIL"')
    expect_failure(docs, tmp_path, capsys, 'unbound_answer_rcodes_total{rcode="SERV_FAIL"} is never exported')


@needs_render
def test_bad_dashboard_metric(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    cm = find(docs, "ConfigMap", "noc-dashboards-dns")
    cm["data"]["dns.json"] = cm["data"]["dns.json"].replace("dnsdist_server_status", "dnsdist_backend_status", 1)
    expect_failure(docs, tmp_path, capsys, "ConfigMap monitoring/noc-dashboards-dns", "'dnsdist_backend_status' is exported by none")


@needs_render
def test_unknown_field_in_a_kubernetes_object(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "Deployment", "lb")["spec"]["template"]["spec"]["hostNetwrok"] = True
    expect_failure(docs, tmp_path, capsys, "Deployment noc-poc/lb", "(strict)")


@needs_render
def test_unknown_field_in_a_servicemonitor(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "ServiceMonitor", "dhcp4")["spec"]["endpoints"][0]["scrape_interval"] = "15s"
    expect_failure(docs, tmp_path, capsys, "ServiceMonitor noc-poc/dhcp4", "scrape_interval: unknown field")


@needs_render
def test_metallb_pool_with_a_bad_field_and_moved(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    pool = find(docs, "IPAddressPool", "noc-poc-pool")
    pool["metadata"]["namespace"] = "noc-poc"
    pool["spec"]["autoassign"] = True
    expect_failure(docs, tmp_path, capsys, "must stay in namespace metallb-system", "'autoassign' was unexpected")


@needs_render
def test_lb_address_outside_the_pool(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "Service", "lb")["metadata"]["annotations"]["metallb.universe.tf/loadBalancerIPs"] = "192.168.139.99"
    expect_failure(docs, tmp_path, capsys, "LoadBalancer address 192.168.139.99 is in no IPAddressPool",
                   "DHCP hands out DNS server 192.168.139.53")


@needs_render
def test_tcp_probe(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "resolver")["readinessProbe"] = {"tcpSocket": {"port": 53}}
    expect_failure(docs, tmp_path, capsys, "readinessProbe must be httpGet on the metrics port")


@needs_render
def test_probe_on_another_path(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "dhcp4")["livenessProbe"]["httpGet"]["path"] = "/health"
    expect_failure(docs, tmp_path, capsys, "livenessProbe path '/health': should be /healthz")


@needs_render
def test_pdb_selecting_nothing(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    find(docs, "PodDisruptionBudget", "lb")["spec"]["selector"]["matchLabels"] = {"app": "dnsdist"}
    expect_failure(docs, tmp_path, capsys, "PodDisruptionBudget noc-poc/lb", "selector matches no workload")


@needs_render
def test_missing_configmap(docs, tmp_path, capsys):
    docs = [d for d in copy.deepcopy(docs) if not (d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("redis-config"))]
    expect_failure(docs, tmp_path, capsys, "Deployment noc-poc/redis volume config", "does not exist in the render")


@needs_render
def test_added_capability(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "lb")["securityContext"]["capabilities"]["add"].append("NET_ADMIN")
    expect_failure(docs, tmp_path, capsys, "capability NET_ADMIN added")


@needs_render
@pytest.mark.skipif(not BIN_DIR, reason="needs the binaries")
def test_unknown_flag(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    container(docs, "lb")["args"].append("--verbose")
    expect_failure(docs, tmp_path, capsys, "lb has no flag --verbose", binaries=True)


@needs_render
@pytest.mark.skipif(not BIN_DIR, reason="needs the binaries")
def test_config_the_binary_rejects(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    cm = find(docs, "ConfigMap", "resolver-config")
    cm["data"]["cachedb.conf"] += "    redis-server-flavour: vanilla\n"
    expect_failure(docs, tmp_path, capsys, "--check-config` exited 64", "redis-server-flavour", binaries=True)


@needs_render
@pytest.mark.skipif(not BIN_DIR, reason="needs the binaries")
def test_container_port_the_config_does_not_serve(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    cm = find(docs, "ConfigMap", "lb-config")
    cm["data"]["lb.toml"] = cm["data"]["lb.toml"].replace('tls = ["0.0.0.0:853"]', 'tls = ["0.0.0.0:8853"]')
    expect_failure(docs, tmp_path, capsys, "serves 8853/TCP", "containerPort 853/TCP is not served", binaries=True)


@needs_render
@pytest.mark.skipif(not BIN_DIR, reason="needs the binaries")
def test_raw_dhcp_socket_without_net_raw(docs, tmp_path, capsys):
    docs = copy.deepcopy(docs)
    cm = find(docs, "ConfigMap", "dhcp4-config")
    cm["data"]["kea-dhcp4.conf"] = cm["data"]["kea-dhcp4.conf"].replace('"dhcp-socket-type": "udp"', '"dhcp-socket-type": "raw"')
    expect_failure(docs, tmp_path, capsys, 'dhcp-socket-type "raw" needs CAP_NET_RAW', binaries=True)


# ---- the PromQL reader on its own -------------------------------------------------------

def test_promql_skips_labels_functions_keywords_and_durations():
    expr = (
        'sum by (namespace, le) (rate(a_bucket{job="x", rcode=~"SERV.*"}[5m] offset 1h)) '
        "/ on (namespace) group_left(pod) b or absent(c) unless d @ start() and bool_metric > bool 2"
    )
    assert promql.metric_names(expr) == {"a_bucket", "b", "c", "d", "bool_metric"}
    analysis = promql.analyse(expr)
    assert analysis.grouping_labels == {"namespace", "le", "pod"}
    assert {(m.metric, m.label, m.op, m.value) for m in analysis.matchers} == {
        ("a_bucket", "job", "=", "x"),
        ("a_bucket", "rcode", "=~", "SERV.*"),
    }


def test_promql_names_from_name_matchers_and_subqueries():
    assert promql.metric_names('max_over_time({__name__="x_total", a="b"}[10m:1m])') == {"x_total"}
    assert promql.metric_names("topk(3, sum(rate(z[1h30m])) by (pod))") == {"z"}


def test_promql_grafana_variables():
    expr = promql.grafana_to_promql('sum(rate(q{namespace=~"$namespace"}[$__rate_interval]))')
    assert promql.metric_names(expr) == {"q"}
    assert promql.grafana_variable_query('label_values(up{job=~"a|b"}, namespace)') == 'up{job=~"a|b"}'


def test_promql_rejects_unknown_functions():
    with pytest.raises(promql.PromQLError):
        promql.analyse("rates(x[5m])")


@needs_render
def test_overlay_setting_a_namespace_without_the_pins(tmp_path, capsys):
    """kustomize's namespace transformer moves MetalLB's pool and the dashboards
    too; an overlay that forgets the pin-namespace replacements must fail."""
    import shutil
    import subprocess

    kubectl = os.environ.get("KUBECTL", "kubectl")
    if shutil.which(kubectl) is None:
        pytest.skip("needs kubectl")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    poc = yaml.safe_load((REPO / "k8s/overlays/poc/kustomization.yaml").read_text())
    poc["resources"] = [os.path.relpath(REPO / "k8s/base", overlay)]
    poc["namespace"] = "noc-other"
    del poc["replacements"]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(poc))
    rendered = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    expect_failure(
        docs, tmp_path, capsys,
        "IPAddressPool noc-other/noc-poc-pool: must stay in namespace metallb-system",
        "ConfigMap noc-other/noc-dashboards-dns: must stay in namespace monitoring",
        "names redis.noc-poc.svc, but there is no Service noc-poc/redis",
    )


# ---- the dhcp4 HA pair (overlays/poc-ha; K8S_CHECK_RENDERED_HA) ------------------------

RENDERED_HA = os.environ.get("K8S_CHECK_RENDERED_HA")
needs_ha_render = pytest.mark.skipif(not (RENDERED_HA and METRICS), reason="run through k8s/check.sh (needs the poc-ha render)")


@pytest.fixture(scope="module")
def ha_docs() -> list[dict]:
    with open(RENDERED_HA) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def ha_config(docs: list[dict], key: str, old: str, new: str) -> None:
    data = find(docs, "ConfigMap", "dhcp4-config")["data"]
    assert old in data[key], f"{old!r} not in {key}"
    data[key] = data[key].replace(old, new)


def statefulset_container(docs: list[dict]) -> dict:
    return find(docs, "StatefulSet", "dhcp4")["spec"]["template"]["spec"]["containers"][0]


@needs_ha_render
def test_ha_unbroken_render_passes(ha_docs, tmp_path, capsys):
    code, out = run(ha_docs, tmp_path, capsys, binaries=bool(BIN_DIR))
    assert code == 0, out


@needs_ha_render
def test_ha_partner_url_is_no_service_address(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    ha_config(docs, "dhcp4-0.conf", "http://10.96.0.68:8000/", "http://10.96.0.99:8000/")
    expect_failure(docs, tmp_path, capsys, "HA peer dhcp4-1: url http://10.96.0.99:8000/: 10.96.0.99 is no Service's clusterIP")


@needs_ha_render
def test_ha_partner_service_selects_the_wrong_pod(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    find(docs, "Service", "dhcp4-1-ha")["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] = "dhcp4-0"
    expect_failure(docs, tmp_path, capsys, "Service dhcp4-1-ha does not select pod dhcp4-1")


@needs_ha_render
def test_ha_per_pod_service_for_a_pod_that_does_not_exist(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    find(docs, "Service", "dhcp4-1")["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] = "dhcp4-2"
    expect_failure(docs, tmp_path, capsys, "Service noc-poc/dhcp4-1", "matches no pod template")


@needs_ha_render
def test_ha_own_url_is_a_virtual_address(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    ha_config(docs, "dhcp4-0.conf", "http://0.0.0.0:8000/", "http://10.96.0.67:8000/")
    expect_failure(docs, tmp_path, capsys, "HA peer dhcp4-0 (this server)", "which the pod cannot bind")


@needs_ha_render
def test_ha_state_label_value_never_exported(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    rules = find(docs, "PrometheusRule", "dhcp4-alerts")["spec"]["groups"][1]["rules"]
    rules[0]["expr"] = rules[0]["expr"].replace('"partner-down"', '"partner_down"')
    expect_failure(docs, tmp_path, capsys, 'dhcp4_ha_state{state="partner_down"} is never exported')


@needs_ha_render
def test_ha_port_not_declared(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    c = statefulset_container(docs)
    c["ports"] = [p for p in c["ports"] if p["name"] != "ha"]
    for name in ("dhcp4-headless", "dhcp4-0-ha", "dhcp4-1-ha"):
        find(docs, "Service", name)["spec"]["ports"][0]["targetPort"] = 8000
    expect_failure(docs, tmp_path, capsys, "pod dhcp4-1 container dhcp4", "serves 8000/TCP", binaries=True)


@needs_ha_render
def test_ha_one_config_for_both_pods(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    c = statefulset_container(docs)
    c["args"] = [a.replace("$(POD_NAME)", "dhcp4-0") for a in c["args"]]
    expect_failure(docs, tmp_path, capsys, "this-server-name 'dhcp4-0' is not the pod's name 'dhcp4-1'", binaries=True)


@needs_ha_render
def test_ha_password_file_not_mounted(ha_docs, tmp_path, capsys):
    docs = copy.deepcopy(ha_docs)
    volume = find(docs, "StatefulSet", "dhcp4")["spec"]["template"]["spec"]["volumes"][0]
    volume["projected"]["sources"] = [s for s in volume["projected"]["sources"] if "secret" not in s]
    expect_failure(docs, tmp_path, capsys, "basic-auth-password-file /etc/kea/ha-password is not a file of the pod's volumes", binaries=True)


# ---- the node-local DNS cache (overlays/poc-nodelocal; K8S_CHECK_RENDERED_NODELOCAL) ----

RENDERED_NODELOCAL = os.environ.get("K8S_CHECK_RENDERED_NODELOCAL")
needs_nodelocal_render = pytest.mark.skipif(
    not (RENDERED_NODELOCAL and METRICS), reason="run through k8s/check.sh (needs the poc-nodelocal render)"
)


@pytest.fixture(scope="module")
def nl_docs() -> list[dict]:
    with open(RENDERED_NODELOCAL) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def nl_pod(docs: list[dict]) -> dict:
    return find(docs, "DaemonSet", "node-local-dns")["spec"]["template"]["spec"]


def nl_config(docs: list[dict], old: str, new: str) -> None:
    data = find(docs, "ConfigMap", "node-local-dns-config")["data"]
    assert old in data["node-local.toml"], f"{old!r} not in node-local.toml"
    data["node-local.toml"] = data["node-local.toml"].replace(old, new)


@needs_nodelocal_render
def test_nodelocal_unbroken_render_passes(nl_docs, tmp_path, capsys):
    code, out = run(nl_docs, tmp_path, capsys, binaries=bool(BIN_DIR))
    assert code == 0, out


@needs_nodelocal_render
def test_nodelocal_dashboard_unknown_metric(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    cm = find(docs, "ConfigMap", "noc-dashboards-nodelocal")
    cm["data"]["nodelocal.json"] = cm["data"]["nodelocal.json"].replace("coredns_cache_hits_total", "coredns_cache_hit_total", 1)
    expect_failure(docs, tmp_path, capsys, "ConfigMap monitoring/noc-dashboards-nodelocal", "'coredns_cache_hit_total' is exported by none")


@needs_nodelocal_render
def test_nodelocal_alert_label_value_never_exported(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    rules = find(docs, "PrometheusRule", "node-local-dns-alerts")["spec"]["groups"][0]["rules"]
    rule = next(r for r in rules if r["alert"] == "NodeLocalDNSForwardErrors")
    rule["expr"] = rule["expr"].replace('"SERVFAIL"', '"ServFail"')
    expect_failure(docs, tmp_path, capsys, 'coredns_forward_responses_total{rcode="ServFail"} is never exported')


@needs_nodelocal_render
def test_nodelocal_without_net_admin(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_pod(docs)["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    expect_failure(docs, tmp_path, capsys, "DaemonSet noc-poc/node-local-dns container node-cache", "NET_ADMIN not added")


@needs_nodelocal_render
def test_nodelocal_extra_capability(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_pod(docs)["containers"][0]["securityContext"]["capabilities"]["add"].append("SYS_ADMIN")
    expect_failure(docs, tmp_path, capsys, "container node-cache: capability SYS_ADMIN added")


@needs_nodelocal_render
def test_nodelocal_net_admin_on_another_container(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    container(docs, "lb")["securityContext"]["capabilities"]["add"].append("NET_ADMIN")
    expect_failure(docs, tmp_path, capsys, "Deployment noc-poc/lb container lb: capability NET_ADMIN added")


@needs_nodelocal_render
def test_nodelocal_as_non_root(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    sc = nl_pod(docs)["containers"][0]["securityContext"]
    sc.update(runAsUser=65532, runAsGroup=65532, runAsNonRoot=True)
    expect_failure(docs, tmp_path, capsys, "runs iptables/nft, which need uid 0 with NET_ADMIN")


@needs_nodelocal_render
def test_nodelocal_pod_settings(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    spec = nl_pod(docs)
    spec["hostNetwork"] = False
    spec["dnsPolicy"] = "ClusterFirst"
    spec["tolerations"] = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]
    del spec["priorityClassName"]
    spec["terminationGracePeriodSeconds"] = 5
    find(docs, "DaemonSet", "node-local-dns")["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = 0
    expect_failure(
        docs, tmp_path, capsys,
        "needs hostNetwork: true", "dnsPolicy 'ClusterFirst'", "no `operator: Exists` toleration for NoSchedule",
        "no `operator: Exists` toleration for NoExecute", "priorityClassName None", "no time to drain",
        "maxUnavailable 0",
    )


@needs_nodelocal_render
def test_nodelocal_namespace_left_restricted(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    find(docs, "Namespace", "noc-poc")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    expect_failure(docs, tmp_path, capsys, "hostNetwork is refused by namespace noc-poc's restricted Pod Security level",
                   "capability NET_ADMIN is refused", "hostPath volume xtables-lock is refused")


@needs_nodelocal_render
def test_nodelocal_another_host_path(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_pod(docs)["volumes"].append({"name": "host-etc", "hostPath": {"path": "/etc", "type": "Directory"}})
    expect_failure(docs, tmp_path, capsys, "hostPath volume host-etc (/etc): the node-local agent mounts only /run/xtables.lock")


@needs_nodelocal_render
def test_nodelocal_liveness_on_the_node_address(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    del nl_pod(docs)["containers"][0]["livenessProbe"]["httpGet"]["host"]
    expect_failure(docs, tmp_path, capsys, "livenessProbe has no host")


@needs_nodelocal_render
def test_nodelocal_liveness_on_another_port(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_pod(docs)["containers"][0]["livenessProbe"]["httpGet"]["port"] = "metrics"
    expect_failure(docs, tmp_path, capsys, "livenessProbe on 169.254.20.10:metrics, but /health is served on 169.254.20.10:8080",
                   binaries=True)


@needs_nodelocal_render
def test_nodelocal_without_the_xtables_lock(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    spec = nl_pod(docs)
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "xtables-lock"]
    spec["containers"][0]["volumeMounts"] = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] != "xtables-lock"]
    expect_failure(docs, tmp_path, capsys, "firewall = iptables without the node's /run/xtables.lock mounted", binaries=True)


@needs_nodelocal_render
def test_nodelocal_in_the_plain_lb_image(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_pod(docs)["containers"][0]["image"] = "noc/lb:0.1.0"
    expect_failure(docs, tmp_path, capsys, "has [node-local], which runs iptables/nft: use the noc/lb-nodelocal image", binaries=True)


@needs_nodelocal_render
def test_nodelocal_cluster_dns_is_no_service(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_config(docs, 'cluster-dns = "10.96.0.11"', 'cluster-dns = "10.96.0.12"')
    expect_failure(docs, tmp_path, capsys, "node-local.cluster-dns 10.96.0.12 is no Service's fixed clusterIP")


@needs_nodelocal_render
def test_nodelocal_health_port_not_declared(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    c = nl_pod(docs)["containers"][0]
    c["ports"] = [p for p in c["ports"] if p["name"] != "health"]
    expect_failure(docs, tmp_path, capsys, "serves 8080/TCP (config and args) but declares no such containerPort", binaries=True)


@needs_nodelocal_render
def test_kube_dns_upstream_selects_no_coredns(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    find(docs, "Service", "kube-dns-upstream")["spec"]["selector"] = {"k8s-app": "coredns"}
    expect_failure(docs, tmp_path, capsys, "Service kube-system/kube-dns-upstream", "matches no pod template in kube-system")


@needs_nodelocal_render
def test_nodelocal_fallback_is_the_agent_itself(nl_docs, tmp_path, capsys):
    docs = copy.deepcopy(nl_docs)
    nl_config(docs, 'local-ip = ["169.254.20.10"]', 'local-ip = ["169.254.20.10", "10.96.0.10"]')
    expect_failure(docs, tmp_path, capsys, "node-local.fallback 10.96.0.10 is one of the agent's own addresses")
