#!/usr/bin/env bash
# Compile time, side by side in one run: cold builds (empty target directory, dependencies
# already downloaded) of
#
#   script      a fresh one-file script crate on cgikit (the README's search example),
#   hand-rolled the same script on serde derive + serde_urlencoded only: it reads
#               QUERY_STRING and prints the CGI response by hand,
#   guestbook   the README's first command, `cargo run --example guestbook -- --serve`, on
#               a fresh `git clone` of this repository (its HEAD: commit first), built only
#               (`cargo build --example guestbook`),
#
# then the ratios, and the rebuild after editing the handler. Each cold build is repeated
# ROUNDS times (default 3), the rows alternating within a round; the figures are medians.
# Debug for all rows (what `cargo run` builds), release for the two scripts. It reports;
# it does not gate.
#
#   bash bench/compile_time.sh
#   ROUNDS=5 bash bench/compile_time.sh
#   FEATURE_ROWS=1 bash bench/compile_time.sh   # also the script with cgikit's
#       default-features = false, and with `json` alone and `serve` alone (debug only)
#
# Every crate uses the versions pinned in this repository's Cargo.lock, so the rows compile
# the same serde, syn... and the figures compare like with like.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
FEATURE_ROWS=${FEATURE_ROWS:-0}
SCRIPT_GOAL=1.3    # script / hand-rolled, cold debug
README_GOAL=1.5    # guestbook / script, cold debug

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgikit-compile-time.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM # and so through the EXIT trap
# Each build gets its own target directory below; nothing else (an exported
# CARGO_TARGET_DIR, a build cache wrapper) may make a cold build warm.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

