# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a fleet run shows a device: its lines before and after (passwords only ever as a mask, marked when
they differ), what differs, and Ansible's diff format. Nothing here holds or prints a password."""

from __future__ import annotations

from ..report import MASK

LINE_FIELDS = (("username", "username"), ("domain", "domain"), ("proxy", "proxy"), ("password_digest", "password"))


def _on_off(flag):
    return {True: "on", False: "off"}.get(flag, "unknown")


def after_state(wish, before):
    """The device as the run leaves it (or, in check mode, would leave it)."""
    old = {line.index: line for line in before.lines} if before else {}
    lines = []
    for line in wish.lines:
        shown = line.as_read().public()
        current = old.get(line.index)
        if before is not None and (current is None or current.password_digest != line.as_read().password_digest):
            shown["password"] = MASK + " (changed)"
        lines.append(shown)
    return {"lines": lines, "hotdesking": wish.hotdesking, "phone_running": bool(wish.lines)}


def differences(before, wish):
    """What differs between the device as read and as declared, one short line each."""
    old = {line.index: line for line in before.lines}
    new = {line.index: line.as_read() for line in wish.lines}
    found = []
    for index in sorted(set(old) | set(new), key=lambda i: (i is None, i or 0)):
        label = "channel %d" % index if index is not None else "a line of no channel"
        current, wanted = old.get(index), new.get(index)
        if current is None:
            found.append("%s: added (%s)" % (label, wanted.username))
        elif wanted is None:
            found.append("%s: removed (%s)" % (label, current.username))
        else:
            fields = [name for attribute, name in LINE_FIELDS if getattr(current, attribute) != getattr(wanted, attribute)]
            if fields:
                found.append("%s: %s differs" % (label, ", ".join(fields)))
    if wish.lines and not before.phone_running:
        found.append("phone: stopped, to be started")
    if before.hotdesking != wish.hotdesking:
        found.append("hotdesking: %s -> %s" % (_on_off(before.hotdesking), _on_off(wish.hotdesking)))
    return found


def device_report(outcome):
    wish, before = outcome.wish, outcome.before
    report = {"name": wish.name, "address": wish.address, "platform": wish.platform, "status": outcome.status,
              "writes": outcome.writes,
              "before": before.public() if before else None,
              "after": after_state(wish, before),
              "differences": (differences(before, wish) if before else [])
              + (["phone: no line registered, restarted"] if outcome.restarted else [])}
    if outcome.reason:
        report["reason"] = outcome.reason
    return report


def fleet_diff(outcomes):
    """Ansible's diff format: one before/after pair per device that differs (devices not read have none)."""
    import yaml

    def text(obj):
        return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True)

    return [{"before_header": "devices/%s (%s)" % (o.wish.name, o.wish.address),
             "after_header": "devices/%s (%s)" % (o.wish.name, o.wish.address),
             "before": text(o.before.public()), "after": text(after_state(o.wish, o.before))}
            for o in outcomes if o.before is not None and differences(o.before, o.wish)]
