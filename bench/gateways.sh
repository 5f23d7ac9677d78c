#!/usr/bin/env bash
# The tokio feature's costs, side by side in one run:
#   (a) start-up instructions (callgrind, inside `main`, as bench/startup.sh counts them):
#       the floor, hello without the feature, hello WITH it (built into a target directory
#       of its own), and axum_app (an axum Router under cgi::service::run) answering
#       GET /hello/Ada as CGI. Goals: axum_app <= 1.5x the floor; hello with/without <= 1.15x.
#   (b) requests/second through one nginx (wrk): axum_app as CGI (fcgiwrap), as FastCGI
#       (--fastcgi, 16 workers), and the same Router under axum::serve (nginx proxy_pass).
#       Goal: FastCGI >= 10x CGI; HTTP reported.
#   (c) cold compile of a fresh script crate with the feature (an async fn), debug and
#       release; and the same crate without it.
# It reports; it does not gate. Knobs: ROUNDS (3), SECONDS_PER_POINT (5), CONNECTIONS (8),
# SKIP_COMPILE=1, SKIP_THROUGHPUT=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
SECONDS_PER_POINT=${SECONDS_PER_POINT:-5}
CONNECTIONS=${CONNECTIONS:-8}
PATH_SYS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '%s\n' "$*"; }
warn() { printf 'gateways.sh: %s\n' "$*" >&2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else printf "n/a" }'; }

TMP=$(mktemp -d /tmp/cgikit-gateways.XXXXXX)
chmod 755 "$TMP"
PIDS=()
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local e kids
    for e in "${PIDS[@]}"; do
        kids=""
        [ "${e%%:*}" = fcgiwrap ] && kids=$(pgrep -P "${e#*:}" | tr '\n' ' ' || true)
        stop_pid "${e#*:}"
        for k in $kids; do stop_pid "$k"; done
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
say "building: hello and the floor (root package, no tokio), axum_app and bench_axum_http (tokio),"
say "          and hello with --features tokio into $TARGET_DIR/bench-tokio"
cargo build --quiet --release --example hello --example bench_floor
cargo build --quiet --release -p cgikit-examples-tokio --example axum_app --example bench_axum_http
cargo build --quiet --release --example hello --features tokio --target-dir "$TARGET_DIR/bench-tokio"
HELLO=$TARGET_DIR/release/examples/hello
FLOOR=$TARGET_DIR/release/examples/bench_floor
HELLO_TOKIO=$TARGET_DIR/bench-tokio/release/examples/hello
AXUM=$TARGET_DIR/release/examples/axum_app
AXUM_HTTP=$TARGET_DIR/release/examples/bench_axum_http

# ------------------------------------------------------------------ (a) start-up
CGI_ENV=(REQUEST_METHOD=GET SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1
    QUERY_STRING=a=1 GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1)
ir() { # ir NAME BIN EXTRA_VAR...: Ir inside main
    local name=$1 bin=$2; shift 2
    env -i "${CGI_ENV[@]}" "$@" valgrind --tool=callgrind --toggle-collect=main \
        --callgrind-out-file="$TMP/$name.out" "$bin" </dev/null >"$TMP/$name.stdout" 2>"$TMP/$name.log" \
        || { warn "valgrind failed for $name"; tail -3 "$TMP/$name.log" >&2; echo 0; return; }
    awk '/^(summary|totals):/ { print $2; exit }' "$TMP/$name.out"
}
say ""
say "== (a) start-up: user-space instructions inside main (callgrind) =="
say "machine: $(nproc) cores, $(uname -sr); $(rustc --version)"
if command -v valgrind >/dev/null; then
    F=$(ir floor "$FLOOR" SCRIPT_NAME=/cgi-bin/hello)
    H=$(ir hello "$HELLO" SCRIPT_NAME=/cgi-bin/hello)
    HT=$(ir hello_tokio "$HELLO_TOKIO" SCRIPT_NAME=/cgi-bin/hello)
    A=$(ir axum_app "$AXUM" SCRIPT_NAME=/cgi-bin/axum_app PATH_INFO=/hello/Ada)
    grep -q "Hello, Ada!" "$TMP/axum_app.stdout" || warn "axum_app did not answer: $(head -c 200 "$TMP/axum_app.stdout")"
    printf '%-26s %12s %10s\n' program "Ir in main" "x floor"
    printf '%-26s %12s %10s\n' floor "$F" 1.000
    printf '%-26s %12s %10s\n' "hello (no tokio)" "$H" "$(ratio "$H" "$F")"
    printf '%-26s %12s %10s\n' "hello (--features tokio)" "$HT" "$(ratio "$HT" "$F")"
    printf '%-26s %12s %10s\n' "axum_app GET /hello/Ada" "$A" "$(ratio "$A" "$F")"
    say "hello with/without tokio: $(ratio "$HT" "$H")x (goal <= 1.15x)"
    say "axum_app/floor: $(ratio "$A" "$F")x (goal <= 1.5x); axum_app/hello: $(ratio "$A" "$H")x"
    say "binary sizes: floor $(stat -c %s "$FLOOR") B, hello $(stat -c %s "$HELLO") B, hello+tokio $(stat -c %s "$HELLO_TOKIO") B, axum_app $(stat -c %s "$AXUM") B"
else
    say "(skipped: valgrind missing)"
fi