say() { printf '%s\n' "$*"; }
warn() { printf 'compile_time.sh: %s\n' "$*" >&2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
median() { # median VALUE...
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
              else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------- the crates
# new_crate DIR DEPENDENCIES: a binary crate `script` in DIR, pinned by this repo's lock.
new_crate() {
    mkdir -p "$1/src"
    cat > "$1/Cargo.toml" <<TOML
[package]
name = "script"
version = "0.1.0"
edition = "2024"

[dependencies]
$2
TOML
    # Cargo keeps the versions it can use and drops the rest.
    cp "$ROOT/Cargo.lock" "$1/Cargo.lock"
}

write_script() { # write_script DIR GREETING
    cat > "$1/src/main.rs" <<RUST
use cgi::{Html, Query};

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

#[cgi::main]
fn search(Query(search): Query<Search>) -> Html<String> {
    Html(format!("<p>$2 {}</p>", cgi::html::escape(&search.q)))
}
RUST
}

write_hand_rolled() { # write_hand_rolled DIR GREETING
    cat > "$1/src/main.rs" <<RUST
use std::io::Write;

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn main() {
    let query = std::env::var("QUERY_STRING").unwrap_or_default();
    let (status, content_type, body) = match serde_urlencoded::from_str::<Search>(&query) {
        Ok(search) => (
            "200 OK",
            "text/html; charset=utf-8",
            format!("<p>$2 {}</p>", escape(&search.q)),
        ),
        Err(error) => {
            eprintln!("invalid query string: {error}");
            ("400 Bad Request", "text/plain; charset=utf-8", format!("Invalid query string: {error}\n"))
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "Status: {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = out.flush();
}
RUST
}

SERDE='serde = { version = "1", features = ["derive"] }'
new_crate "$WORK/script" "cgikit = { path = \"$ROOT\" }
$SERDE"
write_script "$WORK/script" "You searched for"
new_crate "$WORK/hand" "$SERDE
serde_urlencoded = \"0.7\""
write_hand_rolled "$WORK/hand" "You searched for"
ROWS=(script hand guestbook)
declare -A DIR=([script]="$WORK/script" [hand]="$WORK/hand" [guestbook]="$WORK/clone")
declare -A BUILD=([guestbook]="--example guestbook")
declare -A LABEL=(
    [script]="script on cgikit (default features)"
    [hand]="hand-rolled: serde derive + serde_urlencoded"
    [guestbook]="README's first command: --example guestbook"
)
if [ "$FEATURE_ROWS" = 1 ]; then
    for features in none json serve; do
        if [ "$features" = none ]; then list='[]'; else list="[\"$features\"]"; fi
        new_crate "$WORK/script-$features" \
            "cgikit = { path = \"$ROOT\", default-features = false, features = $list }
$SERDE"
        write_script "$WORK/script-$features" "You searched for"
        ROWS+=("script-$features")
        DIR[script-$features]="$WORK/script-$features"
        LABEL[script-$features]="script, cgikit features = $list"
    done
fi

# The README's first command on a fresh clone of this repository's HEAD.
git clone --quiet --no-hardlinks "$ROOT" "$WORK/clone"
git -C "$WORK/clone" checkout --quiet --detach "$(git rev-parse HEAD)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    warn "uncommitted changes: the guestbook row builds HEAD ($(git rev-parse --short HEAD)) without them"
fi

# Fetch once, so that the timings are of compiling only.
for row in "${ROWS[@]}"; do
    (cd "${DIR[$row]}" && cargo fetch --quiet)
done

# ---------------------------------------------------------------- the builds
# timed LOG COMMAND...: prints "WALL CPU" in seconds, CPU being the user + system time of the
# command and all it waited for (rustc, linkers, build scripts); its stderr goes to LOG.
# Wall time is the goal's figure; CPU time moves less when others share the machine.
timed() {
    local log=$1 started=$EPOCHREALTIME cpu
    shift
    # `times` in the subshell that ran the command: the second line is its children's.
    if ! cpu=$("$@" >/dev/null 2>"$log" || exit 1
        times >"$log.times"
        awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$log.times"); then
        warn "failed: $* (in $(pwd)):"
        tail -20 "$log" >&2
        exit 1
    fi
    awk -v a="$started" -v b="$EPOCHREALTIME" -v cpu="$cpu" 'BEGIN { printf "%.2f %s\n", b - a, cpu }'
}
# cold ROW PROFILE: one cold build, its wall and CPU times appended to TIMES[ROW.PROFILE]
# and CPU[ROW.PROFILE]; the crates it compiled (its "Compiling" lines) in CRATES[ROW.PROFILE].
declare -A TIMES CPU CRATES
cold() {
    local row=$1 profile=$2 target="$WORK/target-$1-$2" args wall cpu
    rm -rf "$target"
    read -r -a args <<<"${BUILD[$row]:-}"
    [ "$profile" = release ] && args+=(--release)
    read -r wall cpu < <(cd "${DIR[$row]}" && CARGO_TARGET_DIR="$target" timed "$WORK/log" cargo build "${args[@]}")
    [ -n "${cpu:-}" ] || exit 1
    TIMES[$row.$profile]="${TIMES[$row.$profile]:-} $wall"
    CPU[$row.$profile]="${CPU[$row.$profile]:-} $cpu"
    CRATES[$row.$profile]=$(grep -c '^ *Compiling ' "$WORK/log" || true)
}

say "cold builds: $ROUNDS rounds, rows alternating (debug: every row; release: the scripts)"
for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order each round, so no row always follows the same one.
    order=("${ROWS[@]:$(((round - 1) % ${#ROWS[@]}))}" "${ROWS[@]:0:$(((round - 1) % ${#ROWS[@]}))}")
    line="round $round:"
    for row in "${order[@]}"; do
        cold "$row" debug
        line+=" $row $(echo "${TIMES[$row.debug]}" | awk '{ print $NF }')s"
        if [ "$row" = script ] || [ "$row" = hand ]; then
            cold "$row" release
            line+=" (release $(echo "${TIMES[$row.release]}" | awk '{ print $NF }')s)"
        fi
    done
    say "$line"
done

# Both scripts answer the same request alike, or the comparison means nothing.
for row in script hand; do
    env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 QUERY_STRING='q=<b>' \
        "$WORK/target-$row-debug/debug/script" >"$WORK/$row.out" 2>/dev/null </dev/null || true
done
cmp -s "$WORK/script.out" "$WORK/hand.out" \
    || warn "the two scripts answer differently: $(head -c 200 "$WORK/hand.out" | od -c | head -3)"

# ---------------------------------------------------------------- the edit
# The rebuild after editing the handler, in the last cold build's target directory.
declare -A EDIT
write_script "$WORK/script" "Results for"
write_hand_rolled "$WORK/hand" "Results for"
for row in script hand; do
    for profile in debug release; do
        args=()
        [ "$profile" = release ] && args=(--release)
        EDIT[$row.$profile]=$(cd "${DIR[$row]}" \
            && CARGO_TARGET_DIR="$WORK/target-$row-$profile" timed "$WORK/log" cargo build "${args[@]}" \
            | awk '{ print $1 }')
    done
done

# ---------------------------------------------------------------- the table
declare -A MED MEDCPU
for key in "${!TIMES[@]}"; do
    # shellcheck disable=SC2086 # the times are lists
    MED[$key]=$(median ${TIMES[$key]})
    # shellcheck disable=SC2086
    MEDCPU[$key]=$(median ${CPU[$key]})
done
say ""
say "== cold builds (medians of $ROUNDS; empty target/, dependencies downloaded) =="
printf '%-46s %7s %7s %8s %7s\n' "" debug "(CPU)" release crates
for row in "${ROWS[@]}"; do
    printf '%-46s %6ss %6ss %8s %7s\n' "${LABEL[$row]}" "${MED[$row.debug]}" "${MEDCPU[$row.debug]}" \
        "${MED[$row.release]:+${MED[$row.release]}s}" "${CRATES[$row.debug]}"
done
printf '%-46s %6ss %7s %7ss\n' "script, after editing the handler" "${EDIT[script.debug]}" "" "${EDIT[script.release]}"
printf '%-46s %6ss %7s %7ss\n' "hand-rolled, after editing the handler" "${EDIT[hand.debug]}" "" "${EDIT[hand.release]}"
say "(CPU: user + system seconds of the build; crates: compiled by the debug build, the"
say " package itself included)"
say ""
say "== ratios (cold, debug: wall, and CPU in brackets) =="
# row_ratio A B: "1.23x (1.10x)"
row_ratio() { printf '%sx (%sx)' "$(ratio "${MED[$1.debug]}" "${MED[$2.debug]}")" \
    "$(ratio "${MEDCPU[$1.debug]}" "${MEDCPU[$2.debug]}")"; }
printf '%-46s %16s  goal <= %sx; release %sx\n' "script / hand-rolled" "$(row_ratio script hand)" \
    "$SCRIPT_GOAL" "$(ratio "${MED[script.release]}" "${MED[hand.release]}")"
printf '%-46s %16s  goal <= %sx\n' "README's first command / script" "$(row_ratio guestbook script)" "$README_GOAL"
printf '%-46s %16s\n' "README's first command / hand-rolled" "$(row_ratio guestbook hand)"
for row in "${ROWS[@]}"; do
    case $row in script-*)
        printf '%-46s %16s\n' "${LABEL[$row]#script, } / hand-rolled" "$(row_ratio "$row" hand)" ;;
    esac
done
say ""
say "every build, in order of the rounds (wall seconds; CPU seconds):"
for key in $(printf '%s\n' "${!TIMES[@]}" | sort); do
    printf '  %-20s%s;%s\n' "$key" "${TIMES[$key]}" "${CPU[$key]}"
done
say "machine: $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg); $(rustc --version)"
say "(wall time is noisy on a shared machine: compare rows within one run)"
