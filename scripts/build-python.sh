#!/usr/bin/env bash
# Builds the Python package's wheel into target/python/dist: the release
# shared library copied into the package, then `pip wheel` (setuptools, in
# pip's isolated build environment). The wheel is tagged py3-none-<platform>.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p offboard-ffi
package=examples/python
install -m 755 target/release/liboffboard.so "$package/src/offboard/liboffboard.so"
rm -rf target/python/dist "$package/build" "$package"/src/*.egg-info
python3 -m pip wheel --quiet --no-deps --wheel-dir target/python/dist "$package"
rm -rf "$package/build" "$package"/src/*.egg-info
ls target/python/dist/*.whl
