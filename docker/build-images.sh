#!/usr/bin/env bash
# Builds the images, ${IMAGE_REPO}/{lb,resolver,dhcp4,lb-nodelocal}:${TAG}, from
# docker/Dockerfile. `make images` calls this.
#
#   docker/build-images.sh                  # distroless base, the engine found
#   BASE=scratch docker/build-images.sh     # no registry needed (with podman)
#
# Environment:
#   ENGINE      docker or podman. Default: docker when a Docker engine answers
#               (`docker info`), else podman.
#   BUILD_MODE  prebuilt: cargo builds the static binaries on this machine
#                 (docker/stage.sh into STAGE_DIR) and the images copy them;
#                 nothing is pulled when BASE=scratch. Default with podman.
#               container: the Dockerfile's builder stage compiles them from
#                 the repo (pulls BUILDER and BASE). Default with docker, whose
#                 BuildKit may drop file capabilities from a build context.
#   BASE        runtime base image (default: the Dockerfile's pinned distroless
#               static nonroot; `scratch` works: the binaries are static).
#   TAG         image tag (default: each crate's version, e.g. 0.1.0).
#   IMAGE_REPO  image name prefix (default: noc).
#   IMAGES      which to build (default: "lb resolver dhcp4 lb-nodelocal").
#   STAGE_DIR   prebuilt context (default: $CARGO_TARGET_DIR/docker-context).
#   SKIP_CARGO=1  prebuilt: reuse binaries already built by an earlier run.
#   BUILD_FLAGS extra flags for `$ENGINE build`, split on spaces (e.g.
#               "--build-arg BUILDER=my-mirror/rust:1.95-bookworm").
#   CARGO_TARGET_DIR, FILE_CAPS, DHCP4_CAPS: see docker/stage.sh.
#   CONTAINERS_CONF  podman's settings (default: docker/containers.conf, the
#               runc runtime and ulimits this machine needs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

die() { echo "build-images.sh: $*" >&2; exit 1; }

if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then
    ENGINE=podman
  else
    die "no container engine: neither a Docker engine answers nor podman is installed (apt-get install podman runc)"
  fi
fi
case "$ENGINE" in
  podman) export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/docker/containers.conf};
          BUILD_MODE=${BUILD_MODE:-prebuilt} ;;
  docker) BUILD_MODE=${BUILD_MODE:-container} ;;
  *) die "ENGINE must be docker or podman, not '$ENGINE'" ;;
esac
IMAGE_REPO=${IMAGE_REPO:-noc}
IMAGES=${IMAGES:-lb resolver dhcp4 lb-nodelocal}
target_dir=${CARGO_TARGET_DIR:-$root/target}

args=(-f docker/Dockerfile)
[ -n "${BASE:-}" ] && args+=(--build-arg "BASE=$BASE")
[ -n "${FILE_CAPS:-}" ] && args+=(--build-arg "FILE_CAPS=$FILE_CAPS")
[ -n "${DHCP4_CAPS:-}" ] && args+=(--build-arg "DHCP4_CAPS=$DHCP4_CAPS")

case "$BUILD_MODE" in
  prebuilt)
    [ "$ENGINE" = docker ] && echo "build-images.sh: warning: BuildKit may drop the binaries' file capabilities from a build context (moby/buildkit issue 2250); BUILD_MODE=container is safe" >&2
    context=${STAGE_DIR:-$target_dir/docker-context}
    rm -rf "$context"
    docker/stage.sh "$context"
    args+=(--build-arg BINARIES=prebuilt)
    # Nothing to cache: each image is one COPY of a staged file.
    [ "$ENGINE" = podman ] && args+=(--layers=false)
    ;;
  container)
    context=$root
    # The default, but podman 4.3 only follows `FROM ${BINARIES}` to the stage
    # it names when the value is given (else it skips that stage as unused).
    args+=(--build-arg BINARIES=build)
    # podman does not look for <Dockerfile>.dockerignore by itself.
    [ "$ENGINE" = podman ] && args+=(--ignorefile docker/Dockerfile.dockerignore)
    ;;
  *) die "BUILD_MODE must be prebuilt or container, not '$BUILD_MODE'" ;;
esac

# shellcheck disable=SC2206 # split on purpose
[ -n "${BUILD_FLAGS:-}" ] && args+=($BUILD_FLAGS)

for name in $IMAGES; do
  case "$name" in lb|resolver|dhcp4|lb-nodelocal) ;; *) die "unknown image '$name'" ;; esac
  crate=${name%-nodelocal}
  tag=${TAG:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$crate/Cargo.toml" | head -1)}
  [ -n "$tag" ] || die "no version in $crate/Cargo.toml"
  image=$IMAGE_REPO/$name:$tag
  echo "== $ENGINE build $image ($BUILD_MODE, base ${BASE:-distroless})"
  "$ENGINE" build "${args[@]}" --target "$name" --build-arg "VERSION=$tag" -t "$image" "$context"
done
