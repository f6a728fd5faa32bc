#!/usr/bin/env bash
# Instructions a run of each `eds` bench row costs (callgrind), for comparisons that hold on a
# busy machine: each row runs once and three times, and the difference over two is one run
# without the set-up. Usage: benches/instructions.sh [small|large|large-5net] [ROW...]
# EDS_ROWS_BIN=path runs that build of the example instead of building one (before/after runs).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-small}
shift || true
rows=("$@")
if [ ${#rows[@]} -eq 0 ]; then
  rows=(full+encode full+encode-no-istio full+encode-via-LoadAssignment full-no-encode
        views+encode-services-encoded encode-only churn-1% join-4000 index+views)
fi
bin=${EDS_ROWS_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p meshspan-benches --example eds_rows
  bin=target/release/examples/eds_rows
fi
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$kind" "$1" "$2" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for row in "${rows[@]}"; do
  one=$(ir "$row" 1)
  three=$(ir "$row" 3)
  echo "$kind $row $(( (three - one) / 2 ))"
done
