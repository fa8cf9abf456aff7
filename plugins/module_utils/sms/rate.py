# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Messages per second (`switchboard_sms_rate`): N messages take at least (N-1)/rate seconds."""

from __future__ import annotations

import time


class Pace:
    """rate None or 0: no limit. The first message goes at once; each next one waits its slot."""

    def __init__(self, rate=None, clock=time.monotonic, sleep=time.sleep):
        if rate is not None and rate < 0:
            raise ValueError("SMS rate %r: messages per second must be 0 (no limit) or more" % (rate,))
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = None

    def wait(self):
        if not self.interval:
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._clock()
        self._next = now + self.interval
