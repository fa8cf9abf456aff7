# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's code, imported as the collection it is (ansible_collections.switchboard.pbx).

A host where the collection is installed (ansible-galaxy, or PYTHONPATH naming a collections path) imports it
from there. From a checkout the collection is build/ansible_collections/switchboard/pbx, a link to the
checkout itself that `make setup` and the tests create: build/ is put on sys.path when nothing else has it.
"""

from __future__ import annotations

import importlib
import pathlib
import sys

CHECKOUT_BUILD = pathlib.Path(__file__).resolve().parent.parent / "build"
PACKAGE = "ansible_collections.switchboard.pbx.plugins.module_utils"


def module_utils(name):
    """plugins/module_utils/<name> of the collection, e.g. module_utils('pbx.database')."""
    try:
        return importlib.import_module("%s.%s" % (PACKAGE, name))
    except ImportError:
        if str(CHECKOUT_BUILD) in sys.path:
            raise
    sys.path.append(str(CHECKOUT_BUILD))
    return importlib.import_module("%s.%s" % (PACKAGE, name))
