#!/usr/bin/env bash
# Measures the ingest path of a release build against the issue's targets, with the machine's
# ceilings (fsyncs/s, no-op requests/s) taken in the same run. See bench/README.md.
#
# Builds nothing: expects build/release (cmake --preset release && cmake --build build/release).
# Every setting can be overridden from the environment, e.g. RUNS=5 DURATION=20 bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
CDP=$BUILD/src/server/cdp
LOAD=$BUILD/bench/cdp_load
INGEST_BENCH=$BUILD/src/ingest/cdp_ingest_bench
STORAGE_BENCH=$BUILD/src/storage/cdp_storage_bench

RUNS=${RUNS:-3}                        # repetitions of every measurement; the table shows medians
DURATION=${DURATION:-10}               # measured seconds of the no-op and track steps
BATCH_DURATION=${BATCH_DURATION:-60}   # measured seconds of each batch step: long enough for
                                       # RocksDB flushes and compactions to weigh in ("sustained")
WARMUP=${WARMUP:-2}                    # seconds of load before measuring
FSYNC_SECONDS=${FSYNC_SECONDS:-4}      # each of the two disk probes
HTTP_THREADS=${HTTP_THREADS:-2}        # [server] http_threads
LOAD_THREADS=${LOAD_THREADS:-1}        # cdp_load I/O threads
NOOP_CONNECTIONS=${NOOP_CONNECTIONS:-16}
BATCH_CONNECTIONS=${BATCH_CONNECTIONS:-32}
TRACK_CONNECTIONS=${TRACK_CONNECTIONS:-64}
BATCH_SIZE=${BATCH_SIZE:-100}
EVENT_BYTES=${EVENT_BYTES:-1000}
GBENCH_MIN_TIME=${GBENCH_MIN_TIME:-0.5}
DATA_ROOT=${DATA_ROOT:-}               # directory on the filesystem under test (default: a temp dir)
OUT=${OUT:-$BUILD/bench-out/$(date -u +%Y%m%dT%H%M%SZ)}  # raw results (build/ is ignored by git)

for binary in "$CDP" "$LOAD"; do
  if [[ ! -x $binary ]]; then
    echo "run.sh: $binary is missing; build the release preset first:" >&2
    echo "  cmake --preset release && cmake --build build/release" >&2
    exit 2
  fi
done

mkdir -p "$OUT"
if [[ -z $DATA_ROOT ]]; then
  DATA_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/cdp-bench.XXXXXX")
  REMOVE_DATA_ROOT=1
else
  mkdir -p "$DATA_ROOT"
  REMOVE_DATA_ROOT=0
fi
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
WRITE_KEY=bench-write-key
SERVER_PID=
SAMPLER_PID=

cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  if [[ $REMOVE_DATA_ROOT == 1 ]]; then rm -rf "$DATA_ROOT"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# CPU seconds (user + system) the server has used so far.
server_cpu_s() {
  awk -v tck="$(getconf CLK_TCK)" '{print ($14 + $15) / tck}' "/proc/$SERVER_PID/stat"
}

# CPU seconds the whole machine has spent busy (not idle or waiting for I/O) so far.
machine_busy_s() {
  awk -v tck="$(getconf CLK_TCK)" '$1 == "cpu" {print ($2 + $3 + $4 + $7 + $8 + $9) / tck}' /proc/stat
}

# Group commits (one fsync each) the raw log writer has made so far.
server_groups() {
  curl -sf "http://$ADDRESS/metrics" | awk '$1 == "cdp_write_groups_total" {print $2}'
}

start_server() {
  local run=$1
  local data=$DATA_ROOT/run$run
  rm -rf "$data"
  mkdir -p "$data"
  PORT=$(free_port)
  ADDRESS=127.0.0.1:$PORT
  cat >"$data/cdp.toml" <<EOF
[server]
listen = "$ADDRESS"
http_threads = $HTTP_THREADS
admin_token = "bench-admin-token"

[storage]
data = "$data/db"
sync = true

[log]
level = "warn"

[[sources]]
name = "bench"
write_key = "$WRITE_KEY"
EOF
  "$CDP" serve --config "$data/cdp.toml" >"$OUT/server-run$run.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -sf "http://$ADDRESS/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "run.sh: the server did not answer /healthz; see $OUT/server-run$run.log" >&2
  exit 1
}

stop_server() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# Samples the server's resident memory every half second, tagged with the current step.
start_rss_sampler() {
  local run=$1
  echo idle >"$OUT/phase"
  (
    while [[ -r /proc/$SERVER_PID/status ]]; do
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true)
      [[ -n $rss ]] && echo "{\"run\":$run,\"phase\":\"$(cat "$OUT/phase")\",\"rss_kb\":$rss}"
      sleep 0.5
    done
  ) >>"$OUT/rss.jsonl" &
  SAMPLER_PID=$!
}

