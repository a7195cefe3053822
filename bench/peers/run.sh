#!/usr/bin/env bash
# Peer-gateway overhead benchmark: how much do LiteLLM proxy and the Portkey AI gateway add when
# proxying POST /v1/images/generations to a (mock) vendor?  Everything runs on 127.0.0.1 only.
#
#   bash run.sh                 # install if needed, start mock + both gateways, measure, print tables, stop
#   DUR=5 REPS=1 bash run.sh    # quick smoke run
#
# Knobs (env): DUR (s per measurement, 20)  WARM (s warm-up per target, 5)  REPS (2)
#   CONCS ("1 16 64")  TARGETS ("direct litellm portkey")  GW_CPU (0)  LOAD_CPU (1)
#   MOCK_PORT (18080) LITELLM_PORT (4000) PORTKEY_PORT (8787)  MAX_REQ (per-run request cap, 2000000)
#   SETTLE (s of quiet before each run, 2: lets a gateway drain requests wrk abandoned at its cut-off)
#   VENV ($TMPDIR/litellm-venv)  PK_DIR ($TMPDIR/portkey)  OUT ($TMPDIR/peers-bench/<utc-time>)
#   SKIP_INSTALL=1 to skip the (idempotent) install step.
#   Extra target (e.g. our own gateway, started by you beforehand, pinned with `taskset -c 0`, its
#   upstream pointed at http://127.0.0.1:$MOCK_PORT/v1):  EXTRA_URL (full images URL)  EXTRA_NAME (extra)
#   EXTRA_BODY (JSON, default as for direct)  EXTRA_HEADERS (newline-separated "Name: value")
#   EXTRA_PID (its PID, for CPU/RSS; optional)  EXTRA_EXPECT (text the smoke answer must contain; default the mock's image URL).  It is measured like the others, never started/stopped here.
#   Several extra targets: EXTRA_DEFS=<bash file> sourced after the built-in targets; it appends
#   names to TARGETS and fills URL[name] BODY[name] HDRS[name] GWPID[name] EXPECT[name] (used by
#   the project's bench/run.sh for Doitong on SQLite and on PostgreSQL).
#
# CPU layout (2-core machine): the gateway under test is pinned to GW_CPU; the load generator (wrk)
# and the mock vendor share LOAD_CPU.  "mock direct" therefore measures the harness ceiling
# (wrk + mock on one core); a gateway row measures one gateway on one dedicated core.
# Every load run is bounded in time (wrk -d DUR, wrapped in `timeout`) and in count (the Lua script
# stops the wrk thread after MAX_REQ responses).  Every process this script starts is stopped by PID.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMPDIR="${TMPDIR:-$(dirname "$(mktemp -u)")}"
LITELLM_VERSION="${LITELLM_VERSION:-1.108.7}"
PORTKEY_VERSION="${PORTKEY_VERSION:-1.15.2}"
VENV="${VENV:-$TMPDIR/litellm-venv}"
PK_DIR="${PK_DIR:-$TMPDIR/portkey}"
MOCK_PORT="${MOCK_PORT:-18080}"
LITELLM_PORT="${LITELLM_PORT:-4000}"
PORTKEY_PORT="${PORTKEY_PORT:-8787}"
DUR="${DUR:-20}"
WARM="${WARM:-5}"
REPS="${REPS:-2}"
CONCS="${CONCS:-1 16 64}"
TARGETS="${TARGETS:-direct litellm portkey}"
GW_CPU="${GW_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
MAX_REQ="${MAX_REQ:-2000000}"
SETTLE="${SETTLE:-2}"
OUT="${OUT:-$TMPDIR/peers-bench/$(date -u +%Y%m%dT%H%M%SZ)}"
MASTER_KEY="sk-bench-master"
CLK_TCK="$(getconf CLK_TCK)"

mkdir -p "$OUT"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }
die() { log "FATAL: $*"; exit 1; }

