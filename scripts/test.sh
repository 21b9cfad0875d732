#!/usr/bin/env bash
# Installs what the tests need (each install guarded, so a second run skips it)
# and runs every check and test in the repository. CI runs this via .ci/run.
#
# The last line printed is the total over every test runner (cargo's test
# binaries, node --test, and the C and Python runners): "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen crate in bindings-wasm/Cargo.toml
CBINDGEN_VERSION=0.29.4      # the header in bindings-c/include is checked against this version's output
CARGO_FUZZ_VERSION=0.13.2    # builds the fuzz targets in tests/fuzz (with the nightly toolchain)
LOCALSTRIPE_VERSION=1.15.10  # the fake Stripe server the service's Stripe billing adapter is tested against
OPENAPI_VALIDATOR_VERSION=0.9.0 # checks the service's generated OpenAPI document

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends "$@"
  fi
}

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
if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen ${WASM_BINDGEN_VERSION}" ]; then
  # Prebuilt binaries cannot be downloaded here, and --locked fails for this crate.
  cargo install wasm-bindgen-cli --version "=${WASM_BINDGEN_VERSION}" --no-default-features --bin wasm-bindgen
fi
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen ${CBINDGEN_VERSION}" ]; then
  cargo install cbindgen --version "=${CBINDGEN_VERSION}" --locked
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz ${CARGO_FUZZ_VERSION}" ]; then
  cargo install cargo-fuzz --version "=${CARGO_FUZZ_VERSION}" --locked
fi
missing=()
for tool in python3 valgrind pkg-config cc c++ readelf objdump ip unshare nsenter curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  # cc and c++ come with build-essential, ip with iproute2, unshare and
  # nsenter (the Restate tests' network namespace) with util-linux; the
  # others are packages of their own name.
  packages=()
  for tool in "${missing[@]}"; do
    case "$tool" in
      cc | c++) packages+=(build-essential) ;;
      readelf | objdump) packages+=(binutils) ;;
      ip) packages+=(iproute2) ;;
      unshare | nsenter) packages+=(util-linux) ;;
      *) packages+=("$tool") ;;
    esac
  done
  apt_install "${packages[@]}"
fi
# OpenSSL's libcrypto: the C conformance replay checks digests with it, not with the library's own.
pkg-config --exists libcrypto || apt_install libssl-dev
# cJSON: the C tour (examples/c/tour.c) reads the library's JSON with it.
pkg-config --exists libcjson || apt_install libcjson-dev
# pip builds the Python package's wheel (scripts/build-python.sh).
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p')
if [ -z "${node_major}" ] || [ "${node_major}" -lt 20 ]; then
  apt_install nodejs npm
  node_major=$(node --version | sed -n 's/^v\([0-9]*\).*/\1/p')
  if [ "${node_major}" -lt 20 ]; then
    echo "Node 20 or newer is needed (found $(node --version))" >&2
    exit 1
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium # the browser test drives Debian's Chromium; browser downloads do not work here
fi
# PostgreSQL for the service's tests (examples/service). There is no init
# system here, so the script starts the server itself, and stops it at the end
# only if it started it. A server already running is reused.
PG_SOCKET=/var/run/postgresql
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt_install postgresql
fi
# pgbench: the sweep load's ceiling (scripts/pgbench-ceiling.sh, in the benchmarks' smoke pass).
command -v pgbench >/dev/null 2>&1 || apt_install postgresql-client
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_started="" log=""
cleanup() {
  if [ -n "$log" ]; then rm -f "$log"; fi
  if [ -n "$pg_started" ]; then as_root pg_ctlcluster "$pg_started" main stop || true; fi
}
trap cleanup EXIT
if ! pg_isready -q -h "$PG_SOCKET"; then
  pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^${pg_version} main$"; then
    as_root pg_createcluster "$pg_version" main
  fi
  as_root pg_ctlcluster "$pg_version" main start
  pg_started="$pg_version"
fi
export OFFBOARD_TEST_DATABASE_URL="postgres:///postgres?host=${PG_SOCKET}"
export OFFBOARD_REQUIRE_POSTGRES=1
if ! psql "$OFFBOARD_TEST_DATABASE_URL" -qtAc 'select 1' >/dev/null 2>&1; then
  # Connect over the Unix socket as a superuser role named after this user.
  as_root su postgres -c "psql -q -c 'create role \"$(id -un)\" superuser login'"
