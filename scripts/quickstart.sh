#!/usr/bin/env bash
# Quick start: installs dependencies, builds the release binary, starts `cdp serve` on embedded
# storage (./cdp-data) with a demo source, sends a few demo events and prints how to use it.
# Usage: scripts/quickstart.sh [--listen 127.0.0.1:8080] [--data ./cdp-data]
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:8080
data=./cdp-data
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "usage: $0 [--listen host:port] [--data dir]" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release --target cdp
scripts/build-console.sh
mkdir -p "$data"
log="$data/cdp.log"
build/release/src/server/cdp serve --data "$data" --listen "$listen" --demo >"$data/banner.txt" 2>"$log" &
pid=$!
for _ in $(seq 1 100); do
  if curl -sf "http://$listen/healthz" >/dev/null 2>&1 && grep -q "write key" "$data/banner.txt"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "cdp failed to start:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.1
done
key=$(sed -n 's/.*write key of source "demo": //p' "$data/banner.txt")

# Demo data: a short customer journey through the same API an SDK uses.
curl -sf -u "$key:" -H 'Content-Type: application/json' "http://$listen/v1/batch" -d '{
  "batch": [
    {"type": "page", "anonymousId": "anon-42", "name": "Pricing", "properties": {"url": "https://example.com/pricing"}},
    {"type": "track", "anonymousId": "anon-42", "event": "Trial Started", "properties": {"plan": "pro"}},
    {"type": "identify", "anonymousId": "anon-42", "userId": "user-42", "traits": {"email": "ada@example.com", "name": "Ada"}},
    {"type": "track", "userId": "user-42", "event": "Order Completed", "properties": {"revenue": 99.5, "currency": "EUR"}}
  ],
  "context": {"library": {"name": "cdp-quickstart"}}
}' >/dev/null

cat "$data/banner.txt"
token=$(sed -n 's/.*admin token: //p' "$data/banner.txt")
if [ -n "$token" ]; then
  # A computed trait and an audience, computed from the events already stored (docs/audiences.md).
  curl -sf -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "http://$listen/admin/v1/computed-traits/lifetime_value" \
    -d '{"kind": "sum", "event": "Order Completed", "property": "revenue"}' >/dev/null || true
  curl -sf -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "http://$listen/admin/v1/audiences/customers" \
    -d '{"condition": "performed \"Order Completed\" and computed.lifetime_value > 50"}' >/dev/null || true
  # The processor applies events to profiles moments after they are stored.
  for _ in $(seq 1 50); do
    curl -sf -H "Authorization: Bearer $token" "http://$listen/v1/profiles/user_id:user-42" >/dev/null && break
    sleep 0.1
  done
  echo "The demo customer's profile (anonymous visit, trial and order stitched into one):"
  echo "  curl -H 'Authorization: Bearer $token' http://$listen/v1/profiles/email:ada@example.com"
  curl -sf -H "Authorization: Bearer $token" "http://$listen/v1/profiles/email:ada@example.com" || true
  echo
fi
echo "Audiences and computed traits (the profile above is in \"customers\"; docs/audiences.md):"
echo "  build/release/src/server/cdp audiences list --data $data --server http://$listen"
echo "Import a file (a CRM export with two good rows, rows to quarantine, and a duplicate person):"
echo "  build/release/src/server/cdp import examples/customers.csv --mapping examples/customers.toml --data $data --server http://$listen"
echo "Demo events are stored; the server runs in the background (pid $pid, log $log)."
echo "Stop it with: kill $pid"
