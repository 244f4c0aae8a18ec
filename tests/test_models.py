"""Models -> Schema: every rule of the model contract in README.md."""
import os
import shutil
import sys
import tempfile
import unittest

from tests.support import Project, migrate


class ModelCase(unittest.TestCase):
    def schema(self, source: str, *, header: bool = True):
        project = Project(self)
        project.models(source, header=header)
        schema, unmanaged = migrate.schema_from_models(migrate.load_models(project.models_path))
        self.unmanaged = unmanaged
        return schema

    def table(self, source: str, name: str, **kw) -> "migrate.Table":
        table = self.schema(source, **kw).table(name)
        self.assertIsNotNone(table, f"no table {name}")
        return table

    def error(self, source: str, *fragments: str, header: bool = True) -> str:
        project = Project(self)
        project.models(source, header=header)
        with self.assertRaises(migrate.MigrateError) as caught:
            migrate.schema_from_models(migrate.load_models(project.models_path))
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message


class TableNames(ModelCase):
    def test_class_names_become_snake_case(self):
        schema = self.schema("""
            @dataclass
            class Question:
                id: int
            @dataclass
            class BlogPost:
                id: int
            @dataclass
            class HTTPLog:
                id: int
        """)
        self.assertEqual([t.name for t in schema.tables], ["blog_post", "http_log", "question"])

    def test_tablename_overrides(self):
        schema = self.schema("""
            @dataclass
            class Question:
                __tablename__ = "polls_question"
                id: int
        """)
        self.assertEqual([t.name for t in schema.tables], ["polls_question"])

    def test_private_abstract_and_imported_classes_are_not_tables_and_fields_inherit(self):
        schema = self.schema("""
            from datetime import date
            from dataclasses import dataclass as dc
            @dataclass
            class _Base:
                id: Optional[int] = None
            @dataclass
            class Timestamped:
                __abstract__ = True
                created: str = "now"
            @dataclass
            class Post(Timestamped):
                title: str = ""
                id: Optional[int] = None
            class NotADataclass:
                x: int
        """)
        self.assertEqual([t.name for t in schema.tables], ["post"])
        self.assertEqual([c.name for c in schema.table("post").columns], ["created", "title", "id"])

    def test_a_class_from_make_dataclass_is_a_table_on_every_python(self):
        schema = self.schema("""
            from dataclasses import make_dataclass
            Tag = make_dataclass("Tag", [("name", str), ("id", Optional[int], field(default=None))])
        """)
        self.assertEqual([t.name for t in schema.tables], ["tag"])
        self.assertEqual([c.name for c in schema.table("tag").columns], ["name", "id"])
        made = Project(self)  # (its __module__ is "types" before Python 3.12)
        made.models("from dataclasses import make_dataclass\n"
                    "Tag = make_dataclass('Tag', [('name', str), ('id', Optional[int], field(default=None))])\n")
        self.assertEqual(made.make().operations, ("+ Create table tag",))
        project = Project(self)  # its string annotations resolve where it was made
        with open(os.path.join(project.root, "tags_made_elsewhere.py"), "w") as handle:
            handle.write("from dataclasses import make_dataclass, field\nfrom typing import Optional\n"
                         "Tag = make_dataclass('Tag', [('name', 'str'), ('id', 'Optional[int]', field(default=None))])\n")
        self.addCleanup(sys.modules.pop, "tags_made_elsewhere", None)
        project.models("import datetime\nfrom dataclasses import make_dataclass\n"
                       "Event = make_dataclass('Event', [('on', 'datetime.date')])\n"
                       "from tags_made_elsewhere import Tag\n", header=False)
        schema, _ = migrate.schema_from_models(migrate.load_models(project.models_path))
        tables = [(t.name, [c.type for c in t.columns]) for t in schema.tables]
        self.assertIn(("event", ["TEXT"]), tables)
        self.assertEqual(len(tables), 1 if sys.version_info >= (3, 12) else 2, tables)  # (3.12 knows Tag's module)

    def test_options_are_inherited_but_managed_only_from_a_base_that_is_no_table(self):
        schema = self.schema("""
            class HandMade:
                __managed__ = False
            @dataclass
            class _Stamped:
                __strict__ = True
                created: str = ""
            @dataclass
            class Audit(HandMade):
                id: Optional[int] = None
            @dataclass
            class AuditCopy(Audit):
                pass
            class External:
                __managed__ = False
            @dataclass
            class OwnAudit(Audit, External):  # its own mixin counts, even after a parent model
                pass
            @dataclass
            class Note(_Stamped):
                id: Optional[int] = None
            @dataclass
            class Strict:
                __abstract__ = True
                __strict__ = True
                __indexes__ = ["name"]
                name: str = ""
            @dataclass
            class Legacy:
                __managed__ = False
                __unique__ = ["code"]
                code: str = ""
                id: Optional[int] = None
            @dataclass
            class Customer(Legacy):
                vip: bool = False
            @dataclass
            class Tag(Strict):
                id: Optional[int] = None
            Alias = Tag
        """)
        self.assertEqual(self.unmanaged, {"legacy", "audit", "own_audit"})  # customer is a table of its own, managed
        self.assertTrue(schema.table("note").strict)
        self.assertEqual([i.name for i in schema.table("customer").indexes], ["customer_code_uniq"])  # as its fields
        self.assertTrue(schema.table("tag").strict)
        self.assertEqual([i.name for i in schema.table("tag").indexes], ["tag_name_idx"])
        self.assertEqual(sorted(t.name for t in schema.tables),
                         ["audit", "audit_copy", "customer", "legacy", "note", "own_audit", "tag"])  # the alias once

    def test_a_django_meta_class_is_an_error_naming_what_to_use(self):
        self.error("@dataclass\nclass A:\n    class Meta:\n        db_table = 'things'\n        ordering = ['x']\n"
                   "    x: str = ''\n", "model A: its class Meta (db_table) is Django's", "use __tablename__")
        self.error("@dataclass\nclass A:\n    class Meta:\n        abstract = True\n    x: str = ''\n",
                   "class Meta (abstract) is Django's")
        self.table("@dataclass\nclass A:\n    class Meta:\n        name = 'xsdata uses Meta too'\n    x: str = ''\n", "a")

    def test_misspelled_options_and_option_annotations_are_errors(self):
        for line, fragments in (("__abstact__ = True", ("unknown option __abstact__", "did you mean __abstract__")),
                                ("__unique_together__ = [('a', 'b')]", ("did you mean __unique__",)),
                                ("__index__ = ['a']", ("did you mean __indexes__",)),
                                ("__strict__ = 'yes'", ("__strict__ must be True or False",)),
                                ("__tablename__: str = 'things'", ("field __tablename__", "is an option, not a field",
                                                                   "without an annotation"))):
            with self.subTest(line):
                self.error(f"@dataclass\nclass A:\n    {line}\n    a: str = ''\n    b: str = ''\n",
                           "model A", *fragments)

    def test_two_models_on_one_table_is_an_error(self):
        self.error("""
            @dataclass
            class A:
                __tablename__ = "things"
                id: int
            @dataclass
            class B:
                __tablename__ = "Things"
                id: int
        """, "A", "B", "both map to table", "__tablename__")

    def test_two_fields_on_one_column_is_an_error_naming_both(self):
        self.error("""
            @dataclass
            class A:
                x: int = 0
                X: int = 0
        """, "model A: fields x and X both make column X (SQLite compares names without case): rename one of them")
        self.error("""
            @dataclass
            class B:
                id: Optional[int] = None
            @dataclass
            class A:
                b: Optional[B] = None
                B_id: int = 0
        """, "model A: fields b and B_id both make column B_id")


    def test_names_sqlite_litestream_d1_or_migrate_py_use_are_reserved(self):
        for name in ("sqlite_data", "_litestream_seq", "_CF_KV", "_migrations", "_New_question"):
            with self.subTest(name):
                self.error(f"@dataclass\nclass Data:\n    __tablename__ = {name!r}\n    x: int\n",
                           "model Data", f"table name {name} is reserved", "__tablename__")

    def test_a_name_with_a_line_break_or_control_character_is_refused_naming_the_model(self):
        # it would reach the migration file on a line of its own, even as a section marker
        for name in ("a\n-- migrate:down\nb", "tab\there", "bell\x07", "esc\x1b[31m", "p\u2028-- migrate:down", "n\x85l"):
            with self.subTest(name=name):
                self.error(f"@dataclass\nclass Data:\n    __tablename__ = {name!r}\n    x: int\n",
                           f"model Data: __tablename__ {name!r} holds a line break or another control character")
                self.error(f"@dataclass\nclass Data:\n    x: int\n    __indexes__ = {{{name!r}: 'x'}}\n",
                           f"model Data: __indexes__ index name {name!r} holds a line break")


