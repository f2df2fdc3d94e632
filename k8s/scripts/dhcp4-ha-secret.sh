#!/usr/bin/env bash
# Makes the HA pair's basic-auth password: the Secret "dhcp4-ha-auth" (key
# `password`, no trailing newline) that the dhcp4 StatefulSet of the dhcp4-ha
# component mounts as /etc/kea/ha-password, the basic-auth-password-file of
# both peer entries in both configs (user "ha"). Each server checks it on its
# HA listener; its partner sends it.
#
#   k8s/scripts/dhcp4-ha-secret.sh                    # Secret dhcp4-ha-auth in noc-poc
#   k8s/scripts/dhcp4-ha-secret.sh --namespace other  # another namespace
#   k8s/scripts/dhcp4-ha-secret.sh --out-dir DIR      # only write DIR/password
#
# Options: --namespace NS (noc-poc), --secret NAME (dhcp4-ha-auth),
# --password-file FILE (use this password, e.g. a Kea pair's, instead of a
# random one), --force (replace an existing Secret; both pods then need a
# restart, one at a time, as they read the file at start).
# Needs openssl, and kubectl unless --out-dir is given ($KUBECTL replaces it).
set -euo pipefail

namespace=noc-poc
secret=dhcp4-ha-auth
out_dir=""
password_file=""
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace=$2; shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    --password-file) password_file=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dhcp4-ha-secret.sh: unknown argument: $1 (try --help)" >&2; exit 64 ;;
  esac
done

command -v openssl >/dev/null || { echo "dhcp4-ha-secret.sh: openssl is needed" >&2; exit 1; }
read -r -a kubectl <<< "${KUBECTL:-kubectl}"
if [ -z "$out_dir" ]; then
  command -v "${kubectl[0]}" >/dev/null || { echo "dhcp4-ha-secret.sh: kubectl is needed (or give --out-dir)" >&2; exit 1; }
  if [ "$force" -eq 0 ] && "${kubectl[@]}" -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
    echo "Secret $namespace/$secret exists; keeping it (--force to replace)"
    exit 0
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$password_file" ]; then
  # Kea reads the whole file; a trailing newline would be part of the password.
  printf '%s' "$(cat "$password_file")" > "$work/password"
else
  # 32 characters of [A-Za-z0-9]: no ':' (basic auth) and nothing to quote.
  openssl rand -base64 48 | tr -dc 'A-Za-z0-9' | head -c 32 > "$work/password"
fi
[ -s "$work/password" ] || { echo "dhcp4-ha-secret.sh: empty password" >&2; exit 1; }

if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  install -m 0600 "$work/password" "$out_dir/password"
  echo "wrote $out_dir/password"
  exit 0
fi

"${kubectl[@]}" get namespace "$namespace" >/dev/null 2>&1 || "${kubectl[@]}" create namespace "$namespace"
"${kubectl[@]}" -n "$namespace" create secret generic "$secret" --from-file=password="$work/password" \
  --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
echo "Secret $namespace/$secret: HA basic-auth password for user \"ha\""
