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
# Its own target dir, kept between runs so a second run compiles only the
# crate itself, not its dependencies. The extracted files get a fresh mtime:
# cargo judges a path crate's freshness by its files' times relative to its
# root, and a tarball's stored times could make an older build look current.
find . -type f -exec touch {} +
export CARGO_TARGET_DIR="$OLDPWD/target/packaged"
cargo test --quiet --locked
cargo test --quiet --locked --all-features

# A fresh host project that depends on the unpacked crate alone (no chrono
# of its own): each Rust block of the crate's README as its main, run from
# the crate's folder, where the README's data/ paths lead.
host="$work/host"
mkdir -p "$host/src"
cat > "$host/Cargo.toml" <<TOML
[package]
name = "a-host"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
offboard = { path = "$work/offboard-${version}" }

[workspace]
TOML
python3 - "$work/offboard-${version}/README.md" "$host/src" <<'PY'
import re, sys, pathlib
readme, out = sys.argv[1], pathlib.Path(sys.argv[2])
blocks = re.findall(r"```rust\n(.*?)```", open(readme).read(), re.S)
if not blocks:
    raise SystemExit("the crate README has no rust block")
for i, block in enumerate(blocks):
    body = "\n".join(l for l in block.splitlines() if not l.startswith("# "))
    uses = "\n".join(l for l in body.splitlines() if l.startswith("use "))
    rest = "\n".join(l for l in body.splitlines() if not l.startswith("use "))
    (out.parent / "examples").mkdir(exist_ok=True)
    (out.parent / "examples" / f"tour{i}.rs").write_text(
        f"{uses}\n\nfn main() -> Result<(), Box<dyn std::error::Error>> {{\n{rest}\n    Ok(())\n}}\n")
(out / "main.rs").write_text("fn main() {}\n")
print(f"{len(blocks)} README blocks")
PY
for example in "$host"/examples/*.rs; do
  name=$(basename "$example" .rs)
  (cd "$work/offboard-${version}" && cargo run --quiet --manifest-path "$host/Cargo.toml" --example "$name" > /dev/null)
  echo "the crate README's $name runs in a fresh host project"
done
