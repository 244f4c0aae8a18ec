"""Migration files: names, sections, statement splitting, checksums."""
import os
import re
import sys
import unittest

from tests.support import Project, migrate


class Splitting(unittest.TestCase):
    def test_semicolons_in_strings_names_comments_and_trigger_bodies_do_not_split(self):
        sql = """
            INSERT INTO t VALUES ('a;b', "c;d");  -- trailing; comment
            /* block; comment */ CREATE TABLE "x;y" ([semi;colon] TEXT, `back;tick` INT);
            CREATE TRIGGER tr AFTER INSERT ON t BEGIN
                UPDATE t SET a = 'x;' WHERE rowid = new.rowid;
                DELETE FROM t WHERE 0;
            END;
            SELECT 1; SELECT 2;
            SELECT 3
        """
        statements = migrate.split_statements(sql)
        self.assertEqual(len(statements), 6, statements)
        self.assertTrue(statements[2].endswith("END;"), statements[2])
        self.assertEqual(statements[-1], "SELECT 3")

    def test_many_quoted_semicolons_split_the_same_way(self):
        # after 32 semicolons that end nothing, the tokenizer finds the real end in one pass
        many = ";" * 40
        text = f"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT '{many}' /* {many} */; SELECT 2; END; SELECT 3;"
        self.assertEqual(migrate._statement_end(text, 0), text.index("END;") + 3)
        statements = [f"INSERT INTO t VALUES ('{many}', \"{many}\") /* {many} */;",
                      f"-- {many}\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT '{many}'; SELECT 2; END;",
                      "SELECT 3;", f"SELECT '{many}'"]
        self.assertEqual(migrate.split_statements("\n".join(statements)), statements)

    def test_comments_and_empty_statements_alone_are_dropped(self):
        self.assertEqual(migrate.split_statements("-- nothing\n;\n/* x */"), [])

    def test_only_the_spaces_sqlite_knows_make_a_statement_blank(self):
        # SQLite rejects U+00A0 and \v: skipping or trimming them would run other SQL than the file has
        self.assertEqual(migrate.split_statements(" \t\f\r\n;SELECT 1;\n"), ["SELECT 1;"])
        for odd in ("\xa0", "\v", "\u2003"):
            with self.subTest(space=repr(odd)):
                self.assertEqual(migrate.split_statements(f"SELECT 1;{odd};{odd}SELECT 2;"),
                                 ["SELECT 1;", f"{odd};", f"{odd}SELECT 2;"])


