#!/usr/bin/env bash
# Start-up benchmark: the release `hello` example answering one GET, side by side with
# a hand-written floor (bench/floor.rs) that prints the same bytes and nothing else.
# Both are built twice: with this workspace's release profile (lto = true,
# codegen-units = 1), and with Cargo's default one (lto = false, codegen-units = 16), which
# is what a script crate of one's own gets unless its Cargo.toml says otherwise (a
# dependency's profile settings are not inherited). DEFAULT_PROFILE=0 skips the second.
#
#   (a) user-space instructions under valgrind --tool=callgrind (deterministic),
#   (b) wall time over many spawns (hyperfine -N, or a timed loop without it),
#       with Python's wsgiref CGIHandler (bench/hello_wsgi.py) as a reference point.
#
# Run from anywhere: `bash bench/startup.sh`. It is a benchmark, not a gate: it exits 0
# whatever the figures. Knobs (environment): WARMUP (50), RUNS (1000) for the Rust
# programs; PY_WARMUP (5), PY_RUNS (200) for Python; TOP (15) functions listed when the
# instruction ratio is over the goal, or always with SHOW_TOP=1. See bench/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

WARMUP=${WARMUP:-50}
RUNS=${RUNS:-1000}
PY_WARMUP=${PY_WARMUP:-5}
PY_RUNS=${PY_RUNS:-200}
TOP=${TOP:-15}
DEFAULT_PROFILE=${DEFAULT_PROFILE:-1}
SHOW_TOP=${SHOW_TOP:-0}
GOAL=1.15    # hello/floor, from the issue; the old `cgi` crate 0.8 is at 1.34x
PYTHON=/usr/bin/python3

# The one CGI environment every program runs with (`env -i`, stdin </dev/null, stdout >/dev/null).
CGI_ENV=(
    REQUEST_METHOD=GET
    SERVER_NAME=localhost
    SERVER_PORT=80
    SERVER_PROTOCOL=HTTP/1.1
    QUERY_STRING=a=1
    SCRIPT_NAME=/cgi-bin/hello
    GATEWAY_INTERFACE=CGI/1.1
    REMOTE_ADDR=127.0.0.1
)

say() { printf '%s\n' "$*"; }
warn() { printf 'startup.sh: %s\n' "$*" >&2; }
# ratio A B -> "1.234" (A/B), or "n/a"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else printf "n/a" }'; }
# thousands separators for an integer
commas() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
# seconds -> "0.512 ms"
ms() { awk -v s="$1" 'BEGIN { printf "%.3f ms", s * 1000 }'; }

# Install a Debian package if its command is missing and we may (root + apt-get).
ensure() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        warn "$cmd missing: apt-get install $pkg"
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg"; } >/dev/null 2>&1 \
            || warn "could not install $pkg"
    fi
    command -v "$cmd" >/dev/null 2>&1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cgikit-startup.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------- build
# hello is an example of the facade, the floor one of the cgikit-testing package (testing/).
say "building: cargo build --release --workspace --example hello --example bench_floor"
cargo build --release --workspace --example hello --example bench_floor --quiet
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
HELLO="$TARGET_DIR/release/examples/hello"
FLOOR="$TARGET_DIR/release/examples/bench_floor"
PY_SCRIPT="$PWD/bench/hello_wsgi.py"
for bin in "$HELLO" "$FLOOR"; do
    [ -x "$bin" ] || { warn "not built: $bin"; exit 0; }
done
# The same two programs as a script crate of one's own builds them: Cargo's default
# release profile, in a target directory of their own.
HELLO_DEFAULT="" FLOOR_DEFAULT=""
if [ "$DEFAULT_PROFILE" = 1 ]; then
    say "building: the same with Cargo's default release profile (lto = false, codegen-units = 16)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        cargo build --release --workspace --example hello --example bench_floor --quiet \
        --target-dir "$TARGET_DIR/startup-default-profile"
    HELLO_DEFAULT="$TARGET_DIR/startup-default-profile/release/examples/hello"
    FLOOR_DEFAULT="$TARGET_DIR/startup-default-profile/release/examples/bench_floor"
    for bin in "$HELLO_DEFAULT" "$FLOOR_DEFAULT"; do
        [ -x "$bin" ] || { warn "not built: $bin"; HELLO_DEFAULT="" FLOOR_DEFAULT=""; }
    done
fi

run_cgi() { env -i "${CGI_ENV[@]}" "$@" </dev/null; }

# Same bytes out, or the comparison means nothing.
run_cgi "$FLOOR" >"$TMP/floor.txt"
run_cgi "$HELLO" >"$TMP/hello.txt"
if ! cmp -s "$TMP/floor.txt" "$TMP/hello.txt"; then
    warn "hello and floor answer differently; figures below compare different work:"
    od -c "$TMP/hello.txt" | head -8 >&2
