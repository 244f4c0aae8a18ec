"""The command line, run as a real subprocess."""
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unittest

from tests.support import CLI, MIGRATE, Project, cli_environment, migrate, normalised_schema

POLLS = """
@dataclass
class Question:
    question_text: str
    id: Optional[int] = None
"""


class Workflow(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)
        self.project.models(POLLS)

    def run_ok(self, *args, **kw) -> str:
        result = self.project.cli(*args, **kw)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout

    def test_make_apply_status_revert_like_django(self):  # run as the README says: python migrate.py
        out = self.run_ok("make", script=True)
        self.assertIn("migrations/0001_initial.sql", out)
        self.assertIn("+ Create table question", out)
        self.assertEqual(self.run_ok("make", script=True), "No changes detected\n")
        self.assertEqual(self.run_ok("status", script=True),
                         "[ ] 0001_initial\ndb.sqlite3: 0 applied, 1 pending (no database file yet)\n")
        out = self.run_ok("apply", script=True)
        self.assertEqual(out.splitlines()[:3], ["Operations to perform:", "  Apply all migrations",
                                                "Running migrations:"])
        self.assertRegex(out, r"  Applying 0001_initial\.\.\. OK \(\d+\.\d\ds\)")
        self.assertIn("No migrations to apply.", self.run_ok("apply", script=True))
        self.assertEqual(self.run_ok("status", script=True), "[X] 0001_initial\ndb.sqlite3: 1 applied, 0 pending\n")
        self.assertRegex(self.run_ok("revert", script=True), r"Unapplying 0001_initial\.\.\. OK")
        self.assertEqual(self.run_ok("status", "-q", script=True), "")
        result = self.project.cli("apply", "--nonsense", script=True)
        self.assertEqual((result.returncode, result.stderr), (2, "error: migrate.py apply: unrecognized arguments: "
                                                                 "--nonsense (see python migrate.py apply --help)\n"))

    def test_apply_with_nothing_to_apply_says_the_models_have_changes_without_a_migration_as_django_does(self):
        self.run_ok("make")
        self.run_ok("apply")
        self.assertEqual(self.run_ok("apply").splitlines()[-1], "  No migrations to apply.")  # models agree
        self.project.models(POLLS + "    author: Optional[str] = None\n    votes: int = 0\n")
        out = self.run_ok("apply")
        self.assertEqual(out.splitlines()[-2:], [
            "  No migrations to apply.", "  Your models in models.py have 2 changes that are not in a migration "
            "yet, so not applied: run `make`, then `apply`."])
        self.assertEqual(self.run_ok("apply", "-q"), "")
        self.project.models(POLLS + "    author: Optional[str] = None\n")
        self.assertIn("Your models in models.py have a change that is not in a migration yet", self.run_ok("apply"))
        self.assertNotIn("Your models", self.run_ok("apply", "--dir", "migrations"))  # another app's, maybe
        self.project.models(POLLS.replace("    id:", "    author: str\n    id:"))  # make would ask for a value
        self.assertIn("Your models in models.py have changes that are not in a migration yet, so not applied: run "
                      "`make`, then `apply`.", self.run_ok("apply"))
        for dotted in ("app.models", "app"):  # a server that gets the migrations and pyproject.toml only
            result = self.project.cli("apply", env={"MIGRATE_MODELS": dotted})
            self.assertEqual((result.returncode, result.stdout.splitlines()[-1], result.stderr),
                             (0, "  No migrations to apply.", ""))
        self.assertNotIn("Your models", self.run_ok("revert"))
        self.assertNotIn("Your models", self.run_ok("apply"))  # (it applied 0001: Django says nothing then either)
        self.project.models(POLLS + "    author: Optional[str] = None\nx = (\n")
        with open(self.project.db, "rb") as handle:
            before = handle.read()
        result = self.project.cli("apply")  # apply went well: the models' error is a warning
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stderr, r"\A  WARNING: the models were not compared with the migrations: models "
                         r"file models.py failed to import: SyntaxError: .* \(line 10 of models.py\)\n\Z")
        with open(self.project.db, "rb") as handle:
            self.assertEqual(handle.read(), before)
        os.remove(os.path.join(self.project.root, "models.py"))  # a deploy that ships the migrations only
        result = self.project.cli("apply")
        self.assertEqual((result.returncode, result.stdout.splitlines()[-1], result.stderr),
                         (0, "  No migrations to apply.", ""))

    def test_make_update_rewrites_the_latest_migration_until_it_is_applied(self):
        self.run_ok("make")
        self.project.models(POLLS + "    author: Optional[str] = None\n")
        out = self.run_ok("make", "--update")
        self.assertEqual(out, "Migration updated:\n  migrations/0001_initial.sql\n    + Add column question.author\n")
        self.assertEqual(self.project.files(), ["0001_initial.sql"])
        self.run_ok("apply")
        self.assertEqual(self.project.query("SELECT name FROM pragma_table_info('question') ORDER BY cid"),
                         [("question_text",), ("id",), ("author",)])
        self.project.models(POLLS)
        before = self.project.read("0001_initial.sql")
        result = self.project.cli("make", "--update")
        self.assertEqual((result.returncode, result.stdout), (1, ""), result.stderr)
        self.assertEqual(result.stderr, "error: 0001_initial is applied to db.sqlite3, which would never run what "
                         "--update adds to it: revert it there first (python migrate.py revert), or make a new "
                         "migration (without --update); nothing was written\n")
        self.assertEqual(self.project.read("0001_initial.sql"), before)
        self.assertEqual(self.project.cli("make", "--update", "--dry-run").returncode, 1)  # as make would refuse
        self.run_ok("revert")
        out = self.run_ok("make", "--dry-run", "--update")
        self.assertIn("-- + Add column question.author\n-- - Drop column question.author\n", out)
        self.assertEqual(self.project.read("0001_initial.sql"), before)
        out = self.run_ok("make", "--update", "polls")  # a new name says which file it was
        self.assertEqual(out.splitlines()[:2], ["Migration updated:",
                                                "  migrations/0001_polls.sql (renamed from 0001_initial.sql)"])
        self.assertEqual(self.project.files(), ["0001_polls.sql"])

    def test_runs_as_a_module_whose_byte_code_python_caches(self):
        shutil.copyfile(MIGRATE, os.path.join(self.project.root, "migrate.py"))
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("MIGRATE_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        for args, expected in ((["make"], "+ Create table question"),
                               (["apply"], "Applying 0001_initial... OK"),
                               (["status"], "[X] 0001_initial\ndb.sqlite3: 1 applied, 0 pending\n")):
            result = subprocess.run([sys.executable, "-m", "migrate", *args], cwd=self.project.root,
                                    capture_output=True, text=True, env=environment, timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(expected, result.stdout)
        cached = os.listdir(os.path.join(self.project.root, "__pycache__"))
        self.assertTrue(any(name.startswith("migrate.") for name in cached), cached)

    def test_check_exits_one_when_models_changed_and_dry_run_prints_sql(self):
        self.run_ok("make")
        self.assertEqual(self.project.cli("make", "--check").returncode, 0)
        self.project.models(POLLS + "    author: Optional[str] = None\n")
        result = self.project.cli("make", "--check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("+ Add column question.author", result.stdout)
        out = self.run_ok("make", "--dry-run")
        self.assertIn('ALTER TABLE "question" ADD COLUMN "author" TEXT;', out)
        self.assertEqual(self.project.files(), ["0001_initial.sql"])

    def test_options_come_from_the_environment_and_the_command_line(self):
        os.rename(self.project.models_path, os.path.join(self.project.root, "app_models.py"))
        env = {"MIGRATE_MODELS": "app_models.py", "MIGRATE_DIR": "schema", "MIGRATE_DB": "app.db"}
        self.run_ok("make", env=env)
        self.run_ok("apply", env=env)
        self.assertTrue(os.path.exists(os.path.join(self.project.root, "schema", "0001_initial.sql")))
        self.assertEqual(len(normalised_schema(os.path.join(self.project.root, "app.db"))), 1)
        self.assertEqual(self.run_ok("status", "--db", "other.db", env=env),
                         "[ ] 0001_initial\nother.db: 0 applied, 1 pending (no database file yet)\n")
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "other.db")))

    def test_rename_and_default_answers_in_advance(self):
        self.run_ok("make")
        self.run_ok("apply")
        self.project.execute("INSERT INTO question (question_text) VALUES ('Why?')")
        self.project.models(POLLS.replace("question_text: str", "text: str\n    author: str"))
        for twice in (("--rename", "question.question_text=other"), ("--default", "Question.Author='you'")):
            result = self.project.cli("make", "--rename", "question.question_text=text", "--default",
                                      "question.author='me'", *twice)
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"{twice[0]} {twice[1].split('=')[0]} is given twice: keep one", result.stderr)
        self.run_ok("make", "--rename", "question.question_text=text", "--default", "question.author='me'")
        self.run_ok("apply")
        self.assertEqual(self.project.query("SELECT text, author FROM question"), [("Why?", "me")])

    def test_interactive_rename_question_on_a_terminal(self):
        self.run_ok("make")
        self.project.models(POLLS.replace("question_text", "text"))
        result = self.project.cli_answering('y', "make")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Did you rename question.question_text to question.text? [y/N]", result.stderr)
        self.assertIn("~ Rename column question.question_text to text", result.stdout)

    def test_no_question_is_asked_where_nobody_would_see_it(self):
        # the questions go to stderr: sent to a file, make would wait on a blank screen
        self.run_ok("make")
        self.project.models(POLLS.replace("question_text", "text"))
        controller, terminal = os.openpty()
        self.addCleanup(os.close, controller)
        self.addCleanup(os.close, terminal)
        os.write(controller, b"y\n")
        result = subprocess.run([*CLI, "make"], cwd=self.project.root, stdin=terminal, capture_output=True,
                                text=True, env=cli_environment(), timeout=60)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertNotIn("Did you rename", result.stderr)
        self.assertIn("--rename question.question_text=text", result.stderr)
        self.assertEqual(self.project.files(), ["0001_initial.sql"])

    def test_end_of_input_at_a_question_stops_make_and_writes_nothing(self):
        self.run_ok("make")
        for models, asked in ((POLLS.replace("question_text: str", "text: Optional[str] = None"), "Did you rename"),
                              (POLLS.replace("question_text: str", "question_text: str\n    votes: int"),
                               "existing rows need a value")):
            self.project.models(models)
            result = self.project.cli_answering("\x04", "make")  # Ctrl-D: not a "no" that drops the column
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn(asked, result.stderr)
            self.assertEqual(result.stderr.splitlines()[-1], "error: no answer (end of input): nothing was written")
            self.assertEqual(self.project.files(), ["0001_initial.sql"])

    def test_interactive_one_off_value_for_a_new_not_null_column(self):
        self.run_ok("make")
        self.run_ok("apply")
        self.project.execute("INSERT INTO question (question_text) VALUES ('Why?')")
        self.project.models(POLLS.replace("question_text: str", "question_text: str\n    author: str"))
        result = self.project.cli_answering("someone\n'someone'", "make")  # text left unquoted is asked again
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("question.author is a new NOT NULL column without a default: existing rows need a value",
                      result.stderr)
        self.assertIn("That value fails on a copy of the schema as the migration leaves it (no such column: someone): "
                      "quote text, as 'someone'.\nEnter a one-off SQL value for question.author", result.stderr)
        self.run_ok("apply")
        self.assertEqual(self.project.query("SELECT author FROM question"), [("someone",)])


