#!/usr/bin/env bash
# What `confsim record` costs: the same wrk load (requestagentconf / releaseagentconf round
# trips, requestagentconf.lua) against `confsim serve` directly, then through `confsim record`
# in front of it, on loopback; requests per second and latency percentiles of each.
#
#   crates/confsim-gateway/benches/record.sh        # AGENTS=1000 THREADS=2 CONNS=64 DURATION=10s
#   SKIP_BUILD=1 CONNS=64 DURATION=5s crates/confsim-gateway/benches/record.sh
#
# The proxy journals every round trip (--fsync never: the gateway has no journal file here
# either, so neither waits for a disk). Needs wrk (apt-get install wrk) and curl. Traffic goes
# to 127.0.0.1 only; the processes it starts are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../../.."

AGENTS=${AGENTS:-1000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
PORT=${PORT:-18643}
PROXY_PORT=${PROXY_PORT:-18644}
DIRECT="http://127.0.0.1:$PORT"
PROXY="http://127.0.0.1:$PROXY_PORT"

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p confsim
work=$(mktemp -d)
cat > "$work/platform.json" <<JSON
{ "platform": { "latency": { "minMs": 0, "maxMs": 0 } } }
JSON

target/release/confsim serve --addr "127.0.0.1:$PORT" --platform "$work/platform.json" \
  --inactivity-ms 0 --queue-capacity 64 > "$work/serve.log" 2>&1 &
server=$!
target/release/confsim record --upstream "$DIRECT" --addr "127.0.0.1:$PROXY_PORT" \
  --journal "$work/capture.jsonl" --fsync never --platform "$work/platform.json" \
  > "$work/record.log" 2>&1 &
proxy=$!
trap 'kill "$server" "$proxy" 2>/dev/null || true; wait "$server" "$proxy" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 50); do
  curl -sf "$DIRECT/simulator/health" > /dev/null && break
  sleep 0.1
done
sleep 0.5

echo "signing in $AGENTS agents through the proxy"
{
  echo "return {"
  for id in $(seq 101 $((100 + AGENTS))); do
    guid=$(curl -s -D - -o /dev/null -X PUT "$PROXY/agentgateway/resource/onlineagent/$id" \
      -H 'Content-Type: application/json' -d '{"password":"","status":"4"}' \
      | tr -d '\r' | sed -n 's/^set-guid: JSESSIONID=//Ip')
    echo "  {\"$id\", \"$guid\"},"
  done
  echo "}"
} > "$work/agents.lua"

for target in direct proxy; do
  base=$DIRECT
  [ "$target" = proxy ] && base=$PROXY
  echo "== $target ($base)"
  AGENTS_LUA="$work/agents.lua" THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
    -s crates/confsim-gateway/benches/requestagentconf.lua "$base" \
    | grep -E 'Requests/sec|Latency  |^ +(50|90|99)%|p50'
done
echo "capture: $(wc -l < "$work/capture.jsonl") lines"