# ---------------------------------------------------------------- install (idempotent)
install_all() {
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (Debian package)"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null || die "apt-get install wrk failed"
  fi
  if ! "$VENV/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('litellm')!='$LITELLM_VERSION')" 2>/dev/null; then
    log "installing litellm[proxy]==$LITELLM_VERSION into $VENV"
    python3 -m venv "$VENV" || die "venv failed"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    local cons=()
    [ "$LITELLM_VERSION" = "1.108.7" ] && cons=(-c "$HERE/litellm-constraints.txt")
    "$VENV/bin/pip" install -q "${cons[@]}" "litellm[proxy]==$LITELLM_VERSION" || die "pip install litellm failed"
  fi
  local have
  have="$(node -p "require('$PK_DIR/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null || true)"
  if [ "$have" != "$PORTKEY_VERSION" ]; then
    log "installing @portkey-ai/gateway@$PORTKEY_VERSION into $PK_DIR"
    mkdir -p "$PK_DIR"
    if [ "$PORTKEY_VERSION" = "1.15.2" ]; then
      cp "$HERE/portkey-package.json" "$PK_DIR/package.json"
      cp "$HERE/portkey-package-lock.json" "$PK_DIR/package-lock.json"
      (cd "$PK_DIR" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed"
    else
      (cd "$PK_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
        npm install --no-audit --no-fund "@portkey-ai/gateway@$PORTKEY_VERSION" >/dev/null) || die "npm install failed"
    fi
  fi
}
[ "${SKIP_INSTALL:-0}" = 1 ] || install_all

# ---------------------------------------------------------------- process bookkeeping
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && { log "pid $pid still alive: SIGKILL"; kill -9 "$pid" 2>/dev/null; }; done
  [ "${#PIDS[@]}" -gt 0 ] && log "stopped pids: ${PIDS[*]}"
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! ss -ltnH "sport = :$1" | grep -q .; }
listen_addrs() { ss -ltnH "sport = :$1" | awk '{print $4}' | sort -u | tr '\n' ' '; }
wait_http() { # url tries
  local i
  for i in $(seq 1 "$2"); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.5
  done
  return 1
}
tree_pids() { local p=$1 c; echo "$p"; for c in $(pgrep -P "$p"); do tree_pids "$c"; done; }
cpu_ticks() { # utime+stime of a process tree, in clock ticks
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
rss_record() { # name when pid
  local kb=0 hwm=0 n=0 p r h
  for p in $(tree_pids "$3"); do
    r=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null); h=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null)
    kb=$((kb + ${r:-0})); hwm=$((hwm + ${h:-0})); n=$((n + 1))
  done
  printf '{"name":"%s","when":"%s","rss_kb":%d,"hwm_kb":%d,"nproc":%d}\n' "$1" "$2" "$kb" "$hwm" "$n" >> "$OUT/rss.jsonl"
  log "RSS $1 ($2): $((kb / 1024)) MiB (peak $((hwm / 1024)) MiB, $n proc)"
}
mock_hits() { curl -s --max-time 2 "http://127.0.0.1:$MOCK_PORT/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"])'; }

for p in "$MOCK_PORT" "$LITELLM_PORT" "$PORTKEY_PORT"; do port_free "$p" || die "port $p already in use"; done

# ---------------------------------------------------------------- versions
{
  echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel: $(uname -r)"
  echo "cpu: $(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2}') x $(nproc)"
  echo "litellm: $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')"
  echo "litellm_python: $("$VENV/bin/python" --version 2>&1)"
  echo "uvicorn: $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("uvicorn"))')"
  echo "portkey_gateway: $(node -p "require('$PK_DIR/node_modules/@portkey-ai/gateway/package.json').version")"
  echo "hono_node_server: $(node -p "require('$PK_DIR/node_modules/@hono/node-server/package.json').version")"
  echo "hono: $(node -p "require('$PK_DIR/node_modules/hono/package.json').version")"
  echo "node: $(node --version)"
  echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -1)"
  echo "mock: $HERE/mock_vendor.py (python $("$VENV/bin/python" --version 2>&1 | cut -d' ' -f2), uvloop $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("uvloop"))' 2>/dev/null || echo none))"
  echo "pinning: gateway cpu $GW_CPU; wrk + mock cpu $LOAD_CPU"
  echo "dur=${DUR}s warm=${WARM}s settle=${SETTLE}s reps=$REPS concs=[$CONCS] max_req_per_run=$MAX_REQ"
} > "$OUT/versions.txt"
cat "$OUT/versions.txt" >&2

# ---------------------------------------------------------------- start services
log "starting mock vendor on 127.0.0.1:$MOCK_PORT (cpu $LOAD_CPU)"
taskset -c "$LOAD_CPU" "$VENV/bin/python" "$HERE/mock_vendor.py" --host 127.0.0.1 --port "$MOCK_PORT" \
  > "$OUT/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
