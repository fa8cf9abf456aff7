#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database
short_description: Create the PBX database schema (Kamailio's tables and Switchboard's)
version_added: 0.1.0
description:
  - Creates Kamailio's standard tables (from the Debian package's schema files) and the project's own tables when they are missing.
  - A SQLite file that does not exist yet is created. Idempotent.
  - M(switchboard.pbx.platform) does the same on its first run; this module is for roles that deploy Kamailio before any state is applied.
author: Switchboard developers (@switchboard)
options:
  dsn:
    description: The PBX database, C(sqlite:///ABSOLUTE/PATH) or C(postgresql://USER:PASSWORD@HOST:PORT/DB).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: The schema is created in a transaction that is rolled back.
requirements:
  - psycopg2 (for PostgreSQL)
"""

EXAMPLES = r"""
- name: Initialise the PBX database
  switchboard.pbx.database:
    dsn: "{{ switchboard_pbx_dsn }}"
"""

RETURN = r"""
created:
  description: Whether any table was created.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.switchboard.pbx.plugins.module_utils.door import hide_dsn_password
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise


def main():
    module = AnsibleModule(argument_spec=dict(dsn=dict(type="str", required=True, no_log=True)), supports_check_mode=True)
    hide_dsn_password(module)
    try:
        created = initialise(module.params["dsn"], module.check_mode)
    except SwitchboardError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=created, created=created)


if __name__ == "__main__":
    main()
