#!/usr/bin/env bash
# Real-browser tests, headless Chromium (Debian's package, driven by playwright-core):
# guestbook.test.mjs against the release examples/guestbook.rs run by lighttpd (mod_cgi), and
# inspector.test.mjs against the development server's inspector (`guestbook --serve`, a debug
# build), each on a free 127.0.0.1 port. See README.md beside this file.
#
# Installs what is missing (as root: chromium, chromium-driver, lighttpd, node/npm; then
# `npm ci` here), builds the example, starts lighttpd in a fresh lab under /tmp and the
# development server, runs both test files with node's test runner, stops both servers by
# their pids, removes the lab and closes with `browser: N passed, M failed`. Exits non-zero
# on any failure.
#
# KEEP_LAB=1 keeps the lab directory (configs, logs, the guestbook's data) for a look.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS

say() { printf 'browser: %s\n' "$*"; }
fail_early() {
    say "$*" >&2
    echo "browser: 0 passed, 1 failed"
    exit 1
}

# ---- what the test needs --------------------------------------------------------------
needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -x /usr/bin/chromedriver ] || needed+=(chromium-driver)
[ -x /usr/sbin/lighttpd ] || needed+=(lighttpd)
command -v node >/dev/null || needed+=(nodejs)
command -v npm >/dev/null || needed+=(npm)
if [ ${#needed[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail_early "missing ${needed[*]}: install them (apt-get) or run as root"
    say "installing ${needed[*]}"
    # No systemd here: keep the packages' postinst scripts from starting services on :80.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt-get update -q >/dev/null
    install_rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${needed[@]}" \
        >/dev/null || install_rc=$?
    if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    [ "$install_rc" = 0 ] || fail_early "apt-get install ${needed[*]} failed ($install_rc)"
fi

cd "$here"
pinned="$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")"
have="$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")"
if [ "$have" != "$pinned" ]; then
    say "npm ci (playwright-core $pinned)"
    # playwright-core has no install script and downloads no browser: /usr/bin/chromium is used.
    npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail_early "npm ci failed"
fi

# ---- the script under test ------------------------------------------------------------
cd "$root"
say "cargo build --release --example guestbook"
cargo build --release --example guestbook -q || fail_early "cargo build failed"
target="$(cargo metadata --format-version 1 --no-deps | node -e \
    "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).target_directory))")"
binary="$target/release/examples/guestbook"
[ -x "$binary" ] || fail_early "no $binary after the build"
say "cargo build --example guestbook (the development server is in debug builds only)"
cargo build --example guestbook -q || fail_early "cargo build failed"
debug_binary="$target/debug/examples/guestbook"
[ -x "$debug_binary" ] || fail_early "no $debug_binary after the build"
shots="$target/browser"
mkdir -p "$shots"
rm -f "$shots"/guestbook*.png "$shots"/inspector*.png

