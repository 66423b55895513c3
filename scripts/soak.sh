#!/usr/bin/env bash
# Soak test: mixed load on a real muninn for a while, with periodic
# hostile connections, reporting resident memory, goroutines and open
# files at the start and at the end.
#
#   scripts/soak.sh [SECONDS]        # default 600 (10 minutes)
#   NODES=20 RATE=200 scripts/soak.sh 120
#
# Every connection goes to 127.0.0.1 only. Needs go and curl.
set -euo pipefail
duration=${1:-600}
nodes=${NODES:-20}
rate=${RATE:-200}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT

go build -o "$work/muninn" ./cmd/muninn
go build -o "$work/muninn-forwarder" ./cmd/muninn-forwarder
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
http=$(free_port)
cat >"$work/config.yaml" <<CFG
networkMagic: 764824073
network: {tag: AcceptAt, contents: "127.0.0.1:$port"}
logging: [{logRoot: "$work/logs", logMode: FileMode, logFormat: ForMachine}]
rotation: {rpLogLimitBytes: 5000000, rpKeepFilesNum: 3, rpFrequencySecs: 10, rpMaxAgeHours: 1}
hasPrometheus: {epHost: 127.0.0.1, epPort: $http}
ekgRequestFreq: 1
CFG
"$work/muninn" --config "$work/config.yaml" >"$work/muninn.json" 2>"$work/muninn.err" &
muninn=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/" >/dev/null && break; sleep 0.1; done

fwd_pids=()
for i in $(seq "$nodes"); do
  "$work/muninn-forwarder" --connect "127.0.0.1:$port" --name "soak-$i" --host "h$i" --rate "$rate" \
    >"$work/fwd-$i.json" 2>/dev/null &
  fwd_pids+=($!)
done

sample() {
  curl -s "http://127.0.0.1:$http/metrics" |
    awk '/^(process_resident_memory_bytes|go_goroutines|process_open_fds) /{printf "%s=%s ", $1, $2}'
  echo
}
sleep 10
echo "start: $(sample)"
start=$(date +%s)
hostile=0
while [ $(($(date +%s) - start)) -lt "$duration" ]; do
  # A wrong network magic, garbage bytes, and a connection that never speaks.
  "$work/muninn-forwarder" --connect "127.0.0.1:$port" --magic 1 --duration 1s >/dev/null 2>&1 || true
  { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && exec 3>&-; } 2>/dev/null || true
  { exec 4<>"/dev/tcp/127.0.0.1/$port" && sleep 2 && exec 4>&-; } 2>/dev/null || true
  hostile=$((hostile + 3))
  if [ $(( ($(date +%s) - start) % 60 )) -lt 3 ]; then echo "t=$(($(date +%s) - start))s: $(sample)"; fi
done
echo "end:   $(sample)"
echo "hostile connections: $hostile"
curl -s "http://127.0.0.1:$http/metrics" | grep -E '^muninn_disconnects_total\{' | grep -v ' 0$' || true
# Stop the nodes first, so that their discards count only the run.
kill -TERM "${fwd_pids[@]}"
wait "${fwd_pids[@]}" || true
kill -TERM "$muninn"
wait "$muninn" && echo "muninn exited 0"
discarded=$(cat "$work"/fwd-*.json | python3 -c 'import sys,json; print(sum(json.loads(l)["discarded"] for l in sys.stdin if l.strip()))')
echo "node-side discards: $discarded"
rm -rf "$work"
