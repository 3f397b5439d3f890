#!/usr/bin/env bash
# tcp_contender.sh PORT B1 B2 [V8_FLAGS]: sidekick as a TCP proxy on 127.0.0.1:PORT in front of B1 and
# B2 (one endpoint when B1 = B2), probes off like the peers; `deno run` with no V8 flags unless given
# (the compiled binary's, for its row). Used by bench/run.sh tcp.
set -euo pipefail
port=$1 b1=$2 b2=$3 v8=${4:-}
eps="\"127.0.0.1:$b1\""
[[ $b1 == "$b2" ]] || eps="$eps, \"127.0.0.1:$b2\""
cfg=$(mktemp --suffix=.yaml)
trap 'rm -f "$cfg"' EXIT
cat >"$cfg" <<YAML
listeners:
  - kind: tcp
    address: 127.0.0.1:$port
    policy: round-robin
    tiers: [{ endpoints: [$eps] }]
    health: { active: false }
YAML
deno run ${v8:+--v8-flags="$v8"} --allow-net=127.0.0.1 \
  --allow-read="$cfg" --allow-env=LOG_TOKENS,LOG_STREAM "$(dirname "$0")/../mod.ts" --config "$cfg"
