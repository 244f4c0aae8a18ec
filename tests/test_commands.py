"""The everyday commands beyond make/apply/revert/status, as subprocesses."""
import json
import os
import re
import sqlite3
import subprocess
import sys
import unittest
from contextlib import closing

from tests.support import MIGRATE, Project, migrate, normalised_schema, table_dump

POLLS = """
@dataclass
class Question:
    question_text: str
    id: Optional[int] = None
"""


class Commands(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)

    def run_ok(self, *args, **kw) -> str:
        result = self.project.cli(*args, **kw)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_check_fails_on_what_apply_would_refuse_with_or_without_a_database(self):
        self.project.write_migration("0002_x", "-- migrate:up\nBEGIN;\nDELETE FROM question;\nCOMMIT;\n")
        stop = ("apply would stop: migration 0002_x: BEGIN cannot run inside the migration's transaction: BEGIN; "
                "remove it (run it by hand outside migrations); nothing was changed\n")
        result = self.project.cli("check")  # CI: no database
        self.assertEqual((result.returncode, result.stdout), (1, stop))
        self.project.write_migration("0002_x", "-- migrate:up\n-- migrate back: not possible\n-- migrate:rollback\n"
                                     "DELETE FROM question;\n-- migrate:down\nPRAGMA foreign_keys = ON;\n")
        near_miss = "0002_x, line 3: '-- migrate:rollback' looks like a section marker"
        self.assertIn(near_miss, self.project.cli("check").stdout)  # as apply on a new database would
        self.assertIn(near_miss, self.project.cli("apply").stderr)
        for up, refusal in (("UPDATE question SET question_text = ''\n-- migrate:down\n",
                             "the statement before its `-- migrate:down` line has no `;`"),
                            ("UPDATE question SET question_text = '' WHERE id IN (1,\n",
                             "fails when replayed: incomplete input"),
                            ("UPDATE nothing_here SET x = 1;\n", "no such table: nothing_here")):
            self.project.write_migration("0002_x", f"-- migrate:up\n{up}")
            for options in ((), ("--no-models",)):
                with self.subTest(up=up, options=options):  # (check --no-models replays the files too)
                    result = self.project.cli("check", *options)
                    self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
                    self.assertIn(refusal, result.stdout + result.stderr)
        self.project.write_migration("0002_x", "-- migrate:up\n-- migrate back: not possible\nDELETE FROM question;\n")
        self.run_ok("apply")
        self.project.write_migration("0003_y", "-- migrate:up\nSELECT 1;\n-- migrate:down\nVACUUM;\n")
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("apply would stop: migration 0003_y (down section): VACUUM cannot run", result.stdout)
        self.project.write_migration("0003_y", "-- migrate:up\nSELECT 1;\n-- migrate:down\n")
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree (1 migration to apply: "
                                               "run apply)\n")
        self.run_ok("apply")
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree\n")

    def test_check_names_a_down_section_that_drops_what_the_migrations_before_it_made(self):
        self.project.write_migration("0002_x", "-- migrate:up\nCREATE TABLE tag (name);\nALTER TABLE question ADD "
                                     "note;\n-- migrate:down\nDROP TABLE tag;\nDROP TABLE IF EXISTS legacy;\n"
                                     "ALTER TABLE question DROP note;\nALTER TABLE question DROP question_text;\n"
                                     "DROP TABLE \"Question\";\n")
        self.project.write_migration("0003_y", "-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE IF EXISTS tag;\n")
        check = lambda db: [line for line in migrate.check(db, models=self.project.models_path,
                                                           directory=self.project.directory)
                            if not line.startswith("models differ")]
        expected = ["migration 0002_x: its down section drops column question.question_text, table question, which "
                    "the migrations before it made: a revert would delete them and the data, so revert refuses it: "
                    "fix the down section",
                    "migration 0003_y: its down section drops table tag, which the migrations before it made: a "
                    "revert would delete it and the data, so revert refuses it: fix the down section"]
        self.assertEqual(check(None), expected)
        self.project.apply()
        self.assertEqual(check(self.project.db), expected)

    def test_revert_to_a_target_not_applied_yet_or_the_latest_applied_says_what_to_run(self):
        self.project.write_migration("0002_z", "-- migrate:up\nCREATE TABLE z (a);\n-- migrate:down\nDROP TABLE z;\n")
        self.run_ok("apply", "1")
        self.assertIn("No migrations to revert (0002_z is not applied yet: apply 2 goes forward to it).",
                      self.run_ok("revert", "2"))
        self.assertIn("No migrations to revert (0001_initial is the latest applied and stays applied: revert "
                      "TARGET reverts what comes after TARGET; to revert 0001_initial itself, run revert without a "
                      "target).\n", self.run_ok("revert", "1"))  # as Alembic's or dbmate's users may have meant

    def test_warnings_go_to_stderr_also_when_quiet_and_a_possible_rename_is_pointed_out(self):
        self.project.models(POLLS.replace("question_text: str", "text: str = ''"))
        result = self.project.cli("make", "-q", "--no-input")  # no terminal: nobody to ask
        self.assertEqual((result.returncode, result.stdout), (0, ""), result.stderr)
        self.assertEqual(result.stderr.splitlines(), [
            "    WARNING: drops column question.question_text and its data",
            "    WARNING: drops question.question_text and adds question.text: if it was renamed, make the "
            "migration with --rename question.question_text=text instead (delete one made without it: it loses "
            "the data)"])
        written = [name for name in self.project.files() if name.startswith("0002_")]
        self.assertNotIn("--rename", self.project.read(written[0]))  # a hint for now, not for the file
        result = self.project.cli("make", "--rename", "question.question_text=text")  # not deleted yet
        self.assertEqual((result.returncode, result.stderr), (1, "error: --rename question.question_text=text "
                         "matches no table or column that the models remove and add: the migrations have "
                         "question.text already, and no question.question_text: if the latest migration drops one and "
                         "adds the other, delete it and make it again with this --rename; nothing was written\n"))
        result = self.project.cli("apply", "-q")  # apply says it too, as it drops it (not the advice for make)
        self.assertEqual((result.returncode, result.stderr), (0, "    WARNING: drops column question.question_text "
                                                                 "and its data\n"))

    def test_a_rename_of_a_table_the_latest_migration_dropped_and_added_says_to_make_that_again(self):
        project = Project(self)
        project.models("@dataclass\nclass Tag:\n    name: str = ''\n    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Label:\n    name: str = ''\n    id: Optional[int] = None\n")
        project.make()  # no one asked: a drop and an add
        with self.assertRaisesRegex(migrate.MigrateError, r"^--rename tag=label matches no table or column that the "
                                    r"models remove and add: the migrations have label already, and no tag: if the "
                                    r"latest migration drops one and adds the other, delete it and make it again "
                                    r"with this --rename; nothing was written$"):
            project.make(questioner=migrate.Questioner(renames=["tag=label"]))
        os.remove(os.path.join(project.directory, project.files()[-1]))
        with self.assertRaisesRegex(migrate.MigrateError, r"^--rename label=tag matches no table or column that the "
                                    r"models remove and add: the migrations have tag and the models label, so the "
                                    r"answer is the other way round: pass --rename tag=label; nothing was written$"):
            project.make(questioner=migrate.Questioner(renames=["label=tag"]))
        self.assertEqual(project.make(questioner=migrate.Questioner(renames=["tag=label"])).operations,
                         ("~ Rename table tag to label",))
        project.models("@dataclass\nclass Label:\n    title: str = ''\n    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"the migrations have label.name and the models "
                                    r"label.title, so the answer is the other way round: pass --rename "
                                    r"label.name=title;"):
            project.make(questioner=migrate.Questioner(renames=["label.title=name"]))

    def test_revert_says_what_the_down_section_warns_of(self):
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    votes: int = 0"))
        self.run_ok("make")
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    votes: str = '0'"))
        result = self.project.cli("make")
        self.assertIn("    WARNING: reverting narrows question.votes from TEXT to INTEGER: values may change",
                      result.stderr)
        self.run_ok("apply")
        result = self.project.cli("revert", "--fake")  # recorded only: nothing is narrowed or dropped
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.run_ok("apply", "--fake")
        result = self.project.cli("revert", "zero")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.splitlines(), [
            "    WARNING: narrows question.votes from TEXT to INTEGER: values may change (text that reads as a "
            "number becomes that number; other text is kept as it is)",
            "    WARNING: drops column question.votes and its data",
            "    WARNING: drops table question and its rows"])

    def test_sql_prints_either_section(self):
        self.assertIn('CREATE TABLE "question"', self.run_ok("sql", "1"))
        self.assertEqual(self.run_ok("sql", "0001_initial", "--down"),
                         '-- WARNING: drops table question and its rows\nDROP TABLE "question";\n')
        self.assertIn("no migration '9' in migrations (known: 0001_initial)\n", self.project.cli("sql", "9").stderr)
        self.project.write_migration("0002_by_hand", "-- migrate:up\nCREATE TABLE t (x);\n")
        self.assertEqual(self.project.cli("sql", "2", "--down").stderr, "error: migration 0002_by_hand has no down "
                         "section, so it cannot be reverted: end its file with a `-- migrate:down` line and the SQL "
                         "that undoes it\n")
        self.assertEqual(self.run_ok("sql", os.path.join("migrations", "0001_initial.sql"), "--down"),
                         self.run_ok("sql", "0001_initial", "--down"))  # the file, as a shell completes it

    def test_sql_of_a_rebuild_says_to_run_it_with_foreign_keys_off(self):
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    votes: int = 0"))
        self.run_ok("make")
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    votes: str = '0'"))
        self.run_ok("make")  # a new type: a rebuild
        note = "-- To run this by hand, do as apply does: PRAGMA foreign_keys = OFF before BEGIN"
        self.assertTrue(self.run_ok("sql", "3").startswith(note))
        self.assertIn("-- Then record what you ran with apply --fake (it runs nothing).\n", self.run_ok("sql", "3"))
        self.assertTrue(self.run_ok("apply", "--dry-run").startswith(note))
        self.assertNotIn(note, self.run_ok("sql", "2") + self.run_ok("apply", "2", "--dry-run"))  # ADD COLUMN

    def test_dry_run_lists_sql_and_changes_nothing(self):
        out = self.run_ok("apply", "--dry-run")
        self.assertIn("-- Apply 0001_initial", out)
        self.assertIn('CREATE TABLE "question"', out)
        self.assertFalse(os.path.exists(self.project.db))
        self.run_ok("apply")
        out = self.run_ok("revert", "--plan")
        self.assertIn("-- Revert 0001_initial", out)
        self.assertIn('DROP TABLE "question";', out)
        self.assertEqual(len(self.project.schema_sql()), 1)

    def test_dry_run_refuses_what_apply_refuses(self):
        self.run_ok("apply")
        path = os.path.join(self.project.directory, "0001_initial.sql")
        with open(path, "a") as handle:
            handle.write("SELECT 'reviewed';\n")
        self.project.write_migration("0002_tx", "-- migrate:up\nBEGIN;\nCREATE TABLE t (x);\nCOMMIT;\n")
        for option in ("--dry-run", "--plan"):
            result = self.project.cli("apply", option)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn("0001_initial.sql changed since it was applied", result.stderr)
        result = self.project.cli("apply", "--plan", "--allow-changed")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("migration 0002_tx: BEGIN", result.stderr)
        self.project.write_migration("0002_tx", "-- migrate:up\nCREATE TABLE t (x);\n")
        self.assertIn("-- Apply 0002_tx\nCREATE TABLE t (x);", self.run_ok("apply", "--plan", "--allow-changed"))
        self.assertEqual(self.run_ok("apply", "--plan", "--allow-changed", "--fake"),
                         "-- Record the edited 0001_initial (--allow-changed): its new checksum and down section\n\n"
                         "-- Apply 0002_tx (recorded only: nothing to run)\n\n")
        self.assertIn("-- Apply 0001_initial\nCREATE TABLE", self.run_ok("apply", "--plan", "--fake-initial",
                                                                          "--db", "nosuch.sqlite3"))

    def test_apply_check_exits_one_while_migrations_are_pending_and_changes_nothing(self):
        result = self.project.cli("apply", "--check", "-q")  # a deploy gate shows why even when quiet
        self.assertEqual((result.returncode, result.stdout),
                         (1, "db.sqlite3 is not up to date: 1 migration to run:\n  Apply 0001_initial\n"))
        self.assertFalse(os.path.exists(self.project.db))
        result = self.project.cli("apply", "--check", "--dry-run")
        self.assertEqual((result.returncode, result.stderr), (1, "db.sqlite3 is not up to date: 1 migration to run\n"))
        self.assertIn("-- Apply 0001_initial\nCREATE TABLE", result.stdout)
        self.run_ok("apply")
        self.assertEqual(self.run_ok("apply", "--check"), "db.sqlite3 is up to date: no migrations to apply.\n")
        self.assertEqual(self.run_ok("apply", "--check", "--dry-run"), "Nothing to do.\n")
        self.assertEqual(self.run_ok("apply", "--dry-run", "-q"), "")  # -q: the SQL only, and there is none
        self.project.write_migration("0002_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        self.project.write_migration("0003_u", "-- migrate:up\nCREATE TABLE u (x);\n-- migrate:down\nDROP TABLE u;\n")
        before = self.project.schema_sql()
        result = self.project.cli("apply", "--check")
        self.assertEqual((result.returncode, result.stdout.splitlines()[1:]),
                         (1, ["  Apply 0002_t", "  Apply 0003_u"]), result.stderr)
        self.run_ok("apply")
        result = self.project.cli("apply", "--check", "0002")  # a target: reverts pending too
        self.assertEqual((result.returncode, result.stdout.splitlines()[1:]), (1, ["  Revert 0003_u"]))
        result = self.project.cli("apply", "--check", "--dry-run", "0002")
        self.assertEqual((result.returncode, result.stdout), (1, "-- Revert 0003_u\nDROP TABLE u;\n\n"))
        self.assertEqual(len(self.project.schema_sql()), len(before) + 2)
        with open(os.path.join(self.project.directory, "0003_u.sql"), "a") as handle:
            handle.write("SELECT 'edited';\n")
        result = self.project.cli("apply", "--check")  # what apply would refuse is an error, as always
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("0003_u.sql changed since it was applied", result.stderr)
        result = self.project.cli("apply", "--check", "--allow-changed")  # the run would write its checksum
        self.assertEqual((result.returncode, result.stdout), (1, "db.sqlite3 is not up to date: 1 edited file to "
                                                                 "record:\n  Record the edited 0003_u (--allow-changed)\n"))
        self.assertEqual(self.run_ok("apply", "--dry-run", "--allow-changed"), "-- Record the edited 0003_u "
                         "(--allow-changed): its new checksum and down section\n\n")
        self.assertEqual(self.run_ok("apply", "--allow-changed").splitlines()[-3:-1],  # (the last: the models lack t, u)
                         ["  Recorded the edited 0003_u as it is now (--allow-changed)", "  No migrations to apply."])
        self.assertEqual(self.run_ok("apply", "--check", "--allow-changed"),
                         "db.sqlite3 is up to date: no migrations to apply.\n")
        self.project.write_migration("0004_v", "-- migrate:up\nCREATE TABLE v (x);\n")
        result = self.project.cli("apply", "--check", "--fake")
        self.assertEqual((result.returncode, result.stdout.splitlines()[1:]),
                         (1, ["  Apply 0004_v (recorded only: nothing to run)"]))
        with open(os.path.join(self.project.directory, "0003_u.sql"), "a") as handle:
            handle.write("SELECT 'edited again';\n")
        self.project.write_migration("0005_broken", "-- migrate:up\nSELECT * FROM nope;\n")
        for options, recorded in ((["--atomic"], False), ([], True)):  # recorded with the first COMMIT only
            result = self.project.cli("apply", "--allow-changed", *options)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertEqual("Recorded the edited 0003_u" in result.stdout, recorded, result.stdout)
            self.assertEqual(self.project.cli("apply", "--check").returncode, 1)

    def test_revert_of_a_database_that_does_not_exist_says_so_and_checks_the_target(self):
        result = self.project.cli("revert", "9999", "--db", "nosuch.sqlite3")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("unknown migration '9999'", result.stderr)
        self.assertIn("No migrations to revert (database nosuch.sqlite3 does not exist).",
                      self.run_ok("revert", "--db", "nosuch.sqlite3"))
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "nosuch.sqlite3")))

    def test_status_json_and_verbose_times(self):
        self.run_ok("apply")
        data = json.loads(self.run_ok("status", "--json"))
        self.assertEqual((data["applied"], data["pending"]), (1, 0))
        self.assertEqual(data["migrations"][0]["name"], "0001_initial")
        self.assertRegex(self.run_ok("status", "-v"), r"\[X\] 0001_initial  \(applied 20\d\d-")

    def test_schema_dump_recreates_the_database(self):
        self.run_ok("apply")
        dump = self.run_ok("schema")
        copy = sqlite3.connect(os.path.join(self.project.root, "copy.db"))
        copy.executescript(dump)
        copy.close()
        self.assertEqual(normalised_schema(os.path.join(self.project.root, "copy.db")), self.project.schema_sql())
        self.assertEqual(self.run_ok("dump"), dump)

    def test_check_reports_missing_migrations_edited_files_and_drift(self):
        self.assertIn("OK: models and migrations agree (no database at db.sqlite3 to compare)", self.run_ok("check"))
        self.run_ok("apply")
        self.assertIn("OK", self.run_ok("check"))
        self.project.execute("ALTER TABLE question ADD COLUMN sneaky TEXT", "CREATE VIEW v AS SELECT 1",
                             "CREATE VIRTUAL TABLE search USING fts5(text)")
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("database drift: column question.sneaky: in the database, not in its applied migrations",
                      result.stdout)
        self.assertIn("database drift: view v: in the database, not in its applied migrations", result.stdout)
        self.assertIn("database drift: virtual table search: in the database, not in its applied migrations",
                      result.stdout)
        self.project.execute("DROP VIEW v", "ALTER TABLE question DROP COLUMN sneaky", "DROP TABLE search")
        with open(os.path.join(self.project.directory, "0001_initial.sql"), "a") as handle:
            handle.write("SELECT 'an edit';\n")
        self.project.models(POLLS + "    author: Optional[str] = None\n")
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("changed since it was applied", result.stdout)
        self.assertIn("models differ from the migrations (run make): column question.author: "
                      "in the models, not in migrations", result.stdout)

    def test_check_judges_drift_by_the_recorded_up_sql_when_an_applied_file_is_gone_or_edited(self):
        path = self.project.write_migration("0002_author", "-- migrate:up\nALTER TABLE question ADD COLUMN author "
                                            "TEXT;\n-- migrate:down\nALTER TABLE question DROP COLUMN author;\n")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        self.run_ok("apply")
        self.project.execute("ALTER TABLE question ADD COLUMN sneaky TEXT")
        os.remove(path)  # another branch checked out
        result = self.project.cli("check")
        self.assertIn("applied migration 0002_author has no file in migrations", result.stdout)
        self.assertIn("database drift: column question.sneaky: in the database, not in its applied migrations",
                      result.stdout)
        self.assertNotIn("author: in the database", result.stdout)
        edited = text.replace("TEXT;", "TEXT;\nALTER TABLE question ADD COLUMN extra TEXT;", 1)
        self.project.write_migration("0002_author", edited)  # an edit nobody ran
        result = self.project.cli("check")
        self.assertIn("0002_author.sql changed since it was applied", result.stdout)
        self.assertIn("database drift: column question.sneaky", result.stdout)
        self.assertNotIn("database drift: column question.extra", result.stdout)
        self.project.execute("ALTER TABLE question DROP COLUMN sneaky", "ALTER TABLE question ADD COLUMN extra TEXT")
        self.run_ok("apply", "--allow-changed")  # the edit, made by hand, accepted: it is what the database has
        self.project.models(POLLS + "    author: Optional[str] = None\n    extra: Optional[str] = None\n")
        self.assertIn("OK", self.run_ok("check"))
        os.remove(path)  # judged by the accepted edit's up SQL
        self.assertNotIn("drift", self.project.cli("check").stdout)

    def test_a_renamed_applied_file_is_recognised_by_status_and_check_without_echoes_as_drift(self):
        self.project.write_migration("0002_author", "-- migrate:up\nALTER TABLE question ADD COLUMN author TEXT;\n"
                                     "-- migrate:down\nALTER TABLE question DROP COLUMN author;\n")
        self.run_ok("apply")
        os.rename(os.path.join(self.project.directory, "0002_author.sql"),
                  os.path.join(self.project.directory, "0002_add_author.sql"))
        self.assertIn("[X] 0002_author  (file missing: 0002_add_author has its content)", self.run_ok("status"))
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("applied migration 0002_author has no file in migrations (0002_add_author has its content: "
                      "rename it back)", result.stdout)
        self.assertNotIn("drift", result.stdout)

    def test_changed_applied_file_stops_apply_unless_allowed(self):
        self.run_ok("apply")
        with open(os.path.join(self.project.directory, "0001_initial.sql"), "a") as handle:
            handle.write("SELECT 'an edit';\n")
        self.project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        result = self.project.cli("apply")
        self.assertEqual(result.returncode, 1)
        self.assertIn("0001_initial.sql changed since it was applied", result.stderr)
        self.assertIn("(file changed since applied)", self.run_ok("status"))
        self.run_ok("apply", "--allow-changed")
        self.assertNotIn("changed", self.run_ok("status"))

    def test_an_applied_file_edited_in_its_comments_and_spacing_only_is_no_change(self):
        self.run_ok("apply")
        path = os.path.join(self.project.directory, "0001_initial.sql")
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:  # a reviewer's note, a typo fixed in a comment, statements re-indented
            handle.write("-- Reviewed by Ana.\n" + text.replace("CREATE TABLE", "-- the polls\nCREATE  TABLE")
                         + "\n-- nothing more to undo\n")
        self.assertNotIn("changed", self.run_ok("status"))
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree\n")
        self.assertIn("No migrations to apply.", self.run_ok("apply"))
        self.assertEqual(self.run_ok("apply", "--check", "--allow-changed").count("Record the edited"), 0)
        with open(path, "a") as handle:
            handle.write("SELECT 'a statement';\n")  # the down section runs something else now
        self.assertIn("(file changed since applied)", self.run_ok("status"))
        with open(path, "w") as handle:
            handle.write(text)
        view = self.project.write_migration("0002_view", "-- migrate:up\nCREATE VIEW v AS SELECT 1 AS n;\n")
        self.run_ok("apply")
        with open(view, "w") as handle:  # which SQLite refuses: "unrecognized token"
            handle.write("-- migrate:up\nCREATE VIEW v AS SELECT 1AS n;\n")
        self.assertIn("[X] 0002_view  (file changed since applied)", self.run_ok("status"))

    def test_fake_and_fake_initial_adopt_an_existing_database(self):
        conn = sqlite3.connect(self.project.db)
        conn.execute('CREATE TABLE "question" ("question_text" TEXT NOT NULL, "id" INTEGER PRIMARY KEY)')
        conn.execute("INSERT INTO question (question_text) VALUES ('kept')")
        conn.commit()
        conn.close()
        self.assertIn("PRIMARY KEY ) (this database "
                      "has it already: if it was made before migrations, adopt it with apply --fake-initial, which "
                      "records 0001_initial when all its tables exist); it was rolled back", self.project.cli("apply").stderr)
        out = self.run_ok("apply", "--fake-initial")
        self.assertIn("Applying 0001_initial... FAKED", out)
        self.assertEqual(self.project.query("SELECT question_text FROM question"), [("kept",)])
        self.run_ok("revert", "--fake")
        self.assertEqual(self.project.query("SELECT question_text FROM question"), [("kept",)])
        self.project.execute("ALTER TABLE question ADD COLUMN other TEXT")
        result = self.project.cli("apply", "--fake-initial")
        self.assertEqual(result.returncode, 1)
        self.assertIn("does not match 0001_initial", result.stderr)
        self.project.execute("ALTER TABLE question DROP COLUMN other")
        self.run_ok("apply", "--fake-initial")
        for target in ("zero", "0001"):  # a target that reverts: --fake-initial only adopts
            self.project.write_migration("0002_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
            self.run_ok("apply")
            result = self.project.cli("apply", "--fake-initial", target)
            self.assertEqual((result.returncode, result.stderr.count("\n")), (1, 1), result.stderr)
            self.assertIn("error: --fake-initial records the initial migration of a database that has its tables, "
                          f"and target {target} reverts ", result.stderr)
            self.assertEqual(self.project.query("SELECT count(*) FROM t UNION ALL SELECT question_text FROM question"),
                             [(0,), ("kept",)], "nothing was reverted")

    def test_fake_initial_says_how_the_foreign_keys_differ_and_what_to_do(self):
        self.project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n"
                                     "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id) "
                                     "ON DELETE CASCADE);\n")
        self.project.execute("CREATE TABLE a (id INTEGER PRIMARY KEY)",  # as Django makes them: no CASCADE
                             "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))")
        refused = self.project.cli("apply", "--fake-initial")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("does not match 0001_initial (foreign keys of b differ (the database -> 0001_initial: (a_id) "
                      "REFERENCES a (id) -> (a_id) REFERENCES a (id) ON DELETE CASCADE)): make them match by hand "
                      "(the database, or 0001_initial before any database applied it), or adopt it with --fake",
                      refused.stderr)

    def test_an_index_of_one_name_defined_otherwise_is_one_difference_not_two(self):
        self.project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE a (id INTEGER PRIMARY KEY, n TEXT);\n"
                                     "CREATE UNIQUE INDEX a_n ON a (n, id) WHERE n IS NOT NULL;\n")
        self.project.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, n TEXT)", "CREATE UNIQUE INDEX a_n ON a (n, id)")
        refused = self.project.cli("apply", "--fake-initial")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("does not match 0001_initial (index a_n on a is defined otherwise in the database than in "
                      "0001_initial): make them match", refused.stderr)

    def test_fake_initial_refuses_a_database_without_the_views_and_triggers_of_the_initial_migration(self):
        self.project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE p (a TEXT);\nCREATE TABLE log (m);\n"
                                     "CREATE TRIGGER p_log AFTER INSERT ON p BEGIN INSERT INTO log VALUES (1); END;\n"
                                     "CREATE VIEW pv AS SELECT a FROM p;\n-- migrate:down\nDROP VIEW pv;\n"
                                     "DROP TABLE log;\nDROP TABLE p;\n")
        self.project.execute("CREATE TABLE p (a TEXT)", "CREATE TABLE log (m)",
                             "CREATE VIEW pv AS SELECT a, a FROM p")
        refused = self.project.cli("apply", "--fake-initial")
        self.assertIn("does not match 0001_initial (view pv is defined otherwise; trigger p_log is missing)",
                      refused.stderr)
        self.assertEqual(refused.returncode, 1)
        self.project.execute("DROP VIEW pv", "CREATE VIEW pv AS SELECT a FROM p",
                             "CREATE TRIGGER p_log AFTER INSERT ON p BEGIN INSERT INTO log VALUES (1); END")
        self.assertIn("Applying 0001_initial... FAKED", self.run_ok("apply", "--fake-initial"))

    def test_fake_initial_reads_double_quoted_text_as_sqlite_rewrites_it(self):
        # a database that has run a RENAME COLUMN or DROP COLUMN holds 'x' where its files say "x"
        self.project.write_migration("0001_initial", '-- migrate:up\nCREATE TABLE p (a TEXT);\nCREATE VIEW pv AS '
                                     'SELECT a FROM p WHERE a != "x";\nANALYZE;\nCREATE VIEW stats AS SELECT * FROM '
                                     'sqlite_stat1;\n-- migrate:down\nDROP VIEW stats;\nDROP VIEW pv;\nDROP TABLE p;\n')
        self.project.execute("CREATE TABLE p (a TEXT, gone)", 'CREATE VIEW pv AS SELECT a FROM p WHERE a != "x"',
                             "ALTER TABLE p DROP COLUMN gone", "ANALYZE",
                             "CREATE VIEW stats AS SELECT * FROM sqlite_stat1")  # (a view no copy can make)
        self.assertEqual(self.project.query("SELECT sql FROM sqlite_master WHERE name = 'pv'"),
                         [("CREATE VIEW pv AS SELECT a FROM p WHERE a != 'x'",)])
        self.assertIn("Applying 0001_initial... FAKED", self.run_ok("apply", "--fake-initial"))

    def test_check_sees_a_name_in_double_quotes_made_text(self):
        # "total" names the subquery's column, 'total' is text: another view, quotes aside
        self.project.write_migration("0002_counts", '-- migrate:up\nCREATE VIEW counts AS SELECT "total" FROM '
                                     '(SELECT count(*) AS "total" FROM question);\n-- migrate:down\nDROP VIEW counts;\n')
        self.run_ok("apply")
        self.project.execute("DROP VIEW counts", "CREATE VIEW counts AS SELECT 'total' FROM (SELECT count(*) AS "
                                                 "\"total\" FROM question)")
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("database drift: view counts in the database differs from its applied migrations", result.stdout)

    def test_a_database_adopted_keeps_its_index_names_when_the_models_name_them(self):
        self.project.execute('CREATE TABLE "question" ("question_text" TEXT NOT NULL, "id" INTEGER PRIMARY KEY)',
                             'CREATE INDEX "idx_question_text" ON "question" ("question_text")')
        os.remove(os.path.join(self.project.directory, "0001_initial.sql"))
        self.project.models(POLLS + '    __indexes__ = {"idx_question_text": "question_text"}\n')
        self.run_ok("make")
        self.assertIn('CREATE INDEX "idx_question_text" ON "question" ("question_text");',
                      self.project.read("0001_initial.sql"))
        self.assertIn("Applying 0001_initial... FAKED", self.run_ok("apply", "--fake-initial"))
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree\n")

    def test_fake_initial_adopts_a_dump_pasted_into_the_initial_migration(self):
        # `sqlite3 .dump` output has PRAGMA/BEGIN/COMMIT, which only a migration that runs may not have
        self.project.write_migration("0001_initial", "-- migrate:up\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
                                     "CREATE TABLE item (qty INTEGER NOT NULL, id INTEGER PRIMARY KEY);\n"
                                     "COMMIT;\n-- migrate:down\nDROP TABLE item;\n")
        self.project.execute("CREATE TABLE item (qty INTEGER NOT NULL, id INTEGER PRIMARY KEY)")
        self.assertIn("Applying 0001_initial... FAKED", self.run_ok("apply", "--fake-initial"))
        os.remove(self.project.models_path)
        self.project.models("@dataclass\nclass Item:\n    qty: int\n    id: Optional[int] = None\n")
        self.assertEqual(self.project.cli("check", "--db", "none.sqlite3").returncode, 0)  # CI: the dump is fine
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree\n")

    def test_check_without_models_compares_the_migrations_and_the_database_alone(self):
        project = Project(self)  # SQL written by hand, as with dbmate: no models.py
        project.write_migration("0001_users", "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n"
                                "-- migrate:down\nDROP TABLE users;\n")
        result = project.cli("check")
        self.assertEqual((result.returncode, result.stderr), (1, "error: models file models.py not found: create it, "
                         "pass --models PATH, or pass --no-models to check the migrations and the database alone\n"))
        self.assertEqual(project.cli("check", "--no-models").stdout,
                         "OK: the migrations are sound (no database at db.sqlite3 to compare)\n")
        self.assertEqual(project.cli("apply", "-q").returncode, 0)
        self.assertEqual(project.cli("check", "--no-models").stdout, "OK: migrations and database agree\n")
        project.execute("ALTER TABLE users ADD COLUMN sneaky TEXT")
        result = project.cli("check", "--no-models")
        self.assertEqual((result.returncode, result.stdout), (1, "database drift: column users.sneaky: in the "
                                                                 "database, not in its applied migrations\n"))
        self.assertEqual(migrate.check(project.db, models=None, directory=project.directory),
                         ["database drift: column users.sneaky: in the database, not in its applied migrations"])
        self.assertEqual(project.cli("check", "--no-models", "--models", "m.py").returncode, 2)

    def test_drift_in_a_table_property_says_what_each_side_has(self):
        def schema(sql):
            with closing(sqlite3.connect(":memory:")) as conn:
                conn.execute(sql)
                return migrate.read_schema(conn)
        actual = schema("CREATE TABLE t (a INTEGER NOT NULL, b TEXT, PRIMARY KEY (a, b), CHECK (a > 0))")
        expected = schema("CREATE TABLE t (a INTEGER NOT NULL PRIMARY KEY, b TEXT, UNIQUE (b))")
        self.assertEqual(migrate.schema_differences(actual, expected, names=("the database", "the files")), [
            "primary key of t differs (the database -> the files: (a, b) -> (a))",
            "unique constraints of t differ (the database -> the files: none -> UNIQUE (b))",
            "table checks of t differ (the database -> the files: CHECK (\"a\" > 0) -> none)"])

    def test_clauses_no_pragma_reports_are_drift_and_a_rebuild_that_drops_them_says_so(self):
        self.project = Project(self)
        self.project.models("@dataclass\nclass P:\n    id: Optional[int] = None\n@dataclass\nclass T:\n"
                            "    p: Optional[P] = None\n    b: str = ''\n    id: Optional[int] = None\n")
        self.run_ok("make")
        self.project.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)",  # as Django makes them
                             "CREATE TABLE t (p_id INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED, "
                             "b TEXT NOT NULL DEFAULT '', id INTEGER PRIMARY KEY, UNIQUE (b, p_id))",
                             "CREATE INDEX t_p_id_idx ON t (p_id)")
        refused = self.project.cli("apply", "--fake-initial")
        self.assertIn("--fake-initial: the database does not match 0001_initial (unique constraints of t differ "
                      "(the database -> 0001_initial: UNIQUE (b, p_id) -> none); "
                      "table t: DEFERRABLE clause in the database, not in 0001_initial)", refused.stderr)
        self.run_ok("apply", "--fake")  # adopted all the same
        self.assertEqual(self.project.cli("check").stdout,
                         "database drift: unique constraints of t differ (the database -> its applied migrations: "
                         "UNIQUE (b, p_id) -> none)\n"
                         "database drift: table t: DEFERRABLE clause in the database, not in its applied migrations\n")
        self.project.models("@dataclass\nclass P:\n    id: Optional[int] = None\n@dataclass\nclass T:\n"
                            "    p: Optional[P] = None\n    b: str = 'z'\n    id: Optional[int] = None\n")
        self.run_ok("make")  # 0002 rebuilds t for the new default
        result = self.project.cli("apply")
        self.assertIn("WARNING: the rebuild of t left out its DEFERRABLE clause, which the database had and the "
                      "migrations do not write", result.stderr)
        self.assertIn("WARNING: the rebuild of t left out its UNIQUE constraint (b, p_id), which the database had and "
                      "the migrations do not make", result.stderr)

    def test_a_rebuild_that_keeps_a_unique_constraint_as_a_unique_index_does_not_warn(self):
        self.project = Project(self)
        model = "@dataclass\nclass T:\n    slug: str = field(default='', metadata={{'unique': True}})\n    b: {b}\n"
        self.project.models(model.format(b="str = ''"))
        self.run_ok("make")
        self.project.execute("CREATE TABLE t (slug TEXT NOT NULL DEFAULT '' UNIQUE, b TEXT NOT NULL DEFAULT '')")
        self.run_ok("apply", "--fake")  # as Django writes unique=True: inline
        self.project.models(model.format(b="Optional[str] = None"))
        self.run_ok("make")  # 0002 rebuilds t
        result = self.project.cli("apply")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("UNIQUE", result.stderr)

    def test_a_table_made_elsewhere_is_no_drift_once_an_unmanaged_model_describes_it(self):
        self.run_ok("apply")
        self.project.execute("CREATE TABLE auth_group (id INTEGER PRIMARY KEY, name TEXT)",
                             "CREATE TRIGGER auth_group_touch AFTER INSERT ON auth_group BEGIN SELECT 1; END")
        result = self.project.cli("check")
        self.assertEqual(result.stdout.splitlines(), [
            "database drift: table auth_group: in the database, not in its applied migrations",
            "database drift: trigger auth_group_touch: in the database, not in its applied migrations"])
        self.project.models(POLLS + "@dataclass\nclass AuthGroup:\n    __tablename__ = 'Auth_Group'\n"
                            "    __managed__ = False\n    name: str = ''\n    id: Optional[int] = None\n")
        self.assertEqual(self.run_ok("check"), "OK: models, migrations and database agree\n")

    def test_a_primary_key_desc_that_is_not_an_integer_rowid_key_is_no_clause_to_report(self):
        for sql in ("CREATE TABLE t (code TEXT PRIMARY KEY DESC, x)", "CREATE TABLE t (id INTEGER(10) PRIMARY KEY DESC)",
                    "CREATE TABLE t (id INTEGER UNSIGNED PRIMARY KEY DESC)",
                    "CREATE TABLE t (id INTEGER PRIMARY KEY DESC, x) WITHOUT ROWID"):
            with self.subTest(sql=sql):
                self.assertEqual(migrate._clauses(migrate._tokenize(sql)), set())
        for sql in ("CREATE TABLE t (x, id INTEGER NOT NULL PRIMARY KEY DESC)",
                    "CREATE TABLE t (x, id INTEGER CHECK (id IN (1, 2)) PRIMARY KEY DESC)"):
            self.assertEqual(migrate._clauses(migrate._tokenize(sql)), {"PRIMARY KEY DESC clause"}, sql)

    def test_an_integer_primary_key_desc_is_drift_since_it_is_no_rowid_alias(self):
        self.project = Project(self)
        self.project.models("@dataclass\nclass Item:\n    name: Optional[str] = None\n    id: Optional[int] = None\n")
        self.run_ok("make")
        self.project.execute("CREATE TABLE item (name TEXT, id INTEGER PRIMARY KEY DESC)",
                             "INSERT INTO item (name) VALUES ('a')")  # its id stays NULL
        refused = self.project.cli("apply", "--fake-initial")
        self.assertIn("table item: PRIMARY KEY DESC clause in the database, not in 0001_initial", refused.stderr)
        self.run_ok("apply", "--fake")
        self.assertEqual(self.project.cli("check").stdout, "database drift: table item: PRIMARY KEY DESC clause in "
                         "the database, not in its applied migrations\n")
        self.project.models("@dataclass\nclass Item:\n    name: str = ''\n    id: Optional[int] = None\n")
        self.run_ok("make")  # 0002 rebuilds item
        self.assertIn("WARNING: the rebuild of item left out its PRIMARY KEY DESC clause, which the database had and "
                      "the migrations do not write: its key is the rowid now, and a key that was NULL got a number\n",
                      self.project.cli("apply").stderr)
        self.assertEqual(self.project.query("SELECT id, name FROM item"), [(1, "a")])

    def test_a_unique_constraints_collation_is_compared_per_constraint_and_names_without_case(self):
        def differences(actual, expected):
            schemas = []
            for sql in (actual, expected):
                with closing(sqlite3.connect(":memory:")) as conn:
                    conn.execute(sql)
                    schemas.append(migrate.read_schema(conn))
            return migrate._clause_differences(*schemas, ("the database", "the files"))
        self.assertEqual(differences("CREATE TABLE t (Email TEXT, UNIQUE (Email COLLATE NOCASE))",
                                     "CREATE TABLE t (email TEXT, UNIQUE (email COLLATE NOCASE))"), [])
        self.assertEqual(differences("CREATE TABLE t (a, b, c, UNIQUE (a COLLATE NOCASE, b), UNIQUE (a, c))",
                                     "CREATE TABLE t (a, b, c, UNIQUE (a, b), UNIQUE (a COLLATE NOCASE, c))"), [
            "table t: UNIQUE (a COLLATE NOCASE, b) in the database, not in the files",
            "table t: UNIQUE (a COLLATE NOCASE, c) in the files, not in the database"])
        self.assertEqual(differences("CREATE TABLE t (a TEXT COLLATE NOCASE, UNIQUE (a COLLATE NOCASE))",
                                     "CREATE TABLE t (a TEXT COLLATE NOCASE, UNIQUE (a))"), [])  # its own: the same

    def test_a_unique_constraints_own_collation_is_drift_and_a_rebuild_that_drops_it_says_so(self):
        self.project = Project(self)
        model = ("@dataclass\nclass User:\n    email: str = field(default={default!r}, metadata={{'unique': True}})\n"
                 "    id: Optional[int] = None\n")
        self.project.models(model.format(default=""))
        self.project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE user (email TEXT NOT NULL DEFAULT "
                                     "'', id INTEGER PRIMARY KEY, UNIQUE (email));\n"
                                     "-- migrate:down\nDROP TABLE user;\n")
        self.project.execute("CREATE TABLE user (email TEXT NOT NULL DEFAULT '', id INTEGER PRIMARY KEY, "
                             "UNIQUE (email COLLATE NOCASE))", "INSERT INTO user (email) VALUES ('Ann@x')")
        refused = self.project.cli("apply", "--fake-initial")
        self.assertIn("table user: UNIQUE (email COLLATE NOCASE) in the database, not in 0001_initial", refused.stderr)
        self.run_ok("apply", "--fake")
        self.assertEqual(self.project.cli("check").stdout, "database drift: table user: UNIQUE (email COLLATE NOCASE) "
                         "in the database, not in its applied migrations\n")
        self.project.models(model.format(default="?"))
        self.run_ok("make")  # 0002 rebuilds user for the new default, with the UNIQUE (email) the files made
        self.assertIn("WARNING: the rebuild of user left out its UNIQUE constraint (email COLLATE NOCASE), which the "
                      "database had and the migrations do not make", self.project.cli("apply").stderr)
        self.project.execute("INSERT INTO user (email) VALUES ('ann@x')")  # as the warning says: no longer a clash

    def test_atomic_apply_reports_each_migration_once(self):
        self.project.write_migration("0002_a", "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n")
        self.project.write_migration("0003_b", "-- migrate:up\nCREATE TABLE b (x);\n-- migrate:down\nDROP TABLE b;\n")
        out = self.run_ok("apply", "--atomic")
        for name in ("0001_initial", "0002_a", "0003_b"):
            self.assertEqual(len(re.findall(rf"Applying {name}\.\.\.", out)), 1, out)
        self.assertIn("Committed 3 migrations in one transaction... OK", out)
        out = self.run_ok("apply", "1", "--atomic")
        self.assertIn("Target specific migration: 0001_initial\n", out)  # the name, as Django says it
        self.assertIn("Unapplying 0003_b...\n  Unapplying 0002_a...\n  Committed 2 migrations in one transaction... OK", out)
        out = self.run_ok("apply", "--atomic", "0002")  # one alone: its own OK
        self.assertEqual((out.count("OK"), out.count("Committed")), (1, 0), out)
        self.assertIn("Revert every migration after 0001_initial\n", self.run_ok("revert", "1"))
        out = self.run_ok("apply", "+1")  # Alembic's relative targets
        self.assertIn("  Apply the next migration\nRunning migrations:\n  Applying 0002_a... OK", out)
        out = self.run_ok("revert", "-2")
        self.assertIn("  Revert the last 2 migrations\nRunning migrations:\n  Unapplying 0002_a... OK", out)

    def test_atomic_revert_is_all_or_nothing(self):
        self.project.write_migration("0002_a", "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\n"
                                     "SELECT * FROM nowhere;\n")  # fails, after 0003's revert ran
        self.project.write_migration("0003_b", "-- migrate:up\nCREATE TABLE b (x);\n-- migrate:down\nDROP TABLE b;\n")
        self.run_ok("apply")
        self.project.execute("INSERT INTO b VALUES ('keep me')")
        before = table_dump(self.project.db)
        result = self.project.cli("revert", "-2", "--atomic")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("no such table: nowhere", result.stderr)
        self.assertNotIn("stays reverted", result.stderr)
        self.assertEqual(table_dump(self.project.db), before)  # 0003_b's revert undone with it: b and its row
        self.project.write_migration("0002_a", "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n")
        self.run_ok("apply", "--allow-changed")
        out = self.run_ok("revert", "1", "--atomic")
        self.assertIn("Unapplying 0003_b...\n  Unapplying 0002_a...\n  Committed 2 migrations in one transaction... OK",
                      out)
        self.assertEqual([s.name for s in migrate.revert(self.project.db, directory=self.project.directory,
                                                         atomic=True)], ["0001_initial"])

    def test_backup_snapshots_before_applying(self):
        self.run_ok("apply")
        self.project.execute("INSERT INTO question (question_text) VALUES ('precious')")
        self.project.write_migration("0002_oops", "-- migrate:up\nDELETE FROM question;\n-- migrate:down\n")
        self.run_ok("apply", "--backup", "before.sqlite3")
        self.assertEqual(self.project.query("SELECT count(*) FROM question"), [(0,)])
        saved = os.path.join(self.project.root, "before.sqlite3")
        self.assertEqual(table_dump(saved)["question"], [(1, "precious", 1)])
        self.assertIn("already exists", self.project.cli("apply", "--backup", "before.sqlite3").stderr)
        for preview in ("--dry-run", "--check"):  # refused as the run would refuse it
            result = self.project.cli("apply", preview, "--backup", "before.sqlite3")
            self.assertEqual((result.returncode, result.stdout), (1, ""), result.stderr)
            self.assertIn("backup file before.sqlite3 already exists", result.stderr)
        self.assertEqual([name for name in os.listdir(self.project.root) if "before" in name], ["before.sqlite3"])
        self.assertEqual(os.stat(saved).st_mode & 0o777, os.stat(self.project.db).st_mode & 0o777)
        for path, error in (("", "backup path is given as ''"), ("no/such/folder/b.sqlite3", "folder .* does not exist"),
                            ("migrations/0001_initial.sql/b.sqlite3", "0001_initial.sql is a file, not a folder")):
            result = self.project.cli("apply", "--backup", path)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertRegex(result.stderr, error)

    def test_refused_run_leaves_no_backup_and_revert_can_back_up(self):
        self.run_ok("apply")
        self.project.write_migration("0002_vacuum", "-- migrate:up\nVACUUM;\n-- migrate:down\n")
        refused = self.project.cli("apply", "--backup", "before.sqlite3")
        self.assertEqual(refused.returncode, 1, refused.stdout)
        self.assertIn("VACUUM", refused.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "before.sqlite3")), refused.stderr)
        os.remove(os.path.join(self.project.root, "migrations", "0002_vacuum.sql"))
        self.project.execute("INSERT INTO question (question_text) VALUES ('kept')")
        out = self.run_ok("revert", "--backup", "before.sqlite3")
        self.assertIn("Backed up db.sqlite3 to before.sqlite3", out)
        self.assertEqual(table_dump(os.path.join(self.project.root, "before.sqlite3"))["question"], [(1, "kept", 1)])

    def test_a_backup_into_the_databases_own_journal_is_refused(self):
        self.project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE more (x);\n-- migrate:down\n")
        for suffix in ("-journal", "-wal", "-shm"):
            result = self.project.cli("apply", "--backup", "db.sqlite3" + suffix)
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"backup file db.sqlite3{suffix} is where SQLite keeps the journal of db.sqlite3",
                          result.stderr)
        self.assertEqual(self.project.status()[1].applied, False)
        conn = sqlite3.connect(self.project.db)  # the library, given a connection: the file it has open
        self.addCleanup(conn.close)
        for call in (lambda path: migrate.backup(conn, path),
                     lambda path: migrate.apply(conn, directory=self.project.directory, backup=path)):
            with self.assertRaisesRegex(migrate.MigrateError, r"^backup file .*db.sqlite3-journal is where SQLite "
                                        r"keeps the journal of .*db.sqlite3, which"):
                call(self.project.db + "-journal")
        self.assertFalse(os.path.exists(self.project.db + "-journal"))
        self.assertEqual(self.project.status()[1].applied, False)
        in_memory = sqlite3.connect(":memory:")  # inside a transaction: no file for another connection to copy
        self.addCleanup(in_memory.close)
        in_memory.execute("CREATE TABLE t (x)")
        in_memory.execute("INSERT INTO t VALUES (1)")
        with self.assertRaisesRegex(migrate.MigrateError, "^the connection has an open transaction"):
            migrate.backup(in_memory, os.path.join(self.project.root, "copy.sqlite3"))
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "copy.sqlite3")))

    def test_a_run_that_cannot_get_the_write_lock_leaves_no_backup(self):
        self.run_ok("apply")
        self.project.write_migration("0002_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        writer = sqlite3.connect(self.project.db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            result = self.project.cli("apply", "--backup", "before.sqlite3", "--timeout", "0.2")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("cannot start a write transaction: database is locked", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "before.sqlite3")))
        self.assertIn("Backed up db.sqlite3 to before.sqlite3", self.run_ok("apply", "--backup", "before.sqlite3"))
        saved = normalised_schema(os.path.join(self.project.root, "before.sqlite3"))
        self.assertFalse(any('"t"' in sql for sql in saved), saved)

    def test_backup_of_an_exclusive_connection_and_of_accepted_edits(self):
        self.run_ok("apply")
        conn = sqlite3.connect(self.project.db, isolation_level=None)
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # no second connection can read it: no waiting forever
        self.project.write_migration("0002_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        saved = os.path.join(self.project.root, "exclusive.sqlite3")
        self.assertEqual([s.name for s in migrate.apply(conn, directory=self.project.directory, backup=saved)],
                         ["0002_t"])
        conn.close()
        self.assertFalse(any('"t"' in sql for sql in normalised_schema(saved)))
        with open(os.path.join(self.project.directory, "0002_t.sql"), "a") as handle:
            handle.write("SELECT 'edited';\n")
        out = self.run_ok("apply", "--allow-changed", "--backup", "edits.sqlite3")  # new checksums: a change
        self.assertIn("Backed up db.sqlite3 to edits.sqlite3", out)

    def test_backup_of_a_database_not_created_yet_says_so(self):
        self.assertIn("No migrations to revert (database db.sqlite3 does not exist).",
                      self.run_ok("revert", "--backup", "before.sqlite3"))
        out = self.run_ok("apply", "--backup", "before.sqlite3")
        self.assertIn("No backup: db.sqlite3 does not exist yet", out)
        self.assertNotIn("Backed up", out)
        out = self.run_ok("apply", "--backup", "idle.sqlite3")  # nothing to change: nothing to keep
        self.assertIn("No backup: nothing to run\nRunning migrations:\n  No migrations to apply.", out)
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "idle.sqlite3")))
        memory = os.path.join(self.project.root, "memory.sqlite3")  # a new in-memory database: empty
        self.assertFalse(migrate.backup(":memory:", memory))
        self.assertIn("No backup: :memory: is a new database, empty", self.run_ok("apply", "--db", ":memory:",
                                                                              "--backup", memory))
        self.assertFalse(os.path.exists(memory))

    def test_a_run_with_nothing_to_do_creates_no_database(self):
        self.assertIn("No migrations to apply.", self.run_ok("apply", "zero"))
        self.assertIn("No migrations to apply.", self.run_ok("apply", "zero", "--db", "other.sqlite3", "--atomic"))
        self.assertEqual(sorted(os.listdir(self.project.root)), ["migrations", "models.py"])


