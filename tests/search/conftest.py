"""Fixtures for the search wing: a folder of mixed files (the Cranfield slice is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


def write_pdf(path: Path, text: str) -> None:
    """A real PDF with a text layer, drawn by matplotlib (TrueType fonts so pypdf can read it back)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = plt.figure(figsize=(8, 2))
        fig.text(0.05, 0.5, text, fontsize=10)
        fig.savefig(path, format="pdf")
        plt.close(fig)


@pytest.fixture()
def mixed_folder(tmp_path) -> Path:
    """.txt, .md, .html (with script and style to drop), .pdf, a binary file, a Latin-1 file, an empty file."""
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "wing.txt").write_text("The wing in a propeller slipstream gains lift.", encoding="utf-8")
    (root / "notes.md").write_text("# Boundary layers\n\nA laminar boundary layer on a flat plate.", encoding="utf-8")
    (root / "sub" / "page.html").write_text(
        "<html><head><title>Shock waves</title><style>.x{color:red}</style></head>"
        "<body><script>var hidden = 'javascript text';</script><p>Oblique shock waves at supersonic speed.</p>"
        "<template>template text</template></body></html>",
        encoding="utf-8",
    )
    write_pdf(root / "heat.pdf", "Heat transfer in hypersonic flow")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (root / "binary.txt").write_bytes(b"abc\x00\x01\x02 not text")
    (root / "latin.txt").write_bytes("Caf\xe9 aerodynamics: d\xe9collement of flow.".encode("latin-1"))
    (root / "empty.txt").write_text("   ", encoding="utf-8")
    return root