wait_http "http://127.0.0.1:$MOCK_PORT/health" 40 || die "mock did not start (see $OUT/mock.log)"

LITELLM_PID=""; PORTKEY_PID=""
if [[ " $TARGETS " == *" litellm "* ]]; then
  sed "s#127.0.0.1:18080#127.0.0.1:$MOCK_PORT#g" "$HERE/litellm_config.yaml" > "$OUT/litellm_config.yaml"
  log "starting LiteLLM proxy on 127.0.0.1:$LITELLM_PORT (cpu $GW_CPU)"
  LITELLM_LOG=ERROR LITELLM_LOCAL_MODEL_COST_MAP=True \
    taskset -c "$GW_CPU" "$VENV/bin/litellm" --config "$OUT/litellm_config.yaml" \
    --host 127.0.0.1 --port "$LITELLM_PORT" --num_workers 1 > "$OUT/litellm.log" 2>&1 &
  LITELLM_PID=$!; PIDS+=("$LITELLM_PID")
fi
if [[ " $TARGETS " == *" portkey "* ]]; then
  log "starting Portkey gateway on 127.0.0.1:$PORTKEY_PORT (cpu $GW_CPU)"
  NODE_ENV=production taskset -c "$GW_CPU" node --require "$HERE/bind_loopback.cjs" \
    "$PK_DIR/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$PORTKEY_PORT" --headless \
    > "$OUT/portkey.log" 2>&1 &
  PORTKEY_PID=$!; PIDS+=("$PORTKEY_PID")
fi
[ -n "$LITELLM_PID" ] && { wait_http "http://127.0.0.1:$LITELLM_PORT/health/liveliness" 120 || die "LiteLLM did not start (see $OUT/litellm.log)"; }
[ -n "$PORTKEY_PID" ] && { wait_http "http://127.0.0.1:$PORTKEY_PORT/" 60 || die "Portkey did not start (see $OUT/portkey.log)"; }
for p in "$MOCK_PORT" "$LITELLM_PORT" "$PORTKEY_PORT"; do
  a=$(listen_addrs "$p"); [ -z "$a" ] && continue
  log "port $p listening on: $a"
  for x in $a; do [[ "$x" == 127.0.0.1:* ]] || die "port $p listens on non-loopback $x"; done
done
sleep 5
[ -n "$LITELLM_PID" ] && rss_record litellm "idle after start (no request yet)" "$LITELLM_PID"
[ -n "$PORTKEY_PID" ] && rss_record portkey "idle after start (no request yet)" "$PORTKEY_PID"

# ---------------------------------------------------------------- targets
IMG_URL="http://127.0.0.1:$MOCK_PORT/img/1.png"
declare -A URL HDRS BODY GWPID EXPECT
URL[direct]="http://127.0.0.1:$MOCK_PORT/v1/images/generations"
URL[litellm]="http://127.0.0.1:$LITELLM_PORT/v1/images/generations"
URL[portkey]="http://127.0.0.1:$PORTKEY_PORT/v1/images/generations"
BODY[direct]='{"model":"dall-e-3","prompt":"a cat","n":1,"size":"1024x1024"}'
BODY[litellm]='{"model":"test-image","prompt":"a cat","n":1,"size":"1024x1024"}'
BODY[portkey]='{"model":"dall-e-3","prompt":"a cat","n":1,"size":"1024x1024"}'
HDRS[direct]='Authorization: Bearer sk-fake'
HDRS[litellm]="Authorization: Bearer $MASTER_KEY"
HDRS[portkey]=$'Authorization: Bearer sk-fake\nx-portkey-provider: openai\nx-portkey-custom-host: http://127.0.0.1:'"$MOCK_PORT"'/v1'
GWPID[direct]=""; GWPID[litellm]="$LITELLM_PID"; GWPID[portkey]="$PORTKEY_PID"
if [ -n "${EXTRA_URL:-}" ]; then
  X="${EXTRA_NAME:-extra}"
  [[ "$EXTRA_URL" =~ ^http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?/ ]] || die "EXTRA_URL must be on loopback"
  TARGETS="$TARGETS $X"
  URL[$X]="$EXTRA_URL"; BODY[$X]="${EXTRA_BODY:-${BODY[direct]}}"
  HDRS[$X]="${EXTRA_HEADERS:-Authorization: Bearer sk-fake}"; GWPID[$X]="${EXTRA_PID:-}"
  [ -n "${GWPID[$X]}" ] && rss_record "$X" "idle before load" "${GWPID[$X]}"
