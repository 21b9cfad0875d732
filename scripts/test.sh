#!/usr/bin/env bash
# Installs what the tests need (each install guarded, so a second run skips it)
# and runs every check and test in the repository. CI runs this via .ci/run.
#
# The last line printed is the total over every test binary cargo ran:
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- installs
step "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends python3
fi
cargo --version

# ------------------------------------------------------------------ checks
step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "docs (core denies missing docs; warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p offboard

step "bad-input corpus matches its generator"
python3 tests/fixtures/bad/generate.py --check

# ------------------------------------------------------------------- tests
step "tests (unit, acceptance, CLI, doctests)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?

passed=$(sed -n 's/^test result: .*\. \([0-9][0-9]*\) passed; .*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) failed;.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "cargo test failed before all tests ran (exit $status)" >&2
fi
echo
echo "${passed} passed, ${failed} failed"
exit "$status"
