#!/usr/bin/env bash
# The offline check of the Kubernetes manifests: everything that needs no
# cluster. Run from anywhere; CI runs it from scripts/test.sh.
#
#   k8s/check.sh
#
# 1. yamllint (k8s/.yamllint.yaml) over k8s/ and tests/kind/
# 2. every overlay renders (kubectl kustomize), the base too, and the kind
#    variant tests/kind/deploy.sh applies (tests/kind/render.sh)
# 3. builds lb, resolver and dhcp4 (cargo build --locked)
# 4. k8s/checks/check.py on the renders: strict schemas (kubernetes-validate),
#    custom kinds against their operators' models or k8s/schemas/ (an unknown
#    custom kind fails), cross-object checks, Pod Security, images, the
#    binaries' --help, --check-config and ports, and a run of the binaries on
#    loopback whose /metrics is the list every alert and dashboard must use
# 5. the negative tests (k8s/checks/tests): broken manifests must fail
#
# Environment: CARGO_TARGET_DIR (default target), K8S_CHECK_BIN_DIR (binaries
# to use instead of building), K8S_CHECK_VENV (default k8s/.venv),
# K8S_VERSION (schemas, default 1.32), KUBECTL (default kubectl).
# Needs python3 (3.11+), kubectl, openssl, cargo; PyPI for the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$(date +%s)

venv=${K8S_CHECK_VENV:-$repo/k8s/.venv}
target=${CARGO_TARGET_DIR:-$repo/target}
bin_dir=${K8S_CHECK_BIN_DIR:-$target/debug}
k8s_version=${K8S_VERSION:-1.32}
kubectl=${KUBECTL:-kubectl}

die() { echo "k8s/check.sh: FAILED: $*" >&2; exit 1; }
step() { echo "== k8s/check.sh: $* ($(( $(date +%s) - started )) s)"; }

for tool in python3 "$kubectl" openssl timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 3.11 or later is needed (tomllib)"
# replacements, labels and components need the kustomize built into kubectl 1.27+ (kustomize v5).
kustomize_version=$("$kubectl" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9]*\).*/\1/p' || true)
[ "${kustomize_version:-0}" -ge 5 ] || die "$kubectl has kustomize ${kustomize_version:-unknown}; kubectl 1.27 or later (kustomize v5) is needed"

step "python tools in $venv"
requirements=$repo/k8s/checks/requirements.txt
stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  timeout 120 python3 -m venv "$venv" || die "cannot make a virtualenv in $venv (python3-venv)"
  timeout 600 "$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements" \
    || die "pip could not install k8s/checks/requirements.txt"
  echo "$stamp" > "$venv/.requirements"
fi
py=$venv/bin/python

step "yamllint"
timeout 120 "$venv/bin/yamllint" -s -c k8s/.yamllint.yaml k8s tests/kind || die "yamllint (k8s/.yamllint.yaml) found problems above"

step "kubectl kustomize"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timeout 60 "$kubectl" kustomize k8s/base > "$work/base.yaml" || die "k8s/base does not render"
rendered=()
for dir in k8s/overlays/*/; do
  overlay=${dir%/}
  [ -f "$overlay/kustomization.yaml" ] || continue
  name=$(basename "$overlay")
  timeout 60 "$kubectl" kustomize "$overlay" > "$work/$name.yaml" || die "$overlay does not render"
  rendered+=("${overlay#k8s/}=$work/$name.yaml")
  echo "rendered ${overlay}: $(grep -c '^kind:' "$work/$name.yaml") objects"
done
[ ${#rendered[@]} -gt 0 ] || die "no overlay under k8s/overlays"
[ -f "$work/poc.yaml" ] || die "k8s/overlays/poc is missing"
[ -f "$work/poc-ha.yaml" ] || die "k8s/overlays/poc-ha is missing"
[ -f "$work/poc-nodelocal.yaml" ] || die "k8s/overlays/poc-nodelocal is missing"
# What tests/kind/deploy.sh applies: poc with the addresses moved onto kind's
# Docker network (its usual 172.18.0.0/16).
KUBECTL=$kubectl timeout 60 tests/kind/render.sh k8s/overlays/poc 172.18.0.0/16 > "$work/kind-poc.yaml" \
  || die "tests/kind/render.sh does not render"
rendered+=("kind:overlays/poc=$work/kind-poc.yaml")

if [ -z "${K8S_CHECK_BIN_DIR:-}" ]; then
  step "cargo build --locked -p lb -p resolver -p dhcp4 (into $target)"
  CARGO_TARGET_DIR=$target timeout 3600 cargo build --locked -q -p lb -p resolver -p dhcp4 \
    || die "cargo build failed"
fi
for bin in lb resolver dhcp4; do
  [ -x "$bin_dir/$bin" ] || die "$bin_dir/$bin is missing"
done
checks_started=$(date +%s)

step "k8s/checks/check.py"
timeout 300 "$py" k8s/checks/check.py --repo "$repo" --bin-dir "$bin_dir" --k8s-version "$k8s_version" \
  --metrics-out "$work/metrics.json" "${rendered[@]}" || die "the manifest checks above"

step "negative tests (k8s/checks/tests)"
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 K8S_CHECK_RENDERED=$work/poc.yaml K8S_CHECK_RENDERED_HA=$work/poc-ha.yaml \
  K8S_CHECK_RENDERED_NODELOCAL=$work/poc-nodelocal.yaml \
  K8S_CHECK_METRICS=$work/metrics.json \
  K8S_CHECK_BIN_DIR=$bin_dir timeout 300 "$py" -m pytest -q -p no:cacheprovider k8s/checks/tests \
  || die "the negative tests above (a broken manifest passed, or the check broke)"

echo "k8s/check.sh: OK ($(( $(date +%s) - checks_started )) s after the build, $(( $(date +%s) - started )) s in all)"
