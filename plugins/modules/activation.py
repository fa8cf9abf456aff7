#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: activation
short_description: Advance the wizard accounts' lifecycles and send the queued activation SMS, each exactly once
version_added: 0.2.0
description:
  - Reads no state files and plans nothing, cheap enough to run from a timer (C(playbooks/activation.yml)).
  - An account whose client installed the app (C(last_status) V(installed)) and has no activation SMS yet gets one
    queued, then every queued SMS is sent through O(sms_gateway), at most O(sms_rate) per second.
  - Each message is marked C(sending) and committed before the gateway is asked. A run that stopped in between leaves
    it C(sending); the next run marks it C(unknown) (maybe sent) and never sends it again by itself.
  - A gateway that is down or busy (Kannel's 503) is tried 3 times, 0.5 s then 1 s apart; then the messages stay
    queued (a warning) and the next run sends them. Messages that failed or
    may have been sent are reported with the exact action that sends them again (M(switchboard.pbx.sip_account)
    O(switchboard.pbx.sip_account#module:action)).
  - In check mode nothing is sent or written; the C(would_send) list of RV(sms) names what would be sent.
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
  - switchboard.pbx.pbx.SMS
options:
  lock_timeout:
    description: Seconds to wait for the PBX database's write lock.
    type: float
    default: 30
"""

EXAMPLES = r"""
- name: Send the activation SMS of the phones that installed the app
  switchboard.pbx.activation:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    sms_gateway: "{{ switchboard_sms_gateway }}"
"""

RETURN = r"""
sms:
  description: Message ids C(sent) in this run, still C(pending), C(failed) and C(unknown); C(would_send) in check mode.
  returned: always
  type: dict
  sample: {sent: ["393471234567.activation.1"], pending: [], failed: [], unknown: []}
summary_text:
  description: One line per message sent (or that would be sent).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.switchboard.pbx.plugins.module_utils.door import SMS_ARGS, run, sms_options


def advance(module, engine):
    params = module.params
    return engine.advance(engine.Options(state_dir=None, dsn=params["dsn"], sip_domain=params["sip_domain"],
                                         check_mode=module.check_mode, lock_timeout=params["lock_timeout"],
                                         **sms_options(params)))


def main():
    run(dict(SMS_ARGS, lock_timeout=dict(type="float", default=30)), advance)


if __name__ == "__main__":
    main()
