"""Make: diff models against the replayed migrations and write the file."""
import json
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import unittest
from contextlib import closing

from tests.support import MIGRATE, Project, migrate

SHOP = """
@dataclass
class Customer:
    email: str = field(metadata={"unique": True, "collate": "NOCASE"})
    name: str = "it's \\"quoted\\"; DROP TABLE customer; --"
    id: Optional[int] = None

@dataclass
class Product:
    sku: str = field(metadata={"primary_key": True})
    price: float = field(default=0.0, metadata={"check": "price >= 0"})

@dataclass
class Order:
    customer: Customer = field(metadata={"on_delete": "CASCADE"})
    placed: str = field(default="", metadata={"default_sql": "CURRENT_TIMESTAMP", "index": True})
    parent: Optional["Order"] = None
    id: Optional[int] = field(default=None, metadata={"autoincrement": True})

@dataclass
class OrderLine:
    order: Order = field(metadata={"primary_key": True})
    product: Product = field(metadata={"primary_key": True})
    quantity: int = 1
    __unique__ = [("order", "quantity")]
    __indexes__ = [("product", "quantity")]

@dataclass
class Setting:
    key: str = field(metadata={"primary_key": True})
    value: bytes = b"\\x00"
    __strict__ = True
    __without_rowid__ = True
"""


QUESTION = """
@dataclass
class Question:
    text: str
    id: Optional[int] = None
"""


