# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state file import-csv writes says exactly what the CSV said, whatever the text (property test), and
reads back through the state loader itself."""

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils import csv_import, yaml_text
from ansible_collections.switchboard.pbx.plugins.module_utils.loader import parse

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)  # what UTF-8 decoding can give


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_a_quoted_value_reads_back_as_exactly_the_text(text):
    assert yaml.safe_load("owner: %s\n" % yaml_text.double_quoted(text)) == {"owner": text}


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=5))
def test_the_state_file_loads_through_the_state_loader_with_the_same_values(owners):
    import datetime

    accounts = [{"number": "+39347000%04d" % index, "group": "sales", "owner": owner}
                for index, owner in enumerate(owners)]
    text = csv_import.state_file_text(accounts, "/somewhere/users.csv", datetime.datetime(2026, 11, 22, 20, 30))
    document, problems = parse(text, "import.yml")
    assert problems == []
    assert document.data == {"accounts": accounts}
    assert text.startswith("# Imported by `switchboard import-csv` from users.csv at 2026-11-22 20:30:00 UTC: %d account"
                           % len(owners))