class Columns(ModelCase):
    def test_python_types_map_to_sql_types_and_nullability(self):
        table = self.table("""
            import datetime, decimal, enum, uuid
            class Color(enum.Enum):
                RED = "red"
            class Level(enum.IntEnum):
                LOW = 1
            @dataclass
            class Everything:
                a: int
                b: str
                c: float
                d: bytes
                e: bool
                f: datetime.datetime
                g: datetime.date
                h: datetime.time
                i: decimal.Decimal
                j: uuid.UUID
                k: Color
                l: Level
                m: Optional[int]
                n: "str | None"
                o: typing.Union[float, None]
                p: str = field(default="x", metadata={"sql_type": "VARCHAR(30)"})
            import typing
        """, "everything")
        types = {c.name: (c.type, c.notnull) for c in table.columns}
        self.assertEqual(types, {
            "a": ("INTEGER", True), "b": ("TEXT", True), "c": ("REAL", True), "d": ("BLOB", True),
            "e": ("INTEGER", True), "f": ("TEXT", True), "g": ("TEXT", True), "h": ("TEXT", True),
            "i": ("TEXT", True), "j": ("TEXT", True), "k": ("TEXT", True), "l": ("INTEGER", True),
            "m": ("INTEGER", False), "n": ("TEXT", False), "o": ("REAL", False),
            "p": ("VARCHAR(30)", True)})
        self.assertEqual([c.name for c in table.columns], list("abcdefghijklmnop"))

    def test_a_models_file_without_the_future_import_keeps_its_annotations_as_objects(self):
        table = self.table("""
            from dataclasses import dataclass, fields
            from typing import Optional
            @dataclass
            class Post:
                n: int = 0
                id: Optional[int] = None
            assert fields(Post)[0].type is int, "compiled with migrate.py's own future import"
        """, "post", header=False)
        self.assertEqual([c.name for c in table.columns], ["n", "id"])

    def test_union_pipe_syntax_works_without_future_import_where_python_has_it(self):
        if sys.version_info < (3, 10):
            self.skipTest("int | None needs Python 3.10 outside string annotations")
        table = self.table("""
            from dataclasses import dataclass
            @dataclass
            class Thing:
                a: int | None
                b: None | str
        """, "thing", header=False)
        self.assertEqual([(c.name, c.notnull) for c in table.columns], [("a", False), ("b", False)])

    def test_union_pipe_syntax_in_string_annotations_works_nested_on_every_python(self):
        table = self.table("""
            import enum
            from typing import Annotated, Optional
            class Perm(enum.IntFlag):
                R = 1
                W = 2
            @dataclass
            class Thing:
                q: Annotated[Team | None, "doc"] = None
                n: Optional[int | None] = None
                t: "Team" | None = None
                u: None | str = None
                v: "Team" | "None" = None
                w: int | "None" = None
                p: Annotated[int | None, Perm.R | Perm.W] = None
                id: int | None = None
            @dataclass
            class Team:
                id: int
        """, "thing")  # (the future import: on Python 3.9 a `|` of types is read as Union)
        self.assertEqual([(c.name, c.type, c.notnull) for c in table.columns],
                         [("q_id", "INTEGER", False), ("n", "INTEGER", False), ("t_id", "INTEGER", False),
                          ("u", "TEXT", False), ("v_id", "INTEGER", False), ("w", "INTEGER", False),
                          ("p", "INTEGER", False), ("id", "INTEGER", True)])
        self.error("@dataclass\nclass T:\n    w: Nope | None = None\n",
                   "model T field w: annotation 'Nope | None' cannot be resolved: name 'Nope' is not defined")

    def test_annotated_and_newtype_stand_for_the_type_they_wrap(self):
        for header in (True, False):  # string annotations (the future import) and objects
            with self.subTest(future_import=header):
                schema = self.schema("""
                    from dataclasses import dataclass, field
                    from typing import Annotated, NewType, Optional
                    UserId = NewType("UserId", int)
                    Name = NewType("Name", str)
                    @dataclass
                    class Team:
                        id: UserId
                    @dataclass
                    class Member:
                        owner: UserId
                        name: Annotated[Name, "checked by the form"] = Name("x")
                        nick: Optional[Annotated[str, "free text"]] = None
                        team: Annotated[Optional[Team], "the member's team"] = None
                        score: Annotated[int, "points"] = field(default=0, metadata={"check": "score >= 0"})
                        id: Optional[int] = None
                """, header=header)
                self.assertEqual([c.definition for c in schema.table("member").columns], [
                    '"owner" INTEGER NOT NULL', "\"name\" TEXT NOT NULL DEFAULT 'x'", '"nick" TEXT',
                    '"team_id" INTEGER REFERENCES "team" ("id")',
                    '"score" INTEGER NOT NULL DEFAULT 0 CHECK (score >= 0)', '"id" INTEGER PRIMARY KEY'])
                self.assertEqual(schema.table("team").rowid_alias, "id")

    def test_unsupported_annotation_names_model_and_field(self):
        self.error("""
            @dataclass
            class Thing:
                tags: list
        """, "model Thing field tags", "unsupported annotation", "sql_type")
        self.error("""
            from typing import List
            @dataclass
            class Tag:
                id: int
            @dataclass
            class Thing:
                tags: List[Tag]
        """, "model Thing field tags: unsupported annotation typing.List[Tag];")  # not the module's name

    def test_a_field_typed_by_a_generic_bases_type_variable_says_so(self):
        generic = """
            from typing import Generic, TypeVar
            T = TypeVar("T")
            @dataclass
            class %sBox(Generic[T]):
                content: T
            @dataclass
            class IntBox(%sBox[int]):
                id: Optional[int] = None
        """
        self.error(generic % ("_", "_"), "model IntBox field content: its annotation is the type variable ~T, "
                   "which a table cannot hold: declare the field again in the model with its type, such as int or str")
        self.error(generic % ("", ""), "model Box field content: its annotation is the type variable ~T, which a "
                   "table cannot hold: make this generic class no table (__abstract__ = True, or a name that starts "
                   "with _) and declare the field with its type in the models that subclass it")
        self.error("from typing import TypeVar\nT = TypeVar('T')\n@dataclass\nclass Box:\n    content: T\n",
                   "model Box field content: its annotation is the type variable ~T, which a table cannot hold: "
                   "annotate it with a type, such as int or str")
        fixed = (generic % ("_", "_")).replace("id: Optional", "content: int = 0\n                id: Optional")
        self.assertEqual([c.name for c in self.table(fixed, "int_box").columns], ["content", "id"])

    def test_a_reference_to_a_dataclass_without_a_table_says_why_it_has_none(self):
        for base, why in (("@dataclass\nclass Owner:\n    __abstract__ = True\n    id: int\n", "__abstract__ = True"),
                          ("@dataclass\nclass _Owner:\n    id: int\nOwner = _Owner\n", "its name starts with _")):
            with self.subTest(why):
                self.error(base + "@dataclass\nclass Pet:\n    owner: Owner\n",
                           f"model Pet field owner: {'_' * why.startswith('its')}Owner has no table ({why}): "
                           "reference a model that has one")
        project = Project(self)  # the models as a dotted module name
        os.makedirs(os.path.join(project.root, "zoo"))
        with open(os.path.join(project.root, "zoo", "pets.py"), "w") as handle:
            handle.write("from dataclasses import dataclass\n@dataclass\nclass Owner:\n    __abstract__ = True\n"
                         "    id: int\n@dataclass\nclass Pet:\n    owner: Owner\n")
        result = project.cli("make", "--models", "zoo.pets")
        self.assertEqual((result.returncode, result.stderr), (1, "error: model Pet field owner: Owner has no table "
                         "(__abstract__ = True): reference a model that has one, or give the column "
                         "metadata={'references': ...}\n"))

    def test_unresolvable_annotation_names_model_and_field(self):
        self.error("""
            @dataclass
            class Thing:
                tag: Missing
        """, "model Thing field tag", "cannot be resolved")
        self.error("""
            @dataclass
            class Thing:
                tag: Optional["Nope"] = None
        """, "model Thing field tag", "cannot be resolved")

    def test_an_enum_nested_in_the_model_resolves_as_a_string_annotation(self):
        table = self.table("""
            import enum
            @dataclass
            class Post:
                class Status(enum.Enum):
                    DRAFT = "draft"
                status: Status = Status.DRAFT
                id: Optional[int] = None
        """, "post")
        self.assertEqual(table.columns[0].type, "TEXT")

    def test_a_dataclass_imported_from_elsewhere_is_no_model_and_the_error_says_so(self):
        self.error("""
            import dataclasses
            Point = dataclasses.make_dataclass("Point", [("x", int)])
            Point.__module__ = "geometry"
            @dataclass
            class Place:
                where: Point
        """, "model Place field where: Point is a dataclass from module geometry, and only those defined in "
             "the models module are models")

    def test_a_model_without_fields_is_an_error_saying_so(self):
        self.error("""
            from typing import ClassVar
            @dataclass
            class Post:
                kind: ClassVar[str] = "post"
        """, "model Post has no fields: annotate at least one")

    def test_a_table_sqlite_rejects_is_an_error_of_one_short_line(self):
        fields = "".join(f"    f{i}: int = 0\n" for i in range(2100))  # beyond SQLite's 2,000 columns
        message = self.error(f"@dataclass\nclass Wide:\n    id: int\n{fields}",
                             "model Wide: SQLite rejects its table: too many columns on wide (generated SQL: "
                             'CREATE TABLE "wide" ( "id" INTEGER PRIMARY KEY,')
        self.assertLess(len(message), 500, message)

    def test_mixed_enum_is_refused(self):
        self.error("""
            import enum
            class Mixed(enum.Enum):
                A = 1
                B = "b"
            @dataclass
            class Thing:
                m: Mixed
        """, "Thing field m", "enum Mixed")
        self.error("import enum\nclass Nothing(enum.Enum):\n    pass\n@dataclass\nclass Thing:\n    m: Nothing\n",
                   "model Thing field m: enum Nothing has no members, so no value fits the column: give it members")


