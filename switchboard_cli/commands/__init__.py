# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module per command, each exporting ``command`` (main.py registers them)."""
