#!/usr/bin/env bash
# Run Kannel (bearerbox, fakesmsc for each fake SMSC link, smsbox) in the background of a host
# without an init system; one PID file per process in run_dir. Used by the sms_gateway role.
#
#   kannel-pidfile.sh status|start|stop run_dir=D config=C [log_dir=L] [admin=HOST:PORT]
#       [sendsms=HOST:PORT] [fake_ports=P1,P2] [timeout=S]
#
# status: prints "NAME PID" for each process of this configuration that runs
# start:  bearerbox (waits for its admin port), fakesmsc on each fake SMSC port (waits until it
#         is connected), smsbox (waits for its sendsms port); fails with the log's last lines
# stop:   smsbox, bearerbox, fakesmsc: SIGTERM, wait up to 10 s, then SIGKILL
set -uo pipefail

action="${1:-}"; shift || true
bearerbox=/usr/sbin/bearerbox smsbox=/usr/sbin/smsbox fakesmsc=/usr/lib/kannel/test/fakesmsc
run_dir="" config="" log_dir="" admin=127.0.0.1:13000 sendsms=127.0.0.1:13013 fake_ports="" timeout=15
for kv in "$@"; do
    case "$kv" in
        run_dir=*|config=*|log_dir=*|admin=*|sendsms=*|fake_ports=*|timeout=*) printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
        *) echo "unknown argument: $kv" >&2; exit 2 ;;
    esac
done
[[ -n "$run_dir" && -n "$config" ]] || { echo "run_dir= and config= are required" >&2; exit 2; }
log_dir="${log_dir:-$run_dir}"
IFS=, read -r -a fakes <<< "$fake_ports"

running() { kill -0 "$1" 2>/dev/null && [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

# the PID in run_dir/NAME.pid when it is alive and runs with this configuration (or this fake port)
pid_of() {
    local name="$1" mark="$2" pid
    pid="$(cat "$run_dir/$name.pid" 2>/dev/null)" || return 0
    [[ "$pid" =~ ^[0-9]+$ ]] && running "$pid" || return 0
    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$mark" && echo "$pid"
    return 0
}

tcp_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# wait until `check` succeeds while PID lives; explain from LOG otherwise
await() {
    local name="$1" pid="$2" log="$3" deadline=$((SECONDS + timeout))
    shift 3
    while (( SECONDS <= deadline )); do
        if ! running "$pid"; then
            echo "$name exited during start-up ($log):" >&2; tail -n 15 "$log" >&2; return 1
        fi
        "$@" && return 0
        sleep 0.05
    done
    echo "$name (pid $pid) not ready within ${timeout}s ($log):" >&2; tail -n 15 "$log" >&2
    return 1
}

launch() {  # launch NAME LOG COMMAND...: started in its own session, PID file written
    local name="$1" log="$2"
    shift 2
    setsid "$@" >>"$log" 2>&1 </dev/null &
    echo $! > "$run_dir/$name.pid"
    echo $!
}

connected() { ss -Htn state established "( dport = :$1 )" 2>/dev/null | grep -q .; }

start() {
    local pid port
    mkdir -p "$run_dir" "$log_dir"
    pid="$(pid_of bearerbox "$config")"
    if [[ -z "$pid" ]]; then
        tcp_open "$admin" && { echo "$admin (Kannel admin) is already in use by another process" >&2; return 1; }
        pid="$(launch bearerbox "$log_dir/bearerbox.out" "$bearerbox" -v 1 "$config")"
        await bearerbox "$pid" "$log_dir/bearerbox.out" tcp_open "$admin" || return 1
    fi
    for port in "${fakes[@]}"; do
        pid="$(pid_of "fakesmsc-$port" "$port")"
        if [[ -z "$pid" ]]; then
            # -m 0: no message of its own, it only receives (and logs "Got message N: <from to text>")
            pid="$(launch "fakesmsc-$port" "$log_dir/fakesmsc-$port.log" "$fakesmsc" -H 127.0.0.1 -r "$port" -m 0 "0 0 text unused")"
            await fakesmsc "$pid" "$log_dir/fakesmsc-$port.log" connected "$port" || return 1
        fi
    done
    pid="$(pid_of smsbox "$config")"
    if [[ -z "$pid" ]]; then
        tcp_open "$sendsms" && { echo "$sendsms (Kannel sendsms) is already in use by another process" >&2; return 1; }
        # -v 2: at info level smsbox's console would show each SMS text, and activation links are secrets
        pid="$(launch smsbox "$log_dir/smsbox.out" "$smsbox" -v 2 "$config")"
        await smsbox "$pid" "$log_dir/smsbox.out" tcp_open "$sendsms" || return 1
    fi
    status
}

halt() {  # halt NAME MARK
    local pid _
    pid="$(pid_of "$1" "$2")"
    if [[ -n "$pid" ]]; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 100); do
            running "$pid" || break
            sleep 0.1
        done
        running "$pid" && kill -KILL "$pid" 2>/dev/null
        echo "$1 $pid"
    fi
    rm -f "$run_dir/$1.pid"
}

stop() {
    local port
    halt smsbox "$config"
    halt bearerbox "$config"
    for port in "${fakes[@]}"; do halt "fakesmsc-$port" "$port"; done
}

status() {
    local pid port
    pid="$(pid_of bearerbox "$config")"; [[ -n "$pid" ]] && echo "bearerbox $pid"
    for port in "${fakes[@]}"; do
        pid="$(pid_of "fakesmsc-$port" "$port")"; [[ -n "$pid" ]] && echo "fakesmsc-$port $pid"
    done
    pid="$(pid_of smsbox "$config")"; [[ -n "$pid" ]] && echo "smsbox $pid"
    return 0
}

case "$action" in
    status) status ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 status|start|stop run_dir=D config=C ..." >&2; exit 2 ;;
esac
