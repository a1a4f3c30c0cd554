#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md from measurements (never edit the measured parts by hand):
#   1. the BenchmarkDotNet suite (short job, JSON export),
#   2. the loopback comparison with sockperf and iperf3 (bench/loopback-compare.sh),
#   3. the machine's description; the gate's baseline is quoted as committed.
# Usage: bench/update-docs.sh [FILTER]   (default '*'; takes ~10 minutes on 2 cores; run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-*}
work=$(mktemp -d)
rm -rf BenchmarkDotNet.Artifacts
dotnet run -c Release --project bench/Engine.Benchmarks -- --filter "$filter" --job short --exporters json --artifacts "$work/bdn"
bash bench/loopback-compare.sh 5 | tee "$work/compare.md"
python3 bench/render-benchmarks.py "$work/bdn/results" "$work/compare.md" bench/gate-baseline.json > docs/BENCHMARKS.md
echo "docs/BENCHMARKS.md regenerated"
