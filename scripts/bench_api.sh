#!/usr/bin/env bash
# API load benchmark (issue 15): for each backend (SQLite, PostgreSQL) and each project size, a
# fresh database behind a `vigil serve` (no worker, no prober, no rate limit), then
#   1. N video sources created through the API by wrk at 50 concurrent clients (creates/s),
#   2. 200 tasks and, at the largest size, ALARMS event-center alarms seeded through the store
#      (`seed_console`, one alarm in 20 with a picture),
#   3. every list and detail route driven by wrk at each client count for DURATION seconds,
# and prints p50 / p99 latency (ms), requests/s and failed requests per route, next to the targets:
# a 50-item ListVideoSources page p99 <= 20 ms at 50 clients and flat in N (<= 1.5x from 1,000 to
# 10,000 sources), alarm pages p99 <= 50 ms at 1,000,000 alarms, creates >= 1,000/s.
#
#   scripts/bench_api.sh                                  # the full run (about 25 minutes)
#   BACKENDS=sqlite SIZES="1000" ALARMS=100000 DURATION=5 scripts/bench_api.sh
#   scripts/bench_api.sh --smoke                          # CI: tiny sizes, debug build, checks 0 failures
#
# Settings (environment): BACKENDS ("sqlite postgres"), SIZES ("1000 10000"), ALARMS (1000000),
# CLIENTS ("50 200"), THINK ("0 50": each client's pause after an answer in ms; 0 is flat out,
# routes run with a pause are marked "~"), DURATION (10, seconds per route and run), PG_URL
# (postgres://postgres@127.0.0.1:5432/test: a server where databases may be created), PROFILE
# (release), RESULTS (a file that receives the result lines as TSV, the last column
# naming the server: bin or cmp), ROUTES (only the routes whose
# name matches this extended regex, e.g. "sources_page|alarms_first"), SERVER_BIN (another `vigil`
# binary to serve, e.g. an older build), COMPARE_BIN (a second `vigil` binary, e.g. the previous
# build, served beside the first on the same database: every route then runs ROUNDS times (3),
# alternating between the two, and the summary gives each one's median p99 and req/s and their
# ratio; the machine's speed drifts by up to 2x over minutes, so only such pairs compare builds).
# wrk comes from Debian (`apt-get install wrk`); it runs on the same machine as the server, as a
# client next door would.
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then
  SMOKE=1
  BACKENDS=${BACKENDS:-sqlite}; SIZES=${SIZES:-300}; ALARMS=${ALARMS:-5000}; CLIENTS=${CLIENTS:-50}
  DURATION=${DURATION:-1}; PROFILE=${PROFILE:-debug}; THINK=${THINK:-0}
fi
BACKENDS=${BACKENDS:-sqlite postgres}
SIZES=${SIZES:-1000 10000}
ALARMS=${ALARMS:-1000000}
CLIENTS=${CLIENTS:-50 200}
THINK=${THINK:-0 50}
DURATION=${DURATION:-10}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PROFILE=${PROFILE:-release}
RESULTS=${RESULTS:-}
ROUTES=${ROUTES:-.*}
COMPARE_BIN=${COMPARE_BIN:-}
if [ -z "${ROUNDS:-}" ]; then ROUNDS=1; [ -z "$COMPARE_BIN" ] || ROUNDS=3; fi
TASKS=200
LUA="$ROOT/scripts/bench/api"
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_INCREMENTAL=0

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
if [ "$PROFILE" = release ]; then
  echo "== building the release server and seeder"
  cargo build -q --release -p vigil --bin vigil --example seed_console
else
  cargo build -q -p vigil --bin vigil --example seed_console
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${SERVER_BIN:-$TARGET/$PROFILE/vigil}
SEED="$TARGET/$PROFILE/examples/seed_console"
LARGEST=$(echo "$SIZES" | tr ' ' '\n' | sort -n | tail -n1)

