#!/usr/bin/env bash
# Builds the web console into web/dist, where `cdp serve` finds it (docs/console.md). Its npm
# packages come from scripts/install-deps.sh. Run by quickstart.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm run --silent build >build.log 2>&1 || { cat build.log; echo "the console did not build" >&2; exit 1; }
echo "console: built into web/dist ($(du -sh dist | cut -f1))"