fi

# localstripe and openapi-spec-validator (PyPI), in a virtual environment of their own; the service's
# test starts it on 127.0.0.1 (examples/service/tests/peers/run_localstripe.py).
PEERS_VENV=target/python-peers
if [ "$("$PEERS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("localstripe"))' 2>/dev/null)" != "${LOCALSTRIPE_VERSION}" ]; then
  # Debian's own python3 keeps venv (with pip) in a package of its own.
  python3 -m ensurepip --version >/dev/null 2>&1 || apt_install python3-venv
  python3 -m venv "$PEERS_VENV"
  "$PEERS_VENV/bin/pip" install -q "localstripe==${LOCALSTRIPE_VERSION}"
fi
if [ "$("$PEERS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))' 2>/dev/null)" != "${OPENAPI_VALIDATOR_VERSION}" ]; then
  "$PEERS_VENV/bin/pip" install -q "openapi-spec-validator==${OPENAPI_VALIDATOR_VERSION}"
fi
export OFFBOARD_LOCALSTRIPE="$PWD/$PEERS_VENV/bin/python"
export OFFBOARD_REQUIRE_LOCALSTRIPE=1

if [ ! -d bindings-wasm/node_modules ] || [ bindings-wasm/package-lock.json -nt bindings-wasm/node_modules/.package-lock.json ]; then
  (cd bindings-wasm && npm ci --no-audit --no-fund)
fi
# The Node peers of the benchmarks (json-logic-js, XState): a folder of their
# own, so they never become dependencies of the package.
if [ ! -d tests/peers/node/node_modules ] || [ tests/peers/node/package-lock.json -nt tests/peers/node/node_modules/.package-lock.json ]; then
  (cd tests/peers/node && npm ci --no-audit --no-fund)
fi
cargo --version
echo "wasm-bindgen $(wasm-bindgen --version | cut -d' ' -f2), node $(node --version)"

# ------------------------------------------------------------------ checks
step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "docs (core denies missing docs; warnings are errors; with and without the schema feature)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p offboard
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p offboard --all-features

step "the service's OpenAPI document is valid OpenAPI 3.1"
"$PEERS_VENV/bin/python" -c 'import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))' examples/service/openapi.json

step "bad-input corpus matches its generator"
python3 tests/fixtures/bad/generate.py --check

# ------------------------------------------------------------------- tests
log=$(mktemp)
status=0

step "Rust tests (unit, acceptance, CLI, doctests; the service on SQLite and PostgreSQL)"
cargo test --workspace --no-fail-fast 2>&1 | tee -a "$log" || status=$?

step "crates as published: cargo publish --dry-run, then the packaged offboard's own tests"
./scripts/test-package.sh 2>&1 | tee -a "$log" || status=$?

step "Restate example: one node, then three nodes losing one (a loopback-only network namespace)"
./scripts/test-restate.sh 2>&1 | tee -a "$log" || status=$?

step "WebAssembly package: build"
./scripts/build-wasm.sh

step "WebAssembly package: Node and browser tests"
mkdir -p target/screenshots
(cd bindings-wasm && node --test test/*.test.mjs) 2>&1 | tee -a "$log" || status=$?

step "fuzz targets build (RELIABILITY.md gives the commands for long runs)"
cargo +nightly fuzz build --fuzz-dir tests/fuzz

step "C ABI: header, C tests under valgrind, C++ build, install recipe, Python host"
./scripts/test-c.sh 2>&1 | tee -a "$log" || status=$?

step "benchmarks: smoke pass (each harness runs briefly; nothing is timed or written)"
OFFBOARD_BENCH_QUICK=1 ./scripts/bench.sh || status=$?

cargo_passed=$(sed -n 's/^test result: .*\. \([0-9][0-9]*\) passed; .*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
cargo_failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) failed;.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
# node --test, the C runner and the Python runner each print "# pass N" / "# fail M".
other_passed=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
other_failed=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
passed=$((cargo_passed + other_passed))
failed=$((cargo_failed + other_failed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "a test runner failed before all its tests ran (exit $status)" >&2
fi
echo
echo "Rust: ${cargo_passed} passed, ${cargo_failed} failed; Node, C and Python: ${other_passed} passed, ${other_failed} failed"
echo "${passed} passed, ${failed} failed"
exit "$status"
