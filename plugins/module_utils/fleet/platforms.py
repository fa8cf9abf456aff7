# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device platforms Switchboard can provision: platform name -> Driver.

Imported statically (not looked up by name at run time) so that Ansible's module packaging,
which follows a module's imports, ships every driver with the modules that use them.
Adding a platform: its driver file, and one entry here.
"""

from __future__ import annotations

from . import linux_baresip

DRIVERS = {driver.platform: driver for driver in (linux_baresip.Driver,)}


def driver_for(target, platform):
    """A Driver for `target` on `platform`; ValueError names the device and the known platforms."""
    if platform not in DRIVERS:
        raise ValueError("device %s: no driver for platform %r (known: %s)" % (target.name, platform, ", ".join(sorted(DRIVERS))))
    return DRIVERS[platform](target)