class MakeThenCheck(unittest.TestCase):
    def test_multi_table_schema_makes_applies_and_checks_clean(self):
        project = Project(self)
        project.models(SHOP)
        result = project.make()
        self.assertEqual(result.name, "0001_initial")
        creates = [line for line in result.operations if line.startswith("+ Create table")]
        position = {line.split()[-1]: i for i, line in enumerate(creates)}
        for parent, child in (("customer", "order"), ("order", "order_line"), ("product", "order_line")):
            self.assertLess(position[parent], position[child], f"{parent} before {child}: {creates}")
        project.apply()
        self.assertEqual(project.make(write=False).operations, ())
        self.assertEqual(project.query("PRAGMA foreign_key_check"), [])
        project.execute("INSERT INTO customer (email) VALUES ('a@b')")
        self.assertEqual(project.query("SELECT name FROM customer"),
                         [("it's \"quoted\"; DROP TABLE customer; --",)])
        self.assertEqual(len(project.query("SELECT * FROM sqlite_master WHERE type = 'table'")), 7)

    def test_no_changes_writes_nothing(self):
        project = Project(self)
        project.models(SHOP)
        project.make()
        result = project.make()
        self.assertEqual((result.operations, result.path), ((), None))
        self.assertEqual(project.files(), ["0001_initial.sql"])

    def test_an_integer_default_of_a_text_column_is_the_same_default_as_its_text(self):
        # DEFAULT 2 stores '2' in a TEXT column; an earlier migrate.py wrote a Decimal field's int default so
        project = Project(self)
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE item (id INTEGER PRIMARY KEY, "
                                "price TEXT NOT NULL DEFAULT 2, n INTEGER NOT NULL DEFAULT '2');\n")
        for price in ("decimal.Decimal = 2", "str = '2'"):
            with self.subTest(price=price):
                project.models(f"import decimal\n@dataclass\nclass Item:\n    price: {price}\n    n: int = 2\n"
                               "    id: Optional[int] = None\n")
                self.assertEqual(project.make(write=False).operations, ())
        project.models("@dataclass\nclass Item:\n    price: str = '02'\n    n: int = 2\n    id: Optional[int] = None\n")
        self.assertEqual(project.make(write=False).operations, ("~ Alter column item.price: default 2 -> '02'",))
        numbers = Project(self)  # REAL stores 0 as 0.0; INTEGER stores 2.0 as 2: the same defaults, no rebuild
        numbers.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE line (id INTEGER PRIMARY KEY, "
                                "discount REAL NOT NULL DEFAULT 0, rate REAL DEFAULT '2.5', n INTEGER DEFAULT 2.0);\n")
        line = "@dataclass\nclass Line:\n    discount: float = {}\n    rate: Optional[float] = {}\n    n: " \
               "Optional[int] = field(default=2, metadata={{'sql_type': 'INTEGER'}})\n    id: Optional[int] = None\n"
        numbers.models(line.format("0.0", "2.5"))
        self.assertEqual(numbers.make(write=False).operations, ())
        numbers.models(line.format("0.5", "2.5"))
        self.assertEqual(numbers.make(write=False).operations, ("~ Alter column line.discount: default 0 -> 0.5",))
        numbers.write_migration("0002_digit", "-- migrate:up\n"
                                "ALTER TABLE line ADD COLUMN m INTEGER DEFAULT '\u0661';\n")
        numbers.models(line.format("0.0", "2.5") + "    m: Optional[int] = 1\n")  # ('\u0661' stays text: no number 1)
        self.assertEqual(numbers.make(write=False).operations, ("~ Alter column line.m: default '\u0661' -> 1",))
        spelled = Project(self)  # one value spelled otherwise in SQL is one default: as SQLite writes it back
        spelled.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE meta (id INTEGER PRIMARY KEY, a NOT NULL "
                                "DEFAULT 2.50, b NOT NULL DEFAULT 0x10, c NOT NULL DEFAULT x'0a', d REAL DEFAULT -0, "
                                "e NOT NULL DEFAULT TRUE, f NOT NULL DEFAULT 1e300, g INTEGER DEFAULT +7);\n")
        typeless = "field(default={}, metadata={{'sql_type': ''}})"
        spelled.models("@dataclass\nclass Meta:\n    id: Optional[int] = None\n" + "".join(
            f"    {name}: object = {typeless.format(value)}\n" for name, value in zip("abcef", ("2.5", "16", "b'\\n'",
                                                                                         "True", "1e300")))
            + "    d: Optional[float] = 0.0\n    g: Optional[int] = 7\n")
        self.assertEqual(spelled.make(write=False).operations, ())
        strict = Project(self)  # a STRICT table's ANY column keeps 2 and '2' apart
        setting = ("@dataclass\nclass Setting:\n    __strict__ = True\n    value: object = field(default={}, "
                   "metadata={{'sql_type': 'ANY'}})\n    id: Optional[int] = None\n")
        strict.models(setting.format("2"))
        strict.make()
        strict.models(setting.format("'2'"))
        self.assertEqual(strict.make(write=False).operations, ("~ Alter column setting.value: default 2 -> '2'",))


    def test_a_default_spelled_as_a_name_or_in_two_pairs_of_parentheses_is_the_same_default(self):
        named = Project(self)  # SQLite stores a name as its text; a second pair of parentheses says nothing
        named.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE post (id INTEGER PRIMARY KEY, status TEXT "
                              "NOT NULL DEFAULT \"draft\", kind TEXT NOT NULL DEFAULT plain, n INTEGER NOT NULL "
                              "DEFAULT ((1 + 2)), c TEXT NOT NULL DEFAULT (datetime('now')));\n")
        post = ("@dataclass\nclass Post:\n    status: str = {!r}\n    kind: str = 'plain'\n"
                "    n: int = field(default=0, metadata={{'default_sql': '((1 + 2))'}})\n"
                "    c: str = field(default='', metadata={{'default_sql': \"(datetime('now'))\"}})\n"
                "    id: Optional[int] = None\n")
        named.models(post.format("draft"))
        self.assertEqual(named.make(write=False).operations, ())
        named.models(post.format("Draft"))
        made = named.make(write=False)
        self.assertEqual(made.operations, ("~ Alter column post.status: default \"draft\" -> 'Draft'",))
        self.assertIn('"n" INTEGER NOT NULL DEFAULT (1 + 2),\n    "c" TEXT NOT NULL DEFAULT (datetime(\'now\'))',
                      made.text)  # one pair, as SQLite needs

    def test_parentheses_around_a_name_or_the_whole_expression_are_no_change(self):
        project = Project(self)  # as Django writes F("ends") and a GeneratedField
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE entry (id INTEGER PRIMARY KEY, "
                                "starts TEXT, ends TEXT, rating REAL NOT NULL CHECK ((\"rating\") >= (0)), "
                                "length REAL GENERATED ALWAYS AS ((\"rating\" * 2)) STORED, "
                                "CONSTRAINT starts_first CHECK (\"starts\" <= (\"ends\")));\n")
        entry = ("@dataclass\nclass Entry:\n    __checks__ = [{!r}]\n"
                 "    rating: float = field(metadata={{'check': 'rating >= 0'}})\n"
                 "    starts: Optional[str] = None\n    ends: Optional[str] = None\n"
                 "    length: Optional[float] = field(default=None, metadata={{'generated': {!r}, 'stored': True}})\n"
                 "    id: Optional[int] = None\n")
        project.models(entry.format("starts <= ends", '"rating" * 2'))
        self.assertEqual(project.make(write=False).operations, ())
        project.models(entry.format("starts < ends", '"rating" * 3'))
        self.assertEqual(project.make(write=False).operations, (
            "~ Alter column entry.length: generated expression changed",  # (a change is still one)
            "~ Change table checks of entry"))
        for same, other in (("x IN (1)", "x IN 1"), ("f(x)", "f x"), ("NOT (a)", "NOT (a)")):
            self.assertEqual(migrate._canonical_check(same) == migrate._canonical_check(other), same == other, same)

    def test_double_quoted_text_that_sqlite_rewrites_in_an_alter_is_no_change(self):
        # SQLite's RENAME COLUMN and DROP COLUMN rewrite "text" that names nothing as 'text' in every
        # view, trigger, CHECK and partial index of the database: the same schema, in other words
        models = ("@dataclass\nclass T:\n    a: str = field(default='', metadata={'check': \"a != 'done'\"})\n"
                  "    b: str = ''\n    c: str = ''\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Log:\n    __managed__ = False\n    m: Optional[str] = None\n"
                  "@dataclass\nclass Task:\n    done: int = 0\n    id: Optional[int] = None\n")  # (done: a name elsewhere)
        project = Project(self)
        project.models(models)
        project.make()
        project.write_migration("0002_hand", """-- migrate:up
            ANALYZE;
            CREATE VIEW stats AS SELECT * FROM sqlite_stat1;
            CREATE VIEW v AS SELECT id, "hello" AS greeting FROM t WHERE a != "done";
            CREATE TABLE log (m TEXT, CHECK (m != "no"));
            CREATE INDEX t_partial ON t (a) WHERE a != "empty";
            CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES ("insert"); END;
            -- migrate:down
            DROP TRIGGER t_log;
            DROP INDEX t_partial;
            DROP TABLE log;
            DROP VIEW v;
            DROP VIEW stats;
            """)
        project.apply()
        project.models(models.replace("    b: str = ''\n", "").replace("c: str", "d: str"))
        result = project.make(questioner=migrate.Questioner(renames=["t.c=d"]))
        self.assertEqual(result.operations, ("~ Rename column t.c to d", "- Drop column t.b"))
        self.assertEqual(project.make(write=False).operations, (), "the models match the new migration")
        project.apply()
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])
        project.revert(target="0002_hand")
        self.assertEqual(migrate.check(project.db, models=None, directory=project.directory), [],
                         "the text SQLite rewrote is no drift")
        os.remove(os.path.join(project.directory, project.files()[2]))
        project.models(models.replace("c: str = ''", "c: int = 0"))  # a rebuild of t, with its trigger again
        self.assertEqual(project.make().operations, ("~ Alter column t.c: type TEXT -> INTEGER, default '' -> 0",))
        self.assertEqual([step.warnings for step in project.apply()], [()], "the trigger is the files' own")
        project.execute("INSERT INTO t (a) VALUES ('y')")
        self.assertEqual(project.query("SELECT greeting FROM v"), [("hello",)])
        self.assertEqual(project.query("SELECT m FROM log"), [("insert",)])

    def test_dropping_a_table_that_an_unmanaged_tables_foreign_key_names_is_refused(self):
        project = Project(self)
        project.models("@dataclass\nclass Author:\n    name: str = ''\n    id: Optional[int] = None\n")
        project.make()
        project.write_migration("0002_audit", "-- migrate:up\nCREATE TABLE audit (id INTEGER PRIMARY KEY, author_id "
                                "INTEGER REFERENCES author (id));\n-- migrate:down\nDROP TABLE audit;\n")
        project.models("@dataclass\nclass Audit:\n    __managed__ = False\n    author_id: Optional[int] = None\n"
                       "    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, "^cannot drop table author: table audit, which no model "
                                    "manages, keeps a foreign key to it"):
            project.make()
        self.assertEqual(len(project.files()), 2, "nothing was written")

    def test_empty_migration_and_names(self):
        project = Project(self)
        project.models(SHOP)
        self.assertEqual(project.make(name="shop", write=False).name, "0001_shop")  # as Django's --name
        project.make()
        result = project.make(empty=True, name="Backfill slugs!")
        self.assertEqual(result.name, "0002_backfill_slugs")
        self.assertIn("-- migrate:up", project.read("0002_backfill_slugs.sql"))
        with self.assertRaisesRegex(migrate.MigrateError, "needs a NAME"):
            project.make(empty=True)
        for option in ("--rename", "--default"):  # questions about model changes, which --empty does not look at
            result = project.cli("make", "--empty", "more", option, "shop.a=b")
            self.assertEqual((result.returncode, result.stderr), (1, "error: make --empty writes a migration for SQL "
                             "by hand, without looking at the models, so --rename and --default answer nothing "
                             "there: drop them; nothing was written\n"))
        self.assertEqual(len(project.files()), 2)

    def test_an_empty_migration_is_irreversible_until_a_down_section_is_written(self):
        project = Project(self)
        project.models(SHOP)
        project.make()
        project.make(empty=True, name="backfill")
        path = os.path.join(project.directory, "0002_backfill.sql")
        with open(path, "a", encoding="utf-8") as handle:  # the up section filled, the down one forgotten
            handle.write("INSERT INTO customer (email) VALUES ('seed');\n")
        project.apply()
        with self.assertRaisesRegex(migrate.MigrateError, "0002_backfill has no `-- migrate:down` section"):
            project.revert()  # not a silent no-op that a second apply would double
        self.assertEqual(project.query("SELECT email FROM customer"), [("seed",)])
        result = project.cli("revert", "--fake")  # the record only: the row stays
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Unapplying 0002_backfill... FAKED", result.stdout)
        self.assertEqual(project.query("SELECT email FROM customer"), [("seed",)])
        self.assertEqual([(s.name, s.applied) for s in project.status()][-1], ("0002_backfill", False))
        project.apply(fake=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("-- migrate:down\nDELETE FROM customer WHERE email = 'seed';\n")
        project.revert()
        self.assertEqual(project.query("SELECT email FROM customer"), [])

    def test_update_folds_new_changes_into_the_latest_migration_keeping_its_hand_edits(self):
        project = Project(self)
        project.models(QUESTION)
        project.make()
        project.models(QUESTION + "    author: Optional[str] = None\n")
        path = project.make(name="add_author").path
        with open(path, encoding="utf-8") as handle:  # a data statement and a comment written by hand
            text = handle.read().replace("-- migrate:down", "-- set by hand\nUPDATE question SET author = 'me';\n\n"
                                         "-- migrate:down")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        project.models(QUESTION + "    author: Optional[str] = None\n    email: str = ''\n")
        result = project.make(update=True)
        self.assertEqual((result.name, result.path, result.operations),
                         ("0002_add_author", path, ("+ Add column question.email",)))
        self.assertEqual(project.files(), ["0001_initial.sql", "0002_add_author.sql"])
        up, down = migrate.parse_sections(project.read("0002_add_author.sql"))
        self.assertEqual(migrate.split_statements(up), [
            'ALTER TABLE "question" ADD COLUMN "author" TEXT;', "-- set by hand\nUPDATE question SET author = 'me';",
            'ALTER TABLE "question" ADD COLUMN "email" TEXT NOT NULL DEFAULT \'\';'], up)
        self.assertEqual([s.splitlines()[-1] for s in migrate.split_statements(down)], [
            'ALTER TABLE "question" DROP COLUMN "email";', 'ALTER TABLE "question" DROP COLUMN "author";'], down)
        self.assertIn("-- + Add column question.author\n-- + Add column question.email\n", result.text)
        self.assertEqual(list(result.up), migrate.split_statements(up))
        self.assertEqual(project.make(write=False).operations, ())
        project.execute("CREATE TABLE seen (x)")  # (a database with tables: apply checks them)
        project.apply()
        self.assertEqual(project.query("SELECT author, email FROM question"), [])
        project.revert(target="0001")
        self.assertEqual([row[1] for row in project.query("PRAGMA table_info(question)")], ["text", "id"])
        project.models(QUESTION + "    email: str = ''\n")  # renamed, and one column fewer
        self.assertEqual(project.make(update=True, name="Email only").name, "0002_email_only")
        self.assertEqual(project.files(), ["0001_initial.sql", "0002_email_only.sql"])
        self.assertEqual(project.make(write=False).operations, ())

    def test_update_that_renames_the_file_and_is_killed_leaves_one_file_of_that_number(self):
        project = Project(self)
        project.models(QUESTION)
        project.make()
        project.models(QUESTION + "    author: Optional[str] = None\n")
        project.make(name="add_author")
        project.models(QUESTION + "    email: str = ''\n")
        rename = os.rename

        def killed(*args):  # the moment between the two steps: nothing after it runs
            raise KeyboardInterrupt
        os.rename = killed
        try:
            with self.assertRaises(KeyboardInterrupt):
                project.make(update=True, name="email only")
        finally:
            os.rename = rename
        self.assertEqual(project.files(), ["0001_initial.sql", "0002_add_author.sql"])  # whole, and made anew
        self.assertIn("+ Add column question.email", project.read("0002_add_author.sql"))
        self.assertEqual(project.make(write=False).operations, ())  # what it holds is what the models are

    def test_update_keeps_the_files_comments_line_endings_byte_order_mark_link_and_mode(self):
        project = Project(self)
        project.models(QUESTION)
        project.make()
        elsewhere = os.path.join(project.root, "shared.sql")
        path = os.path.join(project.directory, "0001_initial.sql")
        with open(path, encoding="utf-8") as handle:
            text = handle.read().replace(");\n", "); -- the first table\n", 1).replace(
                "\n-- migrate:down", "-- TODO: seed it\n\n-- migrate:down").rstrip(";\n") + "\n"  # down without ;
        with open(elsewhere, "w", encoding="utf-8", newline="") as handle:
            handle.write("\ufeff" + text.replace("\n", "\r\n"))
        os.chmod(elsewhere, 0o640)
        os.remove(path)
        os.symlink(elsewhere, path)
        project.models(QUESTION + "    author: Optional[str] = None\n")
        project.make(update=True)
        with open(elsewhere, "rb") as handle:
            written = handle.read()
        self.assertTrue(os.path.islink(path))
        self.assertEqual(os.stat(elsewhere).st_mode & 0o777, 0o640)
        self.assertTrue(written.startswith(b"\xef\xbb\xbf-- Generated by"), written[:40])
        self.assertEqual(written.count(b"\n"), written.count(b"\r\n"), written)
        self.assertIn(b'); -- the first table\r\n', written)
        self.assertIn(b'-- TODO: seed it\r\n\r\nALTER TABLE "question" ADD COLUMN "author" TEXT;\r\n', written)
        self.assertEqual(project.make(write=False).operations, ())
        project.apply()
        project.revert()
        self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name != '_migrations'"),
                         [])
        os.remove(path)
        project.models(QUESTION)
        project.make()
        with open(path, "r+b") as handle:  # one CRLF line pasted into a file of LF lines: it stays LF
            lines = handle.read()
            handle.seek(0)
            handle.write(b"-- pasted\r\n" + lines)
        project.models(QUESTION + "    author: Optional[str] = None\n")
        project.make(update=True)
        with open(path, "rb") as handle:
            self.assertEqual(handle.read().count(b"\r\n"), 0)

    def test_sql_a_crlf_file_made_is_written_with_the_new_files_line_ends_but_its_strings_kept(self):
        project = Project(self)
        project.write_migration("0001_b", "-- migrate:up\nCREATE TABLE b (\n    id INTEGER PRIMARY KEY,\n"
                                "    note TEXT NOT NULL DEFAULT 'two\nlines'\n);\n".replace("\n", "\r\n"))
        project.models("@dataclass\nclass B:\n    id: int\n    note: str = 'two\\r\\nlines'\n    __strict__ = True\n")
        result = project.make()  # (a rebuild, whose down section copies 0001's CREATE TABLE)
        with open(os.path.join(project.directory, result.path), "rb") as handle:
            written = handle.read()
        self.assertEqual(written.count(b"\r\n"), 2, written)  # the defaults' own, in the up and down sections
        self.assertIn(b"DEFAULT 'two\r\nlines'", written)
        project.apply()
        project.revert()
        self.assertEqual(project.query("SELECT dflt_value FROM pragma_table_info('b') WHERE name = 'note'"),
                         [("'two\r\nlines'",)])
        project.models("@dataclass\nclass B:\n    id: int\n    note: str = 'two\\r\\nlines'\n    __strict__ = True\n"
                       "    sig: str = 'a\\nb'\n")
        latest = os.path.join(project.directory, result.path)
        with open(latest, "rb") as handle:
            text = handle.read()
        with open(latest, "wb") as handle:  # a CRLF checkout of it
            handle.write(text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        project.make(update=True)  # its line ends stay CRLF, the new string's own LF is kept
        with open(latest, "rb") as handle:
            written = handle.read()
        self.assertIn(b"DEFAULT 'a\nb'", written)
        self.assertEqual(written.count(b"\r\n"), written.count(b"\n") - 1)
        self.assertEqual(project.make(write=False).operations, ())

    def test_update_asks_no_one_off_value_for_a_table_the_latest_migration_creates_empty(self):
        project = Project(self)
        project.models(QUESTION)
        project.make()
        note = "\n@dataclass\nclass Note:\n{}    body: Optional[str] = None\n    id: Optional[int] = None\n"
        project.models(QUESTION + note.format(""))
        project.make()  # 0002 creates note
        project.models(QUESTION + note.format("    pages: int\n    code: str = field(metadata={'unique': True})\n"))
        result = project.make(update=True)  # no prompt, no --default: no row there needs a value
        self.assertEqual(result.warnings, ())  # (not "applying fails on two rows or more")
        project.apply()
        project.execute("INSERT INTO note (pages, code) VALUES (1, 'a'), (2, 'b')")
        project.revert(target="0001")
        latest = project.files()[-1][:-4]
        project.write_migration(latest, project.read(latest + ".sql").replace(
            "-- migrate:down", "INSERT INTO note (pages, code) VALUES (0, 'seed');\n\n-- migrate:down"))
        project.models(QUESTION + note.format("    pages: int\n    code: str = field(metadata={'unique': True})\n"
                                              "    size: int\n"))
        with self.assertRaisesRegex(migrate.MigrateError, r"^note.size is a new NOT NULL column without a default "
                                                          r"and the table may have rows"):
            project.make(update=True)  # the file inserts a row: that one needs a value
        project.write_migration("0003_copy", "-- migrate:up\nCREATE TABLE copy AS SELECT id FROM question;\n")
        project.models(QUESTION + note.format("    pages: int\n    code: str = field(metadata={'unique': True})\n"
                                              "    size: int = 0\n") + "\n@dataclass\nclass Copy:\n    n: int\n"
                       "    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"^copy.n is a new NOT NULL column without a default "):
            project.make(update=True)  # CREATE TABLE ... AS SELECT fills it
        project.write_migration("0003_copy", "-- migrate:up\n"
                                "CREATE TABLE IF NOT EXISTS copy (id INTEGER PRIMARY KEY);\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"^copy.n is a new NOT NULL column without a default "):
            project.make(update=True)  # a table already there, with its rows, is left as it is

    def test_update_refuses_what_it_cannot_fold_into_and_changes_no_file(self):
        project = Project(self)
        project.models(QUESTION)
        with self.assertRaisesRegex(migrate.MigrateError, "there is none yet: run make without --update"):
            project.make(update=True)
        project.make()
        project.models(QUESTION + "    author: Optional[str] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, "--update .* --empty .*: pass one of them"):
            project.make(update=True, empty=True, name="x")
        project.apply()
        with self.assertRaisesRegex(migrate.MigrateError, "0001_initial is applied to .*db.sqlite3.*revert it there "
                                                          "first"):
            project.make(update=True, db=project.db)
        os.rename(os.path.join(project.directory, "0001_initial.sql"), os.path.join(project.directory, "0001_x.sql"))
        with self.assertRaisesRegex(migrate.MigrateError, r"^0001_x has the number of 0001_initial, which .*db.sqlite3 "
                                    r"applied and whose file is gone: if 0001_x is that file renamed, rename it back"):
            project.make(update=True, db=project.db)
        os.rename(os.path.join(project.directory, "0001_x.sql"), os.path.join(project.directory, "0001_initial.sql"))
        project.revert()
        writer = project.connect()
        writer.execute("BEGIN EXCLUSIVE")  # another process writing: make has no --timeout to offer
        with self.assertRaisesRegex(migrate.MigrateError, r"^make --update reads .*db.sqlite3 to see whether "
                                    r"0001_initial is applied there, and another process holds it locked: retry"):
            project.make(update=True, db=project.db)
        writer.rollback()
        writer.close()
        caller = sqlite3.connect(project.db)  # the library's caller, writing: its own lock is not another process's
        caller.execute("INSERT INTO _migrations (name, checksum, applied_at) VALUES ('x', 'x', 'x')")
        with self.assertRaisesRegex(migrate.MigrateError, "^the connection has an open transaction: commit or "
                                                          "roll it back before passing it to migrate.py; nothing "
                                                          "was written"):
            project.make(update=True, db=caller)
        caller.rollback()
        caller.close()
        self.assertEqual(project.make(update=True, db=project.db, write=False).name, "0001_initial")  # now it may
        project.write_migration("0002_by_hand", """\
            -- migrate:up
            CREATE TABLE note (body TEXT)
            -- migrate:down
            DROP TABLE note;
            """)
        with self.assertRaisesRegex(migrate.MigrateError, "0002_by_hand.sql: the last statement of its up section has "
                                                          "no `;`"):
            project.make(update=True)
        project.write_migration("0002_by_hand", "-- migrate:up\nCREATE TABLE note (body TEXT);\n")
        project.models(QUESTION + "    author: Optional[str] = None\n\n@dataclass\nclass Note:\n    body: Optional[str] = None\n")
        self.assertEqual(project.make(update=True).operations, ("+ Add column question.author",))
        self.assertNotIn("migrate:down", project.read("0002_by_hand.sql"))  # irreversible it was, and stays
        migrate.squash(directory=project.directory)
        squashed = project.read("0002_squashed_0001_0002.sql")
        project.models(QUESTION + "    author: Optional[str] = None\n    email: str = ''\n\n"
                       "@dataclass\nclass Note:\n    body: Optional[str] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0002_squashed_0001_0002 is a squash"):
            project.make(update=True)
        self.assertEqual(project.files(), ["0002_squashed_0001_0002.sql", "replaced"])
        self.assertEqual(project.read("0002_squashed_0001_0002.sql"), squashed)

    def test_update_asks_again_before_writing_whether_the_file_was_applied_or_changed_meanwhile(self):
        project = Project(self)
        project.models(QUESTION)
        project.make()
        project.models(QUESTION + "    author: Optional[str] = None\n")
        project.make()
        project.models("@dataclass\nclass Question:\n    text: str\n    votes: int\n"  # a question: a pause
                       "    id: Optional[int] = None\n    author: Optional[str] = None\n")
        before = project.read("0002_add_question_author.sql")
        edited = before + "\n-- an edit\n"
        for meanwhile, error, after in (
                (project.apply, "0002_add_question_author is applied to .*db.sqlite3, which would never run what "
                                "--update adds", before),
                (lambda: project.write_migration("0002_add_question_author", edited),
                 "0002_add_question_author.sql changed while make --update ran: run it again", edited)):
            def answer(question):  # another process, while make asks
                meanwhile()
                return "0"
            with self.subTest(error=error), self.assertRaisesRegex(migrate.MigrateError, error):
                project.make(update=True, db=project.db, questioner=migrate.Questioner(prompt=answer))
            self.assertEqual(project.read("0002_add_question_author.sql"), after)
            if meanwhile == project.apply:
                project.revert()
        project.apply()
        with closing(sqlite3.connect(project.db)) as conn:  # a connection: named as one, not by its repr
            with self.assertRaisesRegex(migrate.MigrateError, "^0002_add_question_author is applied to the "
                                        "connection's database, which would never run"):
                project.make(update=True, db=conn, questioner=migrate.Questioner(defaults={"question.votes": "0"}))

    def test_dry_run_returns_the_sql_and_writes_nothing(self):
        project = Project(self)
        project.models(SHOP)
        result = project.make(write=False)
        self.assertIn('CREATE TABLE "customer"', result.text)
        self.assertEqual(project.files(), [])


class Evolution(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)
        self.project.evolve("""
            @dataclass
            class Question:
                text: str
                id: Optional[int] = None
        """)
        self.project.execute("INSERT INTO question (text) VALUES ('What?')")

    def test_every_column_of_a_keyless_table_replaced_is_added_before_the_old_ones_are_dropped(self):
        project = Project(self)
        for fields in ("x: int = 0", "y: str = ''", "a: int = 0\n    b: int = 0", "c: str = ''\n    d: str = ''"):
            project.evolve(f"@dataclass\nclass Thing:\n    {fields}\n")
        self.assertEqual(project.query("SELECT name FROM pragma_table_info('thing')"), [("c",), ("d",)])
        project.revert(target="zero")

    def test_a_one_off_value_that_a_strict_column_cannot_store_is_refused_before_any_row_meets_it(self):
        project = Project(self)
        strict = ("@dataclass\nclass Item:\n    __strict__ = True\n    name: str\n    qty: %s\n"
                  "    id: Optional[int] = None\n")
        project.models(strict % "Optional[int] = None")
        project.make()
        project.models(strict % "int")
        for value, taken in (("'abc'", False), ("length(name)", True), ("'7'", True), ("7", True)):
            with self.subTest(value=value):  # ('7' is stored as 7; a per-row value is left to the copy)
                if taken:
                    self.assertTrue(project.make(write=False, questioner=migrate.Questioner(
                        defaults={"item.qty": value})).operations)
                    continue
                with self.assertRaisesRegex(migrate.MigrateError, r"the one-off value item.qty='abc' does not fit "
                                            r"the STRICT column \(cannot store TEXT value in INTEGER column\): give a "
                                            r"value of its type; nothing was written"):
                    project.make(questioner=migrate.Questioner(defaults={"item.qty": value}))
        self.assertEqual(project.files(), ["0001_initial.sql"])
        project.models((strict % "int\n    note: str = 'x'").replace("    name: str\n", ""))  # text is text there
        self.assertEqual(project.make(questioner=migrate.Questioner(defaults={"item.qty": "1"})).operations,
                         ("- Drop column item.name", "~ Alter column item.qty: NOT NULL added",
                          "+ Add column item.note"))
        project.apply()
        project.revert()

    def test_a_one_off_value_an_integer_or_real_column_would_keep_as_text_is_refused(self):
        project = Project(self)  # not STRICT: SQLite would store 'abc' in the INTEGER column as text
        item = ("@dataclass\nclass Item:\n    name: str\n    qty: %s\n    price: %s\n"
                "    n: %smetadata={'sql_type': 'NUMERIC'})\n    id: Optional[int] = None\n")
        project.models(item % ("Optional[int] = None", "Optional[float] = None",
                               "Optional[int] = field(default=None, "))
        project.make()
        project.apply()
        project.execute("INSERT INTO item (name, n) VALUES ('x', 1)")
        required = ("int", "float", "int = field(")
        project.models(item % required)
        for column, value, stored, declared in (("qty", "'abc'", "text", "INTEGER"), ("qty", "''", "text", "INTEGER"),
                                                ("price", "X'00'", "blob", "REAL"), ("n", "'abc'", "text", "NUMERIC")):
            with self.subTest(value=value), self.assertRaisesRegex(migrate.MigrateError, re.escape(
                    f"the one-off value item.{column}={value} is {stored}, which a column of type {declared} keeps "
                    f"as {stored}, not as a number: give a number")):
                project.make(questioner=migrate.Questioner(defaults={"item.qty": "0", "item.price": "0", "item.n": "0",
                                                                     f"item.{column}": value}))
        self.assertEqual(project.files(), ["0001_initial.sql"])
        project.make(questioner=migrate.Questioner(defaults={"item.qty": "'7'", "item.price": "'1.5'", "item.n": "2"}))
        project.apply()  # (text that reads as a number is stored as that number)
        self.assertEqual(project.query("SELECT qty, typeof(qty), price, typeof(price) FROM item"),
                         [(7, "integer", 1.5, "real")])
        asked, answers = [], iter(["abc", "3"])  # the question's example fits the column; a bare word is no text there
        project.models(item.replace("    id: Optional", "    shelf: int\n    id: Optional") % required)
        project.make(questioner=migrate.Questioner(prompt=lambda question: asked.append(question) or next(answers)))
        self.assertIn("Enter a one-off SQL value for them (e.g. 0), or leave empty to stop: ", asked[0])
        self.assertEqual(asked[1], "That value fails on a copy of the schema as the migration leaves it (no such "
                                   "column: abc).\nEnter a one-off SQL value for item.shelf, or leave empty to stop: ")

    def test_every_column_that_needs_a_one_off_value_is_named_in_one_error(self):
        project = Project(self)
        models = ("@dataclass\nclass Author:\n    name: str\n{}    id: Optional[int] = None\n\n"
                  "@dataclass\nclass Book:\n    title: {}\n{}    id: Optional[int] = None\n")
        code = "    code: str = field(metadata={'check': \"code <> ''\"})\n"  # dropped: the down's '' fails its CHECK
        project.models(models.format(code, "Optional[str] = None", ""))
        project.make()
        project.models(models.format("    born: int\n", "str", "    pages: int\n"))
        with self.assertRaises(migrate.MigrateError) as caught:  # without a prompt, as with --no-input
            project.make()
        self.assertTrue(str(caught.exception).startswith("author.born is a new NOT NULL column without a default "
                                                         "and the table may have rows: pass --default author.born="),
                        caught.exception)
        self.assertTrue(str(caught.exception).endswith(" The others that need a value: book.title, book.pages."),
                        caught.exception)
        project.make(questioner=migrate.Questioner(defaults={"author.born": "0", "book.title": "''",
                                                             "book.pages": "0", "author.code": "'x'"}))
        self.assertEqual(len(project.files()), 2)

    def test_a_one_off_key_into_a_table_the_migration_creates_is_warned_about(self):
        project = Project(self)
        question = "@dataclass\nclass Question:\n{category}    text: str = ''\n    id: Optional[int] = None\n"
        project.models(question.format(category=""))
        project.make()
        project.models("@dataclass\nclass Category:\n    name: str = ''\n    id: Optional[int] = None\n"
                       + question.format(category="    category: Category\n"))
        result = project.make(questioner=migrate.Questioner(defaults={"question.category_id": "1"}))
        warning = ("question.category_id is filled with 1, a key into category, which this migration creates empty: "
                   "applying it fails if question has rows")
        self.assertIn(warning, " ".join(result.warnings))
        self.assertIn(f"-- WARNING: {warning}", result.text)
        project.apply()  # no rows: fine

    def test_one_value_for_every_row_of_a_unique_or_key_column_is_warned_about_and_does_fail_on_two_rows(self):
        before = "@dataclass\nclass B:\n    name: str\n{extra}    id: Optional[int] = None\n"
        unique = 'field(metadata={"unique": True})'
        cases = [  # (fields added or changed, --default, the warning's start and fix, or None: no warning)
            (f"    slug: str = {unique}\n", "''", "b.slug is filled with '' in every existing row, which its unique "
             "index refuses", "make this migration with --default b.slug=SQL giving each row its own value"),
            (f"    slug: str = field(default='', metadata={{'unique': True}})\n", None, "b.slug is filled with '' in "
             "every existing row", "make the field Optional, or drop its default and make this migration with"),
            ("    code: str = field(metadata={'unique': True})\n", "'z'", "b.code is filled with 'z' in every row "
             "where it is NULL", "--default b.code=SQL"),
            (f"    slug: str = {unique}\n", "'s' || rowid", None, None),
            (f"    slug: str = {unique}\n", "lower(name)", None, None),  # names a column: may differ per row
            (f"    slug: str = {unique}\n", "hex(randomblob(8))", None, None),
            ("    slug: str = ''\n", None, None, None)]  # no unique index
        for fields, default, warning, fix in cases:
            with self.subTest(fields=fields, default=default):
                project = Project(self)
                project.models(before.format(extra="    code: Optional[str] = field(default=None, metadata="
                                             "{'unique': True})\n" if "code" in fields else ""))
                project.make()
                project.apply()
                project.execute("INSERT INTO b (name) VALUES ('x'), ('y')")
                project.models(before.format(extra=fields))
                defaults = {f"b.{'code' if 'code' in fields else 'slug'}": default} if default else {}
                result = project.make(questioner=migrate.Questioner(defaults=defaults))
                found = [w for w in result.warnings if "in every" in w]
                if warning is None:
                    self.assertEqual(found, [], result.text)
                    project.apply()
                    continue
                self.assertEqual(len(found), 1, result.warnings)
                self.assertTrue(found[0].startswith(warning), found[0])
                self.assertIn(fix, found[0])
                self.assertIn(f"-- WARNING: {found[0]}", result.text)
                with self.assertRaisesRegex(migrate.MigrateError, "UNIQUE constraint failed"):
                    project.apply()  # (what the warning foretold: the table has two rows)

    def test_one_value_for_part_of_a_composite_key_is_no_warning(self):
        project = Project(self)
        member = "@dataclass\nclass Member:\n    user_id: int = field(metadata={'primary_key': True})\n"
        project.models(member)
        project.make()
        project.apply()
        project.execute("INSERT INTO member (user_id) VALUES (1), (2)")
        project.models(member + "    org: str = field(metadata={'primary_key': True})\n")
        result = project.make(questioner=migrate.Questioner(defaults={"member.org": "'main'"}))
        self.assertEqual([w for w in result.warnings if "in every" in w], [])
        project.apply()
        self.assertEqual(project.query("SELECT user_id, org FROM member ORDER BY user_id"), [(1, "main"), (2, "main")])

    def test_a_kept_column_whose_foreign_key_moves_to_other_parent_columns_is_warned_about(self):
        project = Project(self)
        player = "@dataclass\nclass Player:\n    team: Team\n    id: Optional[int] = None\n"
        project.models("@dataclass\nclass Team:\n    code: str\n    id: Optional[int] = None\n" + player)
        project.make()
        project.apply()
        project.execute("INSERT INTO team (code) VALUES ('a'), ('b')")
        project.execute("INSERT INTO player (team_id) VALUES (1), (2)")
        project.models("@dataclass\nclass Team:\n    code: str = field(metadata={'primary_key': True})\n" + player)
        result = project.make()
        warning = ("player.team_id now points at team (code) instead of team (id) and keeps its values: applying "
                   "fails while one is no team (code) key")
        self.assertIn(warning, " ".join(result.warnings))
        self.assertIn(f"-- WARNING: {warning}", result.text)
        with self.assertRaises(migrate.MigrateError) as caught:
            project.apply()
        self.assertIn("player rowid 1 -> team", str(caught.exception))
        self.assertIn("delete or update those rows", str(caught.exception))  # no rename of team away to blame
        self.assertNotIn("renamed", str(caught.exception))

    def test_a_new_file_may_not_take_the_number_of_an_applied_migration_whose_file_is_gone(self):
        project = Project(self)
        model = "@dataclass\nclass A:\n    x: int\n{y}    id: Optional[int] = None\n"
        project.models(model.format(y=""))
        project.make()
        project.models(model.format(y="    y: Optional[int] = None\n"))
        lost = project.make().path
        project.apply()
        os.remove(lost)  # deleted by mistake
        for make in (lambda: project.make(name="other", db=project.db),
                     lambda: project.make(name="notes", empty=True, db=project.db)):
            with self.assertRaisesRegex(migrate.MigrateError, "the next migration would be number 0002, which "
                                        ".*db.sqlite3 applied as 0002_add_a_y, whose file is gone: put that file back"):
                make()
        self.assertEqual(project.files(), ["0001_initial.sql"])
        self.assertEqual(project.make(write=False, db=project.db).name, "0002_add_a_y")  # (--check: no file)
        self.assertEqual(project.make(name="other").name, "0002_other")  # no database given: nothing to ask
        os.remove(os.path.join(project.directory, "0002_other.sql"))
        elsewhere = os.path.join(project.root, "elsewhere")  # a folder of none of its migrations: not its history
        self.assertEqual(migrate.make(models=project.models_path, directory=elsewhere, db=project.db).name,
                         "0001_initial")
        project.make(name="other")
        os.remove(os.path.join(project.directory, "0002_other.sql"))
        self.assertEqual(project.make(db=project.db).name, "0002_add_a_y")  # made again: its own name is fine
        self.assertEqual(project.status()[-1].modified, False)
        project.models(model.format(y="    y: Optional[int] = None\n    z: Optional[int] = None\n"))
        for wrong, what in ((project.directory, "a folder"), (project.models_path, "not an SQLite database")):
            for make in (lambda: project.make(name="other", db=wrong),
                         lambda: project.make(name="notes", empty=True, db=wrong)):
                result = make()  # written all the same: make works without a database
                os.remove(result.path)
                self.assertEqual(result.warnings, (f"--db {wrong} is {what}, so make could not check that it applied "
                                                   "no migration numbered 0003 whose file is gone: is --db right?",))

    def test_dropping_a_hand_written_unique_index_that_a_foreign_key_needs_is_refused(self):
        project = Project(self)
        models = ("@dataclass\nclass P:\n    a: int\n    b: str\n{unique}    id: Optional[int] = None\n"
                  "@dataclass\nclass C:\n    __managed__ = False\n    a: int\n    b: str\n")
        project.models(models.format(unique=""))
        project.make()
        project.write_migration("0002_c", "-- migrate:up\nCREATE UNIQUE INDEX p_ab ON p (a, b);\nCREATE TABLE c (a "
                                "INTEGER, b TEXT, FOREIGN KEY (a, b) REFERENCES p (a, b));\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                'the models leave foreign key mismatch - "c" referencing "p": a foreign key\'s parent columns must '
                "be its primary key or have a UNIQUE index")):
            project.make()  # (it would drop p_ab, and apply would fail on it)
        project.models(models.format(unique="    __unique__ = {'p_ab': ('a', 'b')}\n"))
        self.assertEqual(project.make(write=False).operations, ())
        project.write_migration("0003_mismatch", "-- migrate:up\nCREATE TABLE d (x, FOREIGN KEY (x) REFERENCES "
                                "p (b));\n")  # one already there: not this migration's to refuse
        project.models(models.format(unique=""))  # ...nor does it hide a new one
        with self.assertRaisesRegex(migrate.MigrateError, 'the models leave foreign key mismatch - "c" referencing'):
            project.make()
        project.models(models.format(unique="    __unique__ = {'p_ab': ('a', 'b')}\n") + "@dataclass\nclass D:\n"
                       "    __managed__ = False\n    x: str\n@dataclass\nclass E:\n    y: int\n")
        self.assertEqual(project.make(write=False).operations, ("+ Create table e",))

    def test_make_after_a_merge_names_the_migration_written_without_a_column(self):
        project = Project(self)
        model = "@dataclass\nclass Choice:\n    text: {text}\n{author}    id: Optional[int] = None\n"
        project.models(model.format(text="str", author=""))
        project.make()
        author = "    author: str = ''\n"
        project.models(model.format(text="str", author=author))
        aside = os.path.join(project.root, "0002_branch_a.sql")
        os.rename(project.make().path, aside)  # branch A's 0002 adds author
        project.models(model.format(text="Optional[str] = None", author=""))
        os.rename(project.make().path, os.path.join(project.directory, "0003_alter_choice.sql"))  # branch B's
        os.rename(aside, os.path.join(project.directory, "0002_add_choice_author.sql"))
        project.models(model.format(text="Optional[str] = None", author=author))  # merged
        result = project.make(write=False)
        self.assertEqual(result.operations, ("+ Add column choice.author",))
        self.assertIn("0003_alter_choice was written without column choice.author (on a branch older than the "
                      "migration that makes it?): applying and reverting it loses it, and apply refuses it", " ".join(result.warnings))
        self.assertIn("WARNING: 0003_alter_choice was written without column choice.author",
                      project.cli("make", "--check").stderr)
        with self.assertRaises(migrate.MigrateError) as caught:  # a file after it would not make it apply
            project.make()
        self.assertTrue(str(caught.exception).startswith("migration 0003_alter_choice was written without column "
                                                         "choice.author"), caught.exception)
        self.assertIn("delete it and what make wrote after it, and run make again; nothing was written",
                      str(caught.exception))
        self.assertEqual(len(project.files()), 3)
        os.remove(os.path.join(project.directory, "0003_alter_choice.sql"))  # as the error says
        self.assertEqual(project.make().operations, ("~ Alter column choice.text: NOT NULL removed",))

    def test_a_rebuild_from_an_older_branch_is_refused_for_the_type_or_the_null_it_undoes(self):
        self.assertEqual([migrate._converts(*pair) for pair in (("TEXT", "INTEGER"), ("INTEGER", "REAL"),
                                                               ("INTEGER", "BLOB"), ("NUMERIC", "INTEGER"))],
                         [True, True, False, False])  # untyped keeps values as given; INTEGER and NUMERIC store alike
        for field, changed, message in (("code: int", "code: str", "column part.code as TEXT"),
                                        ("pages: int", "pages: Optional[int] = None", "column part.pages as nullable")):
            with self.subTest(field=field):
                project = Project(self)
                model = "@dataclass\nclass Part:\n    {field}\n    title: str = field(default='', metadata={meta})\n"
                project.models(model.format(field=field, meta="{}"))
                project.make()
                project.models(model.format(field=field, meta="{'collate': 'NOCASE'}"))
                aside = os.path.join(project.root, "0003_bob.sql")
                os.rename(project.make().path, aside)  # Bob's rebuild, from the base
                project.models(model.format(field=changed, meta="{}"))
                project.make()  # Alice's 0002
                os.rename(aside, os.path.join(project.directory, "0003_alter_part.sql"))
                project.apply(target="0002")
                project.execute("INSERT INTO part (code, title) VALUES ('007', 'a')" if "code" in field
                                else "INSERT INTO part (pages, title) VALUES (NULL, 'a')")
                rows = project.query("SELECT * FROM part")
                with self.assertRaises(migrate.MigrateError) as refused:
                    project.apply()
                self.assertIn(f"migration 0003_alter_part was written without {message}", str(refused.exception))
                self.assertEqual(project.query("SELECT * FROM part"), rows)
                project.models(model.format(field=changed, meta="{'collate': 'NOCASE'}"))  # merged
                self.assertIn(f"0003_alter_part was written without {message}",
                              " ".join(project.make(write=False).warnings))

    def test_check_names_a_migration_from_an_older_branch_whose_rebuild_drops_a_trigger(self):
        project = Project(self)
        model = "@dataclass\nclass Book:\n    pages: {pages}\n    id: Optional[int] = None\n"
        project.models(model.format(pages="int = 0"))
        project.make()
        project.models(model.format(pages="float = 0.0"))
        project.make()  # Bob's rebuild of book...
        trigger = "CREATE TRIGGER book_touch AFTER UPDATE ON book BEGIN SELECT 1; END;\n"
        os.rename(os.path.join(project.directory, "0002_alter_book.sql"),
                  os.path.join(project.directory, "0003_alter_book.sql"))
        project.write_migration("0002_touch", f"-- migrate:up\n{trigger}-- migrate:down\nDROP TRIGGER book_touch;\n")
        check = lambda: migrate.check(models=project.models_path, directory=project.directory)
        self.assertEqual(check(), ["migration 0003_alter_book was written without trigger book_touch (on a branch "
                                   "older than the migration that makes it?): applying and reverting it loses it, "
                                   "and apply refuses it. If it is applied nowhere yet, delete it and what make wrote "
                                   "after it, and run make again"])  # ...merged after Alice's trigger
        tried = os.path.join(os.environ["XDG_CACHE_HOME"], "migrate.py", "round-trips.json")
        with open(tried, encoding="utf-8") as handle:
            kept = json.load(handle)
        self.assertIn(["trigger book_touch"], kept.values())  # what the first check found, by the files up to it
        with open(tried, "w", encoding="utf-8") as handle:
            json.dump({key: [] for key in kept}, handle)
        self.assertEqual(check(), [])  # read from the cache, not tried again
        with open(tried, "w", encoding="utf-8") as handle:
            json.dump(kept, handle)
        self.assertEqual(len(check()), 1)
        project.write_migration("0004_touch_again", f"-- migrate:up\n{trigger}-- migrate:down\n")
        self.assertEqual(check(), [])

    def test_a_migrations_folder_that_is_a_file_is_a_clear_error_for_every_command(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    x: int = 0\n")
        for command in ("make", "status", "apply", "check"):
            with self.subTest(command=command):
                result = project.cli(command, "--dir", "models.py")
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stderr, "error: migrations directory models.py is not a directory: pass "
                                                "--dir FOLDER, or move that file away\n")

    def test_a_named_index_moves_to_a_table_that_sorts_first_or_is_new_or_swaps_names_with_another(self):
        project = Project(self)
        model = "@dataclass\nclass {name}:\n    {index}x: int = 0\n"
        index = '__indexes__ = {{"{0}": "x"}}\n    '.format
        owners_now = lambda: dict(project.query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
                                                "AND name LIKE 'by_%'"))
        project.evolve(model.format(name="A", index="") + model.format(name="B", index=index("by_x")))
        history = [owners_now()]
        for models, owners in (
                (model.format(name="A", index=index("by_x")) + model.format(name="B", index=""), {"by_x": "a"}),
                (model.format(name="A", index="") + model.format(name="B", index="")
                 + model.format(name="C", index=index("by_x")), {"by_x": "c"}),
                (model.format(name="A", index=index("by_x")) + model.format(name="C", index=index("by_c")),
                 {"by_x": "a", "by_c": "c"}),
                (model.format(name="A", index=index("by_c")) + model.format(name="C", index=index("by_x")),
                 {"by_x": "c", "by_c": "a"})):
            with self.subTest(models=models):
                project.evolve(models)
                self.assertEqual(owners_now(), owners)
                history.append(owners)
        for owners in reversed(history[:-1]):
            project.revert()
            self.assertEqual(owners_now(), owners)
        project.revert(target="zero")

    def test_add_and_drop_nullable_columns_and_indexes_natively_keeping_rows(self):
        result = self.project.evolve("""
            @dataclass
            class Question:
                __unique__ = [("author", "score")]
                text: str = field(metadata={"index": True})
                author: Optional[str] = None
                score: int = 7
                id: Optional[int] = None
        """)
        self.assertEqual(result.operations, ("+ Add column question.author", "+ Add column question.score",
                                             "+ Create unique index question_author_score_uniq on question",
                                             "+ Create index question_text_idx on question"))
        self.assertEqual(result.name, "0002_add_question_author_and_more")
        self.assertNotIn("_new_question", "\n".join(result.up))
        self.assertEqual(self.project.query("SELECT id, text, author, score FROM question"),
                         [(1, "What?", None, 7)])
        result = self.project.evolve("""
            @dataclass
            class Question:
                text: str
                id: Optional[int] = None
        """)
        self.assertIn("drops column question.author and its data", result.warnings)
        self.assertIn('ALTER TABLE "question" DROP COLUMN "author"', "\n".join(result.up))
        self.assertIn("WARNING: drops column question.author", self.project.read(result.name + ".sql"))
        self.assertEqual(self.project.query("SELECT * FROM question"), [("What?", 1)])

    def test_renames_are_asked_and_never_guessed(self):
        renamed = """
            @dataclass
            class Question:
                question_text: str
                id: Optional[int] = None
        """
        self.project.models(renamed)
        with self.assertRaisesRegex(migrate.MigrateError,
                                    "pass --rename question.text=question_text"):
            self.project.make()  # not a rename, and the new NOT NULL column needs a value
        def eof(question):
            raise EOFError
        for prompt, fragment in ((lambda question: "maybe", 'no y or n in 5 answers to "Did you rename question.text '
                                  'to question.question_text?"'),  # a caller's prompt that never says: no hang
                                 (lambda question: None, "the prompt answered None, not text"),
                                 (eof, "no answer (end of input)")):
            with self.subTest(fragment=fragment), self.assertRaisesRegex(migrate.MigrateError, re.escape(fragment)):
                self.project.make(write=False, questioner=migrate.Questioner(prompt=prompt))
        asked, answers = [], iter(["ye", "y"])  # a typo is asked again: "No" would drop the column
        answer = lambda question: asked.append(question) or next(answers)
        result = self.project.make(questioner=migrate.Questioner(prompt=answer))
        self.assertEqual(asked, ["Did you rename question.text to question.question_text? [y/N] ",
                                 "Please answer y or n. Did you rename question.text to question.question_text? [y/N] "])
        self.assertEqual(result.operations, ("~ Rename column question.text to question_text",))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT question_text FROM question"), [("What?",)])

    def test_rename_offered_even_when_the_type_changes_and_table_renames(self):
        self.project.models("""
            @dataclass
            class Poll:
                body: bytes
                id: Optional[int] = None
        """)
        with self.assertRaisesRegex(migrate.MigrateError, "--rename 'poll.text=poll.' must look like table.old=new"):
            migrate.Questioner(renames=["poll.text=poll."])
        for spelling in ("poll.text=poll.body", "POLL.text=poll.BODY"):  # as make asks it: the same answer
            same = migrate.Questioner(renames=["question=poll", spelling])
            self.assertEqual(self.project.make(questioner=same, write=False).operations[:2],
                             ("~ Rename table question to poll", "~ Rename column poll.text to body"))
        questioner = migrate.Questioner(renames=["question=poll", "poll.text=body"])
        result = self.project.make(questioner=questioner)
        self.assertEqual(result.operations[:2], ("~ Rename table question to poll",
                                                 "~ Rename column poll.text to body"))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT body FROM poll"), [("What?",)])

    def test_a_rename_answer_that_matches_nothing_is_refused_not_ignored(self):
        self.project.models("""
            @dataclass
            class Question:
                question_text: Optional[str] = None
                id: Optional[int] = None
        """)
        for typo in ("question.text=qtext", "questoin.text=question_text", "poll=question"):
            with self.subTest(rename=typo):
                questioner = migrate.Questioner(renames=[typo])
                with self.assertRaisesRegex(migrate.MigrateError, f"--rename {typo} matches no table or column"):
                    self.project.make(questioner=questioner)  # ignored, it would drop question.text and its data
                self.assertEqual(len(self.project.files()), 1, "nothing was written")

    def test_a_rename_answer_naming_a_foreign_key_by_its_field_names_the_columns_to_give(self):
        team = "@dataclass\nclass Team:\n    id: Optional[int] = None\n\n"
        self.project.evolve(team + "@dataclass\nclass Player:\n    team: Optional[Team] = None\n"
                                   "    id: Optional[int] = None\n")
        self.project.models(team + "@dataclass\nclass Player:\n    squad: Optional[Team] = None\n"
                                   "    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"--rename player.team=squad matches no table or column"
                                    r".*: a foreign key field is renamed by its columns: pass --rename "
                                    r"player.team_id=squad_id; nothing was written$"):
            self.project.make(questioner=migrate.Questioner(renames=["player.team=squad"]))
        self.project.make(questioner=migrate.Questioner(renames=["player.team_id=squad_id"]))

    def test_a_default_holding_a_section_marker_line_is_refused_not_written(self):
        self.project.models("""
            @dataclass
            class Question:
                text: str
                note: str = "first line\\n-- migrate:down\\nlast line"
                id: Optional[int] = None
        """)
        with self.assertRaisesRegex(migrate.MigrateError, "reads as a section marker.*nothing was written"):
            self.project.make()
        self.assertEqual(len(self.project.files()), 1)

    def test_a_default_or_name_with_a_newline_stays_inside_the_comments_that_describe_it(self):
        project = Project(self)
        project.models('@dataclass\nclass T:\n    id: int\n    c: str = "a\\nb"\n    d: int = 0\n')
        project.make()
        project.apply()
        project.execute("INSERT INTO t (id) VALUES (1)")
        project.models('@dataclass\nclass T:\n    id: int\n    c: int = 0\n')  # a rebuild; d dropped
        result = project.make()
        self.assertIn("-- Rebuild t: column c changed (type TEXT -> INTEGER, default 'a\\nb' -> 0).\n", result.text)
        project.apply()
        self.assertEqual(project.query("SELECT id, c FROM t"), [(1, "a\nb")])
        project.revert()
        self.assertEqual(project.query("SELECT id, c, d FROM t"), [(1, "a\nb", 0)])

    def test_names_differing_beyond_ascii_case_are_different_names_as_in_sqlite(self):
        self.project.evolve("""
            @dataclass
            class Question:
                text: str
                strasse: Optional[str] = None
                Ünï: Optional[int] = None
                id: Optional[int] = None
        """)
        result = self.project.evolve("""
            @dataclass
            class Question:
                text: str
                straße: Optional[str] = None
                Ünï: Optional[int] = None
                ünï: Optional[int] = None
                id: Optional[int] = None
        """)
        self.assertEqual(sorted(result.operations), ["+ Add column question.straße", "+ Add column question.ünï",
                                                     "- Drop column question.strasse"])
        self.project.execute("INSERT INTO question (text, straße, Ünï, ünï) VALUES ('x', 'y', 1, 2)")
        self.assertEqual(self.project.make(write=False).operations, ())

    def test_indexes_no_model_can_declare_are_kept_and_plain_ones_follow_the_models(self):
        self.project.write_migration("0002_indexes", """\
            -- migrate:up
            CREATE INDEX question_lower ON question (lower(text));
            CREATE INDEX question_recent ON question (id) WHERE id > 100;
            CREATE INDEX question_desc ON question (text DESC);
            CREATE INDEX question_nocase ON question (text COLLATE NOCASE);
            CREATE INDEX question_plain ON question ("text");
            -- migrate:down
            """)
        self.project.apply()
        self.assertEqual(self.project.make(write=False).operations, ("- Drop index question_plain",))
        problems = migrate.check(self.project.db, models=self.project.models_path, directory=self.project.directory)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("index question_plain on question: in", problems[0])

    def test_a_table_named_like_a_virtual_tables_shadow_is_still_a_table(self):
        self.project.write_migration("0002_search", "-- migrate:up\nCREATE VIRTUAL TABLE search USING fts5(text);\n"
                                     "CREATE VIRTUAL TABLE box USING rtree(id, x0, x1);\n-- migrate:down\n")
        self.project.apply()
        result = self.project.evolve("""
            @dataclass
            class Question:
                text: str
                id: Optional[int] = None

            @dataclass
            class SearchHistory:
                query: str
                id: Optional[int] = None
        """)
        self.assertEqual(result.operations, ("+ Create table search_history",))
        with closing(self.project.connect()) as conn:
            tables = migrate.read_schema(conn).tables
        self.assertEqual(sorted(t.name for t in tables), ["question", "search_history"])  # no shadows

    def test_a_default_for_no_column_one_unchanged_or_one_its_own_default_overrides_is_refused(self):
        self.project.apply()
        self.project.models("""
            @dataclass
            class Question:
                text: str
                status: str = "new"
                note: Optional[str] = None
                id: Optional[int] = None
        """)
        for defaults, fragment in ((({"question.note": "'n'"}, "--default question.note='n' is not used: the new "
                                     "column is nullable, so existing rows get NULL")),
                                   ({"question.status": "'legacy'"}, "--default question.status='legacy' is not "
                                    "used: the column has its own default ('new'), which existing rows get"),
                                   ({"question.stauts": "'x'"}, "--default question.stauts='x' names no column"),
                                   ({"question.text": "'t'"}, "--default question.text='t' is not used: no rows of "
                                    "that column need a value in this migration (it neither becomes NOT NULL")):
            with self.subTest(defaults), self.assertRaisesRegex(migrate.MigrateError, re.escape(fragment)):
                self.project.make(questioner=migrate.Questioner(defaults=defaults))
        dropping = Project(self)  # the down brings a dropped column back with its own default
        dropping.models("@dataclass\nclass T:\n    s: str = 'new'\n    id: Optional[int] = None\n")
        dropping.make()
        dropping.models("@dataclass\nclass T:\n    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "--default t.s='x' is not used: the column has its own default ('new'), which its rows get back "
                "when the migration is reverted")):
            dropping.make(questioner=migrate.Questioner(defaults={"t.s": "'x'"}))
        self.assertEqual(dropping.files(), ["0001_initial.sql"])
        dotted = Project(self)  # a table whose name holds a dot is still found
        dotted.write_migration("0001_t", '-- migrate:up\nCREATE TABLE "a.b" (id INTEGER PRIMARY KEY);\n'
                               '-- migrate:down\nDROP TABLE "a.b";\n')
        dotted.models("@dataclass\nclass T:\n    __tablename__ = 'a.b'\n    c: str\n    id: Optional[int] = None\n")
        self.assertEqual(dotted.make(write=False, questioner=migrate.Questioner(defaults={"a.b.c": "''"})).operations,
                         ("+ Add column a.b.c",))
        self.assertEqual(self.project.files(), ["0001_initial.sql"])
        keyed = Project(self)  # a foreign key's field named instead of its column
        keyed.models("@dataclass\nclass Team:\n    id: Optional[int] = None\n@dataclass\nclass Q:\n    text: str\n")
        keyed.make()
        keyed.models("@dataclass\nclass Team:\n    id: Optional[int] = None\n@dataclass\nclass Q:\n    text: str\n"
                     "    team: Team\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "pass --default q.team_id=SQL (a one-off value for existing rows)") + ".*" + re.escape(
                "(--default q.team names the field: its column is team_id.)")):
            keyed.make(questioner=migrate.Questioner(defaults={"q.team": "1"}))
        keyed.models("@dataclass\nclass Team:\n    id: Optional[int] = None\n@dataclass\nclass Q:\n    text: str\n"
                     "    team: Optional[Team] = None\n")
        keyed.make()
        keyed.models("@dataclass\nclass Team:\n    id: Optional[int] = None\n@dataclass\nclass Q:\n    text: str\n"
                     "    squad: Team\n")  # renamed, and required: the missing value is found first
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "nothing was written. --rename q.team=squad names the field: pass --rename q.team_id=squad_id to "
                "rename its column.") + "$"):
            keyed.make(questioner=migrate.Questioner(renames=["q.team=squad"]))
        keyed.models("@dataclass\nclass Team:\n    id: Optional[int] = None\n@dataclass\nclass Q:\n    text: str\n"
                     "    squad: str\n    score: int\n")  # no longer a foreign key; and another new column
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "--rename q.team=squad names the field: pass --rename q.team_id=squad to rename its column.")):
            keyed.make(questioner=migrate.Questioner(renames=["q.team=squad"], defaults={"q.score": "0"}))
        with self.assertRaises(migrate.MigrateError) as caught:  # the hint is of squad's error, not score's
            keyed.make(questioner=migrate.Questioner(renames=["q.team=squad"], defaults={"q.squad": "''"}))
        self.assertNotIn("names the field", str(caught.exception))

    def test_a_down_value_for_a_column_dropped_from_a_renamed_table_takes_the_new_table_name(self):
        self.project.models("@dataclass\nclass Post:\n    title: str\n    body: str\n    id: Optional[int] = None\n")
        self.project.make()
        self.project.models("@dataclass\nclass Article:\n    title: str\n    id: Optional[int] = None\n")
        renames = ["post=article"]
        result = self.project.make(write=False, questioner=migrate.Questioner(renames=renames,
                                                                               defaults={"article.body": "'x'"}))
        self.assertIn('SELECT "title", \'x\', "id" FROM "article"', "\n".join(result.down))
        with self.assertRaisesRegex(migrate.MigrateError, r"--default post.body='x': the table is renamed in this "
                                                          r"migration: name it by its new name, article.body"):
            self.project.make(write=False, questioner=migrate.Questioner(renames=renames,
                                                                         defaults={"post.body": "'x'"}))

    def test_a_one_off_value_that_is_no_sql_value_for_the_rows_or_null_is_refused(self):
        with_author = "@dataclass\nclass Question:\n    text: str\n    author: str\n    id: Optional[int] = None\n"
        self.project.models(with_author)
        for value, fragment in (("anonymous", "the one-off value question.author=anonymous fails on a copy of the "
                                              "schema as the migration leaves it (no such column: anonymous): quote "
                                              "text (--default question.author=\"'anonymous'\")"),
                                ("NULL", "the one-off value for question.author is NULL"),
                                ("(NULL)", "question.author=(NULL) is NULL, which does not fill a NOT NULL column"),
                                ("CAST(NULL AS TEXT)", "AS TEXT) is NULL"), ("coalesce(NULL, nullif(1, 1))", "is NULL"),
                                ("(SELECT NULL)", "is NULL"), ("text || NULL", "is NULL"),  # (NULL in every row)
                                ("question.text + NULL", "is NULL"),
                                ("max(text)", "is an aggregate, which would copy one row of the whole table"),
                                ("'x", "question.author='x leaves a quote (') open"), ("'a' --", "holds a comment"),
                                ("1; DROP TABLE question", "question.author=1; DROP TABLE question holds a `;`"),
                                ("'a') , (1", "question.author='a') , (1 closes a parenthesis it did not open")):
            with self.subTest(value), self.assertRaisesRegex(migrate.MigrateError, re.escape(fragment)):
                self.project.make(questioner=migrate.Questioner(defaults={"question.author": value}))
        for value in ("(SELECT max(text) FROM question)", "coalesce(text, 'none')", "'x' || NULL IS NULL",
                      "nullif(text, '')", "CASE text WHEN 'yes' THEN 'a' END", "iif(text LIKE '%@%', text, NULL)",
                      "100 / (length(text) - id)"):
            # (NULL for some rows only, or maybe: apply says so if a row gets one)
            self.project.make(write=False, questioner=migrate.Questioner(  # a subquery is one value per row
                defaults={"question.author": value}))
        self.project.models("@dataclass\nclass Question:\n    id: Optional[int] = None\n")  # text dropped
        with self.assertRaisesRegex(migrate.MigrateError, re.escape("question.text=max(id) (for the down section) "
                                                                    "is an aggregate")):
            self.project.make(write=False, questioner=migrate.Questioner(defaults={"question.text": "max(id)"}))
        self.project.models(with_author.replace("author: str", "author: str\n    rank: int"))
        with self.assertRaises(migrate.MigrateError) as caught:  # the one that fails, not every one
            self.project.make(questioner=migrate.Questioner(defaults={"question.author": "'a'",
                                                                      "question.rank": "(SELECT 1 FROM nosuch)"}))
        self.assertTrue(str(caught.exception).startswith("the one-off value question.rank=(SELECT 1 FROM nosuch) "
                                                         "fails"), caught.exception)
        self.project.models(with_author)
        result = self.project.make(questioner=migrate.Questioner(defaults={"question.author": "text || '?'"}))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT author FROM question"), [("What??",)])

    def test_a_one_off_value_that_fails_at_the_prompt_is_asked_for_again(self):
        self.project.models("@dataclass\nclass Question:\n    text: str\n    author: str\n"
                            "    id: Optional[int] = None\n\n@dataclass\nclass Person:\n    name: str\n"
                            "    id: Optional[int] = None\n")
        asked, answers = [], iter(["anonymous", "NULL", "max(text)", "'x", "coalesce((SELECT max(name) FROM person), "
                                                                           "'x') || text"])
        answer = lambda question: asked.append(question) or next(answers)
        self.assertEqual(self.project.make(questioner=migrate.Questioner(prompt=answer)).operations,
                         ("+ Create table person", "+ Add column question.author"))
        self.assertEqual(asked[1:], [  # (a subquery of another table is tried later, against the whole schema)
            "That value fails on a copy of the schema as the migration leaves it (no such column: anonymous): quote "
            "text, as 'anonymous'.\nEnter a one-off SQL value for question.author, or leave empty to stop: ",
            "That value is NULL, which does not fill a NOT NULL column: give a value, or make the field Optional.\n"
            "Enter a one-off SQL value for question.author, or leave empty to stop: ",
            "That value is an aggregate, which would copy one row of the whole table: give a per-row value, or wrap "
            "it in a subquery.\nEnter a one-off SQL value for question.author, or leave empty to stop: ",
            "That value leaves a quote (') open: give one expression.\n"
            "Enter a one-off SQL value for question.author, or leave empty to stop: "])
        self.project.apply()
        self.assertEqual(self.project.query("SELECT author FROM question"), [("xWhat?",)])
        self.project.models("@dataclass\nclass Question:\n    text: str\n    author: str\n    n: int\n"
                            "    id: Optional[int] = None\n\n@dataclass\nclass Person:\n    name: str\n"
                            "    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "no usable one-off value for question.n in 5 answers (the last, 'nope', fails on a copy of the schema "
                "as the migration leaves it (no such column: nope)): pass --default question.n=SQL; nothing was "
                "written")):  # a caller's prompt that never gives a usable value: no endless questions
            self.project.make(questioner=migrate.Questioner(prompt=lambda question: "nope"))
        self.assertEqual(len(self.project.files()), 2)

    def test_a_one_off_value_that_fails_only_in_the_copy_of_the_rows_is_one_error(self):
        project = Project(self)  # the probe's copy of a WITHOUT ROWID table has a rowid; the table has none
        project.models("@dataclass\nclass T:\n    __without_rowid__ = True\n    id: int\n    c: Optional[str] = None\n")
        project.make()
        project.models("@dataclass\nclass T:\n    __without_rowid__ = True\n    id: int\n    c: str\n")
        result = project.cli("make", "--no-input", "--default", "t.c='v' || rowid")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, "error: the one-off value t.c='v' || rowid fails in the copy of the rows "
                                        "(no such column: rowid): fix the expression; nothing was written\n")
        asked, answers = [], iter(["'v' || rowid", "'v' || id"])  # at the question: asked again
        project.make(questioner=migrate.Questioner(prompt=lambda question: asked.append(question) or next(answers)))
        self.assertIn("(no such column: rowid)", asked[1])

    def test_a_one_off_value_is_tried_against_every_table_a_subquery_may_read(self):
        project = Project(self)
        project.models("@dataclass\nclass Author:\n    name: str\n    id: Optional[int] = None\n\n"
                       "@dataclass\nclass Book:\n    title: str\n    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Author:\n    name: str\n    id: Optional[int] = None\n\n"
                       "@dataclass\nclass Book:\n    title: str\n    rank: int\n    id: Optional[int] = None\n")
        for value, fragment in (("count(*) + (SELECT count(*) FROM author)", "is an aggregate"),
                                ("(SELECT count(*) FROM authr)", "no such table: authr")):
            with self.subTest(value), self.assertRaisesRegex(migrate.MigrateError, re.escape(fragment)):
                project.make(write=False, questioner=migrate.Questioner(defaults={"book.rank": value}))
        for value in ("(SELECT count(*) FROM author)", "(SELECT count(*) FROM author WHERE author.id = book.id)"):
            self.assertEqual(project.make(write=False, questioner=migrate.Questioner(
                defaults={"book.rank": value})).operations, ("+ Add column book.rank",))
        project.models("@dataclass\nclass Author:\n    name: str\n    score: int = 0\n    id: Optional[int] = None\n\n"
                       "@dataclass\nclass Book:\n    title: str\n    rank: int\n    id: Optional[int] = None\n")
        project.make(questioner=migrate.Questioner(defaults={"book.rank": "(SELECT max(score) FROM author)"}))
        project.apply()  # a subquery sees the other tables as the migration leaves them
        project.execute("INSERT INTO author (name) VALUES ('Ann')", "INSERT INTO book (title, rank) VALUES ('B', 1)")
        project.models("@dataclass\nclass Author:\n    name: str\n    top: str\n    score: int = 0\n"
                       "    id: Optional[int] = None\n\n"
                       "@dataclass\nclass Book:\n    rank: int\n    id: Optional[int] = None\n")
        project.make(questioner=migrate.Questioner(defaults={  # a column moves: author is changed before book
            "author.top": "(SELECT title FROM book WHERE book.id = author.id)"}))
        project.apply()
        self.assertEqual(project.query("SELECT top FROM author"), [("B",)])

    def test_a_rebuild_that_would_lose_clauses_written_by_hand_or_a_revert_that_cannot_refill_warns(self):
        def models(child="C", note="", key="p: P", name="note"):
            self.project.models(f"""
                @dataclass
                class P:
                    name: str
                    id: Optional[int] = None
                @dataclass
                class {child}:
                    {key}
                    {name}: str = "{note}"
                    id: Optional[int] = None
            """)
        models()
        path = self.project.make().path
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:
            handle.write(text.replace('REFERENCES "p" ("id")', 'REFERENCES "p" ("id") MATCH FULL DEFERRABLE INITIALLY DEFERRED')
                         .replace('"note" TEXT NOT NULL', '"note" TEXT NOT NULL ON CONFLICT REPLACE'))
        models(note="-")
        result = self.project.make(write=False)
        self.assertIn("rebuilds c without its DEFERRABLE clause, MATCH clause, ON CONFLICT clause (written by hand in "
                      "an earlier migration", result.warnings[-1])
        self.assertIn("\n-- WARNING: rebuilds c without its DEFERRABLE clause", result.text)  # for whoever reads the file
        models(child="D", note="-")
        renamed = self.project.make(write=False, questioner=migrate.Questioner(renames=["c=d"]))
        self.assertIn("rebuilds c without its DEFERRABLE clause", " ".join(renamed.warnings))
        models(name="memo", note="-")
        renamed = self.project.make(write=False, questioner=migrate.Questioner(renames=["c.note=memo"]))
        self.assertIn("ON CONFLICT clause", " ".join(renamed.warnings))
        models(key="")
        warnings = self.project.make(write=False).warnings
        self.assertIn("reverting refills c.p_id with 0, which points at no p row", " ".join(warnings))
        given = self.project.make(write=False, questioner=migrate.Questioner(defaults={"c.p_id": "1"})).warnings
        self.assertNotIn("reverting refills", " ".join(given))

    def test_dropping_a_referenced_table_whose_key_column_stays_warns_that_a_revert_fails_on_set_keys(self):
        project = Project(self)
        parent = "@dataclass\nclass Team:\n    id: Optional[int] = None\n\n"
        project.evolve(parent + "@dataclass\nclass Player:\n    team: Optional[Team] = None\n"
                                "    id: Optional[int] = None\n")
        project.execute("INSERT INTO team (id) VALUES (1)", "INSERT INTO player (team_id) VALUES (1)")
        result = project.evolve("@dataclass\nclass Player:\n    team_id: Optional[int] = None\n"
                                "    id: Optional[int] = None\n")
        warning = ("reverting makes table team again without its rows, and the foreign key of player.team_id to "
                   "it: a revert fails while a player row has team_id set (set it to NULL first)")
        self.assertIn(warning, result.warnings)
        self.assertIn(f"-- WARNING: {warning}", project.read(result.name + ".sql"))
        with self.assertRaisesRegex(migrate.MigrateError, "FOREIGN KEY|foreign key"):
            project.revert()  # as warned
        project.execute("UPDATE player SET team_id = NULL")
        project.revert()

    def test_columns_named_like_those_clauses_are_no_lost_clauses(self):
        project = Project(self)
        project.write_migration("0001_t", '-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY REFERENCES t, '
                                'conflict TEXT, "match" TEXT, note TEXT, CHECK (note OR match IS NULL));\n'
                                '-- migrate:down\nDROP TABLE t;\n')
        project.models("""
            @dataclass
            class T:
                conflict: Optional[str] = None
                match: Optional[int] = None
                id: Optional[int] = None
        """)
        result = project.make(write=False)  # a rebuild: a type change, and note dropped
        self.assertEqual([w for w in result.warnings if "clause" in w], [], result.warnings)

    def test_unique_constraints_a_migration_wrote_stand_for_the_models_unique_indexes_on_those_columns(self):
        project = Project(self)  # as Django and SQLAlchemy write unique=True, one inline and one a table's
        project.write_migration("0001_initial", '-- migrate:up\nCREATE TABLE "account" ("id" integer NOT NULL '
                                'PRIMARY KEY, "name" varchar(30) NOT NULL UNIQUE, "first" text NOT NULL, "last" text '
                                'NOT NULL, "code" text NOT NULL, "tag" text NOT NULL, CONSTRAINT "full_name" UNIQUE '
                                '("first", "last"), UNIQUE (code) ON CONFLICT REPLACE, UNIQUE (tag COLLATE NOCASE));\n')
        project.apply()
        project.execute("INSERT INTO account VALUES (1, 'ann', 'A', 'B', 'c', 't')")
        fields = ("    id: int\n    name: str = field(metadata={'sql_type': 'varchar(30)', 'unique': True})\n"
                  "    first: str\n    last: str\n    code: str\n    tag: str\n")
        project.models(f"@dataclass\nclass Account:\n{fields}    __unique__ = [('first', 'last')]\n")
        result = project.make(write=False)  # the plain ones stand, and one with ON CONFLICT; COLLATE says more
        self.assertEqual(result.operations, ("~ Change unique constraints of account",), result.text)
        self.assertIn('UNIQUE ("first", "last"),\n    UNIQUE ("name")\n)', result.up[0])
        project.models(f"@dataclass\nclass Account:\n{fields}    __unique__ = [('first', 'last'), 'code', 'tag']\n")
        made = project.make()  # (the constraint it cannot keep becomes an index, with the table rebuilt once)
        self.assertIn('UNIQUE ("code") ON CONFLICT REPLACE', made.up[0])  # kept as the migration wrote it
        project.apply()
        project.execute("INSERT INTO account VALUES (5, 'eve', 'E', 'F', 'c', 'w')")  # still replaces row 1
        self.assertEqual(project.query("SELECT id FROM account"), [(5,)])
        project.execute("INSERT INTO account VALUES (1, 'ann', 'A', 'B', 'c', 't')")
        self.assertEqual(project.make(write=False).operations, ())
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])
        self.assertEqual(project.query("SELECT * FROM account"), [(1, "ann", "A", "B", "c", "t")])
        for duplicate in ("(2, 'ann', 'x', 'y', 'd', 'u')", "(3, 'bob', 'A', 'B', 'e', 'v')"):
            with self.assertRaisesRegex(sqlite3.IntegrityError, "UNIQUE constraint failed", msg=duplicate):
                project.execute(f"INSERT INTO account VALUES {duplicate}")
        not_unique = fields.replace(", 'unique': True", "")
        project.models(f"@dataclass\nclass Account:\n{not_unique}"
                       "    __unique__ = {'full_name': ('first', 'last')}\n")  # a name of its own: an index
        result = project.make()
        self.assertEqual(result.operations, ("~ Change unique constraints of account",
                                             "- Drop index account_tag_uniq",
                                             "+ Create unique index full_name on account"))
        project.apply()
        project.execute("INSERT INTO account VALUES (2, 'ann', 'x', 'y', 'd', 'u')")  # name: unique no more
        self.assertNotIn("UNIQUE (", project.schema_sql()[0][2])
        self.assertEqual(project.make(write=False).operations, ())

    def test_a_rebuild_keeps_the_names_the_migrations_gave_check_and_unique_constraints(self):
        project = Project(self)  # as Alembic's naming convention and Django's constraints name them
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE post (id INTEGER PRIMARY KEY, "
                                "title VARCHAR(200) NOT NULL, price NUMERIC NOT NULL, "
                                "n INTEGER CONSTRAINT 'n is positive' CHECK (n > 0) CONSTRAINT uq_n UNIQUE, "
                                "CONSTRAINT ck_post_price CHECK (price >= 0), CONSTRAINT \"uq title\" UNIQUE (title), "
                                "CONSTRAINT legacy CHECK (price >= 0));\n"
                                "-- migrate:down\nDROP TABLE post;\n")
        project.apply()
        model = ("@dataclass\nclass Post:\n    __checks__ = ['price >= 0', 'price >= 0']\n"
                 "    price: int = field(metadata={{'sql_type': 'NUMERIC'}})\n"
                 "    title: str = field(metadata={{'sql_type': '{}', 'unique': True}})\n"
                 "    n: Optional[int] = field(default=None, metadata={{'check': 'n > 0', 'unique': True}})\n"
                 "    id: Optional[int] = None\n")
        project.models(model.format("VARCHAR(200)"))
        self.assertEqual(project.make(write=False).operations, ())
        project.models(model.format("VARCHAR(300)"))
        made = project.make()  # a rebuild for the type
        for named in ('"n" INTEGER CONSTRAINT "n is positive" CHECK (n > 0)',
                      'CONSTRAINT "ck_post_price" CHECK (price >= 0),\n    CONSTRAINT "legacy" CHECK (price >= 0)',
                      'CONSTRAINT "uq title" UNIQUE ("title")',
                      'CONSTRAINT "uq_n" UNIQUE ("n")'):  # (a column's UNIQUE written as the table's, as a model does)
            self.assertIn(named, made.up[0])
        project.apply()
        with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: ck_post_price"):
            project.execute("INSERT INTO post (title, price) VALUES ('a', -1)")  # as the application knew it
        with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: n is positive"):
            project.execute("INSERT INTO post (title, price, n) VALUES ('a', 1, 0)")
        self.assertEqual(project.make(write=False).operations, ())
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])

    def test_a_name_before_other_constraints_of_a_column_names_its_check_and_a_check_may_move_to_a_field(self):
        project = Project(self)
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE item (id INTEGER PRIMARY KEY, "
                                "price INTEGER CONSTRAINT ck_price NOT NULL DEFAULT 0 CHECK (price >= 0), qty INTEGER "
                                "NOT NULL DEFAULT 0, CONSTRAINT ck_qty CHECK (qty < 100));\n")
        project.apply()
        model = ("@dataclass\nclass Item:\n    price: int = field(default=0, metadata={{'check': 'price >= 0'}})\n"
                 "    qty: int = field(default={}, metadata={{'check': 'qty < 100'}})\n    id: Optional[int] = None\n")
        project.models(model.format(1))  # qty's check moved from the table to the field, and a new default
        made = project.make()
        self.assertIn('"price" INTEGER NOT NULL DEFAULT 0 CONSTRAINT "ck_price" CHECK (price >= 0)', made.up[0])
        self.assertIn('"qty" INTEGER NOT NULL DEFAULT 1 CONSTRAINT "ck_qty" CHECK (qty < 100)', made.up[0])
        self.assertEqual([w for w in made.warnings if "CHECK" in w], [])  # (it moved: nothing is left out)
        project.apply()
        with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: ck_qty"):
            project.execute("INSERT INTO item (qty) VALUES (100)")

    def test_the_last_columns_constraint_name_holds_for_the_first_table_constraint_as_sqlite_reads_it(self):
        project = Project(self)
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, "
                                "b INTEGER CONSTRAINT ck_b CHECK (b > 0), CHECK (a > 0));\n")  # (a's check: ck_b too)
        project.apply()
        model = ("@dataclass\nclass T:\n    __checks__ = ['a > 0'{}]\n    a: Optional[{}] = None\n"
                 "    b: Optional[int] = field(default=None, metadata={{'check': 'b > 0'}})\n"
                 "    id: Optional[int] = None\n")
        project.models(model.format("", "str"))  # a rebuild for a's type
        self.assertIn('"b" INTEGER CONSTRAINT "ck_b" CHECK (b > 0),\n    CONSTRAINT "ck_b" CHECK (a > 0)',
                      project.make().up[0])
        project.apply()
        for values in ("(-1, 1)", "(1, -1)"):
            with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: ck_b$", msg=values):
                project.execute(f"INSERT INTO t (a, b) VALUES {values}")
        project.models(model.format(", \"a != 'x'\"", "str"))  # a new unnamed check: the column's name must not name it
        project.make()
        project.apply()
        with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: a != 'x'$"):
            project.execute("INSERT INTO t (a, b) VALUES ('x', 1)")
        self.assertEqual(project.make(write=False).operations, ())
        other = Project(self)  # a table CHECK after a last column that has a name, where none was
        other.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, "
                              "b INTEGER CONSTRAINT ck_b CHECK (b > 0));\n")
        other.apply()
        other.models(model.format("", "int"))
        other.make()
        other.apply()
        with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed: a > 0$"):
            other.execute("INSERT INTO t (a, b) VALUES (-1, 1)")  # (b's check goes without its name, then)
        self.assertEqual(other.make(write=False).operations, ())
        third = Project(self)  # a named table constraint can go first: then the column keeps its name
        third.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, "
                              "b INTEGER CONSTRAINT ck_b CHECK (b > 0), CONSTRAINT ck_a CHECK (a > 0));\n")
        third.apply()
        third.models(model.format("", "int").replace("['a > 0']", "['a != 5', 'a > 0']"))
        third.make()
        third.apply()
        for values, name in (("(1, -1)", "ck_b"), ("(-1, 1)", "ck_a"), ("(5, 1)", "a != 5")):
            with self.assertRaisesRegex(sqlite3.IntegrityError, f"CHECK constraint failed: {name}$"):
                third.execute(f"INSERT INTO t (a, b) VALUES {values}")
        self.assertEqual(third.make(write=False).operations, ())

    def test_a_columns_unique_on_conflict_is_kept_through_a_rebuild_without_a_warning(self):
        project = Project(self)  # as SQLAlchemy writes sqlite_on_conflict_unique
        project.write_migration("0001_initial", "-- migrate:up\nCREATE TABLE item (id INTEGER PRIMARY KEY, "
                                "sku TEXT UNIQUE ON CONFLICT IGNORE, n INTEGER);\n")
        project.apply()
        model = ("@dataclass\nclass Item:\n    sku: Optional[str] = field(default=None, metadata={{'unique': True}})\n"
                 "    n: Optional[{}] = None\n    id: Optional[int] = None\n")
        project.models(model.format("int"))
        self.assertEqual(project.make(write=False).operations, ())
        project.models(model.format("str"))
        made = project.make()  # a rebuild for the type of n
        self.assertIn('UNIQUE ("sku") ON CONFLICT IGNORE', made.up[0])
        self.assertEqual([w for w in made.warnings if "ON CONFLICT" in w], [])
        project.apply()
        project.execute("INSERT INTO item (sku) VALUES ('a')", "INSERT INTO item (sku) VALUES ('a')")  # ignored
        self.assertEqual(project.query("SELECT count(*) FROM item"), [(1,)])
        project.write_migration("0003_keyed", "-- migrate:up\nCREATE TABLE pair (a INTEGER NOT NULL, "
                                "b INTEGER NOT NULL, sku TEXT UNIQUE ON CONFLICT IGNORE, n INTEGER, "
                                "PRIMARY KEY (a, b) ON CONFLICT REPLACE);\n-- migrate:down\nDROP TABLE pair;\n")
        project.apply()
        pair = ("@dataclass\nclass Pair:\n    a: int = field(metadata={{'primary_key': True}})\n"
                "    b: int = field(metadata={{'primary_key': True}})\n"
                "    sku: Optional[str] = field(default=None, metadata={{'unique': True}})\n"
                "    n: Optional[{}] = None\n")
        project.models(model.format("str") + pair.format("str"))
        lost = project.make(write=False)  # a rebuild for n's type: it cannot write the key's clause
        self.assertEqual([w for w in lost.warnings if "ON CONFLICT" in w], [  # (sku's, kept, hid it)
            "rebuilds pair without its ON CONFLICT clause (written by hand in an earlier migration; models cannot "
            "express it): add it back to this migration's CREATE TABLE"])
        os.remove(os.path.join(project.directory, "0003_keyed.sql"))
        project.revert()
        project.models(model.format("str").replace(", metadata={'unique': True}", ""))
        dropped = project.make(write=False)  # the UNIQUE dropped on purpose: its clause goes with it, unwarned
        self.assertEqual(dropped.operations, ("~ Change unique constraints of item",))
        self.assertEqual([w for w in dropped.warnings if "ON CONFLICT" in w], [])

    def test_read_schema_sees_each_change_to_a_tables_indexes_in_one_process(self):
        # read_schema remembers tables by their SQL and their indexes': prove the key is complete
        conn = sqlite3.connect(":memory:")
        self.addCleanup(conn.close)
        conn.execute("CREATE TABLE t (a, b UNIQUE)")
        seen = []
        for change in ("", "CREATE INDEX t_a ON t (a)", "DROP INDEX t_a", "CREATE UNIQUE INDEX t_a ON t (a)",
                       "DROP INDEX t_a", "CREATE INDEX t_a ON t (a) WHERE a > 0", "ALTER TABLE t ADD COLUMN c"):
            if change:
                conn.execute(change)
            table = migrate.read_schema(conn).table("t")
            seen.append(([c.name for c in table.columns], [(i.name, i.unique, i.sql) for i in table.indexes]))
        conn.execute("CREATE TEMP TABLE t (other)")  # shadows main.t for unqualified PRAGMAs
        self.assertEqual([c.name for c in migrate.read_schema(conn).table("t").columns], ["a", "b", "c"])
        self.assertEqual(seen, [
            (["a", "b"], []),
            (["a", "b"], [("t_a", False, "CREATE INDEX t_a ON t (a)")]),
            (["a", "b"], []),
            (["a", "b"], [("t_a", True, "CREATE UNIQUE INDEX t_a ON t (a)")]),
            (["a", "b"], []),
            (["a", "b"], [("t_a", False, "CREATE INDEX t_a ON t (a) WHERE a > 0")]),
            (["a", "b", "c"], [("t_a", False, "CREATE INDEX t_a ON t (a) WHERE a > 0")]),
        ])

    def test_a_key_column_made_required_asks_for_a_value_per_row(self):
        project = Project(self)  # a hand-written table whose TEXT key holds NULLs, as SQLite allows
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (code TEXT PRIMARY KEY, v TEXT);\n"
                                "-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.execute("INSERT INTO t VALUES (NULL, 'a'), (NULL, 'b'), ('x', 'c')")
        project.models("@dataclass\nclass T:\n    code: str = field(metadata={'primary_key': True})\n"
                       "    v: Optional[str] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "t.code becomes NOT NULL without a default and is part of the primary key: pass --default "
                "t.code=SQL giving each existing row its own value, like --default \"t.code='k' || rowid\"")):
            project.make()
        result = project.make(questioner=migrate.Questioner(defaults={"t.code": "'k' || rowid"}))
        warning = "reverting keeps 'k' || rowid in the rows of t.code that held NULL (nothing tells them apart)"
        self.assertIn(warning, result.warnings)
        self.assertIn(f"-- WARNING: {warning}", project.read(os.path.basename(result.path)))
        project.apply()
        self.assertEqual(project.query("SELECT code, v FROM t ORDER BY v"), [("k1", "a"), ("k2", "b"), ("x", "c")])
        keyed = Project(self)  # a key column added to a WITHOUT ROWID table: no rowid to suggest
        model = "@dataclass\nclass T:\n    __without_rowid__ = True\n    a: str = field(metadata={'primary_key': True})\n"
        keyed.models(model)
        keyed.make()
        keyed.models(model + "    b: str = field(metadata={'primary_key': True})\n")
        with self.assertRaisesRegex(migrate.MigrateError, re.escape(
                "t.b is a new NOT NULL column without a default and is part of the primary key: pass --default "
                "t.b=SQL that keeps every row's key unique (with the rest of the key); nothing was written")):
            keyed.make()

    def test_a_key_becoming_the_rowid_and_autoincrement_dropped_are_warned_about(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INT PRIMARY KEY, n TEXT NOT NULL);\n"
                                "CREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT);\n"
                                "-- migrate:down\nDROP TABLE u;\nDROP TABLE t;\n")
        project.models("@dataclass\nclass T:\n    n: str\n    id: Optional[int] = None\n"
                       "@dataclass\nclass U:\n    id: Optional[int] = None\n")
        result = project.make(write=False)
        self.assertIn("t.id becomes the rowid: each row's rowid becomes its id, rows where it is NULL get a number "
                      "SQLite picks (an FTS index or anything else that kept the old rowids no longer matches)",
                      result.warnings)
        project.models("@dataclass\nclass T:\n    n: str\n    id: int = 0\n"
                       "@dataclass\nclass U:\n    id: Optional[int] = None\n")
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, n TEXT "
                                "NOT NULL);\nCREATE TABLE u (id INTEGER PRIMARY KEY AUTOINCREMENT);\n"
                                "-- migrate:down\nDROP TABLE u;\nDROP TABLE t;\n")
        self.assertIn("t.id becomes the rowid: each row's rowid becomes its id (an FTS index or anything else that "
                      "kept the old rowids no longer matches)", project.make(write=False).warnings)
        keyed = Project(self)  # a WITHOUT ROWID table had no rowids to keep
        keyed.models("@dataclass\nclass T:\n    id: int\n    __without_rowid__ = True\n")
        keyed.make()
        keyed.models("@dataclass\nclass T:\n    id: int\n")
        self.assertEqual(keyed.make(write=False).warnings, ())
        coded = Project(self)  # but a nullable column that becomes its key still has NULLs to number
        coded.models("@dataclass\nclass T:\n    code: str = field(metadata={'primary_key': True})\n"
                     "    id: Optional[int] = None\n    __without_rowid__ = True\n")
        coded.make()
        coded.models("@dataclass\nclass T:\n    code: str\n    id: Optional[int] = None\n")
        self.assertIn("t.id becomes the rowid: rows where it is NULL get a number SQLite picks",
                      coded.make(write=False).warnings)
        self.assertIn("reverting brings back AUTOINCREMENT on u with its counter at the largest id: ids of rows "
                      "deleted meanwhile may be given again", result.warnings)

    def test_a_text_key_that_becomes_the_rowid_is_warned_of_and_a_key_that_is_no_integer_named_by_apply(self):
        project = Project(self)
        project.models("@dataclass\nclass Team:\n    name: str\n    id: str = field(metadata={'primary_key': True})\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO team VALUES ('a', '10'), ('b', 'x')")
        project.models("@dataclass\nclass Team:\n    name: str\n    id: Optional[int] = None\n")
        result = project.make()
        self.assertIn("narrows team.id from TEXT to INTEGER: values may change (it becomes the rowid, which holds "
                      "integers only: a value that is not an integer, text such as 'x' or 1.5, fails apply; each row's "
                      "rowid becomes its id)", result.warnings)
        with self.assertRaisesRegex(migrate.MigrateError, r"datatype mismatch in statement: .* \(team.id is the rowid, "
                                    "INTEGER PRIMARY KEY, which holds integers only, and some row's id is not an "
                                    "integer, such as text 'x' or 1.5: change or delete those rows first\\); it was "
                                    "rolled back"):
            project.apply()
        project.execute("DELETE FROM team WHERE id = 'x'")
        project.apply()
        self.assertEqual(project.query("SELECT rowid, id, name FROM team"), [(10, 10, "a")])

    def test_a_table_becoming_without_rowid_or_ceasing_to_be_warns_that_its_rowids_go(self):
        project = Project(self)
        keyed = ("@dataclass\nclass T:\n    a: int = field(metadata={'primary_key': True})\n"
                 "    b: int = field(default=0, metadata={'primary_key': True})\n")  # (no rowid alias: a key of two)
        project.models(keyed)
        project.make()
        project.models(keyed + "    __without_rowid__ = True\n")
        result = project.make()
        dropped = ("t becomes WITHOUT ROWID: its rows' rowids are dropped (an FTS index or anything else that kept "
                   "them no longer matches)")
        renumbered = ("t stops being WITHOUT ROWID: its rows get new rowids, numbered in primary key order (an FTS "
                      "index or anything else that kept them no longer matches)")
        self.assertIn(dropped, result.warnings)
        self.assertIn(f"-- WARNING: {dropped}", result.text)
        self.assertIn(f"-- WARNING: {renumbered}", result.text)  # in the down section: said when it is reverted
        project.apply()
        self.assertIn(renumbered, project.revert()[0].warnings)

    def test_new_not_null_column_takes_a_one_off_value_and_keeps_no_default(self):
        self.project.models("""
            @dataclass
            class Question:
                text: str
                author: str
                id: Optional[int] = None
        """)
        with self.assertRaisesRegex(migrate.MigrateError, "--default question.author=SQL"):
            self.project.make()
        self.assertEqual(self.project.files(), ["0001_initial.sql"])
        result = self.project.make(questioner=migrate.Questioner(defaults={"question.author": "'anon'"}))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT author FROM question"), [("anon",)])
        conn = self.project.connect()
        self.addCleanup(conn.close)
        self.assertIsNone(migrate.read_schema(conn).table("question").column("author").default)
        self.assertEqual(self.project.make().operations, ())
        self.project.revert()
        self.assertIn("author", result.operations[0])

    def test_a_foreign_key_to_an_unmanaged_model_needs_the_key_in_the_table_the_migrations_build(self):
        self.project.write_migration("0002_by_hand", "-- migrate:up\nCREATE TABLE peach (code TEXT PRIMARY KEY);\n")
        peach = """
            @dataclass
            class Question:
                text: str
                id: Optional[int] = None
            @dataclass
            class Peach:
                __managed__ = False
                %s
            @dataclass
            class Grape:
                peach: Optional[Peach] = None
                id: Optional[int] = None
        """
        self.project.models(peach % "id: Optional[int] = None")  # not what 0002 makes
        with self.assertRaises(migrate.MigrateError) as caught:
            self.project.make()
        self.assertEqual(str(caught.exception), 'model Grape: field peach_id -> peach(id) points at the table of '
                         'unmanaged model Peach, which the migrations build without that primary key or UNIQUE key '
                         '(foreign key mismatch - "grape" referencing "peach"): make that model match its table in '
                         'the migrations, or reference a key the table has; nothing was written')
        self.assertEqual(self.project.files(), ["0001_initial.sql", "0002_by_hand.sql"])
        self.project.models(peach % 'code: str = field(metadata={"primary_key": True})')
        self.assertIn('REFERENCES "peach" ("code")', self.project.make().text)

    def test_unmanaged_views_triggers_and_virtual_tables_are_never_touched(self):
        self.project.write_migration("0002_by_hand", """\
            -- migrate:up
            CREATE TABLE legacy (x);
            CREATE VIEW recent AS SELECT * FROM question;
            CREATE TRIGGER question_touch AFTER UPDATE ON question BEGIN SELECT 1; END;
            CREATE VIRTUAL TABLE search USING fts5(body);
            CREATE TABLE stray (y);
            CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
            CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB);
            -- migrate:down
            """)
        self.project.apply()
        self.project.models("""
            @dataclass
            class Question:
                text: str
                id: Optional[int] = None
            @dataclass
            class Legacy:
                __managed__ = False
                x: int
        """)
        result = self.project.make(write=False)
        self.assertEqual(result.operations, ("- Drop table stray",))
        self.assertNotIn("search", result.text)
        self.assertNotIn("legacy", result.text)
        self.assertNotIn("_litestream", result.text)
        self.assertNotIn("_cf_", result.text)