class Defaults(ModelCase):
    def test_literal_defaults_are_escaped_and_factories_give_none(self):
        table = self.table("""
            import enum
            class Color(enum.Enum):
                RED = "red"
            @dataclass
            class Thing:
                a: int = 5
                b: float = -1.5
                c: str = "it's; DROP TABLE thing; --"
                d: bytes = b"\\x00\\xff"
                e: bool = True
                f: Optional[str] = None
                g: Color = Color.RED
                h: list = field(default_factory=list, metadata={"sql_type": "TEXT"})
                i: str = field(default="", metadata={"default_sql": "CURRENT_TIMESTAMP"})
        """, "thing")
        defaults = {c.name: c.default for c in table.columns}
        self.assertEqual(defaults, {
            "a": "5", "b": "-1.5", "c": "'it''s; DROP TABLE thing; --'", "d": "X'00FF'",
            "e": "1", "f": None, "g": "'red'", "h": None, "i": "CURRENT_TIMESTAMP"})

    def test_default_of_another_type_is_refused(self):
        for annotation, default in (("int", '"abc"'), ("str", "5"), ("bool", "1"), ("bytes", '"x"'), ("float", '"1.5"')):
            with self.subTest(f"{annotation} = {default}"):
                self.error(f"@dataclass\nclass A:\n    x: {annotation} = {default}\n", "model A field x",
                           f"is not {'an' if annotation == 'int' else 'a'} {annotation}")
        self.table("@dataclass\nclass A:\n    x: float = 2\n    y: Optional[int] = None\n", "a")  # int is a float
        header = "import datetime, decimal, enum, uuid\nclass Color(enum.Enum):\n    RED = 1\n"
        for annotation, default in (("Color", "'red'"), ("decimal.Decimal", "1.5"), ("datetime.date", "'nope'"),
                                    ("datetime.date", "datetime.datetime(2020, 1, 1)"),
                                    ("uuid.UUID", "3")):
            with self.subTest(f"{annotation} = {default}"):
                self.error(f"{header}@dataclass\nclass A:\n    x: {annotation} = {default}\n", "model A field x",
                           "is not a")
        self.error(f"{header}@dataclass\nclass A:\n    x: uuid.UUID = 3\n", "default 3 is not a UUID: give it a UUID")
        self.table(f"{header}@dataclass\nclass B:\n    c: Color = 1\n", "b")  # a member's value is fine
        table = self.table(f"{header}@dataclass\nclass A:\n    c: Color = Color.RED\n    d: decimal.Decimal = 2\n"
                           "    t: datetime.date = datetime.date(2026, 1, 1)\n", "a")
        self.assertEqual(table.column("d").default, "'2'")  # as Decimal(2) writes it: no rebuild between the two

    def test_default_that_has_no_sql_literal_is_refused(self):
        self.error("""
            @dataclass
            class Thing:
                a: float = float("nan")
        """, "model Thing field a", "default")
        self.error("@dataclass\nclass Thing:\n    a: str = '\\udc80'\n",  # (a byte that was no UTF-8)
                   "model Thing field a: '\\udc80' is not valid UTF-8 text (surrogates not allowed): fix the default")


    def test_none_needs_optional_and_a_bool_is_no_int_default(self):
        self.error("@dataclass\nclass T:\n    a: str = None\n", "model T field a: default None needs an Optional")
        self.error("@dataclass\nclass T:\n    flag: int = True\n", "model T field flag: default True is not an int")
        self.table("@dataclass\nclass T:\n    id: int = None\n    a: Optional[str] = None\n", "t")  # a key SQLite assigns
        created = self.table("@dataclass\nclass T:\n    at: str = field(default=None, metadata={'default_sql': "
                             "'CURRENT_TIMESTAMP'})\n", "t").column("at")  # the database fills it
        self.assertEqual((created.notnull, created.default), (True, "CURRENT_TIMESTAMP"))

    def test_a_foreign_keys_default_must_be_a_key_value_and_an_int_enums_default_no_bool(self):
        models = ("import uuid\n@dataclass\nclass Team:\n    id: int\n@dataclass\nclass Coded:\n    code: str = "
                  "field(metadata={{'primary_key': True}})\n@dataclass\nclass Org:\n    id: uuid.UUID\n"
                  "@dataclass\nclass Player:\n    {field}\n    id: Optional[int] = None\n")
        for field_, message in (("team: Team = 'abc'", "default 'abc' is no key of Team, whose id is INTEGER: give a "
                                 "value of its key's type, or no default"),
                                ("team: Optional[Team] = 1.5", "default 1.5 is no key of Team"),
                                ("team: Team = True", "default True is no key of Team"),
                                ("coded: Coded = 5", "default 5 is no key of Coded, whose code is TEXT")):
            self.error(models.format(field=field_), f"model Player field {field_.split(':')[0]}: {message}")
        for field_, column, default in (("team: Team = 1", "team_id", "1"),
                                        ("org: Org = uuid.UUID(int=1)", "org_id",
                                         "'00000000-0000-0000-0000-000000000001'")):
            self.assertEqual(self.table(models.format(field=field_), "player").column(column).default, default)
        self.error("import enum\nclass Level(enum.IntEnum):\n    LOW = 1\n@dataclass\nclass T:\n"
                   "    level: Level = True\n", "model T field level: default True is not a Level")

    def test_datetime_now_in_the_class_body_is_refused_and_a_fixed_time_is_kept(self):
        for annotation, now, shown, sql in (
                ("datetime", "datetime.now()", "datetime.datetime(", "CURRENT_TIMESTAMP"),
                ("datetime", "datetime.now(timezone.utc)", "datetime.datetime(", "CURRENT_TIMESTAMP"),
                ("datetime", "datetime.utcnow()", "datetime.datetime(", "CURRENT_TIMESTAMP"),
                ("date", "datetime.now()", "datetime.datetime(", "CURRENT_DATE"),  # the hint fits the column
                ("time", "datetime.now().time()", "datetime.time(", "CURRENT_TIME"),
                ("time", "datetime.now(timezone.utc).timetz()", "datetime.time(", "CURRENT_TIME")):
            with self.subTest(now=now):
                self.error(f"from datetime import date, datetime, time, timezone\n@dataclass\nclass Post:\n"
                           f"    at: {annotation} = {now}\n", f"model Post field at: default {shown}",
                           {"datetime": "datetime.now()", "date": "datetime.now()",
                            "time": "datetime.now().time()"}[annotation] + " in the class body", sql)
        kept = self.table("import datetime\n@dataclass\nclass Post:\n"
                          "    at: datetime.datetime = datetime.datetime(2020, 1, 2, 3, 4, 5)\n"
                          "    on: datetime.date = datetime.date.today()\n"  # as a date written out: not told apart
                          "    opens: datetime.time = datetime.datetime.now().time().replace(microsecond=0)\n"
                          "    made: datetime.datetime = field(default=datetime.datetime.now(), "
                          "metadata={'default_sql': 'CURRENT_TIMESTAMP'})\n", "post")  # the SQL default wins
        self.assertEqual(kept.column("at").default, "'2020-01-02 03:04:05'")  # as CURRENT_TIMESTAMP: they sort
        self.assertEqual(kept.column("made").default, "CURRENT_TIMESTAMP")
        self.table("import datetime\nclass NoOffset(datetime.tzinfo):\n    def utcoffset(self, when):\n        return None\n"
                   "@dataclass\nclass Post:\n    at: datetime.time = datetime.time(1, 2, 3, 4, tzinfo=NoOffset())\n",
                   "post")  # nothing to compare with now: kept, not a traceback
        self.table("import datetime\n@dataclass\nclass Post:\n    __managed__ = False\n"
                   "    at: datetime.datetime = datetime.datetime.now()\n", "post")  # make writes nothing for it

    def test_integer_default_beyond_64_bits_is_refused(self):
        self.error("@dataclass\nclass A:\n    x: int = 2**63\n", "model A field x", "outside SQLite's 64-bit integers")
        self.table("@dataclass\nclass A:\n    x: int = -2**63\n    y: int = 2**63 - 1\n    z: float = 2**70\n", "a")
        big = "import enum\nclass Big(enum.Enum):\n    SMALL = 1\n    HUGE = 2**70\n@dataclass\nclass A:\n"
        self.error(big + "    x: Big = Big.SMALL\n", "model A field x: enum Big member HUGE = 1180591620717411303424 "
                   "is outside SQLite's 64-bit integers: give it a smaller value, or make the enum's values str")
        self.error(big + "    x: Big = field(default=Big.HUGE, metadata={'sql_type': 'INTEGER'})\n",
                   "model A field x: enum Big member HUGE = 1180591620717411303424 is outside SQLite's 64-bit")
        self.error(big + "    x: Optional[Big] = field(default=None, metadata={'sql_type': 'BIGINT'})\n",
                   "model A field x: enum Big member HUGE = 1180591620717411303424 is outside SQLite's 64-bit")
        self.table(big + "    x: Optional[Big] = field(default=None, metadata={'sql_type': 'REAL'})\n", "a")
        self.error("import enum\nclass F(enum.Flag):\n    A = 1\n    BIG = 2**63 | 1\n@dataclass\nclass A:\n"
                   "    x: F = F.A\n", "model A field x: enum F member BIG = 9223372036854775809 is outside")

    def test_text_in_a_column_of_numeric_affinity_is_refused_for_it_would_become_a_number(self):
        # '007' would come back 7: the digits a str field is for
        for annotation, sql_type, affinity in (("str", "STRING", "NUMERIC"), ("str", "INT", "INTEGER"),
                                               ("Code", "NUMBER", "NUMERIC"), ("Sku", "DOUBLE", "REAL"),
                                               ("str", "DECIMAL(10,2)", "NUMERIC"), ("str", "UPDATE_COUNT", "NUMERIC")):
            with self.subTest(annotation=annotation, sql_type=sql_type):
                self.error("import enum\nclass Code(enum.Enum):\n    A = '007'\nclass Sku(str):\n    pass\n"
                           f"@dataclass\nclass A:\n    x: Optional[{annotation}] = field(default=None, "
                           f"metadata={{'sql_type': '{sql_type}'}})\n",
                           f"model A field x: sql_type {sql_type} has {affinity} affinity, under which SQLite "
                           "stores text that reads as a number as that number ('007' as 7): use a text type such "
                           "as TEXT or VARCHAR(n)")
        table = self.table("from decimal import Decimal\n@dataclass\nclass A:\n"
                           "    a: str = field(metadata={'sql_type': 'VARCHAR(3)'})\n"
                           "    b: str = field(metadata={'sql_type': 'DATETIME'})\n"  # text that reads as no number
                           "    c: str = field(metadata={'sql_type': 'JSON'})\n"
                           "    d: Decimal = field(metadata={'sql_type': 'DECIMAL(10,2)'})\n"  # a number, as Django's
                           "    e: str = field(metadata={'sql_type': 'BLOB'})\n"  # (stored as given)
                           "    f: str = field(metadata={'sql_type': 'SMALLDATETIME'})\n", "a")
        self.assertEqual([c.type for c in table.columns],
                         ["VARCHAR(3)", "DATETIME", "JSON", "DECIMAL(10,2)", "BLOB", "SMALLDATETIME"])
        strict = "@dataclass\nclass A:\n    __strict__ = True\n    a: str = field(metadata={'sql_type': '%s'})\n"
        self.table(strict % "ANY", "a")  # a STRICT table's ANY column keeps text as text; its INTEGER does not
        self.error(strict % "INTEGER", "model A field a: sql_type INTEGER has INTEGER affinity")

    def test_id_is_the_integer_primary_key_also_when_optional(self):
        for fields in ("id: int\n    name: str = ''", "name: str = ''\n    id: Optional[int] = None"):
            with self.subTest(fields=fields):
                table = self.table(f"@dataclass\nclass Thing:\n    {fields}\n", "thing")
                self.assertEqual(table.primary_key, ("id",))
                self.assertEqual(table.rowid_alias, "id")
                self.assertIn('"id" INTEGER PRIMARY KEY', table.sql)

    def test_marked_keys_make_a_composite_key(self):
        table = self.table("""
            @dataclass
            class Membership:
                group: int = field(metadata={"primary_key": True})
                user: int = field(metadata={"primary_key": True})
                id: int = 0
        """, "membership")
        self.assertEqual(table.primary_key, ("group", "user"))
        self.assertIsNone(table.rowid_alias)

    def test_text_key_and_no_key(self):
        schema = self.schema("""
            @dataclass
            class Country:
                code: str = field(metadata={"primary_key": True})
            @dataclass
            class Log:
                line: str
        """)
        self.assertEqual(schema.table("country").primary_key, ("code",))
        self.assertTrue(schema.table("country").column("code").notnull)
        self.assertEqual(schema.table("log").primary_key, ())

    def test_an_optional_key_is_refused_unless_sqlite_assigns_it(self):
        for fields in ("code: Optional[str] = field(default=None, metadata={'primary_key': True})",
                       "a: int = field(metadata={'primary_key': True})\n"
                       "    code: Optional[int] = field(default=None, metadata={'primary_key': True})",
                       "code: Optional[int] = field(default=None, metadata={'primary_key': True, 'sql_type': 'INT'})"):
            with self.subTest(fields=fields):  # NULL keys, as many as rows: never what a key means
                self.error(f"@dataclass\nclass Tag:\n    {fields}\n", "model Tag: key code is Optional",
                           "make it required (make then asks for a value for rows whose key is NULL)")
        self.table("@dataclass\nclass Tag:\n    code: Optional[int] = field(default=None, "
                   "metadata={'primary_key': True})\n", "tag")
        for metadata in ("{'primary_key': True}", "{'primary_key': True, 'sql_type': 'INTEGER'}"):
            with self.subTest(metadata=metadata):  # a one-to-one key: SQLite's number would be no user's
                self.error("@dataclass\nclass User:\n    id: Optional[int] = None\n"
                           f"@dataclass\nclass Profile:\n    user: Optional[User] = field(default=None, "
                           f"metadata={metadata})\n", "model Profile: key user is Optional, but it points at User",
                           "make it required")
        self.error("@dataclass\nclass User:\n    id: Optional[int] = None\n@dataclass\nclass Profile:\n"
                   "    user_id: Optional[int] = field(default=None, metadata={'primary_key': True, 'references': "
                   "'user'})\n", "model Profile: key user_id is Optional, but it points at user", "make it required")

    def test_autoincrement_needs_an_int_key(self):
        table = self.table("""
            @dataclass
            class Thing:
                id: Optional[int] = field(default=None, metadata={"autoincrement": True})
        """, "thing")
        self.assertTrue(table.autoincrement)
        self.error("""
            @dataclass
            class Thing:
                code: str = field(metadata={"autoincrement": True})
        """, "Thing field code", "autoincrement")


