"""Squash: many migrations become one; databases that applied them keep working."""
import contextlib
import io
import os
import re
import shutil
import signal
import unittest
from unittest import mock

from tests.support import Project, migrate, normalised_schema, table_dump

STEPS = [
    """
    @dataclass
    class Question:
        text: str
        id: Optional[int] = None
    """,
    """
    @dataclass
    class Question:
        text: str = field(metadata={"index": True})
        author: Optional[str] = None
        id: Optional[int] = None
    """,
    """
    @dataclass
    class Question:
        text: str = field(metadata={"index": True})
        author: Optional[str] = None
        id: Optional[int] = None

    @dataclass
    class Choice:
        question: Question
        votes: int = 0
        id: Optional[int] = None
    """,
]


class Squash(unittest.TestCase):
    def build(self, old_db=True):
        project = Project(self)
        for step, models in enumerate(STEPS):
            project.models(models)
            project.make()
            if step == 0 and old_db:
                project.apply()
        project.write_migration("0004_view", "-- migrate:up\nCREATE VIEW busy AS SELECT * FROM choice;\n"
                                "INSERT INTO question (text) VALUES ('seed');\n-- migrate:down\nDROP VIEW busy;\n")
        return project

    def test_squashed_migration_builds_the_same_schema_and_check_stays_clean(self):
        project = self.build(old_db=False)
        project.apply()
        expected = normalised_schema(project.db)
        originals = project.files()
        result = migrate.squash(directory=project.directory)
        self.assertEqual(project.files(), ["0004_squashed_0001_0004.sql", "replaced"])
        self.assertEqual(sorted(os.listdir(os.path.join(project.directory, "replaced"))), originals)
        self.assertIn("0004_view has data statements", result.warnings[0])
        text = project.read("0004_squashed_0001_0004.sql")
        self.assertRegex(text, "-- migrate:replaces 0001_initial:[0-9a-f]{16} 0002_")  # and the checksums squashed
        self.assertIn('-- WARNING: drops table question and its rows\nDROP TABLE "question"', text)  # revert says it
        fresh = Project(self)
        fresh.directory = project.directory
        fresh.apply()
        self.assertEqual(normalised_schema(fresh.db), expected)
        self.assertEqual(project.make(write=False).operations, ())
        fresh.revert()
        self.assertEqual(normalised_schema(fresh.db), [])

    def test_a_table_the_application_makes_if_not_exists_is_squashed_so_and_its_revert_still_leaves_it(self):
        project = Project(self)
        sessions_model = ("\n    @dataclass\n    class Sessions:\n        __managed__ = False\n"
                          "        key: str = field(metadata={'primary_key': True})\n"
                          "        data: Optional[str] = None\n")
        project.models(STEPS[0] + sessions_model)
        project.make()
        sessions = ("CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY NOT NULL, data TEXT);",
                    'CREATE /* the app\'s */ INDEX IF NOT EXISTS "main".sessions_data ON sessions (data);',
                    "CREATE TRIGGER IF NOT EXISTS sessions AFTER INSERT ON sessions BEGIN SELECT 1; END;")
        project.write_migration("0002_sessions", "-- migrate:up\nSELECT 1; -- rollback\n-- the application's own\n"
                                + "\n".join(sessions) + "\n-- migrate:down\n")  # left on purpose
        project.models(STEPS[1] + sessions_model)
        project.make()  # 0003
        before_the_migrations = Project(self)  # the application ran first, and made its table
        before_the_migrations.directory = project.directory
        before_the_migrations.execute(sessions[0], "INSERT INTO sessions VALUES ('k', 'v')")
        migrate.squash(directory=project.directory)
        text = project.read("0003_squashed_0001_0003.sql")
        for statement in sessions:  # (not the comments before them: notes of the statement before)
            self.assertIn(f"\n\n{statement}\n\n", text)
        self.assertNotIn("rollback", text)
        self.assertNotIn('DROP TABLE "sessions"', text)
        self.assertEqual([s.name for s in before_the_migrations.apply()], ["0003_squashed_0001_0003"])
        before_the_migrations.revert()
        self.assertEqual(before_the_migrations.query("SELECT * FROM sessions"), [("k", "v")])
        self.assertEqual(before_the_migrations.query("SELECT name FROM sqlite_master WHERE name NOT LIKE "
                                                     "'%migrations%' ORDER BY name"),
                         [("sessions",), ("sessions",), ("sessions_data",), ("sqlite_autoindex_sessions_1",)])

    def test_an_object_made_if_not_exists_and_changed_since_is_squashed_as_it_is_now_with_a_warning(self):
        project = Project(self)
        project.write_migration("0001_log", "-- migrate:up\nCREATE TABLE IF NOT EXISTS log (x);\n-- migrate:down\n")
        project.write_migration("0002_more", "-- migrate:up\nALTER TABLE log ADD COLUMN y;\n"
                                "-- migrate:down\nALTER TABLE log DROP COLUMN y;\n")
        project.write_migration("0003_swap", "-- migrate:up\nCREATE TABLE IF NOT EXISTS t (a);\n"
                                "ALTER TABLE t RENAME TO u;\nCREATE TABLE t (a);\n"
                                "CREATE TABLE IF NOT EXISTS copied AS SELECT 1 AS a;\n"  # (SQLite writes its CREATE)
                                "-- migrate:down\nDROP TABLE copied;\nDROP TABLE t;\nALTER TABLE u RENAME TO t;\n"
                                "DROP TABLE t;\n")
        project.write_migration("0004_moved", "-- migrate:up\nCREATE TABLE IF NOT EXISTS moved (x);\n"
                                "ALTER TABLE moved RENAME TO renamed;\n"
                                "-- migrate:down\nALTER TABLE renamed RENAME TO moved;\nDROP TABLE moved;\n")
        project.write_migration("0005_again", "-- migrate:up\nCREATE TABLE IF NOT EXISTS again (x);\n"
                                "DROP TABLE again;\nCREATE TABLE IF NOT EXISTS again (x, y);\n"
                                "-- migrate:down\nDROP TABLE again;\n")
        project.write_migration("0006_same", "-- migrate:up\nCREATE TABLE IF NOT EXISTS same (x);\n"
                                'CREATE TABLE IF NOT EXISTS "SAME" (x);\nCREATE VIEW IF NOT EXISTS seen AS SELECT 1;\n'
                                "CREATE TABLE plain (x);\nCREATE TABLE IF NOT EXISTS plain (x);\n"  # (fails as before)
                                "CREATE TABLE IF NOT EXISTS moving (x);\nALTER TABLE moving RENAME TO moved_on;\n"
                                "CREATE TABLE IF NOT EXISTS moving (x);\n-- migrate:down\nDROP TABLE moving;\n"
                                "DROP TABLE moved_on;\nDROP TABLE plain;\nDROP VIEW seen;\nDROP TABLE same;\n")
        project.write_migration("0007_replace", "-- migrate:up\nDROP VIEW IF EXISTS latest;\n"
                                "CREATE VIEW latest AS SELECT 1;\nCREATE TABLE IF NOT EXISTS notes (note);\n"
                                "CREATE TEMP TABLE notes (x);\nDROP TABLE temp.notes;\n"  # (TEMP's: not main's)
                                "CREATE TABLE IF NOT EXISTS cased (note);\n"
                                "ALTER TABLE cased RENAME COLUMN note TO Note;\n"
                                "-- migrate:down\nDROP TABLE cased;\nDROP TABLE notes;\nDROP VIEW latest;\n")
        result = migrate.squash(directory=project.directory)
        then = (": on a database that has one already (made by the application), the squash does not do what the "
                "migrations did; squash only up to a migration before that, or write the steps into the squash by hand")
        made = "table {}: made with IF NOT EXISTS in {}, it {}" + then
        self.assertEqual(sorted(result.warnings), sorted([
            made.format("log", "0001_log", "was changed since, or is made from a SELECT"),
            made.format("copied", "0003_swap", "was changed since, or is made from a SELECT"),
            made.format("t", "0003_swap", "was dropped or renamed, and made again"),  # (by a plain CREATE)
            made.format("moved", "0004_moved", "was renamed or dropped since"),
            made.format("again", "0005_again", "was dropped or renamed, and made again"),
            made.format("moving", "0006_same", "was dropped or renamed, and made again"),
            made.format("cased", "0007_replace", "was changed since, or is made from a SELECT"),
            "view latest: dropped if there, then made, in 0007_replace" + then,
            "0003_swap has data statements (like CREATE TABLE IF NOT EXISTS copied AS SELECT 1 AS a) that the "
            "squashed migration does not repeat: copy them by hand if new databases need them"]))
        self.assertIn("\nCREATE TABLE IF NOT EXISTS same (x);\n", result.text)  # made so twice: no change
        self.assertIn("\nCREATE VIEW IF NOT EXISTS seen AS SELECT 1;\n", result.text)
        self.assertIn("\nCREATE TABLE IF NOT EXISTS notes (note);\n", result.text)
        self.assertEqual(result.text.count("IF NOT EXISTS"), 3)  # same's, seen's and notes': not t's, nor plain's
        project.apply()
        project.revert()
        self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE name != '_migrations' "
                                       "AND name NOT LIKE 'sqlite_%'"), [("log",)])  # as 0001's down leaves it

    def test_a_gap_before_a_squash_says_to_move_the_other_file_after_it(self):
        project = self.build()
        migrate.squash(directory=project.directory)  # 0004_squashed_0001_0004
        project.write_migration("0002_bob", "-- migrate:up\nCREATE TABLE bob (x);\n-- migrate:down\nDROP TABLE bob;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "jump from 0002_bob to 0004_squashed_0001_0004, a squash "
                                    "that keeps its number: rename 0002_bob .* to number 0005, after it"):
            project.apply()

    def test_two_branches_squashes_merged_or_a_replaced_file_put_back_stop_every_command(self):
        project = self.build()
        project.apply()
        branch = os.path.join(project.root, "branch")
        shutil.copytree(project.directory, branch)
        migrate.squash(directory=project.directory, upto="0002")
        migrate.squash(directory=branch, upto="0003")
        # what git merges without a conflict: the other branch's squash, and its moves
        shutil.copy(os.path.join(branch, "0003_squashed_0001_0003.sql"), project.directory)
        os.replace(os.path.join(project.directory, "0003_create_choice.sql"),
                   os.path.join(project.directory, "replaced", "0003_create_choice.sql"))
        before = table_dump(project.db)
        for command in ("apply", "revert", "status", "make", "check"):
            with self.subTest(command):
                result = project.cli(command)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertIn("error: migrations 0002_squashed_0001_0002 and 0003_squashed_0001_0003 both replace "
                              "0001_initial (two branches each squashed): keep one and delete the other (one that no "
                              "database has in its _migrations table), and move back out of replaced/ the files that "
                              "only the deleted one replaced\n", result.stderr)
        self.assertEqual(table_dump(project.db), before)
        os.remove(os.path.join(project.directory, "0002_squashed_0001_0002.sql"))
        shutil.copy(os.path.join(project.directory, "replaced", "0001_initial.sql"), project.directory)
        replaced = os.path.join("migrations", "replaced")
        self.assertIn("error: migration 0003_squashed_0001_0003 replaces 0001_initial, whose file is still among the "
                      f"migrations (a squash cut short?): move it into {replaced}, where squash keeps the files it "
                      f"replaces (mv {os.path.join('migrations', '0001_initial.sql')} {replaced}/)",
                      project.cli("status").stderr)
        shutil.copy(os.path.join(project.directory, "replaced", "0003_create_choice.sql"), project.directory)
        files = " ".join(os.path.join("migrations", name) for name in ("0001_initial.sql", "0003_create_choice.sql"))
        self.assertIn("error: migration 0003_squashed_0001_0003 replaces 2 migrations (0001_initial .. "
                      "0003_create_choice) whose files are still among the migrations (a squash cut short?): move them "
                      f"into {replaced}, where squash keeps the files it replaces (mv {files} {replaced}/)",
                      project.cli("status").stderr)
        shutil.move(os.path.join(project.directory, "replaced"), os.path.join(project.root, "kept"))
        self.assertIn(f"(mkdir {replaced} && mv {files} {replaced}/)", project.cli("status").stderr)  # cut short before
        shutil.move(os.path.join(project.root, "kept"), os.path.join(project.directory, "replaced"))
        os.remove(os.path.join(project.directory, "0003_create_choice.sql"))
        os.remove(os.path.join(project.directory, "0001_initial.sql"))
        self.assertIn("[X] 0003_squashed_0001_0003", project.cli("status").stdout)
        self.assertEqual(project.cli("revert", "zero").returncode, 0)

    def test_ctrl_c_while_squash_moves_the_files_it_replaces_waits_until_all_are_moved(self):
        project = self.build()
        real_replace, moved = os.replace, []

        def replace(source, target):  # Ctrl-C as the first file is moved
            if not moved:
                os.kill(os.getpid(), signal.SIGINT)
            moved.append(os.path.basename(source))
            return real_replace(source, target)
        with mock.patch("os.replace", replace), self.assertRaisesRegex(KeyboardInterrupt, "^the squash was done "
                                                                        "first: .*0004_squashed_0001_0004.sql written"):
            migrate.squash(directory=project.directory)
        self.assertEqual(len(moved), 4, "all four files moved before the Ctrl-C acts")
        self.assertEqual(sorted(os.listdir(project.directory)), ["0004_squashed_0001_0004.sql", "replaced"])
        self.assertEqual(project.cli("status").returncode, 0)
        stderr = io.StringIO()  # the command line says so, as Ctrl-C's exit status
        with mock.patch("os.replace", replace), contextlib.redirect_stderr(stderr):
            moved.clear()
            project.write_migration("0005_more", "-- migrate:up\nCREATE TABLE more (x);\n")
            self.assertEqual(migrate.main(["squash", "--dir", project.directory]), 130)
        self.assertIn("interrupted; the squash was done first: ", stderr.getvalue())

    def test_a_move_that_fails_says_which_files_to_move_by_hand_also_after_a_ctrl_c(self):
        project = self.build()
        real_replace = os.replace

        def replace(source, target):  # Ctrl-C as the first file is moved, and the second cannot be
            if source.endswith("0001_initial.sql"):
                os.kill(os.getpid(), signal.SIGINT)
            if os.path.basename(source).startswith("0002_"):
                raise PermissionError(13, "Permission denied")
            return real_replace(source, target)
        with mock.patch("os.replace", replace), self.assertRaises(migrate.MigrateError) as caught:
            migrate.squash(directory=project.directory)
        left = sorted(name for name in os.listdir(project.directory) if name.endswith(".sql") and "squash" not in name)
        self.assertEqual(left, [name for name in project.files() if not name.startswith(("0001_", "0004_squ"))
                                and name.endswith(".sql")])
        self.assertRegex(str(caught.exception), r"^wrote .*0004_squashed_0001_0004.sql but cannot move .*0002_\w+"
                         r"\.sql to .*replaced \(Permission denied\): move "
                         + ", ".join(re.escape(os.path.join(project.directory, name)) for name in left)
                         + " there by hand$")

    def test_an_original_run_from_the_replaced_folder_says_what_it_drops(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\nCREATE TABLE u (y);\n"
                                "-- migrate:down\nDROP TABLE u;\nDROP TABLE t;\n")
        project.write_migration("0002_drop_u", "-- migrate:up\n-- WARNING: drops table u and its rows\nDROP TABLE u;\n"
                                "-- migrate:down\nCREATE TABLE u (y);\n")
        project.apply(target="0001")
        migrate.squash(directory=project.directory)
        steps = project.apply()  # 0002 from migrations/replaced, as applied unsquashed: said the same
        self.assertEqual([(s.name, s.warnings) for s in steps],
                         [("0002_drop_u", ("drops table u and its rows",)), ("0002_squashed_0001_0002", ())])

    def test_databases_that_applied_the_originals_keep_working(self):
        project = self.build()
        project.apply()
        migrate.squash(directory=project.directory)
        self.assertEqual([(s.name, s.applied) for s in project.status()],
                         [("0004_squashed_0001_0004", True)])
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])
        gate = project.cli("apply", "--check")  # a deploy gate: nothing to run, as status says
        self.assertEqual((gate.returncode, gate.stdout), (0, "db.sqlite3 is up to date: no migrations to apply.\n"))
        steps = project.apply()
        self.assertEqual([(s.name, s.action) for s in steps], [("0004_squashed_0001_0004", "adopt")])
        self.assertEqual(project.query("SELECT text FROM question"), [("seed",)])
        project.models(STEPS[-1] + "    note: Optional[str] = None\n")
        project.make()
        project.apply()
        project.revert(target="zero")
        self.assertEqual(normalised_schema(project.db), [])
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(0,)])

    def test_a_database_that_adopted_a_squash_is_judged_by_the_files_after_edits(self):
        project = self.build()
        project.apply()
        migrate.squash(directory=project.directory)
        project.apply()  # adopted: the rows of what it replaces stay
        check = lambda: migrate.check(project.db, models=project.models_path, directory=project.directory)
        path = os.path.join(project.directory, "0004_squashed_0001_0004.sql")
        for _ in range(2):  # an edit accepted, then another one
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("-- reviewed\n")
            self.assertEqual(check(), [f"migration file {path} changed since it was applied: restore it, or record "
                                       "the edit with apply --allow-changed"])
            project.apply(allow_changed=True)
        self.assertEqual(check(), [])

    def test_a_recorded_squash_whose_file_is_gone_is_never_reverted(self):
        for adopted in (True, False):  # recorded in place of the applied originals, or applied on its own
            project = self.build(old_db=False)
            if adopted:
                project.apply()
            migrate.squash(directory=project.directory)
            project.apply()
            kept = os.path.join(project.directory, "replaced")
            for name in os.listdir(kept):  # the folder as an older checkout has it
                os.replace(os.path.join(kept, name), os.path.join(project.directory, name))
            os.remove(os.path.join(project.directory, "0004_squashed_0001_0004.sql"))
            schema, records = normalised_schema(project.db), project.query("SELECT * FROM _migrations")
            for target in (None, "0003", "0001", "zero"):
                with self.subTest(adopted=adopted, target=target):
                    with self.assertRaisesRegex(migrate.MigrateError, "0004_squashed_0001_0004 was recorded in "
                                                "place of the migrations it replaces, and its file is gone: "
                                                "restore that file .*; nothing was changed"):
                        project.revert(target=target)
                    self.assertEqual(normalised_schema(project.db), schema)
                    self.assertEqual(project.query("SELECT * FROM _migrations"), records)

    def test_revert_works_before_apply_has_recorded_the_squash(self):
        project = self.build()
        project.apply()
        migrate.squash(directory=project.directory)
        self.assertEqual([(s.name, s.action) for s in project.revert()], [("0004_squashed_0001_0004", "revert")])
        self.assertEqual(normalised_schema(project.db), [])
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(0,)])

    def test_squashing_again_keeps_every_database_working(self):
        databases = {}
        for applied_by in ("originals", "first squash"):
            project = self.build(old_db=False)
            if applied_by == "originals":
                project.apply()
            migrate.squash(directory=project.directory, upto="0002")
            if applied_by == "first squash":
                project.apply()  # records 0002_squashed_0001_0002, then 0003 and 0004
            migrate.squash(directory=project.directory)
            with self.subTest(applied_by):
                self.assertEqual([(s.name, s.applied) for s in project.status()],
                                 [("0004_squashed_0001_0004", True)])  # named for all it replaces
                self.assertIn("Squashed 0001_initial .. 0004_view", project.read("0004_squashed_0001_0004.sql"))
                for target in ("0002", "0002_squashed_0001_0002", 3):
                    with self.assertRaisesRegex(migrate.MigrateError, f"; {target} was squashed into "
                                                "0004_squashed_0001_0004, the target that stands for it now"):
                        project.apply(target=target)
                self.assertEqual([s.action for s in project.apply()], ["adopt"])
                project.revert()
                self.assertEqual(normalised_schema(project.db), [])
            databases[applied_by] = project

    def test_the_squash_is_written_before_any_file_it_replaces_is_moved(self):
        project = self.build(old_db=False)
        originals = project.files()
        real_replace = os.replace

        def replace(source, destination):
            if source.endswith("0002_add_question_author_and_more.sql"):
                raise PermissionError(1, "Operation not permitted")
            real_replace(source, destination)
        with mock.patch("os.replace", replace):
            with self.assertRaisesRegex(migrate.MigrateError, "wrote .*0004_squashed_0001_0004.sql but cannot "
                                                              "move .*0002_add_question_author_and_more.sql to"):
                migrate.squash(directory=project.directory)
        self.assertIn("0004_squashed_0001_0004.sql", project.files())
        self.assertIn(originals[1], project.files())

    def test_warnings_name_statements_that_carry_rows_and_not_a_rebuilds_own_copy(self):
        project = self.build(old_db=False)
        project.models(STEPS[-1].replace("votes: int = 0", "votes: float = 0"))  # a rebuild of choice
        project.make()
        project.write_migration("0006_seed", "-- migrate:up\nCREATE TABLE country AS SELECT upper('fr') AS code;\n"
                                "-- migrate:down\nDROP TABLE country;\n")
        result = project.cli("squash", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        warned = [line.split()[1] for line in result.stderr.splitlines()]
        self.assertEqual(warned, ["0004_view", "0006_seed"], result.stderr)

    def test_an_irreversible_range_stays_irreversible_and_a_counter_set_by_hand_is_warned_about(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT);\n"
                                "-- migrate:down\nDROP TABLE orders;\n")
        project.write_migration("0002_ids", "-- migrate:up\nINSERT INTO sqlite_sequence (name, seq) VALUES ('orders', 99);\n")
        project.apply()
        result = migrate.squash(directory=project.directory)
        self.assertEqual([w.split(" has ")[0] for w in result.warnings], ["0002_ids", "0002_ids"], result.warnings)
        self.assertIn("has no down section, so the squashed migration has none either", result.warnings[0])
        self.assertIn("has data statements (like INSERT INTO sqlite_sequence", result.warnings[1])
        self.assertIsNone(migrate.find_migration(project.directory, "0002").down)
        project.apply()  # adopted
        with self.assertRaisesRegex(migrate.MigrateError, "0002_squashed_0001_0002 has no `-- migrate:down`"):
            project.apply(target="zero")
        self.assertEqual(project.query("SELECT seq FROM sqlite_sequence"), [(99,)])

    def test_a_squash_of_a_file_edited_after_a_database_applied_it_is_not_adopted_there(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.write_migration("0002_b", "-- migrate:up\nCREATE INDEX t_x ON t (x);\n-- migrate:down\nDROP INDEX t_x;\n")
        project.write_migration("0003_c", "-- migrate:up\nCREATE TABLE c (x);\n-- migrate:down\nDROP TABLE c;\n")
        project.apply()
        project.write_migration("0002_b", "-- migrate:up\nCREATE INDEX t_x ON t (x);\nALTER TABLE t ADD COLUMN y;\n"
                                "-- migrate:down\nALTER TABLE t DROP COLUMN y;\nDROP INDEX t_x;\n")
        migrate.squash(directory=project.directory, upto="0002")
        migrate.squash(directory=project.directory)  # again: the checksums squashed first are carried over
        for attempt in (project.apply, lambda: project.apply(target="0003")):
            with self.assertRaisesRegex(migrate.MigrateError, r"migration 0002_b was edited after this database "
                                        r"applied it \(.*\), and 0003_squashed_0001_0003 was squashed from the file"):
                attempt()
        project.execute("ALTER TABLE t ADD COLUMN y")  # the edit, by hand
        self.assertEqual([s.action for s in project.apply(allow_changed=True)], ["adopt"])
        fresh = Project(self)
        fresh.directory = project.directory
        self.assertEqual([s.action for s in fresh.apply()], ["apply"])
        self.assertEqual(normalised_schema(fresh.db), normalised_schema(project.db))

    def test_a_squash_of_a_file_edited_in_its_comments_only_is_adopted(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.write_migration("0002_b", "-- migrate:up\nCREATE INDEX t_x ON t (x);\n-- migrate:down\nDROP INDEX t_x;\n")
        project.apply()
        project.write_migration("0002_b", "-- migrate:up\n-- a reviewer's note\nCREATE INDEX t_x ON t (x);\n"
                                "-- migrate:down\nDROP INDEX t_x;\n")
        migrate.squash(directory=project.directory)
        self.assertEqual([s.action for s in project.apply()], ["adopt"])

    def test_an_empty_upto_is_an_error_not_the_latest(self):
        project = self.build(old_db=False)
        result = project.cli("squash", "")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("no migration '' in", result.stderr)
        self.assertEqual(len(project.files()), 4)

    def test_a_migration_merely_named_like_a_squash_is_not_taken_for_one(self):
        project = self.build()  # only 0001 applied
        os.rename(os.path.join(project.directory, "0002_add_question_author_and_more.sql"),
                  os.path.join(project.directory, "0002_create_squashed_juice.sql"))
        migrate.squash(directory=project.directory)
        self.assertEqual([s.name for s in migrate.plan(project.db, directory=project.directory)],
                         ["0002_create_squashed_juice", "0003_create_choice", "0004_view", "0004_squashed_0001_0004"])

    def test_fake_initial_adopts_a_database_for_a_squashed_project(self):
        project = self.build(old_db=False)
        project.apply()
        migrate.squash(directory=project.directory)
        adopted = Project(self)
        adopted.directory = project.directory
        adopted.execute(*migrate.dump_schema(project.db))
        with self.assertRaises(migrate.MigrateError) as caught:  # the hint names the squash that begins the folder
            migrate.apply(adopted.db, directory=project.directory)
        self.assertIn("adopt it with apply --fake-initial, which records 0004_squashed_0001_0004 when all its tables "
                      "exist", str(caught.exception))
        self.assertEqual([s.action for s in migrate.apply(adopted.db, directory=project.directory, fake_initial=True)],
                         ["fake"])

    def test_a_database_that_applied_some_originals_runs_the_rest_from_the_kept_files(self):
        fresh = self.build(old_db=False)
        fresh.apply()
        project = self.build()  # only 0001 applied
        migrate.squash(directory=project.directory)
        self.assertEqual([(s.name, s.applied, s.file_missing, s.replaced_by) for s in project.status()],
                         [("0001_initial", True, True, "0004_squashed_0001_0004"),
                          ("0004_squashed_0001_0004", False, False, None)])
        self.assertIn("[X] 0001_initial  (squashed into 0004_squashed_0001_0004)", project.cli("status").stdout)
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])
        self.assertEqual([(s.name, s.action) for s in project.apply()],
                         [("0002_add_question_author_and_more", "apply"), ("0003_create_choice", "apply"),
                          ("0004_view", "apply"), ("0004_squashed_0001_0004", "adopt")])
        self.assertEqual(normalised_schema(project.db), normalised_schema(fresh.db))
        self.assertEqual(project.query("SELECT text FROM question"), [("seed",)])  # the original's data
        self.assertEqual([(s.name, s.applied) for s in project.status()], [("0004_squashed_0001_0004", True)])
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])
        project.revert(target="zero")
        self.assertEqual(normalised_schema(project.db), [])

    def test_a_database_partly_through_a_squash_is_checked_as_before_and_reverts_only_once_it_caught_up(self):
        project = self.build()  # only 0001 applied
        migrate.squash(directory=project.directory)
        kept = os.path.join(project.directory, "replaced", "0003_create_choice.sql")
        with open(kept) as handle:
            original = handle.read()
        with open(kept, "a") as handle:
            handle.write("-- edited\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0003_create_choice.sql is not the file "
                                    "0004_squashed_0001_0004 was squashed from"):
            project.apply()
        os.remove(kept)
        with self.assertRaisesRegex(migrate.MigrateError, r"applied only some of the migrations "
                                    r"0004_squashed_0001_0004 replaces \(not 0002_add_question_author_and_more, "
                                    r"0003_create_choice, 0004_view\), and .*0003_create_choice.sql is gone"):
            project.apply()
        with open(kept, "w") as handle:
            handle.write(original)
        for revert in (project.revert, lambda: project.apply(target="zero")):  # the squash's down drops it all
            with self.assertRaisesRegex(migrate.MigrateError, "applied only some of the migrations "
                                        "0004_squashed_0001_0004 replaces: apply first"):
                revert()
        self.assertEqual(project.query("SELECT name FROM _migrations"), [("0001_initial",)])
        project.execute("ALTER TABLE question ADD COLUMN nick TEXT")
        problems = migrate.check(project.db, models=project.models_path, directory=project.directory)
        self.assertEqual(problems, ["database drift: column question.nick: in the database, not in its applied "
                                    "migrations"])  # judged by the files it went through, as before the squash

    def test_a_kept_file_that_rebuilds_a_table_with_a_column_added_by_hand_is_refused_as_before(self):
        project = Project(self)
        project.models("@dataclass\nclass Author:\n    name: str\n    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Author:\n    name: Optional[str] = None\n    id: Optional[int] = None\n")
        project.make()  # NOT NULL dropped: a rebuild
        project.apply(target="0001")
        project.execute("ALTER TABLE author ADD COLUMN nick TEXT", "INSERT INTO author (name, nick) VALUES ('a', 'b')")
        migrate.squash(directory=project.directory)
        with self.assertRaisesRegex(migrate.MigrateError, "migration 0002_alter_author rebuilds table author, and "
                                    "the database's author has column nick"):
            project.apply()
        self.assertEqual(project.query("SELECT name, nick FROM author"), [("a", "b")])

    def test_after_two_squashes_a_database_runs_only_the_originals_it_lacks(self):
        project = self.build()  # only 0001 applied
        migrate.squash(directory=project.directory, upto="0002")
        migrate.squash(directory=project.directory)  # replaces 0001, 0002, 0002_squashed_..., 0003, 0004
        self.assertEqual(sorted(os.listdir(os.path.join(project.directory, "replaced"))),
                         ["0001_initial.sql", "0002_add_question_author_and_more.sql", "0002_squashed_0001_0002.sql",
                          "0003_create_choice.sql", "0004_view.sql"])
        self.assertEqual([s.name for s in project.apply()],
                         ["0002_add_question_author_and_more", "0003_create_choice", "0004_view",
                          "0004_squashed_0001_0004"])
        self.assertEqual(project.make(write=False).operations, ())

    def test_after_two_squashes_and_the_first_ones_originals_deleted_a_partial_database_is_still_checked(self):
        project = Project(self)
        author = "@dataclass\nclass Author:\n    name: str\n    id: Optional[int] = None\n"
        book = "@dataclass\nclass Book:\n    title: str\n    id: Optional[int] = None\n"
        for models in (author, author.replace("name: str", "name: str\n    age: int = 0")):
            project.models(models)
            project.make()
        migrate.squash(directory=project.directory)  # 0002_squashed_0001_0002
        project.apply()
        fresh = Project(self)  # one that ran the squash itself: no records of what it replaces
        fresh.directory = project.directory
        fresh.apply()
        for name in ("0001_initial.sql", "0002_add_author_age.sql"):  # every database has the squash (README)
            os.remove(os.path.join(project.directory, "replaced", name))
        for models in (models + book, models + book.replace("title: str", "title: Optional[str]")):
            project.models(models)
            project.make()  # 0003 creates book, 0004 rebuilds it
        project.apply(target="0003")
        fresh.apply(target="0003")
        migrate.squash(directory=project.directory)
        check = lambda db: migrate.check(db, models=project.models_path, directory=project.directory)
        self.assertEqual((check(project.db), check(fresh.db)), ([], []))
        project.execute("ALTER TABLE book ADD COLUMN nick TEXT", "INSERT INTO book (title, nick) VALUES ('t', 'n')")
        self.assertEqual(check(project.db), ["database drift: column book.nick: in the database, not in its applied "
                                             "migrations"])
        with self.assertRaisesRegex(migrate.MigrateError, "0004_alter_book rebuilds table book, and the database's "
                                    "book has column nick"):
            project.apply()
        os.remove(os.path.join(project.directory, "replaced", "0002_squashed_0001_0002.sql"))
        stop = "apply would stop: migration 0004_alter_book .* rebuilds a table, which cannot be checked against"
        [line] = check(fresh.db)  # no drift: a file it went through is gone, judged by the up SQL recorded
        self.assertRegex(line, stop)
        drift, line = check(project.db)
        self.assertEqual(drift, "database drift: column book.nick: in the database, not in its applied migrations")
        self.assertRegex(line, stop)
        with self.assertRaisesRegex(migrate.MigrateError, "migration 0004_alter_book .* rebuilds a table, which "
                                    "cannot be checked against the files before it"):
            project.apply()  # nothing describes book before it: the hand-added column would go
        self.assertEqual(project.query("SELECT title, nick FROM book"), [("t", "n")])

    def test_what_is_already_at_replaced_stops_the_squash_before_it_writes(self):
        def kept_file_that_differs(directory):
            os.makedirs(os.path.join(directory, "replaced"))
            with open(os.path.join(directory, "replaced", "0001_initial.sql"), "w") as handle:
                handle.write("not a migration at all\n")  # it need not parse to be told apart

        def file_named_like_the_folder(directory):
            with open(os.path.join(directory, "replaced"), "w") as handle:
                handle.write("notes\n")
        for there, message in (
                (kept_file_that_differs, r"replaced/0001_initial.sql exists and differs from .*0001_initial.sql: "
                                         r"move it away first; nothing was written"),
                (file_named_like_the_folder, r"replaced is not a folder, and squash moves the files it replaces "
                                             r"there: move it away first; nothing was written")):
            with self.subTest(there.__name__):
                project = self.build(old_db=False)
                there(project.directory)
                files = project.files()
                with self.assertRaisesRegex(migrate.MigrateError, message):
                    migrate.squash(directory=project.directory)
                self.assertEqual(project.files(), files)

    def test_cli_squash_up_to_a_target(self):
        project = self.build(old_db=False)
        result = project.cli("squash", "0002")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(project.files(), ["0002_squashed_0001_0002.sql", "0003_create_choice.sql",
                                           "0004_view.sql", "replaced"])
        self.assertIn("now in migrations/replaced: databases that applied them, or some of them, keep working; "
                      "delete migrations/replaced once every database has applied the squash", result.stdout)
        project.apply()
        self.assertEqual(project.make(write=False).operations, ())
        self.assertIn("nothing to squash", project.cli("squash", "0002").stderr)


if __name__ == "__main__":
    unittest.main()
