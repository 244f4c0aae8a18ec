"""Seeded random model-evolution tests: models change step by step, rows
are inserted along the way, and after every step make/apply must agree with
the models and keep every surviving value (and, reverted at once, give every
row back); squashing a prefix of such a history must change nothing any
database sees.

MIGRATE_PROPERTY_STEPS raises the number of steps; MIGRATE_TEST_SEED picks
the seed (printed on failure)."""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import unittest

from tests.support import Project, migrate, normalised_schema, table_dump

SEED = int(os.environ.get("MIGRATE_TEST_SEED", "20261127"))
STEPS = int(os.environ.get("MIGRATE_PROPERTY_STEPS", "24"))
# The squash test makes a history per seed and plays it on several databases: fewer steps, a few seeds.
SQUASH_STEPS = max(2, int(os.environ.get("MIGRATE_PROPERTY_STEPS", "6")))
SQUASH_SEEDS = [SEED] if "MIGRATE_TEST_SEED" in os.environ else [SEED, SEED + 1, SEED + 2]
KINDS = {"int": "int", "str": "str", "float": "float", "bytes": "bytes", "bool": "bool"}
ZERO = {"int": "0", "str": "''", "float": "0.0", "bytes": "X''", "bool": "0"}


class Evolution:
    """The models as data, and the random edits made to them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.tables = {}  # name -> {"keyed": bool, "columns": {name: spec}}
        self.counter = 0
        self.renames, self.defaults, self.log = [], {}, []
        self.born = set()  # tables and columns added in the current step: never renamed in the database
        self.required = set()  # table.column NOT NULL at the step's start (now named): no --default needed
        self.pinned = set()  # tables a hand-written view or trigger reads: kept, and by their name
        for _ in range(3):
            self.add_table()

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def new_column(self, table: str) -> dict:
        kind = self.rng.choice(list(KINDS))
        spec = {"kind": kind, "nullable": self.rng.random() < 0.6, "default": None, "index": False,
                "unique": False, "references": None}
        targets = [t for t, d in self.tables.items() if d["keyed"] and t != table]
        if targets and self.rng.random() < 0.2:
            spec.update(kind="int", nullable=True, references=self.rng.choice(targets))
        elif not spec["nullable"] and self.rng.random() < 0.5:
            spec["default"] = {"int": "7", "str": "'dflt'", "float": "1.5", "bytes": "b'x'",
                               "bool": "True"}[kind]
        elif spec["nullable"] and self.rng.random() < 0.2:
            spec["unique"] = True
        return spec

    def add_table(self):
        name = self.fresh("t")
        self.tables[name] = {"keyed": self.rng.random() < 0.75, "columns": {}}
        self.born.add(name)
        for _ in range(self.rng.randint(1, 3)):
            self.tables[name]["columns"][self.fresh("c")] = self.new_column(name)
        self.log.append(f"add table {name}")

    def rename(self, old: str, new: str) -> None:
        """Record a rename as the user would answer it: chains collapse."""
        if old in self.born or old.partition(".")[0] in self.born:
            self.born.add(new)  # made in this step: the database never had it
            return
        for index, answer in enumerate(self.renames):
            first, _, last = answer.partition("=")
            if last == old.rpartition(".")[2] and (("." in first) == ("." in old)):
                self.renames[index] = f"{first}={new.rpartition('.')[2]}"
                return
        self.renames.append(f"{old}={new.rpartition('.')[2]}")

    def forget(self, table: str, column: str | None = None) -> None:
        """A table or column dropped in the step that renamed it: its rename
        answer matches nothing now (make refuses such an answer)."""
        origins = {table} | {a.partition("=")[0] for a in self.renames
                             if "." not in a and a.partition("=")[2] == table}

        def stale(answer):
            first, _, last = answer.partition("=")
            if column is None:
                return ("." not in first and last == table) or first.partition(".")[0] in origins
            return "." in first and first.partition(".")[0] in origins and last == column
        self.renames = [answer for answer in self.renames if not stale(answer)]

    def referenced(self, table: str) -> bool:
        return table in self.pinned or any(c["references"] == table for t in self.tables.values()
                                           for c in t["columns"].values())

    def edit(self):
        table = self.rng.choice(sorted(self.tables))
        columns = self.tables[table]["columns"]
        choice = self.rng.choice(["add table", "drop table", "rename table", "add column", "add column",
                                  "drop column", "rename column", "retype", "nullability", "index",
                                  "default"])
        if choice == "add table" or (choice == "drop table" and len(self.tables) < 3):
            return self.add_table()
        if choice == "drop table" and not self.referenced(table):
            self.forget(table)
            del self.tables[table]
            self.defaults = {k: v for k, v in self.defaults.items() if not k.startswith(f"{table}.")}
        elif choice == "rename table" and not self.referenced(table):
            new = self.fresh("t")
            self.tables[new] = self.tables.pop(table)
            self.rename(table, new)
            self.defaults = {k.replace(f"{table}.", f"{new}.", 1) if k.startswith(f"{table}.") else k: v
                             for k, v in self.defaults.items()}
            self.required = {k.replace(f"{table}.", f"{new}.", 1) if k.startswith(f"{table}.") else k
                             for k in self.required}
            table = new
        elif choice == "add column" or not columns or (choice == "drop column" and len(columns) == 1):
            name = self.fresh("c")
            spec = self.new_column(table)
            columns[name] = spec
            self.born.add(f"{table}.{name}")
            if not spec["nullable"] and spec["default"] is None:
                self.defaults[f"{table}.{name}"] = ZERO[spec["kind"]]
            choice = "add column"
        elif choice == "drop column":
            dropped = self.rng.choice(sorted(columns))
            self.forget(table, dropped)
            del columns[dropped]
            self.defaults.pop(f"{table}.{dropped}", None)  # make refuses a --default for no column
        elif choice == "rename column":
            old = self.rng.choice(sorted(columns))
            new = self.fresh("c")
            columns[new] = columns.pop(old)
            self.rename(f"{table}.{old}", f"{table}.{new}")
            if f"{table}.{old}" in self.defaults:
                self.defaults[f"{table}.{new}"] = self.defaults.pop(f"{table}.{old}")
            if f"{table}.{old}" in self.required:
                self.required = self.required - {f"{table}.{old}"} | {f"{table}.{new}"}
        else:
            column = self.rng.choice(sorted(c for c, s in columns.items() if not s["references"]) or [None])
            if column is None:
                return self.edit()
            spec = columns[column]
            if choice == "retype":
                spec["kind"] = self.rng.choice(list(KINDS))
                spec["default"] = None
            elif choice == "nullability" and not spec["unique"]:
                # (a unique column filled with one value could not get its index back on revert)
                spec["nullable"] = not spec["nullable"]
            elif choice == "index":
                spec["index"] = not spec["index"]
            elif not spec["unique"]:  # (a default would collide in the index on revert)
                spec["default"] = None if spec["default"] else {"int": "3", "str": "'d'", "float": "2.5",
                                                                "bytes": "b'y'", "bool": "False"}[spec["kind"]]
            if not spec["nullable"] and spec["default"] is None:
                self.defaults[f"{table}.{column}"] = ZERO[spec["kind"]]
            else:  # make refuses a --default it would not use: the column's own default fills the rows, or it
                self.defaults.pop(f"{table}.{column}", None)  # is nullable again (toggled twice in one step)
        self.log.append(f"{choice} on {table}")

    def next_step(self):
        """One to three edits, as one migration will hold them."""
        self.renames, self.defaults, self.born = [], {}, set()
        self.required = {f"{t}.{c}" for t, data in self.tables.items()
                         for c, spec in data["columns"].items() if not spec["nullable"]}
        for _ in range(self.rng.randint(1, 3)):
            self.edit()

    def needed_defaults(self) -> dict:
        """The one-off values make uses: for columns that become NOT NULL in
        a table that existed (make refuses one it would not use)."""
        return {key: value for key, value in self.defaults.items()
                if key not in self.required and key.partition(".")[0] not in self.born}

    def source(self) -> str:
        lines = []
        for table, data in self.tables.items():
            lines += ["@dataclass", f"class {table.upper()}:", f"    __tablename__ = '{table}'"]
            for name, spec in data["columns"].items():
                annotation = f"Optional[{spec['kind']}]" if spec["nullable"] else spec["kind"]
                metadata = {k: True for k in ("index", "unique") if spec[k]}
                if spec["references"]:
                    metadata["references"] = spec["references"]
                default = spec["default"] or ("None" if spec["nullable"] else None)
                if default is None:
                    default = {"int": "0", "str": "''", "float": "0.0", "bytes": "b''", "bool": "False"}[spec["kind"]]
                    metadata["default_sql"] = None
                meta = {k: v for k, v in metadata.items() if v is not None}
                value = f"field(default={default}, metadata={meta!r})" if meta else default
                if "default_sql" in metadata:  # no SQL default: a Python default only
                    value = f"field(default_factory=lambda: {default}, metadata={meta!r})"
                lines.append(f"    {name}: {annotation} = {value}")
            if data["keyed"]:
                lines.append("    id: Optional[int] = None")
            lines.append("")
        return "\n".join(lines)

    def row(self, table: str, ids: dict, rng: random.Random) -> dict:
        values = {}
        for name, spec in self.tables[table]["columns"].items():
            if spec["references"]:
                choices = ids.get(spec["references"]) or [None]
                values[name] = rng.choice(choices + [None])
            elif spec["nullable"] and rng.random() < 0.3:
                values[name] = None
            else:
                values[name] = {"int": lambda: rng.randint(-5, 99), "str": lambda: rng.choice(
                    ["a", "b;c", "d'e", "", "42", "ünï"]), "float": lambda: rng.choice([0.5, -2.0, 3.25]),
                    "bytes": lambda: bytes([rng.randint(0, 255)]), "bool": lambda: rng.random() < 0.5,
                }[spec["kind"]]()
        return values


def insert_rows(db: str, evolution, rng):
    """A few random rows in every table of the models as they are now."""
    conn = sqlite3.connect(db, isolation_level=None)
    ids = {t: [r[0] for r in conn.execute(f'SELECT id FROM "{t}"')]
           for t, d in evolution.tables.items() if d["keyed"]}
    for table in evolution.tables:
        for _ in range(rng.randint(0, 3)):
            values = evolution.row(table, ids, rng)
            uniques = [c for c, s in evolution.tables[table]["columns"].items() if s["unique"]]
            for column in uniques:
                values[column] = None
            if not values:
                conn.execute(f'INSERT INTO "{table}" DEFAULT VALUES')
                continue
            columns = ", ".join(migrate.quote(c) for c in values)
            conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" * len(values))})',
                         list(values.values()))
    conn.close()


class RandomEvolution(unittest.TestCase):
    revert_each_step = False  # (RevertedStepByStep)

    def test_random_model_evolution_keeps_values_and_round_trips(self):
        rng = random.Random(SEED)
        evolution = Evolution(rng)
        project = Project(self)
        try:
            self.evolve(project, evolution, rng)
        except Exception as exc:
            raise AssertionError(f"seed {SEED} (MIGRATE_TEST_SEED={SEED} to replay), steps: "
                                 f"{'; '.join(evolution.log[-6:])}: {exc}") from exc

    def evolve(self, project, evolution, rng):
        for step in range(STEPS):
            if step:
                evolution.next_step()
            before = self.snapshot(project, evolution)
            files = len(project.files())
            project.models(evolution.source())
            questioner = migrate.Questioner(renames=evolution.renames, defaults=evolution.needed_defaults())
            result = project.make(questioner=questioner)
            project.apply()
            self.assertEqual(project.make(write=False).operations, (), f"step {step}: make is not clean")
            self.assertEqual(project.query("PRAGMA foreign_key_check"), [])
            self.check_values(project, evolution, before, result)
            if self.revert_each_step and before and len(project.files()) > files:
                self.check_revert(project, evolution, before, result, f"{files:04d}")
            insert_rows(project.db, evolution, rng)
        final = normalised_schema(project.db)
        try:
            project.apply(target="zero")
        except migrate.MigrateError as exc:  # a column made nullable holds NULLs: its revert refuses them
            self.assertIn("NOT NULL constraint failed", str(exc))
            conn = project.connect()
            for table in migrate.read_schema(conn).tables:
                conn.execute(f"DELETE FROM {migrate.quote(table.name)}")
            conn.commit()
            conn.close()
            project.apply(target="zero")
        self.assertEqual(normalised_schema(project.db), [])
        project.apply()
        self.assertEqual(normalised_schema(project.db), final)

    def snapshot(self, project, evolution) -> dict:
        if not os.path.exists(project.db):
            return {}
        conn = project.connect()
        snapshot = {}
        for table in migrate.read_schema(conn).tables:
            names = [c.name for c in table.columns]
            rows = conn.execute(f'SELECT rowid, {", ".join(migrate.quote(n) for n in names)} '
                                f'FROM {migrate.quote(table.name)}').fetchall()
            snapshot[table.name] = {r[0]: dict(zip(names, r[1:])) for r in rows}
            snapshot[table.name, "types"] = {c.name: c.type for c in table.columns}
        conn.close()
        return snapshot

    def check_values(self, project, evolution, before, result):
        renamed = dict(r.split("=") for r in evolution.renames)
        after = self.snapshot(project, evolution)
        for table, rows in before.items():
            if isinstance(table, tuple):
                continue
            new_table = renamed.get(table, table)
            if new_table not in after:
                continue
            self.assertEqual(sorted(after[new_table]), sorted(rows), f"{table}: rowids changed\n{result.text}")
            for rowid, values in rows.items():
                for column, value in values.items():
                    new_column = renamed.get(f"{new_table}.{column}", renamed.get(f"{table}.{column}", column))
                    if new_column not in after[new_table][rowid]:
                        self.assertNotIn(new_column, evolution.tables[new_table]["columns"],
                                         f"{new_table}.{new_column} was lost\n{result.text}")
                        continue
                    new_value = after[new_table][rowid][new_column]
                    retyped = before[table, "types"][column] != after[new_table, "types"][new_column]
                    if value is None or retyped:  # NULL may be filled; affinity may change the form
                        self.assertFalse(value is not None and new_value is None,
                                         f"{table}.{column} rowid {rowid}: {value!r} lost\n{result.text}")
                    else:
                        self.assertEqual(new_value, value, f"{table}.{column} rowid {rowid}\n{result.text}")


    def check_revert(self, project, evolution, before, result, target: str):
        """Revert the step's migration at once: every row comes back with its rowid and values (but for
        tables and columns the step dropped, which come back empty, and NULLs a one-off value filled, which
        the revert keeps; a retyped value may change its form, never to NULL); applying again gives the same."""
        after = self.snapshot(project, evolution)
        project.apply(target=target)
        back = self.snapshot(project, evolution)
        types = lambda snapshot: {key: value for key, value in snapshot.items() if isinstance(key, tuple)}
        self.assertEqual(types(back), types(before), f"revert: columns differ\n{result.text}")
        renamed = dict(r.split("=") for r in evolution.renames)
        for table, rows in before.items():
            new_table = renamed.get(table, table)
            if isinstance(table, tuple) or new_table not in after:
                continue
            self.assertEqual(sorted(back[table]), sorted(rows), f"{table}: rowids after revert\n{result.text}")
            for rowid, values in rows.items():
                for column, value in values.items():
                    new_column = renamed.get(f"{new_table}.{column}", renamed.get(f"{table}.{column}", column))
                    if value is None or new_column not in after[new_table][rowid]:
                        continue
                    got = back[table][rowid][column]
                    if before[table, "types"][column] != after[new_table, "types"][new_column]:
                        self.assertIsNotNone(got, f"{table}.{column} rowid {rowid}: {value!r} lost on revert\n"
                                             f"{result.text}")
                    else:
                        self.assertEqual(got, value, f"{table}.{column} rowid {rowid} on revert\n{result.text}")
        project.apply()
        self.assertEqual(self.snapshot(project, evolution), after, f"applied again, it differs\n{result.text}")


class RevertedStepByStep(RandomEvolution):
    """The same evolution, each step's migration reverted at once and applied again (helper-144's idea)."""
    revert_each_step = True


def user_rows(db: str) -> dict:
    """table_dump without the bookkeeping, which records different files by design."""
    return {table: rows for table, rows in table_dump(db).items() if not table.startswith("_migrations")}


class RandomSquash(unittest.TestCase):
    """A random history (model migrations, a hand-written view or trigger) squashed up to a random
    migration: a database new, stopped partway through what the squash replaces, at its end or
    after it, with rows, ends as its twin does through the original files at every step."""

    def test_squashing_a_random_prefix_changes_nothing_a_database_sees(self):
        for seed in SQUASH_SEEDS:
            with self.subTest(seed=seed):
                rng = random.Random(seed)
                evolution = Evolution(rng)
                project = Project(self)
                story = []
                try:
                    self.squash_and_replay(project, evolution, rng, story)
                except Exception as exc:
                    raise AssertionError(
                        f"seed {seed} (MIGRATE_TEST_SEED={seed} MIGRATE_PROPERTY_STEPS={SQUASH_STEPS} to replay): "
                        f"{'; '.join(story)}: {exc}") from exc

    def squash_and_replay(self, project, evolution, rng, story):
        stops = [None]  # the database after each migration, with rows (none before the first)
        for step in range(SQUASH_STEPS):
            if step:
                evolution.next_step()
            project.models(evolution.source())
            project.make(questioner=migrate.Questioner(renames=evolution.renames,
                                                       defaults=evolution.needed_defaults()))
            if step and rng.random() < 0.3:
                self.write_view_or_trigger(project, evolution, rng)
            while len(stops) <= len(project.files()):  # (a step whose edits cancel out makes no file)
                project.apply(target=len(stops))
                insert_rows(project.db, evolution, rng)
                stops.append(os.path.join(project.root, f"stop{len(stops)}.sqlite3"))
                shutil.copy(project.db, stops[-1])
        last = len(stops) - 1
        upto = rng.randint(2, last)
        story.append(f"{', '.join(project.files())} squashed up to {upto:04d}")
        squashed = os.path.join(project.root, "squashed")
        shutil.copytree(project.directory, squashed)
        migrate.squash(directory=squashed, upto=f"{upto:04d}")
        # New; partway through the replaced migrations (apply gets the rest from replaced/); at the
        # squash (it adopts it); at the end.
        for stop in sorted({0, rng.randint(1, upto - 1), upto, last}):
            story.append(f"database stopped at {stop:04d}")
            self.replay_twins(project, squashed, stops[stop], evolution, rng)
            story.pop()

    def write_view_or_trigger(self, project, evolution, rng):
        """make never writes these: the squash carries them from the hand-written file. They read
        no column, and their table is pinned, so later model edits stay possible."""
        table = rng.choice(sorted(evolution.tables))
        evolution.pinned.add(table)
        number = len(project.files()) + 1
        if rng.random() < 0.5:
            up, down = f'CREATE VIEW v{number} AS SELECT count(*) AS n FROM "{table}";', f"DROP VIEW v{number};"
        else:
            up = (f'CREATE TRIGGER g{number} AFTER INSERT ON "{table}" WHEN NEW.rowid < 0 '
                  "BEGIN SELECT RAISE(ABORT, 'no negative rowids'); END;")
            down = f"DROP TRIGGER g{number};"
        project.write_migration(f"{number:04d}_hand", f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n")

    def replay_twins(self, project, squashed, stop, evolution, rng):
        """The same commands on two copies of one database: the original files, the squashed ones."""
        twins = [(os.path.join(project.root, f"{side}.sqlite3"), folder)
                 for side, folder in (("originals", project.directory), ("squashed", squashed))]
        for db, _ in twins:
            if os.path.exists(db):
                os.remove(db)
            if stop:
                shutil.copy(stop, db)

        def run(what, may_refuse=False, **options):
            outcomes = []
            for db, folder in twins:
                try:
                    migrate.apply(db, directory=folder, **options)
                    outcomes.append("OK")
                except migrate.MigrateError as exc:
                    outcomes.append(f"refused: {exc}")
            refused = [outcome != "OK" for outcome in outcomes]
            self.assertEqual(refused, [may_refuse and refused[0]] * 2,
                             f"{what}: originals {outcomes[0]}, squashed {outcomes[1]}")
            (originals, _), (copy, _) = twins
            self.assertEqual(normalised_schema(copy), normalised_schema(originals), f"{what}: schema")
            self.assertEqual(user_rows(copy), user_rows(originals), f"{what}: rows")

        run("apply")
        rows = rng.random()  # the same new rows in both
        for db, _ in twins:
            insert_rows(db, evolution, random.Random(rows))
        # Past the squash (its down section is theirs), in one transaction: a revert refused (a NULL
        # that a NOT NULL column gets back) leaves both as they were, as the squash is one migration.
        run("rows; apply zero", may_refuse=True, target="zero", atomic=True)
        run("rows; apply zero; apply")


if __name__ == "__main__":
    unittest.main()
