#!/usr/bin/env bash
# The crates as crates.io would get them: `cargo publish --dry-run` of every
# crate meant for crates.io (offboard, offboard-cli), then the packaged
# `offboard` .crate unpacked outside the workspace and its own tests (unit,
# doctests, with and without the `schema` feature) run there, so a test that
# reaches outside the package cannot hide.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo publish --dry-run --quiet --allow-dirty -p offboard -p offboard-cli

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# The dry run leaves the .crate files it verified in target/package/tmp-crate.
crate="target/package/tmp-crate/offboard-${version}.crate"
test -f "$crate" || { echo "no $crate after the dry run" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$crate" -C "$work"
cd "$work/offboard-${version}"
# Its own target dir, kept between runs so a second run compiles little.
export CARGO_TARGET_DIR="$OLDPWD/target/packaged"
cargo test --quiet --locked
cargo test --quiet --locked --all-features
