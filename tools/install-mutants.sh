#!/usr/bin/env bash
# Installs cargo-mutants (mutation testing for the Rust crate, `make mutants`)
# from crates.io when it is missing. Building it takes a few minutes on 2 cores.
set -euo pipefail
CARGO=${CARGO:-cargo}
if "$CARGO" mutants --version >/dev/null 2>&1; then
    "$CARGO" mutants --version
    exit 0
fi
echo "installing cargo-mutants (cargo install --locked cargo-mutants)"
nice -n 19 "$CARGO" install --locked cargo-mutants ${MUTANTS_VERSION:+--version "$MUTANTS_VERSION"}
"$CARGO" mutants --version
