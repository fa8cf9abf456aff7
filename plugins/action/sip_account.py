# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.sip_account: numbers must arrive as strings.

An unquoted ``+390212345609`` in YAML is the integer 390212345609, and Ansible turns it into the
string "390212345609" before the module sees it: the account would be created under a number that
lost its ``+``. Only here, before that conversion, is the integer still visible, so it is refused here.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.module_utils.provenance import operator

NUMBER_ARGUMENTS = ("number", "secondary_number", "additional_numbers")


def not_strings(args):
    """(argument path, value) for every number argument that is not a string."""
    found = []
    for name in NUMBER_ARGUMENTS:
        value = args.get(name)
        values = list(enumerate(value)) if name == "additional_numbers" and isinstance(value, list) else [(None, value)]
        for index, item in values:
            if item is not None and not isinstance(item, str):
                found.append((name if index is None else "%s[%d]" % (name, index), item))
    return found


def message(path, value):
    return ("%s: %r is not a string: YAML reads an unquoted number as an integer and drops a leading '+' or '0'; "
            "quote the number as written, e.g. \"+%s\"" % (path, value, value))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        wrong = not_strings(self._task.args)
        if wrong:
            raise AnsibleActionFail("; ".join(message(path, value) for path, value in wrong))
        # who ran the playbook, for the audit trail (the module may run as another user, on another host)
        args = dict(self._task.args, controller_user=operator())
        result.update(self._execute_module(module_name="switchboard.pbx.sip_account", module_args=args,
                                           task_vars=task_vars))
        return result
