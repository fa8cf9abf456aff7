# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress bars on stderr (loading, planning, writing, SMS dispatch), only when stderr is a terminal: a CI log
gets none, and the engine then gets no progress hook at all (nothing to call at 100k accounts)."""

from __future__ import annotations

import click

LABEL_WIDTH = 13  # the longest phase, "SMS dispatch", and a space


def progress_bars():
    """A progress hook for engine.Options, or None when stderr is not a terminal."""
    return Bars() if click.get_text_stream("stderr").isatty() else None


class Bars:
    """One bar per phase, closed when the phase is done or another begins."""

    def __init__(self):
        self._bar = None
        self._phase = None
        self._done = 0

    def __call__(self, phase, done, total):
        if phase != self._phase:
            self.close()
            self._bar = click.progressbar(length=max(total, 1), label=phase.ljust(LABEL_WIDTH),
                                          file=click.get_text_stream("stderr"), show_pos=True)
            self._bar.render_progress()
            self._phase, self._done = phase, 0
        self._bar.update(done - self._done)
        self._done = done
        if done >= total:
            self.close()

    def close(self):
        if self._bar is not None:
            self._bar.render_finish()
        self._bar, self._phase = None, None
