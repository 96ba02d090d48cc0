#!/usr/bin/env bash
# File import throughput (batch sources issue): ROWS synthetic person records from the project's
# generator (bench/people_generator.cc) as a CSV file, imported with `cdp import` into a fresh
# server, RUNS times. Reports per run: the import's wall time (upload, checksum, validation,
# loading into the raw log) and rows/s, the time until the processor has made profiles of all of
# them (processor lag 0), and the server's peak RSS. Medians in summary.md.
#
#   cmake --preset release && cmake --build build/release
#   flock /tmp/cdp-build.lock bench/import.sh          # ~3 minutes at 1,000,000 rows
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/release/src/server/cdp}
PEOPLE=${PEOPLE:-build/release/bench/cdp_people}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
PORT=${PORT:-18611}
OUT=${OUT:-build/release/bench-out/import-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

csv="$OUT/people.csv"
"$PEOPLE" --records "$ROWS" --out "$csv" >/dev/null
cat >"$OUT/people.toml" <<'TOML'
source = "people"
[columns]
id = { identifier = "crm_id", required = true }
email = { identifier = "email" }
first_name = { trait = "firstName", type = "name" }
surname = { trait = "lastName", type = "name" }
dob = { trait = "birthday", type = "date" }
city = { trait = "city" }
postcode = { trait = "postalCode", type = "postcode" }
TOML

now_ms() { date +%s%3N; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

echo "run,rows,import_s,rows_per_s,to_profiles_s,peak_rss_mb" >"$OUT/runs.csv"
for run in $(seq 1 "$RUNS"); do
  data="$OUT/data-$run"
  rm -rf "$data"
  "$BIN" serve --data "$data" --listen "127.0.0.1:$PORT" --admin-token bench-admin \
    >"$OUT/server-$run.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  start=$(now_ms)
  "$BIN" import "$csv" --mapping "$OUT/people.toml" --server "http://127.0.0.1:$PORT" \
    --token bench-admin >"$OUT/import-$run.txt"
  imported=$(now_ms)
  while [ "$(metric cdp_processor_lag_events)" != "0" ]; do sleep 0.2; done
  profiled=$(now_ms)
  rss=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$server/status")
  kill "$server"; wait "$server" || true
  import_s=$(echo "scale=2; ($imported - $start) / 1000" | bc)
  echo "$run,$ROWS,$import_s,$(echo "$ROWS * 1000 / ($imported - $start)" | bc),$(echo "scale=2; ($profiled - $start) / 1000" | bc),$rss" \
    | tee -a "$OUT/runs.csv"
  rm -rf "$data"
done

python3 - "$OUT/runs.csv" >"$OUT/summary.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = lambda key: statistics.median(float(r[key]) for r in rows)
print(f"| rows | import (s) | rows/s | file to profiles (s) | peak RSS (MB) |")
print(f"|---|---|---|---|---|")
print(f"| {int(med('rows')):,} | {med('import_s'):.2f} | {int(med('rows_per_s')):,} | "
      f"{med('to_profiles_s'):.2f} | {int(med('peak_rss_mb'))} |")
PY
cat "$OUT/summary.md"
echo "results in $OUT"