# step RUN NAME SECONDS cdp_load-arguments...: runs cdp_load and appends its JSON line, with the
# server's CPU time and fsyncs during the step, to results.jsonl. Prints the line.
step() {
  local run=$1 name=$2 duration=$3
  shift 3
  echo "$name" >"$OUT/phase"
  local cpu_before groups_before busy_before line cpu_after groups_after busy_after
  cpu_before=$(server_cpu_s)
  groups_before=$(server_groups)
  busy_before=$(machine_busy_s)
  line=$("$LOAD" --url "$ADDRESS" --write-key "$WRITE_KEY" --duration "$duration" --warmup "$WARMUP" \
    --threads "$LOAD_THREADS" --batch-size "$BATCH_SIZE" --event-bytes "$EVENT_BYTES" "$@")
  busy_after=$(machine_busy_s)
  cpu_after=$(server_cpu_s)
  groups_after=$(server_groups)
  echo idle >"$OUT/phase"
  # CPU and fsyncs are averaged over WARMUP + DURATION (the 2 s of grace after it are mostly
  # idle). Whatever the machine spent beyond the server and the generator went to other processes.
  line=$(jq -c --argjson run "$run" --arg step "$name" \
    --argjson cpu "$(echo "$cpu_after - $cpu_before" | bc -l)" \
    --argjson busy "$(echo "$busy_after - $busy_before" | bc -l)" \
    --argjson groups "$(jq -n "$groups_after - $groups_before")" \
    --argjson seconds "$(echo "$WARMUP + $duration" | bc -l)" \
    '. + {run: $run, step: $step, server_cpu_cores: ($cpu / $seconds),
          generator_cpu_cores: (.generator_cpu_s / $seconds),
          other_cpu_cores: ([0, ($busy - $cpu - .generator_cpu_s) / $seconds] | max),
          server_fsyncs_per_s: ($groups / $seconds)}' <<<"$line")
  echo "$line" >>"$RESULTS"
  echo "$line"
}

# What the numbers were measured on, for bench/RESULTS.md.
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
if [[ $commit != uncommitted && -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then commit="$commit (dirty)"; fi
read -r fs_device fs_type <<<"$(df -PT "$DATA_ROOT" | awk 'NR == 2 {print $1, $2}')"
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
  --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" --arg cores "$(nproc)" \
  --arg memory "$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
  --arg kernel "$(uname -r)" --arg device "$fs_device" --arg fs "$fs_type" --arg data "$DATA_ROOT" \
  --arg settings "runs=$RUNS duration(noop,track)=${DURATION}s duration(batch)=${BATCH_DURATION}s warmup=${WARMUP}s http_threads=$HTTP_THREADS load_threads=$LOAD_THREADS connections(noop/batch/track)=$NOOP_CONNECTIONS/$BATCH_CONNECTIONS/$TRACK_CONNECTIONS batch_size=$BATCH_SIZE event_bytes=$EVENT_BYTES" \
  '{date: $date, commit: $commit, cpu: $cpu, cores: $cores, memory: $memory, kernel: $kernel,
    disk: $device, filesystem: $fs, data_dir: $data, settings: $settings}' >"$OUT/machine.json"

echo "cdp benchmark: $RUNS runs, ${BATCH_DURATION}s per batch step, ${DURATION}s per other step, data on $DATA_ROOT, results in $OUT"
for run in $(seq "$RUNS"); do
  echo "== run $run"
  fsync=$("$LOAD" --fsync-ceiling "$DATA_ROOT" --duration "$FSYNC_SECONDS")
  fsync=$(jq -c --argjson run "$run" '. + {run: $run, step: "fsync_ceiling"}' <<<"$fsync")
  echo "$fsync" >>"$RESULTS"
  echo "$fsync"

  start_server "$run"
  start_rss_sampler "$run"
  step "$run" noop_ceiling "$DURATION" --endpoint noop --connections "$NOOP_CONNECTIONS"
  batch=$(step "$run" batch_closed "$BATCH_DURATION" --endpoint batch --connections "$BATCH_CONNECTIONS")
  echo "$batch"
  half=$(jq '(.events_per_s / 2) | floor' <<<"$batch")
  step "$run" batch_open_half "$BATCH_DURATION" --endpoint batch --connections "$BATCH_CONNECTIONS" --rate "$half"
  step "$run" track_closed "$DURATION" --endpoint track --connections "$TRACK_CONNECTIONS"
  stop_server
  rm -rf "$DATA_ROOT/run$run"
done

if [[ -x $INGEST_BENCH && -x $STORAGE_BENCH ]]; then
  echo "== microbenchmarks"
  "$INGEST_BENCH" --benchmark_min_time="$GBENCH_MIN_TIME" --benchmark_format=json \
    --benchmark_out="$OUT/ingest_bench.json" --benchmark_out_format=json >/dev/null
  (cd "$DATA_ROOT" && TMPDIR=$DATA_ROOT "$STORAGE_BENCH" --benchmark_min_time="$GBENCH_MIN_TIME" \
    --benchmark_format=json --benchmark_out="$OUT/storage_bench.json" --benchmark_out_format=json >/dev/null)
else
  echo "run.sh: Google Benchmark binaries not built (CDP_TESTS=OFF?); skipping them" >&2
fi

python3 "$ROOT/bench/summarize.py" "$OUT" | tee "$OUT/summary.md"
