"""The house's floors: an app imports only from its own floor and the floors below.

config (settings aside: the ground every app stands on) < organisation (departments,
locations, suppliers) < consumables (the master) < inventory (the ledger) < billing (use,
charges, reconciliation) < wuma (the site: every app's URLs). The settings name the apps (as
text, and a few of their constants) and may import them; nothing else may import upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {
    "config": 0,
    "organisation": 1,
    "consumables": 2,
    "inventory": 3,
    "billing": 4,
    "insurance_platform": 5,
    "wuma": 6,
}
# The settings name every app by design.
ROOT_MODULES = {"config/settings.py", "config/settings_test.py"}


def imported_apps(source: str, module: str) -> set[str]:
    """Top-level packages of ours that ``source`` (the file ``module``, relative to the
    root) imports, at module level or inside a function."""
    found = set()
    package = module.split("/")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & FLOORS.keys()


def upward_imports(source: str, module: str) -> list[str]:
    """``module -> app`` for each app above the module's own floor that it imports."""
    floor = FLOORS[module.split("/")[0]]
    return [
        f"{module} -> {app}" for app in sorted(imported_apps(source, module)) if FLOORS[app] > floor
    ]


def product_modules():
    for app in FLOORS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            if module not in ROOT_MODULES:
                yield module, path.read_text(encoding="utf-8")


def test_no_module_imports_an_app_above_its_own():
    upward = [
        line for module, source in product_modules() for line in upward_imports(source, module)
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        # A lower app importing a higher one, at module level or lazily: caught.
        (
            "organisation/x.py",
            "from inventory.models import Lot\n",
            ["organisation/x.py -> inventory"],
        ),
        (
            "consumables/x.py",
            "def f():\n    import billing.rules\n",
            ["consumables/x.py -> billing"],
        ),
        (
            "config/x.py",
            "from organisation.models import Department\n",
            ["config/x.py -> organisation"],
        ),
        # Downward and relative imports are the rule.
        ("billing/x.py", "from inventory.models import Lot\nfrom .models import Use\n", []),
        ("inventory/x.py", "from organisation.models import Location\n", []),
    ],
)
def test_the_check_catches_an_upward_import(module, source, expected):
    assert upward_imports(source, module) == expected


def test_every_app_of_ours_is_on_a_floor():
    from django.conf import settings

    ours = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    # wuma is a package, not an app: the URL tree that puts the apps together.
    assert ours | {"wuma"} == FLOORS.keys()
