#!/usr/bin/env bash
# deno task bench [http|tcp] [--quick]: sidekick beside direct, nginx, HAProxy and Caddy
# (../shared/bench/peers.sh), the proxy pinned to one core. Prints a markdown table of ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-http}
shift || true
PEERS=${PEERS_SH:-../shared/bench/peers.sh}
[[ -x $PEERS || -f $PEERS ]] || { echo "bench: $PEERS not found (set PEERS_SH)" >&2; exit 2; }
export DENO_NO_UPDATE_CHECK=1
DENO=$(command -v deno)
RUN="$DENO run --v8-flags=--max-semi-space-size=2,--optimize-for-size --allow-net=127.0.0.1 $(pwd)/mod.ts"
case $MODE in
  http) exec bash "$PEERS" http "$@" --contender sidekick \
          "$RUN --address 127.0.0.1:{PORT} --health-path /small http://127.0.0.1:{B1},http://127.0.0.1:{B2}" ;;
  *) echo "bench: mode must be http (tcp arrives with the TCP core)" >&2; exit 2 ;;
esac
