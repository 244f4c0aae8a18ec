"""Shared fixtures: a throw-away project folder with models.py, migrations/
and a real SQLite file, driven through the library or a real subprocess."""
import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATE = os.path.join(ROOT, "migrate.py")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import migrate  # noqa: E402

# make's replay cache goes to a throw-away folder, never the user's ~/.cache
# (the CLI subprocesses inherit it).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="migrate-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

# `python migrate.py` compiles the whole file on every run (~0.1 s: most of what a test of the
# command line costs). Project.cli runs the same main() as `python -m migrate`, from byte code
# Python caches once in a folder of the tests' own; test_cli's workflow test, and every test that
# starts MIGRATE itself, run the script. -S: without the site module, which migrate.py (standard
# library only) does not need, and whose .pth files may import packages at every start.
_BYTE_CODE = tempfile.mkdtemp(prefix="migrate-test-pycache-")
atexit.register(shutil.rmtree, _BYTE_CODE, ignore_errors=True)
CLI = [sys.executable, "-S", "-m", "migrate"]


def cli_environment(extra: dict = None) -> dict:
    """The environment for CLI: migrate.py importable, its byte code cached, no MIGRATE_* settings."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("MIGRATE_") and k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (ROOT, environment.get("PYTHONPATH"))))
    environment["PYTHONPYCACHEPREFIX"] = _BYTE_CODE
    environment.update(extra or {})
    return environment


HEADER = "from __future__ import annotations\n" \
         "from dataclasses import dataclass, field\nfrom typing import Optional\n"


class Project:
    """A temporary project: write models, make, apply, look at the database."""

    def __init__(self, testcase):
        self.root = tempfile.mkdtemp(prefix="migrate-test-")
        testcase.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.models_path = os.path.join(self.root, "models.py")
        self.directory = os.path.join(self.root, "migrations")
        self.db = os.path.join(self.root, "db.sqlite3")

    def models(self, source: str, *, header: bool = True) -> None:
        with open(self.models_path, "w", encoding="utf-8") as handle:
            handle.write((HEADER if header else "") + textwrap.dedent(source))

    def make(self, **options) -> "migrate.MakeResult":
        return migrate.make(models=self.models_path, directory=self.directory, **options)

    def apply(self, **options):
        return migrate.apply(self.db, directory=self.directory, **options)

    def revert(self, **options):
        return migrate.revert(self.db, directory=self.directory, **options)

    def status(self):
        return migrate.status(self.db, directory=self.directory)

    def evolve(self, source: str, **make_options) -> "migrate.MakeResult":
        """Change the models, make a migration, apply it."""
        self.models(source)
        result = self.make(**make_options)
        self.apply()
        return result

    def write_migration(self, name: str, text: str) -> str:
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, name + ".sql")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))
        return path

    def files(self) -> list:
        return sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []

    def read(self, name: str) -> str:
        with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
            return handle.read()

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db, isolation_level=None)
        return conn

    def query(self, sql: str, params=()) -> list:
        conn = self.connect()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def execute(self, *statements: str) -> None:
        conn = self.connect()
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()

    def schema_sql(self) -> list:
        """sqlite_master without our bookkeeping, whitespace normalised."""
        return normalised_schema(self.db)

    def cli_answering(self, answer: str, *args) -> subprocess.CompletedProcess:
        """Run the CLI with a terminal as stdin and stderr (where make asks) that has `answer` typed in;
        what the terminal showed (the answer echoed too) is the result's stderr."""
        controller, terminal = os.openpty()
        try:
            os.write(controller, answer.encode() + b"\n")
            result = subprocess.run([*CLI, *args], cwd=self.root, stdin=terminal, stderr=terminal,
                                    stdout=subprocess.PIPE, text=True, env=cli_environment(), timeout=60)
            os.close(terminal)
            terminal, shown = None, b""
            while True:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # (EIO: nothing more, the terminal's other side is closed)
                    break
                if not chunk:
                    break
                shown += chunk
            result.stderr = shown.decode(errors="replace").replace("\r\n", "\n")
            return result
        finally:
            os.close(controller)
            if terminal is not None:
                os.close(terminal)

    def cli(self, *args, stdin: str = "", env: dict = None, script: bool = False) -> subprocess.CompletedProcess:
        """Run the command line (as `python migrate.py` with script=True)."""
        command = [sys.executable, MIGRATE] if script else CLI
        return subprocess.run([*command, *args], cwd=self.root, input=stdin, capture_output=True, text=True,
                              env=cli_environment(env), timeout=120)


def normalised_schema(path: str) -> list:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                            "AND name NOT LIKE '\\_migrations%' ESCAPE '\\' "
                            "AND name != 'sqlite_sequence' ORDER BY type, name").fetchall()
    finally:
        conn.close()
    return [(kind, name, " ".join(sql.replace("(", " ( ").replace(")", " ) ").split()))
            for kind, name, sql in rows]


def table_dump(path: str) -> dict:
    """Every user table's rows with rowids, for 'nothing changed' checks."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        dump = {}
        for name in names:
            without_rowid = "WITHOUT ROWID" in conn.execute(
                "SELECT upper(sql) FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
            select = "*" if without_rowid else "rowid, *"
            dump[name] = sorted(conn.execute(f"SELECT {select} FROM {migrate.quote(name)}").fetchall(), key=repr)
        dump["sqlite_sequence"] = sorted(conn.execute(
            "SELECT * FROM sqlite_sequence").fetchall()) if "sqlite_sequence" in names else []
        return dump
    finally:
        conn.close()