# ---- the lab: world-traversable (lighttpd drops to www-data), logs/run/data writable ----
lab="$(mktemp -d /tmp/cgikit-browser.XXXXXX)"
chmod 755 "$lab"
mkdir -p "$lab/www/cgi-bin" "$lab/conf" "$lab/logs" "$lab/run" "$lab/data"
chmod 755 "$lab/www" "$lab/www/cgi-bin" "$lab/conf"
chmod 1777 "$lab/logs" "$lab/run" "$lab/data"
cp "$binary" "$lab/www/cgi-bin/guestbook"
chmod 755 "$lab/www/cgi-bin/guestbook"
# Fetched once lighttpd listens, to know that the server answering is this lab's.
token="lab-$(basename "$lab")-$$"
printf '%s\n' "$token" > "$lab/www/token"
chmod 644 "$lab/www/token"

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
serve_pid=""
stop_serve() {
    if [ -n "$serve_pid" ]; then
        kill "$serve_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$serve_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
        serve_pid=""
    fi
}
log_tails() {
    for log in "$lab"/logs/*.log; do
        [ -s "$log" ] || continue
        echo "---- $(basename "$log") (last 20 lines)"
        tail -n 20 "$log"
    done
}
cleanup() {
    stop_server
    stop_serve
    if [ "${KEEP_LAB:-0}" = 1 ]; then
        say "lab kept in $lab"
    else
        rm -rf "$lab"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    node -e "const s=require('net').createServer();
             s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# 0 when http://127.0.0.1:$1/token answers this lab's token.
answers_token() {
    node -e "fetch('http://127.0.0.1:$1/token').then(r=>r.text())
             .then(t=>process.exit(t.trim()===process.argv[1]?0:1),()=>process.exit(1))" "$token"
}

# ---- lighttpd on a free port (another process may take it in between: retried) ----------
port=""
for attempt in 1 2 3; do
    try_port="$(free_port)"
    sed -e "s|@LAB@|$lab|g" -e "s|@PORT@|$try_port|g" "$here/lighttpd.conf" > "$lab/conf/lighttpd.conf"
    /usr/sbin/lighttpd -tt -f "$lab/conf/lighttpd.conf" >"$lab/logs/lighttpd_check.log" 2>&1 ||
        { log_tails >&2; fail_early "lighttpd refused its configuration"; }
    /usr/sbin/lighttpd -D -f "$lab/conf/lighttpd.conf" >"$lab/logs/lighttpd_stdout.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        if answers_token "$try_port"; then port="$try_port"; break; fi
        sleep 0.1
    done
    [ -n "$port" ] && break
    say "lighttpd did not come up on port $try_port (attempt $attempt)"
    log_tails >&2
    stop_server
done
[ -n "$port" ] || fail_early "lighttpd did not start"
say "lighttpd (pid $server_pid) on 127.0.0.1:$port, lab $lab"

# ---- the development server with its inspector, likewise ---------------------------------
# 0 when http://127.0.0.1:$1/_cgi/ is the inspector's list.
answers_inspector() {
    node -e "fetch('http://127.0.0.1:$1/_cgi/').then(r=>r.text())
             .then(t=>process.exit(t.includes('<title>CGI inspector</title>')?0:1),()=>process.exit(1))"
}
serve_port=""
for attempt in 1 2 3; do
    try_port="$(free_port)"
    "$debug_binary" --serve "127.0.0.1:$try_port" >"$lab/logs/serve_stdout.log" 2>"$lab/logs/serve_stderr.log" &
    serve_pid=$!
    for _ in $(seq 100); do
        kill -0 "$serve_pid" 2>/dev/null || break
        if answers_inspector "$try_port"; then serve_port="$try_port"; break; fi
        sleep 0.1
    done
    [ -n "$serve_port" ] && break
    say "guestbook --serve did not come up on port $try_port (attempt $attempt)"
    log_tails >&2
    stop_serve
done
[ -n "$serve_port" ] || fail_early "guestbook --serve did not start"
say "guestbook --serve (pid $serve_pid) on 127.0.0.1:$serve_port"

# ---- the browser test -----------------------------------------------------------------
cd "$here"
rc=0
GUESTBOOK_URL="http://127.0.0.1:$port/cgi-bin/guestbook" SCREENSHOT_DIR="$shots" \
    SERVE_URL="http://127.0.0.1:$serve_port/" \
    node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$lab/run/tap.txt" \
    guestbook.test.mjs inspector.test.mjs || rc=$?

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$lab/run/tap.txt" | tail -n 1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$lab/run/tap.txt" | tail -n 1)"
passed="${passed:-0}"
failed="${failed:-0}"
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
if [ "$failed" != 0 ]; then
    log_tails
fi
for shot in "$shots"/guestbook*.png "$shots"/inspector*.png; do
    [ -e "$shot" ] && say "screenshot $shot"
done
stop_server
stop_serve
say "took $((SECONDS - started)) s"
echo "browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
