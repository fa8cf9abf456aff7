# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: the connection arguments and turning engine errors into fail_json."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState, SwitchboardError
    from ansible_collections.switchboard.pbx.plugins.module_utils import engine
except ImportError as exc:  # a third-party library is missing on the managed host
    IMPORT_ERROR = (exc, traceback.format_exc())
    engine = None
else:
    IMPORT_ERROR = None

CONNECTION_ARGS = dict(
    dsn=dict(type="str", required=True, no_log=True),
    sip_domain=dict(type="str", required=True),
)
REPORT_ARGS = dict(report_dir=dict(type="path"))


def run(argument_spec, work, **module_kwargs):
    """Build the module, call ``work(module, engine)`` and report its result dict."""
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGS, **argument_spec), supports_check_mode=True,
                           **module_kwargs)
    if IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib(getattr(IMPORT_ERROR[0], "name", None) or str(IMPORT_ERROR[0])),
                         exception=IMPORT_ERROR[1])
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
