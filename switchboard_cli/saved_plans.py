# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Saved plans on the command's side: `plan --out` records the engine's plan as the report model plus its apply
check (module_utils/saved_plan.py), `apply --plan` reads it back and has the engine refuse, under the write lock,
a plan that no longer holds."""

from __future__ import annotations

import json
import os
import tempfile

from provisioning.collection import module_utils

PLAN_FILE_MODE = 0o600  # a plan names people (owners, e-mail addresses) though it holds no secret


def report_context(settings):
    """The report model's context, as drift and the plan reports give it (reports/context.py)."""
    return module_utils("reports.context").report_context(settings.state_dir, settings.dsn, settings.sip_domain,
                                                          settings.mode or "merged")


def platform(settings):
    """What a saved plan was made for; apply --plan refuses another."""
    return {"sip_domain": settings.sip_domain, "mode": settings.mode or "merged",
            "database": module_utils("gather").named(settings.dsn)}


class Recorder:
    """engine.Options.checkpoint for `plan --out`: keeps the plan the engine made under the write lock."""

    def __init__(self, settings):
        self.settings = settings
        self.plan = None

    def __call__(self, declared, actual, _changes, descriptions):
        model = module_utils("reports.model").from_plan(descriptions, report_context(self.settings))
        model["apply_check"] = module_utils("saved_plan").apply_check(declared, actual, descriptions,
                                                                      platform(self.settings))
        self.plan = model


class Verifier:
    """engine.Options.checkpoint for `apply --plan`: raises PlanMoved (nothing written) unless the plan made now
    is the saved one."""

    def __init__(self, settings, plan_file):
        self.settings, self.plan_file = settings, plan_file
        self.saved = read_plan(plan_file)

    def __call__(self, declared, actual, _changes, descriptions):
        saved_plan, model = module_utils("saved_plan"), module_utils("reports.model")
        now = saved_plan.apply_check(declared, actual, descriptions, platform(self.settings))
        now_objects = {o["address"]: o for o in (model.from_plan_description(d) for d in descriptions)}
        saved_objects = {o["address"]: o for o in self.saved["objects"]}
        found = saved_plan.moves(self.saved["apply_check"], now, saved_objects, now_objects, declared)
        if found:
            raise saved_plan.refusal(self.plan_file, found)


def read_plan(path):
    errors = module_utils("errors")
    try:
        with open(path, encoding="utf-8") as handle:
            plan = json.load(handle)
    except OSError as exc:
        raise errors.SwitchboardError("cannot read the plan %s: %s" % (path, exc.strerror))
    except ValueError as exc:
        raise errors.SwitchboardError("%s is not JSON (%s): give a plan written by `switchboard plan --out`"
                                      % (path, exc))
    if not isinstance(plan, dict) or plan.get("report") != "plan" or not isinstance(plan.get("apply_check"), dict) \
            or not isinstance(plan.get("objects"), list):
        raise errors.SwitchboardError("%s is not a plan written by `switchboard plan --out` (no apply_check)" % path)
    return plan


def write_plan(path, plan):
    """Whole or not at all: written beside its name, then renamed into place."""
    errors = module_utils("errors")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".plan-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            # json.dumps, compact: only its one-shot form without indent uses the C encoder (json.dump takes 30 s
            # of CPU for a plan of 100k objects, this 2 s); `switchboard report` renders it for people.
            out.write(json.dumps(plan, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
        os.chmod(temporary, PLAN_FILE_MODE)
        os.replace(temporary, path)
    except OSError as exc:
        raise errors.SwitchboardError("cannot write the plan %s: %s" % (path, exc.strerror))
