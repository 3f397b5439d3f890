# shellcheck shell=bash
# proc.sh: shell helpers that peers.sh and h2.sh share (sourced, never run). The caller defines
# die and note, and sets WORK (a temp dir), LOAD_CPU, PGIDS=() (process groups to stop at exit),
# USED_PORTS=" " and LAST_PID; it stops every group in PGIDS at exit (stop_group).

# ---------- process handling ----------
# shellcheck disable=SC2009  # pgrep cannot tell zombies apart
session_alive() { ps -o stat= --sid "$1" 2>/dev/null | grep -qv '^Z'; }
stop_group() {                 # TERM the process group we created, KILL it after 5 s
  local pgid=$1 i keep=() p
  for p in "${PGIDS[@]}"; do [[ $p == "$pgid" ]] || keep+=("$p"); done; PGIDS=("${keep[@]}")
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do session_alive "$pgid" || break; sleep 0.1; done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  wait "$pgid" 2>/dev/null || true
}
start_group() {                # CORE LOGNAME 'COMMAND': start in a new session; sets LAST_PID
  taskset -c "$1" setsid bash -c "$3" >"$WORK/$2.log" 2>&1 </dev/null &
  LAST_PID=$!
  PGIDS+=("$LAST_PID")
}
free_port() {                  # VAR: a port with no socket on it, not handed out before in this run
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    [[ -z $(ss -Htan "sport = :$p") ]] || continue
    USED_PORTS+="$p "; printf -v "$1" %s "$p"; return 0
  done
  die "no free port found"
}
wait_listen() {                # PORT PGID SECONDS: true once PORT listens; false if it dies or times out
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    [[ -n $(ss -Hltn "sport = :$1") ]] && return 0
    session_alive "$2" || return 1
    sleep 0.1
  done
  return 1
}
tree_rss_kb() { ps -o rss= --sid "$1" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

# ---------- an nginx HTTP/1.1 backend ----------
nginx_main_conf() {            # DIR: nginx top-level lines shared by every config
  printf 'worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n' "$1" "$1"
  printf 'events { worker_connections 8192; }\n'
}
nginx_cmd() { printf '/usr/sbin/nginx -p %q -e %q -c %q -g %q' "$1" "$1/error.log" "$1/nginx.conf" 'daemon off;'; }
start_http_backend() {         # VAR NAME: nginx with /small (100 B) and /big (1 MiB) on a free port
  local dir=$WORK/$2 port; free_port port; mkdir -p "$dir/www"
  printf '%-99s\n' "hello from $2" >"$dir/www/small"
  head -c 1048576 /dev/zero >"$dir/www/big"
  { nginx_main_conf "$dir"
    printf 'http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n'
    printf '  default_type application/octet-stream;\n'
    printf '  server { listen 127.0.0.1:%s backlog=4096; root %s/www; } }\n' "$port" "$dir"; } >"$dir/nginx.conf"
  start_group "$LOAD_CPU" "$2" "$(nginx_cmd "$dir")"
  wait_listen "$port" "$LAST_PID" 20 || die "backend $2 did not start: $(tail -3 "$WORK/$2.log")"
  printf -v "$1" %s "$port"
}

# ---------- numbers ----------
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "n/a"}'; }
