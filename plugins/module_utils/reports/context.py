# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A report's context (reports/model.py): when it ran, against which platform (no DSN password), from which state
(its git commit and author), in which mode and by whom: what an auditor signs next to the counts."""

from __future__ import annotations

import datetime

from .. import gather, provenance

TOOL = "switchboard.pbx 0.1.0"


def report_context(state_dir, dsn, sip_domain, mode, **more):
    context = {"generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "tool": TOOL, "platform": {"sip_domain": sip_domain, "database": gather.database(dsn)},
               "state": provenance.state_provenance(state_dir), "mode": mode, "operator": provenance.operator()}
    context.update(more)
    return context
