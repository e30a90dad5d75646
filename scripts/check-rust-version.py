#!/usr/bin/env python3
"""Checks that the workspace's declared rust-version is true of its dependencies.

Every member crate must inherit the workspace's `rust-version`, and no package locked
in Cargo.lock may declare a newer one (read from its Cargo.toml in cargo's registry
sources, which `cargo fetch` fills). The code's own needs (let chains: 1.88) are
written beside the declaration in Cargo.toml; one toolchain exists on the machines
that run this, so no older compiler builds the code to prove them.
"""
import glob
import os
import sys
import tarfile
import tomllib


def version(text):
    """`1.89` and `1.89.0` are the same version."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def manifest_of(cargo_home, name):
    """The package's Cargo.toml: unpacked in registry/src, or inside its .crate file in
    registry/cache (what `cargo fetch` leaves; a package of another platform is never
    unpacked)."""
    for m in glob.glob(os.path.join(cargo_home, "registry", "src", "*", name, "Cargo.toml")):
        with open(m, "rb") as f:
            return tomllib.load(f)
    for c in glob.glob(os.path.join(cargo_home, "registry", "cache", "*", name + ".crate")):
        with tarfile.open(c) as t:
            f = t.extractfile(f"{name}/Cargo.toml")
            if f is not None:
                return tomllib.load(f)
    return None


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with open(os.path.join(root, "Cargo.toml"), "rb") as f:
        workspace = tomllib.load(f)
    declared_text = workspace["workspace"]["package"]["rust-version"]
    declared = version(declared_text)
    problems = []
    for member in workspace["workspace"]["members"]:
        with open(os.path.join(root, member, "Cargo.toml"), "rb") as f:
            package = tomllib.load(f)["package"]
        if package.get("rust-version") != {"workspace": True}:
            problems.append(f"{member}: add `rust-version.workspace = true` to [package]")
    cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    with open(os.path.join(root, "Cargo.lock"), "rb") as f:
        lock = tomllib.load(f)
    checked = 0
    newest = ((0, 0, 0), "none")
    for p in lock["package"]:
        if not p.get("source", "").startswith("registry+"):
            continue
        name = f"{p['name']}-{p['version']}"
        manifest = manifest_of(cargo_home, name)
        if manifest is None:
            problems.append(f"{name}: not in {cargo_home}/registry (run `cargo fetch`)")
            continue
        needs = manifest.get("package", {}).get("rust-version")
        checked += 1
        if not isinstance(needs, str):
            continue
        if version(needs) > newest[0]:
            newest = (version(needs), f"{name} ({needs})")
        if version(needs) > declared:
            problems.append(f"{name} needs Rust {needs}, newer than rust-version {declared_text}")
    for p in problems:
        print(f"rust-version: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"rust-version {declared_text}: {checked} locked packages, the most demanding {newest[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
