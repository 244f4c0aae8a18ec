"""The module itself: what a reader of migrate.py relies on before reading a line of it."""
import ast
import os
import re
import sys
import unittest

from tests.support import MIGRATE, migrate


def _top_level_definitions(tree: ast.Module):
    """(name, line) of every function, class and assignment at the module's top level."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node.lineno
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.lineno


class Module(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(MIGRATE, encoding="utf-8") as source:
            cls.tree = ast.parse(source.read(), MIGRATE)

    def test_no_top_level_name_is_defined_twice(self):
        # a second `def _x` silently replaces the first for every caller above it
        first_line = {}
        twice = []
        for name, line in _top_level_definitions(self.tree):
            if name in first_line:
                twice.append(f"{name} (lines {first_line[name]} and {line})")
            first_line.setdefault(name, line)
        self.assertEqual(twice, [], "defined twice at the top level of migrate.py")

    def test_every_name_in_all_exists_and_every_public_function_says_what_it_does(self):
        missing = [name for name in migrate.__all__ if not hasattr(migrate, name)]
        self.assertEqual(missing, [], "__all__ names what migrate.py does not define")
        undocumented = [name for name in migrate.__all__ if not (getattr(migrate, name).__doc__ or "").strip()]
        self.assertEqual(undocumented, [], "public names without a docstring")
        readme = os.path.join(os.path.dirname(MIGRATE), "README.md")
        with open(readme, encoding="utf-8") as text:
            library = text.read().split("## Library API", 1)[1].split("\n## ", 1)[0]
        self.assertEqual([name for name in migrate.__all__ if not re.search(rf"\b{name}\b", library)], [],
                         "public names the README's Library API section does not mention")

    def test_it_imports_only_the_standard_library(self):
        if sys.version_info < (3, 11):  # (sys.stdlib_module_names arrived in 3.10, tomllib in 3.11)
            self.skipTest("judged by Python 3.11+, whose standard library has tomllib, which migrate.py imports "
                          "where it exists")
        imported = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
        outside = sorted(imported - set(sys.stdlib_module_names) - {"__future__"})
        self.assertEqual(outside, [], "migrate.py imports modules outside the standard library")


if __name__ == "__main__":
    unittest.main()