class Sections(unittest.TestCase):
    def test_up_and_down_sections(self):
        up, down = migrate.parse_sections("-- header\n-- migrate:up\nA;\n-- migrate:down\nB;\n")
        self.assertEqual((up, down), ("A;", "B;"))

    def test_a_rendered_migration_reads_back_and_a_string_for_a_list_is_refused(self):
        up, down = ["CREATE TABLE t (x)", "CREATE INDEX t_x ON t (x) -- why"], ["DROP TABLE t;"]
        text = migrate.render_migration(up, down, ["Made by hand"])
        self.assertEqual([migrate.split_statements(section) for section in migrate.parse_sections(text)],
                         [["CREATE TABLE t (x);", "CREATE INDEX t_x ON t (x) -- why\n;"], ["DROP TABLE t;"]])
        self.assertIsNone(migrate.parse_sections(migrate.render_migration(up, None, []))[1])
        with self.assertRaisesRegex(migrate.MigrateError, r"^render_migration takes up as a list of strings, not one "
                                    r"string: pass \['CREATE TABLE t \(x\)'\] or split_statements\(...\)"):
            migrate.render_migration("CREATE TABLE t (x)", None, [])

        self.assertEqual(migrate.parse_sections("-- migrate:up\nA;\n"), ("A;", None))
        self.assertEqual(migrate.parse_sections("-- migrate:up\nA;\n--  MIGRATE:DOWN \n"), ("A;", ""))

    def test_a_down_marker_inside_a_comment_or_string_of_the_up_section_is_an_error(self):
        for up in ("CREATE TABLE t (x);\n/*\n", "INSERT INTO t VALUES ('\n", "CREATE TRIGGER g AFTER INSERT ON t BEGIN\n"):
            with self.subTest(up=up):
                with self.assertRaisesRegex(migrate.MigrateError, "0001_x.sql: its `-- migrate:down` line is inside"):
                    migrate.parse_sections(f"-- migrate:up\n{up}-- migrate:down\n*/ INSERT INTO t VALUES (1);\n",
                                           "migrations/0001_x.sql")
        self.assertEqual(migrate.parse_sections("-- migrate:up\nA -- last words\n-- migrate:down\n"),
                         ("A -- last words", ""))

    def test_missing_or_repeated_up_is_an_error_naming_the_file(self):
        for text in ("A;", "-- migrate:down\nB;\n-- migrate:up\nA;", "-- migrate:up\n-- migrate:up\n"):
            with self.subTest(text=text):
                with self.assertRaisesRegex(migrate.MigrateError, "0001_x.sql.*migrate:up"):
                    migrate.parse_sections(text, "migrations/0001_x.sql")


    def test_a_line_meant_as_a_marker_that_is_not_one_is_an_error_not_a_comment(self):
        for marker in ("-- migrate:down transaction:false", "-- migrate: down", "-- migrate:down -- undo",
                       "--migrate :down", "-- MIGRATE:DOWN  transaction:false", "-- migrate:down;", "-- migrate:down:"):
            with self.subTest(marker=marker):  # else the down SQL would run with the up
                with self.assertRaisesRegex(migrate.MigrateError, f"0001_x.sql, line 3: '{marker}' is not a "
                                            "section marker"):
                    migrate.parse_sections(f"-- migrate:up\nCREATE TABLE t (x);\n{marker}\nDROP TABLE t;\n",
                                           "migrations/0001_x.sql")
        self.assertEqual(migrate.parse_sections("-- migrate:replaces 0001_a:00\n-- migrate:up\nA;\n"), ("A;", None))
        for comment in ("-- Migrate: copy the legacy rows", "-- migrate: update the counters", "-- migrate:downgrade",
                        "-- migrate: down time: 5 min"):
            with self.subTest(comment=comment):  # comments, as they were (files applied before stay readable)
                self.assertEqual(migrate.parse_sections(f"-- migrate:up\n{comment}\nA;\n"), (f"{comment}\nA;", None))

    def test_a_marker_with_a_pasted_odd_space_or_colon_is_an_error_not_a_comment(self):
        for marker in ("--\u00a0migrate:down", "-- migrate:down\u00a0", "--\u200bmigrate:down", "--\vmigrate:down",
                       "-- migrate\uff1adown", "--\u3000migrate:down", "-- migrate:\u2009up", "-- migrate:down\v",
                       "-- migrate:d\u043ewn", "-- m\u0456grate:down", "-- \u039cigrate:up"):  # Cyrillic o, i; Greek M
            with self.subTest(marker=ascii(marker)):  # SQLite reads each as a comment: the down SQL would run with the up
                shown = re.escape(ascii(marker))  # the odd character too
                with self.assertRaisesRegex(migrate.MigrateError, f"0001_x.sql, line 3: {shown} is meant as a section "
                                            "marker but holds a character other than a plain space, colon or "
                                            "Latin letter"):
                    migrate.parse_sections(f"-- migrate:up\nCREATE TABLE t (x);\n{marker}\nDROP TABLE t;\n",
                                           "migrations/0001_x.sql")
        for comment in ("-- обновить данные", "-- миграция вниз"):  # (Russian comments are comments)
            text = f"-- migrate:up\n{comment}\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n"
            self.assertEqual(migrate.parse_sections(text), (f"{comment}\nCREATE TABLE t (x);", "DROP TABLE t;"))
        text = "-- migrate:up\n-- café: migrate:down\u00a0later\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n"
        self.assertEqual(migrate.parse_sections(text), ("-- café: migrate:down\u00a0later\nCREATE TABLE t (x);",
                                                        "DROP TABLE t;"))

    def test_sql_before_the_up_marker_is_an_error(self):
        with self.assertRaisesRegex(migrate.MigrateError, "0001_x.sql has SQL before its `-- migrate:up` line"):
            migrate.parse_sections("CREATE TABLE audit (x);\n-- migrate:up\nA;\n", "migrations/0001_x.sql")
        self.assertEqual(migrate.parse_sections("-- a header\n/* notes */\n-- migrate:up\nA;\n"), ("A;", None))

