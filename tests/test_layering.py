"""The dependency direction: ``operators`` builds on ``pointline``'s core, never the reverse.

Only the modules that assemble the default chain from the operators (the ingest pipeline and
the CLI, listed in ``ASSEMBLY``) may import ``operators``; everything else in ``pointline``
is core. The check reads the source (static and ``importlib``/``__import__`` imports), so
it holds even for code paths no test runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pointline

CORE_ROOT = Path(pointline.__file__).parent
ASSEMBLY: frozenset[str] = frozenset({"ingest.py"})
"""Modules of pointline (relative paths) allowed to import operators."""
FORBIDDEN = "operators"


def imported_roots(source: str) -> list[tuple[int, str]]:
    """(line, top-level module) for every absolute import in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value).split(".")[0]))
    return found


def violations(root: Path, allowed: frozenset[str]) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in allowed:
            continue
        for line, module in imported_roots(path.read_text(encoding="utf-8")):
            if module == FORBIDDEN:
                out.append(f"{relative}:{line} imports {FORBIDDEN}")
    return out


def test_pointline_core_never_imports_operators() -> None:
    assert violations(CORE_ROOT, ASSEMBLY) == []


def test_the_check_catches_every_import_form(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import operators\n")
    (tmp_path / "b.py").write_text("from operators.parse import parse\n")
    (tmp_path / "c.py").write_text("import importlib\nimportlib.import_module('operators.x')\n")
    (tmp_path / "d.py").write_text("def f():\n    import operators.sequence as s\n")
    (tmp_path / "ok.py").write_text("from . import operators\nimport pointline.chain\n")
    assert violations(tmp_path, frozenset()) == [
        "a.py:1 imports operators",
        "b.py:1 imports operators",
        "c.py:2 imports operators",
        "d.py:2 imports operators",
    ]
    assert violations(tmp_path, frozenset({"a.py", "b.py", "c.py", "d.py"})) == []


def test_assembly_modules_exist() -> None:
    missing = [name for name in ASSEMBLY if not (CORE_ROOT / name).is_file()]
    assert missing == []
