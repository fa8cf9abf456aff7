# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `switchboard` command: a thin door onto the collection's engine, for pipelines and operators."""
