# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's code, imported as the collection it is (ansible_collections.switchboard.pbx).

Where the collection is importable already (PYTHONPATH naming a collections path) it comes from there.
Otherwise from where this package lies: inside an installed collection
(COLLECTIONS_PATH/ansible_collections/switchboard/pbx/provisioning) that collections path; in a checkout,
build/, whose ansible_collections/switchboard/pbx is a link to the checkout (`make setup` and the tests make it).
"""

from __future__ import annotations

import importlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "ansible_collections.switchboard.pbx.plugins.module_utils"


def _search_paths():
    installed = ROOT.parents[2] if ROOT.parent.parent.name == "ansible_collections" else None
    return [str(path) for path in (installed, ROOT / "build") if path is not None]


def module_utils(name):
    """plugins/module_utils/<name> of the collection, e.g. module_utils('pbx.database')."""
    try:
        return importlib.import_module("%s.%s" % (PACKAGE, name))
    except ImportError:
        missing = [path for path in _search_paths() if path not in sys.path]
        if not missing:
            raise
    sys.path.extend(missing)
    return importlib.import_module("%s.%s" % (PACKAGE, name))
