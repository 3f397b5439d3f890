#!/usr/bin/env bash
# h2.sh: HTTP/2 fronts side by side, on this machine (127.0.0.1 only). `deno task bench h2 ...`
#
#   h2.sh [--quick] [--only h2c|tls] [--build NAME DIR]... [--contender NAME 'H2C' 'TLS']...
#
# One nginx HTTP/1.1 backend (/small = 100 B, /big = 1 MiB, keep-alive). Each front speaks HTTP/2 to
# h2load and HTTP/1.1 to that backend: HAProxy (mode http), Caddy (reverse_proxy), then the
# contenders. Two tables: h2c with prior knowledge, and h2 over TLS (ALPN h2, a self-signed P-256
# certificate made with openssl for the run). `direct` is nginx serving the same files over HTTP/2
# itself, on the proxy core: no proxy hop, the ceiling of an h2 server here.
#   --build NAME DIR  sidekick from the checkout DIR (DIR/cli.ts) in both tables: `--h2c` for h2c,
#                     `--cert/--key` for TLS. Default when no --build or --contender: `sidekick` = .
#   --contender NAME 'H2C' 'TLS'  any command; templates run with bash -c; {PORT} = port to listen
#                     on, {B1} = the backend's port (127.0.0.1), {CERT} {KEY} = PEM files, {DIR} =
#                     their directory. A template '-' leaves the contender out of that table.
# Load: h2load -c10 -m10 GET /small (-n 50000; --quick 10000) and -c4 -m2 GET /big (-n 1000; --quick
# 200), after a warm-up; medians of 3 repetitions (--quick: 1). Every h2load is bounded (timeout
# 120 s, -N 10s inactivity). Before the load a front must answer GET /small over HTTP/2 (curl
# --http2-prior-knowledge, or ALPN h2 over TLS); one that does not gets the row `no h2 (...)`.
# Columns: req/s, ratio to Caddy, mean request time, failed (not 2xx, errored or timed out; summed
# over the repetitions), and the RSS of the front's process tree after its runs. The front runs on
# core 0; the backend, h2load and this script on core 1. Missing Debian packages are installed with apt-get; everything started is
# stopped at exit (by its own process-group id), the temp dir removed.
set -euo pipefail

