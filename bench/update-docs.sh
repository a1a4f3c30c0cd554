#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md from measurements (never edit the measured parts by hand):
#   1. the BenchmarkDotNet suite (short job, JSON export),
#   2. the loopback comparison with sockperf and iperf3 (bench/loopback-compare.sh),
#   3. the machine's description; the gate's baseline is quoted as committed.
# Set BENCH_CONDITIONS to say how quiet the machine was (it is printed under the machine's description).
# Usage: bench/update-docs.sh [FILTER]   (default '*'; takes ~10 minutes on 2 cores; run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-*}
# The comparison needs sockperf and iperf3 (Debian packages); a fresh machine's package index may be empty.
if ! command -v sockperf >/dev/null || ! command -v iperf3 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq sockperf iperf3 >/dev/null
fi
work=$(mktemp -d)
rm -rf BenchmarkDotNet.Artifacts
dotnet run -c Release --project bench/Engine.Benchmarks -- --filter "$filter" --job short --exporters json --artifacts "$work/bdn"
bash bench/loopback-compare.sh 5 | tee "$work/compare.md"
python3 bench/render-benchmarks.py "$work/bdn/results" "$work/compare.md" bench/gate-baseline.json > docs/BENCHMARKS.md
echo "docs/BENCHMARKS.md regenerated"