class Errors(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)

    def assert_one_line_error(self, result, *fragments, code=1):
        self.assertEqual(result.returncode, code, result.stdout + result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_main_returns_the_exit_code_of_usage_errors_help_and_version(self):
        import contextlib
        import io
        for argv, code in ((["bogus"], 2), (["status", "--no-such-option"], 2), (["--help"], 0), (["--version"], 0),
                           ("status", 1), ([5], 1), (5, 1)):  # not a list of strings: said, not a traceback
            with self.subTest(argv=argv), contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(migrate.main(argv), code)

    def test_a_name_read_from_a_hand_edited_database_cannot_break_an_error_status_progress_or_plan_line(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.execute("INSERT INTO _migrations (name, checksum, applied_at) VALUES "
                        "('0002_a' || char(10) || 'error: forged' || char(27) || '[2J', 'x', '2020')")
        result = project.cli("revert")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn("error: migration 0002_a\\nerror: forged\\x1b[2J has no file", result.stderr)
        result = project.cli("status")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("\n"), 3, result.stdout)  # two migrations and the summary
        self.assertIn("[X] 0002_a\\nerror: forged\\x1b[2J  (file missing)", result.stdout)
        project.execute("UPDATE _migrations SET down_sql = 'SELECT 1;', up_sql = 'SELECT 1;' WHERE name != '0001_t'")
        for argv in (("revert", "--dry-run"), ("apply", "1", "--dry-run"), ("revert",)):
            with self.subTest(argv=argv):
                result = project.cli(*argv)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("0002_a\\nerror: forged\\x1b[2J", result.stdout)  # in a -- comment, or its line
                self.assertNotIn("\x1b", result.stdout + result.stderr)

    def test_user_mistakes_are_one_line_errors_with_exit_one(self):
        self.assert_one_line_error(self.project.cli("make"), "models file models.py not found")
        self.assert_one_line_error(self.project.cli("apply"), "migrations directory migrations not found")
        self.project.models("@dataclass\nclass Thing:\n    tags: list\n")
        self.assert_one_line_error(self.project.cli("make"), "model Thing field tags")
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.project.write_migration("0002_broken", "-- migrate:up\nCREATE TABLE (;\n")
        result = self.project.cli("apply")
        self.assertIn("Applying 0001_initial... OK", result.stdout)
        self.assertIn("Applying 0002_broken... FAILED", result.stdout)
        self.assert_one_line_error(result, "0002_broken failed", "syntax error")
        self.assertEqual(self.project.cli("status").stdout,
                         "[X] 0001_initial\n[ ] 0002_broken\ndb.sqlite3: 1 applied, 1 pending\n")
        self.assert_one_line_error(self.project.cli("apply", "0009"), "unknown migration '0009'")
        for target, hint in (("head", "; to revert the latest, give no target"),
                             ("base", "; for none applied, give zero"),
                             ("0", "; for none applied, give zero"), ("+1", "; to apply the next 1, run apply +1")):
            with self.subTest(target=target):  # another tool's targets, or Django's `zero` as a number
                self.assert_one_line_error(self.project.cli("revert", target), f"unknown migration '{target}'", hint)
        self.assertNotIn("give zero", self.project.cli("apply", "0009").stderr)
        self.assert_one_line_error(self.project.cli("apply", "head"), "; to apply all, give no target")
        self.assert_one_line_error(self.project.cli("make", "--default", "nonsense"), "--default")
        self.assert_one_line_error(self.project.cli("make", "--empty", "../.."), "no ASCII letters or digits")
        for db in ("", "file:x.db", "file:x.db?mode=memory"):  # SQLite would open a temporary or another file
            self.assert_one_line_error(self.project.cli("apply", "--db", db), "pass --db with a file path")
        for db in ("sqlite:x.db", "SQLITE3:x.db"):  # dbmate's form: SQLite would make a file of that name
            self.assert_one_line_error(self.project.cli("apply", "--db", db), f"--db {db} is dbmate's URL form: "
                                       "give the file path alone (--db x.db); nothing was changed")
        for db, path in (("sqlite:///x.db", "x.db"), ("sqlite+pysqlite:///x.db?mode=ro", "x.db"),
                         ("sqlite:///", "FILE")):
            self.assert_one_line_error(self.project.cli("apply", "--db", db), f"--db {db} is SQLAlchemy's URL form: "
                                       f"give the file path alone (--db {path}); nothing was changed")
        for db in ("http:127.0.0.1:4001", "HTTPS:localhost:4001"):  # slashes missing: a file of that name too
            self.assert_one_line_error(self.project.cli("apply", "--db", db), f"--db {db} is not a valid rqlite "
                                       "URL: write it like http://host:4001; nothing was changed")
        self.assertEqual([name for name in os.listdir(self.project.root) if ":" in name or "x.db" in name], [])
        self.assert_one_line_error(self.project.cli("apply", "\u00b2"), "unknown migration '\u00b2'")
        os.remove(os.path.join(self.project.directory, "0002_broken.sql"))
        blocker = os.path.join(self.project.root, "a-file")
        open(blocker, "w").close()
        self.assert_one_line_error(self.project.cli("export", "--d1", blocker), "a-file is a file, not a folder")

    @unittest.skipUnless(sys.platform.startswith("linux"), "a name over 255 bytes: Linux refuses it")
    def test_a_migration_that_cannot_be_written_leaves_no_folder_made_for_it(self):
        for folder in (os.path.join("new", "sub", "d" * 300, "m"), os.path.join("new", "x", "..", "d" * 300)):
            self.assert_one_line_error(self.project.cli("make", "--empty", "x", "--dir", folder),
                                       "File name too long", "nothing was written")
            self.assertFalse(os.path.exists(os.path.join(self.project.root, "new")), folder)
        os.makedirs(os.path.join(self.project.root, "keep_me"))
        full_disk = ("import runpy, signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                     "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
        for folder in (os.path.join("new1", "new2"), os.path.join("build", "..", "keep_me")):
            result = subprocess.run(["sh", "-c", 'ulimit -f 0; exec "$0" -c "$1" "$2" make --empty x --dir "$3"',
                                     sys.executable, full_disk, MIGRATE, folder],  # (writes fail as on a full disk)
                                    cwd=self.project.root, capture_output=True, text=True, timeout=60)
            self.assert_one_line_error(result, "File too large", "nothing was written")
            self.assertEqual(sorted(os.listdir(self.project.root)), ["keep_me"], folder)
        made = self.project.cli("make", "--empty", "x", "--dir", os.path.join("new", "x", "..", "m"))
        self.assertEqual(made.returncode, 0, made.stderr)  # (through a folder made on the way, as os.makedirs does)
        self.assertTrue(os.path.exists(os.path.join(self.project.root, "new", "m", "0001_x.sql")))

    def test_a_migrations_folder_or_models_file_that_is_a_broken_link_is_said_so(self):
        self.project.models("@dataclass\nclass A:\n    id: Optional[int] = None\n")
        os.symlink("migrations", self.project.directory)  # a loop, as a bad `ln -s` in a deploy script makes
        for command in (("status",), ("make",), ("make", "--dry-run"), ("apply",)):
            with self.subTest(command):
                self.assert_one_line_error(self.project.cli(*command), "migrations directory migrations is a "
                                           "symbolic link that leads nowhere (a loop, or a target that is gone): fix "
                                           "or remove the link")
        os.remove(self.project.directory)
        os.remove(self.project.models_path)
        os.symlink("gone.py", self.project.models_path)
        for command in (("make",), ("check",)):
            with self.subTest(command):
                self.assert_one_line_error(self.project.cli(*command), "models file models.py is a symbolic link "
                                           "that leads nowhere")

    def test_text_that_is_not_utf8_and_a_damaged_database_are_one_line_errors(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.assertEqual(self.project.cli("apply").returncode, 0)
        self.project.models(POLLS.replace("    id: Optional[int] = None", "    author: str\n    id: Optional[int] = None"))
        self.assert_one_line_error(self.project.cli("make", "--default", "question.author='caf\udce9'"),
                                   "is not valid UTF-8 text")  # the byte \xe9 on the command line
        self.project.models(POLLS + '    author: str = "caf\\udce9"\n')
        self.assert_one_line_error(self.project.cli("make"), "model Question field author: ", "is not valid UTF-8 text")
        for command in ("status", "check", "schema"):  # readers wait for writers as long as they are told
            self.assertNotEqual(self.project.cli(command, "--timeout", "1").returncode, 2)
        with open(self.project.db, "r+b") as handle:
            handle.seek(100)
            handle.write(bytes(range(256)) * 15)
        for command in ("status", "apply"):
            self.assert_one_line_error(self.project.cli(command), "database disk image is malformed (db.sqlite3 is "
                                       "damaged: restore it from a backup")

    def test_check_and_status_show_names_and_paths_with_control_characters_escaped(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.assertEqual(self.project.cli("apply").returncode, 0)
        self.project.execute('CREATE TABLE "a\nb\x1b[31mred" (x)')
        result = self.project.cli("check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("database drift: table a\\nb\\x1b[31mred", result.stdout)
        self.assertNotIn("\x1b", result.stdout)
        odd = "db\x01.sqlite3"
        self.assertEqual(self.project.cli("apply", "--db", odd).returncode, 0)
        self.assertEqual(self.project.cli("status", "--db", odd).stdout.splitlines()[-1],
                         "db\\x01.sqlite3: 1 applied, 0 pending")
        with open(os.path.join(self.project.root, "pyproject.toml"), "w") as handle:
            handle.write('[tool.migrate]\ndb = "a\\u0000b"\n')  # (no argument or variable can hold one)
        for command in ("status", "apply"):
            self.assert_one_line_error(self.project.cli(command), "database path 'a\\x00b' holds a NUL character")

    def test_a_damaged_migrations_table_is_said_as_a_damaged_file_not_as_another_tools_table(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.assertEqual(self.project.cli("apply").returncode, 0)
        conn = sqlite3.connect(self.project.db)
        page_size, root = conn.execute("PRAGMA page_size").fetchone()[0], conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = '_migrations'").fetchone()[0]
        conn.close()
        with open(self.project.db, "r+b") as handle:
            handle.seek((root - 1) * page_size)
            handle.write(b"\xff" * page_size)
        for command in ("status", "apply", "revert", "check"):
            self.assert_one_line_error(self.project.cli(command), "database disk image is malformed (db.sqlite3 is "
                                       "damaged: restore it from a backup")

    def test_a_migrations_table_made_by_another_tool_is_named_not_a_traceback(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.project.execute("CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT, applied TEXT)")
        for command in ("status", "apply"):
            self.assert_one_line_error(self.project.cli(command), "table _migrations in this database is not")
        self.project.execute("DROP TABLE _migrations",
                             "CREATE TABLE _migrations (name TEXT, checksum TEXT, applied_at TEXT, down_sql TEXT)",
                             "INSERT INTO _migrations VALUES (NULL, 'x', 'now', NULL)")
        self.assert_one_line_error(self.project.cli("status"), "has a damaged row (name None")
        self.project.execute("UPDATE _migrations SET name = '0001_initial', down_sql = x'414243'")
        self.assert_one_line_error(self.project.cli("revert"), "down_sql of type bytes")
        self.project.execute("UPDATE _migrations SET down_sql = NULL, applied_at = x'00'")
        for args in (("status", "--json"), ("status", "-v")):
            self.assert_one_line_error(self.project.cli(*args), "has a damaged row (name '0001_initial', checksum "
                                       "'x', applied_at b'\\x00'")

    def test_output_into_a_closed_pipe_is_no_traceback(self):
        conn = sqlite3.connect(os.path.join(self.project.root, "db.sqlite3"))
        columns = ", ".join(f"a_column_with_a_long_name_{j}" for j in range(8))
        conn.executescript("".join(f"CREATE TABLE t{i} ({columns});" for i in range(400)))  # > a pipe's 64 KiB
        conn.close()
        result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" schema | head -c 10', shell=True, cwd=self.project.root,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.stdout, "CREATE TAB")
        self.assertNotIn("Traceback", result.stderr)
        self.assertNotIn("BrokenPipeError", result.stderr)

    def test_apply_into_a_closed_pipe_says_where_it_stopped(self):
        for number in range(1, 201):
            self.project.write_migration(f"{number:04d}_t{number}", f"-- migrate:up\nCREATE TABLE t{number} (x);\n")
        result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" apply | head -c 1', shell=True, cwd=self.project.root,
                                capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("error: the output was closed while migrating; a migration still running was rolled back "
                      "(with --atomic: every one in the run), one that had committed stays applied, or reverted: "
                      "run status",
                      result.stderr)
        status = self.project.cli("status").stdout.splitlines()
        applied = sum(line.startswith("[X]") for line in status)
        tables = self.project.query("SELECT count(*) FROM sqlite_master WHERE name GLOB 't[0-9]*'")[0][0] \
            if os.path.exists(self.project.db) else 0
        self.assertEqual(applied, tables, "every recorded migration ran, and only those")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_output_to_a_full_disk_or_a_closed_stdout_is_one_line(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        for redirect, code in ((">/dev/full", 1), (">&-", 0)):
            with self.subTest(redirect):
                result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" apply {redirect}', shell=True,
                                        cwd=self.project.root, capture_output=True, text=True, timeout=60)
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(result.returncode, code, result.stderr)
        self.assertIn("error: No space left on device while writing the output", subprocess.run(
            f'"{sys.executable}" "{MIGRATE}" status >/dev/full', shell=True, cwd=self.project.root,
            capture_output=True, text=True, timeout=60).stderr)
        self.project.models("@dataclass\nclass A:\n    id: int\n")
        result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" make --dir made >/dev/full', shell=True,
                                cwd=self.project.root, capture_output=True, text=True, timeout=60)
        self.assertEqual((result.returncode, result.stderr), (1, "error: No space left on device while writing the "
                                                                 "output; made/0001_initial.sql was written: review "
                                                                 "it\n"))

    def test_a_closed_stderr_does_not_stop_a_run_that_warns(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        self.project.write_migration("0002_u", "-- migrate:up\nCREATE TABLE u (x);\n-- migrate:down\nDROP TABLE u;\n")
        self.project.apply()
        result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" revert zero 2>&-', shell=True,  # (each warns)
                                cwd=self.project.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("Unapplying 0001_t... OK", result.stdout)
        self.assertEqual(self.project.query("SELECT count(*) FROM _migrations"), [(0,)])

    def test_a_closed_stdin_makes_without_asking(self):
        self.project.models("@dataclass\nclass A:\n    name: str = ''\n    id: Optional[int] = None\n")
        result = subprocess.run(f'"{sys.executable}" "{MIGRATE}" make <&-', shell=True,  # (cron, daemons)
                                cwd=self.project.root, capture_output=True, text=True, timeout=60)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertEqual(self.project.files(), ["0001_initial.sql"])

    def test_main_in_process_with_closed_or_minimal_streams_returns_its_code(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\n"
                                     "-- WARNING: drops table t and its rows\nDROP TABLE t;\n")

        class Writer:  # write and flush only, as a logging adapter may be
            def write(self, text):
                return len(text)

            def flush(self):
                pass
        closed = io.StringIO()
        closed.close()
        argv = ["--db", self.project.db, "--dir", self.project.directory]
        for name, stream in (("stdout", closed), ("stdout", Writer()), ("stderr", Writer()), ("stderr", closed)):
            with self.subTest(name=name, stream=type(stream).__name__):
                migrate.main(["apply", "-q", *argv])
                saved = getattr(sys, name)
                setattr(sys, name, stream)
                try:
                    quiet = ["-q"] if name == "stderr" else []  # (the other stream is the test run's own)
                    code = migrate.main(["revert", *quiet, *argv])  # (it warns, on stderr)
                finally:
                    restored, _ = getattr(sys, name), setattr(sys, name, saved)
                self.assertEqual(code, 0)
                self.assertIs(restored, stream)  # given back as it was
                self.assertEqual(self.project.query("SELECT count(*) FROM _migrations"), [(0,)])

    def test_output_in_an_encoding_without_a_names_letters_shows_them_escaped(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        self.project.write_migration("0002_\u65e5\u672c", "-- migrate:up\nCREATE TABLE u (x);\n")
        for command in ("apply", "status"):
            with self.subTest(command):
                result = self.project.cli(command, env={"PYTHONIOENCODING": "cp1252"})
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("0002_\\u65e5\\u672c", result.stdout)
        self.assertEqual(self.project.query("SELECT count(*) FROM _migrations"), [(2,)])

    def test_main_in_process_leaves_the_callers_streams_as_it_found_them(self):
        import io
        self.project.write_migration("0001_\u65e5", "-- migrate:up\nCREATE TABLE t (x);\n")
        out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        saved = sys.stdout, sys.stderr
        self.addCleanup(setattr, sys, "stdout", saved[0])
        self.addCleanup(setattr, sys, "stderr", saved[1])
        sys.stdout, sys.stderr = out, None  # an ASCII pipe, and no stderr (pythonw)
        code = migrate.main(["status", "--db", self.project.db, "--dir", self.project.directory])
        shown = (out.errors, sys.stdout is out, sys.stderr)
        sys.stdout, sys.stderr = saved
        self.assertEqual(code, 0)
        self.assertEqual(shown, ("strict", True, None))
        out.seek(0)
        self.assertIn("[ ] 0001_\\u65e5", out.read())

    def test_main_in_process_returns_its_code_when_even_stderr_cannot_be_written(self):
        import io

        class Full(io.StringIO):  # a full disk under both streams
            def write(self, text):
                raise OSError(28, "No space left on device")
        saved = sys.stdout, sys.stderr
        self.addCleanup(setattr, sys, "stdout", saved[0])
        self.addCleanup(setattr, sys, "stderr", saved[1])
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        sys.stdout, sys.stderr = Full(), Full()
        codes = [migrate.main(["apply", "9999", "--db", self.project.db, "--dir", self.project.directory]),
                 migrate.main(["status", "--db", self.project.db, "--dir", self.project.directory])]
        sys.stdout, sys.stderr = saved
        self.assertEqual(codes, [1, 1])  # the error, and the output it could not write: no exception for the caller

        class Ascii(io.StringIO):  # a caller's stream without reconfigure() that takes ASCII only
            def write(self, text):
                return super().write(text.encode("ascii").decode("ascii"))
        sys.stderr = Ascii()
        code = migrate.main(["status", "--db", self.project.db, "--dir", os.path.join(self.project.root, "m\u00e9g")])
        shown, sys.stderr = sys.stderr.getvalue(), saved[1]
        self.assertEqual(code, 1)
        self.assertIn("migrations directory ", shown)
        self.assertIn("m\\xe9g not found", shown)

    def test_run_by_runpy_in_a_thread_it_loads_where_no_signal_handler_can_be_set(self):
        code = ("import runpy, sys, threading\nsys.argv = [sys.argv[1], '--version']\n"
                "thread = threading.Thread(target=runpy.run_path, args=(sys.argv[0],), kwargs={'run_name': '__main__'})\n"
                "thread.start()\nthread.join()\n")
        result = subprocess.run([sys.executable, "-c", code, MIGRATE], capture_output=True, text=True, timeout=60)
        self.assertEqual((result.stdout, result.stderr), (f"migrate.py {migrate.__version__}\n", ""))

    def test_a_url_that_is_no_rqlite_url_is_one_line_naming_it_without_its_password(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        for url, fragment in (("http://[::1", "is not a valid rqlite URL"), ("http://localhost:abc", "is not a valid"),
                              ("http://local host:1", "a space or a control character"), ("http://", "names no host"),
                              ("ftp://x/db", "is a URL migrate.py cannot use"),
                              ("HTTPS://u:pw@127.0.0.1:9/", "cannot reach rqlite node HTTPS://u:***@127.0.0.1:9"),
                              ("http://u:pw@x@127.0.0.1:9", "cannot reach rqlite node http://u:***@127.0.0.1:9"),
                              ("http://u:pw/x@h:1", "is not a valid rqlite URL: write it like")):
            with self.subTest(url):
                result = self.project.cli("status", "--db", url)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(fragment, result.stderr)
                self.assertNotIn("pw", result.stderr)

    def test_status_lists_two_files_with_one_number_showing_which_was_applied_then_fails(self):
        self.project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        self.project.apply()
        self.project.write_migration("0001_b", "-- migrate:up\nCREATE TABLE b (x);\n")  # another branch's
        result = self.project.cli("status")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "[X] 0001_a\n[ ] 0001_b\ndb.sqlite3: 1 applied, 1 pending\n")
        self.assertEqual(result.stderr, "error: migrations 0001_a and 0001_b share number 0001 (two branches each "
                                        "made one): renumber the one not yet applied anywhere (status lists which "
                                        "this database applied) to 0002 and run `make --check`\n")
        result = self.project.cli("status", "--json")
        self.assertEqual((result.returncode, result.stderr.count("\n")), (1, 1))
        self.assertEqual(json.loads(result.stdout)["applied"], 1)
        with self.assertRaisesRegex(migrate.MigrateError, "share number 0001"):
            migrate.status(self.project.db, directory=self.project.directory)  # the library raises

    def test_an_empty_path_option_or_setting_is_an_error_naming_it(self):
        self.project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        for args, error in ((("status", "--dir", ""), "the migrations directory is given as ''"),
                            (("make", "--models", ""), "the models file is given as ''"),
                            (("export", "--d1", ""), "the export folder is given as ''"),
                            (("status", "--dir", "  "), "the migrations directory is given as '  '"),  # blank too
                            (("make", "--models", " "), "the models file is given as ' '"),
                            (("apply", "--db", " "), "database path ' ' is empty"),
                            (("make", "--db", ""), "database path '' is empty")):  # (make opens it only to check)
            with self.subTest(args=args):
                self.assert_one_line_error(self.project.cli(*args), error)
        self.assertEqual(os.listdir(self.project.root), ["migrations"])  # no database file named " "
        with open(os.path.join(self.project.root, "pyproject.toml"), "w") as handle:
            handle.write('[tool.migrate]\ndir = ""\n')
        for command in (("status",), ("make",), ("make", "--check"), ("make", "--empty", "backfill")):
            with self.subTest(command=command):
                self.assert_one_line_error(self.project.cli(*command), "migrations directory is given as '' (an "
                                                                       "empty option or setting): pass --dir FOLDER")

    def test_usage_errors_exit_two_and_every_command_has_help(self):
        self.assertEqual(self.project.cli("frobnicate").returncode, 2)
        self.assertEqual(self.project.cli().returncode, 2)
        result = self.project.cli("make", "--empty", "--check", "notes")  # --check would ignore --empty
        self.assertEqual(result.returncode, 2)
        self.assertIn("not allowed with argument", result.stderr)
        result = self.project.cli("--db", "t.db", "status")  # git -C / alembic -c habit
        self.assertEqual(result.returncode, 2)
        self.assertIn("--db goes after the command, as every option does: python migrate.py status --db t.db",
                      result.stderr)
        self.assertIn(migrate.__version__, self.project.cli("--vers").stdout)  # an abbreviation argparse knows
        self.assertIn("--timeout goes after the command", self.project.cli("--timeout", "5", "apply").stderr)
        self.assertNotIn("goes after", self.project.cli("--bogus").stderr)  # no command: argparse's own error
        result = self.project.cli("revert", "--allow-changed")  # an apply option: said with revert's help
        self.assertEqual((result.returncode, result.stderr), (2, "error: migrate.py revert: unrecognized arguments: "
                                                                  "--allow-changed (see python migrate.py revert "
                                                                  "--help)\n"))
        for argv, meant in ((("revert", "--f"), "--fake"), (("apply", "--fa"), "--fake or --fake-initial"),
                            (("make", "--up"), "--update"), (("apply", "--dry=1"), "--dry-run")):
            with self.subTest(argv=argv):  # never taken for what they start: `revert --f` is not --fake
                result = self.project.cli(*argv)
                self.assertEqual((result.returncode, result.stderr), (2, f"error: migrate.py {argv[0]}: unrecognized "
                                 f"arguments: {argv[1]}: did you mean {meant}? (see python migrate.py {argv[0]} "
                                 "--help)\n"))
        for other, whose, ours in (("makemigrations", "Django's", "make"), ("migrate", "Django's", "apply"),
                                   ("showmigrations", "Django's", "status"), ("upgrade", "Alembic's", "apply"),
                                   ("downgrade", "Alembic's", "revert"), ("rollback", "dbmate's and yoyo's", "revert"),
                                   ("stamp", "Alembic's", "apply --fake TARGET")):
            self.assert_one_line_error(self.project.cli(other, "polls"), f"no command {other}: {whose} {other} "
                                       f"is `{ours}` here: python migrate.py {ours}", code=2)
        for typo, meant in (("aply", "apply"), ("stauts", "status"), ("Revert", "revert")):
            self.assert_one_line_error(self.project.cli(typo), f"no command {typo}: did you mean {meant}? "
                                       f"(python migrate.py {meant})", code=2)
        self.assert_one_line_error(self.project.cli("make", "--name", "add_tags"), "make takes the name without "
                                   "--name (Django's makemigrations --name): python migrate.py make NAME", code=2)
        for args in (("sql",), ("apply", "--timeout", "abc"), ("frobnicate",), (),
                     ("status", "-q", "-v"), ("make", "--verbose", "--quiet"),
                     ("sql", "1", "--db", "x.db"), ("apply", "-v"), ("squash", "--models", "m.py")):
            # one line each, as any error; an option the command would ignore is one too
            with self.subTest(args=args):
                self.assert_one_line_error(self.project.cli(*args), "error: migrate.py", "--help)", code=2)
        self.assertIn("COMMAND", self.project.cli("--hel").stdout)
        for timeout in ("-5", "nan", "1e99"):
            result = self.project.cli("apply", "--timeout", timeout)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn("must be 0 to 2147483 seconds", result.stderr)
        self.assertFalse(os.path.exists(self.project.db))
        for command in ("make", "apply", "revert", "status"):
            with self.subTest(command=command):
                result = self.project.cli(command, "--help")
                self.assertEqual(result.returncode, 0)
                self.assertIn("python migrate.py " + command, result.stdout)
                self.assertIn("--db", result.stdout)

    def test_a_refused_run_prints_the_error_alone(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.assertEqual(self.project.cli("apply").returncode, 0)
        with open(os.path.join(self.project.root, "migrations", "0001_initial.sql"), "a") as handle:
            handle.write("SELECT 'edited';\n")
        for args in (["apply"], ["apply", "0001"]):  # revert and apply zero run the recorded down SQL: no refusal
            with self.subTest(args=args):
                result = self.project.cli(*args)
                self.assert_one_line_error(result, "0001_initial.sql changed since it was applied")
                self.assertEqual(result.stdout, "")  # no "Operations to perform:" for what never ran

    def test_a_revert_that_would_drop_a_table_the_database_had_before_is_refused_alone(self):
        self.project.models(POLLS)
        self.assertEqual(self.project.cli("make").returncode, 0)
        self.project.write_migration("0002_hand", "-- migrate:up\nALTER TABLE question ADD note TEXT;\n"
                                                  "-- migrate:down\nDROP TABLE question;\n")
        self.assertEqual(self.project.cli("apply").returncode, 0)
        result = self.project.cli("revert")
        self.assert_one_line_error(result, "reverting migration 0002_hand would drop table question and its 0 rows")
        self.assertEqual(result.stdout, "")
        self.assertIn("[X] 0002_hand", self.project.cli("status").stdout)

    def test_help_wraps_at_the_terminal_width(self):
        for columns in (50, 200):
            with self.subTest(columns=columns):
                result = self.project.cli("apply", "--help", env={"COLUMNS": str(columns)})
                self.assertEqual(result.returncode, 0, result.stderr)
                options = result.stdout.split("options:" if "options:" in result.stdout else "optional")[1]
                wrapped = options.split("examples:")[0].splitlines()  # the examples are kept as written
                widest = max(len(line) for line in wrapped)
                self.assertLessEqual(widest, columns)
                self.assertGreater(widest, 80 if columns == 200 else 40)  # wider than the default 80 when allowed
        self.assertEqual(self.project.cli("--help", env={"COLUMNS": "\u00b2"}).returncode, 0)  # (no width: the default)


if __name__ == "__main__":
    unittest.main()