fi
for bin in "$HELLO_DEFAULT" "$FLOOR_DEFAULT"; do
    [ -n "$bin" ] || continue
    run_cgi "$bin" >"$TMP/default.txt"
    cmp -s "$TMP/floor.txt" "$TMP/default.txt" || warn "$bin answers differently from the floor"
done
HAVE_PY=0
if [ -x "$PYTHON" ]; then
    HAVE_PY=1
    run_cgi "$PYTHON" "$PY_SCRIPT" >"$TMP/python.txt" 2>"$TMP/python.err" || true
    cmp -s "$TMP/floor.txt" "$TMP/python.txt" \
        || warn "python wsgiref answers differently (see stderr: $(head -c 300 "$TMP/python.err"))"
fi

say ""
say "== cgikit start-up: release hello vs floor (lto = true, codegen-units = 1) =="
say "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
say "rustc:   $(rustc --version)"
say "binary sizes: hello $(commas "$(stat -c %s "$HELLO")") B, floor $(commas "$(stat -c %s "$FLOOR")") B"
if [ -n "$HELLO_DEFAULT" ]; then
    say "  default profile: hello $(commas "$(stat -c %s "$HELLO_DEFAULT")") B, floor $(commas "$(stat -c %s "$FLOOR_DEFAULT")") B"
fi

# ---------------------------------------------------------------- (a) callgrind
IR_RATIO=n/a
say ""
say "-- (a) user-space instructions: valgrind --tool=callgrind (deterministic) --"
# callgrind_ir NAME BIN [extra valgrind args] -> total Ir, from the out file's summary/totals line
callgrind_ir() {
    local name=$1 bin=$2
    shift 2
    local out="$TMP/callgrind.$name.out"
    if ! env -i "${CGI_ENV[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$@" \
        "$bin" </dev/null >/dev/null 2>"$TMP/valgrind.$name.log"; then
        warn "valgrind failed for $name:"
        tail -5 "$TMP/valgrind.$name.log" >&2
        return 1
    fi
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
if ensure valgrind valgrind; then
    FLOOR_IR=$(callgrind_ir floor "$FLOOR") || FLOOR_IR=
    HELLO_IR=$(callgrind_ir hello "$HELLO") || HELLO_IR=
    # --toggle-collect=main: only what runs inside the C `main` (Rust's runtime set-up,
    # the script, the response), without the dynamic loader, libc start-up and exit.
    FLOOR_MAIN=$(callgrind_ir floor.main "$FLOOR" --toggle-collect=main) || FLOOR_MAIN=
    HELLO_MAIN=$(callgrind_ir hello.main "$HELLO" --toggle-collect=main) || HELLO_MAIN=
    if [ -n "$FLOOR_IR" ] && [ -n "$HELLO_IR" ]; then
        IR_RATIO=$(ratio "$HELLO_IR" "$FLOOR_IR")
        MAIN_RATIO=$(ratio "${HELLO_MAIN:-0}" "${FLOOR_MAIN:-0}")
        printf '%-13s %14s %28s\n' program "total Ir" "inside main (--toggle-collect)"
        printf '%-13s %14s %28s\n' floor "$(commas "$FLOOR_IR")" "$(commas "${FLOOR_MAIN:-?}")"
        printf '%-13s %14s %28s\n' hello "$(commas "$HELLO_IR")" "$(commas "${HELLO_MAIN:-?}")"
        printf '%-13s %14s %28s\n' hello/floor "${IR_RATIO}x" "${MAIN_RATIO}x"
        printf '%-13s %14s\n' "hello-floor" "+$(commas $((HELLO_IR - FLOOR_IR)))"
    fi
    if [ -n "$HELLO_DEFAULT" ]; then
        FLOOR_D_IR=$(callgrind_ir floor.default "$FLOOR_DEFAULT") || FLOOR_D_IR=
        HELLO_D_IR=$(callgrind_ir hello.default "$HELLO_DEFAULT") || HELLO_D_IR=
        FLOOR_D_MAIN=$(callgrind_ir floor.default.main "$FLOOR_DEFAULT" --toggle-collect=main) || FLOOR_D_MAIN=
        HELLO_D_MAIN=$(callgrind_ir hello.default.main "$HELLO_DEFAULT" --toggle-collect=main) || HELLO_D_MAIN=
        if [ -n "$FLOOR_D_IR" ] && [ -n "$HELLO_D_IR" ]; then
            say "Cargo's default release profile (lto = false, codegen-units = 16):"
            printf '%-13s %14s %28s\n' floor "$(commas "$FLOOR_D_IR")" "$(commas "${FLOOR_D_MAIN:-?}")"
            printf '%-13s %14s %28s\n' hello "$(commas "$HELLO_D_IR")" "$(commas "${HELLO_D_MAIN:-?}")"
            printf '%-13s %14s %28s\n' hello/floor "$(ratio "$HELLO_D_IR" "$FLOOR_D_IR")x" \
                "$(ratio "${HELLO_D_MAIN:-0}" "${FLOOR_D_MAIN:-0}")x"
            [ -n "$HELLO_IR" ] && printf '%-13s %14s\n' "hello: default/workspace" "$(ratio "$HELLO_D_IR" "$HELLO_IR")x"
        fi
    fi
else
    say "(skipped: valgrind not available)"
fi

# Where hello's extra instructions go: exclusive Ir per function, hello minus floor
# (summed by function name across source files and objects).
if [ "$IR_RATIO" != n/a ] && command -v callgrind_annotate >/dev/null 2>&1 \
    && { [ "$SHOW_TOP" = 1 ] || awk -v r="$IR_RATIO" -v g="$GOAL" 'BEGIN { exit !(r > g) }'; }; then
    callgrind_annotate --threshold=100 "$TMP/callgrind.floor.out" >"$TMP/floor.ann" 2>/dev/null || true
    callgrind_annotate --threshold=100 "$TMP/callgrind.hello.out" >"$TMP/hello.ann" 2>/dev/null || true
    say ""
    say "top $TOP functions by extra Ir in hello (exclusive Ir; floor 0 = the floor does not have it):"
    printf '%10s %10s %10s  %s\n' "hello-floor" hello floor function
    awk '
        function parse(line,   ir, rest, p) {
            if (line !~ /^ *[0-9,]+ \( *[0-9.]+%\)  /) return 0
            ir = line; sub(/^ */, "", ir); sub(/ .*/, "", ir); gsub(/,/, "", ir)
            rest = line; sub(/^[^)]*\)  /, "", rest)
            if (rest == "PROGRAM TOTALS") return 0
            sub(/ \[[^]]*\]$/, "", rest)                      # the object file
            p = index(rest, ":"); if (p > 0) rest = substr(rest, p + 1)   # the source file
            KEY = rest; IR = ir + 0
            return 1
        }
        FNR == NR { if (parse($0)) floor[KEY] += IR; next }
        { if (parse($0)) hello[KEY] += IR }
        END {
            for (k in hello) {
                d = hello[k] - floor[k]
                if (d > 0) printf "%d\t%d\t%d\t%s\n", d, hello[k], floor[k] + 0, k
            }
        }' "$TMP/floor.ann" "$TMP/hello.ann" \
        | sort -t "$(printf '\t')" -k1,1nr | head -n "$TOP" \
        | awk -F '\t' '{ f = $4; if (length(f) > 90) f = substr(f, 1, 87) "..."
                         printf "%10d %10d %10d  %s\n", $1, $2, $3, f }'
