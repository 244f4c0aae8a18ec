#!/usr/bin/env python3
"""migrate.py: Django-style schema migrations for SQLite, in one file.

Describe your tables as dataclasses in models.py, then:

    python migrate.py make      # write migrations/NNNN_slug.sql for what changed
    python migrate.py apply     # apply pending migrations to db.sqlite3
    python migrate.py status    # [X] applied, [ ] pending
    python migrate.py revert    # revert the last applied migration

and `check` (CI: models, files and database agree), `sql`, `schema`, `squash`,
`export --d1`; `python migrate.py COMMAND --help` for each. `--db` may also be
an rqlite node (`http://host:4001`).

`make` builds from the files, not from your database (which it reads only to
refuse a number already applied, and with --update a file already applied):
it replays the migration files into an in-memory SQLite database, renders the
models into another one, and compares what SQLite itself reports about both
(sqlite_master and PRAGMAs); what a replay built is cached in
~/.cache/migrate.py for the next run. Migration
files are plain SQL with `-- migrate:up` and `-- migrate:down` sections; edit
them freely, they are the truth. `apply` runs each migration in its own
transaction and records it in the `_migrations` table together with the down
SQL it will use to revert.

As a library:

    import migrate
    migrate.apply("app.sqlite3", directory="migrations")   # or an open connection

Every failure is a MigrateError whose message says what, why, what to do and
what was (not) changed. Standard library only; Python 3.9+; SQLite 3.35+.
See README.md.
"""

# MIT License. Copyright (c) 2026 the migrate.py authors. Full text in LICENSE.

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the rest of this file loads: exit 130 as main() does
    import signal

    def _interrupted_while_loading(number, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)  # (for a host that ran this file with runpy)
        raise SystemExit(130)
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # (not ignored: nohup, a background job)
            signal.signal(signal.SIGINT, _interrupted_while_loading)
    except ValueError:  # not the main thread (runpy in a thread): no signal comes there
        pass

import os
import re
import sqlite3
import sys
import threading
import time
from collections import ChainMap, Counter, namedtuple
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from itertools import count, islice

__version__ = "0.2.0"
__all__ = [
    # errors and schema types
    "MigrateError", "RqliteError", "Column", "ForeignKey", "Index", "Table", "SchemaObject", "Schema",
    "quote", "quote_literal",
    # models, introspection, diff
    "load_models", "ModelTable", "model_tables", "schema_from_models", "read_schema", "schema_statements",
    "Questioner", "plan_renames", "diff_schemas", "schema_differences",
    "CreateTable", "DropTable", "RenameTable", "RenameColumn", "AlterTable",  # what diff_schemas returns
    # migration files and make
    "Migration", "MakeResult", "read_migrations", "parse_sections", "split_statements",
    "render_migration", "make", "squash", "export_d1", "d1_warnings", "replayed_schema",
    # runner
    "Step", "PlannedStep", "MigrationStatus", "Rqlite", "apply", "revert", "plan", "status", "check",
    "find_migration", "dump_schema", "backup",
    "main",
]

MIGRATIONS_TABLE = "_migrations"
# Tables that belong to SQLite, Litestream and Cloudflare D1: never diffed, never a model's
_IGNORED_PREFIXES = ("sqlite_", "_litestream_", "_cf_")
MINIMUM_SQLITE = (3, 35, 0)  # DROP COLUMN arrived in 3.35.0


# ============================================================================
# Errors
# ============================================================================

class MigrateError(Exception):
    """Every problem migrate.py reports: the message names the object, the
    reason, what to do, and what was (not) changed."""


class RqliteError(MigrateError):
    """An error an rqlite node reported for a statement."""


def _is_url(db) -> bool:
    """Whether `db` is an rqlite node's address rather than a file."""
    return isinstance(db, str) and db[:8].lower().startswith(("http://", "https://"))


def _shown(db) -> str:
    """A database as printed: an rqlite URL without its password (which
    may itself hold an @, a / or a #: all up to the last @ is hidden); a
    connection passed to the library as what it is."""
    if not isinstance(db, (str, os.PathLike)):
        return "the connection's database"
    if not _is_url(db) or "@" not in db:
        return str(db)
    scheme, _, rest = db.partition("://")
    return f"{scheme}://{rest.partition(':')[0].partition('@')[0]}:***@{rest.rpartition('@')[2]}"


def _path_argument(value, what: str, option: str) -> str:
    """A library argument that must name a file or folder, as a str."""
    if not isinstance(value, (str, os.PathLike)):
        raise MigrateError(f"{what} must be a path, not {type(value).__name__} {value!r}; nothing was changed")
    if not os.fspath(value).strip():  # (`--dir ""`, `dir = " "`: no folder, rather than the current one or " ")
        raise MigrateError(f"{what} is given as {os.fspath(value)!r} (an empty option or setting): pass {option}; "
                           "nothing was changed")
    return os.fspath(value)


def _check_flags(**flags) -> None:
    """Library flags must be True or False: "False" or "no" would be true."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise MigrateError(f"{name} must be True or False, not {type(value).__name__} {value!r}; "
                               "nothing was changed")


# ============================================================================
# Schema types and the SQL text they are made of
# ============================================================================

def quote(name: str) -> str:
    """Quote an SQL identifier: `a"b` -> `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def _comment(text: str) -> str:
    """Text for an SQL `--` comment, which ends at the line's end: a newline
    in a name or a default is written as \\n, so what follows is no SQL."""
    return "-- " + text.replace("\r", "\\r").replace("\n", "\\n")


def quote_literal(value: object) -> str:
    """Render a Python value as an SQL literal, escaped."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} has no SQL literal")
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot appear in an SQL literal")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (bytes, bytearray)):
        return "X'" + bytes(value).hex().upper() + "'"
    raise ValueError(f"{type(value).__name__} has no SQL literal")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(name: str) -> str:
    """A name as SQLite compares names: ASCII letters in any case, every other
    character exactly ("Ü" is not "ü", "straße" is not "strasse")."""
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)  # (the first is ~4x faster)


def _ignored(name: str) -> bool:
    """A table or index of SQLite's, Litestream's, D1's, or our migrations table: never diffed."""
    folded = _fold(name)
    return folded.startswith(_IGNORED_PREFIXES) or folded == MIGRATIONS_TABLE


def _folded(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each name as _fold has it."""
    return tuple(_fold(n) for n in names)


# A tokenizer, not a parser: it knows strings, the four identifier quotes and
# comments, which is all we need to find the few facts PRAGMAs do not report
# (CHECK, COLLATE, AUTOINCREMENT, generated expressions, partial-index WHERE).
# Spaces are SQLite's five, not Python's \s: SQLite rejects a statement made
# of U+00A0 or \v, so it must not be taken for a blank one and skipped. A
# number runs on into the letters after it, as in SQLite: `1AS` is one token
# (which SQLite refuses), not the `1 AS` of another statement.
_SQL_SPACES = " \t\n\f\r"
_TOKEN = re.compile(r"""
    (?P<space>[ \t\n\f\r]+|--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>[xX]?'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\w*)
  | (?P<word>[^\W\d]\w*|[$@:?#]\w*)
  | (?P<op>[<>=!|]+|.)
""", re.S | re.X)


class _Token(namedtuple("_Token", "kind text start end")):
    # A named tuple, not a dataclass: the runner makes thousands of these per
    # run and a tuple is several times cheaper to build.
    __slots__ = ()

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _tokens(sql: str):
    """The tokens of `sql` one at a time, spaces and comments skipped, so a
    caller that needs only the first few stops there."""
    for match in _TOKEN.finditer(sql):
        if match.lastgroup != "space":
            yield _Token(match.lastgroup, match.group(), match.start(), match.end())


def _unbalanced(sql: str) -> str | None:
    """How a fragment of SQL pasted into a statement would end the clause
    around it or swallow what follows: a parenthesis closed that it did not
    open, one left open, or a quote; None when they pair up."""
    depth = 0
    for token in _tokens(sql):
        if token.kind == "op" and token.text in "'\"`[":  # (a closed one is a string or a name)
            return f"leaves a quote ({token.text}) open"
        depth += (token.text == "(") - (token.text == ")")
        if depth < 0:
            return "closes a parenthesis it did not open"
    return "leaves a parenthesis open" if depth else None


def _tokenize(sql: str) -> list[_Token]:
    return list(_tokens(sql))


def _unquote(text: str) -> str:
    if text[:1] in ('"', "`"):
        return text[1:-1].replace(text[0] * 2, text[0])
    if text[:1] == "[":
        return text[1:-1]
    return text


def _shorten(statement: str, limit: int = 200) -> str:
    """The statement on one line for an error message. Spaces SQLite does not
    accept (U+00A0, \\v) are spelled out: they may be what is wrong."""
    text = " ".join(line for line in statement.split("\n") if not line.lstrip().startswith("--"))
    text = "".join(f"\\u{ord(c):04x}" if c.isspace() and c not in _SQL_SPACES else c for c in text)
    text = " ".join(text.split()).rstrip(";")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _first_tokens(sql: str, count: int) -> list[_Token]:
    """The first `count` tokens, without tokenizing the rest."""
    return list(islice(_tokens(sql), count))


def _name_at(tokens: list[_Token], position: int) -> str | None:
    """The name a statement gives at `position` (CREATE TABLE, DROP INDEX...),
    past IF [NOT] EXISTS and a schema prefix, unquoted; None if cut short."""
    position = _name_position(tokens, position)
    return _unquote(tokens[position].text) if position < len(tokens) else None


def _name_position(tokens: list[_Token], position: int) -> int:
    """Where the name that _name_at reads is."""
    words = [t.upper for t in tokens]
    if words[position:position + 1] == ["IF"]:
        position += 3 if words[position + 1:position + 2] == ["NOT"] else 2
    if position + 2 < len(tokens) and tokens[position + 1].text == ".":
        position += 2
    return position


def _in_main(tokens: list[_Token], name_position: int) -> bool:
    """Whether the name at `name_position` is of the main database: no schema
    prefix, or `main.` (not `temp.`)."""
    return tokens[name_position - 1].text != "." or _fold(_unquote(tokens[name_position - 2].text)) == "main"


def _canonical(tokens: list[_Token]) -> str:
    """Text for comparing SQL fragments: case-folded words and identifiers,
    literal strings untouched, single spaces."""
    parts = []
    for token in tokens:
        if token.kind in ("word", "ident"):
            parts.append(quote(_fold(_unquote(token.text))))
        else:
            parts.append(token.text)
    return " ".join(parts)


def canonical_sql(sql: str | None) -> str | None:
    """`_canonical` of a piece of SQL text (None stays None)."""
    return None if sql is None else _canonical(_tokenize(sql))


def _unwrapped(tokens: list[_Token]) -> list[_Token]:
    """An expression without parentheses around the whole of it, which say
    nothing (`(a > 0 OR b > 0)` is `a > 0 OR b > 0`)."""
    while len(tokens) > 2 and tokens[0].text == "(" and _matching_paren(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return tokens


def _plain(tokens: list[_Token]) -> list[_Token]:
    """An expression without the parentheses that say nothing: around the
    whole of it, and around a lone name or value after an operator or an
    opening parenthesis (Django writes F("ends") as ("ends")). A call's
    and IN's stay: f(x), x IN (1)."""
    plain = []
    for token in _unwrapped(tokens):
        plain.append(token)
        if token.text == ")" and len(plain) >= 3 and plain[-3].text == "(" \
                and plain[-2].kind in ("word", "ident", "number", "string") \
                and (len(plain) == 3 or (plain[-4].kind == "op" and plain[-4].text != ")")):
            plain[-3:] = [plain[-2]]
    return plain


def _canonical_check(sql: str | None) -> str | None:
    """canonical_sql of a CHECK's expression, parentheses that say nothing aside."""
    return None if sql is None else _canonical(_plain(_tokenize(sql)))


# A name SQLite resolves in a table's CHECK or index although no column has it.
_ROWID_NAMES = frozenset({"rowid", "oid", "_rowid_"})


def _as_sqlite_reads(tokens: list[_Token], names: frozenset[str]) -> list[_Token]:
    """The tokens of a CHECK, generated column or index, with each "word" in
    double quotes that is none of `names`, its table's columns (folded), as
    the 'word' SQLite reads it as: a double-quoted name that names nothing
    is a string (https://sqlite.org/quirks.html#dblquote). SQLite's ALTER
    TABLE RENAME COLUMN and DROP COLUMN write such strings back in single
    quotes, so the two spellings must compare equal. (In a view or trigger,
    where more is in scope, SQLite itself is asked: _as_sqlite_rewrites.)
    Beside a "." or before "(" it is a name whatever it says."""
    read = []
    for i, token in enumerate(tokens):
        if (token.text[:1] == '"' and _fold(_unquote(token.text)) not in names
                and (i == 0 or tokens[i - 1].text != ".")
                and (i + 1 == len(tokens) or tokens[i + 1].text not in (".", "("))):
            token = token._replace(kind="string", text=quote_literal(_unquote(token.text)))
        read.append(token)
    return read


def _matching_paren(tokens: list[_Token], open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def _mentions(sql: str, name: str, *, strings: bool = False) -> bool:
    """Whether an identifier `name` appears as a token in `sql`; with
    `strings`, also as a 'string', which SQLite takes for a table's name where
    a name must be (`UPDATE 't'` in a trigger)."""
    folded = _fold(name)
    for token in _tokens(sql):
        if token.kind in ("word", "ident") and _fold(_unquote(token.text)) == folded:
            return True
        if strings and token.kind == "string" and _fold(token.text[1:-1].replace("''", "'")) == folded:
            return True
    return False


def _affinity(declared_type: str) -> str:
    """SQLite's column affinity rules (datatype3.html section 3.1)."""
    upper = declared_type.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def _is_literal(tokens: list[_Token]) -> bool:
    """A constant SQLite accepts in ALTER TABLE ADD COLUMN ... DEFAULT."""
    if tokens and tokens[0].text in ("+", "-"):
        tokens = tokens[1:]
    return len(tokens) == 1 and (
        tokens[0].kind in ("string", "number")
        or tokens[0].upper in ("NULL", "TRUE", "FALSE"))


@lru_cache(maxsize=None)  # (a schema repeats its defaults)
def _literal_as_stored(default: str) -> str:
    """A literal default as SQLite writes its value back (quote()): 2.50 as
    2.5, 0x10 as 16, x'ab' as X'AB', TRUE as 1, -0 as 0, and a name as the
    text SQLite stores for it (`DEFAULT draft` and `DEFAULT "draft"` are
    'draft'), so that two spellings of one value are one default. Anything
    else as it is, without the parentheses around the whole that PRAGMA
    table_xinfo leaves when there were two pairs (`DEFAULT ((1 + 2))`)."""
    tokens = _unwrapped(_tokenize(default))
    if not tokens:
        return default
    default = default[tokens[0].start:tokens[-1].end]
    if len(tokens) == 1 and tokens[0].kind in ("ident", "word") and tokens[0].upper not in (
            "NULL", "TRUE", "FALSE", "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"):
        return quote_literal(_unquote(tokens[0].text))
    if not _is_literal(tokens) or (len(tokens) == 1 and tokens[0].text.startswith("'")):
        return default
    scratch = sqlite3.connect(":memory:")
    try:
        return scratch.execute(f"SELECT quote({default})").fetchone()[0]
    except sqlite3.Error:  # (SQLite took it in a CREATE TABLE: not expected)
        return default
    finally:
        scratch.close()


_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # a number as SQL writes it (no hex)


def _stored_default(declared_type: str, default: str | None) -> str | None:
    """A default as a column of that type stores it, for a number: a TEXT
    column stores the literal 2 as '2', and a column of a numeric affinity
    the text '2' as 2; a REAL column stores 0 as 0.0, and an INTEGER or
    NUMERIC one 2.0 as 2 (datatype3.html, "Type Affinity"). (An earlier
    migrate.py wrote a Decimal field's int default as 2.)"""
    if default is None:
        return default
    default = _literal_as_stored(default)
    if declared_type.upper() == "ANY":  # (a STRICT table's ANY column keeps values as given)
        return default
    written = re.fullmatch(r"([+-]?[0-9]{1,18})|'([+-]?[0-9]{1,18})'", default)
    affinity = _affinity(declared_type)
    if written and affinity == "TEXT" and written.group(1):
        return quote_literal(str(int(written.group(1))))
    number = re.fullmatch(rf"({_DECIMAL})|'({_DECIMAL})'", default)
    if number and affinity == "REAL":
        return repr(float(number.group(1) or number.group(2)))
    if written and affinity in ("INTEGER", "NUMERIC"):
        return str(int(written.group(1) or written.group(2)))
    if number and affinity in ("INTEGER", "NUMERIC") and abs(value := float(number.group(1) or number.group(2))) \
            < 2 ** 53 and value.is_integer():
        return str(int(value))
    return default


@dataclass(frozen=True)
class Column:
    """A column as SQLite reports it (PRAGMA table_xinfo) plus the facts only
    the CREATE TABLE text holds. `definition` is the column's text in it."""
    name: str
    type: str = ""
    notnull: bool = False
    default: str | None = None
    collate: str | None = None
    check: str | None = None
    generated: str | None = None
    definition: str = ""

    @cached_property
    def signature(self) -> tuple:
        """What makes two columns the same, name and order aside."""
        return (canonical_sql(self.type), self.notnull, canonical_sql(_stored_default(self.type, self.default)),
                _fold(self.collate or "BINARY"), _canonical_check(self.check),
                canonical_sql(self.generated))


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: `columns` reference `to` in `table`, with its actions."""
    columns: tuple[str, ...]
    table: str
    to: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"

    @cached_property
    def signature(self) -> tuple:
        return (tuple(_fold(c) for c in self.columns), _fold(self.table),
                tuple(_fold(c) for c in self.to), self.on_delete, self.on_update)


@dataclass(frozen=True)
class Index:
    """An index as SQLite stores it: its name, its table, and its CREATE INDEX
    text; `names` are its table's columns, which a name in it may mean."""
    name: str
    table: str
    unique: bool
    sql: str
    names: frozenset[str] | None = field(default=None, compare=False, repr=False)  # None: read as written

    @cached_property
    def _definition(self) -> list[_Token]:
        """The tokens from the "(" after ON table: columns, then any WHERE."""
        tokens = _tokenize(self.sql)
        on = next(i for i, t in enumerate(tokens) if t.upper == "ON")
        return tokens[next(i for i in range(on, len(tokens)) if tokens[i].text == "("):]

    @cached_property
    def signature(self) -> tuple:
        """Name, uniqueness and everything after the table name."""
        return (_fold(self.name), self.unique, self.read_with(self.names))

    def read_with(self, columns: frozenset[str] | None) -> str:
        """Everything after the table name, canonical, as SQLite reads it
        where `columns` (folded) are the table's (_as_sqlite_reads)."""
        definition = self._definition
        return _canonical(definition if columns is None else _as_sqlite_reads(definition, columns))

    @cached_property
    def columns(self) -> tuple[str, ...] | None:
        """The indexed columns, for an index of named columns only (declarable)."""
        if not self.declarable:
            return None
        return tuple(_unquote(t.text) for t in self._definition[1:_matching_paren(self._definition, 0):2])

    @cached_property
    def declarable(self) -> bool:
        """Whether a model can declare it: named columns only, no expression,
        ASC/DESC, COLLATE or WHERE."""
        definition = self._definition
        close_at = _matching_paren(definition, 0)
        names, commas = definition[1:close_at:2], definition[2:close_at:2]
        return (all(t.kind in ("word", "ident") for t in names) and all(t.text == "," for t in commas)
                and len(names) == len(commas) + 1 and all(t.text == ";" for t in definition[close_at + 1:]))


@dataclass(frozen=True)
class Table:
    """A table as SQLite reports it; `sql` is its CREATE TABLE as stored."""
    name: str
    sql: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    checks: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()
    autoincrement: bool = False
    strict: bool = False
    without_rowid: bool = False

    def column(self, name: str) -> Column | None:
        return self._columns_by_name.get(_fold(name))

    @cached_property
    def _columns_by_name(self) -> dict[str, Column]:
        return {_fold(c.name): c for c in self.columns}  # names are unique, as SQLite compares them

    @property
    def rowid_alias(self) -> str | None:
        """The INTEGER PRIMARY KEY column that is the rowid, if any."""
        if self.without_rowid or len(self.primary_key) != 1:
            return None
        column = self.column(self.primary_key[0])
        return column.name if column and column.type.upper() == "INTEGER" else None


@dataclass(frozen=True)
class SchemaObject:
    """A view, a trigger or a virtual table: not described by models, kept
    as written."""
    type: str
    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class Schema:
    """What a database holds (tables, views, triggers, virtual tables): what `make` diffs and `check` compares."""
    tables: tuple[Table, ...] = ()
    views: tuple[SchemaObject, ...] = ()
    triggers: tuple[SchemaObject, ...] = ()
    others: tuple[SchemaObject, ...] = ()  # virtual tables (their shadow tables are theirs): never touched

    def table(self, name: str) -> Table | None:
        return self._tables_by_name.get(_fold(name))

    @cached_property
    def _tables_by_name(self) -> dict[str, Table]:
        return {_fold(t.name): t for t in self.tables}  # names are unique, as SQLite compares them


def render_column(name: str, sql_type: str, *, notnull: bool = False, primary_key: bool = False,
                  autoincrement: bool = False, default: str | None = None,
                  collate: str | None = None, check: str | None = None,
                  references: tuple[str, str] | None = None, on_delete: str | None = None,
                  on_update: str | None = None, generated: str | None = None, stored: bool = False) -> str:
    """One column definition of a CREATE TABLE, every identifier quoted."""
    parts = [quote(name), sql_type]
    if generated:
        parts.append(f"GENERATED ALWAYS AS ({generated}) {'STORED' if stored else 'VIRTUAL'}")
    if notnull and not (primary_key and sql_type == "INTEGER"):
        parts.append("NOT NULL")
    if primary_key:
        parts.append("PRIMARY KEY AUTOINCREMENT" if autoincrement else "PRIMARY KEY")
    if default is not None:
        parts.append("DEFAULT " + _default_text(default))
    if collate:
        parts.append("COLLATE " + collate)
    if check:
        parts.append(f"CHECK ({check})")
    if references:
        parts.append(f"REFERENCES {quote(references[0])} ({quote(references[1])})")
        if on_delete:
            parts.append("ON DELETE " + on_delete)
        if on_update:
            parts.append("ON UPDATE " + on_update)
    return " ".join(p for p in parts if p)


def render_create_table(name: str, column_definitions: list[str], *,
                        primary_key: tuple[str, ...] = (), constraints: tuple[str, ...] = (), strict: bool = False,
                        without_rowid: bool = False) -> str:
    """`constraints` are the table's others, as written (`CHECK (a <= b)`, `UNIQUE ("c")`)."""
    lines = list(column_definitions)
    if len(primary_key) > 1:
        lines.append("PRIMARY KEY (" + ", ".join(map(quote, primary_key)) + ")")
    lines += constraints
    options = [o for o, on in (("WITHOUT ROWID", without_rowid), ("STRICT", strict)) if on]
    return (f"CREATE TABLE {quote(name)} (\n    " + ",\n    ".join(lines) + "\n)"
            + (" " + ", ".join(options) if options else ""))


def render_create_index(name: str, table: str, columns: tuple[str, ...], *, unique: bool) -> str:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return f"CREATE {kind} {quote(name)} ON {quote(table)} ({', '.join(map(quote, columns))})"


def _default_text(expression: str) -> str:
    """PRAGMA table_xinfo drops a default's outer parentheses: put them back
    on anything that is not a literal (one pair: `(datetime('now'))` given
    in a model is not written `((datetime('now')))`)."""
    tokens = _unwrapped(_tokenize(expression))
    expression = expression[tokens[0].start:tokens[-1].end] if tokens else expression
    simple = _is_literal(tokens) or (len(tokens) == 1 and tokens[0].upper in (
        "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"))
    return expression if simple else f"({expression})"


def _rename_create_table(sql: str, new_name: str) -> str:
    """The same CREATE TABLE under another name: only the name token changes
    (as SQLite's own ALTER TABLE RENAME does), the rest stays as written."""
    tokens = _tokenize(sql)
    at = next(i for i, t in enumerate(tokens) if t.text == "(") - 1
    if at >= 2 and tokens[at - 1].text == ".":
        at_start = tokens[at - 2].start
    else:
        at_start = tokens[at].start
    return sql[:at_start] + quote(new_name) + sql[tokens[at].end:]


# ============================================================================
# Models -> Schema
# ============================================================================

def _refuse_reserved(cls: type, what: str, name: str, fix: str) -> None:
    """A model's table or index name that is ignored (_ignored) or is a rebuild's copy's."""
    if _ignored(name) or _fold(name).startswith("_new_"):
        raise MigrateError(f"model {cls.__name__}: {what} {name} is reserved (SQLite, Litestream or D1 use the "
                           f"prefix, or migrate.py the name: {MIGRATIONS_TABLE}, and _new_<table> while it "
                           f"rebuilds a table); {fix}")


_SQL_TYPES = {
    "builtins.int": "INTEGER", "builtins.str": "TEXT", "builtins.float": "REAL",
    "builtins.bytes": "BLOB", "builtins.bool": "INTEGER",
    "datetime.datetime": "TEXT", "datetime.date": "TEXT", "datetime.time": "TEXT",
    "decimal.Decimal": "TEXT", "uuid.UUID": "TEXT",
}
_FK_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION")


def _package_hint(path: str) -> str:
    """How to name a models file of a package as a module: its dotted name
    up to the folder above the package, where it must be run from."""
    parts, folder = [os.path.splitext(os.path.basename(path))[0]], os.path.dirname(os.path.abspath(path))
    while os.path.isfile(os.path.join(folder, "__init__.py")) and os.path.dirname(folder) != folder:
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    where = "" if folder == os.getcwd() else f", run from {os.path.relpath(folder)}"
    return f"; for a package, pass its module name: --models {'.'.join(parts)}{where}"


# Modules a models file imported from its own folder (`from fields import
# Status`), each with that folder and its file's bytes: forgotten before the
# next load when it is of another folder or one of them was edited, so that a
# process that loads models again (two projects, or an edited helper module)
# reads them anew too; kept otherwise, as the application may use them.
_IMPORTED_BESIDE_MODELS: dict[str, tuple[str, str, bytes | None]] = {}

# Loading models changes sys.path and sys.modules, and string annotations are
# resolved through sys.modules: so make and check, from any number of threads,
# load and read models one thread at a time.
_MODELS_LOCK = threading.RLock()


def load_models(models: str | os.PathLike):
    """Import the models module from a path (`models.py`) or a dotted name
    (one thread at a time)."""
    with _MODELS_LOCK:
        return _load_models(models)


def _load_models(models: str | os.PathLike):
    """The models module: a file run anew (models.py, path/to/models.py), or
    a dotted module name imported as Python imports it (app.models)."""
    if not isinstance(models, (str, os.PathLike)):
        hint = f": pass its name, models={models.__name__!r}" if isinstance(models, type(os)) else ""
        raise MigrateError(f"models must be a path or a module name, not {type(models).__name__} {models!r}{hint}")
    models = os.fspath(models)
    if not models.strip():
        raise MigrateError(f"the models file is given as {models!r} (an empty option or setting): pass --models "
                           "FILE (or a dotted module name)")
    folder = os.getcwd()
    try:
        return _exec_models_file(models) if _names_a_file(models) else _import_models_module(models, folder)
    finally:
        if os.getcwd() != folder:  # a models module's os.chdir() must not move where migrations are written
            os.chdir(folder)


def _names_a_file(models: str) -> bool:
    """Whether a models setting is a file path, else a dotted module name."""
    return models.endswith(".py") or os.sep in models or "/" in models


def _refuse_broken_link(path, what: str, shown=None) -> None:
    """A symbolic link that leads nowhere (a loop, or a target gone) is
    not a missing file: "run make to create it" would not help."""
    if os.path.islink(path) and not os.path.exists(path):
        raise MigrateError(f"{what} {os.fspath(shown or path)} is a symbolic link that leads nowhere (a loop, or a "
                           "target that is gone): fix or remove the link")


def _exec_models_file(models: str):
    """Run the models file as a module of its own name, with its folder on
    sys.path for the modules it imports from there, which are read anew on
    the next call too."""
    import types
    path = os.path.abspath(models)
    _refuse_broken_link(path, "models file", models)
    if not os.path.isfile(path):
        raise MigrateError(f"models file {models} {'is not a file' if os.path.exists(path) else 'not found'}: "
                           "create it or pass --models PATH")
    # one name per file (two projects' models.py in one process each resolve their own names)
    module_name = "_migrate_models_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) + \
        f"_{hash(path) & 0xFFFFFFFF:08x}"  # (_MODELS_MODULE_NAME)
    try:  # compiled from source each time: no stale or stray __pycache__
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        raise MigrateError(f"cannot read models file {models}: {exc.strerror}: make it readable for this user, "
                           "or run as its owner") from None
    module = types.ModuleType(module_name)
    module.__file__ = path
    if any(home != os.path.dirname(path) or _file_bytes(file) != read
           for home, file, read in _IMPORTED_BESIDE_MODELS.values()):
        for name in _IMPORTED_BESIDE_MODELS:  # read anew, as the models file is
            sys.modules.pop(name, None)
        _IMPORTED_BESIDE_MODELS.clear()
    before = set(sys.modules)
    sys.modules[module_name] = module  # dataclasses resolve string annotations through it
    sys.path.insert(0, os.path.dirname(path))
    try:
        if b"\0" in source:  # (Python's error names no line)
            raise _nul_byte_error(path, source)
        # (without this file's `from __future__ import annotations`)
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    except KeyboardInterrupt:
        del sys.modules[module_name]
        raise
    except BaseException as exc:  # SystemExit too: a models file that exits must not pass for one without changes
        del sys.modules[module_name]
        hint = _package_hint(path) if isinstance(exc, ImportError) and "relative import" in str(exc) else ""
        raise MigrateError(f"models file {models} failed to import: {_describe_exception(exc, path)}"
                           f"{hint}") from None
    finally:
        sys.path.remove(os.path.dirname(path))
        folder = os.path.join(os.path.dirname(path), "")
        # found through the folder itself, not through a path entry inside it (a ./.venv's packages)
        roots = {folder} | {os.path.join(os.path.abspath(entry), "") for entry in sys.path if isinstance(entry, str)}
        for name in set(sys.modules) - before - {module_name}:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if max((root for root in roots if file.startswith(root)), key=len, default=None) == folder:
                _IMPORTED_BESIDE_MODELS[name] = (os.path.dirname(path), file, _file_bytes(file))
    return module


def _file_bytes(path: str) -> bytes | None:
    """A file's bytes (None when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _import_models_module(models: str, folder: str):
    """Import a dotted module name from `folder`, the current one, as `python -m` would find it."""
    import importlib
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(models)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too, as above
        if "null bytes" in str(exc):  # (Python's error names no file or line)
            import importlib.util
            with suppress(Exception):
                with open(importlib.util.find_spec(models).origin, "rb") as handle:
                    source = handle.read()
                exc = _nul_byte_error(handle.name, source) if b"\0" in source else exc
        raise MigrateError(f"models module {models} failed to import: {_describe_exception(exc)}") from None
    finally:
        sys.path.remove(folder)


def _nul_byte_error(path: str, source: bytes) -> SyntaxError:
    line = source.count(b"\n", 0, source.index(b"\0")) + 1
    return SyntaxError("a NUL byte, which Python source cannot hold: remove it", (path, line, None, None))


def _describe_exception(exc: BaseException, path: str = "") -> str:
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in frames if f.filename == path] or [f for f in frames[-1:] if not f.filename.startswith("<")]
    where = f" (line {frames[-1].lineno} of {os.path.basename(frames[-1].filename)})" if frames else ""
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno} of {os.path.basename(exc.filename or '?')})"
        return f"SyntaxError: {exc.msg}{where}"
    try:
        text = str(exc)
    except Exception:  # an exception class whose __str__ fails in turn
        text = "(its message cannot be shown)"
    return f"{type(exc).__name__}: {text}{where}"


def _home_names(cls: type) -> dict:
    """The names the string annotations of a class made by make_dataclass
    before 3.12 (module "types") use: those of every module that holds it,
    the later imported ones first (the models module imports the one that
    made it, if another did)."""
    names = {}
    for module in list(sys.modules.values()):
        if module is not None and hasattr(module, "__dict__") and module.__name__ != "types" \
                and any(value is cls for value in vars(module).values()):
            names.update(vars(module))
    return names


def model_classes(module) -> list[type]:
    """The dataclasses defined in `module` that are tables (an alias such as
    `B = A` is the same class, once)."""
    import dataclasses
    # Before Python 3.12, make_dataclass() names "types" as the module of every
    # class it makes, so where it was made is not known: one in the models module
    # counts as made there (telling it from one imported would be a guess, and a
    # wrong guess drops a table).
    classes = [obj for name, obj in vars(module).items()
               if isinstance(obj, type) and dataclasses.is_dataclass(obj)
               and obj.__module__ in (module.__name__, "types")
               and not name.startswith("_") and not obj.__name__.startswith("_")]
    for cls in classes:
        if "__dataclass_fields__" not in cls.__dict__ and cls.__dict__.get("__annotations__"):  # no fields, silently
            base = next(b.__name__ for b in cls.__mro__[1:] if "__dataclass_fields__" in b.__dict__)
            raise MigrateError(f"model {cls.__name__} subclasses the dataclass {base} but is not a dataclass "
                               "itself, so its own fields would be left out: add @dataclass (or start its name "
                               "with _ if it is no model)")
        _refuse_fields_of_a_plain_base(cls)
        if not isinstance(cls.__dict__.get("__abstract__", False), bool):
            raise MigrateError(f"model {cls.__name__}: __abstract__ must be True or False, not "
                               f"{cls.__dict__['__abstract__']!r}")
    return list(dict.fromkeys(cls for cls in classes if not cls.__dict__.get("__abstract__", False)))


def _refuse_fields_of_a_plain_base(cls: type) -> None:
    """A base class that is no dataclass (a mixin such as Timestamped with
    `created: str = ""`): @dataclass takes no fields from it, so its columns
    would be left out without a word. Not its private names (`_cache: dict`,
    for type checkers), ClassVar and Final ones, nor a Protocol's; a base
    whose annotations cannot be read is let be."""
    import dataclasses
    import typing
    fields = {f.name for f in dataclasses.fields(cls)}
    for base in cls.__mro__[1:]:
        if "__dataclass_fields__" in base.__dict__ or base.__module__ in ("builtins", "typing", "abc") \
                or getattr(base, "_is_protocol", False):
            continue
        own = base.__dict__.get("__annotations__") or {}
        names = [name for name in own if name not in fields and not name.startswith("_")]
        if not names:
            continue
        try:
            hints = typing.get_type_hints(base)
        except Exception:  # (a name only a type checker imports: nothing to tell by)
            continue
        left_out = [name for name in names
                    if typing.get_origin(hints.get(name)) not in (typing.ClassVar, typing.Final)
                    and hints.get(name) not in (typing.ClassVar, typing.Final)
                    and type(hints.get(name)).__name__ != "InitVar"]
        if left_out:
            raise MigrateError(f"model {cls.__name__} field {left_out[0]}: it is declared in {base.__name__}, "
                               "which is not a dataclass, so @dataclass leaves it out of the model (no column): "
                               f"add @dataclass to {base.__name__}")


# A model's class options: set on the model or inherited from a base, as the
# fields are. Except __managed__, which says who owns a table: a model that
# subclasses an unmanaged one has a table of its own, which `make` manages
# unless it says otherwise. __tablename__ and __abstract__ are never inherited.
_MODEL_OPTIONS = {"__tablename__": None, "__abstract__": False, "__managed__": True, "__strict__": False,
                  "__without_rowid__": False, "__indexes__": (), "__unique__": (), "__checks__": ()}
_OPTION_SPELLINGS = {"__unique_together__": "__unique__", "__index_together__": "__indexes__",
                     "__constraints__": "__checks__ (and __unique__)", "__table_args__": "__checks__ or __indexes__",
                     "__indices__": "__indexes__", "__db_table__": "__tablename__",
                     "__table__": "__tablename__"}  # Django's and others' names


def _model_option(cls: type, name: str, models):
    # what says who owns a parent model's table (it, or its own bases) is not about this one's
    theirs = {k for parent in cls.__mro__[1:] if parent in models for k in parent.__mro__} \
        if name == "__managed__" else set()
    for klass in cls.__mro__:
        if klass in theirs:
            continue
        if name in klass.__dict__:
            value = klass.__dict__[name]
            if _MODEL_OPTIONS[name] in (True, False) and not isinstance(value, bool):
                raise MigrateError(f"model {cls.__name__}: {name} must be True or False, not {value!r}")
            # two bases' lists: Python takes the first, and the other's indexes or CHECKs would go unsaid
            other = next((k for k in cls.__mro__ if name in k.__dict__ and not issubclass(klass, k)), None) \
                if name in ("__indexes__", "__unique__", "__checks__") else None
            if other is not None:
                raise MigrateError(f"model {cls.__name__}: {name} comes from both {klass.__name__} and "
                                   f"{other.__name__}, and only {klass.__name__}'s would count: give "
                                   f"{cls.__name__} its own, such as {name} = {klass.__name__}.{name} + "
                                   f"{other.__name__}.{name}")
            return value
    return _MODEL_OPTIONS[name]


def _refuse_unknown_options(cls: type) -> None:
    """A misspelled option would be silently ignored (no index, not STRICT)."""
    meta = cls.__dict__.get("Meta")
    django = sorted(set(vars(meta)) & {"db_table", "unique_together", "index_together", "managed", "indexes",
                                       "constraints", "abstract"}) if isinstance(meta, type) else []
    if django:
        raise MigrateError(f"model {cls.__name__}: its class Meta ({', '.join(django)}) is Django's, which "
                           "migrate.py does not read: use __tablename__, __unique__, __indexes__, __checks__, "
                           "__managed__")
    for klass in cls.__mro__[:-1]:
        for name, value in klass.__dict__.items():
            if not re.fullmatch(r"__\w+__", name) or name in _MODEL_OPTIONS or callable(value) \
                    or isinstance(value, (classmethod, staticmethod, property)):
                continue
            meant = _OPTION_SPELLINGS.get(name) or _near_option(name)
            if meant:
                raise MigrateError(f"model {cls.__name__}: unknown option {name}; did you mean {meant}?")


@lru_cache(maxsize=None)  # every class has __module__, __doc__, __dataclass_fields__...: asked once each
def _near_option(name: str) -> str | None:
    """The option `name` is a near miss of, compared without the underscores
    (which would make __qualname__ one of __tablename__)."""
    import difflib
    cores = {option.strip("_"): option for option in _MODEL_OPTIONS}
    close = difflib.get_close_matches(name.strip("_"), cores, 1, 0.8)
    return cores[close[0]] if close else None


def table_name_for(cls: type) -> str:
    """`__tablename__`, else the class name in snake_case (HTTPLog -> http_log)."""
    if "__tablename__" in cls.__dict__:
        return cls.__dict__["__tablename__"]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__).lower()


@dataclass(frozen=True)
class ModelTable:
    """A model rendered to SQL: what `make` wants the database to contain."""
    model: str
    name: str
    create_sql: str
    index_sqls: tuple[str, ...]
    managed: bool


@dataclass(frozen=True)
class _Field:
    """A model field as read from its dataclass, before it becomes a column."""
    model: str
    name: str
    column: str
    sql_type: str
    nullable: bool
    metadata: dict
    default: object  # a Python value, or _NO_DEFAULT
    target: type | None  # the model a foreign-key field points at


_NO_DEFAULT = object()


def _resolve_annotation(cls: type, field_name: str, annotation: object, models: dict) -> object:
    if type(annotation).__name__ == "ForwardRef":
        annotation = annotation.__forward_arg__
    if not isinstance(annotation, str):
        return annotation
    owner = next((k for k in cls.__mro__ if field_name in k.__dict__.get("__annotations__", {})), cls)
    annotated = owner.__dict__.get("__annotations__", {})  # (a field's default is no type, even if named like one)
    nested = {k: v for k, v in vars(owner).items() if isinstance(v, type) and k not in annotated}
    # The module's own names, not a copy per field: with many models, copies made loading them quadratic.
    home = vars(sys.modules[owner.__module__]) if owner.__module__ != "types" else _home_names(owner)
    try:
        try:
            value = eval(annotation, home, ChainMap(nested, models))  # noqa: S307: the user's own annotation
        except NameError:  # (a comprehension in it sees the globals only, before Python 3.12): all in one
            value = eval(annotation, {**home, **models, **nested})  # noqa: S307
    except TypeError:
        if "|" not in annotation:
            raise
        value = _eval_unions(annotation, {**home, **models, **nested})
    if isinstance(value, str) or type(value).__name__ == "ForwardRef":  # "quoted" twice
        return _resolve_annotation(cls, field_name, value, models)
    return value


def _underlying(annotation: object) -> object:
    """What an `Annotated[T, ...]` or a `NewType` of T stands for: T, as a
    type checker reads it (the extra metadata is for other tools)."""
    import typing
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif callable(annotation) and hasattr(annotation, "__supertype__"):  # (a class on 3.10+, a function before)
            annotation = annotation.__supertype__
        else:
            return annotation


def _eval_unions(annotation: str, names: dict) -> object:
    """An annotation with a `|` Python cannot evaluate: `X | None` on Python
    3.9, whose types have no `|` yet, also inside another annotation
    (`Annotated[X | None, ...]`), and a name in quotes on either side
    (`"Team" | None`, `int | "None"`). Each `a | b` is `a | b` where the two
    allow it (`Flag.A | Flag.B`), else `Union[a, b]`."""
    import ast
    import typing

    def either(left, right):
        left, right = ((None if side.strip() == "None" else _eval_unions(side, names)) if isinstance(side, str)
                       else side for side in (left, right))
        try:
            return left | right
        except TypeError:
            return typing.Union[left, right]

    class Unions(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if not isinstance(node.op, ast.BitOr):
                return node
            return ast.Call(ast.Name("_migrate_either", ast.Load()), [node.left, node.right], [])
    tree = ast.fix_missing_locations(Unions().visit(ast.parse(annotation.strip(), mode="eval")))
    return eval(compile(tree, "<annotation>", "eval"), {**names, "_migrate_either": either})  # noqa: S307


def _unwrap_optional(annotation: object) -> tuple[object, bool]:
    import typing
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable
    return annotation, False


_MODELS_MODULE_NAME = re.compile(r"_migrate_models_\w*?_[0-9a-f]{8}\.?")  # the name load_models gives a file


def _refuse_huge_members(annotation: type, where: str) -> None:
    """An enum member whose int value SQLite would store as a REAL, rounded
    (and Python's sqlite3 cannot even bind)."""
    huge = next((m for m in annotation.__members__.values()  # (a Flag's many-bit members too)
                 if isinstance(m.value, int) and not -2**63 <= m.value < 2**63), None)
    if huge is not None:
        raise MigrateError(f"{where}: enum {annotation.__name__} member {huge.name} = {huge.value} is outside "
                           "SQLite's 64-bit integers: give it a smaller value, or make the enum's values str")


def _sql_type(annotation: object, where: str, home: str) -> str:
    import enum
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [m.value for m in annotation]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            _refuse_huge_members(annotation, where)
            return "INTEGER"
        if values and all(isinstance(v, str) for v in values):
            return "TEXT"
        if not values:
            raise MigrateError(f"{where}: enum {annotation.__name__} has no members, so no value fits the column: "
                               "give it members (all int or all str values)")
        raise MigrateError(f"{where}: enum {annotation.__name__} must have all-int or all-str values; "
                           "or set metadata={'sql_type': ...}")
    key = f"{getattr(annotation, '__module__', '')}.{getattr(annotation, '__qualname__', '')}"
    if isinstance(annotation, type) and key in _SQL_TYPES:
        return _SQL_TYPES[key]
    shown = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    if isinstance(annotation, type) and hasattr(annotation, "__dataclass_fields__"):
        if annotation.__module__ == home:  # defined beside the model, and no table
            why = "__abstract__ = True" if annotation.__dict__.get("__abstract__") else "its name starts with _"
            raise MigrateError(f"{where}: {shown} has no table ({why}): reference a model that has one, or give "
                               "the column metadata={'references': ...}")
        raise MigrateError(f"{where}: {shown} is a dataclass from module {annotation.__module__}, and only those "
                           "defined in the models module are models: define it there (a model imported from "
                           "elsewhere is no table here), or give the column metadata={'references': ...}")
    shown = shown or _MODELS_MODULE_NAME.sub("", repr(annotation))  # typing.List[Tag], not the module's name
    raise MigrateError(f"{where}: unsupported annotation {shown}; use int, str, float, "
                       "bytes, bool, datetime, date, time, Decimal, UUID, an Enum or a model, "
                       "or set metadata={'sql_type': ...}")


def _python_default(value: object, where: str) -> str:
    import datetime
    import enum
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime.datetime):  # with a space, as sqlite3, Django and CURRENT_TIMESTAMP
        value = value.isoformat(" ")            # write it: a 'T' would sort after every value of that day
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    elif type(value).__name__ in ("Decimal", "UUID"):
        value = str(value)
    if isinstance(value, str):
        _check_utf8(value, where, "fix the default")
    try:
        return quote_literal(value)
    except ValueError as exc:
        raise MigrateError(f"{where}: default {value!r} cannot be written in SQL ({exc}); "
                           "use default_factory or metadata={'default_sql': ...}") from None


def _model_fields(cls: type, models: dict) -> list[_Field]:
    """A model's dataclass fields as columns to be: each annotation resolved
    (Optional, another model, an enum...) or refused with the field named."""
    import dataclasses
    fields, known_models = [], set(models.values())
    for f in dataclasses.fields(cls):
        where = f"model {cls.__name__} field {f.name}"
        if f.name in _MODEL_OPTIONS:
            raise MigrateError(f"{where}: {f.name} is an option, not a field: write it without an "
                               f"annotation ({f.name} = ...)")
        inner, nullable = _field_annotation(cls, f, models, where)
        target = inner if isinstance(inner, type) and inner in known_models else None
        metadata = dict(f.metadata)
        _check_metadata(metadata, where)
        _check_generated(metadata, target, where)
        if "sql_type" in metadata:  # as SQLite records it
            metadata["sql_type"] = metadata["sql_type"].strip(_SQL_SPACES)
        sql_type = _field_sql_type(cls, inner, target, metadata, where, known_models)
        column = f.name + "_id" if target is not None else f.name
        default = f.default if f.default is not dataclasses.MISSING else _NO_DEFAULT
        if default is None and (inner is object or repr(inner) == "typing.Any") and not (
                {"default_sql", "generated"} & metadata.keys() or metadata.get("primary_key")):  # (None: a value)
            nullable = True
        default = _field_default(cls, f.name, inner, default, nullable, target, metadata, where, known_models)
        fields.append(_Field(cls.__name__, f.name, column, sql_type, nullable, metadata, default, target))
    return fields


def _field_annotation(cls: type, f, models: dict, where: str) -> tuple[object, bool]:
    """The field's type without Optional, and whether it was Optional:
    string annotations resolved, a type variable refused."""
    try:
        annotation = _underlying(_resolve_annotation(cls, f.name, f.type, models))
        inner, nullable = _unwrap_optional(annotation)
        inner = _underlying(_resolve_annotation(cls, f.name, inner, models))  # Optional["Model"]
    except Exception as exc:
        raise MigrateError(f"{where}: annotation {f.type!r} cannot be resolved: {exc}") from None
    if type(inner).__name__ == "TypeVar":  # a Generic[T] class's
        fix = ("declare the field again in the model with its type, such as int or str"
               if f.name not in cls.__dict__.get("__annotations__", {}) else
               "make this generic class no table (__abstract__ = True, or a name that starts with _) and "
               "declare the field with its type in the models that subclass it"
               if inner in getattr(cls, "__parameters__", ()) else "annotate it with a type, such as int or str")
        raise MigrateError(f"{where}: its annotation is the type variable {inner!r}, which a table cannot hold: "
                           f"{fix}")
    return inner, nullable


def _field_sql_type(cls: type, inner, target: type | None, metadata: dict, where: str, known_models: set) -> str:
    """The column's declared type: the field's "sql_type", or the one its
    Python type maps to ("" for a foreign key: it takes the parent key's);
    an "sql_type" that would change the field's values is refused."""
    import enum
    if target is not None:
        sql_type = metadata.get("sql_type", "")
    else:
        sql_type = metadata["sql_type"] if "sql_type" in metadata else _sql_type(inner, where, cls.__module__)
    if metadata.get("sql_type") == "" and _model_option(cls, "__strict__", known_models):
        raise MigrateError(f"{where}: a STRICT table's column needs a declared type: give \"sql_type\": \"ANY\" "
                           "for a column that keeps any value as given")
    if "sql_type" in metadata and target is None and not (
            sql_type.upper() == "ANY" and _model_option(cls, "__strict__", known_models)):  # (kept as given)
        _refuse_numbers_for_text(inner, sql_type, where)
        if isinstance(inner, type) and issubclass(inner, enum.Enum) and _affinity(sql_type) != "REAL":
            _refuse_huge_members(inner, where)
    return sql_type


def _field_default(cls: type, name: str, inner, default, nullable: bool, target: type | None, metadata: dict,
                   where: str, known_models: set):
    """The field's default as the column's will be (a Decimal for an int
    given to a Decimal field), or _NO_DEFAULT; one that does not fit the
    field, or is the time the models were loaded, is refused."""
    assigned_key = inner is int and (name == "id" or metadata.get("primary_key"))  # None: SQLite assigns it
    if default is None and not nullable and not assigned_key and "default_sql" not in metadata \
            and "generated" not in metadata:  # (its default is for Python alone)
        raise MigrateError(f"{where}: default None needs an Optional annotation (Optional[...] or ... | None), "
                           "or give a default of the field's type")
    checked = target is None and "sql_type" not in metadata and default not in (_NO_DEFAULT, None)
    written = not {"default_sql", "generated"} & metadata.keys() and \
        _model_option(cls, "__managed__", known_models)
    if written and _is_import_time(default):
        import datetime
        now, sql = (("datetime.now().time()", "CURRENT_TIME") if isinstance(default, datetime.time)
                    else ("datetime.now()", "CURRENT_DATE") if inner is datetime.date
                    else ("datetime.now()", "CURRENT_TIMESTAMP"))
        raise MigrateError(f"{where}: default {default!r} is the time the models were loaded ({now} in the "
                           "class body), so every make would write a new default; for the time a row is "
                           f"inserted use metadata={{'default_sql': '{sql}'}}")
    if checked and not _default_fits(inner, default):
        a = "an" if inner.__name__[:1].lower() in "aeio" else "a"  # (a UUID)
        raise MigrateError(f"{where}: default {default!r} is not {a} {inner.__name__}: give it {a} "
                           f"{inner.__name__} (or metadata={{'default_sql': ...}} for an SQL expression)")
    if checked and getattr(inner, "__name__", "") == "Decimal" and isinstance(default, int):
        default = inner(default)  # written as Decimal(1) is, '1': the same value gives the same default
    return default


def _check_generated(metadata: dict, target: type | None, where: str) -> None:
    """A generated column (`GENERATED ALWAYS AS (expr)`, Django's GeneratedField)
    with what SQLite refuses beside it said in the models' words. Its Python
    default is for the dataclass alone: SQLite computes the column's value."""
    if "stored" in metadata and "generated" not in metadata:
        raise MigrateError(f"{where}: metadata 'stored' is for a generated column: add 'generated' with its "
                           "expression, or drop 'stored'")
    if "generated" not in metadata:
        return
    refused = [key for key in ("default_sql", "primary_key", "autoincrement", "references") if metadata.get(key)]
    if refused or target is not None:
        what = f"metadata {refused[0]!r}" if refused else f"the annotation {target.__name__} (a foreign key)"
        raise MigrateError(f"{where}: a generated column (metadata 'generated') cannot also take {what}: drop one "
                           "of them")


def _refuse_numbers_for_text(annotation: object, sql_type: str, where: str) -> None:
    """A str field (or an enum of str values) declared with a type of
    numeric affinity, as STRING, NUMBER, DECIMAL(10,2) or INT are: SQLite
    stores text that reads as a number as that number, so '007' would come
    back as 7 (datatype3.html, "Type Affinity"), in a STRICT table too. Not
    types named for dates, times, booleans or JSON, whose text is mostly no
    number (a date written 20240101 would still become one); nor a Decimal
    field, whose value a number keeps (Django stores one so), but for
    trailing zeros and digits past the 15th."""
    import enum
    if not isinstance(annotation, type):
        return
    text = issubclass(annotation, str) or (issubclass(annotation, enum.Enum) and list(annotation)
                                           and all(isinstance(member.value, str) for member in annotation))
    affinity = _affinity(sql_type)
    if text and _holds_numbers_only(sql_type):
        raise MigrateError(f"{where}: sql_type {sql_type} has {affinity} affinity, under which SQLite stores text "
                           "that reads as a number as that number ('007' as 7): use a text type such as TEXT or "
                           "VARCHAR(n)")


def _holds_numbers_only(sql_type: str) -> bool:
    """Whether a column of this type is meant for numbers alone: of INTEGER,
    REAL or NUMERIC affinity, but for the NUMERIC types named for dates,
    times, booleans or JSON, which often hold text."""
    affinity = _affinity(sql_type)
    return affinity in ("INTEGER", "REAL") or (
        affinity == "NUMERIC" and not re.search(r"DATETIME|(?<![A-Z])(?:DATE|TIME|BOOL|JSON)", sql_type, re.I))


_METADATA_STRINGS = ("sql_type", "collate", "check", "references", "on_delete", "on_update", "generated")
_METADATA_FLAGS = ("primary_key", "autoincrement", "unique", "index", "stored")
_METADATA_KEYS = _METADATA_STRINGS + _METADATA_FLAGS + ("default_sql",)
_METADATA_SPELLINGS = {  # what a Django (or another ORM's) user reaches for first
    "null": "make the annotation Optional[...]", "db_index": "did you mean 'index'?",
    "pk": "did you mean 'primary_key'?", "primary": "did you mean 'primary_key'?",
    "db_type": "did you mean 'sql_type'?", "foreign_key": "annotate the field with the model, or use 'references'",
    "db_column": "the column is named after the field: rename the field",
    "db_collation": "did you mean 'collate'?", "collation": "did you mean 'collate'?",
    "db_default": "give the field a Python default, or use 'default_sql'",
    "server_default": "give the field a Python default, or use 'default_sql'",
    "computed": "did you mean 'generated'?", "expression": "did you mean 'generated'?",
    "db_persist": "did you mean 'stored'?", "persisted": "did you mean 'stored'?", "persist": "did you mean 'stored'?",
    "virtual": "a generated column is VIRTUAL unless 'stored' is True"}  # (not keys other libraries use)


def _check_metadata(metadata: dict, where: str) -> None:
    """Field metadata is shared with other libraries, so unknown keys are
    theirs; but a near miss of ours, or Django's name for one, would silently
    lose an index or a key, and a flag set to "no" would turn it on."""
    for key, value in metadata.items():
        if key in _METADATA_STRINGS + ("default_sql",):
            if not isinstance(value, str):
                raise MigrateError(f"{where}: metadata {key!r} must be a string, not {value!r}")
            if key == "sql_type" and value == "":  # a column with no declared type, as `CREATE TABLE t (a, b)` has
                continue
            if not value.strip(_SQL_SPACES):
                raise MigrateError(f"{where}: metadata {key!r} is empty: leave it out" + (
                    " (or give \"\" for no declared type)" if key == "sql_type" else ""))
            _refuse_pasted_sql(value, f"{where}: metadata {key!r}", "the column's SQL")
            if key == "sql_type":
                _check_type_name(value, where)
        if key in _METADATA_FLAGS and not isinstance(value, bool):
            raise MigrateError(f"{where}: metadata {key!r} must be True or False, not {value!r}")
        if not isinstance(key, str) or key in _METADATA_KEYS:
            continue
        import difflib
        close = difflib.get_close_matches(key.lower(), _METADATA_KEYS, 1, 0.8)  # "UNIQUE" too
        advice = _METADATA_SPELLINGS.get(key.lower()) or (f"did you mean {close[0]!r}?" if close else None)
        if key.lower() == "null" and value is False:  # (what it asks for is already so)
            advice = "a field is NOT NULL unless its annotation is Optional[...]: remove it"
        if advice:
            raise MigrateError(f"{where}: metadata {key!r} is not one of migrate.py's: {advice}")


def _refuse_pasted_sql(text: str, what: str, into: str) -> None:
    """SQL text a model gives is pasted into the table's: a comment or a `;`
    would cut that short, an unpaired parenthesis or quote change it."""
    if any(m.group().lstrip(_SQL_SPACES)[:2] in ("--", "/*") or m.group() == ";" for m in _TOKEN.finditer(text)):
        raise MigrateError(f"{what} holds a comment or a `;` ({text!r}), which would cut {into} short: remove it")
    if unpaired := _unbalanced(text):
        raise MigrateError(f"{what} {unpaired} ({text!r}), which would change {into} around it: pair them up")


def _check_type_name(sql_type: str, where: str) -> None:
    """A declared type and nothing else, as SQLite reads it: a constraint
    after it (`INTEGER PRIMARY KEY`, `INT REFERENCES t`) or a second column
    (`VARCHAR(20), owner TEXT`) would change the table behind the models' back.
    A quoted name (`"TEXT"`) is the name (as SQLite records it)."""
    written = sql_type.strip(_SQL_SPACES).upper()  # (integer: INTEGER)
    if _declared_types(sql_type) not in ((written,), (re.sub(r'["`\[\]]', "", written),)):
        raise MigrateError(f"{where}: metadata 'sql_type' {sql_type!r} is not a type name (like VARCHAR(20) or "
                           "DECIMAL(10, 2)): give the type alone, and the rest with the field's other metadata "
                           "('primary_key', 'references', 'check', 'collate', 'default_sql') or its annotation")


@lru_cache(maxsize=None)  # (models repeat their types)
def _declared_types(sql_type: str) -> tuple[str, ...]:
    """The declared type of each column `CREATE TABLE t (c <sql_type>)` makes, upper case."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute(f"CREATE TABLE t (c {sql_type})")
        return tuple(type_.upper() for type_, in scratch.execute("SELECT type FROM pragma_table_xinfo('t')"))
    except sqlite3.Error:
        return ()
    finally:
        scratch.close()


def _is_import_time(default: object) -> bool:
    """Whether a datetime or time default is within seconds of now, with
    microseconds as the clock gives them: `datetime.now()` (or its time())
    evaluated when the class was defined, a new value on every run (Django
    warns of the same mistake, fields.W161). A time written out has none, so
    `time(0, 0)` is not taken for one at midnight; `date.today()` cannot be
    told from a date written out, so it is not checked."""
    import datetime
    if not isinstance(default, (datetime.datetime, datetime.time)) or not default.microsecond:
        return False
    try:
        if default.tzinfo is not None:
            nows = [datetime.datetime.now(default.tzinfo)]
        else:  # now() or utcnow()
            nows = [datetime.datetime.now(), datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)]
        close = datetime.timedelta(seconds=10)
        if isinstance(default, datetime.datetime):
            return any(abs(now - default) < close for now in nows)
        today, day = datetime.date.today(), datetime.timedelta(days=1)
        apart = [abs(datetime.datetime.combine(today, now.timetz()) - datetime.datetime.combine(today, default))
                 % day for now in nows]  # a time of day: within seconds of now, also across midnight
        return any(gap < close or day - gap < close for gap in apart)
    except (ValueError, TypeError, OverflowError):  # a tzinfo that gives no offset: nothing to compare
        return False


def _default_fits(annotation: object, default: object) -> bool:
    """Whether a field's Python default suits its annotation: an instance of
    it (an int also for float and Decimal, a bytearray for bytes, a member's
    value for an Enum). Types migrate.py does not map are not checked."""
    import enum
    if not isinstance(annotation, type):
        return True
    if issubclass(annotation, enum.Enum):  # (True == 1 to Python: a bool is a value only of an enum of bools)
        return isinstance(default, annotation) or any(
            default == member.value and type(default) is type(member.value) for member in annotation)
    if f"{annotation.__module__}.{annotation.__qualname__}" not in _SQL_TYPES:
        return True
    also = {float: int, bytes: bytearray}.get(annotation, int if annotation.__name__ == "Decimal" else annotation)
    if isinstance(default, bool) and annotation is not bool:  # True is an int to Python, not to a reader
        return False
    if annotation.__name__ == "date" and type(default).__name__ == "datetime":  # a datetime is a date, to Python
        return False
    return isinstance(default, (annotation, also))


def _primary_key(fields: list[_Field]) -> list[_Field]:
    marked = [f for f in fields if f.metadata.get("primary_key")]
    unmarked = next((f for f in fields if f.name == "id" and f.metadata.get("primary_key") is False), None)
    if unmarked and not marked:  # `id` is the key unless another field is
        raise MigrateError(f"model {unmarked.model} field id: primary_key=False does not stop `id` being the "
                           "primary key: mark another field primary_key=True, or rename the field")
    return marked or [f for f in fields if f.name == "id"]


def _render_model(cls: type, fields: list[_Field], keys: dict, tables: dict) -> ModelTable:
    """A model's CREATE TABLE and CREATE INDEX statements."""
    name = tables[cls]
    columns = _column_names(cls, fields)
    for f in fields:
        for key, said in (("check", "its check"), ("generated", "its generated expression")):
            if f.metadata.get(key):
                _refuse_quoted_text(f.metadata[key], columns, f"model {cls.__name__} field {f.name}: {said}")
    checks = _declared_checks(cls, tables)
    for check in checks:
        _refuse_quoted_text(check, columns, f"model {cls.__name__}: __checks__ entry {check!r}")
    pk = _checked_primary_key(cls, fields, tables)
    definitions, indexes = [], []
    for f in fields:
        is_pk = len(pk) == 1 and f is pk[0]
        definition, references = _column_sql(f, is_pk=is_pk, keys=keys, tables=tables,
                                             strict=_model_option(cls, "__strict__", tables))
        definitions.append(definition)
        if f.metadata.get("unique") and not is_pk:
            indexes.append(((f.column,), True, f"field {f.name} (unique)", None))
        elif f.metadata.get("index") or (references and f.metadata.get("index", True)
                                          and not (pk and f is pk[0])):  # a key's first column is indexed
            indexes.append(((f.column,), False, f"field {f.name} (indexed)", None))
    indexes += _declared_indexes(cls, fields, tables)
    create = render_create_table(
        name, definitions, primary_key=tuple(f.column for f in pk) if len(pk) > 1 else (),
        constraints=tuple(f"CHECK ({check})" for check in checks),
        strict=_model_option(cls, "__strict__", tables),
        without_rowid=_model_option(cls, "__without_rowid__", tables))
    return ModelTable(cls.__name__, name, create, _index_statements(cls, name, indexes),
                      _model_option(cls, "__managed__", tables))


def _column_names(cls: type, fields: list[_Field]) -> set[str]:
    """The model's column names, folded; two fields that make one column
    are refused. SQLite compares column names without case: x and X, or b
    (a key, column b_id) and b_id clash."""
    columns = {}
    for f in fields:
        other = columns.setdefault(_fold(f.column), f)
        if other is not f:
            raise MigrateError(f"model {cls.__name__}: fields {other.name} and {f.name} both make column "
                               f"{f.column} (SQLite compares names without case): rename one of them")
    return set(columns)


def _checked_primary_key(cls: type, fields: list[_Field], tables: dict) -> list[_Field]:
    """The model's primary key fields; an Optional one is refused where
    SQLite would not assign it (only a lone INTEGER key, the rowid, is)."""
    pk = _primary_key(fields)
    without_rowid = _model_option(cls, "__without_rowid__", tables)
    if without_rowid and not pk:
        raise MigrateError(f"model {cls.__name__}: __without_rowid__ needs a primary key")
    if without_rowid and any(f.nullable for f in pk):
        optional = next(f for f in pk if f.nullable)
        raise MigrateError(f"model {cls.__name__}: key {optional.name} is Optional, but a WITHOUT ROWID table never "
                           "assigns keys: make it required (and give every row one), or drop __without_rowid__")
    assigned = len(pk) == 1 and pk[0].sql_type.upper() == "INTEGER"  # the rowid alias: NULL means "assign one"
    optional = next((f for f in pk if f.nullable and (not assigned or f.target or "references" in f.metadata)),
                    None)
    parent = optional and (optional.target.__name__ if optional.target else optional.metadata.get("references"))
    if parent:
        raise MigrateError(f"model {cls.__name__}: key {optional.name} is Optional, but it points at {parent}: "
                           f"a NULL key would be a number SQLite picks (or a NULL), not a key of {parent}; "
                           "make it required")
    if optional is not None:  # SQLite's legacy: NULLs in any other key column, never equal to each other
        raise MigrateError(f"model {cls.__name__}: key {optional.name} is Optional, but SQLite assigns only a "
                           "single INTEGER key and lets any other key column hold NULL in any number of rows: "
                           "make it required (make then asks for a value for rows whose key is NULL)")
    return pk


def _index_statements(cls: type, table: str, indexes: list[tuple]) -> tuple[str, ...]:
    """CREATE INDEX for each (columns, unique, source, name) a model asks
    for, under its name or the one made of the table and columns; one
    name for two different indexes is refused (one would be lost)."""
    statements, seen = [], {}
    for columns, unique, source, given_name in indexes:
        index_name = given_name or "_".join((table,) + columns) + ("_uniq" if unique else "_idx")
        if _fold(index_name) not in seen:
            seen[_fold(index_name)] = (columns, unique, source)
            statements.append(render_create_index(index_name, table, columns, unique=unique))
        elif seen[_fold(index_name)][:2] != (columns, unique):
            raise MigrateError(f"model {cls.__name__}: {seen[_fold(index_name)][2]} and {source} would both be "
                               f"the index {index_name}; rename the field, name the index, or drop one of them")
    return tuple(statements)


def _refuse_quoted_text(sql: str, columns: set[str], what: str) -> None:
    """A "word" in double quotes that names no column (`columns`, folded) is
    text to SQLite (https://sqlite.org/quirks.html#dblquote): in a model's
    CHECK, a misspelt column's (`"prce" >= 0`) that never fails."""
    tokens = _tokenize(sql)
    for token, read in zip(tokens, _as_sqlite_reads(tokens, frozenset(columns) | _ROWID_NAMES)):
        if token.kind == "ident" and read.kind == "string":
            raise MigrateError(f"{what} says {token.text} in double quotes, which names no column of the table, so "
                               f"SQLite would read it as the text {read.text}: write {read.text} for text, or name "
                               "a column")


def _referencing_type(key_type: str, key_strict: bool, strict: bool) -> str:
    """The declared type of a column that references a key of `key_type`:
    the same ("": none, values kept as given), but for a STRICT table's ANY
    key, which keeps values as given as no type does, from a table that is
    not STRICT, where ANY is NUMERIC ('007' would be 7 and reference nothing)."""
    return "" if key_type.upper() == "ANY" and key_strict and not strict else key_type


def _column_sql(f: _Field, *, is_pk: bool, keys: dict, tables: dict, strict: bool) -> tuple[str, tuple | None]:
    """One field's column definition, and the (table, column) it references."""
    where = f"model {f.model} field {f.name}"
    sql_type, references = _field_reference(f, where, keys=keys, tables=tables, strict=strict)
    if f.metadata.get("autoincrement") and not (is_pk and sql_type.upper() == "INTEGER"):  # (as SQLite reads it)
        raise MigrateError(f"{where}: autoincrement needs an int primary key declared INTEGER, the rowid"
                           + (f" ({sql_type} is not)" if is_pk and sql_type else ""))
    default = _field_default_sql(f, sql_type, where, is_pk=is_pk)
    collate = f.metadata.get("collate")
    if collate and not re.fullmatch(r"\w+", collate):
        raise MigrateError(f"{where}: collate {collate!r} is not a collation name")
    definition = render_column(
        f.column, sql_type, notnull=not f.nullable, primary_key=is_pk,
        autoincrement=bool(f.metadata.get("autoincrement")), default=default,
        collate=collate, check=f.metadata.get("check"), references=references,
        generated=f.metadata.get("generated"), stored=bool(f.metadata.get("stored")),
        **_field_actions(f, where, references, default))
    return definition, references


def _field_reference(f: _Field, where: str, *, keys: dict, tables: dict, strict: bool) -> tuple[str, tuple | None]:
    """The field's column type, and the (table, column) it references: a
    model annotation takes its parent key's type, unless given one; a
    default that is no key of the parent is refused."""
    sql_type = f.sql_type
    if f.target is not None and "references" in f.metadata:  # one of the two would be ignored
        raise MigrateError(f"{where}: the annotation {f.target.__name__} already references that model's table: "
                           "drop metadata 'references', or annotate the field with the key's type")
    if f.target is None:
        return sql_type, _parse_reference(f.metadata["references"], where, tables, keys) \
            if "references" in f.metadata else None
    target_key = keys[f.target]
    if target_key is None:
        raise MigrateError(f"{where}: {f.target.__name__} has no single-column primary key "
                           "to reference; give it one")
    sql_type = sql_type if "sql_type" in f.metadata else \
        _referencing_type(target_key[1], _model_option(f.target, "__strict__", tables), strict)
    if strict and not sql_type:
        raise MigrateError(f"{where}: {f.target.__name__}'s primary key ({target_key[0]}) has no declared "
                           "type, and a STRICT table's column needs one: give this field \"sql_type\": \"ANY\" "
                           "(it keeps any value as given, as the key does)")
    # (as SQL: a key's type may be a UUID, a date or an enum, written as text or an integer)
    kind = {"INTEGER": r"-?\d+", "TEXT": r"'.*'"}.get(_affinity(sql_type)) if sql_type else None
    if kind and f.default not in (_NO_DEFAULT, None) and "default_sql" not in f.metadata \
            and (isinstance(f.default, bool) or not re.fullmatch(kind, _python_default(f.default, where), re.S)):
        raise MigrateError(f"{where}: default {f.default!r} is no key of {f.target.__name__}, whose "
                           f"{target_key[0]} is {target_key[1]}: give a value of its key's type, or no default")
    return sql_type, (tables[f.target], target_key[0])


def _field_default_sql(f: _Field, sql_type: str, where: str, *, is_pk: bool) -> str | None:
    """The column's DEFAULT as SQL: the field's "default_sql", or its
    Python default written as a literal (none for a key or a generated
    column); an integer SQLite would round is refused."""
    if "default_sql" in f.metadata:
        return str(f.metadata["default_sql"])
    if f.default is _NO_DEFAULT or f.default is None or is_pk or "generated" in f.metadata:
        return None
    too_big = isinstance(f.default, int) and not isinstance(f.default, bool) and not -2**63 <= f.default < 2**63
    if too_big and _affinity(sql_type) != "REAL":  # (an enum's members are checked with its type)
        raise MigrateError(f"{where}: default {f.default} is outside SQLite's 64-bit integers (SQLite would "
                           "store it as a REAL, rounded): use a smaller number, or give it as text")
    return _python_default(f.default, where)


def _field_actions(f: _Field, where: str, references: tuple | None, default: str | None) -> dict[str, str]:
    """The field's on_delete and on_update, checked as Django checks them."""
    actions = {}
    for key in ("on_delete", "on_update"):
        if key in f.metadata:
            action = " ".join(str(f.metadata[key]).upper().split())
            if not references:
                raise MigrateError(f"{where}: {key} needs a foreign key: annotate the field with a model "
                                   "(team: Team), or add metadata references (\"references\": \"team\"), or "
                                   f"drop {key}")
            if action not in _FK_ACTIONS:
                raise MigrateError(f"{where}: {key} must be one of {', '.join(_FK_ACTIONS)}, not "
                                   f"{f.metadata[key]!r}")
            if action == "SET NULL" and not f.nullable:  # Django's fields.E320
                raise MigrateError(f"{where}: {key} SET NULL needs a nullable field (Optional[...]), or the "
                                   "action fails on NOT NULL: make it Optional, or choose another action")
            if action == "SET DEFAULT" and default is None and not f.nullable:  # Django's fields.E321
                raise MigrateError(f"{where}: {key} SET DEFAULT needs a default on a NOT NULL field (without "
                                   "one it sets NULL, which fails): give the field a default, make it Optional, "
                                   "or choose another action")
            actions[key] = action
    return actions


# Control characters, and the line breaks Python's str.splitlines knows besides
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _refuse_control_characters(cls: type, what: str, name: str) -> None:
    # Names are written into migration files, where a line break would start a
    # line of its own (even a section marker), and printed by status and check.
    if _CONTROL_CHARACTER.search(name):
        raise MigrateError(f"model {cls.__name__}: {what} {name!r} holds a line break or another control "
                           "character: choose a name without one")


def _declared_indexes(cls: type, fields: list[_Field], models) -> list[tuple]:
    """`__indexes__` and `__unique__`: (columns, unique, where declared, the
    name given or None). A list's indexes get generated names, a dict's keys
    name them (to adopt a database's own names, or avoid a clash); fields may
    be named by field or column name (`question` or `question_id`)."""
    by_name = {name: f.column for f in fields for name in (f.name, f.column)}
    indexes = []
    for attribute, unique in (("__indexes__", False), ("__unique__", True)):
        entries = _model_option(cls, attribute, models)
        shape = (f"model {cls.__name__}: {attribute} must be a list of field names or of tuples of them, "
                 "or a dict of index names to those")
        if isinstance(entries, str) or not isinstance(entries, (list, tuple, dict)):
            raise MigrateError(f"{shape}, like [\"email\", (\"last\", \"first\")]")
        if isinstance(entries, tuple) and len(entries) > 1 and all(isinstance(e, str) for e in entries):
            # Django's unique_together = ("a", "b") is ONE constraint; here it would read as two
            raise MigrateError(f"model {cls.__name__}: {attribute} = {entries!r} is ambiguous: write "
                               f"[{entries!r}] for one index over them all, or {list(entries)!r} for one each")
        named = entries.items() if isinstance(entries, dict) else [(None, entry) for entry in entries]
        for given_name, entry in named:
            if given_name is not None and (not isinstance(given_name, str) or not given_name.strip()):
                raise MigrateError(f"model {cls.__name__}: {attribute} index name {given_name!r} must be a "
                                   "non-empty string")
            if given_name is not None:
                _refuse_control_characters(cls, f"{attribute} index name", given_name)
            if given_name is not None:
                _refuse_reserved(cls, f"{attribute} index name", given_name, "choose another name")
            columns = (entry,) if isinstance(entry, str) else entry
            if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
                raise MigrateError(f"{shape}, not {entry!r}")
            if not columns:
                raise MigrateError(f"model {cls.__name__}: {attribute} has an index over no field: name its fields, "
                                   "or remove it")
            twice = next((c for i, c in enumerate(columns) if by_name.get(c, c) in
                          [by_name.get(o, o) for o in columns[:i]]), None)
            if twice is not None:
                raise MigrateError(f"model {cls.__name__}: {attribute} names field {twice} twice in one index "
                                   f"{tuple(columns)!r}: name it once")
            unknown = [c for c in columns if c not in by_name]
            if unknown:
                raise MigrateError(f"model {cls.__name__}: {attribute} names unknown field {', '.join(unknown)}")
            source = f"{attribute} {given_name + ': ' if given_name else ''}{tuple(columns)!r}"
            indexes.append((tuple(by_name[c] for c in columns), unique, source, given_name))
    return indexes


def _declared_checks(cls: type, models) -> list[str]:
    """`__checks__`: the table's CHECK constraints, SQL expressions that may
    read every column (Django's CheckConstraint, SQLAlchemy's table-level
    CheckConstraint)."""
    checks = _model_option(cls, "__checks__", models)
    if isinstance(checks, str) or not isinstance(checks, (list, tuple)) \
            or not all(isinstance(check, str) for check in checks):
        raise MigrateError(f"model {cls.__name__}: __checks__ must be a list of SQL expressions, like "
                           f"[\"start <= stop\"], not {checks!r}")
    for check in checks:
        if not check.strip(_SQL_SPACES):
            raise MigrateError(f"model {cls.__name__}: __checks__ holds an empty expression: remove it")
        _refuse_pasted_sql(check, f"model {cls.__name__}: __checks__ entry", "the table's SQL")
    return list(checks)


def _parse_reference(reference: object, where: str, tables: dict, keys: dict) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([^()]+?)\s*(?:\(\s*([^()]+?)\s*\))?\s*", str(reference))
    if not match:
        raise MigrateError(f"{where}: references {reference!r} must look like 'table' or 'table(column)'")
    table, column = match.groups()
    model = next((m for m, t in tables.items() if _fold(t) == _fold(table)), None)
    if model is None:
        raise MigrateError(f"{where}: references unknown table {table!r}; "
                           "it must be the table of a model in the same module")
    if column is None:
        if keys[model] is None:
            raise MigrateError(f"{where}: table {table} has no single-column primary key; "
                               "write references='table(column)'")
        column = keys[model][0]
    return tables[model], column


def model_tables(module) -> list[ModelTable]:
    """Render every model in `module` to CREATE TABLE / CREATE INDEX SQL."""
    classes = model_classes(module)
    by_name = {cls.__name__: cls for cls in classes}
    tables, by_table = {}, {}
    for cls in classes:
        _refuse_unknown_options(cls)
        name = table_name_for(cls)
        if not isinstance(name, str) or not name.strip():
            raise MigrateError(f"model {cls.__name__}: __tablename__ must be a non-empty string")
        _refuse_control_characters(cls, "__tablename__", name)
        clash = by_table.setdefault(_fold(name), cls)
        if clash is not cls:
            raise MigrateError(f"models {clash.__name__} and {cls.__name__} both map to table {name}; "
                               "set a different __tablename__ on one of them")
        _refuse_reserved(cls, "table name", name, "set __tablename__")
        tables[cls] = name
    fields = {cls: _model_fields(cls, by_name) for cls in classes}
    for cls, found in fields.items():
        if not found:  # SQLite has no table without columns
            raise MigrateError(f"model {cls.__name__} has no fields: annotate at least one (a ClassVar is no "
                               "field), or prefix the class name with _ if it is no table")
    single_keys = {cls: pk[0] for cls in classes for pk in [_primary_key(fields[cls])] if len(pk) == 1}
    def given(key) -> bool:  # its own type ("": no declared type, as given), not its target's
        return bool(key.sql_type) or "sql_type" in key.metadata
    keys = {cls: (single_keys[cls].column, single_keys[cls].sql_type if given(single_keys[cls]) else "INTEGER")
            if cls in single_keys else None for cls in classes}
    chained = [(cls, key) for cls, key in single_keys.items() if key.target is not None and not given(key)]
    strict = {cls: _model_option(cls, "__strict__", tables) for cls in classes}
    for _ in chained:  # a key that is itself a foreign key takes its target's type, along any chain
        typed = {cls: (key.column, _referencing_type(keys[key.target][1], strict[key.target], strict[cls]))
                 for cls, key in chained if keys[key.target]}
        if all(keys[cls] == key for cls, key in typed.items()):
            break
        keys.update(typed)
    return [_render_model(cls, fields[cls], keys, tables) for cls in classes]


def _check_utf8(text: str, where: str, fix: str) -> None:
    """A lone surrogate (a byte that was not UTF-8, kept by Python) cannot
    reach SQLite: say so rather than fail there (how depends on the Python)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MigrateError(f"{where}: {exc.object[max(0, exc.start - 30):exc.end + 30]!r} is not valid UTF-8 "
                           f"text ({exc.reason}): {fix}") from None


def _scratch_database() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None)


def _dataclasses_in(module) -> list[tuple[str, type]]:
    """The dataclasses a module holds, by their names there, its own and
    those it imports (not make_dataclass's, of module "types" before Python
    3.12, which model_classes counts)."""
    import dataclasses
    return [(name, obj) for name, obj in vars(module).items() if isinstance(obj, type)
            and dataclasses.is_dataclass(obj) and obj.__module__ != "types"]


def _models_module(models: str):
    """load_models, refusing a package without models (`app` where
    `app.models` was meant), or a models file whose dataclasses are all
    imported (the models moved: `from app.models import *`): against it,
    every table would read as dropped. (A file left with only bases of its
    own is taken at its word: `make` lists each table it drops; one without
    any dataclass is refused by `make` when it would drop tables.)"""
    module = load_models(models)
    if model_classes(module):
        return module
    if hasattr(module, "__path__"):
        raise MigrateError(f"{models} is a package that defines no dataclass model: pass the module that defines "
                           f"them (--models {models}.models?)")
    found = _dataclasses_in(module)
    imported = [(name, obj) for name, obj in found if obj.__module__ != module.__name__]
    homes = sorted({obj.__module__ for name, obj in imported if not name.startswith("_")  # where tables are
                    and not obj.__name__.startswith("_") and not obj.__dict__.get("__abstract__", False)})
    if homes:
        raise MigrateError(f"models file {models} defines no model: its dataclasses are imported from "
                           f"{', '.join(homes)}, and only those defined in the models module are models: pass "
                           f"--models {homes[0]}")
    if imported and len(imported) == len(found):
        raise MigrateError(f"models file {models} defines no model: it only imports dataclasses (from "
                           f"{', '.join(sorted({obj.__module__ for _, obj in imported}))}) that are no tables: pass "
                           "--models with the module that defines the models")
    return module


# ============================================================================
# Database -> Schema
# ============================================================================

def _errors(conn) -> tuple:
    """What a connection raises when SQL fails: sqlite3.Error, or for other
    DB-API drivers with sqlite3 semantics (libsql raises ValueError) anything."""
    return (sqlite3.Error,) if isinstance(conn, sqlite3.Connection) else (Exception,)


# The tables FTS3/4/5 and R*Tree keep their data in, named after the virtual table
_SHADOW_SUFFIXES = ("_content", "_data", "_idx", "_docsize", "_config", "_segments", "_segdir", "_stat",
                    "_node", "_rowid", "_parent")


def _shadow_tables(conn, virtual: list[str]) -> set[str]:
    """The virtual tables' shadow tables: as SQLite 3.37+ reports them (PRAGMA
    table_list), else by the names FTS and R*Tree give them. Not by prefix:
    `search_history` is no shadow of `search`."""
    try:
        return {_fold(name) for name, kind in conn.execute(
            "SELECT name, type FROM pragma_table_list WHERE schema = 'main'").fetchall() if kind == "shadow"}
    except _errors(conn):  # older SQLite, or rqlite
        return {_fold(v + suffix) for v in virtual for suffix in _SHADOW_SUFFIXES}


# What the PRAGMAs say of a table follows from its CREATE TABLE text and its
# indexes' alone, and `make` reads the same tables up to six times (the replay,
# the models, each check), so each distinct table is asked once per process.
# The connection's type is in the key: rqlite's SQLite is not ours.
_TABLES_READ: dict[tuple, Table] = {}


def _remember_table(key: tuple, table: Table) -> Table:
    if len(_TABLES_READ) >= 10_000:  # a long-lived process reading many schemas stays bounded
        _TABLES_READ.clear()
    _TABLES_READ[key] = table
    return table


@contextmanager
def _plain_rows(conn: sqlite3.Connection):
    factories = conn.row_factory, conn.text_factory
    conn.row_factory, conn.text_factory = None, str
    try:
        yield
    finally:
        conn.row_factory, conn.text_factory = factories


_VIRTUAL_TABLE = re.compile(r"\s*CREATE\s+VIRTUAL\b", re.I)


def _refuse_no_connection(conn, function: str) -> None:
    if not hasattr(conn, "execute"):
        raise MigrateError(f"{function} takes an open connection, such as sqlite3.connect(path), not "
                           f"{type(conn).__name__} {conn!r} (dump_schema takes a path)")


def read_schema(conn) -> Schema:
    """Introspect a connection's main database: tables (with columns, keys,
    indexes), views and triggers, skipping SQLite's own and our bookkeeping."""
    _refuse_no_connection(conn, "read_schema")
    if isinstance(conn, sqlite3.Connection) and (conn.row_factory is not None or conn.text_factory is not str):
        with _plain_rows(conn):  # the caller's factories: rows as tuples of str while we read
            return read_schema(conn)
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "WHERE sql IS NOT NULL ORDER BY rowid").fetchall()
    virtual = [name for kind, name, _, sql in rows if kind == "table" and _VIRTUAL_TABLE.match(sql)]
    shadow = _shadow_tables(conn, virtual) if virtual else set()
    tables, views, triggers = [], [], []
    others = [SchemaObject("virtual table", name, name, sql) for kind, name, _, sql in rows if name in virtual]
    index_sql = {_fold(name): sql for kind, name, _, sql in rows if kind == "index"}
    indexes_of = {}
    for kind, name, table_name, sql in rows:
        if kind == "index":
            indexes_of.setdefault(_fold(table_name), []).append((name, sql))
    for kind, name, table_name, sql in rows:
        if _ignored(name) or (kind != "view" and _ignored(table_name)):
            continue
        if kind == "table" and name not in virtual:
            if not shadow or _fold(name) not in shadow:
                key = (type(conn), name, sql, tuple(indexes_of.get(_fold(name), ())))
                tables.append(_TABLES_READ.get(key) or _remember_table(key, _read_table(conn, name, sql, index_sql)))
        elif kind == "view":
            views.append(SchemaObject("view", name, table_name, sql))
        elif kind == "trigger":
            triggers.append(SchemaObject("trigger", name, table_name, sql))
    tables = _resolve_implicit_references(tables)
    return Schema(tuple(sorted(tables, key=lambda t: _fold(t.name))), tuple(views),
                  tuple(triggers), tuple(others))


def _read_table(conn, name: str, sql: str, index_sql: dict) -> Table:
    """One table as SQLite reports it (table_xinfo, index_list, foreign_key_list),
    with the few facts only its CREATE text holds (CHECK, COLLATE...)."""
    parsed = _parse_create_table(sql)
    columns, pk = [], []
    # main: a TEMP table may share the name
    column_rows = conn.execute(f"PRAGMA main.table_xinfo({quote(name)})").fetchall()
    names = _ROWID_NAMES | {_fold(row[1]) for row in column_rows}
    for _, col_name, col_type, notnull, default, pk_position, hidden in column_rows:
        extra = parsed["columns"].get(_fold(col_name), {})
        if default is not None and default.upper() == "NULL":
            default = None
        columns.append(Column(col_name, col_type, bool(notnull), default, extra.get("collate"),
                              extra.get("check"), extra.get("generated"), extra.get("definition", "")))
        if pk_position:
            pk.append((pk_position, col_name))
    primary_key = tuple(n for _, n in sorted(pk))
    fks = {}
    for fk_id, _, parent, source, to, on_update, on_delete, _ in conn.execute(
            f"PRAGMA main.foreign_key_list({quote(name)})").fetchall():
        fks.setdefault(fk_id, []).append((source, to, parent, on_delete, on_update))
    foreign_keys = tuple(ForeignKey(tuple(p[0] for p in parts), parts[0][2],
                                    tuple(p[1] for p in parts if p[1] is not None),
                                    parts[0][3], parts[0][4]) for _, parts in sorted(fks.items()))
    unique, indexes = [], []
    for _, index_name, is_unique, origin, _ in conn.execute(f"PRAGMA main.index_list({quote(name)})").fetchall():
        if origin == "u":
            info = conn.execute(f"PRAGMA main.index_info({quote(index_name)})").fetchall()
            unique.append(tuple(r[2] for r in info))
        elif origin == "c":
            indexes.append(Index(index_name, name, bool(is_unique), index_sql[_fold(index_name)], names))
    table = Table(name, sql, tuple(columns), primary_key, foreign_keys,
                  tuple(sorted(unique)), tuple(parsed["checks"]),
                  tuple(sorted(indexes, key=lambda i: _fold(i.name))),
                  parsed["autoincrement"], parsed["strict"], parsed["without_rowid"])
    alias = table.rowid_alias
    if alias:  # the rowid is never NULL, whatever was declared
        table = replace(table, columns=tuple(replace(c, notnull=True) if c.name == alias else c
                                             for c in table.columns))
    return table


def _resolve_implicit_references(tables: list[Table]) -> list[Table]:
    """`REFERENCES parent` without columns means the parent's primary key."""
    by_name = {_fold(t.name): t for t in tables}
    resolved = []
    for table in tables:
        if all(fk.to for fk in table.foreign_keys):  # (most tables: kept as read, with what they cached)
            resolved.append(table)
            continue
        fks = []
        for fk in table.foreign_keys:
            parent = by_name.get(_fold(fk.table))
            if not fk.to and parent is not None and parent.primary_key:
                fk = replace(fk, to=parent.primary_key)
            fks.append(fk)
        resolved.append(replace(table, foreign_keys=tuple(fks)))
    return resolved


def _parse_create_table(sql: str, names: frozenset[str] | None = None) -> dict:
    """The facts of a CREATE TABLE that no PRAGMA reports; a "word" in
    double quotes in its CHECKs and generated columns is read as SQLite
    does where `names` (by default its columns) are the names in scope."""
    tokens = _tokenize(sql)
    items, options = _definition_items(tokens)
    result = {"columns": {}, "checks": [], "autoincrement": False,
              "strict": "STRICT" in options, "without_rowid": "ROWID" in options}
    constraint = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")  # (what else starts a column)
    if names is None:
        names = _ROWID_NAMES | {_fold(_unquote(item[0].text)) for item in items if item[0].upper not in constraint}
    for item in items:
        if item[0].upper in constraint:
            result["checks"].extend(_canonical(_plain(_as_sqlite_reads(_unwrapped(expression), names)))
                                    for expression in _constraint_checks(item))
        else:
            facts = _column_facts(item, sql, names)
            facts["definition"] = sql[item[0].start:item[-1].end]
            result["autoincrement"] |= facts.pop("autoincrement")
            result["columns"][_fold(_unquote(item[0].text))] = facts
    return result


def _definition_items(tokens: list[_Token]) -> tuple[list[list[_Token]], set[str]]:
    """A CREATE TABLE's column definitions and table constraints, split at
    its top-level commas; and the table options after them (upper case)."""
    open_at = next(i for i, t in enumerate(tokens) if t.text == "(")
    close_at = _matching_paren(tokens, open_at)
    items, start, depth = [], open_at + 1, 0
    for i in range(open_at + 1, close_at):
        depth += {"(": 1, ")": -1}.get(tokens[i].text, 0)
        if tokens[i].text == "," and depth == 0:
            items.append(tokens[start:i])
            start = i + 1
    items.append(tokens[start:close_at])
    return [item for item in items if item], {t.upper for t in tokens[close_at + 1:]}


def _constraint_checks(item: list[_Token]) -> list[list[_Token]]:
    """The expressions of the CHECKs in a table constraint's tokens."""
    checks, i = [], 0
    while i < len(item):
        if item[i].upper == "CHECK" and i + 1 < len(item) and item[i + 1].text == "(":
            end = _matching_paren(item, i + 1)
            checks.append(item[i + 2:end])
            i = end
        elif item[i].text == "(":
            i = _matching_paren(item, i)
        i += 1
    return checks


def _text_as_sqlite_reads(sql: str, tokens: list[_Token], names: frozenset[str]) -> str:
    """The text of `tokens`, a run of those of `sql`, with its spacing and
    comments, as SQLite reads it (_as_sqlite_reads)."""
    parts, at = [], tokens[0].start
    for written, read in zip(tokens, _as_sqlite_reads(tokens, names)):
        parts += [sql[at:written.start], read.text]
        at = written.end
    return "".join(parts)


def _column_facts(item: list[_Token], sql: str, names: frozenset[str]) -> dict:
    """A column's COLLATE, CHECK, generated expression and AUTOINCREMENT,
    its expressions as SQLite reads them where `names` are its table's
    columns (_as_sqlite_reads)."""
    facts = {"collate": None, "check": None, "generated": None, "autoincrement": False}
    i = 1
    while i < len(item):
        word = item[i].upper
        if word == "COLLATE" and i + 1 < len(item):
            facts["collate"] = _unquote(item[i + 1].text)
            i += 1
        elif word in ("CHECK", "AS") and i + 1 < len(item) and item[i + 1].text == "(":
            end = _matching_paren(item, i + 1)
            if word == "CHECK":  # for messages, as SQLite reads it ("text" as 'text'); compared by canonical_sql
                written = _text_as_sqlite_reads(sql, item[i + 2:end], names) if end > i + 2 else ""
                facts["check"] = " AND ".join(([facts["check"]] if facts["check"] else []) + [written])
            else:
                stored = end + 1 < len(item) and item[end + 1].upper == "STORED"
                expression = _canonical(_plain(_as_sqlite_reads(item[i + 2:end], names)))
                facts["generated"] = ("STORED " if stored else "VIRTUAL ") + expression
            i = end
        elif word == "AUTOINCREMENT":
            facts["autoincrement"] = True
        elif item[i].text == "(":
            i = _matching_paren(item, i)
        i += 1
    return facts


def _reads_otherwise(sql: str, columns: frozenset[str], added: set[str]) -> bool:
    """Whether a CREATE TABLE's CHECKs and generated columns of `columns`
    (its own, folded) read otherwise once the `added` ones join them: a
    "word" in double quotes among those, text until then."""
    if not any(t.text[:1] == '"' and _fold(_unquote(t.text)) in added for t in _tokens(sql)):
        return False
    as_text, as_column = _parse_create_table(sql, columns), _parse_create_table(sql, columns | added)
    return as_text["checks"] != as_column["checks"] or any(
        as_text["columns"].get(c) != as_column["columns"].get(c) for c in columns)


def _quoted_word(sql: str, words: set[str]) -> str:
    """The first of `words` (folded) that `sql` spells in double quotes, as spelled."""
    return next((_unquote(t.text) for t in _tokens(sql) if t.text[:1] == '"' and _fold(_unquote(t.text)) in words),
                sorted(words)[0])


def _dependency_order(tables: list[Table]) -> list[Table]:
    """Parents before children (self references and cycles do not block)."""
    pending = {_fold(t.name): t for t in sorted(tables, key=lambda t: _fold(t.name))}
    ordered = []
    while pending:
        ready = [k for k, t in pending.items()
                 if not any(_fold(fk.table) in pending and _fold(fk.table) != k
                            for fk in t.foreign_keys)]
        for key in ready or [next(iter(pending))]:
            ordered.append(pending.pop(key))
    return ordered


def schema_statements(conn) -> list[str]:
    """SQL that recreates the connection's schema (not its rows): tables,
    parents first, then indexes, virtual tables, views and triggers."""
    _refuse_no_connection(conn, "schema_statements")
    schema = read_schema(conn)
    tables = _dependency_order(list(schema.tables))
    return ([t.sql for t in tables] + [i.sql for t in tables for i in t.indexes] + [o.sql for o in schema.others]
            + [v.sql for v in schema.views] + [t.sql for t in schema.triggers])


def schema_from_models(module) -> tuple[Schema, set[str]]:
    """The schema the models describe, as SQLite reports it after running
    their DDL in a scratch database; and the names of unmanaged tables."""
    tables = model_tables(module)
    scratch = _scratch_database()
    owners = {}  # tables and indexes share one namespace: whose name is it
    for table in tables:
        for sql in (table.create_sql,) + table.index_sqls:
            try:
                _check_utf8(sql, f"model {table.model}", "fix it in the model")
                scratch.execute(sql)
                if sql is table.create_sql and " GENERATED ALWAYS AS (" in sql:  # a loop shows once it is read
                    scratch.execute(f"SELECT * FROM {quote(table.name)}")
            except MigrateError:
                scratch.close()
                raise
            except sqlite3.Error as exc:
                scratch.close()
                taken = re.search(r"(?:named |^(?:index|table) )(\S+)", str(exc))
                owner = owners.get(_fold(taken.group(1))) if taken else None
                hint = (f" (model {owner} made that name: rename a field or an index, or set __tablename__)"
                        if owner else " (a STRICT table's columns take INT, INTEGER, REAL, TEXT, BLOB or ANY: give "
                        "one as the field's \"sql_type\")" if "unknown datatype" in str(exc) else "")
                raise MigrateError(f"model {table.model}: SQLite rejects its table: {exc}{hint} "
                                   f"(generated SQL: {_shorten(sql, 300)})") from None
        for (name,) in scratch.execute("SELECT name FROM sqlite_master WHERE tbl_name = ?", (table.name,)):
            owners.setdefault(_fold(name), table.model)  # the table and its indexes
    unmanaged = {_fold(t.name) for t in tables if not t.managed}
    try:
        for table in tables:
            _check_parent_keys(scratch, table)
        return read_schema(scratch), unmanaged
    finally:
        scratch.close()


def _check_parent_keys(scratch: sqlite3.Connection, table: ModelTable) -> None:
    """A foreign key must point at its parent's primary key or UNIQUE columns;
    otherwise every write fails later with "foreign key mismatch". SQLite
    checks that even on empty tables."""
    try:
        scratch.execute(f"PRAGMA foreign_key_check({quote(table.name)})").fetchall()
    except sqlite3.Error as exc:  # "foreign key mismatch - "child" referencing "parent""
        references = scratch.execute(f"PRAGMA foreign_key_list({quote(table.name)})").fetchall()
        failing = [(parent, source, to) for _, _, parent, source, to, *_ in references
                   if quote(parent) in str(exc)]  # (SQLite doubles a '"' in the name it shows)
        keys = [f"{source} -> {parent}({to or 'its primary key'})" for parent, source, to in failing]
        keyless = next(((parent, to) for parent, _, to in failing if to and not any(
            row[5] for row in scratch.execute(f"PRAGMA table_info({quote(parent)})"))), None)
        fix = (f"{keyless[0]} has no primary key: mark its field {keyless[1]} \"primary_key\": True (only a field "
               "named id, in lower case, is one without saying), or mark it unique" if keyless else
               "reference those, or mark the target field unique")
        raise MigrateError(f"model {table.model}: field {', '.join(keys)} must point at the primary key or "
                           f"at UNIQUE columns of its table ({exc}): {fix}") from None


# ============================================================================
# Diff -> operations
# ============================================================================
# The recipe, in the order that makes it correct (as Django's autodetector):
# renames first (asked, never guessed), executed so that SQLite itself rewrites
# every reference; then drops of removed tables (children first), creations of
# new tables (parents first), and finally one AlterTable per changed table that
# becomes either native ALTER statements or a single rebuild.

@dataclass(frozen=True)
class CreateTable:
    """Create a table with its indexes (and, as a revert, the triggers it had)."""
    table: Table
    triggers: tuple[SchemaObject, ...] = ()

    def describe(self) -> list[str]:
        return [f"+ Create table {self.table.name}"]

    def sql(self, schema: Schema) -> list[str]:
        return ([self.table.sql] + [i.sql for i in self.table.indexes]
                + [t.sql for t in self.triggers])

    def reverse(self, schema: Schema) -> DropTable:
        return DropTable(self.table.name)


@dataclass(frozen=True)
class DropTable:
    """Drop a table and its rows; its reverse creates it again from the schema before."""
    name: str

    def describe(self) -> list[str]:
        return [f"- Drop table {self.name}"]

    def sql(self, schema: Schema) -> list[str]:
        return [_comment(f"WARNING: drops table {self.name} and its rows") + f"\nDROP TABLE {quote(self.name)}"]

    def reverse(self, schema: Schema) -> CreateTable:
        table = schema.table(self.name)
        return CreateTable(table, tuple(t for t in schema.triggers
                                        if _fold(t.table) == _fold(self.name)))


@dataclass(frozen=True)
class RenameTable:
    """ALTER TABLE ... RENAME TO: SQLite updates the foreign keys, views and triggers naming it."""
    old: str
    new: str

    def describe(self) -> list[str]:
        return [f"~ Rename table {self.old} to {self.new}"]

    def sql(self, schema: Schema) -> list[str]:
        return [f"ALTER TABLE {quote(self.old)} RENAME TO {quote(self.new)}"]

    def reverse(self, schema: Schema) -> RenameTable:
        return RenameTable(self.new, self.old)


@dataclass(frozen=True)
class RenameColumn:
    """ALTER TABLE ... RENAME COLUMN: SQLite updates the indexes, views and triggers naming it."""
    table: str
    old: str
    new: str

    def describe(self) -> list[str]:
        return [f"~ Rename column {self.table}.{self.old} to {self.new}"]

    def sql(self, schema: Schema) -> list[str]:
        return [f"ALTER TABLE {quote(self.table)} RENAME COLUMN {quote(self.old)} TO {quote(self.new)}"]

    def reverse(self, schema: Schema) -> RenameColumn:
        return RenameColumn(self.table, self.new, self.old)


@dataclass(frozen=True)
class AlterTable:
    """Everything that changes in one table: native statements when SQLite
    allows them, else one rebuild. `fills` gives existing rows a value for
    columns that become NOT NULL; `reverse_fills` does the same for the down."""
    before: Table
    after: Table
    fills: dict = field(default_factory=dict)
    reverse_fills: dict = field(default_factory=dict)
    undoes_rebuild: bool = False

    def describe(self) -> list[str]:
        return _describe_changes(self.before, self.after)

    def sql(self, schema: Schema) -> list[str]:
        before = schema.table(self.after.name)
        reasons = self._rebuild_reasons(schema)
        if reasons:
            return _rebuild_sql(schema, before, self.after, self.fills, reasons)
        return _native_alter_sql(before, self.after)

    def reverse(self, schema: Schema) -> AlterTable:
        # The inverse of a rebuild is a rebuild: it restores the table's SQL
        # exactly, column order included, where ADD COLUMN would append.
        return AlterTable(self.after, schema.table(self.after.name), self.reverse_fills,
                          self.fills, undoes_rebuild=bool(self._rebuild_reasons(schema)))

    def _rebuild_reasons(self, schema: Schema) -> list[str]:
        reasons = _rebuild_reasons(schema.table(self.after.name), self.after, schema)
        if self.undoes_rebuild and not reasons:
            reasons = ["restores the table exactly as it was before a rebuild"]
        return reasons


_ASKED_AT_MOST = 5  # times a question is asked again: a rename after neither y nor n, a one-off value that fails


class Questioner:
    """Answers the questions `make` has to ask: renames and one-off values.

    `renames` holds answers given in advance ("question.text=question_text",
    "old_table=new_table"), `defaults` one-off SQL values ("question.author":
    "''"). `prompt(question) -> str` asks a person; without it nothing is
    guessed: no rename, no value."""

    def __init__(self, *, renames=(), defaults=None, prompt=None):
        from collections.abc import Iterable, Mapping
        answers = list(renames) if isinstance(renames, Iterable) and not isinstance(renames, (str, bytes)) else None
        if answers is None or not all(isinstance(answer, str) for answer in answers):
            raise MigrateError(f"renames must be a list of strings like 'table.old=new', not {renames!r}")
        if defaults is not None and (not isinstance(defaults, Mapping) or not all(
                isinstance(item, str) for pair in defaults.items() for item in pair)):
            raise MigrateError("defaults must be a dict of 'table.column' to an SQL value as a string, "
                               f"like {{'question.author': \"''\"}}, not {defaults!r}")
        if prompt is not None and not callable(prompt):
            raise MigrateError(f"prompt must be a function or None, not {type(prompt).__name__}")
        self.renames = {}
        for answer in answers:
            old, new = self._rename_answer(answer)
            if _fold(old) in self.renames:
                raise MigrateError(f"--rename {old} is given twice: keep one")
            self.renames[_fold(old)] = _fold(new)
        self.renames_used = set()
        self.defaults = {_fold(k): v for k, v in (defaults or {}).items()}
        if len(self.defaults) < len(defaults or {}):
            raise MigrateError(f"defaults name a column twice (names compare case-insensitively): {defaults!r}")
        self.prompt = prompt

    @staticmethod
    def _rename_answer(answer: str) -> tuple[str, str]:
        """(old, new) of "table.old=new", also "table.old=table.new" as make
        asks it, or "old_table=new_table"."""
        old, sep, new = (part.strip() for part in answer.partition("="))
        table, dot, _ = old.rpartition(".")
        if dot and _fold(new).startswith(_fold(table) + "."):  # post.body=post.content
            new = new[len(table) + 1:].strip()
        if not sep or not old or not new:
            raise MigrateError(f"--rename {answer!r} must look like table.old=new or old_table=new_table")
        return old, new

    def is_rename(self, table: str, old: str, new: str, *, old_table: str = "") -> bool:
        """Was `old` (a table, or a column of `table`, once `old_table`)
        renamed to `new`?"""
        keys = [f"{t}.{old}" for t in (table, old_table) if t] if table else [old]
        for key in keys:
            if _fold(key) in self.renames:
                if self.renames[_fold(key)] != _fold(new):
                    return False
                self.renames_used.add(_fold(key))
                return True
        if self.prompt is None:
            return False
        shown = f"{table}.{old} to {table}.{new}" if table else f"table {old} to {new}"
        question = f"Did you rename {shown}? [y/N] "
        for _ in range(_ASKED_AT_MOST):  # "No" drops and adds: a typo must not choose it (Django asks again too)
            answer = self._answer(question).lower()
            if answer in ("y", "yes", "n", "no", ""):
                return answer in ("y", "yes")
            question = f"Please answer y or n. Did you rename {shown}? [y/N] "
        raise MigrateError(f"no y or n in {_ASKED_AT_MOST} answers to \"Did you rename {shown}?\": answer y or n "
                           "(or pass --rename); nothing was written")

    def _answer(self, question: str) -> str:
        """The prompt's answer, stripped: text, or make stops (a prompt of the
        library's caller may return None, or raise EOFError as input() does)."""
        try:
            answer = self.prompt(question)
        except EOFError:
            raise MigrateError("no answer (end of input): nothing was written") from None
        if not isinstance(answer, str):
            raise MigrateError(f"the prompt answered {answer!r}, not text, to {question.strip()!r}: nothing was "
                               "written")
        return answer.strip()

    def check_renames_used(self, *schemas: Schema) -> None:
        """A rename answer that matched nothing is a typo: without it the
        column would be dropped and added, its data lost. A foreign key named
        by its field (`player.team`) is a column `team_id` in `schemas`."""
        for old, new in self.renames.items():
            if old in self.renames_used:
                continue
            table, dot, column = old.rpartition(".")
            if dot and any(s.table(table) and s.table(table).column(column + "_id") for s in schemas):
                raise MigrateError(f"--rename {old}={new} matches no table or column that the models remove "
                                   "and add: a foreign key field is renamed by its columns: pass --rename "
                                   f"{old}_id={new}_id; nothing was written")
            has = [self._has_names(schema, old, new) for schema in schemas[:2]]
            new_name, old_name = (f"{table}.{new}", column) if dot else (new, old)
            if has[0] == (False, True) and has[1] == (True, False):  # (the models have old: new=old was meant)
                raise MigrateError(f"--rename {old}={new} matches no table or column that the models remove and "
                                   f"add: the migrations have {new_name} and the models {old}, so the answer is "
                                   f"the other way round: pass --rename {new_name}={old_name}; nothing was written")
            if has[0] == has[1] == (False, True):
                raise MigrateError(f"--rename {old}={new} matches no table or column that the models remove and "
                                   f"add: the migrations have {new_name} already, and no {old}: if the latest "
                                   "migration drops one and adds the other, delete it and make it again with this "
                                   "--rename; nothing was written")
            raise MigrateError(f"--rename {old}={new} matches no table or column that the models remove "
                               "and add: check the spelling (table.old=new or old_table=new_table); "
                               "nothing was written")

    @staticmethod
    def _has_names(schema: Schema, old: str, new: str) -> tuple[bool, bool]:
        """Whether the schema has the old name and the new one of a rename
        answer (`table.column=new`, or `table=new`)."""
        table, dot, column = old.rpartition(".")
        if not dot:
            return schema.table(old) is not None, schema.table(new) is not None
        there = schema.table(table)
        return there is not None and there.column(column) is not None, \
            there is not None and there.column(new) is not None

    def check_defaults_known(self, *schemas: Schema) -> None:
        """A one-off value for a column that no schema has is a typo."""
        for key, value in self.defaults.items():
            splits = [(key[:i], key[i + 1:]) for i, char in enumerate(key) if char == "."]  # names may hold dots
            if not any(s.table(table) and s.table(table).column(column) for s in schemas for table, column in splits):
                raise MigrateError(f"--default {key}={value} names no column of the models or the migrations: "
                                   "check the spelling (table.column=SQL); nothing was written")

    def check_defaults_used(self, operations: list) -> None:
        """A one-off value no row needs (the column keeps its NOT NULL, or
        is not changed at all) would be ignored: say so rather than seem to
        have done something."""
        used = {f"{_fold(table.name)}.{column}" for operation in operations if isinstance(operation, AlterTable)
                for table, fills in ((operation.after, operation.fills), (operation.before, operation.reverse_fills))
                for column in fills}
        renamed = {_fold(op.old): op.new for op in operations if isinstance(op, RenameTable)}
        for key, value in self.defaults.items():
            if key in used:
                continue
            table, _, column = key.rpartition(".")
            if f"{_fold(renamed.get(table, ''))}.{column}" in used:
                raise MigrateError(f"--default {key}={value}: the table is renamed in this migration: name it "
                                   f"by its new name, {renamed[table]}.{column}; nothing was written")
            raise MigrateError(f"--default {key}={value} is not used: no rows of that column need a value in "
                               "this migration (it neither becomes NOT NULL nor is a NOT NULL column dropped: a "
                               "nullable one comes back with its default or NULL); drop the "
                               "--default; nothing was written")

    def fill(self, table: str, column: str, reason: str, problem=lambda value: None, example: str = "0") -> str | None:
        """A one-off SQL value for the existing rows of table.column. An
        answer at the prompt that `problem(answer)` finds fault with is asked
        for again, as Django does; a value given in `defaults` is not."""
        key = _fold(f"{table}.{column}")
        if key in self.defaults:
            return self.defaults[key]
        if self.prompt is None:
            return None
        question = (f"{table}.{column} {reason}: existing rows need a value.\n"
                    f"Enter a one-off SQL value for them (e.g. {example}), or leave empty to stop: ")
        for _ in range(_ASKED_AT_MOST):
            answer = self._answer(question)
            found = problem(answer) if answer else None
            if found is None:
                return answer or None
            question = f"That value {found}.\nEnter a one-off SQL value for {table}.{column}, or leave empty to stop: "
        raise MigrateError(f"no usable one-off value for {table}.{column} in {_ASKED_AT_MOST} answers (the last, "
                           f"{answer!r}, {found}): pass --default {table}.{column}=SQL; nothing was written")


def _managed_tables(schema: Schema, unmanaged: frozenset) -> dict[str, Table]:
    """The schema's tables by folded name, but for the `unmanaged` ones (folded names)."""
    return {_fold(t.name): t for t in schema.tables if _fold(t.name) not in unmanaged}


def plan_renames(old: Schema, new: Schema, questioner: Questioner, *,
                 unmanaged: frozenset = frozenset()) -> list:
    """Ask about every removed/added pair of tables, then of columns."""
    old_tables, new_tables = _managed_tables(old, unmanaged), _managed_tables(new, unmanaged)
    removed = [t for k, t in old_tables.items() if k not in new_tables]
    added = [t for k, t in new_tables.items() if k not in old_tables]
    operations, pairs = [], [(old_tables[k], t) for k, t in new_tables.items() if k in old_tables]
    for before in removed:
        for after in added:
            if questioner.is_rename("", before.name, after.name):
                operations.append(RenameTable(before.name, after.name))
                pairs.append((before, after))
                added.remove(after)
                break
    for before, after in sorted(pairs, key=lambda p: _fold(p[1].name)):
        gone = [c for c in before.columns if after.column(c.name) is None]
        new_columns = [c for c in after.columns if before.column(c.name) is None]
        for column in gone:
            for candidate in new_columns:
                if questioner.is_rename(after.name, column.name, candidate.name, old_table=before.name):
                    operations.append(RenameColumn(after.name, column.name, candidate.name))
                    new_columns.remove(candidate)
                    break
    return operations


def with_hand_written_indexes(target: Schema, replayed: Schema) -> Schema:
    """The models' schema plus the indexes the migrations made that no model
    can declare (on expressions, partial, ordered or collated): like views and
    triggers, they belong to hand-written migrations, so `make` keeps them."""
    tables = []
    for table in target.tables:
        before = replayed.table(table.name)
        declared = {_fold(i.name) for i in table.indexes}
        kept = tuple(i for i in (before.indexes if before else ())
                     if not i.declarable and _fold(i.name) not in declared)
        indexes = tuple(sorted(table.indexes + kept, key=lambda i: _fold(i.name)))
        tables.append(replace(table, indexes=indexes))
    return replace(target, tables=tuple(tables))


def with_unique_constraints_kept(target: Schema, replayed: Schema) -> Schema:
    """The models' schema with each unique index a model declares under its
    generated name written instead as the UNIQUE constraint the migrations
    made on the same columns (as Django and SQLAlchemy write `unique=True`):
    the same rule, so adopting such a table takes no rebuild. A rebuild for
    another reason keeps the constraint; a model that drops the field's
    `unique` drops it."""
    tables = []
    for table in target.tables:
        before = replayed.table(table.name)
        if before is None or not before.unique or not any(i.unique for i in table.indexes):  # (most tables: quick)
            tables.append(table)
            continue
        constraints = _model_constraints(table)
        plain = _plain_unique_constraints(before) if constraints is not None else {}
        made = {_fold(i.name) for i in before.indexes} if before is not None else set()
        declared = {_folded(u) for u in table.unique}
        taken = [i for i in table.indexes if i.unique and i.columns and _folded(i.columns) in plain
                 and _folded(i.columns) not in declared and _fold(i.name) not in made
                 and _fold(i.name) == _fold("_".join((table.name,) + i.columns) + "_uniq")]
        if taken:
            constraints += tuple(f"UNIQUE ({', '.join(map(quote, i.columns))}){plain[_folded(i.columns)]}"
                                 for i in taken)
            table = replace(table, sql=_render_model_table(table, table.columns, constraints),
                            unique=tuple(sorted(table.unique + tuple(i.columns for i in taken))),
                            indexes=tuple(i for i in table.indexes if i not in taken))
        tables.append(table)
    return replace(target, tables=tuple(tables))


def with_constraint_names_kept(target: Schema, replayed: Schema) -> Schema:
    """The models' schema with each CHECK and UNIQUE constraint that the
    migrations made under a name (`CONSTRAINT ck_price CHECK (price >= 0)`,
    as Django, Alembic and SQLAlchemy name them, on the table or a column)
    written under that name again: SQLite's errors name it ("CHECK
    constraint failed: ck_price"), and a rebuild would drop it. Names are
    not compared, so nothing else changes."""
    tables = []
    for table in target.tables:
        before = replayed.table(table.name)
        named = _named_constraints(before) if before is not None and "CONSTRAINT" in before.sql.upper() else {}
        constraints = _model_constraints(table) if named else None
        if constraints is not None:
            names = _ROWID_NAMES | {_fold(column.name) for column in table.columns}
            columns = tuple(replace(c, definition=_named_check(c.definition, named, names)) for c in table.columns)
            kept = tuple(f"CONSTRAINT {quote(named[key].pop(0))} {text}" if named.get(key) else text
                         for text in constraints for key in [_constraint_key(_tokenize(text), names)])
            if kept != constraints or columns != table.columns:
                table = replace(table, columns=columns, sql=_render_model_table(table, columns, kept))
        tables.append(table)
    return replace(target, tables=tuple(tables))


def _named_check(definition: str, named: dict, names: frozenset[str]) -> str:
    """A model column's definition with its CHECK under the name `named`
    gives the same expression (one name used up), if it gives one."""
    tokens = _tokenize(definition)
    at = next((i for i, t in enumerate(tokens) if t.upper == "CHECK" and tokens[i + 1:i + 2]
               and tokens[i + 1].text == "("), None)
    if at is None:
        return definition
    key = _constraint_key(tokens[at:_matching_paren(tokens, at + 1) + 1], names)
    if not named.get(key):
        return definition
    return f"{definition[:tokens[at].start]}CONSTRAINT {quote(named[key].pop(0))} {definition[tokens[at].start:]}"


def _named_constraints(table: Table) -> dict[tuple, list[str]]:
    """The table's named CHECK and UNIQUE constraints, its columns' too:
    their _constraint_key: their names, in the order written. A name, as
    SQLite reads it, holds for the constraints after it up to the next name
    or comma (`CONSTRAINT ck NOT NULL CHECK (x > 0)` names the CHECK)."""
    columns = _ROWID_NAMES | {_fold(column.name) for column in table.columns}
    found, name, after_column = {}, None, False
    for item in _definition_items(_tokenize(table.sql))[0]:
        on_column = item[0].upper not in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")
        # (SQLite forgets the name at each column and at the commas between table constraints, but
        # not at the one after the last column: its name holds for the first table constraint too)
        name = name if after_column and not on_column else None
        after_column, at = on_column, 1 if on_column else 0
        while at < len(item):
            word, opens = item[at].upper, item[at + 1:at + 2] and item[at + 1].text == "("
            end, key = at, None
            if word == "CONSTRAINT" and at + 1 < len(item):
                name, end = _constraint_name(item[at + 1]), at + 1
            elif word == "CHECK" and opens:
                end = _matching_paren(item, at + 1)
                key = _constraint_key(item[at:end + 1], columns)
            elif word == "UNIQUE" and on_column:
                key = "UNIQUE", (_fold(_unquote(item[0].text)),), _conflict_clause(item[at + 1:at + 4])
            elif word == "UNIQUE" and opens:
                end = _matching_paren(item, at + 1)
                clause = item[end + 1:end + 4] if _conflict_clause(item[end + 1:end + 4]) else []
                key = _constraint_key(item[at:end + 1] + clause, columns)
            elif item[at].text == "(":  # (a DEFAULT's, a REFERENCES's: nothing to name there)
                end = _matching_paren(item, at)
            if key is not None and name is not None:
                found.setdefault(key, []).append(name)
            at = end + 1
    return found


def _constraint_name(token: _Token) -> str:
    """A constraint's name as SQLite keeps it: SQLite takes a 'string' there too."""
    return token.text[1:-1].replace("''", "'") if token.kind == "string" else _unquote(token.text)


def _constraint_key(tokens: list[_Token], names: frozenset[str]) -> tuple | None:
    """What a table constraint's tokens (after its name) say, to know it by:
    a CHECK by its expression as SQLite reads it, a UNIQUE by its folded
    columns and ON CONFLICT clause; None for another, or more than that."""
    if len(tokens) < 3 or tokens[1].text != "(":
        return None
    close = _matching_paren(tokens, 1)
    if tokens[0].upper == "CHECK" and close == len(tokens) - 1:
        return "CHECK", _canonical(_plain(_as_sqlite_reads(tokens[2:close], names)))
    if tokens[0].upper == "UNIQUE" and all(t.kind in ("word", "ident") for t in tokens[2:close:2]) \
            and all(t.text == "," for t in tokens[3:close:2]) and close % 2 == 1 and close >= 3 \
            and (len(tokens) == close + 1 or (len(tokens) == close + 4 and _conflict_clause(tokens[close + 1:]))):
        return "UNIQUE", tuple(_fold(_unquote(t.text)) for t in tokens[2:close:2]), _conflict_clause(tokens[close + 1:])
    return None


def _plain_unique_constraints(table: Table) -> dict[tuple[str, ...], str]:
    """The table's UNIQUE constraints (folded columns: their ON CONFLICT
    clause, or "") that say nothing more than a unique index on those
    columns would but for an ON CONFLICT clause, which no model can write
    and so is kept as the migrations wrote it: a column's UNIQUE, or a
    table's UNIQUE (a, b), without COLLATE, ASC or DESC."""
    plain = {}
    for item in _definition_items(_tokenize(table.sql))[0]:
        words = [t.upper for t in item]
        at = words.index("UNIQUE") if "UNIQUE" in words else -1
        if item[0].upper not in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            if at > 0:  # a column's: UNIQUE, maybe ON CONFLICT what
                plain[(_fold(_unquote(item[0].text)),)] = _conflict_clause(item[at + 1:at + 4])
            continue
        key = _constraint_key(item[2:] if item[0].upper == "CONSTRAINT" else item, frozenset())
        if key is not None and key[0] == "UNIQUE":
            plain[key[1]] = key[2]
    declared = {_folded(u) for u in table.unique}  # (a UNIQUE word inside a CHECK or a DEFAULT is none)
    return {columns: clause for columns, clause in plain.items() if columns in declared}


def _conflict_clause(tokens: list[_Token]) -> str:
    """" ON CONFLICT IGNORE" when the tokens begin so, else ""."""
    words = [t.upper for t in tokens[:3]]
    return f" ON CONFLICT {words[2]}" if words[:2] == ["ON", "CONFLICT"] and len(words) == 3 else ""


def diff_schemas(old: Schema, new: Schema, questioner: Questioner, *,
                 unmanaged: frozenset = frozenset(), empty: frozenset = frozenset()) -> list:
    """The operations that turn `old` into `new` (renames already done).
    Tables `empty` (folded names) have no rows to fill: a column that needs
    a one-off value there gets the type's zero value, asked of no one."""
    old_tables, new_tables = _managed_tables(old, unmanaged), _managed_tables(new, unmanaged)
    removed = [t for k, t in old_tables.items() if k not in new_tables]
    added = [t for k, t in new_tables.items() if k not in old_tables]
    creates = [CreateTable(t) for t in _dependency_order(added)]
    alters, missing = [], {}
    for key in sorted(k for k in new_tables if k in old_tables):
        before, after = old_tables[key], _in_columns_order(new_tables[key], old_tables[key])
        if before != after and _describe_changes(before, after):  # (equal: the same, and quick to tell)
            fills = _fills(before, after, questioner, up=True, missing=missing, empty=key in empty)
            if missing:  # (the down's own errors would hide the list)
                continue
            reverse_fills = _fills(after, before, questioner, up=False)
            alters.append(AlterTable(before, after, fills, reverse_fills))
    if missing:  # all of them in one error: a run of --no-input each time would name the next
        first, *others = missing
        also = f" The others that need a value: {', '.join(others)}." if others else ""
        raise MigrateError(f"{missing[first]}{also}")
    return ([DropTable(t.name) for t in reversed(_dependency_order(removed))]
            + _free_moved_index_names(creates, alters))


def _in_columns_order(table: Table, before: Table) -> Table:
    """`table` with the columns it keeps in `before`'s order, and the new ones
    after them: a rebuild keeps the order an application's `SELECT *` or
    `INSERT ... VALUES` may rely on, as ADD COLUMN does (order is no change).
    Only for a table as a model renders it, its SQL made anew from its
    columns; any other is left as it is."""
    constraints = _model_constraints(table)
    if constraints is None:
        return table
    kept = {_fold(c.name): c for c in table.columns}
    ordered = tuple([kept.pop(_fold(c.name)) for c in before.columns if _fold(c.name) in kept] + list(kept.values()))
    return replace(table, columns=ordered, sql=_render_model_table(table, ordered, constraints)) \
        if ordered != table.columns else table


def _model_constraints(table: Table) -> tuple[str, ...] | None:
    """The table constraints after a model's columns and key (CHECK, UNIQUE)
    as written, for a table as a model renders it (its SQL made anew from its
    columns' definitions); None for any other."""
    if not all(c.definition for c in table.columns):
        return None
    constraints = _constraint_texts(table.sql)
    return constraints if _render_model_table(table, table.columns, constraints) == table.sql else None


@lru_cache(maxsize=4096)  # (make asks it of every model table, more than once)
def _constraint_texts(sql: str) -> tuple[str, ...]:
    """The CHECK and UNIQUE table constraints of a CREATE TABLE, named or
    not, as written."""
    return tuple(sql[item[0].start:item[-1].end] for item in _definition_items(_tokenize(sql))[0]
                 if item[0].upper in ("CHECK", "UNIQUE", "CONSTRAINT"))


def _render_model_table(table: Table, columns: tuple[Column, ...], constraints: tuple[str, ...]) -> str:
    definitions = [c.definition for c in columns]
    if constraints and len(table.primary_key) < 2 and not constraints[0].upper().startswith("CONSTRAINT") \
            and any(t.upper == "CONSTRAINT" for t in _tokenize(definitions[-1])[1:]):
        # SQLite lets the last column's constraint name hold for the first table constraint too: a named
        # one or an unnamed UNIQUE first ends it, or else the column goes without its name
        resets = next((i for i, text in enumerate(constraints) if text.upper().startswith(("UNIQUE", "CONSTRAINT"))),
                      None)
        if resets is not None:
            constraints = (constraints[resets],) + constraints[:resets] + constraints[resets + 1:]
        else:
            definitions[-1] = _without_constraint_names(definitions[-1])
    return render_create_table(table.name, definitions, strict=table.strict,
                               primary_key=table.primary_key if len(table.primary_key) > 1 else (),
                               constraints=constraints, without_rowid=table.without_rowid)


def _without_constraint_names(definition: str) -> str:
    """A column's definition without the `CONSTRAINT name` words in it."""
    tokens = _tokenize(definition)
    at = next((i for i, t in enumerate(tokens) if i and t.upper == "CONSTRAINT" and i + 2 < len(tokens)), None)
    if at is None:
        return definition
    return _without_constraint_names(definition[:tokens[at].start] + definition[tokens[at + 2].start:])


def _free_moved_index_names(creates: list, alters: list) -> list:
    """`creates` then `alters`, after dropping first every index whose name
    another table takes: index names are the database's, not a table's, so an
    index moved between models (or two tables swapping names) must leave
    before its name is used again."""
    index_names = lambda table: {_fold(i.name) for i in table.indexes}
    taken = set().union(*(index_names(op.table) for op in creates),
                        *(index_names(op.after) - index_names(op.before) for op in alters))
    drops, rest = [], []
    for op in alters:
        moving = (index_names(op.before) - index_names(op.after)) & taken
        if moving:
            freed = replace(op.before, indexes=tuple(i for i in op.before.indexes if _fold(i.name) not in moving))
            drops.append(AlterTable(op.before, freed))
            op = replace(op, before=freed)
        if op.before != op.after and _describe_changes(op.before, op.after):
            rest.append(op)
    return drops + creates + rest


def _fills_into_new_tables(operations: list) -> list[str]:
    """One-off values that fill a foreign key into a table the same
    migration creates, empty: any row the table has fails the migration."""
    made = {_fold(op.table.name) for op in operations if isinstance(op, CreateTable)}
    return [f"{op.after.name}.{column} is filled with {op.fills[_fold(column)]}, a key into {fk.table}, which this "
            f"migration creates empty: applying it fails if {op.after.name} has rows (their keys would point "
            f"nowhere); make the field Optional, or add {fk.table} and its rows in a migration of their own first"
            for op in operations if isinstance(op, AlterTable) for fk in op.after.foreign_keys
            if _fold(fk.table) in made for column in fk.columns[:1] if _fold(column) in op.fills]


def _unique_alone(table: Table, column: str) -> str | None:
    """"primary key" or "unique index" when that holds the (folded) column
    unique by itself, so that one value in every row fails beyond one row;
    None when none does (one value in part of a key is taken as fine), or
    the column is the rowid, which SQLite numbers itself."""
    if column == _fold(table.rowid_alias or ""):
        return None
    if (column,) == _folded(table.primary_key):
        return "primary key"
    if any((column,) == _folded(index.columns or ()) for index in table.indexes if index.unique) \
            or any((column,) == _folded(columns) for columns in table.unique):
        return "unique index"
    return None


_PER_ROW_VALUE = "giving each row its own value (an expression such as 'x' || rowid)"


def _constant_fills_into_unique(operations: list) -> list[str]:
    """One-off values that are the same in every row (they name no column
    and call no random()) for a column whose primary key or unique index
    refuses that beyond one row: applying fails on a table with rows."""
    warnings = []
    for op in (op for op in operations if isinstance(op, AlterTable)):
        table = op.after
        for column, value in op.fills.items():
            unique = None if _per_row(value, table) else _unique_alone(table, column)
            if unique:
                new, name = table.column(column), f"{table.name}.{table.column(column).name}"
                rows = "every existing row" if op.before.column(column) is None else "every row where it is NULL"
                fix = f"make this migration with --default {name}=SQL {_PER_ROW_VALUE}"
                if new.default is not None:  # the fill is the field's own default, which --default cannot replace
                    fix = f"drop its default and {fix}"
                    fix = fix if unique == "primary key" else f"make the field Optional, or {fix}"
                warnings.append(f"{name} is filled with {value} in {rows}, which its {unique} refuses beyond one "
                                f"row: applying fails on a table with two such rows or more; {fix}")
    return warnings


def _per_row(value: str, table: Table) -> bool:
    """Whether an SQL expression can differ from row to row of `table`: it
    names one of its columns or the rowid, or calls random()."""
    names = {_fold(c.name) for c in table.columns} | {"rowid", "oid", "_rowid_", "random", "randomblob"}
    return any(t.kind in ("word", "ident") and _fold(_unquote(t.text)) in names for t in _tokenize(value))


def _repointed_keys(operations: list) -> list[str]:
    """A kept column whose foreign key now points at other parent columns
    keeps its values, which are keys of the old parent columns: applying
    fails while one of them is no key of the new."""
    warnings = []
    for op in (op for op in operations if isinstance(op, AlterTable)):
        old_keys = {fk.signature[0]: fk for fk in op.before.foreign_keys}
        for fk in op.after.foreign_keys:
            old = old_keys.get(fk.signature[0])
            if old is not None and old.signature[1:3] != fk.signature[1:3]:
                columns = ", ".join(f"{op.after.name}.{c}" for c in fk.columns)
                warnings.append(f"{columns} now points at {fk.table} ({', '.join(fk.to)}) instead of {old.table} "
                                f"({', '.join(old.to)}) and keeps its values: applying fails while one is no "
                                f"{fk.table} ({', '.join(fk.to)}) key; rewrite them in this migration before the "
                                "rebuild, or in a migration of their own first (make --empty)")
    return warnings


def _missing_fill_error(before: Table, after: Table, column: Column, reason: str,
                        questioner: Questioner) -> MigrateError:
    """No one-off value for a column that needs one: what to pass, with a
    hint when a dropped column may be it renamed, or --default named the
    field rather than its column."""
    gone = [c.name for c in before.columns if after.column(c.name) is None]
    gone_fields = {_fold(f"{after.name}.{name[:-3]}") for name in gone if _fold(name).endswith("_id")}
    field_renamed = [old for old, new in questioner.renames.items()  # a foreign key's field: team -> team_id
                     if _fold(old) in gone_fields and old not in questioner.renames_used
                     and _fold(column.name) in (_fold(new), _fold(new) + "_id")]
    hint = ""
    if field_renamed:
        old = field_renamed[0]
        hint = (f" --rename {old}={questioner.renames[old]} names the field: pass --rename "
                f"{old}_id={column.name} to rename its column.")
    elif before.column(column.name) is None and gone:
        hint = f" If it is {after.name}.{gone[0]} renamed, pass --rename {after.name}.{gone[0]}={column.name}."
    key = f"{after.name}.{column.name}"
    field_key = key[:-3] if _fold(key).endswith("_id") else None
    if field_key and _fold(field_key) in questioner.defaults:
        hint += f" (--default {field_key} names the field: its column is {column.name}.)"
    if _fold(column.name) in map(_fold, after.primary_key):  # Optional is refused for it
        alone = len(after.primary_key) == 1
        example = "rowid" if _affinity(column.type) in ("INTEGER", "REAL", "NUMERIC") else "'k' || rowid"
        unique = (f"giving each existing row its own value, like --default \"{key}={example}\""
                  if alone and not before.without_rowid else
                  "that keeps every row's key unique" + (" (with the rest of the key)" if not alone else ""))
        return MigrateError(f"{key} {reason} and is part of the primary key: pass --default {key}=SQL "
                            f"{unique}; nothing was written.{hint}")
    return MigrateError(f"{key} {reason} and the table may have rows: pass --default {key}=SQL (a one-off value "
                        f"for existing rows), give the field a default, or make it Optional; nothing was "
                        f"written.{hint}")


def _fills(before: Table, after: Table, questioner: Questioner, *, up: bool, missing: dict | None = None,
           empty: bool = False) -> dict:
    """One-off values for columns that become NOT NULL without a default.
    Without a prompt, each column that has none is added to `missing`, its
    error by its table.column. An `empty` table's are the type's zero value,
    unless `defaults` give one (no row gets it)."""
    fills = {}
    for column in after.columns:
        old = before.column(column.name)
        given = questioner.defaults.get(_fold(f"{after.name}.{column.name}"))
        if up and old is None and not column.notnull and given is not None:
            raise MigrateError(f"--default {after.name}.{column.name}={given} is not used: the new column is "
                               "nullable, so existing rows get NULL; drop the --default, or make the field "
                               "required, or set the rows by hand in a migration of their own; nothing was written")
        if not column.notnull or column.generated or (old is not None and old.notnull):
            continue
        if column.name == after.rowid_alias:
            continue
        if column.default is not None and (up or old is None):  # the down keeps NULLs written since: see below
            if given is not None:
                rows = "existing rows get" if up else "its rows get back when the migration is reverted"
                raise MigrateError(f"--default {after.name}.{column.name}={given} is not used: the column has "
                                   f"its own default ({column.default}), which {rows}; drop the "
                                   "--default (or set other values by hand, in a migration of their own); nothing "
                                   "was written")
            fills[_fold(column.name)] = _default_text(column.default)
            continue
        reason = "is a new NOT NULL column without a default" if old is None \
            else "becomes NOT NULL without a default"
        if up and empty:
            value = given if given is not None else _zero_value(column.type)
        elif up:
            value = questioner.fill(after.name, column.name, reason, _answer_checker(before, after, column),
                                    _zero_value(column.type))
        else:  # the down never asks: --default, or (README) the type's zero value for a dropped column
            value = questioner.defaults.get(_fold(f"{after.name}.{column.name}"))
            if value is None and old is not None:
                continue  # NULLs written since the up stop the revert; turned into zeros they would be lost
        if value is None and up:
            error = _missing_fill_error(before, after, column, reason, questioner)
            if questioner.prompt is not None or missing is None:  # (an empty answer: stop at once)
                raise error
            missing[f"{after.name}.{column.name}"] = error
            continue
        if value is not None and value.strip().upper() == "NULL":
            raise MigrateError(f"the one-off value for {after.name}.{column.name} is NULL, which does not fill a "
                               "NOT NULL column: give a value, or make the field Optional; nothing was written")
        value = _zero_value(column.type) if value is None else value
        if not up and not _value_fits(column, value, after):
            raise MigrateError(
                f"{after.name}.{column.name}: the down section brings the column back and would fill its rows "
                f"with {value}, which its CHECK ({' AND '.join(_checks_of(column, after))}) refuses: pass --default "
                f"{after.name}.{column.name}=SQL (a value for those rows); nothing was written")
        fills[_fold(column.name)] = value
    return fills


def _fill_problem(scratch: sqlite3.Connection, value: str, source: str, declared: str, *, strict: bool,
                  other_tables: bool = True) -> tuple[str, bool] | None:
    """What is wrong with a one-off value selected from `source`, an empty
    copy of the table (None for nothing), and whether it may be text left
    unquoted. Without `other_tables` in `scratch`, a missing one is no fault."""
    if any(match.lastgroup == "space" and match.group().startswith(("--", "/*")) for match in _TOKEN.finditer(value)):
        return "holds a comment, which would cut the statement it goes into", False
    if any(t.text == ";" for t in _tokens(value)):
        return "holds a `;`: give one expression", False
    if unpaired := _unbalanced(value):
        return f"{unpaired}: give one expression", False
    try:
        rows = scratch.execute(f"SELECT {value} FROM {source}").fetchall()
    except sqlite3.Error as exc:
        if not other_tables and str(exc).startswith("no such table"):
            return None
        return f"fails on a copy of the schema as the migration leaves it ({exc})", True
    if rows:
        return ("is an aggregate, which would copy one row of the whole table: give a per-row value, or wrap it in "
                "a subquery"), False
    if _constant_null(scratch, value) or _null_for_sample_rows(scratch, value, source):  # as NULL itself is
        return "is NULL, which does not fill a NOT NULL column: give a value, or make the field Optional", False
    misfit = _type_misfit(scratch, value, declared, strict=strict)
    return (misfit, False) if misfit else None


def _type_misfit(scratch: sqlite3.Connection, value: str, declared: str, *, strict: bool) -> str | None:
    """Why a column of type `declared` cannot store an SQL expression that is
    the same for every row as the type it names: a STRICT column refuses
    `'abc'` for an INTEGER, which the empty copy of the table would not show,
    only the first apply on rows; any other column meant for numbers stores
    it as text (datatype3.html, "Type Affinity"), which no field expects."""
    if any(t.upper == "SELECT" for t in _tokens(value)):
        return None
    if not strict and not _holds_numbers_only(declared):
        return None
    try:
        scratch.execute(f"CREATE TEMP TABLE _migrate_type_probe (v {declared}){' STRICT' * strict}")
    except sqlite3.Error:  # (a type name SQLite read back that it takes in no other table: left to the copy)
        return None
    try:
        scratch.execute(f"INSERT INTO temp._migrate_type_probe VALUES ({value})")
        stored = scratch.execute("SELECT typeof(v) FROM temp._migrate_type_probe").fetchone()[0]
    except sqlite3.IntegrityError as exc:
        said = str(exc).replace(" _migrate_type_probe.v", "")
        return f"does not fit the STRICT column ({said}): give a value of its type"
    except sqlite3.Error:  # (it reads a column: per row, left to the copy)
        return None
    finally:
        scratch.execute("DROP TABLE temp._migrate_type_probe")
    if not strict and stored in ("text", "blob"):
        return (f"is {stored}, which a column of type {declared} keeps as {stored}, not as a number: give a "
                "number")
    return None


def _constant_null(scratch: sqlite3.Connection, value: str) -> bool:
    """Whether an SQL expression is NULL whatever the row: it reads no
    column (else SQLite cannot select it alone) and no table (a subquery,
    which the empty copy would answer with NULL)."""
    if any(t.upper == "SELECT" for t in _tokens(value)):
        return False
    try:
        return scratch.execute(f"SELECT ({value}) IS NULL").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def _null_for_sample_rows(scratch: sqlite3.Connection, value: str, source: str) -> bool:
    """Whether an expression that reads the row is NULL whatever its values
    (`n + NULL`, `NULL || n`, `(SELECT NULL)`): a NULL in every row the fill
    is for. Only one of columns, NULL and arithmetic, tried on rows of
    sample values: a function, a comparison or a CASE may be NULL for those
    and not for the rows there are (`CASE role WHEN 'admin' THEN 1 END`)."""
    table = source.rpartition(" AS ")[2]  # (how `source` names the table, which `value` may name too)
    try:
        names = [d[0] for d in scratch.execute(f"SELECT * FROM {source} WHERE 0").description]
        plain = {"NULL", "SELECT"} | _ROWID_NAMES | {_fold(n) for n in names} | {_fold(_unquote(table))}
        if any((t.kind == "word" and t.upper not in plain and _fold(t.text) not in plain)
               or (t.kind == "op" and set(t.text) & set("=<>!/%")) for t in _tokens(value)):
            return False
        names += sorted(_ROWID_NAMES - {_fold(n) for n in names})  # (as the copy of the rows reads them)
        samples = " UNION ALL ".join("SELECT " + ", ".join(f"{sample} AS {quote(n)}" for n in names)
                                     for sample in ("1", "'a'", "0", "-1.5", "X'00'"))
        return scratch.execute(f"SELECT min(({value}) IS NULL) FROM ({samples}) AS {table}").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def _answer_checker(before: Table, after: Table, column: Column):
    """What is wrong with a one-off value typed at make's prompt, as far as an
    empty copy of the table alone tells (a subquery of another table is
    checked later, with the whole schema), for the question to be asked again."""
    columns = ", ".join(quote(c.name) for c in before.columns)
    key = f", PRIMARY KEY ({', '.join(map(quote, before.primary_key))})) WITHOUT ROWID" \
        if before.without_rowid else ")"  # (no rowid to read there)

    def problem(value: str) -> str | None:
        with closing(sqlite3.connect(":memory:")) as probe:
            probe.execute(f"CREATE TABLE {quote(after.name)} ({columns}{key}")
            found = _fill_problem(probe, value, quote(after.name), column.type, strict=after.strict,
                                  other_tables=False)
        if found is None:
            return None
        said, advice = found
        text_wanted = not _holds_numbers_only(column.type)
        return said + (f": quote text, as '{value}'" if advice and text_wanted and re.fullmatch(r"\w+", value) else "")
    return problem


def _checks_of(column: Column, table: Table) -> list[str]:
    """The column's CHECK and the table's CHECKs that read it alone."""
    return [column.check] * bool(column.check) + _table_checks_of(column, table)


def _table_checks_of(column: Column, table: Table) -> list[str]:
    """The table's CHECKs that read the column alone, as written."""
    return [written for written, reads in _written_checks(table, {}).values() if reads == {_fold(column.name)}]


def _value_fits(column: Column, value: str, table: Table) -> bool:
    """Whether the column's CHECK, and the table's CHECKs that read it alone,
    take `value`, asked of SQLite on a scratch table of that column alone;
    True when a check needs other columns."""
    checks = [f"CHECK ({written})" for written in _table_checks_of(column, table)]
    if not column.check and not checks:
        return True
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(f"CREATE TABLE probe ({', '.join([column.definition] + checks)}){' STRICT' * table.strict}")
        probe.execute(f"INSERT INTO probe VALUES ({value})")
        return True
    except sqlite3.IntegrityError as exc:  # (a STRICT type or NOT NULL refusal is said by the checks after)
        return "CHECK constraint failed" not in str(exc)
    except sqlite3.Error:
        return True
    finally:
        probe.close()


def _zero_value(declared_type: str) -> str:
    return {"INTEGER": "0", "TEXT": "''", "BLOB": "X''", "REAL": "0.0"}.get(
        _affinity(declared_type), "0")


@dataclass(frozen=True)
class _Change:
    """One difference between two versions of a table."""
    sign: str  # "+" adds, "-" removes (data!), "~" alters
    kind: str  # "column", "index" or a table property such as "primary key"
    name: str  # the column or index; the table for properties
    detail: str = ""

    def describe(self, table: str) -> str:
        """As `make` prints it: what the migration does."""
        if self.kind == "column":
            verb = {"+": "Add", "-": "Drop", "~": "Alter"}[self.sign]
            return f"{self.sign} {verb} column {table}.{self.name}" + (f": {self.detail}" if self.detail else "")
        if self.kind == "index":
            made = f"+ Create {self.detail} index".replace("  ", " ")  # detail: "unique" or ""
            return f"{made} {self.name} on {table}" if self.sign == "+" else f"- Drop index {self.name}"
        return f"~ Change {self.kind} of {table}"

    def difference(self, table: str, actual: str, expected: str) -> str:
        """As `check` prints it: how `actual` differs from `expected`."""
        subject = f"{self.kind} {table}.{self.name}" if self.kind == "column" else \
            f"index {self.name} on {table}" if self.kind == "index" else f"{self.kind} of {table}"
        if self.sign == "+":
            return f"{subject}: in {expected}, not in {actual}"
        if self.sign == "-":
            return f"{subject}: in {actual}, not in {expected}"
        verb = "differ" if self.kind.endswith("s") else "differs"  # foreign keys, table checks...
        return f"{subject} {verb}" + (f" ({actual} -> {expected}: {self.detail})" if self.detail else "")


# What a table is besides its columns and indexes, each compared as one value
_TABLE_PROPERTIES = (
    ("primary key", lambda t: _folded(t.primary_key)),
    ("foreign keys", lambda t: {fk.signature for fk in t.foreign_keys}),
    ("unique constraints", lambda t: {_folded(u) for u in t.unique}),
    ("table checks", lambda t: sorted(t.checks)),
    ("AUTOINCREMENT", lambda t: t.autoincrement),
    ("STRICT", lambda t: t.strict),
    ("WITHOUT ROWID", lambda t: t.without_rowid),
)


def _changed_properties(before: Table, after: Table) -> list[str]:
    """The labels of the _TABLE_PROPERTIES that differ, in that order."""
    return [label for label, value in _TABLE_PROPERTIES if value(before) != value(after)]


def _table_changes(before: Table, after: Table) -> list[_Change]:
    """What turns `before` into `after`: columns, table properties, indexes."""
    changes = [_Change("-", "column", c.name) for c in before.columns if after.column(c.name) is None]
    for column in after.columns:
        old = before.column(column.name)
        if old is None:
            changes.append(_Change("+", "column", column.name))
        elif old.signature != column.signature:
            changes.append(_Change("~", "column", column.name, _column_change(old, column)))
    for label in _changed_properties(before, after):
        changes.append(_Change("~", label, after.name, _property_change(label, before, after)))
    old_indexes = {i.signature: i for i in before.indexes}
    new_indexes = {i.signature: i for i in after.indexes}
    changes += [_Change("-", "index", i.name) for s, i in old_indexes.items() if s not in new_indexes]
    changes += [_Change("+", "index", i.name, "unique" if i.unique else "")
                for s, i in new_indexes.items() if s not in old_indexes]
    return changes


def _property_change(label: str, before: Table, after: Table) -> str:
    """How a table property differs, as `check` and --fake-initial say it
    ("UNIQUE (b, p_id) -> none"); "" where the label says enough."""
    if label == "foreign keys":
        return _foreign_keys_change(before, after)
    shown = {"primary key": lambda t: [f"({', '.join(t.primary_key)})"] if t.primary_key else [],
             "unique constraints": lambda t: [f"UNIQUE ({', '.join(u)})" for u in t.unique],
             "table checks": lambda t: [f"CHECK ({c})" for c in t.checks]}.get(label)
    if shown is None:  # AUTOINCREMENT, STRICT, WITHOUT ROWID: on or off
        return ""
    return f"{'; '.join(shown(before)) or 'none'} -> {'; '.join(shown(after)) or 'none'}"


def _foreign_keys_change(before: Table, after: Table) -> str:
    """Which foreign keys differ, as `check` and --fake-initial say it."""
    def shown(fk: ForeignKey) -> str:
        actions = "".join(f" ON {event} {action}" for event, action in (("DELETE", fk.on_delete),
                                                                        ("UPDATE", fk.on_update))
                          if action != "NO ACTION")
        return f"({', '.join(fk.columns)}) REFERENCES {fk.table} ({', '.join(fk.to)}){actions}"
    old = sorted(shown(fk) for fk in before.foreign_keys if fk.signature not in
                 {other.signature for other in after.foreign_keys})
    new = sorted(shown(fk) for fk in after.foreign_keys if fk.signature not in
                 {other.signature for other in before.foreign_keys})
    return f"{'; '.join(old) or 'none'} -> {'; '.join(new) or 'none'}"


def _describe_changes(before: Table, after: Table) -> list[str]:
    """One line per change, as `make` prints them."""
    return [change.describe(after.name) for change in _table_changes(before, after)]


def _column_change(old: Column, new: Column) -> str:
    changes = []
    if canonical_sql(old.type) != canonical_sql(new.type):
        changes.append(f"type {old.type or '(none)'} -> {new.type or '(none)'}")
    if old.notnull != new.notnull:
        changes.append("NOT NULL added" if new.notnull else "NOT NULL removed")
    if canonical_sql(_stored_default(old.type, old.default)) != canonical_sql(_stored_default(new.type, new.default)):
        changes.append(f"default {old.default or 'none'} -> {new.default or 'none'}")
    if _fold(old.collate or "BINARY") != _fold(new.collate or "BINARY"):
        changes.append(f"collate {old.collate or 'BINARY'} -> {new.collate or 'BINARY'}")
    if _canonical_check(old.check) != _canonical_check(new.check):
        changes.append("check changed")
    if canonical_sql(old.generated) != canonical_sql(new.generated):
        changes.append(_generated_change(old.generated, new.generated))
    return ", ".join(changes)


def _generated_change(old: str | None, new: str | None) -> str:
    """How a column's generated expression ("VIRTUAL expr", "STORED expr") changed."""
    if not (old and new):
        return "made generated" if new else "no longer generated"
    (old_kind, old_expression), (new_kind, new_expression) = old.split(" ", 1), new.split(" ", 1)
    kind = [f"{old_kind} -> {new_kind}"] if old_kind != new_kind else []
    same = canonical_sql(old_expression) == canonical_sql(new_expression) and kind
    return ", ".join(([] if same else ["generated expression changed"]) + kind)


def _column_warnings(before: Table, after: Table) -> list[str]:
    """The columns a change of the table drops (but for generated ones, whose
    values the other columns give), makes generated, or whose type it narrows."""
    warnings = []
    for column in before.columns:
        new = after.column(column.name)
        if new is None:
            if not column.generated:
                warnings.append(f"drops column {after.name}.{column.name} and its data")
        elif new.generated and not column.generated:
            warnings.append(f"makes column {after.name}.{column.name} generated: its values are replaced by those "
                            "of its expression")
        elif narrowing := _narrowing(column, new, before, after):
            warnings.append(narrowing)
    return warnings


def _narrowing(old: Column, new: Column, before: Table, after: Table) -> str | None:
    """The warning for a type change that may change stored values: text ->
    number...; integers -> REAL (a float holds integers exactly only up to
    2**53); floats -> NUMERIC (2.0 is stored as the integer 2, as with
    INTEGER); floats -> TEXT (SQLite writes 15 digits: 0.1 + 0.2 becomes
    '0.3'). A STRICT table's ANY column keeps values as given, like BLOB;
    in a table that is not STRICT, ANY is NUMERIC ('007' becomes 7)."""
    rank = {"BLOB": 0, "TEXT": 1, "REAL": 2, "NUMERIC": 3, "INTEGER": 3}  # the last two store values alike
    as_given = lambda column, strict: strict and column.type.upper() == "ANY"
    old_any, new_any = as_given(old, before.strict), as_given(new, after.strict)
    was, becomes = ("BLOB" if old_any else _affinity(old.type)), ("BLOB" if new_any else _affinity(new.type))
    if not (rank[becomes] > rank[was] or (becomes == "REAL" and was in ("INTEGER", "NUMERIC"))
            or (becomes == "TEXT" and was in ("REAL", "NUMERIC"))):
        return None
    shown = lambda column, strict_any: (column.type or "(none)") + (" of a STRICT table" if strict_any else "")
    rowid = _fold(new.name) == _fold(after.rowid_alias or "") != _fold(before.rowid_alias or "")
    renumbered = "" if before.without_rowid else f"; each row's rowid becomes its {new.name}"
    how = (f" (it becomes the rowid, which holds integers only: a value that is not an integer, text such as 'x' "
           f"or 1.5, fails apply{renumbered})" if rowid else
           " (text that reads as a number becomes that number; other text is kept as it is)"
           if was == "TEXT" and becomes in ("INTEGER", "NUMERIC", "REAL") else
           " (integers beyond 2**53 lose their last digits)" if becomes == "REAL" else "")
    return (f"narrows {after.name}.{old.name} from {shown(old, old_any)} to {shown(new, new_any)}: values may "
            f"change{how}")


def warnings_for(operations: list) -> list[str]:
    """The destructive steps among `operations`, in words."""
    warnings = []
    for operation in operations:
        if isinstance(operation, DropTable):
            warnings.append(f"drops table {operation.name} and all its rows (no model describes it: if your own "
                            "SQL or another tool (Django, Alembic) made it, declare a model with __managed__ = False "
                            "to keep it)")
        elif isinstance(operation, AlterTable):
            warnings += _column_warnings(operation.before, operation.after)
            warnings += _new_rowid_warnings(operation.before, operation.after)
    return warnings


def _new_rowid_warnings(before: Table, after: Table) -> list[str]:
    """For a table that becomes WITHOUT ROWID or stops being one, and for a
    column that becomes the rowid (INTEGER PRIMARY KEY), unless its type
    narrows (_column_warnings says so): what happens to the rows' rowids."""
    warnings = []
    lost = ("" if before.without_rowid == after.without_rowid else "its rows' rowids are dropped"
            if after.without_rowid and before.rowid_alias is None else "its rows get new rowids, numbered in "
            "primary key order" if before.without_rowid and after.rowid_alias is None else "")  # (an alias keeps them)
    if lost:
        change = "becomes" if after.without_rowid else "stops being"
        warnings.append(f"{after.name} {change} WITHOUT ROWID: {lost} (an FTS index or anything else that kept "
                        "them no longer matches)")
    for column in before.columns:
        new = after.column(column.name)
        if new is None or _narrowing(column, new, before, after) or _fold(column.name) != _fold(
                after.rowid_alias or "") or _fold(column.name) == _fold(before.rowid_alias or ""):
            continue
        had_rowids = not before.without_rowid  # (a WITHOUT ROWID table had none to keep)
        changes = ([f"each row's rowid becomes its {column.name}"] * had_rowids
                   + ["rows where it is NULL get a number SQLite picks"] * (not column.notnull))
        if changes:
            warnings.append(f"{after.name}.{column.name} becomes the rowid: {', '.join(changes)}"
                            + (" (an FTS index or anything else that kept the old rowids no longer matches)"
                               if had_rowids else ""))
    return warnings


def _rename_hints(operations: list) -> list[str]:
    """With nobody to ask, a table or column dropped beside a new one is a
    drop and an add, and the data goes with the drop: say how to answer."""
    dropped = [op.name for op in operations if isinstance(op, DropTable)]
    created = [op.table.name for op in operations if isinstance(op, CreateTable)]
    pairs = [("table ", dropped[0], created[0], f"{dropped[0]}={created[0]}")] if dropped and created else []
    for op in (op for op in operations if isinstance(op, AlterTable)):
        gone = [c.name for c in op.before.columns if op.after.column(c.name) is None]
        new = [c.name for c in op.after.columns if op.before.column(c.name) is None]
        if gone and new:
            table = op.after.name
            pairs.append(("", f"{table}.{gone[0]}", f"{table}.{new[0]}", f"{table}.{gone[0]}={new[0]}"))
    return [f"drops {kind}{old} and adds {new}: if it was renamed, make the migration with --rename {answer} "
            "instead (delete one made without it: it loses the data)" for kind, old, new, answer in pairs]


def _revert_warnings(operations: list) -> list[str]:
    """What only a revert of `operations` would run into, or cannot undo: a
    dropped column brought back with a value its foreign key or unique index
    refuses; NULLs filled with a one-off value, which stays; a table dropped
    while a kept column loses its foreign key to it, which a revert makes
    again empty and points that column at."""
    warnings = []
    dropped = {_fold(op.name) for op in operations if isinstance(op, DropTable)}
    for operation in (op for op in operations if isinstance(op, AlterTable)):
        kept_keys = {fk.signature for fk in operation.after.foreign_keys}
        for fk in operation.before.foreign_keys:
            columns = [operation.after.column(c) for c in fk.columns]
            if _fold(fk.table) in dropped and fk.signature not in kept_keys and all(columns):
                names = ", ".join(c.name for c in columns)
                warnings.append(f"reverting makes table {fk.table} again without its rows, and the foreign key "
                                f"of {operation.after.name}.{names} to it: a revert fails while a "
                                f"{operation.after.name} row has {names} set ("
                                + ("delete those rows first)" if any(c.notnull for c in columns)
                                   else "set it to NULL first)"))
        for column in operation.before.columns:
            new = operation.after.column(column.name)
            if new is None:
                warnings += _refill_warnings(operation, column)
            elif _fold(column.name) in operation.fills and new.notnull and not column.notnull:
                warnings.append(f"reverting keeps {operation.fills[_fold(column.name)]} in the rows of "
                                f"{operation.after.name}.{column.name} that held NULL (nothing tells them apart)")
        if operation.before.autoincrement and not operation.after.autoincrement:
            warnings.append(f"reverting brings back AUTOINCREMENT on {operation.after.name} with its counter at "
                            "the largest id: ids of rows deleted meanwhile may be given again")
    return warnings


def _refill_warnings(operation: AlterTable, column: Column) -> list[str]:
    """A revert that brings a dropped column back fills its rows with one
    value: its default, else the type's zero unless --default gave another
    (a nullable one, NULL). A foreign key or a unique index refuses one value
    in every row of a table with rows, as a CHECK may refuse NULL, so say so
    now, while a better --default can still be given."""
    before, name = operation.before, f"{operation.after.name}.{column.name}"
    fill = operation.reverse_fills.get(_fold(column.name))
    by_hand = "edit this migration's down section to set the rows first"
    if fill is None and not column.notnull and not column.generated:  # (back by ADD COLUMN: its default, or NULL)
        constant = column.default is None or _is_literal(_tokenize(column.default)) or column.default.upper() in (
            "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP")  # (one value for every row; random() is not)
        fill = None if not constant else "NULL" if column.default is None else _default_text(column.default)
        if fill is not None and not _value_fits(column, fill, before):
            return [f"reverting brings {name} back with {fill} in every row, which its CHECK "
                    f"({' AND '.join(_checks_of(column, before))}) refuses: on a table with rows the revert fails; "
                    f"{by_hand}"]
    if fill is None or fill not in (_zero_value(column.type), column.default and _default_text(column.default)):
        return []
    if not column.notnull:  # (--default is for a NOT NULL column's rows: a nullable one's are set by hand)
        fix_key, fix_unique = by_hand, by_hand
    else:
        fix_key = f"make this migration with --default {name}=SQL (an existing key) to avoid it"
        fix_unique = f"make this migration with --default {name}=SQL {_PER_ROW_VALUE} to avoid it"
    warnings = [f"reverting refills {name} with {fill}, which points at no {fk.table} row: on a table with rows "
                f"the revert fails; {fix_key}"
                for fk in before.foreign_keys if [_fold(c) for c in fk.columns] == [_fold(column.name)]
                and fill != "NULL"]
    # in part of a key too: the other key columns, kept without it meanwhile, need not be unique by themselves
    folded = _fold(column.name)
    keyed = folded in _folded(before.primary_key) and before.rowid_alias is None  # (a rowid alias gets the rowid)
    if keyed or any(folded in _folded(i.columns or ()) for i in before.indexes if i.unique) \
            or any(folded in _folded(columns) for columns in before.unique):
        warnings.append(f"reverting refills {name} with {fill} in every row, which its "
                        f"{'primary key' if keyed else 'unique index'} refuses beyond one row; {fix_unique}")
    return warnings


def _lost_clauses(before: Schema, after: Schema, renamed: dict) -> list[str]:
    """Clauses no model can write (so only a hand edit put them there) that a
    rebuild from the models' SQL leaves out: their behaviour would change
    silently, since no PRAGMA reports them and so no diff sees them. Compared
    per kept column, and in the table's constraints."""
    warnings = []
    for table in before.tables:
        new = after.table(renamed.get(_fold(table.name), table.name))
        if new is None or new.sql == table.sql:
            continue
        lost, moved = set(), _plain_unique_constraints(new)  # (a column's UNIQUE ON CONFLICT: kept in the table's)
        unique = {_folded(u) for u in new.unique} | {_folded(i.columns) for i in new.indexes if i.unique and i.columns}
        for column in table.columns:
            kept = new.column(renamed.get((_fold(new.name), _fold(column.name)), column.name))
            if kept is not None:
                written = _tokenize(column.definition)[1:]
                at = next((i for i, t in enumerate(written) if t.upper == "UNIQUE"), None)
                clause = _conflict_clause(written[at + 1:at + 4]) if at is not None else ""
                if clause and (moved.get((_fold(kept.name),)) == clause or (_fold(kept.name),) not in unique):
                    written = written[:at] + written[at + 4:]  # (kept, or its UNIQUE dropped on purpose)
                lost |= _clauses(written) - _clauses(_tokenize(kept.definition)[1:])
        (clauses, conflicts), (new_clauses, new_conflicts) = _constraint_clauses(table), _constraint_clauses(new)
        lost |= clauses - new_clauses
        for columns, clause in conflicts.items():  # a UNIQUE's, compared as such (another's would hide it)
            columns = tuple(_fold(renamed.get((_fold(new.name), c), c)) for c in columns)
            if columns in unique and new_conflicts.get(columns) != clause:  # (not one dropped on purpose)
                lost.add("ON CONFLICT clause")
        if lost:
            warnings.append(f"rebuilds {table.name} without its {', '.join(sorted(lost))} (written by hand in an "
                            "earlier migration; models cannot express it): add it back to this migration's "
                            "CREATE TABLE")
        columns_renamed = {old: name for key, name in renamed.items() if isinstance(key, tuple)
                           for table_name, old in [key] if table_name == _fold(new.name)}
        warnings += _collated_unique_lost(table, new, columns_renamed)
        kept_checks = set(new.checks) | {_canonical_check(c.check) for c in new.columns if c.check}  # (moved too)
        lost_checks = [(written, reads) for check, (written, reads) in _written_checks(table, columns_renamed).items()
                       if check not in kept_checks]  # (a RENAME COLUMN rewrites them: compared as rewritten)
        gone = {_fold(c.name) for c in table.columns} - set(columns_renamed) - {_fold(c.name) for c in new.columns}
        for written, reads in lost_checks:
            if dropped := sorted(reads & gone):
                warnings.append(f"rebuilds {new.name} without its table CHECK constraint {_shorten(written, 200)!r}, "
                                f"which reads the dropped column {', '.join(dropped)}")
        if checks := [written for written, reads in lost_checks if not reads & gone]:
            listed = ", ".join(map(repr, checks))
            warnings.append(f"rebuilds {new.name} without its table CHECK constraint{'s' * (len(checks) > 1)} "
                            f"{_shorten(listed, 200)}, which the model's __checks__ leaves out (a Django "
                            "CheckConstraint, or one written by hand): to keep "
                            f"{'them' if len(checks) > 1 else 'it'}, add {'them' if len(checks) > 1 else 'it'} "
                            "there and make this migration again")
    return warnings


def _collated_unique_lost(table: Table, new: Table, renamed: dict[str, str]) -> list[str]:
    """A UNIQUE constraint that compares a column by a collation of its own
    (`UNIQUE (email COLLATE NOCASE)`) which a rebuild leaves out: the unique
    index that takes its place compares as the column does, so values that
    clashed before (differing in case only) no longer would. `renamed`:
    folded old column name: new name."""
    kept = {pair for _, pairs in _unique_collations(new) for pair in pairs}
    warnings = []
    for text, pairs in _unique_collations(table):
        lost = [(now.name, collation) for column, collation in pairs
                for now in [new.column(renamed.get(column, column))]
                if now is not None and (_fold(now.name), collation) not in kept
                and _fold(now.collate or "BINARY") != collation]  # (an index compares as its column)
        if lost:
            column, collation = lost[0]
            warnings.append(f"rebuilds {new.name} without its {_shorten(text, 120)}: the unique index in its place "
                            f"compares {column} as the column does, not by {collation.upper()}, so values that "
                            f"differ only so no longer clash; to keep the rule, give the field {column} \"collate\": "
                            f"\"{collation.upper()}\" and make this migration again")
    return warnings


def _unique_collations(table: Table) -> list[tuple[str, list[tuple[str, str]]]]:
    """The table's UNIQUE constraints that compare columns by a collation
    named in them: each as written, with its (folded) columns and collations."""
    found = []
    for item in _definition_items(_tokenize(table.sql))[0]:
        words = [t.upper for t in item]
        if "UNIQUE" in words and "COLLATE" in words and item[0].upper in ("CONSTRAINT", "UNIQUE"):
            found.append((table.sql[item[0].start:item[-1].end],
                          [(_fold(_unquote(item[i - 1].text)), _fold(_unquote(item[i + 1].text)))
                           for i, word in enumerate(words) if word == "COLLATE" and 0 < i < len(item) - 1]))
    return found


def _collation_clauses(table: Table) -> set[str]:
    """Each of the table's UNIQUE constraints that compares a column by a
    collation not the column's own, as a clause with its columns folded
    ("UNIQUE (a, b COLLATE NOCASE)"): which values clash depends on it, and
    no PRAGMA on the table reports it."""
    clauses = set()
    for item in _definition_items(_tokenize(table.sql))[0]:
        words = [t.upper for t in item]
        at = words.index("UNIQUE") + 1 if "UNIQUE" in words else 0
        if item[0].upper not in ("CONSTRAINT", "UNIQUE") or "COLLATE" not in words or not at \
                or at >= len(item) or item[at].text != "(":
            continue
        columns = []  # (folded name, its collation here if not the column's own)
        for part in _split_at_commas(item[at + 1:_matching_paren(item, at)]):
            name, column = _fold(_unquote(part[0].text)), table.column(_unquote(part[0].text))
            named = [_fold(_unquote(after.text)) for word, after in zip(part, part[1:]) if word.upper == "COLLATE"]
            own = named and column is not None and _fold(column.collate or "BINARY") != named[-1]
            columns.append(name + (f" COLLATE {named[-1].upper()}" if own else ""))
        if any(" COLLATE " in column for column in columns):
            clauses.add(f"UNIQUE ({', '.join(columns)})")
    return clauses


def _split_at_commas(tokens: list[_Token]) -> list[list[_Token]]:
    """A list's items, split at its top-level commas."""
    items, start, depth = [], 0, 0
    for i, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if token.text == "," and depth == 0:
            items.append(tokens[start:i])
            start = i + 1
    items.append(tokens[start:])
    return [item for item in items if item]


def _written_checks(table: Table, renamed: dict[str, str]) -> dict[str, tuple[str, set[str]]]:
    """A table's CHECK constraints by their text in `table.checks` once the
    columns `renamed` (folded old name: new name) are renamed, as RENAME
    COLUMN would: each with its expression as written (the renamed names
    in it too), and the (folded) columns it reads."""
    names = _ROWID_NAMES | {_fold(column.name) for column in table.columns}
    checks = {}
    for item in _definition_items(_tokenize(table.sql))[0]:
        for expression in _constraint_checks(item) if item[0].upper in ("CONSTRAINT", "CHECK") else ():
            expression = _unwrapped(expression)  # (as table.checks has it)
            read = _as_sqlite_reads(expression, names)
            columns = {i for i, t in enumerate(read) if t.kind in ("word", "ident") and _fold(_unquote(t.text)) in names
                       and (i + 1 == len(read) or read[i + 1].text != "(")}  # (date(x) calls date, whatever x is)
            new_names = {i: renamed[_fold(_unquote(read[i].text))] for i in columns
                         if _fold(_unquote(read[i].text)) in renamed}
            written, end = [], expression[-1].end
            for i in sorted(new_names, reverse=True):  # the text around each renamed name as it was
                written[:0] = [quote(new_names[i]), table.sql[expression[i].end:end]]
                end = expression[i].start
            written.insert(0, table.sql[expression[0].start:end])
            canonical = _canonical(_plain([t._replace(text=quote(new_names[i])) if i in new_names else t
                                           for i, t in enumerate(read)]))
            checks[canonical] = ("".join(written), {_fold(_unquote(read[i].text)) for i in columns})
    return checks


def _clauses(tokens: list[_Token]) -> set[str]:
    """The clauses among `tokens` that no model writes."""
    words = [t.upper for t in tokens]
    found = set()
    for i, word in enumerate(words):
        before, after = tokens[i - 1] if i else None, tokens[i + 1] if i + 1 < len(tokens) else None
        in_reference = "REFERENCES" in words[:i] and before is not None and after is not None \
            and (before.kind in ("word", "ident") or before.text == ")") and after.kind in ("word", "ident") \
            and before.upper not in ("REFERENCES", "OR", "AND", "NOT", "IS")  # MATCH name: not `x OR match IS ...`
        if word == "DEFERRABLE" or (word == "CONFLICT" and words[i - 1:i] == ["ON"]) \
                or (word == "MATCH" and in_reference):
            found.add("ON CONFLICT clause" if word == "CONFLICT" else f"{word} clause")
        elif word == "DESC" and words[i - 2:i] == ["PRIMARY", "KEY"] and _declared_integer(tokens, i - 2) \
                and words[-2:] != ["WITHOUT", "ROWID"] and words[-4:-2] != ["WITHOUT", "ROWID"]:
            # a column's INTEGER PRIMARY KEY DESC is no rowid alias: its NULL keys stay NULL
            found.add("PRIMARY KEY DESC clause")
    return found


def _declared_integer(tokens: list[_Token], at: int) -> bool:
    """Whether the column whose constraint starts at `at` is declared
    INTEGER: its name and type follow the nearest "(" or "," before."""
    depth, start = 0, at - 1
    while start >= 0 and not (depth == 0 and tokens[start].text in ("(", ",")):  # past a CHECK (...)
        depth += {")": 1, "(": -1}.get(tokens[start].text, 0)
        start -= 1
    # exactly INTEGER, as SQLite requires of a rowid alias: not INTEGER(10), nor INTEGER UNSIGNED
    return [t.upper for t in tokens[start + 2:start + 3]] == ["INTEGER"] and start + 3 < len(tokens) \
        and tokens[start + 3].upper in ("PRIMARY", "NOT", "NULL", "CONSTRAINT", "CHECK", "DEFAULT", "COLLATE")


def _constraint_clauses(table: Table) -> tuple[set[str], dict[tuple[str, ...], str]]:
    """_clauses of the table's constraints but its UNIQUEs; and of each
    UNIQUE, its folded columns: its ON CONFLICT clause, or ""."""
    names = _ROWID_NAMES | {_fold(column.name) for column in table.columns}
    clauses, conflicts = set(), {}
    for item in _definition_items(_tokenize(table.sql))[0]:
        if item[0].upper not in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            continue  # (a column's)
        key = _constraint_key(item[2:] if item[0].upper == "CONSTRAINT" else item, names)
        if key is not None and key[0] == "UNIQUE":
            conflicts[key[1]] = key[2]
        else:
            clauses |= _clauses(item)
    return clauses, conflicts


# ============================================================================
# Operations -> SQL
# ============================================================================

def _addable(column: Column, table: Table) -> bool:
    """Whether ALTER TABLE ADD COLUMN accepts `column` on a table with rows
    (decided from the definition: the replay database is empty, so trying it
    there proves nothing)."""
    if column.generated:  # (SQLite checks a NOT NULL one on every row, as a rebuild's copy would)
        return column.generated.startswith("VIRTUAL")
    if any(_fold(c) == _fold(column.name) for c in table.primary_key):
        return False
    if column.default is None:
        return not column.notnull
    tokens = _tokenize(column.default)
    if tokens and tokens[0].text == "(" and tokens[-1].text == ")":
        tokens = tokens[1:-1]
    if not _is_literal(tokens):
        return False
    is_null = tokens[-1].upper == "NULL"
    references = any(_fold(column.name) in _folded(fk.columns) for fk in table.foreign_keys)
    return not (is_null and column.notnull) and not (references and not is_null)


def _droppable(column: Column, table: Table, schema: Schema, after: Table) -> bool:
    """Whether ALTER TABLE DROP COLUMN works (lang_altertable.html#altertabdropcol);
    a generated column that reads it and goes too is dropped first (_native_alter_sql)."""
    name = _fold(column.name)
    if name in _folded(table.primary_key) or any(name in _folded(u) for u in table.unique):
        return False
    if any(name in _folded(fk.columns) for fk in table.foreign_keys):
        return False
    if any(_mentions(check, column.name) for check in table.checks):
        return False
    if any(c.generated and _mentions(c.generated, column.name) and after.column(c.name) is not None
           for c in table.columns):
        return False
    for other in schema.tables:
        for fk in other.foreign_keys:
            if _fold(fk.table) == _fold(table.name) and name in _folded(fk.to):
                return False
    return True


def _rebuild_reasons(before: Table, after: Table, schema: Schema) -> list[str]:
    """Why SQLite cannot make this change in place; empty when it can."""
    # (foreign keys: below, as some can be added in place)
    reasons = [f"{label} changed" for label in _changed_properties(before, after) if label != "foreign keys"]
    for column in after.columns:
        old = before.column(column.name)
        if old is not None and old.signature != column.signature:
            reasons.append(f"column {column.name} changed ({_column_change(old, column)})")
        elif old is None and not _addable(column, after):
            reasons.append(f"column {column.name} cannot be added by ALTER TABLE")
        elif old is None and column.check and (read := next((c.name for c in after.columns if c is not column
                                                               and before.column(c.name) is None
                                                               and _mentions(column.check, c.name)), None)):
            # (ADD COLUMN would meet one before the other, and the down section's DROP COLUMN the other way round)
            reasons.append(f"column {column.name}'s CHECK reads {read}, which is new too")
        elif old is None and column.generated and (read := next((c.name for c in after.columns if c is not column
                                                                   and c.generated and before.column(c.name) is None
                                                                   and _mentions(column.generated, c.name)), None)):
            # (the new columns are added plain ones first: one generated column reading another needs an order)
            reasons.append(f"column {column.name}'s expression reads {read}, which is a new generated column too")
    for column in before.columns:
        if after.column(column.name) is None and not _droppable(column, before, schema, after):
            reasons.append(f"column {column.name} cannot be dropped by ALTER TABLE")
    added = {_fold(c.name) for c in after.columns if before.column(c.name) is None}
    if added and _reads_otherwise(before.sql, _ROWID_NAMES | {_fold(c.name) for c in before.columns}, added):
        reasons.append(f"a CHECK or generated column says \"{_quoted_word(before.sql, added)}\" in double quotes, "
                       "text until a column has that name: the models' expressions are written anew")
    old_fks = {fk.signature for fk in before.foreign_keys}
    new_fks = {fk.signature for fk in after.foreign_keys}
    if old_fks - new_fks:
        reasons.append("foreign keys removed or changed")
    for fk in after.foreign_keys:
        if fk.signature not in old_fks and not _inline_on_new_column(fk, before, after):
            reasons.append("foreign key added to an existing column")
            break
    return reasons


def _inline_on_new_column(fk: ForeignKey, before: Table, after: Table) -> bool:
    if len(fk.columns) != 1 or before.column(fk.columns[0]) is not None:
        return False
    column = after.column(fk.columns[0])
    return any(t.upper == "REFERENCES" for t in _tokenize(column.definition))


def _native_alter_sql(before: Table, after: Table) -> list[str]:
    """Indexes out, columns added, columns dropped (SQLite will not drop a
    table's last column, so the new ones come first), indexes in. New
    generated columns come after the others, which they may read, and go
    before them."""
    table = quote(after.name)
    new_indexes = {i.signature for i in after.indexes}
    old_indexes = {i.signature for i in before.indexes}
    statements = [f"DROP INDEX {quote(i.name)}" for i in before.indexes if i.signature not in new_indexes]
    for column in sorted(after.columns, key=lambda c: bool(c.generated)):  # (sorted() keeps their order)
        if before.column(column.name) is None:
            statements.append(f"ALTER TABLE {table} ADD COLUMN {column.definition}")
    for column in sorted(before.columns, key=lambda c: not c.generated):
        if after.column(column.name) is None:
            warning = "" if column.generated else \
                _comment(f"WARNING: drops column {after.name}.{column.name} and its data") + "\n"
            statements.append(f"{warning}ALTER TABLE {table} DROP COLUMN {quote(column.name)}")
    statements += [i.sql for i in after.indexes if i.signature not in old_indexes]
    return statements


_MOST_COLUMNS = 2000  # SQLite's column limit (SQLITE_MAX_COLUMN), for a table and for a SELECT alike


def _rebuild_sql(schema: Schema, before: Table, after: Table, fills: dict,
                 reasons: list[str]) -> list[str]:
    """SQLite's 12-step table rebuild (lang_altertable.html#otheralter), the
    part that runs inside the transaction; the runner does the rest (foreign
    keys off before BEGIN, foreign_key_check before COMMIT). Rowids, the
    AUTOINCREMENT counter, indexes, triggers and views all survive."""
    name, temporary = after.name, "_new_" + after.name
    if schema.table(temporary) is not None:
        raise MigrateError(f"cannot rebuild {name}: a table named {temporary} already exists; rename it")
    # Every view is dropped (a view of a view of the table counts too), so the
    # triggers on views and those that read one go and come back with them.
    views = {_fold(v.name) for v in schema.views}
    triggers = [t for t in schema.triggers if _fold(t.table) == _fold(name) or _fold(t.table) in views
                or any(_mentions(t.sql, other, strings=True) for other in [name, *(v.name for v in schema.views)])]
    statements = [f"DROP TRIGGER {quote(t.name)}" for t in triggers if _fold(t.table) != _fold(name)]
    statements += [f"DROP VIEW {quote(v.name)}" for v in schema.views]
    header = (_comment(f"Rebuild {name}: {'; '.join(reasons)}.") + "\n"
              "-- Steps from https://www.sqlite.org/lang_altertable.html#otheralter\n")
    header += "".join(_comment(f"WARNING: {warning}") + "\n"
                      for warning in _column_warnings(before, after) + _new_rowid_warnings(before, after))
    statements.append(header + _rename_create_table(after.sql, temporary))
    if after.autoincrement:  # keep the counter, not only max(rowid)
        statements.append(f"INSERT INTO sqlite_sequence (name, seq) SELECT {quote_literal(temporary)}, seq "
                          f"FROM sqlite_sequence WHERE name = {quote_literal(name)} COLLATE NOCASE")
    targets, sources = _copy_columns(before, after, fills)
    if len(targets) > _MOST_COLUMNS:  # (only with the rowid: a table has no more columns than that)
        raise MigrateError(f"cannot rebuild {name}: the copy of its rows reads its rowid besides its "
                           f"{len(targets) - 1} columns, more than the {_MOST_COLUMNS} SQLite allows; drop a column "
                           "in a migration of its own first (a drop needs no rebuild); nothing was written")
    if targets:  # OR ABORT overrides a table's ON CONFLICT REPLACE/IGNORE, which would drop rows silently
        statements.append(f"INSERT OR ABORT INTO {quote(temporary)} ({', '.join(targets)})\n"
                          f"  SELECT {', '.join(sources)} FROM {quote(name)}")
    statements.append(f"DROP TABLE {quote(name)}")
    statements.append(f"ALTER TABLE {quote(temporary)} RENAME TO {quote(name)}")
    statements += [i.sql for i in after.indexes]
    statements += [v.sql for v in schema.views]
    statements += [t.sql for t in triggers]
    return statements


def _rowid_name(table: Table) -> str | None:
    """What names the table's rowid in SQL: its INTEGER PRIMARY KEY column, or
    the first of SQLite's three names that no column has taken. None: no
    rowid, or all three names are columns."""
    if table.without_rowid:
        return None
    if table.rowid_alias:
        return quote(table.rowid_alias)
    return next((name for name in ("rowid", "_rowid_", "oid") if table.column(name) is None), None)


def _copy_columns(before: Table, after: Table, fills: dict) -> tuple[list[str], list[str]]:
    """INSERT ... SELECT column lists: same-named columns (a generated one
    only as a source), one-off values for columns that become NOT NULL, and
    the rowids (README: a rebuild keeps them), also into a new INTEGER
    PRIMARY KEY column."""
    targets, sources = [], []
    old_rowid, new_rowid = _rowid_name(before), _rowid_name(after)
    alias = after.rowid_alias
    if old_rowid and new_rowid and (not alias or before.column(alias) is None):
        targets.append(new_rowid)
        sources.append(old_rowid)
    for column in after.columns:
        if column.generated:
            continue
        old = before.column(column.name)
        fill = fills.get(_fold(column.name))
        if old is not None:  # a column that stops being generated keeps the values it had
            source = quote(old.name)
            if fill is not None and column.notnull and not old.notnull:
                source = f"coalesce({source}, {fill})"
        elif fill is not None:
            source = fill
        else:
            continue
        targets.append(quote(column.name))
        sources.append(source)
    return targets, sources


# ============================================================================
# Migration files
# ============================================================================

_FILE_NAME = re.compile(r"([0-9]{4,})_(\w+)\.sql")  # (ASCII digits: int() would read "\u0662" as 2 too)
_SECTION = re.compile(r"^[ \t]*--[ \t]*migrate:(up|down)[ \t]*\r?$", re.I | re.M)  # \r: CRLF files
REPLACED_FOLDER = "replaced"  # in the migrations folder: the files a squash replaced, until every database has it
_REPLACED_CHECKSUM = 16  # hex digits of each replaced file's checksum a squash lists: enough to notice an edit
_REPLACES = re.compile(r"^--[ \t]*migrate:replaces[ \t]+(.+)$", re.M)
# What is meant as a marker and is not one would be a comment, and the down SQL
# below it would run with the up: dbmate's options (`-- migrate:down transaction:false`),
# a space too many, a comment after it. (`-- migrate: update the rows` is a comment.)
_LIKE_A_MARKER = re.compile(r"^[ \t]*--[ \t]*migrate[ \t]*:[ \t]*(?:up|down)[ \t]*"
                            r"(?:\r?$|--|[;:]|transaction\b).*$", re.I | re.M)
# Pasted from a web page or a chat, a marker may hold a space that is not one
# to the markers (a no-break or zero-width space, a vertical tab) or a
# full-width colon: SQLite still reads the line as a comment.
_ODD_SPACE = re.compile(r"[^\S\n\r\t ]|[\u200b-\u200d\u2060\ufeff]")


# Letters of other alphabets that look like Latin ones (Cyrillic, Greek), as a
# keyboard layout or a font's fallback types them into `-- migrate:dоwn`.
_LOOKALIKES = str.maketrans("аеорсухіјѕԁАВЕКМНОРСТХІЈЅοαινρτυκΑΒΕΗΙΚΜΝΟΡΤΥΧıℓ",
                            "aeopcyxijsdABEKMHOPCTXIJSoaivptukABEHIKMNOPTYXil")


def _plain_spaces(text: str) -> str:
    """The text with each odd space a plain one, a full-width colon a colon,
    and a letter that looks Latin the Latin one (same offsets)."""
    if text.isascii() and not any(odd in text for odd in "\v\f\x1c\x1d\x1e\x1f"):  # (fast: most files)
        return text
    return _ODD_SPACE.sub(" ", text).replace("\uff1a", ":").translate(_LOOKALIKES)


@dataclass(frozen=True)
class Migration:
    """One migration file: `up` SQL, `down` SQL (None: irreversible)."""
    name: str
    number: int
    path: str
    up: str
    down: str | None
    checksum: str
    replaces: tuple[str, ...] = ()  # a squashed migration: the names it stands for
    replaced_checksums: tuple[str, ...] = ()  # and the start of each one's checksum when squashed ("": unknown)
    raw_checksum: str = ""  # of the bytes as they are, as earlier versions recorded it
    text: str = ""  # with LF line endings and no byte order mark: what `checksum` is of

    def matches(self, checksum: str) -> bool:
        """Whether a recorded checksum is this file's: its text with LF line
        endings and no byte order mark (a checkout with CRLF is the same
        migration), or its bytes as an earlier version recorded them, from
        this checkout or one with other line endings."""
        return checksum in (self.checksum, self.raw_checksum) or checksum in self._checksums_elsewhere

    @cached_property
    def _checksums_elsewhere(self) -> set[str]:
        crlf = self.text.replace("\n", "\r\n")
        return {_checksum(variant.encode("utf-8")) for variant in (crlf, "\ufeff" + self.text, "\ufeff" + crlf)}


def read_migrations(directory: str | os.PathLike) -> list[Migration]:
    """Every `NNNN_slug.sql` in `directory`, in order, checked: numbers unique
    and without gaps, each file with a `-- migrate:up` section."""
    migrations = _migration_files(directory)
    problem = _numbering_problem(migrations)
    if problem:
        raise MigrateError(problem)
    return migrations


def _migration_files(directory: str | os.PathLike) -> list[Migration]:
    """read_migrations but for their numbering (status lists them all)."""
    directory = _path_argument(directory, "the migrations directory", "--dir FOLDER")
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise MigrateError(f"migrations directory {directory} is not a directory: pass --dir FOLDER, or move "
                               "that file away")
        _refuse_broken_link(directory, "migrations directory")
        where = "" if os.path.isabs(directory) else f" in {os.getcwd()}"  # (the library: from another folder?)
        raise MigrateError(f"migrations directory {directory} not found{where}: run `make` to create it, or pass "
                           "--dir")
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        raise MigrateError(f"cannot read migrations directory {directory}: {exc.strerror}") from None
    migrations = []
    for entry in entries:
        if entry.startswith("."):  # an editor's lock file (.#0001_x.sql), macOS's ._0001_x.sql
            continue
        if entry.lower().endswith(".sql") and not entry.endswith(".sql"):
            raise MigrateError(f"migration file {os.path.join(directory, entry)} ends in {entry[-4:]}: name it "
                               ".sql (lower case), or it would be silently left out")
        if not entry.endswith(".sql"):
            continue
        match = _FILE_NAME.fullmatch(entry)
        if not match:
            raise MigrateError(f"migration file {os.path.join(directory, entry)} is not named "
                               "NNNN_slug.sql (digits, underscore, letters/digits/underscores): rename it")
        if int(match.group(1)) == 0:  # it would run before 0001, and `apply 0000` would mean nothing
            raise MigrateError(f"migration file {os.path.join(directory, entry)}: numbers start at 0001: "
                               "rename it to the next free number")
        migrations.append(_read_migration(os.path.join(directory, entry), int(match.group(1))))
    migrations.sort(key=lambda m: (m.number, m.name))
    return migrations


def _number(name: str) -> int:
    """The number a migration's name starts with; -1 for a name without one."""
    match = re.match(r"[0-9]+", name)
    return int(match.group()) if match else -1


_TIMESTAMP = 1970_00_00  # a number from YYYYMMDD on


def _numbering_problem(migrations: list[Migration]) -> str | None:
    """Two files with one number, a gap, or a _squash_problem: what
    `read_migrations` refuses."""
    squash_problem = _squash_problem(migrations)  # (first: a replaced file put back makes a gap too)
    if squash_problem:
        return squash_problem
    for previous, current in zip(migrations, migrations[1:]):
        if current.number == previous.number:
            return (f"migrations {previous.name} and {current.name} share number {current.number:04d} "
                    "(two branches each made one): renumber the one not yet applied anywhere (status lists "
                    f"which this database applied) to {migrations[-1].number + 1:04d} and run `make --check`")
        if current.number != previous.number + 1 and current.replaces:  # a squash keeps its number
            return (f"migration numbers jump from {previous.name} to {current.name}, a squash that keeps its "
                    f"number: rename {previous.name} (another branch's?) to number {migrations[-1].number + 1:04d}, "
                    "after it")
        if current.number != previous.number + 1 and current.number >= _TIMESTAMP:
            # (one alone, or a run numbered one by one, is taken as it is: a project may have applied it so)
            stamped = next(m for m in migrations if m.number >= _TIMESTAMP)
            return (f"migration {stamped.name} is numbered by a timestamp, as dbmate and others name files: "
                    "migrate.py numbers them in order, so rename them 0001_x.sql, 0002_y.sql... (README "
                    "'Migration files')")
        if current.number != previous.number + 1:
            return (f"migration numbers jump from {previous.name} to {current.name}: rename {current.name} to "
                    f"number {previous.number + 1:04d}")
    return None


def _squash_problem(migrations: list[Migration]) -> str | None:
    """A file that a squash replaces still among the migrations, or two
    squashes that replace the same file (two branches each squashed, and git
    merged them without a conflict): a database would run that SQL twice, or
    a revert of one squash would undo what the other still records."""
    here, replaced_by = {m.name: m for m in migrations}, {}
    for squash in (m for m in migrations if m.replaces):
        beside = [here[name] for name in squash.replaces if name in here]
        if beside:
            import shlex
            which = (f"{beside[0].name}, whose file is" if len(beside) == 1 else
                     f"{len(beside)} migrations ({beside[0].name} .. {beside[-1].name}) whose files are")
            folder = os.path.join(os.path.dirname(beside[0].path), REPLACED_FOLDER)
            made = "" if os.path.isdir(folder) else f"mkdir {shlex.quote(folder)} && "  # (cut short before it)
            return (f"migration {squash.name} replaces {which} still among the migrations (a squash cut short?): "
                    f"move {'it' if len(beside) == 1 else 'them'} into {folder}, where squash keeps the files it "
                    f"replaces ({made}mv {' '.join(shlex.quote(m.path) for m in beside)} "
                    f"{shlex.quote(folder + os.sep)})")
        for name in squash.replaces:
            if name in replaced_by:
                return (f"migrations {replaced_by[name]} and {squash.name} both replace {name} (two branches each "
                        f"squashed): keep one and delete the other (one that no database has in its {MIGRATIONS_TABLE} "
                        f"table), and move back out of {REPLACED_FOLDER}/ the files that only the deleted one replaced")
            replaced_by[name] = squash.name
    return None


# What git leaves in a file both branches changed: all three lines, in order.
_CONFLICT_MARKERS = [re.compile(r"^<{7} [^\r\n]*", re.M), re.compile(r"^={7}\r?$", re.M), re.compile(r"^>{7} ", re.M)]


def _merge_conflict(text: str) -> re.Match | None:
    """The first line of a merge conflict left in the text, if one is: a
    `<<<<<<< ` line, then a `=======` one, then a `>>>>>>> ` one. Each is
    searched for once, from the one before: the first `<<<<<<<` has the
    most text after it, so if it starts no conflict, none does."""
    if "<<<<<<<" not in text:
        return None
    found, position = [], 0
    for marker in _CONFLICT_MARKERS:
        match = marker.search(text, position)
        if match is None:
            return None
        found.append(match)
        position = match.end()
    return found[0]


def _read_migration(path: str, number: int) -> Migration:
    """One migration file read and split into its sections, or refused with
    what is wrong with it (not a file, not UTF-8, a marker that is not one...)."""
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):  # reading would never end
        raise MigrateError(f"migration file {path} is not a regular file (a pipe, or a link to a device): "
                           "replace it with the file, or remove it")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:  # a folder or a dangling link named like a migration, no permission
        raise MigrateError(f"cannot read migration file {path}: {exc.strerror}: fix or remove it") from None
    if raw.startswith(b"SQLite format 3\x00"):  # (a --backup or a copy of the database, named like one)
        raise MigrateError(f"migration file {path} is a SQLite database, not SQL: move it out of the migrations "
                           "folder")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrateError(f"migration file {path} is not UTF-8 ({exc}): re-save it as UTF-8") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise MigrateError(f"migration file {path} has a NUL character on line {line}: remove it "
                           "(SQL text cannot hold one)")
    text = text[1:] if text.startswith("\ufeff") else text  # the byte order mark some editors write
    if "\r" in text and "\n" not in text:
        raise MigrateError(f"migration file {path} ends its lines with CR alone (an old Mac format), where an SQL "
                           "`--` comment and a section marker line do not end: save it with LF (or CRLF) line endings")
    if "\r" in text and (lone := _lone_carriage_return(text)) is not None:
        raise MigrateError(f"migration file {path} has a CR without an LF on line {text.count(chr(10), 0, lone) + 1}, "
                           "which an editor may show as a line end but SQLite and the section markers do not (a "
                           "`--` comment or marker after it runs on): save it with LF (or CRLF) line endings (a "
                           "database that applied it ran it as SQLite reads it: check what that did)")
    conflict = _merge_conflict(text)
    if conflict:  # (else SQLite's syntax error, or a marker missing, would hide it)
        raise MigrateError(f"migration file {path} has a merge conflict left in it (line "
                           f"{text.count(chr(10), 0, conflict.start()) + 1}: {conflict.group()!r}): resolve it, "
                           "then run make --check")
    up, down = parse_sections(text, path)
    replaces = _REPLACES.search(text.split("-- migrate:up", 1)[0])
    pairs = [entry.partition(":") for entry in replaces.group(1).split()] if replaces else []
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    content = normalised.encode("utf-8")
    digest = _checksum(content)
    return Migration(os.path.basename(path)[:-4], number, path, up, down, digest,
                     tuple(name for name, _, _ in pairs), tuple(checksum for _, _, checksum in pairs),
                     digest if content == raw else _checksum(raw), normalised)


def _lone_carriage_return(text: str) -> int | None:
    """Where a CR without an LF is that an editor may show as a line end
    before more text (only spaces after it up to the LF are no matter), but
    outside a string, a quoted name or a /* comment */, where it is their
    own; None when there is none."""
    lone = [m.start() for m in re.finditer(r"\r(?![ \t\f\v]*(?:\r?\n|\Z))", text)]
    if not lone:
        return None
    kept = [m.span() for m in _TOKEN.finditer(text) if "\r" in m.group() and (
        m.lastgroup in ("string", "ident") or m.group().startswith("/*"))]
    return next((at for at in lone if not any(start < at < end for start, end in kept)), None)


# Looser: a comment line that is only a word meaning the down section, maybe
# after "migrate" or goose's name, as another tool writes its marker
# (`-- migrate:dwon`, `-- migrate:rollback`, `--- migrate down`, sql-migrate's
# `-- +migrate Down`, `-- +goose Down`, MyBatis' `-- //@UNDO`, `-- rollback`). Files applied before
# may hold such a line as a comment, so only a migration about to be applied is
# refused for one in its up section (_marker_near_miss).
_MARKER_WORDS = (r"(?P<sigil>[+@\[(/!#*=<\-_~]*)[ \t]*(?P<tool>migrat[a-z]*|goose)?[ \t:\-_.,/()\[\]*]*"
                 r"(?P<word>[a-z]+)(?:[ \t]+(?:migrations?|sql|section|script|steps?))?[ \t;:.!)\]*=>\-#_~+]*"
                 r"(?:transaction\S*[ \t]*)?")
_NEAR_A_MARKER = re.compile(r"^[ \t]*-{2,}[ \t]*" + _MARKER_WORDS + "$", re.I | re.M)
_COMMENT_NEAR_A_MARKER = re.compile(_MARKER_WORDS, re.I)  # what a comment says, its -- or /* */ taken off
_DOWN_WORDS = {"down", "downgrade", "rollback", "undo", "revert", "reverse", "back", "backward", "backwards"}
_CODE_THEN_COMMENT = re.compile(r"\S[ \t]*--")  # a -- comment after a statement on its line


def _marker_near_miss(text: str) -> str | None:
    """The first line of a file's up section that was meant as the down
    section's marker and reads as a comment, as "line N: '...'"."""
    text = _plain_spaces(text)
    marks = {m.group(1).lower(): m for m in reversed(list(_SECTION.finditer(text)))}  # the first of each
    start, end = marks["up"].end() if "up" in marks else 0, marks["down"].start() if "down" in marks else len(text)
    for line in _NEAR_A_MARKER.finditer(text, start, end):
        # (a note with only comments after it, before the down marker, runs nothing of the down section)
        if not _SECTION.fullmatch(line.group()) and _means_down(line) \
                and ("down" not in marks or _has_code(text[line.end():end])):
            return f"line {text.count(chr(10), 0, line.start()) + 1}: {line.group().strip()!r}"
    if "/*" in text[start:end] or _CODE_THEN_COMMENT.search(text, start, end):  # (else none of the kinds below)
        return _comment_near_miss(text, start, end, notes_last="down" in marks)
    return None


def _comment_near_miss(text: str, start: int, end: int, *, notes_last: bool) -> str | None:
    """_marker_near_miss for a /* */ comment (`/* migrate:down */`) and a --
    comment after a statement on its line (`...; -- migrate:down`), between
    two statements or after the last (unless `notes_last`: the real marker
    follows, and nothing of the down section runs): where a marker would
    have split the section. After a statement only a tool's marker counts
    (`...; -- undo` is a note; `-- +goose Down`, `-- //@UNDO` are markers)."""
    gaps, position = [], start  # (from, to): the spaces and comments before each statement, and after the last
    for statement in split_statements(text[start:end]):
        at = text.index(statement, position)
        first = next(_tokens(statement))
        gaps.append((position, at + first.start))
        position = at + len(statement)
    if not notes_last:
        gaps.append((position, end))
    for gap_start, gap_end in gaps:
        for comment in _TOKEN.finditer(text, gap_start, gap_end):
            written = comment.group()
            if not written.startswith(("--", "/*")):
                continue
            said = _COMMENT_NEAR_A_MARKER.fullmatch(written.strip(_SQL_SPACES + "/*-").strip(_SQL_SPACES))
            if not said or not _means_down(said):
                continue
            if written.startswith("--") and not _after_code(text, start, gap_start, comment.start()):
                continue  # alone on its line: read line by line above
            if written.startswith("--") and not (said.group("tool") or set("+@") & set(said.group("sigil"))):
                continue  # a note after a statement (`-- undo`), not a tool's marker (`-- +goose Down`)
            return f"line {text.count(chr(10), 0, comment.start()) + 1}: {written.strip()!r}"
    return None


def _after_code(text: str, start: int, gap_start: int, at: int) -> bool:
    """Whether the comment at `at` follows something on its line: the end of
    the statement before (no line ends between `gap_start`, where that
    statement ended, and the comment; `start`, the section's start, has no
    statement before it) or another comment. Only the gap is read: a long
    line of statements would be read again for every comment."""
    newline = text.rfind("\n", gap_start, at)
    if newline == -1:
        return gap_start > start  # (on the line where the statement before ends; the first has none)
    return bool(text[newline + 1:at].strip(_SQL_SPACES))


def _means_down(said: re.Match) -> bool:
    """Whether a comment that _NEAR_A_MARKER or _COMMENT_NEAR_A_MARKER read means the down section."""
    tool, word = said.group("tool"), said.group("word").lower()
    if word in ("back", "backward", "backwards", "reverse") and not tool and set(said.group()) & set("=<>#_~*"):
        return False  # a heading (`-- ## Back ##`, the back end), where "down" would be the section
    return word in _DOWN_WORDS or bool(tool and _one_typo(word, "down"))


def _one_typo(word: str, meant: str) -> bool:
    """Whether `word` is `meant` with one letter wrong, missing, extra or
    swapped with the next ("dwon", "dow", "downs"; not "done")."""
    if len(word) == len(meant):
        wrong = [i for i, (a, b) in enumerate(zip(word, meant)) if a != b]
        return len(wrong) == 1 or (len(wrong) == 2 and wrong[1] == wrong[0] + 1
                                   and word[wrong[0]] == meant[wrong[1]] and word[wrong[1]] == meant[wrong[0]])
    longer, shorter = (word, meant) if len(word) > len(meant) else (meant, word)
    return len(longer) == len(shorter) + 1 and any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def _has_code(sql: str) -> bool:
    """Whether SQLite would run anything: not only spaces, comments and `;`."""
    return any(token.text != ";" for token in _tokens(sql))


def parse_sections(text: str, path: str = "migration") -> tuple[str, str | None]:
    """The up and down SQL of a migration file's text."""
    marks = list(_SECTION.finditer(text))
    kinds = [m.group(1).lower() for m in marks]
    plain = _plain_spaces(text)
    for line in _LIKE_A_MARKER.finditer(plain) if plain != text else ():
        written = text[line.start():line.end()]
        if written != line.group():
            raise MigrateError(f"migration file {path}, line {text.count(chr(10), 0, line.start()) + 1}: "
                               f"{ascii(written.strip(' '))} is meant as a section marker but holds a character "
                               "other than a plain space, colon or Latin letter, so it would be read as a comment: "
                               "retype the line")
    for line in _LIKE_A_MARKER.finditer(text):
        if not _SECTION.fullmatch(line.group()):
            raise MigrateError(f"migration file {path}, line {text.count(chr(10), 0, line.start()) + 1}: "
                               f"{line.group().strip()!r} is not a section marker (only `-- migrate:up` and "
                               "`-- migrate:down`, alone on their line; every migration runs in a transaction): "
                               "fix the line")
    if kinds.count("up") != 1 or kinds.count("down") > 1 or kinds[0] != "up":
        raise MigrateError(f"migration file {path} needs one `-- migrate:up` line, optionally followed "
                           "by one `-- migrate:down` line: fix the section markers")
    if _has_code(text[:marks[0].start()]):
        raise MigrateError(f"migration file {path} has SQL before its `-- migrate:up` line, which would never "
                           "run: move it below the marker")
    up_end = marks[1].start() if len(marks) > 1 else len(text)
    up = text[marks[0].end():up_end].strip("\n")
    if len(marks) > 1 and not sqlite3.complete_statement(up + "\n;"):
        raise MigrateError(f"migration file {path}: its `-- migrate:down` line is inside a /* comment */, a "
                           "string or an unfinished statement of the up section: finish that before the "
                           "marker, or move the marker out")
    down = text[marks[1].end():].strip("\n") if len(marks) > 1 else None
    return up, down


def _checksum(data: bytes) -> str:
    import hashlib  # only needed here; it is slow to import
    return hashlib.sha256(data).hexdigest()


def split_statements(sql: str) -> list[str]:
    """Split SQL into statements the way SQLite reads them: semicolons inside
    strings, quoted names, comments and trigger bodies do not split."""
    statements, start, misses = [], 0, 0
    end = sql.find(";")
    while end != -1:
        if misses == 32:  # a long run of quoted semicolons: checking each would be quadratic
            end = _statement_end(sql, start)
            if end == -1:
                break
        candidate = sql[start:end + 1]
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate):
                statements.append(candidate.strip(_SQL_SPACES))
            start, misses = end + 1, 0
        else:
            misses += 1
        end = sql.find(";", end + 1)
    if _has_code(sql[start:]):
        statements.append(sql[start:].strip(_SQL_SPACES))
    return statements


def _statement_end(sql: str, start: int) -> int:
    """Where the statement from `start` ends: the first `;` outside strings,
    names and comments that completes it (-1: none does)."""
    for match in _TOKEN.finditer(sql, start):
        if match.group() == ";" and sqlite3.complete_statement(sql[start:match.end()]):
            return match.start()
    return -1


def _terminated(statement: str) -> str:
    """The statement ending in one `;` (on a line of its own when the
    statement ends in a -- comment, which would swallow it)."""
    text = statement.rstrip(_SQL_SPACES + ";")
    return text + ";" if sqlite3.complete_statement(text + ";") else text + "\n;"


_SCHEMA_WORDS = {"CREATE", "DROP", "ALTER"}  # the first words of statements that change the schema


def _schema_statements(statements: list[str]):
    """(statement, its first tokens) for each statement that changes the schema."""
    for statement in statements:
        tokens = _first_tokens(statement, 7)
        if tokens and tokens[0].upper in _SCHEMA_WORDS:
            yield statement, tokens


def _cascading_drops(scratch, statements) -> list[str]:
    """Run `statements` on `scratch` (the schema, no rows needed) and name the
    tables a `DROP TABLE` drops while another table references them: with
    foreign keys enforced, that DROP deletes, orphans or refuses the other
    table's rows. Asked just before each DROP, so children dropped first do
    not count, and a rebuild's _new_ copy, which already references the old
    name, does (a table referencing itself loses its rows that way). Only
    schema statements run: on tables without rows, a data statement proves
    nothing and may fail (a subquery filling a NOT NULL column)."""
    dropped = []
    for statement, tokens in _schema_statements(statements):
        name = _name_at(tokens, 2) if [t.upper for t in tokens[:2]] == ["DROP", "TABLE"] else None
        if name and scratch.execute(
                "SELECT 1 FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS fk "
                "WHERE m.type = 'table' AND fk.\"table\" = ? COLLATE NOCASE AND m.name <> ? COLLATE NOCASE "
                "LIMIT 1", (name, name)).fetchall():
            dropped.append(name)
        scratch.execute(statement)
    return dropped


def render_migration(up: list[str], down: list[str] | None, description: list[str], *,
                     replaces: tuple[str, ...] = ()) -> str:
    """A migration file's text; with `down` None, one without a down section
    (irreversible)."""
    for name, statements in (("up", up), ("down", down), ("description", description)):
        if isinstance(statements, str):  # (each of its characters would be a statement)
            raise MigrateError(f"render_migration takes {name} as a list of strings, not one string: pass "
                               f"[{_shorten(statements, 40)!r}] or split_statements(...); nothing was written")
    for statement in (*up, *(down or ())):
        if _SECTION.search(statement):
            raise MigrateError(f"the statement {_shorten(statement, 80)} has a line that reads as a section "
                               "marker (-- migrate:up or -- migrate:down), so its file would not read back: "
                               "change the default, CHECK or name that holds it; nothing was written")
    header = "".join(_comment(line) + "\n" for line in description)
    if replaces:
        header += f"-- migrate:replaces {' '.join(replaces)}\n"
    body = lambda statements: "".join(_line_ends(_terminated(s), "\n") + "\n\n" for s in statements)
    return (f"-- Generated by migrate.py {__version__}\n{header}\n"
            f"-- migrate:up\n{body(up)}"
            + ("" if down is None else f"-- migrate:down\n{body(down)}")).rstrip("\n") + "\n"


def _line_ends(sql: str, newline: str) -> str:
    """SQL with its line ends as `newline` (LF for SQL a CRLF file made, read
    back from sqlite_master into a new file; CRLF for a file that has them),
    but for those of its strings and quoted names, which are their values."""
    if "\r\n" not in sql and newline == "\n":
        return sql
    ends = lambda text: text.replace("\r\n", "\n").replace("\n", newline)
    parts, end = [], 0
    for token in _tokens(sql):
        if token.kind in ("string", "ident"):
            parts += [ends(sql[end:token.start]), token.text]
            end = token.end
    return "".join(parts) + ends(sql[end:])


_LETTERS_WITHOUT_ACCENTS = str.maketrans({"ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE",
                                          "œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th",
                                          "Þ": "TH", "ı": "i", "ħ": "h", "Ħ": "H", "ð": "d", "Ð": "D",
                                          "ŋ": "ng", "Ŋ": "NG", "ŧ": "t", "Ŧ": "T", "ĸ": "k", "ƒ": "f"})


def slugify(name: str) -> str:
    """A file-name-safe slug, ASCII (accents dropped: "Größe" -> "grosse"),
    or a clear error."""
    import unicodedata
    spelled = name.translate(_LETTERS_WITHOUT_ACCENTS)
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:60].rstrip("_")
    if not slug:
        raise MigrateError(f"migration name {name!r} has no ASCII letters or digits (file names are ASCII): pick "
                           "a name like add_author")
    return slug


def _slug_for(operations: list) -> str:
    """A file name slug from the first operation (`add_question_author`)."""
    first = operations[0]
    if isinstance(first, CreateTable):
        slug = f"create_{first.table.name}"
    elif isinstance(first, DropTable):
        slug = f"drop_{first.name}"
    elif isinstance(first, RenameTable):
        slug = f"rename_{first.old}_to_{first.new}"
    elif isinstance(first, RenameColumn):
        slug = f"rename_{first.table}_{first.old}"
    else:
        change = _table_changes(first.before, first.after)[0]
        verb = {"+": "add", "-": "drop", "~": "alter"}[change.sign]
        if change.kind == "index":
            slug = f"{verb.replace('add', 'create')}_index_{change.name}"
        elif change.kind == "column" and change.sign != "~":
            slug = f"{verb}_{first.after.name}_{change.name}"
        else:
            slug = f"alter_{first.after.name}"
    more = "_and_more" if len(operations) > 1 or len(first.describe()) > 1 else ""
    return slugify(slug)[:50] + more


# ============================================================================
# Scratch databases: replay migrations, try operations and check them
# ============================================================================

@dataclass(frozen=True)
class MakeResult:
    """What `make` found and (unless told not to) wrote."""
    operations: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    up: tuple[str, ...] = ()
    down: tuple[str, ...] = ()
    name: str | None = None
    path: str | None = None
    text: str | None = None


# Replaying is most of what `make` costs on a long history: SQLite re-reads the
# whole schema after every ALTER TABLE (~0.8 ms each with 200 tables). So the
# database a replay built is kept as a file in a per-user cache directory, named
# after a hash of every migration file (name and checksum) up to that point, of
# this migrate.py's source and of the SQLite library: an edited file has another
# name and never matches. A state is restored page for page (Connection.backup)
# and only newer migrations run on top. Only the database file is kept, so a
# state after a migration that changed the connection instead (a PRAGMA or an
# ATTACH) is never cached: replaying on top of it could differ; the state just
# before that migration is. (TEMP objects are dropped after each migration, as
# apply drops them.) Anything wrong with the cache means a full replay, never a
# different schema.
_CACHE_FILES_KEPT = 16
_CONNECTION_WORDS = {"PRAGMA", "ATTACH", "DETACH"}


def _cache_directory() -> str | None:
    """$XDG_CACHE_HOME/migrate.py, by default ~/.cache/migrate.py; None
    without a home directory to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # (a relative one is to be ignored, as the XDG spec says)
        home = os.path.expanduser("~")
        if home == "~":
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "migrate.py")


def _private(directory: str) -> bool:
    """Whether only we can write there: in a shared folder another user could
    plant states (their names follow from the migration files)."""
    try:
        info = os.stat(directory)
    except OSError:
        return False
    if hasattr(os, "getuid"):  # POSIX owners and modes; Windows has neither here
        return info.st_uid == os.getuid() and not info.st_mode & 0o022
    return True


def _state_keys(migrations: list[Migration]) -> list[str]:
    """keys[i] names the state after migrations[:i + 1]."""
    import hashlib
    try:
        with open(__file__, "rb") as handle:
            code = handle.read()
    except (NameError, OSError):  # frozen or embedded without a source file
        code = __version__.encode()
    probe = _scratch_database()
    try:
        options = [row[0] for row in probe.execute("PRAGMA compile_options")]
    finally:
        probe.close()
    key = hashlib.sha256(code + f"\nSQLite {sqlite3.sqlite_version} {options}".encode()).hexdigest()
    keys = []
    for migration in migrations:
        key = hashlib.sha256(f"{key}\n{migration.name} {migration.checksum}".encode()).hexdigest()
        keys.append(key)
    return keys


def _state_path(directory: str, key: str) -> str:
    return os.path.join(directory, f"replay-{key[:40]}.sqlite3")


def _open_read_only(path: str | os.PathLike, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A SQLite file opened read-only: a file gone meanwhile is an error,
    never a new empty database."""
    from urllib.parse import quote as quote_uri  # only here: a path with '?' or '#' needs it
    return sqlite3.connect(f"file:{quote_uri(os.fsencode(os.path.abspath(path)))}?mode=ro", uri=True,
                           timeout=timeout)


def _restore_state(path: str, scratch: sqlite3.Connection) -> bool:
    """Copy the state at `path` into `scratch`; False when it is gone, empty or
    damaged (read-only, so a file pruned meanwhile is no new empty one)."""
    try:
        source = _open_read_only(path)
        try:
            # reading the page count parses the schema (a damaged one raises), and
            # an empty file (a crash can leave one) opens as a database without
            # tables, while a real state always has at least one page
            if not source.execute("PRAGMA page_count").fetchone()[0]:
                return False
            source.backup(scratch)
        finally:
            source.close()
        return True
    except (sqlite3.Error, OSError, ValueError):
        return False


def _cached_state(directory: str, keys: list[str]) -> tuple[sqlite3.Connection, int]:
    """A scratch database restored from the longest cached prefix, and how
    many migrations it covers (0: none cached, an empty database)."""
    for count in range(len(keys), 0, -1):
        path = _state_path(directory, keys[count - 1])
        if not os.path.exists(path):
            continue
        scratch = _scratch_database()
        if not _restore_state(path, scratch):
            scratch.close()
            with suppress(OSError):
                os.remove(path)
            continue
        with suppress(OSError):
            os.utime(path)  # recently used: kept by _prune_cache
        return scratch, count
    return _scratch_database(), 0


_PARTIAL_NAME = re.compile(r"[0-9]{4,}_\w+\.sql\.[0-9]+-[0-9a-f]{8}\.partial")  # (_partial_path's, of a migration)


def _partial_path(path: str) -> str:
    """Where to write a file before it takes its name `path`: not named like a
    migration (never read as one, nor exported), and never the name of another
    process's, also one left by a process of the same id killed before (the
    first process of every container has id 1)."""
    return f"{path}.{os.getpid()}-{os.urandom(4).hex()}.partial"


def _cache_state(scratch: sqlite3.Connection, directory: str, key: str) -> None:
    """Keep `scratch` as the state named `key`; a cache that cannot be
    written (read-only home, full disk, not ours) is simply not used."""
    path = _state_path(directory, key)
    temporary = _partial_path(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not _private(directory):
            return
        target = sqlite3.connect(temporary)
        try:
            target.execute("PRAGMA journal_mode = OFF")  # a new private file, renamed when complete
            scratch.backup(target)
        finally:
            target.close()
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())  # the content is on disk before the name is
        os.replace(temporary, path)
        _prune_cache(directory)
    except (sqlite3.Error, OSError, ValueError):
        with suppress(OSError):
            os.remove(temporary)


def _prune_cache(directory: str) -> None:
    """Keep the most recently used states only."""
    entries = []
    for entry in os.scandir(directory):
        with suppress(OSError):  # removed meanwhile by another run
            entries.append((entry.stat().st_mtime, entry.path))
    for _, path in sorted(entries, reverse=True)[_CACHE_FILES_KEPT:]:
        with suppress(OSError):
            os.remove(path)


def _changes_the_connection(statements: list[str]) -> bool:
    """Whether the statements change the connection rather than the file: a
    PRAGMA, ATTACH or DETACH."""
    return any(_first_tokens(statement, 1)[0].upper in _CONNECTION_WORDS for statement in statements)


# Settings of the connection that a migration may change with a PRAGMA, and
# that would change what the later migrations of the run do (a CHECK not
# checked, ALTER TABLE's renames, triggers): each migration starts with them as
# the run found them, as it would run alone, and leaves them so.
# The connection's own settings (a number each) that a migration's PRAGMA may change: they would
# stay with the caller's connection after the run, and with the next migration within it.
_CONNECTION_PRAGMAS = ("defer_foreign_keys", "ignore_check_constraints", "legacy_alter_table",
                       "recursive_triggers", "reverse_unordered_selects", "trusted_schema", "automatic_index",
                       "cache_size", "cache_spill", "cell_size_check", "checkpoint_fullfsync", "count_changes",
                       "empty_result_callbacks", "full_column_names", "fullfsync", "journal_size_limit",
                       "max_page_count", "mmap_size", "read_uncommitted", "secure_delete", "short_column_names",
                       "threads", "wal_autocheckpoint", "analysis_limit")
_PRAGMA = re.compile(r"\bpragma\b", re.I)  # a quick look: most migrations have none (runner speed)


@contextmanager
def _settings_kept(conn, statements):
    """Run a migration's statements (in the `with` block), then set back
    the settings of _CONNECTION_PRAGMAS that they changed, also on failure."""
    settings = {}
    if any(_PRAGMA.search(statement) for statement in statements):
        for name in _CONNECTION_PRAGMAS:
            row = conn.execute(f"PRAGMA {name}").fetchone()  # (none from a SQLite too old to know it)
            if row:
                settings[name] = row[0]
    try:
        yield
    finally:
        for name, value in settings.items():  # (only what changed)
            if conn.execute(f"PRAGMA {name}").fetchone()[0] != value:
                conn.execute(f"PRAGMA {name} = {int(value)}")


def _temp_objects(conn) -> set[tuple[str, str]]:
    """The connection's TEMP tables, views, triggers and indexes (usually
    none: one query on a tiny table)."""
    return set(conn.execute("SELECT type, name FROM temp.sqlite_master WHERE sql IS NOT NULL "
                            "AND name NOT LIKE 'sqlite!_%' ESCAPE '!'").fetchall())


def _drop_temp_objects(conn, kept: set) -> None:
    """Drop the TEMP objects a migration made (all but `kept`): they live as
    long as the connection, so the next migration of the same run would find
    them (CREATE TEMP TABLE fails, a TEMP trigger fires) where a run of its
    own would not. Triggers, views and indexes first, then tables."""
    for kind, name in sorted(_temp_objects(conn) - kept, key=lambda item: (item[0] == "table", item)):
        conn.execute(f"DROP {kind.upper()} IF EXISTS temp.{quote(name)}")


_FORBIDDEN = {"BEGIN", "COMMIT", "END", "ROLLBACK", "VACUUM", "DETACH", "ATTACH"}
# The commonest statements, CREATE TABLE/INDEX/VIEW/TRIGGER, neither end a
# transaction nor change rows; a regex tells them before the tokenizer's slower
# look (runner speed). Anything it misses, comments first included, gets that look.
_PLAIN_CREATE = re.compile(r"\s*create\s+(?:unique\s+)?(?:table|index|view|trigger)\s", re.I)


_SAVEPOINT_WORDS = re.compile(r"\b(?:savepoint|release|rollback)\b", re.I)  # a quick look first (runner speed)


# PRAGMAs a migration may not run: what each would do, said in its refusal.
_REFUSED_PRAGMAS = {
    "JOURNAL_MODE": "this PRAGMA has no effect inside a transaction",
    "FOREIGN_KEYS": "this PRAGMA has no effect inside a transaction",
    "QUERY_ONLY": "this PRAGMA would stop the migration's own row in _migrations being written",
    "LOCKING_MODE": "PRAGMA locking_mode would keep the database locked for as long as the connection is open, "
                    "against every other reader and writer",
    "HARD_HEAP_LIMIT": "this PRAGMA limits the memory of the whole process, every connection in it, and a hard "
                       "limit cannot be raised again",
    "SOFT_HEAP_LIMIT": "this PRAGMA limits the memory of the whole process, every connection in it, and a hard "
                       "limit cannot be raised again",
    "CASE_SENSITIVE_LIKE": "PRAGMA case_sensitive_like changes LIKE for the connection, and cannot be read back to "
                           "be set back (compare with GLOB, or lower() on both sides, instead)",
    "WRITABLE_SCHEMA": "PRAGMA writable_schema lets SQL write sqlite_master itself, which SQLite does not check: "
                       "one wrong write leaves the database unreadable",
}


def _leading_words(statement: str) -> list[str]:
    """A statement's first four tokens, upper case, unquoted (PRAGMA "foreign_keys" too)."""
    return [_unquote(t.text[1:-1] if t.kind == "string" else t.text).upper() for t in _first_tokens(statement, 4)]


def _statement_problem(statement: str) -> str | None:
    """Statements that would end or cannot run in the migration's
    transaction, or that touch the history apply keeps."""
    if _names_migrations_table(statement):
        return (f"it names migrate.py's own table {MIGRATIONS_TABLE}, whose rows are the history of what was "
                "applied (changed by a migration, they would send the next apply and revert astray)")
    if _PLAIN_CREATE.match(statement):
        return None
    words = _leading_words(statement)
    if words and words[0] in _FORBIDDEN and not (words[0] == "ROLLBACK" and "TO" in words):
        return f"{words[0]} cannot run inside the migration's transaction"
    if words[:1] == ["PRAGMA"]:
        return next((_REFUSED_PRAGMAS[word] for word in words if word in _REFUSED_PRAGMAS), None)
    return None


def _limits_the_process(statement: str) -> bool:
    """A PRAGMA that limits the memory of the whole process (of `make`'s and
    `check`'s replay too, and of an application that calls them)."""
    words = _leading_words(statement)
    return words[:1] == ["PRAGMA"] and any(w in ("HARD_HEAP_LIMIT", "SOFT_HEAP_LIMIT") for w in words)


def _savepoint_problem(statement: str, opened: set) -> str | None:
    """A RELEASE or ROLLBACK TO of a savepoint that this migration's statements
    before it (`opened`, which a SAVEPOINT adds to) did not open: another
    migration's, which --atomic runs in the same transaction, so that its work
    and its row in _migrations would be undone while the run says it was applied."""
    if not _SAVEPOINT_WORDS.search(statement):
        return None
    tokens = [t for t in _first_tokens(statement, 6) if t.text != ";"]
    words, names = [t.upper for t in tokens], [_fold(_unquote(t.text)) for t in tokens]
    if words[:1] == ["SAVEPOINT"] and len(names) > 1:
        opened.add(names[1])
    elif words[:1] == ["RELEASE"] or words[:1] == ["ROLLBACK"] and "TO" in words:
        if names[-1] not in opened:
            return (f"{words[0]}{' TO' if words[0] == 'ROLLBACK' else ''} names a savepoint this migration did not "
                    "open (in one transaction with other migrations, as with --atomic, it would undo theirs)")
    return None


def _names_migrations_table(statement: str) -> bool:
    """Whether the statement names the migrations table: as a name, quoted
    or not, or as a string where SQLite takes one for a table's name."""
    if MIGRATIONS_TABLE not in _fold(statement):  # (fast: nearly every statement)
        return False
    before = ""
    for token in _tokens(statement):
        if token.kind in ("word", "ident"):
            name = _unquote(token.text)
        elif token.kind == "string" and before in ("FROM", "INTO", "UPDATE", "TABLE", "ON", "JOIN"):
            name = token.text[1:-1].replace("''", "'")
        else:
            name = ""
        if _fold(name) == MIGRATIONS_TABLE:
            return True
        before = token.upper
    return False


def _reaches_other_files(statement: str) -> bool:
    """ATTACH and VACUUM INTO: what apply refuses that would reach files
    other than the scratch database when a file is replayed."""
    words = [t.upper for t in _first_tokens(statement, 4)]
    return words[:1] == ["ATTACH"] or (words[:1] == ["VACUUM"] and "INTO" in words)


def _added_column_hint(message: str) -> str:
    """SQLite copies an ADD COLUMN's text up to the statement's end into the
    table's CREATE, a -- comment before its `;` too, which then hides the `)`."""
    if "after add column: incomplete input" not in message:
        return ""
    return " (a -- comment before the statement's `;` went into the table's definition: put the `;` first)"


_NO_SUCH_FUNCTION = re.compile(r"no such function: (\w+)")


# What the stand-ins of _execute_with_stand_ins answer, tried in turn for a
# statement that fails a constraint with one: NULL, then the first argument
# (a slug made of a NOT NULL column's text), or '' for a function of none,
# then 0 (a STRICT INTEGER column). And whether one was called.
_STAND_IN_ANSWERS = (lambda arguments: None, lambda arguments: arguments[0] if arguments else "",
                     lambda arguments: 0)
_STAND_IN = threading.local()


def _stand_in(*arguments):
    _STAND_IN.called = True
    return _STAND_IN.answer(arguments)


def _execute_with_stand_ins(scratch: sqlite3.Connection, statement: str) -> None:
    """Run a statement on a scratch database. A function SQLite does not
    know is the application's (a data migration that calls a Python function
    registered with conn.create_function, run by migrate.apply(conn)). The
    replay only builds the schema, so a stand-in takes its place, declared
    deterministic as an index or generated column needs; if what it answers
    fails a constraint (a NOT NULL column it fills), the next answer is tried."""
    failure = None
    for answer in _STAND_IN_ANSWERS:
        _STAND_IN.answer, _STAND_IN.called = answer, False
        try:
            for _ in range(16):  # (once per function the statement calls)
                try:
                    scratch.execute(statement)
                    return
                except sqlite3.OperationalError as exc:
                    missing = _NO_SUCH_FUNCTION.fullmatch(str(exc))
                    if not missing:
                        raise
                    scratch.create_function(missing.group(1), -1, _stand_in, deterministic=True)
            scratch.execute(statement)
            return
        except sqlite3.IntegrityError as exc:  # (the statement is undone, the scratch as it was before it)
            if not _STAND_IN.called:
                raise
            failure = failure or exc
    raise failure


def _replay_migration(scratch: sqlite3.Connection, migration: Migration, statements: list[str]) -> None:
    """Run a migration's statements on a scratch database. Of what apply
    refuses, what would reach other files or the migrations table (not in
    the scratch database) is refused here too; the rest
    runs harmlessly (a `sqlite3 .dump` pasted into a file adopted with
    --fake-initial has BEGIN and COMMIT). A SAVEPOINT left open is
    committed, as apply's COMMIT would, and the TEMP objects made are
    dropped, as apply does after each migration."""
    recorded = migration.path.startswith(f"{MIGRATIONS_TABLE} row ")  # (_recorded_history): not a file to edit
    edited = (", then run `apply --allow-changed` once to record the edit" if recorded else
              " (a database that applied it then needs `apply --allow-changed` once to record the edit)")
    the_file = "its file" if recorded else "the file"
    with _settings_kept(scratch, statements):
        for statement in statements:
            if (not _PLAIN_CREATE.match(statement) and (_reaches_other_files(statement)
                                                        or _limits_the_process(statement))) or \
                    _names_migrations_table(statement):
                raise MigrateError(f"migration {migration.path}: {_statement_problem(statement)}: "
                                   f"{_shorten(statement)}; remove it from {the_file} (run it by hand outside "
                                   f"migrations){edited}")
            try:
                _execute_with_stand_ins(scratch, statement)
            except sqlite3.Error as exc:
                hint = (" (if the table is made outside the migrations, by the application or another tool, make "
                        "it in one too, with CREATE TABLE IF NOT EXISTS before this statement, and with models, "
                        "give it one with __managed__ = False)"
                        ) if str(exc).startswith("no such table") and not recorded else ""
                fix = ("if an edit of its file since fixes that, run `apply --allow-changed` once to record it"
                       if recorded else f"fix the file{edited}")
                raise MigrateError(f"migration {migration.path} fails when replayed: {exc} in "
                                   f"statement: {_shorten(statement)}{hint}{_added_column_hint(str(exc))}; "
                                   f"{fix}") from None
    if scratch.in_transaction:
        scratch.execute("COMMIT")
    _drop_temp_objects(scratch, set())


def replay(migrations: list[Migration], *, cached: bool = True) -> sqlite3.Connection:
    """A scratch database holding what the migrations' up sections build.
    Starts from the longest cached state of a prefix of `migrations`, if any,
    and caches what it built (the cache is described above): the whole
    sequence, or the prefix before the first migration that changes the
    connection. `cached=False` leaves the cache alone."""
    directory = _cache_directory() if cached else None
    keys = _state_keys(migrations) if directory and migrations else []
    if keys and _private(directory):
        scratch, done = _cached_state(directory, keys)
    else:
        scratch, done = _scratch_database(), 0
    try:
        file_only = True
        for index in range(done, len(migrations)):
            statements = split_statements(migrations[index].up)
            if file_only and _changes_the_connection(statements):
                file_only = False
                if keys and index > done:
                    _cache_state(scratch, directory, keys[index - 1])
            _replay_migration(scratch, migrations[index], statements)
        if keys and file_only and done < len(migrations):
            _cache_state(scratch, directory, keys[-1])
    except BaseException:
        scratch.close()
        raise
    return scratch


def replayed_schema(migrations: list[Migration]) -> Schema:
    """The schema the migrations' up sections build."""
    scratch = replay(migrations)
    try:
        return read_schema(scratch)
    finally:
        scratch.close()


def _take_name(partial: str, path: str) -> None:
    """Rename a finished file to `path`, which must still not exist."""
    try:
        os.link(partial, path)  # fails, rather than replace a file made meanwhile
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if os.path.exists(path):
            import errno
            raise FileExistsError(errno.EEXIST, "a file by that name appeared meanwhile", path) from None
        os.replace(partial, path)
        return
    os.remove(partial)


def _code(sql: str | None) -> list[tuple[str, ...]] | None:
    """Each statement's tokens, comments and spacing left out: what SQLite runs."""
    return None if sql is None else [tuple(t.text for t in _tokens(s)) for s in split_statements(sql)]


def _broken_on_its_own(failure: str, schema: Schema | None) -> str:
    """What to do about SQLite's failure to re-read the schema: a view or
    trigger that reads a table that was not there before the change either
    is broken on its own (SQLite checks every one when a table is renamed or
    rebuilt, however unrelated); any other may read what the change alters."""
    broken = re.match(r"error in (view|trigger) (.+?): no such table: (?:main\.)?(.+)$", failure)
    if broken and schema is not None and schema.table(broken.group(3)) is None \
            and not any(_fold(v.name) == _fold(broken.group(3)) for v in schema.views):
        kind, name, missing = broken.groups()
        return (f"{kind} {name} is broken on its own ({missing} does not exist), and SQLite checks every view "
                "and trigger when a table is renamed or rebuilt: drop or fix it in a hand-written migration first")
    return "a view, trigger or hand-written index that uses it may need changing in a hand-written migration first"


def _cannot(operation, failure: str) -> str:
    """The start of a refusal, "cannot drop column t.b": what `operation`
    does, in its line that names the column of SQLite's "no such column" in
    `failure`, if one does (a rebuild may drop several)."""
    lines = operation.describe()
    missing = re.search(r"no such column: (?:\S+\.)?(\S+)", failure)
    named = [line for line in lines if missing and _fold(line).endswith(_fold(f".{missing.group(1)}"))]
    doing = (named or lines)[0][2:]  # ("- Drop column T.b": the verb in lower case, the names as written)
    return f"cannot {doing[:1].lower()}{doing[1:]}"


def _execute_operations(scratch: sqlite3.Connection, operations: list, *, down: bool = False) -> list[tuple]:
    """Render each operation against the current scratch schema and run it
    there, so the next one sees its effect; returns (operation, SQL, inverse).
    A down section only restores what was there: its drops are not checked,
    and its inverses (None) are not needed."""
    steps = []
    dropping = {_fold(op.name) for op in operations if isinstance(op, DropTable)}
    for operation in operations:
        # Creating a table, or dropping one in the down section, needs no schema: reading the whole schema
        # before each of them would make the first migration of N models cost N^2
        needless = isinstance(operation, CreateTable) or (down and isinstance(operation, DropTable))
        schema = None if needless else read_schema(scratch)
        statements = operation.sql(schema)
        inverse = None if down else operation.reverse(schema)
        fills = operation.fills if isinstance(operation, AlterTable) else {}
        if fills:
            _check_fills(scratch, operation, down=down)
        readers = _working_readers(scratch, schema, operation) if schema is not None and not down else []
        users = _column_users(schema, operation, statements) if not down else None
        failing_before = _failing_users(scratch, users) if users else {}
        for statement in statements:
            try:
                scratch.execute(statement)
            except sqlite3.Error as exc:
                if statement.startswith("INSERT OR ABORT INTO") and fills:  # the copy failed: the values are suspects
                    values = ", ".join(f"{operation.after.name}.{column}={value}" for column, value in fills.items())
                    raise MigrateError(f"the one-off value{'s' * (len(fills) > 1)} {values}"
                                       f"{' (for the down section)' if down else ''} fail{'s' * (len(fills) == 1)} in the copy of the rows "
                                       f"({exc}): fix the expression; nothing was written") from None
                raise MigrateError(
                    f"{_cannot(operation, str(exc))}: SQLite says {exc} while running "
                    f"{_shorten(statement)}; {_broken_on_its_own(str(exc), schema)}; nothing was written") from None
        if isinstance(operation, DropTable) and not down:
            _refuse_dangling_objects(scratch, operation.name, dropping)
        if users:
            _refuse_broken_users(scratch, operation, users, failing_before)
        for reader in readers:  # (those that worked before it)
            if (failure := _read_failure(scratch, reader)) is not None:
                raise MigrateError(f"{_cannot(operation, failure)}: virtual table {reader.name} reads "
                                   f"{_altered_table(operation)} and would fail ({failure}); drop it, or make it "
                                   "again to match, in a hand-written migration first; nothing was written")
        steps.append((operation, statements, inverse))
    return steps


class _ColumnUsers(namedtuple("_ColumnUsers", "dropped objects quoted")):
    """What may use the columns a change drops (`dropped`, folded) or the
    table it rebuilds: the views and triggers that name the table or fire on
    it (`objects`); those of them and of its indexes that name a dropped
    column in double quotes (`quoted`)."""
    __slots__ = ()


def _column_users(schema: Schema | None, operation, statements: list[str]) -> _ColumnUsers | None:
    """For a change that drops columns of a table, or rebuilds it (making
    its views and triggers again as written; WITHOUT ROWID takes the rowid
    away), and that views, triggers or indexes may use: what to check
    before and after it (_ColumnUsers)."""
    if not isinstance(operation, AlterTable) or schema is None:
        return None
    dropped = {_fold(c.name) for c in operation.before.columns if operation.after.column(c.name) is None}
    if not dropped and not any(statement.startswith("DROP TABLE") for statement in statements):
        return None
    table = operation.after.name
    objects = [o for o in schema.views + schema.triggers
               if _fold(o.table) == _fold(table) or _mentions(o.sql, table, strings=True)]
    indexes = [SchemaObject("index", i.name, i.table, i.sql) for t in schema.tables
               if _fold(t.name) == _fold(table) for i in t.indexes]
    quoted = [o for o in indexes + objects if _bracketed(o.sql, dropped) != o.sql]
    return _ColumnUsers(dropped, objects, quoted) if objects or quoted else None


def _failing_users(scratch: sqlite3.Connection, users: _ColumnUsers) -> dict:
    """{(kind, name): error} of the users there are now that fail as they
    are, and of the quoted ones tried with brackets (kind "bracketed ...")."""
    there = {(kind, _fold(name)): sql
             for kind, name, sql in scratch.execute("SELECT type, name, sql FROM sqlite_master")}
    # (a change may drop an index of the column, or make one of that name anew: then it is not this one)
    users = users._replace(objects=[u for u in users.objects if (u.type, _fold(u.name)) in there],
                           quoted=[u for u in users.quoted if there.get((u.type, _fold(u.name))) == u.sql])
    failing = _object_failures(scratch, users.objects)
    if users.quoted:
        scratch.execute("SAVEPOINT bracketed")
        try:
            made = []
            for user in users.quoted:
                scratch.execute(f"DROP {user.type.upper()} IF EXISTS {quote(user.name)}")  # (a view's triggers too)
                try:
                    scratch.execute(_bracketed(user.sql, users.dropped))
                    made.append(user)
                except sqlite3.Error as exc:  # an index checks its columns at once
                    failing[(f"bracketed {user.type}", user.name)] = str(exc)
            failing.update({(f"bracketed {kind}", name): error
                            for (kind, name), error in _object_failures(scratch, made).items()})
        finally:
            scratch.execute("ROLLBACK TO bracketed")
            scratch.execute("RELEASE bracketed")
    return failing


def _refuse_broken_users(scratch: sqlite3.Connection, operation, users: _ColumnUsers, before: dict) -> None:
    """A view or trigger that fails once columns are dropped, and worked
    before: SQLite checks their columns only when they are used (a rebuild
    makes them again as written, and a DROP COLUMN does not see what a
    trigger on another table writes). And one that names a dropped column
    in double quotes, which SQLite would read as text from then on without
    an error: tried with the name in brackets, that fails now and did not."""
    for (kind, name), failure in _failing_users(scratch, users).items():
        if (kind, name) in before:
            continue
        doing = _cannot(operation, failure)
        if kind.startswith("bracketed ") and "no such column" in failure:
            user = next(u for u in users.quoted if u.name == name)
            column = next(_unquote(t.text) for t in _tokenize(user.sql) if t.kind == "ident"
                          and t.text.startswith('"') and _fold(_unquote(t.text)) in users.dropped)
            raise MigrateError(f"{doing}: {user.type} {name} names \"{column}\" in double quotes, which SQLite "
                               f"reads as the text '{column}' once the column is gone ({failure}), so it would go "
                               "on as a constant without an error; change or drop it in a hand-written migration "
                               "first; nothing was written")
        if not kind.startswith("bracketed "):
            when = "when read" if kind == "view" else "whenever it fires"
            raise MigrateError(f"{doing}: {kind} {name} would fail {when} ({failure}; SQLite checks that only "
                               "then); change or drop it in a hand-written migration first; nothing was written")


def _bracketed(sql: str, names: set[str]) -> str:
    """`sql` with each double-quoted name among `names` (folded) in brackets,
    which SQLite never reads as text."""
    for token in reversed(_tokenize(sql)):
        if token.kind == "ident" and token.text.startswith('"') and _fold(_unquote(token.text)) in names \
                and "]" not in token.text:
            sql = f"{sql[:token.start]}[{_unquote(token.text)}]{sql[token.end:]}"
    return sql


def _object_failures(scratch: sqlite3.Connection, objects: list[SchemaObject]) -> dict:
    """{(kind, name): error} for the views that fail when read and the
    triggers that fail when they fire: a statement that fires them is
    prepared (EXPLAIN, which runs nothing, compiles the triggers too), one
    per table and event, and only when that fails, once per trigger alone."""
    failing = {("view", v.name): f for v in objects if v.type == "view" for f in [_read_failure(scratch, v)] if f}
    groups = {}
    for trigger in (o for o in objects if o.type == "trigger"):
        event = next((t.upper for t in _tokenize(trigger.sql)[:16] if t.upper in ("INSERT", "UPDATE", "DELETE")), "")
        groups.setdefault((trigger.table, event), []).append(trigger)
    failed = [(table, event, triggers) for (table, event), triggers in groups.items()
              if _firing_failure(scratch, table, event) is not None]
    if not failed:
        return failing
    scratch.execute("SAVEPOINT alone")  # which of them fails: each alone, every other trigger gone a moment
    try:
        for (name,) in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            scratch.execute(f"DROP TRIGGER {quote(name)}")
        for table, event, triggers in failed:
            for trigger in triggers:
                scratch.execute(trigger.sql)
                failure = _firing_failure(scratch, table, event)
                scratch.execute(f"DROP TRIGGER {quote(trigger.name)}")
                if failure is not None:
                    failing[("trigger", trigger.name)] = failure
    finally:
        scratch.execute("ROLLBACK TO alone")
        scratch.execute("RELEASE alone")
    return failing


_EXPLAINED = count()  # (_firing_failure)


def _firing_failure(scratch: sqlite3.Connection, table: str, event: str) -> str | None:
    """SQLite's error preparing a statement that fires the `event` triggers
    on `table` (EXPLAIN: nothing runs), else None."""
    try:
        columns = [row[1] for row in scratch.execute(f"PRAGMA table_xinfo({quote(table)})")
                   if not row[6]]  # (SQLite refuses to UPDATE a generated column)
        firing = {"INSERT": f"INSERT INTO {quote(table)} DEFAULT VALUES", "DELETE": f"DELETE FROM {quote(table)}",
                  "UPDATE": f"UPDATE {quote(table)} SET " + ", ".join(f"{quote(c)} = {quote(c)}" for c in columns)}
        if event not in firing or not columns:
            return None
        # a new text each time: SQLite 3.40 crashed re-preparing Python's cached EXPLAIN after a DROP COLUMN
        scratch.execute(f"EXPLAIN {firing[event]} -- {next(_EXPLAINED)}").fetchall()
    except sqlite3.Error as exc:  # (also a view that cannot be read: its triggers cannot fire)
        return str(exc)
    return None


def _working_readers(scratch: sqlite3.Connection, schema: Schema, operation) -> list[SchemaObject]:
    """The virtual tables that may read the table an operation alters (FTS5
    content=), and can be read now: SQLite does not tell them when that
    table loses a column or its name, so they are read again after it."""
    if isinstance(operation, (CreateTable, DropTable)):  # (a dropped table's readers: _refuse_dangling_objects)
        return []
    table = _fold(_altered_table(operation))
    return [v for v in schema.others if table in _fold(v.sql) and _read_failure(scratch, v) is None]


def _altered_table(operation) -> str:
    if isinstance(operation, RenameTable):
        return operation.old
    if isinstance(operation, RenameColumn):
        return operation.table
    return operation.after.name


def _read_failure(scratch: sqlite3.Connection, table: SchemaObject) -> str | None:
    """SQLite's error reading a table on the scratch (no rows), else None (an
    FTS table reads its content table when read, on a step)."""
    try:
        scratch.execute(f"SELECT * FROM {quote(table.name)} LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    return None


def _check_fills(scratch: sqlite3.Connection, operation: AlterTable, *, down: bool) -> None:
    """Select each one-off value from an empty copy of the table, where the
    migration will: among the tables as it leaves them up to that point. Per
    row values give no row there; an aggregate gives one, and would copy one
    row of all."""
    name = quote(operation.after.name)
    scratch.execute(f"CREATE TEMP TABLE _migrate_fill_probe AS SELECT * FROM main.{name} WHERE 0")
    try:
        for column, value in operation.fills.items():
            found = _fill_problem(scratch, value, f"temp._migrate_fill_probe AS {name}",  # (as named in the copy)
                                  operation.after.column(column).type, strict=operation.after.strict)
            if found:
                raise _fill_error(f"{operation.after.name}.{column}", value, found[0], down=down, advice=found[1])
    finally:
        scratch.execute("DROP TABLE temp._migrate_fill_probe")


def _fill_error(key: str, value: str, problem: str, *, down: bool, advice: bool = True) -> MigrateError:
    """The error for a one-off value that fails, with `advice` on fixing it:
    for a bare word, which SQLite takes for a column name, how to quote text."""
    if advice and re.fullmatch(r"\w+", value.strip()):  # a bare word: meant as text
        problem += f": quote text (--default {key}=\"'{value.strip()}'\")"
    elif advice:
        problem += ": fix the expression"
    section = " (for the down section)" if down else ""
    return MigrateError(f"the one-off value {key}={value}{section} {problem}; nothing was written")


def _refuse_dangling_objects(scratch: sqlite3.Connection, dropped: str, dropping: set[str]) -> None:
    """SQLite drops a table that a view, a virtual table (FTS content=) or
    another table's trigger still reads; they would fail later when used. Run
    right after `dropped` goes, so no later step fails on them first; triggers
    on a table that is `dropping` too go with it."""
    schema = read_schema(scratch)
    readers = [v for v in schema.views if _mentions(v.sql, dropped)] + list(schema.others)  # content='t'
    for reader in readers:
        failure = _read_failure(scratch, reader)
        if failure is None:
            continue
        if reader.type == "virtual table" and _fold(dropped) in _fold(reader.sql):  # FTS4 says "logic error"
            raise MigrateError(f"cannot drop table {dropped}: virtual table {reader.name} uses it ({failure}); "
                               "drop or change it in a hand-written migration first; nothing was written")
        _refuse_if_missing(failure, dropped, f"{reader.type} {reader.name}")
    for trigger in schema.triggers:
        if _fold(trigger.table) not in dropping and _mentions(trigger.sql, dropped, strings=True):
            _probe_trigger(scratch, schema, trigger, dropped)


def _probe_trigger(scratch: sqlite3.Connection, schema: Schema, trigger: SchemaObject, dropped: str) -> None:
    """SQLite parses a trigger only when it fires, or when a table is renamed:
    then it checks every view and trigger. So, in a savepoint undone at once,
    the other triggers go and a new table is renamed: an error in this
    trigger is this trigger's."""
    taken = {_fold(o.name) for o in schema.tables + schema.views + schema.others + schema.triggers}
    free = [name for name in (f"_probe_{n}" for n in range(len(taken) + 2)) if _fold(name) not in taken][:2]
    scratch.execute("SAVEPOINT probe")
    try:
        for other in schema.triggers:
            if other.name != trigger.name:
                scratch.execute(f"DROP TRIGGER {quote(other.name)}")
        scratch.execute(f"CREATE TABLE {quote(free[0])} (x)")
        scratch.execute(f"ALTER TABLE {quote(free[0])} RENAME TO {quote(free[1])}")
    except sqlite3.Error as exc:  # "error in trigger t: no such table: main.x"
        if str(exc).startswith(f"error in trigger {trigger.name}:"):
            _refuse_if_missing(exc, dropped, f"trigger {trigger.name} on {trigger.table}")
    finally:
        scratch.execute("ROLLBACK TO probe")
        scratch.execute("RELEASE probe")


def _refuse_if_missing(exc: Exception | str, dropped: str, user: str) -> None:
    missing = re.search(r"no such table: (?:main\.)?(.+)$", str(exc))
    if missing and _fold(missing.group(1).strip()) == _fold(dropped):
        raise MigrateError(f"cannot drop table {dropped}: {user} uses it ({exc}); drop or change it in a "
                           "hand-written migration first; nothing was written") from None


def schema_differences(actual: Schema, expected: Schema, *, unmanaged: frozenset = frozenset(),
                       names: tuple[str, str] = ("the database", "the expected schema")) -> list[str]:
    """How `actual` differs from `expected`, table by table (empty: the same).
    `names` says what the two are, for the messages."""
    problems = []
    actual_tables, expected_tables = _managed_tables(actual, unmanaged), _managed_tables(expected, unmanaged)
    for key in sorted(set(actual_tables) | set(expected_tables)):
        if key not in expected_tables:
            problems.append(f"table {actual_tables[key].name}: in {names[0]}, not in {names[1]}")
        elif key not in actual_tables:
            problems.append(f"table {expected_tables[key].name}: in {names[1]}, not in {names[0]}")
        else:
            table = expected_tables[key].name
            changes = _table_changes(actual_tables[key], expected_tables[key])
            signs = {}  # an index of one name on both sides, defined otherwise: one difference, not two
            for change in changes:
                if change.kind == "index":
                    signs.setdefault(_fold(change.name), set()).add(change.sign)
            for change in changes:
                if change.kind != "index" or len(signs[_fold(change.name)]) == 1:
                    problems.append(change.difference(table, *names))
                elif change.sign == "-":
                    problems.append(f"index {change.name} on {table} is defined otherwise in {names[0]} than in "
                                    f"{names[1]}")
    return problems


# SQLite's words for a view or trigger that an ALTER TABLE found broken
_BROKEN_OBJECT = re.compile(r"error in (view|trigger) (.+?)(?: after \w+(?: \w+)?)?: ")


@contextmanager
def _schema_copy(schema: Schema, replaced: dict | None = None):
    """An in-memory database with the schema, `replaced` giving some objects
    other SQL by (type, folded name); an object SQLite cannot make (a
    virtual table of a module this SQLite lacks, an index of a column that
    is not there) is left out."""
    made = ([("table", t.name, t.sql) for t in schema.others + schema.tables]
            + [("index", i.name, i.sql) for t in schema.tables for i in t.indexes]
            + [(o.type, o.name, o.sql) for o in schema.views + schema.triggers])
    with closing(sqlite3.connect(":memory:")) as copy:
        for kind, name, sql in made:
            with suppress(sqlite3.Error):
                copy.execute((replaced or {}).get((kind, _fold(name)), sql))
        yield copy


def _as_sqlite_rewrites(schema: Schema, replaced: dict | None = None) -> dict[tuple[str, str], str] | None:
    """The SQL of the schema's indexes, views and triggers, by (type, folded
    name), as SQLite's ALTER TABLE RENAME COLUMN and DROP COLUMN write it
    back: a "word" in double quotes that names nothing where it stands (a
    string, to SQLite: https://sqlite.org/quirks.html#dblquote) as 'word'.
    Asked of SQLite: the schema is made in memory, `replaced` giving some
    objects other SQL, and a throw-away column renamed. None when SQLite
    cannot; an object it cannot make, or finds broken, is left out."""
    with _schema_copy(schema, replaced) as copy:
        names = {_fold(name) for (name,) in copy.execute("SELECT name FROM sqlite_master")}
        throwaway = "_migrate_rewrite"
        while throwaway in names:
            throwaway += "_"
        try:
            copy.execute(f"CREATE TABLE {quote(throwaway)} (a)")
            for _ in range(len(names) + 1):  # each view or trigger already broken (one over sqlite_stat1) is left out
                try:
                    copy.execute(f"ALTER TABLE {quote(throwaway)} RENAME COLUMN a TO b")
                    break
                except sqlite3.Error as exc:
                    broken = _BROKEN_OBJECT.match(str(exc))
                    if not broken:
                        return None
                    copy.execute(f"DROP {broken.group(1).upper()} {quote(broken.group(2))}")
            else:
                return None
            rows = copy.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'view', 'trigger') "
                                "AND sql IS NOT NULL").fetchall()
        except sqlite3.Error:
            return None
    return {(kind, _fold(name)): sql for kind, name, sql in rows}


def _alike_as_sqlite_rewrites(keys: list[tuple[str, str]], one: Schema, other: Schema,
                              replaced: dict | None = None) -> set[tuple[str, str]]:
    """Of `keys`, (type, folded name) of indexes, views and triggers whose
    SQL differs between the schemas, those that SQLite's rewrite
    (_as_sqlite_rewrites) makes alike: they differ only in text in double
    quotes that one of them holds in single quotes, as such a rewrite left
    it. `replaced` is for `other`'s copy."""
    if not any(kind in ("view", "trigger", "index") for kind, _ in keys):
        return set()
    first, second = _as_sqlite_rewrites(one), _as_sqlite_rewrites(other, replaced)
    if first is None or second is None:
        return set()
    return {key for key in keys if key in first and key in second
            and canonical_sql(first[key]) == canonical_sql(second[key])}


def _table_texts_made_names(before: Table, after: Table, added: set[str],
                            renamed: dict[tuple[str, str], str]) -> list[tuple[str, str, str]]:
    """_refuse_strings_made_names for the column CHECKs and indexes a table
    keeps, whose scope is its columns: (kind, name, the word) for each that
    the table has after the change (a rebuild may have rewritten it) and
    that reads a column where it read text. `renamed` maps (table, new
    name), folded, to a column's old name."""
    old = _ROWID_NAMES | {_fold(c.name) for c in before.columns}
    new = _ROWID_NAMES | {_fold(c.name) for c in after.columns}
    found = []
    # a column's CHECK written anew from the model: text before, in the database, and a column name after
    # (also for a column renamed to that name, which SQLite's rename cannot rewrite in the model's text)
    for column in after.columns:
        was = before.column(column.name) or before.column(renamed.get((_fold(after.name), _fold(column.name)), ""))
        if was is not None and (old != new or was.definition != column.definition):  # (else nothing to turn)
            kind = "generated expression" if column.generated else "CHECK"  # (what reads names in a definition)
            found += [(f"{kind} of column", f"{after.name}.{column.name}", word) for word in _turned_into_names(
                was.definition, old, column.definition, new)]
    kept = {_fold(i.name) for i in before.indexes}
    found += [("index", index.name, _quoted_word(index.sql, added)) for index in after.indexes
              if added and _fold(index.name) in kept and index.read_with(old) != index.read_with(old | added)]
    return found


def _turned_into_names(before: str, old: frozenset[str], after: str, new: frozenset[str]) -> list[str]:
    """The words that `before` holds as text where `old` are the names in
    scope and `after`, otherwise the same, spells in double quotes as a
    name in `new`: a CHECK that compares with 'w' and then with column w."""
    return _text_turned_names(_as_sqlite_reads(_tokenize(before), old), _as_sqlite_reads(_tokenize(after), new))


def _text_turned_names(then: list[_Token], now: list[_Token]) -> list[str]:
    """The words `then` reads as text that `now`, the same tokens
    otherwise, spells in double quotes as names."""
    return [_unquote(b.text) for a, b in zip(then, now) if len(then) == len(now)
            and a.kind == "string" and b.kind == "ident" and b.text[:1] == '"']


def _objects_made_names(before: Schema, after: Schema, words: set[str]) -> list[tuple[str, str, str]]:
    """_refuse_strings_made_names for views and triggers, compared as
    SQLite's rewrite reads them before and after the change; made only when
    one spells one of `words` (folded) in double quotes. SQLite's rewrite
    does not reach into a CTE's body: when it finds none, the objects are
    tried word by word (_text_made_name)."""
    objects = {(o.type, _fold(o.name)): o for o in before.views + before.triggers
               if any(t.text[:1] == '"' and _fold(_unquote(t.text)) in words for t in _tokens(o.sql))}
    if not objects:
        return []
    then, now = _as_sqlite_rewrites(before) or {}, _as_sqlite_rewrites(after) or {}
    found = [(key[0], objects[key].name, word) for key in sorted(objects) if key in then
             for word in _text_turned_names(_tokenize(then[key]), _tokenize(now.get(key, "")))]
    return found or [(key[0], objects[key].name, word) for key in sorted(objects)
                     for word in [_text_made_name(before, after, objects[key], words)] if word]


def _text_made_name(before: Schema, after: Schema, user: SchemaObject, words: set[str]) -> str | None:
    """The first of `words` (folded) that `user`, a view or trigger, spells
    in double quotes where SQLite reads it as text before the change and as
    a column after it, as spelled: with that one "word" in brackets, which
    SQLite never reads as text, it fails before (no such column) and works
    after. Only for an object that works before the change, and a word not
    after a `.` (a qualified name is never text)."""
    def fails(schema: Schema, sql: str) -> bool:
        with _schema_copy(schema, {(user.type, _fold(user.name)): sql}) as copy:
            made = copy.execute("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ? COLLATE NOCASE",
                                (user.type, user.name)).fetchone()
            return made is None or bool(_object_failures(copy, [replace(user, sql=sql)]))

    tokens = list(_tokens(user.sql))
    candidates = [token for previous, token in zip([None] + tokens, tokens) if token.kind == "ident"
                  and token.text[:1] == '"' and _fold(_unquote(token.text)) in words and "]" not in token.text
                  and (previous is None or previous.text != ".")]
    if not candidates or fails(before, user.sql):
        return None
    for token in candidates:
        bracketed = f"{user.sql[:token.start]}[{_unquote(token.text)}]{user.sql[token.end:]}"
        if fails(before, bracketed) and not fails(after, bracketed):
            return _unquote(token.text)
    return None


def _refuse_strings_made_names(before: Schema, after: Schema, renamed: dict[tuple[str, str], str],
                               tables_renamed: dict[str, str]) -> None:
    """A CHECK, index, view or trigger that says "x" where nothing is named
    x reads the text 'x'; once a change adds a column x there (ADD COLUMN, a
    rebuild), it reads the column: another meaning, without an error.
    Refused, as a dropped column's "x" is. A column renamed to x is no
    matter to a view, trigger or index, as SQLite writes such text as 'x'
    as it renames, but is to a model's CHECK written anew. `renamed` maps
    (table, new name), folded, to a column's old name; `tables_renamed` a
    table's new name, folded, to its old one."""
    pairs = [(before.table(tables_renamed.get(_fold(t.name), t.name)), t) for t in after.tables]
    pairs = [(was, now) for was, now in pairs if was is not None]
    added = {_fold(now.name): {_fold(c.name) for c in now.columns if was.column(c.name) is None
                               and (_fold(now.name), _fold(c.name)) not in renamed} for was, now in pairs}
    words = set().union(*added.values())
    found = [hit for was, now in pairs for hit in _table_texts_made_names(was, now, added[_fold(now.name)], renamed)]
    if not found and words:
        found = _objects_made_names(before, after, words)
    if found:
        kind, name, word = found[0]
        made = next(((now.name, c.name) for was, now in pairs for c in now.columns if _fold(c.name) == _fold(word)
                     and was.column(c.name) is None), None)
        doing = (f"make a column {word}" if made is None else f"add column {made[0]}.{made[1]}"
                 if (_fold(made[0]), _fold(made[1])) not in renamed else f"rename a column of {made[0]} to {made[1]}")
        raise MigrateError(f"cannot {doing}: {kind} {name} says \"{word}\" "
                           f"in double quotes, which SQLite reads as the text '{word}' while no column has that name, "
                           f"and as the column once it has: write '{word}' in single quotes (or the name as you mean "
                           "it) in the model or a hand-written migration first; nothing was written")


def _object_differences(actual: Schema, expected: Schema, names: tuple[str, str]) -> list[str]:
    """Views, triggers and virtual tables present in one schema and not the
    other, or changed. `names` says what the two are, for the messages."""
    lines = []
    for have, want in _unlike_objects(actual, expected):
        if have is None:
            lines.append(f"{want.type} {want.name}: in {names[1]}, not in {names[0]}")
        elif want is None:
            lines.append(f"{have.type} {have.name}: in {names[0]}, not in {names[1]}")
        else:
            lines.append(f"{have.type} {have.name} in {names[0]} differs from {names[1]}")
    return lines


def _unlike_objects(actual: Schema, expected: Schema) -> list[tuple[SchemaObject | None, SchemaObject | None]]:
    """The views, triggers and virtual tables that one schema has and the
    other has not (None there), or has otherwise, as (actual's, expected's)."""
    pairs = []
    for kind in ("views", "triggers", "others"):
        have = {_fold(o.name): o for o in getattr(actual, kind)}
        want = {_fold(o.name): o for o in getattr(expected, kind)}
        pairs += [(have.get(key), want.get(key)) for key in sorted(set(have) | set(want))
                  if key not in have or key not in want or canonical_sql(have[key].sql) != canonical_sql(want[key].sql)]
    alike = _alike_as_sqlite_rewrites([(one.type, _fold(one.name)) for one, other in pairs if one and other],
                                      actual, expected)
    return [(one, other) for one, other in pairs if not (one and other and (one.type, _fold(one.name)) in alike)]


def _key_mismatches(scratch: sqlite3.Connection) -> set[str]:
    """SQLite's "foreign key mismatch" errors for the schema on `scratch` (a
    foreign key whose parent columns are neither the primary key nor UNIQUE:
    seen without rows), one per table, as the check stops at the first."""
    mismatches = set()
    for (table,) in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                    "instr(upper(sql), 'REFERENCES')").fetchall():
        try:
            scratch.execute(f"PRAGMA foreign_key_check({quote(table)})").fetchall()
        except sqlite3.Error as exc:
            if "mismatch" not in str(exc):
                raise
            mismatches.add(str(exc))
    return mismatches


def _check_unmanaged_parents(scratch: sqlite3.Connection, schema: Schema, unmanaged: frozenset, module) -> None:
    """A foreign key to an unmanaged model points at the table the migrations
    build, not at the model (_check_parent_keys saw the model): that table
    must have the key too, or every write to the child fails with "foreign
    key mismatch". A parent table they do not make is not judged."""
    for table in schema.tables:
        parents = [fk for fk in table.foreign_keys if _fold(fk.table) in unmanaged]
        if not parents or _fold(table.name) in unmanaged:
            continue
        try:
            scratch.execute(f"PRAGMA foreign_key_check({quote(table.name)})").fetchall()
        except sqlite3.Error as exc:  # "foreign key mismatch - "child" referencing "parent""
            models = {_fold(t.name): t.model for t in model_tables(module)}
            wrong = [fk for fk in parents if f'"{fk.table}"'.lower() in str(exc).lower()] or parents
            keys = ", ".join(f"{', '.join(fk.columns)} -> {fk.table}({', '.join(fk.to) or 'its primary key'})"
                             for fk in wrong)
            raise MigrateError(f"model {models[_fold(table.name)]}: field {keys} points at the table of unmanaged "
                               f"model {models[_fold(wrong[0].table)]}, which the migrations build without that "
                               f"primary key or UNIQUE key ({exc}): make that model match its table in the "
                               "migrations, or reference a key the table has; nothing was written") from None


def _verify(actual: Schema, expected: Schema, unmanaged: frozenset, what: str, *,
            objects: Schema, exact: bool) -> None:
    """The tables must match `expected`; the views and triggers must be those
    of `objects` (by name only when `exact` is false: renames rewrite them)."""
    names = ("the planned migration's schema", what)
    problems = schema_differences(actual, expected, unmanaged=unmanaged, names=names)
    have = {(o.type, _fold(o.name)) for o in actual.views + actual.triggers}
    tables = {_fold(t.name) for t in actual.tables}
    # a trigger goes with its table when the table is dropped
    want = {(o.type, _fold(o.name)) for o in objects.views + objects.triggers
            if (o.type, _fold(o.name)) in have or o.type == "view" or _fold(o.table) in tables}
    if exact:
        problems += _object_differences(actual, objects, names)
    elif have != want:
        problems.append("views or triggers were lost or added")
    if problems:
        raise MigrateError(f"internal error: the planned migration does not reproduce {what} "
                           f"({'; '.join(problems)}); nothing was written. Please report this.")


# ============================================================================
# Runner: apply, revert and status on a real database
# ============================================================================

@dataclass(frozen=True)
class Step:
    """One migration applied or reverted, and how long it took."""
    name: str
    action: str  # "apply", "revert", "fake", "skip" (another process did it) or "adopt" (a squash recorded)
    seconds: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MigrationStatus:
    """One line of `status`: a migration on disk, in the database, or both."""
    name: str
    applied: bool
    applied_at: str | None = None
    file_missing: bool = False
    modified: bool = False
    renamed_to: str | None = None  # a missing file's content is in this file now
    replaced_by: str | None = None  # applied, and squashed into this one, which the database has yet to adopt


@dataclass(frozen=True)
class _Record:
    """One row of the migrations table."""
    name: str
    checksum: str
    applied_at: str
    down: str | None
    up: str | None = None  # the up SQL that ran (_ADOPTED for a squash); None: not recorded (earlier versions)


_ADOPTED = "-- applied before as the migrations it replaces"  # the up_sql of an adopted squash: it ran nothing


def _as_applied(migration: Migration, record: _Record) -> bool:
    """Whether a migration's file is as the database applied it: the same
    checksum, or edited in its comments and spacing only (its up and down
    SQL are the recorded ones, statement for statement: Django and Alembic
    let such edits be), or given a down section where it was applied
    without one (as `revert` asks, and then uses). Not so for a squash,
    whose header lists what it replaces, nor for a row an earlier
    migrate.py recorded without its up SQL."""
    if migration.matches(record.checksum):
        return True
    if migration.replaces or record.up is None or record.up == _ADOPTED:
        return False
    return _code(migration.up) == _code(record.up) and (record.down is None
                                                        or _code(migration.down) == _code(record.down))


def _check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        raise MigrateError(f"SQLite {sqlite3.sqlite_version} is too old: migrate.py needs "
                           f"{'.'.join(map(str, MINIMUM_SQLITE))} or newer (for ALTER TABLE DROP "
                           "COLUMN); upgrade Python or SQLite; nothing was changed")


class _Rows:
    def __init__(self, rows: list):
        self.rows = [tuple(row) for row in rows]

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list:
        return self.rows


class Rqlite:
    """A node of an rqlite cluster (Raft-replicated SQLite), spoken to over
    its HTTP API with urllib. Reads go to /db/query at strong consistency;
    writes only as whole transactions (/db/execute?transaction), one request
    each, because the cluster cannot hold a transaction open between requests."""
    in_transaction = False

    def __init__(self, url: str, *, timeout: float = 30.0):
        import urllib.parse
        self.shown, self.timeout, self.headers = _shown(url), timeout, {"Content-Type": "application/json"}
        try:
            if re.search(r"[\x00-\x20\x7f]", url):
                raise ValueError("it holds a space or a control character")
            parts = urllib.parse.urlsplit(url.rstrip("/"))
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:  # (its text may quote a password: not shown when the URL has one)
            raise MigrateError(f"--db {self.shown} is not a valid rqlite URL{'' if '@' in url else f' ({exc})'}: "
                               "write it like http://host:4001 (a password's @ / ? # written %40 %2F %3F %23); "
                               "nothing was changed") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise MigrateError(f"--db {self.shown} is not an http:// or https:// URL, and rqlite is spoken to over "
                               "HTTP: write it like http://host:4001; nothing was changed")
        if not parts.hostname:
            raise MigrateError(f"--db {self.shown} names no host: write it like http://host:4001; nothing was changed")
        if parts.username is not None:  # user:password@ is rqlite's basic auth; urllib would take it for the host
            import base64
            login = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode()
            parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        self.url = urllib.parse.urlunsplit(parts)

    def execute(self, sql: str, params=()) -> _Rows:
        result = self._post("/db/query?level=strong", [[sql, *params]])[0]
        if "error" in result:
            raise RqliteError(result["error"])
        return _Rows(result.get("values", []))

    def transaction(self, statements: list) -> None:
        """Run [sql, *params] statements as one transaction; raise the first
        error (rqlite answers HTTP 200 and rolls the whole request back)."""
        results = self._post("/db/execute?transaction", statements)
        errors = [r["error"] for r in results if "error" in r]
        if errors or len(results) != len(statements):
            raise RqliteError(errors[0] if errors else f"{len(results)} results for {len(statements)} statements")

    def enforces_foreign_keys(self) -> bool:
        """Whether the cluster was started with -fk (read from /status, so that
        no PRAGMA foreign_keys is ever sent: rqlite would replicate it)."""
        store = self._request("/status").get("store")
        settings = store.get("db_conf") if isinstance(store, dict) else None
        return isinstance(settings, dict) and bool(settings.get("fk_constraints"))

    def close(self) -> None:
        pass

    def _post(self, path: str, body: list) -> list:
        payload = self._request(path, body)
        if "error" in payload:
            raise RqliteError(payload["error"])
        results = payload.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results) or len(results) > len(body) \
                or (not results and body):
            raise self._not_rqlite(f"results {_shorten(repr(results), 60)}")
        return results

    def _request(self, path: str, body: list | None = None) -> dict:
        import http.client
        import json
        import urllib.error
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args):  # never resend a write elsewhere unasked
                return None

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=self.headers,
                                         method="GET" if body is None else "POST")
        try:
            with urllib.request.build_opener(NoRedirect).open(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            hint = "" if exc.code != 401 else "; check the user and password in the URL" if "Authorization" in \
                self.headers else "; give the user in the URL: http://user:password@host:4001"
            answer = exc.read()[:200].decode(errors="replace").strip()
            raise MigrateError(f"rqlite node {self.shown} answered HTTP {exc.code} ({answer}){hint}; "
                               "nothing was changed") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: a URL http.client refuses
            raise MigrateError(f"cannot reach rqlite node {self.shown}: {getattr(exc, 'reason', exc)}; "
                               "nothing was changed") from None
        except http.client.HTTPException as exc:  # not HTTP, or an answer cut short: another service, a proxy
            raise self._not_rqlite(f"{type(exc).__name__}: {_shorten(str(exc), 60)}") from None
        try:
            payload = json.loads(answer)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise self._not_rqlite(_shorten(repr(answer[:200]), 60))
        return payload

    def _not_rqlite(self, answer: str) -> MigrateError:
        return MigrateError(f"rqlite node {self.shown} answered what rqlite does not ({answer}): is --db the HTTP "
                            "address of an rqlite node (http://host:4001)?")


def _main_file(conn) -> str:
    """The file of a SQLite connection's main database; "" for an in-memory one."""
    return next((row[2] for row in conn.execute("PRAGMA database_list").fetchall() if row[1] == "main"), "") or ""


_DEFAULT_TIMEOUT = 30.0  # seconds: --timeout's default


def _lock_hint(exc: Exception) -> str:
    """What to do about an error that is another connection's lock."""
    locked = "locked" in str(exc) or "busy" in str(exc).lower()
    return " (another process holds a lock: retry, or wait longer with --timeout)" if locked else ""


@contextmanager
def _locks_as_errors():
    """Another connection's lock, held past the timeout while we read, as the
    library's one error type (any other error passes as it is)."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, MigrateError) or not _lock_hint(exc):
            raise
        raise MigrateError(f"cannot read the database: {exc}{_lock_hint(exc)}; nothing was changed") from None


def _refuse_converted_text(conn: sqlite3.Connection) -> None:
    """A connection made with detect_types=PARSE_DECLTYPES, where the
    application registered a converter for TEXT: every name read from
    sqlite_master and the migrations table would come back converted.
    Asked of a row of sqlite_master, as it is read and as an expression,
    which SQLite gives no declared type (none there: nothing to convert yet)."""
    try:
        row = conn.execute("SELECT name, name || '' FROM sqlite_master LIMIT 1").fetchone()
        same = row is None or isinstance(row[0], str) and row[0] == row[1]
    except sqlite3.Error:  # (a lock, or no database: said as such by the caller)
        raise
    except Exception:  # (the converter itself failed: json.loads of a table's name)
        same = False
    if not same:
        raise MigrateError("the connection converts the text SQLite gives it (detect_types with a converter "
                           "registered for TEXT), so migrate.py would read its own table and the schema wrong: "
                           "pass a connection made without detect_types, or a path; nothing was changed")


def _refuse_orphan_journal(path: str) -> None:
    """A WAL with frames, or a hot rollback journal, without its database:
    the database was moved or deleted, and the WAL may hold what it
    committed last, the journal what rolls its last transaction back. SQLite
    would delete either as it made a new, empty database under that name.
    (An empty journal, or one whose header is zeroed, as journal_mode
    TRUNCATE and PERSIST leave after every commit, is none.)"""
    try:
        with open(path + "-wal", "rb") as wal:
            frames = len(wal.read(33)) > 32  # (a WAL's header alone is 32 bytes)
    except OSError:
        frames = False
    try:
        with open(path + "-journal", "rb") as journal:
            hot = journal.read(8) == b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"  # (a rollback journal's header)
    except OSError:
        hot = False
    if frames:
        raise MigrateError(f"database {path} does not exist, but {path}-wal does (what it committed last may be "
                           f"only there): put the database back beside it, or, if you know it is stale, delete "
                           f"{path}-wal; nothing was changed")
    if hot:
        raise MigrateError(f"database {path} does not exist, but {path}-journal does, with a transaction to roll "
                           f"back (the database was moved or deleted meanwhile): put the database back beside it, "
                           f"or, if it is gone for good, delete {path}-journal; nothing was changed")


class _Database:
    """A connection we opened (and close), or the caller's (left as found)."""

    def __init__(self, db, *, create: bool, timeout: float | None = None, writes: bool = False):
        """`timeout`: how long to wait for other connections' locks; None is
        the caller's connection's own busy timeout, or 30 s for a path. A
        caller's connection to read (not `writes`) may be in a transaction,
        and in any journal mode."""
        self.path, self.created, self.owned = None, False, not hasattr(db, "execute")
        self.factories = self.patience = None
        self.turned_off = []  # the caller's settings of _SAFE_SETTINGS that were on: back on in close
        self.timeout = _DEFAULT_TIMEOUT if timeout is None else timeout
        if self.owned:
            self._open(db, create=create)
        else:
            self._borrow(db, timeout, writes)

    def _borrow(self, db, timeout: float | None, writes: bool) -> None:
        """The caller's connection: checked, and set up for reading (restored in close)."""
        self.conn = db
        try:
            busy = db.in_transaction
            if isinstance(db, sqlite3.Connection):
                db.cursor().close()  # (a connection made in another thread says so here)
        except AttributeError:  # a cursor, an SQLAlchemy connection...
            raise MigrateError(f"the database must be a path, an rqlite URL or an open sqlite3 connection, not "
                               f"{type(db).__name__}; nothing was changed") from None
        except sqlite3.ProgrammingError as exc:  # closed, or made in another thread
            raise MigrateError(f"the connection cannot be used here: {exc} (pass a path, or an open connection made "
                               "in this thread or with check_same_thread=False); nothing was changed") from None
        if busy and writes and getattr(db, "autocommit", None) is False:  # (Python 3.12's)
            raise MigrateError("the connection was made with autocommit=False, so a transaction is always open: "
                               "pass a connection with autocommit=True, or a path; nothing was changed")
        if busy and writes:
            raise MigrateError("the connection has an open transaction: commit or roll it back before passing "
                               "it to migrate.py; nothing was changed")
        try:
            with _locks_as_errors():
                if isinstance(db, sqlite3.Connection):  # plain rows and str text while we read; restored in close
                    self.factories = db.row_factory, db.text_factory
                    db.row_factory, db.text_factory = None, str
                    for name in _SAFE_SETTINGS:
                        if db.execute(f"PRAGMA {name}").fetchone()[0]:
                            self.turned_off.append(name)
                            db.execute(f"PRAGMA {name} = OFF")
                if timeout is None:
                    self.timeout = db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
                else:
                    self.patience = _busy_timeout(db, timeout * 1000)  # restored in close
                if writes:
                    self._refuse_unsafe_journal()
                if isinstance(db, sqlite3.Connection) and "TEXT" in sqlite3.converters:
                    _refuse_converted_text(db)
        except BaseException:
            self.close()
            raise

    def _open(self, db, *, create: bool) -> None:
        """A path: an rqlite URL, or a SQLite file opened (created only if `create`)."""
        if not isinstance(db, (str, os.PathLike)) or isinstance(os.fspath(db), bytes):
            raise MigrateError(f"the database must be a path, an rqlite URL or an open connection, not "
                               f"{type(db).__name__} {db!r}; nothing was changed")
        self.path = os.fspath(db)
        if _is_url(self.path):
            self.conn = Rqlite(self.path, timeout=self.timeout)
            return
        sqlalchemy = re.match(r"sqlite3?(?:\+\w+)?:///([^?]*)", self.path, re.I)  # also Alembic's and yoyo's
        if sqlalchemy:
            raise MigrateError(f"--db {self.path} is SQLAlchemy's URL form: give the file path alone (--db "
                               f"{sqlalchemy.group(1) or 'FILE'}); nothing was changed")
        if re.match(r"[A-Za-z][\w+.-]+://", self.path):  # (two letters at least: C://x.db is a Windows path)
            raise MigrateError(f"--db {_shown(self.path)} is a URL migrate.py cannot use: give a SQLite file path, "
                               "or an rqlite node's http:// or https:// URL; nothing was changed")
        if re.match(r"https?:(?!//)", self.path, re.I):  # http:host:4001: SQLite would make that file
            raise MigrateError(f"--db {_shown(self.path)} is not a valid rqlite URL: write it like "
                               "http://host:4001; nothing was changed")
        if re.match(r"sqlite3?:", self.path, re.I):  # dbmate's sqlite:app.db: SQLite would make that file
            raise MigrateError(f"--db {self.path} is dbmate's URL form: give the file path alone (--db "
                               f"{self.path.partition(':')[2]}); nothing was changed")
        if not self.path.strip() or self.path.startswith("file:"):  # SQLite: a temporary database, or a URI
            raise MigrateError(f"database path {self.path!r} is {'a URI' if self.path.strip() else 'empty'}: "
                               "pass --db with a file path (or :memory:); nothing was changed")
        if "\x00" in self.path:  # no file can be named so (and os and sqlite3 would raise ValueError)
            raise MigrateError(f"database path {self.path!r} holds a NUL character: pass --db with a file path; "
                               "nothing was changed")
        _refuse_folder_form(self.path)
        if os.path.isdir(self.path):
            raise MigrateError(f"database {self.path} is a directory, not a SQLite file: pass --db FILE")
        if os.path.exists(self.path) and not os.path.isfile(self.path):
            raise MigrateError(f"database {self.path} is no regular file (a pipe or a device): pass --db with a SQLite "
                               "file; nothing was changed")
        exists = self.path == ":memory:" or os.path.exists(self.path)
        if not exists:
            _refuse_orphan_journal(self.path)
        if not exists and not create:
            self.conn = None
            return
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise MigrateError(f"cannot create database {self.path}: {_not_a_folder(folder)}")
        if not exists and os.path.islink(self.path):  # SQLite makes the file the link names, if it can
            target = os.path.realpath(self.path)
            if not os.path.isdir(os.path.dirname(target)):
                raise MigrateError(f"cannot create database {self.path}: it is a link to {target}, whose folder "
                                   "does not exist: fix the link, or pass --db with another path")
        self.created = not exists
        try:
            self.conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            _first_read(self.conn)
        except sqlite3.Error as exc:
            self.close()
            path = "" if self.path == ":memory:" else self.path
            hint = _lock_hint(exc) or _readonly_hint(exc, path) or _unopenable_hint(path)
            raise MigrateError(f"cannot open database {self.path}: {exc}{hint}; nothing was changed") from None

    def _refuse_unsafe_journal(self) -> None:  # (a connection passed in)
        """A crash with journal_mode MEMORY or OFF corrupts the file: no
        migrations there (in-memory databases excepted, also the memdb VFS's,
        which have a name but no file)."""
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
        path = _main_file(self.conn) if mode in ("memory", "off") else ""
        if path and os.path.exists(path):
            raise MigrateError(f"the connection uses journal_mode={mode}, with which a crash during a "
                               "migration corrupts the database: switch to DELETE or WAL first; "
                               "nothing was changed")

    def close(self) -> None:
        """Close our connection, or leave the caller's as it was. A file we
        created stays, even empty: another process may have opened it since,
        and what it writes there would be lost with the file."""
        conn = getattr(self, "conn", None)
        if conn is not None and self.owned:
            conn.close()
            return
        if self.patience is not None:
            _restore_busy_timeout(conn, self.patience)
        if self.factories:
            conn.row_factory, conn.text_factory = self.factories
        for name in self.turned_off:
            conn.execute(f"PRAGMA {name} = ON")


def _refuse_folder_form(path: str) -> None:
    """A database path ending with a slash, as a folder's does: SQLite would
    make `app.db` of `app.db/`, where every check that the file exists would
    find none, so that one command says applied and the next says pending."""
    if path.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)):
        file = path.rstrip(os.sep + (os.altsep or ""))
        meant = f" ({file})" if file and not os.path.isdir(file) else ""
        raise MigrateError(f"database path {path} ends with {path[-1]}, as a folder's does: pass --db with the "
                           f"file's path{meant}; nothing was changed")


# Settings of a caller's connection that are off while migrations run on it:
# with legacy_alter_table on, a table renamed leaves other tables' foreign keys
# naming the old one; with ignore_check_constraints on, a rebuild's copy would
# keep rows that a new CHECK refuses.
_SAFE_SETTINGS = ("legacy_alter_table", "ignore_check_constraints")


# Always main's: unqualified, SQLite would find a TEMP table of that name first, or,
# with none in main yet, the table of a database the caller's connection attached.
_HISTORY = f"main.{quote(MIGRATIONS_TABLE)}"


def _migrations_columns(conn) -> set[str]:
    """The migrations table's columns, lowercased (none: no table yet)."""
    return {row[1].lower() for row in conn.execute(f"PRAGMA main.table_info({quote(MIGRATIONS_TABLE)})").fetchall()}


def _not_a_folder(folder: str) -> str:
    """Why a file cannot be made in `folder`, which is no folder."""
    return f"{folder} is a file, not a folder" if os.path.exists(folder) else f"folder {folder} does not exist"


def _damaged(exc: Exception) -> bool:
    """Whether SQLite's error says the database file is damaged."""
    return isinstance(exc, sqlite3.DatabaseError) and ("malformed" in str(exc) or "not a database" in str(exc))


def _applied(conn) -> dict[str, _Record]:
    """The migrations table's rows, in the order they were written."""
    columns = _migrations_columns(conn)
    if not columns:
        return {}
    up_sql = "up_sql" if "up_sql" in columns else "NULL"  # a table made by an earlier migrate.py
    try:
        rows = conn.execute(f"SELECT name, checksum, applied_at, down_sql, {up_sql} FROM "
                            f"{_HISTORY} ORDER BY rowid").fetchall()
    except _errors(conn) as exc:
        if _lock_hint(exc) or _damaged(exc):  # another connection's lock (_locks_as_errors), a damaged file (main):
            raise                              # said as such, not as a foreign table
        raise MigrateError(f"table {MIGRATIONS_TABLE} in this database is not migrate.py's ({exc}): another "
                           "tool's? rename it, or use another database; nothing was changed") from None
    for name, checksum, applied_at, down_sql, up_sql in rows:
        if not (isinstance(name, str) and name and isinstance(checksum, str)
                and all(isinstance(text, (str, type(None))) for text in (applied_at, down_sql, up_sql))):
            raise MigrateError(f"table {MIGRATIONS_TABLE} has a damaged row (name {name!r}, checksum "
                               f"{checksum!r}, applied_at {applied_at!r}, down_sql of type {type(down_sql).__name__}, "
                               f"up_sql of type {type(up_sql).__name__}): fix or delete that row; nothing was changed")
    return {row[0]: _Record(*row) for row in rows}


def _recorded(conn, names: list[str] | None = None) -> set[str] | None:
    """Which of `names` (None: any) the migrations table holds; None: no
    table yet."""
    where = "" if names is None else f" WHERE name IN ({', '.join('?' * len(names))})"
    try:
        rows = conn.execute(f"SELECT name FROM {_HISTORY}{where}", names or ()).fetchall()
    except _errors(conn) as exc:
        if "no such table" not in str(exc):
            raise
        return None
    return {name for (name,) in rows}


_CREATE_MIGRATIONS_TABLE = (f"CREATE TABLE IF NOT EXISTS {_HISTORY} (\n"
                            "    name TEXT NOT NULL PRIMARY KEY,\n"
                            "    checksum TEXT NOT NULL,\n"
                            "    applied_at TEXT NOT NULL,\n"
                            "    down_sql TEXT,\n"
                            "    up_sql TEXT\n)")
_ADD_UP_SQL = f"ALTER TABLE {_HISTORY} ADD COLUMN up_sql TEXT"  # made by an earlier migrate.py


def _without_up_sql(conn) -> bool:
    """Whether there is a migrations table made by an earlier migrate.py,
    which did not record the up SQL that ran."""
    columns = _migrations_columns(conn)
    return bool(columns) and "up_sql" not in columns


def _tracked_names(step) -> tuple[str, ...]:
    """The names in the migrations table that stand for a step's migration:
    a squash also by the names it replaces (an adopted one is recorded only
    under those)."""
    return (step.name,) + (step.migration.replaces if step.migration else ())


def _done_meanwhile(step, recorded: set) -> bool:
    """Whether another process did the step before we got the lock."""
    if step.action == "apply":
        return step.name in recorded
    return not any(name in recorded for name in _tracked_names(step))


def _tracking_write(step) -> tuple[str, tuple]:
    """The statement that records an applied step, or forgets a reverted one
    (with the names a squashed migration replaces)."""
    if step.action == "apply":
        migration = step.migration
        ran = _ADOPTED if step.adopt else migration.up
        return (f"INSERT INTO {_HISTORY} (name, checksum, applied_at, down_sql, up_sql) "
                "VALUES (?, ?, ?, ?, ?)", (migration.name, migration.checksum, _now(), migration.down, ran))
    names = _tracked_names(step)
    return f"DELETE FROM {_HISTORY} WHERE name IN ({', '.join('?' * len(names))})", names


def _migration_name(value, what: str, directory) -> str:
    """A migration number or name as given to the library: 2 is "2", and
    migrations/0002_x.sql is 0002_x (a file in `directory`: another
    project's 0002_x is not this one's)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:  # (+2 is the int 2: a number, so -2 is one too, and no migration has it)
            relative = f": a relative target is text, \"{value}\" (\"+{-value}\" to apply)" if what == "target" else ""
            raise MigrateError(f"{what} {value} is no migration number{relative}; nothing was changed")
        return str(value)
    if isinstance(value, os.PathLike) and isinstance(os.fspath(value), str):  # its file, as a pathlib.Path
        value = os.fspath(value)
    if not isinstance(value, str):
        raise MigrateError(f"{what} must be a migration number or name, not {type(value).__name__} {value!r}")
    if _FILE_NAME.fullmatch(os.path.basename(value)):  # its file, as a shell completes it
        folder, directory = os.path.expanduser(os.path.dirname(value)), os.fspath(directory)  # ('~/...' quoted)
        same = lambda: os.path.samefile(folder, directory) if os.path.isdir(folder) and os.path.isdir(directory) \
            else os.path.normcase(os.path.abspath(folder)) == os.path.normcase(os.path.abspath(directory))
        if folder and not same():
            raise MigrateError(f"{what} {value} is not in the migrations folder {directory}: give its number or "
                               f"name, or pass --dir {folder}; nothing was changed")
        return os.path.basename(value)[:-len(".sql")]
    return value


def _known(names: list[str]) -> str:
    """The migrations a target could have named, for an error: first .. last."""
    return (f"{names[0]} .. {names[-1]}" if len(names) > 1 else names[0]) if names else "none"


def _resolve_target(target, names: list[str], squashes=(), *, reverting: bool = False) -> int | None:
    """The number of the migration `target` names; None for `zero`."""
    if target == "zero":
        return None
    if target.isascii() and target.isdigit():
        if any(_number(n) == int(target) for n in names):
            return int(target)
    elif target in names:
        return _number(target)
    elif prefixed := _named_by_prefix(target, names):
        return _number(prefixed)
    raise MigrateError(f"unknown migration {target!r}: give a number, a name, its start, its file, or zero "
                       f"(known: {_known(names)}){_squashed_into(target, squashes)}"
                       f"{_target_hint(target, reverting)}")


def _target_hint(target: str, reverting: bool) -> str:
    """What another tool's target means here (Alembic's head, base, -1)."""
    if target.lower() in ("head", "heads", "latest", "last"):
        return "; to revert the latest, give no target" if reverting else "; to apply all, give no target"
    if target.lower() == "base" or (target.isascii() and target.isdigit() and int(target) == 0):  # (from 0001)
        return "; for none applied, give zero"
    if re.fullmatch(r"-0*[1-9][0-9]*", target):  # (to apply, as revert takes it)
        return f"; to revert the last {int(target[1:])}, run revert {target}"
    if re.fullmatch(r"\+0*[1-9][0-9]*", target):
        return f"; to apply the next {int(target[1:])}, run apply {target}"
    return ""


def _named_by_prefix(prefix: str, names) -> str | None:
    """The one name that starts with `prefix` (`0003_add`, as Django takes a
    prefix); None for none, or more than one."""
    matches = {name for name in names if name.startswith(prefix)} if re.match(r"\d+_", prefix) else set()
    return matches.pop() if len(matches) == 1 else None


def _squashed_into(name: str, squashes) -> str:
    """A hint for a name or number that a squash replaced."""
    for squash in squashes:
        if any(old == name or (name.isascii() and name.isdigit() and _number(old) == int(name))
               for old in squash.replaces):
            return f"; {name} was squashed into {squash.name}, the target that stands for it now"
    return ""


_LONGEST_WAIT = 2_147_483


def _check_timeout(timeout: float | None) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise MigrateError(f"timeout must be a number of seconds, not {type(timeout).__name__} {timeout!r}; "
                           "nothing was changed")
    if not 0 <= timeout <= _LONGEST_WAIT:  # (NaN too) SQLite's busy timeout is an int of milliseconds
        raise MigrateError(f"timeout {timeout} must be 0 to {_LONGEST_WAIT} seconds; nothing was changed")


# The first word of every statement _statement_problem refuses: a down section
# without any of them needs no closer look (runner speed).
_MAYBE_UNRUNNABLE = re.compile(rf"\b(?:{'|'.join(sorted(_FORBIDDEN))}|PRAGMA|{MIGRATIONS_TABLE})\b", re.I)


_NOT_PARSED = re.compile(r"syntax error|unrecognized token|incomplete input")  # SQLite's parser's words


def _unparsable(statements: list[str], probe: sqlite3.Connection) -> tuple[str, str] | None:
    """The first statement SQLite cannot parse, whatever the schema is, with
    its error; None when all parse, as far as this tells. Each is prepared
    with EXPLAIN on `probe`, an empty database, which runs nothing; a name
    that is not there is no fault of the statement. SQLite reads no further
    than a table it cannot find in ALTER TABLE and CREATE TRIGGER, so such a
    table is made for the statement (a column of a table is not made: what
    follows one is left unread)."""
    for statement in statements:
        words = [t.upper for t in _first_tokens(statement, 4)]
        # (SQLite sets a PRAGMA as it prepares it, EXPLAIN or not: the probe would keep it)
        if words[:1] in ([], ["EXPLAIN"], ["PRAGMA"], ["ATTACH"], ["DETACH"]):
            continue
        probe.execute("SAVEPOINT probe")
        try:
            for _ in range(2):  # (once more with the table made)
                try:
                    probe.execute(f"EXPLAIN {statement}")
                    break
                except sqlite3.Error as exc:
                    if _NOT_PARSED.search(str(exc)):
                        return statement, str(exc)
                    missing = re.fullmatch(r"no such table: (?:main\.)?(.+)", str(exc))
                    if not missing or not (words[0] == "ALTER" or "TRIGGER" in words):
                        break
                    probe.execute(f"CREATE TABLE {quote(missing.group(1))} (_)")
        finally:
            probe.execute("ROLLBACK TO probe")
            probe.execute("RELEASE probe")
    return None


_PARSED: dict[str, tuple[str, str] | None] = {}  # _parse_failures' answers (apply plans twice for a new database)


def _parse_failures(texts) -> dict[str, tuple[str, str] | None]:
    """{text: _unparsable of it} for down sections, or the statements up
    sections end in; each text is parsed once in a process (threads may
    parse one twice). In one database for the call, closed after: one kept
    for the next call would be shared by threads and forked processes, or
    left open for Python 3.13 to warn of (ResourceWarning)."""
    known = {text: _PARSED.get(text, ...) for text in set(texts)}  # (read once each: another thread may clear it)
    missing = [text for text, answer in known.items() if answer is ...]
    if missing:
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as probe:
            known.update({text: _unparsable(split_statements(text), probe) for text in missing})
        if len(_PARSED) > 4096:
            _PARSED.clear()
        _PARSED.update({text: known[text] for text in missing})
    return known


def _refuse_unrunnable(steps, *, fake: bool, up_only: bool = False, parse_downs: bool = True) -> None:
    """Before anything runs, statements that would end the migration's
    transaction or cannot run inside one. Also, unless `up_only` (an export
    of the up sections alone), a mistyped section marker, and the down
    section of a migration to apply: it is recorded as it is now, for a
    revert that would refuse it when it is needed; with `parse_downs`, also
    one SQLite cannot parse, and an up section that ends in one (cut short)."""
    texts = []
    for step in steps if parse_downs and not fake and not up_only else ():
        if step.action == "apply" and step.migration and step.migration.down:
            texts.append(step.migration.down)
        if step.action == "apply" and step.statements and not sqlite3.complete_statement(step.statements[-1]):
            texts.append(step.statements[-1])  # (no `;`, or a trigger without END: generated files end whole)
    parsed = _parse_failures(texts)
    for step in steps:
        _refuse_unrunnable_step(step, fake=fake, up_only=up_only, parsed=parsed)


def _refuse_unrunnable_step(step: PlannedStep, *, fake: bool, up_only: bool, parsed: dict) -> None:
    """_refuse_unrunnable for one step; `parsed` is _parse_failures of its
    texts (empty: none are parsed)."""
    whole = step.action == "apply" and step.migration and not up_only
    near_miss = _marker_near_miss(step.migration.text) if whole else None
    if near_miss:
        none = " (and the file would have no down section)" if step.migration.down is None else ""
        raise MigrateError(f"migration {step.name}, {near_miss} looks like a section marker but is read as a "
                           f"comment, so the SQL below it would run with the up section{none}: write `-- "
                           "migrate:down` (or reword the comment); nothing was changed")
    up, down = (step.migration.up, step.migration.down) if whole else ("", None)
    if down is not None and not fake and not sqlite3.complete_statement(_plain_spaces(up)) and _has_code(up):
        raise MigrateError(f"migration {step.name}: the statement before its `-- migrate:down` line has no `;` "
                           "(does the marker cut a statement in two?): end the statement with `;`, or move the "
                           "marker below its end (a database that applied the file before then needs `apply "
                           "--allow-changed` once to accept the edit); nothing was changed")
    if whole and step.statements and (failure := parsed.get(step.statements[-1])):
        raise MigrateError(f"migration {step.name}: its up section ends in a statement SQLite cannot parse "
                           f"({failure[1]}): {_shorten(failure[0])}; was the file cut short? Finish the statement "
                           "or remove it; nothing was changed")
    if down and (failure := parsed.get(down)):
        raise MigrateError(f"migration {step.name} (down section): SQLite cannot parse it ({failure[1]}): "
                           f"{_shorten(failure[0])}; fix the down section, or a revert would fail there; nothing "
                           "was changed")
    down_statements = split_statements(down) if down and _MAYBE_UNRUNNABLE.search(down) else ()
    for section, statements in (("", () if fake else step.statements), (" (down section)", down_statements)):
        opened = set()  # the savepoints this section opened
        for statement in statements:
            problem, fix = _statement_problem(statement), "remove it (run it by hand outside migrations)"
            if not problem:
                problem = _savepoint_problem(statement, opened)
                fix = "open it with SAVEPOINT in this migration first, or remove the statement"
            if problem:
                raise MigrateError(f"migration {step.name}{section}: {problem}: {_shorten(statement)}; "
                                   f"{fix}; nothing was changed")


def _renamed_to(record: _Record, migrations: dict, records: dict) -> str | None:
    """The unapplied file that holds an applied migration's content, when
    that one's own file is gone: renamed or renumbered."""
    same = [m.name for m in migrations.values() if m.name not in records and m.matches(record.checksum)]
    return same[0] if len(same) == 1 else None  # two files alike (empty ones) say nothing


_SQUASH_NAME = re.compile(r"\d{4,}_squashed_\d{4,}_\d{4,}")  # as squash names its files


def _refuse_number_clashes(steps, migrations: dict, records: dict) -> None:
    """A migration to apply that has the number of an applied one whose file
    is gone was made without it (another branch's history, or a file deleted
    after it was applied): its SQL, a rebuild especially, may undo or lose
    what that one did."""
    replaced = {name for m in migrations.values() for name in m.replaces}
    gone = [name for name in records if name not in migrations and name not in replaced]
    renamed = {_renamed_to(records[name], migrations, records): name for name in gone}
    gone_numbers = {_number(name): name for name in gone}
    for step in steps:
        if step.action == "apply" and step.name in renamed and not _FILE_NAME.fullmatch(renamed[step.name] + ".sql"):
            raise MigrateError(f"migration {step.name} was applied, as {MIGRATIONS_TABLE} records its content, under "
                               f"the name {renamed[step.name]!r}, which no migration file could have: was that row "
                               f"edited by hand? Set its name back (UPDATE {quote(MIGRATIONS_TABLE)} SET name = "
                               f"{quote_literal(step.name)} WHERE name = {quote_literal(renamed[step.name])}); nothing "
                               "was changed")
        if step.action == "apply" and step.name in renamed:  # (renumbered too: two records of one migration)
            raise MigrateError(f"migration {step.name} is {renamed[step.name]}, applied under that name, renamed: "
                               "rename the file back (the database knows migrations by name); nothing was changed")
        other = gone_numbers.get(_number(step.name)) if step.action == "apply" else None
        if other is None:
            continue
        if _SQUASH_NAME.fullmatch(other):  # reverting it would revert all it replaced
            raise MigrateError(f"migration {step.name} has the number of {other}, which the database applied "
                               "in place of the migrations it replaces and whose file is gone: restore that file "
                               "(git checkout); nothing was changed")
        same = _renamed_to(records[other], migrations, records)
        before = f"{_number(other) - 1:04d}" if _number(other) > 1 else "zero"
        later = sum(1 for name in records if _number(name) >= _number(other))
        reverts = "it, dropping what it made" if later == 1 else \
            f"the {later} applied migrations from it on, dropping what they made"
        revert = (f"python migrate.py apply {before} (its down SQL is recorded), which reverts {reverts}"
                  if records[other].down is not None else None)  # (without it the revert is refused)
        if same:  # swapping the numbers keeps the data; the revert drops it
            raise MigrateError(f"the database applied {other}, since renumbered to {same}, and {step.name} now "
                               f"has its number: rename {same} back to {other} and give {step.name} the number "
                               f"{_number(same):04d} instead (if no database applied it yet)"
                               + (f", or revert {other} with {revert}, then apply again" if revert else "")
                               + "; nothing was changed")
        if revert is None:
            raise MigrateError(f"migration {step.name} has the number of {other}, which the database applied and "
                               "whose file is gone (another branch?), with no down SQL recorded: restore that file "
                               f"(git checkout) and give {step.name} the next free number; nothing was changed")
        raise MigrateError(f"migration {step.name} has the number of {other}, which the database applied and "
                           f"whose file is gone (another branch?): restore that file, or revert it with {revert}; "
                           "nothing was changed")


def _refuse_history_holes(steps, records: dict) -> None:
    """A migration to apply numbered before one the database applied (its
    record deleted by hand?): it was written before that one and would run
    after it, on a schema it was not made for. Django stops there too
    (InconsistentMigrationHistory)."""
    reverted = {step.name for step in steps if step.action == "revert"}  # (apply TARGET: first back, then on)
    staying = [(_number(name), name) for name in records if name not in reverted]
    latest = max((number for number, _ in staying), default=-1)
    for step in steps:
        if step.action != "apply" or step.adopt or _number(step.name) >= latest:  # (adopt: a squash of the applied)
            continue
        later = [name for number, name in sorted(staying) if number > _number(step.name)]
        before = f"{_number(step.name) - 1:04d}" if _number(step.name) > 1 else "zero"
        more = f" and the {len(later) - 1} applied after it" if len(later) > 1 else ""
        raise MigrateError(f"migration {step.name} is not applied, but {later[0]}, numbered after it, is (was "
                           f"{MIGRATIONS_TABLE} edited by hand?): it would run after a migration written after it. "
                           "If the database has what it makes (only its row was deleted), record it with `python "
                           f"migrate.py apply --fake {_number(later[-1]):04d}`; if not, revert to before it with "
                           f"`python migrate.py apply {before}` (which reverts {later[0]}{more}), then apply; "
                           "nothing was changed")


_DROP = re.compile(r"\bdrop\b", re.I)  # a quick look before the tokenizer's (runner speed)


def _table_at(tokens: list[_Token], position: int) -> str:
    """_name_at, folded, also for a name in single quotes (SQLite takes
    DROP TABLE 't' for "t")."""
    name = _name_at(tokens, position) or ""
    if name[:1] == "'" and name[-1:] == "'" and len(name) > 1:
        name = name[1:-1].replace("''", "'")
    return _fold(name)


def _rebuilt_tables(statements) -> list[tuple[str, str]]:
    """The tables that `statements` rebuild, each as (its name before them,
    the name of the table made in its place after them), folded: their rows
    are read, the table holding them is dropped, and a table is made under
    its name. The generated rebuild is CREATE TABLE "_new_t", INSERT INTO
    "_new_t" ... SELECT ... FROM "t", DROP TABLE "t", ALTER TABLE "_new_t"
    RENAME TO "t"; hand-written ones may rename "t" away first, and a table
    renamed earlier in the migration counts by its old name. A table dropped
    without its rows being read first is emptied on purpose: whatever it had
    goes, known or not."""
    if not any(_DROP.search(s) for s in statements):
        return []
    holder = {}  # current name -> name before the statements, for the tables that were there
    holders = {}  # name before the statements -> every name it had
    made, dropped, replacement = set(), [], {}  # replacement: index in `dropped` -> name of its new table

    def note_made(name, old=None):  # a table of this migration's takes a name: does it replace a dropped one?
        made.add(name)
        replacement.update((i, name) for i, (_, _, names) in enumerate(dropped) if name in names)
        replacement.update((i, name) for i, now in list(replacement.items()) if now == old)

    for position, statement in enumerate(statements):
        for action, name, new in _table_ddl([statement]):
            if action == "drop" and name in made:
                made.discard(name)
            elif action == "drop":
                table = holder.pop(name, name)
                dropped.append((position, table, holders.get(table, set()) | {table, name}))
            elif action == "create":
                note_made(name)
            elif action == "rename" and name in made:
                made.discard(name)
                note_made(new, name)
            elif action == "rename":  # a table that was there, renamed: it may take a dropped table's place too
                holder[new] = holder.pop(name, name)
                holders.setdefault(holder[new], {holder[new]}).add(new)
                replacement.update((i, new) for i, (_, _, names) in enumerate(dropped) if new in names)
    for i, (_, _, names) in enumerate(dropped):  # made before the drop (the old table renamed away)
        if i not in replacement and names & made:
            replacement[i] = min(names & made)
    rebuilt = []
    for index, final in sorted(replacement.items()):
        position, table, names = dropped[index]
        if table not in {t for t, _ in rebuilt} and any(_reads(s, names) for s in statements[:position]):
            rebuilt.append((table, final))
    return rebuilt


def _reads(statement: str, names: set[str]) -> bool:
    """Whether a statement that is not DDL or DELETE names one of the
    (folded) tables: reads rows from it, as a rebuild's copy does."""
    lowered = _fold(statement)  # ASCII only, as the names are
    spelled = lambda name: (name, name.replace('"', '""'), name.replace("`", "``"))  # as quoted, too
    if "select" not in lowered or not any(form in lowered for name in names for form in spelled(name)):
        return False  # most statements, and a long seed INSERT, end here
    tokens = _tokenize(statement)
    words = [t.upper for t in tokens[:2]]
    if words[:1] in (["DROP"], ["ALTER"], ["DELETE"]) or (words == ["CREATE", "TABLE"] and
                                                         not any(t.upper == "SELECT" for t in tokens)):
        return False
    return any(_table_at([t], 0) in names for t in tokens if t.kind in ("word", "ident", "string"))


def _dropped_for_good(up_sql: str, down) -> list[tuple[str, str | None]]:
    """What a down section drops that its up section did not make, as
    (table, None) or (table, column), folded and named as before the down
    section: a revert would delete what was there before the migration, rows
    and all. Hand-written down sections do this (`DROP TABLE item` to undo an
    ADD COLUMN). A table the down section rebuilds (_rebuilt_tables) or
    makes itself is not lost, and columns are not judged in a table the up
    section rebuilds. The up section is read only when the down section
    drops something (runner speed)."""
    if not any(_DROP.search(s) for s in down):
        return []
    own, before, dropped = set(), {}, []  # before: a table's name now -> its name before the down section
    for action, name, detail in _table_ddl(down):
        if action == "create":
            own.add(name)
        elif action == "drop" and name in own:
            own.discard(name)
        elif action == "drop":
            dropped.append((before.pop(name, name), None))
        elif action == "rename" and name in own:
            own = own - {name} | {detail}
        elif action == "rename":
            before[detail] = before.pop(name, name)
        elif action == "drop column" and name not in own:
            dropped.append((before.get(name, name), detail))
    if not dropped:
        return []
    up = split_statements(up_sql)
    made, added = _made_by(up)
    dropped = [(table, column) for table, column in dropped if table not in made and (table, column) not in added]
    kept = {table for table, _ in _rebuilt_tables(down)} if any(c is None for _, c in dropped) else set()
    reshaped = {final for _, final in _rebuilt_tables(up)} if any(c for _, c in dropped) else set()
    return [(table, column) for table, column in dropped if table not in (kept if column is None else reshaped)]


def _made_by(up) -> tuple[set[str], set[tuple[str, str]]]:
    """The tables an up section leaves made by it, and the columns it adds
    to the others, folded and named as after it."""
    made, added = set(), set()
    for action, name, detail in _table_ddl(up):
        if action == "create":
            made.add(name)
        elif action == "drop":
            made.discard(name)
        elif action == "rename":
            made = made - {name} | {detail} if name in made else made
            added = {(detail if table == name else table, column) for table, column in added}
        elif action == "add column":
            added.add((name, detail))
        elif action == "rename column" and (name, detail[0]) in added:
            added = added - {(name, detail[0])} | {(name, detail[1])}
    return made, added


def _table_ddl(statements):
    """What each CREATE [VIRTUAL] TABLE, DROP TABLE and ALTER TABLE among
    `statements` does, read from its first words, as (action, table,
    detail), names folded: ("create", t, None), ("drop", t, None), ("rename",
    t, new name), ("add column", t, c), ("drop column", t, c), ("rename
    column", t, (old, new)). Temporary tables are left out."""
    for statement in statements:
        tokens = _first_tokens(statement, 12)
        words = [t.upper for t in tokens]
        where, name, rest = _table_named(tokens, words)
        if where == "temp" or not name:
            continue
        if words[0] in ("CREATE", "DROP"):
            yield words[0].lower(), name, None
            continue
        action = words[rest:rest + 1]
        at = rest + 2 if words[rest + 1:rest + 2] == ["COLUMN"] else rest + 1  # the column, if any
        if action == ["RENAME"] and words[rest + 1:rest + 2] == ["TO"] and rest + 2 < len(tokens):
            yield "rename", name, _table_at(tokens, rest + 2)
        elif action in (["ADD"], ["DROP"]) and at < len(tokens):
            yield f"{action[0].lower()} column", name, _table_at(tokens, at)
        elif action == ["RENAME"] and words[at + 1:at + 2] == ["TO"] and at + 2 < len(tokens):
            yield "rename column", name, (_table_at(tokens, at), _table_at(tokens, at + 2))


def _table_named(tokens: list[_Token], words: list[str]) -> tuple[str, str, int]:
    """The schema and folded table name a CREATE [VIRTUAL] TABLE, DROP TABLE or
    ALTER TABLE statement names, and where the words after the name start;
    ("", "", 0) for other statements."""
    if words[:2] in (["CREATE", "TABLE"], ["DROP", "TABLE"], ["ALTER", "TABLE"]):
        position = 2
    elif words[:3] == ["CREATE", "VIRTUAL", "TABLE"]:
        position = 3
    elif words[:1] == ["CREATE"] and words[1:2] in (["TEMP"], ["TEMPORARY"]):
        return "temp", "", 0
    else:
        return "", "", 0
    if words[position:position + 1] == ["IF"]:
        position += 3 if words[position + 1:position + 2] == ["NOT"] else 2
    schema = "main"
    if position + 2 < len(tokens) and tokens[position + 1].text == ".":
        schema, position = _fold(_unquote(tokens[position].text)), position + 2
    if position >= len(tokens):
        return schema, "", 0
    return schema, _table_at(tokens, position), position + 1


class _TableObjects(namedtuple("_TableObjects", "name columns indexes triggers definitions")):
    """A table's name, its columns, and the indexes and triggers made for it,
    each as {folded name: name}, and how each is defined, a frozenset of
    (kind, folded name, declared type or SQL). For a rebuild's expectations
    (PlannedStep.rebuilds) the name is folded and the others are sets of
    folded names."""
    __slots__ = ()


def _table_objects(conn, table: str) -> _TableObjects | None:
    """What the rebuild checks compare of a table (_TableObjects); None when
    there is no such table. Not parsed, unlike _read_table: the checks
    compare names and these texts, and run in the migration's transaction."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE "
                        "AND sql IS NOT NULL AND type IN ('table', 'index', 'trigger')", (table,)).fetchall()
    names = [name for kind, name, _ in rows if kind == "table"]
    if not names:
        return None
    columns = conn.execute(f"PRAGMA table_xinfo({quote(names[0])})").fetchall()
    by_kind = lambda kind: {_fold(name): name for k, name, _ in rows if k == kind}
    definitions = frozenset([("column", _fold(c[1]), c[2]) for c in columns]
                            + [(kind, _fold(name), sql) for kind, name, sql in rows]
                            + [("UNIQUE constraint", key, "") for key in _unique_constraints(conn, names[0])])
    return _TableObjects(names[0], {_fold(c[1]): c[1] for c in columns}, by_kind("index"), by_kind("trigger"),
                         definitions)


def _unique_constraints(conn, table: str, *, indexes_too: bool = False) -> set[str]:
    """The table's UNIQUE constraints (not its CREATE INDEX ones, unless
    `indexes_too`: a full unique index keeps the same rows out), each as
    its columns, with the collations they compare by other than BINARY:
    "(a, b COLLATE NOCASE)"."""
    def columns(index: str) -> str:
        rows = conn.execute(f"PRAGMA index_xinfo({quote(index)})").fetchall()
        shown = [_fold(column or "?") + (f" COLLATE {collation.upper()}" if collation.upper() != "BINARY" else "")
                 for _, _, column, _, collation, key in rows if key]
        return f"({', '.join(shown)})"
    return {columns(name) for _, name, unique, origin, partial in conn.execute(
                f"PRAGMA index_list({quote(table)})").fetchall()
            if origin == "u" or (indexes_too and origin == "c" and unique and not partial)}


def _rebuild_expectations(conn, steps: list[PlannedStep], migrations: list[Migration],
                          records: dict) -> list[PlannedStep]:
    """The steps, each that rebuilds tables with those tables as the
    migration files leave them for its SQL: before the migration to apply,
    after the one to revert. When an applied file is changed or gone, a
    revert's are what the up SQL recorded for each applied migration leaves
    (_recorded_history), as the recorded down SQL was written for that; with
    rows recorded by an earlier migrate.py, nothing is compared. Before
    that, a migration to apply whose down section rebuilds tables is tried
    on the files (_round_trip_losses). A database without tables yet
    gets them from this run, as the files make them: nothing is compared.
    The files are replayed once, in order, from make's replay cache where
    there is one."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name != ? LIMIT 1",
                        (MIGRATIONS_TABLE,)).fetchall():
        return steps
    position = {m.name: i for i, m in enumerate(migrations)}
    files_as_applied = all(name in position or any(name in m.replaces for m in migrations) for name in records) \
        and all(_as_applied(m, records[m.name]) for m in migrations if m.name in records)
    ran = _recorded_history(records)
    if not files_as_applied and ran is not None and all(step.action == "revert" for step in steps):
        migrations, files_as_applied = ran, True  # what ran, as the migrations table has it
        position = {m.name: i for i, m in enumerate(migrations)}
    probed = lambda step: step.action == "apply" and bool(_rebuilt_tables(split_statements(step.migration.down or "")))
    wanted = sorted((position[step.name] + (step.action == "revert"), index, _rebuilt_tables(step.statements),
                     probed(step))
                    for index, step in enumerate(steps) if step.name in position
                    and (step.action == "apply" or files_as_applied))
    wanted = [want for want in wanted if want[2] or want[3]]
    expectations, losses, scratch, done = {}, {}, None, 0
    try:
        for upto, index, tables, probe in wanted:
            reverting = steps[index].action == "revert"  # then also the tables before the migration to revert
            start = max(upto - reverting, done)
            if scratch is None:
                scratch, done = replay(migrations[:start]), start
            before, renames = {}, {}
            for migration in migrations[done:upto]:
                up = split_statements(migration.up)
                if done == upto - 1:  # the migration to revert: its tables before it, by the names it gives them
                    renames = _renames(up)
                    before = {table: _table_objects(scratch, renames.get(table, (table,))[0]) for table, _ in tables}
                _replay_migration(scratch, migration, up)
                done += 1
            expectations[index] = tuple(
                _TableObjects(table, frozenset(objects.columns), frozenset(objects.indexes),
                              frozenset(objects.triggers),
                              _kept_types(objects, before.get(table), renames.get(table, ("", {}))[1])
                              if reverting else objects.definitions)
                for table, _ in tables for objects in [_table_objects(scratch, table)] if objects)
            if probe:
                losses[index] = _round_trip_losses(scratch, steps[index].migration)
    except MigrateError:
        pass  # a file that does not replay (it needs a table made outside migrations): nothing to expect after it
    finally:
        if scratch is not None:
            scratch.close()
    notes = _round_trip_notes(steps, losses)
    return [replace(step, rebuilds=expectations.get(index, ()), warnings=step.warnings + notes.get(index, ()))
            if expectations.get(index) or index in notes else step for index, step in enumerate(steps)]


def _round_trip_notes(steps: list[PlannedStep], losses: dict) -> dict:
    """What a migration from an older branch loses on its round trip: refused when a column (it
    holds values) or a trigger on apply (it behaves); else a warning for the step at each index."""
    for index, lost in sorted(losses.items()):
        refused = [what for what, on_apply in lost if what.startswith("column ") or
                   (what.startswith("trigger ") and on_apply)]
        if refused:
            them = "them" if len(refused) > 1 else "it"
            raise MigrateError(f"migration {steps[index].name} was written without {', '.join(refused)} (on a "
                               f"branch older than the migration that makes {them}?): tried on the migrations "
                               f"before it, applying and reverting it loses {them}. If it is applied nowhere "
                               "yet, delete it and run make again; nothing was changed")
    return {index: tuple(f"it was written without {what} (another branch's?): "
                         f"{'applying' if on_apply else 'reverting'} it drops it; make it again to keep it"
                         for what, on_apply in lost) for index, lost in losses.items() if lost}


def _kept_types(after: _TableObjects, before: _TableObjects | None, renamed_columns: dict) -> frozenset:
    """For a revert: the definitions of a table after the migration, but
    for the column types it changed or the columns it added, which the down
    section sets itself. `before`: the table before it (None: no column
    types at all); `renamed_columns`: {name after: name before}, folded."""
    types = _column_types(before)
    return frozenset(d for d in after.definitions
                     if d[0] != "column" or types.get(renamed_columns.get(d[1], d[1]), d) == d[2])


def _renames(statements) -> dict[str, tuple[str, dict[str, str]]]:
    """The tables that were there before `statements` and that they rename,
    or rename columns of: {name after: (name before, {column after: column
    before})}, folded. A table they make keeps the name it ends with (a
    rebuild's "_new_t" renamed to "t" is "t"), as do its columns."""
    renames, made = {}, set()
    for statement in statements:
        tokens = _first_tokens(statement, 12)
        words = [t.upper for t in tokens]
        if words[:2] == ["CREATE", "TABLE"]:
            made.add(_table_at(tokens, 2))
        elif words[:2] == ["ALTER", "TABLE"] and "RENAME" in words:
            table, at = _table_at(tokens, 2), words.index("RENAME")
            if words[at + 1:at + 2] == ["TO"] and at + 2 < len(tokens):
                new = _table_at(tokens, at + 2)
                if table in made:
                    made.add(new)
                else:
                    renames[new] = renames.pop(table, (table, {}))
                continue
            at += 2 if words[at + 1:at + 2] == ["COLUMN"] else 1
            if table not in made and words[at + 1:at + 2] == ["TO"] and at + 2 < len(tokens):
                old, new = (_fold(_unquote(tokens[i].text)) for i in (at, at + 2))
                columns = renames.setdefault(table, (table, {}))[1]
                columns[new] = columns.pop(old, old)
    return renames


def _recorded_history(records: dict) -> list[Migration] | None:
    """The applied migrations as the migrations table has them, in the order
    they ran, with the up SQL that ran. None when some row, recorded by an
    earlier migrate.py, lacks it, or the database adopted a squash: the rows
    of what it replaces may not hold an edit the squash made (README: made
    by hand and accepted with --allow-changed)."""
    if any(record.up is None or record.up == _ADOPTED for record in records.values()):
        return None
    return [Migration(name, _number(name), f"{MIGRATIONS_TABLE} row {name}", record.up, record.down,
                      _checksum(record.up.encode("utf-8"))) for name, record in records.items()]


def _round_trip_losses(scratch, migration: Migration) -> list[tuple[str, bool]]:
    """What applying and then reverting a migration loses of the tables its
    down section rebuilds ("column t.c", "index i", "trigger g"), each with
    whether applying it already drops it, tried on the replayed files and
    undone. `make` writes only migrations that come back to where they
    started, so a loss means the migration was written from other files than
    these: another branch's, made before a column was added, whose rebuild
    copies only what it knew."""
    down = split_statements(migration.down or "")
    tables = [table for _, table in _rebuilt_tables(down)]
    if any(_statement_problem(s) for s in down) or not tables:
        return []  # a down section that cannot run here, or rebuilds nothing: nothing to lose
    # (a table the up section makes, as a squash's, has nothing to lose)
    before = {table: objects for table in tables for objects in [_table_objects(scratch, table)] if objects}
    if not before:
        return []
    nullable = lambda table: {_fold(c[1]) for c in scratch.execute(f"PRAGMA table_xinfo({quote(table)})") if not c[3]}
    nullable_before = {table: nullable(table) for table in before}
    kept = _temp_objects(scratch)
    scratch.execute("SAVEPOINT probe")
    try:
        for statement in split_statements(migration.up):
            scratch.execute(statement)
        after_up = {_fold(name) for name, in scratch.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')").fetchall()}
        # a revert runs on another connection, without the up's TEMP tables (SQLite's FAQ
        # rebuild makes a TEMP backup by the same name in both sections)
        _drop_temp_objects(scratch, kept)
        for statement in down:
            scratch.execute(statement)
        lost = []
        for table, objects in before.items():
            after = _table_objects(scratch, table) or _TableObjects("", {}, {}, {}, frozenset())
            lost += [(f"column {objects.name}.{had[key]}" if kind == "column" else f"{kind} {had[key]}",
                      kind != "column" and key not in after_up)
                     for kind, had, left in (("column", objects.columns, after.columns),
                                             ("index", objects.indexes, after.indexes),
                                             ("trigger", objects.triggers, after.triggers))
                     for key in sorted(had.keys() - left.keys())]
            # and the values a rebuild written for another type converts ('007' -> 7)
            types_before, types_after = (_column_types(o) for o in (objects, after))
            lost += [(f"column {objects.name}.{objects.columns[key]} as {declared or 'no type'}", False)
                     for key, declared in sorted(types_before.items())
                     if key in types_after and _converts(_affinity(declared), _affinity(types_after[key]))]
            # and NULL, where a rebuild written while the column was NOT NULL refuses it again
            lost += [(f"column {objects.name}.{objects.columns[key]} as nullable", False)
                     for key in sorted(nullable_before[table] & after.columns.keys() - nullable(table))]
        return lost
    except sqlite3.Error:
        return []  # the sections do not run here as they are: nothing to tell
    finally:
        if scratch.in_transaction:  # a statement's ON CONFLICT ROLLBACK may have ended it, undoing all
            scratch.execute("ROLLBACK TO probe")
            scratch.execute("RELEASE probe")


def _branch_losses(migrations: list[Migration], kinds: tuple[str, ...] = ("column",)) -> list[str]:
    """The migrations that, tried on the ones before them, lose a column (or
    its type or nullability: `kinds` "column"), an index or a trigger as they
    rebuild a table: written on a branch older than the migration that made
    it (README: apply refuses them). A column lost shows as a change `make`
    finds; an index or trigger only counts if no later migration makes it
    again. Replayed anew from the first migration that rebuilds."""
    probed = [i for i, m in enumerate(migrations) if _rebuilt_tables(split_statements(m.down or ""))]
    if not probed:
        return []
    directory = _cache_directory()
    keys = _state_keys(migrations) if directory and _private(directory) else []
    tried = _read_round_trips(directory) if keys else {}  # by the key of the files up to each
    losses = {i: tried.get(keys[i][:40]) if keys else None for i in probed}
    missing = [i for i in probed if losses[i] is None]
    try:
        if missing:
            scratch = replay(migrations[:missing[0]])
            try:
                for index in range(missing[0], missing[-1] + 1):
                    if losses.get(index, ()) is None:
                        losses[index] = [what for what, _ in _round_trip_losses(scratch, migrations[index])]
                    _replay_migration(scratch, migrations[index], split_statements(migrations[index].up))
            finally:
                scratch.close()
            if keys:
                _write_round_trips(directory, {**tried, **{keys[i][:40]: losses[i] for i in missing}})
        found = [(migrations[i].name, what) for i in probed for what in losses[i] if what.split(" ", 1)[0] in kinds]
        there = set()
        if any(not what.startswith("column ") for _, what in found):  # still made at the end?
            scratch = replay(migrations)
            try:
                there = {(kind, _fold(name)) for kind, name in scratch.execute("SELECT type, name FROM sqlite_master")}
            finally:
                scratch.close()
    except MigrateError:
        return []  # a file that does not replay: make and check have said so already
    notes = {}
    for name, what in found:
        kind, _, object_name = what.partition(" ")
        if kind == "column" or (kind, _fold(object_name)) not in there:
            notes.setdefault(name, []).append(what)
    return [f"{name} was written without {', '.join(lost)} (on a branch older than the migration that makes "
            f"{'them' if len(lost) > 1 else 'it'}?): applying and reverting it loses {'them' if len(lost) > 1 else 'it'}"
            ", and apply refuses it. If it is applied nowhere yet, delete it and what make wrote after it, and run "
            "make again" for name, lost in notes.items()]


_ROUND_TRIPS = "round-trips.json"  # in the cache directory: what _round_trip_losses found, by files up to it
_ROUND_TRIPS_KEPT = 5000


def _read_round_trips(directory: str) -> dict:
    import json
    try:
        with open(os.path.join(directory, _ROUND_TRIPS), encoding="utf-8") as handle:
            tried = json.load(handle)
    except (OSError, ValueError):
        return {}
    return tried if isinstance(tried, dict) and all(isinstance(v, list) for v in tried.values()) else {}


def _write_round_trips(directory: str, tried: dict) -> None:
    """Keep what was tried (the newest entries); a cache that cannot be
    written is simply not used."""
    import json
    path = os.path.join(directory, _ROUND_TRIPS)
    temporary = _partial_path(path)
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(dict(list(tried.items())[-_ROUND_TRIPS_KEPT:]), handle)
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            os.remove(temporary)


def _column_types(objects: _TableObjects | None) -> dict[str, str]:
    """The declared types in _table_objects' definitions, by folded column name."""
    return {key: text for kind, key, text in objects.definitions if kind == "column"} if objects else {}


def _converts(before: str, after: str) -> bool:
    """Whether values stored under one affinity can change form when copied
    into a column of another: not into BLOB (no type: kept as given), nor
    between INTEGER and NUMERIC, which store alike."""
    return after != before and after != "BLOB" and {before, after} != {"INTEGER", "NUMERIC"}


def _type_made_by(step: PlannedStep, table: str, column: str) -> str | None:
    """The type a step's rebuild gives table.column: its CREATE TABLE of the
    copy (_new_<table>), as SQLite reads it on a scratch database."""
    copy = "_new_" + table
    creates = [s for s in step.statements if ("create", _fold(copy), None) in _table_ddl([s])]
    if not creates:
        return None
    scratch = _scratch_database()
    try:
        scratch.execute(creates[0])
        types = {_fold(name): kind for name, kind in scratch.execute(
            "SELECT name, type FROM pragma_table_xinfo(?)", (copy,)).fetchall()}
    except sqlite3.Error:
        return None
    finally:
        scratch.close()
    return types.get(_fold(column))


def _check_rebuilt_tables(conn, step: PlannedStep) -> list[tuple[str, str, str, bool]]:
    """Before a step's rebuild runs, compare each rebuilt table in the
    database with the files' (`step.rebuilds`). A column they do not make
    would be dropped with its values, and one whose type was changed by
    hand to another affinity would have its values converted: refuse. An
    index or trigger they do not make carries no data (a down section that
    is a deliberate no-op leaves them, too), and one defined otherwise than
    they make it is made as they say: returned as (kind, name, table,
    whether it was defined otherwise), for _rebuild_warnings."""
    unknown_objects = []
    for wanted in step.rebuilds:
        live = _table_objects(conn, wanted.name)
        if live is None:
            continue
        _refuse_unknown_columns(step, live, wanted)
        _refuse_retyped_columns(step, live, wanted)
        unknown_objects += _objects_made_by_hand(conn, live, wanted)
    return unknown_objects


def _rebuilding(step: PlannedStep) -> tuple[str, str]:
    """How the rebuild checks name a step, and the files they compare with."""
    return (f"migration {step.name}", "before it") if step.action == "apply" else (f"reverting {step.name}", "up to it")


def _refuse_unknown_columns(step: PlannedStep, live: _TableObjects, wanted: _TableObjects) -> None:
    """A column the files do not make (added by hand): the rebuild would drop it with its values."""
    unknown = [live.columns[key] for key in sorted(live.columns.keys() - wanted.columns)]
    if not unknown:
        return
    (doing, files), name, them = _rebuilding(step), live.name, "them" if len(unknown) > 1 else "it"
    advice = (f"Drop {them} by hand if not needed, or keep {them} as README 'Changes made by hand' shows"
              if step.action == "apply" else f"Drop {them} by hand if not needed, or leave {step.name} applied")
    raise MigrateError(f"{doing} rebuilds table {name}, and the database's {name} has "
                       f"column{'s' * (len(unknown) > 1)} {', '.join(unknown)}, which the migrations "
                       f"{files} do not make (added by hand, or by a migration whose file is gone): the "
                       f"rebuild would drop {them} with the values. {advice}; nothing was changed")


def _refuse_retyped_columns(step: PlannedStep, live: _TableObjects, wanted: _TableObjects) -> None:
    """A column whose type was changed by hand to another affinity: the
    rebuild would convert its values back. (Or the step's own type, left by
    a revert with --fake: then say to record it.)"""
    (doing, files), name = _rebuilding(step), live.name
    expected = {(kind, key): text for kind, key, text in wanted.definitions}
    for kind, key, text in sorted(live.definitions - wanted.definitions):
        made = expected.get((kind, key))
        if made is None or kind != "column" or _affinity(text or "") == _affinity(made or ""):
            continue
        column = f"{name}.{live.columns[key]}"
        if step.action == "apply" and _affinity(_type_made_by(step, name, live.columns[key]) or "") == \
                _affinity(text or ""):
            raise MigrateError(f"{doing} rebuilds table {name}, and the database's {column} "
                               f"is {text or '(no type)'} already, as {step.name} makes it, though the "
                               f"migrations {files} make it {made or '(no type)'}: was {step.name} applied "
                               f"and then reverted with --fake? Then record it with apply --fake {step.name}; "
                               "else undo the change by hand; nothing was changed")
        advice = ("Adopt the change in a migration as README 'Changes made by hand' shows, or undo it by hand"
                  if step.action == "apply" else f"Undo it by hand, or leave {step.name} applied")
        raise MigrateError(f"{doing} rebuilds table {name}, and the database's {column} is "
                           f"{text or '(no type)'}, which the migrations {files} make {made or '(no type)'} "
                           f"(changed by hand): the rebuild would make it {made or '(no type)'} again and "
                           f"convert its values. {advice}; nothing was changed")


def _objects_made_by_hand(conn, live: _TableObjects, wanted: _TableObjects) -> list[tuple[str, str, str, bool]]:
    """What the database has on the table that the files do not make, or
    make otherwise: clauses no PRAGMA reports, UNIQUE constraints, indexes
    and triggers (also a caller's TEMP ones), each as (kind, name, table,
    whether the files define it otherwise)."""
    name, extra = live.name, live.definitions - wanted.definitions
    expected = {(kind, key): text for kind, key, text in wanted.definitions}
    changed = {(kind, key) for kind, key, text in extra if kind in ("index", "trigger")
               and (kind, key) in expected and canonical_sql(text) != canonical_sql(expected[kind, key])}
    if changed:  # unless only in the "strings" SQLite's ALTER TABLE writes in single quotes
        schema = read_schema(conn)
        changed -= _alike_as_sqlite_rewrites(list(changed), schema, schema, {k: expected[k] for k in changed})
    found = []
    for kind, key, live_sql in extra:  # clauses no PRAGMA reports, which the files do not write: a rebuild loses them
        if (kind, key) == ("table", _fold(name)):
            clauses = _clauses(_tokenize(live_sql)) - _clauses(_tokenize(expected.get((kind, key)) or ""))
            found += [("clauses", ", ".join(sorted(clauses)), name, False)] if clauses else []
    found += [(kind, key, name, False) for kind, key, _ in sorted(extra)
              if kind == "UNIQUE constraint"]  # not made by the files: a rebuild may leave it out
    found += [(kind, have[key], name, (kind, key) in changed) for kind, have, known in
              (("index", live.indexes, wanted.indexes), ("trigger", live.triggers, wanted.triggers))
              for key in sorted(have) if key not in known or (kind, key) in changed]
    found += [("TEMP trigger", trigger, name, False) for trigger, in conn.execute(  # a caller's own
        "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE",
        (name,)).fetchall()]
    return found


def _rebuild_warnings(conn, step: PlannedStep, unknown_objects) -> tuple[str, ...]:
    """Of the indexes and triggers _check_rebuilt_tables found, those the
    step's rebuild dropped (it may have made some again), and those defined
    by hand that it made as the files do; and the clauses and UNIQUE
    constraints the database had by hand that it left out."""
    if not unknown_objects:
        return ()
    lost_clauses = []
    for kind, clauses, table, _ in unknown_objects:
        if kind == "UNIQUE constraint" and clauses not in _unique_constraints(conn, table, indexes_too=True):
            lost_clauses.append(f"the rebuild of {table} left out its UNIQUE constraint {clauses}, which the "
                                "database had and the migrations do not make: add it back in a migration of your "
                                "own, or declare it on the model (__unique__)")
        if kind == "clauses":
            after = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                                 (table,)).fetchone()
            lost = set(clauses.split(", ")) - _clauses(_tokenize(after[0] if after else ""))
            if "PRIMARY KEY DESC clause" in lost and after:
                lost.discard("PRIMARY KEY DESC clause")
                lost_clauses.append(f"the rebuild of {table} left out its PRIMARY KEY DESC clause, which the database "
                                    "had and the migrations do not write: its key is the rowid now, and a key that "
                                    "was NULL got a number")
            them = "them" if len(lost) > 1 else "it"
            lost_clauses += [f"the rebuild of {table} left out its {' and '.join(sorted(lost))}, which the database "
                             f"had and the migrations do not write (no PRAGMA reports {them}): add {them} back in a "
                             "migration of your own"] if lost and after else []
    unknown_objects = [entry for entry in unknown_objects if entry[0] not in ("clauses", "UNIQUE constraint")]
    there = {_fold(name) for name, in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "UNION ALL SELECT name FROM temp.sqlite_master WHERE type = 'trigger'").fetchall()}
    files = "before it" if step.action == "apply" else "up to it"

    def said(kind: str, name: str, changed: bool) -> str:
        if changed and _fold(name) in there:
            return f"made {kind} {name} as the migrations {files} do, not as the database had it (changed by hand)"
        if changed:
            return f"dropped {kind} {name}, which the database had changed by hand"
        if kind.startswith("TEMP"):
            return f"dropped {kind} {name}, the connection's own: make it again"
        return (f"dropped {kind} {name}, which the migrations {files} do not make (made by hand, or left by a "
                "down section)")
    return tuple(lost_clauses) + tuple(f"the rebuild of {table} {said(kind, name, changed)}"
                                       for kind, name, table, changed in unknown_objects
                                       if changed or _fold(name) not in there)


# A new table is empty (and one made by CREATE TABLE ... AS SELECT has no
# foreign keys), and creating a parent cannot break a child's rows: SQLite
# reports rows pointing at a missing table as violations already.
_NO_ROWS_CHANGED = {("SELECT",), ("CREATE", "TABLE"), ("CREATE", "INDEX"), ("CREATE", "UNIQUE"),
                    ("CREATE", "VIEW"), ("CREATE", "TRIGGER"), ("DROP", "VIEW"), ("DROP", "TRIGGER")}


_DROP_INDEX = re.compile(r"drop\s+index", re.I)  # a quick look before the tokenizer's (runner speed)
_MAY_MAKE_TEMP = re.compile(r"temp", re.I)  # CREATE TEMP[ORARY] ..., or temp.name
_REFERENCES = re.compile(r"references", re.I)


def _index_tables(conn, statements) -> dict[str, str]:
    """Index name -> table, read before `statements` run when they drop an
    index: a dropped UNIQUE index can leave a foreign key without the parent
    key it needs ("foreign key mismatch")."""
    if not any(_DROP_INDEX.search(s) and [t.upper for t in _first_tokens(s, 2)] == ["DROP", "INDEX"]
               for s in statements):
        return {}
    return {_fold(name): _fold(table) for name, table in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall()}


def _fire_triggers(conn, statements, touched: dict[str, bool]) -> bool:
    """Whether a trigger may write rows in tables the statements do not name
    (_touched_tables): one the migration makes, or one on a table it writes,
    read before the statements run."""
    if any(words[0] == "CREATE" and "TRIGGER" in words[1:4]
           for words in ([t.upper for t in _first_tokens(s, 4)] for s in statements) if words):
        return True
    names = sorted(touched)
    marks = ", ".join("?" * len(names))
    return bool(conn.execute(f"SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) IN ({marks}) "
                             f"UNION ALL SELECT 1 FROM temp.sqlite_master WHERE type = 'trigger' "
                             f"AND lower(tbl_name) IN ({marks}) LIMIT 1", names + names).fetchall())


def _touched_tables(statements, index_tables: dict[str, str]) -> dict[str, bool] | None:
    """The tables `statements` write to, read from their first words (INSERT
    INTO t, ALTER TABLE t, DROP TABLE t...), each with whether rows or keys
    may disappear from it (DELETE, UPDATE, REPLACE, ALTER, DROP) rather than
    only appear (INSERT). None when a statement is less obvious
    (WITH ..., anything else): then the whole database is checked. A DROP
    INDEX counts as its table losing keys (`index_tables` from _index_tables)."""
    touched = {}
    for statement in statements:
        if _PLAIN_CREATE.match(statement):
            continue
        tokens = _first_tokens(statement, 10)
        words = [t.upper for t in tokens]
        if tuple(words[:1]) in _NO_ROWS_CHANGED or tuple(words[:2]) in _NO_ROWS_CHANGED:
            continue
        if words[:2] == ["DROP", "INDEX"]:
            name = _name_at(tokens, 2)
            table = index_tables.get(_fold(name)) if name else None
            if table is None:  # made by this migration, or not there: check everything
                return None
            touched[table] = True
            continue
        skip = {"OR": 2, "IF": 2, "NOT": 1, "EXISTS": 1}
        position = {"INSERT": 1, "REPLACE": 1, "UPDATE": 1, "DELETE": 2, "ALTER": 2,
                    "DROP": 2}.get(words[0] if words else "")
        if position is None or (words[0] in ("ALTER", "DROP") and words[1:2] != ["TABLE"]):
            return None
        removes = (words[0] != "INSERT" or "REPLACE" in words[:3]
                   or "CONFLICT" in statement.upper())  # an upsert may change keys
        while position < len(words) and (words[position] in skip or words[position] == "INTO"):
            position += skip.get(words[position], 1)
        if position + 2 < len(tokens) and tokens[position + 1].text == ".":
            position += 2  # schema.table
        names = [tokens[position].text] if position < len(tokens) else []
        action = words[position + 1:position + 4]
        if words[0] == "ALTER" and action[:2] == ["RENAME", "TO"]:
            names.append(tokens[position + 3].text if position + 3 < len(tokens) else "")
        if words[0] == "ALTER" and action[:1] != ["DROP"]:
            removes = False  # ADD COLUMN, and renames (SQLite rewrites the references)
        elif words[0] == "ALTER" and len(tokens) > position + 2:  # DROP [COLUMN] c: only c goes
            column = tokens[position + 3 if action[1:2] == ["COLUMN"] else position + 2].text
            removes = frozenset([_fold(_unquote(column))])
        for name in map(_unquote, names):
            if not name:
                return None
            touched[_fold(name)] = _worse(touched.get(_fold(name), False), removes)
        if not names:
            return None
    return touched


def _created_with_references(statements) -> list[str]:
    """Tables the statements create with foreign keys."""
    created = []
    for statement in statements:
        if not _REFERENCES.search(statement):
            continue
        tokens = _first_tokens(statement, 8)
        name = _name_at(tokens, 2) if [t.upper for t in tokens[:2]] == ["CREATE", "TABLE"] else None
        if name:
            created.append(name)
    return created


def _without_parent_keys(conn, created: list[str]) -> list[str]:
    """Warnings for new tables whose foreign keys have no parent key (PRIMARY
    KEY or UNIQUE) to point at: a later migration may add it, but until then
    every write fails with foreign keys on. A rebuild's _new_ table is gone."""
    warnings = []
    for name in created:
        try:
            conn.execute(f"PRAGMA foreign_key_check({quote(name)})").fetchall()
        except _errors(conn) as exc:
            if "mismatch" in str(exc):
                warnings.append(f"{exc}: writes to {name} fail with foreign keys on until the parent columns "
                                "are its PRIMARY KEY or UNIQUE")
    return warnings


def _worse(first, second):
    """Combine what two statements remove from one table: False (nothing),
    a set of dropped columns, or True (any row or key)."""
    if first is True or second is True:
        return True
    if first is False or second is False:
        return first or second
    return first | second


def _foreign_key_violations(conn, touched: dict | None = None) -> Counter:
    """Rows whose foreign keys point nowhere, counted by (table, rowid,
    parent): counted, because WITHOUT ROWID tables report every row as rowid
    NULL. With `touched` (from _touched_tables, None when a trigger may write:
    _fire_triggers), only where they can be: the written tables that have
    foreign keys, and the tables referencing one that lost rows or keys.
    Without, in the whole database."""
    checked = set()
    if touched:
        marks = ", ".join("?" * len(touched))
        tables = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                              f"AND lower(tbl_name) IN ({marks})", sorted(touched)).fetchall()
        checked = {name for name, sql in tables if "REFERENCES" in (sql or "").upper()}
    # instr, not LIKE: a caller's connection may have case_sensitive_like on (which no PRAGMA reads back)
    with_references = "SELECT name FROM sqlite_master WHERE type = 'table' AND instr(upper(sql), 'REFERENCES')"
    if touched is None:
        if not conn.execute(with_references + " LIMIT 1").fetchall():
            return Counter()  # no table has a foreign key
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
        return Counter((table, rowid, parent) for table, rowid, parent, _ in rows)
    shrunk = {name: removes for name, removes in touched.items() if removes}
    if shrunk:
        children, names = with_references, sorted(shrunk)
        # then a child's SQL names it as it is (and a few: SQLite's expression depth stops at 1,000 ORs)
        if len(names) <= 100 and not any(set(name) & set("\"'`]") for name in names):
            # (SQLite's lower() on both sides: it folds A-Z only, as LIKE did)
            children += " AND (" + " OR ".join(["instr(lower(sql), lower(?))"] * len(names)) + ")"
            names = names + names
        references = conn.execute(
            f"SELECT c.name, lower(f.\"table\"), lower(f.\"to\") FROM ({children}) AS c, "
            f"pragma_foreign_key_list(c.name) AS f WHERE lower(f.\"table\") IN ({', '.join('?' * len(shrunk))})",
            names).fetchall()
        checked |= {child for child, parent, column in references  # a dropped column matters if referenced
                    if shrunk[parent] is True or column is None or column in shrunk[parent]}
    rows = [row for name in sorted(checked)
            for row in conn.execute(f"PRAGMA foreign_key_check({quote(name)})").fetchall()]
    return Counter((table, rowid, parent) for table, rowid, parent, _ in rows)


def _subject(steps: list[PlannedStep]) -> str:
    if not steps:
        return "accepting the edited files"
    doing = "reverting migration" if steps[-1].action == "revert" else "migration"
    return f"{doing}{'s' * (len(steps) > 1)} {_first_names([s.name for s in steps])}"


def _first_names(names: list[str]) -> str:
    """Names for a message: three, and how many more (an --atomic run of many: one line still)."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _checked_violations(conn, steps, touched: dict | None = None) -> Counter:
    """_foreign_key_violations, with SQLite's "foreign key mismatch" (a
    parent key that is neither PRIMARY KEY nor UNIQUE) as the steps' error."""
    try:
        return _foreign_key_violations(conn, touched)
    except _errors(conn) as exc:
        raise MigrateError(f"{_subject(steps)} failed the foreign key check: {exc} (a foreign key's parent "
                           "columns need a PRIMARY KEY or UNIQUE index; if that table was so before, fix it "
                           "first); it was rolled back, the database is as it was") from None


@dataclass(frozen=True)
class PlannedStep:
    """A migration to apply or revert, with the SQL that will run."""
    action: str  # "apply" or "revert"
    name: str
    statements: tuple[str, ...]
    migration: Migration | None = field(default=None, repr=False)  # (its whole text: too long to show)
    record: _Record | None = field(default=None, repr=False)
    adopt: bool = False  # a squashed migration whose replaced ones are all applied
    # the tables its SQL rebuilds, as the migration files leave them for it (_rebuild_expectations)
    rebuilds: tuple[_TableObjects, ...] = field(default=(), repr=False)
    warnings: tuple[str, ...] = ()  # found before it runs, said with its result


class _ForeignKeysOff:
    """Foreign key enforcement off for the migrations (it cannot change inside
    a transaction, and a rebuild's DROP TABLE would cascade), the connection's
    own setting restored afterwards, also after a failure."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.was_on = self.conn.execute("PRAGMA foreign_keys").fetchone()[0]
        if self.was_on:
            self.conn.execute("PRAGMA foreign_keys = OFF")

    def __exit__(self, *exc_info):
        if self.was_on:
            self.conn.execute("PRAGMA foreign_keys = ON")


def _new_violations(found: Counter, before: Counter) -> Counter:
    """The foreign key violations `found` that were not there `before`, row
    by row, names compared as SQLite does; but where a row has no rowid to be
    known by (a WITHOUT ROWID table, or one a rebuild makes so), by their
    number per table and parent."""
    before = Counter({(_fold(table), rowid, _fold(parent)): n for (table, rowid, parent), n in before.items()})
    new = Counter({key: n - before[_fold(key[0]), key[1], _fold(key[2])] for key, n in found.items()
                   if n > before[_fold(key[0]), key[1], _fold(key[2])]})
    unknown = {(_fold(table), _fold(parent)) for table, rowid, parent in [*found, *before] if rowid is None}
    if not unknown:
        return new

    def counted(rows: Counter) -> Counter:
        totals = Counter()
        for (table, _, parent), number in rows.items():
            if (_fold(table), _fold(parent)) in unknown:
                totals[_fold(table), _fold(parent)] += number
        return totals
    more = counted(found) - counted(before)  # (which of those rows are new cannot be told: all are named)
    return Counter({key: n for key, n in found.items() if (_fold(key[0]), _fold(key[2])) in more}) + \
        Counter({key: n for key, n in new.items() if (_fold(key[0]), _fold(key[2])) not in unknown})


def _renamed_violations(violations: Counter, steps: list[PlannedStep]) -> Counter:
    """Violations found before `steps` ran, under the names the steps give
    their tables (a RENAME TO keeps the rows and their rowids) and under
    their own (a hand-written rebuild renames the table away and copies its
    rows back under its name; with legacy_alter_table on, children keep
    naming a parent renamed away); but not those of a table that another
    takes the name of (it was dropped: the rows there now are the other's)."""
    statements = [s for step in steps for s in step.statements]
    renamed = {before: after for after, (before, _) in _renames(statements).items() if before != after}
    if not renamed:
        return violations
    replaced = {_fold(after) for after in renamed.values()} - set(renamed)
    kept = Counter({key: n for key, n in violations.items() if _fold(key[0]) not in replaced})
    # made anew under its name, its rows copied back: maybe renumbered (no INTEGER PRIMARY KEY), so counted per
    # table and parent, as a WITHOUT ROWID table's are
    made = {name for action, name, _ in _table_ddl(statements) if action == "create"} & set(renamed)
    kept = Counter({(table, None if _fold(table) in made else rowid, parent): n
                    for (table, rowid, parent), n in kept.items()})
    return kept | Counter({(renamed.get(_fold(table), table), rowid, renamed.get(_fold(parent), parent)): n
                           for (table, rowid, parent), n in kept.items()})


def _transaction(conn, steps: list[PlannedStep], *, fake: bool, on_step, timeout: float,
                 accepted=(), backup: str | None = None, planned: _Planned | None = None,
                 later: tuple = (), signalled=()) -> list[Step]:
    """Run steps and their tracking writes in ONE `BEGIN IMMEDIATE`
    transaction, after the `backup` and the `accepted` writes
    (_accepted_edits), foreign keys checked before COMMIT. On any error:
    ROLLBACK. Call it with foreign keys off (_ForeignKeysOff)."""
    try:
        done = _attempt(conn, steps, fake=fake, on_start=on_step, allowed=Counter(), timeout=timeout,
                        accepted=accepted, backup=backup, planned=planned, later=later, signalled=signalled)
    except _NewViolations as found:
        allowed = _renamed_violations(_checked_violations(conn, steps), steps)  # rolled back: there before
        new = _new_violations(found.rows, allowed)
        if new:
            raise _violation_error(steps, new) from None
        try:
            done = _attempt(conn, steps, fake=fake, on_start=None, allowed=allowed, timeout=timeout,
                            accepted=accepted, planned=planned, later=later)
        except _NewViolations as again:  # another process wrote in between
            raise _violation_error(steps, _new_violations(again.rows, allowed)) from None
    for step in steps if planned is not None else ():  # committed: the table holds them so
        planned.done(step)
    for planned_step, step in zip(steps, done):  # reported once committed
        if on_step:
            on_step(planned_step.action, planned_step.name, step)
    return done


class _NewViolations(Exception):
    def __init__(self, rows):
        super().__init__()
        self.rows = rows


class _InterruptedWaiting(KeyboardInterrupt):
    """Ctrl-C while waiting for another process's write lock: nothing ran."""


def _begin(conn) -> None:
    """BEGIN IMMEDIATE, waiting for another writer as _patiently does."""
    try:
        _patiently(conn, "BEGIN IMMEDIATE")
    except _errors(conn) as exc:
        if "readonly" not in str(exc):
            hint = " (another process is writing: retry, or wait longer with --timeout)"
            if ("unable to open" in str(exc) or "I/O" in str(exc)) and isinstance(conn, sqlite3.Connection):
                hint = _unopenable_hint(_main_file(conn)) or hint  # (the file system may say why)
        elif isinstance(conn, sqlite3.Connection) and conn.execute("PRAGMA query_only").fetchone()[0]:
            hint = " (the connection has PRAGMA query_only on: turn it off to migrate)"
        else:
            hint = _readonly_hint(exc, conn)
        raise MigrateError(f"cannot start a write transaction: {exc}{hint}; nothing was changed") from None


def _first_read(conn) -> None:
    """Read the schema version, waiting as _patiently does for a writer that keeps
    readers out (BEGIN EXCLUSIVE, or a commit in a rollback-journal database)."""
    _patiently(conn, "PRAGMA schema_version")


def _patiently(conn, statement: str) -> None:
    """Run `statement`, waiting for another connection's lock up to the busy
    timeout in waits of 0.1 s, between which Python sees Ctrl-C (SQLite's own
    wait sleeps in C, where a signal only takes effect once it ends)."""
    patience = conn.execute("PRAGMA busy_timeout").fetchone()[0] if isinstance(conn, sqlite3.Connection) else 0
    if patience:  # (none: one try)
        _busy_timeout(conn, min(patience, 100))
    deadline = time.monotonic() + patience / 1000
    try:
        while True:
            try:
                conn.execute(statement)
                return
            except _errors(conn) as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
    except KeyboardInterrupt:
        raise _InterruptedWaiting from None
    finally:
        if patience:
            _restore_busy_timeout(conn, patience)


def _busy_timeout(conn, milliseconds: int) -> int:
    """Set how long SQLite waits for another connection's lock; the old value."""
    before = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    return before


def _restore_busy_timeout(conn, milliseconds: int) -> None:
    """_busy_timeout on the way out, where an error of its own (a shared
    cache's "database schema is locked") must not hide the one that is
    leaving, nor, on success, fail what committed."""
    with suppress(sqlite3.Error):
        conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")


def _rollback(conn) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    elif isinstance(conn, sqlite3.Connection):
        # A full disk or an I/O error ends the transaction inside SQLite, whose
        # journal stays hot until the file is next read: read it now, so that
        # the file is as it was when the run says so (not only once reopened).
        with suppress(sqlite3.Error):
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()


class _Planned:
    """The migrations table as a run planned from it (read in one snapshot
    with the plan), and the names its steps still record or forget. Another
    process may apply or revert meanwhile: doing steps of this run is fine
    (they are skipped), anything else makes the plan wrong (a rollback and a
    plain apply at once would leave holes in the history)."""

    def __init__(self, conn, steps: list[PlannedStep]):
        self.version = conn.execute("PRAGMA data_version").fetchone()[0]
        self.names = _recorded(conn) or set()
        self.pending = {name for step in steps for name in _tracked_names(step)}

    def refuse_changes(self, conn) -> None:
        """Under the write lock: stop if another process changed the table
        but by steps of this run. PRAGMA data_version tells, without reading
        the table, that no other connection committed anything since."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self.version:
            return
        names = _recorded(conn) or set()
        if names - self.pending != self.names - self.pending:
            changed = sorted((names ^ self.names) - self.pending, key=_order)
            raise _HistoryChanged(f"another process applied or reverted migrations ({', '.join(changed[:3])}"
                                  f"{' ...' if len(changed) > 3 else ''}) since this run made its plan: run it "
                                  "again to plan from what is applied now; this step was rolled back")
        self.version, self.names = version, names

    def done(self, step: PlannedStep) -> None:
        names = set(_tracked_names(step))
        self.names = self.names | names if step.action == "apply" else self.names - names
        self.pending -= names


class _HistoryChanged(MigrateError):
    """What this run did before may have been undone since: not said as staying."""


def _refuse_rewritten_files(steps: list[PlannedStep]) -> None:
    """Under the write lock: a file to apply that changed since this run read
    it (make --update rewrites one holding the lock; an editor) would be run
    and recorded as it was, not as it is."""
    for step in steps:
        migration = step.migration
        if step.action != "apply" or migration is None or not migration.raw_checksum:
            continue
        try:
            with open(migration.path, "rb") as handle:
                unchanged = _checksum(handle.read()) == migration.raw_checksum
        except OSError:
            unchanged = False
        if not unchanged:
            raise MigrateError(f"{migration.path} changed since this run read it (make --update, or an editor, "
                               "wrote it meanwhile): run it again; this step was rolled back")


def _refuse_hiding_temp_tables(conn, statements: list[str]) -> None:
    """A TEMP table or view of the caller's connection that the migrations'
    SQL names would take that SQL in place of the database's table: SQLite
    looks in temp first (a recorded run, with no SQL, is not concerned)."""
    if not statements or not isinstance(conn, sqlite3.Connection):  # (a path opened here has none)
        return
    temporary = conn.execute("SELECT type, name FROM temp.sqlite_master WHERE type IN ('table', 'view')").fetchall()
    hiding = [(kind, name) for kind, name in temporary
              if any(_mentions(statement, name) for statement in statements)]
    if hiding:
        kind, name = hiding[0]
        raise MigrateError(f"the connection has a TEMP {kind} {name}, which would take the migrations' SQL for "
                           f"{name} in place of the database's table (SQLite looks in temp first): drop it, or "
                           "migrate with another connection; nothing was changed")


_MAY_DROP_IF_EXISTS = re.compile(r"\bDROP\s+TABLE\s+IF\s+EXISTS\b", re.I)


def _attempt(conn, steps: list[PlannedStep], *, fake: bool, on_start, allowed, timeout: float,
             accepted, backup: str | None = None, planned: _Planned | None = None,
             later: tuple = (), signalled=()) -> list[Step]:
    """One batch of steps in one transaction: under the write lock, check the
    plan still holds, run the steps and record them, check foreign keys and
    references, COMMIT; anything wrong rolls the whole batch back."""
    _begin(conn)
    # Inside the lock only COMMIT should wait for readers, polled by _commit up to `timeout`: with the
    # connection's busy timeout, every spill of a big transaction's cache to the file waited it out too.
    patience = _busy_timeout(conn, 0)
    try:
        statements = [s for step in steps if not fake for s in step.statements]
        recorded = _under_the_lock(conn, steps, statements, backup, planned)
        create_table, recorded = recorded is None, recorded or set()
        index_tables = _index_tables(conn, statements)
        touched = _touched_tables(statements, index_tables)
        if touched and _fire_triggers(conn, statements, touched):
            touched = None  # a trigger may write any table: all are checked
        for write in accepted:
            conn.execute(*write)
        # the temporary objects the caller's own connection had before: kept
        kept = _temp_objects(conn) if any(_MAY_MAKE_TEMP.search(s) for s in statements) else None
        dropped = {} if fake else _dropped_tables(steps)
        # a DROP TABLE IF EXISTS may drop nothing: what was there, then (else every dropped table was)
        tables_before = _table_names(conn, dropped) if any(_MAY_DROP_IF_EXISTS.search(s) for s in statements) \
            and dropped else None
        done = _run_steps(conn, steps, fake=fake, on_start=on_start, recorded=recorded,
                          create_table=create_table, kept_temp=kept, signalled=signalled)
        violations = _checked_violations(conn, steps, touched)
        if _new_violations(violations, allowed):
            raise _NewViolations(violations)
        _refuse_dangling_references(conn, steps, dropped, tables_before, later)
        keyless = _without_parent_keys(conn, _created_with_references(statements))
        _commit(conn, steps, timeout=timeout)
    except (MigrateError, _NewViolations):
        _rollback(conn)
        raise
    except _errors(conn) as exc:  # the tracking write or COMMIT: read-only, disk full...
        _rollback(conn)
        raise MigrateError(f"{_subject(steps)} could not be recorded: {exc}{_readonly_hint(exc, conn)}; "
                           "it was rolled back, the database is as it was") from None
    except BaseException:
        _rollback(conn)
        raise
    finally:
        _restore_busy_timeout(conn, patience)
    warnings = keyless + _violations_left(violations)
    if warnings:
        done[-1] = replace(done[-1], warnings=done[-1].warnings + tuple(warnings))
    return done


def _under_the_lock(conn, steps: list[PlannedStep], statements: list[str], backup: str | None,
                    planned: _Planned | None) -> set[str] | None:
    """What _attempt does first under the write lock: refuse what may not
    run, take the backup, check again that the plan holds; then the names
    of the steps already recorded (None: no migrations table yet)."""
    _refuse_hiding_temp_tables(conn, statements)  # (the caller's connection: no backup for a refused run)
    if backup is not None:  # under the write lock: exactly what the run starts from; none if the lock waits
        _backup_to(conn, backup)
    # again, inside the lock: another process may have been first, or changed what the plan is from
    if planned is not None:
        planned.refuse_changes(conn)
    _refuse_rewritten_files(steps)
    recorded = _recorded(conn, [name for step in steps for name in _tracked_names(step)])
    if recorded is not None and _without_up_sql(conn):
        conn.execute(_ADD_UP_SQL)
    return recorded


def _violations_left(violations: Counter) -> list[str]:
    """The warning for foreign key violations that were there before the
    run and still are (never the run's to block on)."""
    if not violations:
        return []
    tables = ", ".join(sorted({v[0] for v in violations}))
    count = sum(violations.values())
    return [f"{count} foreign key violation{'s' * (count > 1)} that {'were' if count > 1 else 'was'} "
            f"already there remain{'s' * (count == 1)} in {tables} (PRAGMA foreign_key_check)"]


def _run_steps(conn, steps: list[PlannedStep], *, fake: bool, on_start, recorded: set,
               create_table: bool, kept_temp: set | None, signalled=()) -> list[Step]:
    """Each step's statements and its migrations-table row, inside the caller's transaction.
    `kept_temp`: None when no statement can make temporary objects, else those to keep."""
    done = []
    for step in steps:
        started = time.perf_counter()
        if on_start:
            on_start(step.action, step.name, None)
            if isinstance(conn, sqlite3.Connection) and not conn.in_transaction:
                raise MigrateError(f"the progress function ended the run's transaction before {step.name} ran (a "
                                   "commit or rollback on the connection apply runs on), so it did not run, and what "
                                   "ran before it in that transaction is committed or undone as the function did: "
                                   "give the function a connection of its own for its writes")
        if _done_meanwhile(step, recorded):
            done.append(Step(step.name, "skip", 0.0))
            continue
        ticks = (lambda seconds, step=step: on_start(step.action, step.name, seconds)) if on_start else None
        unknown = _check_rebuilt_tables(conn, step) if step.rebuilds and not fake else []
        statements = () if fake else step.statements
        with _settings_kept(conn, statements):
            _run_statements(conn, step, statements, ticks, create_table=create_table, signalled=signalled,
                            latest=steps[0].name)
        if kept_temp is not None:
            _drop_temp_objects(conn, kept_temp)
        create_table = False
        action = "adopt" if step.adopt else "fake" if fake else step.action
        done.append(Step(step.name, action, time.perf_counter() - started,
                         step.warnings + _rebuild_warnings(conn, step, unknown)))
    return done


def _run_statements(conn, step: PlannedStep, statements, ticks=None, *, create_table: bool = False, latest: str = "",
                    signalled=()) -> None:
    """Run a step's statements and its tracking write. `ticks(seconds)` hears
    about a long statement about twice a second (from SQLite's progress
    handler); `signalled` holds what the run's signal handlers raised
    (_noting_signals); `latest` is the latest migration applied before the
    transaction (for a hint)."""
    watch = ticks is not None and hasattr(conn, "set_progress_handler")
    started, last, raised = time.perf_counter(), [time.perf_counter()], []

    def handler():
        now = time.perf_counter()
        if now - last[0] >= 0.5:
            last[0] = now
            try:
                ticks(now - started)
            except BaseException as exc:  # the caller's callback failed: stop, and raise that, not "interrupted"
                raised.append(exc)
                return 1
        return 0

    if watch:
        conn.set_progress_handler(handler, 100000)
    try:
        for statement in statements:
            noted = len(signalled)  # (one noted before, and taken in hand by the application, is not this one's)
            try:
                conn.execute(statement)
            except _errors(conn) as exc:
                if raised:
                    raise raised[0] from None
                if len(signalled) > noted and str(exc) == "interrupted":  # Ctrl-C: raised as handler() began,
                    raise signalled[noted] from None  # which sqlite3 swallows, ending the statement
                doing = "reverting migration" if step.action == "revert" else "migration"
                hints = (_null_hint(str(exc), reverting=step.action == "revert",
                                    generated=_generated_column(conn, str(exc), statement), conn=conn,
                                    statement=statement)
                         + _adopt_hint(str(exc), step, first=create_table) + _dependent_hint(str(exc), conn)
                         + _reading_hint(str(exc)) + _added_column_hint(str(exc)) + _function_hint(str(exc))
                         + _duplicates_hint(str(exc), statement, reverting=step.action == "revert")
                         + _rowid_hint(conn, str(exc), statement)
                         + _edited_down_hint(step, latest or step.name)
                         + _readonly_hint(exc, conn))
                raise MigrateError(f"{doing} {step.name} failed: {_own_names(str(exc))} in statement: "
                                   f"{_shorten(statement)}{hints}; it was rolled back, the database is as it "
                                   "was") from None
    finally:
        if watch:
            conn.set_progress_handler(None, 0)
    if create_table:
        conn.execute(_CREATE_MIGRATIONS_TABLE)
    conn.execute(*_tracking_write(step))


def _own_names(message: str) -> str:
    """SQLite's error about a rebuild's copy of a table (`_new_t.c`) told of
    the table it stands for (`t.c`), the one the user knows."""
    named = re.sub(r"(?<=[ :])_new_(?=[^ .]+\.)", "", message)
    return named if named == message else f"{named} (as the table is rebuilt)"


def _reading_hint(message: str) -> str:
    """SQLite's SQLITE_LOCKED: a statement still reading the table, which
    the busy timeout does not wait out (a cursor of the caller's connection
    not read to its end, or another connection sharing its cache)."""
    if not message.startswith("database table is locked"):
        return ""
    return (" (a cursor of the connection is still reading that table: read it to its end or close it first; "
            "or another connection sharing its cache is: give each its own connection)")


def _function_hint(message: str) -> str:
    """A function SQLite does not know: the application's own, for a data
    migration, which a connection that has it must run (_execute_with_stand_ins);
    or one that raised, whose error sqlite3 shows only when asked to."""
    if message == "user-defined function raised exception":  # (sqlite3 keeps the exception to itself)
        return " (sqlite3.enable_callback_tracebacks(True) prints the function's own error)"
    if not _NO_SUCH_FUNCTION.fullmatch(message):
        return ""
    return (" (if it is a function your application defines, apply from the application, on a connection that "
            "has it: conn.create_function(...), then migrate.apply(conn))")


def _dependent_hint(message: str, conn) -> str:
    """A view or trigger the statement left naming what is gone: one made
    outside the migrations is unknown to a rebuild, which cannot make it
    again; a TEMP one is the caller's connection's own."""
    found = _BROKEN_OBJECT.match(message)
    if not found:
        return ""
    kind, name = found.groups()
    with suppress(Exception):  # (another engine's connection may have no temp schema to ask)
        temp, main = (bool(conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = ? AND name = ?",
                                        (kind, name)).fetchall()) for schema in ("temp", "main"))
        if temp and main:  # (SQLite's words name no schema)
            return (f" (the connection apply runs on has a TEMP {kind} {name} beside the database's: if the TEMP one "
                    "reads the table, drop it before apply and make it again after; if the database's one does, "
                    "change or drop it in a hand-written migration first)")
        if temp:
            return (f" ({kind} {name} is a TEMP one of the connection apply runs on, and reads the table: drop it "
                    "before apply and make it again after, or apply on a connection of its own)")
    return (f" (if {kind} {name} was made outside the migrations, as `check` would list it, drop it before this "
            f"migration, or make it in one, so that a rebuild makes it again)")


_SQLITE_READONLY_DBMOVED = 1032  # (the error code Python 3.11+ gives as sqlite_errorcode)


def _readonly_hint(exc: Exception, where) -> str:
    """What to check when SQLite may not write: the file or its folder,
    read-only for this user; a connection opened read-only; the file replaced
    under the connection. Also for an I/O error on a database whose file or
    folder is read-only (a hot journal left by a crash, which SQLite must roll
    back). `where`: the database's path, or its connection, whose file is
    looked up only when needed. Nothing when SQLite's words are all there is
    to say: a path whose file, folder and journal this user may all write."""
    message = str(exc)
    if "readonly database" not in message and "disk I/O error" not in message:
        return ""
    if getattr(exc, "sqlite_errorcode", None) == _SQLITE_READONLY_DBMOVED:
        return " (the database file was moved or replaced while the connection was open: open it again)"
    if isinstance(where, str):
        path = os.path.realpath(where) if where else ""  # (a link's: the journal is beside the file it names)
    else:
        try:
            path = _main_file(where)
        except _errors(where):  # (a connection that cannot tell: the usual cause is said)
            path = ""
    files = [path, os.path.dirname(path) or "."] + [path + suffix for suffix in ("-journal", "-wal", "-shm")
                                                     if os.path.exists(path + suffix)] if path else []
    unwritable = not all(os.access(name, os.W_OK) for name in files)
    if "readonly database" not in message and not unwritable:
        return ""
    if files and not unwritable:  # this user may write them all: the connection may not, or SQLite says it all
        return "" if isinstance(where, str) else (
            " (the database file and its folder are writable: the connection was opened read-only, as with "
            "?mode=ro: open it read-write to migrate)")
    return (" (the database file or its folder, where SQLite writes its journal, is read-only for this user: "
            "make both writable, or run as their owner)")


def _unopenable_hint(path: str) -> str:
    """What the file system says of a database `path` SQLite could not open
    (its words: "unable to open database file", "disk I/O error"). One
    that is no regular file was refused before SQLite saw it (_Database)."""
    if not path:
        return ""
    path = os.path.realpath(path)  # (a link's: SQLite opens, and keeps its journal beside, the file it names)
    folder = os.path.dirname(path)
    if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        return " (this user may not read and write it: change its permissions, or run as its owner)"
    if not os.path.exists(path) and not os.access(folder, os.W_OK | os.X_OK):
        return (f" (this user may not create files in {folder}: make it writable, or pass --db with a path in "
                "a folder you can write)")
    for journal in (f"{path}-journal", f"{path}-wal"):
        if os.path.exists(journal) and not os.path.isfile(journal):
            return f" ({journal}, where SQLite keeps its journal, is no regular file: remove it)"
    return ""


def _duplicates_hint(message: str, statement: str, *, reverting: bool) -> str:
    """A unique index made over rows that already repeat a value."""
    if not message.startswith("UNIQUE constraint failed") or \
            [t.upper for t in _first_tokens(statement, 3)] != ["CREATE", "UNIQUE", "INDEX"]:
        return ""
    where = "in its down section, before this statement" if reverting else "at the top of this migration's up section"
    return (f" (rows already repeat a value there: remove or change those rows first, with a DELETE or UPDATE "
            f"{where}, or on this database by hand)")


# A file's down section edited since it was applied is not what a revert runs
_EDITED_DOWN = ("its file's down section was edited since it was applied: this revert runs the down SQL recorded "
                "then; to revert with the file's, record it first with apply --allow-changed")


def _edited_down_hint(step: PlannedStep, latest: str) -> str:
    """A revert runs the down SQL recorded at apply time: a fix made in the
    file since is not what failed, and must be recorded to be used, up to
    `latest`, the latest migration applied (a run rolled back: its first)."""
    edited = _EDITED_DOWN in step.warnings  # (as the plan found it)
    return (" (this is the down SQL recorded when it was applied; its file's down section differs: to revert "
            f"with that one, record it first with apply {latest} --allow-changed)") if edited else ""


def _adopt_hint(message: str, step: PlannedStep, *, first: bool) -> str:
    """A first migration (0001, or the squash that begins the folder: `first`,
    no migration recorded yet) meeting its tables already there: the database
    was made before migrations (or by another tool), which --fake-initial adopts."""
    if step.action == "apply" and (first or _number(step.name) == 1) \
            and re.match(r"(table|index) .+ already exists$", message):
        return (" (this database has it already: if it was made before migrations, adopt it with "
                f"apply --fake-initial, which records {step.name} when all its tables exist)")
    return ""


def _null_hint(message: str, *, reverting: bool, generated: str | None = None, conn=None,
               statement: str = "") -> str:
    """What to do when a rebuild's copy meets NULLs its new table refuses
    (a revert to NOT NULL, after NULLs were written, or a one-off value that
    is NULL for some rows), or a NOT NULL generated column (`generated`:
    table.column) computes a NULL."""
    if generated:
        return (f" (generated column {generated} is NOT NULL, and its expression gives NULL in some rows: make the "
                "field Optional, or change the expression so that it never gives NULL)")
    found = re.fullmatch(r"NOT NULL constraint failed: _new_(.+)\.(.+)", message)
    if not found:
        return ""
    table, column = found.groups()
    try:
        had = conn is None or any(_fold(row[1]) == _fold(column) for row in conn.execute(
            f"SELECT * FROM pragma_table_info({quote_literal(table)})").fetchall())
    except _errors(conn):
        had = True
    if not had or f"coalesce({quote(column)}, " in statement:  # (the copy computes it: make's one-off value)
        return (f" (the one-off value the migration fills {'the new column ' * (not had)}{table}.{column} with is "
                "NULL for some rows: change it in the migration's INSERT so that it never is, or make the field "
                "Optional)")
    return (f" ({table}.{column} holds NULLs, which the rebuilt table does not allow: set them first, e.g. UPDATE "
            f"{quote(table)} SET {quote(column)} = ... WHERE {quote(column)} IS NULL"
            + ("" if reverting else "; or, for a migration written before another made the column nullable (on "
               "another branch), delete it and run make again") + ")")


def _rowid_hint(conn, message: str, statement: str) -> str:
    """SQLite's bare "datatype mismatch" for an INSERT (a rebuild's copy):
    a value that is no integer meant for the table's rowid column (INTEGER
    PRIMARY KEY), as when a text key becomes one."""
    tokens = _first_tokens(statement, 8)
    words = [t.upper for t in tokens]
    if message != "datatype mismatch" or words[:1] != ["INSERT"] or "INTO" not in words:
        return ""
    table = _table_at(tokens, words.index("INTO") + 1)
    try:
        keys = [row for row in conn.execute(f"PRAGMA table_info({quote(table)})").fetchall() if row[5]]
    except _errors(conn):
        return ""
    if len(keys) != 1 or keys[0][2].upper() != "INTEGER":
        return ""
    shown, column = re.sub(r"^_new_", "", table), keys[0][1]
    return (f" ({shown}.{column} is the rowid, INTEGER PRIMARY KEY, which holds integers only, and some row's "
            f"{column} is not an integer, such as text 'x' or 1.5: change or delete those rows first)")


def _generated_column(conn, message: str, statement: str) -> str | None:
    """The generated column (table.column) that failed NOT NULL: one that an
    ADD COLUMN adds (SQLite names no column then), or the rebuilt table's."""
    if message == "NOT NULL constraint failed":
        action, table, column = next(_table_ddl([statement]), ("", "", ""))
        generated = action == "add column" and re.search(r"\bAS\s*\(", statement, re.I)
        return f"{table}.{column}" if generated else None
    found = re.fullmatch(r"NOT NULL constraint failed: (_new_(.+))\.(.+)", message)
    try:
        hidden = found and conn.execute("SELECT hidden FROM pragma_table_xinfo(?) WHERE name = ?",
                                        (found.group(1), found.group(3))).fetchone()
    except Exception:  # (another engine's connection may not know the pragma: no hint then)
        return None
    return f"{found.group(2)}.{found.group(3)}" if hidden and hidden[0] in (2, 3) else None


def _noting_signals(seen: list):
    """Have SIGINT, SIGTERM and SIGHUP append to `seen` what their handlers
    raise, and return what undoes that. An "interrupted" statement is then
    told apart: Ctrl-C (the handler's KeyboardInterrupt is swallowed by
    sqlite3), or SIGTERM as Ctrl-C (_termination_as_ctrl_c, also where SIGINT
    is ignored: a background job), from another thread's conn.interrupt(),
    which is the statement failing (also after a Ctrl-C that an application's
    handler only took note of). Signals reach only the main thread;
    elsewhere, or under a handler set outside Python, nothing is wrapped and
    "interrupted" stays an error."""
    import signal
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    numbers = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {number: signal.getsignal(number) for number in numbers}

    def noting(handler):
        def note(signum, frame):
            try:
                return handler(signum, frame)
            except BaseException as exc:
                seen.append(exc)
                raise
        return note

    for number, handler in previous.items():
        if callable(handler):
            signal.signal(number, noting(handler))

    def restore():
        for number, handler in previous.items():
            if callable(handler):
                signal.signal(number, handler)
    return restore


def _commit(conn, steps: list[PlannedStep], *, timeout: float) -> None:
    """COMMIT, retried while readers hold the database, until `timeout`
    seconds have passed. (Rollback journal: COMMIT answers BUSY at once, the
    busy timeout being 0 inside the transaction (_attempt), and the
    transaction stays open holding the PENDING lock, which keeps new readers
    out: so the wait must end.)"""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("COMMIT")
            return
        except _errors(conn) as exc:
            if "locked" not in str(exc) and "busy" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise MigrateError(f"{_subject(steps)} could not be committed: {exc} (another process kept "
                                   f"reading the database for {timeout:g}s: retry, or wait longer with "
                                   "--timeout); it was rolled back, the database is as it was") from None
            time.sleep(0.1)


def _violation_error(steps: list[PlannedStep], rows: Counter) -> MigrateError:
    listed = sorted(rows.elements(), key=str)
    shown = ", ".join(f"{t} rowid {r} -> {p}" if r is not None else f"{t} (a WITHOUT ROWID row) -> {p}"
                      for t, r, p in listed[:5])
    more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
    names = _first_names([s.name for s in steps])
    renamed = _renamed_away(steps, {_fold(parent) for _, _, parent in listed})
    sections = "its down section" if len(steps) == 1 else "the down section of one of them"
    why = (f"SQLite pointed their foreign keys at {renamed[1]} as {renamed[0]} was renamed to it, and the migration "
           f"dropped it: make the new table under another name and rename that onto {renamed[0]}, as the generated "
           "rebuild does" if renamed else
           "foreign keys are off while migrations run, so ON DELETE and ON UPDATE actions do not run either: delete "
           "or update those rows in the migration first" if steps[-1].action == "apply" else
           f"delete or update those rows first: by hand, or at the top of {sections} (then record the edit with "
           f"apply {steps[0].name} --allow-changed), or add the rows they point at there")
    doing = "migration" if steps[-1].action == "apply" else "reverting migration" + "s" * (len(steps) > 1)
    return MigrateError(f"{doing} {names} would leave rows whose foreign keys point nowhere: {shown}{more} "
                        f"({why}); it was rolled back, the database is as it was")


def _renamed_away(steps: list[PlannedStep], tables: set[str]) -> tuple[str, str] | None:
    """(old, new) for an ALTER TABLE old RENAME TO new in the steps whose
    new name is one of `tables` (folded) and is dropped after it."""
    return next(((renamed, name) for name, renamed in _dropped_tables(steps).items()
                 if renamed and name in tables), None)


_MAY_DROP_TABLE = re.compile(r"\bDROP\s+TABLE\b", re.I)


def _dropped_tables(steps: list[PlannedStep]) -> dict[str, str | None]:
    """{table: the table renamed to it earlier in the steps, or None} for each
    table a statement in the steps drops (names folded). Children's foreign
    keys follow a rename, so a rebuild that renames the old table away, then
    drops it, leaves them naming a table that is gone. (The generated
    rebuild's rename of _new_t onto t is no such case.)"""
    statements = [s for step in steps for s in step.statements]
    if not any(_MAY_DROP_TABLE.search(s) for s in statements):  # (most runs: no tokenizing)
        return {}
    dropped, renamed_from = {}, {}
    for action, name, new in _table_ddl(statements):
        if action == "rename":
            renamed_from[new] = name
        elif action == "drop":
            dropped[name] = renamed_from.get(name)
    return dropped


def _table_names(conn, among) -> set[str]:
    """Which of the tables `among` (folded names) the database has."""
    among = list(among)  # (SQLite's lower() folds ASCII letters only, as _fold does)
    return {_fold(name) for (name,) in conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND lower(name) IN ({', '.join('?' * len(among))})",
        among).fetchall()}  # (fetchall: a libsql cursor is not iterable)


def _table_fates(statements) -> tuple[dict[str, str], set[str]]:
    """What `statements` leave (names folded): of each name they make, drop
    or rename, the last word, "made" (also a rename's new name) or "gone";
    and the tables that were there before them and are dropped for good
    (a rename is no drop: the table lives on under its new name)."""
    names, tables = {}, []  # tables: [its name before them or None (made by them), its name now or None]
    for action, name, detail in _table_ddl(statements):
        if action in ("create", "drop"):
            names[name] = "made" if action == "create" else "gone"
        elif action == "rename":
            names[name], names[detail] = "gone", "made"
        if action == "create":
            tables.append([None, name])
        elif action in ("drop", "rename"):
            table = next((t for t in reversed(tables) if t[1] == name), None)
            if table is None:
                table = [name, name]
                tables.append(table)
            table[1] = detail if action == "rename" else None
    return names, {before for before, now in tables if before is not None and now is None}


def _refuse_dangling_references(conn, steps: list[PlannedStep], dropped: dict, tables_before: set | None,
                                later: tuple = ()) -> None:
    """A table that was there, dropped (`dropped`: _dropped_tables) while
    other tables' foreign keys still name it: refused even with no row to
    show it (empty tables, a new database), as with foreign keys on every
    later write to those tables fails with "no such table". (With rows, the
    foreign key check has refused it already.) What the `later` batches of
    the run settle is let be: a child they drop for good, a parent they make
    again (a history that does so applies on a new database)."""
    if not dropped:
        return
    if tables_before is None:
        existed = set(dropped)
    else:  # (not a DROP TABLE IF EXISTS of none)
        existed = tables_before | {detail if action == "rename" else name for action, name, detail
                                   in _table_ddl([s for step in steps for s in step.statements])
                                   if action in ("create", "rename")}
    missing = set(dropped) & existed - _table_names(conn, dropped)
    if not missing:
        return
    if all(table.isascii() and table.isidentifier() for table in missing):  # (`revert zero` speed)
        # a child's SQL names its parent, so SQLite reads only the foreign keys of tables whose SQL does
        candidates = [name for table in missing for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND instr(lower(sql), ?) ORDER BY name",
            (table,)).fetchall()]
    else:
        candidates = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                       "ORDER BY name").fetchall()]
    dangling = [(child, parent) for child in dict.fromkeys(candidates)
                for (parent,) in conn.execute("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)",
                                              (child,)).fetchall()
                if _fold(parent) in missing]
    if dangling and later:
        names, gone = _table_fates([s for batch in later for step in batch for s in step.statements])
        dangling = [(child, parent) for child, parent in dangling
                    if (_fold(child) not in gone or names.get(_fold(child)) == "made")  # (gone, and no new one)
                    and names.get(_fold(parent)) != "made"]
    if not dangling:
        return
    parent = dangling[0][1]
    named_by = [child for child, named in dangling if _fold(named) == _fold(parent)]
    children, them = ", ".join(named_by), "them" if len(named_by) > 1 else "it"
    renamed = dropped[_fold(parent)]
    why = (f" (SQLite pointed them at {parent} as {renamed} was renamed to it): make the new table under another "
           f"name and rename that onto {renamed}, as the generated rebuild does" if renamed else
           f": with foreign keys on, every write to {them} would fail with \"no such table\"; drop {children}, or "
           f"rebuild {them} without the foreign key, in the same migration (if {parent} was renamed from another "
           "table, its children followed the rename: make the new table under another name and rename that onto "
           "the old one instead)")
    raise MigrateError(f"migration {_first_names([s.name for s in steps])} leaves the foreign keys of {children} "
                       f"naming table {parent}, which it dropped{why}; it was rolled back, the database is as it was")


def _now() -> str:
    """UTC, to the microsecond, from one reading of the clock."""
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 1e6) % 1000000:06d}"


def _order(name: str) -> tuple:
    return (_number(name), name)


def _choose(names: list[str], applied: dict, available: dict, *, target: str | None, reverting: bool,
            adopt: dict | None = None) -> tuple[list[str], list[str]]:
    """(migrations to revert, newest first; migrations to apply, oldest first).
    A squash to `adopt` can be reverted, and applying it runs the replaced
    migrations it lists (not applied yet), then records it; one that lists
    none is only recorded (status shows it applied)."""
    adopt = adopt or {}
    applied_names = [n for n in names if n in applied or n in adopt]
    pending = [n for n in names if n not in applied and n in available]
    if target is None:
        return (applied_names[-1:], []) if reverting else ([], pending)
    if relative := re.fullmatch(r"-([0-9]+)" if reverting else r"\+([0-9]+)", target):  # Alembic's -1 and +2
        return _counted(int(relative.group(1)), applied_names[::-1] if reverting else pending, target, reverting,
                        uncounted=frozenset(name for name, kept in adopt.items() if not kept))
    limit = _resolve_target(target, names, [m for m in available.values() if m.replaces], reverting=reverting)
    limit = -1 if limit is None else limit
    to_revert = [n for n in reversed(applied_names) if _number(n) > limit]
    to_apply = [] if reverting else [n for n in pending if _number(n) <= limit]
    return to_revert, to_apply


def _counted(count: int, candidates: list[str], target: str, reverting: bool,
             uncounted: frozenset) -> tuple[list[str], list[str]]:
    """_choose for a relative target: the latest `count` applied to revert,
    or the next `count` pending to apply. A squash to apply whose replaced
    migrations all are (`uncounted`: status shows it applied) is recorded
    with them, not counted."""
    counted = [name for name in candidates if reverting or name not in uncounted]
    which = "applied" if reverting else "pending"
    if not counted:
        raise MigrateError(f"target {target}: no migration is {which}; nothing was changed")
    if not 0 < count <= len(counted):  # (signed: a bare 1 would name migration 0001)
        sign = target[0]
        limits = f"{sign}1" if len(counted) == 1 else f"{sign}1 to {sign}{len(counted)}"
        raise MigrateError(f"target {target} asks for {count} migration{'s' * (count != 1)}, and {len(counted)} "
                           f"{'is' if len(counted) == 1 else 'are'} {which}: give {limits}, or name a migration; "
                           "nothing was changed")
    chosen = candidates[:candidates.index(counted[count - 1]) + 1]
    return (chosen, []) if reverting else ([], chosen)


def _visible_applied(conn, migrations: dict, *, partly: bool = False) -> tuple[dict, dict]:
    """The applied records, those replaced by a squashed migration folded into
    it; and the squashed migrations to adopt, each with the replaced ones this
    database has yet to apply first, from the files squash kept (none when it
    applied them all). With `partly` (to show the database as it is) a squash
    partly applied is not adopted: the records stay."""
    records = _applied(conn) if conn is not None else {}
    replaced = {name for m in migrations.values() for name in m.replaces}
    applied = {n: r for n, r in records.items() if n not in replaced}
    adopt = {}
    for migration in migrations.values():
        done = [n for n in migration.replaces if n in records]
        if migration.name in applied or not done:
            continue
        missing = _not_applied(migration.replaces, records)
        if missing and partly:
            applied.update((name, records[name]) for name in done)
            continue
        adopt[migration.name] = _kept_originals(migration, missing)
    return applied, adopt


def _kept_folder(squash: Migration) -> str:
    """Where squash moved the files `squash` replaces: beside it, in replaced/."""
    return os.path.join(os.path.dirname(squash.path), REPLACED_FOLDER)


def _history(migrations: dict, records: dict) -> list[Migration]:
    """The migration files as this database goes through them: a squash it
    applied only some of stands for the files it replaces, kept by squash,
    which the database runs before recording the squash; an earlier squash
    kept there stands for its own originals once those are deleted (when a
    file is gone, the squash stays: what it replaces is then not compared)."""
    history = []
    for migration in migrations.values():
        if migration.replaces and migration.name not in records and any(n in records for n in migration.replaces):
            folder = _kept_folder(migration)
            chain, complete = [], True
            for name in migration.replaces:
                path = os.path.join(folder, name + ".sql")
                if not _SQUASH_NAME.fullmatch(name):
                    chain, complete = chain + [path], complete and os.path.isfile(path)
                elif not complete and os.path.isfile(path):  # (squashes start at the first migration)
                    chain, complete = [path], True
            if complete:
                history += [_read_migration(path, _number(os.path.basename(path))) for path in chain]
                continue
        history.append(migration)
    return history


def _applied_in(replaced: tuple[str, ...], records: dict) -> set[str]:
    """The names a squash replaces that this database has applied: recorded,
    or before an earlier squash it recorded (squashes start at the first)."""
    last = max((i for i, name in enumerate(replaced) if _SQUASH_NAME.fullmatch(name) and name in records),
               default=-1)
    return {name for i, name in enumerate(replaced) if name in records or i <= last}


def _kept_originals(squash: Migration, missing: list[str]) -> tuple[Migration, ...]:
    """The files of the `missing` migrations that `squash` replaces, from the
    folder squash moved them to, as they were squashed (by the checksums the
    squash lists)."""
    folder = _kept_folder(squash)
    listed = dict(zip(squash.replaces, squash.replaced_checksums))
    originals = []
    for name in missing:
        path = os.path.join(folder, name + ".sql")
        if not os.path.isfile(path):
            raise MigrateError(f"the database applied only some of the migrations {squash.name} replaces "
                               f"(not {', '.join(missing)}), and {path} is gone: put the files squash moved to "
                               f"{folder} back (git checkout; a squash by an earlier migrate.py deleted them: "
                               f"take them from the history into {folder}), then apply again; nothing was changed")
        original = _read_migration(path, _number(name))
        if not original.checksum.startswith(listed.get(name) or ""):
            raise MigrateError(f"{path} is not the file {squash.name} was squashed from (its checksum differs): "
                               "restore it (git checkout), then apply again; nothing was changed")
        originals.append(original)
    return tuple(originals)


def _refuse_edited_before_squash(records: dict, migrations: dict, adopt: set) -> None:
    """A squash made from a file that was edited after this database applied
    it would be recorded with changes the database does not have."""
    for name in sorted(adopt, key=_order):
        squash = migrations[name]
        for old, checksum in zip(squash.replaces, squash.replaced_checksums):
            if checksum and old in records and not records[old].checksum.startswith(checksum) \
                    and not _squashed_as_applied(squash, old, checksum, records[old]):
                raise MigrateError(f"migration {old} was edited after this database applied it (or an older "
                                   f"migrate.py applied it from a CRLF checkout), and {name} was squashed from "
                                   "the file as it is now: recording the squash could claim changes this database "
                                   "does not have; when `check` reports no drift (or once you made the changes "
                                   "by hand), pass --allow-changed to accept it; nothing was changed")


def _squashed_as_applied(squash: Migration, name: str, checksum: str, record: _Record) -> bool:
    """Whether the file `squash` was squashed from, kept in its folder, is
    the migration `name` as the database applied it, but for comments and
    spacing (_as_applied)."""
    path = os.path.join(_kept_folder(squash), name + ".sql")
    try:
        original = _read_migration(path, _number(name)) if os.path.isfile(path) else None
    except MigrateError:
        return False
    return original is not None and original.checksum.startswith(checksum) and _as_applied(original, record)


def _not_applied(replaced: tuple[str, ...], records: dict) -> list[str]:
    """Which of a squash's `replaced` names the database lacks. Squashing
    again lists an earlier squash after the names it replaced (squashes
    always start at the first migration), so a database has either that
    squash or everything before it, and either counts: an earlier squash
    itself is never what is missing, the names before it are."""
    applied = _applied_in(replaced, records)
    return [name for name in replaced if name not in applied and not _SQUASH_NAME.fullmatch(name)]


def _applied_as_listed(conn, migrations: dict) -> dict:
    """The applied records as `status` and `check` show them: a squashed
    migration whose replaced ones are all applied counts as applied."""
    applied, adopt = _visible_applied(conn, migrations, partly=True)
    records = _applied(conn) if adopt else {}
    for name in adopt:  # applied when the last of the migrations it replaces was
        applied_at = max(records[n].applied_at for n in migrations[name].replaces if n in records)
        applied[name] = _Record(name, migrations[name].checksum, applied_at, None)
    return applied


def _warned(text: str) -> list[str]:
    """The `-- WARNING:` lines of a file's text, as said."""
    return [line.strip()[len("-- WARNING:"):].strip() for line in text.splitlines()
            if line.strip().startswith("-- WARNING:")]


def _revert_notes(down: str, migration: Migration | None) -> tuple[str, ...]:
    """What reverting loses, as the file says it: the `-- WARNING:` lines of
    the down SQL, and the header's about what reverting keeps."""
    header = migration.text.split("-- migrate:up", 1)[0] if migration else ""  # (advice for make left out)
    return tuple(dict.fromkeys(_warned(down) + [w for w in _warned(header) if w.startswith("reverting keeps ")]))


def _apply_notes(up: str) -> tuple[str, ...]:
    """What applying loses, as the file says it: the up section's warnings of
    a table or column dropped with its data (the rest was advice for make)."""
    return tuple(dict.fromkeys(w for w in _warned(up) if w.startswith("drops ")))


def _another_folders_file(migration: Migration, record: _Record) -> str | None:
    """How an applied migration's file and its record differ when they make
    no table in common: then the file is likely another folder's of the same
    name (a plugin's 0001_initial, a wrong --dir or --db), and accepting it as
    an edit would record it in place of this database's own."""
    if record.up is None or record.up == _ADOPTED:
        return None
    made_now, made_then = (sorted(_tables_made(sql)) for sql in (migration.up, record.up))
    if not made_now or not made_then or set(made_now) & set(made_then):
        return None
    tables = "tables" if len(made_now) > 1 else "table"
    return f"it makes {tables} {', '.join(made_now)}, where that one made {', '.join(made_then)}"


def _tables_made(sql: str) -> set[str]:
    """The tables the statements create and leave there, under the names they
    leave them (a rebuild's _new_t renamed to t counts as t)."""
    made = set()
    for action, name, detail in _table_ddl(split_statements(sql)):
        if action == "create":
            made.add(name)
        elif action == "drop":
            made.discard(name)
        elif action == "rename" and name in made:
            made.discard(name)
            made.add(detail)
    return made


def _edited_since_applied(applied: dict, migrations: dict) -> list[str]:
    """The applied migrations whose file differs from what was recorded."""
    return [name for name in sorted(applied, key=_order)
            if name in migrations and not _as_applied(migrations[name], applied[name])]


def _planned_steps(conn, migrations: dict, *, target, reverting, allow_changed,
                   fake: bool = False) -> list[PlannedStep]:
    """What to revert (last first), then what to apply, to reach `target`,
    from the database's records and the files; an applied file since edited
    is refused unless reverting (as apply TARGET going back does) or allowed.
    A migration without down SQL is refused a revert, unless `fake`: only
    its record goes, as in Django."""
    applied, adopt = _visible_applied(conn, migrations)
    if adopt and not reverting and not allow_changed:
        _refuse_edited_before_squash(_applied(conn), migrations, adopt)
    changed = _edited_since_applied(applied, migrations)
    names = sorted(set(migrations) | set(applied), key=_order)
    to_revert, to_apply = _choose(names, applied, migrations, target=target, reverting=reverting, adopt=adopt)
    if changed and not reverting and not allow_changed and (to_apply or not to_revert):  # (going back: as revert)
        _refuse_edited_file(migrations[changed[0]], applied[changed[0]])
    partial = next((name for name, kept in adopt.items() if kept), None)
    if partial and to_revert:  # its down section undoes all it replaces, of which some are not there
        folder = _kept_folder(migrations[partial])
        raise MigrateError(f"the database applied only some of the migrations {partial} replaces: apply first "
                           f"(it runs the rest from {folder}), then revert; nothing was changed")
    gone_squashes = [name for name in applied if name not in migrations and _SQUASH_NAME.fullmatch(name)]
    steps = [_revert_step(name, applied.get(name), migrations.get(name), gone_squashes, fake=fake, latest=to_revert[0],
                          accept_edit=name in changed and allow_changed and not reverting) for name in to_revert]
    for name in to_apply:
        migration = migrations[name]
        for original in adopt.get(name, ()):  # the database applied only some of what the squash replaces
            steps.append(PlannedStep("apply", original.name, tuple(split_statements(original.up)), original,
                                     warnings=_apply_notes(original.up)))
        statements = () if name in adopt else tuple(split_statements(migration.up))
        steps.append(PlannedStep("apply", name, statements, migration, adopt=name in adopt,
                                 warnings=() if name in adopt else _apply_notes(migration.up)))
    return steps


def _refuse_edited_file(migration: Migration, record: _Record) -> None:
    """Refuse to go on with an applied file edited since: it may be another
    folder's file of the same name, or an edit to restore or accept."""
    others = _another_folders_file(migration, record)
    if others:
        raise MigrateError(f"migration file {migration.path} is not the {migration.name} this database applied "
                           f"({others}): pass --dir with this database's migrations folder, or --db with this "
                           "folder's database (or, if the file was rewritten on purpose, --allow-changed); nothing "
                           "was changed")
    raise MigrateError(f"migration file {migration.path} changed since it was applied "
                       "(its checksum differs): restore it (e.g. git checkout), or pass "
                       "--allow-changed to accept the edit (it will not be re-run); nothing was changed")


def _revert_step(name: str, record: _Record | None, migration: Migration | None, gone_squashes: list[str], *,
                 accept_edit: bool, fake: bool, latest: str) -> PlannedStep:
    """The step that reverts `name` with the down SQL recorded when it was
    applied (the file's, where the edit is accepted or none was recorded);
    refused where there is none to use, unless `fake`. No record: an
    adopted squash. `latest`: the latest applied migration (recording an
    edit up to it applies and reverts nothing)."""
    squash = next((s for s in gone_squashes if _number(name) <= _number(s)), None)
    if squash:  # its down SQL undoes all it replaced; the originals it stands for are its to revert
        raise MigrateError(f"migration {squash} was recorded in place of the migrations it replaces, and its "
                           "file is gone: restore that file (git checkout), then revert; nothing was changed")
    if accept_edit:  # the file as edited is accepted
        down = migration.down
    else:  # None recorded: a down section added to the file since is used
        down = record.down if record and record.down is not None else migration and migration.down
    if down is None and migration is None and not fake:
        raise MigrateError(f"migration {name} has no file and was recorded without a down section, so it "
                           "cannot be reverted: restore its file (git checkout) with a `-- migrate:down` "
                           "section; nothing was changed")
    if migration is not None and migration.down is None and down is not None and not fake:
        raise MigrateError(f"migration {name}'s file has no `-- migrate:down` section now, but had one when it "
                           "was applied: restore the section (git checkout) to revert with it, or, to make the "
                           f"migration irreversible, record the file as it is with apply {latest} --allow-changed; "
                           "nothing "
                           "was changed")
    if down is None and not fake:
        raise MigrateError(f"migration {name} has no `-- migrate:down` section, so it cannot be "
                           "reverted: add one to its file (an empty one means nothing to undo), or pass --fake "
                           "to remove its record only; nothing was changed")
    down = down or ""
    statements = tuple(split_statements(down))
    edited = (migration is not None and migration.down is not None and down is not migration.down
              and _code(migration.down) != _code(down))  # (comments, spacing and CRLF are no edit)
    notes = _revert_notes(down, migration) + ((_EDITED_DOWN,) if edited else ())
    return PlannedStep("revert", name, statements, migration, record, warnings=notes)


def plan(db, *, directory: str | os.PathLike = "migrations", target: str | int | None = None, reverting: bool = False,
         fake: bool = False, fake_initial: bool = False, allow_changed: bool = False,
         timeout: float | None = None) -> list[PlannedStep]:
    """What `apply` (or `revert`, with reverting=True) would run, in order,
    without changing anything; it refuses what they would refuse. A step
    that would only be recorded (`fake`, `fake_initial`) has no statements.
    `timeout` is how long to wait for a writer that keeps readers out (None:
    a connection's own busy timeout, 30 s for a path)."""
    _check_sqlite_version()
    _check_timeout(timeout)
    _check_flags(reverting=reverting, fake=fake, fake_initial=fake_initial, allow_changed=allow_changed)
    migrations = {m.name: m for m in read_migrations(directory)}
    target = None if target is None else _migration_name(target, "target", directory)
    database = _Database(db, create=False, timeout=timeout, writes=True)  # (refused as apply would refuse it)
    try:
        with _locks_as_errors():
            steps, faked = _checked_steps(database.conn, migrations, target=target, reverting=reverting,
                                          fake=fake, fake_initial=fake_initial, allow_changed=allow_changed)
    finally:
        database.close()
    return [replace(step, statements=()) if fake or (faked and i == 0) else step for i, step in enumerate(steps)]


def _checked_steps(conn, migrations: dict, *, target, reverting: bool, fake: bool, fake_initial: bool,
                   allow_changed: bool) -> tuple[list[PlannedStep], bool]:
    """The steps a run takes, once every refusal that comes before anything
    runs has passed; and whether the first is only recorded (--fake-initial
    found its tables)."""
    steps = _planned_steps(conn, migrations, target=target, reverting=reverting, allow_changed=allow_changed,
                           fake=fake)
    if fake_initial and (reverted := [step.name for step in steps if step.action == "revert"]):
        more = f" and {len(reverted) - 1} more" if len(reverted) > 1 else ""
        raise MigrateError(f"--fake-initial records the initial migration of a database that has its tables, and "
                           f"target {target} reverts {reverted[0]}{more}: drop --fake-initial to revert; nothing "
                           "was changed")
    first = min(migrations.values(), key=lambda m: m.number, default=None)  # 0001, or a squash of it
    faked = bool(fake_initial and steps and steps[0].action == "apply" and steps[0].migration is first
                 and conn is not None and _initial_tables_exist(conn, first))
    # (a down section is parsed by this Python's SQLite: another engine may know more syntax)
    parse_downs = conn is None or isinstance(conn, sqlite3.Connection)
    _refuse_unrunnable(steps[1:] if faked else steps, fake=fake, parse_downs=parse_downs)
    if allow_changed and conn is not None:  # their down sections are recorded for a revert: vetted as a new file's
        edited = _edited_since_applied(_applied(conn), migrations)
        _refuse_unrunnable([PlannedStep("apply", name, (), migrations[name]) for name in edited], fake=fake,
                           parse_downs=parse_downs)
    if not fake and conn is not None:
        _refuse_lossy_reverts(conn, steps)
    if steps and conn is not None:  # None: a database not created yet (a dry run)
        records = _applied(conn)
        _refuse_number_clashes(steps, migrations, records)  # also when only recording: two histories
        if not fake:  # (recording is how to mend one)
            _refuse_history_holes(steps, records)
            history = _history(migrations, records)
            _refuse_unchecked_rebuilds(steps, history)
            steps = _rebuild_expectations(conn, steps, history, records)
    if fake:  # recorded only: nothing the SQL would do happens
        steps = [replace(step, warnings=()) for step in steps]
    return steps, faked


def _refuse_lossy_reverts(conn, steps: list[PlannedStep]) -> None:
    """A revert whose down SQL drops a table or column that its up SQL did
    not make, and that the database has: it would delete what was there
    before the migration (_dropped_for_good). The up SQL is the one recorded
    when it was applied, else its file's."""
    reverts = [step for step in steps if step.action == "revert"]
    for step in reverts:
        record, migration = step.record, step.migration
        up = record.up if record and record.up not in (None, _ADOPTED) else migration.up if migration else None
        if up is None:
            continue
        for table, column in _dropped_for_good(up, step.statements):
            found = _existing(conn, table, column)
            if found:
                count = conn.execute(f"SELECT count(*) FROM {quote(found[0])}").fetchone()[0]
                rows = f"{count} row{'s' * (count != 1)}"
                what = f"column {'.'.join(found)} and its values in {rows}" if column else \
                    f"table {found[0]} and its {rows}"
                raise MigrateError(f"reverting migration {step.name} would drop {what}, which the database had "
                                   "before that migration (its up section does not make it): fix the down section, "
                                   f"record it with apply {reverts[0].name} --allow-changed (the latest applied: "
                                   "it applies nothing), then revert; nothing was changed")


def _existing(conn, table: str, column: str | None) -> tuple[str, ...] | None:
    """A table, or a column of it, as the database spells it: (table,) or
    (table, column); None when it has no such table or column."""
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                         (table,)).fetchone()
    if not found or column is None:
        return tuple(found) if found else None
    columns = {_fold(c[1]): c[1] for c in conn.execute(f"PRAGMA table_xinfo({quote(found[0])})").fetchall()}
    return (found[0], columns[column]) if column in columns else None


def _refuse_unchecked_rebuilds(steps: list[PlannedStep], history: list[Migration]) -> None:
    """A kept file to run that rebuilds a table is checked against the files
    before it (_rebuild_expectations); when replaced/ lacks some of those,
    nothing describes the table it would copy, and a column added by hand
    would go with the rebuild."""
    known = {m.name for m in history}
    for step in steps:
        if step.action == "apply" and step.name not in known and step.migration is not None \
                and _rebuilt_tables(step.statements):
            folder = os.path.dirname(step.migration.path)
            raise MigrateError(f"migration {step.name} (kept in {folder}) rebuilds a table, which cannot be "
                               f"checked against the files before it: {folder} lacks some the database went "
                               "through (an earlier squash, or its originals); put them back (git checkout), "
                               "then apply again; nothing was changed")


def _migrate(db, directory: str, *, target: str | None, reverting: bool, fake: bool = False,
             fake_initial: bool = False, allow_changed: bool = False, atomic: bool = False,
             timeout: float | None = None, progress=None, backup: str | None = None) -> list[Step]:
    """apply and revert: check the arguments, plan in one read snapshot, then
    run the plan in batches (one per migration, or one in all with `atomic`),
    each under the write lock and checked again there. Returns what ran."""
    _check_sqlite_version()
    _check_timeout(timeout)
    _check_flags(fake=fake, fake_initial=fake_initial, allow_changed=allow_changed, atomic=atomic)
    if progress is not None and not callable(progress):
        raise MigrateError(f"progress must be a function or None, not {type(progress).__name__}; nothing was changed")
    if backup is not None:
        _check_backup_path(backup, db)
    migrations = {m.name: m for m in read_migrations(directory)}
    target = None if target is None else _migration_name(target, "target", directory)
    database = _Database(db, create=False, timeout=timeout, writes=True)
    if database.conn is None and not reverting:  # no database yet: made only if something will go in
        if not _checked_steps(None, migrations, target=target, reverting=False, fake=fake,
                              fake_initial=fake_initial, allow_changed=allow_changed)[0]:
            return []
        database = _Database(db, create=True, timeout=timeout, writes=True)
    done = []
    try:
        conn = database.conn
        # planned in one read snapshot, so that the write lock later finds whether it still holds
        snapshot = isinstance(conn, sqlite3.Connection) and not conn.in_transaction
        with _locks_as_errors():
            if snapshot:
                conn.execute("BEGIN")
            try:
                steps, faked = _checked_steps(conn, migrations, target=target, reverting=reverting, fake=fake,
                                              fake_initial=fake_initial, allow_changed=allow_changed)
                accepted = _accepted_edits(conn, migrations) if allow_changed else []
                planned = _Planned(conn, steps) if snapshot and steps else None
            finally:
                if snapshot and conn.in_transaction:
                    conn.execute("ROLLBACK")  # (it only read)
        if not ((steps or accepted) and conn is not None and not database.created) or db == ":memory:":
            backup = None  # nothing to change, or nothing to copy (a new in-memory database is empty)
        if backup is not None:
            _refuse_backup_of_cluster(conn)
            exclusive = conn.execute("PRAGMA locking_mode").fetchone()[0].lower() == "exclusive"
            if not _main_file(conn) or exclusive:  # no other connection can read it, nor write meanwhile
                _backup_to(conn, backup)
                backup = None
        if faked:
            _run_batches(conn, [steps[:1]], done, fake=True, progress=progress, timeout=database.timeout,
                         accepted=accepted, backup=backup, planned=planned)
            steps, accepted, backup = steps[1:], [], None
        _run_batches(conn, [steps] if atomic and steps else [[step] for step in steps], done, fake=fake,
                     progress=progress, timeout=database.timeout, accepted=accepted, backup=backup,
                     planned=planned)
        return done
    finally:
        database.close()


def _run_batches(conn, batches: list[list[PlannedStep]], done: list[Step], *, fake: bool, progress,
                 timeout: float, accepted=(), backup: str | None = None, planned: _Planned | None = None) -> None:
    """Each batch in one transaction (a local one, or one rqlite request),
    adding the Steps to `done` as each commits, so a later failure still
    leaves the record of what was committed. The `accepted` writes
    (_accepted_edits) go into the first transaction, so that whatever fails
    "as it was" also holds for them; alone when there is nothing to run. The
    `backup` is taken in the first one too, once it holds the write lock."""
    if accepted and not batches:
        batches = [[]]
    before = len(done)
    try:
        if isinstance(conn, Rqlite):
            for batch in batches:
                done += _rqlite_transaction(conn, batch, fake=fake, on_step=progress, accepted=accepted)
                accepted = ()  # recorded with the first batch
        elif batches:
            signalled = []  # (noted once for the run: setting handlers per migration cost ~5% of a big run)
            restore_handlers = _noting_signals(signalled) if progress is not None else lambda: None
            try:
                with _ForeignKeysOff(conn):
                    for index, batch in enumerate(batches):
                        done += _transaction(conn, batch, fake=fake, on_step=progress, timeout=timeout,
                                             accepted=accepted, backup=backup, planned=planned,
                                             later=tuple(batches[index + 1:]), signalled=signalled)
                        accepted, backup = (), None  # recorded with the first batch
            finally:
                restore_handlers()
    except _InterruptedWaiting:  # "nothing was changed" holds only if no transaction of the run committed
        if any(step.action in ("apply", "revert") for step in done[before:]):
            raise KeyboardInterrupt from None  # said as a run cut short: one that had committed stays
        raise
    except MigrateError as exc:  # "as it was" is of the failed transaction; those before it committed
        committed = [step for step in done[before:] if step.action in ("apply", "revert")]
        if committed and exc.args and not isinstance(exc, _HistoryChanged):
            names = [step.name for step in committed]
            listed = _first_names(names)
            did = "reverted" if committed[-1].action == "revert" else "applied"
            exc.args = (f"{exc.args[0]} ({listed}, which this run {did} before it, "
                        f"stay{'s' if len(names) == 1 else ''} {did})",) + exc.args[1:]
        raise


def _rqlite_transaction(conn: Rqlite, steps: list[PlannedStep], *, fake: bool, on_step,
                        accepted=()) -> list[Step]:
    """The `accepted` writes, the steps and their tracking writes as ONE
    transaction request. The tracking write goes first: a node that applied the
    migration already makes the duplicate INSERT fail, which aborts the whole
    request."""
    started = time.perf_counter()
    if not fake:  # recording runs nothing
        _refuse_cascading_rebuilds(conn, steps)
    # the state the first step finds; the others' is only known inside the request (README)
    unknown = _check_rebuilt_tables(conn, steps[0]) if steps and steps[0].rebuilds and not fake else []
    statements = [[_CREATE_MIGRATIONS_TABLE]] + [[_ADD_UP_SQL]] * _without_up_sql(conn) \
        + [[sql, *params] for sql, params in accepted]
    for step in steps:
        if on_step:
            on_step(step.action, step.name, None)
        sql, params = _tracking_write(step)
        statements.append([sql, *params])
        statements += [[statement] for statement in (() if fake else step.statements)]
    try:
        conn.transaction(statements)
    except RqliteError as exc:
        recorded = _recorded(conn, [name for step in steps for name in _tracked_names(step)]) or set()
        if steps and all(_done_meanwhile(step, recorded) for step in steps):
            done = [Step(step.name, "skip", 0.0) for step in steps]  # another node was first
        else:
            raise MigrateError(f"{_subject(steps)} failed on rqlite: {exc}; "
                               "the cluster rolled it back, nothing was recorded") from None
    else:
        seconds = time.perf_counter() - started
        done = [Step(step.name, "adopt" if step.adopt else "fake" if fake else step.action, seconds,
                     step.warnings + (_rebuild_warnings(conn, step, unknown) if i == 0 else ()))
                for i, step in enumerate(steps)]
    for planned_step, step in zip(steps, done):
        if on_step:
            on_step(planned_step.action, planned_step.name, step)
    return done


def _refuse_cascading_rebuilds(conn: Rqlite, steps: list[PlannedStep]) -> None:
    """A cluster started with -fk enforces foreign keys on every statement,
    and PRAGMA foreign_keys must not be sent (it would be replicated): dropping
    a referenced table there deletes or orphans its children's rows."""
    if not conn.enforces_foreign_keys():
        return
    scratch = _scratch_database()
    try:
        for statement in schema_statements(conn):
            scratch.execute(statement)
        for step in steps:
            try:
                dropped = _cascading_drops(scratch, step.statements)
            except sqlite3.Error as exc:
                raise MigrateError(f"migration {step.name} fails on a copy of the schema ({exc}), so it cannot "
                                   "be checked against this cluster's foreign keys (-fk): fix it, or restart "
                                   "the cluster without -fk for it; nothing was changed") from None
            if dropped:
                raise MigrateError(f"migration {step.name} drops or rebuilds table {dropped[0]}, which foreign keys "
                                   "reference, and this rqlite cluster enforces foreign keys (-fk): their rows "
                                   "would cascade away. Restart the cluster without -fk for this migration; "
                                   "nothing was changed")
    finally:
        scratch.close()


def _accepted_edits(conn, migrations: dict) -> list[tuple[str, tuple]]:
    """For --allow-changed: the writes that record each applied file edited
    since as it is now: its checksum, its down SQL, which revert uses, and
    its up SQL, which the database is taken to be in the state of (the
    edit was made by hand)."""
    applied = _applied(conn) if conn is not None else {}
    update = f"UPDATE {_HISTORY} SET checksum = ?, down_sql = ?, up_sql = ? WHERE name = ?"
    return [(update, (migrations[name].checksum, migrations[name].down,
                      _ADOPTED if applied[name].up == _ADOPTED else migrations[name].up, name))
            for name in _edited_since_applied(applied, migrations)]


def _initial_tables_exist(conn, migration: Migration) -> bool:
    """For --fake-initial: True when every table the initial migration
    creates already exists as it would create it; False when none does."""
    expected = replayed_schema([migration])
    actual = read_schema(conn)
    present = [t for t in expected.tables if actual.table(t.name) is not None]
    if not present:
        return False
    missing = [t.name for t in expected.tables if actual.table(t.name) is None]
    problems = [f"table {name} is missing" for name in missing]
    for table in present:
        one, made, names = Schema((actual.table(table.name),)), Schema((table,)), ("the database", migration.name)
        problems += schema_differences(one, made, names=names) + _clause_differences(one, made, names)
    # the views and triggers it makes too (a trigger missing would be missed silently), not those made besides
    problems += [f"{made.type} {made.name} is {'missing' if there is None else 'defined otherwise'}"
                 for there, made in _unlike_objects(actual, expected) if made]
    if problems:
        raise MigrateError(f"--fake-initial: the database does not match {migration.name} "
                           f"({'; '.join(problems)}): make them match by hand (the database, or {migration.name} before any "
                           "database applied it), or adopt it with --fake, which records it without comparing; "
                           "nothing was changed")
    return True


def apply(db, *, directory: str | os.PathLike = "migrations", target: str | int | None = None, fake: bool = False,
          fake_initial: bool = False, allow_changed: bool = False, atomic: bool = False,
          timeout: float | None = None, progress=None, backup: str | os.PathLike | None = None) -> list[Step]:
    """Apply pending migrations in order, each in its own transaction (all in
    one with `atomic`). With a `target` (a number, a name or "zero"), migrate
    to it: apply up to it and revert what was applied after it.

    `db` is a path or an open sqlite3 connection (left as found). `fake`
    records without running the SQL; `fake_initial` fakes the initial migration
    when its tables already exist and match; `allow_changed` accepts applied
    files edited since (records their checksum and down SQL, in the first
    transaction). `timeout` is how long to wait for another writer, and for
    readers at each COMMIT (None: a connection's own busy timeout, 30 s for a
    path). `backup` is a new file to snapshot the database
    into once the run is planned and checked, before anything runs (none
    when the database is created by this run).
    `progress(action, name, step)` is called before each migration (step
    None), about twice a second while a long statement runs (step = seconds so
    far) and once it is committed (step = its Step). Raises MigrateError;
    returns the Steps done."""
    return _migrate(db, directory, target=target, reverting=False, fake=fake,
                    fake_initial=fake_initial, allow_changed=allow_changed, atomic=atomic,
                    timeout=timeout, progress=progress, backup=backup)


def revert(db, *, directory: str | os.PathLike = "migrations", target: str | int | None = None, fake: bool = False,
           atomic: bool = False, timeout: float | None = None, progress=None,
           backup: str | os.PathLike | None = None) -> list[Step]:
    """Revert the last applied migration, or every migration after `target`
    (which stays applied), using the down SQL recorded when each was applied:
    each in its own transaction (all in one with `atomic`). The other
    arguments are apply's."""
    return _migrate(db, directory, target=target, reverting=True, fake=fake, atomic=atomic, timeout=timeout,
                    progress=progress, backup=backup)


def status(db, *, directory: str | os.PathLike = "migrations", timeout: float | None = None) -> list[MigrationStatus]:
    """Every migration on disk or in the database, applied or not. Never
    creates the database. `timeout` as for `plan`."""
    rows, problem = _status(db, directory, timeout)
    if problem:
        raise MigrateError(problem)
    return rows


def _status(db, directory, timeout) -> tuple[list[MigrationStatus], str | None]:
    """status, and what is wrong with the files' numbering: the command
    line lists the migrations also then, to show which one was applied."""
    _check_timeout(timeout)
    migrations = _migration_files(directory)
    by_name = {m.name: m for m in migrations}
    database = _Database(db, create=False, timeout=timeout)
    try:
        with _locks_as_errors():
            applied = _applied_as_listed(database.conn, by_name)
    finally:
        database.close()
    names = sorted(set(by_name) | set(applied), key=_order)
    squashed_into = {old: m.name for m in migrations for old in m.replaces}
    return [MigrationStatus(
        name, name in applied, applied[name].applied_at if name in applied else None,
        name not in by_name,
        name in applied and name in by_name and not _as_applied(by_name[name], applied[name]),
        _renamed_to(applied[name], by_name, applied) if name in applied and name not in by_name else None,
        squashed_into.get(name))
        for name in names], _numbering_problem(migrations)


def check(db=None, *, models: str | os.PathLike | None = "models.py", directory: str | os.PathLike = "migrations",
          timeout: float | None = None) -> list[str]:
    """Everything CI should fail on, one line each (empty: all agree): models
    that differ from what the migrations build, applied files changed since,
    drift (the database's schema differs from what its applied migrations
    build: someone altered it by hand; judged by the up SQL recorded for each
    when an applied file is changed or gone, and not judged then if some
    row, recorded by an earlier migrate.py, lacks it), and what would make
    `apply` stop before running anything. `timeout` as for `plan`. With
    `db=None`, or a path where no file is yet (CI), models and migrations
    are compared without a database; with `models=None`, the migrations
    and the database alone (a project that writes its SQL by hand)."""
    _check_timeout(timeout)
    if isinstance(models, (str, os.PathLike)) and _names_a_file(os.fspath(models)) and not os.path.exists(models):
        _refuse_broken_link(models, "models file")
        raise MigrateError(f"models file {os.fspath(models)} not found: create it, pass --models PATH, or pass "
                           "--no-models to check the migrations and the database alone")
    migrations = read_migrations(directory)
    problems = _disagreements(db, models, directory, migrations, timeout)
    # a migration from an older branch: its rebuild drops what another branch's migration made
    kinds = ("index", "trigger") + (("column",) if any(p.startswith("models differ") for p in problems) else ())
    problems += [f"migration {note}" for note in _branch_losses(migrations, kinds)]
    problems += _lossy_downs(migrations)
    problems += [f"{os.path.join(directory, name)}: a migration file `make` or `squash` was writing when it was "
                 "killed: delete it (a file that took its name is whole)" for name in
                 sorted(os.listdir(directory)) if _PARTIAL_NAME.fullmatch(name)]
    parsed = _parse_failures(m.down for m in migrations if m.down)
    for migration in migrations:
        if migration.down and (failure := parsed[migration.down]):
            statement, error = failure
            problems.append(f"migration file {migration.path}: its down section: SQLite cannot parse it ({error}): "
                            f"{_shorten(statement)}; fix it, or a revert would fail there")
    if any(line.startswith(("migration file ", "applied migration ")) for line in problems):
        return problems  # apply would stop at those, said already
    if isinstance(db, (str, os.PathLike)) and not _is_url(os.fspath(db)):
        _refuse_folder_form(os.fspath(db))
    if db is not None and (not isinstance(db, (str, os.PathLike)) or _is_url(db) or os.path.exists(db)):
        try:
            plan(db, directory=directory, timeout=timeout, allow_changed=True)
        except MigrateError as exc:
            problems.append(f"apply would stop: {exc}")
        return problems
    # No database (CI): what a new database would refuse, all of it to apply. Not in the
    # initial migration, which may be a `sqlite3 .dump` (BEGIN, COMMIT) adopted with --fake-initial.
    try:
        _refuse_unrunnable([PlannedStep("apply", m.name, tuple(split_statements(m.up)), m) for m in migrations[1:]],
                           fake=False)
    except MigrateError as exc:
        problems.append(f"apply would stop: {exc}")
    return problems


def _lossy_downs(migrations: list[Migration]) -> list[str]:
    """The migrations whose down section drops a table or column that the
    ones before them made and they did not (_dropped_for_good): a revert
    would delete it, and _refuse_lossy_reverts refuses that. Judged on the
    replayed files, so that a table no file makes (DROP TABLE IF EXISTS) is
    not counted."""
    suspects = {i: lost for i, m in enumerate(migrations) if m.down and _DROP.search(m.down)
                for lost in [_dropped_for_good(m.up, split_statements(m.down))] if lost}
    if not suspects:
        return []
    problems = []
    try:
        scratch = replay(migrations[:min(suspects)])
        try:
            for index in range(min(suspects), max(suspects) + 1):
                found = [_existing(scratch, *lost) for lost in suspects.get(index, ())]
                named = [f"column {'.'.join(f)}" if len(f) > 1 else f"table {f[0]}" for f in found if f]
                if named:
                    problems.append(f"migration {migrations[index].name}: its down section drops "
                                    f"{', '.join(named)}, which the migrations before it made: a revert would delete "
                                    f"{'them' if len(named) > 1 else 'it'} and the data, so revert refuses it: fix the "
                                    "down section")
                _replay_migration(scratch, migrations[index], split_statements(migrations[index].up))
        finally:
            scratch.close()
    except MigrateError:
        return []  # a file that does not replay: make and check have said so already
    return problems


def _disagreements(db, models: str | None, directory: str, migrations: list[Migration],
                   timeout: float | None) -> list[str]:
    """check's lines but what apply would refuse: `migrations` are those in `directory`."""
    problems, unmanaged = _model_disagreements(models, directory, migrations)
    database = _Database(db, create=False, timeout=timeout) if db is not None else None
    try:
        with _locks_as_errors():
            if database is None or database.conn is None:
                return problems
            return problems + _database_disagreements(database.conn, directory, migrations, frozenset(unmanaged))
    finally:
        if database is not None:
            database.close()


def _model_disagreements(models: str | None, directory: str, migrations: list[Migration]) -> tuple[list[str], tuple]:
    """check's lines on the models against the replayed migrations, and the
    unmanaged models' tables; without models, only the replay (a file that
    fails on an empty database fails apply on a new one: said as make and
    check say it)."""
    if models is None:
        replayed_schema(migrations)
        return [], ()
    with _MODELS_LOCK:
        target, unmanaged = schema_from_models(_models_module(models))
    replayed = replayed_schema(migrations)
    target = with_unique_constraints_kept(with_hand_written_indexes(target, replayed), replayed)
    return [f"models differ from the migrations (run make): {line}"
            for line in schema_differences(replayed, target, unmanaged=frozenset(unmanaged),
                                           names=(directory, "the models"))], unmanaged


def _database_disagreements(conn, directory: str, migrations: list[Migration], unmanaged: frozenset) -> list[str]:
    """check's lines on the database: applied files gone or edited, and
    drift from what the applied migrations build."""
    by_name = {m.name: m for m in migrations}
    records = _applied(conn)  # (an unreachable node is an error, not a disagreement)
    try:
        catching_up = any(_visible_applied(conn, by_name)[1].values())
    except MigrateError as exc:  # applied part of what a squash replaces: the rest would only echo it
        return [str(exc)]
    ran = _recorded_history(records)
    if catching_up:  # judged by the files it went through: those squash kept
        history = _history(by_name, records)
        if any(m.name not in records and m.name in {h.name for h in history}
               for m in migrations if m.replaces and any(n in records for n in m.replaces)):
            return _drift(conn, ran, unmanaged) if ran is not None else []  # one is gone
        done = set(records).union(*(_applied_in(m.replaces, records) for m in migrations if m.replaces))
        done |= {m.name for m in history if m.replaces and not _not_applied(m.replaces, records)}
        covered = {name for m in migrations for name in m.replaces}
        by_name = {m.name: m for m in history if m.name in done}
        applied = {name: records.get(name) or _Record(name, by_name[name].checksum, "", None)
                   for name in set(records) | set(by_name) if name in by_name or name not in covered}
    else:
        applied = _applied_as_listed(conn, by_name)
    problems = _applied_file_problems(applied, by_name, directory)
    files = [m for m in by_name.values() if m.name in applied]
    if all(name in by_name and _as_applied(by_name[name], applied[name]) for name in applied):
        return problems + _drift(conn, files, unmanaged)
    if ran is not None:
        return problems + _drift(conn, ran, unmanaged)
    if any(name not in by_name for name in applied):  # what it made would all read as drift
        return problems
    return problems + _drift(conn, files, unmanaged)


def _applied_file_problems(applied: dict, by_name: dict, directory: str) -> list[str]:
    """check's line for each applied migration whose file is gone (renamed?)
    or is not as applied (another folder's?)."""
    problems = []
    for name in sorted(applied, key=_order):
        if name not in by_name:
            same = _renamed_to(applied[name], by_name, applied)
            hand_made = same and not _FILE_NAME.fullmatch(name + ".sql")  # (a row edited by hand?)
            problems.append(f"applied migration {name} has no file in {directory}" + (
                f" ({same} has its content, and no file could have that name: set the row's name back, "
                f"UPDATE {quote(MIGRATIONS_TABLE)} SET name = {quote_literal(same)} WHERE name = "
                f"{quote_literal(name)})" if hand_made else f" ({same} has its content: rename it back)"
                if same else ""))
        elif not _as_applied(by_name[name], applied[name]):
            others = _another_folders_file(by_name[name], applied[name])
            problems.append(f"migration file {by_name[name].path} is not the {name} this database applied "
                            f"({others}): is --dir its migrations folder, and --db its database? (If "
                            "the file was rewritten on purpose, record it with apply --allow-changed)"
                            if others else
                            f"migration file {by_name[name].path} changed since it was applied: restore "
                            "it, or record the edit with apply --allow-changed")
    return problems


def _drift(conn, applied: list[Migration], unmanaged: frozenset = frozenset()) -> list[str]:
    """How the database's schema differs from what its applied migrations
    build, one line each. A table of an unmanaged model that they do not
    make was made elsewhere (an adopted Django database's auth_user): not drift."""
    expected = replayed_schema(applied)
    actual = read_schema(conn)
    elsewhere = {_fold(t.name) for t in actual.tables} & set(unmanaged) - {_fold(t.name) for t in expected.tables}
    actual = replace(actual, tables=tuple(t for t in actual.tables if _fold(t.name) not in elsewhere),
                     triggers=tuple(t for t in actual.triggers if _fold(t.table) not in elsewhere))
    names = ("the database", "its applied migrations")
    return [f"database drift: {line}" for line in schema_differences(actual, expected, names=names)
            + _object_differences(actual, expected, names) + _clause_differences(actual, expected, names)]


def _clause_differences(actual: Schema, expected: Schema, names: tuple[str, str]) -> list[str]:
    """The clauses no PRAGMA reports (DEFERRABLE, ON CONFLICT, MATCH, a
    UNIQUE constraint's COLLATE) that one schema's tables have and the
    other's do not, one line each."""
    return [f"table {table.name}: {clause} in {where}, not in {other}"
            for table in actual.tables for made in [expected.table(table.name)] if made and made.sql != table.sql
            for mine, theirs, where, other in ((table, made) + names, (made, table) + names[::-1])
            for clause in sorted((_clauses(_tokenize(mine.sql)) | _collation_clauses(mine))
                                 - (_clauses(_tokenize(theirs.sql)) | _collation_clauses(theirs)))]


def find_migration(directory: str | os.PathLike, name: str | int) -> Migration:
    """The migration file a number (`2`, `0002`) or full name designates."""
    name = _migration_name(name, "the migration", directory)
    migrations = read_migrations(directory)
    prefixed = _named_by_prefix(name, [m.name for m in migrations])
    for migration in migrations:
        if migration.name in (name, prefixed) or (name.isascii() and name.isdigit() and migration.number == int(name)):
            return migration
    raise MigrateError(f"no migration {name!r} in {directory} (known: {_known([m.name for m in migrations])})"
                       f"{_squashed_into(name, [m for m in migrations if m.replaces])}")


def dump_schema(db, *, timeout: float | None = None) -> list[str]:
    """The database's schema as SQL statements, like `dbmate dump`: tables
    (parents first), indexes, virtual tables, views, triggers; without our
    bookkeeping. `timeout` as for `plan`."""
    _check_timeout(timeout)
    database = _Database(db, create=False, timeout=timeout)
    try:
        if database.conn is None:
            raise MigrateError(f"database {db} does not exist: run apply first, or pass --db")
        with _locks_as_errors():
            return schema_statements(database.conn)
    finally:
        database.close()


def backup(db, path: str | os.PathLike) -> bool:
    """Copy the database to `path` with SQLite's online backup API (a
    consistent snapshot even while others write). False when there is no
    database yet, so nothing to copy."""
    _check_backup_path(path, db)
    if isinstance(db, str) and db == ":memory:":  # (a new one, empty: a connection to one is the way to copy it)
        return False
    database = _Database(db, create=False, writes=True)  # (a transaction's own changes are not its to copy)
    try:
        if database.conn is None:
            return False
        _backup_to(database.conn, path)
        return True
    finally:
        database.close()


def _check_backup_path(path: str, db) -> None:
    """Refuse a backup path that cannot be a new file, before any work."""
    path = _path_argument(path, "the backup path", "--backup FILE")
    database_file = _database_file(db)
    if database_file and os.path.abspath(path) in {
            os.path.abspath(database_file) + suffix for suffix in ("-journal", "-wal", "-shm")}:
        raise MigrateError(f"backup file {path} is where SQLite keeps the journal of {database_file}, which it "
                           "deletes or overwrites: choose another path; nothing was changed")
    if os.path.exists(path):
        raise MigrateError(f"backup file {path} already exists: choose another path; nothing was changed")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MigrateError(f"cannot write backup {path}: {_not_a_folder(folder)}; nothing was changed")


def _database_file(db) -> str:
    """The SQLite file a path or a connection names ("" for a URL, an
    in-memory database or a connection that cannot say: it is checked later)."""
    if isinstance(db, (str, os.PathLike)):
        return "" if _is_url(os.fspath(db)) else os.fspath(db)
    try:
        return _main_file(db) if isinstance(db, sqlite3.Connection) else ""
    except sqlite3.Error:  # closed, or made in another thread
        return ""


def _refuse_backup_of_cluster(conn) -> None:
    if isinstance(conn, Rqlite):
        raise MigrateError("--backup copies SQLite files: back up an rqlite cluster with its own "
                           "tools (rqlite's /db/backup); nothing was changed")
    if not hasattr(conn, "backup"):
        raise MigrateError(f"--backup copies SQLite files through a sqlite3 connection or a path, and this "
                           f"{type(conn).__name__} is neither: back the database up with its own tools, or pass its "
                           "path; nothing was changed")


def _backup_to(conn, path: str) -> None:
    """Copy the database to the new file `path`. Inside a write transaction
    (apply's), a connection cannot copy its own database, but another one can
    read it: the lock keeps every writer out until the copy is done."""
    _refuse_backup_of_cluster(conn)
    source = sqlite3.connect(_main_file(conn), timeout=1, isolation_level=None) if conn.in_transaction else conn
    target = partial = None
    try:
        if source is not conn:  # hold a read lock first: sqlite3's backup() would wait for one without end
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # Copied under another name, and given its own once complete: a run
        # killed half-way leaves a *.partial file, not one that passes for the backup.
        import tempfile
        handle, partial = tempfile.mkstemp(".partial", os.path.basename(path) + ".", os.path.dirname(path) or ".")
        os.close(handle)
        target = sqlite3.connect(partial)
        source.backup(target)
        target.close()
        with suppress(OSError):  # as readable as the database, not mkstemp's owner-only (once written: it
            os.chmod(partial, os.stat(_main_file(source)).st_mode & 0o777)  # may be a read-only file's)
        _take_name(partial, path)
    except (sqlite3.Error, OSError) as exc:
        if target is not None:
            target.close()
        for leftover in (partial, f"{partial}-journal") if partial else ():  # (a full disk leaves the journal)
            with suppress(OSError):
                os.remove(leftover)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise MigrateError(f"backup to {path} failed: {reason}; nothing was changed") from None
    finally:
        if source is not conn:
            source.close()


# ============================================================================
# Make: write the next migration from the models
# ============================================================================

def make(*, models: str | os.PathLike = "models.py", directory: str | os.PathLike = "migrations",
         name: str | None = None, empty: bool = False, write: bool = True,
         questioner: Questioner | None = None, update: bool = False, db=None) -> MakeResult:
    """Compare the models with what the migrations build and write the next
    migration file. With `write=False` nothing is written (for --check and
    --dry-run). `empty=True` writes an empty migration for hand-written SQL.
    `update=True` folds the changes into the latest migration instead (for one
    not applied anywhere yet; refused if the database `db` applied it). A new
    file is refused a number that `db` applied under a name whose file is gone."""
    questioner = _make_arguments(name, questioner, db, empty=empty, write=write, update=update)
    directory = _path_argument(directory, "the migrations directory", "--dir FOLDER")
    migrations = read_migrations(directory) if os.path.lexists(directory) else []  # (a file there: its error)
    latest = _latest_to_update(migrations, db, directory) if update else None
    number = latest.number if latest else migrations[-1].number + 1 if migrations else 1
    if empty:
        return _make_empty(directory, migrations, number, name, db, write=write)
    with _MODELS_LOCK:  # (until the models are read)
        module = _models_module(models)
        scratch = replay(migrations)
        try:
            result = _make(scratch, module, number, name, questioner,
                           empty=_tables_left_empty(latest) if latest else frozenset())
        finally:
            scratch.close()
    _refuse_dropping_every_table(models, module, result)
    losses = _branch_losses(migrations) if result.operations else []  # the change may come from an older branch
    if losses and write:  # a migration written after it would not make it apply
        raise MigrateError(f"migration {losses[0]}; nothing was written")
    if latest and result.operations:
        result = _folded_into(latest, result, name)
    if write and result.operations:
        if not latest:
            unchecked = _refuse_number_of_a_lost_file(db, migrations, result.name)
            return _written(directory, replace(result, warnings=result.warnings + ((unchecked,) if unchecked else ())))
        with _writers_kept_out(db):  # asked again: an apply may have run it since
            _latest_to_update(migrations, db, directory)
            return _rewritten(directory, latest, result)
    return replace(result, warnings=result.warnings + tuple(losses))


def _make_arguments(name, questioner, db, *, empty: bool, write: bool, update: bool) -> Questioner:
    """make's arguments checked before anything is read: the questioner to
    use, or a MigrateError that says which argument is wrong."""
    _check_flags(empty=empty, write=write, update=update)
    if update and empty:
        raise MigrateError("make --update folds model changes into the latest migration, and --empty writes a new "
                           "one: pass one of them; nothing was written")
    if empty and questioner is not None and (questioner.renames or questioner.defaults):
        raise MigrateError("make --empty writes a migration for SQL by hand, without looking at the models, so "
                           "--rename and --default answer nothing there: drop them; nothing was written")
    if name is not None and not isinstance(name, str):
        raise MigrateError(f"name must be a string or None, not {type(name).__name__} {name!r}; nothing was written")
    if questioner is not None and not isinstance(questioner, Questioner):
        raise MigrateError(f"questioner must be a migrate.Questioner or None, not {type(questioner).__name__}; "
                           "nothing was written")
    if isinstance(db, (str, os.PathLike)) and not os.fspath(db).strip():  # (as every command that opens it says)
        raise MigrateError(f"database path {os.fspath(db)!r} is empty: pass --db with a file path (or :memory:); "
                           "nothing was written")
    return questioner or Questioner()


def _refuse_dropping_every_table(models, module, result: MakeResult) -> None:
    """A models file without a dataclass would drop every table: more likely
    an empty file, a failed save or the wrong --models than what is meant
    (one left with only bases of its own is taken at its word)."""
    if result.operations and not model_classes(module) and not _dataclasses_in(module):
        tables = sum(line.startswith("- Drop table ") for line in result.operations)
        raise MigrateError(f"models file {os.fspath(models)} defines no dataclass, so the migration would drop every "
                           f"table the migrations make ({tables}): if it is the wrong module or lost "
                           "its content, fix that; to drop them all, write that migration by hand (make --empty "
                           "NAME, then DROP TABLE ...); nothing was written")


def _make_empty(directory: str, migrations: list[Migration], number: int, name: str | None, db, *,
                write: bool) -> MakeResult:
    """make --empty: a migration for SQL by hand, irreversible until its
    down section is written."""
    if not name:
        raise MigrateError("make --empty needs a NAME for the migration, e.g. make --empty backfill_slugs")
    unchecked = _refuse_number_of_a_lost_file(db, migrations, f"{number:04d}_{slugify(name)}") if write else None
    text = render_migration([], None, [  # irreversible until its down section is written: not a silent no-op
        "Empty migration: write the SQL by hand, after `-- migrate:up`. To make it",
        "reversible, end the file with a `-- migrate:down` line and the SQL that undoes",
        "it (nothing after that line: reverting does nothing); without that line,",
        "revert refuses it."])
    result = _make_result(number, slugify(name), text, (), (unchecked,) if unchecked else (), (), ())
    return _written(directory, result) if write else result


def _make(scratch, module, number, name, questioner, *, empty: frozenset = frozenset()) -> MakeResult:
    """The next migration, not written yet: `make` writes it once it is safe to.
    Tables `empty` (folded names) have no rows where it changes them."""
    original = read_schema(scratch)
    mismatched = _key_mismatches(scratch)  # (those already there are not this migration's)
    target, unmanaged = schema_from_models(module)
    unmanaged = frozenset(unmanaged)
    operations = plan_renames(original, target, questioner, unmanaged=unmanaged)
    steps = _execute_operations(scratch, operations)
    renamed = read_schema(scratch) if operations else original
    target = with_unique_constraints_kept(with_hand_written_indexes(target, renamed), renamed)
    target = with_constraint_names_kept(target, renamed)
    operations += diff_schemas(renamed, target, questioner, unmanaged=unmanaged, empty=empty)
    steps += _execute_operations(scratch, operations[len(steps):])
    questioner.check_renames_used(original, target)
    questioner.check_defaults_known(original, renamed, target)
    questioner.check_defaults_used(operations)
    if not operations:
        return MakeResult(())
    changed = read_schema(scratch)
    _refuse_strings_made_names(original, changed, {(_fold(op.table), _fold(op.new)): op.old for op in operations
                                                   if isinstance(op, RenameColumn)},
                               {_fold(op.new): op.old for op in operations if isinstance(op, RenameTable)})
    _verify(changed, target, unmanaged, "the models", objects=original, exact=False)
    _refuse_dropped_parents(operations, changed)
    _check_unmanaged_parents(scratch, changed, unmanaged, module)
    if new_mismatches := sorted(_key_mismatches(scratch) - mismatched):
        raise MigrateError(f"the models leave {new_mismatches[0]}: a foreign key's parent columns must be its "
                           "primary key or have a UNIQUE index, and a hand-written one that no model declares is "
                           "dropped: declare it in the parent's model (__unique__); nothing was written")
    down_steps = _execute_operations(scratch, [inverse for _, _, inverse in reversed(steps)], down=True)
    _verify(read_schema(scratch), original, frozenset(), "the previous migrations", objects=original, exact=True)
    description = [line for op in operations for line in op.describe()]
    renamed = {_fold(op.old): op.new for op in operations if isinstance(op, RenameTable)}
    renamed.update({(_fold(op.table), _fold(op.old)): op.new for op in operations if isinstance(op, RenameColumn)})
    filling = [op for op in operations if not (isinstance(op, AlterTable) and _fold(op.after.name) in empty)]
    unmarked = (_revert_warnings(operations) + _lost_clauses(original, changed, renamed)  # no statement says them
                + _fills_into_new_tables(filling) + _constant_fills_into_unique(filling)
                + _repointed_keys(operations))
    reverted = warnings_for([inverse for _, _, inverse in reversed(steps)])  # (the down section says them)
    warnings = (warnings_for(operations) + unmarked + [f"reverting {w}" for w in reverted if w.startswith("narrows")]
                + (_rename_hints(operations) if questioner.prompt is None else []))
    up = [s for _, statements, _ in steps for s in statements]
    down = [s for _, statements, _ in down_steps for s in statements]
    slug = slugify(name) if name else "initial" if number == 1 else _slug_for(operations)
    text = render_migration(up, down, description + [f"WARNING: {warning}" for warning in unmarked])
    return _make_result(number, slug, text, description, warnings, up, down)


def _refuse_dropped_parents(operations: list, changed: Schema) -> None:
    """A table the models drop that a kept table's foreign key names (one no
    model manages: a model's would not load): with foreign keys on, every
    write to that table would fail with "no such table", and apply refuses
    it."""
    dropped = {_fold(op.name) for op in operations if isinstance(op, DropTable)}
    for table in changed.tables if dropped else ():
        for fk in table.foreign_keys:
            if _fold(fk.table) in dropped and changed.table(fk.table) is None:
                raise MigrateError(f"cannot drop table {fk.table}: table {table.name}, which no model manages, "
                                   f"keeps a foreign key to it (every write to {table.name} would fail with \"no "
                                   f"such table\"): drop or change {table.name} in a hand-written migration first; "
                                   "nothing was written")


def _make_result(number, slug, text, description, warnings, up, down) -> MakeResult:
    """The migration `make` or `squash` would write, not written yet (no path)."""
    return MakeResult(tuple(description), tuple(warnings), tuple(up), tuple(down or ()), f"{number:04d}_{slug}",
                      None, text)


def _written(directory, result: MakeResult) -> MakeResult:
    """The migration written to its new file in `directory`."""
    path = os.path.join(directory, result.name + ".sql")
    partial = _partial_path(path)
    made, folder = [], directory  # the folders makedirs will make, innermost first (keep/new/../sub: keep/new)
    while folder and folder != os.path.dirname(folder):  # (up to "" or the root)
        if not os.path.lexists(os.path.realpath(folder)):
            made.append(os.path.realpath(folder))
        folder = os.path.dirname(folder)
    try:
        os.makedirs(directory, exist_ok=True)
        with open(partial, "x", encoding="utf-8", newline="") as handle:  # as written, on Windows too
            handle.write(result.text)
        _take_name(partial, path)  # whole or not at all, also when killed (a file left empty stops every command)
    except OSError as exc:
        with suppress(OSError):
            os.remove(partial)
        for folder in made:  # (empty now: nothing was written)
            with suppress(OSError):
                os.rmdir(folder)
        raise MigrateError(f"cannot write {path}: {exc.strerror}; nothing was written") from None
    finally:
        with suppress(OSError):
            os.remove(partial)
    return replace(result, path=path)


def _refuse_number_of_a_lost_file(db, migrations: list[Migration], new_name: str) -> str | None:
    """The new migration's number must not be one the database `db` applied
    under another name whose file is gone (deleted by mistake): apply would
    refuse the new file then. Asked of a local file that exists only, read
    only and without waiting for a writer (make works offline and at once),
    only as far as it can say, and only of a database that applied some of
    these files. Returns a warning when `db` is there but is no database to
    ask (a folder, another kind of file: a wrong --db)."""
    if not isinstance(db, (str, os.PathLike)) or _is_url(os.fspath(db)) or not os.path.exists(db):
        return None
    unchecked = (f"--db {_shown(db)} is {{}}, so make could not check that it applied no migration numbered "
                 f"{_number(new_name):04d} whose file is gone: is --db right?")
    if not os.path.isfile(db):
        return unchecked.format("a folder" if os.path.isdir(db) else "not a file")
    try:
        with closing(_open_read_only(db, timeout=0)) as conn:
            applied = [name for (name,) in conn.execute(f"SELECT name FROM {_HISTORY}").fetchall()]
    except sqlite3.Error as exc:  # (no history, a lock, a damaged file: for apply and status to say)
        return unchecked.format("not an SQLite database") if "not a database" in str(exc) else None
    here = {m.name for m in migrations} | {name for m in migrations for name in m.replaces}
    if not here & set(applied):  # another folder's database (or a new folder's): not this history
        return
    number = _number(new_name)
    lost = [name for name in applied if isinstance(name, str) and name not in here and name != new_name
            and _number(name) == number]
    if lost:
        raise MigrateError(f"the next migration would be number {number:04d}, which {_shown(db)} applied as "
                           f"{lost[0]}, whose file is gone: put that file back (git checkout) before making new "
                           "migrations; nothing was written")


_UPDATE_PATIENCE = 2  # seconds make --update waits for a writer of the database (make has no --timeout)


@contextmanager
def _writers_kept_out(db):
    """The database's write lock, held while make --update rewrites the latest
    file: an apply that read the file before waits for it, then finds the
    file changed under its own lock (_refuse_rewritten_files) rather than
    running and recording the old text. A database not there yet has no
    apply to wait for; an rqlite node has no lock to take."""
    if isinstance(db, sqlite3.Connection) and db.in_transaction:  # (it would wait for its own lock)
        raise MigrateError("the connection has an open transaction: commit or roll it back before passing it to "
                           "migrate.py; nothing was written")
    path = _main_file(db) if isinstance(db, sqlite3.Connection) else \
        os.fspath(db) if isinstance(db, (str, os.PathLike)) and not _is_url(os.fspath(db)) else ""
    if not path or not os.path.isfile(path):
        yield
        return
    with closing(sqlite3.connect(path, timeout=_UPDATE_PATIENCE, isolation_level=None)) as conn:  # (rolled back)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise MigrateError(f"make --update writes the latest migration while no other process writes "
                               f"{_shown(db)}, and {exc}: retry when that one is done, or make a new migration "
                               "(without --update); nothing was written") from None
        yield


def _selects_rows(statement: str) -> bool:
    """Whether a CREATE TABLE may leave rows in its table: one that fills it
    (`CREATE TABLE t AS SELECT`, whose AS comes before any parenthesis), or
    one that does nothing to a table already there (`IF NOT EXISTS`)."""
    words = [t.upper or t.text for t in _first_tokens(statement, 12)]
    if words[:1] != ["CREATE"] or "TABLE" not in words[:4]:
        return False
    rest = words[words.index("TABLE") + 1:]
    return rest[:3] == ["IF", "NOT", "EXISTS"] or (
        "AS" in rest and ("(" not in rest or rest.index("AS") < rest.index("(")))


def _tables_left_empty(latest: Migration) -> frozenset:
    """The tables (folded names) the latest migration creates with no rows
    in them when what make --update adds runs, after its own SQL: all it
    makes, if that SQL is all CREATE, DROP and ALTER (no INSERT, nor an
    UPDATE whose trigger might insert); none otherwise."""
    statements = [s for s in split_statements(latest.up) if _has_code(s)]
    if any(_first_tokens(s, 1)[0].upper not in ("CREATE", "DROP", "ALTER") or _selects_rows(s) for s in statements):
        return frozenset()
    return frozenset(map(_fold, _tables_made(latest.up)))


def _latest_to_update(migrations: list[Migration], db, directory) -> Migration:
    """The migration `make --update` folds the changes into: the latest, unless
    it is a squash, or the database `db` applied it (the new part would never
    run there, and the edit would stop its next apply), or its up section ends
    in a statement without its `;` (the next one would be read as part of it)."""
    if not migrations:
        raise MigrateError("make --update folds model changes into the latest migration, and there is none yet: "
                           "run make without --update; nothing was written")
    latest = migrations[-1]
    if latest.replaces:
        raise MigrateError(f"{latest.name} is a squash, which databases record in place of the migrations it "
                           "replaces: make a new migration (without --update); nothing was written")
    try:
        applied = ([row.name for row in status(db, directory=directory, timeout=_UPDATE_PATIENCE) if row.applied]
                   if db is not None else [])
    except MigrateError as exc:  # (status's advice, --timeout, is no option of make's)
        if "is locked" not in str(exc):
            raise
        raise MigrateError(f"make --update reads {_shown(db)} to see whether {latest.name} is applied there, and "
                           "another process holds it locked: retry when that one is done, or make a new migration "
                           "(without --update); nothing was written") from None
    if latest.name in applied:
        raise MigrateError(f"{latest.name} is applied to {_shown(db)}, which would never run what --update adds to "
                           "it: revert it there first (python migrate.py revert), or make a new migration (without "
                           "--update); nothing was written")
    here = {m.name for m in migrations}
    renamed = [name for name in applied if name not in here and _number(name) == latest.number]
    if renamed:  # (the file renamed since, or another branch's: after the edit, apply could no longer say which)
        raise MigrateError(f"{latest.name} has the number of {renamed[0]}, which {_shown(db)} applied and whose file "
                           f"is gone: if {latest.name} is that file renamed, rename it back and revert it there "
                           f"first; if {renamed[0]} is another branch's, get its file (git) and make a new migration "
                           "(without --update); nothing was written")
    statements = split_statements(latest.up)
    if statements and not statements[-1].endswith(";"):
        raise MigrateError(f"migration file {latest.path}: the last statement of its up section has no `;`, so "
                           "what --update adds would be read as part of it: end it with `;`; nothing was written")
    return latest


def _folded_into(latest: Migration, result: MakeResult, name: str | None) -> MakeResult:
    """The latest migration's file with `result` folded in (make --update):
    its description after the file's header, its up SQL after the file's up
    section, its down SQL before the file's down section (it is undone first).
    The file's own text, hand edits included, stays as it is around them; a
    file without a down section stays irreversible."""
    def sections(text: str) -> tuple[str, str, str, str | None]:
        marks = list(_SECTION.finditer(text))
        up_end = marks[1].start() if len(marks) > 1 else len(text)
        down = text[marks[1].end():].strip("\r\n") if len(marks) > 1 else None
        return (text[:marks[0].start()].strip("\r\n"), marks[0].group().rstrip("\r"),
                text[marks[0].end():up_end].strip("\r\n"), down)
    # the file as it is, the line ends in its strings too (_rewritten writes its line ends around them)
    header, up_marker, up, down = sections(_file_text(latest))
    added_header, _, added_up, added_down = sections(result.text)
    added_header = added_header.split("\n", 1)[1] if "\n" in added_header else ""  # (not "-- Generated by")
    joined = lambda *parts: "\n\n".join(part for part in parts if part)
    text = "\n".join(part for part in (header, added_header) if part) + f"\n\n{up_marker}\n{joined(up, added_up)}\n"
    if down is not None:
        text += f"\n-- migrate:down\n{joined(added_down, down)}\n"
    text = _line_ends(text.lstrip("\n"), "\n")  # (as shown; _rewritten writes the file's own line ends)
    new_up, new_down = parse_sections(text, latest.path)
    expected = (_code(up) + _code(added_up), None if down is None else _code(added_down) + _code(down))
    if (_code(new_up), _code(new_down)) != expected:  # (a comment left open swallows what follows)
        raise MigrateError(f"migration file {latest.path} would not read back with the changes added (a comment "
                           "or marker the new SQL cannot follow?): make a new migration (without --update); "
                           "nothing was written")
    migration_name = f"{latest.number:04d}_{slugify(name)}" if name else latest.name
    return replace(result, up=tuple(split_statements(new_up)), down=tuple(split_statements(new_down or "")),
                   name=migration_name, text=text)


def _file_text(migration: Migration) -> str:
    """A migration file's text as it is (Migration.text has LF line ends,
    also in its strings), without a byte order mark."""
    try:
        with open(migration.path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):  # (gone or changed since: _rewritten says so)
        return migration.text
    return text[1:] if text.startswith("\ufeff") else text


def _rewritten(directory, latest: Migration, result: MakeResult) -> MakeResult:
    """make --update's file, in the latest migration's line endings (CRLF in
    a Windows checkout) and with its byte order mark, if it had them: written
    in full before it takes that file's place (through a link to it, keeping
    its permissions), so that a failure leaves the file as it was; then
    renamed, if its name changes."""
    try:
        with open(latest.path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise MigrateError(f"cannot read {latest.path}: {exc.strerror}; nothing was written") from None
    if _checksum(raw) != latest.raw_checksum:  # (an editor, or another make --update)
        raise MigrateError(f"{latest.path} changed while make --update ran: run it again; nothing was written")
    crlf = raw.count(b"\r\n")  # (mixed: the more common ending, for every line)
    content = _line_ends(result.text, "\r\n" if crlf and crlf >= raw.count(b"\n") - crlf else "\n")
    content = "\ufeff" + content if raw.startswith(b"\xef\xbb\xbf") else content
    path = os.path.join(directory, result.name + ".sql")
    renamed = result.name != latest.name
    if renamed and os.path.lexists(path):
        raise MigrateError(f"cannot write {path}: a file by that name exists; nothing was written")
    target = os.path.realpath(latest.path)
    temporary = _partial_path(target)
    try:
        with open(temporary, "x", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except OSError as exc:
        raise MigrateError(f"cannot write {path}: {exc.strerror}; it was left as it was") from None
    finally:  # (also when Ctrl-C stops it)
        with suppress(OSError):
            os.remove(temporary)
    if renamed:  # once whole, in one step: a kill leaves one file of that number, the old or the new
        try:
            os.rename(latest.path, path)
        except OSError as exc:
            raise MigrateError(f"wrote the changes into {latest.path}, but cannot rename it to {path}: "
                               f"{exc.strerror}: rename it yourself") from None
    return replace(result, path=path)


# ============================================================================
# Squash and export: new migration files from the existing ones
# ============================================================================

_REBUILD_COUNTER_COPY = re.compile(r"INSERT INTO sqlite_sequence \(name, seq\) SELECT '_new_")  # _rebuild_sql


def _carries_rows(statement: str) -> bool:
    """Whether a statement puts rows in a table that a schema-only squash would
    not (INSERT, UPDATE..., CREATE TABLE ... AS SELECT); a rebuild's own copy
    into _new_<table>, and of its counter in sqlite_sequence, only moves rows
    that were there (a counter set by hand is data: ids start there)."""
    tokens = _first_tokens(statement, 12)
    words = [t.upper for t in tokens]
    if words[0] in _SCHEMA_WORDS:  # rows only from CREATE TABLE t AS SELECT (an AS before any "(")
        texts = [t.text for t in tokens]
        return words[:2] == ["CREATE", "TABLE"] and "AS" in words and "(" not in texts[:words.index("AS")]
    conflict_words = ("INTO", "OR", "REPLACE", "IGNORE", "ABORT", "FAIL", "ROLLBACK")  # INSERT OR ... INTO t
    target = next((_unquote(t.text) for t, w in zip(tokens[1:], words[1:]) if w not in conflict_words), "")
    if _fold(target) == "sqlite_sequence":
        return not _REBUILD_COUNTER_COPY.match(statement)
    return not target.startswith("_new_")


class _Created(namedtuple("_Created", "type name kept")):
    """What a CREATE statement makes in the main database: its type as
    sqlite_master says it ("table" for a virtual one too), its name, and for
    one with IF NOT EXISTS, its tokens as SQLite keeps the statement: without
    those words, the schema's name and the `;` (else None)."""
    __slots__ = ()


def _created_object(statement: str) -> _Created | None:
    """The object a CREATE statement makes in the main database; None for any
    other statement (TEMP ones too)."""
    head = _first_tokens(statement, 10)
    kind_at = 2 if len(head) > 2 and head[1].upper in ("UNIQUE", "VIRTUAL") else 1
    if len(head) <= kind_at or head[0].upper != "CREATE" or head[kind_at].upper not in ("TABLE", "INDEX", "VIEW",
                                                                                  "TRIGGER"):
        return None
    at = _name_position(head, kind_at + 1)
    if at >= len(head) or not _in_main(head, at):
        return None
    kept = None
    if_not_exists = [t.upper for t in head[kind_at + 1:kind_at + 4]] == ["IF", "NOT", "EXISTS"]
    if if_not_exists and head[kind_at].upper == "TABLE" and len(head) > at + 1 and head[at + 1].upper == "AS":
        kept = []  # CREATE TABLE ... AS SELECT: SQLite writes a CREATE of its own
    elif if_not_exists:
        tokens = _tokenize(statement)
        kept = tokens[:kind_at + 1] + tokens[at:len(tokens) - (tokens[-1].text == ";")]
    return _Created(head[kind_at].upper.lower(), _unquote(head[at].text), kept)


def _as_stored(tokens) -> list[str]:
    """A CREATE's tokens as SQLite stores them: `CREATE [UNIQUE|VIRTUAL] KIND`
    in capitals, the rest as written (a column renamed to `Note` from `note`
    is a change)."""
    tokens = list(tokens)
    prefix = 3 if len(tokens) > 1 and tokens[1].upper in ("UNIQUE", "VIRTUAL") else 2
    return [token.text.upper() if i < prefix else token.text for i, token in enumerate(tokens)]


def _gone_object(statement: str) -> tuple[str, str] | None:
    """The (type, name) of what a DROP or an ALTER TABLE ... RENAME TO takes
    away from the main database; None for any other statement."""
    head = _first_tokens(statement, 8)
    words = [t.upper for t in head]
    if not (words[:1] == ["DROP"] and words[1:2] in (["TABLE"], ["INDEX"], ["VIEW"], ["TRIGGER"])
            or words[:2] == ["ALTER", "TABLE"]):
        return None
    at = _name_position(head, 2)
    if at >= len(head) or not _in_main(head, at) or words[0] == "ALTER" and words[at + 1:at + 3] != ["RENAME", "TO"]:
        return None
    return words[1].lower(), _table_at(head, 2)


def _as_made_if_not_exists(schema_sql: list[str], scratch: sqlite3.Connection,
                           migrations: list[Migration]) -> tuple[list[str], list[str]]:
    """The squash's up statements, and warnings. SQLite keeps the text of a
    CREATE without IF NOT EXISTS. An object that a CREATE with those words
    made first, and that is as it made it (a repeat of that CREATE does
    nothing), is made by that statement again: a database whose application
    made it already (its own table) takes the squash as it took the
    migrations. Where the squash cannot do that, it warns."""
    events = {}  # (type, folded name): in order, (migration, statement, _Created) for a CREATE, None for a DROP/RENAME
    for migration in migrations:
        for statement in split_statements(migration.up):
            created = _created_object(statement)
            if created:
                events.setdefault((created.type, _fold(created.name)), []).append((migration.name, statement, created))
            elif gone := _gone_object(statement):
                events.setdefault(gone, []).append(None)
    kept = {(kind, _fold(name)): sql
            for kind, name, sql in scratch.execute("SELECT type, name, sql FROM sqlite_master")}
    as_written, warnings = {}, []
    for key, happened in events.items():
        made = [event for event in happened if event]
        if made and happened[0] is None:  # DROP ... IF EXISTS first: the migrations take one that is there already
            warnings.append(_if_not_exists_warning(made[0][2], f"dropped if there, then made, in {made[0][0]}"))
        if not made or happened[0] is None or made[0][2].kept is None:
            continue  # (first made by a plain CREATE: the migrations fail where one is, as the squash)
        made_by, statement, created = made[0]
        if None in happened:
            why = "was renamed or dropped since" if kept.get(key) is None else "was dropped or renamed, and made again"
        elif kept.get(key) is None:
            continue  # (a DROP TABLE took its index or trigger along: nothing to make)
        elif _as_stored(created.kept) != _as_stored(_tokens(kept[key])):
            why = "was changed since, or is made from a SELECT"
        else:
            first = next(_tokens(statement))  # (not the comments before it: a note of the statement before)
            as_written[kept[key]] = statement[first.start:]
            continue
        warnings.append(_if_not_exists_warning(created, f"made with IF NOT EXISTS in {made_by}, it {why}"))
    return [as_written.get(sql, sql) for sql in schema_sql], warnings


def _if_not_exists_warning(created: _Created, what_happened: str) -> str:
    """squash's warning for an object a database may have before the migrations make it."""
    return (f"{created.type} {created.name}: {what_happened}: on a database that has one already (made by the "
            "application), the squash does not do what the migrations did; squash only up to a migration before "
            "that, or write the steps into the squash by hand")


@contextmanager
def _uninterrupted():
    """Hold Ctrl-C, SIGTERM and SIGHUP (those Python handles) until the
    block ends, then let the first of them act. Signals reach only the main
    thread; elsewhere nothing is held."""
    import signal
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held, previous = [], {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and callable(signal.getsignal(number)):
            previous[number] = signal.signal(number, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum, frame in held[:1]:
            previous[signum](signum, frame)


class _InterruptedWhenDone(KeyboardInterrupt):
    """Ctrl-C held until the work it would have cut in two was done."""


def squash(*, directory: str | os.PathLike = "migrations", upto: str | None = None, write: bool = True) -> MakeResult:
    """Replace migrations from the first up to `upto` (default: the latest)
    by one whose up section builds the same schema in one go, and whose down
    section is theirs, the last one's first. The new file
    lists the names it replaces, so databases that applied them keep working;
    the files move to `replaced/` in the migrations folder, from where a
    database that applied only some of them gets the rest.
    Data statements (INSERT, UPDATE...) are not carried over: the warnings say
    which migrations had some."""
    _check_flags(write=write)
    migrations = read_migrations(directory)
    last = find_migration(directory, upto) if upto is not None else (migrations[-1] if migrations else None)
    chosen = migrations[:migrations.index(last) + 1] if last else []
    if len(chosen) < 2:
        raise MigrateError(f"nothing to squash in {directory}: it needs at least two migrations up to "
                           f"{upto or 'the latest'}")
    scratch = replay(chosen, cached=False)  # it deletes files: from the files alone, as cheap as it is rare
    try:
        up, changed = _as_made_if_not_exists(schema_statements(scratch), scratch, chosen)
    finally:
        scratch.close()
    irreversible = [m.name for m in chosen if m.down is None]
    # Theirs, last first: reverting the squash does what reverting them one by one did, and a table a
    # down section leaves on purpose (one the application makes itself) stays, with its rows.
    down = None if irreversible else [statement for m in reversed(chosen) for statement in split_statements(m.down)]
    replaces = tuple(name for m in chosen for name in m.replaces + (m.name,))
    checksums = [c for m in chosen for c in (m.replaced_checksums or ("",) * len(m.replaces)) + (m.checksum,)]
    warnings = [f"{irreversible[0]} has no down section, so the squashed migration has none either "
                "(it cannot be reverted, as before)"] if irreversible else []
    warnings += changed + _data_left_out(chosen)
    description = [f"Squashed {replaces[0]} .. {last.name}: the schema they build, in one go."]
    text = render_migration(up, down, description, replaces=tuple(
        f"{name}:{checksum[:_REPLACED_CHECKSUM]}" if checksum else name for name, checksum in zip(replaces, checksums)))
    slug = f"squashed_{int(replaces[0].split('_', 1)[0]):04d}_{last.number:04d}"  # 0001, also when squashed again
    kept = os.path.join(directory, REPLACED_FOLDER)
    _refuse_replaced_clashes(kept, chosen)
    result = _make_result(last.number, slug, text, description, warnings, up, down)
    if write:
        result = _written(directory, result)
        _move_replaced(chosen, kept, result)
    return result


def _data_left_out(chosen: list[Migration]) -> list[str]:
    """A warning for each migration to squash whose data statements the
    squash leaves out (it builds the schema only)."""
    warnings = []
    for migration in chosen:
        data = [st for st in split_statements(migration.up) if _carries_rows(st)]
        if data:
            warnings.append(f"{migration.name} has data statements (like {_shorten(data[0], 60)}) that the "
                            "squashed migration does not repeat: copy them by hand if new databases need them")
    return warnings


def _refuse_replaced_clashes(kept: str, chosen: list[Migration]) -> None:
    """Refuse, before anything is written, a `replaced/` folder that is a
    file, or that holds another file under a name the squash moves there."""
    if os.path.exists(kept) and not os.path.isdir(kept):
        raise MigrateError(f"{kept} is not a folder, and squash moves the files it replaces there: move it away "
                           "first; nothing was written")
    for migration in chosen:  # (squashing again, the earlier squash's originals are there already)
        there = os.path.join(kept, migration.name + ".sql")
        if os.path.exists(there) and not _same_file(there, migration):
            raise MigrateError(f"{there} exists and differs from {migration.path}: move it away first; "
                               "nothing was written")


def _move_replaced(chosen: list[Migration], kept: str, result: MakeResult) -> None:
    """Move the squashed files into `kept`, once the squash is safely
    written; a Ctrl-C waits until all have moved."""
    moved = False
    try:
        with _uninterrupted():  # (a Ctrl-C between two moves would leave the squash beside files it replaces)
            for migration in chosen:
                try:
                    os.makedirs(kept, exist_ok=True)
                    os.replace(migration.path, os.path.join(kept, migration.name + ".sql"))
                except OSError as exc:
                    left = [m.path for m in chosen if os.path.exists(m.path)]
                    raise MigrateError(f"wrote {result.path} but cannot move {migration.path} to {kept} "
                                       f"({exc.strerror}): move {', '.join(left)} there by hand") from None
            moved = True
    except KeyboardInterrupt as exc:  # held until then: the squash is done, or a move failed
        if not moved and isinstance(exc.__context__, MigrateError):
            raise exc.__context__ from None  # (what to move by hand matters more: the run stops either way)
        if not moved:
            raise
        raise _InterruptedWhenDone(f"the squash was done first: {result.path} written, the files it replaces "
                                   f"moved into {kept}") from None


def _same_file(path: str, migration: Migration) -> bool:
    """Whether the file at `path` holds `migration` (its bytes, or its text
    with other line endings), read as bytes: it need not parse."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return False
    return migration.matches(_checksum(raw)) or migration.matches(_checksum(raw.replace(b"\r\n", b"\n")))


# D1 checks each foreign key as its statement runs; `apply` checks them all before
# COMMIT, so a migration may insert a child row before its parent. Deferred to
# the end of the file's transaction, D1 does the same (its foreign keys page).
_D1_DEFERRED = "PRAGMA defer_foreign_keys = on;\n"


def export_d1(*, directory: str | os.PathLike = "migrations", out: str | os.PathLike) -> list[str]:
    """Write the migrations as Cloudflare D1 (wrangler) migration files in
    `out`: same names, up SQL only. D1 always enforces foreign keys and gives
    no way to switch them off, so a migration that drops or rebuilds a table
    other tables reference is refused (its children's rows would cascade away
    or the DROP would fail). Returns the paths written."""
    out = _path_argument(out, "the export folder", "--d1 FOLDER")
    directory = _path_argument(directory, "the migrations directory", "--dir FOLDER")
    if os.path.exists(out) and not os.path.isdir(out):
        raise MigrateError(f"{out} is a file, not a folder: pass --d1 with a folder (made if missing); nothing was "
                           "exported")
    if os.path.realpath(out) == os.path.realpath(directory):
        raise MigrateError(f"{out} is the migrations folder: exporting there would overwrite the migrations "
                           "with their up sections only; choose another folder; nothing was exported")
    migrations = read_migrations(directory)
    scratch = _scratch_database()
    files = []
    try:
        for migration in migrations:
            statements = split_statements(migration.up)
            _refuse_unrunnable([PlannedStep("apply", migration.name, tuple(statements), migration)], fake=False,
                               up_only=True)  # D1 runs each file in a transaction of its own too
            dropped = _cascading_drops(scratch, statements)
            if dropped:
                raise MigrateError(f"migration {migration.name} drops or rebuilds table {dropped[0]}, which foreign "
                                   "keys reference: D1 always enforces foreign keys, so their rows would "
                                   "cascade away or the drop fail; for D1, make the change by hand in steps it can "
                                   "run (a new column filled from the old one, instead of a new type), or copy the "
                                   "children's rows aside, drop and make them again after it; nothing was exported")
            _drop_temp_objects(scratch, set())  # as apply does after each migration
            files.append((os.path.join(out, migration.name + ".sql"),
                          f"-- {migration.name}, exported by migrate.py {__version__} for Cloudflare D1\n"
                          + _D1_DEFERRED + "".join(_terminated(s) + "\n" for s in statements)))
    except sqlite3.Error as exc:
        raise MigrateError(f"migration {migration.name} fails when replayed: {exc}; nothing was exported") from None
    finally:
        scratch.close()
    _write_all(files, out)
    return [path for path, _ in files]


def _write_all(files: list[tuple[str, str]], folder: str) -> None:
    """Write every (path, text) in `folder`: each goes to a temporary file
    first, and only once all are written do they take their names; on an
    error (or Ctrl-C) the temporary files, and the folder if made here, go."""
    made, temporary, renamed, finished = not os.path.isdir(folder), [], 0, False
    try:
        os.makedirs(folder, exist_ok=True)
        for path, _ in files:
            if os.path.isdir(path):
                raise IsADirectoryError(21, "Is a directory", path)
        for path, text in files:
            temporary.append(_partial_path(path))
            with open(temporary[-1], "x", encoding="utf-8") as handle:
                handle.write(text)
        for (path, _), written in zip(files, temporary):
            os.replace(written, path)
            renamed += 1
        finished = True
    except OSError as exc:
        if renamed:  # (a file system that fails one rename of several: rare)
            raise MigrateError(f"cannot write {files[renamed][0]}: {exc.strerror}; {renamed} of the {len(files)} "
                               "files were written, the others are as they were: export again") from None
        raise MigrateError(f"cannot write {exc.filename or folder}: {exc.strerror}; pass --d1 with a folder "
                           "you can write to; nothing was exported") from None
    finally:
        for written in temporary[renamed:]:
            with suppress(OSError):
                os.remove(written)
        if made and not renamed and not finished:  # (finished with no files: the empty folder made here stays)
            with suppress(OSError):
                os.rmdir(folder)


def d1_warnings(*, directory: str | os.PathLike = "migrations", out: str | os.PathLike) -> list[str]:
    """What would surprise in an exported folder: D1 applies every file there
    it has not recorded, by name, and knows no squashes."""
    migrations = read_migrations(directory)
    exported = {m.name + ".sql" for m in migrations}
    if not os.path.isdir(out):
        raise MigrateError(f"export folder {out} not found: run `export --d1 {out}` first")
    warnings = [f"{name} in {out} is not one of the migrations: remove it, or D1 will apply it"
                for name in sorted(set(os.listdir(out)) - exported) if name.endswith(".sql")]  # as wrangler picks them
    warnings += [f"{m.name} replaces {len(m.replaces)} migrations, which D1 does not know: a D1 database that "
                 "applied them would run it again and fail; for such a database use an export from before "
                 "the squash, in a folder of its own" for m in migrations if m.replaces]
    return warnings + _defaulted_references(migrations)


def _defaulted_references(migrations: list[Migration]) -> list[str]:
    """Columns added with a foreign key and a default other than NULL, which
    SQLite refuses with foreign keys on, as D1 always has them, when the
    table has rows ("Cannot add a REFERENCES column with non-NULL default")."""
    sections = [split_statements(m.up) for m in migrations]
    # replayed only as far as the last migration that may add such a column (export speed)
    last = max((at for at, statements in enumerate(sections)
                if any(_MAY_ADD_REFERENCE.search(s) for s in statements)), default=-1)
    warnings, scratch = [], _scratch_database()
    try:
        for migration, statements in zip(migrations[:last + 1], sections):
            for statement, _ in _schema_statements(statements):  # as export_d1 replays them (no rows)
                scratch.execute(statement)
            ddl = list(_table_ddl(statements))
            made = {table for action, table, _ in ddl if action == "create"}  # empty: no rows to refuse it for
            for action, table, column in ddl:
                if action == "add column" and table not in made and scratch.execute(
                        "SELECT 1 FROM pragma_table_xinfo(?) AS c, pragma_foreign_key_list(?) AS fk WHERE c.name = "
                        "? COLLATE NOCASE AND fk.\"from\" = c.name AND c.dflt_value IS NOT NULL AND "
                        "upper(c.dflt_value) <> 'NULL'", (table, table, column)).fetchone():
                    warnings.append(f"{migration.name} adds column {table}.{column} with a foreign key and a "
                                    "default other than NULL, which D1 refuses when the table has rows: add it "
                                    "without the default (Optional), fill it, then make it required, in migrations "
                                    "of their own")
    finally:
        scratch.close()
    return warnings


_MAY_ADD_REFERENCE = re.compile(r"\bADD\b.*\bREFERENCES\b", re.I | re.S)


# ============================================================================
# Command line
# ============================================================================
# Each command parses, calls the library above, and prints. Settings come from
# the command line, else MIGRATE_* environment variables, else [tool.migrate]
# in pyproject.toml, else the defaults.

_DEFAULTS = {"db": "db.sqlite3", "models": "models.py", "dir": "migrations"}

_EXAMPLES = {
    "make": """examples:
  python migrate.py make                        # write migrations/NNNN_....sql
  python migrate.py make add_author --rename question.text=question_text
  python migrate.py make --default question.author="'anonymous'"
  python migrate.py make --empty backfill_slugs  # for hand-written SQL
  python migrate.py make --update                # fold new changes into the latest (unapplied) migration
  python migrate.py make --check                 # CI: exit 1 if a migration is missing""",
    "apply": """examples:
  python migrate.py apply                 # everything pending
  python migrate.py apply 0002            # migrate to 0002 (reverts later ones)
  python migrate.py apply zero            # revert everything
  python migrate.py apply +1              # the next pending migration only
  python migrate.py apply --dry-run       # show what would run
  python migrate.py apply --check         # deploy gate: exit 1 if migrations are pending
  python migrate.py apply --backup before.sqlite3""",
    "revert": """examples:
  python migrate.py revert                # the last applied migration
  python migrate.py revert 0001           # everything after 0001
  python migrate.py revert -2             # the last two applied
  python migrate.py revert zero           # everything""",
    "status": """examples:
  python migrate.py status
  python migrate.py status -v --db app.sqlite3   # with applied times
  python migrate.py status --json""",
    "check": """examples:
  python migrate.py check --db app.sqlite3   # exit 1 on missing migration, edited file or drift
  python migrate.py check --no-models        # a project without models: files and database only""",
    "sql": """examples:
  python migrate.py sql 0002
  python migrate.py sql 0002_add_author --down""",
    "squash": """examples:
  python migrate.py squash          # 0001 .. the latest become one migration
  python migrate.py squash 0040     # 0001 .. 0040""",
    "export": """example:
  python migrate.py export --d1 d1-migrations
  npx wrangler d1 migrations apply DATABASE --local   # migrations_dir = d1-migrations""",
    "schema": """example:
  python migrate.py schema --db app.sqlite3 > schema.sql""",
}


def _pyproject_settings(start: str = ".") -> tuple[dict, dict, str | None]:
    """db/models/dir from the nearest pyproject.toml with a [tool.migrate]
    that sets any (a package's own pyproject.toml in a monorepo does not hide
    the root's), the defaults for the others, all relative to its folder and
    made relative to the current one; empty when there is none. And where
    each setting it sets came from, for errors about them; and its folder."""
    folder = os.path.abspath(start)
    while True:
        path = os.path.join(folder, "pyproject.toml")
        settings = _read_pyproject(path) if os.path.isfile(path) else {}
        if settings:
            origins = {key: f"{key} = {value!r} in {os.path.relpath(path)}" for key, value in settings.items()}
            return _relative_to_folder({**_DEFAULTS, **settings}, folder), origins, folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return {}, {}, None
        folder = parent


def _read_pyproject(path: str) -> dict:
    """The settings in a pyproject.toml's [tool.migrate] table, read with
    tomllib from Python 3.11 and before that with _read_tool_migrate."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrateError(f"{path} is not UTF-8 (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise MigrateError(f"cannot read {path}: {exc.strerror}") from None
    if text.startswith("\ufeff"):
        raise MigrateError(f"{path} starts with a byte order mark, which TOML does not allow (pip would refuse "
                           "it too): save it as UTF-8 without one")
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        settings = _read_tool_migrate(text, path)
    else:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MigrateError(f"{path} is not valid TOML ({exc}): fix it") from None
        except RecursionError:  # tomllib parses nested arrays by recursion
            raise MigrateError(f"{path} nests arrays or tables too deeply for Python's TOML reader: "
                               "fix it") from None
        settings = _tool_migrate_strings(document, path)
    return settings


def _tool_migrate_strings(document: dict, path: str) -> dict:
    """db/models/dir from a parsed pyproject.toml; each must be a string."""
    tool = document.get("tool", {})
    table = tool.get("migrate", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise _not_a_table(path, "tool.migrate" if isinstance(tool, dict) else "tool")
    for key in table:
        if key not in _DEFAULTS:
            raise _unknown_key(path, key)
        if not isinstance(table[key], str):
            raise _not_a_string(path, key)
    return dict(table)


def _not_a_table(path: str, key: str) -> MigrateError:
    return MigrateError(f"{path}: {key} must be a table: write [tool.migrate] and "
                        'below it db = "...", models = "...", dir = "..."')


def _unknown_key(path: str, key: str) -> MigrateError:  # a typo would send apply to the default database
    return MigrateError(f"{path}: [tool.migrate] has no setting {key!r}: use db, models or dir")


def _not_a_string(path: str, key: str) -> MigrateError:
    return MigrateError(f"{path}: [tool.migrate] {key} must be a quoted string, "
                        f'like {key} = "{_DEFAULTS[key]}"')


def _relative_to_folder(settings: dict, folder: str) -> dict:
    """Paths in pyproject.toml are relative to its folder (as pytest and ruff read
    theirs), so that commands work from any folder below it. An rqlite URL,
    :memory: and a dotted module name are not paths."""
    base = os.path.relpath(folder)
    resolved = dict(settings)
    for key, value in settings.items():
        if key == "db":  # (a file: URI is refused when the database is opened)
            is_path = value != ":memory:" and not _is_url(value) and not value.startswith("file:")
        elif key == "models":  # else a module name, imported from the current folder
            is_path = _names_a_file(value)
        else:
            is_path = True
        if is_path and value.startswith("~"):
            resolved[key] = os.path.expanduser(value)  # (the home folder, as a shell would read it)
        elif is_path and value and base != os.curdir:
            resolved[key] = os.path.join(base, value)
    return resolved


# Python 3.9 and 3.10 have no tomllib. _read_tool_migrate reads any pyproject.toml
# token by token (so a "#" or "[" inside a string, or a multi-line string or array
# elsewhere, cannot mislead it) and decodes the strings of [tool.migrate]; what it
# cannot read exactly is an error, never a guess. A pattern, not a compiled regex:
# start-up time matters and Python 3.11+ never needs it.
_TOML_TOKEN = "|".join([
    r'(?P<string>"""(?:[^\\]|\\.)*?"""(?!")|' r"'''.*?'''(?!')|"  # multi-line strings
    r'"(?:[^"\\\n]|\\[^\n])*"|' r"'[^'\n]*')",                     # one-line strings
    r"(?P<comment>#[^\n]*)", r"(?P<space>[ \t]+)", r"(?P<newline>\r?\n)",
    r"(?P<bare>[A-Za-z0-9_+:-]+)",  # keys, numbers, booleans, dates
    r"(?P<punctuation>[\[\]{}=,.])", r"(?P<other>.)",
])
_TOML_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _read_tool_migrate(text: str, path: str) -> dict:
    """[tool.migrate] db/models/dir strings from TOML text, for Pythons without tomllib."""
    migrate, settings, table = ("tool", "migrate"), {}, ()
    ours, headers, dotted = {("tool",), ("tool", "migrate")}, set(), set()  # TOML defines each table once
    for line, tokens in _toml_statements(text, path):
        where = f"{path} line {line}"
        if tokens[0] == "[":  # a [table] or [[array of tables]] header
            brackets = 2 if tokens[1:2] == ["["] else 1
            table, rest = _toml_key(tokens[brackets:], where)
            if rest != ["]"] * brackets:
                raise MigrateError(f"{where}: cannot read this table header: is it valid TOML?")
            if table[:2] == migrate and len(table) > 2:
                raise _not_a_string(path, table[2]) if table[2] in _DEFAULTS else _unknown_key(path, table[2])
            if brackets == 2 and table == migrate[:len(table)]:
                raise _not_a_table(path, ".".join(table))
            if table in ours and table in headers | dotted:
                raise MigrateError(f"{where}: [{'.'.join(table)}] is declared twice (as a header, or by dotted "
                                   "keys above), which TOML forbids: keep one")
            headers.add(table)
            continue
        keys, rest = _toml_key(tokens, where)
        if rest[:1] != ["="] or len(rest) < 2:
            raise MigrateError(f"{where}: expected key = value: is it valid TOML?")
        name, value = table + keys, rest[1:]
        for inner in (name[:n] for n in range(len(table) + 1, len(name))):  # tables a dotted key defines
            if inner in ours and inner in headers:
                raise MigrateError(f"{where}: [{'.'.join(inner)}] is declared above, so a dotted key cannot "
                                   f"add to it, which TOML forbids: set {name[-1]} under [{'.'.join(inner)}]")
            dotted.add(inner)
        if name == migrate[:len(name)]:  # tool = ... or tool.migrate = ...
            if value[0] == "{":
                raise MigrateError(f"{where}: an inline table for tool.migrate needs Python 3.11+: "
                                   "write it as a [tool.migrate] table")
            raise _not_a_table(path, ".".join(name))
        if name[:2] == migrate and name[2] not in _DEFAULTS:
            raise _unknown_key(path, name[2])
        if name[:2] == migrate:
            if len(name) > 3 or len(value) > 1 or value[0][0] not in "'\"":
                raise _not_a_string(path, name[2])
            if name[2] in settings:
                raise MigrateError(f"{where}: [tool.migrate] {name[2]} is set twice: keep one")
            settings[name[2]] = _toml_string(value[0], f"{where}: [tool.migrate] {name[2]}")
    return settings


def _toml_statements(text: str, path: str):
    """Yield (line number, tokens) for each header or key = value; a value in
    brackets or braces may span lines. Spaces and comments are left out."""
    tokens, depth, line, start = [], 0, 1, 1
    for match in re.finditer(_TOML_TOKEN, text, re.DOTALL):
        kind, token = match.lastgroup, match.group()
        if kind == "other" or (depth == 0 and token in ("]", "}")):
            raise MigrateError(f"{path} line {line}: cannot read {token!r} here: is it valid TOML?")
        if kind == "newline" and depth == 0 and tokens:
            yield start, tokens
            tokens = []
        elif kind in ("string", "bare", "punctuation"):
            if not tokens:
                start = line
            tokens.append(token)
            depth += (token in ("[", "{")) - (token in ("]", "}"))
        line += token.count("\n")
    if depth:  # (the rest of the file, [tool.migrate] too, would be read as its value)
        raise MigrateError(f"{path} line {start}: a [ or {{ is never closed: is it valid TOML?")
    if tokens:
        yield start, tokens


def _toml_key(tokens: list, where: str) -> tuple:
    """Split a dotted key (a."b".c) off the front of tokens: (keys, the rest)."""
    keys = []
    while True:
        token = tokens[0] if tokens else ""
        if re.fullmatch(r"[A-Za-z0-9_-]+", token):
            keys.append(token)
        elif token[:1] in ("'", '"') and token[:3] not in ("'''", '"""'):
            keys.append(_toml_string(token, where))
        else:
            raise MigrateError(f"{where}: cannot read the key {token!r}: is it valid TOML?")
        if tokens[1:2] != ["."]:
            return tuple(keys), tokens[1:]
        tokens = tokens[2:]


def _toml_string(token: str, where: str) -> str:
    """The value of a TOML string token of any of the four kinds."""
    quotes = token[:3] if token[:3] in ("'''", '"""') else token[0]
    body = token[len(quotes):-len(quotes)]
    if len(quotes) == 3:  # a newline right after the opening quotes is not part of the value
        body = re.sub(r"\A\r?\n", "", body)
    if quotes[0] == "'":
        return body

    def unescape(match):
        short, unicode, line_ending = match.groups()
        if short:
            return _TOML_ESCAPES[short]
        if line_ending:  # only multi-line strings have them: the backslash trims the line break
            return ""
        code = int(unicode[1:], 16) if unicode else -1
        if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:  # a Unicode scalar value
            return chr(code)
        raise MigrateError(f"{where}: cannot read the escape {match.group()!r}: is it valid TOML?")
    return re.sub(r'\\(?:([btnfr"\\])|(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})|([ \t]*\r?\n\s*)|.?)',
                  unescape, body, flags=re.DOTALL)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns without importing shutil, which
    argparse would do on every start (3 ms, for help text rarely printed)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isascii() and columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
        return 80


_OPTION_HELP = {"db": "SQLite database file", "models": "models file or dotted module", "dir": "migrations directory"}


def _parser(settings: dict):
    import argparse

    def formatter(prog):
        return argparse.RawDescriptionHelpFormatter(prog, width=_terminal_columns() - 2)  # as argparse does

    class OneLineErrors(argparse.ArgumentParser):
        """A usage error is one line, as every error is, and says where the usage is."""
        def error(self, message):
            self.exit(2, f"error: {self.prog}: {message} (see python {self.prog} --help)\n")

    parser = OneLineErrors(
        prog="migrate.py", description="Django-style schema migrations for SQLite.",
        epilog="Run `python migrate.py COMMAND --help` for a command's options and examples.",
        formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"migrate.py {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    def command(name, help_text, options, aliases=(), verbose=""):
        """A command with those of the options --db, --models and --dir it uses,
        -q, and -v where it has more to say (`verbose`: what)."""
        parser_ = commands.add_parser(name, help=help_text, description=help_text, epilog=_EXAMPLES[name],
                                      aliases=list(aliases), formatter_class=formatter,
                                      allow_abbrev=False)  # (`revert --f` must not pass for --fake)
        parser_.set_defaults(command_parser=parser_)  # to say an unknown option with this command's usage
        for option in options:
            parser_.add_argument(f"--{option}", help=f"{_OPTION_HELP[option]} (env MIGRATE_{option.upper()}; "
                                                      f"now {settings[option]})")
        loudness = parser_.add_mutually_exclusive_group()
        loudness.add_argument("-q", "--quiet", action="store_true",
                              help="print only errors, warnings and what was asked for (SQL, JSON)")
        if verbose:
            loudness.add_argument("-v", "--verbose", action="store_true", help=f"print more detail: {verbose}")
        return parser_

    _add_make(command)
    _add_apply_and_revert(command)
    _add_the_others(command)
    return parser


def _add_make(command) -> None:
    """make's arguments. `command(name, help, options, ...)` adds a command (_parser)."""
    make_ = command("make", "write the next migration from the changes in the models", ("db", "models", "dir"),
                    verbose="the file written")
    make_.add_argument("name", nargs="?", help="slug for the file name (default: derived)")
    empty_or_check = make_.add_mutually_exclusive_group()
    empty_or_check.add_argument("--empty", action="store_true", help="write an empty migration to fill by hand")
    empty_or_check.add_argument("--check", action="store_true",
                                help="write nothing; exit 1 if the models have changes without a migration")
    make_.add_argument("--dry-run", action="store_true", help="print the file instead of writing it")
    make_.add_argument("--update", action="store_true",
                       help="fold the changes into the latest migration (one not applied anywhere yet)")
    make_.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                       help="answer a rename question: table.old=new or old_table=new_table")
    make_.add_argument("--default", action="append", default=[], metavar="TABLE.COLUMN=SQL",
                       help="one-off SQL value for existing rows of a column that becomes NOT NULL")
    make_.add_argument("--no-input", action="store_true", help="never ask questions")


def _add_apply_and_revert(command) -> None:
    """apply's and revert's arguments, mostly shared."""
    for name, help_text in (("apply", "apply pending migrations, or migrate to a target"),
                            ("revert", "revert the last migration, or all after a target")):
        sub = command(name, help_text, ("db", "dir"))
        sub.add_argument("target", nargs="?", help="number, name, its start or file" + (
            "; +N: the next N pending; or zero" if name == "apply" else
            ", that stays applied; -N: the last N applied; or zero"))
        sub.add_argument("--dry-run", "--plan", action="store_true", dest="dry_run",
                         help="list what would run, with the SQL, and change nothing")
        sub.add_argument("--fake", action="store_true", help="record without running the SQL")
        sub.add_argument("--atomic", action="store_true",
                         help=f"{'apply all pending' if name == 'apply' else 'revert the'} migrations in one "
                         "transaction: all or nothing")
        sub.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                         help="how long to wait for other processes: writers, and readers at COMMIT (default 30)")
        if name == "apply":
            sub.add_argument("--fake-initial", action="store_true",
                             help="record the initial migration without running it if its tables exist")
            sub.add_argument("--allow-changed", action="store_true",
                             help="accept applied migration files that were edited since")
            sub.add_argument("--check", action="store_true",
                             help="change nothing; exit 1 if migrations are pending (a deploy gate)")
        sub.add_argument("--backup", metavar="PATH",
                         help="snapshot the database to PATH once the run is checked, before it changes anything")


def _add_the_others(command) -> None:
    """The arguments of status, check, sql, schema, export and squash."""
    status_ = command("status", "list migrations: [X] applied, [ ] pending", ("db", "dir"), verbose="applied times")
    status_.add_argument("--json", action="store_true", help="machine-readable output")
    check_ = command("check", "exit 1 when models, migrations and database disagree", ("db", "models", "dir"))
    check_.add_argument("--no-models", action="store_true",
                        help="compare the migrations and the database only (SQL written by hand, no models)")
    sql_ = command("sql", "print a migration's SQL", ("dir",))
    sql_.add_argument("name", help="number, name, its start or file")
    sql_.add_argument("--down", action="store_true", help="the down section instead of the up")
    schema_ = command("schema", "print the database's schema as SQL", ("db",), aliases=("dump",))
    for reader in (status_, check_, schema_):
        reader.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT, metavar="SECONDS",
                            help="how long to wait for a writer that keeps readers out (default 30)")
    export_ = command("export", "write the migrations for another tool", ("dir",))
    export_.add_argument("--d1", metavar="DIR", required=True,
                         help="Cloudflare D1 / wrangler migration files (up SQL only) into DIR")
    squash_ = command("squash", "replace the first migrations by one that builds the same schema", ("dir",))
    squash_.add_argument("upto", nargs="?", help="last migration to squash (default: the latest)")
    squash_.add_argument("--dry-run", action="store_true", help="print the file instead of writing it")


def _one_line(message: str) -> str:
    """A message as one line: a newline or a terminal escape in a name read
    from a damaged or hand-edited database is shown escaped, not obeyed; a
    byte of a file name that is not UTF-8 is shown as that byte, \\xe9."""
    return _SHOWN_ESCAPED.sub(_escaped, message)


# _CONTROL_CHARACTER, and the lone surrogates U+DC80 to U+DCFF that Python
# keeps a file name's bytes that are not UTF-8 as (PEP 383).
_SHOWN_ESCAPED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")


def _escaped(match: re.Match) -> str:
    character = match.group()
    return f"\\x{ord(character) - 0xdc00:02x}" if character >= "\udc80" else ascii(character)[1:-1]


def _colour_wanted() -> bool:
    """Not when NO_COLOR is set and not empty (no-color.org), nor on a terminal that has no colours."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class _Output:
    """Printing for the CLI: quiet mode, and colour on a terminal unless NO_COLOR is set."""

    def __init__(self, *, quiet: bool):
        self.quiet = quiet
        self.terminal = _isatty(sys.stdout)
        self.colour = self.terminal and _colour_wanted()

    def paint(self, text: str, colour: str) -> str:
        codes = {"green": "32", "red": "31", "yellow": "33", "bold": "1"}
        return f"\033[{codes[colour]}m{text}\033[0m" if self.colour else text

    def say(self, text: str = "", end: str = "\n") -> None:
        if not self.quiet:
            print(text, end=end, flush=True)

    def warn(self, text: str, indent: str = "  ") -> None:
        """A warning: on stderr, and also with -q (it is not progress)."""
        sys.stdout.flush()
        label = "\033[33mWARNING\033[0m" if _isatty(sys.stderr) and _colour_wanted() else "WARNING"
        print(f"{indent}{label}: {text}", file=sys.stderr, flush=True)


def _isatty(stream) -> bool:
    """Whether the stream is a terminal: not so for None (a closed stdin, `<&-`), a closed file, or
    a caller's object without isatty (a logging adapter)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _prompt_on_tty(question: str) -> str:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:  # Ctrl-D: no answer, not the default "no" (that drops and adds a column)
        sys.stderr.write("\n")
        raise MigrateError("no answer (end of input): nothing was written")
    return answer


def _print_dry_run(result: MakeResult) -> int:
    """`make --dry-run`, `squash --dry-run`: the file's text, its warnings beside it, not in it."""
    print(result.text, end="")
    for warning in result.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    return 0


def _run_make(args, out: _Output) -> int:
    """make: its answers (--rename, --default, or questions on a terminal),
    then the file written, printed (--dry-run) or only checked (--check)."""
    defaults = {}
    for item in args.default:
        key, sep, value = item.partition("=")
        if not sep or "." not in key or not value.strip():
            raise MigrateError(f"--default {item!r} must look like table.column=SQL, e.g. question.author=''")
        if any(_fold(key.strip()) == _fold(given) for given in defaults):
            raise MigrateError(f"--default {key.strip()} is given twice: keep one")
        defaults[key.strip()] = value.strip()
    # asked on stderr: with it sent to a file, nobody would see the question (then as --no-input)
    interactive = not args.no_input and not args.check and _isatty(sys.stdin) and _isatty(sys.stderr)
    questioner = Questioner(renames=args.rename, defaults=defaults,
                            prompt=_prompt_on_tty if interactive else None)
    before = [m.path for m in read_migrations(args.dir)][-1:] if args.update and os.path.isdir(args.dir) else []
    result = make(models=args.models, directory=args.dir, name=args.name, empty=args.empty,
                  write=not (args.check or args.dry_run), questioner=questioner, update=args.update,
                  db=args.db)
    if not result.operations and not args.empty:
        out.say("No changes detected")
        return 0
    if args.check:
        print(f"Models have changes without a migration ({result.name}):")
        for line in result.operations:
            print(f"  {line}")
        for warning in result.warnings:  # (one may say why: a migration from an older branch)
            print(f"WARNING: {warning}", file=sys.stderr)
        return 1
    if args.dry_run:
        return _print_dry_run(result)
    try:
        out.say("Migration updated:" if args.update else "Migrations written:")
        renamed = [path for path in before if os.path.basename(path) != os.path.basename(result.path)]
        out.say(f"  {result.path}" + (f" (renamed from {os.path.basename(renamed[0])})" if renamed else ""))
        for line in result.operations:
            out.say(f"    {line}")
        for warning in result.warnings:
            out.warn(warning, "    ")
        if args.verbose:
            out.say(result.text)
    except OSError as exc:  # a full disk or a closed pipe: the file is there all the same, and must be reviewed
        raise MigrateError(f"{exc.strerror or exc} while writing the output; {result.path} was written: review "
                           "it") from None
    return 0


def _target_name(args) -> str:
    """The migration a target designates (`2` -> `0002_add_author`), as Django names it."""
    if args.target == "zero":
        return "zero"
    try:
        return find_migration(args.dir, args.target).name
    except MigrateError:  # (the run says why)
        return args.target


def _run_migrations(args, out: _Output) -> int:
    reverting = args.command == "revert"
    edited = [row.name for row in status(args.db, directory=args.dir, timeout=args.timeout) if row.modified] \
        if not reverting and args.allow_changed else []  # the run records their new checksum and down section
    if args.dry_run or (not reverting and args.check):
        if args.backup is not None:  # refused as the run would refuse it
            _check_backup_path(args.backup, args.db)
        return _preview_run(args, out, reverting, edited)
    report = _RunReport(args, out, reverting, edited)
    options = dict(fake=args.fake, atomic=args.atomic, timeout=args.timeout, progress=report.progress,
                   backup=args.backup)
    if not reverting:
        options.update(fake_initial=args.fake_initial, allow_changed=args.allow_changed)
    try:
        steps = (revert if reverting else apply)(args.db, directory=args.dir, target=args.target, **options)
    except MigrateError:
        report.failed()
        raise
    report.finished(steps)
    if not reverting and not steps and not args.quiet:
        _say_unmigrated_changes(args, out)
    return 0


def _say_unmigrated_changes(args, out: _Output) -> None:
    """After an `apply` with nothing to apply, as Django's `migrate` does: model changes that no
    migration makes are not in the database, which surprises whoever forgot `make`. Nothing when
    the models are not there (a deploy that ships migrations only), or for a --dir given (another
    app's migrations, which the models may not describe); a warning when they cannot be read,
    since apply itself went well."""
    if args.dir_given or _models_not_here(args.models):
        return
    try:
        try:
            changes = len(make(models=args.models, directory=args.dir, write=False).operations)
        except MigrateError:  # the models cannot be loaded, or make needs an answer (a one-off value)
            try:
                load_models(args.models)
            except MigrateError as exc:
                out.warn(f"the models were not compared with the migrations: {exc}")
                return
            changes = -1
    except KeyboardInterrupt:  # (not the run: it had finished)
        print("\ninterrupted while comparing the models with the migrations, after apply", file=sys.stderr)
        raise SystemExit(130) from None
    if changes:
        said = "changes that are" if changes != 1 else "a change that is"
        count = f"{changes} " if changes > 1 else ""
        out.say(out.paint(f"  Your models in {args.models} have {count}{said} not in a migration yet, so not "
                          "applied: run `make`, then `apply`.", "yellow"))


def _models_not_here(models: str) -> bool:
    """Whether the models setting names a file that is not there, or a module
    that cannot be found from the current folder."""
    if _names_a_file(models):
        return not os.path.exists(models)
    import importlib.util
    folder = os.getcwd()
    sys.path.insert(0, folder)
    try:
        return importlib.util.find_spec(models) is None
    except ImportError:  # (a parent package that is not there)
        return True
    except Exception:  # a package that fails to import: make says how
        return False
    finally:
        sys.path.remove(folder)
        os.chdir(folder)  # (as _load_models: a package's os.chdir() must not move the migrations)


@contextmanager
def _termination_as_ctrl_c():
    """SIGTERM (docker stop, systemd, Kubernetes) and SIGHUP (a closed terminal) stop a run as
    Ctrl-C does: the migration running is rolled back and the run says so, instead of the
    process dying mid-statement with no word (its journal rolled back at the next open). Not
    for an application that calls main() and handles Ctrl-C itself: it may only note Ctrl-C,
    and SIGTERM must still stop it, as it did before it called main()."""
    import signal

    def as_ctrl_c(signum, frame):
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    ctrl_c = signal.getsignal(signal.SIGINT)
    if callable(ctrl_c) and ctrl_c is not signal.default_int_handler:
        yield
        return
    previous = {}
    with suppress(ValueError):  # (only the main thread may set handlers)
        for name in ("SIGTERM", "SIGHUP"):
            # (one ignored, as under nohup, or handled by the application, stays so)
            if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is signal.SIG_DFL:
                previous[name] = signal.signal(getattr(signal, name), as_ctrl_c)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def _preview_run(args, out: _Output, reverting: bool, edited: list[str]) -> int:
    """`--dry-run` and `apply --check`: what the run would do, changing nothing."""
    checking = not reverting and args.check
    options = {} if reverting else dict(fake_initial=args.fake_initial, allow_changed=args.allow_changed)
    steps = plan(args.db, directory=args.dir, target=args.target, reverting=reverting, fake=args.fake,
                 timeout=args.timeout, **options)
    # a squash whose replaced migrations are all applied is only recorded: status counts it applied
    pending = [step for step in steps if not step.adopt] if checking else steps
    if args.dry_run:
        _print_plan(steps, edited, quiet=args.quiet)
    if not checking or not (pending or edited):
        if not args.dry_run:
            out.say(f"{_shown(args.db)} is up to date: no migrations to apply.")
        return 0
    todo = [f"{len(pending)} migration{'s' * (len(pending) > 1)} to run"] * bool(pending) + \
        [f"{len(edited)} edited file{'s' * (len(edited) > 1)} to record"] * bool(edited)
    summary = f"{_shown(args.db)} is not up to date: {' and '.join(todo)}"
    if args.dry_run:  # (stdout is the SQL)
        print(summary, file=sys.stderr)
        return 1
    print(summary + ":")  # (the list is the point of --check: printed even with -q)
    for name in edited:
        print(f"  Record the edited {_one_line(name)} (--allow-changed)")
    for step in pending:
        print(f"  {'Apply' if step.action == 'apply' else 'Revert'} {_one_line(step.name)}{_recorded_only(step)}")
    return 1


class _RunReport:
    """What `apply` and `revert` print as they run, as Django's `migrate` does: the header once
    something runs (a refusal is the error alone), then `  Applying 0002_x... OK (0.01s)`."""

    _WORDS = {"apply": "Applying", "revert": "Unapplying"}
    _OUTCOMES = {"skip": "SKIPPED (done by another process)", "fake": "FAKED",
                 "adopt": "OK (applied before as the migrations it replaces)"}

    def __init__(self, args, out: _Output, reverting: bool, edited: list[str]):
        self.args, self.out, self.edited = args, out, edited
        self.atomic = args.atomic
        self.reverting = reverting
        self.open_line = None  # the migration whose line waits for its outcome
        self.database_was_new = not _is_url(args.db) and not os.path.exists(args.db)
        relative = re.fullmatch(r"[-+]([0-9]+)", args.target or "")
        if relative:
            count = int(relative.group(1))
            many = f" {count} migrations" if count != 1 else " migration"
            operation = f"  {'Revert the last' if reverting else 'Apply the next'}{many}"
        elif reverting:
            operation = ("  Revert every migration" if args.target == "zero" else
                         f"  Revert every migration after {_target_name(args)}" if args.target
                         else "  Revert the last migration")
        else:
            operation = f"  Target specific migration: {_target_name(args)}" if args.target else "  Apply all migrations"
        self.header = ["Operations to perform:", operation, "Running migrations:"]

    def _say_header(self):
        if self.header and self.args.backup is not None:  # the path was checked new: it exists if this run made it
            backup, shown = self.args.backup, _shown(self.args.db)
            self.header.insert(-1, f"  Backed up {shown} to {backup}" if os.path.exists(backup)
                               else "  No backup: :memory: is a new database, empty" if self.args.db == ":memory:"
                               else f"  No backup: {shown} does not exist yet" if self.database_was_new
                               else "  No backup: nothing to run")
        for line in self.header:
            self.out.say(line)
        self.header.clear()

    def _say_recorded(self):  # the edited files are recorded with the first migration, so known once it committed
        for name in self.edited:
            self.out.say(f"  Recorded the edited {_one_line(name)} as it is now (--allow-changed)")
        self.edited.clear()

    def progress(self, action: str, name: str, step) -> None:
        """The runner's callback: None as a migration starts, seconds while a statement runs, then its step."""
        out, name = self.out, _one_line(name)  # (a name read from a damaged database: shown escaped)
        self._say_header()
        if isinstance(step, float):  # a long statement is running: show it is alive
            if out.terminal and self.open_line:
                out.say(f"\r  {self._WORDS[action]} {name}... {step:.0f}s", end="")
            return
        if step is None:
            if self.open_line:  # --atomic: the previous one waits for the common COMMIT
                out.say()
            out.say(f"  {self._WORDS[action]} {name}...", end="")
            self.open_line = name
            return
        if self.open_line != name:  # --atomic: the results come after the common COMMIT, summed up below
            if self.open_line:
                out.say()
            self.open_line = None
            if step.action in self._OUTCOMES:
                out.say(f"  {name}: {out.paint(self._OUTCOMES[step.action], 'green')}")
        else:
            out.say(f" {out.paint(self._OUTCOMES.get(step.action, 'OK'), 'green')} ({step.seconds:.2f}s)")
            self.open_line = None
        for warning in step.warnings:
            out.warn(warning + (f" ({name})" if self.atomic else ""), "    ")
        self._say_recorded()

    def failed(self) -> None:
        if self.open_line:
            self.out.say(" " + self.out.paint("FAILED", "red"))

    def finished(self, steps: list[Step]) -> None:
        out, db = self.out, self.args.db
        self._say_header()
        self._say_recorded()  # (nothing else ran)
        ran = [step for step in steps if step.action in ("apply", "revert")]  # not skipped, faked or adopted
        if self.atomic and len(ran) > 1:  # (one alone says OK on its own line)
            out.say(f"  Committed {len(ran)} migrations in one transaction... {out.paint('OK', 'green')}")
        if not steps:
            missing = self.reverting and not _is_url(db) and db != ":memory:" and not os.path.exists(db)
            out.say(f"  No migrations to revert (database {db} does not exist)." if missing
                    else f"  No migrations to revert{self._target_ahead()}." if self.reverting
                    else "  No migrations to apply.")

    def _target_ahead(self) -> str:
        """For `revert TARGET` that reverted nothing: whether TARGET is not
        applied yet (Django's `migrate app TARGET` would go forward to it),
        or is the latest applied, which stays (Alembic's and dbmate's users
        may have meant to revert it)."""
        target = getattr(self.args, "target", None)
        if target in (None, "zero"):
            return ""
        rows = status(self.args.db, directory=self.args.dir, timeout=self.args.timeout)
        number = _resolve_target(_migration_name(target, "target", self.args.dir), [row.name for row in rows])
        ahead = [row.name for row in rows if _number(row.name) == number and not row.applied]
        if ahead:
            return f" ({ahead[0]} is not applied yet: apply {target} goes forward to it)"
        applied = [row.name for row in rows if row.applied]
        if applied and _number(applied[-1]) == number:
            return (f" ({applied[-1]} is the latest applied and stays applied: revert TARGET reverts what comes "
                    f"after TARGET; to revert {applied[-1]} itself, run revert without a target)")
        return ""


def _print_plan(steps: list[PlannedStep], edited: list[str], *, quiet: bool) -> None:
    if not steps and not edited and not quiet:  # (the SQL is what a dry run is asked for, -q or not)
        print("Nothing to do.")
    print(next(filter(None, (_foreign_keys_note(step.statements) for step in steps)), ""), end="")
    for name in edited:
        print(f"-- Record the edited {_one_line(name)} (--allow-changed): its new checksum and down section\n")
    for step in steps:
        print(f"-- {'Apply' if step.action == 'apply' else 'Revert'} {_one_line(step.name)}{_recorded_only(step)}")
        for statement in step.statements:
            print(_terminated(statement))
        print()


def _recorded_only(step: PlannedStep) -> str:
    return " (recorded only: nothing to run)" if not step.statements else ""


def _run_status(args, out: _Output) -> int:
    rows, problem = _status(args.db, args.dir, args.timeout)
    applied = sum(row.applied for row in rows)
    if args.json:
        import json
        print(json.dumps({"database": _shown(args.db), "applied": applied, "pending": len(rows) - applied,
                          "migrations": [vars(row) for row in rows]}, indent=2))
        return _status_problem(problem)
    for row in rows:
        notes = [n for n, on in ((f"file missing: {row.renamed_to} has its content" if row.renamed_to
                                  else f"squashed into {row.replaced_by}" if row.replaced_by
                                  else "file missing", row.file_missing),
                                 ("file changed since applied", row.modified)) if on]
        mark = out.paint("X", "green") if row.applied else " "
        when = f"  (applied {row.applied_at} UTC)" if args.verbose and row.applied_at else ""
        out.say(f"[{mark}] {_one_line(row.name)}{when}" + (f"  ({', '.join(notes)})" if notes else ""))
    missing = "" if _is_url(args.db) or args.db == ":memory:" or os.path.exists(args.db) else \
        " (no database file yet)"  # (a typo in --db?)
    out.say(_one_line(f"{_shown(args.db)}: {applied} applied, {len(rows) - applied} pending{missing}"))
    return _status_problem(problem)


def _status_problem(problem: str | None) -> int:
    """Files numbered wrong, said after the list that shows which of them
    this database applied (the fix depends on it)."""
    if problem:
        sys.stdout.flush()
        print(f"error: {_one_line(problem)}", file=sys.stderr)
    return 1 if problem else 0


def _run_check(args, out: _Output) -> int:
    models = None if args.no_models else args.models
    problems = check(args.db, models=models, directory=args.dir, timeout=args.timeout)
    for problem in problems:
        print(_one_line(problem))  # names read from the database, as every error line shows them
    if problems:
        return 1
    if os.path.exists(args.db) or _is_url(args.db):
        pending = sum(not row.applied for row in status(args.db, directory=args.dir, timeout=args.timeout))
        to_apply = f" ({pending} migration{'s' * (pending > 1)} to apply: run apply)" if pending else ""
        out.say(f"OK: {'models, ' * (models is not None)}migrations and database agree{to_apply}")
    elif models is None:
        out.say(_one_line(f"OK: the migrations are sound (no database at {args.db} to compare)"))
    else:  # a mistyped --db in CI should be seen
        out.say(_one_line(f"OK: models and migrations agree (no database at {args.db} to compare)"))
    return 0


def _run_sql(args, out: _Output) -> int:
    migration = find_migration(args.dir, args.name)
    sql = migration.down if args.down else migration.up
    if sql is None:
        raise MigrateError(f"migration {migration.name} has no down section, so it cannot be reverted: end its file "
                           "with a `-- migrate:down` line and the SQL that undoes it")
    statements = split_statements(sql)
    print(_foreign_keys_note(statements), end="")
    for statement in statements:
        print(_terminated(statement))
    return 0


def _foreign_keys_note(statements) -> str:
    """For SQL that rebuilds a table, how to run it by hand: as apply does,
    since with foreign keys on, the rebuild's DROP TABLE deletes the rows
    that reference the table (ON DELETE CASCADE) or fails."""
    if not _rebuilt_tables(statements):
        return ""
    return ("-- To run this by hand, do as apply does: PRAGMA foreign_keys = OFF before BEGIN (SQLite ignores it\n"
            "-- inside a transaction), PRAGMA foreign_key_check before COMMIT. With foreign keys on, the\n"
            "-- rebuild's DROP TABLE deletes the rows that reference the table (ON DELETE CASCADE) or fails.\n"
            "-- Then record what you ran with apply --fake (it runs nothing).\n")


def _run_squash(args, out: _Output) -> int:
    result = squash(directory=args.dir, upto=args.upto, write=not args.dry_run)
    if args.dry_run:
        return _print_dry_run(result)
    kept = os.path.join(args.dir, REPLACED_FOLDER)
    out.say(f"Squashed into {result.path} (it replaces the files it lists, now in {kept}: databases that "
            f"applied them, or some of them, keep working; delete {kept} once every database has applied "
            "the squash)")
    for warning in result.warnings:
        out.warn(warning)
    return 0


def _run_export(args, out: _Output) -> int:
    paths = export_d1(directory=args.dir, out=args.d1)
    out.say(f"Exported {len(paths)} migration{'s' * (len(paths) != 1)} to {args.d1} for Cloudflare D1 "
            f"(apply with: npx wrangler d1 migrations apply DATABASE)")
    for warning in d1_warnings(directory=args.dir, out=args.d1):
        out.warn(warning)
    return 0


def _run_schema(args, out: _Output) -> int:
    for statement in dump_schema(args.db, timeout=args.timeout):
        print(_terminated(statement) + "\n")
    return 0


_HANDLERS = {"make": _run_make, "apply": _run_migrations, "revert": _run_migrations, "status": _run_status,
             "check": _run_check, "sql": _run_sql, "schema": _run_schema, "dump": _run_schema,
             "squash": _run_squash, "export": _run_export}


# Other tools' command names, as their users type them first: {name: (whose, ours, hint)}
_OTHER_TOOLS_COMMANDS = {
    "makemigrations": ("Django's", "make", ""), "showmigrations": ("Django's", "status", ""),
    "migrate": ("Django's", "apply", " (there are no app labels: name a migration, or zero)"),
    "sqlmigrate": ("Django's", "sql", ""), "squashmigrations": ("Django's", "squash", ""),
    "revision": ("Alembic's", "make", ""), "new": ("dbmate's", "make --empty NAME", ""),
    "upgrade": ("Alembic's", "apply", " (no target: all; head is the default, base is zero)"),
    "up": ("dbmate's", "apply", ""),
    "downgrade": ("Alembic's", "revert", " (no target: the latest; base is zero)"),
    "down": ("dbmate's", "revert", ""), "rollback": ("dbmate's and yoyo's", "revert", ""),
    "current": ("Alembic's", "status", ""), "history": ("Alembic's", "status", ""),
    "heads": ("Alembic's", "status", ""), "list": ("yoyo's", "status", ""),
    "stamp": ("Alembic's", "apply --fake TARGET", ""), "mark": ("yoyo's", "apply --fake TARGET", ""),
    "unmark": ("yoyo's", "revert --fake", ""),
    "init": ("Alembic's", "make", " (nothing to set up first: make writes migrations/)"),
}


def _meant_option(parser, unknown: str) -> str:
    """": did you mean --fake?" for the start of an option's name (argparse's
    abbreviations are off: `revert --f` must not pass for --fake)."""
    if not unknown.startswith("--") or len(unknown) < 3:
        return ""
    word = unknown.partition("=")[0]
    options = sorted(option for action in parser._actions for option in action.option_strings
                     if option.startswith(word))
    return f": did you mean {' or '.join(options)}?" if options else ""


def _refuse_other_tools_command(parser, argv: list[str]) -> None:
    """`migrate.py makemigrations`, `upgrade`: name ours; `aply`: the one
    meant (argparse would list the choices)."""
    known = _OTHER_TOOLS_COMMANDS.get(argv[0] if argv else "")
    if known:
        whose, command, hint = known
        parser.error(f"no command {argv[0]}: {whose} {argv[0]} is `{command}` here: python migrate.py "
                     f"{command}{hint}")
    if argv and not argv[0].startswith("-") and argv[0] not in _HANDLERS:
        import difflib
        meant = difflib.get_close_matches(argv[0].lower(), list(_HANDLERS), n=1)
        if meant:
            parser.error(f"no command {argv[0]}: did you mean {meant[0]}? (python migrate.py {meant[0]})")
    if argv[:1] == ["make"] and any(arg == "--name" or arg.startswith("--name=") for arg in argv):
        parser.error("make takes the name without --name (Django's makemigrations --name): python migrate.py "
                     "make NAME")


def _refuse_option_before_command(parser, argv: list[str]) -> None:
    """`migrate.py --db x apply`: say where options go (argparse would call --db unknown)."""
    first = argv[0].split("=")[0] if argv else ""
    own = first in ("-h", "--") or (len(first) > 2 and ("--help".startswith(first) or "--version".startswith(first)))
    if first.startswith("-") and not own and any(arg in _HANDLERS for arg in argv[1:]):
        import shlex
        command = next(arg for arg in argv[1:] if arg in _HANDLERS)
        others = list(argv)
        others.remove(command)
        parser.error(f"{argv[0]} goes after the command, as every option does: "
                     f"python migrate.py {shlex.join([command, *others])}")


def _usable_streams():
    """Output that cannot fail on what a run prints: a closed stdout or stderr (`>&-`, `2>&-`;
    Python sets it to None; or a caller's file object closed) goes nowhere and the work is done;
    a console or pipe in another encoding than UTF-8 (Windows' cp1252 when redirected) shows a
    name it cannot encode escaped. Returns what puts them back as they were, for a caller of
    main() in-process."""
    nowhere = {name: (open(os.devnull, "w"), getattr(sys, name)) for name in ("stdout", "stderr")
               if getattr(sys, name) is None or getattr(getattr(sys, name), "closed", False) is True}
    for name, (stream, _) in nowhere.items():
        setattr(sys, name, stream)
    reconfigured = []
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure") and stream.errors != "backslashreplace":
            reconfigured.append((stream, stream.errors))
            stream.reconfigure(errors="backslashreplace")

    def restore():
        for stream, errors in reconfigured:
            with suppress(ValueError, OSError):  # (closed by now, or its buffer gone)
                stream.reconfigure(errors=errors)
        for name, (stream, original) in nowhere.items():
            if getattr(sys, name) is stream:
                setattr(sys, name, original)
            stream.close()
    return restore


def _to_stderr(text: str) -> None:
    """main()'s last word: an error that cannot be shown (stderr full or gone)
    still ends in its exit code, never in an exception for the caller."""
    with suppress(OSError, ValueError):
        try:
            print(text, file=sys.stderr)
        except UnicodeEncodeError:  # a caller's stream that cannot show a name: escaped, as on the command line
            print(text.encode("ascii", "backslashreplace").decode("ascii"), file=sys.stderr)
        sys.stderr.flush()


def _origin_note(message: str, borrowed: dict) -> str:
    """Where a setting the error names was set, when not on the command line:
    its fix may be to change pyproject.toml or the environment."""
    for value, origin in borrowed.items():
        if value == "":
            named = "''" in message
        elif re.fullmatch(r"\w+", value):  # a bare word (dir = "migrations") may be any word of the message
            named = re.search(rf"\b(?:directory|module|file|folder|database) {value}(?!\w)", message)
        else:  # as the message shows it: as given, or quoted (a NUL: 'app\x00.db')
            named = re.search(rf"(?<![\w./\\-]){re.escape(value)}(?![\w/\\-])", message) or repr(value) in message
        if named:
            return f" (set by {_one_line(origin)})"
    return ""


def _flush(stream) -> None:
    with suppress(OSError, ValueError):  # (the output's own error: said on stderr, if it can be)
        stream.flush()


# What is true of the database when a run stops between statements for a reason
# of its own (Ctrl-C, the output gone): the last migration may just have committed.
_RUN_CUT_SHORT = ("; a migration still running was rolled back (with --atomic: every one in the run), one that "
                  "had committed stays applied, or reverted: run status to see which")


def _home_expanded(path: str) -> str:
    """A path with a leading ~ as the home folder: a shell expands it on the
    command line, but not in a setting, nor in `--db=~/app.db`, and a folder
    named ~ made in the current one would read as the home folder."""
    return os.path.expanduser(path) if path.startswith("~") else path


def _settings(*, pyproject: bool = True) -> tuple[dict, dict, str | None]:
    """The settings in force ({"db": ..., "models": ..., "dir": ...}): the
    defaults, then pyproject.toml's (unless not `pyproject`), then MIGRATE_*
    variables; where each one that is not a default came from, for error
    messages; and the folder of the pyproject.toml read, if any."""
    settings = dict(_DEFAULTS)
    from_pyproject, origins, folder = _pyproject_settings() if pyproject else ({}, {}, None)
    settings.update(from_pyproject)
    from_environment = {key: _home_expanded(os.environ[f"MIGRATE_{key.upper()}"]) for key in _DEFAULTS
                        if os.environ.get(f"MIGRATE_{key.upper()}", "").strip()}  # (empty: unset, as in most tools)
    settings.update(from_environment)
    origins.update({key: f"MIGRATE_{key.upper()}" for key in from_environment})
    return settings, origins, folder


@contextmanager
def _importable_from(folder: str | None):
    """Modules found in `folder` too (after the current one), while the block runs."""
    if folder is None or folder in sys.path:
        yield
        return
    sys.path.append(folder)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(folder)


def _parsed_arguments(argv: list[str]) -> tuple[argparse.Namespace, dict]:
    """The command line read, each setting it leaves out taken from
    pyproject.toml, the environment or the default; and the values so
    borrowed, with where each came from (an error about one says so)."""
    try:
        settings, origins, folder = _settings()
        unreadable, shown = None, settings
    except MigrateError as exc:  # said only if a setting it would give is needed (not for --help)
        settings, origins, folder = _settings(pyproject=False)
        unreadable = exc
        shown = {key: value if key in origins else "unknown: a pyproject.toml cannot be read"
                 for key, value in settings.items()}
    parser = _parser(shown)
    if not isinstance(argv, (list, tuple)) or not all(isinstance(arg, str) for arg in argv):
        raise MigrateError(f"main() takes a list of argument strings, such as ['status'], not {argv!r}")
    _refuse_option_before_command(parser, argv)
    _refuse_other_tools_command(parser, argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # (argparse would show the usage of migrate.py, not of the command)
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}"
                                  f"{_meant_option(args.command_parser, unknown[0])}")
    if getattr(args, "no_models", False) and args.models is not None:
        args.command_parser.error("argument --no-models: not allowed with argument --models")
    for option in ("default", "rename"):  # SQL and names (paths may be any bytes)
        for text in getattr(args, option, None) or ():
            _check_utf8(text, f"--{option}", "type it again")
    needed = [key for key in _DEFAULTS if hasattr(args, key) and getattr(args, key) is None and key not in origins
              and not (key == "models" and getattr(args, "no_models", False))]
    if unreadable and needed:
        raise MigrateError(f"{unreadable} (migrate.py reads [tool.migrate] there for the settings not given: "
                           f"{', '.join('--' + key for key in needed)} here, which the options or "
                           f"{', '.join('MIGRATE_' + key.upper() for key in needed)} would give)")
    borrowed = {}
    args.dir_given = getattr(args, "dir", None) is not None  # (on the command line)
    for key in _DEFAULTS:  # (None: not on the command line; the help shows the setting in force)
        if getattr(args, key, None) is None:  # (and a command without the option gets it, unused)
            setattr(args, key, settings[key])
            if key in origins:
                borrowed[settings[key]] = origins[key]
        else:
            setattr(args, key, _home_expanded(getattr(args, key)))
    for key in ("d1", "backup"):  # the other paths a command takes
        if isinstance(getattr(args, key, None), str):
            setattr(args, key, _home_expanded(getattr(args, key)))
    # a module name pyproject.toml sets is found from its folder too, as its paths are
    from_pyproject = borrowed.get(args.models, "").startswith("models = ") and not _names_a_file(args.models)
    args.import_folder = folder if from_pyproject else None
    args.verbose = getattr(args, "verbose", False)
    return args, borrowed


def main(argv: list[str] | None = None) -> int:
    """The command line: parse, call the library, print. Returns the exit code."""
    changing = False  # apply or revert that runs SQL: a closed output stops it mid-way
    database = None  # the command's --db, once parsed
    borrowed = {}  # the values of settings from pyproject.toml or the environment: where each came from
    restore_streams = _usable_streams()
    try:
        args, borrowed = _parsed_arguments(sys.argv[1:] if argv is None else argv)
        changing = args.command in ("apply", "revert") and not args.dry_run
        database = args.db
        with _termination_as_ctrl_c():  # (SIGTERM stops make before it writes, as Ctrl-C does)
            with _importable_from(args.import_folder):
                return _HANDLERS[args.command](args, _Output(quiet=args.quiet))
    except SystemExit as exc:  # argparse's: a usage error (2), --help or --version (0): returned, as documented
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except MigrateError as exc:
        _flush(sys.stdout)
        _to_stderr(f"error: {_one_line(str(exc))}{_origin_note(str(exc), borrowed)}")
        return 1
    except sqlite3.Error as exc:  # not foreseen above: still one line, never a traceback
        _flush(sys.stdout)
        hint = (f" ({_shown(database)} is damaged: restore it from a backup; PRAGMA integrity_check says where)"
                if _damaged(exc) and database else _lock_hint(exc))
        _to_stderr(f"error: SQLite: {_one_line(str(exc))}{hint}")  # e.g. while reading the plan
        return 1
    except (UnicodeEncodeError, sqlite3.Warning) as exc:  # text that is not UTF-8 met elsewhere (3.10: a Warning)
        _flush(sys.stdout)
        _to_stderr(f"error: {exc}: some text is not valid UTF-8 (a byte that was not, kept by Python); fix it "
                   "where you wrote it")
        return 1
    except MemoryError:  # a migration file or models module too big for this machine
        _to_stderr("error: out of memory" + (_RUN_CUT_SHORT if changing else ""))
        return 1
    except _InterruptedWaiting:
        _to_stderr("\ninterrupted while waiting for another process's write lock; nothing was changed")
        return 130
    except _InterruptedWhenDone as exc:
        _to_stderr(f"\ninterrupted; {exc}")
        return 130
    except KeyboardInterrupt:
        _to_stderr("\ninterrupted" + (_RUN_CUT_SHORT if changing else ""))
        return 130
    except BrokenPipeError:  # `schema | head`: the reader left (Python's signal docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if changing:
            _to_stderr("error: the output was closed while migrating" + _RUN_CUT_SHORT)
        return 1
    except OSError as exc:  # the output cannot be written (a full disk): one line, as any error
        where = f" ({exc.filename})" if exc.filename else " while writing the output"
        _to_stderr(f"error: {exc.strerror or exc}{where}" + (_RUN_CUT_SHORT if changing else ""))
        return 1
    finally:
        restore_streams()


if __name__ == "__main__":
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:  # main() has its own
        signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