class Settings(unittest.TestCase):
    def test_command_line_beats_environment_beats_pyproject_beats_default(self):
        project = Project(self)
        project.models(POLLS)
        with open(os.path.join(project.root, "pyproject.toml"), "w") as handle:
            handle.write('[project]\nname = "x"\n\n[tool.migrate]\ndb = "from_file.db"  # comment\n'
                         'dir = "schema"\n')
        self.assertEqual(project.cli("make").returncode, 0)
        self.assertTrue(os.path.isdir(os.path.join(project.root, "schema")))
        project.cli("apply")
        self.assertTrue(os.path.exists(os.path.join(project.root, "from_file.db")))
        project.cli("apply", env={"MIGRATE_DB": "from_env.db"})
        self.assertTrue(os.path.exists(os.path.join(project.root, "from_env.db")))
        project.cli("apply", "--db", "from_cli.db", env={"MIGRATE_DB": "from_env.db"})
        self.assertTrue(os.path.exists(os.path.join(project.root, "from_cli.db")))

    def test_python_without_tomllib_reads_the_same_table(self):
        import migrate
        settings = migrate._read_tool_migrate('[tool.other]\ndb = "no"\n[tool.migrate]\n'
                                              "db = 'a.db'\nmodels = \"app/models.py\"\n", "pyproject.toml")
        self.assertEqual(settings, {"db": "a.db", "models": "app/models.py"})


