"""Rebuilds and native ALTERs on tables with rows: nothing is ever lost."""
import os
import re
import sqlite3
import unittest

from tests.support import Project, migrate, table_dump

BASE = """
@dataclass
class Author:
    name: str
    id: Optional[int] = field(default=None, metadata={"autoincrement": True})

@dataclass
class Book:
    author: Author = field(metadata={"on_delete": "CASCADE"})
    title: str = field(metadata={"index": True})
    pages: Optional[int] = None
    sequel: Optional["Book"] = None
    id: Optional[int] = None

@dataclass
class Tag:
    label: str
    weight: Optional[float] = None

@dataclass
class Audit:
    __managed__ = False
    message: str
"""

HAND_WRITTEN = """\
-- migrate:up
CREATE TABLE audit (message TEXT);
CREATE VIEW book_titles AS SELECT b.title, a.name FROM book b JOIN author a ON a.id = b.author_id;
CREATE VIEW long_titles AS SELECT title FROM book_titles WHERE length(title) > 3;
CREATE TRIGGER book_changed AFTER UPDATE ON book BEGIN
  INSERT INTO audit VALUES ('book ' || new.id || '; changed');
END;
CREATE TRIGGER author_changed AFTER UPDATE ON author BEGIN
  INSERT INTO audit SELECT 'books: ' || count(*) FROM book;
END;
CREATE TRIGGER tag_added AFTER INSERT ON tag BEGIN
  INSERT INTO audit VALUES ('tag');
END;
CREATE INDEX book_lower_title ON book (lower(title));
CREATE INDEX tag_heavy ON tag (weight) WHERE weight > 2;
-- migrate:down
DROP INDEX tag_heavy;
DROP INDEX book_lower_title;
DROP TRIGGER tag_added;
DROP TRIGGER author_changed;
DROP TRIGGER book_changed;
DROP VIEW long_titles;
DROP VIEW book_titles;
DROP TABLE audit;
"""

SEED = [
    "INSERT INTO author (name) VALUES ('Ann'), ('Bob'), ('Cy')",
    "DELETE FROM author WHERE id = 3",  # the AUTOINCREMENT counter stays at 3
    "INSERT INTO book (author_id, title, pages) VALUES (1, 'One', 100), (1, 'Two', NULL), (2, 'Three', 30)",
    "UPDATE book SET sequel_id = 2 WHERE id = 1",
    "INSERT INTO tag (label, weight) VALUES ('a', 1.5), ('b', NULL), ('c', 3)",
    "DELETE FROM tag WHERE label = 'a'",  # rowids 2 and 3 remain: a plain copy would renumber them
]


def without(model: str) -> str:
    """BASE without one model's class."""
    source = re.sub(rf"@dataclass\nclass {model}:\n(    .*\n)+\n?", "", BASE)
    assert source != BASE, model
    return source


