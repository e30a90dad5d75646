# Sourced by scripts/package-test.sh and scripts/container-build.sh: the tools and the
# clean Debian root both build on, cached so that a rerun only rebuilds the package.
# Needs root (debootstrap).

CARGO_DEB_VERSION=3.8.0
DEBIAN_SUITE=bookworm
PACKAGE_WORK=target/package-test
# The pristine root, made once by debootstrap and never changed afterwards.
DEBIAN_BASE=$PACKAGE_WORK/$DEBIAN_SUITE-minbase

# The Debian mirror this machine's apt uses (deb822 .sources first, then one-line
# .list entries), so the root comes from where the machine's own packages come from.
debian_mirror() {
    local m
    m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
        grep -E '/debian/?$' | head -n 1 || true)
    if [ -z "$m" ]; then
        m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
            awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

ensure_cargo_deb() {
    if cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then
        return
    fi
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
}

ensure_debootstrap() {
    if command -v debootstrap >/dev/null; then
        return
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap
}

# Makes $DEBIAN_BASE unless an earlier run finished it (its .complete marker).
ensure_debian_root() {
    if [ -e "$DEBIAN_BASE/.complete" ]; then
        return
    fi
    ensure_debootstrap
    rm -rf "$DEBIAN_BASE"
    mkdir -p "$PACKAGE_WORK"
    local mirror
    mirror=$(debian_mirror)
    echo "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$DEBIAN_BASE" "$mirror" >"$PACKAGE_WORK/debootstrap.log" ||
        { tail -n 20 "$PACKAGE_WORK/debootstrap.log" >&2; return 1; }
    touch "$DEBIAN_BASE/.complete"
}

# Builds the Debian package and prints its path.
build_deb() {
    mkdir -p "$PACKAGE_WORK/deb"
    rm -f "$PACKAGE_WORK"/deb/*.deb
    # --strip: the release profile keeps line tables for backtraces; the package does not.
    cargo deb -p liaison-cli --strip --output "$PACKAGE_WORK/deb" >&2
    ls "$PACKAGE_WORK"/deb/*.deb
}

# Makes sure a Docker engine answers. Where none does and we are root, installs Debian's
# docker.io (the engine; the machine may have only a client) and starts dockerd in the
# background with the vfs storage driver, which works inside a container too. Returns 1,
# with the reason on stderr, where no engine can be had; the engine it started keeps
# running (CI machines are discarded after the run).
ensure_docker_engine() {
    docker info >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || { echo "no Docker engine answers and we are not root to start one" >&2; return 1; }
    if ! command -v dockerd >/dev/null; then
        apt-get update >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null ||
            { echo "installing docker.io failed" >&2; return 1; }
    fi
    mkdir -p "$PACKAGE_WORK"
    # The package's own docker client may be older or newer than one already on PATH:
    # both speak to the engine through /var/run/docker.sock.
    nohup dockerd --storage-driver=vfs >"$PACKAGE_WORK/dockerd.log" 2>&1 &
    local _
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    tail -n 20 "$PACKAGE_WORK/dockerd.log" >&2
    echo "dockerd did not answer within 60 s" >&2
    return 1
}
