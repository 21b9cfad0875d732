#!/usr/bin/env bash
# The Restate example's tests (examples/restate), inside a loopback-only
# network namespace this script makes: restate-server calls a public address
# at start-up (a release check no setting turns off), so no server, SDK
# process or client of these tests ever runs on the host network. The tests
# themselves refuse to start a server when they see any interface but `lo`.
#
# Installs, guarded: restate-server, restatectl and the restate CLI (npm
# packages, pinned) into target/restate/. Builds the example and its tests
# outside the namespace (cargo needs the registry), then runs the test
# binaries inside it.
set -euo pipefail
cd "$(dirname "$0")/.."

RESTATE_VERSION=1.7.12
dir=target/restate
mkdir -p "$dir"
for package in restate-server restatectl restate; do
  # The version from the package's own manifest: no binary runs on the host network, not even for --version.
  installed=$(node -p "require('./$dir/$package/package.json').version" 2>/dev/null || true)
  if [ "$installed" != "${RESTATE_VERSION}" ] || [ ! -x "$dir/$package/bin/$package" ]; then
    tarball=$(cd "$dir" && npm pack --silent "@restatedev/${package}-linux-x64@${RESTATE_VERSION}")
    rm -rf "${dir:?}/$package"
    mkdir -p "$dir/$package"
    tar -xzf "$dir/$tarball" -C "$dir/$package" --strip-components=1
    rm -f "$dir/$tarball"
  fi
done
export OFFBOARD_RESTATE_BIN="$PWD/$dir"

# The endpoint binary, the offboard CLI (the three-node test compares with
# `offboard simulate`) and the test binaries, built here.
# `OFFBOARD_RESTATE_PROFILE=release` (scripts/bench.sh) builds them
# optimised; offboard-service brings offboard-load, which the throughput
# harness runs beside Restate.
profile=${OFFBOARD_RESTATE_PROFILE:-debug}
if [ "$profile" = release ]; then release=(--release); else release=(); fi
cargo build --quiet "${release[@]}" -p offboard-restate -p offboard-cli -p offboard-service
tests=$(cargo test --quiet -p offboard-restate --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
export OFFBOARD_RESTATE_ENDPOINT="$PWD/target/$profile/offboard-restate" \
  OFFBOARD_CLI="$PWD/target/$profile/offboard" OFFBOARD_LOAD="$PWD/target/$profile/offboard-load"

# The namespace: a process holding it, loopback up, removed on exit. As
# root a network namespace alone; otherwise inside a user namespace too.
if [ "$(id -u)" = 0 ]; then
  unshare_flags=(-n) nsenter_flags=(-n)
else
  unshare_flags=(-r -n) nsenter_flags=(-U -n --preserve-credentials)
fi
unshare "${unshare_flags[@]}" setsid sleep infinity &
ns=$!
trap 'kill "$ns" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  [ "$(readlink /proc/$ns/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
  sleep 0.1
done
if [ "$(readlink /proc/$ns/ns/net)" = "$(readlink /proc/self/ns/net)" ]; then
  echo "could not make a network namespace (unshare -n): refusing to run restate-server" >&2
  exit 1
fi
nsenter -t "$ns" "${nsenter_flags[@]}" ip link set lo up
status=0
for test in $tests; do
  # `scripts/test-restate.sh three_nodes` runs one test binary; the
  # throughput harness (a benchmark) runs only when named.
  name=$(basename "$test")
  case "$name" in "${1:-}"*) ;; *) continue ;; esac
  if [ -z "${1:-}" ] && [[ "$name" == throughput* ]]; then continue; fi
  nsenter -t "$ns" "${nsenter_flags[@]}" "$test" --include-ignored --test-threads 1 --nocapture || status=$?
done
exit "$status"
