#!/usr/bin/env bash
# The whole test suite: unit, property, store conformance, real-binary and real-HTTP
# tests, the seeded simulation, and the TAXII interoperability tests with the Python
# ecosystem's own clients (taxii2-client, stix2-validator), installed into .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
# The interoperability tests need the Python clients: install them (once) so that no
# test is skipped on a fresh clone.
scripts/setup-python.sh
export LIAISON_PYTHON="$PWD/.venv/bin/python"
cargo build --release --bin liaison
export LIAISON_BIN="$PWD/target/release/liaison"
cargo test --workspace --release -- --test-threads=2