fi
if [ -n "${EXTRA_DEFS:-}" ]; then
  # shellcheck source=/dev/null
  source "$EXTRA_DEFS"
  for t in $TARGETS; do
    case "$t" in direct|litellm|portkey) continue ;; esac
    [[ "${URL[$t]}" =~ ^http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?/ ]] || die "${URL[$t]} must be on loopback"
    [ -n "${GWPID[$t]:-}" ] && rss_record "$t" "idle before load" "${GWPID[$t]}"
  done
fi

write_lua() { # target -> lua path
  local t=$1 f="$OUT/wrk-$1.lua" h k v
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = '${BODY[$t]}'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    while IFS= read -r h; do
      [ -z "$h" ] && continue
      k="${h%%:*}"; v="${h#*: }"
      echo "wrk.headers[\"$k\"] = \"$v\""
    done <<< "${HDRS[$t]}"
    cat <<'EOF'
local max_req = tonumber(os.getenv("WRK_MAX_REQ") or "2000000")
local n = 0
function response(status, headers, body)
  n = n + 1
  if n >= max_req then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
EOF
  } > "$f"
  echo "$f"
}

smoke() { # target: one request by curl, check 200 + the mock's URL + that the mock was hit
  local t=$1 before after code args=() h
  while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done <<< "${HDRS[$t]}"
  before=$(mock_hits)
  code=$(curl -s -o "$OUT/smoke-$t.json" -w '%{http_code}' --max-time 30 -X POST "${URL[$t]}" \
    -H 'Content-Type: application/json' "${args[@]}" -d "${BODY[$t]}")
  after=$(mock_hits)
  local expect="$IMG_URL"
  [ "$t" = "${EXTRA_NAME:-extra}" ] && expect="${EXTRA_EXPECT:-$IMG_URL}"
  [ -n "${EXPECT[$t]:-}" ] && expect="${EXPECT[$t]}"
  if [ "$code" = 200 ] && grep -q "$expect" "$OUT/smoke-$t.json" && [ "$after" -gt "$before" ]; then
    log "smoke $t images: OK (HTTP 200, url present, mock hits +$((after - before)))"
  else
    log "smoke $t images: FAILED (HTTP $code, body: $(head -c 300 "$OUT/smoke-$t.json"))"; return 1
  fi
  # audio/speech (informational only; not benchmarked)
  local sbody sp
  if [ "$t" = litellm ]; then sbody='{"model":"test-tts","input":"hello","voice":"alloy"}'
  else sbody='{"model":"tts-1","input":"hello","voice":"alloy"}'; fi
  sp="${URL[$t]%/images/generations}/audio/speech"
  [ "$sp" = "${URL[$t]}" ] && return 0
  code=$(curl -s -o "$OUT/smoke-$t-speech.bin" -w '%{http_code}' --max-time 30 -X POST "$sp" \
    -H 'Content-Type: application/json' "${args[@]}" -d "$sbody")
  log "smoke $t audio/speech: HTTP $code, $(stat -c %s "$OUT/smoke-$t-speech.bin") bytes$( [ "$code" = 200 ] || echo ", body: $(head -c 200 "$OUT/smoke-$t-speech.bin")")"
}

declare -A LUA
for t in $TARGETS; do
  LUA[$t]=$(write_lua "$t")
  smoke "$t" || die "smoke test failed for $t"
done

run_wrk() { # target conc seconds outfile
  local t=$1 c=$2 d=$3 f=$4
  echo "# taskset -c $LOAD_CPU wrk -t1 -c$c -d${d}s --timeout 10s -s ${LUA[$t]} ${URL[$t]}" > "$f"
  WRK_MAX_REQ="$MAX_REQ" timeout $((d + 30)) taskset -c "$LOAD_CPU" \
    wrk -t1 -c"$c" -d"${d}s" --timeout 10s -s "${LUA[$t]}" "${URL[$t]}" >> "$f" 2>&1
}

for t in $TARGETS; do
  log "warm-up $t: ${WARM}s at c=16"
  run_wrk "$t" 16 "$WARM" "$OUT/warmup-$t.txt"
done

