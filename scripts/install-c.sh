#!/usr/bin/env bash
# Installs Offboard's C library into a prefix: include/offboard.h,
# lib/liboffboard.so and lib/liboffboard.a, and lib/pkgconfig/offboard.pc.
#   ./scripts/install-c.sh [PREFIX]        (default: /usr/local)
# Then: cc app.c $(pkg-config --cflags --libs offboard)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${1:-/usr/local}"
cargo build --release --quiet -p offboard-ffi
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 bindings-c/include/offboard.h "$prefix/include/offboard.h"
install -m 755 target/release/liboffboard.so "$prefix/lib/liboffboard.so"
install -m 644 target/release/liboffboard.a "$prefix/lib/liboffboard.a"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings-c/offboard.pc.in > "$prefix/lib/pkgconfig/offboard.pc"
echo "installed offboard $version into $prefix"