class ConstraintsAndIndexes(ModelCase):
    def test_unique_index_check_collate_and_composites(self):
        table = self.table("""
            @dataclass
            class Person:
                email: str = field(metadata={"unique": True, "collate": "NOCASE"})
                age: int = field(metadata={"check": "age >= 0", "index": True})
                first: str = ""
                last: str = ""
                id: Optional[int] = None
                __indexes__ = [("last", "first")]
                __unique__ = [("first", "last", "age")]
        """, "person")
        self.assertEqual(table.column("email").collate, "NOCASE")
        self.assertEqual(table.column("age").check, "age >= 0")  # as written: messages quote it
        indexes = {i.name: i.unique for i in table.indexes}
        self.assertEqual(indexes, {"person_email_uniq": True, "person_age_idx": False,
                                   "person_last_first_idx": False,
                                   "person_first_last_age_uniq": True})

    def test_table_checks_read_every_column_and_are_inherited_with_the_fields(self):
        source = """
            @dataclass
            class Span:
                start: int
                stop: int
                id: Optional[int] = None
                __checks__ = ["start <= stop", "stop - start < 100"]

            @dataclass
            class LabelledSpan(Span):
                label: str = ""
        """
        for name in ("span", "labelled_span"):
            self.assertEqual(self.table(source, name).checks, ('"start" <= "stop"', '"stop" - "start" < 100'))

    def test_table_checks_that_are_not_a_list_of_safe_expressions_are_errors(self):
        cases = {'"start <= stop"': "__checks__ must be a list of SQL expressions, like [\"start <= stop\"], "
                                    "not 'start <= stop'",
                 '{"ordered": "start <= stop"}': "__checks__ must be a list of SQL expressions",
                 "[1]": "__checks__ must be a list of SQL expressions",
                 '["  "]': "__checks__ holds an empty expression: remove it",
                 '["start <= stop); DROP TABLE span; --"]': "__checks__ entry holds a comment or a `;`",
                 '["start <= stop) OR (1"]': "__checks__ entry closes a parenthesis it did not open",
                 '["nope > 0"]': "SQLite rejects its table: no such column: nope"}
        for value, fragment in cases.items():
            with self.subTest(value):
                self.error(f"""
                    @dataclass
                    class Span:
                        start: int
                        stop: int
                        __checks__ = {value}
                """, "model Span: ", fragment)
        for misspelt, meant in (("__check__", "__checks__"), ("__constraints__", "__checks__ (and __unique__)")):
            self.error(f"""
                @dataclass
                class Span:
                    start: int
                    {misspelt} = ["start > 0"]
            """, f"model Span: unknown option {misspelt}; did you mean {meant}?")

    def test_a_double_quoted_word_that_names_no_column_in_a_check_is_an_error(self):
        for option, fragment in (('__checks__ = [\'"prce" >= 0\']', "model Item: __checks__ entry '\"prce\" >= 0'"),
                                 ("cost: int = field(default=0, metadata={'check': '\"prce\" >= 0'})",
                                  "model Item field cost: its check")):
            self.error(f"""
                @dataclass
                class Item:
                    price: int
                    {option}
            """, fragment, 'says "prce" in double quotes, which names no column of the table, so SQLite would read '
                           "it as the text 'prce': write 'prce' for text, or name a column")
        table = self.table("""
            @dataclass
            class Item:
                price: int = field(default=0, metadata={"check": '"price" >= 0 AND "Price" < "rowid"'})
                __checks__ = ['"price" <> ' + "'" + '"prce"' + "'"]  # (in a string: text)
        """, "item")
        self.assertEqual(table.checks, ('"price" <> \'"prce"\'',))

    def test_list_options_from_two_unrelated_bases_are_an_error_rather_than_one_taken(self):
        self.error("""
            @dataclass
            class _Priced:
                price: int = 0
                __checks__ = ["price >= 0"]

            @dataclass
            class _Ranged:
                lo: int = 0
                hi: int = 0
                __checks__ = ["lo <= hi"]

            @dataclass
            class Offer(_Priced, _Ranged):
                id: Optional[int] = None
        """, "model Offer: __checks__ comes from both _Priced and _Ranged, and only _Priced's would count: give Offer "
             "its own, such as __checks__ = _Priced.__checks__ + _Ranged.__checks__")
        table = self.table("""
            @dataclass
            class _Base:
                lo: int = 0
                __indexes__ = ["lo"]

            @dataclass
            class _Extended(_Base):
                hi: int = 0
                __indexes__ = _Base.__indexes__ + ["hi"]

            @dataclass
            class Span(_Extended):
                id: Optional[int] = None
        """, "span")  # a subclass's list that replaces its base's: taken as it is
        self.assertEqual([i.name for i in table.indexes], ["span_hi_idx", "span_lo_idx"])

    def test_a_field_twice_in_one_index_and_autoincrement_on_a_key_not_declared_integer_are_errors(self):
        self.error("@dataclass\nclass T:\n    a: int = 0\n    __indexes__ = [('a', 'a')]\n",
                   "model T: __indexes__ names field a twice in one index ('a', 'a'): name it once")
        self.error("@dataclass\nclass T:\n    parent: Optional['T'] = None\n    id: Optional[int] = None\n"
                   "    __unique__ = {'u': ('parent', 'parent_id')}\n", "__unique__ names field parent_id twice")
        self.error("@dataclass\nclass T:\n    id: int = field(metadata={'sql_type': 'BIGINT', "
                   "'autoincrement': True})\n", "model T field id: autoincrement needs an int primary key declared "
                   "INTEGER, the rowid (BIGINT is not)")

    def test_unknown_field_in_composite_index_is_an_error(self):
        self.error("""
            @dataclass
            class Person:
                name: str
                __indexes__ = [("name", "nope")]
        """, "Person", "__indexes__", "nope")
        self.error("""
            @dataclass
            class Person:
                name: str
                __unique__ = {"by_nothing": ()}
        """, "model Person: __unique__ has an index over no field: name its fields, or remove it")

    def test_two_indexes_that_would_share_a_name_are_an_error_not_one_lost(self):
        for declared, field_index in (('__unique__ = [("org", "user")]', "unique"),
                                      ('__indexes__ = [("org", "user")]', "index")):
            with self.subTest(declared):
                self.error(f"""
                    @dataclass
                    class Member:
                        org: int
                        user: int
                        org_user: str = field(metadata={{"{field_index}": True}})
                        {declared}
                """, "model Member", "field org_user", "('org', 'user')", "rename the field")
        table = self.table("""
            @dataclass
            class Member:
                email: str = field(metadata={"unique": True})
                __unique__ = ["email"]
        """, "member")  # the same index declared twice is one index
        self.assertEqual([i.name for i in table.indexes], ["member_email_uniq"])

    def test_a_dict_names_its_indexes(self):
        table = self.table("""
            @dataclass
            class User:
                email: str
                last: str
                first: str
                __unique__ = {"idx_users_email": "email"}
                __indexes__ = {"users_by_name": ("last", "first"), "USERS_BY_NAME": ["last", "first"]}
        """, "user")  # names fold as SQLite's do: the same index twice is one
        self.assertEqual([(i.name, i.columns, i.unique) for i in table.indexes],
                         [("idx_users_email", ("email",), True), ("users_by_name", ("last", "first"), False)])
        for indexes, unique, fragments in (
                ('{"x": "last"}', '{"x": "last"}', ("__indexes__ x: ('last',) and __unique__ x: ('last',)",
                                                    "would both be the index x")),
                ('{"x": "last"}', '{"user_email_uniq": "last"}', ("would both be the index user_email_uniq",)),
                ('{"sqlite_x": "last"}', "[]", ("__indexes__ index name sqlite_x is reserved",)),
                ('{"_Migrations": "last"}', "[]", ("__indexes__ index name _Migrations is reserved",)),
                ("[]", '{"_new_user": "last"}', ("__unique__ index name _new_user is reserved",
                                               "_new_<table> while it rebuilds a table")),
                ('{"": "last"}', "[]", ("__indexes__ index name ''",)),
                ('{1: "last"}', "[]", ("__indexes__ index name 1",)),
                ('{"x": 5}', "[]", ("__indexes__ must be a list", "or a dict of index names", "not 5"))):
            with self.subTest(indexes=indexes, unique=unique):
                self.error(f"@dataclass\nclass User:\n    email: str = field(metadata={{'unique': True}})\n"
                           f"    last: str = ''\n    __indexes__ = {indexes}\n    __unique__ = {unique}\n",
                           "model User", *fragments)
        self.error("""
            @dataclass
            class A:
                x: str
                __indexes__ = {"by_x": "x"}
            @dataclass
            class B:
                x: str
                __indexes__ = {"by_x": "x"}
        """, "model B: SQLite rejects its table: index by_x already exists (model A made that name",
                   "rename a field or an index")

    def test_malformed_index_declarations_are_errors_not_tracebacks(self):
        for attribute, value in (("__indexes__", '[("name", 1)]'), ("__indexes__", "5"), ("__indexes__", "[1]"),
                                 ("__unique__", '[("name", None)]'), ("__unique__", '"name"')):
            with self.subTest(f"{attribute} = {value}"):
                self.error(f"@dataclass\nclass Person:\n    name: str\n    {attribute} = {value}\n",
                           "model Person", f"{attribute} must be a list of field names")

    def test_a_flat_tuple_of_names_is_ambiguous_and_a_name_another_model_made_is_named(self):
        self.error("@dataclass\nclass Booking:\n    __unique__ = ('driver', 'restaurant')\n    driver: str = ''\n"
                   "    restaurant: str = ''\n", "model Booking: __unique__ = ('driver', 'restaurant') is ambiguous",
                   "[('driver', 'restaurant')] for one index over them all", "['driver', 'restaurant'] for one each")
        self.error("""
            @dataclass
            class AB:
                __tablename__ = "a_b"
                c: str = field(default="", metadata={"index": True})
            @dataclass
            class A:
                b_c: str = field(default="", metadata={"index": True})
        """, "model A: SQLite rejects its table: index a_b_c_idx already exists (model AB made that name")

    def test_strict_without_rowid_and_unmanaged(self):
        schema = self.schema("""
            @dataclass
            class Point:
                x: int = field(metadata={"primary_key": True})
                y: int = field(metadata={"primary_key": True})
                __strict__ = True
                __without_rowid__ = True
            @dataclass
            class Legacy:
                __managed__ = False
                id: int
        """)
        point = schema.table("point")
        self.assertTrue(point.strict and point.without_rowid)
        self.assertEqual(self.unmanaged, {"legacy"})

    def test_without_rowid_needs_a_key(self):
        self.error("""
            @dataclass
            class Log:
                line: str
                __without_rowid__ = True
        """, "Log", "__without_rowid__")
        self.error("@dataclass\nclass Log:\n    line: str\n    id: Optional[int] = None\n    __without_rowid__ = True\n",
                   "model Log: key id is Optional, but a WITHOUT ROWID table never assigns keys")


