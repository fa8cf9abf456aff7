#!/usr/bin/env bash
# Run Kamailio in the foreground (-DD -E) in the background of a host without an
# init system; the PID file names the process. Used by the kamailio role.
#
#   kamailio-pidfile.sh status|start|stop pid_file=P config=C [binary=B] [log=L]
#       [rpc_address=A] [rpc_port=N] [shm=MB] [pkg=MB] [timeout=S]
#
# status: prints the PID when the PID file names a live kamailio using config C
# start:  fails when the RPC port is taken or Kamailio exits / does not answer
#         JSON-RPC within the timeout (kamailio -c does not run module fixups,
#         so a bad configuration is only seen here); prints the new PID
# stop:   SIGTERM, wait up to 10 s, then SIGKILL to the process group
set -uo pipefail

action="${1:-}"; shift || true
binary=/usr/sbin/kamailio log=/dev/null log_offset=0 rpc_address=127.0.0.1 rpc_port=5071 shm=64 pkg=8 timeout=10
pid_file="" config=""
for kv in "$@"; do
    case "$kv" in
        pid_file=*|config=*|binary=*|log=*|rpc_address=*|rpc_port=*|shm=*|pkg=*|timeout=*) printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
        *) echo "unknown argument: $kv" >&2; exit 2 ;;
    esac
done
[[ -n "$pid_file" && -n "$config" ]] || { echo "pid_file= and config= are required" >&2; exit 2; }

running() { kill -0 "$1" 2>/dev/null && [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

current_pid() {
    local pid
    pid="$(cat "$pid_file" 2>/dev/null)" || return 0
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    running "$pid" || return 0
    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$config" && echo "$pid"
    return 0
}

rpc_ready() {  # JSON-RPC core.version answers (bash /dev/tcp, no curl needed)
    local body='{"jsonrpc":"2.0","method":"core.version","id":1}' line len=0 answer=""
    exec 3<>"/dev/tcp/$1/$2" || return 1
    printf 'POST /RPC HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "$1" "$(printf '%s' "$body" | wc -c)" "$body" >&3
    while IFS= read -r -t 2 line <&3; do
        line="${line%$'\r'}"
        [[ -z "$line" ]] && break
        if [[ "${line,,}" == content-length:* ]]; then len="${line#*:}"; len="${len// /}"; fi
    done
    [[ "$len" =~ ^[0-9]+$ ]] && (( len > 0 )) && IFS= read -r -t 2 -N "$len" answer <&3
    exec 3<&- 3>&-
    [[ "$answer" == *'"result"'* ]]
}

# what this start wrote to the log: its errors, else its last lines
explain() {
    local errors
    errors="$(tail -c +"$((log_offset + 1))" "$log" 2>/dev/null | grep -E 'ERROR|CRITICAL|ALERT' | tail -n 10)"
    if [[ -n "$errors" ]]; then echo "$errors" >&2; else tail -c +"$((log_offset + 1))" "$log" 2>/dev/null | tail -n 15 >&2; fi
}

start() {
    local pid deadline
    pid="$(current_pid)"
    if [[ -n "$pid" ]]; then echo "$pid"; return 0; fi
    if (exec 3<>"/dev/tcp/$rpc_address/$rpc_port") 2>/dev/null; then
        echo "$rpc_address:$rpc_port (JSON-RPC) is already in use by another process" >&2
        return 1
    fi
    mkdir -p "$(dirname "$pid_file")" "$(dirname "$log")"
    log_offset="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    setsid "$binary" -DD -E -f "$config" -m "$shm" -M "$pkg" >>"$log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$pid_file"
    deadline=$((SECONDS + timeout))
    while (( SECONDS <= deadline )); do
        if ! running "$pid"; then
            echo "kamailio exited during start-up ($log):" >&2
            explain
            rm -f "$pid_file"
            return 1
        fi
        if rpc_ready "$rpc_address" "$rpc_port" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
        sleep 0.05
    done
    echo "kamailio (pid $pid) did not answer JSON-RPC on $rpc_address:$rpc_port within ${timeout}s ($log):" >&2
    explain
    return 1
}

stop() {
    local pid _
    pid="$(current_pid)"
    [[ -n "$pid" ]] || { rm -f "$pid_file"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pid_file"
    echo "$pid"
}

case "$action" in
    status) current_pid ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 status|start|stop pid_file=P config=C ..." >&2; exit 2 ;;
esac
