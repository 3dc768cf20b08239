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

# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

for target in direct proxy; do
  base=$DIRECT
  [ "$target" = proxy ] && base=$PROXY
  echo "== $target ($base)"
  serve_before=$(cpu "$server"); proxy_before=$(cpu "$proxy")
  AGENTS_LUA="$work/agents.lua" THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
    -s crates/confsim-gateway/benches/requestagentconf.lua "$base" > "$work/wrk.txt"
  grep -E 'requests in|Requests/sec|^ +(50|90|99)%|p50' "$work/wrk.txt"
  requests=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
  # On a machine with fewer cores than the three processes want, throughput is shared: the
  # CPU each process spent per request is the figure that does not depend on it.
  awk -v n="$requests" -v s0="$serve_before" -v s1="$(cpu "$server")" \
      -v p0="$proxy_before" -v p1="$(cpu "$proxy")" 'BEGIN {
    printf "CPU per request: gateway %.1f us, proxy %.1f us\n", (s1 - s0) * 1e6 / n, (p1 - p0) * 1e6 / n }'
done
echo "capture: $(wc -l < "$work/capture.jsonl") lines"
