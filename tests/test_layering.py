"""Layering (docs/architecture.md): no module of speechtools imports a module of a higher layer.

An AST walk over every module's imports (top-level and inside functions: a lazy import is
still a dependency). Layers, lowest first; a module belongs to the layer of its longest
listed prefix, and may import its own layer and any lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "speechtools"

LAYERS: List[Tuple[str, ...]] = [
    ("speechtools", "speechtools.errors", "speechtools.fileio", "speechtools.device", "speechtools.registry", "speechtools.config",
     "speechtools.parallel"),
    ("speechtools.text", "speechtools.audio", "speechtools.data", "speechtools.music", "speechtools.scoring", "speechtools.correction"),
    ("speechtools.nn", "speechtools.align"),
    ("speechtools.datasets",),
    ("speechtools.models",),
    ("speechtools.tasks",),
    ("speechtools.train",),
    ("speechtools.tts", "speechtools.asr", "speechtools.correction.inference", "speechtools.nas", "speechtools.songwriter"),
    ("speechtools.cli",),
]


def layer_of(module: str) -> int:
    best, level = "", -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, level = prefix, index
    assert level >= 0, f"{module} is in no layer: add its package to LAYERS and to docs/architecture.md"
    return level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> List[Tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name.startswith("speechtools")]


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_nothing_imports_upward() -> None:
    upward: Dict[str, List[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        own = layer_of(module_name(path))
        for name, line in imports(path):
            target = layer_of(name)
            if target > own:
                upward.setdefault(str(path.relative_to(ROOT)), []).append(f"line {line}: {name} (layer {target} > {own})")
    assert not upward, "upward imports:\n" + "\n".join(f"{k}: {v}" for k, v in upward.items())


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from speechtools.train.trainer import Trainer\n")
    assert any(layer_of(name) > layer_of("speechtools.nn.conv") for name, _ in imports(bad))
