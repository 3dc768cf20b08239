#!/usr/bin/env bash
# Benchmarks the gateway's full journaled path with wrk on loopback: requestagentconf and
# releaseagentconf round trips by AGENTS signed-in agents (zero platform latency, so every
# application really starts and every release really ends a conference), for DURATION.
#
#   crates/confsim-gateway/benches/wrk.sh            # AGENTS=1000 THREADS=2 CONNS=64 DURATION=10s
#   AGENTS=200 CONNS=16 DURATION=5s crates/confsim-gateway/benches/wrk.sh
#
# Needs wrk (apt-get install wrk) and curl. Traffic goes to 127.0.0.1 only; the server it
# starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../../.."

AGENTS=${AGENTS:-1000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
PORT=${PORT:-18643}
BASE="http://127.0.0.1:$PORT"

cargo build --release -q -p confsim
work=$(mktemp -d)
cat > "$work/platform.json" <<JSON
{ "platform": { "latency": { "minMs": 0, "maxMs": 0 } } }
JSON

target/release/confsim serve --addr "127.0.0.1:$PORT" --platform "$work/platform.json" \
  --inactivity-ms 0 --queue-capacity 64 > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 50); do
  curl -sf "$BASE/simulator/health" > /dev/null && break
  sleep 0.1
done

echo "signing in $AGENTS agents"
{
  echo "return {"
  for id in $(seq 101 $((100 + AGENTS))); do
    guid=$(curl -s -D - -o /dev/null -X PUT "$BASE/agentgateway/resource/onlineagent/$id" \
      -H 'Content-Type: application/json' -d '{"password":"","status":"4"}' \
      | tr -d '\r' | sed -n 's/^set-guid: JSESSIONID=//Ip')
    echo "  {\"$id\", \"$guid\"},"
  done
  echo "}"
} > "$work/agents.lua"

AGENTS_LUA="$work/agents.lua" THREADS="$THREADS" \
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
  -s crates/confsim-gateway/benches/requestagentconf.lua "$BASE"

curl -s "$BASE/simulator/metrics" | grep -E '^confsim_(journal_records|active_conferences|gateway_events_dropped_total) '
curl -s "$BASE/simulator/metrics" | grep -E '^confsim_retcodes_total'
