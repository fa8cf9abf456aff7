# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: the connection arguments and turning engine errors into fail_json."""

from __future__ import annotations

import importlib.util
from urllib.parse import parse_qs, unquote, urlparse

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState, SwitchboardError

# import name -> the package to install
REQUIRED_LIBRARIES = {"yaml": "pyyaml", "jsonschema": "jsonschema", "deepdiff": "deepdiff",
                      "phonenumbers": "phonenumbers"}

CONNECTION_ARGS = dict(
    dsn=dict(type="str", required=True, no_log=True),
    sip_domain=dict(type="str", required=True),
)
REPORT_ARGS = dict(report_dir=dict(type="path"))
# Where the activation SMS go (switchboard_sms_gateway, switchboard_sms_rate; the Kannel password from the vault).
SMS_ARGS = dict(sms_gateway=dict(type="str"), sms_password=dict(type="str", no_log=True), sms_rate=dict(type="float"))

# Who ran an apply, for the audit trail (audit.py): the action plugin fills it in on the controller.
AUDIT_ARGS = dict(controller_user=dict(type="str"))


def sms_options(params):
    return dict(sms_gateway=params["sms_gateway"], sms_password=params["sms_password"], sms_rate=params["sms_rate"])


def audit_options(params, door):
    return dict(door=door, controller_user=params["controller_user"])


def hide_dsn_password(module):
    """``dsn`` is no_log, which masks the whole DSN; a message that quotes a piece of it (a driver's "invalid
    percent-encoded token", a redaction that missed ``?password=``) must not show the password either."""
    try:
        url = urlparse(module.params.get("dsn") or "")
        passwords = [url.password] + parse_qs(url.query).get("password", [])
    except ValueError:  # not a URL: the whole DSN is masked already
        return
    for password in filter(None, passwords):
        module.no_log_values.update({password, unquote(password)})


def run(argument_spec, work, **module_kwargs):
    """Build the module, call ``work(module, engine)`` and report its result dict."""
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGS, **argument_spec), supports_check_mode=True,
                           **module_kwargs)
    hide_dsn_password(module)
    missing = [package for name, package in REQUIRED_LIBRARIES.items() if importlib.util.find_spec(name) is None]
    if missing:
        module.fail_json(msg=missing_required_lib(" and ".join(missing)))
    try:
        result = work(module, engine)
    except InvalidState as exc:
        module.fail_json(msg=str(exc), problems=[str(p) for p in exc.problems])
    except SwitchboardError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