class TerminalCase(unittest.TestCase):
    def run_on_terminal(self, project, env, command="status"):
        controller, terminal = os.openpty()
        try:
            result = subprocess.run([sys.executable, MIGRATE, command], cwd=project.root, stdout=terminal,
                                    stderr=subprocess.PIPE, env=env, timeout=60)
            output = os.read(controller, 65536).decode()
        finally:
            os.close(controller)
            os.close(terminal)
        self.assertEqual(result.returncode, 0)
        return output


class Colour(TerminalCase):
    def test_colour_only_on_a_terminal_and_never_with_no_color_or_term_dumb(self):
        project = Project(self)
        project.models(POLLS)
        project.cli("make")
        project.cli("apply")
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        self.assertIn("\033[32mX\033[0m", self.run_on_terminal(project, dict(env, TERM="xterm")))
        self.assertNotIn("\033[", self.run_on_terminal(project, dict(env, NO_COLOR="1")))
        self.assertNotIn("\033[", self.run_on_terminal(project, dict(env, TERM="dumb")))
        self.assertNotIn("\033[", project.cli("status").stdout)


class Progress(TerminalCase):
    def test_a_long_statement_shows_a_progress_line_on_a_terminal(self):
        project = Project(self)
        project.write_migration("0001_slow", """\
            -- migrate:up
            CREATE TABLE numbers AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
              WHERE i < 3000000) SELECT i FROM n;
            -- migrate:down
            DROP TABLE numbers;
            """)
        output = self.run_on_terminal(project, dict(os.environ, NO_COLOR="1"), "apply")
        self.assertRegex(output, r"\r  Applying 0001_slow\.\.\. \d+s")
        self.assertIn("OK (", output)
        self.assertNotIn("\r", project.cli("revert").stdout)


if __name__ == "__main__":
    unittest.main()
