"""Runner: apply, revert and status on real SQLite files."""
import collections
import contextlib
import decimal
import json
import os
import pathlib
import re
import signal
import sys
import sqlite3
import subprocess
import threading
import time
import types
import unittest

from tests.support import ROOT, Project, cli_environment, migrate, normalised_schema, table_dump

POLLS = """
@dataclass
class Question:
    question_text: str
    id: Optional[int] = None

@dataclass
class Choice:
    question: Question = field(metadata={"on_delete": "CASCADE"})
    choice_text: str = ""
    votes: int = 0
    id: Optional[int] = None
"""


class ApplyAndRevert(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)
        self.project.models(POLLS)
        self.project.make()

    def test_apply_records_each_migration_and_status_shows_it(self):
        steps = self.project.apply()
        self.assertEqual([(s.name, s.action) for s in steps], [("0001_initial", "apply")])
        rows = self.project.query("SELECT name, checksum, applied_at, down_sql FROM _migrations")
        self.assertEqual(rows[0][0], "0001_initial")
        self.assertEqual(rows[0][1], migrate.read_migrations(self.project.directory)[0].checksum)
        self.assertIn('DROP TABLE "choice"', rows[0][3])
        self.assertEqual([(s.name, s.applied) for s in self.project.status()], [("0001_initial", True)])
        self.assertEqual(self.project.apply(), [])

    def test_apply_revert_apply_round_trip_leaves_the_identical_schema(self):
        self.project.apply()
        first = self.project.schema_sql()
        self.project.revert()
        self.assertEqual(self.project.schema_sql(), [])
        self.project.apply()
        self.assertEqual(self.project.schema_sql(), first)

    def test_targets_apply_up_to_and_revert_down_to(self):
        self.project.models(POLLS.replace("votes: int = 0", "votes: int = 0\n    note: Optional[str] = None"))
        self.project.make()
        self.project.models(POLLS.replace("votes: int = 0", "votes: int = 0\n    note: Optional[str] = None\n"
                                          "    extra: Optional[int] = None"))
        self.project.make()
        applied = lambda: [s.name for s in self.project.status() if s.applied]
        self.project.apply(target="0002")
        self.assertEqual(applied(), ["0001_initial", "0002_add_choice_note"])
        self.project.apply(target="1")
        self.assertEqual(applied(), ["0001_initial"])
        self.project.apply()
        self.project.revert(target="0001_initial")
        self.assertEqual(applied(), ["0001_initial"])
        self.project.apply()
        self.project.revert()
        self.assertEqual(len(applied()), 2)
        self.project.apply(target="zero")
        self.assertEqual(applied(), [])
        with self.assertRaisesRegex(migrate.MigrateError, "unknown migration '7'"):
            self.project.apply(target="7")
        self.project.apply(target="0002_add")  # a prefix of one name, as Django takes it
        self.assertEqual(applied(), ["0001_initial", "0002_add_choice_note"])
        self.assertEqual(migrate.find_migration(self.project.directory, "0003_add_cho").name, "0003_add_choice_extra")
        with self.assertRaisesRegex(migrate.MigrateError, "unknown migration '0002_add_x'"):
            self.project.apply(target="0002_add_x")
        self.project.apply(target="zero")  # relative, as Alembic's downgrade -1 and upgrade +2
        self.assertEqual([s.name for s in self.project.apply(target="+2")], ["0001_initial", "0002_add_choice_note"])
        self.assertEqual([s.name for s in self.project.revert(target="-2")], ["0002_add_choice_note", "0001_initial"])
        with self.assertRaisesRegex(migrate.MigrateError, r'^target -2 is no migration number: a relative target is '
                                    r'text, "-2" \("\+2" to apply\)'):  # (+2 as an int is 2: the number)
            self.project.revert(target=-2)
        for call, target, error in ((self.project.revert, "-1", "target -1: no migration is applied"),
                                    (self.project.apply, "+4", "target \\+4 asks for 4 migrations, and 3 are pending: "
                                                               "give \\+1 to \\+3, or name a migration"),
                                    (self.project.apply, "-0", "unknown migration '-0'.*zero \\(known: [^)]*\\)$"),
                                    (self.project.apply, "+0", "target \\+0 asks for 0 migrations"),
                                    (self.project.apply, "-1", "unknown migration '-1': .*; to revert the last 1, "
                                                               "run revert -1"),
                                    (self.project.revert, "+1", "; to apply the next 1, run apply \\+1"),
                                    (self.project.apply, "+\u0661", "unknown migration")):  # (an ASCII count only)
            with self.subTest(target=target), self.assertRaisesRegex(migrate.MigrateError, error):
                call(target=target)
        self.assertEqual(applied(), [])

    def test_a_relative_target_counts_a_squash_as_status_shows_it(self):
        # all it replaces applied: shown applied, recorded with the next; some: one pending migration
        for applied_before, shown_after in (("0003", [True, True]), ("0001", [True, False])):
            with self.subTest(applied_before=applied_before):
                project = Project(self)
                for number, table in enumerate("abcd", 1):
                    project.write_migration(f"000{number}_{table}", f"-- migrate:up\nCREATE TABLE {table} (x);\n"
                                            f"-- migrate:down\nDROP TABLE {table};\n")
                project.apply(target=applied_before)
                migrate.squash(directory=project.directory, upto="0003")
                project.apply(target="+1")
                self.assertEqual([row.applied for row in project.status()], shown_after)

    def test_read_only_commands_never_create_the_database(self):
        self.assertEqual([s.applied for s in self.project.status()], [False])
        self.assertEqual(self.project.revert(), [])
        self.assertFalse(os.path.exists(self.project.db))

    def test_recorded_down_sql_is_used_when_the_file_is_gone(self):
        self.project.apply()
        os.remove(os.path.join(self.project.directory, "0001_initial.sql"))
        status = self.project.status()
        self.assertTrue(status[0].file_missing)
        self.project.revert()
        self.assertEqual(self.project.schema_sql(), [])

    def test_hand_edited_files_run_as_written(self):
        path = os.path.join(self.project.directory, "0001_initial.sql")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.replace("-- migrate:down", "INSERT INTO question (question_text) "
                                      "VALUES ('seeded; with semicolon');\n\n-- migrate:down"))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT question_text FROM question"),
                         [("seeded; with semicolon",)])
        self.assertTrue(self.project.make().operations == ())

    def test_a_data_migration_calling_the_applications_python_function_runs_on_its_connection(self):
        # Django's RunPython: make and check replay it with a stand-in; only the application can apply it
        self.project.write_migration("0002_slugs", "-- migrate:up\nALTER TABLE question ADD COLUMN slug TEXT;\n"
                                     "INSERT INTO question (question_text, slug) VALUES ('Seed me', "
                                     "slugify('Seed me'));\n"
                                     "UPDATE question SET slug = slugify(question_text) || suffix(id, 'x');\n"
                                     "-- migrate:down\nALTER TABLE question DROP COLUMN slug;\n")
        result = self.project.cli("apply")
        self.assertEqual(result.returncode, 1)
        self.assertIn("failed: no such function: slugify in statement: INSERT INTO question (question_text, slug) "
                      "VALUES ('Seed me', slugify('Seed me')) (if it is a function your application defines, apply "
                      "from the application, on a connection that has it: conn.create_function(...), then "
                      "migrate.apply(conn)); it was rolled back", result.stderr)
        conn = sqlite3.connect(self.project.db)
        self.addCleanup(conn.close)
        conn.create_function("slugify", 1, lambda text: text.lower().replace(" ", "-"))
        conn.create_function("suffix", 2, lambda number, text: text + 1)  # its own mistake, which sqlite3 keeps
        with self.assertRaisesRegex(migrate.MigrateError, r"failed: user-defined function raised exception in "
                                    r"statement: .* \(sqlite3.enable_callback_tracebacks\(True\) prints the "
                                    r"function's own error\); it was rolled back"):
            migrate.apply(conn, directory=self.project.directory)
        conn.create_function("suffix", 2, lambda number, text: f"-{number}{text}")
        self.assertEqual([s.name for s in migrate.apply(conn, directory=self.project.directory)], ["0002_slugs"])
        self.assertEqual(self.project.query("SELECT slug FROM question"), [("seed-me-1x",)])
        self.project.write_migration("0003_slug_index", "-- migrate:up\nCREATE INDEX question_slug ON question "
                                     "(slugify(question_text));\nINSERT INTO choice (question_id, choice_text, votes) "
                                     "VALUES (1, slugify('Yes'), 0);\n-- migrate:down\nDROP INDEX question_slug;\n")
        conn.create_function("slugify", 1, lambda text: text.lower().replace(" ", "-"), deterministic=True)
        migrate.apply(conn, directory=self.project.directory)  # (an index needs a deterministic function)
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    slug: Optional[str] = None"))
        # replayed with stand-ins: deterministic (the index), returning a value (choice_text is NOT NULL)
        self.assertEqual(self.project.make(write=False).operations, ())
        self.assertEqual(migrate.check(self.project.db, models=self.project.models_path,
                                       directory=self.project.directory), [])

    def test_a_replay_stands_in_for_an_applications_function_with_what_its_columns_take(self):
        # NULL first (a nullable STRICT INTEGER, a UNIQUE index), else the first argument (a NOT NULL column)
        project = Project(self)
        project.write_migration("0001_posts", "-- migrate:up\nCREATE TABLE post (body TEXT NOT NULL, n INTEGER, "
                                "slug TEXT, title TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '', "
                                "k INTEGER NOT NULL DEFAULT 1) STRICT;\n"
                                "INSERT INTO post (body) VALUES ('same'), ('same');\n"
                                "UPDATE post SET n = word_count(body), slug = slugify(body, rowid);\n"
                                "CREATE UNIQUE INDEX post_slug ON post (slug);\n"
                                "UPDATE post SET title = titled(body);\n"  # ('' for a function of no arguments,
                                "UPDATE post SET token = new_token(), k = score_of(body);\n")  # 0 for a STRICT INTEGER)
        schema = migrate.replayed_schema(migrate.read_migrations(project.directory))
        self.assertEqual([c.name for c in schema.table("post").columns], ["body", "n", "slug", "title", "token", "k"])

    def test_migration_without_down_section_is_irreversible_but_empty_down_is_a_no_op(self):
        self.project.apply()
        self.project.write_migration("0002_seed", "-- migrate:up\nINSERT INTO question (question_text) VALUES ('x');\n")
        self.project.write_migration("0003_noop", "-- migrate:up\nSELECT 1;\n-- migrate:down\n")
        self.project.apply()
        self.project.revert()  # 0003: empty down
        with self.assertRaisesRegex(migrate.MigrateError, "0002_seed has no `-- migrate:down`"):
            self.project.revert()
        self.assertEqual([s.applied for s in self.project.status()], [True, True, False])
        os.remove(os.path.join(self.project.directory, "0003_noop.sql"))
        os.remove(os.path.join(self.project.directory, "0002_seed.sql"))
        with self.assertRaisesRegex(migrate.MigrateError, "0002_seed has no file and was recorded without a down "
                                    "section, so it cannot be reverted: restore its file"):
            self.project.revert()
        self.assertEqual([s.action for s in self.project.revert(fake=True)], ["fake"])  # its record only
        self.assertEqual([(s.name, s.applied) for s in self.project.status()], [("0001_initial", True)])
        self.assertEqual(self.project.query("SELECT question_text FROM question"), [("x",)])


