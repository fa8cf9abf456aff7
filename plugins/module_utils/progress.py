# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of long work for a door that shows it (the `switchboard` command's bars): Options.progress is
None or a callable (phase, done, total). Phases: loading, planning, writing, SMS dispatch. Called per file,
per step or per message, never per object: the cost stays nil at 100k accounts."""

from __future__ import annotations

LOADING, PLANNING, WRITING, SMS_DISPATCH = "loading", "planning", "writing", "SMS dispatch"


def tick(progress, phase, done, total):
    if progress is not None:
        progress(phase, done, total)
