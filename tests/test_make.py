"""Make: diff models against the replayed migrations and write the file."""
import os
import sqlite3
import unittest

from tests.support import Project, migrate

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

    def test_empty_migration_and_names(self):
        project = Project(self)
        project.models(SHOP)
        project.make()
        result = project.make(empty=True, name="Backfill slugs!")
        self.assertEqual(result.name, "0002_backfill_slugs")
        self.assertIn("-- migrate:up", project.read("0002_backfill_slugs.sql"))
        with self.assertRaisesRegex(migrate.MigrateError, "needs a NAME"):
            project.make(empty=True)

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

    def test_add_and_drop_nullable_columns_and_indexes_natively_keeping_rows(self):
        result = self.project.evolve("""
            @dataclass
            class Question:
                text: str = field(metadata={"index": True})
                author: Optional[str] = None
                score: int = 7
                id: Optional[int] = None
        """)
        self.assertEqual(result.operations, ("+ Add column question.author", "+ Add column question.score",
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
        asked = []
        answer = lambda question: asked.append(question) or "y"
        result = self.project.make(questioner=migrate.Questioner(prompt=answer))
        self.assertEqual(asked, ["Did you rename question.text to question.question_text? [y/N] "])
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
        questioner = migrate.Questioner(renames=["question=poll", "poll.text=body"])
        result = self.project.make(questioner=questioner)
        self.assertEqual(result.operations[:2], ("~ Rename table question to poll",
                                                 "~ Rename column poll.text to body"))
        self.project.apply()
        self.assertEqual(self.project.query("SELECT body FROM poll"), [("What?",)])

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
        self.assertEqual(len(result.warnings), 2, result.warnings)


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

    def test_replay_failure_names_the_file(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.write_migration("0001_bad", "-- migrate:up\nCREATE TABLE a (;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0001_bad.sql fails when replayed"):
            project.make()

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

    def state_path(self, count: int) -> str:
        migrations = migrate.read_migrations(self.project.directory)
        return migrate._state_path(migrate._state_keys(migrations[:count])[-1])

    def plant(self, count: int, sql: str) -> None:
        """Put a state that says something else in the cache for the first `count` migrations."""
        scratch = migrate.replay(migrate.read_migrations(self.project.directory)[:count])
        scratch.execute(sql)
        os.makedirs(os.path.dirname(self.state_path(count)), exist_ok=True)
        planted = sqlite3.connect(self.state_path(count))
        scratch.backup(planted)
        planted.close()

    def test_a_cached_state_is_used_and_newer_migrations_replayed_on_top(self):
        self.plant(1, "CREATE TABLE planted (x)")
        if os.path.exists(self.state_path(2)):
            os.remove(self.state_path(2))
        operations = self.project.make(write=False).operations
        self.assertIn("- Drop table planted", operations)  # proof it started from the planted state
        self.assertTrue(os.path.exists(self.state_path(2)), "the full state is cached afterwards")

    def test_an_edited_migration_never_matches_its_old_state(self):
        self.plant(2, "CREATE TABLE planted (x)")
        self.assertIn("- Drop table planted", self.project.make(write=False).operations)
        with open(os.path.join(self.project.directory, self.project.files()[0]), "a") as handle:
            handle.write("-- edited by hand\n")
        self.assertEqual(self.project.make(write=False).operations, ())

    def test_a_damaged_cache_file_only_means_a_full_replay(self):
        self.project.make(write=False)
        with open(self.state_path(2), "wb") as handle:
            handle.write(b"not a database" * 100)
        self.assertEqual(self.project.make(write=False).operations, ())
        with sqlite3.connect(self.state_path(2)) as cached:  # rewritten by the full replay
            self.assertIn(("question",), cached.execute("SELECT name FROM sqlite_master").fetchall())

    def test_a_cache_that_cannot_be_written_is_not_used(self):
        blocker = os.path.join(self.project.root, "not-a-directory")
        open(blocker, "w").close()
        os.environ["XDG_CACHE_HOME"] = blocker
        self.project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        self.assertEqual(self.project.make().name, "0003_drop_question_votes")

    def test_only_the_most_recently_used_states_are_kept(self):
        directory = os.path.dirname(self.state_path(2))
        os.makedirs(directory, exist_ok=True)
        for i in range(migrate._CACHE_FILES_KEPT + 5):
            path = os.path.join(directory, f"replay-old{i}.sqlite3")
            open(path, "w").close()
            os.utime(path, (1000 + i, 1000 + i))
        self.project.models("@dataclass\nclass Question:\n    text: str\n    id: Optional[int] = None\n")
        self.project.make()
        self.project.make(write=False)  # caches the state after the new migration
        kept = os.listdir(directory)
        self.assertEqual(len(kept), migrate._CACHE_FILES_KEPT, kept)
        self.assertIn(os.path.basename(self.state_path(3)), kept)
        self.assertNotIn("replay-old0.sqlite3", kept)


if __name__ == "__main__":
    unittest.main()
