#!/usr/bin/env bash
# peers.sh: measure reverse proxies side by side, in one run, on this machine (127.0.0.1 only).
#
#   peers.sh http [--quick] [--contender NAME 'COMMAND TEMPLATE']...
#   peers.sh tcp  [--quick] [--contender NAME 'COMMAND TEMPLATE']...
#
# A template runs with bash -c in the caller's directory. {PORT} = port to listen on, {B1} {B2} = backend
# ports (host 127.0.0.1), e.g.
#   --contender sidekick 'deno run --allow-net=127.0.0.1 mod.ts --address 127.0.0.1:{PORT} http://127.0.0.1:{B1},http://127.0.0.1:{B2}'
# http: two nginx backends (/small = 100 B, /big = 1 MiB, keep-alive). Rows: direct (wrk straight at
#       backend 1, the limit), nginx, haproxy, caddy, then each contender. Columns: keep-alive small req/s
#       (wrk -c50) + ratio to direct + p99, proxy CPU µs/req, 1 MiB MiB/s (wrk -c8), new-connection req/s
#       (wrk -H 'Connection: close'), peak RSS of the proxy's process tree (sampled VmRSS), and how busy
#       the proxy core and the load core were during the small run (100 on the load core = load-bound).
# tcp:  bulk Gbit/s with iperf3 through direct, haproxy (mode tcp), nginx (stream), socat, contenders; then
#       short connections/s (wrk, Connection: close, HTTP through the TCP proxy to the two nginx backends).
#       In the bulk run {B1} = {B2} = the one iperf3 server (its control and data connections must meet).
#       Core busy % is taken during the bulk run.
# The proxy runs on core 0; load generator, backends and this script on core 1. Medians of 3 repetitions
# (--quick: 1 repetition, shorter runs). A contender not listening within 20 s gets a row saying so.
# Installs missing Debian packages with apt-get; configs and logs live in a temp dir removed at exit;
# every process started is stopped at exit (by its own process-group id, never by name).
set -euo pipefail

die() { echo "peers.sh: $*" >&2; exit 2; }
note() { echo "peers.sh: $*" >&2; }

