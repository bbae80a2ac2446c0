#!/usr/bin/env bash
# Runs every test. Usage: ./test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")"
# The SCIM tests run against scim2-server from PyPI: a pinned venv in target/scim-venv
# (installed once, reinstalled when tests/scim/requirements.txt changes; needs python3-venv).
tests/scim/start.sh --install-only
# actionlint, zizmor (they lint the CI recipes and workflows) and maturin (builds the wheel):
# pinned, from PyPI wheels that carry the binaries, into target/tools-venv.
tests/tools/install.sh
# The wheel, built before the suite runs (tests/distribution.rs installs and runs it).
tests/tools/build-wheel.sh
cargo test --locked --workspace "$@"
