"""The database's entity-relationship diagram, drawn from the models as Mermaid.

python scripts/erd.py                      print the diagram
python scripts/erd.py --write DATABASE.md  replace the block between the erd markers
python scripts/erd.py --check DATABASE.md  exit 1 when that block is out of date
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Column, ForeignKey, Index, MetaData, Table, UniqueConstraint, types

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- erd:start -->", "<!-- erd:end -->"
#: Needed only to build the app; nothing is ever connected to or written.
THROWAWAY_ENV = {"DATABASE_URL": "sqlite://", "JWT_SECRET_KEY": "erd-only-" + "x" * 32}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set the variables that are absent, and take them away again afterwards."""
    added = [name for name in values if name not in os.environ]
    os.environ.update({name: values[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def load_metadata() -> MetaData:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from meditrack import create_app
    from meditrack.extensions import db

    with _environment(THROWAWAY_ENV):
        create_app()
    return db.metadata


def render(metadata: MetaData | None = None) -> str:
    """The Mermaid `erDiagram`: tables parents first, then one line per foreign key."""
    metadata = metadata if metadata is not None else load_metadata()
    lines = ["erDiagram"]
    for table in metadata.sorted_tables:
        lines.append(f"    {table.name} {{")
        lines.extend(f"        {_attribute(table, column)}" for column in table.columns)
        lines.append("    }")
    relations = sorted(
        (fk.column.table.name, table.name, fk.parent.name, _cardinality(fk))
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
    )
    for parent, child, column, cardinality in relations:
        lines.append(f'    {parent} {cardinality} {child} : "{column}"')
    return "\n".join(lines) + "\n"


def _attribute(table: Table, column: Column) -> str:
    keys = [
        key
        for key, present in (
            ("PK", column.primary_key),
            ("FK", bool(column.foreign_keys)),
            ("UK", _is_unique(table, column)),
        )
        if present
    ]
    notes = []
    if column.nullable and not column.primary_key:
        notes.append("nullable")
    notes.extend(f"unique {_expression(index)}" for index in _functional_unique(table, column))
    notes.extend(f"on delete {fk.ondelete.lower()}" for fk in column.foreign_keys if fk.ondelete)
    text = f"{_type_name(column.type)} {column.name}"
    if keys:
        text += " " + ", ".join(keys)
    if notes:
        text += ' "' + "; ".join(notes) + '"'
    return text


def _type_name(type_: types.TypeEngine) -> str:
    if isinstance(type_, types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, types.DateTime):
        return "timestamptz" if type_.timezone else "timestamp"
    if isinstance(type_, types.String) and not isinstance(type_, types.Text) and type_.length:
        return f"varchar({type_.length})"
    if isinstance(type_, types.SmallInteger):
        return "smallint"
    return type_.__visit_name__.lower()


def _is_unique(table: Table, column: Column) -> bool:
    """Unique on its own: a one-column unique constraint, index or functional index."""
    if column.unique:
        return True
    single = [
        constraint.columns
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    single += [index.columns for index in table.indexes if index.unique]
    return any(list(columns) == [column] for columns in single)


def _functional_unique(table: Table, column: Column) -> list[Index]:
    return [
        index
        for index in sorted(table.indexes, key=lambda index: index.name)
        if index.unique
        and list(index.columns) == [column]
        and not all(isinstance(expr, Column) for expr in index.expressions)
    ]


def _expression(index: Index) -> str:
    parts = [
        str(expr.compile(compile_kwargs={"literal_binds": True})) for expr in index.expressions
    ]
    return ", ".join(parts).replace(f"{index.table.name}.", "")


def _cardinality(fk: ForeignKey) -> str:
    """Parent side: exactly one, or zero or one when the column may be null.
    Child side: zero or one when the column is unique, else zero or more."""
    parent = "|o" if fk.parent.nullable else "||"
    child = "o|" if _is_unique(fk.parent.table, fk.parent) else "o{"
    return f"{parent}--{child}"


def markdown_block(diagram: str) -> str:
    return f"{START}\n```mermaid\n{diagram}```\n{END}"


def current_block(text: str) -> str | None:
    """The block between the markers, markers included; None when there is none."""
    start, end = text.find(START), text.find(END)
    if start == -1 or end == -1 or end < start:
        return None
    return text[start : end + len(END)]


def replace_block(text: str, block: str) -> str:
    old = current_block(text)
    if old is None:
        raise SystemExit(f"No {START} ... {END} markers found.")
    return text.replace(old, block, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path, help="update the block in FILE")
    group.add_argument("--check", metavar="FILE", type=Path, help="fail if FILE is stale")
    args = parser.parse_args(argv)
    diagram = render()
    if args.write:
        text = args.write.read_text()
        args.write.write_text(replace_block(text, markdown_block(diagram)))
        return 0
    if args.check:
        if current_block(args.check.read_text()) != markdown_block(diagram):
            print(f"{args.check}: the ER diagram is out of date; run make erd", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(diagram)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
