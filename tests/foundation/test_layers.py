"""The layers hold: imports point down, no import circle, no unexplained import in a function.

Read from the source with ``ast`` (so a function-level import counts too, which a run-time check
would miss), and confirmed in fresh interpreters for the two bottom packages. docs/architecture.md
draws the same layers; when a module is added, place it in :data:`LAYERS` and in that page.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wagtail_bgcut"

# Bottom to top: a module may import modules of its own layer and the layers below, never above.
# A name matches a module and everything under it ("wagtail_bgcut.client" covers the package).
LAYERS: list[tuple[str, list[str]]] = [
    (
        "bottom: no Django (client: no Django; imaging: no HTTP, no Django)",
        [
            "_deprecation",
            "api_facts",
            "exceptions",
            "variants",
            "client",
            "imaging",
            "model_files",
            "pillow",
            "testing",
        ],
    ),
    ("settings", ["conf", "presets", "checks"]),
    ("data", ["models", "migrations", "signals", "source_hashes", "source_fields", "budget"]),
    ("engines", ["backends", "rate_limits"]),
    ("pipeline", ["pipeline"]),
    ("scheduling and lookups", ["tasks", "file_changes", "cutouts", "api", "sources"]),
    ("Django integration", ["fields", "templatetags", "widgets", "admin"]),
    (
        "Wagtail glue",
        [
            "wagtail_compat",
            "image_forms",
            "image_operations",
            "signal_handlers",
            "forms",
            "views",
            "templatetags.bgcut_admin_tags",
            "admin_urls",
            "admin_hooks",
            "wagtail_hooks",
            "willow",
            "direct_upload",
            "management",
            "apps",
            # Integrations: headless.md, streamfield.md, caches.md.
            "serializers",
            "blocks",
            "frontend_cache",
        ],
    ),
]

# Third-party packages a layer must not import (at any depth of its own code).
FORBIDDEN: dict[str, set[str]] = {
    "client": {"django", "wagtail"},
    "imaging": {"django", "wagtail", "requests", "urllib3", "http", "wagtail_bgcut.client"},
    "api_facts": {"django", "wagtail", "requests", "PIL", "numpy", "cv2"},
    "exceptions": {"django", "wagtail", "requests", "PIL", "numpy", "cv2"},
    "variants": {"django", "wagtail", "requests", "PIL"},
    # The emulator keeps its own reading of the pages: it must not share code with the client.
    "testing": {
        "django",
        "wagtail",
        "wagtail_bgcut.client",
        "wagtail_bgcut.api_facts",
        "wagtail_bgcut.variants",
    },
    "pillow": {"django", "wagtail", "requests"},
}
CORE = [name for _, names in LAYERS[:6] for name in names]

# Deliberate exceptions to FORBIDDEN, each with its reason.
ALLOWED = {
    # The pytest plugin touches Django only when the user's suite already configured it.
    ("testing.pytest_plugin", "django"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(importer: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The modules (ours by full name, others by top-level package) an import statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        is_package = MODULES[importer].name == "__init__.py"
        base = importer.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    found = []
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        found.append(candidate if candidate in MODULES else prefix)
    return found


def _imports() -> list[tuple[str, str, int, bool]]:
    """``(importer, imported, line, inside a function)`` for every import in the package."""
    rows = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _resolve(name, node):
                    rows.append((name, target, node.lineno, id(node) in in_function))
    return rows


IMPORTS = _imports()


def _layer(module: str) -> int | None:
    short = module.removeprefix("wagtail_bgcut").lstrip(".")
    best = None
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            matches = short == name or short.startswith(name + ".")
            if matches and (best is None or len(name) > best[1]):
                best = (index, len(name))
    return best[0] if best else None


def _matches(module: str, names: set[str] | list[str]) -> bool:
    short = module.removeprefix("wagtail_bgcut").lstrip(".")
    return any(
        module == n or module.startswith(n + ".") or short == n or short.startswith(n + ".")
        for n in names
    )


def test_architecture_page_names_every_module():
    """docs/architecture.md stays true to the code: each module is named where it lives."""
    lines = (PACKAGE.parent / "docs" / "architecture.md").read_text().splitlines()
    missing = []
    for name, path in MODULES.items():
        if path.name == "__init__.py" or ".migrations." in name:
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        folder = rel.rpartition("/")[0]
        named = (
            any(f"`{path.name}`" in line and f"`{folder}/" in line for line in lines)
            if folder
            else any(f"`{path.name}`" in line or f"{path.name} " in line for line in lines)
        )
        if not named and not any(rel in line for line in lines):
            missing.append(rel)
    assert missing == []


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != "wagtail_bgcut" and _layer(m) is None] == []


def test_imports_point_down():
    upward = []
    for importer, target, line, _ in IMPORTS:
        if not target.startswith("wagtail_bgcut.") or importer == "wagtail_bgcut":
            continue
        if (importer.removeprefix("wagtail_bgcut."), target) in ALLOWED:
            continue
        low, high = _layer(importer), _layer(target)
        if high is not None and low is not None and high > low:
            upward.append(f"{importer}:{line} imports {target} ({LAYERS[high][0]})")
    assert upward == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_bottom_layers_import_nothing_they_must_not(layer):
    bad = []
    for importer, target, line, _ in IMPORTS:
        short = importer.removeprefix("wagtail_bgcut.")
        if not _matches(importer, [layer]):
            continue
        hits = {f for f in FORBIDDEN[layer] if target == f or target.startswith(f + ".")}
        if hits and not all((short, f) in ALLOWED for f in hits):
            bad.append(f"{importer}:{line} imports {target}")
    assert bad == []


def test_the_core_never_imports_wagtail():
    bad = [
        f"{importer}:{line} imports {target}"
        for importer, target, line, _ in IMPORTS
        if _matches(importer, CORE) and target.split(".")[0] == "wagtail"
    ]
    assert bad == []


def test_no_import_circle():
    graph: dict[str, set[str]] = {}
    for importer, target, _, _ in IMPORTS:
        if target in MODULES and target != importer:
            graph.setdefault(importer, set()).add(target)
    # A package's own __init__ importing its submodules is how packages work, not a circle.
    circles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == []


def _explained(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or on a line of the block of imports it stands in."""
    index = line - 1
    if "#" in lines[index]:
        return True
    while index > 0:
        index -= 1
        text = lines[index].strip()
        if text.startswith("#") or ("import " in text and "#" in text):
            return True
        if not text.startswith(("from ", "import ", "try:", "except ImportError")):
            return False
    return False


def test_imports_inside_functions_say_why():
    silent = []
    for importer, _, line, in_function in IMPORTS:
        lines = MODULES[importer].read_text().splitlines()
        if in_function and not _explained(lines, line):
            silent.append(f"{importer}:{line}: {lines[line - 1].strip()}")
    assert sorted(set(silent)) == []


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("wagtail_bgcut.client", ["django", "wagtail"]),
        ("wagtail_bgcut.imaging", ["django", "wagtail", "requests", "wagtail_bgcut.client"]),
    ],
)
def test_bottom_packages_load_alone(module, absent):
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {absent!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
