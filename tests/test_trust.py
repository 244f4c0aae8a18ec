"""Trust: concurrent applies, SIGKILL at random moments, journal modes,
locks, and hostile identifiers. Real processes, real files."""
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from tests.support import MIGRATE, Project, migrate, normalised_schema, table_dump

SEED = int(os.environ.get("MIGRATE_TEST_SEED", "20261127"))


def write_chain(project, count):
    for number in range(1, count + 1):
        project.write_migration(f"{number:04d}_t{number}", f"""\
            -- migrate:up
            CREATE TABLE t{number} (id INTEGER PRIMARY KEY, v TEXT);
            INSERT INTO t{number} (v) VALUES ('{number}');
            -- migrate:down
            DROP TABLE t{number};
            """)


class Concurrency(unittest.TestCase):
    def test_eight_processes_apply_each_migration_exactly_once(self):
        for journal in ("delete", "wal"):
            with self.subTest(journal=journal):
                project = Project(self)
                write_chain(project, 12)
                conn = sqlite3.connect(project.db)
                conn.execute(f"PRAGMA journal_mode = {journal}")
                conn.close()
                processes = [subprocess.Popen([sys.executable, MIGRATE, "apply"], cwd=project.root,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                             for _ in range(8)]
                outputs = [p.communicate(timeout=120) + (p.returncode,) for p in processes]
                for out, err, code in outputs:
                    self.assertEqual(code, 0, out + err)
                    self.assertNotIn("locked", out + err)
                applied = "".join(out for out, _, _ in outputs).count("... OK")
                self.assertEqual(applied, 12, [o for o, _, _ in outputs])
                self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(12,)])
                for number in range(1, 13):
                    self.assertEqual(project.query(f"SELECT v FROM t{number}"), [(str(number),)])
                self.assertEqual(project.query("PRAGMA journal_mode"), [(journal,)])