class ForeignKeys(ModelCase):
    def test_model_annotations_become_id_columns_typed_like_the_target_key(self):
        schema = self.schema("""
            @dataclass
            class Country:
                code: str = field(metadata={"primary_key": True})
            @dataclass
            class Person:
                country: Country = field(metadata={"on_delete": "CASCADE", "on_update": "restrict"})
                boss: Optional["Person"] = None
                id: Optional[int] = None
        """)
        person = schema.table("person")
        self.assertEqual([(c.name, c.type, c.notnull) for c in person.columns],
                         [("country_id", "TEXT", True), ("boss_id", "INTEGER", False),
                          ("id", "INTEGER", True)])
        fks = {fk.columns: (fk.table, fk.to, fk.on_delete, fk.on_update) for fk in person.foreign_keys}
        self.assertEqual(fks, {("country_id",): ("country", ("code",), "CASCADE", "RESTRICT"),
                               ("boss_id",): ("person", ("id",), "NO ACTION", "NO ACTION")})
        self.assertEqual({i.name for i in person.indexes},
                         {"person_country_id_idx", "person_boss_id_idx"})

    def test_a_key_that_is_a_foreign_key_takes_its_type_along_any_chain_in_any_order(self):
        source = """
            @dataclass
            class D:
                a: A
                id: Optional[int] = None
            @dataclass
            class A:
                b: B = field(metadata={"primary_key": True})
            @dataclass
            class B:
                c: C = field(metadata={"primary_key": True})
            @dataclass
            class C:
                id: str
        """
        schema = self.schema(source)
        self.assertEqual([(t.name, t.columns[0].type) for t in schema.tables],
                         [("a", "TEXT"), ("b", "TEXT"), ("c", "TEXT"), ("d", "TEXT")])

    def test_references_metadata_uses_the_field_name(self):
        person = self.table("""
            @dataclass
            class Team:
                slug: str = field(metadata={"unique": True})
                id: Optional[int] = None
            @dataclass
            class Person:
                team: int = field(metadata={"references": "team"})
                team_slug: str = field(metadata={"references": "team(slug)"})
                id: Optional[int] = None
        """, "person")
        fks = sorted((fk.columns, fk.table, fk.to) for fk in person.foreign_keys)
        self.assertEqual(fks, [(("team",), "team", ("id",)), (("team_slug",), "team", ("slug",))])

    def test_reference_to_unknown_table_and_bad_action_are_errors(self):
        self.error("""
            @dataclass
            class Person:
                team: int = field(metadata={"references": "nowhere"})
        """, "Person field team", "unknown table", "nowhere")
        team = "@dataclass\nclass Team:\n    id: int\n@dataclass\nclass Person:\n    team: Team = field(metadata=%r)\n"
        self.error("@dataclass\nclass T:\n    a: Optional[int] = field(default=None, metadata={'on_delete': 'CASCADE'})\n",
                   "model T field a: on_delete needs a foreign key: annotate the field with a model")
        for metadata, fragment in (({"on_delete": "EXPLODE"}, "on_delete must be one of CASCADE, SET NULL, SET "
                                                              "DEFAULT, RESTRICT, NO ACTION, not 'EXPLODE'"),
                                   ({"on_delete": "set null"}, "on_delete SET NULL needs a nullable field"),
                                   ({"on_update": "SET DEFAULT"}, "on_update SET DEFAULT needs a default")):
            self.error(team % metadata, "Person field team", fragment)
        for shape in ("team: Team = field(default=1, metadata=%r)", "team: Optional[Team] = field(default=None, "
                      "metadata=%r)", "team: Team = field(metadata={'default_sql': '1', **%r})"):
            self.table(team.replace("team: Team = field(metadata=%r)", shape) % {"on_delete": "SET DEFAULT"},
                       "person")  # the default it sets, or NULL (Django's E321 wants one too)
        self.table("""
            @dataclass
            class Team:
                id: int
            @dataclass
            class Person:
                team: Optional[Team] = field(default=None, metadata={"on_delete": "SET NULL"})
                id: int = field(default=0, metadata={"sql_type": "integer", "primary_key": True,
                                                     "autoincrement": True})
        """, "person")


    def test_metadata_that_should_be_text_is_checked(self):
        for key, value in (("sql_type", 5), ("collate", 5), ("check", True), ("references", None)):
            with self.subTest(key):
                self.error(f"@dataclass\nclass A:\n    x: int = field(metadata={{{key!r}: {value!r}}})\n",
                           "model A field x", f"metadata {key!r} must be a string")

    def test_an_empty_sql_type_is_a_column_with_no_declared_type(self):
        table = self.table("import typing\n@dataclass\nclass Meta:\n"
                           "    value: object = field(metadata={'sql_type': ''})\n"
                           "    other: Optional[typing.Any] = field(default=None, metadata={'sql_type': ''})\n"
                           "    loose: typing.Any = field(default=None, metadata={'sql_type': ''})\n"  # None is Any too
                           "    anything: object = field(default=None, metadata={'sql_type': ''})\n"
                           "    given: typing.Any = field(default=None, metadata={'sql_type': '',\n"
                           "                                                      'default_sql': '1'})\n"
                           "    made: typing.Any = field(default=None, metadata={'sql_type': '', 'generated': '1'})\n"
                           "    plain: typing.Any = field(default=None, metadata={'sql_type': '',\n"
                           "                                                      'primary_key': False})\n"
                           "    id: Optional[int] = None\n", "meta")  # as an existing CREATE TABLE meta (value, other)
        self.assertEqual([(c.name, c.type, c.notnull) for c in table.columns],
                         [("value", "", True), ("other", "", False), ("loose", "", False), ("anything", "", False),
                          ("given", "", True), ("made", "", True), ("plain", "", False), ("id", "INTEGER", True)])
        # (given's and made's None is Python's alone, as before)
        self.error("import typing\n@dataclass\nclass K:\n    k: typing.Any = field(default=None, metadata={"
                   "'sql_type': '', 'primary_key': True})\n", "model K field k: default None needs an Optional")
        child = self.table("@dataclass\nclass Meta:\n    id: int\n@dataclass\nclass Note:\n"
                           "    meta: Meta = field(metadata={'sql_type': ''})\n    id: Optional[int] = None\n", "note")
        self.assertEqual(child.column("meta_id").type, "")  # a foreign key too, as `meta_id REFERENCES meta (id)`
        child = self.table("import typing\n@dataclass\nclass P:\n"
                           "    code: typing.Any = field(metadata={'sql_type': '', 'primary_key': True})\n"
                           "@dataclass\nclass C:\n    p: P\n    id: Optional[int] = None\n", "c")
        self.assertEqual(child.column("p_id").type, "")  # as its parent's key keeps '007', not 7
        strict_child = ("import typing\n@dataclass\nclass P:\n"
                        "    code: typing.Any = field(metadata={'sql_type': '', 'primary_key': True})\n"
                        "@dataclass\nclass C:\n    __strict__ = True\n    p: P{metadata}\n    id: Optional[int] = None\n")
        self.error(strict_child.replace("{metadata}", ""), "model C field p: P's primary key (code) has no declared type, and a "
                   "STRICT table's column needs one: give this field \"sql_type\": \"ANY\"")
        self.assertEqual(self.table(strict_child.replace("{metadata}", " = field(metadata={'sql_type': 'ANY'})"), "c")
                         .column("p_id").type, "ANY")
        for parent_strict, child_type in ((True, ""), (False, "ANY")):  # the child's type keeps what the key keeps
            with self.subTest(parent_strict=parent_strict):
                child = self.table(f"import typing\n@dataclass\nclass P:\n    __strict__ = {parent_strict}\n"
                                   "    code: typing.Any = field(metadata={'sql_type': 'ANY', 'primary_key': True})\n"
                                   "@dataclass\nclass C:\n    p: P\n    id: Optional[int] = None\n", "c")
                self.assertEqual(child.column("p_id").type, child_type)
        chain = self.schema("import typing\n@dataclass\nclass P:\n    __strict__ = True\n    code: typing.Any = field("
                            "metadata={'sql_type': 'ANY', 'primary_key': True})\n@dataclass\nclass Q:\n    p: P = "
                            "field(metadata={'primary_key': True})\n@dataclass\nclass R:\n    q: Q\n"
                            "    id: Optional[int] = None\n")  # along a key that is a foreign key too
        self.assertEqual((chain.table("q").column("p_id").type, chain.table("r").column("q_id").type), ("", ""))
        self.error("@dataclass\nclass S:\n    __strict__ = True\n    code: str = field(metadata={'sql_type': "
                   "'VARCHAR(20)'})\n", "model S: SQLite rejects its table: unknown datatype for s.code: "
                   "\"VARCHAR(20)\" (a STRICT table's columns take INT, INTEGER, REAL, TEXT, BLOB or ANY: give one "
                   "as the field's \"sql_type\")")
        self.error("@dataclass\nclass Meta:\n    __strict__ = True\n"
                   "    value: object = field(metadata={'sql_type': ''})\n",
                   "model Meta field value: a STRICT table's column needs a declared type: give \"sql_type\": "
                   "\"ANY\" for a column that keeps any value as given")
        self.error("@dataclass\nclass Meta:\n    value: object = field(metadata={'sql_type': ' '})\n",
                   "model Meta field value: metadata 'sql_type' is empty: leave it out (or give \"\" for no declared "
                   "type)")

    def test_a_generated_field_is_a_generated_always_column_virtual_unless_stored(self):
        table = self.table("@dataclass\nclass Item:\n    price: float\n    quantity: int = 1\n    total: "
                           "Optional[float] = field(default=0.0, metadata={'generated': 'price * quantity'})\n"
                           "    cents: int = field(default=None, metadata={'generated': 'price * 100', 'stored': True, "
                           "'index': True})\n    id: Optional[int] = None\n", "item")
        total, cents = table.column("total"), table.column("cents")
        self.assertEqual((total.type, total.notnull, total.default, total.generated[:8]),
                         ("REAL", False, None, "VIRTUAL "))  # its Python default is no DEFAULT
        self.assertIn("GENERATED ALWAYS AS (price * quantity) VIRTUAL", total.definition)
        self.assertEqual((cents.notnull, cents.generated[:7]), (True, "STORED "))  # NOT NULL: not Optional
        self.assertEqual([i.columns for i in table.indexes], [("cents",)])
        for metadata, fragment in (
                ("{'stored': True}", "metadata 'stored' is for a generated column: add 'generated' with its "
                                     "expression, or drop 'stored'"),
                ("{'generated': 'x', 'default_sql': '1'}", "a generated column (metadata 'generated') cannot also "
                                                            "take metadata 'default_sql': drop one of them"),
                ("{'generated': 'x', 'primary_key': True}", "cannot also take metadata 'primary_key'"),
                ("{'generated': 'x', 'references': 'item'}", "cannot also take metadata 'references'"),
                ("{'generated': 'x', 'stored': 1}", "metadata 'stored' must be True or False, not 1"),
                ("{'generated': 'x) , y INTEGER, CHECK (1'}", "metadata 'generated' closes a parenthesis it did "
                                                              "not open"),
                ("{'computed': 'x'}", "metadata 'computed' is not one of migrate.py's: did you mean 'generated'?"),
                ("{'generated': 'x', 'db_persist': True}", "did you mean 'stored'?"),
                ("{'generated': 'random()'}", "non-deterministic functions prohibited in generated columns"),
                ("{'generated': 'g + 1'}", 'generated column loop on "g"'),  # (SQLite says so once it is read)
                ("{'generated': 'x', 'persist': True}", "did you mean 'stored'?")):
            with self.subTest(metadata):
                self.error(f"@dataclass\nclass Item:\n    x: int\n    g: Optional[int] = field(default=None, "
                           f"metadata={metadata})\n    id: Optional[int] = None\n", "model Item", fragment)
        self.error("@dataclass\nclass Item:\n    id: int\n@dataclass\nclass Line:\n"
                   "    item: Item = field(metadata={'generated': '1'})\n",
                   "model Line field item: a generated column (metadata 'generated') cannot also take the annotation "
                   "Item (a foreign key): drop one of them")
        for old, new, said in (("VIRTUAL a", "STORED a", "VIRTUAL -> STORED"),  # (as make describes the change)
                               ("VIRTUAL a", "STORED b", "generated expression changed, VIRTUAL -> STORED"),
                               ("STORED a", "STORED b", "generated expression changed"),
                               (None, "STORED a", "made generated"), ("VIRTUAL a", None, "no longer generated")):
            self.assertEqual(migrate._generated_change(old, new), said)

    def test_metadata_pasted_into_the_sql_must_not_be_empty_or_cut_it_short(self):
        for key, value, fragment in (("default_sql", 3, "must be a string"), ("sql_type", " ", "is empty"),
                                     ("collate", "", "is empty"),
                                     ("sql_type", "TEXT --", "holds a comment or a `;`"),
                                     ("collate", "NOCASE /* x */", "holds a comment"),
                                     ("check", "x != ''; DROP TABLE a", "holds a comment or a `;`"),
                                     ("check", "x > 1) , y INTEGER, CHECK (1", "closes a parenthesis it did not open"),
                                     ("sql_type", "NUMERIC(10", "leaves a parenthesis open"),
                                     ("check", "x != 'a", "leaves a quote (') open")):
            with self.subTest(key=key, value=value):
                self.error(f"@dataclass\nclass A:\n    x: str = field(default='', metadata={{{key!r}: {value!r}}})\n",
                           "model A field x", f"metadata {key!r}", fragment)
        table = self.table("@dataclass\nclass A:\n    x: str = field(default='', metadata={'check': \"x != '--)'\"})\n",
                           "a")
        self.assertEqual([c.name for c in table.columns], ["x"])  # in a string it is text

    def test_options_that_would_be_ignored_beside_another_are_errors(self):
        self.error("@dataclass\nclass Question:\n    id: int\n@dataclass\nclass Choice:\n    id: int\n"
                   "@dataclass\nclass Vote:\n    choice: Choice = field(metadata={'references': 'question'})\n",
                   "model Vote field choice: the annotation Choice already references that model's table: drop "
                   "metadata 'references'")
        self.error("@dataclass\nclass Vote:\n    id: int = field(metadata={'primary_key': False})\n    n: int = 0\n",
                   "model Vote field id: primary_key=False does not stop `id` being the primary key")
        table = self.table("@dataclass\nclass Vote:\n    id: int = field(default=0, metadata={'primary_key': False})\n"
                           "    code: str = field(default='', metadata={'primary_key': True})\n", "vote")
        self.assertEqual(table.primary_key, ("code",))

    def test_a_subclass_of_a_model_without_its_own_dataclass_decorator_is_an_error(self):
        self.error("@dataclass\nclass Animal:\n    name: str\nclass Dog(Animal):\n    breed: str = 'mutt'\n",
                   "model Dog subclasses the dataclass Animal but is not a dataclass itself", "add @dataclass")
        table = self.table("@dataclass\nclass Animal:\n    name: str\nclass _Helper(Animal):\n    pass\n", "animal")
        self.assertEqual([c.name for c in table.columns], ["name"])
        table = self.table("@dataclass\nclass Animal:\n    name: str\nclass Pet(Animal):\n    __tablename__ = 'pet'\n",
                           "pet")  # no fields of its own to leave out: a table of the same fields
        self.assertEqual([c.name for c in table.columns], ["name"])

    def test_a_field_of_a_base_that_is_no_dataclass_is_an_error_not_a_column_left_out(self):
        mixin = ("from typing import ClassVar\nclass Timestamped:\n    kind: ClassVar[str] = 'post'\n%s"
                 "@dataclass\nclass Post(Timestamped):\n    title: str = ''\n    id: Optional[int] = None\n")
        self.error(mixin % "    created: str = ''\n", "model Post field created: it is declared in Timestamped, "
                   "which is not a dataclass, so @dataclass leaves it out of the model (no column): add @dataclass "
                   "to Timestamped")
        table = self.table((mixin % "    created: str = ''\n").replace("class Timestamped", "@dataclass\nclass "
                                                                         "Timestamped"), "post")
        self.assertEqual([c.name for c in table.columns], ["created", "title", "id"])
        for declared in ("    __strict__: bool = False\n", "    _cache: dict\n", "    MAX: Final = 100\n",
                         "    kind: CV[str] = 'post'\n"):  # options, private names, ClassVar (by any name), Final
            with self.subTest(declared=declared):
                table = self.table("from typing import ClassVar as CV, Final\n" + mixin % declared, "post")
                self.assertEqual([c.name for c in table.columns], ["title", "id"])
        table = self.table("from typing import Protocol\nclass Titled(Protocol):\n    title: str\n@dataclass\n"
                           "class Post(Titled):\n    body: str = ''\n    id: Optional[int] = None\n", "post")
        self.assertEqual([c.name for c in table.columns], ["body", "id"])  # a Protocol's names are no fields

    def test_sql_type_is_a_type_name_alone_as_sqlite_reads_it(self):
        for value in ("VARCHAR(20), owner TEXT", "INTEGER PRIMARY KEY", "INT REFERENCES nosuch", "TEXT NOT NULL",
                      "TEXT CHECK (x > 0)", "TEXT COLLATE NOCASE", "TEXT DEFAULT 'a'", '"VARCHAR"(20)'):
            with self.subTest(value):
                self.error(f"@dataclass\nclass A:\n    x: str = field(default='', metadata={{'sql_type': {value!r}}})\n",
                           "model A field x", f"metadata 'sql_type' {value!r} is not a type name")
        for value, declared in (("VARCHAR(20)", "VARCHAR(20)"), (" DECIMAL(10, 2) ", "DECIMAL(10, 2)"),
                                ("unsigned big int", "unsigned big int"), ("TIMESTAMP WITH TIME ZONE", None),
                                ('"TEXT"', "TEXT"), ("[my type]", "my type")):  # quoted: the name, as SQLite reads it
            with self.subTest(value):
                table = self.table(f"@dataclass\nclass A:\n    x: bytes = field(default=b'', "
                                   f"metadata={{'sql_type': {value!r}}})\n", "a")
                self.assertEqual(table.columns[0].type, declared or value)

    def test_flags_must_be_booleans_and_near_misses_of_our_keys_are_errors(self):
        for metadata, fragment in (({"unique": "no"}, "metadata 'unique' must be True or False"),
                                   ({"primary_key": 1}, "metadata 'primary_key' must be True or False"),
                                   ({"uniqe": True}, "metadata 'uniqe' is not one of migrate.py's: did you mean 'unique'?"),
                                   ({"db_index": True}, "did you mean 'index'?"),
                                   ({"null": True}, "make the annotation Optional"),
                                   ({"null": False}, "a field is NOT NULL unless its annotation is Optional[...]: "
                                                     "remove it"),
                                   ({"UNIQUE": True}, "metadata 'UNIQUE' is not one of migrate.py's: did you mean 'unique'?"),
                                   ({"pk": True}, "did you mean 'primary_key'?"),
                                   ({"db_collation": "NOCASE"}, "did you mean 'collate'?"),
                                   ({"db_default": "x"}, "give the field a Python default, or use 'default_sql'")):
            with self.subTest(metadata):
                self.error(f"@dataclass\nclass A:\n    x: str = field(default='', metadata={metadata!r})\n",
                           "model A field x", fragment)
        table = self.table("@dataclass\nclass A:\n    x: str = field(default='', metadata={'doc': 'other "
                           "libraries keys are theirs', 'sa': 1, 'type': 'Element', 'nullable': False, "
                           "'max_length': 20, 'default': 'x'})\n", "a")
        self.assertEqual([c.name for c in table.columns], ["x"])

    def test_reference_to_a_column_that_is_neither_key_nor_unique_is_an_error(self):
        team = """
            @dataclass
            class Team:
                name: str
                id: Optional[int] = None
            @dataclass
            class Player:
                team: str = field(metadata={"references": "team(%s)"})
                id: Optional[int] = None
        """
        for column in ("name", "nope"):
            with self.subTest(column):
                self.error(team % column, "model Player", f"team -> team({column})", "foreign key mismatch")
        odd = """
            @dataclass
            class Odd:
                __tablename__ = 'my "odd" table'
                order: str = ""
                id: Optional[int] = None
            @dataclass
            class Kid:
                parent: str = field(metadata={"references": 'my "odd" table(order)'})
        """  # SQLite doubles the '"' in the name it shows: the field is still named
        self.error(odd, 'model Kid: field parent -> my "odd" table(order) must point at the primary key')
        keyless = ("@dataclass\nclass Customer:\n    Id: Optional[int] = None\n@dataclass\nclass Purchase:\n"
                   "    customer_id: int = field(metadata={'references': 'customer(Id)'})\n"
                   "    id: Optional[int] = None\n")
        self.error(keyless, "model Purchase: field customer_id -> customer(Id) must point at", "customer has no "
                   "primary key: mark its field Id \"primary_key\": True (only a field named id, in lower case, is one "
                   "without saying), or mark it unique")


