"""The layout stays as documented: every module on docs/architecture.md, and no import circle anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[1] / "src" / "trainyard"
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _layout_block() -> list[str]:
    text = ARCHITECTURE.read_text()
    block = text[text.index("## Layout") :]
    return block[block.index("```") + 3 : block.index("```", block.index("```") + 3)].splitlines()


def _documented() -> set[str]:
    """Module paths as the page's tree spells them: indentation gives the folders."""
    found, folders = set(), []
    for line in _layout_block():
        match = re.match(r"^( *)(\S+)", line)
        if not match or match.group(2) in ("src/trainyard/",):
            continue
        depth, name = len(match.group(1)) // 2 - 1, match.group(2)
        if depth < 0:
            continue
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        elif name.endswith(".py"):
            found.add("/".join([*folders, name]))
    return found


def test_every_module_is_on_the_architecture_page() -> None:
    modules = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    modules = {m for m in modules if not m.endswith("__init__.py") or m.count("/") == 0 or "engines" in m}
    missing = sorted(modules - _documented())
    assert not missing, f"add these to docs/architecture.md's layout: {missing}"
    gone = sorted(_documented() - {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")})
    assert not gone, f"docs/architecture.md lists modules that no longer exist: {gone}"


def test_no_import_circle() -> None:
    graph = grimp.build_graph("trainyard", exclude_type_checking_imports=True)
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("trainyard") and imported != module:
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                if chain:
                    circles.append(" -> ".join((module, *chain)))
    assert not circles, "import circles:\n" + "\n".join(circles[:10])
