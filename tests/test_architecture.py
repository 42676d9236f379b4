"""The shape of the code, checked from its source (issue 19): SQL only in bot/storage, layers that
import one way, no import cycle between packages, no module past MAX_LINES.

Every check reads bot/ with `ast`, nothing is imported, so an import made lazily (inside a
function, under TYPE_CHECKING, or behind a module `__getattr__`) counts like any other.

Each check has an allow-list of the places that break it today. The lists may only shrink: an
entry that no longer breaks the rule fails the test too, so it is removed when the code is fixed
and a new breach cannot hide behind a stale entry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

# --- SQL outside bot/storage ----------------------------------------------------------------------

# SQLAlchemy statement builders a module outside storage must not use, imported or as attributes
# of the `sqlalchemy` module.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "func", "exists"})
# Methods that run a statement (on a Session, Connection or Engine).
SQL_RUNNERS = frozenset({"execute", "scalars", "scalar", "exec_driver_sql"})
# Files outside bot/storage that still run SQL of their own, not moved yet (issue 19, item 1):
# none left. Kept (empty) so that a new one has to be argued for here.
SQL_ALLOWED: set[str] = set()

# --- Layers ---------------------------------------------------------------------------------------

# bot's packages from the lowest layer to the highest. A module may import from its own layer and
# the layers below it, never from a layer above. Same-layer imports are allowed; the cycle check
# below keeps them one-way.
LAYERS: list[set[str]] = [
    # The process's metrics registry sits at the bottom: every stage reports through it; so does
    # the one retry policy (bot.retry), which the fetcher, the outbox and the daemon share.
    {"model", "text", "metrics", "retry"},
    # The pure stages: no I/O. The deal ledger derives deal records from clustered stories (it
    # reads the clusterer's facts) and digests render its weekly summary, so it sits here too.
    {"matcher", "clustering", "digest", "ledger"},
    {"config"},
    {"reader", "storage", "integration"},
    {"worker"},
    {"daemon"},
    # Entry points. `evaluation` runs the daemon's whole pipeline on labelled items (it builds a
    # Pipeline and serves feeds with the demo's server) and `newsbot eval` calls it, so it sits
    # with the commands.
    {"cli", "demo", "evaluation"},
]
# bot/__init__.py and bot/__main__.py: above every layer (`python -m bot` runs the CLI).
TOP = len(LAYERS)
# Imports from a higher layer into a lower one allowed for now, as (importing file, imported
# module): none left.
LAYER_ALLOWED: set[tuple[str, str]] = set()

MAX_LINES = 700
# Modules over MAX_LINES today, each with its size now as its ceiling: they may shrink, not grow.
# None left; kept (empty) so that a new one has to be argued for here. Migrations are exempt (each
# is a schema step, written once).
LONG_ALLOWED: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class Module:
    path: str  # relative to bot/, with '/'
    name: str  # dotted module name
    tree: ast.Module
    lines: int

    @property
    def package(self) -> str | None:
        """The package of bot it belongs to ("storage"), None for bot/__init__ and __main__."""
        parts = self.path.split("/")
        return parts[0] if len(parts) > 1 else None


def bot_modules(root: Path = BOT) -> list[Module]:
    modules = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root).as_posix()
        parts = ["bot", *relative.removesuffix(".py").split("/")]
        if parts[-1] == "__init__":
            parts.pop()
        source = file.read_text(encoding="utf-8")
        modules.append(
            Module(relative, ".".join(parts), ast.parse(source, relative), len(source.splitlines()))
        )
    return modules


def imported_modules(module: Module, names: set[str]) -> Iterator[tuple[str, int]]:
    """(dotted name, line) of every module of `names` that `module` imports, anywhere in it.
    `from X import y` imports X.y when that is a module, else X."""
    package = module.name if module.path.endswith("__init__.py") else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in names:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in names:
                    yield f"{target}.{alias.name}", node.lineno
                elif target in names:
                    yield target, node.lineno


def sql_uses(module: Module) -> list[str]:
    """Where `module` builds or runs SQL itself, as 'line: what'."""
    found = []
    sqlalchemy_names: set[str] = set()  # local names bound to the sqlalchemy package
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and not node.level:
            if (node.module or "").split(".")[0] == "sqlalchemy":
                for alias in node.names:
                    if alias.name in SQL_BUILDERS:
                        found.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy":
                    sqlalchemy_names.add(alias.asname or alias.name)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute):
            if (
                node.attr in SQL_BUILDERS
                and isinstance(node.value, ast.Name)
                and node.value.id in sqlalchemy_names
            ):
                found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_RUNNERS
        ):
            found.append(f"{node.lineno}: .{node.func.attr}(...)")
    return sorted(found, key=lambda where: int(where.split(":")[0]))


def layer_of(package: str | None) -> int:
    if package is None:
        return TOP
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    raise AssertionError(f"bot/{package} is in no layer: add it to LAYERS where its imports fit")


def package_imports(modules: list[Module]) -> Iterator[tuple[Module, str, str, int]]:
    """(importing module, imported module, imported package, line) for every import of one
    of bot's modules from another package of bot."""
    names = {module.name for module in modules}
    for module in modules:
        for target, line in imported_modules(module, names):
            parts = target.split(".")
            package = parts[1] if len(parts) > 1 else ""
            if package and package != module.package:
                yield module, target, package, line