fi

# ---------------------------------------------------------------- (b) wall time
WALL_RATIO=n/a
WALL_MED_RATIO=n/a
say ""
declare -A MEAN MEDIAN MIN
if ensure hyperfine hyperfine; then
    say "-- (b) wall time per spawn: hyperfine -N --warmup $WARMUP --runs $RUNS (python: --warmup $PY_WARMUP --runs $PY_RUNS) --"
    # hyperfine itself runs under `env -i` with the CGI environment, so the programs
    # inherit it with no `env` exec in the timed path (hyperfine adds one variable,
    # HYPERFINE_RANDOMIZED_ENVIRONMENT_OFFSET, to vary the stack alignment).
    # Its default stdin is /dev/null and --output=null sends stdout to /dev/null.
    hf() { env -i "${CGI_ENV[@]}" "$(command -v hyperfine)" -N --style basic --output=null "$@"; }
    DEFAULT_COMMANDS=()
    if [ -n "$HELLO_DEFAULT" ]; then
        DEFAULT_COMMANDS=(--command-name "floor (default profile)" "'$FLOOR_DEFAULT'"
            --command-name "hello (default profile)" "'$HELLO_DEFAULT'")
    fi
    hf --warmup "$WARMUP" --runs "$RUNS" --export-csv "$TMP/rust.csv" \
        --command-name floor "'$FLOOR'" --command-name hello "'$HELLO'" "${DEFAULT_COMMANDS[@]}" \
        >"$TMP/hyperfine.log" 2>&1 \
        || { warn "hyperfine failed:"; tail -5 "$TMP/hyperfine.log" >&2; }
    if [ "$HAVE_PY" = 1 ]; then
        hf --warmup "$PY_WARMUP" --runs "$PY_RUNS" --export-csv "$TMP/python.csv" \
            --command-name "python wsgiref" "'$PYTHON' '$PY_SCRIPT'" >>"$TMP/hyperfine.log" 2>&1 \
            || { warn "hyperfine failed for python:"; tail -5 "$TMP/hyperfine.log" >&2; }
    fi
    # CSV: command,mean,stddev,median,user,system,min,max (seconds)
    for csv in "$TMP/rust.csv" "$TMP/python.csv"; do
        [ -f "$csv" ] || continue
        while IFS=, read -r name mean _ median _ _ min _; do
            [ "$name" = command ] && continue
            MEAN[$name]=$mean MEDIAN[$name]=$median MIN[$name]=$min
        done <"$csv"
    done
