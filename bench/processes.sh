#!/usr/bin/env bash
# Requests per second and 99th-percentile latency of a hello world behind one nginx, five
# ways, side by side in one run: the `hello` example with 4 worker threads in one process
# (--workers 4), with 4 supervised processes (--processes 4), the same recycling each
# process every 100 requests (--max-requests 100), Go's net/http/fcgi
# (bench/hello_fcgi.go), and Debian's php-fpm serving a hello.php with 4 static children,
# the reference operators know. wrk drives each in turn, several rounds, alternating;
# medians. It reports; it does not gate.
#
#   bash bench/processes.sh                        # 5 rounds x 5 s per row, 8 connections
#   ROUNDS=3 SECONDS_PER_POINT=3 bash bench/processes.sh
#
# Every row: nginx (one worker) -> FastCGI on a unix socket, a new connection per request
# (nginx's default). wrk, nginx and the servers share the machine's 2 cores: compare
# within one run only. Knobs: ROUNDS (5), SECONDS_PER_POINT (5), CONNECTIONS (8),
# THREADS (1), POOL (4: threads, processes, php-fpm children), RECYCLE (100).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-5}
SECONDS_PER_POINT=${SECONDS_PER_POINT:-5}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-1}
POOL=${POOL:-4}
RECYCLE=${RECYCLE:-100}
PATH_SYS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '%s\n' "$*"; }
warn() { printf 'processes.sh: %s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------------------
php_fpm() { ls /usr/sbin/php-fpm* 2>/dev/null | head -n 1; }
MISSING=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have wrk || MISSING+=(wrk)
have nginx || MISSING+=(nginx-light)
have go || MISSING+=(golang-go)
have curl || MISSING+=(curl)
have setpriv || MISSING+=(util-linux)
[ -n "$(php_fpm)" ] || MISSING+=(php-fpm)
if [ ${#MISSING[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        warn "missing: ${MISSING[*]}: apt-get install"
        MADE_POLICY=0   # keep the packages' postinst from starting nginx/php-fpm services
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; MADE_POLICY=1
        fi
        { DEBIAN_FRONTEND=noninteractive apt-get update -q \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${MISSING[@]}"; } \
            >/dev/null 2>&1 || warn "apt-get install ${MISSING[*]} failed"
        [ $MADE_POLICY = 1 ] && rm -f /usr/sbin/policy-rc.d
    fi
fi
for cmd in wrk nginx go curl setpriv; do
    have "$cmd" || { warn "MISSING: $cmd (Debian packages: wrk nginx-light golang-go curl util-linux php-fpm); run as root to install them"; exit 1; }
done
PHP_FPM=$(php_fpm)
[ -n "$PHP_FPM" ] || warn "MISSING: php-fpm (Debian package php-fpm): its row is NOT measured"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- lab -----------------------------------------------------------------------------
LAB=$(mktemp -d /tmp/cgikit-processes.XXXXXX)
chmod 755 "$LAB"                             # www-data must traverse it
mkdir -p "$LAB/www" "$LAB/bin" "$LAB/run" "$LAB/logs" "$LAB/conf" "$LAB/wrk"
chmod 1777 "$LAB/run" "$LAB/logs"
PIDS=()                                      # "name:pid"

stop_pid() { # stop_pid PID: SIGTERM, up to 10 s, then SIGKILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { warn "pid $pid ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local e
    for e in "${PIDS[@]}"; do [ "${e%%:*}" = nginx ] && stop_pid "${e#*:}"; done
    for e in "${PIDS[@]}"; do [ "${e%%:*}" = nginx ] || stop_pid "${e#*:}"; done
    rm -rf "$LAB"
}
trap cleanup EXIT

RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(setpriv --reuid=www-data --regid=www-data --init-groups)

# --- builds --------------------------------------------------------------------------
say "building: cargo build --release --example hello"
cargo build --quiet --release --example hello
install -m 755 target/release/examples/hello "$LAB/bin/hello"
say "building: go build bench/hello_fcgi.go ($(go version | awk '{ print $3 }'))"
( cd bench && go build -o "$LAB/bin/hello_fcgi" hello_fcgi.go )
chmod 755 "$LAB/bin/hello_fcgi"
printf '<?php\nheader("Content-Type: text/plain; charset=utf-8");\necho "Hello, world!\\n";\n' > "$LAB/www/hello.php"
chmod 644 "$LAB/www/hello.php"

# --- servers -------------------------------------------------------------------------
wait_for_line() { # wait_for_line FILE TEXT PID: up to 10 s
    local i; for i in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
start() { # start NAME COMMAND...: in the background, as www-data when root, stderr to logs/NAME.log
    local name=$1; shift
    env -i PATH=$PATH_SYS "${RUN_AS[@]}" "$@" > "$LAB/logs/$name.log" 2>&1 &
    PIDS+=("$name:$!")
    LAST_PID=$!
}
start threads "$LAB/bin/hello" --fastcgi "unix:$LAB/run/threads.sock" --workers "$POOL"
wait_for_line "$LAB/logs/threads.log" "serving FastCGI" "$LAST_PID" || { cat "$LAB/logs/threads.log" >&2; exit 1; }
start processes "$LAB/bin/hello" --fastcgi "unix:$LAB/run/processes.sock" --processes "$POOL"
wait_for_line "$LAB/logs/processes.log" "serving FastCGI" "$LAST_PID" || { cat "$LAB/logs/processes.log" >&2; exit 1; }
start recycle "$LAB/bin/hello" --fastcgi "unix:$LAB/run/recycle.sock" --processes "$POOL" --max-requests "$RECYCLE" \
    --status-path /recycle/status
wait_for_line "$LAB/logs/recycle.log" "serving FastCGI" "$LAST_PID" || { cat "$LAB/logs/recycle.log" >&2; exit 1; }
start go "$LAB/bin/hello_fcgi" "$LAB/run/go.sock"
wait_for_line "$LAB/logs/go.log" "serving FastCGI on" "$LAST_PID" || { cat "$LAB/logs/go.log" >&2; exit 1; }

PHP_OK=0
if [ -n "$PHP_FPM" ]; then
    PHP_USER=""
    [ "$(id -u)" = 0 ] && PHP_USER=$'user = www-data\ngroup = www-data'
    cat > "$LAB/conf/php-fpm.conf" <<CONF
[global]
pid = $LAB/run/php-fpm.pid
error_log = $LAB/logs/php-fpm_error.log
daemonize = no
[hello]
$PHP_USER
listen = $LAB/run/php.sock
listen.mode = 0666
pm = static
pm.max_children = $POOL
CONF
    # The master stays root (it drops the children to www-data); it needs no setpriv.
    env -i PATH=$PATH_SYS "$PHP_FPM" -F -y "$LAB/conf/php-fpm.conf" > "$LAB/logs/php-fpm.log" 2>&1 &
    PIDS+=("php-fpm:$!")
    for _ in $(seq 1 100); do [ -S "$LAB/run/php.sock" ] && break; sleep 0.1; done
    if [ -S "$LAB/run/php.sock" ]; then PHP_OK=1; else warn "php-fpm did not start:"; cat "$LAB/logs/php-fpm"* >&2; fi
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user www-data;"
location() { # location PREFIX SOCKET [SCRIPT_FILENAME]
    cat <<LOC
    location $1 {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME ${3:-\$document_root\$fastcgi_script_name};
      fastcgi_param HTTP_PROXY      "";
      fastcgi_pass unix:$2;
    }
LOC
}
{
    cat <<CONF
daemon off;
worker_processes 1;
pid $LAB/run/nginx.pid;
error_log $LAB/logs/nginx_error.log warn;
$USER_LINE
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $LAB/run/nginx_body;
  fastcgi_temp_path $LAB/run/nginx_fcgi;
  proxy_temp_path $LAB/run/nginx_proxy;
  uwsgi_temp_path $LAB/run/nginx_uwsgi;
  scgi_temp_path $LAB/run/nginx_scgi;
  server {
    listen 127.0.0.1:$PORT;
    root $LAB/www;
CONF
    for name in threads processes recycle go; do location "/$name/" "$LAB/run/$name.sock"; done
    location /php/ "$LAB/run/php.sock" "$LAB/www/hello.php"
    printf '  }\n}\n'
} > "$LAB/conf/nginx.conf"
"$NGINX" -t -q -c "$LAB/conf/nginx.conf" -p "$LAB/conf/" -e "$LAB/logs/nginx_error.log" \
    || { warn "nginx rejected its configuration:"; cat "$LAB/conf/nginx.conf" >&2; exit 1; }
env -i PATH=$PATH_SYS "$NGINX" -c "$LAB/conf/nginx.conf" -p "$LAB/conf/" -e "$LAB/logs/nginx_error.log" \
    > "$LAB/logs/nginx_stdout.log" 2>&1 &
PIDS+=("nginx:$!")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"

# --- the rows, and a check that each answers hello -------------------------------------
NAMES=(threads processes recycle go)
declare -A URL LABEL
URL[threads]="$BASE/threads/hello";     LABEL[threads]="hello --workers $POOL (threads, one process)"
URL[processes]="$BASE/processes/hello"; LABEL[processes]="hello --processes $POOL"
URL[recycle]="$BASE/recycle/hello";     LABEL[recycle]="hello --processes $POOL --max-requests $RECYCLE"
URL[go]="$BASE/go/hello";               LABEL[go]="Go net/http/fcgi (goroutines)"
URL[php]="$BASE/php/hello.php";         LABEL[php]="php-fpm, pm = static, $POOL children, hello.php"
[ $PHP_OK = 1 ] && NAMES+=(php)
for n in "${NAMES[@]}"; do
    got=$(curl -s -i "${URL[$n]}" | tr -d '\r')
    case "$got" in
        "HTTP/1.1 200 OK"*"Hello, world!") ;;
        *) warn "$n does not answer 200 and Hello, world!:"; printf '%s\n' "$got" >&2; cat "$LAB/logs/"* >&2; exit 1 ;;
    esac
done
say "checked: every row answers 200 with Hello, world!"

# --- measure -------------------------------------------------------------------------
point() { # point NAME SECONDS -> prints "requests/second p99-milliseconds"
    local out="$LAB/wrk/$1.txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" --latency "${URL[$1]}" > "$out" 2>&1 || true
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
        printf '%s (%ss): %s\n' "$1" "$2" "$(grep -e 'Non-2xx' -e 'Socket errors' "$out" | tr -s ' ' | tr '\n' ' ')" >> "$LAB/errors.txt"
    fi
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        END { printf "%s %.3f\n", rps, p99 }' "$out"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Was anything else running? CPU ticks of every process, at the start and the end.
tick_snapshot() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } \
        | awk '{ pid = $1; sub(/^.*\) /, ""); print pid, $12 + $13 + $14 + $15 }' > "$1"
}
our_pids() {
    local e
    printf '%s\n' "$$"
    for e in "${PIDS[@]}"; do printf '%s\n' "${e#*:}"; pgrep -P "${e#*:}" || true; done
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

say "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; anything else running skews every row)"
say "warming up: 1 s per row"
for n in "${NAMES[@]}"; do point "$n" 1 > /dev/null; done
declare -A RPS P99
say "measuring: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_POINT}s --latency per row, rows alternating"
count=${#NAMES[@]}
ALL0=$(machine_ticks)
tick_snapshot "$LAB/ticks0"
for r in $(seq 1 "$ROUNDS"); do
    line="  round $r:"
    for i in $(seq 0 $((count - 1))); do
        n=${NAMES[$(((i + r - 1) % count))]}
        read -r rps p99 < <(point "$n" "$SECONDS_PER_POINT")
        RPS[$n]+="$rps "
        P99[$n]+="$p99 "
        line+=" $n=${rps}/s,p99=${p99}ms"
    done
    say "$line"
done
tick_snapshot "$LAB/ticks1"
ALL1=$(machine_ticks)
our_pids > "$LAB/ours"
OTHER=$(awk -v all=$((ALL1 - ALL0)) '
    FILENAME == ARGV[1] { ours[$1] = 1; next }
    FILENAME == ARGV[2] { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d < 0) d = 0; if (!($1 in ours)) other += d }
    END { printf "%.1f\n", other / all * 100 }' "$LAB/ours" "$LAB/ticks0" "$LAB/ticks1")
say "CPU used by processes other than this benchmark's during the measurement: ${OTHER}% of both cores"
[ "${OTHER%.*}" -ge 5 ] && warn "other processes used ${OTHER}% of the CPU while measuring: the figures are skewed; run again on a quiet machine"

# The recycling row's own account: how many processes it went through.
STATUS=$(curl -s "$BASE/recycle/status" || true)
say "the recycling pool's status after the run: $STATUS"

say
say "== nginx (1 worker) -> FastCGI on a unix socket, 127.0.0.1: median of $ROUNDS rounds, wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_POINT}s =="
say "== 2 noisy cores shared by wrk, nginx and the servers: compare within one run only; other processes: ${OTHER}% of the CPU =="
printf '%-52s %10s %12s   %s\n' "row" "req/s" "p99 (ms)" "req/s min .. max"
declare -A MED
for n in threads processes recycle go php; do
    if [ -z "${RPS[$n]:-}" ]; then printf '%-52s %10s\n' "${LABEL[$n]}" "n/a"; continue; fi
    rps=$(printf '%s\n' ${RPS[$n]} | median)
    p99=$(printf '%s\n' ${P99[$n]} | median)
    range=$(printf '%s\n' ${RPS[$n]} | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f .. %.0f", lo, hi }')
    printf '%-52s %10.0f %12.2f   %s\n' "${LABEL[$n]}" "$rps" "$p99" "$range"
    MED[$n]=$rps
done
awk -v t="${MED[threads]}" -v p="${MED[processes]}" -v r="${MED[recycle]}" -v g="${MED[go]}" 'BEGIN {
    printf "processes/threads: %.2fx   recycling every '"$RECYCLE"' requests: %.2fx of processes (%.1f%% fewer)   processes/Go: %.2fx\n", p / t, r / p, (1 - r / p) * 100, p / g
}'
[ -n "${MED[php]:-}" ] && awk -v p="${MED[processes]}" -v f="${MED[php]}" 'BEGIN { printf "processes/php-fpm: %.2fx\n", p / f }'
if [ -s "$LAB/logs/nginx_error.log" ] && grep -q -v -e '\[notice\]' "$LAB/logs/nginx_error.log"; then
    warn "nginx logged $(grep -c -v -e '\[notice\]' "$LAB/logs/nginx_error.log") warnings or errors; the first ones:"
    grep -v -e '\[notice\]' "$LAB/logs/nginx_error.log" | head -n 5 >&2
fi
if [ -s "$LAB/errors.txt" ]; then
    warn "ERRORS during measurement (non-2xx answers or socket errors):"
    cat "$LAB/errors.txt" >&2
fi
exit 0
