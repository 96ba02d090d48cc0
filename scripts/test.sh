#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds the fuzz targets and smoke-runs
# them, builds with ASan+UBSan and -Werror, then runs every test with ctest (unit tests, and
# end-to-end tests with the real SDKs, crash-and-restart and disk-full, warehouse loads into a
# PostgreSQL server it starts). ctest's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== fuzz targets (clang + libFuzzer), 20 s each"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$jobs"
for target in tracking_request_fuzz json_tree_fuzz identity_fuzz csv_reader_fuzz match_fuzz \
  import_rows_fuzz condition_fuzz destination_fuzz profile_record_fuzz; do
  mkdir -p "build/fuzz/corpus-$target"
  "build/fuzz/fuzz/$target" -max_total_time=20 -max_len=65536 -print_final_stats=0 \
    "build/fuzz/corpus-$target" fuzz/corpus 2>"build/fuzz/$target.log" ||
    { tail -50 "build/fuzz/$target.log"; echo "fuzz target $target failed"; exit 1; }
done

echo "== build (ci preset: Debug, ASan+UBSan, -Werror), and the web console"
cmake --preset ci >/dev/null
cmake --build build/ci -j "$jobs"
scripts/build-console.sh

echo "== tests"
# The warehouse tests load rows into a real PostgreSQL; here they fail rather than skip without it.
# (The trap first: a start that fails half-way leaves nothing running either.)
trap "'$PWD/scripts/test-postgres.sh' stop || true" EXIT
postgres=$(scripts/test-postgres.sh start)
export "$postgres" CDP_REQUIRE_POSTGRES=1
cd build/ci
ctest --output-on-failure --timeout 900 -j 1
