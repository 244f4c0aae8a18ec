"""Export for Cloudflare D1: wrangler migration files, up SQL only."""
import json
import os
import shutil
import sqlite3
import subprocess
import unittest
from unittest import mock

from tests.support import Project, migrate

MODELS = """
@dataclass
class Parent:
    name: str
    id: Optional[int] = None

@dataclass
class Child:
    parent: Parent = field(metadata={"on_delete": "CASCADE"})
    label: str = ""
    id: Optional[int] = None
"""


class D1Export(unittest.TestCase):
    def test_files_hold_the_up_sql_only_and_build_the_schema(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.models(MODELS.replace('label: str = ""', 'label: str = ""\n    note: Optional[str] = None'))
        project.make()
        out = os.path.join(project.root, "d1")
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("Exported 2 migrations to d1"), result.stdout)
        self.assertEqual(sorted(os.listdir(out)), ["0001_initial.sql", "0002_add_child_note.sql"])
        os.remove(os.path.join(project.root, "migrations", "0002_add_child_note.sql"))
        self.assertTrue(project.cli("export", "--d1", "d1").stdout.startswith("Exported 1 migration to d1"))
        project.make()  # (as it was, for what follows)
        d1 = sqlite3.connect(":memory:")
        self.addCleanup(d1.close)
        d1.execute("PRAGMA foreign_keys = ON")  # as D1 always has it
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name)) as handle:
                text = handle.read()
            self.assertNotIn("migrate:down", text)
            self.assertNotIn("BEGIN", text.upper().replace("-- ", ""))
            d1.executescript(text)
        self.assertEqual(migrate.schema_differences(migrate.read_schema(d1), migrate.replayed_schema(
            migrate.read_migrations(project.directory))), [])

    def test_foreign_keys_are_checked_at_the_end_of_each_file_as_apply_checks_them(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.write_migration("0002_seed", "-- migrate:up\nINSERT INTO child (parent_id) VALUES (1);\n"
                                "INSERT INTO parent (id, name) VALUES (1, 'p');\n")  # the child first
        project.apply()  # (apply checks foreign keys before COMMIT)
        out = os.path.join(project.root, "d1")
        migrate.export_d1(directory=project.directory, out=out)
        d1 = sqlite3.connect(":memory:", isolation_level=None)
        self.addCleanup(d1.close)
        d1.execute("PRAGMA foreign_keys = ON")  # as D1 always has it, each file in a transaction of its own
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name)) as handle:
                text = handle.read()
            self.assertIn("\nPRAGMA defer_foreign_keys = on;\n", text)
            d1.executescript(f"BEGIN;\n{text}COMMIT;")
            without = sqlite3.connect(":memory:", isolation_level=None)  # what the pragma prevents
            self.addCleanup(without.close)
        self.assertEqual(d1.execute("SELECT count(*) FROM child").fetchone(), (1,))
        without.execute("PRAGMA foreign_keys = ON")
        with open(os.path.join(out, "0001_initial.sql")) as handle:
            without.executescript(handle.read())
        with self.assertRaisesRegex(sqlite3.IntegrityError, "FOREIGN KEY constraint failed"):
            without.executescript("BEGIN;\nINSERT INTO child (parent_id) VALUES (1);\n"
                                  "INSERT INTO parent (id, name) VALUES (1, 'p');\nCOMMIT;")

    def test_a_column_added_with_a_foreign_key_and_a_default_is_warned_about(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.write_migration("0002_other", "-- migrate:up\nALTER TABLE child ADD COLUMN other_id INTEGER NOT "
                                "NULL DEFAULT 1 REFERENCES parent (id);\n")  # (make rebuilds for it: SQLite's rule)
        project.write_migration("0003_nullable", "-- migrate:up\nALTER TABLE parent ADD COLUMN up_id INTEGER "
                                "REFERENCES parent (id) DEFAULT NULL;\n")  # NULL is fine
        project.write_migration("0004_coach", "-- migrate:up\nCREATE TABLE coach (id INTEGER PRIMARY KEY);\nALTER "
                                "TABLE coach ADD COLUMN parent_id INTEGER NOT NULL DEFAULT 1 REFERENCES parent (id);\n")
        # (a table made in the same migration has no rows)
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(migrate.d1_warnings(directory=project.directory, out=os.path.join(project.root, "d1")),
                         ["0002_other adds column child.other_id with a foreign key and a default other "
                          "than NULL, which D1 refuses when the table has rows: add it without the default "
                          "(Optional), fill it, then make it required, in migrations of their own"])
        self.assertIn("WARNING: 0002_other adds column child.other_id", result.stderr)

    def test_temp_tables_end_with_their_migration_and_the_migrations_folder_is_refused(self):
        project = Project(self)
        temp = "-- migrate:up\nCREATE TEMP TABLE ids AS SELECT 1 AS id;\nCREATE TABLE t{n} AS SELECT id FROM ids;\n"
        project.write_migration("0001_a", temp.format(n=1))
        project.write_migration("0002_b", temp.format(n=2))
        self.assertEqual(len(migrate.export_d1(directory=project.directory, out=os.path.join(project.root, "d1"))), 2)
        before = [project.read(name) for name in project.files()]
        with self.assertRaisesRegex(migrate.MigrateError, "is the migrations folder"):
            migrate.export_d1(directory=project.directory, out=project.directory + "/.")
        self.assertEqual([project.read(name) for name in project.files()], before)

    def test_a_failed_export_writes_no_file_and_leaves_those_there_as_they_were(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE more (x);\n")
        out = os.path.join(project.root, "d1")
        os.makedirs(os.path.join(out, "0002_more.sql"))  # in the way of the second file
        with open(os.path.join(out, "0001_initial.sql"), "w") as handle:
            handle.write("-- an older export\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0002_more.sql: Is a directory; .*nothing was exported"):
            migrate.export_d1(directory=project.directory, out=out)
        self.assertEqual(sorted(os.listdir(out)), ["0001_initial.sql", "0002_more.sql"])
        with open(os.path.join(out, "0001_initial.sql")) as handle:
            self.assertEqual(handle.read(), "-- an older export\n")
        os.rmdir(os.path.join(out, "0002_more.sql"))
        project.write_migration("0002_more", "-- migrate:up\nBEGIN;\nCREATE TABLE more (x);\nCOMMIT;\n")
        fresh = os.path.join(project.root, "fresh")
        with self.assertRaisesRegex(migrate.MigrateError, "migration 0002_more: BEGIN cannot run inside the "
                                    "migration's transaction"):  # nor in D1's
            migrate.export_d1(directory=project.directory, out=fresh)
        self.assertFalse(os.path.exists(fresh))
        with self.assertRaisesRegex(migrate.MigrateError, "models.py is a file, not a folder: pass --d1 with a folder"):
            migrate.export_d1(directory=project.directory, out=project.models_path)
        project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE more (x);\n")
        renames = []

        def second_fails(source, target):  # a file system that fails the second rename of the files written
            renames.append(target)
            if len(renames) == 2:
                raise OSError(28, "No space left on device", source, None, target)
            return os.rename(source, target)

        halfway = os.path.join(project.root, "halfway")
        with mock.patch.object(migrate.os, "replace", second_fails), self.assertRaisesRegex(
                migrate.MigrateError, r"^cannot write .*halfway/0002_more.sql: No space left on device; 1 of the 2 "
                                      r"files were written, the others are as they were: export again$"):
            migrate.export_d1(directory=project.directory, out=halfway)
        self.assertEqual(os.listdir(halfway), ["0001_initial.sql"])  # and no .partial file left

    def test_stale_files_in_the_folder_and_squashes_are_warned_about(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        project.write_migration("0002_b", "-- migrate:up\nCREATE TABLE b (x);\n")
        self.assertEqual(project.cli("export", "--d1", "d1").returncode, 0)
        migrate.squash(directory=project.directory)
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("0001_a.sql in d1 is not one of the migrations: remove it", result.stderr)  # D1 would run it
        self.assertIn("0002_squashed_0001_0002 replaces 2 migrations, which D1 does not know", result.stderr)
        for stray in ("0009_stray.sql", "seed.sql"):  # wrangler applies every *.sql file there
            open(os.path.join(project.root, "d1", stray), "w").close()
            self.assertIn(f"  WARNING: {stray} in d1 is not one of the migrations: remove it",
                          project.cli("export", "--d1", "d1", "-q").stderr)  # warnings: on stderr, also with -q
        with self.assertRaisesRegex(migrate.MigrateError, "export folder nowhere not found"):
            migrate.d1_warnings(directory=project.directory, out="nowhere")

    def test_rebuild_of_a_referenced_table_is_refused(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.models(MODELS.replace("name: str", "name: int"))
        project.make()
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("0002_alter_parent drops or rebuilds table parent", result.stderr)
        self.assertIn("D1 always enforces foreign keys", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(project.root, "d1")))

    def test_each_drop_is_judged_by_the_tables_left_when_it_runs(self):
        # A rebuild's _new_ copy references the old name: a table referencing itself would lose its
        # rows when D1 drops the old one. Children dropped before their parent leave nothing to lose.
        node = """
            @dataclass
            class Node:
                name: str
                parent: Optional[Node] = field(default=None, metadata={"on_delete": "CASCADE"})
                id: Optional[int] = None
        """
        project = Project(self)
        project.models(node)
        project.make()
        project.models(node.replace("name: str", "name: int"))
        project.make()
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("0002_alter_node drops or rebuilds table node", result.stderr)
        os.remove(os.path.join(project.directory, project.files()[-1]))
        project.models(MODELS)  # drops node, which references only itself
        project.make()
        project.models("""
            @dataclass
            class Other:
                id: Optional[int] = None
        """)
        project.make()
        result = project.cli("export", "--d1", "d1")
        self.assertEqual(result.returncode, 0, result.stderr)


WRANGLER = shutil.which("wrangler")


@unittest.skipIf(WRANGLER is None, "wrangler not found on PATH (.ci/run installs npm wrangler@4.86.0)")
class WranglerLocal(unittest.TestCase):
    def test_exported_files_apply_cleanly_with_wrangler_local(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.models(MODELS.replace("label: str = \"\"", "label: str = field(default='', metadata={'index': True})"))
        project.make()
        project.write_migration("0003_seed", "-- migrate:up\nINSERT INTO child (parent_id) VALUES (1);\n"
                                "INSERT INTO parent (id, name) VALUES (1, 'p');\n")  # the child first: deferred
        self.assertEqual(project.cli("export", "--d1", "d1").returncode, 0)
        with open(os.path.join(project.root, "wrangler.toml"), "w") as handle:
            handle.write('name = "migrate-test"\ncompatibility_date = "2025-01-01"\n\n[[d1_databases]]\n'
                         'binding = "DB"\ndatabase_name = "testdb"\n'
                         'database_id = "00000000-0000-0000-0000-000000000000"\nmigrations_dir = "d1"\n')
        env = dict(os.environ, CI="true", WRANGLER_SEND_METRICS="false", HOME=project.root)
        applied = subprocess.run([WRANGLER, "d1", "migrations", "apply", "testdb", "--local"], cwd=project.root,
                                 capture_output=True, text=True, env=env, timeout=180)
        self.assertEqual(applied.returncode, 0, applied.stdout + applied.stderr)
        listed = subprocess.run([WRANGLER, "d1", "execute", "testdb", "--local", "--json", "--command",
                                 "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') "
                                 "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' "
                                 "ORDER BY name"], cwd=project.root, capture_output=True, text=True, env=env, timeout=180)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        names = [row["name"] for row in json.loads(listed.stdout)[0]["results"]]
        self.assertEqual(names, ["child", "child_label_idx", "child_parent_id_idx", "parent"])


if __name__ == "__main__":
    unittest.main()