else
    say "-- (b) wall time per spawn: timed bash loop (no hyperfine), warmup $WARMUP, runs $RUNS --"
    # timeloop NAME WARMUP RUNS CMD... : one spawn per iteration, timed with EPOCHREALTIME
    # inside a shell that itself runs under `env -i` (bash adds PWD, SHLVL and _ to the
    # children's environment; the loop's fork overhead is in every figure).
    timeloop() {
        local name=$1 warm=$2 runs=$3
        shift 3
        # shellcheck disable=SC2016 # expanded by the inner bash
        env -i "${CGI_ENV[@]}" /bin/bash -c '
            warm=$1 runs=$2; shift 2
            for ((i = 0; i < warm; i++)); do "$@" </dev/null >/dev/null; done
            for ((i = 0; i < runs; i++)); do
                t0=$EPOCHREALTIME; "$@" </dev/null >/dev/null; t1=$EPOCHREALTIME
                echo "${t0/./} ${t1/./}"
            done' _ "$warm" "$runs" "$@" \
            | awk '{ print ($2 - $1) / 1e6 }' | sort -g >"$TMP/loop.$name"
        MEAN[$name]=$(awk '{ s += $1 } END { printf "%.9f", s / NR }' "$TMP/loop.$name")
        MEDIAN[$name]=$(awk '{ v[NR] = $1 } END { printf "%.9f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$TMP/loop.$name")
        MIN[$name]=$(head -1 "$TMP/loop.$name")
    }
    timeloop floor "$WARMUP" "$RUNS" "$FLOOR"
    timeloop hello "$WARMUP" "$RUNS" "$HELLO"
    if [ -n "$HELLO_DEFAULT" ]; then
        timeloop "floor (default profile)" "$WARMUP" "$RUNS" "$FLOOR_DEFAULT"
        timeloop "hello (default profile)" "$WARMUP" "$RUNS" "$HELLO_DEFAULT"
    fi
    if [ "$HAVE_PY" = 1 ]; then
        timeloop "python wsgiref" "$PY_WARMUP" "$PY_RUNS" "$PYTHON" "$PY_SCRIPT"
    fi
fi
if [ -n "${MEAN[floor]:-}" ] && [ -n "${MEAN[hello]:-}" ]; then
    printf '%-25s %12s %12s %12s %12s\n' program mean median min "mean/floor"
    for name in floor hello "floor (default profile)" "hello (default profile)" "python wsgiref"; do
        [ -n "${MEAN[$name]:-}" ] || continue
        # Each build against its own floor.
        base=floor
        case $name in *"(default profile)") base="floor (default profile)" ;; esac
        printf '%-25s %12s %12s %12s %12s\n' "$name" "$(ms "${MEAN[$name]}")" \
            "$(ms "${MEDIAN[$name]}")" "$(ms "${MIN[$name]}")" "$(ratio "${MEAN[$name]}" "${MEAN[$base]}")x"
    done
    WALL_RATIO=$(ratio "${MEAN[hello]}" "${MEAN[floor]}")
    WALL_MED_RATIO=$(ratio "${MEDIAN[hello]}" "${MEDIAN[floor]}")
    printf '%-25s %12s %12s\n' hello/floor "${WALL_RATIO}x" "${WALL_MED_RATIO}x"
    say "(wall time is noisy on a small shared machine: $(nproc) cores; trust (a) for small differences)"
fi

# ---------------------------------------------------------------- verdict
say ""
say "goal: hello within ${GOAL}x of the floor (the old cgi crate 0.8 is at 1.34x)"
say "hello/floor instructions: ${IR_RATIO}x"
say "hello/floor wall: ${WALL_RATIO}x (mean; median ${WALL_MED_RATIO}x)"
exit 0
