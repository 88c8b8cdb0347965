#!/usr/bin/env bash
# `make demo`: BM25 and splade-tiny on scifact and vaswani with the Seismic index, one table.
#
# The first run encodes both corpora and builds the indexes (cached under .cache/lsr, or
# $LSR_CACHE); a second run only encodes and searches the queries.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED="${SHARED:-../shared}"
OUT="${OUT:-reports/demo}"
LSR=.venv/bin/lsr
MODEL="$SHARED/models/splade-tiny"

start=$(date +%s)
"$LSR" eval \
    --model bm25 --model "$MODEL" \
    --dataset scifact --dataset vaswani \
    --index seismic \
    --data-dir "$SHARED/data" \
    --out "$OUT"
echo "demo finished in $(( $(date +%s) - start )) s; report in $OUT/report.md"

index_dir=$(.venv/bin/python -c '
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print(next(r["index_dir"] for r in results if r["dataset"] == "scifact" and r["model"] != "bm25"))
' "$OUT/metrics.json")
echo
echo "Search the splade-tiny Seismic index of scifact yourself:"
echo "  $LSR index search $index_dir $OUT/queries/scifact.splade-tiny.parquet --k 10 --out run.trec"

# The docstore (titles and text of scifact) beside that index, for the service's hits and page.
"$LSR" index docstore "$index_dir" "$SHARED/data/scifact" > /dev/null
echo
echo "Serve it over HTTP (search page at http://127.0.0.1:8000/, API at /docs):"
echo "  $LSR serve $index_dir"
