#!/usr/bin/env bash
# Regenerates every checked-in artifact from the code: the JSON Schemas, the
# preset policy files, the bad-input corpus, the npm package's TypeScript
# declarations, the C header and the README's state diagram.
# The test suite fails when any of them drifts; run this, then review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run -q -p offboard-cli -- schema schema
for preset in cascade prerequisite; do
  cargo run -q -p offboard-cli -- policy "$preset" > "examples/data/policies/$preset.json"
done
python3 tests/fixtures/bad/generate.py
cargo run -q -p offboard-cli -- typescript > bindings-wasm/npm/types.d.ts
cbindgen --quiet --config bindings-c/cbindgen.toml --crate offboard-ffi --output bindings-c/include/offboard.h
cargo run -q -p offboard-cli -- diagram > target/diagram.mmd
python3 - <<'PY'
import re
readme = open("README.md").read()
diagram = open("target/diagram.mmd").read()
updated, n = re.subn(r"```mermaid\n.*?```", lambda _: "```mermaid\n" + diagram + "```", readme, count=1, flags=re.S)
if n != 1:
    raise SystemExit("README.md has no ```mermaid block to update")
open("README.md", "w").write(updated)
print("README.md diagram updated")
PY
cargo run -q -p offboard-service -- --endpoints > target/endpoints.md
python3 - <<'PY'
import re
path = "examples/service/README.md"
readme = open(path).read()
table = open("target/endpoints.md").read()
updated, n = re.subn(r"(<!-- endpoints:begin[^\n]*-->\n).*?(<!-- endpoints:end -->)",
                     lambda m: m.group(1) + table + m.group(2), readme, count=1, flags=re.S)
if n != 1:
    raise SystemExit(path + " has no endpoints:begin/end markers")
open(path, "w").write(updated)
print(path + " endpoint table updated")
PY
cargo run -q -p offboard-service -- --openapi > examples/service/openapi.json
echo "examples/service/openapi.json updated"
