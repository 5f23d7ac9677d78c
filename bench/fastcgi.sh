#!/usr/bin/env bash
# Requests per second of the `hello` example as a FastCGI responder behind nginx, against
# the same binary as a CGI program behind nginx + fcgiwrap, and against a Go FastCGI hello
# (bench/hello_fcgi.go, the standard library's net/http/fcgi) behind the same nginx. One
# nginx serves all of them; wrk drives each in turn, several rounds, alternating; medians.
# It reports; it does not gate.
#
#   bash bench/fastcgi.sh                          # 5 rounds x 5 s per point, 8 connections
#   ROUNDS=3 SECONDS_PER_POINT=3 bash bench/fastcgi.sh
#
# Rows (every one through the same nginx, 127.0.0.1, one worker process):
#   cgi      hello as CGI: nginx -> fcgiwrap (unix socket) -> fork + exec hello per request
#   fcgi     hello --fastcgi unix:SOCK: a new FastCGI connection per request (nginx's default)
#   fcgi-kc  the same, with `fastcgi_keep_conn on` + an upstream `keepalive` pool
#   go       hello_fcgi (fcgi.Serve on a unix socket), a new connection per request
#   go-kc    the same, with `fastcgi_keep_conn on` + keepalive
# Goals: fcgi >= 10x cgi; fcgi >= 1.0x go (and fcgi-kc >= 1.0x go-kc).
# wrk, nginx and the servers share the machine's 2 cores: whole-system figures, to compare
# within one run. Knobs: ROUNDS (5), SECONDS_PER_POINT (5), CONNECTIONS (8), THREADS (1),
# WORKERS (16: hello's --workers), FCGIWRAP_CHILDREN (4), KEEPALIVE (8: nginx's idle pool).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-5}
SECONDS_PER_POINT=${SECONDS_PER_POINT:-5}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-1}
WORKERS=${WORKERS:-16}
FCGIWRAP_CHILDREN=${FCGIWRAP_CHILDREN:-4}
KEEPALIVE=${KEEPALIVE:-8}
PATH_SYS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '%s\n' "$*"; }
warn() { printf 'fastcgi.sh: %s\n' "$*" >&2; }

# nginx should hold fewer idle connections to an app than the app has workers: each worker
# serves one connection at a time, so with a pool as large as the workers every new
# connection would wait until hello gives an idle kept one up (after 1 s with no free worker).
if [ "$KEEPALIVE" -ge "$WORKERS" ]; then
    warn "KEEPALIVE ($KEEPALIVE) must be below WORKERS ($WORKERS)"; exit 1
fi