MODE=${1:-}
[[ $MODE == http || $MODE == tcp ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
shift
QUICK=0 NAMES=() TEMPLATES=()
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift ;;
    --contender) (($# >= 3)) || die "--contender needs NAME and 'TEMPLATE'"
                 NAMES+=("$2"); TEMPLATES+=("$3"); shift 3 ;;
    *) die "unknown argument: $1" ;;
  esac
done
if ((QUICK)); then REPS=1 WARM=1 T_SMALL=3 T_BIG=2 T_CONN=2 T_TCP=3
else REPS=3 WARM=2 T_SMALL=8 T_BIG=5 T_CONN=5 T_TCP=8; fi
PROXY_CPU=0 LOAD_CPU=1 NCPU=$(nproc)
((NCPU >= 2)) || { LOAD_CPU=0; note "only one core: proxy and load share core 0"; }
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/peers.XXXXXX")
chmod 755 "$WORK"              # nginx workers may run as another user and must read files here
# shellcheck disable=SC2034  # USED_PORTS belongs to proc.sh
PGIDS=() SAMPLER="" USED_PORTS=" " ROWS=() NOTES=() RSS_MB="-" PORT="" PID=""

# ---------- process handling (and the nginx backend, median: proc.sh) ----------
# shellcheck source-path=SCRIPTDIR source=proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/proc.sh"
cleanup() {
  local pgid
  [[ -n $SAMPLER ]] && { kill "$SAMPLER" 2>/dev/null || true; }
  for pgid in "${PGIDS[@]}"; do stop_group "$pgid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
taskset -pc "$LOAD_CPU" $$ >/dev/null  # this script and what it starts default to the load core

tree_cpu_ticks() {             # PGID: utime+stime(+reaped children) summed over the session, in ticks
  local p stat sum=0 f
  for p in $(ps -o pid= --sid "$1" 2>/dev/null); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -ra f <<<"${stat##*") "}"   # f[0] = field 3 (state); utime..cstime = fields 14..17
    sum=$((sum + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$sum"
}
cores_ticks() {                # "busy total" jiffies of the proxy core, then of the load core
  local c; for c in "$PROXY_CPU" "$LOAD_CPU"; do
    awk -v c="cpu$c" '$1 == c {printf "%d %d ", $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; done
}
busy_pct() {                   # BEFORE AFTER (from cores_ticks): "proxy% load%"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y)
    printf "%.0f %.0f\n", 100 * (y[1] - x[1]) / (y[2] - x[2] + 1e-9), 100 * (y[3] - x[3]) / (y[4] - x[4] + 1e-9) }'
}
start_rss_sampler() {          # PGID: keep the peak tree RSS in $WORK/rss.peak (4 samples/s, <= 1 h)
  echo 0 >"$WORK/rss.peak"
  ( peak=0
    for ((i = 0; i < 14400; i++)); do
      kb=$(tree_rss_kb "$1"); ((kb > peak)) && { peak=$kb; echo "$peak" >"$WORK/rss.peak"; }
      sleep 0.25
    done ) &
  SAMPLER=$!
}
stop_rss_sampler() {           # sets RSS_MB to the peak seen
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
  RSS_MB=$(awk '{printf "%.1f", $1 / 1024}' "$WORK/rss.peak")
}

# ---------- setup ----------
ensure_packages() {            # install what is missing (idempotent)
  local need=() spec
  for spec in haproxy:haproxy nginx:nginx caddy:caddy wrk:wrk curl:curl ps:procps ss:iproute2 \
              taskset:util-linux iperf3:iperf3 socat:socat; do
    command -v "${spec%%:*}" >/dev/null || need+=("${spec#*:}")
  done
  [[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || need+=(libnginx-mod-stream)
  ((${#need[@]})) || return 0
  note "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >"$WORK/apt.log" 2>&1 ||
    { apt-get update -q >>"$WORK/apt.log" 2>&1 && apt-get install -y -q "${need[@]}" >>"$WORK/apt.log" 2>&1; } ||
    { tail -5 "$WORK/apt.log" >&2; die "apt-get install failed"; }
}

# ---------- built-in peers: peer_NAME DIR PORT B1 B2 writes a config and prints the command ----------
peer_nginx() {
  { [[ $MODE == http ]] || printf 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n'
    nginx_main_conf "$1"
    if [[ $MODE == tcp ]]; then
      printf 'stream { upstream be { server 127.0.0.1:%s; server 127.0.0.1:%s; }\n' "$3" "$4"
      printf '  server { listen 127.0.0.1:%s backlog=4096; proxy_pass be; } }\n' "$2"
    else
      printf 'http { access_log off; keepalive_requests 1000000;\n'
      printf '  upstream be { server 127.0.0.1:%s; server 127.0.0.1:%s; keepalive 64; }\n' "$3" "$4"
      printf '  server { listen 127.0.0.1:%s backlog=4096; location / { proxy_pass http://be;\n' "$2"
      printf '    proxy_http_version 1.1; proxy_set_header Connection ""; proxy_max_temp_file_size 0; } } }\n'
    fi; } >"$1/nginx.conf"
  nginx_cmd "$1"
}
peer_haproxy() {
  { printf 'global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode %s\n' "$MODE"
    printf '  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'listen px\n  bind 127.0.0.1:%s\n  balance roundrobin\n' "$2"
    printf '  server b1 127.0.0.1:%s\n  server b2 127.0.0.1:%s\n' "$3" "$4"; } >"$1/haproxy.cfg"
  printf '/usr/sbin/haproxy -db -f %q' "$1/haproxy.cfg"
}
peer_caddy() {
  printf '{\n\tadmin off\n\tauto_https off\n}\nhttp://127.0.0.1:%s {\n\tbind 127.0.0.1\n' \
    "$2" >"$1/Caddyfile"
  printf '\treverse_proxy 127.0.0.1:%s 127.0.0.1:%s {\n\t\tlb_policy round_robin\n\t}\n}\n' "$3" "$4" >>"$1/Caddyfile"
  printf 'HOME=%q XDG_DATA_HOME=%q XDG_CONFIG_HOME=%q exec /usr/bin/caddy run --adapter caddyfile --config %q' \
    "$1" "$1" "$1" "$1/Caddyfile"
}
peer_socat() { printf 'exec socat TCP-LISTEN:%s,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:%s' "$2" "$3"; }
fill_template() {              # TEMPLATE PORT B1 B2
  local t=$1 k1='{PORT}' k2='{B1}' k3='{B2}'
  t=${t//"$k1"/$2}; t=${t//"$k2"/$3}; printf '%s' "${t//"$k3"/$4}"
}

# launch_proxy INDEX B1 B2: start row INDEX (a peer or a contender) on the proxy core; sets PORT and
# PID (the process-group id); returns 1 (and removes it) when it is not listening within 20 s
launch_proxy() {
  local i=$1 dir cmd
  free_port PORT; dir=$WORK/${ROW_NAMES[i]}-$PORT; mkdir -p "$dir"
  if [[ -z ${ROW_TEMPLATES[i]} ]]; then cmd=$("peer_${ROW_NAMES[i]}" "$dir" "$PORT" "$2" "$3")
  else cmd=$(fill_template "${ROW_TEMPLATES[i]}" "$PORT" "$2" "$3"); fi
  start_group "$PROXY_CPU" "${ROW_NAMES[i]}-$PORT" "$cmd"; PID=$LAST_PID
  wait_listen "$PORT" "$PID" 20 && return 0
  note "${ROW_NAMES[i]} did not listen on $PORT within 20 s; log tail:"; tail -5 "$WORK/${ROW_NAMES[i]}-$PORT.log" >&2 || true
  stop_group "$PID"; return 1
}

# ---------- load generators ----------
run_wrk() {                    # SECONDS CONNS URL [wrk args]: prints "requests req/s p99_ms non2xx"
  local secs=$1 conns=$2 url=$3; shift 3
  timeout $((secs + 30)) wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url" >"$WORK/wrk.out" 2>&1 || true
  awk '/^ +99%/ { v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
                  p99 = v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }
       / requests in / { n = $1 }  /^Requests\/sec:/ { r = $2 }  /Non-2xx/ { bad = $NF }
       END { printf "%d %.0f %.2f %d\n", n, r, p99, bad }' "$WORK/wrk.out"
}
run_iperf() {                  # PORT: prints Gbit/s received (0 on failure)
  timeout $((T_TCP + 30)) iperf3 -c 127.0.0.1 -p "$1" -t "$T_TCP" -O 1 -f m >"$WORK/iperf.out" 2>&1 || true
  awk '/receiver/ { v = $(NF - 2) } END { printf "%.2f\n", v / 1000 }' "$WORK/iperf.out"
}
check_http() {                 # PORT: the proxy answers /small with a backend's body
  curl -sf --max-time 5 "http://127.0.0.1:$1/small" | grep -q 'hello from'
}
flag_errors() {                # NAME WHAT requests non2xx: remember a note when > 1 % failed
  if (($4 * 100 > $3)); then NOTES+=("$1: $2 had $4 non-2xx of $3 responses"); fi
}

# ---------- the two modes ----------
measure_http_row() {           # INDEX: one table row (direct = index 0)
  local i=$1 name=${ROW_NAMES[$1]} r n rps p99 bad c0 c1 k0 small=() p99s=() cpus=() bigs=() conns=() bp=() bl=() p l rss="-"
  if ((i == 0)); then PORT=$B1 PID=""
  else launch_proxy "$i" "$B1" "$B2" || { ROWS+=("$name|did not listen within 20 s"); return 0; }; fi
  check_http "$PORT" || { ROWS+=("$name|no valid response to GET /small"); [[ -n $PID ]] && stop_group "$PID"; return 0; }
  [[ -n $PID ]] && start_rss_sampler "$PID"
  run_wrk "$WARM" 50 "http://127.0.0.1:$PORT/small" >/dev/null
  for ((r = 0; r < REPS; r++)); do
    [[ -n $PID ]] && c0=$(tree_cpu_ticks "$PID")
    k0=$(cores_ticks)
    read -r n rps p99 bad < <(run_wrk "$T_SMALL" 50 "http://127.0.0.1:$PORT/small")
    read -r p l < <(busy_pct "$k0" "$(cores_ticks)"); bp+=("$p"); bl+=("$l")
    [[ -n $PID ]] && { c1=$(tree_cpu_ticks "$PID"); cpus+=("$(awk -v d=$((c1 - c0)) -v n="$n" -v t="$CLK_TCK" \
      'BEGIN {printf "%.1f", n ? d * 1e6 / t / n : 0}')"); }
    small+=("$rps"); p99s+=("$p99"); flag_errors "$name" "small" "$n" "$bad"
    read -r n rps p99 bad < <(run_wrk "$T_BIG" 8 "http://127.0.0.1:$PORT/big")
    bigs+=("$rps"); flag_errors "$name" "1 MiB" "$n" "$bad"      # 1 response = 1 MiB, so req/s = MiB/s
    read -r n rps p99 bad < <(run_wrk "$T_CONN" 50 "http://127.0.0.1:$PORT/small" -H 'Connection: close')
    conns+=("$rps"); flag_errors "$name" "new-conn" "$n" "$bad"
  done
  if [[ -n $PID ]]; then stop_rss_sampler; rss=$RSS_MB; stop_group "$PID"; fi
  ROWS+=("$name|$(median "${small[@]}")|$(median "${p99s[@]}")|$( ((${#cpus[@]})) && median "${cpus[@]}" || echo -)|$(median "${bigs[@]}")|$(median "${conns[@]}")|$rss|$(median "${bp[@]}")/$(median "${bl[@]}")")
}
measure_tcp_row() {            # INDEX: bulk through the proxy to iperf3, then short conns to nginx
  local i=$1 name=${ROW_NAMES[$1]} r n rps p99 bad k0 bulk=() conns=() bp=() bl=() p l rss="-"
  if ((i == 0)); then PORT=$IPERF PID=""
  else launch_proxy "$i" "$IPERF" "$IPERF" || { ROWS+=("$name|did not listen within 20 s"); return 0; }
       start_rss_sampler "$PID"; fi
  for ((r = 0; r < REPS; r++)); do
    k0=$(cores_ticks); bulk+=("$(run_iperf "$PORT")")
    read -r p l < <(busy_pct "$k0" "$(cores_ticks)"); bp+=("$p"); bl+=("$l")
  done
  if [[ -n $PID ]]; then stop_rss_sampler; rss=$RSS_MB; stop_group "$PID"; fi
  if ((i == 0)); then PORT=$B1 PID=""
  else launch_proxy "$i" "$B1" "$B2" || { ROWS+=("$name|did not listen within 20 s (2nd start)"); return 0; }
       start_rss_sampler "$PID"; fi
  if check_http "$PORT"; then
    run_wrk "$WARM" 50 "http://127.0.0.1:$PORT/small" -H 'Connection: close' >/dev/null
    for ((r = 0; r < REPS; r++)); do
      read -r n rps p99 bad < <(run_wrk "$T_CONN" 50 "http://127.0.0.1:$PORT/small" -H 'Connection: close')
      conns+=("$rps"); flag_errors "$name" "short-conn" "$n" "$bad"
    done
  else NOTES+=("$name: no valid HTTP response through the TCP proxy"); conns=(0); fi
  if [[ -n $PID ]]; then stop_rss_sampler; stop_group "$PID"
    rss=$(awk -v a="$rss" -v b="$RSS_MB" 'BEGIN {print (a + 0 > b + 0) ? a : b}'); fi
  ROWS+=("$name|$(median "${bulk[@]}")|$(median "${conns[@]}")|$rss|$(median "${bp[@]}")/$(median "${bl[@]}")")
}
print_table() {                # ratios are to the first row (direct)
  local row base1 base2
  IFS='|' read -r _ base1 base2 _ <<<"${ROWS[0]}"
  if [[ $MODE == http ]]; then
    echo "| contender | small req/s | ratio to direct | p99 ms | CPU µs/req | 1 MiB MiB/s | new-conn req/s | peak RSS MB | busy % proxy/load core |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  else
    echo "| contender | bulk Gbit/s | ratio to direct | short conn/s | ratio to direct | peak RSS MB | busy % proxy/load core |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
  fi
  for row in "${ROWS[@]}"; do
    awk -F'|' -v mode="$MODE" -v b1="$base1" -v b2="$base2" '
      function ratio(x, b) { return (b + 0 > 0) ? sprintf("%.2f", x / b) : "n/a" }
      NF <= 2 { printf "| %s | %s |%s\n", $1, $2, (mode == "http" ? " | | | | | | |" : " | | | | |"); next }
      mode == "http" { printf "| %s | %d | %s | %s | %s | %d | %d | %s | %s |\n", $1, $2, ratio($2, b1), $3, $4, $5, $6, $7, $8; next }
      { printf "| %s | %s | %s | %d | %s | %s | %s |\n", $1, $2, ratio($2, b1), $3, ratio($3, b2), $4, $5 }' <<<"$row"
  done
  for row in "${NOTES[@]}"; do echo "- note: $row"; done
}

ensure_packages
ROW_NAMES=(direct) ROW_TEMPLATES=("")
if [[ $MODE == http ]]; then ROW_NAMES+=(nginx haproxy caddy); else ROW_NAMES+=(haproxy nginx socat); fi
ROW_TEMPLATES+=("" "" "")
ROW_NAMES+=("${NAMES[@]}"); ROW_TEMPLATES+=("${TEMPLATES[@]}")
start_http_backend B1 backend1
start_http_backend B2 backend2
if [[ $MODE == tcp ]]; then
  free_port IPERF
  start_group "$LOAD_CPU" iperf3 "exec iperf3 -s -B 127.0.0.1 -p $IPERF"
  wait_listen "$IPERF" "$LAST_PID" 20 || die "iperf3 server did not start"
fi
echo "## peers.sh $MODE: $(date -u +%FT%TZ), $NCPU cores, proxy on core $PROXY_CPU, load on core $LOAD_CPU, $REPS rep(s), medians"
# shellcheck disable=SC2016  # ${Package} is dpkg-query's syntax
echo "versions: $(dpkg-query -W -f='${Package} ${Version}\n' haproxy nginx caddy wrk iperf3 socat curl | paste -sd, -)"
for i in "${!ROW_NAMES[@]}"; do
  note "measuring ${ROW_NAMES[i]} ($MODE)"
  "measure_${MODE}_row" "$i"
done
print_table
echo "total time: ${SECONDS} s"
