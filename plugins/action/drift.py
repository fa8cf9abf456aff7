# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.drift: the declared passwords (inline !vault values, the secrets file,
whole-file-vault state files) are decrypted here by switchboard.pbx.platform's own code, so that a password
that differs on the PBX is drift, and handed to the module as no_log arguments."""

from __future__ import annotations

from ansible_collections.switchboard.pbx.plugins.action.platform import ActionModule as PlatformAction


class ActionModule(PlatformAction):
    MODULE = "switchboard.pbx.drift"
    AUDITED = False  # a drift run writes nothing, so it records nothing
