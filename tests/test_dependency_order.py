"""CONTRIBUTING's dependency order, checked on the source: no app imports one above it, not even inside
a function (a lower app sends a signal, or lets the higher one register itself, as import kinds do)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def documented_order() -> list[str]:
    """The order as CONTRIBUTING.md writes it, highest first: `dashboards → renewals → … → core`."""
    text = " ".join((ROOT / "CONTRIBUTING.md").read_text().split())
    chain = re.search(r"Dependencies point one way: `([a-z →]+)`", text).group(1)
    return [name.strip() for name in chain.split("→")]


def imports_above(app: str, rank: dict[str, int]) -> list[str]:
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if rank.get(top, -1) > rank[app]:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    return found


def test_the_documented_order_names_every_app():
    order = documented_order()
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert set(order) == apps, "CONTRIBUTING's order and the apps differ"


def test_no_app_imports_one_above_it():
    order = documented_order()
    rank = {app: len(order) - index for index, app in enumerate(order)}  # core lowest
    found = [line for app in order for line in imports_above(app, rank)]
    assert found == []