def layer_breaches(modules: list[Module]) -> set[tuple[str, str]]:
    """(importing file, imported module) for each import from a higher layer into a lower."""
    breaches = set()
    for module, target, package, _line in package_imports(modules):
        if layer_of(package) > layer_of(module.package):
            breaches.add((module.path, target))
    return breaches


def package_cycles(modules: list[Module], ignored: set[tuple[str, str]]) -> list[list[str]]:
    """The import cycles between bot's packages (strongly connected components of more than one
    package), leaving out the imports in `ignored`."""
    graph: dict[str, set[str]] = {}
    for module, target, package, _line in package_imports(modules):
        if module.package is not None and (module.path, target) not in ignored:
            graph.setdefault(module.package, set()).add(package)
    # Tarjan's algorithm.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.fixture(scope="module")
def modules() -> list[Module]:
    found = bot_modules()
    assert len(found) > 100, "bot/ not found where expected"
    return found


def test_sql_lives_in_storage(modules: list[Module]) -> None:
    outside = {
        module.path: uses
        for module in modules
        if module.package != "storage" and (uses := sql_uses(module))
    }
    new = {path: uses for path, uses in outside.items() if path not in SQL_ALLOWED}
    assert not new, f"SQL outside bot/storage (give storage a verb for it): {new}"
    fixed = SQL_ALLOWED - set(outside)
    assert not fixed, f"no SQL left in {sorted(fixed)}: remove it from SQL_ALLOWED"


def test_every_package_has_a_layer(modules: list[Module]) -> None:
    for module in modules:
        layer_of(module.package)


def test_no_import_from_a_higher_layer(modules: list[Module]) -> None:
    breaches = layer_breaches(modules)
    new = sorted(breaches - LAYER_ALLOWED)
    assert not new, f"imports from a higher layer into a lower one (see LAYERS): {new}"
    fixed = sorted(LAYER_ALLOWED - breaches)
    assert not fixed, f"no longer imported: remove {fixed} from LAYER_ALLOWED"


def test_no_import_cycle_between_packages(modules: list[Module]) -> None:
    # The allowed layer breaches close cycles of their own (config -> storage -> config): they
    # are counted by the test above, and a cycle is looked for among the other imports.
    cycles = package_cycles(modules, ignored=LAYER_ALLOWED)
    assert not cycles, f"packages importing each other: {cycles}"


def test_no_module_is_too_long(modules: list[Module]) -> None:
    too_long = {
        module.path: module.lines
        for module in modules
        if module.lines > LONG_ALLOWED.get(module.path, MAX_LINES)
        and "/migrations/" not in module.path
    }
    assert not too_long, (
        f"modules over {MAX_LINES} lines (or over their ceiling in LONG_ALLOWED): {too_long}; "
        "split them along what they own"
    )
    stale = {path for path in LONG_ALLOWED if path not in {m.path for m in modules}}
    assert not stale, f"gone: remove {sorted(stale)} from LONG_ALLOWED"


# --- The checks catch what they are for -----------------------------------------------------------


def _modules_of(tmp_path: Path, files: dict[str, str]) -> list[Module]:
    for name, source in files.items():
        path = tmp_path / "bot" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return bot_modules(tmp_path / "bot")


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    modules = _modules_of(
        tmp_path,
        {
            "__init__.py": "",
            "model/__init__.py": "from bot.worker.job import run\n",  # up three layers
            "text/__init__.py": "",
            "matcher/__init__.py": "def f():\n    from bot.clustering import x\n",  # lazy
            "clustering/__init__.py": "from bot.matcher import y\nx = 1\n",  # cycle
            "worker/__init__.py": "",
            "worker/job.py": (
                "import sqlalchemy as sa\nfrom sqlalchemy import select\n"
                "def run(session):\n    session.execute(sa.text('SELECT 1'))\n"
            ),
            "storage/__init__.py": "from sqlalchemy import text\n",
        },
    )
    by_path = {module.path: module for module in modules}
    assert sql_uses(by_path["worker/job.py"]) == [
        "2: from sqlalchemy import select",
        "4: .execute(...)",
        "4: sa.text",
    ]
    assert layer_breaches(modules) == {("model/__init__.py", "bot.worker.job")}
    assert package_cycles(modules, ignored=set()) == [["clustering", "matcher"]]
