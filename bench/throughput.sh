#!/usr/bin/env bash
# Requests per second through a real server: lighttpd (mod_cgi) on 127.0.0.1, driven by
# wrk, in one run: the release `hello` example, the same response from a minimal C CGI
# program, and from Python's wsgiref.handlers.CGIHandler; then a POST form with cookies
# (the guestbook example, CSRF token and cookie included). It reports; it does not gate.
#
#   bash bench/throughput.sh            # 10 s per point, 4 connections
#   SECONDS_PER_POINT=5 CONNECTIONS=2 bash bench/throughput.sh
#
# Goals: hello >= 0.9x the C program's requests/second; >= 20x Python's.
# wrk and the server share the machine's 2 cores with the CGI processes: whole-system
# figures, to compare within one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_POINT=${SECONDS_PER_POINT:-10}
CONNECTIONS=${CONNECTIONS:-4}

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    else
        echo "throughput.sh: $1 is missing (Debian package: $2)" >&2
        exit 1
    fi
}
need wrk wrk
need lighttpd lighttpd
need gcc gcc

echo "building: cargo build --release --example hello --example guestbook"
cargo build --quiet --release --example hello --example guestbook
# The same script linked statically (README, "Deploy it"): no dynamic loader at start-up.
TRIPLE=$(rustc -vV | awk '/^host:/ { print $2 }')
echo "building: the static hello (RUSTFLAGS=-C target-feature=+crt-static, --target $TRIPLE)"
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/static \
    cargo build --quiet --release --target "$TRIPLE" --example hello

LAB=$(mktemp -d /tmp/cgikit-bench.XXXXXX)
chmod 755 "$LAB"
mkdir -p "$LAB/www/cgi-bin" "$LAB/logs" "$LAB/data"
chmod 1777 "$LAB/logs" "$LAB/data"
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$LAB"
}
trap cleanup EXIT

gcc -O2 -o "$LAB/www/cgi-bin/hello_c" bench/hello.c
install -m 755 target/release/examples/hello "$LAB/www/cgi-bin/hello"
install -m 755 "target/static/$TRIPLE/release/examples/hello" "$LAB/www/cgi-bin/hello_static"
install -m 755 target/release/examples/guestbook "$LAB/www/cgi-bin/guestbook"
install -m 755 bench/hello_wsgi.py "$LAB/www/cgi-bin/hello_wsgi.py"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINES=""
[ "$(id -u)" = 0 ] && USER_LINES='server.username = "www-data"
server.groupname = "www-data"'
cat > "$LAB/lighttpd.conf" <<CONF
server.bind          = "127.0.0.1"
server.port          = $PORT
server.document-root = "$LAB/www"
server.errorlog      = "$LAB/logs/error.log"
server.breakagelog   = "$LAB/logs/cgi_stderr.log"
server.modules       = ( "mod_access", "mod_cgi", "mod_setenv" )
$USER_LINES
mimetype.assign      = ( "" => "application/octet-stream" )
setenv.add-environment = ( "GUESTBOOK_FILE" => "$LAB/data/guestbook.txt" )
\$HTTP["url"] =~ "^/cgi-bin/" {
  cgi.assign = ( ".py" => "/usr/bin/python3", "" => "" )
}
CONF
env -i PATH=/usr/sbin:/usr/bin:/bin lighttpd -D -f "$LAB/lighttpd.conf" > "$LAB/logs/stdout.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT/cgi-bin"

for script in hello hello_static hello_c hello_wsgi.py; do
    body=$(curl -s "$BASE/$script")
    [ "$body" = "Hello, world!" ] || { echo "throughput.sh: $script answered: $body" >&2; cat "$LAB/logs/"*; exit 1; }
done

# requests/second from wrk's output
rps() { wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_POINT}s" "$@" | awk '/^Requests\/sec:/ { print $2 }'; }
latency() { wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_POINT}s" --latency "$@" | awk '/ 50%/ { print $2 }'; }

echo "measuring: wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_POINT}s against lighttpd mod_cgi on 127.0.0.1"
C=$(rps "$BASE/hello_c")
RUST=$(rps "$BASE/hello")
STATIC=$(rps "$BASE/hello_static")
PY=$(rps "$BASE/hello_wsgi.py")

# A POST form with cookies: a valid CSRF token in both the cookie and the form.
TOKEN=0123456789abcdef0123456789abcdef
cat > "$LAB/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "theme=dark; cgikit_csrf=$TOKEN; lang=en"
wrk.body = "name=Ada&message=Hello+from+the+benchmark&csrf_token=$TOKEN"
LUA
status=$(curl -s -o /dev/null -w '%{http_code}' -b "cgikit_csrf=$TOKEN" -d "name=Ada&message=check&csrf_token=$TOKEN" "$BASE/guestbook")
[ "$status" = 303 ] || { echo "throughput.sh: the guestbook POST answered $status" >&2; exit 1; }
POST=$(rps -s "$LAB/post.lua" "$BASE/guestbook")
ENTRIES=$(wc -l < "$LAB/data/guestbook.txt")

echo
echo "== requests/second through lighttpd mod_cgi ($CONNECTIONS connections, ${SECONDS_PER_POINT}s each; 2 noisy cores: compare within one run) =="
printf '%-34s %12s\n' "C hello (gcc -O2)" "$C"
printf '%-34s %12s\n' "cgikit hello (release)" "$RUST"
printf '%-34s %12s\n' "cgikit hello (release, static)" "$STATIC"
printf '%-34s %12s\n' "Python wsgiref CGIHandler hello" "$PY"
printf '%-34s %12s   (%s entries stored)\n' "cgikit guestbook POST + cookies" "$POST" "$ENTRIES"
awk -v r="$RUST" -v s="$STATIC" -v c="$C" -v p="$PY" 'BEGIN {
    printf "hello/C: %.2fx, static hello/C: %.2fx (goal >= 0.90x)\n", r / c, s / c
    printf "hello/Python: %.1fx, static hello/Python: %.1fx (goal >= 20x)\n", r / p, s / p
}'
