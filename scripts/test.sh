#!/usr/bin/env bash
# The whole test suite: unit, property, store conformance, real-binary and real-HTTP
# tests, the seeded simulation, and the TAXII interoperability tests with the Python
# ecosystem's own clients (taxii2-client, stix2-validator) when the virtualenv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then
  export LIAISON_PYTHON="$PWD/.venv/bin/python"
fi
cargo build --release --bin liaison
export LIAISON_BIN="$PWD/target/release/liaison"
cargo test --workspace --release -- --test-threads=2
