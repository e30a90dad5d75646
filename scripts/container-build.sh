#!/usr/bin/env bash
# Builds the container image liaison:VERSION (deploy/container/Containerfile) on a base
# the project makes itself: the Debian bookworm root of scripts/debian-root.sh, imported
# with `docker import` as liaison-base:bookworm. No image registry is used.
#   scripts/container-build.sh [--check] [PACKAGE.deb]
# Without PACKAGE.deb it builds the package first. With --check it also creates the demo
# cell in a fresh volume, starts the image, waits until Docker calls it healthy (its
# HEALTHCHECK runs `liaison healthcheck`) and asks /readyz from outside; then removes
# the container and the volume.
# Needs a Docker engine (`docker info`) and root (debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian-root.sh

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi
deb=${1:-}

fail() {
    echo "container-build: FAILED: $*" >&2
    exit 1
}
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info fails)"

ensure_debian_root
if [ -z "$deb" ]; then
    ensure_cargo_deb
    deb=$(build_deb)
fi
version=$(dpkg-deb --field "$deb" Version)
version=${version%%-*}
image=liaison:$version

echo "== base image liaison-base:$DEBIAN_SUITE from $DEBIAN_BASE"
tar -C "$DEBIAN_BASE" --exclude=./.complete --numeric-owner -c . |
    docker import - "liaison-base:$DEBIAN_SUITE" >/dev/null

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$deb" "$context/liaison.deb"
echo "== $image"
docker build --build-arg "BASE=liaison-base:$DEBIAN_SUITE" -f deploy/container/Containerfile -t "$image" "$context"

$check || exit 0

name=liaison-check-$$
volume=liaison-check-$$
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker volume rm "$volume" >/dev/null 2>&1 || true
    rm -rf "$context"
}
trap cleanup EXIT

echo "== creating the demo cell in volume $volume"
docker run --rm -v "$volume:/var/lib/liaison" "$image" init --data /var/lib/liaison \
    --charter /usr/share/liaison/examples/demo.toml --hostname localhost >/dev/null
echo "== starting $image"
docker run -d --name "$name" -p 127.0.0.1::8470 -v "$volume:/var/lib/liaison" \
    --health-interval=2s --health-start-period=60s "$image" >/dev/null
health=
for _ in $(seq 1 60); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$name")
    [ "$health" = healthy ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] ||
        { docker logs "$name" >&2; fail "the container exited"; }
    sleep 1
done
[ "$health" = healthy ] || { docker logs "$name" >&2; fail "the container is $health, not healthy"; }
port=$(docker port "$name" 8470/tcp | head -n 1)
status=$(curl -sk -o /dev/null -w '%{http_code}' "https://$port/readyz")
[ "$status" = 200 ] || fail "https://$port/readyz answered $status"
user=$(docker exec "$name" id -un)
[ "$user" = liaison ] || fail "the server runs as $user, not liaison"
echo "== $image: healthy, /readyz 200 on https://$port, running as $user"