WORK=$(mktemp -d /tmp/vigil-bench-api.XXXXXX)
SERVER_PID=""
COMPARE_PID=""
PG_DBS=()
stop_server() {
  local pid
  for pid in $SERVER_PID $COMPARE_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  SERVER_PID=""; COMPARE_PID=""
}
cleanup() {
  stop_server
  for db in "${PG_DBS[@]}"; do psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
FAILED=0
ROWS=()

# run_wrk ROUTE CLIENTS URL [wrk args...]: one wrk run, its RESULT line kept for the table.
# With THINK_MS set, each client pauses that long after every answer (route name + "~").
run_wrk() {
  local route=$1 clients=$2 url=$3; shift 3
  local round
  [[ "$route" =~ ^(${ROUTES})$ ]] || return 0
  [ "${THINK_MS:-0}" -gt 0 ] && route="$route~"
  for round in $(seq 1 "$ROUNDS"); do
    wrk_once "$route" "$clients" "$url" bin "$@"
    [ -z "$COMPARE_BIN" ] || wrk_once "$route" "$clients" "${url/#$BASE/$COMPARE_BASE}" cmp "$@"
  done
}

# wrk_once ROUTE CLIENTS URL LABEL [wrk args...]: one wrk run against the server of LABEL (bin:
# the server, cmp: the COMPARE_BIN one).
wrk_once() {
  local route=$1 clients=$2 url=$3 label=$4; shift 4
  local line
  line=$(BENCH_THINK_MS=${THINK_MS:-0} BENCH_ROUTE=$route BENCH_CLIENTS=$clients wrk -t2 -c"$clients" "$@" \
    -H "X-Auth-Token: $TOKEN" "$url" | grep '^RESULT' || true)
  [ -n "$line" ] || { echo "wrk gave no result for $route"; FAILED=1; return; }
  read -r _ r c p50 p99 rps non2xx errs <<<"$line"
  [ -z "$COMPARE_BIN" ] || printf '  %s' "$label"
  printf '  %-16s %4s clients  p50 %7s ms  p99 %7s ms  %7s req/s  failed %s\n' "$r" "$c" "$p50" "$p99" "$rps" "$((non2xx + errs))"
  ROWS+=("$BACKEND	$SIZE	$r	$c	$p50	$p99	$rps	$((non2xx + errs))	$label")
  [ $((non2xx + errs)) -eq 0 ] || FAILED=1
}

# create_sources N: CreateVideoSource through the API by wrk at 50 clients in 3 s windows until N
# exist. wrk's clock runs for the whole window even when its threads stop early, so the rate is
# taken over the full windows only (every window when the first one already reaches N).
create_sources() {
  local want=$1 made=0 full_req=0 full_s=0 all_req=0 all_s=0 window=0 line
  while [ "$made" -lt "$want" ]; do
    window=$((window + 1))
    line=$(BENCH_WINDOW=$window BENCH_COUNT=$((want - made)) BENCH_THREADS=2 BENCH_CLIENTS=50 wrk -t2 -c50 -d3s \
      -s "$LUA/create_sources.lua" -H "X-Auth-Token: $TOKEN" "$BASE/v2/$PID/source" | tee -a "$DATA/create.log" \
      | grep '^RESULT' || true)
    [ -n "$line" ] || { echo "wrk gave no result for create"; FAILED=1; return; }
    read -r _ _ _ p50 p99 rps non2xx errs <<<"$line"
    if [ $((non2xx + errs)) -ne 0 ]; then
      echo "  $((non2xx + errs)) creates failed:"; { grep -m3 '^create failed' "$DATA/create.log" || true; } | sed 's/^/    /'
      FAILED=1; return
    fi
    local n
    n=$(python3 -c "print(round($rps * 3))")
    made=$((made + n)); all_req=$((all_req + n)); all_s=$((all_s + 3))
    if [ "$made" -lt "$want" ]; then full_req=$((full_req + n)); full_s=$((full_s + 3)); fi
  done
  [ "$full_s" -gt 0 ] || { full_req=$all_req; full_s=$all_s; }
  rps=$(python3 -c "print(round($full_req / $full_s))")
  printf '  %-16s %4s clients  p50 %7s ms  p99 %7s ms  %7s req/s  failed 0  (%s created)\n' create 50 "$p50" "$p99" "$rps" "$made"
  ROWS+=("$BACKEND	$SIZE	create	50	$p50	$p99	$rps	0	bin")
}

# drive_routes C: every list and detail route at C clients (alarm routes when alarms were seeded).
drive_routes() {
  local C=$1
  run_wrk sources_page "$C" "$SOURCES?is_paged=true&page_size=50&page_num=7" -d "${DURATION}s" --latency -s "$LUA/report.lua"
  run_wrk sources_search "$C" "$SOURCES?is_paged=true&page_size=50&scope=bench-01-0001" -d "${DURATION}s" -s "$LUA/report.lua"
  run_wrk sources_filter "$C" "$SOURCES?is_paged=true&page_size=50&tag=zone-3&status=2" -d "${DURATION}s" -s "$LUA/report.lua"
  run_wrk source_detail "$C" "$SOURCES/$SOURCE_ID" -d "${DURATION}s" -s "$LUA/report.lua"
  run_wrk groups_page "$C" "$BASE/v2/$PID/video-group/groups?is_paged=true&page_size=50" -d "${DURATION}s" -s "$LUA/report.lua"
  run_wrk tasks_page "$C" "$BASE/v2/$PID/tasks?page=2&page_size=50" -d "${DURATION}s" -s "$LUA/report.lua"
  run_wrk task_detail "$C" "$BASE/v2/$PID/tasks/$TASK_ID" -d "${DURATION}s" -s "$LUA/report.lua"
  if [ "$alarms" -gt 0 ]; then
    ALARMS_URL="$BASE/v2/$PID/vigil/alarms"
    DEEP=$(( alarms / 10 > 100000 ? 100000 : alarms / 10 ))
    MARKER=$(curl -fs -H "X-Auth-Token: $TOKEN" "$ALARMS_URL?limit=1&offset=$DEEP" | json_field "d.get('next_marker', '')")
    NOW=$(date +%s)
    run_wrk alarms_first "$C" "$ALARMS_URL?limit=50" -d "${DURATION}s" -s "$LUA/report.lua"
    run_wrk alarms_marker "$C" "$ALARMS_URL?limit=50&marker=$MARKER" -d "${DURATION}s" -s "$LUA/report.lua"
    run_wrk alarms_task "$C" "$ALARMS_URL?limit=50&task_id=$TASK_ID" -d "${DURATION}s" -s "$LUA/report.lua"
    run_wrk alarms_day "$C" "$ALARMS_URL?limit=50&start_time=$((NOW - 2 * 86400))&end_time=$((NOW - 86400))" -d "${DURATION}s" -s "$LUA/report.lua"
  fi
}

# start_server BINARY NAME: `vigil serve` of BINARY on DATABASE and a free port, logging to
# $DATA/NAME.log; sets STARTED_PID and STARTED_BASE once it answers /health.
start_server() {
  local bin=$1 name=$2 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  STARTED_BASE="http://127.0.0.1:$port"
  VIGIL_ADMIN_PASSWORD="$PASSWORD" "$bin" --data-dir "$DATA" --database "$DATABASE" serve \
    --listen "127.0.0.1:$port" --no-worker true --probe-interval 0 --rate-limit 0 \
    --source-quota $((SIZE + 1000)) --task-quota $((TASKS + 100)) --log warn >"$DATA/$name.log" 2>&1 &
  STARTED_PID=$!
  for _ in $(seq 1 150); do curl -fs "$STARTED_BASE/health" >/dev/null && break; sleep 0.2; done
  curl -fs "$STARTED_BASE/health" >/dev/null || { echo "$bin serve did not start:"; cat "$DATA/$name.log"; exit 1; }
}

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

for BACKEND in $BACKENDS; do
  for SIZE in $SIZES; do
    echo "== $BACKEND, $SIZE sources"
    DATA="$WORK/$BACKEND-$SIZE"
    mkdir -p "$DATA"
    if [ "$BACKEND" = postgres ]; then
      DB="vigil_bench_$$_$SIZE"
      psql -q "$PG_URL" -c "CREATE DATABASE $DB" >/dev/null
      PG_DBS+=("$DB")
      DATABASE="${PG_URL%/*}/$DB"
    else
      DATABASE="sqlite://$DATA/vigil.db"
    fi
    PASSWORD="bench-$RANDOM$RANDOM"
    start_server "$BIN" serve
    SERVER_PID=$STARTED_PID; BASE=$STARTED_BASE
    AUTH='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"'$PASSWORD'","domain":{"name":"any"}}}},"scope":{"project":{"name":"default"}}}}'
    curl -fs -D "$DATA/token.headers" -o "$DATA/token.json" -H 'Content-Type: application/json' -d "$AUTH" "$BASE/v3/auth/tokens"
    TOKEN=$(awk 'tolower($1) == "x-subject-token:" {print $2}' "$DATA/token.headers" | tr -d '\r')
    [ -n "$TOKEN" ] || { echo "no token"; exit 1; }
    PID=$(json_field "d['token']['project']['id']" <"$DATA/token.json")

    echo "  creating $SIZE sources through the API (wrk, 50 clients)"
    create_sources "$SIZE"
    alarms=0
    [ "$SIZE" = "$LARGEST" ] && alarms=$ALARMS
    echo "  seeding $TASKS tasks and $alarms alarms through the store"
    "$SEED" --database-url "$DATABASE" --cameras 20 --tasks "$TASKS" --alarms "$alarms" --picture-every 20 \
      >"$DATA/seed.log" 2>&1 || { cat "$DATA/seed.log"; exit 1; }
    tail -n1 "$DATA/seed.log" | sed 's/^/  /'
    [ "$BACKEND" = postgres ] && psql -q "${PG_URL%/*}/$DB" -c "VACUUM ANALYZE" >/dev/null

    if [ -n "$COMPARE_BIN" ]; then
      start_server "$COMPARE_BIN" compare
      COMPARE_PID=$STARTED_PID; COMPARE_BASE=$STARTED_BASE
      echo "  serving COMPARE_BIN ($COMPARE_BIN) beside it: bin = $BIN, cmp = COMPARE_BIN"
    fi
    SOURCES="$BASE/v2/$PID/source/sources"
    SOURCE_ID=$(curl -fs -H "X-Auth-Token: $TOKEN" "$SOURCES?is_paged=true&page_size=5" | json_field "d['video_source_list'][0]['video_source_id']")
    TASK_ID=$(curl -fs -H "X-Auth-Token: $TOKEN" "$BASE/v2/$PID/tasks?page_size=5" | json_field "d['tasks'][0]['id']")
    echo "  $(curl -fs -H "X-Auth-Token: $TOKEN" "$SOURCES?is_paged=true&page_size=5" | json_field "str(d['total_number']) + ' sources in the project'")"
    for C in $CLIENTS; do
      for THINK_MS in $THINK; do drive_routes "$C"; done
    done
    stop_server
  done
done

echo
echo "== summary (p99 targets: sources_page <= 20 ms at 50 clients and <= 1.5x from the smallest to the largest size; alarms_* <= 50 ms; create >= 1,000 req/s)"
if [ -z "$COMPARE_BIN" ]; then
  printf '%-9s %6s %-15s %4s %9s %9s %9s %s\n' backend sources route clients p50_ms p99_ms req_per_s failed
  for r in "${ROWS[@]}"; do
    IFS=$'\t' read -r b n route c p50 p99 rps failed _ <<<"$r"
    printf '%-9s %6s %-15s %4s %9s %9s %9s %s\n' "$b" "$n" "$route" "$c" "$p50" "$p99" "$rps" "$failed"
  done
else
  echo "medians of $ROUNDS alternating runs; bin = $BIN, cmp = $COMPARE_BIN"
  printf '%s\n' "${ROWS[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    b, n, route, c, p50, p99, rps, failed, label = line.rstrip("\n").split("\t")
    runs.setdefault((b, n, route, c), {}).setdefault(label, []).append((float(p99), float(rps)))
print("%-9s %6s %-15s %4s %10s %10s %10s %10s %9s" % ("backend", "sources", "route", "clients",
      "bin_p99", "cmp_p99", "bin_req_s", "cmp_req_s", "req_ratio"))
for (b, n, route, c), by in runs.items():
    med = lambda label, k: statistics.median(x[k] for x in by[label]) if label in by else float("nan")
    ratio = med("bin", 1) / med("cmp", 1) if "cmp" in by else float("nan")
    print("%-9s %6s %-15s %4s %10.2f %10.2f %10.0f %10.0f %9.2f" % (b, n, route, c, med("bin", 0),
          med("cmp", 0), med("bin", 1), med("cmp", 1), ratio))
'
fi
if [ -n "$RESULTS" ]; then printf '%s\n' "${ROWS[@]}" >"$RESULTS"; fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $PROFILE build; wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}')"
if [ "$FAILED" -ne 0 ]; then echo "some requests failed (see above)"; exit 1; fi
[ "$SMOKE" = 1 ] && echo "bench_api smoke: OK"
exit 0
