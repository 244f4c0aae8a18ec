"""Export for Cloudflare D1: wrangler migration files, up SQL only."""
import os
import sqlite3
import unittest

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
        self.assertEqual(sorted(os.listdir(out)), ["0001_initial.sql", "0002_add_child_note.sql"])
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


if __name__ == "__main__":
    unittest.main()
