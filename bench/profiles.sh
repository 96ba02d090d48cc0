#!/usr/bin/env bash
# Profile benchmarks (unified profiles issue): builds USERS profiles through the tracking API, reports
# disk and memory per million profiles, then measures — while ingesting INGEST_RATE events/s of
# the same users — the Profile API's latency at PROFILE_RATE requests/s and the ingest-to-visible
# latency of new users (cdp_load --endpoint visibility). RUNS rounds; medians in summary.md.
# AUDIENCES=N defines N audiences first (five computed traits and a mix of trait conditions,
# counters with filters and funnels over the load's events, plus one every probe enters): the
# probe's profile then becomes visible with its membership, in the same write, so the
# visibility latency is also the event-to-membership latency.
#
#   cmake --preset release && cmake --build build/release
#   flock /tmp/cdp-build.lock bench/profiles.sh        # ~5 minutes
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/release/src/server/cdp}
LOAD=${LOAD:-build/release/bench/cdp_load}
USERS=${USERS:-1000000}         # distinct users the events are spread over
FILL_SECONDS=${FILL_SECONDS:-30}  # batch ingest that builds the profiles
FILL_RATE=${FILL_RATE:-0}  # events/s of the fill; 0: closed loop, as fast as the server takes them
RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
INGEST_RATE=${INGEST_RATE:-10000}
PROFILE_RATE=${PROFILE_RATE:-2000}
PROBE_RATE=${PROBE_RATE:-20}
BG_WRITE_MB=${BG_WRITE_MB:-160}  # [storage] background_write_mb_per_s (the default)
BATCH_SIZE=${BATCH_SIZE:-100}  # events per batch request of the mixed load's ingest
PORT=${PORT:-18601}
HTTP_THREADS=${HTTP_THREADS:-2}
AUDIENCES=${AUDIENCES:-0}
OUT=${OUT:-build/release/bench-out/profiles-$(date -u +%Y%m%dT%H%M%SZ)}

mkdir -p "$OUT"
data="$OUT/data"
cat >"$OUT/cdp.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
http_threads = $HTTP_THREADS
admin_token = "bench-admin"
read_token = "bench-read"
[storage]
data = "$data"
sync = true
background_write_mb_per_s = $BG_WRITE_MB
[log]
level = "warn"
[[sources]]
name = "bench"
write_key = "wk_bench"
EOF

"$BIN" serve --config "$OUT/cdp.toml" 2>"$OUT/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

define() {  # kind name JSON body
  curl -sf -X PUT -H "Authorization: Bearer bench-admin" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$PORT/admin/v1/$1/$2" -d "$3" >/dev/null
}
if [ "$AUDIENCES" -gt 0 ]; then
  for t in 0 1 2 3 4; do
    define computed-traits "spend$t" '{"kind":"sum","event":"Product Viewed","property":"price"}'
  done
  define audiences probed '{"condition":"trait.probe exists"}'
  for i in $(seq 1 $((AUDIENCES - 1))); do
    case $((i % 4)) in
      0) condition="trait.plan = \\\"pro\\\" and trait.visits >= $i" ;;
      1) condition="performed \\\"Product Viewed\\\" where property.price > $i at least $((1 + i % 3)) times" ;;
      2) condition="performed \\\"Product Viewed\\\" then \\\"Product Viewed\\\" within $((1 + i % 24)) hours" ;;
      3) condition="computed.spend$((i % 5)) > $((i * 10))" ;;
    esac
    define audiences "a$i" "{\"condition\":\"$condition\"}"
  done
  echo "defined $AUDIENCES audiences"
fi

metric() {  # the value of one sample line of /metrics
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }

echo "== fill: batch ingest over $USERS users for ${FILL_SECONDS} s"
"$LOAD" --url "127.0.0.1:$PORT" --write-key wk_bench --endpoint batch --users "$USERS" \
  --connections 8 --warmup 0 --duration "$FILL_SECONDS" --rate "$FILL_RATE" >"$OUT/fill.json"
