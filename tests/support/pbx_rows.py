# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw rows of the engine -> Kamailio data contract, written directly with
sqlite3/psycopg2 (stand-in for the engine in the Kamailio server tests).

Contract: subscriber (password '', ha1, ha1b), dbaliases (one row per number),
grp (grp='disabled' iff disabled), usr_preferences (sb_acl='1' + one sb_net
CIDR per allowed network, type 0 = string name/string value).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

SCHEMA_DIRS = {"sqlite": Path("/usr/share/kamailio/db_sqlite"), "postgres": Path("/usr/share/kamailio/postgres")}
SCHEMA_FILES = ("standard", "auth_db", "alias_db", "group", "avpops", "usrloc", "permissions")
STRING_AVP = 0  # usr_preferences.type: 0 = string name + string value


def engine_of(dsn):
    return "sqlite" if dsn.startswith("sqlite:") else "postgres"


def sqlite_path(dsn):
    path = dsn.split("://", 1)[1]
    return path[1:] if path.startswith("//") else path


def ha1(username, domain, password):
    return hashlib.md5(("%s:%s:%s" % (username, domain, password)).encode()).hexdigest()


def ha1b(username, domain, password):
    return hashlib.md5(("%s@%s:%s:%s" % (username, domain, domain, password)).encode()).hexdigest()


def create_schema(dsn):
    """Kamailio's standard tables from the packaged *-create.sql files."""
    engine = engine_of(dsn)
    scripts = [(SCHEMA_DIRS[engine] / ("%s-create.sql" % name)).read_text() for name in SCHEMA_FILES]
    if engine == "sqlite":
        con = sqlite3.connect(sqlite_path(dsn))
        con.execute("PRAGMA journal_mode=WAL")  # once per file; Kamailio's module parameter has no effect
        for script in scripts:
            con.executescript(script)
        con.commit()
        con.close()
    else:
        import psycopg2
        con = psycopg2.connect(dsn)
        with con, con.cursor() as cur:
            for script in scripts:
                cur.execute(script)
        con.close()


class Rows:
    """Writes contract rows; every method commits at once (Kamailio reads live)."""

    def __init__(self, dsn, domain="127.0.0.1"):
        self.domain = domain
        self.engine = engine_of(dsn)
        if self.engine == "sqlite":
            self.con = sqlite3.connect(sqlite_path(dsn), timeout=10)
        else:
            import psycopg2
            self.con = psycopg2.connect(dsn)

    def _exec(self, *statements):
        cur = self.con.cursor()
        for sql, params in statements:
            cur.execute(sql.replace("?", "%s") if self.engine == "postgres" else sql, params)
        self.con.commit()
        cur.close()

    def add_account(self, username, password, numbers=(), disabled=False, networks=None):
        d = self.domain
        statements = [("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, '', ?, ?)",
                       (username, d, ha1(username, d, password), ha1b(username, d, password)))]
        statements += [("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                        (number, d, username, d)) for number in numbers]
        self._exec(*statements)
        if disabled:
            self.set_disabled(username, True)
        if networks is not None:
            self.set_networks(username, networks)

    def set_password(self, username, password):
        d = self.domain
        self._exec(("UPDATE subscriber SET ha1 = ?, ha1b = ? WHERE username = ? AND domain = ?",
                    (ha1(username, d, password), ha1b(username, d, password), username, d)))

    def set_disabled(self, username, disabled):
        statements = [("DELETE FROM grp WHERE username = ? AND domain = ? AND grp = 'disabled'", (username, self.domain))]
        if disabled:
            statements.append(("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')",
                               (username, self.domain)))
        self._exec(*statements)

    def set_networks(self, username, networks):
        """None: any source; a list (possibly empty): only these CIDRs."""
        d = self.domain
        statements = [("DELETE FROM usr_preferences WHERE username = ? AND domain = ? AND attribute IN ('sb_acl', 'sb_net')",
                       (username, d))]
        if networks is not None:
            insert = "INSERT INTO usr_preferences (uuid, username, domain, attribute, type, value) VALUES ('', ?, ?, ?, ?, ?)"
            statements.append((insert, (username, d, "sb_acl", STRING_AVP, "1")))
            statements += [(insert, (username, d, "sb_net", STRING_AVP, net)) for net in networks]
        self._exec(*statements)

    def add_number(self, username, number):
        self._exec(("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                    (number, self.domain, username, self.domain)))

    def remove_number(self, number):
        self._exec(("DELETE FROM dbaliases WHERE alias_username = ?", (number,)))

    def close(self):
        self.con.close()