class Crashes(unittest.TestCase):
    ROWS = 60000

    def test_sigkill_at_random_moments_leaves_every_migration_all_or_nothing(self):
        rng = random.Random(SEED)
        project = Project(self)
        project.models("""
            @dataclass
            class Item:
                name: str
                size: Optional[int] = None
                id: Optional[int] = None
        """)
        project.make()
        project.apply()
        conn = project.connect()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO item (name, size) VALUES (?, ?)",
                         ((f"item {i}", i) for i in range(self.ROWS)))
        conn.execute("COMMIT")
        conn.close()
        project.models("""
            @dataclass
            class Item:
                name: str = field(metadata={"index": True})
                size: Optional[str] = None
                id: Optional[int] = None
        """)
        rebuild = project.make().name  # a rebuild: type change, plus an index
        project.write_migration("0003_touch", "-- migrate:up\nUPDATE item SET name = name || '!';\n"
                                "-- migrate:down\nUPDATE item SET name = substr(name, 1, length(name) - 1);\n")
        pristine = os.path.join(project.root, "pristine.db")
        migrate.backup(project.db, pristine)
        started = time.perf_counter()
        project.apply()
        full_run = time.perf_counter() - started
        kills = 0
        for attempt in range(8):
            with open(pristine, "rb") as source, open(project.db, "wb") as target:
                target.write(source.read())
            delay = rng.uniform(0.05, 0.15 + full_run * 1.5)
            process = subprocess.Popen([sys.executable, MIGRATE, "apply"], cwd=project.root,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
            message = f"seed {SEED}, attempt {attempt}, killed after {delay:.3f}s"
            self.assertEqual(project.query("PRAGMA integrity_check"), [("ok",)], message)
            applied = {name for (name,) in project.query("SELECT name FROM _migrations")}
            columns = {row[1]: row[2] for row in project.query("PRAGMA table_info(item)")}
            self.assertEqual(columns["size"], "TEXT" if rebuild in applied else "INTEGER",
                             message)
            suffixed = project.query("SELECT count(*) FROM item WHERE name LIKE '%!'")[0][0]
            self.assertEqual(suffixed, self.ROWS if "0003_touch" in applied else 0, message)
            self.assertEqual(project.query("SELECT count(*) FROM item"), [(self.ROWS,)], message)
            project.apply()
            self.assertEqual(len(project.query("SELECT name FROM _migrations")), 3, message)
            self.assertEqual(project.query("SELECT count(*) FROM item WHERE name LIKE '%!'"), [(self.ROWS,)])
        self.assertGreater(kills, 0, f"seed {SEED}: no run was killed mid-way")


    def test_ctrl_c_or_sigterm_inside_a_long_statement_says_interrupted_and_rolls_back(self):
        # SIGTERM: what docker stop, systemd and Kubernetes send
        # (a background job, `cmd &` in a script, has SIGINT ignored: SIGTERM is all that stops it)
        for sent, sigint in ((signal.SIGINT, signal.SIG_DFL), (signal.SIGTERM, signal.SIG_DFL),
                             (signal.SIGTERM, signal.SIG_IGN)):
            with self.subTest(signal=sent.name, sigint=sigint.name):
                project = Project(self)
                project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t (x);\nWITH RECURSIVE c(x) AS "
                                        "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
                                        "SELECT count(*) FROM c;\n")  # ~10 s
                process = subprocess.Popen([sys.executable, MIGRATE, "apply"], cwd=project.root, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           preexec_fn=lambda sigint=sigint: signal.signal(signal.SIGINT, sigint))
                self.addCleanup(process.kill)
                header = [process.stdout.readline() for _ in range(3)]
                self.assertEqual(process.stdout.read(23), "  Applying 0001_slow...", header)  # the statement has begun
                time.sleep(0.7)  # past the first progress tick
                process.send_signal(sent)
                out, err = process.communicate(timeout=30)
                self.assertEqual(process.returncode, 130, err)
                self.assertTrue(err.startswith("\ninterrupted; a migration still running was rolled back"), err)
                self.assertEqual(project.query("SELECT name FROM sqlite_master"), [])
                self.assertFalse(os.path.exists(project.db + "-journal"), "rolled back, not left to the next open")


    @unittest.skipUnless(hasattr(signal, "SIGXFSZ"), "needs RLIMIT_FSIZE (POSIX)")
    def test_a_full_disk_mid_migration_leaves_the_file_as_it_was_not_to_the_next_open(self):
        import resource
        project = Project(self)
        project.write_migration("0001_big", "-- migrate:up\nCREATE TABLE big (a INTEGER PRIMARY KEY, b TEXT);\n"
                                "INSERT INTO big SELECT x, hex(randomblob(40)) FROM (WITH RECURSIVE c(x) AS "
                                "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c);\n")
        project.apply()
        with open(project.db, "rb") as handle:
            before = handle.read()
        project.write_migration("0002_grow", "-- migrate:up\nUPDATE big SET b = b || b || b;\n")
        limit = len(before) + 100_000  # the file may not grow past this: as a full disk, for the database only

        def full_disk():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        result = subprocess.run([sys.executable, MIGRATE, "apply"], cwd=project.root, capture_output=True,
                                text=True, timeout=120, preexec_fn=full_disk)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("it was rolled back, the database is as it was", result.stderr)
        self.assertFalse(os.path.exists(project.db + "-journal"), "a hot journal left for the next open")
        with open(project.db, "rb") as handle:
            self.assertTrue(handle.read() == before, "the file is not as it was")


    def as_a_user_bound_by_permissions(self, project):
        """A function running the CLI in the project as this user, or, as root
        (who writes a read-only file anyway), as nobody with a Python nobody may run."""
        python, script, user = sys.executable, MIGRATE, {}
        if os.geteuid() == 0:
            python, script = "/usr/bin/python3", "migrate.py"
            if not os.path.exists(python) or os.stat(os.path.dirname(project.root)).st_mode & 0o005 != 0o005:
                self.skipTest("as root, needs /usr/bin/python3 and a temporary folder that nobody can reach")
            for folder, _, files in os.walk(project.root):
                for name in [folder] + [os.path.join(folder, f) for f in files]:
                    os.chown(name, 65534, 65534)
            os.chmod(project.root, 0o755)
            shutil.copy(MIGRATE, os.path.join(project.root, "migrate.py"))
            user = {"preexec_fn": lambda: (os.setgid(65534), os.setuid(65534))}
        return lambda *args: subprocess.run([python, script, *args], cwd=project.root, capture_output=True, text=True,
                                            timeout=60, env={**os.environ, "HOME": project.root,
                                                             "XDG_CACHE_HOME": project.root}, **user)

    def test_a_journal_left_by_a_crash_in_a_read_only_folder_is_said_to_be_a_permission_problem(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        project.apply()
        project.write_migration("0002_b", "-- migrate:up\nCREATE TABLE b (x);\n")
        crash = ("import os, sqlite3\nconn = sqlite3.connect('db.sqlite3', isolation_level=None)\n"
                 "conn.execute('PRAGMA cache_size = 1')\nconn.execute('BEGIN IMMEDIATE')\n"
                 "conn.executemany('INSERT INTO a VALUES (?)', [('x' * 1000,)] * 200)\nos._exit(0)\n")
        subprocess.run([sys.executable, "-c", crash], cwd=project.root, check=True, timeout=60)
        self.assertTrue(os.path.exists(project.db + "-journal"))
        run = self.as_a_user_bound_by_permissions(project)
        os.chmod(project.root, 0o555)
        self.addCleanup(os.chmod, project.root, 0o755)
        for command in ("apply", "status"):
            result = run(command)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn("error: cannot open database db.sqlite3: disk I/O error (the database file or its folder, "
                          "where SQLite writes its journal, is read-only for this user", result.stderr)

    def test_a_read_only_database_is_backed_up_and_the_failure_says_what_is_read_only(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        project.apply()
        project.write_migration("0002_b", "-- migrate:up\nCREATE TABLE b (x);\n")
        run = self.as_a_user_bound_by_permissions(project)
        os.chmod(project.db, 0o444)
        with open(project.db, "rb") as handle:
            before = handle.read()
        result = run("apply", "--backup", "before.sqlite3")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("Backed up db.sqlite3 to before.sqlite3", result.stdout)
        self.assertIn("attempt to write a readonly database in statement: CREATE TABLE b (x) (the database file or "
                      "its folder, where SQLite writes its journal, is read-only for this user", result.stderr)
        with open(project.db, "rb") as handle:
            self.assertTrue(handle.read() == before)
        self.assertEqual(sqlite3.connect(os.path.join(project.root, "before.sqlite3")).execute(
            "SELECT name FROM _migrations").fetchall(), [("0001_a",)])

    def test_a_database_reached_through_a_link_is_judged_by_the_folder_of_its_file(self):
        project = Project(self)
        project.write_migration("0001_a", "-- migrate:up\nCREATE TABLE a (x);\n")
        real = os.path.join(project.root, "real")
        os.makedirs(real)
        migrate.apply(os.path.join(real, "real.sqlite3"), directory=project.directory)
        with contextlib.closing(sqlite3.connect(os.path.join(real, "real.sqlite3"))) as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # (even reading writes beside the file then)
        os.symlink(os.path.join(real, "real.sqlite3"), project.db)  # in a folder this user may write
        run = self.as_a_user_bound_by_permissions(project)
        os.chmod(real, 0o555)  # where SQLite writes the journal: beside the file the link names
        self.addCleanup(os.chmod, real, 0o755)
        for command in ("status", "apply"):
            result = run(command)
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn("(the database file or its folder, where SQLite writes its journal, is read-only for this "
                          "user", result.stderr)
        os.symlink(os.path.join(real, "new.sqlite3"), os.path.join(project.root, "new.sqlite3"))  # a file to make
        result = run("apply", "--db", "new.sqlite3")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(f"(this user may not create files in {os.path.realpath(real)}: make it writable", result.stderr)

    def test_what_this_user_may_not_read_or_create_is_said_so(self):
        project = Project(self)
        project.models("@dataclass\nclass A:\n    id: int\n")
        project.make()
        run = self.as_a_user_bound_by_permissions(project)
        os.chmod(project.models_path, 0o000)
        result = run("make", "--check")
        self.assertEqual((result.returncode, result.stderr), (1, "error: cannot read models file models.py: "
                         "Permission denied: make it readable for this user, or run as its owner\n"))
        os.chmod(project.root, 0o555)
        self.addCleanup(os.chmod, project.root, 0o755)
        result = run("apply")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stderr, r"^error: cannot open database db.sqlite3: unable to open database file \(this "
                                        r"user may not create files in \S+: make it writable, or pass --db with a path "
                                        r"in a folder you can write\); nothing was changed\n$")

    def test_a_database_or_journal_that_is_no_regular_file_is_said_so(self):
        project = Project(self)
        write_chain(project, 1)
        os.mkfifo(project.db)
        for command in ("apply", "status"):
            result = project.cli(command)
            self.assertEqual((result.returncode, result.stderr), (1, "error: database db.sqlite3 is no regular file "
                             "(a pipe or a device): pass --db with a SQLite file; nothing was changed\n"))
        os.remove(project.db)
        os.mkdir(project.db + "-journal")
        result = project.cli("apply")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stderr, r"\(\S+db.sqlite3-journal, where SQLite keeps its journal, is no regular "
                                        r"file: remove it\); nothing was changed\n$")

    def test_a_wal_or_journal_left_without_its_database_is_kept_and_said_so(self):
        project = Project(self)
        write_chain(project, 1)
        hot_journal = b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + bytes(504)  # (a rollback journal's header)
        for suffix, content, said in (
                ("-wal", bytes(32) + b"frames", "db.sqlite3-wal does (what it committed last may be only there): put "
                 "the database back beside it, or, if you know it is stale, delete db.sqlite3-wal"),
                ("-journal", hot_journal, "db.sqlite3-journal does, with a transaction to roll back (the database "
                 "was moved or deleted meanwhile): put the database back beside it, or, if it is gone for good, "
                 "delete db.sqlite3-journal")):
            with self.subTest(suffix):
                with open(project.db + suffix, "wb") as orphan:
                    orphan.write(content)
                try:
                    for command in (("apply",), ("status",), ("check", "--no-models"), ("revert",)):
                        result = project.cli(*command)
                        self.assertEqual((result.returncode, result.stderr), (1, "error: database db.sqlite3 does "
                                         f"not exist, but {said}; nothing was changed\n"), command)
                    self.assertEqual(sorted(name for name in os.listdir(project.root) if name.startswith("db.")),
                                     [f"db.sqlite3{suffix}"])
                finally:
                    os.remove(project.db + suffix)
        for suffix, content in (("-journal", b""), ("-journal", bytes(512)), ("-wal", bytes(32))):
            with self.subTest(suffix=suffix, size=len(content)):  # as journal_mode TRUNCATE or PERSIST leaves it
                with open(project.db + suffix, "wb") as left:
                    left.write(content)
                self.assertEqual(project.cli("status").returncode, 0)
                os.remove(project.db + suffix)

    def test_a_backup_onto_a_full_disk_leaves_no_file_behind(self):
        folder = tempfile.mkdtemp()  # a real full disk (ENOSPC): SQLite leaves the copy's journal hot
        self.addCleanup(shutil.rmtree, folder)
        if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder],
                                               capture_output=True).returncode:
            self.skipTest("needs root to mount a small tmpfs")
        self.addCleanup(subprocess.run, ["umount", folder])
        project = Project(self)
        project.write_migration("0001_big", "-- migrate:up\nCREATE TABLE big (b);\nINSERT INTO big SELECT "
                                "randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                "FROM c WHERE x < 3000) SELECT x FROM c);\n")
        project.apply()
        project.write_migration("0002_x", "-- migrate:up\nCREATE TABLE x (a);\n")
        result = project.cli("apply", "--backup", os.path.join(folder, "b.sqlite3"))
        self.assertRegex(result.stderr, r"^error: backup to .*b\.sqlite3 failed: .*; nothing was changed\n$")
        self.assertEqual(os.listdir(folder), [])


    def test_a_signal_the_caller_ignores_stays_ignored(self):
        project = Project(self)  # nohup, or `trap '' HUP`: closing the terminal must not stop the run
        project.write_migration("0001_slow", "-- migrate:up\nCREATE TABLE t AS WITH RECURSIVE c(x) AS (SELECT 1 "
                                "UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c;\n")
        process = subprocess.Popen([sys.executable, MIGRATE, "apply"], cwd=project.root, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        self.addCleanup(process.kill)
        header = [process.stdout.readline() for _ in range(3)]
        self.assertEqual(process.stdout.read(23), "  Applying 0001_slow...", header)
        process.send_signal(signal.SIGHUP)
        out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 0, err)
        self.assertEqual(project.query("SELECT count(*) FROM t"), [(3000000,)])

    def test_ctrl_c_while_the_file_loads_exits_130_without_a_traceback(self):
        project = Project(self)  # an import of the file's that Ctrl-C interrupts, every time: a stand-in sqlite3
        with open(os.path.join(project.root, "sqlite3.py"), "w") as handle:
            handle.write("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nloaded = True\n")
        for command in ([sys.executable, MIGRATE, "status"], [sys.executable, "-m", "migrate", "status"]):
            with self.subTest(command=command[1:]):
                environment = dict(os.environ, PYTHONPATH=os.pathsep.join((project.root, os.path.dirname(MIGRATE))))
                result = subprocess.run(command, cwd=project.root, capture_output=True, text=True, env=environment,
                                        timeout=60)
                self.assertEqual((result.returncode, result.stdout, result.stderr), (130, "", ""))
        result = subprocess.run([sys.executable, MIGRATE, "status"], cwd=project.root, capture_output=True, text=True,
                                env=environment, timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                                              signal.SIG_IGN))
        self.assertEqual(result.returncode, 1, result.stderr)  # ignored, as asked: on to the stand-in's missing parts
        self.assertNotIn("KeyboardInterrupt", result.stderr)

    def test_sigterm_stops_every_command_as_ctrl_c_does(self):
        project = Project(self)  # docker stop while make loads the models: exit 130 and one line, no file
        project.models("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n\n"
                       "@dataclass\nclass A:\n    id: Optional[int] = None\n")
        os.makedirs(project.directory)
        for command in ("make", "check"):
            with self.subTest(command=command):
                result = project.cli(command)
                self.assertEqual((result.returncode, result.stderr), (130, "\ninterrupted\n"))
        self.assertEqual(os.listdir(project.directory), [])
        host = ("import signal, sys\nsys.path.insert(0, sys.argv[1])\nimport migrate\n"
                "signal.signal(signal.SIGINT, lambda number, frame: None)\n"  # an application's own Ctrl-C
                "sys.exit(migrate.main(['make']))\n")
        result = subprocess.run([sys.executable, "-c", host, os.path.dirname(MIGRATE)], cwd=project.root,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, -signal.SIGTERM, result.stderr)  # its SIGTERM as it was: not swallowed
        self.assertEqual(os.listdir(project.directory), [])


