#!/usr/bin/env bash
# Builds the rollcall wheel (pyproject.toml, maturin `bindings = "bin"`) into target/wheels/,
# with the dev profile and the shared target dir: right after `cargo build` or `cargo run`
# (as .ci/run does) cargo finds the binary up to date, so this takes seconds. ./test.sh runs it
# BEFORE `cargo test`: run concurrently with the suite, cargo would relink target/debug/rollcall
# (the workspace build unifies features differently) under the tests' feet.
# tests/distribution.rs installs the wheel into a fresh venv and runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/tests/tools/install.sh"
rm -rf "$root/target/wheels"
"$root/target/tools-venv/bin/maturin" build --locked --profile dev --quiet --manifest-path "$root/Cargo.toml" \
  --out "$root/target/wheels" >&2
