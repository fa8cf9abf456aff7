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
  - Upgrades the project's tables of a database made by an earlier release in place (numbered migrations).
  - A SQLite file that does not exist yet is created. Idempotent.
  - A table that was created once and is gone (dropped) is an error naming it, unless O(recreate_missing_tables) is set.
  - M(switchboard.pbx.platform) does the same on its first run; this module is for roles that deploy Kamailio before any state is applied.
author: Switchboard developers (@switchboard)
options:
  dsn:
    description: The PBX database, C(sqlite:///ABSOLUTE/PATH) or C(postgresql://USER:PASSWORD@HOST:PORT/DB).
    type: str
    required: true
  recreate_missing_tables:
    description:
      - Recreate dropped tables empty instead of failing. The next M(switchboard.pbx.platform) run repairs their rows
        from the declared state where it can (see its drift report).
    type: bool
    default: false
  lock_timeout:
    description: Seconds to wait for the database's write lock, then fail saying who holds it.
    type: float
    default: 30
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
  description: What was created or migrated (empty when the schema was complete).
  returned: always
  type: list
  elements: str
  sample: ["Kamailio's auth_db table subscriber", "migration 2 (sb_meta: the platform's SIP domain)"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.switchboard.pbx.plugins.module_utils.door import hide_dsn_password
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise


def main():
    module = AnsibleModule(argument_spec=dict(dsn=dict(type="str", required=True, no_log=True),
                                              recreate_missing_tables=dict(type="bool", default=False),
                                              lock_timeout=dict(type="float", default=30)),
                           supports_check_mode=True)
    hide_dsn_password(module)
    try:
        created = initialise(module.params["dsn"], module.check_mode, module.params["recreate_missing_tables"],
                             module.params["lock_timeout"])
    except SwitchboardError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(created), created=created)


if __name__ == "__main__":
    main()
