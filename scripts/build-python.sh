#!/usr/bin/env bash
# Builds the Python package's wheel into target/python/dist: the release
# shared library copied into the package, then `pip wheel` (setuptools, in
# pip's isolated build environment). The wheel is tagged
# py3-none-manylinux_X_Y_<arch>, X.Y being the newest glibc the library needs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p offboard-ffi
package=examples/python
install -m 755 target/release/liboffboard.so "$package/src/offboard/liboffboard.so"
rm -rf target/python/dist "$package/build" "$package"/src/*.egg-info
# The manylinux tag the library earns: the newest glibc symbol version it
# needs (it links nothing else but the C library's own parts), on this arch.
glibc=$(objdump -T target/release/liboffboard.so | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
export OFFBOARD_WHEEL_PLATFORM="manylinux_${glibc//./_}_$(uname -m)"
python3 -m pip wheel --quiet --no-deps --wheel-dir target/python/dist "$package"
rm -rf "$package/build" "$package"/src/*.egg-info
ls target/python/dist/*.whl
