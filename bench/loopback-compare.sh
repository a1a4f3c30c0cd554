#!/usr/bin/env bash
# Engine's transport side by side with the standard tools, measured in the same run on this machine:
#   sockperf throughput (UDP, 200-byte datagrams) vs `loadgen transport --mode udp --size 200`
#   iperf3 single stream (64 KiB writes)           vs `loadgen transport --mode tcp --size 65536`
#   and `loadgen transport --mode tcp --size 256` against the 1,000,000 frames/s target.
# Usage: bench/loopback-compare.sh [SECONDS]   (needs ../shared/tools/loopback-limits.sh beside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
limits=$(bash ../shared/tools/loopback-limits.sh 200 "$secs")
echo "standard tools: $limits"
udp_ref=$(sed -n 's/.*udp_pkts_per_s=\([0-9]*\).*/\1/p' <<<"$limits")
tcp_ref=$(sed -n 's/.*tcp_mbytes_per_s=\([0-9]*\).*/\1/p' <<<"$limits")
dotnet build -c Release tools/Engine.LoadGen -v q -nologo >/dev/null
lg="dotnet tools/Engine.LoadGen/bin/Release/net10.0/Engine.LoadGen.dll"
out=$(mktemp -d)
$lg transport --mode udp --size 200 --seconds "$secs" --json "$out/udp.json" >/dev/null
$lg transport --mode tcp --size 65536 --seconds "$secs" --json "$out/tcp64k.json" >/dev/null
$lg transport --mode tcp --size 256 --seconds "$secs" --json "$out/tcp256.json" >/dev/null
python3 - "$out" "$udp_ref" "$tcp_ref" <<'PY'
import json, sys
d, udp_ref, tcp_ref = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
u = json.load(open(f"{d}/udp.json")); t = json.load(open(f"{d}/tcp64k.json")); s = json.load(open(f"{d}/tcp256.json"))
rows = [
    ("UDP 200 B datagrams/s", f"{udp_ref:,.0f} (sockperf)", f"{u['messages_per_s']:,.0f}", u['messages_per_s'] / udp_ref, 0.60, u['alloc_bytes_per_msg']),
    ("TCP 64 KiB MB/s", f"{tcp_ref:,.0f} (iperf3)", f"{t['mbytes_per_s']:,.0f}", t['mbytes_per_s'] / tcp_ref, 0.70, t['alloc_bytes_per_msg']),
    ("TCP 256 B frames/s", "1,000,000 (target)", f"{s['messages_per_s']:,.0f}", s['messages_per_s'] / 1e6, 1.0, s['alloc_bytes_per_msg']),
]
print("| measure | reference | Engine | ratio | target | alloc B/msg | verdict |")
print("|---|---|---|---|---|---|---|")
for name, ref, eng, ratio, target, alloc in rows:
    print(f"| {name} | {ref} | {eng} | {ratio:.2f} | >= {target:.2f} | {alloc:.3f} | {'met' if ratio >= target else 'NOT met'} |")
PY
