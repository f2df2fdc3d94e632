#!/usr/bin/env bash
# Builds our three images (docker/build-images.sh, i.e. `make images`) unless
# they exist, builds the test tools image, and loads them all into the kind
# nodes. Images built with Podman are loaded through an archive.
source "$(dirname "$0")/lib.sh"
need kind
cluster_exists || die "no kind cluster $CLUSTER: run tests/kind/create-cluster.sh"
ver=$(version)
images=("noc/lb:$ver" "noc/resolver:$ver" "noc/dhcp4:$ver")

have_image() {
  { command -v docker >/dev/null && docker image inspect "$1" >/dev/null 2>&1; } ||
    { command -v podman >/dev/null && podman image exists "$1" 2>/dev/null; }
}

build=0
for image in "${images[@]}"; do have_image "$image" || build=1; done
if [ "$build" = 1 ] || [ "${REBUILD:-0}" = 1 ]; then
  [ -x "$REPO/docker/build-images.sh" ] || die "docker/build-images.sh is missing: it builds noc/lb, noc/resolver, noc/dhcp4"
  log "building our images (docker/build-images.sh)"
  "$REPO/docker/build-images.sh"
fi
if ! have_image "$TOOLS_IMAGE" || [ "${REBUILD:-0}" = 1 ]; then
  need docker
  log "building $TOOLS_IMAGE (dig, kdig, dnsperf, DHCP client and relay)"
  docker build -t "$TOOLS_IMAGE" "$KIND_DIR/tools"
fi

for image in "${images[@]}" "$TOOLS_IMAGE"; do
  have_image "$image" || die "image $image was not built"
  log "loading $image into kind cluster $CLUSTER"
  if command -v docker >/dev/null && docker image inspect "$image" >/dev/null 2>&1; then
    kind load docker-image --name "$CLUSTER" "$image"
  else
    archive=$(mktemp --suffix=.tar)
    podman save -o "$archive" "$image"
    kind load image-archive --name "$CLUSTER" "$archive"
    rm -f "$archive"
  fi
done
