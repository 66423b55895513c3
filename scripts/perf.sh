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
#
# Every other flag goes to muninn-perf (go run ./cmd/muninn-perf -h).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/muninn" ./cmd/muninn
go build -o "$bin/muninn-probe" ./cmd/muninn-probe
go build -o "$bin/muninn-perf" ./cmd/muninn-perf
"$bin/muninn-perf" --muninn "$bin/muninn" --probe "$bin/muninn-probe" "$@"
