# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  dsn:
    description:
      - The PBX database, C(sqlite:///ABSOLUTE/PATH) or C(postgresql://USER:PASSWORD@HOST:PORT/DB).
      - A SQLite file that does not exist yet is created and initialised (not in check mode). Relative paths and files
        at the filesystem root are refused.
      - The first run records O(sip_domain) in the database; a run for another domain is refused.
      - Usually set from the inventory variable C(switchboard_pbx_dsn).
      - The DSN is never shown (C(no_log)), and neither is its password in any message, even a quoted piece of the DSN.
      - "Keep a PostgreSQL password out of plain text in one of three ways: a vault-encrypted variable
        (C(postgresql://pbx:{{ vault_pbx_db_password }}@db:5432/pbx)); no password in the DSN and C(PGPASSWORD) in the
        module's environment (the task's C(environment)); or no password in the DSN and a C(~/.pgpass) file (mode 0600,
        or C(PGPASSFILE)) on the host that runs the module."
    type: str
    required: true
  sip_domain:
    description:
      - The SIP domain and digest realm; HA1 is md5(username:realm:password).
      - Usually set from the inventory variable C(switchboard_sip_domain).
    type: str
    required: true
requirements:
  - pyyaml
  - jsonschema
  - deepdiff
  - phonenumbers
  - psycopg2 (for PostgreSQL)
"""

    # Modules that change the PBX: one transaction, rolled back in check mode.
    STATE = r"""
attributes:
  check_mode:
    support: full
    description: The changes are written inside a transaction that is rolled back.
  diff_mode:
    support: full
    description: Before/after of every changed object; passwords are always masked.
options:
  report_dir:
    description:
      - Directory for the full plan as a JSON file (every change, before/after, secrets masked).
      - Defaults to C(~/.cache/switchboard/reports) (C($XDG_CACHE_HOME) when set) on the managed host. Files are readable by their owner only.
    type: path
"""

    # Modules whose applies the audit trail records (door.AUDIT_ARGS, audit.py).
    AUDIT = r"""
notes:
  - Every apply that is not in check mode records one row in the audit trail (table C(sb_applies)), in the same transaction
    as its changes, no-op applies included - when, who ran it, through which module, the git commit of the state directory
    (and whether its files differ from it), the sha256 of the plan file, the mode and the counts. A run that fails
    records nothing. M(switchboard.pbx.platform_info) (RV(switchboard.pbx.platform_info#module:applies)) and
    C(switchboard history) list it. No secret is recorded.
  - The explicit actions of M(switchboard.pbx.sip_account) (O(switchboard.pbx.sip_account#module:action)) are not applies;
    the account's history records them.
options:
  controller_user:
    description:
      - The user and host of the Ansible controller that ran the task (C(user@host)), recorded in the audit trail beside the
        user that runs the module.
      - Filled in by the action plugin on the controller; not meant to be set by hand.
    type: str
"""

    # Modules that may send SMS (door.SMS_ARGS).
    SMS = r"""
options:
  sms_gateway:
    description:
      - Where the activation SMS go, usually the inventory variable C(switchboard_sms_gateway),
        C(file:///ABSOLUTE/DIR) (one JSON file per message) or C(kannel://USER@HOST:PORT?smsc=ID).
      - A message is queued in the transaction that makes it due; after the commit it is sent, exactly once.
        A gateway that is down or busy (Kannel's 503) is tried 3 times in the run, 0.5 s then 1 s apart; then the message
        stays queued (a warning) and the next run sends it.
      - Messages that failed or may have been sent are never sent again by themselves; the warning names the action
        that sends them again. Without a gateway the messages stay queued.
    type: str
  sms_password:
    description: The Kannel sendsms password (from the vault).
    type: str
  sms_rate:
    description: Messages per second at most (C(switchboard_sms_rate)); unset or V(0) for no limit.
    type: float
"""