class RenameQuestions(unittest.TestCase):
    def test_a_table_or_column_taken_by_one_rename_is_not_offered_to_another(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    x: int = 0\n@dataclass\nclass B:\n    x: int = 0\n"
                       "@dataclass\nclass T:\n    p: int = 0\n    q: int = 0\n")
        project.make()
        project.models("@dataclass\nclass C:\n    x: int = 0\n@dataclass\nclass T:\n    r: int = 0\n")
        asked = []
        result = project.make(write=False, questioner=migrate.Questioner(
            prompt=lambda question: asked.append(question) or "y"))
        sql = "\n".join(result.up)
        self.assertEqual(len(asked), 2, asked)  # a -> c? p -> r? and nothing more about c or r
        self.assertEqual(sql.count("RENAME TO"), 1, sql)
        self.assertEqual(sql.count("RENAME COLUMN"), 1, sql)
        self.assertIn('DROP TABLE "b"', sql)
        self.assertIn('DROP COLUMN "q"', sql)


class InvisibleAndDestructive(unittest.TestCase):
    def test_a_change_sqlite_cannot_see_makes_no_migration(self):
        project = Project(self)
        project.models("""
            import datetime
            @dataclass
            class Event:
                when: datetime.datetime
                id: Optional[int] = None
        """)
        project.make()
        project.models("""
            @dataclass
            class Event:
                when: str
                id: Optional[int] = None
        """)
        self.assertEqual(project.make().operations, ())

    def test_dropping_a_key_column_that_is_not_the_rowid_warns_that_its_revert_refill_would_collide(self):
        cases = [  # models before, whether the revert's refill needs a warning
            ('code: str = field(metadata={"primary_key": True})\n    x: int = 0', True),
            ('code: str = field(metadata={"primary_key": True})\n    n: int = field(default=0, metadata='
             '{"primary_key": True})\n    x: int = 0', True),
            ('code: int = field(metadata={"primary_key": True})\n    x: int = 0', False),  # the rowid comes back
        ]
        for fields, warned in cases:
            with self.subTest(fields=fields):
                project = Project(self)
                project.models(f"@dataclass\nclass A:\n    {fields}\n")
                project.make()
                project.models(f"@dataclass\nclass A:\n    {fields.split(chr(10))[-1].strip()}\n"
                               + ("    n: int = 0\n" if "n: int" in fields else ""))
                warnings = [w for w in project.make().warnings if w.startswith("reverting refills a.code")]
                self.assertEqual(warnings, ["reverting refills a.code with '' in every row, which its primary key "
                                            "refuses beyond one row; make this migration with --default a.code=SQL "
                                            "giving each row its own value (an expression such as 'x' || rowid) to "
                                            "avoid it"] if warned else [])

    def test_rebuild_marks_dropped_and_narrowed_columns_in_the_file(self):
        project = Project(self)
        project.models("""
            @dataclass
            class Item:
                code: str = field(metadata={"unique": True})
                label: str = ""
                id: Optional[int] = None
        """)
        project.make()
        project.models("""
            @dataclass
            class Item:
                label: int = 0
                id: Optional[int] = None
        """)
        result = project.make()
        text = project.read(result.name + ".sql").split("-- migrate:down")[0]
        self.assertIn("-- WARNING: narrows item.label from TEXT to INTEGER", text)
        self.assertIn("-- WARNING: drops column item.code", text)
        self.assertEqual(len(result.warnings), 3, result.warnings)
        self.assertIn("reverting refills item.code with '' in every row, which its unique index refuses",
                      result.warnings[2])
        self.assertIn("-- WARNING: reverting refills item.code with '' in every row", text)  # in the header
        project.models("""
            @dataclass
            class Item:
                label: float = 0.0
                id: Optional[int] = None
        """)
        result = project.make()  # 9007199254740993 has no exact float
        self.assertEqual(result.warnings, ("narrows item.label from INTEGER to REAL: values may change (integers "
                                           "beyond 2**53 lose their last digits)",
                                           "reverting narrows item.label from REAL to INTEGER: values may change"))
        project.models("""
            @dataclass
            class Item:
                label: float = 0.0
                size: int = 0
                id: Optional[int] = None
        """)
        project.make()
        project.models("""
            @dataclass
            class Item:
                label: str = ""
                size: str = ""
                id: Optional[int] = None
        """)
        self.assertEqual(project.make().warnings,  # 0.1 + 0.2 becomes '0.3'; integers stay exact
                         ("narrows item.label from REAL to TEXT: values may change",
                          "reverting narrows item.label from TEXT to REAL: values may change (text that reads "
                          "as a number becomes that number; other text is kept as it is)",
                          "reverting narrows item.size from TEXT to INTEGER: values may change (text that reads "
                          "as a number becomes that number; other text is kept as it is)"))
        priced = """
            @dataclass
            class Item:
                label: str = ""
                size: str = ""
                price: float = 0.0
                id: Optional[int] = None
        """
        project.models(priced)
        project.make()
        project.models(priced.replace("price: float = 0.0", "price: float = field(default=0.0, "
                                      "metadata={'sql_type': 'DECIMAL(10,2)'})"))
        self.assertEqual(project.make().warnings,  # NUMERIC stores 2.0 as the integer 2, as INTEGER does
                         ("narrows item.price from REAL to DECIMAL(10,2): values may change",
                          "reverting narrows item.price from DECIMAL(10,2) to REAL: values may change (integers "
                          "beyond 2**53 lose their last digits)"))
        project.models(priced.replace("price: float = 0.0", "price: float = field(default=0.0, "
                                      "metadata={'sql_type': 'INT'})"))
        self.assertEqual(project.make().warnings, ())  # NUMERIC and INTEGER store values alike

    def test_a_strict_tables_any_column_keeps_values_as_given_so_leaving_it_narrows(self):
        project = Project(self)
        strict = """
            @dataclass
            class T:
                __strict__ = True
                v: Optional[bytes] = field(default=None, metadata={"sql_type": "ANY"})  # (a str: refused INTEGER)
                id: Optional[int] = None
        """
        project.models(strict)
        project.make()
        project.models(strict.replace("__strict__ = True", "__strict__ = False"))  # ANY is NUMERIC there: '007' -> 7
        self.assertEqual(project.make(write=False).warnings, (  # (back to STRICT keeps what is there)
            "narrows t.v from ANY of a STRICT table to ANY: values may change",))
        project.models(strict.replace('"ANY"', '"INTEGER"'))
        result = project.make()
        self.assertEqual(result.warnings[0], "narrows t.v from ANY of a STRICT table to INTEGER: values may change")
        with open(result.path, encoding="utf-8") as handle:
            self.assertIn("-- WARNING: narrows t.v from ANY of a STRICT table to INTEGER", handle.read())


