#!/usr/bin/env bash
# deno task bench [all|http|tcp|udp|soak] [--quick] [--soak-seconds N]: sidekick beside its peers, on
# 127.0.0.1, the proxy pinned to one core. Default: all four, one after the other.
#   http, tcp  peers.sh's tables (direct, nginx, HAProxy, Caddy / HAProxy, nginx, socat), with sidekick
#              in both modes: sidekick-plain runs as a JSR user runs it (`deno run`, no V8 flags) and
#              sidekick-v8flags with the compiled binary's V8 flags ($V8_FLAGS); only --allow-net=127.0.0.1
#   udp        bench/udp_burst.ts: 100 clients x 20 datagrams at once, answered twice, 5 runs, through
#              sidekick (plain, and with --unstable-net), nginx's stream proxy and direct; iperf3 -u
#   soak       bench/soak.ts in both modes: N s of HTTP load (default 180), RSS every 5 s, then 30 s idle
# peers.sh comes from $PEERS_SH, else bench/peers.sh, else ../shared/bench/peers.sh.
# deno task bench idle [http|tcp|both|floor|floor-http|floor-tcp] [N] [--nginx] [--v8-flags=...]: RSS per idle
# connection (bench/idle.ts; floor = a bare Deno program, bench/idle_floor.ts), no peers needed.
# deno task bench h2 [--quick] [--only h2c|tls] [--build NAME DIR]... [--contender NAME 'H2C' 'TLS']...:
# HTTP/2 fronts (h2c and TLS) before one HTTP/1.1 backend, with h2load (bench/h2.sh; not part of all).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-all}
shift || true
if [[ $MODE == idle ]]; then   # RSS per idle connection and the curve after they close; no peers
  export DENO_NO_UPDATE_CHECK=1
  exec deno run --allow-net=127.0.0.1 --allow-run=deno,ps,nginx --allow-write=/tmp \
    "$(pwd)/bench/idle.ts" "$@"
fi
[[ $MODE == h2 ]] && exec bash "$(pwd)/bench/h2.sh" "$@"   # its own arguments, its own fronts
QUICK=() SOAK_SECONDS=180
while (($#)); do
  case $1 in
    --quick) QUICK=(--quick); shift ;;
    --soak-seconds) SOAK_SECONDS=$2; shift 2 ;;
    *) echo "bench: unknown argument: $1" >&2; exit 2 ;;
  esac
done
PEERS=${PEERS_SH:-bench/peers.sh}
[[ -f $PEERS ]] || PEERS=../shared/bench/peers.sh
export DENO_NO_UPDATE_CHECK=1
DENO=$(command -v deno)
V8_FLAGS=--max-semi-space-size=2,--heap-growing-percent=20
NET=--allow-net=127.0.0.1

peers() {                      # http|tcp: one peers.sh table, sidekick in both modes
  [[ -f $PEERS ]] || { echo "bench: $PEERS not found (set PEERS_SH)" >&2; exit 2; }
  if [[ $1 == http ]]; then
    local target="$(pwd)/mod.ts --address 127.0.0.1:{PORT} --health-path /small http://127.0.0.1:{B1},http://127.0.0.1:{B2}"
    bash "$PEERS" http "${QUICK[@]}" \
      --contender sidekick-plain "$DENO run $NET $target" \
      --contender sidekick-v8flags "$DENO run --v8-flags=$V8_FLAGS $NET $target"
  else
    bash "$PEERS" tcp "${QUICK[@]}" \
      --contender sidekick-plain "bash $(pwd)/bench/tcp_contender.sh {PORT} {B1} {B2}" \
      --contender sidekick-v8flags "bash $(pwd)/bench/tcp_contender.sh {PORT} {B1} {B2} $V8_FLAGS"
  fi
}
udp() {
  local runs=() ; ((${#QUICK[@]})) && runs=(--runs 3 --iperf-seconds 3)
  "$DENO" run --unstable-net "$NET" --allow-read --allow-write=/tmp --allow-sys=loadavg \
    --allow-run bench/udp_burst.ts "${runs[@]}"
}
soak() {
  local flags
  for flags in "" "$V8_FLAGS"; do
    "$DENO" run "$NET" --allow-run=deno,ps,taskset bench/soak.ts --seconds "$SOAK_SECONDS" \
      ${flags:+"--v8-flags=$flags"}
    echo
  done
}
case $MODE in
  http | tcp) peers "$MODE" ;;
  udp) udp ;;
  soak) soak ;;
  all) peers http; echo; peers tcp; echo; udp; echo; soak ;;
  *) echo "bench: mode must be all, http, tcp, udp, soak, idle or h2" >&2; exit 2 ;;
esac