def wait_until_it_opens(process: subprocess.Popen, path: str) -> None:
    """Until `process` has the file `path` open (Linux's /proc says), or 2.5 s elsewhere."""
    folder = f"/proc/{process.pid}/fd"
    if not os.path.isdir(folder):
        time.sleep(2.5)
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):  # (a descriptor closed while listed)
            if any(os.readlink(os.path.join(folder, fd)) == os.path.realpath(path) for fd in os.listdir(folder)):
                return
        time.sleep(0.05)


class Locks(unittest.TestCase):
    def one_applied_one_pending(self) -> Project:
        project = Project(self)
        write_chain(project, 1)
        project.apply()
        write_chain(project, 2)
        return project

    def test_writer_holding_the_lock_past_the_timeout_is_a_clean_error(self):
        project = self.one_applied_one_pending()
        holder = sqlite3.connect(project.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            result = project.cli("apply", "--timeout", "0.3")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(result.returncode, 1)
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("database is locked", result.stderr)
        self.assertIn("--timeout", result.stderr)
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(1,)])

    def test_a_backup_takes_its_name_only_when_complete_and_never_replaces_a_file(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        partial, path = os.path.join(folder, "b.partial"), os.path.join(folder, "b.sqlite3")
        for name in (partial, path):
            with open(name, "w") as handle:
                handle.write(name)
        with self.assertRaises(FileExistsError):
            migrate._take_name(partial, path)  # made meanwhile by someone else: kept
        with open(path) as handle:
            self.assertEqual(handle.read(), path)
        os.remove(path)
        migrate._take_name(partial, path)
        self.assertEqual(os.listdir(folder), ["b.sqlite3"])

    def test_ctrl_c_while_waiting_for_a_writer_stops_at_once_and_says_nothing_changed(self):
        # EXCLUSIVE: the writer keeps readers out too, so the wait is for the first read
        for begin, command in (("BEGIN IMMEDIATE", "apply"), ("BEGIN EXCLUSIVE", "apply"), ("BEGIN EXCLUSIVE", "status")):
            with self.subTest(begin=begin, command=command):
                project = self.one_applied_one_pending()
                holder = sqlite3.connect(project.db, isolation_level=None)
                holder.execute(begin)
                self.addCleanup(holder.close)
                process = subprocess.Popen([sys.executable, MIGRATE, command, "--timeout", "60"], cwd=project.root,
                                           text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
                self.addCleanup(process.kill)
                wait_until_it_opens(process, project.db)  # then it waits for the lock (before it prints anything)
                time.sleep(0.5)
                started = time.monotonic()
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=30)
                self.assertLess(time.monotonic() - started, 10)  # not the 60 s of --timeout
                self.assertEqual((process.returncode, err), (130, "\ninterrupted while waiting for another process's "
                                                                   "write lock; nothing was changed\n"))
                holder.execute("ROLLBACK")
                self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(1,)])

    def test_ctrl_c_while_waiting_after_a_migration_committed_is_no_nothing_changed(self):
        project = self.one_applied_one_pending()
        write_chain(project, 3)
        holder = sqlite3.connect(project.db, isolation_level=None)
        self.addCleanup(holder.close)  # and Ctrl-C raising, also in a suite started with `cmd &`:
        self.addCleanup(signal.signal, signal.SIGINT, signal.signal(signal.SIGINT, signal.default_int_handler))

        def progress(action, name, step):
            if step is not None and not holder.in_transaction:  # the first committed: another writer comes in
                holder.execute("BEGIN IMMEDIATE")
                threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()

        with self.assertRaises(KeyboardInterrupt) as caught:
            project.apply(progress=progress, timeout=30)
        self.assertNotIsInstance(caught.exception, migrate._InterruptedWaiting)  # one had committed
        holder.execute("ROLLBACK")
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(2,)])

    def test_check_and_dry_run_wait_for_a_writer_only_as_long_as_the_timeout(self):
        project = self.one_applied_one_pending()
        holder = sqlite3.connect(project.db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # rollback journal: readers are kept out too
        results = []
        try:
            for option in ("--check", "--dry-run"):
                started = time.monotonic()
                results.append((project.cli("apply", option, "--timeout", "0.3"), time.monotonic() - started))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for result, seconds in results:
            self.assertLess(seconds, 5)  # 0.3 s, not the default 30
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertNotIn("Traceback", result.stderr)
            self.assertIn("database is locked", result.stderr)
            self.assertIn("--timeout", result.stderr)
        self.assertEqual(project.query("SELECT count(*) FROM _migrations"), [(1,)])

    def test_a_reader_holding_the_database_past_the_timeout_rolls_back_at_commit(self):
        # rollback journal: COMMIT waits for readers while holding the PENDING lock,
        # which locks new readers out, so --timeout must bound that wait too
        project = self.one_applied_one_pending()
        reader = sqlite3.connect(project.db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM t1").fetchall()
        started = time.monotonic()
        try:
            result = subprocess.run([sys.executable, MIGRATE, "apply", "--timeout", "0.5"], cwd=project.root,
                                    capture_output=True, text=True, timeout=10)
        finally:
            reader.execute("COMMIT")
            reader.close()
        self.assertLess(time.monotonic() - started, 5, result.stdout + result.stderr)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("0002_t2 could not be committed: database is locked", result.stderr)
        self.assertIn("another process", result.stderr)
        self.assertIn("--timeout", result.stderr)
        self.assertIn("the database is as it was", result.stderr)
        self.assertEqual(project.query("SELECT name FROM _migrations"), [("0001_t1",)])
        self.assertEqual(project.query("SELECT name FROM sqlite_master WHERE name = 't2'"), [])

    def test_a_reader_that_lets_go_within_the_timeout_only_delays_the_commit(self):
        # rollback journal: COMMIT answers BUSY while a reader holds its lock; it is retried, not given up
        project = self.one_applied_one_pending()
        reader = sqlite3.connect(project.db, isolation_level=None, check_same_thread=False)
        self.addCleanup(reader.close)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM t1").fetchall()
        letting_go = threading.Timer(0.5, reader.execute, ("COMMIT",))
        letting_go.start()
        self.addCleanup(letting_go.join)
        steps = project.apply(timeout=10)
        self.assertEqual([(s.name, s.action) for s in steps], [("0002_t2", "apply")])
        self.assertEqual(project.query("SELECT v FROM t2"), [("2",)])

    def test_a_big_migration_waits_for_a_reader_only_as_long_as_the_timeout(self):
        # rollback journal: a transaction larger than the page cache spills to the file, which needs
        # the reader gone too; each spill waited the whole busy timeout before COMMIT waited its own
        project = Project(self)
        project.write_migration("0001_big", "-- migrate:up\nCREATE TABLE big (x);\nWITH RECURSIVE c(i) AS (SELECT 1 "
                                "UNION ALL SELECT i + 1 FROM c WHERE i < 200000) INSERT INTO big SELECT "
                                "randomblob(200) FROM c;\n-- migrate:down\nDROP TABLE big;\n")
        project.execute("CREATE TABLE r (x)")
        reader = sqlite3.connect(project.db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM r").fetchall()
        started = time.monotonic()
        try:
            with self.assertRaisesRegex(migrate.MigrateError, "0001_big could not be committed"):
                project.apply(timeout=2)
        finally:
            reader.execute("COMMIT")
            reader.close()
        self.assertLess(time.monotonic() - started, 4.5)  # 2 s, not 2 s per spill and 2 more at COMMIT
        self.assertEqual(project.query("SELECT name FROM sqlite_master"), [("r",)])
        self.assertEqual([step.name for step in project.apply(timeout=2)], ["0001_big"])

    def test_read_only_connection_and_unsafe_journal_are_refused_cleanly(self):
        project = Project(self)
        write_chain(project, 1)
        sqlite3.connect(project.db).close()
        read_only = sqlite3.connect(f"file:{project.db}?mode=ro", uri=True)
        with self.assertRaisesRegex(migrate.MigrateError, "readonly"):
            migrate.apply(read_only, directory=project.directory)
        read_only.close()
        unsafe = sqlite3.connect(project.db)
        unsafe.execute("PRAGMA journal_mode = MEMORY")
        with self.assertRaisesRegex(migrate.MigrateError, "journal_mode=memory"):
            migrate.apply(unsafe, directory=project.directory)
        self.assertEqual([row.applied for row in migrate.status(unsafe, directory=project.directory)], [False])
        unsafe.close()  # (status only reads: no crash of a migration to fear)
        self.assertEqual(normalised_schema(project.db), [])
        in_memory = sqlite3.connect("file:/migrate-test?vfs=memdb", uri=True)  # a name, but no file to corrupt
        self.addCleanup(in_memory.close)
        self.assertEqual(in_memory.execute("PRAGMA journal_mode").fetchone(), ("memory",))
        self.assertEqual([s.action for s in migrate.apply(in_memory, directory=project.directory)], ["apply"])


class HostileInput(unittest.TestCase):
    def test_hostile_names_and_defaults_are_quoted_and_escaped(self):
        project = Project(self)
        project.models("""
            @dataclass
            class Order:
                __tablename__ = 'order "items"; DROP TABLE question; --'
                select: str = "x'); DROP TABLE question; --"
                group: Optional[str] = field(default=None, metadata={"index": True, "unique": True})
                prénom: str = field(default="Zoë ; \\" ' `", metadata={"sql_type": "TEXT"})
                id: Optional[int] = None

            @dataclass
            class Question:
                order: Order
                id: Optional[int] = None
        """)
        project.make()
        project.apply()
        table = 'order "items"; DROP TABLE question; --'
        quoted = migrate.quote(table)
        project.execute(f"INSERT INTO {quoted} DEFAULT VALUES", "INSERT INTO question (order_id) VALUES (1)")
        self.assertEqual(project.query(f'SELECT "select", "group", "prénom" FROM {quoted}'),
                         [("x'); DROP TABLE question; --", None, "Zoë ; \" ' `")])
        self.assertEqual(project.query("SELECT count(*) FROM question"), [(1,)])
        project.models("""
            @dataclass
            class Order:
                __tablename__ = 'order "items"; DROP TABLE question; --'
                select: int = 0
                id: Optional[int] = None

            @dataclass
            class Question:
                order: Order
                id: Optional[int] = None
        """)
        project.make()
        project.apply()
        self.assertEqual(project.make(write=False).operations, ())
        project.revert()
        project.revert()
        self.assertEqual(normalised_schema(project.db), [])

    def test_broken_input_leaves_the_database_byte_for_byte_identical(self):
        project = Project(self)
        write_chain(project, 2)
        project.apply()
        with open(project.db, "rb") as handle:
            before = handle.read()
        cases = {
            "syntax error": "-- migrate:up\nCREATE TABLE (;\n",
            "vacuum": "-- migrate:up\nCREATE TABLE z (a);\nVACUUM;\n",
            "journal mode": "-- migrate:up\nPRAGMA journal_mode = WAL;\n",
            "no up section": "CREATE TABLE z (a);\n",
        }
        for label, text in cases.items():
            with self.subTest(label):
                path = project.write_migration("0003_bad", text)
                result = project.cli("apply")
                self.assertEqual(result.returncode, 1)
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                with open(project.db, "rb") as handle:
                    self.assertEqual(handle.read(), before, label)
                os.remove(path)


if __name__ == "__main__":
    unittest.main()