class LoadingModels(unittest.TestCase):
    def test_missing_file_and_import_failure_are_one_line_errors(self):
        project = Project(self)
        with self.assertRaisesRegex(migrate.MigrateError, "not found"):
            migrate.load_models(project.models_path)
        project.models("raise RuntimeError('boom')\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"failed to import: RuntimeError: boom \(line 4"):
            migrate.load_models(project.models_path)
        project.models("class Odd(Exception):\n    def __str__(self):\n        raise TypeError\nraise Odd()\n")
        with self.assertRaisesRegex(migrate.MigrateError, r"failed to import: Odd: \(its message cannot be shown\)"):
            migrate.load_models(project.models_path)
        project.models("def broken(:\n")
        with self.assertRaisesRegex(migrate.MigrateError, "SyntaxError"):
            migrate.load_models(project.models_path)
        with self.assertRaises(migrate.MigrateError) as missing:
            migrate.load_models("no_such_package.models")
        self.assertNotIn("frozen", str(missing.exception))
        os.makedirs(os.path.join(project.root, "app"))
        open(os.path.join(project.root, "app", "__init__.py"), "w").close()
        with open(os.path.join(project.root, "app", "models.py"), "w") as handle:
            handle.write("from .base import Base\n")
        cwd = os.getcwd()
        os.chdir(project.root)
        self.addCleanup(os.chdir, cwd)
        with self.assertRaisesRegex(migrate.MigrateError, "relative import.*; for a package, pass its module name: "
                                                          "--models app.models"):
            migrate.load_models(os.path.join("app", "models.py"))
        os.chdir(os.path.join(project.root, "app"))  # from inside the package: its name needs the folder above
        with self.assertRaisesRegex(migrate.MigrateError, r"; for a package, pass its module name: --models "
                                                          r"app.models, run from \.\.$"):
            migrate.load_models("models.py")

    def test_a_models_file_that_exits_is_an_error_not_a_gate_that_passes(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.make()
        for code in ("import sys\nsys.exit(0)\n", "class Stop(BaseException): pass\nraise Stop()\n"):
            with self.subTest(code):
                project.models(code + "@dataclass\nclass A:\n    id: int\n    more: int = 0\n")
                for args in (("make", "--check"), ("check",)):
                    result = project.cli(*args)
                    self.assertEqual(result.returncode, 1, result)
                    self.assertRegex(result.stderr, r"^error: models file models.py failed to import: "
                                                    r"(SystemExit: 0|Stop: ) \(line \d+ of models.py\)\n$")

    def test_a_models_file_that_changes_folder_does_not_move_where_migrations_are_written(self):
        project = Project(self)
        elsewhere = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, elsewhere)
        project.models(f"import os\nos.chdir({elsewhere!r})\n@dataclass\nclass A:\n    id: int\n")
        result = project.cli("make")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((project.files(), os.listdir(elsewhere)), (["0001_initial.sql"], []))

    def test_a_nul_byte_in_the_models_file_names_its_line(self):
        project = Project(self)
        project.models('@dataclass\nclass A:\n    id: int\n    name: str = "\0"\n')
        with self.assertRaises(migrate.MigrateError) as caught:
            project.make()
        self.assertTrue(str(caught.exception).endswith("models.py failed to import: SyntaxError: a NUL byte, "
                                                       "which Python source cannot hold: remove it (line 7 of "
                                                       "models.py)"), caught.exception)
        os.makedirs(os.path.join(project.root, "app"))
        os.rename(project.models_path, os.path.join(project.root, "app", "models.py"))
        result = project.cli("make", "--models", "app.models")  # imported by Python, whose error names no line
        self.assertEqual((result.returncode, result.stderr), (1, "error: models module app.models failed to import: "
                         "SyntaxError: a NUL byte, which Python source cannot hold: remove it (line 7 of models.py)\n"))

    def test_abstract_must_be_true_or_false(self):
        project = Project(self)
        project.models('@dataclass\nclass A:\n    __abstract__ = "False"\n    id: int\n')
        with self.assertRaisesRegex(migrate.MigrateError, "model A: __abstract__ must be True or False, not 'False'"):
            project.make()

    def test_changed_file_is_reloaded_and_leaves_no_bytecode(self):
        import os
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        first = migrate.schema_from_models(migrate.load_models(project.models_path))[0]
        project.models("@dataclass\nclass B:\n    id: int\n")
        second = migrate.schema_from_models(migrate.load_models(project.models_path))[0]
        self.assertEqual([t.name for t in first.tables], ["a"])
        self.assertEqual([t.name for t in second.tables], ["b"])
        self.assertFalse(os.path.exists(os.path.join(project.root, "__pycache__")))

    def test_two_projects_in_one_process_each_get_their_own_models_and_helper_modules(self):
        projects = [Project(self), Project(self)]
        helpers = ("import enum\nclass Status(enum.Enum):\n    OPEN = 'open'\n",
                   "import enum\nclass Status(enum.IntEnum):\n    LOW = 1\n")
        for project, helper in zip(projects, helpers):
            with open(os.path.join(project.root, "status_kinds.py"), "w") as handle:
                handle.write(helper)
            project.models("import datetime\nfrom status_kinds import Status\n\n@dataclass\nclass Ticket:\n"
                           "    status: Status\n    due: Optional[datetime.date]\n    id: Optional[int] = None\n")
        modules = [migrate.load_models(project.models_path) for project in projects]
        for module, kind in zip(modules, ("TEXT", "INTEGER")):  # the first still resolves its own names
            columns = {c.name: c.type for c in migrate.schema_from_models(module)[0].tables[0].columns}
            self.assertEqual(columns, {"status": kind, "due": "TEXT", "id": "INTEGER"})
        with open(os.path.join(projects[0].root, "status_kinds.py"), "w") as handle:  # an edited helper: read anew
            handle.write(helpers[1])
        module = migrate.load_models(projects[0].models_path)
        self.assertEqual(migrate.schema_from_models(module)[0].tables[0].columns[0].type, "INTEGER")

    def test_helper_modules_loaded_again_unchanged_stay_the_ones_the_application_imported(self):
        project = Project(self)
        with open(os.path.join(project.root, "status_kinds.py"), "w") as handle:
            handle.write("import enum\nclass Status(enum.Enum):\n    OPEN = 'open'\n")
        project.models("from status_kinds import Status\n\n@dataclass\nclass Ticket:\n    status: Status\n"
                       "    id: Optional[int] = None\n")
        self.addCleanup(sys.modules.pop, "status_kinds", None)
        migrate.load_models(project.models_path)
        imported = sys.modules["status_kinds"]  # as the application's `import status_kinds` finds it
        for _ in range(2):  # a test suite that checks its models in every test
            migrate.load_models(project.models_path)
            self.assertIs(sys.modules["status_kinds"], imported)

    def test_packages_of_a_virtualenv_inside_the_project_are_not_read_anew(self):
        project = Project(self)
        site = os.path.join(project.root, ".venv", "lib", "site-packages")
        os.makedirs(os.path.join(site, "venv_only_pkg"))
        open(os.path.join(site, "venv_only_pkg", "__init__.py"), "w").close()
        sys.path.insert(0, site)
        self.addCleanup(sys.path.remove, site)
        self.addCleanup(sys.modules.pop, "venv_only_pkg", None)
        project.models("import venv_only_pkg\n\n@dataclass\nclass A:\n    id: int\n")
        migrate.load_models(project.models_path)
        first = sys.modules["venv_only_pkg"]
        migrate.load_models(project.models_path)
        self.assertIs(sys.modules["venv_only_pkg"], first)  # the application's copy is the one it keeps using


if __name__ == "__main__":
    unittest.main()
