#!/usr/bin/env bash
# Runs every test. Usage: ./test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")"
# The SCIM tests run against scim2-server from PyPI: a pinned venv in target/scim-venv
# (installed once, reinstalled when tests/scim/requirements.txt changes; needs python3-venv).
tests/scim/start.sh --install-only
cargo test --locked --workspace "$@"
