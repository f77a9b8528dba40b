"""The dependency direction, checked on the source (static and ``importlib`` imports).

Four layers, lowest first; a module may import only modules of its own layer or a lower one:

0. core: everything in ``pointline`` not listed below (errors, schemas, exchanges, kernels,
   chain, storage, manifest, dim_symbol, parquet, locks, the vendor protocol);
1. operators: the ``operators`` package (built on the core primitives);
2. vendors: the vendor modules and the default registry in ``pointline/vendors/`` (each
   supplies its parse and normalize operators);
3. assembly: Bronze metadata (vendor path rules), the lake (vendor registry), ingest,
   recovery, bootstrap, reader, the CLI, the demo, the Tardis generator, and the package
   facade ``pointline/__init__`` (which imports its upper layers lazily).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pointline

ROOT = Path(pointline.__file__).resolve().parents[1]
LAYERS = ("core", "operators", "vendors", "assembly")
ASSEMBLY = frozenset(
    {
        "pointline/__init__.py",
        "pointline/__main__.py",
        "pointline/bootstrap.py",
        "pointline/bronze.py",
        "pointline/demo.py",
        "pointline/ingest.py",
        "pointline/parallel.py",
        "pointline/lake.py",
        "pointline/reader.py",
        "pointline/recovery.py",
        "pointline/research.py",
        "pointline/refresh.py",
        "pointline/quarantine.py",
        "pointline/testing/tardis.py",
        "pointline/testing/quant360.py",
    }
)
VENDOR_CORE = frozenset({"pointline/vendors/__init__.py", "pointline/vendors/protocol.py"})


def layer_of(relative: str) -> int:
    """The layer of a source file given relative to the repository root."""
    if relative.startswith("operators/"):
        return LAYERS.index("operators")
    if relative in ASSEMBLY or relative.startswith("pointline/cli/"):
        return LAYERS.index("assembly")
    if relative.startswith("pointline/vendors/") and relative not in VENDOR_CORE:
        return LAYERS.index("vendors")
    return LAYERS.index("core")


def module_file(module: str, root: Path) -> str | None:
    """The source file (relative to ``root``) of a first-party module, if it has one."""
    path = root / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in ``source``, including ``from m import
    n`` as ``m.n`` (n may be a submodule)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
    return found


def violations(root: Path, packages: tuple[str, ...] = ("pointline", "operators")) -> list[str]:
    out = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            own = layer_of(relative)
            for line, module in imported_modules(path.read_text(encoding="utf-8")):
                if module.split(".")[0] not in packages:
                    continue
                target = module_file(module, root)
                if target is not None and layer_of(target) > own:
                    out.append(
                        f"{relative}:{line} ({LAYERS[own]}) imports {module} "
                        f"({LAYERS[layer_of(target)]})"
                    )
    return out


def test_every_module_imports_only_its_own_layer_or_lower() -> None:
    assert violations(ROOT) == []


def test_the_check_catches_every_import_form(tmp_path: Path) -> None:
    (tmp_path / "pointline" / "vendors").mkdir(parents=True)
    (tmp_path / "operators").mkdir()
    for name in ("operators/__init__.py", "operators/parse.py", "pointline/__init__.py"):
        (tmp_path / name).write_text("")
    (tmp_path / "pointline/vendors/tardis.py").write_text("")
    (tmp_path / "pointline/ingest.py").write_text("import operators.parse\n")
    (tmp_path / "pointline/a.py").write_text("import operators\n")
    (tmp_path / "pointline/b.py").write_text("from operators.parse import parse_csv\n")
    c_py = "import importlib\nimportlib.import_module('operators')\n"
    (tmp_path / "pointline/c.py").write_text(c_py)
    (tmp_path / "pointline/d.py").write_text("def f():\n    from pointline.vendors import tardis\n")
    (tmp_path / "pointline/e.py").write_text("import pointline\n")
    (tmp_path / "operators/f.py").write_text("from pointline import ingest\n")
    (tmp_path / "pointline/ok.py").write_text("from . import operators\nimport numpy\n")
    assert violations(tmp_path) == [
        "pointline/a.py:1 (core) imports operators (operators)",
        "pointline/b.py:1 (core) imports operators.parse (operators)",
        "pointline/c.py:2 (core) imports operators (operators)",
        "pointline/d.py:2 (core) imports pointline.vendors.tardis (vendors)",
        "pointline/e.py:1 (core) imports pointline (assembly)",
        "operators/f.py:1 (operators) imports pointline (assembly)",
        "operators/f.py:1 (operators) imports pointline.ingest (assembly)",
    ]


def test_assembly_modules_exist() -> None:
    missing = [name for name in ASSEMBLY | VENDOR_CORE if not (ROOT / name).is_file()]
    assert missing == []
