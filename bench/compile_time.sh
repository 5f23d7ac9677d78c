#!/usr/bin/env bash
# Compile time of a fresh script crate that depends on cgikit: a cold build (empty target
# directory, dependencies already downloaded), then a rebuild after editing the handler.
# Debug and release. It reports; it does not gate.
#
#   bash bench/compile_time.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/script/src"
cat > "$WORK/script/Cargo.toml" <<TOML
[package]
name = "script"
version = "0.1.0"
edition = "2024"

[dependencies]
cgikit = { path = "$ROOT" }
serde = { version = "1", features = ["derive"] }
TOML
write_handler() { # write_handler GREETING
    cat > "$WORK/script/src/main.rs" <<RUST
use cgi::{Html, Query};

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

#[cgi::main]
fn search(Query(search): Query<Search>) -> Html<String> {
    Html(format!("<p>$1 {}</p>", cgi::html::escape(&search.q)))
}
RUST
}

seconds() { # seconds COMMAND...: wall seconds of the command
    local started=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

cd "$WORK/script"
write_handler "You searched for"
# Fetch once, so that the timings are of compiling only.
cargo fetch --quiet

printf '%-44s %8s %8s\n' "" debug release
cold_debug=$(seconds cargo build)
cold_release=$(seconds cargo build --release)
printf '%-44s %7ss %7ss\n' "cold build (empty target/)" "$cold_debug" "$cold_release"
write_handler "Results for"
edit_debug=$(seconds cargo build)
edit_release=$(seconds cargo build --release)
printf '%-44s %7ss %7ss\n' "after editing the handler" "$edit_debug" "$edit_release"
crates=$(cargo tree --prefix none -e normal,build | sort -u | wc -l)
echo "crates built: $crates (cargo tree -e normal,build, the script included)"
echo "machine: $(nproc) cores; 2 noisy cores here: compare within one run"