for rep in $(seq 1 "$REPS"); do
  for t in $TARGETS; do
    for c in $CONCS; do
      f="$OUT/wrk-$t-c$c-r$rep.txt"
      sleep "$SETTLE"
      h0=$(mock_hits); m0=$(cpu_ticks "$MOCK_PID")
      l0=0; p0=0
      [ -n "$LITELLM_PID" ] && l0=$(cpu_ticks "$LITELLM_PID")
      [ -n "$PORTKEY_PID" ] && p0=$(cpu_ticks "$PORTKEY_PID")
      g0=0; [ -n "${GWPID[$t]}" ] && g0=$(cpu_ticks "${GWPID[$t]}")
      s0=$(date +%s.%N)
      run_wrk "$t" "$c" "$DUR" "$f"; rc=$?
      s1=$(date +%s.%N)
      g1=0; [ -n "${GWPID[$t]}" ] && g1=$(cpu_ticks "${GWPID[$t]}")
      h1=$(mock_hits); m1=$(cpu_ticks "$MOCK_PID")
      l1=0; p1=0
      [ -n "$LITELLM_PID" ] && l1=$(cpu_ticks "$LITELLM_PID")
      [ -n "$PORTKEY_PID" ] && p1=$(cpu_ticks "$PORTKEY_PID")
      line=$(grep '^WRKJSON ' "$f" | head -1 | cut -d' ' -f2-)
      if [ "$rc" != 0 ] || [ -z "$line" ]; then log "run $t c=$c rep=$rep FAILED (rc=$rc, see $f)"; continue; fi
      python3 - "$line" "$t" "$c" "$rep" "$s0" "$s1" "$CLK_TCK" "$((h1 - h0))" "$((m1 - m0))" \
        "$((l1 - l0))" "$((p1 - p0))" "$MAX_REQ" "$((g1 - g0))" "${GWPID[$t]}" >> "$OUT/results.jsonl" <<'EOF'
import json, sys
line, t, c, rep, s0, s1, hz, hits, mock_t, ll_t, pk_t, cap, gw_t, gw_pid = sys.argv[1:]
r = json.loads(line)
wall = float(s1) - float(s0); hz = int(hz)
r.update(target=t, conc=int(c), rep=int(rep), rps=r["requests"] / (r["duration_us"] / 1e6),
         mock_hits=int(hits), wall_s=round(wall, 2), hit_cap=r["requests"] >= int(cap),
         mock_cpu_pct=100.0 * int(mock_t) / hz / wall,
         litellm_cpu_pct=100.0 * int(ll_t) / hz / wall, portkey_cpu_pct=100.0 * int(pk_t) / hz / wall)
gw = int(gw_t) if gw_pid else None
if gw is not None:
    r["gw_cpu_pct"] = 100.0 * gw / hz / wall
    r["gw_cpu_us_per_req"] = (gw / hz) * 1e6 / max(r["requests"], 1)
print(json.dumps(r))
EOF
      log "$(tail -1 "$OUT/results.jsonl" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-8s c=%-3d rep=%d  %8.0f rps  p50 %7.2f ms  p99 %7.2f ms  errs %d  gwcpu %s%%" % (r["target"], r["conc"], r["rep"], r["rps"], r["p50_us"]/1e3, r["p99_us"]/1e3, r["err_connect"]+r["err_read"]+r["err_write"]+r["err_status"]+r["err_timeout"], ("%.0f" % r["gw_cpu_pct"]) if "gw_cpu_pct" in r else "-"))')"
    done
  done
done

sleep 2
[ -n "$LITELLM_PID" ] && rss_record litellm "after load (2 s after last run)" "$LITELLM_PID"
[ -n "$PORTKEY_PID" ] && rss_record portkey "after load (2 s after last run)" "$PORTKEY_PID"
for t in $TARGETS; do
  case "$t" in direct|litellm|portkey) continue ;; esac
  [ -n "${GWPID[$t]:-}" ] && rss_record "$t" "after load (2 s after last run)" "${GWPID[$t]}"
done

python3 "$HERE/summarize.py" "$OUT" > "$OUT/summary.md"
{ echo; echo "## Versions"; echo '```'; cat "$OUT/versions.txt"; echo '```'; echo; cat "$OUT/summary.md"; } | tee -a "$OUT/run.log"
log "raw output in $OUT"
# cleanup (stop by PID) runs from the EXIT trap
curl -s --max-time 2 "http://127.0.0.1:$MOCK_PORT/stats" > "$OUT/mock-stats.json" 2>/dev/null || true
