#!/usr/bin/env python3
"""The offline check of the rendered overlays (run by k8s/check.sh).

    check.py --repo . --bin-dir target/debug overlays/poc=/tmp/poc.yaml ...

Static checks (schemas, namespaces, references, pods, addresses), then our
binaries (args against --help, --check-config on the mounted files, ports), then
a live run on loopback whose /metrics is the list of names every alert rule
and dashboard query must use. --metrics-from FILE reuses a saved list and
--no-binaries skips the binaries (the negative tests use both); --metrics-out
FILE saves the list. Exits 1 naming every failure, 0 when there is none.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import yaml  # noqa: E402

import binaries  # noqa: E402
import crds  # noqa: E402
import manifests  # noqa: E402
from model import Obj, Report, load_rendered  # noqa: E402


def workspace_versions(repo: pathlib.Path) -> dict[str, str]:
    out = {}
    for crate in ("lb", "resolver", "dhcp4"):
        package = tomllib.loads((repo / crate / "Cargo.toml").read_text()).get("package") or {}
        version = package.get("version")
        if isinstance(version, dict) and version.get("workspace"):
            version = tomllib.loads((repo / "Cargo.toml").read_text())["workspace"]["package"]["version"]
        out[crate] = version
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered", nargs="+", help="LABEL=FILE: an overlay's `kubectl kustomize` output")
    parser.add_argument("--repo", type=pathlib.Path, required=True)
    parser.add_argument("--bin-dir", type=pathlib.Path)
    parser.add_argument("--k8s-version", default="1.32")
    parser.add_argument("--metrics-from", type=pathlib.Path)
    parser.add_argument("--metrics-out", type=pathlib.Path)
    parser.add_argument("--no-binaries", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    repo = args.repo.resolve()
    report = Report()
    external = yaml.safe_load((repo / "k8s/checks/external.yaml").read_text()) or {}
    for name, info in (external.get("secrets") or {}).items():
        made_by = repo / str(info.get("made-by", ""))
        if not made_by.is_file() or name not in made_by.read_text():
            report.fail("k8s/checks/external.yaml", f"Secret {name}: made-by {info.get('made-by')!r} is not a file that makes it")

    overlays: list[tuple[str, list[Obj]]] = []
    for item in args.rendered:
        label, _, path = item.partition("=")
        overlays.append((label, load_rendered(path, label)))

    # ---- static checks
    custom = crds.validators()
    versions = workspace_versions(repo)
    jobs_by_overlay: dict[str, set[str]] = {}
    for label, objs in overlays:
        checked = manifests.check_schemas(objs, report, args.k8s_version, custom)
        manifests.check_namespaces(objs, report)
        manifests.check_workload_selectors(objs, report)
        manifests.check_services(objs, report, external)
        jobs_by_overlay[label] = manifests.check_service_monitors(objs, report)
        manifests.check_pdbs(objs, report)
        manifests.check_images(objs, report, versions)
        manifests.check_references(objs, report, external)
        manifests.check_pods(objs, report)
        manifests.check_addresses(objs, report, external)
        print(f"{label}: {len(objs)} objects, {checked} validated against their schemas (Kubernetes {args.k8s_version}, strict)")

    # ---- our binaries
    work = pathlib.Path(tempfile.mkdtemp(prefix="k8s-check-"))
    metrics: manifests.MetricSet
    try:
        live = None
        if not args.no_binaries:
            if args.bin_dir is None:
                parser.error("--bin-dir is needed unless --no-binaries")
            bin_dir = args.bin_dir.resolve()
            for name in ("lb", "resolver", "dhcp4"):
                if not (bin_dir / name).is_file():
                    parser.error(f"{bin_dir / name} does not exist: build with cargo first")
            made_secrets: dict[tuple, dict] = {}
            tls_names: dict[tuple, str] = {}

            def secret_maker_for(objs: list[Obj], namespace: str):
                certificates = {o.spec.get("secretName"): o for o in objs if o.kind == "Certificate" and o.namespace == namespace}

                def make(name: str) -> dict | None:
                    info = (external.get("secrets") or {}).get(name)
                    cert = certificates.get(name)
                    if info is None and cert is None:
                        return None
                    key = (namespace, name, cert.name if cert else "")
                    if key not in made_secrets and cert is None and info.get("keys"):
                        # Not a TLS pair: the made-by script's --out-dir writes one file per key.
                        out = pathlib.Path(tempfile.mkdtemp(prefix="secret-", dir=work))
                        subprocess.run([str(repo / info["made-by"]), "--out-dir", str(out)], check=True, capture_output=True, timeout=30)
                        made_secrets[key] = {k: (out / k).read_text() for k in info["keys"]}
                        tls_names[key] = ""
                    if key not in made_secrets:
                        out = pathlib.Path(tempfile.mkdtemp(prefix="secret-", dir=work))
                        cmd = [str(repo / "k8s/scripts/tls-cert.sh"), "--out-dir", str(out)]
                        if cert is not None:
                            for dns in cert.spec.get("dnsNames") or []:
                                cmd += ["--dns", dns]
                            for ip in cert.spec.get("ipAddresses") or []:
                                cmd += ["--ip", ip]
                            tls_names[key] = (cert.spec.get("dnsNames") or [cert.spec.get("commonName")])[0]
                        else:
                            tls_names[key] = info.get("server-name", "")
                        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
                        crt = (out / "tls.crt").read_text()
                        made_secrets[key] = {"tls.crt": crt, "tls.key": (out / "tls.key").read_text(), "ca.crt": crt}
                    secret_maker_for.last_tls_name = tls_names[key]
                    return made_secrets[key]

                return make

            secret_maker_for.last_tls_name = "dns.noc-poc.internal"
            prepared: list[tuple[str, binaries.Container, str]] = []
            for label, objs in overlays:
                for obj, spec, pod_spec, pod in binaries.our_containers(objs):
                    try:
                        container = binaries.prepare(
                            obj, spec, pod_spec, objs, bin_dir, work, report, secret_maker_for(objs, obj.namespace), pod
                        )
                    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                        report.fail(f"{obj} container {spec.get('name')}", str(e))
                        continue
                    summary = binaries.check_config(container, bin_dir, report)
                    if summary is not None:
                        binaries.check_ports(container, summary, report)
                        prepared.append((label, container, secret_maker_for.last_tls_name))
            print(f"binaries: {len(prepared)} containers' args, configs (--check-config) and ports checked")
            if args.metrics_from is None:
                live = binaries.LiveRun(bin_dir, work, report)
                live.redis_conf = binaries.redis_config(overlays[0][1], work)
                for _, container, _ in prepared:
                    if container.binary == "lb" and container.config is not None:
                        discover = (tomllib.loads(container.config.read_text()).get("backends") or {}).get("discover")
                        if discover:
                            live.discover_names.add(discover)
                try:
                    for wanted in ("resolver", "lb", "dhcp4"):
                        for _, container, tls_name in prepared:
                            if container.binary != wanted:
                                continue
                            getattr(live, f"run_{wanted}")(*((container, tls_name) if wanted == "lb" else (container,)))
                    # dhcp4 HA servers run as pairs: every pod of a workload together.
                    pairs: dict[tuple, list] = {}
                    for label, container, _ in prepared:
                        if container.binary == "dhcp4" and live.is_ha(container):
                            pairs.setdefault((label, str(container.obj)), []).append(container)
                    for group in pairs.values():
                        live.run_dhcp4_ha(group)
                finally:
                    live.close()
        if args.metrics_from is not None:
            metrics = manifests.MetricSet.from_json(json.loads(args.metrics_from.read_text()))
        else:
            if live is None or not live.scraped:
                report.fail("metrics", "no live scrape (nothing ran): cannot check metric names; use --metrics-from")
                metrics = manifests.MetricSet({}, set())
            else:
                metrics = manifests.MetricSet(live.scraped, binaries.declared_in_source(repo))
                print(f"metrics: {len(metrics.scraped)} names scraped from the binaries on loopback, "
                      f"{len(metrics.declared)} declared in their source")
        if args.metrics_out is not None:
            args.metrics_out.write_text(json.dumps(metrics.to_json(), indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # ---- alert rules and dashboards
    only_declared: set[str] = set()
    for label, objs in overlays:
        rules, declared = manifests.check_rules(objs, report, metrics, jobs_by_overlay[label])
        queries, declared2 = manifests.check_dashboards(objs, report, metrics, jobs_by_overlay[label])
        only_declared |= declared | declared2
        print(f"{label}: {rules} rule expressions and {queries} dashboard queries read; jobs {sorted(jobs_by_overlay[label])}")
    if only_declared:
        print("metrics not in the live scrape but registered in the binaries' source (their series appear "
              f"after an event): {', '.join(sorted(only_declared))}")
    for note in report.notes:
        print(f"  {note}")
    elapsed = time.monotonic() - started
    if report.failures:
        print(f"\nFAILED: {len(report.failures)} problem(s) ({elapsed:.1f} s):", file=sys.stderr)
        seen = set()
        for failure in report.failures:
            text = str(failure)
            if text not in seen:
                seen.add(text)
                print(f"  {text}", file=sys.stderr)
        return 1
    print(f"manifest checks passed ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
