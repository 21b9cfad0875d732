#!/usr/bin/env bash
# Builds the npm package's WebAssembly into bindings-wasm/npm/: compiles the
# crate with the size profile, runs wasm-bindgen (web target, which both
# entry points use), shrinks it with wasm-opt, copies the JSON Schemas, and
# prints the raw and gzipped sizes. Needs what scripts/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

out=bindings-wasm/npm/wasm
cargo build --quiet -p offboard-wasm --lib --target wasm32-unknown-unknown --profile wasm-release
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name offboard \
  target/wasm32-unknown-unknown/wasm-release/offboard_wasm.wasm
bindings-wasm/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue \
  "$out/offboard_bg.wasm" -o "$out/offboard_bg.opt.wasm"
mv "$out/offboard_bg.opt.wasm" "$out/offboard_bg.wasm"
rm -rf bindings-wasm/npm/schemas && cp -r schema bindings-wasm/npm/schemas
raw=$(stat -c %s "$out/offboard_bg.wasm")
gz=$(gzip -9 -c "$out/offboard_bg.wasm" | wc -c)
echo "offboard_bg.wasm: ${raw} bytes raw, ${gz} bytes gzipped"
