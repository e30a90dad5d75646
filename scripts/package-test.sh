#!/usr/bin/env bash
# CI: builds the Debian package and installs it with dpkg in a clean Debian bookworm root
# (debootstrap, cached under target/package-test/). There, as the package's user and on
# the package's data directory, the packaged binary creates the demo cell (`liaison init`
# with the demo charter the package ships) and serves it with the unit's command line;
# from outside the root, /readyz must answer 200 and the supervisor must read the cell.
# Then the container image, where a Docker engine runs (scripts/container-build.sh).
# Needs root (debootstrap, chroot, mount /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian-root.sh

start=$SECONDS
step() { printf '== package-test [%3ss] %s\n' "$((SECONDS - start))" "$*"; }
fail() {
    echo "package-test: FAILED: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount /proc)"
command -v curl >/dev/null || fail "needs curl"
command -v python3 >/dev/null || fail "needs python3"

root=$PACKAGE_WORK/root
serve_log=$PACKAGE_WORK/serve.log
server_pid=

cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if mountpoint -q "$root/proc" 2>/dev/null; then
        umount "$root/proc"
    fi
}
trap cleanup EXIT

step "cargo-deb $CARGO_DEB_VERSION"
ensure_cargo_deb

step "Debian $DEBIAN_SUITE root ($DEBIAN_BASE)"
ensure_debian_root

step "building the package"
deb=$(build_deb)
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

step "installing it in a fresh copy of the root"
cleanup
rm -rf "$root"
cp -a "$DEBIAN_BASE" "$root"
cp "$deb" "$root/tmp/liaison.deb"
chroot "$root" dpkg -i /tmp/liaison.deb
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
as_liaison() { chroot --userspec=liaison:liaison "$root" env -i PATH=/usr/bin:/bin LIAISON_LOG=warn "$@"; }

in_root getent passwd liaison || fail "the package made no user liaison"
mode=$(in_root stat -c '%a %U' /var/lib/liaison)
[ "$mode" = "700 liaison" ] || fail "/var/lib/liaison is '$mode', not '700 liaison'"
unit=$(in_root dpkg -L liaison | grep '/liaison.service$') || fail "the package holds no liaison.service"
echo "unit: $unit"
grep -q '^Type=notify$' "$root$unit" || fail "the installed unit is not Type=notify"
# The unit must name a binary the package installs, run as the user the package made.
exec_start=$(sed -n 's/^ExecStart=//p' "$root$unit")
[ -x "$root${exec_start%% *}" ] || fail "ExecStart names ${exec_start%% *}, which the package does not install"
if command -v systemd-analyze >/dev/null; then
    # The root has no systemd of its own: the host's checks the installed unit, pointed
    # at the binary in the root.
    mkdir -p "$PACKAGE_WORK/verify"
    sed "s|/usr/bin/liaison|$PWD/$root/usr/bin/liaison|" "$root$unit" >"$PACKAGE_WORK/verify/liaison.service"
    systemd-analyze verify --man=no "$PACKAGE_WORK/verify/liaison.service" ||
        fail "systemd-analyze verify found fault with the unit"
fi

step "liaison init (demo charter) as liaison in the root"
mount -t proc proc "$root/proc"
as_liaison /usr/bin/liaison init --data /var/lib/liaison \
    --charter /usr/share/liaison/examples/demo.toml >/dev/null

step "serving it with the unit's command line, on a free port"
# The unit's ExecStart, with LIAISON_LISTEN on port 0: the kernel picks a free port,
# which the server prints.
# Not through as_liaison: a function run in the background is a subshell, and $! would
# be its pid, not the server's (chroot and env exec what they run).
chroot --userspec=liaison:liaison "$root" env -i PATH=/usr/bin:/bin LIAISON_LOG=warn \
    /usr/bin/liaison serve --data /var/lib/liaison --listen 127.0.0.1:0 >"$serve_log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 1 600); do
    url=$(sed -n 's|^Liaison is serving on \(http[^ ]*\)/ .*|\1|p' "$serve_log")
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$serve_log" >&2; fail "the server exited"; }
    sleep 0.1
done
[ -n "$url" ] || { cat "$serve_log" >&2; fail "the server did not start within 60 s"; }
echo "serving on $url"

step "checking it from outside the root"
status=$(curl -s -o "$PACKAGE_WORK/readyz.json" -w '%{http_code}' "$url/readyz")
echo "GET /readyz: $status $(cat "$PACKAGE_WORK/readyz.json")"
[ "$status" = 200 ] || fail "/readyz answered $status"
token=$(python3 -c 'import json, sys
print(next(o["token"] for o in json.load(open(sys.argv[1]))["operators"] if o["name"] == "us-supervisor"))' \
    "$root/var/lib/liaison/credentials.json") || fail "no us-supervisor token in credentials.json"
status=$(curl -s -o "$PACKAGE_WORK/cell.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$url/api/v1/cell")
[ "$status" = 200 ] || fail "GET /api/v1/cell answered $status: $(cat "$PACKAGE_WORK/cell.json")"
grep -q '"Golan joint communication cell"' "$PACKAGE_WORK/cell.json" || fail "GET /api/v1/cell is not the demo cell"
echo "GET /api/v1/cell as us-supervisor: 200, the demo cell"
as_liaison /usr/bin/liaison healthcheck --server "$url" || fail "liaison healthcheck in the root failed"

step "stopping it (SIGTERM)"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited with $? on SIGTERM"
server_pid=
umount "$root/proc"

step "Docker engine"
if ensure_docker_engine; then
    step "container image"
    scripts/container-build.sh --check "$deb"
else
    step "container image: SKIPPED, no Docker engine could be had here (see above)"
fi

step "passed in $((SECONDS - start)) s"
