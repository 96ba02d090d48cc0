#!/usr/bin/env bash
# Installs everything cdp needs to build, run and test on Debian 12 (run as root).
# Idempotent: a second run only checks. Everything comes from Debian's packages and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  clang lld libclang-rt-14-dev
  librocksdb-dev libboost-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libtomlplusplus-dev zlib1g-dev libssl-dev libphonenumber-dev libutf8proc-dev libre2-dev libcsv-dev
  libroaring-dev libcurl4-openssl-dev librdkafka-dev libpq-dev postgresql libgtest-dev libgmock-dev libbenchmark-dev
  nodejs wrk procps util-linux chromium
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# npm ships inside nodesource's nodejs; Debian's own nodejs needs the separate npm package.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, each folder pinned by its package-lock.json: the real Segment and RudderStack SDKs
# and Playwright for the end-to-end tests; Vite, Preact, uPlot and Cytoscape for the web console.
for folder in tests/e2e web; do
  [ -f "$folder/package-lock.json" ] || continue
  if [ ! -d "$folder/node_modules" ] || [ "$folder/package-lock.json" -nt "$folder/node_modules" ]; then
    echo "install-deps: npm ci in $folder"
    (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$folder/node_modules"
  fi
done
echo "install-deps: ok"