# --- tools ---------------------------------------------------------------------------
MISSING=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have wrk || MISSING+=(wrk)
have nginx || MISSING+=(nginx-light)
have fcgiwrap || MISSING+=(fcgiwrap)
have go || MISSING+=(golang-go)
have curl || MISSING+=(curl)
have setpriv || MISSING+=(util-linux)
if [ ${#MISSING[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        warn "missing: ${MISSING[*]}: apt-get install"
        MADE_POLICY=0   # keep the packages' postinst from starting nginx/fcgiwrap services
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; MADE_POLICY=1
        fi
        { DEBIAN_FRONTEND=noninteractive apt-get update -q \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${MISSING[@]}"; } \
            >/dev/null 2>&1 || warn "apt-get install ${MISSING[*]} failed"
        [ $MADE_POLICY = 1 ] && rm -f /usr/sbin/policy-rc.d
    fi
    for cmd in wrk nginx fcgiwrap go curl setpriv; do
        have "$cmd" || { warn "MISSING: $cmd (Debian packages: wrk nginx-light fcgiwrap golang-go curl util-linux); run as root to install them"; exit 1; }
    done
fi
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- lab -----------------------------------------------------------------------------
LAB=$(mktemp -d /tmp/cgikit-fastcgi.XXXXXX)
chmod 755 "$LAB"                             # www-data must traverse it
mkdir -p "$LAB/www/cgi-bin" "$LAB/bin" "$LAB/run" "$LAB/logs" "$LAB/conf" "$LAB/wrk"
chmod 1777 "$LAB/run" "$LAB/logs"            # the servers create their sockets as www-data
PIDS=()                                      # "name:pid"

stop_pid() { # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { warn "pid $pid ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local e name pid kids
    # nginx first (it holds the keep-alive connections), then the apps.
    for e in "${PIDS[@]}"; do [ "${e%%:*}" = nginx ] && stop_pid "${e#*:}"; done
    for e in "${PIDS[@]}"; do
        name=${e%%:*}; pid=${e#*:}
        [ "$name" = nginx ] && continue
        kids=""
        # fcgiwrap's preforked children survive a SIGTERM to their parent: stop them by pid.
        [ "$name" = fcgiwrap ] && kids=$(pgrep -P "$pid" | tr '\n' ' ' || true)
        stop_pid "$pid"
        for k in $kids; do stop_pid "$k"; done
    done
    rm -rf "$LAB"
}
trap cleanup EXIT

# As root, every server runs as www-data, like nginx's workers (they must connect to the sockets).
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(setpriv --reuid=www-data --regid=www-data --init-groups)

# --- builds --------------------------------------------------------------------------
say "building: cargo build --release --example hello"
cargo build --quiet --release --example hello
install -m 755 target/release/examples/hello "$LAB/www/cgi-bin/hello"
say "building: go build bench/hello_fcgi.go ($(go version | awk '{ print $3 }'))"
( cd bench && go build -o "$LAB/bin/hello_fcgi" hello_fcgi.go )
chmod 755 "$LAB/bin/hello_fcgi"

# --- servers -------------------------------------------------------------------------
wait_for_line() { # wait_for_line FILE TEXT PID: up to 10 s
    local i; for i in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

env -i PATH=$PATH_SYS "${RUN_AS[@]}" "$FCGIWRAP" -f -c "$FCGIWRAP_CHILDREN" -s "unix:$LAB/run/fcgiwrap.sock" \
    > "$LAB/logs/fcgiwrap.log" 2>&1 &
PIDS+=("fcgiwrap:$!")
for _ in $(seq 1 50); do [ -S "$LAB/run/fcgiwrap.sock" ] && break; sleep 0.1; done

# hello as a FastCGI responder: two processes, one per nginx location, so the keep-alive
# pool of one never holds the workers the other needs.
FCGI_OK=1
FCGI_WHY=""
for name in hello hello_kc; do
    env -i PATH=$PATH_SYS "${RUN_AS[@]}" "$LAB/www/cgi-bin/hello" --fastcgi "unix:$LAB/run/$name.sock" --workers "$WORKERS" \
        > "$LAB/logs/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$name:$pid")
    if ! wait_for_line "$LAB/logs/$name.log" "serving FastCGI on" "$pid"; then
        FCGI_OK=0
        FCGI_WHY=$(head -n 1 "$LAB/logs/$name.log")
    fi
done
if [ $FCGI_OK = 1 ]; then
    say "started: $(cat "$LAB/logs/hello.log")"
else
    warn "********************************************************************"
    warn "hello --fastcgi did not start: the FastCGI rows are NOT measured."
    warn "its stderr: ${FCGI_WHY:-(nothing)}"
    warn "********************************************************************"
fi

for name in go go_kc; do
    env -i PATH=$PATH_SYS "${RUN_AS[@]}" "$LAB/bin/hello_fcgi" "$LAB/run/$name.sock" > "$LAB/logs/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$name:$pid")
    wait_for_line "$LAB/logs/$name.log" "serving FastCGI on" "$pid" \
        || { warn "hello_fcgi did not start:"; cat "$LAB/logs/$name.log" >&2; exit 1; }
done

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user www-data;"
fastcgi_location() { # fastcgi_location PREFIX PASS KEEP(0|1)
    cat <<LOC
    location $1 {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_param HTTP_PROXY      "";
      fastcgi_hide_header Date;      # Go's fcgi always sends one; nginx then adds its own, as for the others
LOC
    [ "$3" = 1 ] && printf '      fastcgi_keep_conn on;\n'
    printf '      fastcgi_pass %s;\n    }\n' "$2"
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
  upstream hello_kc { server unix:$LAB/run/hello_kc.sock; keepalive $KEEPALIVE; }
  upstream go_kc    { server unix:$LAB/run/go_kc.sock;    keepalive $KEEPALIVE; }
  server {
    listen 127.0.0.1:$PORT;
    root $LAB/www;
CONF
    fastcgi_location /cgi-bin/ "unix:$LAB/run/fcgiwrap.sock" 0
    fastcgi_location /fcgi/ "unix:$LAB/run/hello.sock" 0
    fastcgi_location /fcgi-kc/ hello_kc 1
    fastcgi_location /go/ "unix:$LAB/run/go.sock" 0
    fastcgi_location /go-kc/ go_kc 1
    printf '  }\n}\n'
} > "$LAB/conf/nginx.conf"
"$NGINX" -t -q -c "$LAB/conf/nginx.conf" -p "$LAB/conf/" -e "$LAB/logs/nginx_error.log" \
    || { warn "nginx rejected its configuration:"; cat "$LAB/conf/nginx.conf" >&2; exit 1; }
env -i PATH=$PATH_SYS "$NGINX" -c "$LAB/conf/nginx.conf" -p "$LAB/conf/" -e "$LAB/logs/nginx_error.log" \
    > "$LAB/logs/nginx_stdout.log" 2>&1 &
PIDS+=("nginx:$!")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"

# --- the rows, and a check that each answers what the CGI program answers ---------------
NAMES=(cgi)
declare -A URL LABEL
URL[cgi]="$BASE/cgi-bin/hello";   LABEL[cgi]="hello as CGI (nginx + fcgiwrap -c $FCGIWRAP_CHILDREN)"
URL[fcgi]="$BASE/fcgi/hello";     LABEL[fcgi]="hello --fastcgi (a connection per request)"
URL[fcgi-kc]="$BASE/fcgi-kc/hello"; LABEL[fcgi-kc]="hello --fastcgi (keep_conn + keepalive $KEEPALIVE)"
URL[go]="$BASE/go/hello";         LABEL[go]="Go net/http/fcgi (a connection per request)"
URL[go-kc]="$BASE/go-kc/hello";   LABEL[go-kc]="Go net/http/fcgi (keep_conn + keepalive $KEEPALIVE)"
[ $FCGI_OK = 1 ] && NAMES+=(fcgi fcgi-kc)
NAMES+=(go go-kc)

# The whole HTTP response, status line and headers included, less the Date value.
answer() { curl -s -i "$1" | sed -e 's/^Date: .*/Date: -/'; }
REF=$(answer "${URL[cgi]}")
case "$REF" in
    *"Hello, world!"*) ;;
    *) warn "the CGI hello answered:"; printf '%s\n' "$REF" >&2; cat "$LAB/logs/"* >&2; exit 1 ;;
esac
for n in "${NAMES[@]}"; do
    got=$(answer "${URL[$n]}")
    if [ "$got" != "$REF" ]; then
        warn "$n does not answer what the CGI hello answers:"
        diff <(printf '%s\n' "$REF") <(printf '%s\n' "$got") >&2 || true
        cat "$LAB/logs/"* >&2
        exit 1
    fi
done
say "checked: every row answers the same HTTP response (Date aside):"
printf '%s\n' "$REF" | tr -d '\r' | sed 's/^/    /'

# --- measure -------------------------------------------------------------------------
# wrk -> the requests/second figure; a non-2xx answer or a socket error is reported loudly.
point() { # point NAME SECONDS -> prints requests/second
    local out="$LAB/wrk/$1.txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" "${URL[$1]}" > "$out" 2>&1 || true
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
        printf '%s (%ss): %s\n' "$1" "$2" "$(grep -e 'Non-2xx' -e 'Socket errors' "$out" | tr -s ' ' | tr '\n' ' ')" >> "$LAB/errors.txt"
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$out"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Was anything else running? The CPU time (clock ticks: user + system, with the children
# each process waited for) of every process on the machine, at the start and the end of the
# measurement; the processes that are not this benchmark's (the script with the wrk runs it
# waited for, the servers, nginx's worker, fcgiwrap's children with their CGI processes) are
# "other": another build or test run, and kernel threads. A process that started and ended
# inside the window counts through the parent that waited for it, if that parent lives on.
tick_snapshot() { # tick_snapshot FILE: "pid ticks" for every process
    # (a process may end between the glob and the read: cat then fails, harmlessly)
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } \
        | awk '{ pid = $1; name = $2; sub(/^.*\) /, ""); print pid, $12 + $13 + $14 + $15, name }' > "$1"
}
our_pids() {
    local e
    printf '%s\n' "$$"
    for e in "${PIDS[@]}"; do printf '%s\n' "${e#*:}"; pgrep -P "${e#*:}" || true; done
}
# /proc/stat's first line: cpu user nice system idle iowait irq softirq steal
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }' /proc/stat; }

say "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; anything else running skews every row)"
say "warming up: 1 s per row"
for n in "${NAMES[@]}"; do point "$n" 1 > /dev/null; done
declare -A SAMPLES
say "measuring: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_POINT}s per row, rows alternating (each round starts one row later)"
count=${#NAMES[@]}
read -r ALL0 STEAL0 < <(machine_ticks)
tick_snapshot "$LAB/ticks0"
for r in $(seq 1 "$ROUNDS"); do
    line="  round $r:"
    for i in $(seq 0 $((count - 1))); do
        n=${NAMES[$(((i + r - 1) % count))]}
        v=$(point "$n" "$SECONDS_PER_POINT")
        SAMPLES[$n]+="$v "
        line+=" $n=$v"
    done
    say "$line"
done
tick_snapshot "$LAB/ticks1"
read -r ALL1 STEAL1 < <(machine_ticks)
our_pids > "$LAB/ours"
read -r MINE OTHER < <(awk -v all=$((ALL1 - ALL0)) '
    FILENAME == ARGV[1] { ours[$1] = 1; next }
    FILENAME == ARGV[2] { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d < 0) d = 0; if ($1 in ours) mine += d; else other += d }
    END { printf "%.0f %.1f\n", mine / all * 100, other / all * 100 }' "$LAB/ours" "$LAB/ticks0" "$LAB/ticks1")
STEAL=$(awk -v a=$((ALL1 - ALL0)) -v s=$((STEAL1 - STEAL0)) 'BEGIN { printf "%.1f", s / a * 100 }')
say "CPU during the measurement (share of both cores): this benchmark's processes ${MINE}%, other processes ${OTHER}%, stolen by the host ${STEAL}%"
if [ "${OTHER%.*}" -ge 5 ]; then
    warn "other processes used ${OTHER}% of the CPU while measuring: the figures are skewed; run again on a quiet machine"
    warn "the busiest of them (share of both cores):"
    awk -v all=$((ALL1 - ALL0)) '
        FILENAME == ARGV[1] { ours[$1] = 1; next }
        FILENAME == ARGV[2] { before[$1] = $2; next }
        !($1 in ours) && $2 - before[$1] > 0 { printf "  %5.1f%%  pid %s %s\n", ($2 - before[$1]) / all * 100, $1, $3 }' \
        "$LAB/ours" "$LAB/ticks0" "$LAB/ticks1" | sort -rn | head -n 5 >&2
fi

declare -A MED
for n in "${NAMES[@]}"; do
    MED[$n]=$(printf '%s\n' ${SAMPLES[$n]} | median)
done

say
say "== requests/second through nginx (1 worker) on 127.0.0.1: median of $ROUNDS rounds, wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_POINT}s =="
say "== 2 noisy cores shared by wrk, nginx and the servers: compare within one run only; other processes: ${OTHER}% of the CPU =="
printf '%-52s %10s   %s\n' "row" "median" "min .. max"
for n in cgi fcgi fcgi-kc go go-kc; do
    if [ -z "${MED[$n]:-}" ]; then
        printf '%-52s %10s\n' "${LABEL[$n]}" "n/a"
        continue
    fi
    range=$(printf '%s\n' ${SAMPLES[$n]} | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f .. %.0f", lo, hi }')
    printf '%-52s %10.0f   %s\n' "${LABEL[$n]}" "${MED[$n]}" "$range"
done
if [ $FCGI_OK = 1 ]; then
    awk -v f="${MED[fcgi]}" -v k="${MED[fcgi-kc]}" -v c="${MED[cgi]}" -v g="${MED[go]}" -v gk="${MED[go-kc]}" 'BEGIN {
        printf "FastCGI/CGI: %.1fx (keep_conn: %.1fx)   goal >= 10x\n", f / c, k / c
        printf "FastCGI/Go:  %.2fx (keep_conn vs Go keep_conn: %.2fx)   goal >= 1.0x\n", f / g, k / gk
    }'
else
    say "FastCGI/CGI, FastCGI/Go: n/a (hello --fastcgi did not start; see above)"
    awk -v c="${MED[cgi]}" -v g="${MED[go]}" 'BEGIN { printf "Go/CGI: %.1fx\n", g / c }'
fi
# nginx logs at `warn` and above: an upstream that closed early, refused or timed out.
if [ -s "$LAB/logs/nginx_error.log" ] && grep -q -v -e '\[notice\]' "$LAB/logs/nginx_error.log"; then
    warn "nginx logged $(grep -c -v -e '\[notice\]' "$LAB/logs/nginx_error.log") warnings or errors; the first ones:"
    grep -v -e '\[notice\]' "$LAB/logs/nginx_error.log" | head -n 5 >&2
fi
if [ -s "$LAB/errors.txt" ]; then
    warn "ERRORS during measurement (non-2xx answers or socket errors):"
    cat "$LAB/errors.txt" >&2
fi
exit 0
