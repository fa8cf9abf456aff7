# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet engine, behind both doors (`switchboard.pbx.fleet`, all devices; `switchboard.pbx.device`, one):

    declared state + the PBX's usernames -> per device the lines and hot-desking it should hold (desired.py)
    -> a bounded pool of SSH sessions: connect, read, compare, write only what differs (nothing in check mode)
    -> verify on Kamailio (JSON-RPC) that every line is registered from its device's address, within a timeout
    -> one result per device: unchanged, changed, unreachable, auth_failed, timeout, not_registered,
       device_error (the device answered, not as its driver expects) or invalid (its bindings cannot be provisioned)

A device that fails never stops the others, and one that could not be read is never reported as drift.
The run fails at the end, naming each failed device and why (unless max_fail_percentage allows it).
"""

from __future__ import annotations

import collections
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from .. import declared as declared_state
from ..errors import SwitchboardError
from ..report import counted, joined
from ..pbx.database import database_exists, transaction
from ..pbx.rpc import KamailioRpc, RpcError, RpcUnavailable
from . import platforms
from .desired import wishes
from .driver import AUTH_FAILED, DEVICE_ERROR, TIMEOUT, UNREACHABLE, DeviceError, Target, difference
from .view import device_report, fleet_diff

UNCHANGED = "unchanged"
CHANGED = "changed"
NOT_REGISTERED = "not_registered"
INVALID = "invalid"
FAILED = (UNREACHABLE, AUTH_FAILED, TIMEOUT, NOT_REGISTERED, DEVICE_ERROR, INVALID)
VERIFY_POLL_SECONDS = 0.2


@dataclasses.dataclass
class FleetOptions:
    state_dir: str
    dsn: str
    sip_domain: str
    ssh_user: str
    key_file: str
    known_hosts: str
    proxy: str = None  # the SIP proxy the lines register through; default: the SIP domain
    passwords: dict = dataclasses.field(default_factory=dict)  # number -> clear password (vault, secrets file)
    rpc_url: str = None  # Kamailio's JSON-RPC: without it registrations are not verified (a warning says so)
    workers: int = 10
    connect_timeout: float = 10.0
    command_timeout: float = 20.0
    verify_timeout: float = 10.0
    sip_port: int = 5060  # where each device's phone listens on the device's address (0: any free port)
    check_mode: bool = False
    devices: tuple = None  # only these device names (the per-host door); None: every declared device
    max_fail_percentage: float = None  # None: any failed device fails the run
    cache_dir: str = None


@dataclasses.dataclass
class Outcome:
    wish: object  # desired.Wish
    status: str
    reason: str = None
    before: object = None  # driver.DeviceState as read, None when the device could not be read
    writes: int = 0  # SSH writes made on the device
    restarted: bool = False  # right on the device but not registered, so its phone was restarted

    @property
    def failed(self):
        return self.status in FAILED


def run(options):
    """The whole fleet run; returns the result dict the doors hand to Ansible."""
    started = time.monotonic()
    declared, warnings = declared_state.load(options.state_dir, options.cache_dir)
    wanted = wishes(declared, pbx_usernames(options.dsn), options.passwords, options.sip_domain,
                    options.proxy or options.sip_domain, options.check_mode)
    wanted = _selected(wanted, options.devices, options.state_dir)
    with ThreadPoolExecutor(max(1, min(options.workers, len(wanted)))) as pool:
        outcomes = list(pool.map(lambda wish: provision(wish, options), wanted))
    warnings = list(warnings)
    if not options.check_mode:  # in check mode nothing was written, so there is nothing new to verify
        warnings.extend(verify(outcomes, options) if options.rpc_url
                        else ["registrations not verified: no rpc_url (Kamailio's JSON-RPC) was given"])
    return _result(outcomes, options, warnings, time.monotonic() - started)


def pbx_usernames(dsn):
    """number -> username as the PBX holds them (generated usernames included): one query, read only."""
    if not database_exists(dsn):
        return {}
    with transaction(dsn, check_mode=True) as db:
        return dict(db.query("SELECT number, username FROM sb_accounts"))


def _selected(wanted, names, state_dir):
    if names is None:
        return wanted
    known = {wish.name: wish for wish in wanted}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SwitchboardError("device %s is not declared in %s" % (", ".join(unknown), state_dir))
    return [known[name] for name in sorted(set(names))]


def target_for(wish, options):
    return Target(name=wish.name, host=wish.host, port=wish.port, username=options.ssh_user, key_file=options.key_file,
                  known_hosts=options.known_hosts, conn_timeout=options.connect_timeout,
                  command_timeout=options.command_timeout, options={"sip_port": options.sip_port})


def provision(wish, options):
    """One device in one SSH session: read, compare, write what differs (not in check mode)."""
    if wish.problems:
        return Outcome(wish, INVALID, "; ".join(str(problem) for problem in wish.problems))
    try:
        driver = platforms.driver_for(target_for(wish, options), wish.platform)
    except ValueError as exc:
        return Outcome(wish, INVALID, str(exc))
    before = None
    try:
        with driver:
            before = driver.read()
            lines, hotdesking = difference(before, wish.lines, wish.hotdesking)
            differs = lines is not None or hotdesking is not None
            if differs and not options.check_mode:
                driver.write(lines=lines, hotdesking=hotdesking)
    except Exception as exc:  # pylint: disable=broad-except  # one device's failure never stops the fleet
        return Outcome(wish, *failure(exc), before=before, writes=driver.writes)
    return Outcome(wish, CHANGED if differs else UNCHANGED, None, before, driver.writes)


def failure(exc):
    """(status, reason) of what a device session raised: the driver's own verdict, or device_error for a surprise."""
    if isinstance(exc, DeviceError):
        return exc.status, exc.reason
    return DEVICE_ERROR, "%s: %s" % (type(exc).__name__, exc)