# ------------------------------------------------------------------ (b) requests/second
if [ "${SKIP_THROUGHPUT:-0}" != 1 ] && command -v wrk >/dev/null && [ -x /usr/sbin/nginx ] && [ -x /usr/sbin/fcgiwrap ]; then
    mkdir -p "$TMP/www/cgi-bin" "$TMP/run" "$TMP/logs"
    chmod 1777 "$TMP/run" "$TMP/logs"
    install -m 755 "$AXUM" "$TMP/www/cgi-bin/axum_app"
    RUN_AS=()
    [ "$(id -u)" = 0 ] && RUN_AS=(setpriv --reuid=www-data --regid=www-data --init-groups)
    env -i PATH=$PATH_SYS "${RUN_AS[@]}" /usr/sbin/fcgiwrap -f -c 4 -s "unix:$TMP/run/fcgiwrap.sock" >"$TMP/logs/fcgiwrap.log" 2>&1 &
    PIDS+=("fcgiwrap:$!")
    env -i PATH=$PATH_SYS "${RUN_AS[@]}" "$TMP/www/cgi-bin/axum_app" --fastcgi "unix:$TMP/run/axum.sock" >"$TMP/logs/axum_fcgi.log" 2>&1 &
    PIDS+=("axum_fcgi:$!")
    HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env -i PATH=$PATH_SYS "$AXUM_HTTP" "127.0.0.1:$HTTP_PORT" >"$TMP/logs/axum_http.log" 2>&1 &
    PIDS+=("axum_http:$!")
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$TMP/nginx.conf" <<EOF
daemon off; worker_processes 1; pid $TMP/run/nginx.pid; error_log $TMP/logs/nginx.log;
$( [ "$(id -u)" = 0 ] && echo "user www-data;" )
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/run/b; fastcgi_temp_path $TMP/run/f; proxy_temp_path $TMP/run/p;
  uwsgi_temp_path $TMP/run/u; scgi_temp_path $TMP/run/s;
  upstream http_app { server 127.0.0.1:$HTTP_PORT; keepalive 8; }
  server {
    listen 127.0.0.1:$PORT; root $TMP/www;
    location /cgi-bin/ {
      fastcgi_split_path_info ^(/cgi-bin/[^/]+)(.*)\$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_param SCRIPT_NAME \$fastcgi_script_name; fastcgi_param PATH_INFO \$fastcgi_path_info;
      fastcgi_pass unix:$TMP/run/fcgiwrap.sock;
    }
    location /fcgi/ {
      fastcgi_split_path_info ^(/fcgi)(.*)\$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_NAME \$fastcgi_script_name; fastcgi_param PATH_INFO \$fastcgi_path_info;
      fastcgi_pass unix:$TMP/run/axum.sock;
    }
    location / { proxy_pass http://http_app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
    sleep 0.5
    /usr/sbin/nginx -c "$TMP/nginx.conf" -p "$TMP/" >"$TMP/logs/nginx.out" 2>&1 &
    PIDS=("nginx:$!" "${PIDS[@]}")
    sleep 0.5
    declare -A URL=([cgi]="/cgi-bin/axum_app/hello/Ada" [fastcgi]="/fcgi/hello/Ada" [http]="/hello/Ada")
    for row in cgi fastcgi http; do
        got=$(curl -s "http://127.0.0.1:$PORT${URL[$row]}")
        [ "$got" = "Hello, Ada!" ] || warn "$row answers ${got:-nothing}, not Hello, Ada!"
    done
    declare -A RESULTS
    for round in $(seq 1 "$ROUNDS"); do
        for row in cgi fastcgi http; do
            rps=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_POINT}s" "http://127.0.0.1:$PORT${URL[$row]}" \
                | awk '/^Requests\/sec/ { print $2 }')
            RESULTS[$row]="${RESULTS[$row]:-} $rps"
        done
    done
    median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    say ""
    say "== (b) requests/second through nginx, wrk -c$CONNECTIONS, $ROUNDS rounds x ${SECONDS_PER_POINT}s, medians =="
    for row in cgi fastcgi http; do
        printf '%-8s %10s   (rounds:%s)\n' "$row" "$(echo "${RESULTS[$row]}" | median)" "${RESULTS[$row]}"
    done
    C=$(echo "${RESULTS[cgi]}" | median); FC=$(echo "${RESULTS[fastcgi]}" | median); HT=$(echo "${RESULTS[http]}" | median)
    say "fastcgi/cgi: $(ratio "$FC" "$C")x (goal >= 10x); fastcgi/http: $(ratio "$FC" "$HT")x"
else
    say "(b) skipped (SKIP_THROUGHPUT=1, or wrk, nginx or fcgiwrap missing)"
fi

# ------------------------------------------------------------------ (c) cold compile
if [ "${SKIP_COMPILE:-0}" != 1 ]; then
    say ""
    say "== (c) cold compile of a fresh script crate (empty target directory) =="
    for variant in tokio plain; do
        crate=$TMP/script-$variant
        mkdir -p "$crate/src"
        if [ $variant = tokio ]; then
            features=', features = ["tokio"]'
            body='#[cgi::main]
async fn hello() -> &'"'"'static str {
    std::future::ready("Hello, world!\n").await
}'
        else
            features=''
            body='#[cgi::main]
fn hello() -> &'"'"'static str {
    "Hello, world!\n"
}'
        fi
        cat >"$crate/Cargo.toml" <<EOF
[package]
name = "script-$variant"
version = "0.1.0"
edition = "2024"
[dependencies]
cgikit = { path = "$ROOT"$features }
[workspace]
EOF
        printf '%s\n' "$body" >"$crate/src/main.rs"
        ( cd "$crate" && cargo fetch --quiet )
        debug=$( { cd "$crate" && /usr/bin/time -f %e cargo build --quiet; } 2>&1 | tail -1 )
        release=$( { cd "$crate" && /usr/bin/time -f %e cargo build --quiet --release; } 2>&1 | tail -1 )
        crates=$(cd "$crate" && cargo tree --prefix none -e normal,build | sort -u | wc -l)
        printf '%-7s debug %6ss   release %6ss   crates %s\n' "$variant" "$debug" "$release" "$crates"
    done
fi
