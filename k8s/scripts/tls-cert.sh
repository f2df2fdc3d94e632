#!/usr/bin/env bash
# Makes the lb's DoT certificate: a self-signed ECDSA P-256 certificate (as the
# seed's dnsdist had) and stores it as the TLS Secret "lb-tls" that the lb
# Deployment mounts at /etc/lb/tls. The lb re-reads it when the Secret changes,
# so running this again rotates the certificate without a restart.
#
#   k8s/scripts/tls-cert.sh                       # Secret lb-tls in noc-poc
#   k8s/scripts/tls-cert.sh --namespace other     # another namespace
#   k8s/scripts/tls-cert.sh --out-dir DIR         # only write DIR/tls.crt, DIR/tls.key
#
# Options: --namespace NS (noc-poc), --secret NAME (lb-tls), --days N (825),
# --ip ADDR (the lb's LoadBalancer address, 192.168.139.53; repeatable),
# --dns NAME (repeatable; default dns.noc-poc.internal and the Service's names),
# --force (replace an existing Secret; without it an existing one is kept).
# Needs openssl, and kubectl unless --out-dir is given ($KUBECTL, e.g.
# "kubectl --context kind-noc-poc", replaces it).
# The cert-manager alternative: k8s/components/tls-cert-manager.
set -euo pipefail

namespace=noc-poc
secret=lb-tls
days=825
out_dir=""
force=0
ips=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace=$2; shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --ip) ips+=("$2"); shift 2 ;;
    --dns) names+=("$2"); shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tls-cert.sh: unknown argument: $1 (try --help)" >&2; exit 64 ;;
  esac
done
[ ${#ips[@]} -gt 0 ] || ips=(192.168.139.53)
[ ${#names[@]} -gt 0 ] || names=(dns.noc-poc.internal "lb.$namespace.svc" "lb.$namespace.svc.cluster.local")

command -v openssl >/dev/null || { echo "tls-cert.sh: openssl is needed" >&2; exit 1; }
read -r -a kubectl <<< "${KUBECTL:-kubectl}"
if [ -z "$out_dir" ]; then
  command -v "${kubectl[0]}" >/dev/null || { echo "tls-cert.sh: kubectl is needed (or give --out-dir)" >&2; exit 1; }
  if [ "$force" -eq 0 ] && "${kubectl[@]}" -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
    echo "Secret $namespace/$secret exists; keeping it (--force to replace)"
    exit 0
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
san=""
for name in "${names[@]}"; do san+="DNS:$name,"; done
for ip in "${ips[@]}"; do san+="IP:$ip,"; done
san=${san%,}

# PKCS#8 key (what the lb's rustls reads), certificate for server auth.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/tls.key" 2>/dev/null
openssl req -x509 -new -key "$work/tls.key" -out "$work/tls.crt" -days "$days" \
  -subj "/CN=${names[0]}" \
  -addext "subjectAltName=$san" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null

if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  install -m 0644 "$work/tls.crt" "$out_dir/tls.crt"
  install -m 0600 "$work/tls.key" "$out_dir/tls.key"
  echo "wrote $out_dir/tls.crt and $out_dir/tls.key (SAN $san)"
  exit 0
fi

"${kubectl[@]}" get namespace "$namespace" >/dev/null 2>&1 || "${kubectl[@]}" create namespace "$namespace"
"${kubectl[@]}" -n "$namespace" create secret tls "$secret" --cert="$work/tls.crt" --key="$work/tls.key" \
  --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
echo "Secret $namespace/$secret: self-signed, SAN $san, valid $days days"
