"""Settings from pyproject.toml: the same [tool.migrate] values on every Python
(tomllib on 3.11+, migrate.py's own reader before), paths relative to the file."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests.support import MIGRATE, Project, migrate

try:
    import tomllib
except ImportError:  # Python < 3.11: only the fallback reader is checked
    tomllib = None

# (pyproject.toml text, the [tool.migrate] settings tomllib reads from it)
READABLE = [
    ('[tool.migrate]\ndb = "a.db"\nmodels = "app/models.py"\ndir = "app/migrations"\n',
     {"db": "a.db", "models": "app/models.py", "dir": "app/migrations"}),
    ('[tool.migrate]\ndb = "a\\\\b.db"', {"db": "a\\b.db"}),
    ('[tool.migrate]\ndb = "C:\\\\data\\\\app.db"', {"db": "C:\\data\\app.db"}),
    ("[tool.migrate]\ndb = 'C:\\data\\app.db'", {"db": "C:\\data\\app.db"}),
    ('[tool.migrate]\ndb = "\\"q\\"\\t\\n\\b\\f\\r\\u00e9\\U0001F600.db"', {"db": '"q"\t\n\b\f\ré\U0001F600.db'}),
    ('[tool.migrate]\n"db" = "q.db"', {"db": "q.db"}),
    ("[tool.migrate]\n'db' = 'q.db'", {"db": "q.db"}),
    ('[tool.migrate]\n"d\\u0062" = "q.db"', {"db": "q.db"}),
    ('[tool.migrate]\ndb = """t.db"""', {"db": "t.db"}),
    ("[tool.migrate]\ndb = '''t.db'''", {"db": "t.db"}),
    ('[tool.migrate]\ndb = """\nt.db"""', {"db": "t.db"}),
    ('[tool.migrate]\ndb = """a\\\n      b.db"""', {"db": "ab.db"}),
    ('[tool.migrate]\ndb = """say "hi"""""', {"db": 'say "hi""'}),
    ('[tool]\nmigrate.db = "x.db"', {"db": "x.db"}),
    ('tool.migrate.db = "x.db"', {"db": "x.db"}),
    ('[tool]\n"migrate" . \'db\' = "x.db"', {"db": "x.db"}),
    ('[ "tool" . migrate ]\ndb = "x.db"', {"db": "x.db"}),
    ('[tool.migrate]\ndb = "a#b.db"  # a comment with "quotes" and [brackets]', {"db": "a#b.db"}),
    ('# [tool.migrate]\n[tool.migrate]  # the table\ndb="x.db"#', {"db": "x.db"}),
    ('[tool.migrate]\r\ndb = "crlf.db"\r\n', {"db": "crlf.db"}),
    ('[tool.migrate]\ndb = "http://127.0.0.1:4001"\nmodels = "app.models"', {"db": "http://127.0.0.1:4001",
                                                                            "models": "app.models"}),
    ('[tool.migrate]\ndb = ""', {"db": ""}),
    ('[tool.other]\ndb = "no"\n[tool.migrate]\ndb = "yes"', {"db": "yes"}),
    ('[tool.other]\ntext = """\n[tool.migrate]\ndb = "inside a string"\n"""\n', {}),
    ("[tool.other]\ntext = '''\n[tool.migrate]\ndb = \"inside a string\"\n'''\n", {}),
    ('[project]\ndependencies = [\n  "x[extra]>=1",  # [tool.migrate]\n  "y",\n]\n'
     '[tool.x]\nmatrix = [\n  ["a", "b"],\n  [1, 2.5],\n]\ninline = {a = 1, b = [true, false]}\n'
     'when = 1979-05-27 07:32:00.999-07:00\nnumbers = [0xBEEF, -1e+3, inf, nan, 1_000]\n'
     '[tool.migrate]\ndir = "m"\n', {"dir": "m"}),
    ("[project]\nname = 'x'\n", {}),
    ('[tool]\nmigrate.db = "x.db"\nmigrate.dir = "m"\n[tool.other]\nx = 1', {"db": "x.db", "dir": "m"}),
    ('[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n[tool.migrate]\ndir = "m"', {"dir": "m"}),
]

# (pyproject.toml text, what the error names): tomllib rejects these, or they are
# not a table of strings
UNREADABLE = [
    ('[tool.migrate]\ndb = 5', "db must be a quoted string"),
    ('[tool.migrate]\nmodels = ["a.py"]', "models must be a quoted string"),
    ('[tool.migrate]\ndb.x = "a.db"', "db must be a quoted string"),
    ('[tool.migrate.dir]\nx = "a"', "dir must be a quoted string"),
    ('[tool]\nmigrate = "x"', "tool.migrate must be a table"),
    ('tool = "x"', "tool must be a table"),
    ('[[tool.migrate]]\ndb = "x"', "tool.migrate must be a table"),
    ('[tool.migrate]\ndb = "\\q.db"', "db: cannot read the escape"),
    ('[tool.migrate]\ndb = "\\ud800.db"', "db: cannot read the escape"),
    ('[tool.migrate]\ndb = "x.db"\ndb = "y.db"', "db is set twice"),
    ('[tool.migrate]\ndb = "x.db"\n[tool.other]\n[tool.migrate]\ndir = "m"', "line 4: [tool.migrate] is declared twice"),
    ('[tool]\nmigrate.db = "x.db"\n[tool.migrate]\ndir = "m"', "line 3: [tool.migrate] is declared twice"),
    ('tool.migrate.db = "x.db"\n[tool]\nx = 1', "line 2: [tool] is declared twice"),
    ('[tool]\nx = 1\n[tool]\ny = 2', "line 3: [tool] is declared twice"),
    ('[tool.migrate]\ndir = "m"\n[tool]\nmigrate.db = "x.db"', "line 4: [tool.migrate] is declared above, so "
     "a dotted key cannot add to it"),
    ('[tool.migrate]\ndb = "x.db', "line 2: cannot read"),
    ('[tool.migrate]\ndb = "x.db" dir = "m"', "db must be a quoted string"),
    ('[tool.migrate\ndb = "x.db"', "line 1: a [ or { is never closed"),
    ('[project]\nclassifiers = [\n  "a",\n\n[tool.migrate]\ndb = "x.db"', "line 2: a [ or { is never closed"),
    ('[project]\nurls = {home = "x"\n[tool.migrate]\ndb = "x.db"', "line 2: a [ or { is never closed"),
    ('\ufeff[tool.migrate]\ndb = "x.db"', "line 1: cannot read"),
    ('[tool.migrate]\ndatabase = "x.db"', "[tool.migrate] has no setting 'database': use db, models or dir"),
    ('[tool.migrate]\ncolour = 5\ndb = "x.db"', "has no setting 'colour'"),
    ('[tool.migrate]\ndb = "yes"\n[tool.migrate.extra]\ndb = "no"', "has no setting 'extra'"),
]


class FallbackReader(unittest.TestCase):
    """_read_tool_migrate runs on every Python here, and must agree with tomllib."""

    def test_reads_what_tomllib_reads(self):
        for text, expected in READABLE:
            with self.subTest(text=text):
                self.assertEqual(migrate._read_tool_migrate(text, "pyproject.toml"), expected)
                if tomllib:
                    self.assertEqual(migrate._tool_migrate_strings(tomllib.loads(text), "pyproject.toml"),
                                     expected)

    def test_an_inline_table_is_an_error_not_a_guess(self):
        with self.assertRaisesRegex(migrate.MigrateError, r"^pyproject.toml line 2: .*tool.migrate"):
            migrate._read_tool_migrate('[tool]\nmigrate = {db = "x.db"}', "pyproject.toml")

    def test_refuses_what_tomllib_refuses(self):
        for text, message in UNREADABLE:
            with self.subTest(text=text):
                with self.assertRaises(migrate.MigrateError) as caught:
                    migrate._read_tool_migrate(text, "pyproject.toml")
                self.assertIn(message, str(caught.exception))
                self.assertTrue(str(caught.exception).startswith("pyproject.toml"), caught.exception)
                self.assertNotIn("\n", str(caught.exception))
                if tomllib:
                    with self.assertRaises((migrate.MigrateError, tomllib.TOMLDecodeError)):
                        migrate._tool_migrate_strings(tomllib.loads(text), "pyproject.toml")


class PyprojectFile(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="migrate-test-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.sub = os.path.join(self.root, "app", "sub")
        os.makedirs(self.sub)

    def write(self, data: bytes) -> str:
        path = os.path.join(self.root, "pyproject.toml")
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def test_paths_are_relative_to_the_pyproject_folder_urls_and_module_names_as_written(self):
        self.write(b'[tool.migrate]\ndb = "app.sqlite3"\nmodels = "app/models.py"\ndir = "/abs/migrations"\n')
        settings = migrate._pyproject_settings(self.sub)[0]
        self.assertEqual({key: os.path.abspath(value) for key, value in settings.items()},
                         {"db": os.path.join(self.root, "app.sqlite3"),
                          "models": os.path.join(self.root, "app", "models.py"),
                          "dir": os.path.abspath("/abs/migrations")})
        for db, models in [("http://127.0.0.1:4001", "app.models"), (":memory:", "models")]:
            self.write(f'[tool.migrate]\ndb = "{db}"\nmodels = "{models}"\n'.encode())
            settings = migrate._pyproject_settings(self.sub)[0]
            self.assertEqual((settings["db"], settings["models"]), (db, models))
        self.write(b'[tool.migrate]\ndb = "app.sqlite3"\n')  # what it leaves out is the default, there too
        self.assertEqual({key: os.path.abspath(value) for key, value in migrate._pyproject_settings(self.sub)[0].items()},
                         {"db": os.path.join(self.root, "app.sqlite3"), "models": os.path.join(self.root, "models.py"),
                          "dir": os.path.join(self.root, "migrations")})

    def test_the_nearest_pyproject_that_sets_them_wins(self):
        self.write(b'[tool.migrate]\ndb = "root.sqlite3"\n')
        with open(os.path.join(self.root, "app", "pyproject.toml"), "w") as handle:
            handle.write('[project]\nname = "app"\n')  # a package of a monorepo, without [tool.migrate]
        self.assertEqual(os.path.abspath(migrate._pyproject_settings(self.sub)[0]["db"]),
                         os.path.join(self.root, "root.sqlite3"))

    def test_non_utf8_file_is_one_line_error(self):
        path = self.write('[tool.migrate]\ndb = "café.db"\n'.encode("latin-1"))
        with self.assertRaisesRegex(migrate.MigrateError, f"^{re.escape(path)} is not UTF-8 .*: save it as UTF-8$"):
            migrate._pyproject_settings(self.sub)[0]

    def test_a_byte_order_mark_is_one_line_error_saying_to_save_without_it(self):
        path = self.write('\ufeff[tool.migrate]\ndb = "x.db"\n'.encode())
        with self.assertRaisesRegex(migrate.MigrateError, f"^{re.escape(path)} starts with a byte order mark, which "
                                    "TOML does not allow .*: save it as UTF-8 without one$"):
            migrate._pyproject_settings(self.sub)[0]

    def test_arrays_nested_too_deeply_are_one_line_error(self):
        path = self.write(("x = " + "[" * 3000 + "]" * 3000 + '\n[tool.migrate]\ndb = "x.db"\n').encode())
        try:
            settings = migrate._pyproject_settings(self.sub)[0]
        except migrate.MigrateError as exc:  # tomllib (3.11+) recurses
            self.assertRegex(str(exc), f"^{re.escape(path)} nests arrays or tables too deeply")
        else:  # the fallback reader of 3.9 and 3.10 reads only [tool.migrate]
            self.assertTrue(settings["db"].endswith("x.db"), settings)

    def test_tool_migrate_that_is_not_a_table_is_one_line_error(self):
        path = self.write(b'[tool]\nmigrate = "x"\n')
        with self.assertRaisesRegex(migrate.MigrateError, f"^{re.escape(path)}: tool.migrate must be a table"):
            migrate._pyproject_settings(self.sub)[0]

    def test_cli_from_a_subfolder_uses_the_pyproject_folder_and_flags_the_current_one(self):
        project = Project(self)
        project.models("@dataclass\nclass Note:\n    text: str\n    id: Optional[int] = None\n")
        with open(os.path.join(project.root, "pyproject.toml"), "w") as handle:
            handle.write('[tool.migrate]\ndb = "app.sqlite3"\nmodels = "models.py"\ndir = "migrations"\n')
        sub = os.path.join(project.root, "sub")
        os.mkdir(sub)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}

        def run(*args, env=None):
            result = subprocess.run([sys.executable, MIGRATE, *args], cwd=sub, capture_output=True,
                                    text=True, env={**environment, **(env or {})}, timeout=120)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            return result

        self.assertEqual(project.cli("make").returncode, 0)
        run("apply")
        self.assertTrue(os.path.exists(os.path.join(project.root, "app.sqlite3")))
        self.assertFalse(os.path.exists(os.path.join(sub, "app.sqlite3")))
        run("apply", "--db", "flag.sqlite3")
        self.assertTrue(os.path.exists(os.path.join(sub, "flag.sqlite3")))
        run("apply", env={"MIGRATE_DB": "env.sqlite3"})
        self.assertTrue(os.path.exists(os.path.join(sub, "env.sqlite3")))
        os.mkdir(os.path.join(project.root, "app"))  # a module name, found from the pyproject.toml's folder too
        shutil.move(project.models_path, os.path.join(project.root, "app", "models.py"))
        open(os.path.join(project.root, "app", "__init__.py"), "w").close()
        with open(os.path.join(project.root, "pyproject.toml"), "w") as handle:
            handle.write('[tool.migrate]\ndb = "app.sqlite3"\nmodels = "app.models"\ndir = "migrations"\n')
        self.assertIn("No changes detected", run("make").stdout)

    def test_a_leading_tilde_in_a_setting_or_after_an_equals_sign_is_the_home_folder(self):
        # no shell expands it there: a folder named ~ made here would read as the home folder
        project = Project(self)
        project.models("@dataclass\nclass Note:\n    text: str\n    id: Optional[int] = None\n")
        home = os.path.join(project.root, "home")
        os.mkdir(home)
        with open(os.path.join(project.root, "pyproject.toml"), "w") as handle:
            handle.write('[tool.migrate]\ndir = "~/app-migrations"\n')
        for args, env, database in ((("make",), {}, None), (("apply",), {"MIGRATE_DB": "~/env.db"}, "env.db"),
                                    (("apply", "--db=~/flag.db"), {}, "flag.db")):
            with self.subTest(args=args, env=env):
                result = project.cli(*args, env={"HOME": home, **env})
                self.assertEqual(result.returncode, 0, result.stderr)
                if database:
                    self.assertTrue(os.path.isfile(os.path.join(home, database)))
        project.write_migration("0002_more", "-- migrate:up\nCREATE TABLE more (x);\n-- migrate:down\nDROP TABLE more;\n")
        shutil.move(os.path.join(project.directory, "0002_more.sql"), os.path.join(home, "app-migrations"))
        result = project.cli("apply", "--db=~/flag.db", "--backup=~/snapshot.db", env={"HOME": home})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(home, "snapshot.db")))
        self.assertEqual(project.cli("export", "--d1=~/d1", env={"HOME": home}).returncode, 0)
        self.assertEqual(sorted(os.listdir(os.path.join(home, "d1"))), ["0001_initial.sql", "0002_more.sql"])
        result = project.cli("sql", "~/app-migrations/0002_more.sql", env={"HOME": home})  # a target file, too
        self.assertEqual((result.returncode, result.stdout), (0, "CREATE TABLE more (x);\n"), result.stderr)
        self.assertFalse(os.path.exists(os.path.join(project.root, "~")))

    def test_a_broken_pyproject_above_stops_only_a_command_that_needs_a_setting_from_it(self):
        # another project's, say: with every setting given otherwise, or for --help, it is not read
        project = Project(self)
        project.models("@dataclass\nclass Note:\n    text: str\n    id: Optional[int] = None\n")
        with open(os.path.join(project.root, "pyproject.toml"), "w") as handle:
            handle.write("[tool.migrate\nbroken")
        result = project.cli("status")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"^error: .*pyproject.toml .*valid TOML.* \(migrate.py reads \[tool.migrate\] "
                                        r"there for the settings not given: --db, --dir here, which the options or "
                                        r"MIGRATE_DB, MIGRATE_DIR would give\)\n$")  # (3.9 and 3.10 say it otherwise)
        self.assertIn("now unknown: a pyproject.toml cannot be read", " ".join(project.cli("status", "--help")
                                                                              .stdout.split()))
        self.assertEqual(project.cli("make", "--db", "app.db", "--models", "models.py", "--dir", "migrations",
                                     "-q").returncode, 0)
        result = project.cli("status", "--dir", "migrations", env={"MIGRATE_DB": "app.db"})
        self.assertEqual((result.returncode, result.stdout), (0, "[ ] 0001_initial\napp.db: 0 applied, 1 pending "
                                                                 "(no database file yet)\n"))
        self.assertEqual(project.cli("apply", "--help").returncode, 0)
        result = project.cli("check", "--no-models", "--db", "app.db", "--dir", "migrations")  # (needs no models)
        self.assertEqual((result.returncode, result.stderr), (0, ""))

    def test_a_database_path_ending_with_a_slash_is_refused_by_every_command(self):
        # SQLite made app.db of app.db/, which no later check found: apply, then apply --check said pending
        project = Project(self)
        project.models("@dataclass\nclass Note:\n    text: str\n    id: Optional[int] = None\n")
        project.make()
        for command in (("apply",), ("apply", "--check"), ("status",), ("revert",), ("check",), ("schema",)):
            with self.subTest(command=command):
                result = project.cli(*command, "--db", "app.db/")
                self.assertEqual((result.returncode, result.stderr), (1, "error: database path app.db/ ends with /, "
                                 "as a folder's does: pass --db with the file's path (app.db); nothing was changed\n"))
        self.assertFalse(os.path.exists(os.path.join(project.root, "app.db")))

    def test_an_error_about_a_setting_from_pyproject_or_the_environment_says_where_it_was_set(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n")
        pyproject = os.path.join(project.root, "pyproject.toml")
        for toml, command, env, note in (
                ('db = "missing/app.db"', "apply", {}, "(set by db = 'missing/app.db' in pyproject.toml)"),
                ('db = ""', "status", {}, "(set by db = '' in pyproject.toml)"),
                ('dir = "gone"', "status", {}, "(set by dir = 'gone' in pyproject.toml)"),
                ('models = ""', "make", {}, "(set by models = '' in pyproject.toml)"),
                ('db = "app\\u0000.db"', "status", {}, "(set by db = 'app\\x00.db' in pyproject.toml)"),
                ('db = "app.db"', "status", {"MIGRATE_DIR": "elsewhere"}, "(set by MIGRATE_DIR)")):
            with self.subTest(toml=toml, env=env):
                with open(pyproject, "w") as handle:
                    handle.write(f"[tool.migrate]\n{toml}\n")
                result = project.cli(command, env=env)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertTrue(result.stderr.endswith(f"{note}\n"), result.stderr)
                self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        with open(pyproject, "w") as handle:
            handle.write('[tool.migrate]\ndir = "gone"\n')
        result = project.cli("status", "--dir", "gone")  # on the command line: no note
        self.assertEqual(result.stderr, f"error: migrations directory gone not found in {project.root}: run `make` "
                                        "to create it, or pass --dir\n")
        for empty in ("", "  "):
            result = project.cli("status", env={"MIGRATE_DIR": empty})  # an empty variable is unset
            self.assertIn("(set by dir = 'gone' in pyproject.toml)", result.stderr)
        self.assertEqual(os.listdir(project.root), ["migrations", "pyproject.toml"], "nothing else was created")
        with open(pyproject, "w") as handle:
            handle.write('[tool.migrate]\ndir = "migrations"\n')  # a bare word: only where the message names it
        project.write_migration("0002_a", "-- migrate:up\nSELECT 1;\n")
        project.write_migration("0002_b", "-- migrate:up\nSELECT 2;\n")
        result = project.cli("apply")
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: migrations 0002_a and 0002_b share number 0002", result.stderr)
        self.assertNotIn("set by", result.stderr)


if __name__ == "__main__":
    unittest.main()
