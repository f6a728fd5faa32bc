#!/usr/bin/env bash
# The interop lane: meshspan's output against a real Envoy and a real gRPC xDS client, on loopback.
# Creates interop/.venv with the pinned packages of requirements.txt, builds meshspan (debug: the
# lane's cost is Envoy and Python, not meshspan), and runs lane.py. Extra arguments go to lane.py
# (--mutate weight|drop-gateway, --only NAME, -v, ...). Bounded: the whole run is killed after
# INTEROP_TIMEOUT seconds (default 540); every process it started is ended on exit.
set -euo pipefail
cd "$(dirname "$0")"
venv=.venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s requirements.txt "$venv/requirements.installed"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt "$venv/requirements.installed"
fi
(cd .. && cargo build --quiet --bin meshspan)
rm -rf out
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
set +e
setsid timeout --kill-after=10 "${INTEROP_TIMEOUT:-540}" "$venv/bin/python" lane.py \
    --meshspan ../target/debug/meshspan --envoy "$venv/bin/envoy" "$@" &
pids+=($!)
wait "${pids[0]}"
status=$?
set -e
[ "$status" -eq 124 ] && echo "interop lane: timed out after ${INTEROP_TIMEOUT:-540}s"
exit "$status"
