"""Other engines with SQLite semantics: libSQL connections (the `libsql`
package, which .ci/run installs into its test venv); skipped when absent."""
import os
import unittest

from tests.support import Project, migrate

try:
    import libsql
except ImportError:  # pragma: no cover - depends on the interpreter
    libsql = None

MODELS = """
@dataclass
class Author:
    name: str
    id: Optional[int] = field(default=None, metadata={"autoincrement": True})

@dataclass
class Book:
    author: Author = field(metadata={"on_delete": "CASCADE"})
    title: str = ""
    id: Optional[int] = None
"""


@unittest.skipIf(libsql is None, "the libsql package is not installed (.ci/run installs it)")
class LibsqlConnection(unittest.TestCase):
    def test_apply_rebuild_revert_and_status_through_a_libsql_connection(self):
        project = Project(self)
        project.models(MODELS)
        project.make()
        project.models(MODELS.replace('title: str = ""', "title: str = ''\n    pages: int = 0")
                       .replace("name: str", "name: str = field(metadata={'collate': 'NOCASE'})"))
        project.make()  # a rebuild of a referenced table
        conn = libsql.connect(project.db)
        self.addCleanup(conn.close)
        enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        steps = migrate.apply(conn, directory=project.directory, target="0001")
        self.assertEqual([s.action for s in steps], ["apply"])
        conn.execute("INSERT INTO author (name) VALUES ('Ann')")
        conn.execute("INSERT INTO book (author_id, title) VALUES (1, 'One')")
        conn.commit()
        migrate.apply(conn, directory=project.directory)
        self.assertEqual(conn.execute("SELECT author_id, title, pages FROM book").fetchall(), [(1, "One", 0)])
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], enforced)
        self.assertEqual([s.applied for s in migrate.status(conn, directory=project.directory)], [True, True])
        self.assertEqual(migrate.check(conn, models=project.models_path, directory=project.directory), [])
        project.write_migration("0003_bad", "-- migrate:up\nINSERT INTO nowhere VALUES (1);\n")
        with self.assertRaisesRegex(migrate.MigrateError, "0003_bad failed: no such table"):
            migrate.apply(conn, directory=project.directory)
        os.remove(os.path.join(project.directory, "0003_bad.sql"))
        migrate.revert(conn, directory=project.directory, target="zero")
        self.assertEqual(migrate.read_schema(conn).tables, ())
        self.assertFalse(conn.in_transaction)
        with self.assertRaisesRegex(migrate.MigrateError, "^--backup copies SQLite files through a sqlite3 connection "
                                    "or a path, and this Connection is neither: back the database up with its own "
                                    "tools, or pass its path; nothing was changed$"):
            migrate.apply(conn, directory=project.directory, backup=os.path.join(project.root, "copy.sqlite3"))


if __name__ == "__main__":
    unittest.main()
