#!/usr/bin/env bash
# Doitong beside LiteLLM and Portkey on the same OpenAI-shaped image request, in one run, then the
# correctness check. Run from anywhere:
#
#   bash bench/run.sh                    # build, install the peers, measure, check, print ratios
#   DUR=5 CONCS="1 16" bash bench/run.sh # quicker
#   TARGETS="direct portkey" bash bench/run.sh   # peers to include (Doitong is always measured)
#
# Layout (2-core machine): every gateway pinned alone to CPU 0 (GW_CPU), `wrk` and the loopback mock
# vendor share CPU 1 (LOAD_CPU). Doitong runs twice, side by side and idle when not measured: with its
# SQLite default and with PostgreSQL (database `doitong_bench` on 127.0.0.1:5432, recreated; set
# DT_PG_ADMIN to another admin URL). Each Doitong answers `generate` with `Prefer: wait=30` once the
# job is COMPLETED: image downloaded and stored, job row and ledger written.
#
# Knobs: everything bench/peers/run.sh takes (DUR WARM REPS CONCS SETTLE MAX_REQ OUT ...), plus
# BIN (a doitong binary to measure instead of building one), DT_CPUS (CPU list Doitong is pinned
# to; default GW_CPU: "0,1" measures the 2-core scaling),
# DT_WORKERS (the server's worker threads; default: one per pinned CPU), NO_PG=1, PROFILE=1 (perf
# record of the SQLite Doitong during its c=16 run, folded stacks and an SVG flame graph in OUT).
#
# After the load, each Doitong is stopped gracefully and `bench/check.py` verifies that every job
# is one COMPLETED generation with one stored artifact (file present), one vendor call each, and a
# ledger that adds up; the script fails otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/bench"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/doitong-ci-target}"
TMPDIR="${TMPDIR:-/tmp}"
export OUT="${OUT:-$TMPDIR/doitong-bench/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
GW_CPU="${GW_CPU:-0}"
DT_CPUS="${DT_CPUS:-$GW_CPU}"
MOCK_PORT="${MOCK_PORT:-18080}"
CREDITS=1000000000
PG_ADMIN="${DT_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_URL="${PG_ADMIN%/*}/doitong_bench"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

(cd "$ROOT" && rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2)
if [ -z "${BIN:-}" ]; then
  log "building the release binary"
  (cd "$ROOT" && cargo build --release --quiet -p doitong-host --bin doitong)
  BIN="$CARGO_TARGET_DIR/release/doitong"
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v perf >/dev/null || [ "${PROFILE:-0}" = 0 ] || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }

# One Doitong: name port database-url. Sets PID_<name>, KEY_<name>, DIR_<name>.
declare -A PID KEY DIR DBURL
start_doitong() {
  local name=$1 port=$2 db=$3 w="$OUT/$1"
  mkdir -p "$w"
  DIR[$name]="$w"; DBURL[$name]="$db"
  cat > "$w/doitong.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$w/data"
public_url = "http://127.0.0.1:$port"
database_url = "$db"
[plugins.openai]
base_url = "http://127.0.0.1:$MOCK_PORT/$name"
allow_private = true
secrets = { api_key = "sk-bench" }
TOML
  local account
  account=$("$BIN" accounts create --config "$w/doitong.toml" --name bench --plan enterprise --credits $CREDITS | tail -1 | awk '{print $NF}')
  KEY[$name]=$("$BIN" keys create --config "$w/doitong.toml" --account "$account" | tail -1 | awk '{print $NF}')
  local threads=${DT_WORKERS:-$(( $(tr ',' '\n' <<< "$DT_CPUS" | wc -l) ))}
  TOKIO_WORKER_THREADS=$threads taskset -c "$DT_CPUS" "$BIN" serve --config "$w/doitong.toml" > "$w/server.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.5; done
  log "doitong ($name) did not start: $(tail -5 "$w/server.log")"; exit 1
}
stop_all() { for p in "${PID[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_all EXIT

start_doitong doitong 8089 "sqlite://$OUT/doitong/data/doitong.db"
if [ "${NO_PG:-0}" != 1 ]; then
  psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS doitong_bench' -c 'CREATE DATABASE doitong_bench' >/dev/null
  start_doitong doitong-pg 8090 "$PG_URL"
fi

BODY='{"query":"mutation($i: GenerateInput!) { generate(input: $i) { id status url } }","variables":{"i":{"type":"IMAGE","provider":"gpt-image","input":{"text":"a cat"}}}}'
{
  for name in "${!PID[@]}"; do
    port=$([ "$name" = doitong ] && echo 8089 || echo 8090)
    cat <<DEFS
TARGETS="\$TARGETS $name"
URL[$name]="http://127.0.0.1:$port/graphql"
BODY[$name]='$BODY'
HDRS[$name]=\$'Authorization: Bearer ${KEY[$name]}\\nPrefer: wait=30'
GWPID[$name]="${PID[$name]}"
EXPECT[$name]='"status":"COMPLETED"'
DEFS
  done
} > "$OUT/targets.sh"
if [ "${PROFILE:-0}" = 1 ]; then
  # perf follows the SQLite Doitong through its c=16 run (wrk runs for DUR s after a SETTLE pause).
  ( while [ ! -e "$OUT/wrk-doitong-c16-r1.txt" ]; do sleep 0.2; done
    perf record -F 999 -g -p "${PID[doitong]}" -o "$OUT/perf.data" -- sleep "${DUR:-20}" >/dev/null 2>&1 ) &
  PERF=$!
fi
log "measuring (peers: ${TARGETS:-direct litellm portkey}; Doitong pinned to CPU $DT_CPUS)"
TARGETS="${TARGETS:-direct litellm portkey}" EXTRA_DEFS="$OUT/targets.sh" bash "$HERE/peers/run.sh"

if [ -n "${PERF:-}" ]; then
  wait "$PERF" || true
  perf report -i "$OUT/perf.data" --no-children --percent-limit 0.7 --sort dso,symbol --stdio 2>/dev/null \
    | grep -v '^$' > "$OUT/perf-report.txt" || true
  perf report -i "$OUT/perf.data" --children --percent-limit 3 --sort symbol --stdio -g none 2>/dev/null \
    | grep -v '^$' > "$OUT/perf-children.txt" || true
  log "profile: $OUT/perf-report.txt (self time), $OUT/perf-children.txt (inclusive)"
fi
log "stopping Doitong (gracefully: jobs in flight finish) and checking what it recorded"
for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}"; done
for name in "${!PID[@]}"; do wait "${PID[$name]}" 2>/dev/null || true; done
PID=()
status=0
for name in "${!DIR[@]}"; do
  python3 "$HERE/check.py" --name "$name" --database "${DBURL[$name]}" --artifacts "${DIR[$name]}/data/artifacts" \
    --credits $CREDITS --mock-stats "$OUT/mock-stats.json" || status=1
done
python3 "$HERE/ratios.py" "$OUT/results.jsonl" "$OUT/rss.jsonl" | tee "$OUT/ratios.md"
log "raw output in $OUT"
exit $status
