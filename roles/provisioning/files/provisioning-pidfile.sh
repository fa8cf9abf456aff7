#!/usr/bin/env bash
# Run the provisioning service (python -m provisioning, in the foreground) in the background of a host
# without an init system; the PID file names the process. Used by the provisioning role.
#
#   provisioning-pidfile.sh status|start|stop pid_file=P env_file=E source_dir=D [python=PY] [log=L]
#       [listen=HOST:PORT] [timeout=S]
#
# status: prints the PID when the PID file names a live `python -m provisioning` running in D
# start:  reads its settings from E (never from the command line: the DSN may hold a password), fails when
#         the port is taken or the service exits / /healthz does not answer 200 within the timeout; prints the PID
# stop:   SIGTERM, wait up to 10 s, then SIGKILL to the process group
set -uo pipefail

action="${1:-}"; shift || true
python=python3 log=/dev/null log_offset=0 listen=127.0.0.1:5080 timeout=20
pid_file="" env_file="" source_dir=""
for kv in "$@"; do
    case "$kv" in
        pid_file=*|env_file=*|source_dir=*|python=*|log=*|listen=*|timeout=*) printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
        *) echo "unknown argument: $kv" >&2; exit 2 ;;
    esac
done
[[ -n "$pid_file" && -n "$env_file" && -n "$source_dir" ]] || { echo "pid_file=, env_file= and source_dir= are required" >&2; exit 2; }
host="${listen%:*}" port="${listen##*:}"

running() { kill -0 "$1" 2>/dev/null && [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

current_pid() {
    local pid
    pid="$(cat "$pid_file" 2>/dev/null)" || return 0
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    running "$pid" || return 0
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$(readlink -f "$source_dir")" ]] || return 0
    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- provisioning && echo "$pid"
    return 0
}

healthy() {  # GET /healthz answers 200 (bash /dev/tcp, no curl needed)
    local status=""
    exec 3<>"/dev/tcp/$host/$port" || return 1
    printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    IFS= read -r -t 2 status <&3
    exec 3<&- 3>&-
    [[ "$status" == "HTTP/1."?" 200"* ]]
}

explain() {  # what this start wrote to the log
    tail -c +"$((log_offset + 1))" "$log" 2>/dev/null | tail -n 15 >&2
}

start() {
    local pid deadline
    pid="$(current_pid)"
    if [[ -n "$pid" ]]; then echo "$pid"; return 0; fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        echo "$host:$port is already in use by another process" >&2
        return 1
    fi
    mkdir -p "$(dirname "$pid_file")" "$(dirname "$log")"
    log_offset="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    (
        set -a
        # shellcheck disable=SC1090
        . "$env_file"
        set +a
        cd "$source_dir" || exit 1
        exec setsid "$python" -m provisioning >>"$log" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" > "$pid_file"
    deadline=$((SECONDS + timeout))
    while (( SECONDS <= deadline )); do
        if ! running "$pid"; then
            echo "the provisioning service exited during start-up ($log):" >&2
            explain
            rm -f "$pid_file"
            return 1
        fi
        if healthy 2>/dev/null; then
            echo "$pid"
            return 0
        fi
        sleep 0.1
    done
    echo "the provisioning service (pid $pid) did not answer /healthz on $host:$port within ${timeout}s ($log):" >&2
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
    *) echo "usage: $0 status|start|stop pid_file=P env_file=E source_dir=D ..." >&2; exit 2 ;;
esac
