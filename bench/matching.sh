#!/usr/bin/env bash
# Probabilistic matching quality and speed (batch sources issue): runs `cdp match eval` on the
# record-linkage data sets in ../shared/datasets with the default model (only the column kinds
# are declared), RUNS times each, and prints a Markdown table of medians. The reference sets:
# Febrl 3 and 4, Splink's fake_1000 and historical_50k (the issue's targets), NC voters linked
# across 5 parties with 20% corruption, and pseudopeople's census (dedupe, households as hard
# negatives) and census to Social Security (link).
#
#   cmake --preset release && cmake --build build/release
#   flock /tmp/cdp-build.lock bench/matching.sh          # ~3 minutes
#
# Then the scale curve: SCALE records (default 10,000, 100,000 and 1,000,000) of synthetic
# people from the project's generator (bench/people_generator.cc), one run each.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/release/src/server/cdp}
PEOPLE=${PEOPLE:-build/release/bench/cdp_people}
SCALE=${SCALE:-10000 100000 1000000}
DATA=${DATA:-../shared/datasets}
RUNS=${RUNS:-3}
OUT=${OUT:-build/release/bench-out/matching-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
[ -d "$DATA" ] || { echo "no data sets at $DATA"; exit 1; }

febrl="--column given_name=first_name --column surname=surname --column street_number=house_number
  --column address_1=address --column address_2=text --column suburb=place
  --column postcode=postcode --column state=category --column date_of_birth=date
  --column soc_sec_id=identifier --truth rec_id:^rec-(\d+)-"
declare -A sets=(
  [febrl3]="--file $DATA/febrl/dataset3.csv $febrl"
  [febrl4]="--file $DATA/febrl/dataset4a.csv --file $DATA/febrl/dataset4b.csv $febrl"
  [fake_1000]="--file $DATA/splink_fake_1000/fake_1000.csv --column first_name=first_name
    --column surname=surname --column dob=date --column city=place --column email=email
    --truth cluster"
  [ncvr_5party_ocp20]="$(for p in 0 1 2 3 4; do
    echo --file "$DATA/ncvr_5party/ncvr_numrec_5000_modrec_2_ocp_20_myp_${p}_nump_5.csv"; done)
    --column givenname=first_name --column surname=surname --column suburb=place
    --column postcode=postcode --truth recid"
  [pseudopeople_census]="--file $DATA/pseudopeople_samples/decennial_census.csv
    --column first_name=first_name --column last_name=surname --column middle_initial=category
    --column date_of_birth=date --column street_number=house_number --column street_name=address
    --column zipcode=postcode --column city=place --column sex=category --truth simulant_id"
  [pseudopeople_census_ssa]="--file $DATA/pseudopeople_samples/decennial_census.csv
    --file $DATA/pseudopeople_samples/social_security.csv --column first_name=first_name
    --column last_name=surname --column date_of_birth=date --column sex=category
    --truth simulant_id"
  [historical_50k]="--file $DATA/splink_historical_50k/historical_50k.csv
    --column first_name=first_name --column surname=surname --column dob=date
    --column birth_place=place --column postcode_fake=postcode --column gender=category
    --column occupation=category --truth cluster"
)
people="--column first_name=first_name --column surname=surname --column dob=date
  --column city=place --column postcode=postcode --column email=email --truth cluster"
for n in $SCALE; do
  "$PEOPLE" --records "$n" --out "$OUT/people-$n.csv"
  sets[people_$n]="--file $OUT/people-$n.csv $people"
done
names=(febrl3 febrl4 fake_1000 historical_50k ncvr_5party_ocp20 pseudopeople_census
       pseudopeople_census_ssa)
for n in $SCALE; do names+=("people_$n"); done
for name in "${names[@]}"; do
  runs=$RUNS
  [[ $name == people_* ]] && runs=1
  for run in $(seq "$runs"); do
    # shellcheck disable=SC2086  # the argument lists are split on purpose
    "$BIN" match eval ${sets[$name]} --json >"$OUT/$name-$run.json"
  done
  echo "$name done" >&2
done

python3 - "$OUT" "$RUNS" "${names[@]}" <<'PY' | tee "$OUT/summary.md"
import json, os, statistics, sys
out, runs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| data set | records | pairwise P / R / F1 | B-cubed P / R | largest | blocking recall | pairs | train / block / score / cluster s | total s (runs) | peak MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in names:
    results = [json.load(open(f"{out}/{name}-{i}.json")) for i in range(1, runs + 1)
               if os.path.exists(f"{out}/{name}-{i}.json")]
    r = results[0]
    stage = {s["name"]: statistics.median(x["stages"][k]["seconds"] for x in results)
             for k, s in enumerate(r["stages"])}
    totals = [x["seconds"] for x in results]
    peak = max(s["peak_rss_bytes"] for x in results for s in x["stages"]) / 1e6
    print(f"| {name} | {r['records']:,} | {r['precision']:.4f} / {r['recall']:.4f} / **{r['f1']:.4f}** "
          f"| {r['bcubed_precision']:.4f} / {r['bcubed_recall']:.4f} | {r['largest_cluster']} "
          f"| {r['blocking_recall']:.4f} | {r['candidate_pairs']:,} "
          f"| {stage['train']:.2f} / {stage['block']:.2f} / {stage['score']:.2f} / {stage['cluster']:.2f} "
          f"| **{statistics.median(totals):.2f}** ({' / '.join(f'{t:.2f}' for t in totals)}) | {peak:.0f} |")
PY