class Directory(unittest.TestCase):
    def setUp(self):
        self.project = Project(self)

    def test_a_file_with_cr_line_endings_alone_is_refused_for_what_it_is(self):
        os.makedirs(self.project.directory, exist_ok=True)
        with open(os.path.join(self.project.directory, "0001_a.sql"), "wb") as handle:
            handle.write(b"-- migrate:up\rCREATE TABLE a (x); -- a note\r-- migrate:down\rDROP TABLE a;\r")
        with self.assertRaisesRegex(migrate.MigrateError, r"0001_a.sql ends its lines with CR alone \(an old Mac "
                                    r"format\), where an SQL `--` comment and a section marker line do not end: save "
                                    r"it with LF \(or CRLF\) line endings$"):
            migrate.read_migrations(self.project.directory)

    def test_a_lone_cr_in_a_file_of_lf_lines_is_refused_unless_a_string_or_name_holds_it(self):
        os.makedirs(self.project.directory, exist_ok=True)
        path = os.path.join(self.project.directory, "0001_a.sql")
        cases = {  # the CR before the marker made it a comment: the down section ran with the up
            b"-- migrate:up\nCREATE TABLE a (x);\r-- migrate:down\nDROP TABLE a;\n": 2,
            b"-- migrate:up\r\nCREATE TABLE a (x); -- a note\rDROP TABLE b;\r\n": 2,
            b"-- migrate:up\nINSERT INTO a VALUES ('a\rb');\n\n\rDELETE FROM a;\n": 4,
        }
        for text, line in cases.items():
            with self.subTest(text):
                with open(path, "wb") as handle:
                    handle.write(text)
                with self.assertRaisesRegex(migrate.MigrateError, f"0001_a.sql has a CR without an LF on line {line}, "
                                            "which an editor may show as a line end but SQLite and the section "
                                            "markers do not"):
                    migrate.read_migrations(self.project.directory)
        with open(path, "wb") as handle:  # a value's own CR, in a string or a name; one in a /* */; before spaces
            handle.write(b'-- migrate:up\nCREATE TABLE "a\rb" (x);\nINSERT INTO "a\rb" VALUES (\'1\r2\');\n'
                         b"/* a\rnote */ SELECT 1; \r  \nSELECT 2;\r")
        self.assertEqual(migrate.read_migrations(self.project.directory)[0].up,
                         'CREATE TABLE "a\rb" (x);\nINSERT INTO "a\rb" VALUES (\'1\r2\');\n'
                         "/* a\rnote */ SELECT 1; \r  \nSELECT 2;\r")

    def test_a_merge_conflict_left_in_a_file_is_refused_for_what_it_is(self):
        conflict = ("<<<<<<< HEAD\r\nALTER TABLE q ADD COLUMN a TEXT;\r\n=======\r\nALTER TABLE q ADD COLUMN b TEXT;"
                    "\r\n>>>>>>> other-branch\r\n")
        self.project.write_migration("0001_q", "-- migrate:up\nCREATE TABLE q (x);\n-- migrate:down\nDROP TABLE q;\n")
        self.project.write_migration("0002_merge", "-- migrate:up\n-- a note\n" + conflict)
        for command in ("status", "apply", "check"):
            with self.subTest(command):  # (apply said "the statement before its `-- migrate:down` line has no `;`")
                result = self.project.cli(command, "--no-models" if command == "check" else "-q")
                self.assertEqual((result.returncode, result.stderr), (1, "error: migration file "
                                 "migrations/0002_merge.sql has a merge conflict left in it (line 3: '<<<<<<< HEAD'): "
                                 "resolve it, then run make --check\n"))
        self.assertFalse(os.path.exists(self.project.db))
        self.project.write_migration("0002_merge", "-- migrate:up\nINSERT INTO q VALUES ('\n<<<<<<< a\n=======\n');\n")
        self.assertEqual(len(migrate.read_migrations(self.project.directory)), 2)  # no >>>>>>> line: a string

    def test_a_database_named_like_a_migration_is_refused_for_what_it_is(self):
        self.project.write_migration("0001_q", "-- migrate:up\nCREATE TABLE q (x);\n-- migrate:down\nDROP TABLE q;\n")
        self.project.apply()
        self.project.write_migration("0002_r", "-- migrate:up\nCREATE TABLE r (x);\n-- migrate:down\nDROP TABLE r;\n")
        result = self.project.cli("apply", "--backup", os.path.join("migrations", "0003_before.sql"))  # a slip
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.project.cli("status")
        self.assertEqual((result.returncode, result.stderr), (1, "error: migration file migrations/0003_before.sql "
                         "is a SQLite database, not SQL: move it out of the migrations folder\n"))

    def test_crlf_or_mixed_line_endings_and_a_byte_order_mark_keep_the_sections_apart(self):
        files = {"crlf": b"-- migrate:up\r\nCREATE TABLE a (x);\r\n-- migrate:down\r\nDROP TABLE a;\r\n",
                 "mixed": b"-- migrate:up\nCREATE TABLE a (x);\r\n-- migrate:down\r\nDROP TABLE a;\r\n",
                 "bom": b"\xef\xbb\xbf-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n"}
        os.makedirs(self.project.directory, exist_ok=True)
        for name, data in files.items():
            with self.subTest(name):
                with open(os.path.join(self.project.directory, "0001_a.sql"), "wb") as handle:
                    handle.write(data)
                migration = migrate.read_migrations(self.project.directory)[0]
                self.assertEqual(migrate.split_statements(migration.up), ["CREATE TABLE a (x);"])
                self.assertEqual(migrate.split_statements(migration.down), ["DROP TABLE a;"])
        self.project.apply()  # the down section never runs as part of the up
        self.assertEqual(self.project.query("SELECT name FROM sqlite_master WHERE name = 'a'"), [("a",)])
        for name, data in files.items():  # a checkout with other line endings is the same migration
            with self.subTest(name):
                with open(os.path.join(self.project.directory, "0001_a.sql"), "wb") as handle:
                    handle.write(data)
                self.assertEqual([(s.name, s.modified) for s in self.project.status()], [("0001_a", False)])
        recorded_raw = migrate.read_migrations(self.project.directory)[0].raw_checksum  # as earlier versions did
        self.project.execute(f"UPDATE _migrations SET checksum = '{recorded_raw}'")
        self.assertEqual(self.project.apply(), [])
        with open(os.path.join(self.project.directory, "0001_a.sql"), "wb") as handle:
            handle.write(files["bom"].replace(b"\xef\xbb\xbf", b""))  # a checkout with LF now
        self.assertEqual([s.modified for s in self.project.status()], [False])
        with open(os.path.join(self.project.directory, "0001_a.sql"), "ab") as handle:
            handle.write(b"SELECT 'an edit';\n")
        self.assertEqual([s.modified for s in self.project.status()], [True])

    def test_a_row_recorded_without_its_up_sql_knows_its_file_by_checksum_in_any_line_endings(self):
        # an earlier migrate.py recorded no up SQL: the checksum alone tells the file is as applied
        files = {"lf": b"-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;\n"}
        files["crlf"] = files["lf"].replace(b"\n", b"\r\n")
        files["bom"], files["bom crlf"] = b"\xef\xbb\xbf" + files["lf"], b"\xef\xbb\xbf" + files["crlf"]
        files["mixed"] = b"-- migrate:up\nCREATE TABLE a (x);\r\n-- migrate:down\r\nDROP TABLE a;\r\n"
        path = os.path.join(self.project.directory, "0001_a.sql")
        os.makedirs(self.project.directory, exist_ok=True)
        for recorded_as in ("crlf", "bom crlf", "mixed"):  # each checkout's raw checksum, as earlier versions did
            with open(path, "wb") as handle:
                handle.write(files[recorded_as])
            if not os.path.exists(self.project.db):
                self.project.apply()
            raw = migrate.read_migrations(self.project.directory)[0].raw_checksum
            self.project.execute(f"UPDATE _migrations SET checksum = '{raw}', up_sql = NULL")
            for name, data in files.items():
                if "mixed" in (recorded_as, name) and name != recorded_as:
                    continue  # (mixed line endings: only those very bytes)
                with self.subTest(recorded_as=recorded_as, checkout=name):
                    with open(path, "wb") as handle:
                        handle.write(data)
                    self.assertEqual([s.modified for s in self.project.status()], [False], data)
        with open(path, "ab") as handle:
            handle.write(b"SELECT 'an edit';\n")
        self.assertEqual([s.modified for s in self.project.status()], [True])

    def test_files_are_read_in_order_with_checksums_and_other_files_ignored(self):
        self.project.write_migration("0002_b", "-- migrate:up\nSELECT 'B';\n")
        self.project.write_migration("0001_a", "-- migrate:up\nSELECT 'A';\n-- migrate:down\n")
        for other in ("README.md", ".#0001_a.sql", "._0002_b.sql",  # notes, an editor's lock, macOS metadata
                      "0003_c.sql.1-0a1b2c3d.partial"):  # and what a make killed while writing leaves
            with open(os.path.join(self.project.directory, other), "w") as handle:
                handle.write("notes")
        migrations = migrate.read_migrations(self.project.directory)
        self.assertEqual([(m.name, m.number, m.down) for m in migrations],
                         [("0001_a", 1, ""), ("0002_b", 2, None)])
        self.assertEqual(len(migrations[0].checksum), 64)
        self.assertEqual(migrate.check(None, models=None, directory=self.project.directory), [  # CI: not committed
            f"{os.path.join(self.project.directory, '0003_c.sql.1-0a1b2c3d.partial')}: a migration file `make` or "
            "`squash` was writing when it was killed: delete it (a file that took its name is whole)"])
        self.project.write_migration("0003_c", "-- migrate:up\nC;\n")
        os.rename(os.path.join(self.project.directory, "0003_c.sql"), os.path.join(self.project.directory, "0003_c.SQL"))
        with self.assertRaisesRegex(migrate.MigrateError, "0003_c.SQL ends in .SQL: name it .sql"):
            migrate.read_migrations(self.project.directory)

    def test_bad_names_duplicates_and_gaps_are_errors(self):
        cases = {
            "bad name": (["0001_a", "1_b"], "1_b.sql is not named NNNN_slug.sql"),
            "other digits": (["0001_a", "\u0660\u0660\u0660\u0662_b"], "is not named NNNN_slug.sql"),  # (int() reads 2)
            "duplicate": (["0001_a", "0002_b", "0002_c"], "share number 0002"),
            "gap": (["0001_a", "0003_c"], "jump from 0001_a to 0003_c"),
            "zero": (["0000_early", "0001_a"], "0000_early.sql: numbers start at 0001: rename it"),
            "timestamps": (["20240101120000_a", "20240102093000_b"], "^migration 20240101120000_a is numbered by "
                           "a timestamp, as dbmate and others name files: migrate.py numbers them in order, so "
                           r"rename them 0001_x.sql, 0002_y.sql\.\.\. \(README 'Migration files'\)$"),
            "timestamps a second apart": (["0001_a", "20240101120000_b", "20240101120001_c"],
                                          "^migration 20240101120000_b is numbered by a timestamp"),
        }
        for label, (names, message) in cases.items():
            with self.subTest(label):
                project = Project(self)
                for name in names:
                    project.write_migration(name, "-- migrate:up\nSELECT 1;\n")
                with self.assertRaisesRegex(migrate.MigrateError, message):
                    migrate.read_migrations(project.directory)

    def test_unreadable_entries_are_errors_naming_the_file(self):
        self.project.write_migration("0001_a", "-- migrate:up\nA;\n")
        bad = os.path.join(self.project.directory, "0002_b.sql")
        cases = {"a folder": lambda: os.mkdir(bad),
                 "a dangling link": lambda: os.symlink(os.path.join(self.project.root, "gone.sql"), bad),
                 "a NUL byte": lambda: self.project.write_migration("0002_b", "-- migrate:up\nA;\nB\x00;\n")}
        if hasattr(os, "mkfifo"):  # reading would wait for a writer forever
            cases["a named pipe"] = lambda: os.mkfifo(bad)
        if os.path.exists("/dev/zero"):  # reading would never end
            cases["a link to a device"] = lambda: os.symlink("/dev/zero", bad)
        for name, create in cases.items():
            with self.subTest(name):
                create()
                with self.assertRaisesRegex(migrate.MigrateError, "0002_b.sql"):
                    migrate.read_migrations(self.project.directory)
                os.rmdir(bad) if os.path.isdir(bad) else os.remove(bad)

    @unittest.skipUnless(sys.platform.startswith("linux"), "a file name that is not UTF-8: Linux allows any bytes")
    def test_a_file_name_that_is_not_utf8_is_shown_with_its_byte_escaped(self):
        self.project.write_migration("0001_a", "-- migrate:up\nA;\n")
        with open(os.path.join(os.fsencode(self.project.directory), b"0002_caf\xe9.sql"), "w") as handle:
            handle.write("-- migrate:up\nB;\n")
        self.assertEqual(self.project.cli("status").stderr, "error: migration file migrations/0002_caf\\xe9.sql is not "
                         "named NNNN_slug.sql (digits, underscore, letters/digits/underscores): rename it\n")

    def test_statements_are_printed_runnable_even_when_they_end_in_a_comment(self):
        for statement in ("INSERT INTO a VALUES (1) -- seed row", "SELECT 1;", "SELECT ';' ; "):
            with self.subTest(statement):
                printed = migrate._terminated(statement)
                self.assertTrue(migrate.sqlite3.complete_statement(printed), printed)
                self.assertEqual(migrate.split_statements(printed + "\nSELECT 2;")[1], "SELECT 2;")

    def test_missing_directory_is_an_error(self):
        with self.assertRaisesRegex(migrate.MigrateError, "not found"):
            migrate.read_migrations(self.project.directory)
        open(self.project.directory, "w").close()
        with self.assertRaisesRegex(migrate.MigrateError, "migrations directory .* is not a directory"):
            migrate.read_migrations(self.project.directory)


class Slugs(unittest.TestCase):
    def test_names_are_sanitised_or_refused(self):
        self.assertEqual(migrate.slugify("Add author/../../etc"), "add_author_etc")
        for name, slug in (("über Feld", "uber_feld"), ("ÄÖÜ", "aou"), ("Größe", "grosse"), ("GROẞE", "grosse"),
                           ("Størrelse", "storrelse"), ("Kırmızı", "kirmizi"), ("Borðstofa", "bordstofa"),
                           ("Sŋŧ ƒĸ", "sngt_fk")):  # accents dropped
            self.assertEqual(migrate.slugify(name), slug)
        for name in ("../..", "日本"):
            with self.assertRaisesRegex(migrate.MigrateError, "has no ASCII letters or digits"):
                migrate.slugify(name)


if __name__ == "__main__":
    unittest.main()
