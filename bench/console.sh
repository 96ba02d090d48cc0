#!/usr/bin/env bash
# The web console's live debugger (issue 7): what an open debugger costs ingest. Alternates, ROUNDS
# times, closed-loop batch ingest (1 KB tracks, durable acknowledgements) with no debugger, with one
# unfiltered debugger stream, and with one filtered by type and name (every record parsed);
# reports the median events/s of each and its ratio to no debugger, and what the streams
# received (events, dropped counts, bytes). A fresh server for every step. Output:
# $OUT/summary.md and the raw lines.
# Usage: cmake --preset release && cmake --build build/release && bench/console.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
CDP=$BUILD/src/server/cdp
LOAD=$BUILD/bench/cdp_load
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}   # measured seconds of each step
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18099}
OUT=${OUT:-$BUILD/bench-out/console-$(date -u +%Y%m%dT%H%M%SZ)}
ADMIN=bench-admin-token
mkdir -p "$OUT"
data=$(mktemp -d)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT

# A fresh server and data directory for every step: a growing log would slow each step after
# the one before it. The order of the modes rotates from round to round.
start_server() {
  rm -rf "$data" && mkdir -p "$data"
  "$CDP" serve --data "$data" --listen "127.0.0.1:$PORT" --admin-token "$ADMIN" 2>>"$OUT/server.log" &
  server=$!
  for _ in $(seq 1 100); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  key=$(curl -sf -X POST -H "Authorization: Bearer $ADMIN" "127.0.0.1:$PORT/admin/v1/sources" \
    -d '{"name":"bench"}' | jq -r .writeKey)
}
stop_server() {
  kill "$server" && wait "$server" 2>/dev/null || true
  server=""
}

: >"$OUT/results.jsonl"
modes=(none stream filtered)
for round in $(seq 1 "$ROUNDS"); do
  for i in 0 1 2; do
    mode=${modes[$(((i + round - 1) % 3))]}
    start_server
    stream=""
    case $mode in
      stream) query="" ;;
      filtered) query="?type=track&name=Nothing%20Matches" ;;
    esac
    if [ "$mode" != none ]; then
      curl -sN -H "Authorization: Bearer $ADMIN" "127.0.0.1:$PORT/admin/v1/live/events$query" \
        >"$OUT/stream-$mode-$round.txt" &
      stream=$!
    fi
    line=$("$LOAD" --url "127.0.0.1:$PORT" --write-key "$key" --endpoint batch --batch-size 100 \
      --event-bytes 1000 --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP")
    if [ -n "$stream" ]; then kill "$stream" 2>/dev/null || true; wait "$stream" 2>/dev/null || true; fi
    stop_server
    file="$OUT/stream-$mode-$round.txt"
    events=0 dropped=0 bytes=0
    if [ -f "$file" ]; then
      events=$(grep -c '^event: event$' "$file" || true)
      dropped=$(sed -n 's/^data: {"count":\([0-9]*\)}$/\1/p' "$file" | paste -sd+ | bc || echo 0)
      bytes=$(stat -c %s "$file")
    fi
    jq -c --arg mode "$mode" --argjson round "$round" --argjson events "${events:-0}" \
      --argjson dropped "${dropped:-0}" --argjson bytes "$bytes" \
      '{mode: $mode, round: $round, events_per_s, stream_events: $events,
        stream_dropped: $dropped, stream_bytes: $bytes}' <<<"$line" | tee -a "$OUT/results.jsonl"
  done
done

{
  echo "# Ingest with the console's live debugger open"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores" \
    "($(lscpu | sed -n 's/^Model name: *//p' | head -1)); $ROUNDS rounds of ${DURATION} s per mode," \
    "rotating, a fresh server each; batch closed loop, 100 x 1 KB tracks per request, $CONNECTIONS connections"
  echo
  echo "| debugger | median events/s | ratio to none | stream events / dropped / MB (median) |"
  echo "|---|---|---|---|"
  base=$(jq -s '[.[] | select(.mode == "none") | .events_per_s] | sort | .[length / 2 | floor]' \
    "$OUT/results.jsonl")
  for mode in none stream filtered; do
    jq -rs --arg mode "$mode" --argjson base "$base" '
      def median: sort | .[length / 2 | floor];
      [.[] | select(.mode == $mode)] as $r
      | "| \($mode) | \($r | map(.events_per_s) | median | floor) | \(($r | map(.events_per_s) | median) / $base * 1000 | round / 1000) | \($r | map(.stream_events) | median) / \($r | map(.stream_dropped) | median) / \(($r | map(.stream_bytes) | median) / 1048576 * 10 | round / 10) |"' \
      "$OUT/results.jsonl"
  done
} | tee "$OUT/summary.md"