class Threads(unittest.TestCase):
    def test_make_from_many_threads_reads_each_projects_own_models_and_helper_modules(self):
        # loading models changes sys.path and sys.modules: unguarded, a thread read another project's helper
        projects = []
        for number in range(4):
            project = Project(self)
            with open(os.path.join(project.root, "helper.py"), "w") as handle:
                handle.write(f"EXTRA = {number}\n")
            project.models("import helper\n\n@dataclass\nclass Extra:\n    __tablename__ = 'extra_' + str(helper.EXTRA)"
                           "\n    note: Optional[str] = None\n    id: Optional[int] = None\n")
            project.make()
            projects.append(project)
        results, errors = [], []

        def make(project):
            try:
                results.append(project.make(write=False).operations)
            except Exception as exc:  # (said below, with the others)
                errors.append(exc)

        threads = [threading.Thread(target=make, args=(project,)) for _ in range(8) for project in projects]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(set(results), {()}, "a project's make saw another's models")


class Errors(unittest.TestCase):
    def test_models_given_as_a_dotted_module_name(self):
        project = Project(self)
        os.makedirs(os.path.join(project.root, "app"))
        open(os.path.join(project.root, "app", "__init__.py"), "w").close()
        with open(os.path.join(project.root, "app", "schema.py"), "w") as handle:
            handle.write("from dataclasses import dataclass\n@dataclass\nclass Widget:\n    id: int\n")
        result = project.cli("make", "--models", "app.schema")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("+ Create table widget", result.stdout)

    def test_a_package_that_defines_no_model_is_refused_instead_of_dropping_every_table(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.make()
        os.makedirs(os.path.join(project.root, "app"))
        with open(os.path.join(project.root, "app", "__init__.py"), "w") as handle:
            handle.write("from dataclasses import dataclass\n")
        for command, directory in (("make", project.directory), ("check", project.directory),
                                   ("make", "none_yet"), ("make --check", "none_yet")):
            with self.subTest(command=command, directory=directory):
                result = subprocess.run([sys.executable, MIGRATE, *command.split(), "--models", "app",
                                         "--dir", directory], cwd=project.root, capture_output=True, text=True,
                                        timeout=60)
                self.assertEqual(result.returncode, 1)
                self.assertIn("error: app is a package that defines no dataclass model: pass the module that defines "
                              "them (--models app.models?)", result.stderr)
        self.assertEqual(os.listdir(project.directory), ["0001_initial.sql"])
        self.assertFalse(os.path.exists(os.path.join(project.root, "none_yet")))

    def test_a_models_file_whose_dataclasses_are_all_imported_is_refused(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.make()
        os.makedirs(os.path.join(project.root, "app"))
        with open(os.path.join(project.root, "app", "models.py"), "w") as handle:
            handle.write("from dataclasses import dataclass\n@dataclass\nclass A:\n    id: int\n")
        project.models("from app.models import *\n")  # the models moved
        for command in ("make", "check"):
            with self.subTest(command=command):
                result = project.cli(command)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertIn("error: models file models.py defines no model: its dataclasses are imported from "
                              "app.models, and only those defined in the models module are models: pass --models "
                              "app.models", result.stderr)
        self.assertEqual(os.listdir(project.directory), ["0001_initial.sql"])
        self.assertEqual(project.cli("make", "--models", "app.models", "--check").returncode, 0)
        with open(os.path.join(project.root, "app", "base.py"), "w") as handle:  # the hint names where tables are
            handle.write("from dataclasses import dataclass\n@dataclass\nclass Base:\n    __abstract__ = True\n")
        with open(os.path.join(project.root, "app", "models.py"), "w") as handle:
            handle.write("from dataclasses import dataclass\nfrom app.base import Base\n"
                         "@dataclass\nclass A(Base):\n    id: int\n")
        result = project.cli("make", "--check")
        self.assertIn("are imported from app.models, and only those defined in the models module are models: pass "
                      "--models app.models\n", result.stderr)
        project.models("from app.base import Base\n")  # no table among them: still no models file to take at its word
        result = project.cli("make", "--check")
        self.assertEqual((result.returncode, result.stderr), (1, "error: models file models.py defines no model: it "
                         "only imports dataclasses (from app.base) that are no tables: pass --models with the module "
                         "that defines the models\n"))
        project.models("@dataclass\nclass Base:\n    __abstract__ = True\n    id: int\n"
                       "@dataclass\nclass _Helper:\n    id: int\n")  # its own dataclasses, none a table: taken at its word
        self.assertEqual(project.make(write=False).operations, ("- Drop table a",))
        for models in ("models.py", "os"):  # no dataclass at all: an empty file, a failed save, the wrong --models
            if models == "models.py":
                project.models("", header=False)
            result = project.cli("make", "--models", models)
            self.assertEqual((result.returncode, result.stderr), (1, f"error: models file {models} defines no "
                             "dataclass, so the migration would drop every table the migrations make (1): if it is "
                             "the wrong module or lost its content, fix that; to drop them all, write that migration "
                             "by hand (make --empty NAME, then DROP TABLE ...); nothing was written\n"))
        self.assertEqual(os.listdir(project.directory), ["0001_initial.sql"])

    def test_a_migration_given_as_a_file_of_another_folder_is_refused_not_taken_by_its_name(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.make()
        project.models("@dataclass\nclass A:\n    id: int\n    b: int = 0\n")
        project.make()
        project.apply()
        elsewhere = os.path.join(project.root, "other", "migrations", "0001_initial.sql")
        for call in (lambda: project.apply(target=elsewhere), lambda: project.revert(target=elsewhere),
                     lambda: migrate.plan(project.db, directory=project.directory, target=elsewhere),
                     lambda: migrate.find_migration(project.directory, elsewhere)):
            with self.assertRaisesRegex(migrate.MigrateError, f"{re.escape(elsewhere)} is not in the migrations "
                                                              f"folder {re.escape(project.directory)}: give its number "
                                                              "or name, or pass --dir"):
                call()
        self.assertEqual([row.applied for row in project.status()], [True, True])
        here = os.path.join(project.directory, "0001_initial.sql")
        self.assertEqual([step.name for step in project.revert(target=here)], ["0002_add_a_b"])
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(project.directory)
        self.assertEqual(migrate.find_migration(".", "./0002_add_a_b.sql").name, "0002_add_a_b")
        self.assertEqual(migrate.find_migration(".", pathlib.Path("0002_add_a_b.sql")).name, "0002_add_a_b")
        self.assertEqual([s.name for s in migrate.apply(project.db, directory=".",
                                                        target=pathlib.Path("0002_add_a_b.sql"))], ["0002_add_a_b"])

    def test_replay_failure_names_the_file(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.write_migration("0001_bad", "-- migrate:up\nCREATE TABLE a (;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0001_bad.sql fails when replayed"):
            project.make()

    def test_a_migration_reading_a_table_made_elsewhere_is_replayable_as_the_error_says(self):
        project = Project(self)
        project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        project.make()
        project.apply()
        project.execute("CREATE TABLE legacy (txt TEXT)", "INSERT INTO legacy VALUES ('old')")  # the app's own
        project.write_migration("0002_import", "-- migrate:up\nINSERT INTO question (text) SELECT txt FROM legacy;\n")
        project.apply()
        with self.assertRaises(migrate.MigrateError) as caught:
            project.make()
        self.assertIn("0002_import.sql fails when replayed: no such table: legacy in statement: INSERT INTO question "
                      "(text) SELECT txt FROM legacy (if the table is made outside the migrations, by the application "
                      "or another tool, make it in one too, with CREATE TABLE IF NOT EXISTS before this statement, "
                      "and with models, give it one with __managed__ = False); fix the file (a database that applied "
                      "it then needs `apply --allow-changed` once to record the edit)", str(caught.exception))
        project.write_migration("0002_import", "-- migrate:up\nCREATE TABLE IF NOT EXISTS legacy (txt TEXT);\n"
                                "INSERT INTO question (text) SELECT txt FROM legacy;\n")
        project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n"
                       "@dataclass\nclass Legacy:\n    __managed__ = False\n    txt: Optional[str] = None\n")
        self.assertEqual(project.make().operations, ())
        with self.assertRaises(migrate.MigrateError) as caught:  # what the database recorded is not the file
            migrate.check(project.db, models=project.models_path, directory=project.directory)
        self.assertEqual("migration _migrations row 0002_import fails when replayed: no such table: legacy in "
                         "statement: INSERT INTO question (text) SELECT txt FROM legacy; if an edit of its file since "
                         "fixes that, run `apply --allow-changed` once to record it", str(caught.exception))
        project.apply(allow_changed=True)
        self.assertEqual(migrate.check(project.db, models=project.models_path, directory=project.directory), [])

    def test_the_replay_refuses_what_apply_refuses_instead_of_reaching_other_files(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        victim = os.path.join(project.root, "victim.db")
        with closing(sqlite3.connect(victim)) as conn, conn:
            conn.execute("CREATE TABLE precious (x)")
        copy = os.path.join(project.root, "copy.db")
        for sql in (f"ATTACH '{victim}' AS v;\nDROP TABLE v.precious;", f"VACUUM INTO '{copy}';"):
            with self.subTest(sql):
                project.write_migration("0001_other_files", f"-- migrate:up\n{sql}\n-- migrate:down\n")
                for call in (project.make, lambda: migrate.check(models=project.models_path,
                                                                 directory=project.directory)):
                    with self.assertRaisesRegex(migrate.MigrateError, "0001_other_files.sql: (ATTACH|VACUUM) "
                                                "cannot run inside the migration's transaction"):
                        call()
        with closing(sqlite3.connect(victim)) as conn:
            self.assertEqual(conn.execute("SELECT name FROM sqlite_master").fetchall(), [("precious",)])
        self.assertFalse(os.path.exists(copy))

    def test_a_savepoint_a_migration_leaves_open_is_committed_by_the_replay_as_by_apply(self):
        project = Project(self)
        project.models("@dataclass\nclass T:\n    x: int\n    id: Optional[int] = None\n")
        project.write_migration("0001_open", "-- migrate:up\nSAVEPOINT s;\nCREATE TABLE t (x INTEGER NOT NULL, "
                                "id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.models("@dataclass\nclass T:\n    x: Optional[int] = None\n    id: Optional[int] = None\n")
        for args in (("make", "--check"), ("check",), ("make",), ("apply", "--dry-run")):  # 0002 rebuilds t
            with self.subTest(args):  # a hang fails by the timeout, not by hanging the suite
                result = subprocess.run([sys.executable, MIGRATE, *args], cwd=project.root, capture_output=True,
                                        text=True, timeout=30)
                self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(project.apply()[0].name, "0002_alter_t")

    def test_sqlite_rejecting_a_model_names_the_model(self):
        project = Project(self)
        project.models("""
            @dataclass
            class Thing:
                size: int = field(metadata={"sql_type": "VARCHAR(3)"})
                __strict__ = True
        """)
        with self.assertRaisesRegex(migrate.MigrateError, "model Thing: SQLite rejects"):
            project.make()
        self.assertFalse(os.path.exists(project.directory))


class ReplayCache(unittest.TestCase):
    """make restores what earlier replays built; a cached state is named after
    every file it comes from, so it can be stale or damaged but never wrong."""

    def setUp(self):
        self.project = Project(self)
        self.addCleanup(os.environ.__setitem__, "XDG_CACHE_HOME", os.environ["XDG_CACHE_HOME"])
        os.environ["XDG_CACHE_HOME"] = os.path.join(self.project.root, "cache")  # planted states stay here
        self.project.evolve("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        self.project.evolve("@dataclass\nclass Question:\n    text: str\n    votes: int = 0\n"
                            "    id: Optional[int] = None\n")
        self.cache = migrate._cache_directory()
        self.cache = migrate._cache_directory()

    def test_a_relative_cache_home_is_ignored_as_the_xdg_spec_says(self):
        cwd = os.getcwd()
        self.addCleanup(os.chdir, cwd)
        os.chdir(self.project.root)
        os.environ["XDG_CACHE_HOME"] = "cache"  # (not a folder named "cache" wherever make happens to run)
        self.assertEqual(migrate._cache_directory(), os.path.join(os.path.expanduser("~"), ".cache", "migrate.py"))

    def state_path(self, count: int) -> str:
        migrations = migrate.read_migrations(self.project.directory)
        return migrate._state_path(self.cache, migrate._state_keys(migrations[:count])[-1])

    def plant(self, count: int, sql: str) -> None:
        """Put a state that says something else in the cache for the first `count` migrations."""
        scratch = migrate.replay(migrate.read_migrations(self.project.directory)[:count])
        planted = sqlite3.connect(self.state_path(count))
        try:
            scratch.execute(sql)
            scratch.backup(planted)
        finally:
            scratch.close()
            planted.close()

    def tables_in(self, path: str) -> list:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()

    def test_a_cached_state_is_used_and_newer_migrations_replayed_on_top(self):
        self.plant(1, "CREATE TABLE planted (x)")
        if os.path.exists(self.state_path(2)):
            os.remove(self.state_path(2))
        operations = self.project.make(write=False).operations
        self.assertIn("- Drop table planted", operations)  # proof it started from the planted state
        self.assertTrue(os.path.exists(self.state_path(2)), "the full state is cached afterwards")

    def test_state_names_depend_on_the_code_and_every_file_before_them(self):
        migrations = migrate.read_migrations(self.project.directory)
        keys = migrate._state_keys(migrations)
        copy = os.path.join(self.project.root, "migrate_copy.py")
        with open(migrate.__file__, encoding="utf-8") as source, open(copy, "w", encoding="utf-8") as target:
            target.write(source.read() + "\n# one more line\n")
        original = migrate.__file__
        migrate.__file__ = copy
        self.addCleanup(setattr, migrate, "__file__", original)
        self.assertFalse(set(keys) & set(migrate._state_keys(migrations)))
        migrate.__file__ = original
        edited = [migrations[0], migrate.replace(migrations[1], checksum="0" * 64)]
        self.assertEqual(migrate._state_keys(edited)[0], keys[0])
        self.assertNotEqual(migrate._state_keys(edited)[1], keys[1])

    def test_an_edited_migration_never_matches_its_old_state(self):
        self.plant(2, "CREATE TABLE planted (x)")
        self.assertIn("- Drop table planted", self.project.make(write=False).operations)
        with open(os.path.join(self.project.directory, self.project.files()[0]), "a") as handle:
            handle.write("-- edited by hand\n")
        self.assertEqual(self.project.make(write=False).operations, ())

    def test_a_damaged_or_empty_cache_file_only_means_a_full_replay(self):
        def write(content):
            def damage(path):
                with open(path, "wb") as handle:
                    handle.write(content)
            return damage

        def break_schema(path):
            with closing(sqlite3.connect(path)) as conn:
                conn.execute("PRAGMA writable_schema = ON")
                conn.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE question (' WHERE name = 'question'")
                conn.commit()

        damages = {"garbage": write(b"not a database" * 100), "empty": write(b""),  # empty: no tables
                   "schema": break_schema}
        for name, damage in damages.items():
            with self.subTest(damage=name):
                self.project.make(write=False)
                damage(self.state_path(2))
                self.assertEqual(self.project.make(write=False).operations, ())
                self.assertIn(("question",), self.tables_in(self.state_path(2)))  # written again
                damage(self.state_path(2))
                os.rename(self.state_path(2), self.state_path(1))  # a damaged shorter prefix
                self.assertEqual(self.project.make(write=False).operations, ())
                self.assertFalse(os.path.exists(self.state_path(1)), "a damaged state is removed")

    def test_restoring_never_creates_a_state_file(self):
        missing = os.path.join(self.cache, "replay-gone.sqlite3")  # pruned after it was looked up
        scratch = migrate._scratch_database()
        self.addCleanup(scratch.close)
        self.assertFalse(migrate._restore_state(missing, scratch))
        self.assertFalse(os.path.exists(missing))

    def test_a_restored_state_counts_as_recently_used(self):
        self.project.make(write=False)
        os.utime(self.state_path(2), (1000, 1000))
        self.project.make(write=False)
        self.assertGreater(os.stat(self.state_path(2)).st_mtime, 1000)

    def test_make_works_when_the_cache_cannot_be_created(self):
        blocker = os.path.join(self.project.root, "not-a-directory")
        open(blocker, "w").close()
        os.environ["XDG_CACHE_HOME"] = blocker
        self.project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        self.assertEqual(self.project.make().name, "0003_drop_question_votes")

    def test_a_cache_folder_others_can_write_to_is_never_read_or_written(self):
        self.plant(2, "CREATE TABLE planted (x)")
        os.chmod(self.cache, 0o777)
        before = sorted(os.listdir(self.cache))
        self.project.write_migration("0003_note", "-- migrate:up\nALTER TABLE question ADD COLUMN note TEXT;\n")
        self.assertNotIn("- Drop table planted", self.project.make(write=False).operations)
        self.assertEqual(sorted(os.listdir(self.cache)), before)

    def test_temp_objects_end_with_their_migration_in_make_as_in_apply(self):
        self.project.write_migration("0003_helper", "-- migrate:up\nCREATE TEMP TABLE helper AS SELECT 5 AS n;\n"
                                     "CREATE TABLE copied AS SELECT n FROM helper;\n")
        self.project.write_migration("0004_again", "-- migrate:up\nCREATE TEMP TABLE helper (m);\n")  # no clash
        self.assertIn("- Drop table copied", self.project.make(write=False).operations)
        self.assertTrue(os.path.exists(self.state_path(4)), "a state after TEMP objects is the file alone")
        self.project.apply()
        self.assertEqual(self.project.query("SELECT n FROM copied"), [(5,)])

    def test_the_state_just_before_a_migration_that_changes_the_connection_is_cached(self):
        self.project.write_migration("0003_note", "-- migrate:up\nALTER TABLE question ADD COLUMN note TEXT;\n")
        more = "ALTER TABLE question ADD COLUMN more TEXT;"
        cases = {  # name: (0004's SQL, 0005's SQL, which of the states 3, 4, 5 are cached)
            "pragma": ("PRAGMA user_version = 4;", more, [True, False, False]),
            "temp schema, then a pragma": ('CREATE TABLE "TEMP".helper (n);', more + "\nPRAGMA user_version = 5;",
                                           [False, True, False]),  # TEMP objects end with their migration
        }
        for name, (sql_4, sql_5, expected) in cases.items():
            with self.subTest(case=name):
                shutil.rmtree(self.cache, ignore_errors=True)
                self.project.write_migration("0004_connection", f"-- migrate:up\n{sql_4}\n")
                self.project.write_migration("0005_more", f"-- migrate:up\n{sql_5}\n")
                self.assertEqual(len(self.project.make(write=False).operations), 2)  # drop note, more
                self.assertEqual([os.path.exists(self.state_path(count)) for count in (3, 4, 5)], expected)
        self.project.write_migration("0004_connection", "-- migrate:up\nPRAGMA user_version = 4;\n")
        self.plant(3, "CREATE TABLE planted (x)")
        self.assertIn("- Drop table planted", self.project.make(write=False).operations)  # restored from 3

    def test_squash_deletes_files_so_it_replays_them_without_the_cache(self):
        self.plant(2, "CREATE TABLE planted (x)")
        result = migrate.squash(directory=self.project.directory, write=False)
        self.assertFalse([s for s in result.up if "planted" in s], result.up)

    def test_only_the_most_recently_used_states_are_kept(self):
        os.makedirs(self.cache, exist_ok=True)
        for i in range(migrate._CACHE_FILES_KEPT + 5):
            path = os.path.join(self.cache, f"replay-old{i}.sqlite3")
            open(path, "w").close()
            os.utime(path, (1000 + i, 1000 + i))
        self.project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        self.project.make()
        self.project.make(write=False)  # caches the state after the new migration
        kept = os.listdir(self.cache)
        self.assertEqual(len(kept), migrate._CACHE_FILES_KEPT, kept)
        self.assertIn(os.path.basename(self.state_path(3)), kept)
        self.assertNotIn("replay-old0.sqlite3", kept)

if __name__ == "__main__":
    unittest.main()
