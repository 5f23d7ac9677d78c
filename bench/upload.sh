#!/usr/bin/env bash
# Upload benchmark: a 100 MiB file sent through the release `upload` example as a CGI
# process (stdin = the multipart body), against `cat body > file` on the same machine in
# the same run. Reports throughput and peak RSS (/usr/bin/time). It reports; it does not
# gate (exit 0 whatever the figures).
#
#   bash bench/upload.sh            # 100 MiB, 5 runs each
#   SIZE_MIB=500 RUNS=5 bash bench/upload.sh
#
# Goals from the issue: peak RSS <= 16 MiB whatever the file size; throughput >= 50% of
# `cat body > file`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE_MIB=${SIZE_MIB:-100}
RUNS=${RUNS:-5}
TIME=/usr/bin/time

if ! [ -x "$TIME" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
    else
        echo "upload.sh: $TIME is missing (Debian package: time)" >&2
        exit 1
    fi
fi

echo "building: cargo build --release --example upload"
cargo build --quiet --release --example upload
UPLOAD=target/release/examples/upload

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BOUNDARY=----cgikitbench7MA4YWxkTrZu0gW

# The body a browser would send for one file field.
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/data"
EXPECTED_SHA=$(sha256sum "$WORK/data" | cut -d' ' -f1)
{
    printf -- '--%s\r\nContent-Disposition: form-data; name="files"; filename="data.bin"\r\n' "$BOUNDARY"
    printf 'Content-Type: application/octet-stream\r\n\r\n'
    cat "$WORK/data"
    printf -- '\r\n--%s--\r\n' "$BOUNDARY"
} > "$WORK/body"
rm "$WORK/data"
LENGTH=$(stat -c %s "$WORK/body")

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cat_seconds=(); cat_rss=(); up_seconds=(); up_rss=()
for run in $(seq 1 "$RUNS"); do
    sync
    # The floor: copy the same bytes from stdin into a file.
    started=$EPOCHREALTIME
    "$TIME" -f '%M' -o "$WORK/t" sh -c 'cat > "$1"' sh "$WORK/copy" < "$WORK/body"
    cat_seconds+=("$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"); cat_rss+=("$(cat "$WORK/t")")
    rm -f "$WORK/copy"
    sync
    started=$EPOCHREALTIME
    "$TIME" -f '%M' -o "$WORK/t" env -i \
        GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SERVER_PROTOCOL=HTTP/1.1 \
        SCRIPT_NAME=/cgi-bin/upload REMOTE_ADDR=127.0.0.1 TMPDIR="$WORK" \
        CONTENT_TYPE="multipart/form-data; boundary=$BOUNDARY" CONTENT_LENGTH="$LENGTH" \
        "$UPLOAD" < "$WORK/body" > "$WORK/response"
    up_seconds+=("$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"); up_rss+=("$(cat "$WORK/t")")
    grep -q "$EXPECTED_SHA" "$WORK/response" || { echo "upload.sh: wrong SHA-256 in the response" >&2; head -c 600 "$WORK/response" >&2; exit 1; }
done

cat_s=$(printf '%s\n' "${cat_seconds[@]}" | median)
up_s=$(printf '%s\n' "${up_seconds[@]}" | median)
cat_m=$(printf '%s\n' "${cat_rss[@]}" | median)
up_m=$(printf '%s\n' "${up_rss[@]}" | median)
mib() { awk -v s="$1" -v n="$SIZE_MIB" 'BEGIN { if (s > 0) printf "%.0f MiB/s", n / s; else printf "n/a (too fast to time)" }'; }

echo
echo "== cgikit upload: ${SIZE_MIB} MiB file, median of $RUNS runs (2 noisy cores: compare within one run) =="
printf '%-28s %10s %16s %14s\n' program seconds throughput "peak RSS"
printf '%-28s %10.3f %16s %11s KiB\n' 'cat body > file' "$cat_s" "$(mib "$cat_s")" "$cat_m"
printf '%-28s %10.3f %16s %11s KiB\n' 'upload example (SHA-256)' "$up_s" "$(mib "$up_s")" "$up_m"
echo "every run's SHA-256 matched the file"
awk -v u="$up_s" -v c="$cat_s" 'BEGIN { if (u > 0) printf "upload/cat throughput: %.2fx (goal >= 0.50x)\n", c / u }'
awk -v m="$up_m" 'BEGIN { printf "upload peak RSS: %.1f MiB (goal <= 16 MiB)\n", m / 1024 }'
