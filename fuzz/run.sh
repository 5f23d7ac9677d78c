#!/usr/bin/env bash
# Runs every cargo-fuzz target (`cargo fuzz list`: cookies, environment, fastcgi_records,
# multipart, query_form, response_writer) for a while, on stable Rust: a smoke run CI can afford.
#
#   fuzz/run.sh            # each target for 30 s
#   fuzz/run.sh 600        # each target for 10 minutes
#   fuzz/run.sh 60 multipart
#   fuzz/run.sh 60 cookies environment
#
# Exits non-zero if a target crashes (a panic, a failed assertion, a timeout, running out
# of memory); the input is then in fuzz/artifacts/<target>/. A crash does not stop the
# other targets. Prints one line per target, and the total time:
#   fuzz multipart: 123456 runs, 0 crashes (cov: ... ft: ... corp: ...)
#   fuzz: 6 targets in 190 s
#
# Environment:
#   FUZZ_SANITIZER       none (default: the crates deny unsafe code, and it runs several
#                        times faster) or address (AddressSanitizer, also works on stable)
#   CARGO_FUZZ_VERSION   the cargo-fuzz to install when it is missing (default 0.13.2)
set -euo pipefail

seconds="${1:-30}"
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
sanitizer="${FUZZ_SANITIZER:-none}"
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
cd "$fuzz_dir/.."

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# cargo-fuzz passes nightly flags (-Zsanitizer, ...) to rustc; this lets the stable
# compiler accept them. The sanitizer runtimes ship with the stable x86_64 Linux toolchain.
export RUSTC_BOOTSTRAP=1

# libfuzzer-sys compiles libFuzzer (C++).
if ! command -v c++ > /dev/null 2>&1; then
  echo "== installing a C++ compiler (libFuzzer is C++)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++
fi

if ! cargo fuzz --version > /dev/null 2>&1; then
  version="${CARGO_FUZZ_VERSION:-0.13.2}"
  echo "== installing cargo-fuzz $version"
  start=$SECONDS
  cargo install cargo-fuzz --locked --version "$version"
  echo "== cargo-fuzz installed in $((SECONDS - start)) s"
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

status=0
summary=()
started=$SECONDS
for target in "${targets[@]}"; do
  echo "== building $target (sanitizer: $sanitizer)"
  start=$SECONDS
  cargo fuzz build --sanitizer "$sanitizer" "$target"
  echo "== built $target in $((SECONDS - start)) s; fuzzing for $seconds s"

  # New inputs go to target/ (not committed, kept between runs); the seeds in
  # corpus/<target>/ are read, never written.
  scratch="$fuzz_dir/target/corpus/$target"
  mkdir -p "$scratch" "$fuzz_dir/corpus/$target" "$fuzz_dir/artifacts/$target"
  log="$fuzz_dir/target/fuzz-$target.log"
  before="$(find "$fuzz_dir/artifacts/$target" -type f | wc -l)"
  set +e
  cargo fuzz run --sanitizer "$sanitizer" "$target" "$scratch" "$fuzz_dir/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    tee "$log" | grep -E --line-buffered '^#[0-9]+.*(pulse|DONE)|^INFO: seed corpus|^Done |panicked|ERROR|SUMMARY|^Test unit written|^artifact_prefix'
  code="${PIPESTATUS[0]}"
  set -e

  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  [ -n "$runs" ] || runs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)"
  stats="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+(b|Kb|Mb)' "$log" | tail -n 1 || true)"
  after="$(find "$fuzz_dir/artifacts/$target" -type f | wc -l)"
  crashes=$((after - before))
  if [ "$code" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # failed without writing an input: still a failure
  fi
  line="fuzz $target: ${runs:-0} runs, $crashes crashes (${stats:-no coverage figures}; ${seconds} s, sanitizer $sanitizer)"
  summary+=("$line")
  if [ "$code" -ne 0 ]; then
    status=1
    echo "== $target FAILED (exit $code); full log: $log" >&2
    grep -E '^(Test unit written to|artifact_prefix)' "$log" >&2 || true
  fi
done

printf '%s\n' "${summary[@]}"
echo "fuzz: ${#targets[@]} targets in $((SECONDS - started)) s"
exit "$status"
