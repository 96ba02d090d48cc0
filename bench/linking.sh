#!/usr/bin/env bash
# Probabilistic matching of profiles in the server (batch sources issue): ROWS + NEW_ROWS
# synthetic people from the project's generator (duplicates with typos, nicknames, moves;
# `cluster` is the truth) as records that share no identifier (each row its own crm_id). The
# first ROWS are imported and matched with `cdp match link --full`; then the last NEW_ROWS
# arrive as a second file and are matched incrementally (`cdp match link`: only pairs with a new
# profile). Reports each run's wall time (until its links are in the log), the time until the
# processor has merged them, the stages, and the quality of the final profiles against the
# truth (pairwise precision, recall, F1 over records, read back through the Profile API).
#
#   cmake --preset release && cmake --build build/release
#   flock /tmp/cdp-build.lock bench/linking.sh          # ~2 minutes at 100,000 rows
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/release/src/server/cdp}
PEOPLE=${PEOPLE:-build/release/bench/cdp_people}
ROWS=${ROWS:-100000}
NEW_ROWS=${NEW_ROWS:-10000}
PORT=${PORT:-18621}
OUT=${OUT:-build/release/bench-out/linking-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
data="$OUT/data"

"$PEOPLE" --records "$((ROWS + NEW_ROWS))" --out "$OUT/people.csv" >/dev/null
head -n "$((ROWS + 1))" "$OUT/people.csv" >"$OUT/first.csv"
{ head -n 1 "$OUT/people.csv"; tail -n "$NEW_ROWS" "$OUT/people.csv"; } >"$OUT/second.csv"
cat >"$OUT/people.toml" <<'TOML'
source = "people"
[columns]
id = { identifier = "crm_id", required = true }
first_name = { trait = "firstName", type = "name" }
surname = { trait = "lastName", type = "name" }
dob = { trait = "birthday", type = "date" }
city = { trait = "city" }
postcode = { trait = "postalCode", type = "postcode" }
email = { trait = "contactEmail", type = "email" }
TOML
cat >"$OUT/match.toml" <<'TOML'
[columns]
firstName = "first_name"
lastName = "surname"
birthday = "date"
city = "place"
postalCode = "postcode"
contactEmail = "email"
TOML
cat >"$OUT/cdp.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
admin_token = "bench-admin"
[storage]
data = "$data"
[log]
level = "warn"
[matching]
spec = "$OUT/match.toml"
after_import = false
TOML

now_ms() { date +%s%3N; }
lag() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "cdp_processor_lag_events" {print $2}'; }
"$BIN" serve --config "$OUT/cdp.toml" 2>"$OUT/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
connection=(--server "http://127.0.0.1:$PORT" --token bench-admin)
# One import and one matching run: "<run s> <until merged s>".
step() {
  "$BIN" import "$1" --mapping "$OUT/people.toml" "${connection[@]}" >>"$OUT/import.txt"
  while [ "$(lag)" != "0" ]; do sleep 0.2; done
  local start linked merged
  start=$(now_ms)
  "$BIN" match link $2 --json "${connection[@]}" >"$3"
  linked=$(now_ms)
  while [ "$(lag)" != "0" ]; do sleep 0.2; done
  merged=$(now_ms)
  echo "$(( (linked - start) )) $(( (merged - start) ))"
}
full=$(step "$OUT/first.csv" --full "$OUT/full.json")
incremental=$(step "$OUT/second.csv" "" "$OUT/incremental.json")
rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$server/status")

python3 - "$OUT" "$PORT" "$full" "$incremental" "$rss" >"$OUT/summary.md" <<'PY'
import csv, http.client, json, sys
from collections import defaultdict
out, port, full, incremental, rss = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
truth = {row["id"]: row["cluster"] for row in csv.DictReader(open(f"{out}/people.csv"))}
connection = http.client.HTTPConnection("127.0.0.1", port)
profile_of = {}
for record in truth:
    connection.request("GET", f"/v1/profiles/crm_id:{record}", headers={"Authorization": "Bearer bench-admin"})
    answer = connection.getresponse()
    body = json.loads(answer.read())
    profile_of[record] = body.get("id")
def pairs(groups):
    return sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
# Rows the import quarantined have no profile: they are left out of the measure (and counted).
quarantined = [record for record, profile in profile_of.items() if profile is None]
truth = {record: cluster for record, cluster in truth.items() if profile_of[record] is not None}
by_profile, by_truth, both = defaultdict(list), defaultdict(list), defaultdict(list)
for record, cluster in truth.items():
    by_profile[profile_of[record]].append(record)
    by_truth[cluster].append(record)
    both[(profile_of[record], cluster)].append(record)
tp, predicted, actual = pairs(both), pairs(by_profile), pairs(by_truth)
precision, recall = tp / max(predicted, 1), tp / max(actual, 1)
f1 = 2 * precision * recall / max(precision + recall, 1e-12)
print("| run | profiles read (new) | pairs scored | links | reviews | model | run (s) | until merged (s) |")
print("|---|---|---|---|---|---|---|---|")
for name, times in (("full", full), ("incremental", incremental)):
    run = json.load(open(f"{out}/{name}.json"))
    run_ms, merged_ms = map(int, times.split())
    print(f"| {name} | {run['profiles']:,} ({run['newProfiles']:,}) | {run['candidatePairs']:,} | "
          f"{run['links']:,} | {run['reviewsQueued']:,} | {'trained' if run['trained'] else 'reused'} | "
          f"{run_ms / 1000:.2f} | {merged_ms / 1000:.2f} |")
    stages = ", ".join(f"{s['name']} {s['seconds']:.2f}" for s in run["stages"])
    print(f"\n{name} stages (s): {stages}; largest cluster {run['largestCluster']}.\n")
print("| records | profiles after | pairwise P / R / F1 | peak RSS (MB) |")
print("|---|---|---|---|")
print(f"| {len(truth):,} | {len(by_profile):,} | {precision:.4f} / {recall:.4f} / **{f1:.4f}** | {rss} |")
print(f"\n{len(quarantined):,} rows quarantined by the imports, left out of the measure.")
PY
cat "$OUT/summary.md"
echo "results in $OUT"