def change(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


def with_hand_written(testcase, models: str, sql: str) -> Project:
    """A project whose first migration makes `models` and whose second is `sql`, written by hand."""
    project = Project(testcase)
    project.models(models)
    project.make()
    project.write_migration("0002_hand", f"-- migrate:up\n{sql}\n-- migrate:down\n")
    return project


# (label, new models, make options, expected: "rebuild" or "native")
CHANGES = [
    ("type change", change("pages: Optional[int] = None", "pages: Optional[str] = None"), {}, "rebuild"),
    ("not null with default", change("pages: Optional[int] = None", "pages: int = 0"), {}, "rebuild"),
    ("not null with one-off value", change("pages: Optional[int] = None", "pages: int"),
     {"defaults": {"book.pages": "-1"}}, "rebuild"),
    ("default changed", change("weight: Optional[float] = None", "weight: Optional[float] = 2.5"), {}, "rebuild"),
    ("check added on a referenced table",
     change("name: str\n", "name: str = field(metadata={'check': \"name <> ''\"})\n"), {}, "rebuild"),
    ("collate", change("label: str\n", "label: str = field(metadata={'collate': 'NOCASE'})\n"), {}, "rebuild"),
    ("autoincrement removed from a referenced table",
     change('id: Optional[int] = field(default=None, metadata={"autoincrement": True})', "id: Optional[int] = None"),
     {}, "rebuild"),
    ("self reference on_delete changed",
     change('sequel: Optional["Book"] = None',
            'sequel: Optional["Book"] = field(default=None, metadata={"on_delete": "SET NULL"})'), {}, "rebuild"),
    ("drop foreign key column", change('sequel: Optional["Book"] = None', ""), {}, "rebuild"),
    ("drop plain column natively", change("pages: Optional[int] = None", ""), {}, "native"),
    ("drop indexed column natively",
     change("label: str\n", "label: str = field(metadata={'index': True})\n"
            "    color: Optional[str] = field(default=None, metadata={'index': True})\n"), {}, "native"),
    ("unique index added", change("label: str\n", "label: str = field(metadata={'unique': True})\n"), {}, "native"),
    ("primary key added to a rowid table",
     change("label: str\n", "label: str = field(metadata={'primary_key': True})\n"), {}, "rebuild"),
    ("key column added to a table without one: it takes the rowids",
     change("label: str\n", "label: str\n    id: Optional[int] = None\n"), {}, "rebuild"),
    ("strict", change("weight: Optional[float] = None", "weight: Optional[float] = None\n    __strict__ = True"),
     {}, "rebuild"),
]


class RebuildKeepsEverything(unittest.TestCase):
    def prepare(self):
        project = Project(self)
        project.models(BASE)
        project.make()
        project.write_migration("0002_views_and_triggers", HAND_WRITTEN)
        project.apply()
        project.execute(*SEED)
        return project

    def test_every_change_keeps_rows_rowids_views_triggers_and_foreign_keys(self):
        for label, models, options, kind in CHANGES:
            with self.subTest(label):
                self.check_change(label, models, options, kind)

    def check_change(self, label, models, options, kind):
        project = self.prepare()
        schema_before, rows_before = project.schema_sql(), table_dump(project.db)
        conn = sqlite3.connect(project.db)
        structure_before = migrate.read_schema(conn)
        conn.close()
        project.models(models)
        questioner = migrate.Questioner(defaults=options.get("defaults"))
        result = project.make(questioner=questioner)
        sql = "\n".join(result.up)
        self.assertEqual("_new_" in sql, kind == "rebuild", f"expected a {kind}:\n{sql}")
        project.apply()
        rows_after = table_dump(project.db)
        for table, rows in rows_before.items():
            if table in ("_migrations", "audit"):
                continue
            self.assertEqual([r[0] for r in rows], [r[0] for r in rows_after[table]],
                             f"{table}: rowids changed\n{sql}")
        self.assertEqual(rows_after["sqlite_sequence"], rows_before["sqlite_sequence"], sql)
        names = lambda kind_: sorted(n for (k, n, _) in project.schema_sql() if k == kind_)
        self.assertEqual(names("view"), ["book_titles", "long_titles"], sql)
        self.assertEqual(names("trigger"), ["author_changed", "book_changed", "tag_added"], sql)
        self.assertEqual(project.query("SELECT * FROM long_titles"), [("Three",)])
        self.assertEqual(project.query("PRAGMA foreign_key_check"), [])
        self.assertEqual(project.make(write=False).operations, (), "make --check is not clean")
        conn = project.connect()
        conn.execute("PRAGMA foreign_keys = ON")
        with self.assertRaises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO book (author_id, title) VALUES (99, 'orphan')")
        conn.execute("UPDATE author SET name = name")  # triggers still fire
        conn.execute("INSERT INTO author (name) VALUES ('Dee')")
        if "autoincrement" not in label:
            self.assertEqual(conn.execute("SELECT max(id) FROM author").fetchone(), (4,),
                             "AUTOINCREMENT reused an id")
        conn.execute("DELETE FROM author WHERE name = 'Dee'")
        conn.close()
        project.revert()
        if kind == "rebuild":  # a rebuild's down is a rebuild: the exact SQL comes back
            self.assertEqual(project.schema_sql(), schema_before, "revert did not restore the schema")
        else:  # ADD COLUMN appends: the same schema, maybe another column order
            conn = sqlite3.connect(project.db)
            self.assertEqual(migrate.schema_differences(migrate.read_schema(conn), structure_before), [])
            conn.close()
        restored = table_dump(project.db)
        for table in ("author", "book", "tag"):
            self.assertEqual([r[0] for r in restored[table]], [r[0] for r in rows_before[table]])

    def test_a_rebuild_keeps_the_autoincrement_counter_of_a_table_written_in_other_case(self):
        project = Project(self)  # as `schema --db` writes an adopted table, or by hand
        project.write_migration("0001_adopted", "-- migrate:up\nCREATE TABLE Parent (name TEXT NOT NULL, "
                                "note INTEGER, id INTEGER PRIMARY KEY AUTOINCREMENT);\n"
                                "-- migrate:down\nDROP TABLE Parent;\n")
        project.apply()
        project.execute("INSERT INTO parent (name) VALUES ('a'), ('b'), ('c'), ('d')",
                        "DELETE FROM parent WHERE id > 2")
        model = ("@dataclass\nclass Parent:\n    name: str\n    note: Optional[{}] = None\n"
                 "    id: Optional[int] = field(default=None, metadata={{'autoincrement': True}})\n")
        project.models(model.format("int"))
        self.assertEqual(project.make(write=False).operations, ())
        project.models(model.format("str"))
        project.make()  # 0002 rebuilds it for the type
        for step in ("apply", "revert"):
            getattr(project, step)()
            self.assertEqual(project.query("SELECT seq FROM sqlite_sequence"), [(4,)], f"after {step}")
            project.execute("INSERT INTO parent (name) VALUES ('new')")
            self.assertEqual(project.query("SELECT id FROM parent WHERE name = 'new'"), [(5,)], f"after {step}")
            project.execute("DELETE FROM parent WHERE name = 'new'", "UPDATE sqlite_sequence SET seq = 4")

    def test_a_rebuild_keeps_the_tables_column_order_and_appends_new_columns(self):
        project = Project(self)  # an application's SELECT * or INSERT ... VALUES reads columns by position
        project.write_migration("0001_adopted", "-- migrate:up\nCREATE TABLE item (id INTEGER PRIMARY KEY, "
                                "name TEXT NOT NULL, qty INTEGER NOT NULL);\n")
        project.apply()
        project.execute("INSERT INTO item VALUES (1, 'a', 2)")
        project.models("@dataclass\nclass Item:\n    qty: int = field(metadata={'check': 'qty >= 0'})\n"
                       "    note: Optional[str] = field(default=None, metadata={'check': \"note <> ''\"})\n"
                       "    name: str = ''\n    id: Optional[int] = None\n")
        result = project.make(questioner=migrate.Questioner(defaults={}))
        self.assertIn('CREATE TABLE "_new_item" (\n    "id" INTEGER PRIMARY KEY,\n    "name" TEXT NOT NULL DEFAULT '
                      "'',\n    \"qty\" INTEGER NOT NULL CHECK (qty >= 0),\n    \"note\" TEXT CHECK (note <> '')\n)",
                      result.text)
        project.apply()
        self.assertEqual(project.query("SELECT * FROM item"), [(1, "a", 2, None)])
        self.assertEqual(project.make(write=False).operations, ())
        project.revert()
        self.assertEqual(project.query("SELECT * FROM item"), [(1, "a", 2)])

    def test_a_column_named_rowid_does_not_hide_the_real_rowids(self):
        project = Project(self)
        project.models("@dataclass\nclass Reading:\n    rowid: int\n    value: int\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO reading (_rowid_, rowid, value) VALUES (50, 1, 10), (70, 2, 20)")
        project.models("@dataclass\nclass Reading:\n    rowid: int\n    value: Optional[int] = None\n")
        project.make()
        for step in (project.apply, project.revert):
            step()
            self.assertEqual(project.query("SELECT _rowid_, rowid, value FROM reading ORDER BY 1"),
                             [(50, 1, 10), (70, 2, 20)], step.__name__)

    def test_a_table_at_the_column_limit_without_a_rowid_alias_is_refused_a_rebuild_by_name(self):
        # The copy names the rowid besides the 2000 columns: SQLite's "too many
        # columns in result set" would be blamed on the changed column.
        def wide(last: str) -> str:
            fields = "".join(f"    c{i}: Optional[int] = None\n" for i in range(1998))
            return f"@dataclass\nclass Wide:\n    code: str = field(metadata={{'primary_key': True}})\n{fields}{last}"
        project = Project(self)
        project.models(wide("    last: Optional[int] = None\n"))
        project.make()
        project.models(wide("    last: Optional[str] = None\n"))
        with self.assertRaisesRegex(migrate.MigrateError, r"cannot rebuild wide: .* rowid besides its 2000 columns"
                                    r", more than the 2000 SQLite allows; drop a column"):
            project.make()
        self.assertEqual(project.files(), ["0001_initial.sql"])

    def test_a_rebuild_keeps_triggers_on_views_and_triggers_that_read_a_view(self):
        project = self.prepare()
        project.write_migration("0003_view_triggers", """\
            -- migrate:up
            CREATE TRIGGER tag_counts AFTER INSERT ON tag BEGIN
              INSERT INTO audit SELECT 'long titles: ' || count(*) FROM long_titles;
            END;
            CREATE TRIGGER new_title INSTEAD OF INSERT ON book_titles BEGIN
              INSERT INTO book (author_id, title) SELECT id, new.title FROM author WHERE name = new.name;
            END;
            -- migrate:down
            DROP TRIGGER new_title;
            DROP TRIGGER tag_counts;
            """)
        project.apply()
        project.models(change("pages: Optional[int] = None", "pages: Optional[str] = None"))
        self.assertIn("_new_book", "\n".join(project.make().up))
        project.apply()
        project.execute("INSERT INTO book_titles (title, name) VALUES ('Four', 'Bob')", "INSERT INTO tag (label) VALUES ('d')")
        self.assertEqual(project.query("SELECT title FROM book WHERE id = 4"), [("Four",)])
        self.assertIn(("long titles: 2",), project.query("SELECT message FROM audit"))

    def test_a_trigger_that_names_the_table_as_a_string_is_kept_through_a_rebuild(self):
        project = self.prepare()  # SQLite takes 'book' for a name there: the rename in the rebuild checks it
        project.write_migration("0003_quoted", "-- migrate:up\nCREATE TRIGGER tag_touches AFTER INSERT ON tag BEGIN "
                                "UPDATE 'book' SET pages = 7 WHERE id = 1; END;\n-- migrate:down\nDROP TRIGGER "
                                "tag_touches;\n")
        project.apply()
        project.models(change("pages: Optional[int] = None", "pages: Optional[str] = None"))
        self.assertIn("_new_book", "\n".join(project.make().up))
        project.apply()
        project.execute("INSERT INTO tag (label) VALUES ('e')")
        self.assertEqual(project.query("SELECT pages FROM book WHERE id = 1"), [("7",)])

    def test_a_column_drop_or_rename_that_would_break_an_fts_index_of_the_table_is_refused(self):
        project = self.prepare()
        project.write_migration("0003_search", "-- migrate:up\nCREATE VIRTUAL TABLE tag_search USING fts5(label, "
                                "content='tag');\n-- migrate:down\nDROP TABLE tag_search;\n")
        project.apply()
        for models, options, fragment in (
                (BASE.replace("    label: str\n    weight", "    weight"), {}, "cannot drop column tag.label"),
                (BASE.replace("class Tag:", "class Label:"), {"renames": ["tag=label"]},
                 "cannot rename table tag to label")):
            with self.subTest(fragment=fragment):
                project.models(models)
                with self.assertRaisesRegex(migrate.MigrateError, re.escape(fragment) + ": virtual table tag_search "
                                            "reads tag and would fail \\(no such (column|table)"):
                    project.make(questioner=migrate.Questioner(**options))
        self.assertEqual(len(project.files()), 3, "nothing was written")

    def test_a_virtual_table_that_was_broken_before_or_reads_another_table_does_not_block_a_change(self):
        project = self.prepare()
        project.write_migration("0003_search", "-- migrate:up\nCREATE VIRTUAL TABLE old_search USING fts5(label, "
                                "content='tag_archive');\nCREATE VIRTUAL TABLE odd USING fts5(label, nothing, "
                                "content='tag');\n")  # no tag_archive; tag has no column `nothing`
        project.apply()
        project.models(BASE.replace("    label: str\n", "    label: str\n    note: Optional[str] = None\n"))
        self.assertEqual(project.make().operations, ("+ Add column tag.note",))

    def test_a_rebuild_that_leaves_out_hand_written_table_checks_says_so(self):
        project = Project(self)
        project.write_migration("0001_item", "-- migrate:up\nCREATE TABLE item (qty INTEGER NOT NULL, id INTEGER "
                                "PRIMARY KEY, CHECK (qty >= 0), CONSTRAINT small CHECK (qty < 100));\n")
        project.models("@dataclass\nclass Item:\n    qty: int\n    id: Optional[int] = None\n")
        result = project.make(write=False)
        warning = ("rebuilds item without its table CHECK constraints 'qty >= 0', 'qty < 100', which the model's "
                   "__checks__ leaves out (a Django CheckConstraint, or one written by hand): to keep them, add them "
                   "there and make this migration again")
        self.assertIn(warning, " ".join(result.warnings))
        self.assertIn(f"-- WARNING: {warning}", result.text)
        project.models("@dataclass\nclass Item:\n    qty: int\n    id: Optional[int] = None\n"
                       "    __checks__ = ['qty >= 0', 'qty < 100']\n")  # as it says: then there is no change at all
        self.assertEqual(project.make(write=False).operations, ())
        project.models("@dataclass\nclass Item:\n    qty: int\n    id: Optional[int] = None\n"
                       "    __checks__ = ['qty >= 0']\n")  # one of them dropped: named, as written
        self.assertIn("without its table CHECK constraint 'qty < 100', which the model's __checks__ leaves out",
                      " ".join(project.make(write=False).warnings))

    def test_a_check_warning_follows_renames_and_says_when_a_dropped_column_takes_the_check_with_it(self):
        project = Project(self)
        project.write_migration("0001_event", "-- migrate:up\nCREATE TABLE event (id INTEGER PRIMARY KEY, date TEXT "
                                'NOT NULL, lo INT NOT NULL, hi INT NOT NULL, CHECK (date("date") IS NOT NULL), '
                                "CHECK (lo <= hi), CHECK (hi < 100));\n")
        fields = "    id: int\n    day: str\n    hi: int = field(metadata={'sql_type': 'INT'})\n"
        project.models(f"@dataclass\nclass Event:\n{fields}    __checks__ = ['date(day) IS NOT NULL', 'hi < 100']\n")
        result = project.make(write=False, questioner=migrate.Questioner(renames=["event.date=day"]))
        self.assertEqual(result.warnings, ("drops column event.lo and its data", "rebuilds event without its table "
                                           "CHECK constraint 'lo <= hi', which reads the dropped column lo"),
                         result.text)  # date(): a function, and no advice to keep what cannot be kept
        project.models(f"@dataclass\nclass Event:\n{fields}    lo: int = field(default=0, metadata={{'sql_type': "
                       "'INT'})\n    __checks__ = ['date(day) IS NOT NULL']\n")
        result = project.make(write=False, questioner=migrate.Questioner(renames=["event.date=day"]))
        self.assertIn("without its table CHECK constraints 'lo <= hi', 'hi < 100', which the model's __checks__ "
                      "leaves out", " ".join(result.warnings))
        project.write_migration("0002_u", 'ALTER TABLE event RENAME TO u;\nALTER TABLE u RENAME COLUMN "hi" TO "top";'
                                "\n".replace("ALTER", "-- migrate:up\nALTER", 1))
        project.models("@dataclass\nclass U:\n    id: int\n    date: str\n    lo: int = field(metadata={'sql_type': "
                       "'INT'})\n    top: int = field(metadata={'sql_type': 'INT'})\n    __checks__ = ['lo < top']\n")
        self.assertIn("rebuilds u without its table CHECK constraints 'date(\"date\") IS NOT NULL', 'lo <= \"top\"', "
                      "'\"top\" < 100', which", " ".join(project.make(write=False).warnings))  # as RENAME wrote them

    def test_a_rebuild_that_drops_a_unique_constraints_own_collation_says_so_unless_the_column_has_it(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, "
                                'b TEXT NOT NULL, UNIQUE ("a" COLLATE NOCASE, b));\n')
        project.models("@dataclass\nclass T:\n    id: int\n    a: str\n    b: str\n    __unique__ = [('a', 'b')]\n")
        self.assertIn('rebuilds t without its UNIQUE ("a" COLLATE NOCASE, b): the unique index in its place compares '
                      'a as the column does, not by NOCASE, so values that differ only so no longer clash; to keep the '
                      'rule, give the field a "collate": "NOCASE" and make this migration again',
                      project.make(write=False).warnings)
        project.models("@dataclass\nclass T:\n    id: int\n    a: str = field(metadata={'collate': 'nocase'})\n"
                       "    b: str\n    __unique__ = [('a', 'b')]\n")
        self.assertEqual(project.make(write=False).warnings, ())
        project.models("@dataclass\nclass T:\n    id: int\n    x: str\n    b: str\n    __unique__ = [('x', 'b')]\n")
        result = project.make(write=False, questioner=migrate.Questioner(renames=["t.a=x"]))
        self.assertIn("compares x as the column does, not by NOCASE", " ".join(result.warnings))

    def test_model_checks_are_kept_in_a_rebuild_for_another_change_and_in_column_order(self):
        project = Project(self)
        project.models("@dataclass\nclass Slot:\n    id: int\n    start: int\n    stop: int\n"
                       "    __checks__ = ['start <= stop']\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO slot VALUES (1, 2, 3)")
        project.models("@dataclass\nclass Slot:\n    stop: int\n    id: int\n    start: int\n"
                       "    label: str = field(default='', metadata={'collate': 'NOCASE'})\n"
                       "    __checks__ = ['start <= stop', 'length(label) < 10']\n")
        result = project.make()
        self.assertEqual(result.warnings, ())
        project.apply()
        self.assertEqual([row[1] for row in project.query("PRAGMA table_info(slot)")],
                         ["id", "start", "stop", "label"], "a rebuild keeps the table's column order")
        self.assertEqual(project.query("SELECT * FROM slot"), [(1, 2, 3, "")])
        for values in ("(2, 5, 4, '')", "(3, 1, 2, 'much too long')"):
            with self.assertRaisesRegex(sqlite3.IntegrityError, "CHECK constraint failed", msg=values):
                project.execute(f"INSERT INTO slot VALUES {values}")
        self.assertEqual(project.make(write=False).operations, ())
        project.models("@dataclass\nclass Slot:\n    stop: int\n    id: int\n    start: int\n"
                       "    label: str = field(default='', metadata={'collate': 'NOCASE', 'check': '(1 = 1)'})\n"
                       "    __checks__ = ['((start <= stop))', '(length(label) < 10)']\n")  # parentheses: no change
        self.assertEqual(project.make(write=False).operations, ("~ Alter column slot.label: check changed",))
        project.models("@dataclass\nclass Slot:\n    stop: int\n    id: int\n    start: int\n"
                       "    label: str = field(default='', metadata={'collate': 'NOCASE'})\n"
                       "    __checks__ = ['((start <= stop))', '(length(label) < 10)']\n")
        self.assertEqual(project.make(write=False).operations, ())
        project.revert()
        self.assertEqual(project.query("SELECT * FROM slot"), [(1, 2, 3)])

    def test_renaming_a_column_a_table_check_reads_keeps_the_check_without_a_warning(self):
        project = Project(self)
        project.write_migration("0001_item", "-- migrate:up\nCREATE TABLE item (id INTEGER PRIMARY KEY, lo INT NOT "
                                'NULL, hi INT NOT NULL, CONSTRAINT "lo_le_hi" CHECK ("lo" <= "hi"));\n')
        project.models("@dataclass\nclass Item:\n    id: int\n    low: int = field(metadata={'sql_type': 'INT'})\n"
                       "    hi: int = field(metadata={'sql_type': 'INT'})\n    __checks__ = ['low <= hi']\n")
        result = project.make(questioner=migrate.Questioner(renames=["item.lo=low"]))
        self.assertEqual((result.operations, result.warnings), (("~ Rename column item.lo to low",), ()))
        project.apply()
        self.assertIn('CONSTRAINT "lo_le_hi" CHECK ( "low" <= "hi" )', project.schema_sql()[0][2])

    def test_dropping_a_table_drops_its_triggers_and_revert_brings_them_back(self):
        project = self.prepare()
        project.models(without("Tag"))
        self.assertEqual(project.make().operations, ("- Drop table tag",))
        project.apply()
        project.revert()
        before = project.query("SELECT count(*) FROM audit")[0][0]
        project.execute("INSERT INTO tag (label) VALUES ('back')")  # tag_added fires again
        self.assertEqual(project.query("SELECT count(*) FROM audit"), [(before + 1,)])
        self.assertEqual(project.query("SELECT message FROM audit ORDER BY rowid DESC LIMIT 1"), [("tag",)])

    def test_dropping_a_table_a_view_or_another_trigger_reads_is_refused(self):
        project = self.prepare()
        project.models(without("Book"))
        with self.assertRaisesRegex(migrate.MigrateError, "cannot drop table book: view book_titles uses it"):
            project.make()
        project.write_migration("0003_no_views", "-- migrate:up\nDROP VIEW long_titles;\nDROP VIEW book_titles;\n")
        with self.assertRaisesRegex(migrate.MigrateError, "cannot drop table book: trigger author_changed on "
                                                          "author uses it"):
            project.make()
        self.assertEqual(len(project.files()), 3, "nothing was written")

    def test_a_view_of_a_dropped_table_is_found_whatever_else_the_schema_holds(self):
        models = "@dataclass\nclass {0}:\n    x: Optional[int] = None\n    id: Optional[int] = None\n"
        cases = {  # what else is there: (models kept, extra SQL in the hand-written migration)
            "no table left": ([], ""),
            "an old broken view": (["A"], "CREATE TABLE zz (x); CREATE VIEW old_v AS SELECT * FROM zz; DROP TABLE zz;"),
            "a table named like b": (["A", "Bb"], "CREATE VIEW bb_view AS SELECT * FROM bb;"),
            "a column dropped later": (["A"], ""),
        }
        for name, (kept, extra) in cases.items():
            with self.subTest(name):
                project = Project(self)
                project.models("".join(models.format(m) for m in sorted(set(kept) | {"A", "B"})))
                project.make()
                project.write_migration("0002_views", f"-- migrate:up\n{extra}\nCREATE VIEW v AS SELECT * FROM b;\n")
                project.apply()
                source = "".join(models.format(m) for m in kept)
                if name == "a column dropped later":
                    source = "@dataclass\nclass A:\n    id: Optional[int] = None\n"
                project.models(source)
                with self.assertRaisesRegex(migrate.MigrateError, r"cannot drop table b: view v uses it \(no such "
                                                                  r"table: main\.b\)"):
                    project.make()

    def test_a_trigger_reading_a_dropped_table_is_found_beside_an_old_broken_one(self):
        project = Project(self)
        models = "@dataclass\nclass {0}:\n    x: Optional[int] = None\n    id: Optional[int] = None\n"
        project.models(models.format("A") + models.format("B"))
        project.make()
        project.write_migration("0002_triggers", """\
            -- migrate:up
            CREATE TABLE zz (x);
            CREATE TRIGGER a_old AFTER INSERT ON a BEGIN INSERT INTO zz VALUES (1); END;
            DROP TABLE zz;
            CREATE TRIGGER a_new AFTER UPDATE ON a BEGIN INSERT INTO b (x) VALUES (new.x); END;
            -- migrate:down
            """)
        project.apply()
        project.models(models.format("A"))
        with self.assertRaisesRegex(migrate.MigrateError, "cannot drop table b: trigger a_new on a uses it"):
            project.make()

    def test_more_readers_of_a_dropped_table_are_found(self):
        cases = {  # name: (hand-written SQL beside tables keep and "old stuff", models kept)
            "a name with a space": ('CREATE VIEW v AS SELECT v FROM "old stuff";', "Keep"),
            "a trigger that also reads a view": (
                'CREATE VIEW kv AS SELECT id FROM keep; CREATE TRIGGER keep_ai AFTER INSERT ON keep BEGIN '
                'UPDATE keep SET x = (SELECT count(*) FROM kv); INSERT INTO "old stuff" (v) VALUES (1); END;', "Keep"),
            "an INSTEAD OF trigger on a view of a view": (
                'CREATE VIEW v0 AS SELECT id FROM keep; CREATE VIEW v AS SELECT id FROM v0; CREATE TRIGGER v_ins '
                'INSTEAD OF INSERT ON v BEGIN INSERT INTO "old stuff" (v) VALUES (1); END;', "Keep"),
            "no table left": ('CREATE VIEW inbox AS SELECT 1 AS n; CREATE TRIGGER inbox_ins INSTEAD OF INSERT ON '
                              'inbox BEGIN INSERT INTO "old stuff" (v) VALUES (1); END;', None),
            "an FTS index of it": ('CREATE VIRTUAL TABLE docs USING fts5(v, content=\'old stuff\');', "Keep"),
            "an FTS4 index of it": ('CREATE VIRTUAL TABLE docs USING fts4(v, content="old stuff");', "Keep"),
        }
        models = ("@dataclass\nclass Keep:\n    x: Optional[int] = None\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Old:\n    __tablename__ = 'old stuff'\n    v: Optional[int] = None\n"
                  "    id: Optional[int] = None\n")
        for name, (sql, kept) in cases.items():
            with self.subTest(name):
                project = Project(self)
                project.models(models)
                project.make()
                project.write_migration("0002_readers", f"-- migrate:up\n{sql}\n")
                project.apply()
                project.models(models.split("@dataclass\nclass Old")[0] if kept else "")
                with self.assertRaisesRegex(migrate.MigrateError, "cannot drop table old stuff: .* uses it"):
                    project.make()

    def test_a_new_table_that_an_older_view_expects_can_be_made(self):
        project = Project(self)
        project.write_migration("0001_view", "-- migrate:up\nCREATE VIEW recent AS SELECT note FROM audit_log;\n"
                                "-- migrate:down\nDROP VIEW recent;\n")
        project.models("@dataclass\nclass AuditLog:\n    note: str\n    id: Optional[int] = None\n")
        self.assertEqual(project.make().operations, ("+ Create table audit_log",))  # its down drops it again

    def test_triggers_that_only_share_a_name_or_go_with_the_drop_do_not_block_it(self):
        project = Project(self)
        models = "@dataclass\nclass {0}:\n    x: Optional[int] = None\n    id: Optional[int] = None\n"
        project.models("".join(models.format(name) for name in ("Alpha", "Beta", "Keep")))
        project.make()
        project.write_migration("0002_triggers", """\
            -- migrate:up
            CREATE TRIGGER alpha_to_beta AFTER INSERT ON alpha BEGIN INSERT INTO beta (x) VALUES (1); END;
            CREATE TRIGGER keep_note AFTER UPDATE OF x ON keep BEGIN SELECT new.x AS alpha, 2 AS beta; END;
            -- migrate:down
            """)
        project.apply()
        project.models(models.format("Keep"))  # alpha_to_beta goes with alpha; keep_note only says the names
        self.assertEqual(sorted(project.make().operations), ["- Drop table alpha", "- Drop table beta"])
        project.apply()

    def test_rows_survive_with_their_values(self):
        project = self.prepare()
        project.models(change("pages: Optional[int] = None", "pages: int")
                       .replace("weight: Optional[float] = None", "weight: Optional[str] = None"))
        project.make(questioner=migrate.Questioner(defaults={"book.pages": "0"}))
        project.apply()
        self.assertEqual(project.query("SELECT id, author_id, title, pages, sequel_id FROM book ORDER BY id"),
                         [(1, 1, "One", 100, 2), (2, 1, "Two", 0, None), (3, 2, "Three", 30, None)])
        self.assertEqual(project.query("SELECT rowid, label, weight FROM tag ORDER BY rowid"),
                         [(2, "b", None), (3, "c", "3.0")])

    def test_dropped_not_null_column_comes_back_with_zero_values_on_revert(self):
        project = self.prepare()
        project.models(change("label: str\n", ""))
        result = project.make()
        self.assertIn("drops column tag.label and its data", result.warnings)
        self.assertEqual(result.up, ('-- WARNING: drops column tag.label and its data\n'
                                     'ALTER TABLE "tag" DROP COLUMN "label"',))
        project.apply()
        project.revert()
        self.assertEqual(project.query("SELECT rowid, label FROM tag"), [(2, ""), (3, "")])

    def test_reverting_a_column_made_nullable_refuses_nulls_instead_of_inventing_values(self):
        project = self.prepare()
        project.models(change("title: str = field(metadata={\"index\": True})",
                              "title: Optional[str] = field(default=None, metadata={\"index\": True})"))
        project.make()
        project.apply()
        project.execute("INSERT INTO book (author_id) VALUES (1)")
        schema, rows = project.schema_sql(), table_dump(project.db)
        with self.assertRaisesRegex(migrate.MigrateError, r"^reverting migration 0003_alter_book failed: NOT NULL "
                                    r"constraint failed: book.title \(as the table is rebuilt\) in statement: .* \(book.title holds NULLs, "
                                    r"which the rebuilt table does not allow: set them first, e.g. UPDATE \"book\" "
                                    r"SET \"title\" = \.\.\. WHERE \"title\" IS NULL\); it was rolled back"):
            project.revert()
        self.assertEqual((project.schema_sql(), table_dump(project.db)), (schema, rows))
        self.assertIn("or, for a migration written before another made the column nullable (on another branch), "
                      "delete it", migrate._null_hint("NOT NULL constraint failed: _new_book.title", reverting=False))
        project.execute("UPDATE book SET title = 'Untitled' WHERE title IS NULL")
        project.revert()
        self.assertEqual(project.query("SELECT title FROM book WHERE id = 4"), [("Untitled",)])

    def test_a_table_declared_on_conflict_replace_or_ignore_never_loses_rows_in_a_copy(self):
        for clause, rows in (("UNIQUE ON CONFLICT REPLACE", "('a'), ('a')"), ("NOT NULL ON CONFLICT IGNORE", "(NULL)")):
            with self.subTest(clause):  # reverting re-creates the hand-written table, clause and all
                project = Project(self)
                project.write_migration("0001_t", f"-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, "
                                        f"n TEXT {clause});\n-- migrate:down\nDROP TABLE t;\n")
                project.models("@dataclass\nclass T:\n    n: Optional[str] = None\n    id: Optional[int] = None\n")
                project.apply()
                project.make()
                project.apply()
                project.execute(f"INSERT INTO t (n) VALUES {rows}")
                before = table_dump(project.db)
                with self.assertRaisesRegex(migrate.MigrateError, r"constraint failed: t.n \(as the table is rebuilt\) in statement: "
                                                                  'INSERT OR ABORT INTO "_new_t"'):
                    project.revert()
                self.assertEqual(table_dump(project.db), before)

    def test_generated_fields_are_added_changed_and_dropped_with_the_rows_kept(self):
        project = Project(self)
        item = ("@dataclass\nclass Item:\n    price: float\n    data: str = '{}'\n    id: Optional[int] = None\n"
                "    quantity: int = 1\n")
        project.evolve(item)
        project.execute("INSERT INTO item (price, data, quantity) VALUES (2.5, '{\"name\": \"bob\"}', 4), (1, '{}', 2)")
        rows = project.query("SELECT id, price, data, quantity FROM item")
        virtual = ("    total: float = field(default=0.0, metadata={'generated': 'price * quantity'})\n"
                   "    name: Optional[str] = field(default=None, metadata={'generated': \"data ->> '$.name'\" if "
                   "sqlite3.sqlite_version_info >= (3, 38) else \"json_extract(data, '$.name')\", 'index': True})\n")
        result = project.evolve("import sqlite3\n" + item + virtual)
        up = result.text
        self.assertNotIn("_new_item", up)  # VIRTUAL: ALTER TABLE ADD COLUMN, a NOT NULL one too (SQLite checks rows)
        self.assertIn('ALTER TABLE "item" ADD COLUMN "total" REAL GENERATED ALWAYS AS (price * quantity) VIRTUAL '
                      'NOT NULL', up)
        self.assertEqual(project.query("SELECT id, total, name FROM item INDEXED BY item_name_idx ORDER BY id"),
                         [(1, 10.0, "bob"), (2, 2.0, None)])
        self.assertEqual(project.make().operations, ())  # as read back from SQLite: no second migration
        stored = ("    cents: Optional[float] = field(default=None, metadata={'generated': 'price * 100', "
                  "'stored': True})\n")
        result = project.evolve("import sqlite3\n" + item + virtual.replace("price * quantity", "price * quantity * 2")
                                + stored)
        self.assertEqual(result.operations, ("~ Alter column item.total: generated expression changed",
                                             "+ Add column item.cents"))
        self.assertEqual(result.warnings, ())  # nothing to lose: the other columns give their values
        self.assertEqual(project.query("SELECT id, total, cents FROM item ORDER BY id"),
                         [(1, 20.0, 250.0), (2, 4.0, 100.0)])
        result = project.evolve(item.replace("quantity: int = 1", "quantity: int = field(default=1, metadata="
                                             "{'generated': 'length(data)'})"))
        self.assertIn("~ Alter column item.quantity: default 1 -> none, made generated", result.operations)
        self.assertEqual(result.warnings, ("makes column item.quantity generated: its values are replaced by those "
                                           "of its expression",))
        self.assertEqual(project.query("SELECT quantity FROM item ORDER BY id"), [(15,), (2,)])
        for _ in range(3):
            project.revert()
        lost = [row[:3] + ((15,) if row[0] == 1 else row[3:]) for row in rows]  # what the warning said
        self.assertEqual(project.query("SELECT id, price, data, quantity FROM item"), lost)
        self.assertEqual([c[1] for c in project.query("PRAGMA table_xinfo(item)")], ["price", "data", "id", "quantity"])

    def test_a_generated_column_may_read_a_column_added_with_it_and_says_so_when_it_gives_null(self):
        project = Project(self)
        item = "@dataclass\nclass Item:\n    price: Optional[float]\n    id: Optional[int] = None\n"
        project.evolve(item)
        project.execute("INSERT INTO item (price) VALUES (3), (NULL)")
        result = project.evolve(item + "    net: Optional[float] = field(default=None, metadata={'generated': "
                                "'price - discount'})\n    discount: float = 0.0\n")  # read before it is declared
        self.assertNotIn("_new_item", result.text)  # in place, both ways: the plain column first, and last out
        self.assertLess(result.text.index('ADD COLUMN "discount"'), result.text.index('ADD COLUMN "net"'))
        self.assertLess(result.text.index('DROP COLUMN "net"'), result.text.index('DROP COLUMN "discount"'))
        self.assertEqual(project.query("SELECT net FROM item ORDER BY id"), [(3.0,), (None,)])
        project.revert()
        os.remove(result.path)
        schema = project.schema_sql()
        for stored in ("", ", 'stored': True"):
            with self.subTest(stored=stored):
                project.models(item + f"    total: float = field(default=0.0, metadata={{'generated': 'price * 2'"
                                      f"{stored}}})\n")
                path = project.make().path
                with self.assertRaisesRegex(migrate.MigrateError, r"NOT NULL constraint failed.* \(generated column "
                                            r"item.total is NOT NULL, and its expression gives NULL in some rows: "
                                            r"make the field Optional, or change the expression so that it never "
                                            r"gives NULL\); it was rolled back"):
                    project.apply()
                self.assertEqual(project.schema_sql(), schema)
                os.remove(path)

    def test_a_column_that_stops_being_generated_keeps_its_values(self):
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, "
                                "b INTEGER GENERATED ALWAYS AS (a * 2) STORED, c AS (a + 1));\n"
                                "-- migrate:down\nDROP TABLE t;\n")
        project.apply()
        project.execute("INSERT INTO t (a) VALUES (1), (2)")
        project.models("@dataclass\nclass T:\n    a: int\n    b: Optional[int] = None\n    c: Optional[int] = None\n"
                       "    id: Optional[int] = None\n")
        project.make()
        project.apply()
        self.assertEqual(project.query("SELECT id, a, b, c FROM t"), [(1, 1, 2, 2), (2, 2, 4, 3)])
        project.revert()
        self.assertEqual(project.query("SELECT id, a, b, c FROM t"), [(1, 1, 2, 2), (2, 2, 4, 3)])

    def test_a_dropped_column_whose_check_refuses_the_zero_value_needs_a_default_for_the_down(self):
        project = Project(self)
        project.models("@dataclass\nclass Acct:\n    x: int = field(metadata={\"check\": \"x > 0\"})\n"
                       "    id: Optional[int] = None\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO acct (x) VALUES (3)")
        project.models("@dataclass\nclass Acct:\n    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"acct\.x: the down section .* with 0, which its CHECK "
                                                          r"\(x > 0\) refuses"):  # as written, not token by token
            project.make()
        self.assertEqual(project.files(), ["0001_initial.sql"])
        project.make(questioner=migrate.Questioner(defaults={"acct.x": "5"}))
        project.apply()
        project.revert()
        self.assertEqual(project.query("SELECT x FROM acct"), [(5,)])

    def test_a_dropped_columns_refill_is_tried_on_the_table_checks_that_read_it_and_its_default_on_its_index(self):
        project = Project(self)
        project.models("@dataclass\nclass Product:\n    price: int\n    name: str = ''\n    id: Optional[int] = None\n"
                       "    __checks__ = ['price > 0']\n")
        project.make()
        project.models("@dataclass\nclass Product:\n    name: str = ''\n    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"product\.price: the down section .* with 0, which its "
                                    r"CHECK \(price > 0\) refuses: pass --default product.price=SQL"):
            project.make()
        project.models("@dataclass\nclass Product:\n    name: str = ''\n    id: Optional[int] = None\n"
                       "    code: int = field(default=5, metadata={'unique': True})\n"
                       "    note: Optional[str] = field(default=None, metadata={'check': 'note IS NOT NULL'})\n"
                       "    tag: Optional[str] = field(default='new', metadata={'unique': True})\n"
                       "    kind: Optional[str] = field(default='new', metadata={'check': "
                       "\"typeof(kind) = 'text'\"})\n")
        project.make(questioner=migrate.Questioner(defaults={"product.price": "1"}))
        project.models("@dataclass\nclass Product:\n    name: str = ''\n    id: Optional[int] = None\n")
        warnings = project.make(write=False).warnings
        self.assertIn("reverting refills product.tag with 'new' in every row, which its unique index refuses beyond "
                      "one row; edit this migration's down section to set the rows first",
                      " ".join(warnings))  # (a nullable column comes back with its default; no --default for it)
        self.assertNotIn("brings product.kind back", " ".join(warnings))
        self.assertIn("reverting refills product.code with 5 in every row, which its unique index refuses beyond "
                      "one row; make this migration with --default product.code=SQL", " ".join(warnings))
        self.assertIn("reverting brings product.note back with NULL in every row, which its CHECK (note IS NOT NULL) "
                      "refuses: on a table with rows the revert fails", " ".join(warnings))

    def test_a_refill_is_tried_as_a_strict_table_stores_it_and_a_fill_null_for_some_rows_is_named_by_apply(self):
        project = Project(self)
        project.models("@dataclass\nclass T:\n    code: object = field(metadata={'sql_type': 'ANY', 'check': "
                       "'length(code) = 3'})\n    role: str = ''\n    id: Optional[int] = None\n"
                       "    __strict__ = True\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO t (code, role) VALUES ('007', 'admin'), ('008', 'user')")
        project.models("@dataclass\nclass T:\n    role: str = ''\n    id: Optional[int] = None\n    __strict__ = True\n"
                       "    level: int = field(default_factory=int)\n")
        project.make(questioner=migrate.Questioner(defaults={"t.code": "'007'",  # (as text in ANY: 3 long)
                                                             "t.level": "CASE role WHEN 'admin' THEN 1 END"}))
        with self.assertRaisesRegex(migrate.MigrateError, r"NOT NULL constraint failed: t.level .* \(the one-off value "
                                    r"the migration fills the new column t.level with is NULL for some rows: change it "
                                    r"in the migration's INSERT so that it never is, or make the field Optional\)"):
            project.apply()

    def test_a_one_off_value_null_for_some_rows_of_a_column_made_required_is_named_and_random_is_no_one_value(self):
        project = Project(self)
        project.models("@dataclass\nclass T:\n    role: str\n    level: Optional[int] = None\n"
                       "    token: Optional[float] = field(default=None, metadata={'default_sql': 'random()', "
                       "'unique': True})\n    id: Optional[int] = None\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO t (role) VALUES ('admin'), ('user')")
        project.models("@dataclass\nclass T:\n    role: str\n    level: int\n    id: Optional[int] = None\n")
        result = project.make(questioner=migrate.Questioner(defaults={"t.level": "CASE role WHEN 'admin' THEN 1 END"}))
        self.assertNotIn("t.token with", " ".join(result.warnings))  # (random() gives each row its own)
        with self.assertRaisesRegex(migrate.MigrateError, r"\(the one-off value the migration fills t.level with is "
                                    r"NULL for some rows: change it in the migration's INSERT"):
            project.apply()

    def test_reverting_a_column_made_nullable_refuses_nulls_also_when_it_had_a_default(self):
        project = Project(self)
        project.models("@dataclass\nclass Meter:\n    reading: int = 5\n    id: Optional[int] = None\n")
        project.make()
        project.models("@dataclass\nclass Meter:\n    reading: Optional[int] = None\n    id: Optional[int] = None\n")
        project.make()
        project.apply()
        project.execute("INSERT INTO meter (reading) VALUES (NULL), (7)")
        schema, rows = project.schema_sql(), table_dump(project.db)
        with self.assertRaisesRegex(migrate.MigrateError, "NOT NULL constraint failed"):
            project.revert()  # the old default would pass for a reading that was never taken
        self.assertEqual((project.schema_sql(), table_dump(project.db)), (schema, rows))

    def test_failed_rebuild_leaves_everything_untouched(self):
        project = self.prepare()
        schema_before, rows_before = project.schema_sql(), table_dump(project.db)
        project.models(change("pages: Optional[int] = None",
                              "pages: Optional[int] = field(default=None, metadata={'check': 'pages > 50'})"))
        project.make()
        with self.assertRaisesRegex(migrate.MigrateError, "CHECK constraint failed"):
            project.apply()
        self.assertEqual(project.schema_sql(), schema_before)
        self.assertEqual(table_dump(project.db), rows_before)
        self.assertEqual([s.applied for s in project.status()], [True, True, False])

    def test_a_failed_copy_names_the_table_not_the_rebuilds_copy_of_it(self):
        project = Project(self)
        project.evolve("@dataclass\nclass Ev:\n    n: str = ''\n    id: Optional[int] = None\n    __strict__ = True\n")
        project.execute("INSERT INTO ev (n) VALUES ('abc')")
        project.models("@dataclass\nclass Ev:\n    n: int = 0\n    id: Optional[int] = None\n    __strict__ = True\n")
        project.make()
        with self.assertRaisesRegex(migrate.MigrateError, r"^migration 0002_alter_ev failed: cannot store TEXT value "
                                    r"in INTEGER column ev\.n \(as the table is rebuilt\) in statement: INSERT"):
            project.apply()

    def test_a_view_made_outside_the_migrations_that_a_rebuild_breaks_is_named_with_what_to_do(self):
        project = Project(self)
        project.evolve("@dataclass\nclass Ev:\n    n: Optional[int] = None\n    id: Optional[int] = None\n")
        project.execute("CREATE VIEW ev_n AS SELECT n FROM ev")  # by hand
        project.models("@dataclass\nclass Ev:\n    n: int = 0\n    id: Optional[int] = None\n")
        project.make()
        schema_before = project.schema_sql()
        with self.assertRaisesRegex(migrate.MigrateError, r"error in view ev_n: .* \(if view ev_n was made outside "
                                    r"the migrations, as `check` would list it, drop it before this migration"):
            project.apply()
        self.assertEqual(project.schema_sql(), schema_before)

    def test_an_old_view_of_a_table_long_gone_is_named_as_broken_on_its_own_when_it_blocks_a_change(self):
        project = Project(self)  # SQLite re-reads every view for a rename: one that was broken already fails it
        project.write_migration("0001_old", "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\n"
                                "CREATE TABLE gone (x);\nCREATE VIEW stale AS SELECT * FROM gone;\nDROP TABLE gone;\n")
        project.models("@dataclass\nclass T:\n    b: Optional[str] = None\n    id: Optional[int] = None\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"^cannot rename column t\.a to b: SQLite says error in view "
                                    r"stale: no such table: main\.gone while running .*; view stale is broken on its "
                                    r"own \(gone does not exist\), and SQLite checks every view and trigger when a "
                                    r"table is renamed or rebuilt: drop or fix it in a hand-written migration first; "
                                    r"nothing was written$"):
            project.make(questioner=migrate.Questioner(renames=["t.a=b"]))

    def test_a_rebuild_that_would_make_a_view_or_trigger_again_over_a_dropped_column_is_refused(self):
        models = ("@dataclass\nclass T:\n    a: int = 0\n    b: Optional[int] = None\n    c: Optional[int] = None\n"
                  "    id: Optional[int] = None\n")
        readers = {  # SQLite makes them again without a word, then fails when they are used
            "view": ("CREATE VIEW v AS SELECT b FROM t;", "b", "view v would fail when read"),
            "trigger on the table": ("CREATE TRIGGER tr AFTER UPDATE ON t BEGIN UPDATE t SET b = b + 1 WHERE id = "
                                     "new.id AND new.b < 0; END;", "b", "trigger tr would fail whenever it fires"),
            "view of the second column dropped": ("CREATE VIEW v AS SELECT c FROM t;", "c",
                                                  "view v would fail when read"),
        }
        for label, (sql, column, name) in readers.items():
            with self.subTest(label):
                project = with_hand_written(self, models, sql)
                project.models(models.replace("a: int = 0", "a: int = 5").replace("    b: Optional[int] = None\n", "")
                               .replace("    c: Optional[int] = None\n", ""))
                with self.assertRaisesRegex(migrate.MigrateError, rf"^cannot drop column t\.{column}: {name} \(no "
                                            rf"such column: {column}; SQLite checks that only then\); change or drop"):
                    project.make()  # (a new default for a: a rebuild, not ALTER TABLE DROP COLUMN)
                self.assertEqual(len(project.files()), 2, "nothing was written")
        mixed = models.replace("class T:", "class T:\n    __tablename__ = 'Things'").replace("    b:", "    FullName:")
        project = with_hand_written(self, mixed, "CREATE VIEW v AS SELECT FullName FROM Things;")
        project.models(mixed.replace("a: int = 0", "a: int = 5").replace("    FullName: Optional[int] = None\n", ""))
        with self.assertRaisesRegex(migrate.MigrateError, r"^cannot drop column Things\.FullName: view v"):
            project.make()  # (the names as the models write them)

    def test_a_trigger_that_writes_a_dropped_column_of_another_table_is_refused(self):
        models = ("@dataclass\nclass Item:\n    a: int = 0\n    b: Optional[int] = None\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Other:\n    x: int = 0\n    id: Optional[int] = None\n")
        writers = {  # SQLite checks neither when the column goes: every INSERT INTO other would fail after
            "INSERT INTO item (b)": "CREATE TRIGGER tr AFTER INSERT ON other BEGIN INSERT INTO item (a, b) VALUES "
                                    "(new.x, 1); END;",
            "UPDATE item SET b": "CREATE TRIGGER tr AFTER UPDATE OF x ON other BEGIN UPDATE item SET b = new.x; END;",
            "on a view": "CREATE VIEW ov AS SELECT x FROM other; CREATE TRIGGER tr INSTEAD OF INSERT ON ov BEGIN "
                         "INSERT INTO item (b) VALUES (new.x); END;",
        }
        for label, sql in writers.items():
            for rebuild in (False, True):
                with self.subTest(label, rebuild=rebuild):
                    project = with_hand_written(self, models, sql)
                    changed = models.replace("    b: Optional[int] = None\n", "")
                    project.models(changed.replace("a: int = 0", "a: int = 5") if rebuild else changed)
                    with self.assertRaisesRegex(migrate.MigrateError, r"^cannot drop column item\.b: trigger tr "
                                                r"would fail whenever it fires \((table item has no column named b|"
                                                r"no such column: b);"):
                        project.make()
                    self.assertEqual(len(project.files()), 2, "nothing was written")
        project = Project(self)  # one that fails already is not this change's
        project.models(models)
        project.make()
        project.write_migration("0002_hand", "-- migrate:up\nCREATE TABLE gone (x);\nCREATE TRIGGER tr AFTER INSERT "
                                "ON other BEGIN INSERT INTO gone (x) SELECT a FROM item; END;\nDROP TABLE gone;\n"
                                "-- migrate:down\n")
        project.models(models.replace("    b: Optional[int] = None\n", "").replace("a: int = 0", "a: int = 5"))
        self.assertEqual(project.make().operations, ("- Drop column item.b", "~ Alter column item.a: default 0 -> 5"))

    def test_views_and_triggers_are_judged_one_by_one_before_and_after_a_drop(self):
        models = ("@dataclass\nclass Item:\n    a: int = 0\n    b: int = 0\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Log:\n    x: int = 0\n    id: Optional[int] = None\n")
        broken = "CREATE TABLE s2 (z); CREATE VIEW vb AS SELECT z FROM s2; "  # (then DROP TABLE s2)
        cases = {  # hand-written SQL, the change, what is refused (None: make writes it)
            "a view broken before hides nothing": (broken + "CREATE VIEW v2 AS SELECT a, b FROM item;", "rebuild",
                                                   "view v2 would fail when read"),
            "a broken view's INSTEAD OF trigger": (broken + "CREATE TRIGGER tv INSTEAD OF INSERT ON vb BEGIN INSERT "
                                                   "INTO item (a) VALUES (new.z); END;", "rebuild", None),
            "two broken before": (broken + "CREATE TABLE s1 (z); CREATE TRIGGER ti AFTER INSERT ON item BEGIN INSERT "
                                  "INTO s1 VALUES (new.a); END; DROP TABLE s1;", "rebuild only", None),
            "the broken one of two is named": (
                "CREATE TRIGGER t1 AFTER INSERT ON log BEGIN UPDATE item SET a = new.x; END; CREATE TRIGGER t2 "
                "AFTER INSERT ON log BEGIN INSERT INTO item (b) VALUES (new.x); END;", "drop",
                "trigger t2 would fail whenever it fires"),
            '"b" that was always text': ('CREATE TRIGGER t AFTER DELETE ON item BEGIN INSERT INTO log (x) VALUES '
                                         '("b"); END;', "rebuild", None),
            "the nested trigger that fails is named": (
                "CREATE TRIGGER tr1 AFTER INSERT ON log BEGIN INSERT INTO item (a) VALUES (1); END; CREATE TRIGGER "
                "tr_i AFTER INSERT ON item BEGIN UPDATE item SET b = 1 WHERE id = new.id; END;", "drop",
                "trigger tr_i would fail whenever it fires"),
            "a rebuild that takes the rowid away": (
                "CREATE VIEW v AS SELECT rowid AS r, a FROM item;", "without rowid", "view v would fail when read"),
        }
        changes = {"drop": lambda m: m.replace("    b: int = 0\n", ""),
                   "rebuild": lambda m: m.replace("    b: int = 0\n", "").replace("a: int = 0", "a: int = 5"),
                   "rebuild only": lambda m: m.replace("a: int = 0", "a: int = 5"),
                   "without rowid": lambda m: m.replace("class Item:\n", "class Item:\n    __without_rowid__ = True\n")
                   .replace("    id: Optional[int] = None\n@", "    id: int = 0\n@")}
        for label, (sql, change, refused) in cases.items():
            with self.subTest(label):
                project = Project(self)
                project.models(models)
                project.make()
                project.write_migration("0002_hand", f"-- migrate:up\n{sql}\nDROP TABLE IF EXISTS s2;\n"
                                        "-- migrate:down\n")
                project.models(changes[change](models))
                if refused is None:
                    project.make()
                    continue
                with self.assertRaisesRegex(migrate.MigrateError, f"^cannot [^:]*: {refused}"):
                    project.make()

    def test_a_view_broken_before_the_rebuild_is_not_blamed_on_it(self):
        project = Project(self)
        project.models("@dataclass\nclass T:\n    a: int = 0\n    id: Optional[int] = None\n")
        project.make()
        project.write_migration("0002_hand", "-- migrate:up\nCREATE TABLE scratch (z);\nCREATE VIEW broken AS "
                                "SELECT z FROM scratch;\nDROP TABLE scratch;\n-- migrate:down\n")
        project.models("@dataclass\nclass T:\n    a: str = ''\n    id: Optional[int] = None\n")
        self.assertEqual(project.make().operations, ("~ Alter column t.a: type INTEGER -> TEXT, default 0 -> ''",))

    def test_a_double_quoted_name_of_a_dropped_column_is_refused_as_sqlite_would_read_it_as_text(self):
        models = ("@dataclass\nclass T:\n    a: int = 0\n    b: Optional[int] = None\n    id: Optional[int] = None\n"
                  "@dataclass\nclass U:\n    b: Optional[int] = None\n    id: Optional[int] = None\n")
        readers = {  # (hand-written SQL, a rebuild or ALTER TABLE DROP COLUMN, the reader refused or None)
            "an index, in a rebuild": ('CREATE INDEX "t_b_desc" ON "t" ("b" DESC);', True, "index t_b_desc"),
            "a partial index": ('CREATE INDEX t_a ON t (a) WHERE "b" IS NOT NULL;', True, "index t_a"),
            "a view, in a DROP COLUMN": ('CREATE VIEW v AS SELECT "b" FROM t;', False, "view v"),
            "a view of another table's b": ('CREATE VIEW v AS SELECT u."b" FROM t JOIN u;',
                                            False, None),
        }
        for label, (sql, rebuild, refused) in readers.items():
            with self.subTest(label):
                project = with_hand_written(self, models, sql)
                changed = models.replace("    b: Optional[int] = None\n    id: Optional[int] = None\n@", "    id: "
                                         "Optional[int] = None\n@")
                project.models(changed.replace("a: int = 0", "a: int = 5") if rebuild else changed)
                if refused is None:
                    project.make()
                    continue
                with self.assertRaisesRegex(migrate.MigrateError, f"cannot drop column t\\.b: {refused} names \"b\" "
                                            "in double quotes, which SQLite reads as the text 'b' once the column is "
                                            "gone"):
                    project.make()
                self.assertEqual(len(project.files()), 2, "nothing was written")

    def test_a_models_named_index_made_anew_without_a_dropped_column_is_no_reader_of_it(self):
        project = Project(self)
        steps = [("    a: int = 0\n    b: int = 0\n", {"ab": ("a", "b")}),
                 ("    a: int = 0\n", {"ab": ("a",)}),  # b dropped, ab made anew: by ALTER TABLE DROP COLUMN
                 ("    a: int = 0\n    b: int = 0\n", {"ab": ("a",), "ix": "b"}),
                 ("    a: int = 0\n    __strict__ = True\n", {"ab": ("a",), "ix": "a"})]  # and in a rebuild
        for fields, indexes in steps:
            project.models(f"@dataclass\nclass T:\n{fields}    __indexes__ = {indexes!r}\n")
            project.make()
        project.apply()
        self.assertEqual(project.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 't' "
                                       "ORDER BY name"),
                         [("ab", 'CREATE INDEX "ab" ON "t" ("a")'), ("ix", 'CREATE INDEX "ix" ON "t" ("a")')])

    def test_double_quoted_text_that_a_new_column_would_turn_into_its_name_is_refused(self):
        # "lbl" is the text 'lbl' to SQLite while no column is named so, and the column once one is
        models = ("@dataclass\nclass A:\n    note: Optional[str] = None\n    id: Optional[int] = None\n"
                  "@dataclass\nclass Other:\n    lbl: str = ''\n    id: Optional[int] = None\n")  # (lbl elsewhere)
        readers = {
            "a trigger": 'CREATE TRIGGER "a_note" AFTER INSERT ON "a" BEGIN UPDATE "a" SET "note" = "lbl" '
                         'WHERE "id" = new."id"; END;',
            "a view": 'ANALYZE;\nCREATE VIEW "stats" AS SELECT * FROM sqlite_stat1;\n'  # (a view a copy cannot make)
                      'CREATE VIEW "va" AS SELECT "id", "lbl" AS tag FROM "a";',
            "an index": 'CREATE INDEX "a_open" ON "a" ("note") WHERE "note" != "lbl";',
            # (in a CTE, which SQLite's rename rewrite does not reach, so each word is tried in brackets)
            "a view (CTE)": 'CREATE VIEW "vc" AS WITH q AS (SELECT "lbl" AS k) SELECT "id", (SELECT k FROM q) AS tag '
                            'FROM "a";',
            "a trigger (CTE)": 'CREATE TRIGGER "a_cte" AFTER INSERT ON "a" BEGIN UPDATE "a" SET "note" = '
                               '(WITH q AS (SELECT "lbl" AS k) SELECT k FROM q) WHERE "id" = new."id"; END;',
        }
        changes = {  # (a RENAME COLUMN to lbl is no matter: SQLite writes "lbl" as 'lbl' as it renames)
            "an added column": models.replace("    id:", "    lbl: Optional[str] = 'secret'\n    id:"),
            "a rebuild": models.replace("    id:", "    lbl: str = 'secret'\n    id:").replace(
                "note: Optional[str] = None", "note: str = ''"),
        }
        for reader, sql in readers.items():
            for how, changed in changes.items():
                with self.subTest(reader=reader, change=how):
                    project = with_hand_written(self, models, sql)
                    project.models(changed)
                    name = reader.split()[1]
                    with self.assertRaisesRegex(migrate.MigrateError, rf'^cannot add column a\.lbl: {name} \S+ says '
                                                r'"lbl" in double quotes, which SQLite reads as the text \'lbl\' while '
                                                "no column has that name, and as the column once it has: write 'lbl' "
                                                "in single quotes \\(or the name as you mean it\\) in the model or a "
                                                "hand-written migration first; nothing was written$"):
                        project.make()
                    self.assertEqual(len(project.files()), 2, "nothing was written")
        qualified = with_hand_written(self, models, 'CREATE VIEW "vq" AS SELECT a."lbl" AS k FROM "a";')
        qualified.models(changes["an added column"])  # a."lbl" is never text: the view only fails until then
        with self.assertRaises(migrate.MigrateError) as caught:
            qualified.make()  # (its down section's DROP COLUMN would fail on the view)
        self.assertNotIn("in double quotes", str(caught.exception))
        project.models(models.replace("    id:", "    other: Optional[str] = None\n    id:", 1))
        self.assertEqual(project.make().operations, ("+ Add column a.other",))  # "lbl" stays text: no matter
        project.models(models.replace("    id:", "    other: Optional[str] = None\n    id:", 1).replace("note:", "lbl:"))
        result = project.make(questioner=migrate.Questioner(renames=["a.note=lbl"]))
        self.assertEqual(result.operations, ("~ Rename column a.note to lbl",))
        # a CHECK or generated column's expression with the text "done", as an earlier migrate.py wrote it
        # (models refuse "done" there now: they write 'done', which compares equal)
        with_check = ("@dataclass\nclass A:\n    status: str = field(default='', metadata={'check': "
                      "\"status != 'done'\"})\n    id: Optional[int] = None\n")
        history = ("-- migrate:up\nCREATE TABLE \"a\" (\n    \"status\" TEXT NOT NULL DEFAULT '' CHECK (status != "
                   "\"done\"),\n    {more}\"id\" INTEGER PRIMARY KEY\n);\n")
        with_generated = ("@dataclass\nclass A:\n    n: int = 0\n    status: str = field(default='', metadata={"
                          "'generated': \"CASE WHEN n > 0 THEN 1 ELSE 'done' END\"})\n    id: Optional[int] = None\n")
        generated = ("-- migrate:up\nCREATE TABLE \"a\" (\n    \"n\" INTEGER NOT NULL DEFAULT 0,\n    \"status\" TEXT "
                     "GENERATED ALWAYS AS (CASE WHEN n > 0 THEN 1 ELSE \"done\" END) VIRTUAL NOT NULL,\n    \"id\" "
                     "INTEGER PRIMARY KEY\n);\n")
        for model, sql, written in ((with_check, history.format(more=""), "CHECK (status != 'done')"),
                                    (with_generated, generated, "ELSE 'done' END")):
            checked = Project(self)  # "done" in the migrations, 'done' in the models
            checked.write_migration("0001_initial", sql)
            checked.models(model)
            self.assertEqual(checked.make(write=False).operations, ())
            checked.models(model.replace("    id:", "    done: int = 0\n    id:"))
            result = checked.make()  # a rebuild writes the expression as the model has it, 'done'
            self.assertEqual(result.operations, ("+ Add column a.done",))
            self.assertIn(written, result.up[0])
        checked.models(with_generated.replace("'done'", "\\\"done\\\""))
        with self.assertRaisesRegex(migrate.MigrateError, 'field status: its generated expression says "done" in '
                                    "double quotes, which names no column of the table"):  # (no field done now)
            checked.make(write=False)
        moved = Project(self)  # the table renamed in the same change, or the column with the CHECK itself
        moved.write_migration("0001_initial", history.format(more="\"old\" TEXT NOT NULL DEFAULT '',\n    "))
        moved.models(with_check.replace("    id:", "    old: str = ''\n    id:"))
        self.assertEqual(moved.make(write=False).operations, ())
        changes = {"a renamed table": (with_check.replace("class A:", "class B:").replace(
                       "    id:", "    old: str = ''\n    done: int = 0\n    id:"), ["a=b"], "b.done"),
                   "its own column renamed": (with_check.replace("status", "done").replace(
                       "    id:", "    old: str = ''\n    id:"), ["a.status=done"], "a.done")}
        for how, (changed, renames, done) in changes.items():
            with self.subTest(how):  # the CHECK written anew, as the model has it: 'done' stays text
                moved.models(changed)
                up = moved.make(write=False, questioner=migrate.Questioner(renames=renames)).up
                if done == "a.done":  # (SQLite's RENAME COLUMN writes "done" as 'done' as it renames)
                    self.assertEqual(up, ('ALTER TABLE "a" RENAME COLUMN "status" TO "done"',))
                else:
                    self.assertIn("CHECK (status != 'done')", "\n".join(up))
        fresh = Project(self)  # a new column that a new CHECK names: "done" never was text
        fresh.models("@dataclass\nclass A:\n    status: str = ''\n    id: Optional[int] = None\n")
        fresh.make()
        fresh.models(with_check.replace("'done'", "done").replace("    id:", "    done: int = 0\n    id:"))
        self.assertEqual(fresh.make().operations, ("~ Alter column a.status: check changed", "+ Add column a.done"))

    def test_two_new_columns_where_one_checks_the_other_are_added_by_a_rebuild(self):
        # ADD COLUMN meets one before the other, whichever the order; so does the down section's DROP COLUMN
        base = "@dataclass\nclass A:\n    status: str = ''\n    id: Optional[int] = None\n"
        done = "    done: str = 'x'\n"
        other = "    other: str = field(default='', metadata={'check': 'other IS NOT done'})\n"
        for fields in (done + other, other + done):
            with self.subTest(fields=fields):
                project = Project(self)
                project.models(base)
                project.make()
                project.apply()
                project.models(base.replace("    id:", fields + "    id:"))
                self.assertIn("Rebuild a: column other's CHECK reads done, which is new too", project.make().up[0])
                project.apply()
                project.revert()
                self.assertEqual(project.query("SELECT name FROM pragma_table_info('a') ORDER BY cid"),
                                 [("status",), ("id",)])

    def test_nullable_column_on_big_table_is_a_constant_time_alter(self):
        project = self.prepare()
        project.models(change("pages: Optional[int] = None", "pages: Optional[int] = None\n"
                              "    isbn: Optional[str] = None"))
        result = project.make()
        self.assertEqual(result.up, ('ALTER TABLE "book" ADD COLUMN "isbn" TEXT',))

    def test_renaming_a_referenced_table_keeps_foreign_keys_pointing_at_it(self):
        project = self.prepare()
        project.models(BASE.replace("class Author:", "class Writer:").replace("author: Author", "author: Writer")
                       .replace("FROM book b JOIN author", "FROM book b JOIN writer"))
        project.make(questioner=migrate.Questioner(renames=["author=writer"]))
        project.apply()
        self.assertEqual(project.query("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('book') ORDER BY 1"),
                         [("book",), ("writer",)])
        self.assertEqual(project.query("PRAGMA foreign_key_check"), [])
        self.assertEqual(project.make(write=False).operations, ())


if __name__ == "__main__":
    unittest.main()
