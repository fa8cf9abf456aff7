# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batch creation (seed 003, SPEC §5): a CSV of people becomes ONE new state file of PGSM accounts.

The file is what the operator reviews and commits (GitOps); plan and apply then take it like any other
state file. Every row is checked against the whole declared state with the same schema and rules the plan
uses (the CSV's accounts are added to the loaded state and the rules run over both), so what imports
cleanly also plans cleanly. Every bad row is reported with its line and column, and nothing is written
then. Passwords are never invented: a plain account gets its password from the operator (secrets file).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import difflib
import io
import multiprocessing
import os
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor

from . import declared as declared_state
from . import model, rules
from .child_process import die_with_parent
from .errors import Problem, SwitchboardError
from .loader import Document, current_umask, is_state_file
from .schema_check import schema_problems
from .yaml_text import double_quoted

COLUMNS = ("fullName", "gsmNumber", "email", "securityModel", "description")
FIELD_OF_COLUMN = {"fullName": "owner", "gsmNumber": "number", "email": "email", "securityModel": "security_model",
                   "description": "description"}
COLUMN_OF_FIELD = {field: column for column, field in FIELD_OF_COLUMN.items()}
# Fields every row gets from the command line: a problem with them is said once, naming the option.
OPTION_OF_FIELD = {"group": "--group", "provisioning_profile": "--profile", "activation": "--activation",
                   "type": "--activation"}
REQUIRED_VALUES = ("fullName", "gsmNumber")  # a number is the account; a batch of people has their names
# The seed's CSV writes `end-to-site`; the edition names (SDES, ZRTP) come in any case. The state keeps them as is.
SECURITY_MODELS = ("sdes", "zrtp", "end-to-site")
# Seed 003 describes the batch way under "the wizard way (automatic activation)".
DEFAULT_ACTIVATION = "wizard"
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
PATH = re.compile(r"^accounts\[(\d+)\](?:\.([A-Za-z_]+))?")

RULE_HEADER = "the first line is the header %s" % ",".join(COLUMNS)
RULE_UTF8 = "CSV files are UTF-8"
RULE_COMMAS = "CSV columns are separated by commas"
RULE_ROW_SHAPE = "a row has one value per header column"
RULE_EMAIL = "an email address is name@domain"
RULE_NOT_EMPTY = "a batch has at least one row"
RULE_NO_OVERWRITE = "an import writes a new file, never over another"


@dataclasses.dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (a quoted value may span lines)
    values: dict  # column -> text, stripped


class BadRows(SwitchboardError):
    """The CSV (or its options) breaks rules: every problem in line order, nothing was written."""

    def __init__(self, problems):
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__("%d problem%s in the import, nothing was written:\n%s"
                         % (count, "" if count == 1 else "s", "\n".join(str(p) for p in self.problems)))


@dataclasses.dataclass
class Imported:
    accounts: list  # the new accounts, as the state file declares them
    path: str  # the state file written (or that a dry run would write)
    written: bool
    notes: list  # things the operator should know, never a secret


# -- reading the CSV --------------------------------------------------------------------------------

def read_rows(csv_path, content):
    """Return ([Row], problems, notes) from the file's bytes. Header problems stop here: rows read
    under a wrong header would only add noise."""
    notes = []
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
        notes.append("%s: line 1: starts with a UTF-8 byte-order mark (Excel's \"CSV UTF-8\"): ignored" % csv_path)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        return [], [Problem(csv_path, "line %d" % line, "is not UTF-8 text (byte 0x%02x at offset %d): save the file "
                            "as \"CSV UTF-8\"" % (content[exc.start], exc.start), RULE_UTF8)], notes
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    problems = header_problems(csv_path, [name.strip() for name in header] if header else None)
    if problems:
        return [], problems, notes
    header = [name.strip() for name in header]
    rows, line = [], reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not values or values == [""]:
            continue  # a blank line
        if len(values) != len(header):
            problems.append(Problem(csv_path, "line %d" % start, "has %d values, the header names %d columns%s"
                                    % (len(values), len(header), " (a value with a comma must be in double quotes)"
                                       if len(values) > len(header) else ""), RULE_ROW_SHAPE))
            continue
        rows.append(Row(start, {name: value.strip() for name, value in zip(header, values)}))
    if not rows and not problems:
        problems.append(Problem(csv_path, "", "has a header and no rows: nothing to import", RULE_NOT_EMPTY))
    return rows, problems, notes


def header_problems(csv_path, header):
    if not header or header == [""]:
        return [Problem(csv_path, "line 1", "is empty: the first line must be the header", RULE_HEADER)]
    if len(header) == 1 and ";" in header[0]:
        return [Problem(csv_path, "line 1", "the columns are separated by ';' (as Excel writes CSV in some languages): "
                        "save the file as CSV with ',' separators", RULE_COMMAS)]
    problems = []
    for name in sorted({name for name in header if header.count(name) > 1}):
        problems.append(Problem(csv_path, "line 1", "column %r appears more than once" % name, RULE_HEADER))
    for name in header:
        if name not in COLUMNS:
            problems.append(Problem(csv_path, "line 1", "unknown column %r%s" % (name, _did_you_mean(name)), RULE_HEADER))
    for name in COLUMNS:
        if name not in header:
            problems.append(Problem(csv_path, "line 1", "column %r is missing" % name, RULE_HEADER))
    return problems


def _did_you_mean(name):
    if "password" in name.lower():
        return " (passwords never travel in a CSV: plain accounts take theirs from the vault-encrypted secrets file)"
    by_case = {column.lower(): column for column in COLUMNS}
    close = by_case.get(name.lower()) or next(iter(difflib.get_close_matches(name, COLUMNS, 1, 0.7)), None)
    return " (did you mean %r? names are case-sensitive)" % close if close else ""


# -- rows to accounts ---------------------------------------------------------------------------------

def account_of(row, group, profile, activation):
    """The state's account for one row; empty optional values are left out (the state's defaults apply)."""
    values = row.values
    model_name = values["securityModel"]
    account = {"number": values["gsmNumber"], "group": group, "type": "pgsm", "activation": activation,
               "provisioning_profile": profile,
               "security_model": model_name.lower() if model_name.lower() in SECURITY_MODELS else model_name,
               "owner": values["fullName"], "email": values["email"], "description": values["description"]}
    return {field: value for field, value in account.items() if value != ""}


def row_problems(csv_path, row):
    """What only the CSV can get wrong: empty required values, an email that is no address."""
    problems = []
    for column in REQUIRED_VALUES:
        if not row.values[column]:
            problems.append(Problem(csv_path, "line %d: %s" % (row.line, column), "is empty", "%s is required" % column))
    email = row.values["email"]
    if email and not EMAIL.match(email):
        problems.append(Problem(csv_path, "line %d: email" % row.line, "%r is not an email address" % email, RULE_EMAIL))
    return problems


# -- validation against the whole declared state ----------------------------------------------------

def own_problems(csv_path, accounts, known=None):
    """(the batch as a model, its problems that need no other object: schema and each account's own rules)."""
    document = Document(csv_path, {"accounts": accounts})
    batch = model.build([document], (known or {}).get("groups"))
    return batch, schema_problems(document) + rules.local_problems(batch)


def problems_with_state(batch, state, known=None):
    """The rules across objects, over the declared state and the batch together (numbers, keys, references)."""
    together = model.Declared({kind: state.entries[kind] + batch.entries[kind] for kind in state.entries})
    return rules.check(together, known)[0]


def _in_csv_terms(csv_path, lines, found):
    per_place, options = {}, {}
    reference = re.compile(re.escape(csv_path) + r": accounts\[(\d+)\]")
    for problem in found:
        match = PATH.match(problem.path) if problem.file == csv_path else None
        if match is None:  # about another file: the state itself (loaded clean, so not expected)
            per_place.setdefault((problem.file, problem.path), problem)
            continue
        message = reference.sub(lambda m: "line %d" % lines[int(m.group(1))], problem.message)
        field = match.group(2)
        if field in OPTION_OF_FIELD:
            options.setdefault(OPTION_OF_FIELD[field], Problem(csv_path, OPTION_OF_FIELD[field], message, problem.rule))
            continue
        line = lines[int(match.group(1))]
        column = COLUMN_OF_FIELD.get(field, "gsmNumber")  # a problem with the account as a whole is its number's
        per_place.setdefault((line, column), Problem(csv_path, "line %d: %s" % (line, column), message, problem.rule))
    return list(options.values()) + list(per_place.values())


def _in_line_order(problems):
    def key(problem):
        place = re.match(r"line (\d+)(?:: (\w+))?", problem.path)
        if place is None:
            return (problem.file, 0, -1, problem.path)
        column = place.group(2)
        return (problem.file, int(place.group(1)), COLUMNS.index(column) if column in COLUMNS else -1, problem.path)
    return sorted(problems, key=key)


# -- the new state file -------------------------------------------------------------------------------

def state_file_text(accounts, csv_path, at):
    """The state file, written directly (PyYAML's dumper takes ~1 s for 10k accounts); every value quoted."""
    lines = ["# Imported by `switchboard import-csv` from %s at %s: %d account%s."
             % (os.path.basename(csv_path), at.strftime("%Y-%m-%d %H:%M:%S UTC"), len(accounts),
                "" if len(accounts) == 1 else "s"),
             "# Review and commit it; plan and apply then create the accounts.",
             "accounts:"]
    for account in accounts:
        prefix = "  - "
        for field, value in account.items():
            lines.append("%s%s: %s" % (prefix, field, double_quoted(value)))
            prefix = "    "
    return "\n".join(lines) + "\n"


def default_path(state_dir, group, at):
    return os.path.join(state_dir, "import-%s-%s.yml" % (at.strftime("%Y%m%dT%H%M%SZ"), group))


def write_new_file(path, text):
    """All or nothing, and never over an existing file: a temporary file beside it, then a hard link
    (which fails when the name is taken, where a rename would replace it)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise SwitchboardError("cannot write in %s: %s" % (directory, exc.strerror))
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.link(temporary, path)
    except FileExistsError:  # written meanwhile by someone else
        raise BadRows([Problem(path, "", "already exists", RULE_NO_OVERWRITE)])
    except OSError as exc:
        raise SwitchboardError("cannot write %s: %s" % (path, exc.strerror))
    finally:
        os.unlink(temporary)


# -- the whole import -----------------------------------------------------------------------------------

def run(csv_path, state_dir, group, profile, activation=DEFAULT_ACTIVATION, out=None, dry_run=False, known=None):
    """Import ``csv_path`` as new accounts of ``group``; raise BadRows (nothing written) on any problem.
    ``known``: the platform's groups and profiles a partial state may name (merged mode, as the plan)."""
    at = datetime.datetime.now(datetime.timezone.utc)
    path = out or default_path(state_dir, group, at)
    rows, problems, notes = read_rows(csv_path, _read_csv(csv_path))
    if out is not None and not is_state_file(out):
        problems.append(Problem(out, "", "is not a state file name", "state files end in .yml or .yaml"))
    if os.path.lexists(path):  # said by a dry run too
        problems.append(Problem(path, "", "already exists", RULE_NO_OVERWRITE))
    if not rows:  # the header or the encoding is wrong (or every row is): nothing more to check
        raise BadRows(_in_line_order(problems))
    # The state loads in a second process while this one checks the rows on their own (both cost seconds at 10k).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        loading = pool.submit(declared_state.load, state_dir)
        for row in rows:
            problems.extend(row_problems(csv_path, row))
        rows = [row for row in rows if row.values["gsmNumber"]]  # a row without a number is no account
        accounts = [account_of(row, group, profile, activation) for row in rows]
        batch, found = own_problems(csv_path, accounts, known)
        state, _warnings = loading.result()  # an invalid state raises InvalidState: fix the state first
    found += problems_with_state(batch, state, known)
    problems.extend(_in_csv_terms(csv_path, [row.line for row in rows], found))
    if problems:
        raise BadRows(_in_line_order(_one_per_place(problems)))
    if activation == "plain":
        notes.append(plain_password_note(accounts))
    if not dry_run:
        write_new_file(path, state_file_text(accounts, csv_path, at))
    return Imported(accounts, path, not dry_run, notes)


def _read_csv(csv_path):
    try:
        with open(csv_path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BadRows([Problem(csv_path, "", "cannot be read: %s" % exc.strerror, "the CSV file is readable")])


def _one_per_place(problems):
    """A row's own check (empty, email) and the rules may find the same fault: keep the first."""
    kept = {}
    for problem in problems:
        kept.setdefault((problem.file, problem.path), problem)
    return list(kept.values())


def plain_password_note(accounts):
    return ("plain accounts need a password, and an import never invents one: before plan and apply, add each "
            "number with its password to the vault-encrypted secrets file (`ansible-vault edit FILE`, one "
            "\"NUMBER: PASSWORD\" line per account, e.g. \"%s: ...\"); until then the plan refuses to create them"
            % accounts[0]["number"])