def verify(outcomes, options):
    """Every line of every device that holds its lines now must be registered on Kamailio from the device's
    address within verify_timeout; the devices where one is not become not_registered. Returns warnings."""
    rpc = KamailioRpc(options.rpc_url, timeout=5)
    holding = [o for o in outcomes if o.status in (CHANGED, UNCHANGED) and o.wish.lines]
    try:
        missing = awaited_registrations(rpc, holding, options.verify_timeout)
        # Right on the device, yet not registered: its phone gave up (say, the PBX refused a password it has since
        # been given). Restarting the phone makes every line register again.
        stale = [o for o in holding if o.wish.name in missing and o.status == UNCHANGED]
        if stale:
            _pooled(restart, stale, options)
            for outcome in stale:
                del missing[outcome.wish.name]
            missing.update(awaited_registrations(rpc, [o for o in stale if o.restarted], options.verify_timeout))
    except (RpcUnavailable, RpcError) as exc:
        return ["registrations not verified: %s" % exc]
    unregistered = [o for o in holding if o.wish.name in missing]
    for outcome, says in zip(unregistered, _pooled(phone_says, unregistered, options)):
        usernames = {username for username, _host in missing[outcome.wish.name]}
        outcome.status = NOT_REGISTERED
        outcome.reason = "not registered on Kamailio from %s within %gs: %s" % (
            outcome.wish.host, options.verify_timeout,
            ", ".join("channel %d (%s%s)" % (line.index, line.username, says.get(line.username, ""))
                      for line in outcome.wish.lines if line.username in usernames))
    return []


def _pooled(work, outcomes, options):
    with ThreadPoolExecutor(max(1, min(options.workers, len(outcomes)))) as pool:
        return list(pool.map(lambda outcome: work(outcome, options), outcomes))


def awaited_registrations(rpc, outcomes, timeout):
    """{device name: {(username, ip)} not registered}, polling Kamailio until none is missing or `timeout`."""
    expected = {o.wish.name: {(line.username, o.wish.host) for line in o.wish.lines} for o in outcomes}
    deadline = time.monotonic() + timeout
    while True:
        seen = {(contact["username"], (contact["source"] or "").rpartition(":")[0]) for contact in rpc.registered_contacts()}
        missing = {name: lines - seen for name, lines in expected.items() if lines - seen}
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(VERIFY_POLL_SECONDS)


def restart(outcome, options):
    """Write the device's lines again, which restarts its phone; the outcome records it."""
    driver = platforms.driver_for(target_for(outcome.wish, options), outcome.wish.platform)
    try:
        with driver:
            driver.write(lines=outcome.wish.lines)
    except Exception as exc:  # pylint: disable=broad-except  # one device's failure never stops the fleet
        outcome.status, outcome.reason = failure(exc)
    else:
        outcome.status, outcome.restarted = CHANGED, True
    outcome.writes += driver.writes


def phone_says(outcome, options):
    """username -> ', the phone says 403 Invalid credentials': why a line did not register, as the device saw it
    (one more short session, only for devices that failed to register); {} when the device cannot tell."""
    try:
        with platforms.driver_for(target_for(outcome.wish, options), outcome.wish.platform) as driver:
            outcomes = driver.verify(timeout=0)
    except Exception:  # pylint: disable=broad-except  # only a detail of a failure already reported
        return {}
    return {username: ", the phone says %d %s" % (code, reason) for username, (code, reason) in outcomes.items()
            if code is not None}


def failure_line(outcome):
    return "%s (%s): %s: %s" % (outcome.wish.name, outcome.wish.address, outcome.status, outcome.reason)


def sentence(summary, check_mode):
    """'3 devices: 2 changed, 1 unchanged' from the per-result counts (the task output names no dict)."""
    total = sum(summary.values())
    parts = ["%d %s" % (count, status) for status, count in sorted(summary.items(), key=lambda item: (-item[1], item[0]))]
    text = "%s: %s" % (counted(total, "device"), joined(parts)) if parts else "no device declared"
    return text + (" (check mode: nothing was written)" if check_mode else "")


def _result(outcomes, options, warnings, seconds):
    failed = [o for o in outcomes if o.failed]
    summary = dict(collections.Counter(o.status for o in outcomes))
    result = {
        "changed": any(o.writes for o in outcomes) or (options.check_mode and any(o.status == CHANGED for o in outcomes)),
        "summary": summary,
        "message": sentence(summary, options.check_mode),
        "devices": [device_report(o) for o in outcomes],
        "failed_devices": [failure_line(o) for o in failed],
        "seconds": round(seconds, 2),
        "warnings": warnings,
        "diff": fleet_diff(outcomes),
    }
    if failed:
        text = "%d of %d device(s) failed: %s" % (len(failed), len(outcomes), "; ".join(map(failure_line, failed)))
        limit = options.max_fail_percentage
        if limit is None or 100.0 * len(failed) / len(outcomes) > limit:
            result.update(failed=True, msg=text)
        else:
            warnings.append("%s (within max_fail_percentage %g)" % (text, limit))
    return result
