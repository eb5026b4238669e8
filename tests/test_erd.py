"""DATABASE.md carries the ER diagram drawn from the models; `make erd` refreshes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_erd():
    spec = importlib.util.spec_from_file_location("erd", ROOT / "scripts" / "erd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_database_md_holds_the_current_diagram():
    erd = load_erd()
    expected = erd.markdown_block(erd.render())
    found = erd.current_block((ROOT / "DATABASE.md").read_text())
    assert found is not None, "DATABASE.md lacks the <!-- erd:start --> ... <!-- erd:end --> block"
    assert found == expected, "The ER diagram in DATABASE.md is stale: run `make erd`"


def test_diagram_shows_keys_and_relationships():
    diagram = load_erd().render()
    assert diagram.startswith("erDiagram\n")
    assert "integer id PK" in diagram
    assert 'varchar(254) email UK "unique lower(email)"' in diagram
    assert 'departments ||--o{ doctors : "department_id"' in diagram
    assert 'departments |o--o{ patients : "department_id"' in diagram
    assert 'users |o--o| doctors : "user_id"' in diagram


def test_write_replaces_only_the_block(tmp_path):
    erd = load_erd()
    page = tmp_path / "DATABASE.md"
    page.write_text(f"# Title\n\n{erd.START}\nold\n{erd.END}\n\nAfter.\n")
    assert erd.main(["--check", str(page)]) == 1
    assert erd.main(["--write", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Title\n\n") and text.endswith("\n\nAfter.\n")
    assert erd.main(["--check", str(page)]) == 0
