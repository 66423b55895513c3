#!/usr/bin/env bash
# Muninn's performance suite (docs/PERFORMANCE.md): builds muninn, the
# ceiling probe and the suite runner without the race detector, then runs
# the probe and Muninn under the same load generator and prints every run
# and the targets as ratios to the probe.
#
#   scripts/perf.sh                      # the whole suite, about 20 minutes
#   scripts/perf.sh --quick              # a few minutes: short windows, 1-minute soak
#   scripts/perf.sh --json perf.json     # also write the results as JSON
#   scripts/perf.sh --phases t1 --nodes 10   # one phase, one size
#   scripts/perf.sh --rate 2335 --nodes 100  # probe/Muninn pairs at a fixed load
#
# Every other flag goes to muninn-perf (go run ./cmd/muninn-perf -h).
#
# The log trees go to a tmpfs (/dev/shm) when it has 16 GiB free, so that
# the figures are the software's and not the disk's write-back; set
# MUNINN_PERF_DIR to measure on a disk of your choice instead.
#
# With two CPUs or more and taskset, each acceptor (the probe, Muninn) is
# pinned to the last CPU and the load generator and tailer to the others,
# so that the acceptor under test and the rig that measures it do not
# take turns on the same cores; MUNINN_PERF_PIN=0 turns that off.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/muninn" ./cmd/muninn
go build -o "$bin/muninn-probe" ./cmd/muninn-probe
go build -o "$bin/muninn-perf" ./cmd/muninn-perf
work=${MUNINN_PERF_DIR:-}
if [ -z "$work" ] && [ -d /dev/shm ] && [ -w /dev/shm ] &&
  [ "$(df -Pk /dev/shm | awk 'NR==2{print $4}')" -ge $((16 << 20)) ]; then
  work=/dev/shm
fi
run=$(mktemp -d "${work:-${TMPDIR:-/tmp}}/muninn-perf.XXXXXX")
trap 'rm -rf "$bin" "$run"' EXIT
echo "perf: log trees under $run" >&2
cpus=$(nproc)
pin=()
if [ "${MUNINN_PERF_PIN:-1}" != 0 ] && [ "$cpus" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  pin=(taskset -c "0-$((cpus - 2))")
  set -- --acceptor-cpus "$((cpus - 1))" "$@"
fi
"${pin[@]}" "$bin/muninn-perf" --muninn "$bin/muninn" --probe "$bin/muninn-probe" --work "$run" "$@"
