# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors that carry where (file, path) and why (rule), never a secret."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    rule: str

    def __str__(self):
        where = "%s: %s" % (self.file, self.path) if self.path else self.file
        return "%s: %s (rule: %s)" % (where, self.message, self.rule)


class SwitchboardError(Exception):
    """A failure the operator can act on; its text is safe to print."""


MESSAGE_PROBLEMS = 200  # in the message; the module's result lists every one


class InvalidState(SwitchboardError):
    """The declared state breaks rules: nothing was written."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda p: (p.file, p.path, p.rule, p.message))
        count = len(self.problems)
        lines = [str(p) for p in self.problems[:MESSAGE_PROBLEMS]]
        if count > MESSAGE_PROBLEMS:
            lines.append("... and %d more problems (the task result's problems lists every one)" % (count - MESSAGE_PROBLEMS))
        super().__init__(
            "%d problem%s in the declared state, nothing was written:\n%s"
            % (count, "" if count == 1 else "s", "\n".join(lines))
        )

    def __reduce__(self):  # raised in the loading process, re-raised in the engine's
        return InvalidState, (self.problems,)