die() { echo "h2.sh: $*" >&2; exit 2; }
note() { echo "h2.sh: $*" >&2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 ONLY="" NAMES=() H2C=() TLS=()
add_build() {                  # NAME DIR: sidekick from a checkout, in both tables
  [[ -f $2/cli.ts ]] || die "--build $1: no cli.ts in $2"
  # The V8 flags of the compiled binaries (scripts/compile.ts): without them V8's default young
  # generation alone adds ~80 MB of RSS under load, which is not what a user runs.
  local run="DENO_NO_UPDATE_CHECK=1 exec deno run --config $2/deno.json --v8-flags=${SIDEKICK_V8_FLAGS:---max-semi-space-size=2,--heap-growing-percent=20} --allow-net=127.0.0.1"
  local tail="--health-path /small http://127.0.0.1:{B1}"
  NAMES+=("$1")
  H2C+=("$run $2/cli.ts --address 127.0.0.1:{PORT} --h2c $tail")
  TLS+=("$run --allow-read={DIR} $2/cli.ts --address 127.0.0.1:{PORT} --cert {CERT} --key {KEY} $tail")
}
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift ;;
    --only) [[ ${2:-} == h2c || ${2:-} == tls ]] || die "--only takes h2c or tls"
            ONLY=$2; shift 2 ;;
    --build) (($# >= 3)) || die "--build needs NAME and DIR"
             add_build "$2" "$(cd "$3" && pwd)"; shift 3 ;;
    --contender) (($# >= 4)) || die "--contender needs NAME, 'H2C TEMPLATE' and 'TLS TEMPLATE'"
                 NAMES+=("$2"); H2C+=("$3"); TLS+=("$4"); shift 4 ;;
    *) die "unknown argument: $1 (see the top of bench/h2.sh)" ;;
  esac
done
((${#NAMES[@]})) || add_build sidekick "$ROOT"
if ((QUICK)); then REPS=1 N_SMALL=10000 N_BIG=200
else REPS=3 N_SMALL=50000 N_BIG=1000; fi
PROXY_CPU=0 LOAD_CPU=1
(($(nproc) >= 2)) || { LOAD_CPU=0; note "only one core: proxy and load share core 0"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/h2bench.XXXXXX")
chmod 755 "$WORK"              # nginx workers may run as another user and must read files here
# shellcheck disable=SC2034  # USED_PORTS and LAST_PID belong to proc.sh
PGIDS=() USED_PORTS=" " LAST_PID="" ROWS=() NOTES=() PORT="" PID="" MODE="" WHY="" H="" NAME=""
# shellcheck source-path=SCRIPTDIR source=proc.sh
source "$ROOT/bench/proc.sh"
cleanup() {
  local pgid
  for pgid in "${PGIDS[@]}"; do stop_group "$pgid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
taskset -pc "$LOAD_CPU" $$ >/dev/null  # this script and what it starts default to the load core

ensure_packages() {            # install what is missing (idempotent)
  local need=() spec
  for spec in h2load:nghttp2-client haproxy:haproxy nginx:nginx caddy:caddy curl:curl \
              openssl:openssl ps:procps ss:iproute2 taskset:util-linux; do
    command -v "${spec%%:*}" >/dev/null || need+=("${spec#*:}")
  done
  ((${#need[@]})) || return 0
  note "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q "${need[@]}" || { apt-get update -q && apt-get install -y -q "${need[@]}"; }; } \
    >"$WORK/apt.log" 2>&1 || { tail -5 "$WORK/apt.log" >&2; die "apt-get install failed"; }
}
make_cert() {                  # a self-signed P-256 certificate for 127.0.0.1 in $WORK/tls
  mkdir -p "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" >"$WORK/openssl.log" 2>&1 ||
    die "openssl could not make a certificate: $(tail -2 "$WORK/openssl.log")"
  cat "$WORK/tls/cert.pem" "$WORK/tls/key.pem" >"$WORK/tls/both.pem"   # HAProxy's crt: one file
  chmod -R a+rX "$WORK/tls"
}

# ---------- built-in fronts: front_NAME DIR PORT B1 writes a config and prints the command ----------
front_direct() {               # nginx serving /small and /big over HTTP/2 itself
  local listen="listen 127.0.0.1:$2 http2 backlog=4096;"
  [[ $MODE == tls ]] && listen="listen 127.0.0.1:$2 ssl http2 backlog=4096;
    ssl_certificate $WORK/tls/cert.pem; ssl_certificate_key $WORK/tls/key.pem;"
  { nginx_main_conf "$1"
    printf 'http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n'
    printf '  http2_max_requests 1000000; default_type application/octet-stream;\n'
    printf '  server { %s root %s/backend/www; } }\n' "$listen" "$WORK"; } >"$1/nginx.conf"
  nginx_cmd "$1"
}
front_haproxy() {
  local bind="proto h2"
  [[ $MODE == tls ]] && bind="ssl crt $WORK/tls/both.pem alpn h2,http/1.1"
  { printf 'global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n'
    printf '  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    printf 'listen px\n  bind 127.0.0.1:%s %s\n  http-reuse always\n' "$2" "$bind"
    printf '  server b1 127.0.0.1:%s\n' "$3"; } >"$1/haproxy.cfg"
  printf '/usr/sbin/haproxy -db -f %q' "$1/haproxy.cfg"
}
front_caddy() {
  { printf '{\n\tadmin off\n\tauto_https off\n\tservers {\n\t\tprotocols h1 h2 h2c\n\t}\n}\n'
    if [[ $MODE == tls ]]; then
      printf 'https://127.0.0.1:%s {\n\tbind 127.0.0.1\n\ttls %s %s\n' "$2" "$WORK/tls/cert.pem" "$WORK/tls/key.pem"
    else printf 'http://127.0.0.1:%s {\n\tbind 127.0.0.1\n' "$2"; fi
    printf '\treverse_proxy 127.0.0.1:%s\n}\n' "$3"; } >"$1/Caddyfile"
  printf 'HOME=%q XDG_DATA_HOME=%q XDG_CONFIG_HOME=%q exec /usr/bin/caddy run --adapter caddyfile --config %q' \
    "$1" "$1" "$1" "$1/Caddyfile"
}
fill_template() {              # TEMPLATE PORT B1
  local t=$1 k1='{PORT}' k2='{B1}' k3='{CERT}' k4='{KEY}' k5='{DIR}'
  t=${t//"$k1"/$2}; t=${t//"$k2"/$3}; t=${t//"$k3"/$WORK/tls/cert.pem}; t=${t//"$k4"/$WORK/tls/key.pem}
  printf '%s' "${t//"$k5"/$WORK/tls}"
}

# launch INDEX: start row INDEX on the proxy core; sets PORT and PID. On failure sets WHY and
# returns 1 (the front exited, or did not listen within 20 s).
launch() {
  local i=$1 name=${ROW_NAMES[$1]} dir cmd code log
  free_port PORT; dir=$WORK/$name-$MODE-$PORT; mkdir -p "$dir"; log=$WORK/$name-$MODE-$PORT.log
  if [[ -z ${ROW_TEMPLATES[i]} ]]; then cmd=$("front_$name" "$dir" "$PORT" "$B1")
  else cmd=$(fill_template "${ROW_TEMPLATES[i]}" "$PORT" "$B1"); fi
  start_group "$PROXY_CPU" "$name-$MODE-$PORT" "$cmd"; PID=$LAST_PID
  wait_listen "$PORT" "$PID" 20 && return 0
  if session_alive "$PID"; then WHY="not listening after 20 s"; stop_group "$PID"; return 1; fi
  code=0; wait "$PID" 2>/dev/null || code=$?
  stop_group "$PID"
  WHY="exit $code: $(grep -v '^\s*$' "$log" | tail -1 | cut -c1-100)"
  return 1
}
url() { if [[ $MODE == tls ]]; then echo "https://127.0.0.1:$1$2"; else echo "http://127.0.0.1:$1$2"; fi; }
check_h2() {                   # PORT: WHY = "" when GET /small came back over HTTP/2, else why not
  local how=(--http2-prior-knowledge) out code=0
  [[ $MODE == tls ]] && how=(--http2 -k)
  out=$(curl -s -o "$WORK/check.body" -w '%{http_version} %{http_code}' --max-time 5 "${how[@]}" \
        "$(url "$1" /small)") || code=$?
  WHY=""
  if ((code)); then WHY="curl exit $code"
  elif [[ $out != "2 200" ]]; then WHY="answered HTTP/${out/ / with status }"
  elif ! grep -q 'hello from' "$WORK/check.body"; then WHY="not the backend's body"; fi
}
run_h2load() {                 # N CONNS STREAMS PATH: sets H="req/s mean_ms failed" ("0 - N" on a hang)
  local code=0
  timeout 120 h2load -n "$1" -c "$2" -m "$3" -N 10s "$(url "$PORT" "$4")" >"$WORK/h2load.out" 2>&1 || code=$?
  if ((code == 124)); then H="0 - $1"; NOTES+=("$NAME $MODE $4: h2load did not finish within 120 s"); return; fi
  grep -Eq '^Application protocol: h2c?$' "$WORK/h2load.out" ||
    NOTES+=("$NAME $MODE $4: h2load did not negotiate h2 ($(grep -m1 -i 'protocol' "$WORK/h2load.out" || echo 'no protocol line'))")
  H=$(awk -v n="$1" '
    function ms(s) { v = s + 0; u = s; sub(/^[0-9.]+/, "", u); return v * (u == "us" ? 0.001 : u == "s" ? 1000 : 1) }
    /^finished in/ { rps = $4 + 0 }
    /^status codes:/ { ok = $3 + 0 }
    /^time for request:/ { mean = ms($6) }
    END { printf "%.0f %.2f %d\n", rps, mean, n - ok }' "$WORK/h2load.out")
}

measure_row() {                # INDEX: one table row
  local i=$1 r rps mean bad small=() smean=() sbad=0 big=() bmean=() bbad=0 rss
  NAME=${ROW_NAMES[$1]}
  launch "$i" || { ROWS+=("$NAME|no h2 ($WHY)"); note "$NAME: no h2 ($WHY)"; return 0; }
  check_h2 "$PORT"
  if [[ -n $WHY ]]; then ROWS+=("$NAME|no h2 ($WHY)"); note "$NAME: no h2 ($WHY)"; stop_group "$PID"; return 0; fi
  run_h2load 2000 10 10 /small          # warm-up
  for ((r = 0; r < REPS; r++)); do
    run_h2load "$N_SMALL" 10 10 /small; read -r rps mean bad <<<"$H"
    small+=("$rps"); smean+=("$mean"); sbad=$((sbad + bad))
    run_h2load "$N_BIG" 4 2 /big; read -r rps mean bad <<<"$H"   # 1 response = 1 MiB: req/s = MiB/s
    big+=("$rps"); bmean+=("$mean"); bbad=$((bbad + bad))
  done
  rss=$(awk -v kb="$(tree_rss_kb "$PID")" 'BEGIN {printf "%.1f", kb / 1024}')
  stop_group "$PID"
  ROWS+=("$NAME|$(median "${small[@]}")|$(median "${smean[@]}")|$sbad|$(median "${big[@]}")|$(median "${bmean[@]}")|$bbad|$rss")
}
print_table() {                # ratios are to the caddy row
  local row base1=0 base2=0
  for row in "${ROWS[@]}"; do
    [[ $row == caddy\|* ]] && IFS='|' read -r _ base1 _ _ base2 _ <<<"$row"
  done
  echo "| front | small req/s | ratio to Caddy | mean ms | failed | 1 MiB MiB/s | ratio to Caddy | mean ms | failed | RSS MB after |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${ROWS[@]}"; do
    awk -F'|' -v b1="$base1" -v b2="$base2" '
      function ratio(x, b) { return (b + 0 > 0) ? sprintf("%.2f", x / b) : "n/a" }
      NF <= 2 { printf "| %s | %s | | | | | | | | |\n", $1, $2; next }
      { printf "| %s | %d | %s | %s | %d | %d | %s | %s | %d | %s |\n", $1, $2, ratio($2, b1), $3, $4, $5, ratio($5, b2), $6, $7, $8 }' <<<"$row"
  done
  for row in "${NOTES[@]}"; do echo "- note: $row"; done
}

ensure_packages
make_cert
start_http_backend B1 backend
# shellcheck disable=SC2016  # ${Package} is dpkg-query's syntax
VERSIONS=$(dpkg-query -W -f='${Package} ${Version}\n' haproxy nginx caddy nghttp2-client curl | paste -sd, -)
for MODE in h2c tls; do
  [[ -n $ONLY && $ONLY != "$MODE" ]] && continue
  ROW_NAMES=(direct haproxy caddy) ROW_TEMPLATES=("" "" "") ROWS=() NOTES=()
  for i in "${!NAMES[@]}"; do
    if [[ $MODE == tls ]]; then t=${TLS[i]}; else t=${H2C[i]}; fi
    [[ $t == - ]] || { ROW_NAMES+=("${NAMES[i]}"); ROW_TEMPLATES+=("$t"); }
  done
  echo "## h2.sh $MODE: $(date -u +%FT%TZ), front on core $PROXY_CPU, backend and h2load on core $LOAD_CPU, $REPS rep(s), medians"
  echo "h2load -c10 -m10 -n $N_SMALL GET /small (100 B); -c4 -m2 -n $N_BIG GET /big (1 MiB); versions: $VERSIONS"
  for i in "${!ROW_NAMES[@]}"; do
    note "measuring ${ROW_NAMES[i]} ($MODE)"
    measure_row "$i"
  done
  print_table
  echo
done
echo "total time: ${SECONDS} s"
