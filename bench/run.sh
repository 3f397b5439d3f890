#!/usr/bin/env bash
# deno task bench idle [http|tcp|both] [N] [--nginx]: RSS per idle connection (bench/idle.ts), no peers needed.
# deno task bench [http|tcp] [--quick]: sidekick beside direct, nginx, HAProxy and Caddy (http) or
# HAProxy, nginx and socat (tcp), from bench/peers.sh (our harness, in this repository), the proxy
# pinned to one core.
# Prints a markdown table of ratios. sidekick runs the way the compiled binaries do
# (--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20) with only --allow-net=127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-http}
shift || true
PEERS=${PEERS_SH:-bench/peers.sh}
[[ $MODE == idle || -f $PEERS ]] || { echo "bench: $PEERS not found (set PEERS_SH)" >&2; exit 2; }
export DENO_NO_UPDATE_CHECK=1
DENO=$(command -v deno)
FLAGS="--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20 --allow-net=127.0.0.1"
case $MODE in
  idle)
    # RSS per idle connection (HTTP and TCP) and the RSS curve after they close: bench/idle.ts [http|tcp|both] [N] [--nginx]
    exec "$DENO" run --allow-net=127.0.0.1 --allow-run=deno,ps,nginx --allow-write=/tmp "$(pwd)/bench/idle.ts" "$@" ;;
  http)
    exec bash "$PEERS" http "$@" --contender sidekick \
      "$DENO run $FLAGS $(pwd)/mod.ts --address 127.0.0.1:{PORT} --health-path /small http://127.0.0.1:{B1},http://127.0.0.1:{B2}" ;;
  tcp)
    exec bash "$PEERS" tcp "$@" --contender sidekick "bash $(pwd)/bench/tcp_contender.sh {PORT} {B1} {B2}" ;;
  *) echo "bench: mode must be http, tcp or idle" >&2; exit 2 ;;
esac