class Failures(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)
        self.project.models(POLLS)
        self.project.make()
        self.project.apply()
        self.project.execute("INSERT INTO question (question_text) VALUES ('q')",
                             "INSERT INTO choice (question_id, choice_text) VALUES (1, 'c')")

    def assert_unchanged(self, action, project=None):
        project = project or self.project
        schema, rows = project.schema_sql(), table_dump(project.db)
        with self.assertRaises(migrate.MigrateError) as caught:
            action()
        self.assertEqual(project.schema_sql(), schema, "schema changed")
        self.assertEqual(table_dump(project.db), rows, "rows changed")
        return str(caught.exception)

    def test_an_atomic_run_of_over_a_thousand_migrations_reverts_and_names_few_of_them_when_it_fails(self):
        project = Project(self)
        for number in range(1, 1002):  # (the foreign key check once asked SQLite 1,001 ORs: too deep)
            project.write_migration(f"{number:04d}_t{number}", f"-- migrate:up\nCREATE TABLE t{number} (x);\n"
                                    f"-- migrate:down\nDROP TABLE t{number};\n")
        self.assertEqual(len(project.apply(atomic=True)), 1001)
        self.assertEqual(len(project.apply(target="zero", atomic=True)), 1001)
        project.write_migration("1001_t1001", "-- migrate:up\nCREATE TABLE c (p REFERENCES t1 (rowid));\n"
                                "INSERT INTO c VALUES (5);\n")  # a row that references nothing: all refused
        with self.assertRaises(migrate.MigrateError) as caught:
            project.apply(atomic=True)
        self.assertIn("migrations 0001_t1, 0002_t2, 0003_t3 and 998 more ", str(caught.exception))
        self.assertEqual(normalised_schema(project.db), [])

    def test_a_failure_after_committed_migrations_names_those_that_stay(self):
        self.project.write_migration("0002_fine", "-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n")
        self.project.write_migration("0003_broken", "-- migrate:up\nCREATE TABLE fine (x);\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"0003_broken failed: table fine already exists .*; it was "
                                    r"rolled back, the database is as it was \(0002_fine, which this run applied "
                                    r"before it, stays applied\)$"):
            self.project.apply()
        with self.assertRaisesRegex(migrate.MigrateError, r"it was rolled back, the database is as it was$"):
            self.project.apply()  # nothing committed in this run

    def test_failing_migration_rolls_back_schema_and_rows(self):
        self.project.write_migration("0002_broken", """\
            -- migrate:up
            ALTER TABLE question ADD COLUMN extra TEXT;
            DELETE FROM choice;
            INSERT INTO nowhere VALUES (1);
            -- migrate:down
            """)
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("0002_broken failed: no such table: nowhere", message)
        self.assertIn("INSERT INTO nowhere VALUES (1)", message)
        self.assertEqual([s.applied for s in self.project.status()], [True, False])

    def test_a_unique_index_over_repeated_values_says_to_remove_them_first(self):
        self.project.execute("INSERT INTO question (question_text) VALUES ('q')")  # a second 'q'
        self.project.write_migration("0002_unique", "-- migrate:up\nCREATE UNIQUE INDEX q_text ON question "
                                     "(question_text);\n-- migrate:down\nDROP INDEX q_text;\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("UNIQUE constraint failed: question.question_text in statement: CREATE UNIQUE INDEX q_text ON "
                      "question (question_text) (rows already repeat a value there: remove or change those rows "
                      "first, with a DELETE or UPDATE at the top of this migration's up section, or on this "
                      "database by hand); it was rolled back", message)
        self.project.write_migration("0002_unique", "-- migrate:up\nDROP TABLE IF EXISTS gone;\n-- migrate:down\n"
                                     "CREATE UNIQUE INDEX q_text ON question (question_text);\n")
        self.project.execute("DELETE FROM question WHERE rowid > 1")
        self.project.apply()
        self.project.execute("INSERT INTO question (question_text) VALUES ('q')")
        self.assertIn("(rows already repeat a value there: remove or change those rows first, with a DELETE or "
                      "UPDATE in its down section, before this statement, or on this database by hand)",
                      self.assert_unchanged(self.project.revert))

    def test_a_statement_of_invisible_non_sql_spaces_fails_and_the_error_spells_them_out(self):
        self.project.write_migration("0002_pasted", "-- migrate:up\nALTER TABLE question ADD COLUMN x;\n\xa0;\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("0002_pasted failed", message)
        self.assertIn("statement: \\u00a0", message)

    def test_new_foreign_key_violations_roll_back_and_old_ones_only_warn(self):
        self.project.write_migration("0002_orphan", """\
            -- migrate:up
            INSERT INTO choice (question_id, choice_text) VALUES (42, 'orphan');
            -- migrate:down
            """)
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("choice rowid 2 -> question", message)
        self.project.execute("INSERT INTO choice (question_id, choice_text) VALUES (99, 'old orphan')")
        os.remove(os.path.join(self.project.directory, "0002_orphan.sql"))
        self.project.write_migration("0002_touch", "-- migrate:up\nUPDATE choice SET choice_text = upper(choice_text);\n"
                                     "-- migrate:down\n")
        self.project.write_migration("0003_unrelated", "-- migrate:up\nCREATE TABLE t (a);\n-- migrate:down\nDROP TABLE t;\n")
        steps = self.project.apply()
        self.assertEqual([s.action for s in steps], ["apply", "apply"])
        self.assertIn("1 foreign key violation that was already there remains in choice", steps[0].warnings[0])
        self.assertEqual(steps[1].warnings, ())  # only the tables a migration touches are checked
        self.assertEqual(self.project.query("SELECT choice_text FROM choice ORDER BY rowid"), [("C",), ("OLD ORPHAN",)])

    def test_an_orphan_already_there_only_warns_when_a_migration_renames_its_table_or_its_parent(self):
        self.project.execute("INSERT INTO choice (question_id, choice_text) VALUES (99, 'old orphan')")
        renames = {"the child": "ALTER TABLE choice RENAME TO Option;\nUPDATE option SET votes = votes;\n",
                   "the parent": "ALTER TABLE question RENAME TO poll;\nALTER TABLE option ADD COLUMN note TEXT;\n"}
        for number, (what, sql) in enumerate(renames.items(), start=2):
            with self.subTest(what):
                self.project.write_migration(f"000{number}_rename", f"-- migrate:up\n{sql}")
                steps = self.project.apply()
                self.assertIn("1 foreign key violation that was already there remains", steps[-1].warnings[-1])
        self.project.write_migration("0004_orphan", "-- migrate:up\nALTER TABLE poll RENAME TO question;\n"
                                     "INSERT INTO option (question_id, choice_text) VALUES (42, 'new orphan');\n")
        self.assertIn("Option rowid 3 -> question", self.assert_unchanged(self.project.apply))  # a new one: refused
        os.remove(os.path.join(self.project.directory, "0004_orphan.sql"))
        rebuilds = {  # by hand: renamed away, made anew, rows copied back under the name (children kept naming it)
            "the child": "ALTER TABLE option RENAME TO option_old;\nCREATE TABLE option (question_id INTEGER "
                         "REFERENCES poll (id), choice_text TEXT, votes INT, id INTEGER PRIMARY KEY, note TEXT);\n"
                         "INSERT INTO option SELECT * FROM option_old;\nDROP TABLE option_old;\n",
            "the parent": "PRAGMA legacy_alter_table = ON;\nALTER TABLE poll RENAME TO poll_old;\nCREATE TABLE poll "
                          "(question_text TEXT NOT NULL, id INTEGER PRIMARY KEY);\nINSERT INTO poll SELECT * FROM "
                          "poll_old;\nDROP TABLE poll_old;\n"}
        for number, (what, sql) in enumerate(rebuilds.items(), start=4):
            with self.subTest(rebuilt=what):
                self.project.write_migration(f"000{number}_rebuild", f"-- migrate:up\n{sql}")
                steps = self.project.apply()
                self.assertIn("1 foreign key violation that was already there remains", steps[-1].warnings[-1])
        self.project.execute("CREATE TABLE other (id INTEGER PRIMARY KEY, question_id INTEGER REFERENCES poll (id))",
                             "INSERT INTO other VALUES (1, 1)")
        self.project.write_migration("0006_replace", "-- migrate:up\nDROP TABLE option;\nALTER TABLE other RENAME TO "
                                     "option;\nDELETE FROM poll;\n")  # option rowid 2 was an orphan; other's 1 is new
        self.assertIn("option rowid 1 -> poll", self.assert_unchanged(self.project.apply))
        os.remove(os.path.join(self.project.directory, "0006_replace.sql"))
        self.project.execute("CREATE TABLE tag (label TEXT, question_id INTEGER REFERENCES poll (id))",
                             "INSERT INTO tag VALUES ('a', 1), ('b', 1), ('c', 99)",
                             "DELETE FROM tag WHERE label = 'a'")
        self.project.write_migration("0006_rebuild_tag", "-- migrate:up\nALTER TABLE tag RENAME TO tag_old;\nCREATE "
                                     "TABLE tag (label TEXT, question_id INTEGER REFERENCES poll (id));\nINSERT INTO "
                                     "tag SELECT * FROM tag_old;\nDROP TABLE tag_old;\n")  # (the rows renumbered)
        self.assertIn("1 foreign key violation that was already there remains in tag",
                      self.project.apply()[-1].warnings[-1])

    def test_an_orphan_already_there_in_a_table_made_without_rowid_only_warns(self):
        # a WITHOUT ROWID row has no rowid to be known by: counted per table and parent, before and after
        child = ("@dataclass\nclass Vote:\n%s    a: int = field(metadata={'primary_key': True})\n"
                 "    b: int = field(metadata={'primary_key': True})\n    choice: Optional[Choice] = None\n")
        self.project.models(POLLS + child % "")
        self.project.make()
        self.project.apply()
        self.project.execute("INSERT INTO vote VALUES (1, 1, 1), (1, 2, 99)")  # (foreign keys off: an orphan)
        self.project.models(POLLS + child % "    __without_rowid__ = True\n")
        self.project.make()
        steps = self.project.apply()
        self.assertIn("1 foreign key violation that was already there remains in vote", steps[0].warnings[-1])
        self.project.write_migration("0004_another", "-- migrate:up\nINSERT INTO vote VALUES (2, 2, 77);\n"
                                     "-- migrate:down\nDELETE FROM vote WHERE a = 2;\n")
        self.assertIn("foreign keys point nowhere: vote (a WITHOUT ROWID row) -> choice",
                      self.assert_unchanged(self.project.apply))

    def test_deleting_parents_is_caught_in_the_child_tables(self):
        for sql in ("DELETE FROM question", "WITH gone AS (SELECT 1) DELETE FROM question",
                    "DROP TABLE question", "DROP TABLE main.[QUESTION]"):
            with self.subTest(sql=sql):
                self.project.write_migration("0002_orphans", f"-- migrate:up\n{sql};\n-- migrate:down\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("foreign keys point nowhere: choice rowid 1 -> question", message)

    def test_a_revert_that_would_leave_orphans_says_it_is_the_revert_and_how_to_clear_them(self):
        self.project.write_migration("0002_orphans", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"
                                     "DELETE FROM question;\n")
        self.project.apply()
        message = self.assert_unchanged(self.project.revert)
        self.assertIn("reverting migration 0002_orphans would leave rows whose foreign keys point nowhere: choice "
                      "rowid 1 -> question (delete or update those rows first: by hand, or at the top of its down "
                      "section (then record the edit with apply 0002_orphans --allow-changed), or add the rows they "
                      "point at there); it was rolled back", message)

    def test_a_rebuild_that_renames_the_parent_away_is_told_why_its_children_point_nowhere(self):
        self.project.write_migration("0002_rebuild", "-- migrate:up\nALTER TABLE question RENAME TO question_old;\n"
                                     "CREATE TABLE question (question_text TEXT NOT NULL, id INTEGER PRIMARY KEY);\n"
                                     "INSERT INTO question SELECT question_text, id FROM question_old;\n"
                                     "DROP TABLE question_old;\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("foreign keys point nowhere: choice rowid 1 -> question_old (SQLite pointed their foreign keys "
                      "at question_old as question was renamed to it, and the migration dropped it: make the new "
                      "table under another name and rename that onto question, as the generated rebuild does); it "
                      "was rolled back", message)
        self.assertNotIn("delete or update those rows", message)

    def test_a_rebuild_that_renames_the_parent_away_is_refused_even_with_no_rows_to_show_it(self):
        self.project.execute("DELETE FROM choice", "DELETE FROM question")
        rebuild = ("-- migrate:up\nALTER TABLE question RENAME TO question_old;\n"
                   "CREATE TABLE question (question_text TEXT NOT NULL, id INTEGER PRIMARY KEY);\n"
                   "DROP TABLE question_old;\n-- migrate:down\n")
        self.project.write_migration("0002_rebuild", rebuild)
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                message = self.assert_unchanged(lambda: self.project.apply(atomic=atomic))
                self.assertEqual(message, "migration 0002_rebuild leaves the foreign keys of choice naming table "
                                          "question_old, which it dropped (SQLite pointed them at question_old as "
                                          "question was renamed to it): make the new table under another name and "
                                          "rename that onto question, as the generated rebuild does; it was rolled "
                                          "back, the database is as it was")
        self.project.write_migration("0002_rebuild", rebuild.replace("DROP TABLE question_old;\n", "DROP TABLE choice;\n"
                                     "DROP TABLE question_old;\n"))  # the child goes too: nothing dangles
        self.assertEqual(len(self.project.apply()), 1)

    def test_a_rename_away_and_a_drop_in_separate_runs_are_refused_at_the_drop(self):
        self.project.execute("DELETE FROM choice", "DELETE FROM question")
        self.project.write_migration("0002_rename", "-- migrate:up\nALTER TABLE question RENAME TO question_old;\n"
                                     "CREATE TABLE question (question_text TEXT NOT NULL, id INTEGER PRIMARY KEY);\n"
                                     "-- migrate:down\n")
        self.project.apply()
        self.project.write_migration("0003_drop", "-- migrate:up\nDROP TABLE Question_Old;\n-- migrate:down\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertEqual(message, "migration 0003_drop leaves the foreign keys of choice naming table question_old, "
                                  "which it dropped: with foreign keys on, every write to it would fail with \"no "
                                  "such table\"; drop choice, or rebuild it without the foreign key, in the "
                                  "same migration (if question_old was renamed from another table, its children "
                                  "followed the rename: make the new table under another name and rename that onto "
                                  "the old one instead); it was rolled back, the database is as it was")

    def test_dropping_a_parent_before_its_empty_child_is_refused_unless_the_child_goes_in_the_same_run(self):
        self.project.execute("DELETE FROM choice", "DELETE FROM question")
        self.project.write_migration("0002_drop_question", "-- migrate:up\nDROP TABLE question;\n-- migrate:down\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("leaves the foreign keys of choice naming table question, which it dropped", message)
        self.project.write_migration("0003_drop_choice", "-- migrate:up\nDROP TABLE choice;\n-- migrate:down\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_drop_question", "0003_drop_choice"])
        self.assertEqual(self.project.query("SELECT name FROM sqlite_master WHERE name IN ('question', 'choice')"), [])

    def test_a_parent_made_again_later_in_the_run_is_let_be_but_a_child_rebuilt_later_is_not(self):
        self.project.execute("DELETE FROM choice", "DELETE FROM question")
        self.project.write_migration("0002_drop_question", "-- migrate:up\nDROP TABLE question;\n-- migrate:down\n")
        self.project.write_migration("0003_question_again", "-- migrate:up\nCREATE TABLE question (id INTEGER "
                                     "PRIMARY KEY, question_text TEXT);\n-- migrate:down\n")
        self.assertEqual(len(self.project.apply()), 2)  # a history that applied before applies on a new database
        self.project.write_migration("0004_drop_question", "-- migrate:up\nDROP TABLE question;\n-- migrate:down\n")
        self.project.write_migration("0005_rebuild_choice", "-- migrate:up\nCREATE TABLE _new_choice (id INTEGER "
                                     "PRIMARY KEY, question_id INTEGER REFERENCES question (id));\nDROP TABLE choice;\n"
                                     "ALTER TABLE _new_choice RENAME TO choice;\n-- migrate:down\n")
        self.assertIn("leaves the foreign keys of choice naming table question, which it dropped",
                      self.assert_unchanged(self.project.apply))  # choice is there at the end, naming no table
        os.remove(os.path.join(self.project.directory, "0005_rebuild_choice.sql"))
        self.project.write_migration("0005_rename_choice", "-- migrate:up\nALTER TABLE choice RENAME TO answer;\n"
                                     "-- migrate:down\n")  # renamed, not dropped: it still names question
        self.assertIn("leaves the foreign keys of choice naming table question, which it dropped",
                      self.assert_unchanged(self.project.apply))
        self.project.write_migration("0005_rename_choice", "-- migrate:up\nALTER TABLE choice RENAME TO answer;\n"
                                     "CREATE TABLE choice (x);\nDROP TABLE choice;\n-- migrate:down\n")  # another one
        self.assertIn("leaves the foreign keys of choice naming table question, which it dropped",
                      self.assert_unchanged(self.project.apply))

    def test_a_foreign_key_that_named_no_table_before_does_not_block_a_drop_of_nothing(self):
        self.project.write_migration("0002_odd", "-- migrate:up\nCREATE TABLE c (id INTEGER PRIMARY KEY, g INTEGER "
                                     "REFERENCES gone (id));\nDROP TABLE IF EXISTS gone;\n-- migrate:down\n")
        self.assertEqual(len(self.project.apply()), 1)

    def test_a_drop_if_exists_of_a_table_there_does_not_hide_a_parent_the_migration_makes_and_drops(self):
        self.project.write_migration("0002_old", "-- migrate:up\nCREATE TABLE old (x);\n-- migrate:down\n")
        self.project.write_migration("0003_odd", "-- migrate:up\nDROP TABLE IF EXISTS old;\n"
                                     "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
                                     "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n"
                                     "DROP TABLE p;\n-- migrate:down\n")
        self.project.apply(target="0002")
        self.assertIn("leaves the foreign keys of c naming table p, which it dropped",
                      self.assert_unchanged(self.project.apply))

    def test_a_dropped_parent_whose_name_needs_quotes_is_found_in_its_empty_children(self):
        self.project.write_migration("0002_quoted", "-- migrate:up\n"
                                     "CREATE TABLE \"o'clock\" (id INTEGER PRIMARY KEY);\n"
                                     "CREATE TABLE bell (id INTEGER PRIMARY KEY, at REFERENCES [O'Clock] (id));\n"
                                     "-- migrate:down\n")
        self.project.apply()
        self.project.write_migration("0003_drop", "-- migrate:up\nDROP TABLE \"O'CLOCK\";\n-- migrate:down\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("leaves the foreign keys of bell naming table O'Clock, which it dropped", message)

    def test_parents_whose_names_need_quotes_or_have_a_capital_beyond_ascii_are_checked_too(self):
        for number, (parent, spelled) in enumerate((("o'clock", "O'CLOCK"), ("Ärzte", "Ärzte")), start=2):
            quoted = '"' + parent.replace('"', '""') + '"'
            self.project.write_migration(f"{number:04d}_parent", f"-- migrate:up\nCREATE TABLE {quoted} "
                                         f"(id INTEGER PRIMARY KEY);\nCREATE TABLE bell{number} (id INTEGER PRIMARY "
                                         f"KEY, at REFERENCES {quoted} (id));\nINSERT INTO {quoted} VALUES (1);\n"
                                         f"INSERT INTO bell{number} VALUES (1, 1);\n-- migrate:down\n")
            self.project.apply()
            for sql in (f"DELETE FROM {quoted}", f'DROP TABLE "{spelled}"'):
                with self.subTest(sql=sql):
                    self.project.write_migration(f"{number + 1:04d}_orphans", f"-- migrate:up\n{sql};\n"
                                                 "-- migrate:down\n")
                    message = self.assert_unchanged(self.project.apply)
                    self.assertIn(f"foreign keys point nowhere: bell{number} rowid 1 -> {parent}", message)
            os.remove(os.path.join(self.project.directory, f"{number + 1:04d}_orphans.sql"))

    def test_orphans_written_into_a_table_created_in_the_same_migration_are_caught(self):
        # CREATE TABLE itself needs no check (a new table is empty); what follows it does
        vote = "CREATE TABLE {name} (id INTEGER PRIMARY KEY, choice_id INTEGER REFERENCES choice (id) DEFAULT {d})"
        cases = {
            "insert": [vote.format(name="vote", d=1), "INSERT INTO vote (choice_id) VALUES (1), (7)"],
            "replace": [vote.format(name="vote", d=1), "REPLACE INTO vote (choice_id) VALUES (7)"],
            "upsert": [vote.format(name="vote", d=1), "INSERT INTO vote (id, choice_id) VALUES (1, 1)",
                       "INSERT INTO vote (id, choice_id) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET choice_id = 7"],
            "default values": [vote.format(name="vote", d=99), "INSERT INTO vote DEFAULT VALUES"],
            "if not exists": [vote.format(name="vote", d=1), vote.format(name="IF NOT EXISTS vote", d=1),
                              "INSERT INTO vote (choice_id) VALUES (7)"],
            "case and schema": [vote.format(name='main."Vote"', d=1), 'INSERT INTO "main" . "VOTE" (choice_id) '
                                'VALUES (7)'],
            "trigger": [vote.format(name="vote", d=1),
                        "CREATE TRIGGER tally AFTER UPDATE ON question BEGIN INSERT INTO vote (choice_id) "
                        "VALUES (7); END", "UPDATE question SET question_text = 'again'"],
        }
        for name, statements in cases.items():
            with self.subTest(name):
                self.project.write_migration("0002_vote", "-- migrate:up\n" + ";\n".join(statements) + ";\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertRegex(message, r"(?i)foreign keys point nowhere: vote rowid \d+ -> choice", message)

    def test_orphans_a_trigger_writes_into_a_table_the_migration_does_not_name_are_caught(self):
        trigger = "CREATE TRIGGER stray AFTER INSERT ON question BEGIN INSERT INTO choice (question_id, choice_text) " \
                  "VALUES (999, 'orphan'); END"
        insert = "INSERT INTO question (question_text) VALUES ('q')"
        self.project.write_migration("0002_stray", f"-- migrate:up\n{trigger};\n{insert};\nDROP TRIGGER stray;\n")
        self.assertIn("choice rowid 2 -> question", self.assert_unchanged(self.project.apply))
        self.project.write_migration("0002_stray", f"-- migrate:up\n{trigger};\n-- migrate:down\n")
        self.project.apply()  # a trigger already there fires too
        self.project.write_migration("0003_insert", f"-- migrate:up\n{insert};\n-- migrate:down\n")
        self.assertIn("choice rowid 2 -> question", self.assert_unchanged(self.project.apply))

    def test_dropping_the_unique_index_a_foreign_key_needs_is_rolled_back(self):
        self.project.write_migration("0002_codes", """\
            -- migrate:up
            ALTER TABLE question ADD COLUMN code TEXT;
            CREATE UNIQUE INDEX question_code ON question (code);
            CREATE INDEX question_text ON question (question_text);
            CREATE TABLE badge (id INTEGER PRIMARY KEY, code TEXT REFERENCES question (code));
            -- migrate:down
            """)
        self.project.apply()
        for drop in ("DROP INDEX question_code", 'DROP INDEX IF EXISTS main."QUESTION_CODE"'):
            with self.subTest(drop):
                self.project.write_migration("0003_drop", f"-- migrate:up\n{drop};\n-- migrate:down\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn('0003_drop failed the foreign key check: foreign key mismatch - "badge" '
                              'referencing "question"', message)
        self.project.write_migration("0003_drop", "-- migrate:up\nDROP INDEX question_text;\n-- migrate:down\n")
        self.assertEqual([s.action for s in self.project.apply()], ["apply"])  # a plain index: fine

    def test_a_new_table_whose_foreign_key_has_no_parent_key_yet_is_applied_with_a_warning(self):
        # a valid history may add the parent's UNIQUE index in a later migration
        for create in ("CREATE TABLE badge (code TEXT REFERENCES question (question_text))",
                       'CREATE TABLE IF NOT EXISTS main."Badge" (code TEXT REFERENCES question (nope))'):
            with self.subTest(create):
                self.project.write_migration("0002_badge", f"-- migrate:up\n{create};\n-- migrate:down\n"
                                             "DROP TABLE badge;\n")
                steps = self.project.apply()
                self.assertIn("foreign key mismatch", steps[-1].warnings[0])
                self.assertIn("writes to", steps[-1].warnings[0])
                self.project.revert()
        self.project.write_migration("0003_unique", "-- migrate:up\nCREATE UNIQUE INDEX question_text_uniq ON "
                                     "question (question_text);\n")
        self.project.write_migration("0002_badge", "-- migrate:up\nCREATE TABLE badge (code TEXT REFERENCES "
                                     "question (question_text));\n")
        self.assertEqual([s.warnings != () for s in self.project.apply()], [True, False])

    def test_a_new_table_is_checked_alone_not_blamed_for_an_old_mismatch_elsewhere(self):
        self.project.execute("CREATE TABLE legacy (text TEXT REFERENCES question (question_text))")
        self.project.write_migration("0002_note", """\
            -- migrate:up
            CREATE TABLE note (question_id INTEGER REFERENCES question (id), body TEXT);
            CREATE TRIGGER note_added AFTER INSERT ON note BEGIN SELECT 1; END;
            -- migrate:down
            """)
        self.assertEqual([s.action for s in self.project.apply()], ["apply"])

    def test_a_new_orphan_in_a_without_rowid_table_is_told_from_an_old_one(self):
        # foreign_key_check reports every WITHOUT ROWID row as rowid NULL: count them
        self.project.write_migration("0002_tags", """\
            -- migrate:up
            CREATE TABLE tag (name TEXT PRIMARY KEY, choice_id INTEGER REFERENCES choice (id)) WITHOUT ROWID;
            -- migrate:down
            DROP TABLE tag;
            """)
        self.project.apply()
        self.project.execute("INSERT INTO tag VALUES ('old', 42)")
        self.project.write_migration("0003_more", "-- migrate:up\nINSERT INTO tag VALUES ('new', 77);\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("tag (a WITHOUT ROWID row) -> choice", message)

    def test_statements_that_would_end_the_transaction_are_refused_before_running(self):
        for statement in ("COMMIT", "VACUUM", "PRAGMA journal_mode = WAL", "BEGIN", 'PRAGMA "foreign_keys" = OFF',
                          "PRAGMA main.[journal_mode] = OFF", "PRAGMA 'foreign_keys' = OFF"):
            with self.subTest(statement=statement):
                self.project.write_migration("0002_bad", f"-- migrate:up\nDELETE FROM choice;\n{statement};\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("0002_bad", message)

    def test_a_savepoint_released_or_rolled_back_to_in_another_migration_than_its_own_is_refused(self):
        self.project.apply()
        self.project.write_migration("0002_open", "-- migrate:up\nSAVEPOINT s1;\nCREATE TABLE z (x);\n")
        for statement in ("ROLLBACK TO s1", "-- undo it\nrollback transaction to savepoint \"S1\"", "RELEASE s1"):
            for atomic in (False, True):
                with self.subTest(statement=statement, atomic=atomic):
                    self.project.write_migration("0003_undo", f"-- migrate:up\n{statement};\nCREATE TABLE y (x);\n")
                    message = self.assert_unchanged(lambda: self.project.apply(atomic=atomic))
                    self.assertIn("migration 0003_undo: ", message)
                    self.assertIn(" names a savepoint this migration did not open (in one transaction with other "
                                  "migrations, as with --atomic, it would undo theirs): ", message)
                    self.assertIn("open it with SAVEPOINT in this migration first, or remove the statement; nothing "
                                  "was changed", message)
        self.project.write_migration("0003_undo", "-- migrate:up\nSAVEPOINT S1;\nCREATE TABLE y (x);\n"
                                                  "ROLLBACK TO s1;\nRELEASE SAVEPOINT s1;\n")
        self.assertEqual([s.name for s in self.project.apply(atomic=True)], ["0002_open", "0003_undo"])
        self.assertEqual([n for n, in self.project.query("SELECT name FROM sqlite_master WHERE name IN ('y', 'z')")],
                         ["z"])

    def test_a_mistyped_down_marker_is_refused_before_its_down_sql_runs_with_the_up(self):
        for marker in ("-- migrate:dwon", "-- migrate:rollback", "--- migrate:down", "-- migrate down",
                       "-- migration:downgrade", "-- +migrate Down", "-- +goose Down", "-- [migrate:down]",
                       "-- migrate(down)", "-- migrate, down", "-- //@UNDO", "-- Down", "-- rollback",
                       "-- !migrate:down", "-- Down migration", "-- DOWN SQL", "-- # rollback steps",
                       "-- **Down**", "-- === Down ===", "-- ---- down ----", "-- <down>", "-- ** migrate:down **",
                       "-- __Down__", "-- ## Down ##", "-- ~~~ Down ~~~", "-- +++ down +++", "-- Back"):
            with self.subTest(marker=marker):
                self.project.write_migration("0002_archive", "-- migrate:up\nUPDATE choice SET votes = 1;\n"
                                             f"{marker}\nUPDATE choice SET votes = 0;\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn(f"migration 0002_archive, line 3: '{marker}' looks like a section marker but is read "
                              "as a comment, so the SQL below it would run with the up section", message)
        for up, shown in (("UPDATE choice SET votes = 1;\n/* migrate:down */", "3: '/* migrate:down */'"),
                          ("UPDATE choice SET votes = 1;\n/* -- migrate:down */", "3: '/* -- migrate:down */'"),
                          ("UPDATE choice SET votes = 1;\n/*\n   Down\n*/", "3: '/*\\n   Down\\n*/'"),
                          ("UPDATE choice SET votes = 1; -- migrate:down", "2: '-- migrate:down'"),
                          ("UPDATE choice SET votes = 1;  /* rollback */", "2: '/* rollback */'"),
                          ("UPDATE choice SET votes = 1; -- //@UNDO", "2: '-- //@UNDO'")):
            with self.subTest(up=up):
                self.project.write_migration("0002_archive", f"-- migrate:up\n{up}\nUPDATE choice SET votes = 0;\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn(f"migration 0002_archive, line {shown} looks like a section marker", message)
        for up in ("UPDATE choice SET votes = 1;\n/* migrate:down */", "UPDATE choice SET votes = 1; -- migrate:down"):
            with self.subTest(up=up, last=True):  # the last thing in the section: meant as an empty down section
                self.project.write_migration("0002_archive", f"-- migrate:up\n{up}\n")
                self.assertIn("looks like a section marker", self.assert_unchanged(self.project.apply))
        self.project.write_migration("0002_archive", "-- migrate:up\n-- migrate: done by hand\n-- own\n"
                                     "-- back to normal\n-- +goose StatementBegin\nSELECT 1; -- back up first\n"
                                     "-- down migrations are below\n-- the sql section\n-- ## Back ##\n-- __Back__\n"
                                     "SELECT '/* down */', 2 - -2; /* what it does */\n"
                                     "CREATE TABLE vote (up INTEGER, -- up\n down INTEGER -- down\n); -- undo\n"
                                     "/*\n * Rollback:\n *   drop the table by hand\n */\n"
                                     "-- Rollback:\n--   drop the table vote\n/* Down migration */\n"  # (notes)
                                     "-- migrate:down\n-- migrate:undo is this section\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_archive"])

    def test_a_down_marker_cutting_a_statement_in_two_is_refused_before_the_first_half_runs(self):
        self.project.write_migration("0002_reset", "-- migrate:up\nUPDATE choice SET votes = 0\n"
                                     "-- migrate:down\nWHERE votes > 100;\n")  # else every row is reset
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("migration 0002_reset: the statement before its `-- migrate:down` line has no `;`", message)
        self.assertIn("a database that applied the file before then needs `apply --allow-changed` once", message)
        self.project.write_migration("0002_reset", "-- migrate:up\nUPDATE choice SET votes = 0 -- all\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_reset"])  # no down section: the last may

    def test_a_migration_that_names_the_migrations_table_is_refused_before_anything_runs(self):
        for up, down in (("DELETE FROM _migrations WHERE name LIKE '0001%';", ""),
                         ("UPDATE main.\"_Migrations\" SET checksum = '';", ""),
                         ("CREATE TRIGGER t AFTER INSERT ON choice BEGIN INSERT INTO [_migrations] (name) "
                          "VALUES ('x'); END;", ""),
                         ("SELECT 1;", "DELETE FROM '_migrations';")):
            with self.subTest(up=up, down=down):
                self.project.write_migration("0002_history", f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("it names migrate.py's own table _migrations", message)
                result = self.project.cli("check")
                self.assertEqual(result.returncode, 1)
                self.assertIn("it names migrate.py's own table _migrations", result.stdout + result.stderr)
        self.project.write_migration("0002_history", "-- migrate:up\nUPDATE choice SET choice_text = "
                                     "'_migrations' WHERE choice_text = '_MIGRATIONS';\n-- migrate:down\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_history"])  # text, not the table

    def test_a_down_section_that_could_not_run_is_refused_at_apply_not_when_a_revert_needs_it(self):
        for down in ("COMMIT;\n", "DROP TABLE fine;\nvacuum;\n", "PRAGMA foreign_keys = OFF;\n",
                     "PRAGMA main.query_only = 1;\n"):
            with self.subTest(down=down):
                self.project.write_migration("0002_fine", f"-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n{down}")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("0002_fine (down section): ", message)
        for down in ("DROPP TABLE fine;\n", "DROP TABLE fine;\nUPDATE choice SET choice_text = 'x\n",
                     "UPDATE choice SET votes = votes + 1 WHERE;\n",
                     "ALTER TABLE choice ADD COLUMN votes2 INTEGER NOT NULL DEFALT 0;\n",  # (a table not there
                     "CREATE TRIGGER t AFTER INSERT ON choice BEGIN UPDAT choice SET votes = 0; END;\n"):  # stops it)
            with self.subTest(down=down):  # what SQLite cannot parse, whatever the schema then
                self.project.write_migration("0002_fine", f"-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n{down}")
                message = self.assert_unchanged(self.project.apply)
                self.assertRegex(message, r"^migration 0002_fine \(down section\): SQLite cannot parse it \((near "
                                 r'"[^"]+": syntax error|unrecognized token: .*)\): ')
                self.assertIn("fix the down section, or a revert would fail there; nothing was changed", message)
                result = self.project.cli("check", "--no-models")
                self.assertEqual(result.returncode, 1)
                self.assertIn("migration file migrations/0002_fine.sql: its down section: SQLite cannot parse it",
                              result.stdout)
        self.project.write_migration("0002_fine", "-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n"
                                     "CREATE TRIGGER t AFTER INSERT ON choice BEGIN SELECT 1; END;\nDROP TABLE fine;\n"
                                     "EXPLAIN SELECT 1;\n")  # (names it does not know yet are no parse error)
        self.assertEqual([s.name for s in self.project.apply()], ["0002_fine"])

    def test_threads_parsing_down_sections_at_once_get_every_answer(self):
        # the answers are kept for the process, and forgotten past 4,096: one thread may forget them as another reads
        failures = []

        def parse(offset):
            try:
                for start in range(0, 3000, 500):
                    texts = [f"DROP TABLE t{offset}_{n};" for n in range(start, start + 500)] + ["DROPP TABLE x;"]
                    answers = migrate._parse_failures(texts)
                    if answers["DROPP TABLE x;"] is None or any(answers[text] for text in texts[:-1]):
                        failures.append(f"wrong answers in thread {offset}")
            except Exception as exc:  # (a KeyError escaped once)
                failures.append(repr(exc))
        threads = [threading.Thread(target=parse, args=(offset,)) for offset in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(failures, [])

    def test_an_up_section_cut_short_is_refused_before_the_migrations_before_it_run(self):
        self.project.write_migration("0002_fine", "-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n")
        for end in ("CREATE", "CREATE TABLE later (x", "INSERT INTO fine VALUES ('half",
                    "CREATE TRIGGER t AFTER INSERT ON fine BEGIN\n  INSERT INTO fine VALUES (1);\n"):  # (no END)
            with self.subTest(end=end):
                self.project.write_migration("0003_cut", f"-- migrate:up\nCREATE TABLE cut (x);\n{end}")
                message = self.assert_unchanged(self.project.apply)  # (0002_fine did not run either)
                self.assertRegex(message, r"^migration 0003_cut: its up section ends in a statement SQLite cannot "
                                 r"parse \((incomplete input|unrecognized token: .*)\): .*; was the file cut short\? "
                                 "Finish the statement or remove it; nothing was changed$")
        self.project.write_migration("0003_cut", "-- migrate:up\nCREATE TABLE cut (x);\nCREATE TABLE later (x)")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_fine", "0003_cut"])  # no `;` is no matter

    def test_a_connection_setting_a_migration_changes_is_its_own_not_the_next_ones(self):
        # applied alone, 0003 fails on the CHECK; applied after 0002 in the same run it must too
        self.project.write_migration("0002_lax", "-- migrate:up\nPRAGMA ignore_check_constraints = ON;\n"
                                     "PRAGMA recursive_triggers = 1;\nPRAGMA cache_size = -64;\n"
                                     "PRAGMA automatic_index = OFF;\nPRAGMA mmap_size = 65536;\n-- migrate:down\n")
        self.project.write_migration("0003_checked", "-- migrate:up\nCREATE TABLE scores (n CHECK (n >= 0));\n"
                                     "INSERT INTO scores VALUES (-1);\n-- migrate:down\nDROP TABLE scores;\n")
        conn = sqlite3.connect(self.project.db, isolation_level=None)
        self.addCleanup(conn.close)
        conn.execute("CREATE TEMP TABLE callers (x)")
        settings = ("ignore_check_constraints", "recursive_triggers", "cache_size", "automatic_index", "mmap_size")
        before = [conn.execute(f"PRAGMA {name}").fetchone() for name in settings]
        with self.assertRaisesRegex(migrate.MigrateError, "0003_checked failed: CHECK constraint failed"):
            migrate.apply(conn, directory=self.project.directory)
        self.assertEqual([s.applied for s in self.project.status()], [True, True, False])
        self.assertEqual([conn.execute(f"PRAGMA {name}").fetchone() for name in settings], before,
                         "the caller's connection is left as found")
        self.assertEqual(conn.execute("SELECT name FROM temp.sqlite_master").fetchall(), [("callers",)])

    def test_a_pragma_that_would_stay_with_the_connection_and_cannot_be_set_back_is_refused(self):
        for statement, problem in (("PRAGMA locking_mode = EXCLUSIVE;", "PRAGMA locking_mode would keep the "
                                    "database locked for as long as the connection is open"),
                                   ("pragma main.locking_mode=exclusive;", "PRAGMA locking_mode"),
                                   ("PRAGMA case_sensitive_like = 1;", "PRAGMA case_sensitive_like changes LIKE for "
                                    "the connection, and cannot be read back to be set back"),
                                   ("PRAGMA hard_heap_limit = 90000000;", "this PRAGMA limits the memory of the whole "
                                    "process")):
            with self.subTest(statement):
                self.project.write_migration("0002_lock", f"-- migrate:up\n{statement}\nCREATE TABLE x (a);\n")
                self.assertIn(f"0002_lock: {problem}", self.assert_unchanged(self.project.apply))
        with self.assertRaisesRegex(migrate.MigrateError, "0002_lock.sql: this PRAGMA limits the memory of the whole "
                                    "process"):  # nor may make's and check's replay set it, in their own process
            migrate.check(None, models=None, directory=self.project.directory)

    def test_a_setting_a_migration_changes_ends_with_it_in_the_replay_of_make_and_check_too(self):
        self.project.write_migration("0002_legacy", "-- migrate:up\nPRAGMA legacy_alter_table = ON;\n-- migrate:down\n")
        self.project.write_migration("0003_rename", "-- migrate:up\nALTER TABLE question RENAME TO poll;\n"
                                     "-- migrate:down\nALTER TABLE poll RENAME TO question;\n")
        self.project.apply()
        self.assertEqual(self.project.query("SELECT \"table\" FROM pragma_foreign_key_list('choice')"), [("poll",)])
        self.assertEqual(migrate.check(self.project.db, models=None, directory=self.project.directory), [])

    def test_a_migration_that_writes_the_schema_table_itself_is_refused(self):
        for statement in ("PRAGMA writable_schema = ON;", "PRAGMA main.writable_schema=1;", "pragma WRITABLE_SCHEMA;"):
            with self.subTest(statement):
                self.project.write_migration("0002_hack", f"-- migrate:up\n{statement}\nUPDATE sqlite_master SET "
                                             "sql = 'garbage' WHERE name = 'choice';\n-- migrate:down\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("0002_hack: PRAGMA writable_schema lets SQL write sqlite_master itself, which SQLite "
                              "does not check", message)

    def test_a_refused_statement_in_a_later_migration_stops_the_earlier_ones_too(self):
        self.project.write_migration("0002_fine", "-- migrate:up\nCREATE TABLE fine (x);\n-- migrate:down\n")
        self.project.write_migration("0003_vacuum", "-- migrate:up\nVACUUM;\n-- migrate:down\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("0003_vacuum: VACUUM cannot run", message)
        self.assertEqual([s.applied for s in self.project.status()], [True, False, False])

    def test_too_old_sqlite_is_refused_before_anything_runs(self):
        original = migrate.MINIMUM_SQLITE
        migrate.MINIMUM_SQLITE = (99, 0, 0)
        self.addCleanup(setattr, migrate, "MINIMUM_SQLITE", original)
        self.project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE t (a);\n")
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("needs 99.0.0 or newer", message)

    def test_a_later_failure_keeps_the_new_database_and_what_was_applied(self):
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                project = Project(self)
                project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
                project.write_migration("0002_bad", "-- migrate:up\nSELECT * FROM nowhere;\n")
                with self.assertRaises(migrate.MigrateError):
                    project.apply(atomic=atomic)
                if atomic:  # all or nothing: nothing
                    self.assertEqual(project.query("SELECT name FROM sqlite_master"), [])
                else:
                    self.assertEqual(project.query("SELECT name FROM _migrations"), [("0001_a",)])

    def test_a_failing_first_migration_leaves_the_new_file_empty_for_whoever_opened_it_since(self):
        project = Project(self)
        project.write_migration("0001_bad", "-- migrate:up\nCREATE TABLE a (x);\nSELECT * FROM nowhere;\n")
        others = []

        def progress(action, name, step):  # another worker opens the file this run created
            if step is None:
                others.append(sqlite3.connect(project.db, isolation_level=None))
        with self.assertRaises(migrate.MigrateError):
            migrate.apply(project.db, directory=project.directory, progress=progress)
        self.assertEqual(project.query("SELECT name FROM sqlite_master"), [])
        others[0].execute("CREATE TABLE kept (x)")  # once deleted, this went into a file nobody could see
        others[0].close()
        self.assertEqual(project.query("SELECT name FROM sqlite_master"), [("kept",)])
        self.assertEqual(migrate.apply(os.path.join(project.root, "new.sqlite3"), directory=project.directory,
                                       target="zero"), [])
        self.assertFalse(os.path.exists(os.path.join(project.root, "new.sqlite3")))  # nothing to do: no file

    def test_a_rebuild_refuses_a_table_with_columns_the_files_do_not_make(self):
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT DEFAULT 'important'")
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()  # 0002 rebuilds choice from what 0001 made, without hotfix
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("migration 0002_alter_choice rebuilds table choice, and the database's choice has column "
                      "hotfix, which the migrations before it do not make", message)
        self.assertIn("the rebuild would drop it with the values", message)
        self.project.execute("ALTER TABLE choice DROP COLUMN hotfix")
        self.project.apply()  # as the files made it: the rebuild runs
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT")  # and its revert is a rebuild too
        self.assertIn("reverting 0002_alter_choice rebuilds table choice, and the database's choice has column "
                      "hotfix, which the migrations up to it do not make", self.assert_unchanged(self.project.revert))

    def test_a_rebuild_of_a_table_whose_name_has_quotes_is_compared_too(self):
        for name in ('we"ird', "back`tick"):
            with self.subTest(name=name):
                project = Project(self)
                model = "@dataclass\nclass T:\n    __tablename__ = %r\n    a: int = %d\n    id: Optional[int] = None\n"
                project.models(model % (name, 0))
                project.make()
                project.apply()
                project.execute(f"ALTER TABLE {migrate.quote(name)} ADD COLUMN hot TEXT DEFAULT 'keep'")
                project.models(model % (name, 5))
                project.make()  # 0002 rebuilds it for the new default
                message = self.assert_unchanged(project.apply, project)
                self.assertIn(f"rebuilds table {name}, and the database's {name} has column hot", message)

    def test_reverting_a_rebuild_is_compared_with_the_up_sql_that_ran_when_its_file_is_gone_or_edited(self):
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()  # 0002 rebuilds choice, and so does its down section
        self.project.apply()
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT DEFAULT 'important'")
        path = os.path.join(self.project.directory, "0002_alter_choice.sql")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for case, edit in (("gone", lambda: os.remove(path)),
                           ("edited", lambda: self.project.write_migration("0002_alter_choice", text.replace(
                               "-- migrate:up", "-- migrate:up\nSELECT 'edited';")))):
            with self.subTest(case):
                edit()
                message = self.assert_unchanged(self.project.revert)
                self.assertIn("reverting 0002_alter_choice rebuilds table choice, and the database's choice has "
                              "column hotfix, which the migrations up to it do not make", message)
        self.project.execute("ALTER TABLE choice DROP COLUMN hotfix")
        os.remove(path)
        self.project.revert()  # as the recorded up SQL made it: the down section's rebuild runs
        self.assertEqual(self.project.query("SELECT name FROM _migrations"), [("0001_initial",)])

    def test_a_migrations_table_from_an_earlier_version_gets_its_up_sql_column_when_next_written(self):
        self.project.apply()
        self.project.execute("CREATE TABLE old (name TEXT NOT NULL PRIMARY KEY, checksum TEXT NOT NULL, "
                             "applied_at TEXT NOT NULL, down_sql TEXT)",
                             "INSERT INTO old SELECT name, checksum, applied_at, down_sql FROM _migrations",
                             "DROP TABLE _migrations", "ALTER TABLE old RENAME TO _migrations")
        before = self.project.schema_sql()
        self.assertEqual([s.applied for s in self.project.status()], [True])  # read as it is
        self.assertEqual(self.project.schema_sql(), before)
        self.project.write_migration("0002_note", "-- migrate:up\nCREATE TABLE note (body TEXT);\n"
                                     "-- migrate:down\nDROP TABLE note;\n")
        self.project.apply()
        self.assertEqual(self.project.query("SELECT name, up_sql FROM _migrations ORDER BY name"),
                         [("0001_initial", None), ("0002_note", "CREATE TABLE note (body TEXT);")])
        self.project.revert()
        self.assertEqual([s.applied for s in self.project.status()], [True, False])

    def test_a_rebuild_whose_change_the_database_has_already_asks_whether_it_was_reverted_with_fake(self):
        project = Project(self)
        model = "@dataclass\nclass Tag:\n    color: Optional[%s] = None\n    id: Optional[int] = None\n"
        project.models(model % "str")
        project.make()
        project.models(model % "int")
        project.make()  # 0002 rebuilds tag: TEXT -> INTEGER
        project.apply()
        project.apply(target="0001", fake=True)  # recorded as reverted, the table left as 0002 made it
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("the database's tag.color is INTEGER already, as 0002_alter_tag makes it, though the "
                      "migrations before it make it TEXT: was 0002_alter_tag applied and then reverted with --fake? "
                      "Then record it with apply --fake 0002_alter_tag", message)
        project.apply(fake=True)
        self.assertEqual([row.applied for row in project.status()], [True, True])

    def test_a_rebuild_refuses_a_column_retyped_by_hand_and_says_which_index_it_made_anew(self):
        project = Project(self)
        model = ("@dataclass\nclass Item:\n    code: int = 0\n    label: %s = field(default='', metadata={'index': "
                 "True})\n    id: Optional[int] = None\n")
        project.models(model % "str")
        project.make()
        project.apply()
        project.execute('CREATE TABLE item_new ("code" TEXT NOT NULL DEFAULT 0, "label" TEXT NOT NULL DEFAULT \'\', '
                        '"id" INTEGER PRIMARY KEY)', "INSERT INTO item_new VALUES ('007', 'x', 1)",
                        "DROP TABLE item", "ALTER TABLE item_new RENAME TO item",  # code retyped by hand
                        'CREATE INDEX "item_label_idx" ON item (label, code)')
        project.models(model % "Optional[str]")
        project.make()  # 0002 rebuilds item: label becomes nullable
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("migration 0002_alter_item rebuilds table item, and the database's item.code is TEXT, which the "
                      "migrations before it make INTEGER (changed by hand): the rebuild would make it INTEGER again "
                      "and convert its values", message)
        project.execute("UPDATE item SET code = 7", "CREATE TABLE item_new (\"code\" INTEGER NOT NULL DEFAULT 0, "
                        "\"label\" TEXT NOT NULL DEFAULT '', \"id\" INTEGER PRIMARY KEY)",
                        "INSERT INTO item_new SELECT * FROM item", "DROP TABLE item",
                        "ALTER TABLE item_new RENAME TO item",
                        'CREATE UNIQUE INDEX "item_label_idx" ON item (label, code)')  # the type undone, not the index
        [step] = project.apply()
        self.assertEqual(step.warnings, ("the rebuild of item made index item_label_idx as the migrations before it "
                                         "do, not as the database had it (changed by hand)",))
        self.assertEqual(project.query("SELECT code, label FROM item"), [(7, "x")])

    def test_a_revert_is_not_refused_for_a_type_its_down_section_sets_anyway(self):
        project = Project(self)
        project.models("@dataclass\nclass Item:\n    code: int\n    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Item:\n    code: float\n    id: Optional[int] = None\n")
        project.make()  # 0002 rebuilds item: code REAL, and back to INTEGER in its down section
        project.apply()
        path = os.path.join(project.directory, "0002_alter_item.sql")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        project.write_migration("0002_alter_item", text.replace('"code" REAL NOT NULL', '"code" TEXT NOT NULL', 1))
        project.apply(allow_changed=True)  # the edit accepted, though not made in the database: code stays REAL
        project.revert()
        self.assertEqual(project.query("SELECT type FROM pragma_table_info('item') WHERE name = 'code'"),
                         [("INTEGER",)])

    def test_a_revert_refuses_a_column_retyped_by_hand_that_its_rebuild_does_not_touch(self):
        project = Project(self)
        model = "@dataclass\nclass Item:\n    code: int\n    label: %s\n    id: Optional[int] = None\n"
        project.models(model % "str")
        project.make()
        project.models(model % "float")
        project.make()  # 0002 rebuilds item: label REAL, and back to TEXT in its down section
        project.apply()
        project.execute('CREATE TABLE item_new ("code" TEXT NOT NULL, "label" REAL NOT NULL, "id" INTEGER PRIMARY KEY)',
                        "INSERT INTO item_new VALUES ('007', 1.5, 1)", "DROP TABLE item",
                        "ALTER TABLE item_new RENAME TO item")  # code retyped by hand
        message = self.assert_unchanged(project.revert, project)
        self.assertIn("reverting 0002_alter_item rebuilds table item, and the database's item.code is TEXT, which the "
                      "migrations up to it make INTEGER (changed by hand): the rebuild would make it INTEGER again and "
                      "convert its values. Undo it by hand, or leave 0002_alter_item applied", message)

    def test_a_revert_compares_the_types_of_a_table_and_columns_the_migration_renamed(self):
        project = Project(self)
        project.models("@dataclass\nclass Item:\n    code: int\n    label: Optional[str] = None\n"
                       "    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Thing:\n    number: int\n    label: str = ''\n    id: Optional[int] = None\n")
        project.make(questioner=migrate.Questioner(renames=["item=thing", "thing.code=number"]))  # 0002 renames both, then rebuilds thing
        project.apply()
        project.execute('CREATE TABLE thing_new ("number" TEXT NOT NULL, "label" TEXT NOT NULL DEFAULT \'\', '
                        '"id" INTEGER PRIMARY KEY)', "INSERT INTO thing_new VALUES ('007', 'x', 1)",
                        "DROP TABLE thing", "ALTER TABLE thing_new RENAME TO thing")  # number retyped by hand
        message = self.assert_unchanged(project.revert, project)
        self.assertIn("the database's thing.number is TEXT, which the migrations up to it make INTEGER", message)
        project.execute('CREATE TABLE thing_new ("number" INTEGER NOT NULL, "label" TEXT NOT NULL DEFAULT \'\', '
                        '"id" INTEGER PRIMARY KEY)', "INSERT INTO thing_new SELECT * FROM thing",
                        "DROP TABLE thing", "ALTER TABLE thing_new RENAME TO thing")  # undone by hand
        project.revert()
        self.assertEqual(project.query("SELECT code, label FROM item"), [(7, "x")])

    def test_a_rebuild_drops_indexes_and_triggers_the_files_do_not_make_with_a_warning(self):
        self.project.execute("CREATE INDEX choice_lower ON choice (lower(choice_text))",
                             "CREATE TRIGGER stamp AFTER INSERT ON choice BEGIN SELECT 1; END")
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()
        [step] = self.project.apply()
        self.assertEqual(step.warnings, (
            "the rebuild of choice dropped index choice_lower, which the migrations before it do not make "
            "(made by hand, or left by a down section)",
            "the rebuild of choice dropped trigger stamp, which the migrations before it do not make "
            "(made by hand, or left by a down section)"))

    def test_reverting_past_a_down_section_that_left_an_index_is_not_refused(self):
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()
        self.project.write_migration("0003_lower", "-- migrate:up\nCREATE INDEX choice_lower ON choice "
                                     "(lower(choice_text));\n-- migrate:down\n")  # a deliberate no-op down
        self.project.apply()
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                steps = self.project.apply(target="0001", atomic=atomic)
                self.assertEqual([s.name for s in steps], ["0003_lower", "0002_alter_choice"])
                self.assertIn("dropped index choice_lower", " ".join(steps[-1].warnings))
                self.project.apply()

    def test_a_table_renamed_earlier_in_the_same_run_is_compared_too(self):
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT DEFAULT 'important'")
        self.project.models(POLLS.replace("class Choice:", "class Answer:"))
        self.project.make(questioner=migrate.Questioner(renames=["choice=answer"]))
        self.project.models(POLLS.replace("class Choice:", "class Answer:")
                            .replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()  # 0003 rebuilds answer, 0002 renamed choice to answer: both run in this apply
        message = self.assert_unchanged(lambda: self.project.apply(atomic=True))
        self.assertIn("migration 0003_alter_answer rebuilds table answer, and the database's answer has column "
                      "hotfix", message)
        with self.assertRaisesRegex(migrate.MigrateError, "0003_alter_answer rebuilds table answer"):
            self.project.apply()  # a transaction each: the rename stays, the rebuild is refused
        self.assertEqual(self.project.query("SELECT hotfix FROM answer"), [("important",)])

    def test_reverting_a_rename_and_then_a_rebuild_compares_the_table_under_its_old_name(self):
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()  # 0002 rebuilds choice
        self.project.models(POLLS.replace("class Choice:", "class Answer:")
                            .replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make(questioner=migrate.Questioner(renames=["choice=answer"]))  # 0003 renames it
        self.project.apply()
        self.project.execute("ALTER TABLE answer ADD COLUMN hotfix TEXT DEFAULT 'important'")
        message = self.assert_unchanged(lambda: self.project.apply(target="0001", atomic=True))
        self.assertIn("reverting 0002_alter_choice rebuilds table choice, and the database's choice has column "
                      "hotfix", message)
        self.assertIn("or leave 0002_alter_choice applied", message)

    def test_reverting_a_migration_that_renamed_and_rebuilt_a_table_is_compared(self):
        self.project.models(POLLS.replace("class Choice:", "class Answer:").replace("votes: int = 0",
                                                                                 "votes: float = 0.0"))
        self.project.make(questioner=migrate.Questioner(renames=["choice=answer"]))  # its down: rebuild, rename
        self.project.apply()
        self.project.execute("ALTER TABLE answer ADD COLUMN hotfix TEXT DEFAULT 'important'")
        message = self.assert_unchanged(self.project.revert)
        self.assertIn("rebuilds table answer, and the database's answer has column hotfix", message)

    def test_a_rebuild_from_a_branch_older_than_a_new_column_is_refused(self):
        project = Project(self)
        item = "@dataclass\nclass Item:\n    name: str\n    price: {price}\n{note}    id: Optional[int] = None\n"
        project.models(item.format(price="int", note=""))
        project.make()
        project.models(item.format(price="float", note=""))  # branch B
        rebuild = project.read(project.make().name + ".sql")
        os.remove(os.path.join(project.directory, "0002_alter_item.sql"))
        project.models(item.format(price="int", note="    note: Optional[str] = None\n"))  # branch A, deployed
        project.make()
        project.apply()
        project.execute("INSERT INTO item (name, price, note) VALUES ('a', 1, 'important')")
        project.write_migration("0003_alter_item", rebuild)  # B merged and renumbered, as README says
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("migration 0003_alter_item was written without column item.note (on a branch older than "
                      "the migration that makes it?)", message)

    def test_the_rebuild_probe_refuses_only_what_its_own_down_section_does_not_know(self):
        rebuild = ("CREATE TABLE _new_{t} (id INTEGER PRIMARY KEY, a TEXT{constraint});\nINSERT INTO _new_{t} "
                   "SELECT id, a FROM {t};\nDROP TABLE {t};\nALTER TABLE _new_{t} RENAME TO {t};\n")
        back = "CREATE TABLE _new_t (id INTEGER PRIMARY KEY, a TEXT);\nINSERT INTO _new_t SELECT id, a FROM t;\n" \
               "DROP TABLE t;\nALTER TABLE _new_t RENAME TO t;\n"
        cases = {  # name: (up, down, refused)
            "a rename, then a rebuild without x": (
                "ALTER TABLE t RENAME TO u;\n" + rebuild.format(t="u", constraint=""),
                back.replace("_t", "_u").replace(" t;", " u;").replace("FROM t", "FROM u")
                + "ALTER TABLE u RENAME TO t;\n", True),
            "a generated-style rebuild without x": (rebuild.format(t="t", constraint=""), back, True),
            "SQLite's FAQ rebuild, a TEMP backup by the same name in both sections": (
                "CREATE TEMP TABLE t_backup AS SELECT * FROM t;\nDROP TABLE t;\n"
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE);\n"
                "INSERT INTO t (id, a) SELECT id, a FROM t_backup;\n",
                "CREATE TEMP TABLE t_backup AS SELECT * FROM t;\nDROP TABLE t;\n"
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\nINSERT INTO t (id, a) SELECT id, a FROM t_backup;\n",
                True),
            "an up section that also makes a TEMP AUTOINCREMENT table (and so TEMP sqlite_sequence)": (
                "CREATE TEMP TABLE pad (id INTEGER PRIMARY KEY AUTOINCREMENT, v);\nINSERT INTO pad (v) VALUES (1);\n"
                "CREATE INDEX t_a ON t (a);\n", "DROP INDEX t_a;\n" + back, True),
            "a down section that is only a comment": (rebuild.format(t="t", constraint=""), "-- irreversible\n", False),
            "a down section that undoes only part": (rebuild.format(t="t", constraint=""), "DELETE FROM t;\n", False),
            "a rebuild that rolls back on the replayed rows": (
                rebuild.format(t="t", constraint=" NOT NULL ON CONFLICT ROLLBACK"), back, False),
        }
        for name, (up, down, refused) in cases.items():
            with self.subTest(name):
                project = Project(self)
                project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\n"
                                        "INSERT INTO t (a) VALUES (NULL);\n-- migrate:down\nDROP TABLE t;\n")
                project.write_migration("0002_x", "-- migrate:up\nALTER TABLE t ADD COLUMN x TEXT;\n"
                                        "-- migrate:down\nALTER TABLE t DROP COLUMN x;\n")
                project.apply()
                project.execute("DELETE FROM t", "INSERT INTO t (a, x) VALUES ('a', 'precious')")
                project.write_migration("0003_rebuild", f"-- migrate:up\n{up}-- migrate:down\n{down}")
                if refused:
                    self.assertIn("0003_rebuild was written without column t.x",
                                  self.assert_unchanged(project.apply, project))
                else:
                    self.assertEqual([s.name for s in project.apply()], ["0003_rebuild"])

    def test_a_branch_migration_whose_revert_would_lose_a_column_is_refused_and_a_trigger_warned(self):
        trigger = "CREATE TRIGGER item_audit AFTER UPDATE ON item BEGIN SELECT 1; END;\n"
        for with_column in (True, False):
            with self.subTest(with_column=with_column):
                project = Project(self)
                item = ("@dataclass\nclass Owner:\n    name: str\n    id: Optional[int] = None\n\n@dataclass\n"
                        "class Item:\n    a: str\n{extra}    id: Optional[int] = None\n")
                project.models(item.format(extra=""))
                project.make()
                project.models(item.format(extra="    owner: Optional[Owner] = None\n"))  # B: its down rebuilds item
                foreign_key = project.read(project.make().name + ".sql")
                os.remove(os.path.join(project.directory, "0002_add_item_owner_id_and_more.sql"))
                project.write_migration("0002_audit", "-- migrate:up\n" + trigger + (
                    "ALTER TABLE item ADD COLUMN c TEXT;\n" if with_column else "") + "-- migrate:down\n"
                    "DROP TRIGGER item_audit;\n" + ("ALTER TABLE item DROP COLUMN c;\n" if with_column else ""))
                project.apply()  # branch A, deployed
                project.execute("INSERT INTO item (a) VALUES ('a')")
                project.write_migration("0003_add_item_owner_id_and_more", foreign_key)  # B merged and renumbered
                if with_column:
                    self.assertIn("0003_add_item_owner_id_and_more was written without column item.c (on a branch "
                                  "older", self.assert_unchanged(project.apply, project))
                else:
                    [step] = project.apply()
                    self.assertEqual(step.warnings, ("it was written without trigger item_audit (another "
                                                     "branch's?): reverting it drops it; make it again to keep it",))

    def test_a_branch_migration_whose_revert_alone_would_make_a_column_not_null_again_is_refused(self):
        project = Project(self)
        item = ("@dataclass\nclass Owner:\n    name: str\n    id: Optional[int] = None\n\n@dataclass\n"
                "class Item:\n    a: {a}\n{extra}    id: Optional[int] = None\n")
        project.models(item.format(a="str", extra=""))
        project.make()
        project.models(item.format(a="str", extra="    owner: Optional[Owner] = None\n"))  # B: a down rebuild
        foreign_key = project.read(project.make().name + ".sql")
        self.assertNotIn("_new_item", foreign_key.split("-- migrate:down")[0])  # its up section adds a column
        os.remove(os.path.join(project.directory, "0002_add_item_owner_id_and_more.sql"))
        project.models(item.format(a="Optional[str] = None", extra=""))  # A, deployed
        project.make()
        project.apply()
        project.execute("INSERT INTO item (a) VALUES (NULL)")
        project.write_migration("0003_add_item_owner_id_and_more", foreign_key)  # B merged and renumbered
        self.assertIn("0003_add_item_owner_id_and_more was written without column item.a as nullable (on a branch "
                      "older", self.assert_unchanged(project.apply, project))

    def test_a_branch_rebuild_that_would_drop_a_trigger_when_applied_is_refused(self):
        project = Project(self)
        item = "@dataclass\nclass Item:\n    a: {a}\n    id: Optional[int] = None\n"
        project.models(item.format(a="str"))
        project.make()
        project.models(item.format(a="Optional[str] = None"))  # branch B: a rebuild of item
        rebuild = project.read(project.make().name + ".sql")
        os.remove(os.path.join(project.directory, "0002_alter_item.sql"))
        project.write_migration("0002_audit", "-- migrate:up\nCREATE TRIGGER item_audit AFTER UPDATE ON item BEGIN "
                                "SELECT 1; END;\n-- migrate:down\nDROP TRIGGER item_audit;\n")  # branch A
        project.apply()
        project.write_migration("0003_alter_item", rebuild)
        self.assertIn("0003_alter_item was written without trigger item_audit",
                      self.assert_unchanged(project.apply, project))

    def test_a_rebuild_that_makes_an_index_again_does_not_warn_it_dropped_it(self):
        self.project.execute('CREATE INDEX "choice_choice_text_idx" ON choice (choice_text)')
        self.project.models(POLLS.replace('choice_text: str = ""',
                                          'choice_text: Optional[str] = field(default=None, metadata={"index": True})'))
        self.project.make()  # a rebuild, then CREATE INDEX with the name made by hand
        [step] = self.project.apply()
        self.assertEqual(step.warnings, ())

    def test_a_non_ascii_table_name_is_recognised_in_a_rebuild(self):
        project = Project(self)
        project.write_migration("0001_t", '-- migrate:up\nCREATE TABLE "Ünï" (a, b);\n')
        project.apply()
        project.execute('ALTER TABLE "Ünï" ADD COLUMN hot', 'INSERT INTO "Ünï" VALUES (1, 2, 3)')
        project.write_migration("0002_rebuild", '-- migrate:up\nCREATE TABLE _new (a, b);\nINSERT INTO _new '
                                'SELECT a, b FROM "Ünï";\nDROP TABLE "Ünï";\nALTER TABLE _new RENAME TO "Ünï";\n')
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("rebuilds table Ünï, and the database's Ünï has column hot", message)

    def test_a_table_made_by_an_earlier_migration_and_renamed_onto_the_copied_one_is_a_rebuild(self):
        project = Project(self)
        project.write_migration("0001_p", "-- migrate:up\nCREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);\n")
        project.apply()
        project.execute("ALTER TABLE p ADD COLUMN hotfix TEXT", "INSERT INTO p VALUES (1, 'a', 'precious')")
        project.write_migration("0002_p2", "-- migrate:up\nCREATE TABLE p2 (id INTEGER PRIMARY KEY, name TEXT);\n")
        project.write_migration("0003_swap", "-- migrate:up\nINSERT INTO p2 (id, name) SELECT id, name FROM p;\n"
                                             "DROP TABLE p;\nALTER TABLE p2 RENAME TO p;\n")
        with self.assertRaises(migrate.MigrateError) as caught:
            project.apply(atomic=True)
        self.assertIn("rebuilds table p, and the database's p has column hotfix", str(caught.exception))
        self.assertEqual(project.query("SELECT * FROM p"), [(1, "a", "precious")])

    def test_hand_written_rebuilds_are_recognised_however_they_are_spelled(self):
        columns = "id INTEGER PRIMARY KEY, question_id INTEGER REFERENCES question (id), choice_text TEXT"
        copy = "id, question_id, choice_text"
        variants = {
            "rename the old table away": [f"ALTER TABLE choice RENAME TO choice_old",
                                          f"CREATE TABLE choice ({columns})",
                                          f"INSERT INTO choice ({copy}) SELECT {copy} FROM choice_old",
                                          "DROP TABLE choice_old"],
            "copy through a join": [f"CREATE TABLE new_choice ({columns})",
                                    f"INSERT INTO new_choice SELECT c.id, c.question_id, c.choice_text "
                                    f"FROM (SELECT 1) AS one JOIN choice AS c", "DROP TABLE choice",
                                    "ALTER TABLE new_choice RENAME TO choice"],
            "quotes and a comment": [f"CREATE TABLE 'new' ({columns})", f"INSERT INTO 'new' SELECT {copy} FROM "
                                     "'CHOICE'", "DROP /* the old one */ TABLE 'choice'",
                                     "ALTER TABLE 'new' RENAME TO 'choice'"],
            "after a rename of the table": ["ALTER TABLE choice RENAME TO answer",
                                            f"CREATE TABLE _new_answer ({columns})",
                                            f"INSERT INTO _new_answer SELECT {copy} FROM answer",
                                            "DROP TABLE answer", "ALTER TABLE _new_answer RENAME TO answer"],
        }
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT DEFAULT 'important'")
        for name, statements in variants.items():
            with self.subTest(name):
                self.project.write_migration("0002_rebuild", "-- migrate:up\n" + ";\n".join(statements) + ";\n")
                message = self.assert_unchanged(self.project.apply)
                self.assertIn("rebuilds table choice, and the database's choice has column hotfix", message)

    def test_rebuilds_of_tables_made_in_the_same_run_or_outside_migrations_are_not_refused(self):
        self.project.revert()
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                self.assertEqual(len(self.project.apply(atomic=atomic)), 2)
                self.project.apply(target="zero")
        # a migration that needs a table made by the application does not replay: nothing is expected
        self.project.execute("CREATE TABLE app_settings (key TEXT)")
        self.project.write_migration("0003_settings", "-- migrate:up\nINSERT INTO app_settings VALUES ('x');\n"
                                     "-- migrate:down\nDELETE FROM app_settings;\n")
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None")
                            .replace("votes: int = 0", "votes: float = 0.0"))
        with self.assertRaises(migrate.MigrateError):
            self.project.make()  # make replays the files, so it cannot
        self.project.write_migration("0004_rebuild", "-- migrate:up\nCREATE TABLE _new_question (question_text "
                                     "TEXT NOT NULL, id INTEGER PRIMARY KEY);\nINSERT INTO _new_question SELECT "
                                     "question_text, id FROM question;\nDROP TABLE question;\n"
                                     "ALTER TABLE _new_question RENAME TO question;\n-- migrate:down\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0001_initial", "0002_alter_choice",
                                                                  "0003_settings", "0004_rebuild"])

    def test_a_table_dropped_and_made_anew_without_copying_its_rows_is_not_a_rebuild(self):
        self.project.execute("ALTER TABLE choice ADD COLUMN hotfix TEXT")
        self.project.write_migration("0002_reset", "-- migrate:up\nDROP TABLE choice;\nCREATE TABLE choice (id "
                                     "INTEGER PRIMARY KEY, question_id INTEGER REFERENCES question (id));\n"
                                     "-- migrate:down\n")
        self.assertEqual([s.name for s in self.project.apply()], ["0002_reset"])  # emptied on purpose

    def test_a_migration_numbered_like_an_applied_one_whose_file_is_gone_is_refused(self):
        self.project.models(POLLS.replace("votes: int = 0", "votes: int = 0\n    note: Optional[str] = None"))
        self.project.make()
        self.project.apply()
        os.remove(os.path.join(self.project.directory, "0002_add_choice_note.sql"))  # another branch
        self.project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        self.project.make()
        message = self.assert_unchanged(self.project.apply)
        self.assertIn("migration 0002_alter_choice has the number of 0002_add_choice_note, which the database "
                      "applied and whose file is gone", message)
        self.assertIn("which reverts it, dropping what it made", message)
        self.assertIn("has the number of 0002_add_choice_note", self.assert_unchanged(
            lambda: self.project.apply(fake=True)))  # recording it would leave two histories in one database
        self.project.apply(target="0001")  # reverts 0002_add_choice_note with its recorded down SQL
        self.assertEqual([s.name for s in self.project.apply()], ["0002_alter_choice"])
        os.rename(os.path.join(self.project.directory, "0002_alter_choice.sql"),
                  os.path.join(self.project.directory, "0002_nullable_text.sql"))  # the same file, renamed
        self.assertIn("migration 0002_nullable_text is 0002_alter_choice, applied under that name, renamed: rename "
                      "the file back", self.assert_unchanged(self.project.apply))
        os.rename(os.path.join(self.project.directory, "0002_nullable_text.sql"),
                  os.path.join(self.project.directory, "0003_alter_choice.sql"))  # renumbered after a merge
        self.project.write_migration("0002_other_branch", "-- migrate:up\nCREATE TABLE other (x);\n")
        self.assertIn("the database applied 0002_alter_choice, since renumbered to 0003_alter_choice, and "
                      "0002_other_branch now has its number: rename 0003_alter_choice back to 0002_alter_choice "
                      "and give 0002_other_branch the number 0003 instead (if no database applied it yet), or "
                      "revert 0002_alter_choice with python migrate.py apply 0001",
                      self.assert_unchanged(self.project.apply))

    def test_a_record_renamed_by_hand_to_no_migration_name_is_said_to_be_one_with_the_update_that_mends_it(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.execute("UPDATE _migrations SET name = 'oops' WHERE name = '0001_t'")
        with self.assertRaises(migrate.MigrateError) as caught:
            project.apply()
        self.assertEqual(str(caught.exception), "migration 0001_t was applied, as _migrations records its content, "
                         "under the name 'oops', which no migration file could have: was that row edited by hand? Set "
                         "its name back (UPDATE \"_migrations\" SET name = '0001_t' WHERE name = 'oops'); nothing was "
                         "changed")
        self.assertEqual(migrate.check(project.db, models=None, directory=project.directory), [
            "applied migration oops has no file in " + project.directory + " (0001_t has its content, and no file "
            "could have that name: set the row's name back, UPDATE \"_migrations\" SET name = '0001_t' WHERE name = "
            "'oops')"])
        project.execute("UPDATE \"_migrations\" SET name = '0001_t' WHERE name = 'oops'")  # as it says
        self.assertEqual(project.apply(), [])

    def test_a_pending_migration_numbered_before_an_applied_one_is_refused_until_reverted_or_recorded(self):
        project = Project(self)
        for number in (1, 2, 3):
            project.write_migration(f"000{number}_t{number}", f"-- migrate:up\nCREATE TABLE t{number} (x);\n"
                                    f"-- migrate:down\nDROP TABLE t{number};\n")
        project.apply()
        project.execute("DELETE FROM _migrations WHERE name = '0002_t2'")  # by hand: t2 is still there
        expected = ("migration 0002_t2 is not applied, but 0003_t3, numbered after it, is (was _migrations edited by "
                    "hand?): it would run after a migration written after it. If the database has what it makes (only "
                    "its row was deleted), record it with `python migrate.py apply --fake 0003`; if not, revert to "
                    "before it with `python migrate.py apply 0001` (which reverts 0003_t3), then apply; nothing was "
                    "changed")
        self.assertEqual(self.assert_unchanged(project.apply, project), expected)
        self.assertEqual(migrate.check(project.db, models=None, directory=project.directory),
                         ["database drift: table t2: in the database, not in its applied migrations",
                          f"apply would stop: {expected}"])
        self.assertEqual([(s.action, s.name) for s in project.apply(target="0003", fake=True)], [("fake", "0002_t2")])
        self.assertEqual([(s.name, s.applied) for s in project.status()],
                         [("0001_t1", True), ("0002_t2", True), ("0003_t3", True)])
        project.execute("DELETE FROM _migrations WHERE name = '0001_t1'")
        project.execute("DROP TABLE t1")  # its record and its table: run again, after reverting what came after
        self.assertIn("migration 0001_t1 is not applied, but 0002_t2, numbered after it, is", self.assert_unchanged(
            lambda: project.apply(target="0003"), project))
        self.assertEqual([(s.action, s.name) for s in project.apply(target="zero")],
                         [("revert", "0003_t3"), ("revert", "0002_t2")])
        self.assertEqual(len(project.apply()), 3)

    def test_an_applied_migration_renumbered_is_refused_rather_than_run_or_recorded_twice(self):
        project = Project(self)
        sql = "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n"
        project.write_migration("20240101120000_create_users", sql)  # dbmate's name, applied as it was
        project.apply()
        os.rename(os.path.join(project.directory, "20240101120000_create_users.sql"),
                  os.path.join(project.directory, "0001_create_users.sql"))
        for options in ({}, {"fake_initial": True}, {"fake": True}):
            with self.subTest(**options):
                self.assertEqual(self.assert_unchanged(lambda: project.apply(**options), project),
                                 "migration 0001_create_users is 20240101120000_create_users, applied under that "
                                 "name, renamed: rename the file back (the database knows migrations by name); "
                                 "nothing was changed")

    def test_a_gone_migration_with_the_content_of_another_applied_one_is_not_taken_for_it(self):
        project = Project(self)
        for name in ("0001_placeholder", "0002_later"):
            project.write_migration(name, "-- migrate:up\n-- nothing yet\n-- migrate:down\n")  # the same text
        project.apply()
        os.remove(os.path.join(project.directory, "0001_placeholder.sql"))
        project.write_migration("0001_other", "-- migrate:up\nCREATE TABLE other (x);\n")
        self.assertIn("whose file is gone (another branch?)", self.assert_unchanged(project.apply, project))

    def test_a_number_clash_with_a_first_migration_or_a_squash_says_what_works(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n")
        project.apply()
        os.rename(os.path.join(project.directory, "0001_a.sql"), os.path.join(project.directory, "0001_b.sql"))
        with open(os.path.join(project.directory, "0001_b.sql"), "a") as handle:
            handle.write("-- another file\n")
        self.assertIn("python migrate.py apply zero", self.assert_unchanged(project.apply, project))
        project.execute("UPDATE _migrations SET name = '0001_squashed_0001_0001'")  # as if squashed, file gone
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("in place of the migrations it replaces and whose file is gone: restore that file", message)
        self.assertNotIn("revert", message)  # that would revert everything it replaced
        project.execute("UPDATE _migrations SET name = '0001_a', down_sql = NULL")  # recorded without a down section
        message = self.assert_unchanged(project.apply, project)
        self.assertIn("has the number of 0001_a, which the database applied and whose file is gone (another "
                      "branch?), with no down SQL recorded: restore that file", message)
        self.assertNotIn("apply zero", message)  # which would fail: nothing says how to revert it


class AllowChanged(unittest.TestCase):
    """apply --allow-changed: an applied file edited since is accepted as it is now."""

    def setUp(self):
        self.project = Project(self)
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n"
                                     "-- migrate:down\nDROP TABLE wrong_name;\n")
        self.project.apply()
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n"
                                     "-- migrate:down\nDROP TABLE t;\n")  # the down section fixed
        self.edited = migrate.read_migrations(self.project.directory)[0]
        self.before = self.recorded()

    def recorded(self):
        return self.project.query("SELECT checksum, down_sql FROM _migrations WHERE name = '0001_t'")

    def test_another_folders_file_of_the_same_name_is_said_to_be_one_not_an_edit_to_accept(self):
        # a plugin's own 0001 (or a wrong --dir): accepting it would record it over the database's own
        plugin = os.path.join(self.project.root, "plugin")
        os.mkdir(plugin)
        with open(os.path.join(plugin, "0001_t.sql"), "w") as handle:
            handle.write("-- migrate:up\nCREATE TABLE plug (x);\nCREATE TABLE plug_log (x);\n-- migrate:down\n"
                         "DROP TABLE plug_log;\nDROP TABLE plug;\n")
        said = (f"migration file {plugin}/0001_t.sql is not the 0001_t this database applied (it makes tables "
                "plug, plug_log, where that one made t)")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(said) + r": pass --dir with this database's "
                                    r"migrations folder, or --db with this folder's database \(or, if the file was "
                                    r"rewritten on purpose, --allow-changed\); nothing was changed$"):
            migrate.apply(self.project.db, directory=plugin)
        self.assertEqual(migrate.check(self.project.db, models=None, directory=plugin),
                         [said + ": is --dir its migrations folder, and --db its database? (If the file was rewritten "
                          "on purpose, record it with apply --allow-changed)"])
        self.assertEqual(self.recorded(), self.before)
        with self.assertRaisesRegex(migrate.MigrateError, "0001_t.sql changed since it was applied"):
            self.project.apply()  # an edit that keeps a table it made: an edit
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t_new (x);\nALTER TABLE t_new RENAME TO t;"
                                     "\n-- migrate:down\nDROP TABLE t;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0001_t.sql changed since it was applied"):
            self.project.apply()  # (what it leaves is t, under its final name)

    def test_a_revert_failing_on_the_recorded_down_sql_says_how_to_use_the_fixed_file(self):
        with self.assertRaises(migrate.MigrateError) as caught:
            self.project.revert()
        self.assertIn("no such table: wrong_name in statement: DROP TABLE wrong_name (this is the down SQL recorded "
                      "when it was applied; its file's down section differs: to revert with that one, record it "
                      "first with apply 0001_t --allow-changed)", str(caught.exception))
        self.assertEqual(self.recorded(), self.before)

    def test_an_atomic_revert_failing_on_recorded_down_sql_says_to_record_up_to_the_latest_applied(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE wrong;\n")
        project.write_migration("0002_u", "-- migrate:up\nCREATE TABLE u (x);\n-- migrate:down\nDROP TABLE u;\n")
        project.apply()
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        with self.assertRaises(migrate.MigrateError) as caught:
            project.revert(target="zero", atomic=True)  # 0002_u's revert, rolled back with 0001_t's failure
        self.assertIn("record it first with apply 0002_u --allow-changed)", str(caught.exception))
        self.assertEqual(project.query("SELECT name FROM _migrations ORDER BY name"), [("0001_t",), ("0002_u",)])

    def test_a_revert_that_succeeds_on_the_recorded_down_sql_says_it_did_not_run_the_files(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n"
                                "SELECT 'edited';\n")
        steps = project.revert()
        self.assertEqual(steps[0].warnings, ("its file's down section was edited since it was applied: this revert "
                                             "runs the down SQL recorded then; to revert with the file's, record it "
                                             "first with apply --allow-changed",))
        project.apply(allow_changed=True)
        self.assertEqual(project.revert()[0].warnings, ())  # the file as it is: no note

    def test_a_down_section_removed_from_the_file_since_it_was_applied_stops_the_revert(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.execute("INSERT INTO t VALUES (1)")
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")  # irreversible, on purpose?
        with self.assertRaisesRegex(migrate.MigrateError, r"^migration 0001_t's file has no `-- migrate:down` section "
                                    r"now, but had one when it was applied: restore the section \(git checkout\) to "
                                    r"revert with it, or, to make the migration irreversible, record the file as it "
                                    r"is with apply 0001_t --allow-changed; nothing was changed$"):
            project.revert()
        self.assertEqual(project.query("SELECT x FROM t"), [(1,)])
        project.apply(allow_changed=True)
        with self.assertRaisesRegex(migrate.MigrateError, "has no `-- migrate:down` section, so it cannot be"):
            project.revert()
        self.assertEqual([s.name for s in project.revert(fake=True)], ["0001_t"])  # its record only, as before

    def test_a_down_section_added_to_a_file_applied_without_one_is_no_edit(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        project.apply()  # as production did, before anyone needed to revert it
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        self.assertEqual(project.apply(), [])  # (an application that applies at start-up still starts)
        self.assertEqual(migrate.check(project.db, models=None, directory=project.directory), [])
        self.assertNotIn("changed", project.cli("status").stdout)
        self.assertEqual([s.name for s in project.revert()], ["0001_t"])  # with the section added
        self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE name = 't'"), [])
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x, y);\n")
        project.apply()
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0001_t.sql changed since it was applied"):
            project.apply()  # with an edit of its up SQL, it still is one

    def test_a_down_section_recorded_with_crlf_line_endings_is_not_taken_for_an_edit(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE\nt;\n")
        project.apply()
        project.execute("UPDATE _migrations SET down_sql = replace(down_sql, char(10), char(13) || char(10))")
        self.assertIn("\r\n", project.query("SELECT down_sql FROM _migrations")[0][0])  # as a CRLF checkout had it
        self.assertEqual(project.revert()[0].warnings, ())
        project.apply()
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\n-- a note\nDROP "
                                "TABLE t;\n")  # a comment is no edit either
        self.assertEqual(project.revert()[0].warnings, ())

    def test_apply_to_an_earlier_target_reverts_an_edited_file_as_revert_does(self):
        self.project.write_migration("0002_u", "-- migrate:up\nCREATE TABLE u (x);\n-- migrate:down\nDROP TABLE u;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0001_t.sql changed since it was applied"):
            self.project.apply()  # forward: refused, as the database may not be what the files say
        with self.assertRaises(migrate.MigrateError) as by_apply:
            self.project.apply(target="zero")  # back: the recorded down SQL, as revert runs it
        with self.assertRaises(migrate.MigrateError) as by_revert:
            self.project.revert(target="zero")
        self.assertEqual(str(by_apply.exception), str(by_revert.exception))
        self.assertIn("DROP TABLE wrong_name (this is the down SQL recorded when it was applied",
                      str(by_apply.exception))
        self.assertEqual(self.recorded(), self.before)

    def test_the_edited_down_section_is_recorded_and_revert_uses_it(self):
        self.project.apply(allow_changed=True)
        self.assertEqual(self.recorded(), [(self.edited.checksum, self.edited.down)])
        self.project.revert()
        self.assertEqual(self.project.schema_sql(), [])

    def test_an_edit_whose_down_section_a_revert_would_refuse_is_not_recorded(self):
        for down, error in (("COMMIT;", r"\(down section\): COMMIT cannot run inside the migration's transaction"),
                            ("DROPP TABLE t;", r"\(down section\): SQLite cannot parse it"),
                            ("DELETE FROM _migrations;", r"\(down section\): .*_migrations")):
            with self.subTest(down):
                self.project.write_migration("0001_t", f"-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\n{down}\n")
                for options in ({}, {"atomic": True}):
                    with self.assertRaisesRegex(migrate.MigrateError, r"^migration 0001_t " + error):
                        self.project.apply(allow_changed=True, **options)
                with self.assertRaisesRegex(migrate.MigrateError, r"^migration 0001_t " + error):
                    migrate.plan(self.project.db, directory=self.project.directory, allow_changed=True)  # --check
                self.assertEqual(self.recorded(), self.before)

    def test_a_migration_reverted_in_the_same_run_uses_the_edited_down_section(self):
        self.project.apply(target="zero", allow_changed=True)
        self.assertEqual(self.project.schema_sql(), [])
        self.assertEqual(self.project.query("SELECT count(*) FROM _migrations"), [(0,)])

    def test_a_failing_first_migration_leaves_the_edit_unaccepted(self):
        self.project.write_migration("0002_bad", "-- migrate:up\nSELECT * FROM nowhere;\n")
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                with self.assertRaisesRegex(migrate.MigrateError, "0002_bad failed.*the database is as it was"):
                    self.project.apply(allow_changed=True, atomic=atomic)
                self.assertEqual(self.recorded(), self.before)
                self.assertEqual([s.modified for s in self.project.status()], [True, False])

    def test_the_edit_is_accepted_with_the_first_migration_of_the_run(self):
        self.project.write_migration("0002_ok", "-- migrate:up\nCREATE TABLE u (x);\n")
        self.project.write_migration("0003_bad", "-- migrate:up\nSELECT * FROM nowhere;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0003_bad failed"):
            self.project.apply(allow_changed=True)
        self.assertEqual(self.recorded(), [(self.edited.checksum, self.edited.down)])
        self.assertEqual([s.applied for s in self.project.status()], [True, True, False])



class DownSectionsThatLoseData(unittest.TestCase):
    """A hand-written down section that drops what its up section did not
    make would delete what the database had before the migration."""

    def setUp(self):
        self.project = Project(self)
        self.project.models(POLLS)
        self.project.make()

    def apply_with_rows(self, up: str, down: str) -> dict:
        self.project.apply()
        self.project.execute("INSERT INTO question (question_text) VALUES ('a'), ('b')")
        self.project.write_migration("0002_hand", f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n")
        self.project.apply()
        return table_dump(self.project.db)

    def test_a_revert_dropping_a_table_spelled_in_another_case_than_the_database_is_refused(self):
        project = Project(self)
        project.write_migration("0001_item", "-- migrate:up\nCREATE TABLE Item (x);\n"
                                "-- migrate:down\nDROP TABLE Item;\n")
        project.apply()
        project.execute("INSERT INTO Item VALUES (1), (2)")
        down = "DROP TABLE item;"
        project.write_migration("0002_hand", f"-- migrate:up\nALTER TABLE Item ADD COLUMN note TEXT;\n"
                                f"-- migrate:down\n{down}\n")
        project.apply()
        with self.assertRaisesRegex(migrate.MigrateError, "would drop table Item and its 2 rows", msg=down):
            project.revert()
        self.assertEqual(project.query("SELECT count(*) FROM Item"), [(2,)], down)

    def test_a_revert_is_judged_by_the_up_sql_recorded_at_apply_not_by_the_edited_file(self):
        project = Project(self)
        project.write_migration("0001_item", "-- migrate:up\nCREATE TABLE item (x);\n"
                                "-- migrate:down\nDROP TABLE item;\n")
        project.write_migration("0002_hand", "-- migrate:up\nALTER TABLE item ADD COLUMN note TEXT;\n"
                                "-- migrate:down\nDROP TABLE item;\n")
        project.apply()
        project.execute("INSERT INTO item (x) VALUES (1), (2)")
        # the file edited since: its up now seems to make the table its (recorded) down drops
        project.write_migration("0002_hand", "-- migrate:up\nCREATE TABLE item (x, note TEXT);\n"
                                "-- migrate:down\nDROP TABLE item;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "would drop table item and its 2 rows"):
            project.revert()
        self.assertEqual(project.query("SELECT count(*) FROM item"), [(2,)])

    def test_a_revert_dropping_a_table_or_column_its_up_section_did_not_make_is_refused_and_changes_nothing(self):
        cases = [  # down section, what the error names
            ('DROP TABLE question;', "would drop table question and its 2 rows"),
            ('DROP TABLE IF EXISTS main."Question";', "would drop table question and its 2 rows"),
            ('ALTER TABLE question DROP COLUMN question_text;',
             "would drop column question.question_text and its values in 2 rows"),
            ('ALTER TABLE question RENAME TO old_question;\nDROP TABLE old_question;',
             "would drop table question and its 2 rows"),
            ('ALTER TABLE question RENAME TO q2;\nALTER TABLE q2 DROP COLUMN question_text;\n'
             'ALTER TABLE q2 RENAME TO question;', "would drop column question.question_text and its values in 2 rows"),
        ]
        for down, expected in cases:
            for how in ("revert", "apply 0001", "plan"):
                with self.subTest(down=down, how=how):
                    self.setUp()
                    before = self.apply_with_rows("ALTER TABLE question ADD COLUMN note TEXT;", down)
                    with self.assertRaises(migrate.MigrateError) as caught:
                        if how == "revert":
                            self.project.revert()
                        elif how == "apply 0001":
                            self.project.apply(target="0001")
                        else:
                            migrate.plan(self.project.db, directory=self.project.directory, reverting=True)
                    self.assertIn(f"reverting migration 0002_hand {expected}, which the database had before that "
                                  "migration (its up section does not make it): fix the down section, record it "
                                  "with apply 0002_hand --allow-changed (the latest applied: it applies nothing), "
                                  "then revert; nothing was changed",
                                  str(caught.exception))
                    self.assertEqual(table_dump(self.project.db), before)
                    self.assertEqual([s.applied for s in self.project.status()], [True, True])

    def test_the_fixed_down_section_recorded_with_allow_changed_reverts_and_keeps_the_rows(self):
        self.apply_with_rows("ALTER TABLE question ADD COLUMN note TEXT;", "DROP TABLE question;")
        self.project.write_migration("0002_hand", "-- migrate:up\nALTER TABLE question ADD COLUMN note TEXT;\n"
                                                  "-- migrate:down\nALTER TABLE question DROP COLUMN note;\n")
        self.project.apply(allow_changed=True)
        self.project.revert()
        self.assertEqual(self.project.query("SELECT question_text FROM question ORDER BY id"), [("a",), ("b",)])

    def test_down_sections_that_drop_only_what_their_up_section_made_are_not_refused(self):
        cases = [  # up, down
            ("CREATE TABLE tag (name TEXT);", "DROP TABLE tag;"),
            ("CREATE TABLE IF NOT EXISTS main.tag (name TEXT);", 'DROP TABLE "TAG";'),
            ("CREATE TABLE t1 (x);\nALTER TABLE t1 RENAME TO t2;", "DROP TABLE t2;"),
            ("ALTER TABLE question ADD COLUMN note TEXT;\nALTER TABLE question RENAME COLUMN note TO memo;",
             "ALTER TABLE question DROP COLUMN memo;"),
            ("ALTER TABLE question RENAME TO query;\nALTER TABLE query ADD note TEXT;",
             "ALTER TABLE query DROP note;\nALTER TABLE query RENAME TO question;"),
            ("ALTER TABLE question ADD COLUMN note TEXT;",
             "ALTER TABLE question RENAME TO q2;\nALTER TABLE q2 DROP COLUMN note;\nALTER TABLE q2 RENAME TO question;"),
            ("SELECT 1;", "DROP TABLE IF EXISTS legacy;"),  # not there: nothing to lose
            ("SELECT 1;", "CREATE TABLE scratch (x);\nDROP TABLE scratch;\nCREATE TEMP TABLE t (x);\n"
                          "DROP TABLE temp.t;"),
            # a hand-made rebuild in both sections: the rows are copied before the table is dropped
            ("CREATE TABLE new_q (question_text TEXT NOT NULL, id INTEGER PRIMARY KEY, note TEXT);\n"
             "INSERT INTO new_q (question_text, id) SELECT question_text, id FROM question;\n"
             "DROP TABLE question;\nALTER TABLE new_q RENAME TO question;",
             "ALTER TABLE question DROP COLUMN note;"),
            ("ALTER TABLE question ADD COLUMN note TEXT;",
             "CREATE TABLE old_q (question_text TEXT NOT NULL, id INTEGER PRIMARY KEY);\n"
             "INSERT INTO old_q SELECT question_text, id FROM question;\n"
             "DROP TABLE question;\nALTER TABLE old_q RENAME TO question;"),
        ]
        for up, down in cases:
            with self.subTest(up=up, down=down):
                self.setUp()
                self.apply_with_rows(up, down)
                self.project.revert()
                self.assertEqual(self.project.query("SELECT question_text FROM question ORDER BY id"),
                                 [("a",), ("b",)])


class TempObjects(unittest.TestCase):
    TEMP = """\
        -- migrate:up
        CREATE TEMP TABLE ids AS SELECT id FROM t WHERE v > 1;
        CREATE TEMP VIEW picked AS SELECT id FROM ids;
        CREATE TEMP TRIGGER stamp AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (new.id); END;
        UPDATE t SET v = v * 10 WHERE id IN picked;
        """

    def project_with_temp_migrations(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, v);\n"
                                "CREATE TABLE log (id);\nINSERT INTO t (v) VALUES (1), (2), (3);\n")
        project.write_migration("0002_temp", self.TEMP)
        project.write_migration("0003_temp_again", self.TEMP)
        project.write_migration("0004_after", "-- migrate:up\nUPDATE t SET v = v + 1 WHERE id = 1;\n")
        return project

    def test_each_migration_starts_without_the_temp_objects_of_the_ones_before(self):
        for atomic in (False, True):
            with self.subTest(atomic=atomic):
                project = self.project_with_temp_migrations()
                project.apply(atomic=atomic)
                self.assertEqual(project.query("SELECT v FROM t ORDER BY id"), [(2,), (200,), (300,)])
                self.assertEqual(project.query("SELECT id FROM log ORDER BY rowid"), [(2,), (3,), (2,), (3,)],
                                 "0004's UPDATE fired a TEMP trigger of 0003")

    def test_an_open_connection_keeps_its_own_temp_objects_and_gets_none_of_the_migrations(self):
        project = self.project_with_temp_migrations()
        conn = sqlite3.connect(project.db, isolation_level=None)
        self.addCleanup(conn.close)
        conn.execute("CREATE TEMP TABLE mine (x)")
        migrate.apply(conn, directory=project.directory, target="0002")
        self.assertEqual(conn.execute("SELECT type, name FROM temp.sqlite_master").fetchall(), [("table", "mine")])

    def test_a_temp_table_named_like_a_table_of_the_migrations_is_refused_as_it_would_take_their_sql(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n"
                                "INSERT INTO t VALUES (1);\n-- migrate:down\nDROP TABLE t;\n")
        conn = sqlite3.connect(project.db, isolation_level=None)
        self.addCleanup(conn.close)
        for kind in ("TABLE", "VIEW"):  # before the table exists, and after
            for applied in (False, True):
                with self.subTest(kind=kind, applied=applied):
                    conn.execute(f"CREATE TEMP {kind} t AS SELECT 'mine' AS x")
                    with self.assertRaisesRegex(migrate.MigrateError, f"the connection has a TEMP {kind.lower()} t, "
                                                "which would take the migrations' SQL for t in place of"):
                        (migrate.revert if applied else migrate.apply)(conn, directory=project.directory)
                    self.assertEqual(conn.execute("SELECT x FROM temp.t").fetchall(), [("mine",)])
                    conn.execute(f"DROP {kind} temp.t")
                    if not applied:
                        migrate.apply(conn, directory=project.directory)
            migrate.revert(conn, directory=project.directory)
        self.assertEqual(conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchall(), [])
        conn.execute("CREATE TEMP TABLE t (x)")  # named by the migrations: a recorded-only run is no concern
        self.assertEqual([s.action for s in migrate.apply(conn, directory=project.directory, fake=True)], ["fake"])
        migrate.revert(conn, directory=project.directory, fake=True)
        conn.execute("DROP TABLE temp.t")
        conn.execute("CREATE TEMP TABLE unrelated (x)")  # one the migrations never name is the connection's own
        conn.execute("CREATE TEMP TABLE _migrations (x)")
        self.assertEqual([s.action for s in migrate.apply(conn, directory=project.directory)], ["apply"])
        project.write_migration("0002_rename", "-- migrate:up\nALTER TABLE t RENAME TO unrelated;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "TEMP table unrelated, which would take"):  # a rename too
            migrate.apply(conn, directory=project.directory)


class Connections(unittest.TestCase):
    def polls_and_a_connection(self) -> tuple:
        """A project with the polls migration made, and a connection to its database."""
        project = Project(self)
        project.models(POLLS)
        project.make()
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        return project, conn

    def test_a_callers_connection_that_ignores_checks_or_likes_case_still_has_every_row_checked(self):
        # ignore_check_constraints would let a rebuild keep rows a new CHECK refuses; case_sensitive_like
        # (which no PRAGMA reads back) hid the children of "Parent" from the foreign key check before COMMIT
        models = ("@dataclass\nclass T:\n    lo: int\n    hi: int%s\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Parent:\n    __tablename__ = 'Parent'\n"
                  "    code: %s = field(metadata={'unique': True})\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Child:\n    __managed__ = False\n    pcode: str\n")
        project = Project(self)
        project.models(models % ("", "int"))
        project.make()
        project.write_migration("0002_child", "-- migrate:up\nCREATE TABLE child (pcode TEXT NOT NULL REFERENCES "
                                "Parent(code));\n-- migrate:down\nDROP TABLE child;\n")
        project.apply()
        project.execute("INSERT INTO t (lo, hi) VALUES (1, 2), (5, 3)", "INSERT INTO Parent (code) VALUES (7)",
                        "INSERT INTO child VALUES ('007')")  # 7 under INTEGER affinity; '007' as text
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("PRAGMA case_sensitive_like = ON")
        before = table_dump(project.db)
        for changed, error in (((" = field(metadata={'check': 'hi >= lo'})", "int"), "CHECK constraint failed"),
                               (("", "str"), "would leave rows whose foreign keys point nowhere: child rowid 1 -> "
                                             "Parent")):
            with self.subTest(error):
                project.models(models % changed)
                made = project.make()
                with self.assertRaisesRegex(migrate.MigrateError, re.escape(error)):
                    migrate.apply(conn, directory=project.directory)
                self.assertEqual(table_dump(project.db), before)
                self.assertEqual(conn.execute("PRAGMA ignore_check_constraints").fetchone(), (1,))  # as it was
                os.remove(made.path)

    def test_a_copy_of_a_migrated_database_made_with_backup_is_up_to_date(self):
        # the README's recipe for tests: apply once, copy for each test
        project, _ = self.polls_and_a_connection()
        migrated = sqlite3.connect(":memory:")
        self.addCleanup(migrated.close)
        migrate.apply(migrated, directory=project.directory, atomic=True)
        copy = sqlite3.connect(":memory:")
        self.addCleanup(copy.close)
        migrated.backup(copy)
        self.assertEqual(migrate.apply(copy, directory=project.directory), [])
        self.assertEqual(migrate.check(copy, models=project.models_path, directory=project.directory), [])

    @unittest.skipIf(sys.version_info < (3, 13), "Python warns of a connection left open from 3.13 on")
    def test_no_connection_is_left_open_for_python_to_warn_about(self):
        project, conn = self.polls_and_a_connection()
        script = (f"import sys, threading; sys.path.insert(0, {ROOT!r}); import migrate\n"
                  "def run():\n"
                  f"    migrate.apply({project.db!r}, directory={project.directory!r})\n"
                  f"    assert migrate.check({project.db!r}, models={project.models_path!r}, "
                  f"directory={project.directory!r}) == []\n"
                  f"    migrate.revert({project.db!r}, directory={project.directory!r})\n"
                  "thread = threading.Thread(target=run)\nthread.start()\nthread.join()\nrun()\n")
        result = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", script],
                                capture_output=True, text=True, env=cli_environment(), timeout=120)
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_a_database_path_that_is_a_link_into_a_missing_folder_says_so(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        link = os.path.join(project.root, "link.sqlite3")
        os.symlink(os.path.join(project.root, "gone", "db.sqlite3"), link)
        with self.assertRaises(migrate.MigrateError) as caught:
            migrate.apply(link, directory=project.directory)
        self.assertEqual(str(caught.exception), f"cannot create database {link}: it is a link to "
                         f"{os.path.realpath(link)}, whose folder does not exist: fix the link, or pass --db with "
                         "another path")
        os.mkdir(os.path.join(project.root, "gone"))
        self.assertEqual(len(migrate.apply(link, directory=project.directory)), 1)

    def test_a_database_path_below_a_missing_folder_or_a_file_says_which(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        for below, reason in (("gone", f"folder {project.root}/gone does not exist"),
                              ("models.py", f"{project.models_path} is a file, not a folder")):
            with self.subTest(below=below), self.assertRaises(migrate.MigrateError) as caught:
                migrate.apply(os.path.join(project.root, below, "db.sqlite3"), directory=project.directory)
            self.assertEqual(str(caught.exception), f"cannot create database {project.root}/{below}/db.sqlite3: "
                                                    f"{reason}")

    def test_an_attached_database_with_its_own_history_is_never_taken_for_the_main_one(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n"
                                "-- migrate:down\nDROP TABLE t;\n")
        other = os.path.join(project.root, "other.sqlite3")
        migrate.apply(other, directory=project.directory)
        with contextlib.closing(sqlite3.connect(other)) as conn, conn:  # (closed, not only committed)
            conn.execute("INSERT INTO t VALUES (7)")
        conn = sqlite3.connect(project.db, isolation_level=None)
        self.addCleanup(conn.close)
        conn.execute("ATTACH ? AS other", (other,))
        self.assertEqual([s.applied for s in migrate.status(conn, directory=project.directory)], [False])
        self.assertEqual([s.action for s in migrate.apply(conn, directory=project.directory)], ["apply"])
        migrate.revert(conn, directory=project.directory)
        self.assertEqual(conn.execute("SELECT id FROM other.t").fetchall(), [(7,)])  # untouched
        self.assertEqual(conn.execute("SELECT name FROM other._migrations").fetchall(), [("0001_t",)])
        self.assertEqual(conn.execute("SELECT name FROM main._migrations").fetchall(), [])
        conn.execute("CREATE TEMP TABLE _migrations (name)")  # ours is main's, whatever else has the name
        conn.execute("INSERT INTO temp._migrations VALUES ('0001_t')")
        self.assertEqual([s.applied for s in migrate.status(conn, directory=project.directory)], [False])

    def test_a_connection_with_query_only_on_is_told_so_not_that_another_process_writes(self):
        project, conn = self.polls_and_a_connection()
        conn.isolation_level = None
        conn.execute("PRAGMA query_only = ON")
        with self.assertRaisesRegex(migrate.MigrateError, r"^cannot start a write transaction: attempt to write a "
                                    r"readonly database \(the connection has PRAGMA query_only on: turn it off to "
                                    r"migrate\); nothing was changed$"):
            migrate.apply(conn, directory=project.directory)
        self.assertEqual(conn.execute("PRAGMA query_only").fetchone(), (1,))

    def test_a_connection_opened_read_only_is_told_so_not_that_the_file_is_read_only(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        sqlite3.connect(project.db).close()
        conn = sqlite3.connect(f"file:{project.db}?mode=ro", uri=True, isolation_level=None)
        self.addCleanup(conn.close)
        with self.assertRaisesRegex(migrate.MigrateError, r"readonly database.* \(the database file and its folder "
                                    r"are writable: the connection was opened read-only, as with \?mode=ro: open "
                                    r"it read-write to migrate\); (it was rolled back, the database is as it was"
                                    r"|nothing was changed)$"):
            migrate.apply(conn, directory=project.directory)
        self.assertEqual(migrate.read_schema(conn).tables, ())
        if sys.version_info >= (3, 11):  # (SQLite's extended error code, which Python gives from 3.11 on)
            moved = sqlite3.connect(project.db)
            self.addCleanup(moved.close)
            moved.execute("CREATE TABLE kept (x)")
            moved.commit()
            sqlite3.connect(project.db + ".new").close()
            os.replace(project.db + ".new", project.db)  # as a restore from a backup, under the open connection
            with self.assertRaisesRegex(migrate.MigrateError, r"readonly database.* \(the database file was moved or "
                                        r"replaced while the connection was open: open it again\)"):
                migrate.apply(moved, directory=project.directory)

    def test_read_schema_reads_through_the_connections_own_row_and_text_factories_and_leaves_them(self):
        project, conn = self.polls_and_a_connection()
        migrate.apply(conn, directory=project.directory)
        expected = (migrate.read_schema(conn), migrate.schema_statements(conn))
        as_dict = lambda cursor, row: {d[0]: v for d, v in zip(cursor.description, row)}
        for row_factory, text_factory in ((sqlite3.Row, str), (as_dict, str), (None, bytes), (as_dict, bytearray)):
            with self.subTest(row_factory=row_factory, text_factory=text_factory):
                conn.row_factory, conn.text_factory = row_factory, text_factory
                self.assertEqual((migrate.read_schema(conn), migrate.schema_statements(conn)), expected)
                self.assertEqual((conn.row_factory, conn.text_factory), (row_factory, text_factory))
        for function in (migrate.read_schema, migrate.schema_statements):
            with self.assertRaisesRegex(migrate.MigrateError, f"^{function.__name__} takes an open connection, such "
                                        r"as sqlite3.connect\(path\), not str 'db.sqlite3'"):
                function("db.sqlite3")

    def test_an_open_connection_is_left_as_found_including_foreign_keys(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        conn = sqlite3.connect(project.db)
        conn.execute("PRAGMA foreign_keys = ON")
        migrate.apply(conn, directory=project.directory)
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone(), (1,))
        self.assertFalse(conn.in_transaction)
        project.write_migration("0002_bad", "-- migrate:up\nSELECT * FROM nowhere;\n")
        with self.assertRaises(migrate.MigrateError):
            migrate.apply(conn, directory=project.directory)
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone(), (1,))
        self.assertFalse(conn.in_transaction)
        conn.execute("INSERT INTO question (question_text) VALUES ('still usable')")
        conn.commit()
        conn.close()

    def test_an_added_column_whose_comment_comes_before_its_semicolon_is_said_so(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        project.write_migration("0002_b", "-- migrate:up\nALTER TABLE a ADD COLUMN y TEXT -- the new column\n;\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"migration 0002_b failed: error in table a after add "
                                    r"column: incomplete input .* \(a -- comment before the statement's `;` went "
                                    r"into the table's definition: put the `;` first\)"):
            project.apply()
        with self.assertRaisesRegex(migrate.MigrateError, r"0002_b.sql fails when replayed: .* \(a -- comment before "
                                    r"the statement's `;` went into the table's definition: put the `;` first\)"):
            migrate.replayed_schema(migrate.read_migrations(project.directory))  # as make and check replay it
        project.write_migration("0002_b", "-- migrate:up\nALTER TABLE a ADD COLUMN y TEXT; -- the new column\n")
        self.assertEqual([s.name for s in project.apply()], ["0002_b"])

    def test_a_revert_that_meets_the_callers_unfinished_cursor_says_so(self):
        project, conn = self.polls_and_a_connection()
        migrate.apply(conn, directory=project.directory)
        conn.executemany("INSERT INTO question (question_text) VALUES (?)", [("q",)] * 3)
        conn.commit()
        reading = conn.execute("SELECT * FROM question")
        reading.fetchone()
        with self.assertRaisesRegex(migrate.MigrateError, r"database table is locked in statement: DROP TABLE "
                                    r".* \(a cursor of the connection is still reading that table: read it to its "
                                    r"end or close it first; .*\); it was rolled back, the database is as it was$"):
            migrate.revert(conn, directory=project.directory)
        reading.close()
        self.assertEqual([s.action for s in migrate.revert(conn, directory=project.directory)], ["revert"])

        project, conn = self.polls_and_a_connection()
        migrate.apply(conn, directory=project.directory)
        conn.execute("INSERT INTO question (question_text) VALUES ('not yet')")  # Python's BEGIN
        for call in (migrate.apply, migrate.revert, migrate.plan):
            with self.assertRaisesRegex(migrate.MigrateError, r"^the connection has an open transaction: commit or "
                                        "roll it back before passing it to migrate.py; nothing was changed$"):
                call(conn, directory=project.directory)
        # what only reads takes it as it is
        self.assertEqual([row.applied for row in migrate.status(conn, directory=project.directory)], [True])
        self.assertEqual(migrate.check(conn, models=None, directory=project.directory), [
            "apply would stop: the connection has an open transaction: commit or roll it back before passing it to "
            "migrate.py; nothing was changed"])
        self.assertIn("CREATE TABLE", "\n".join(migrate.dump_schema(conn)))
        self.assertTrue(conn.in_transaction)
        self.assertEqual(conn.execute("SELECT count(*) FROM question").fetchone(), (1,))
        self.assertEqual(project.query("SELECT count(*) FROM question"), [(0,)])
        conn.rollback()
        if sys.version_info >= (3, 12):
            conn = sqlite3.connect(project.db, autocommit=False)
            self.addCleanup(conn.close)
            with self.assertRaisesRegex(migrate.MigrateError, "^the connection was made with autocommit=False, so a "
                                        "transaction is always open: pass a connection with autocommit=True, or a "
                                        "path; nothing was changed$"):
                migrate.apply(conn, directory=project.directory)
            self.assertEqual(len(migrate.status(conn, directory=project.directory)), 1)

        project = Project(self)
        project.models(POLLS)
        project.make()
        project.models(POLLS.replace("Question", "Poll"))
        project.make(questioner=migrate.Questioner(renames=["question=poll"]))
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        conn.execute("PRAGMA legacy_alter_table = ON")  # a rename would leave choice naming question
        migrate.apply(conn, directory=project.directory)
        self.assertIn('REFERENCES "poll"', project.query("SELECT sql FROM sqlite_master WHERE name = 'choice'")[0][0])
        self.assertEqual(conn.execute("PRAGMA legacy_alter_table").fetchone(), (1,))

    def test_a_rebuild_that_drops_the_connections_own_temp_trigger_says_so(self):
        project, conn = self.polls_and_a_connection()
        migrate.apply(conn, directory=project.directory)
        conn.execute("CREATE TEMP TABLE audit (x)")
        conn.execute("CREATE TEMP TRIGGER watch AFTER INSERT ON main.choice BEGIN INSERT INTO audit VALUES (1); END")
        project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        project.make()  # 0002 rebuilds choice
        [step] = migrate.apply(conn, directory=project.directory)
        self.assertEqual(step.warnings, ("the rebuild of choice dropped TEMP trigger watch, the connection's own: "
                                         "make it again",))

    def test_a_rebuild_that_a_connections_own_temp_view_stops_says_whose_view_it_is(self):
        project, conn = self.polls_and_a_connection()
        migrate.apply(conn, directory=project.directory)
        conn.execute("CREATE TEMP VIEW texts AS SELECT choice_text FROM main.choice")
        conn.execute("CREATE TEMP VIEW named AS SELECT id, question_text AS choice FROM main.question")  # a word
        project.models(POLLS.replace('choice_text: str = ""', "choice_text: Optional[str] = None"))
        project.make()  # 0002 rebuilds choice: SQLite checks the TEMP view as it renames the new table
        schema = project.schema_sql()
        with self.assertRaisesRegex(migrate.MigrateError, r"error in view texts: no such table: main.choice .* "
                                    r"\(view texts is a TEMP one of the connection apply runs on, and reads the "
                                    r"table: drop it before apply and make it again after, or apply on a connection "
                                    r"of its own\); it was rolled back"):
            migrate.apply(conn, directory=project.directory)
        self.assertEqual(project.schema_sql(), schema)
        conn.execute("DROP VIEW temp.texts")
        self.assertEqual(len(migrate.apply(conn, directory=project.directory)), 1)  # the other view: no matter
        self.assertEqual(conn.execute("SELECT count(*) FROM named").fetchall(), [(0,)])
        project.write_migration("0003_v", "-- migrate:up\nCREATE VIEW v AS SELECT votes FROM choice;\n")
        project.write_migration("0004_drop", "-- migrate:up\nALTER TABLE choice DROP COLUMN votes;\n")
        migrate.apply(conn, directory=project.directory, target="0003")
        conn.execute("CREATE TEMP VIEW v AS SELECT 1")  # named as the migrations' own view that breaks: not it
        with self.assertRaises(migrate.MigrateError) as caught:
            migrate.apply(conn, directory=project.directory)
        self.assertIn("(the connection apply runs on has a TEMP view v beside the database's: if the TEMP one reads "
                      "the table, drop it before apply and make it again after; if the database's one does, change or "
                      "drop it in a hand-written migration first)", str(caught.exception))  # (SQLite names no schema)

    def test_a_connection_that_converts_text_is_refused_rather_than_read_wrong(self):
        project, _ = self.polls_and_a_connection()
        project.apply()
        sqlite3.register_converter("TEXT", lambda raw: raw)  # the application's, for every TEXT column: bytes
        self.addCleanup(sqlite3.converters.pop, "TEXT")
        converting = sqlite3.connect(project.db, detect_types=sqlite3.PARSE_DECLTYPES)
        self.addCleanup(converting.close)
        for call in (migrate.status, migrate.revert, migrate.apply):
            with self.subTest(call=call.__name__):
                with self.assertRaisesRegex(migrate.MigrateError, r"^the connection converts the text SQLite gives "
                                            r"it \(detect_types with a converter registered for TEXT\)"):
                    call(converting, directory=project.directory)
        plain = sqlite3.connect(project.db)  # the same converter, a connection without detect_types: no matter
        self.addCleanup(plain.close)
        self.assertEqual([s.applied for s in migrate.status(plain, directory=project.directory)], [True])
        sqlite3.register_converter("TEXT", json.loads)  # one that fails on a name: refused as well, not raised
        with self.assertRaisesRegex(migrate.MigrateError, "^the connection converts the text"):
            migrate.status(converting, directory=project.directory)
        writer = sqlite3.connect(project.db, isolation_level=None)  # a lock is no converter's doing: said as such
        self.addCleanup(writer.close)
        writer.execute("BEGIN EXCLUSIVE")
        with self.assertRaisesRegex(migrate.MigrateError, "database is locked"):
            migrate.status(plain, directory=project.directory, timeout=0)
        writer.execute("ROLLBACK")
        sqlite3.converters.pop("TEXT")
        sqlite3.register_converter("INT", decimal.Decimal)  # nothing migrate.py reads is declared INT
        self.addCleanup(sqlite3.converters.pop, "INT")
        self.assertEqual([s.applied for s in migrate.status(converting, directory=project.directory)], [True])
        sqlite3.register_converter("TEXT", lambda raw: raw)  # (for the cleanup)

    def test_library_arguments_of_the_wrong_kind_are_migrate_errors_and_numbers_may_be_ints(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        project.make(empty=True, name="nothing")
        self.assertEqual([s.name for s in migrate.plan(project.db, directory=project.directory, target=1)],
                         ["0001_initial"])
        self.assertEqual([s.name for s in project.apply(target=1)], ["0001_initial"])
        self.assertEqual(migrate.find_migration(project.directory, 2).name, "0002_nothing")
        self.assertEqual(migrate.check(project.db, models=pathlib.Path(project.models_path),
                                       directory=project.directory), [])
        closed = sqlite3.connect(project.db)
        closed.close()
        # a connection made in another thread, with check_same_thread left on
        elsewhere, made, done = [], threading.Event(), threading.Event()

        def own_connection():
            elsewhere.append(sqlite3.connect(project.db))
            made.set()
            done.wait(60)
            elsewhere[0].close()  # (only its own thread may)

        worker = threading.Thread(target=own_connection)
        worker.start()
        self.addCleanup(worker.join)
        self.addCleanup(done.set)
        made.wait(60)
        cursor = sqlite3.connect(project.db)
        self.addCleanup(cursor.close)
        for db, error in ((None, "must be a path, an rqlite URL or an open connection, not NoneType"),
                          (5, "not int 5"), (b"x.db", "not bytes"),
                          (closed, "the connection cannot be used here: Cannot operate on a closed database"),
                          (elsewhere[0], "cannot be used here: SQLite objects created in a thread can only be used "
                                         r".*made in this thread or with check_same_thread=False\); nothing was"),
                          (cursor.cursor(), "an open sqlite3 connection, not Cursor; nothing was changed")):
            with self.subTest(db=db), self.assertRaisesRegex(migrate.MigrateError, error):
                migrate.apply(db, directory=project.directory)
        with self.assertRaisesRegex(migrate.MigrateError, "target must be a migration number or name, not float"):
            project.revert(target=1.0)
        with self.assertRaisesRegex(migrate.MigrateError, "models must be a path or a module name, not NoneType"):
            migrate.make(models=None, directory=project.directory, write=False)
        with self.assertRaisesRegex(migrate.MigrateError, "models must be a path or a module name, not module "
                                    r"<module 'json' .*>: pass its name, models='json'$"):
            migrate.make(models=json, directory=project.directory, write=False)
        with self.assertRaisesRegex(migrate.MigrateError,
                                    f"migrations directory gone not found in {re.escape(os.getcwd())}: "):
            migrate.status(project.db, directory="gone")  # relative: from the current folder, which it names
        for options, error in ((dict(timeout="5"), "timeout must be a number of seconds, not str '5'"),
                               (dict(timeout=True), "timeout must be a number of seconds, not bool"),
                               (dict(backup=5), "the backup path must be a path, not int 5"),
                               (dict(progress=5), "progress must be a function or None, not int"),
                               (dict(directory=None), "the migrations directory must be a path, not NoneType")):
            with self.subTest(options=options), self.assertRaisesRegex(migrate.MigrateError, error):
                migrate.apply(project.db, **{"directory": project.directory, **options})
        for call, error in ((lambda: project.apply(fake="False"), "fake must be True or False, not str 'False'"),
                            (lambda: project.apply(atomic="no"), "atomic must be True or False, not str 'no'"),
                            (lambda: project.apply(fake_initial=1), "fake_initial must be True or False, not int"),
                            (lambda: project.revert(fake="no"), "fake must be True or False"),
                            (lambda: migrate.plan(project.db, directory=project.directory, reverting="yes"),
                             "reverting must be True or False"),
                            (lambda: project.make(write="no"), "write must be True or False, not str 'no'"),
                            (lambda: project.make(empty="yes", name="x"), "empty must be True or False"),
                            (lambda: project.make(name=5), "name must be a string or None, not int 5"),
                            (lambda: project.make(questioner={}), "questioner must be a migrate.Questioner or None"),
                            (lambda: migrate.squash(directory=project.directory, write="no"),
                             "write must be True or False"),
                            (lambda: migrate.Questioner(renames="a=b"), "renames must be a list of strings"),
                            (lambda: migrate.Questioner(renames=5), "renames must be a list of strings"),
                            (lambda: migrate.Questioner(defaults=["t.c=1"]), "defaults must be a dict of 'table."),
                            (lambda: migrate.Questioner(defaults={"t.c": 1}), "to an SQL value as a string"),
                            (lambda: migrate.Questioner(prompt="y"), "prompt must be a function or None, not str")):
            with self.subTest(error), self.assertRaisesRegex(migrate.MigrateError, re.escape(error)):
                call()
        self.assertEqual(project.files(), ["0001_initial.sql", "0002_nothing.sql"])
        self.assertEqual(len(project.query("SELECT * FROM _migrations")), 1)
        for renames, defaults in (((answer for answer in ["t.a=b"]), types.MappingProxyType({"t.c": "1"})),
                                  (collections.deque(["t.a=b"]), collections.OrderedDict({"t.c": "1"}))):
            questioner = migrate.Questioner(renames=renames, defaults=defaults)  # any iterable, any mapping
            self.assertEqual((questioner.renames, questioner.defaults), ({"t.a": "b"}, {"t.c": "1"}))
        with self.assertRaisesRegex(migrate.MigrateError, "the export folder must be a path, not NoneType"):
            migrate.export_d1(directory=project.directory, out=None)
        with self.assertRaisesRegex(migrate.MigrateError, "the migrations directory must be a path, not int"):
            migrate.status(project.db, directory=3)
        self.assertEqual(len(project.status()), 2)
        self.assertEqual(sorted(os.listdir(project.root)), sorted(["db.sqlite3", "migrations", "models.py"]))

    def test_a_failing_progress_callback_raises_its_own_error_and_rolls_back(self):
        project = Project(self)
        project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t (x);\nWITH RECURSIVE c(x) AS (SELECT 1 "
                                "UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c;\n")

        def progress(action, name, step):
            if isinstance(step, float):  # about twice a second during a long statement (README)
                raise ValueError("the callback's own mistake")
        with self.assertRaisesRegex(ValueError, "the callback's own mistake"):
            migrate.apply(project.db, directory=project.directory, progress=progress)
        self.assertEqual(project.query("SELECT name FROM sqlite_master"), [])

        def after_commit(action, name, step):
            if isinstance(step, migrate.Step):
                raise ValueError("stop here")
        project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t (x);\n")
        project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE u (x);\n")
        with self.assertRaisesRegex(ValueError, "stop here"):
            migrate.apply(project.db, directory=project.directory, progress=after_commit)
        self.assertEqual([s.applied for s in project.status()], [True, False])  # committed; the next not begun

    def test_a_ctrl_c_the_application_took_in_hand_is_not_blamed_for_a_later_interrupted_statement(self):
        project = Project(self)
        rows = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {}) SELECT i FROM c;"
        project.write_migration("0001_big", f"-- migrate:up\nCREATE TABLE big (x);\nINSERT INTO big "
                                f"{rows.format(3000000)}\n")  # (over 0.5 s: the callback hears of it)
        project.write_migration("0002_huge", f"-- migrate:up\nCREATE TABLE huge (x);\nINSERT INTO huge "
                                f"{rows.format(10 ** 9)}\n")
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        seen = []

        def progress(action, name, seconds):
            if isinstance(seconds, float) and name == "0001_big" and not seen:
                seen.append("Ctrl-C")
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.05)  # (the handler runs here)
                except KeyboardInterrupt:
                    seen.append("taken in hand")  # an application's "press again to stop"
            elif isinstance(seconds, float) and name == "0002_huge":
                conn.interrupt()  # a watchdog's statement timeout: the statement fails
        with self.assertRaisesRegex(migrate.MigrateError, "^migration 0002_huge failed: interrupted in statement"):
            migrate.apply(conn, directory=project.directory, progress=progress)
        self.assertEqual([s.applied for s in project.status()], [True, False])
        if seen != ["Ctrl-C", "taken in hand"]:  # (then it proved nothing: say so rather than pass)
            self.skipTest(f"0001_big ended before its first tick on this machine ({seen})")

    def test_a_progress_callback_that_ends_the_runs_transaction_stops_the_run_before_the_next_statement(self):
        project = Project(self)
        project.write_migration("0001_log", "-- migrate:up\nCREATE TABLE log (msg);\n")
        project.write_migration("0002_two", "-- migrate:up\nCREATE TABLE a (x);\nCREATE TABLE b (x);\n")
        project.write_migration("0003_three", "-- migrate:up\nCREATE TABLE c (x);\n")
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        migrate.apply(conn, directory=project.directory, target="0001")

        def logging(end):  # the application's own log row, on the connection the run uses
            def progress(action, name, step):
                if step is None:
                    conn.execute("INSERT INTO log VALUES (?)", (name,))
                    end()
            return progress
        for end, atomic in ((conn.commit, False), (conn.rollback, False), (conn.commit, True)):
            with self.subTest(end=end.__name__, atomic=atomic):
                with self.assertRaises(migrate.MigrateError) as caught:
                    migrate.apply(conn, directory=project.directory, progress=logging(end), atomic=atomic)
                self.assertEqual(str(caught.exception), "the progress function ended the run's transaction before "
                                 "0002_two ran (a commit or rollback on the connection apply runs on), so it did not "
                                 "run, and what ran before it in that transaction is committed or undone as the "
                                 "function did: give the function a connection of its own for its writes")
                self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"),
                                 [("_migrations",), ("log",)], "0002 half run")
        self.assertEqual(project.query("SELECT msg FROM log"), [("0002_two",), ("0002_two",)])

    def test_a_run_stops_when_another_process_changed_the_history_it_planned_from(self):
        project = Project(self)
        for number, table in enumerate("abc", 1):
            project.write_migration(f"000{number}_{table}", f"-- migrate:up\nCREATE TABLE {table} (x);\n"
                                    f"-- migrate:down\nDROP TABLE {table};\n")
        project.apply(target="0001")

        def meanwhile(other):  # another process, between two of this run's transactions
            def progress(action, name, step):
                if name == "0002_b" and isinstance(step, migrate.Step):
                    other()
            return progress
        rollback = lambda: migrate.revert(project.db, directory=project.directory, target="zero")
        with self.assertRaisesRegex(migrate.MigrateError, r"^another process applied or reverted migrations "
                                    r"\(0001_a, 0002_b\) since this run made its plan: run it again .*; this step "
                                    r"was rolled back$"):
            migrate.apply(project.db, directory=project.directory, progress=meanwhile(rollback))
        self.assertEqual(normalised_schema(project.db), [])  # 0003 not run over the holes
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(0,)])
        project.apply(target="0001")
        same_plan = lambda: migrate.apply(project.db, directory=project.directory)  # steps of this run: skipped
        steps = migrate.apply(project.db, directory=project.directory, progress=meanwhile(same_plan))
        self.assertEqual([(s.name, s.action) for s in steps], [("0002_b", "apply"), ("0003_c", "skip")])
        unrelated = lambda: project.execute("CREATE TABLE app_data (x)")  # the app writing: no change to the plan
        project.revert(target="0001")
        self.assertEqual(len(migrate.apply(project.db, directory=project.directory, progress=meanwhile(unrelated))), 2)

    def test_a_rebuild_of_a_parent_on_a_connection_with_foreign_keys_on_keeps_its_cascading_children(self):
        # a rebuild drops the old table: with foreign keys on, that DROP would delete every choice (CASCADE)
        project = Project(self)
        project.models(POLLS)
        project.make()
        project.apply()
        project.execute("INSERT INTO question (question_text) VALUES ('q')",
                        "INSERT INTO choice (question_id, choice_text) VALUES (1, 'a'), (1, 'b')")
        project.models(POLLS.replace("    question_text: str\n", "    question_text: Optional[str] = None\n"))
        sql = "\n".join(project.make().up)
        self.assertIn("DROP TABLE \"question\"", sql, "expected a rebuild of question")
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        conn.execute("PRAGMA foreign_keys = ON")
        migrate.apply(conn, directory=project.directory)
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone(), (1,))
        self.assertEqual(project.query("SELECT choice_text FROM choice ORDER BY id"), [("a",), ("b",)],
                         f"the rebuild deleted the children:\n{sql}")

    def test_a_file_deleted_after_the_run_read_it_is_not_run_as_it_was(self):
        project = Project(self)
        for number, table in enumerate("ab", 1):
            project.write_migration(f"000{number}_{table}", f"-- migrate:up\nCREATE TABLE {table} (x);\n"
                                    f"-- migrate:down\nDROP TABLE {table};\n")

        def progress(action, name, step):  # another process, between two of this run's transactions
            if name == "0001_a" and isinstance(step, migrate.Step):
                os.remove(os.path.join(project.directory, "0002_b.sql"))
        with self.assertRaisesRegex(migrate.MigrateError, r"0002_b.sql changed since this run read it"):
            migrate.apply(project.db, directory=project.directory, progress=progress)
        self.assertEqual(project.query("SELECT name FROM _migrations"), [("0001_a",)])
        self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE name = 'b'"), [])

    def test_a_file_rewritten_after_the_run_read_it_is_not_run_as_it_was(self):
        project = Project(self)  # make --update rewrites a pending file under the write lock
        for number, table in enumerate("ab", 1):
            project.write_migration(f"000{number}_{table}", f"-- migrate:up\nCREATE TABLE {table} (x);\n"
                                    f"-- migrate:down\nDROP TABLE {table};\n")

        def progress(action, name, step):  # another process, between two of this run's transactions
            if name == "0001_a" and isinstance(step, migrate.Step):
                project.write_migration("0002_b", "-- migrate:up\nCREATE TABLE b (x, y);\n"
                                        "-- migrate:down\nDROP TABLE b;\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"0002_b.sql changed since this run read it \(make --update, "
                                    r"or an editor, wrote it meanwhile\): run it again; this step was rolled back "
                                    r"\(0001_a, which this run applied before it, stays applied\)$"):
            migrate.apply(project.db, directory=project.directory, progress=progress)
        self.assertEqual(project.query("SELECT name FROM _migrations"), [("0001_a",)])
        project.apply()
        self.assertEqual(project.query("SELECT sql FROM sqlite_master WHERE name = 'b'"), [("CREATE TABLE b (x, y)",)])
        self.assertEqual(project.status()[-1].modified, False)

    def test_timeout_bounds_the_wait_for_a_writer_on_a_connection_passed_in_and_its_own_is_kept(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        conn = sqlite3.connect(project.db, timeout=20, isolation_level=None)
        self.addCleanup(conn.close)
        conn.execute("PRAGMA user_version").fetchone()  # the file exists: another process may lock it
        holder = sqlite3.connect(project.db, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with self.assertRaisesRegex(migrate.MigrateError, "database is locked"):
            migrate.apply(conn, directory=project.directory, timeout=0.3)
        self.assertLess(time.monotonic() - started, 10)  # 0.3 s, not the connection's own 20
        holder.execute("ROLLBACK")
        self.assertEqual(conn.execute("PRAGMA busy_timeout").fetchone(), (20000,))
        impatient = sqlite3.connect(project.db, timeout=0, isolation_level=None)  # (0 was restored as 100 ms)
        self.addCleanup(impatient.close)
        self.assertEqual([s.action for s in migrate.apply(impatient, directory=project.directory, fake=True)],
                         ["fake"])
        migrate.revert(impatient, directory=project.directory, fake=True)
        self.assertEqual(impatient.execute("PRAGMA busy_timeout").fetchone(), (0,))
        self.assertEqual([s.name for s in migrate.apply(conn, directory=project.directory)], ["0001_t"])
        self.assertEqual(conn.execute("PRAGMA busy_timeout").fetchone(), (20000,))
        holder.execute("BEGIN EXCLUSIVE")  # keeps readers out too: the first read waits, and fails
        for call in (lambda: migrate.apply(conn, directory=project.directory, timeout=0.3),
                     lambda: migrate.status(conn, directory=project.directory, timeout=0.3)):
            with self.assertRaisesRegex(migrate.MigrateError, "database is locked .*--timeout"):
                call()
            self.assertEqual(conn.execute("PRAGMA busy_timeout").fetchone(), (20000,))  # also after a failure
        quick = sqlite3.connect(project.db, timeout=0.3, isolation_level=None)
        self.addCleanup(quick.close)
        started = time.monotonic()
        for call in (migrate.status, migrate.plan):  # no timeout given: the connection's own
            with self.assertRaisesRegex(migrate.MigrateError, "database is locked"):
                call(quick, directory=project.directory)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(quick.execute("PRAGMA busy_timeout").fetchone(), (300,))
        holder.execute("ROLLBACK")

    def test_conn_interrupt_from_another_thread_is_an_error_not_ctrl_c(self):
        project = Project(self)
        project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t (x);\nWITH RECURSIVE c(x) AS (SELECT 1 "
                                "UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c;\n")
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        sigint = signal.getsignal(signal.SIGINT)

        def progress(action, name, step):
            if isinstance(step, float):  # a watchdog thread gives up on the statement
                watchdog = threading.Thread(target=conn.interrupt)
                watchdog.start()
                watchdog.join()
        with self.assertRaisesRegex(migrate.MigrateError, "migration 0001_slow failed: interrupted in statement"):
            migrate.apply(conn, directory=project.directory, progress=progress)
        self.assertIs(signal.getsignal(signal.SIGINT), sigint)
        self.assertEqual(project.query("SELECT name FROM sqlite_master"), [])

    def test_an_application_sigint_handler_that_does_not_raise_leaves_conn_interrupt_an_error(self):
        project = Project(self)
        project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t (x);\nWITH RECURSIVE c(x) AS (SELECT 1 "
                                "UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c;\n")
        conn = sqlite3.connect(project.db)
        self.addCleanup(conn.close)
        noted = []
        self.addCleanup(signal.signal, signal.SIGINT, signal.signal(signal.SIGINT, lambda *_: noted.append(1)))

        def progress(action, name, step):
            if isinstance(step, float):  # Ctrl-C, which the application only notes; then a watchdog gives up
                os.kill(os.getpid(), signal.SIGINT)
                watchdog = threading.Thread(target=conn.interrupt)
                watchdog.start()
                watchdog.join()
        with self.assertRaisesRegex(migrate.MigrateError, "migration 0001_slow failed: interrupted in statement"):
            migrate.apply(conn, directory=project.directory, progress=progress)
        self.assertEqual(noted, [1])

    def test_a_connection_with_its_own_row_and_text_factories_works_and_keeps_them(self):
        project, conn = self.polls_and_a_connection()
        as_dict = lambda cursor, row: {column[0]: value for column, value in zip(cursor.description, row)}
        conn.row_factory, conn.text_factory = as_dict, bytes  # the recipe in Python's sqlite3 docs
        self.assertEqual([s.action for s in migrate.apply(conn, directory=project.directory)], ["apply"])
        self.assertEqual([s.applied for s in migrate.status(conn, directory=project.directory)], [True])
        self.assertEqual(migrate.check(conn, models=project.models_path, directory=project.directory), [])
        self.assertEqual((conn.row_factory, conn.text_factory), (as_dict, bytes))

    def test_a_lock_met_while_setting_up_the_callers_connection_is_an_error_that_leaves_its_factories(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        shared = f"file:borrow-{id(self)}?mode=memory&cache=shared"  # (shared cache: a lock does not wait)
        writer = sqlite3.connect(shared, uri=True, isolation_level=None)
        self.addCleanup(writer.close)
        conn = sqlite3.connect(shared, uri=True)
        self.addCleanup(conn.close)
        migrate.apply(conn, directory=project.directory)
        writer.execute("BEGIN")
        writer.execute("CREATE TABLE being_made (x)")
        conn.row_factory, conn.text_factory = sqlite3.Row, bytes
        for call in (migrate.status, migrate.apply, migrate.plan):
            with self.subTest(call=call.__name__):
                with self.assertRaisesRegex(migrate.MigrateError, r"^cannot read the database: .*locked.*; "
                                            "nothing was changed$"):
                    call(conn, directory=project.directory)
                self.assertEqual((conn.row_factory, conn.text_factory), (sqlite3.Row, bytes))
        writer.execute("ROLLBACK")
        self.assertEqual([s.applied for s in migrate.status(conn, directory=project.directory)], [True])

    def test_in_memory_database(self):
        project = Project(self)
        project.models(POLLS)
        project.make()
        conn = sqlite3.connect(":memory:")
        self.addCleanup(conn.close)
        migrate.apply(conn, directory=project.directory)
        self.assertEqual(len(migrate.read_schema(conn).tables), 2)

    def test_directory_and_non_database_paths_are_clear_errors(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        with self.assertRaisesRegex(migrate.MigrateError, "is a directory"):
            migrate.apply(project.directory, directory=project.directory)
        garbage = os.path.join(project.root, "garbage.db")
        with open(garbage, "wb") as handle:
            handle.write(b"not a database at all" * 100)
        with self.assertRaisesRegex(migrate.MigrateError, "not a database"):
            migrate.apply(garbage, directory=project.directory)
        with open(garbage, "rb") as handle:
            self.assertEqual(handle.read(), b"not a database at all" * 100)


if __name__ == "__main__":
    unittest.main()
