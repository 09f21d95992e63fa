"""The core's layers, checked on the source: an app imports only apps below it, and no core
app imports the portals, the API or the demo (docs/architecture.md, "Layers")."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "caredoor" / "core"
LAYERS = [
    "compliance",
    "brands",
    "organizations",
    "accounts",
    "notifications",
    "specialists",
    "scheduling",
    "care",
    "messaging",
    "consents",
    "intake",
    "booking",
    "calendars",
    "matching",
    "feedback",
    "video",
    "payments",
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_core_app_is_in_the_layer_list():
    apps = {p.name for p in CORE.iterdir() if (p / "apps.py").exists()}
    assert apps == set(LAYERS)


def test_core_apps_import_only_apps_below_them():
    problems = []
    for rank, app in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for path in (CORE / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for module in _imports(path):
                parts = module.split(".")
                if parts[:1] != ["caredoor"]:
                    continue
                if parts[1:2] != ["core"] or (len(parts) > 2 and parts[2] not in allowed):
                    problems.append(f"{path.relative_to(CORE)} imports {module}")
    assert problems == []
