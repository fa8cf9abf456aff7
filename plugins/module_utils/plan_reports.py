# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's plan as the shared report model (reports/model.py), written as REPORT_DIR/plan.json, plan.md, ...:
built from the plan file the run wrote (its descriptions are secret-masked already), so it says exactly what
that file says."""

from __future__ import annotations

import json

from . import report
from .errors import SwitchboardError
from .reports import model, render
from .reports.context import report_context


def write(plan_file, options, formats):
    """(paths written, warnings). Called after the run: a report that cannot be written is a warning, never a
    failure of a run whose change may be committed already."""
    try:
        with open(plan_file, encoding="utf-8") as handle:
            plan = json.load(handle)
        context = report_context(options.state_dir, options.dsn, options.sip_domain, options.mode,
                                 check_mode=options.check_mode, plan_file=plan_file)
        built = model.from_plan(plan["changes"], context)
        return render.write(built, list(dict.fromkeys(formats)), options.report_dir or report.default_report_dir(),
                            "plan"), []
    except (OSError, ValueError, SwitchboardError) as exc:
        return [], ["the plan reports (%s) were not written: %s" % (", ".join(formats), exc)]
