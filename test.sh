#!/usr/bin/env bash
# Runs every test. Usage: ./test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")"
cargo test --locked --workspace "$@"