started=$(date +%s)
while [ "$(metric cdp_processor_lag_events)" != "0" ]; do sleep 1; done
echo "processor caught up $(($(date +%s) - started)) s after the fill"
sleep 12  # a maintenance pass (malloc_trim) before reading RSS
{
  echo "events=$(metric cdp_processor_events_total)"
  echo "profiles_assigned=$(metric cdp_profiles_assigned)"
  echo "rss_mb=$(rss_mb)"
  curl -s "http://127.0.0.1:$PORT/metrics" | grep '^cdp_storage_cf_sst_bytes' | sed 's/^/sst /'
  echo "memtable_bytes=$(metric cdp_storage_memtable_bytes)"
  echo "data_dir_bytes=$(du -sb "$data" | cut -f1)"
} | tee "$OUT/fill.txt"

# The server's own view of the Profile API (cdp_http_request_seconds: from reading a request to
# answering it), as cumulative bucket counts; the summary takes each run's difference.
profile_buckets() {
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^cdp_http_request_seconds_bucket\{route="profiles"/ { print $1, $2 }'
}

thread_ticks() {  # "name ticks" for each of the server's threads (user + system CPU)
  date +%s.%N
  local task stat
  for task in /proc/"$server"/task/*; do
    # One read: "tid (name) state ... utime stime ..."; the name may hold spaces or ')'.
    stat=$(cat "$task/stat" 2>/dev/null) || continue
    name=${stat#*(}
    name=${name%)*}
    set -- ${stat##*) }
    echo "$name $((${12} + ${13}))"
  done
}

for run in $(seq "$RUNS"); do
  echo "== run $run: ingest $INGEST_RATE events/s, Profile API $PROFILE_RATE req/s, $PROBE_RATE probes/s"
  profile_buckets >"$OUT/server-before-$run.txt"
  thread_ticks >"$OUT/threads-before-$run.txt"
  "$LOAD" --url "127.0.0.1:$PORT" --write-key wk_bench --endpoint batch --users "$USERS" \
    --batch-size "$BATCH_SIZE" --rate "$INGEST_RATE" --connections 4 --duration "$DURATION" >"$OUT/ingest-$run.json" &
  loads=($!)
  "$LOAD" --url "127.0.0.1:$PORT" --token bench-read --endpoint profile --users "$USERS" \
    --rate "$PROFILE_RATE" --connections 8 --duration "$DURATION" >"$OUT/profile-$run.json" &
  loads+=($!)
  "$LOAD" --url "127.0.0.1:$PORT" --write-key wk_bench --token bench-read --endpoint visibility \
    --rate "$PROBE_RATE" --connections 4 --duration "$DURATION" >"$OUT/visibility-$run.json" &
  loads+=($!)
  wait "${loads[@]}"
  thread_ticks >"$OUT/threads-after-$run.txt"
  profile_buckets >"$OUT/server-after-$run.txt"
  echo "rss_mb=$(rss_mb)" >"$OUT/rss-$run.txt"
done

python3 - "$OUT" "$RUNS" <<'EOF' | tee "$OUT/summary.md"
import json, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(kind):
    return [json.load(open(f"{out}/{kind}-{i}.json")) for i in range(1, runs + 1)]
def med(values):
    return statistics.median(values)
fill = dict(line.split("=", 1) for line in open(f"{out}/fill.txt") if "=" in line and not line.startswith("sst"))
sst = {m.group(1): int(float(m.group(2))) for m in
       re.finditer(r'cf="([a-z_]+)"\} (\S+)', open(f"{out}/fill.txt").read())}
state_cfs = ["identifiers", "profiles", "profile_events", "identity_edges", "accounts"]
state = sum(sst.get(cf, 0) for cf in state_cfs)
profiles = int(float(fill["profiles_assigned"]))
events = int(float(fill["events"]))
print(f"Fill: {events:,} events over {profiles:,} profiles.\n")
print("| | value |\n|---|---|")
print(f"| profile state on disk (SST: {', '.join(state_cfs)}) | {state / 1e6:.0f} MB = {state / profiles * 1e6 / 1e6:.0f} MB per million profiles |")
for cf in state_cfs:
    print(f"| &nbsp;&nbsp;{cf} | {sst.get(cf, 0) / 1e6:.0f} MB |")
print(f"| raw log on disk (SST) | {sst.get('raw_log', 0) / 1e6:.0f} MB ({sst.get('raw_log', 0) / max(events, 1):.0f} B per event) |")
print(f"| data directory (du, WAL and memtables' data included) | {int(fill['data_dir_bytes']) / 1e6:.0f} MB |")
print(f"| server RSS after the fill | {fill['rss_mb'].strip()} MB |\n")
ingest, profile, vis = load("ingest"), load("profile"), load("visibility")
print(f"Mixed load, {runs} runs, medians (per run in parentheses):\n")
print("| | target | median | runs |\n|---|---|---|---|")
def row(name, target, values, unit):
    print(f"| {name} | {target} | {med(values):.2f} {unit} | {' / '.join(f'{v:.2f}' for v in values)} |")
row("ingest-to-visible p99", "≤ 50 ms", [r["latency_ms"]["p99"] for r in vis], "ms")
row("ingest-to-visible p95", "", [r["latency_ms"]["p95"] for r in vis], "ms")
row("ingest-to-visible p50", "", [r["latency_ms"]["p50"] for r in vis], "ms")
row("Profile API p99", "≤ 2 ms", [r["latency_ms"]["p99"] for r in profile], "ms")
row("Profile API p50", "", [r["latency_ms"]["p50"] for r in profile], "ms")
row("Profile API requests/s", "2,000", [r["requests_per_s"] for r in profile], "")
def server_share(run, bound):  # the run's Profile API requests the server answered within `bound`
    def read(name):
        return {line.split()[0]: float(line.split()[1]) for line in open(f"{out}/{name}-{run}.txt")}
    before, after = read("server-before"), read("server-after")
    count = lambda le: next(after[k] - before.get(k, 0) for k in after if f'le="{le}"' in k)
    return 100 * count(bound) / max(count("+Inf"), 1)
row("Profile API answered within 2 ms, server side (%)", "", [server_share(i, "0.002") for i in range(1, runs + 1)], "%")
row("Profile API answered within 0.5 ms, server side (%)", "", [server_share(i, "0.0005") for i in range(1, runs + 1)], "%")
row("ingest events/s", "10,000", [r["events_per_s"] for r in ingest], "")
row("ingest ack p99", "", [r["latency_ms"]["p99"] for r in ingest], "ms")
import collections, os
# % of one core that each kind of server thread took during the run (summed by kind; the
# server's threads live as long as it does, so none takes its ticks away by exiting).
def threads(run):
    def read(name):
        lines = open(f"{out}/{name}-{run}.txt").read().split("\n")
        ticks = collections.Counter()
        for line in lines[1:]:
            comm, _, value = line.rpartition(" ")
            if value.isdigit():  # a thread that exited between the reads is left out
                ticks[re.sub(r"-\d+$", "", comm)] += int(value)
        return float(lines[0]), ticks
    (start, before), (end, after) = read("threads-before"), read("threads-after")
    tick = os.sysconf("SC_CLK_TCK")
    share = {k: 100 * (after[k] - before.get(k, 0)) / tick / (end - start) for k in after}
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(share.items(), key=lambda kv: -kv[1]) if v >= 1)
print("\nServer threads during each run, % of one core (the load generators share the machine):")
for i in range(1, runs + 1):
    print(f"- run {i}: {threads(i)}")
errors = {k: sum(r["errors"].get(k, 0) for r in ingest + profile + vis) for r in ingest + profile + vis for k in r["errors"]}
print(f"\nErrors: {errors or 'none'}. Visibility samples per run: {[r['latency_samples'] for r in vis]}.")
EOF
