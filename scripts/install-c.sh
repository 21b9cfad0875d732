#!/usr/bin/env bash
# Installs Offboard's C library into a prefix:
#   include/offboard.h
#   lib/liboffboard.so.X.Y.Z, with the links lib/liboffboard.so.0.Y (its
#     SONAME, what programs load) and lib/liboffboard.so (what -loffboard finds)
#   lib/liboffboard.a
#   lib/pkgconfig/offboard.pc
#   ./scripts/install-c.sh [PREFIX]        (default: /usr/local)
# Then: cc app.c $(pkg-config --cflags --libs offboard)
# The .pc file records an rpath to PREFIX/lib, so a program built with it
# finds the library without LD_LIBRARY_PATH or ldconfig, wherever PREFIX is.
set -euo pipefail

# The prefix, made absolute from where the script was called.
prefix="${1:-/usr/local}"
case "$prefix" in
  *[[:space:]]*)
    # pkg-config's flags are split at spaces by every shell that uses them.
    echo "install-c.sh: the prefix '$prefix' has a space in it, which pkg-config's flags cannot carry; choose another" >&2
    exit 2 ;;
esac
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
cd "$(dirname "$0")/.."
cargo build --release --quiet -p offboard-ffi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
soname=$(readelf -d target/release/liboffboard.so | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ -z "$soname" ]; then
  echo "target/release/liboffboard.so has no SONAME" >&2
  exit 1
fi
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 bindings-c/include/offboard.h "$prefix/include/offboard.h"
install -m 755 target/release/liboffboard.so "$prefix/lib/liboffboard.so.$version"
ln -sf "liboffboard.so.$version" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/liboffboard.so"
install -m 644 target/release/liboffboard.a "$prefix/lib/liboffboard.a"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings-c/offboard.pc.in > "$prefix/lib/pkgconfig/offboard.pc"
echo "installed offboard $version ($soname) into $prefix"
