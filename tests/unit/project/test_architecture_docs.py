"""Architecture docs that cannot drift.

* The ER diagram in ``docs/architecture/diagrams.md`` matches the DDL: every table created by
  ``src/tasman_etl/db/migrations/*.sql`` (schema-qualified names included; gold views and
  functions are not tables) and ``schema_migrations`` (created by ``db/migrate.py``) appears
  with exactly its columns, their types and PK/FK/UK markers, and every foreign key is drawn.
* Every ADR has Status, Context, Decision and Consequences and is listed in the index.

The SQL reader below understands what our migrations use: ``CREATE TABLE`` (``IF NOT
EXISTS``, quoted and schema-qualified names; temporary tables ignored), ``ALTER TABLE``
``ADD``/``DROP``/``RENAME COLUMN`` and ``ADD CONSTRAINT``, ``DROP TABLE`` and ``CREATE
UNIQUE INDEX``. String literals, dollar-quoted bodies and comments are blanked first.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = ROOT / "src" / "tasman_etl" / "db" / "migrations"
MIGRATE_PY = ROOT / "src" / "tasman_etl" / "db" / "migrate.py"
ARCH = ROOT / "docs" / "architecture"
DIAGRAMS = ARCH / "diagrams.md"
INDEX = ARCH / "README.md"
DECISIONS = ARCH / "decisions"

ADR_SECTIONS = ("Status", "Context", "Decision", "Consequences")
ADR_STATUSES = ("Proposed", "Accepted", "Rejected", "Deprecated", "Superseded")


# ------------------------------------------------------------------------- SQL -> tables


@dataclass
class Column:
    """A column as the diagram must show it: normalised type and key markers."""

    type: str
    keys: set[str] = field(default_factory=set)


@dataclass
class Table:
    """Columns in DDL order, and the tables its foreign keys reference."""

    columns: dict[str, Column] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)


_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_QNAME = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_STATEMENT = re.compile(
    r"\b(?:"
    r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?P<temp>TEMP\s+|TEMPORARY\s+)?(?:UNLOGGED\s+)?"
    rf"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<create>{_QNAME})"
    rf"|ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<alter>{_QNAME})"
    r"|DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<drop>[^;]+)"
    r"|CREATE\s+UNIQUE\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:{_NAME}\s+)?ON\s+(?:ONLY\s+)?(?P<unique>{_QNAME})"
    r")",
    re.IGNORECASE,
)
_COLUMN_END = re.compile(
    r"\b(?:NOT\s+NULL|NULL|DEFAULT|PRIMARY\s+KEY|REFERENCES|UNIQUE|CHECK|GENERATED|"
    r"CONSTRAINT|COLLATE)\b",
    re.IGNORECASE,
)
_KEYWORDS = {
    "PK": re.compile(r"\bPRIMARY\s+KEY\b", re.IGNORECASE),
    "UK": re.compile(r"\bUNIQUE\b", re.IGNORECASE),
    "FK": re.compile(r"\bREFERENCES\b", re.IGNORECASE),
}


def _ident(name: str) -> str:
    """An identifier as PostgreSQL folds it: quoted kept as is, unquoted lower-cased."""
    name = name.strip()
    return name[1:-1] if name.startswith('"') else name.lower()


def qualified(name: str) -> str:
    """``schema.table`` for a possibly unqualified, possibly quoted name (default public)."""
    parts = [_ident(p) for p in re.findall(_NAME, name)]
    return ".".join(parts) if len(parts) == 2 else f"public.{parts[0]}"


def blank_literals(sql: str) -> str:
    """Drop comments; empty string literals and dollar-quoted bodies (keeping the quotes)."""
    out: list[str] = []
    i = 0
    while i < len(sql):
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + 2
            out.append(" ")
        elif sql[i] == "'":
            j = i + 1
            while j < len(sql):
                if sql[j] == "'" and sql.startswith("''", j):
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    j += 1
            out.append("''")
            i = j + 1
        elif sql[i] == '"':
            end = sql.find('"', i + 1)
            end = len(sql) - 1 if end < 0 else end
            out.append(sql[i : end + 1])
            i = end + 1
        elif (tag := re.match(r"\$[A-Za-z_]*\$", sql[i:])) is not None:
            end = sql.find(tag.group(), i + len(tag.group()))
            out.append("$$ $$")
            i = len(sql) if end < 0 else end + len(tag.group())
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses after: {text[start : start + 60]!r}")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _flat(text: str) -> str:
    """``text`` with everything inside parentheses blanked (keywords at depth 0 only)."""
    out, depth = [], 0
    for char in text:
        if char == ")":
            depth -= 1
        out.append(char if depth == 0 else " ")
        if char == "(":
            depth += 1
    return "".join(out)


def _paren_names(text: str) -> list[str]:
    """Identifiers of the first ``( ... )`` group in ``text``."""
    start = text.index("(")
    return [_ident(n) for n in _split_top(text[start + 1 : _closing(text, start)])]


def normalise_type(sql_type: str) -> str:
    """``double precision`` -> ``double_precision``, ``numeric(10, 2)`` -> ``numeric(10,2)``."""
    text = re.sub(r"\s*([(),\[\]])\s*", r"\1", " ".join(sql_type.split()).lower())
    return text.replace(" ", "_")


def _add_column(table: Table, definition: str) -> None:
    name = re.match(_NAME, definition)
    assert name is not None, f"cannot read a column from {definition!r}"
    rest = definition[name.end() :]
    flat = _flat(rest)
    end = _COLUMN_END.search(flat)
    column = Column(normalise_type(rest[: end.start() if end else len(rest)]))
    column.keys = {key for key, pattern in _KEYWORDS.items() if pattern.search(flat)}
    if "FK" in column.keys:
        target = re.search(rf"\bREFERENCES\s+({_QNAME})", rest, re.IGNORECASE)
        assert target is not None
        table.references.add(qualified(target.group(1)))
    table.columns[_ident(name.group())] = column


def _add_constraint(table: Table, definition: str) -> None:
    text = re.sub(rf"^CONSTRAINT\s+{_NAME}\s*", "", definition, flags=re.IGNORECASE)
    head = _flat(text)
    for key, pattern in (
        ("PK", re.compile(r"^PRIMARY\s+KEY\b", re.IGNORECASE)),
        ("UK", re.compile(r"^UNIQUE\b", re.IGNORECASE)),
        ("FK", re.compile(r"^FOREIGN\s+KEY\b", re.IGNORECASE)),
    ):
        if pattern.match(head):
            for name in _paren_names(text):
                table.columns[name].keys.add(key)
            if key == "FK":
                target = re.search(rf"\bREFERENCES\s+({_QNAME})", text, re.IGNORECASE)
                assert target is not None
                table.references.add(qualified(target.group(1)))


def _is_constraint(definition: str) -> bool:
    return bool(
        re.match(
            r"(?:CONSTRAINT|PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CHECK|EXCLUDE|LIKE)\b",
            definition,
            re.IGNORECASE,
        )
    )


def _alter(table: Table, actions: str) -> None:
    for action in _split_top(actions):
        add = re.match(
            r"ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(.*)$", action, re.IGNORECASE | re.S
        )
        drop = re.match(
            rf"DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_NAME})", action, re.IGNORECASE
        )
        rename = re.match(
            rf"RENAME\s+(?:COLUMN\s+)?({_NAME})\s+TO\s+({_NAME})", action, re.IGNORECASE
        )
        if add is not None:
            (_add_constraint if _is_constraint(add.group(1)) else _add_column)(table, add.group(1))
        elif drop is not None and not re.match(r"DROP\s+CONSTRAINT\b", action, re.IGNORECASE):
            table.columns.pop(_ident(drop.group(1)), None)
        elif rename is not None:
            old, new = _ident(rename.group(1)), _ident(rename.group(2))
            table.columns = {new if k == old else k: v for k, v in table.columns.items()}


def apply_ddl(sql: str, tables: dict[str, Table]) -> None:
    """Apply the table DDL of one script to ``tables`` (qualified name -> Table), in order."""
    text = blank_literals(sql)
    for match in _STATEMENT.finditer(text):
        tail = text[match.end() :]
        statement = tail[: tail.find(";")] if ";" in tail else tail
        if match["create"] and not match["temp"]:
            table = tables.setdefault(qualified(match["create"]), Table())
            if statement.lstrip().startswith("("):
                start = tail.index("(")
                for element in _split_top(tail[start + 1 : _closing(tail, start)]):
                    (_add_constraint if _is_constraint(element) else _add_column)(table, element)
        elif match["alter"] and qualified(match["alter"]) in tables:
            _alter(tables[qualified(match["alter"])], statement)
        elif match["drop"]:
            dropped = re.sub(r"\b(?:CASCADE|RESTRICT)\b", "", match["drop"], flags=re.IGNORECASE)
            for name in _split_top(dropped):
                tables.pop(qualified(name), None)
        elif match["unique"] and qualified(match["unique"]) in tables:
            partial = re.search(r"\bWHERE\b", statement, re.IGNORECASE)
            names = _paren_names(statement)
            table = tables[qualified(match["unique"])]
            if partial is None and all(n in table.columns for n in names):
                for name in names:
                    table.columns[name].keys.add("UK")


def _migration_files() -> list[Path]:
    numbered = [p for p in MIGRATIONS.glob("*.sql") if re.match(r"\d+_", p.name)]
    return sorted(numbered, key=lambda p: int(p.name.split("_", 1)[0]))


def _migrate_py_ddl() -> list[str]:
    """String constants of db/migrate.py that create tables (schema_migrations)."""
    tree = ast.parse(MIGRATE_PY.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.search(r"\bcreate\s+table\b", node.value, re.IGNORECASE)
    ]


def ddl_tables() -> dict[str, Table]:
    """Every table the schema has after all migrations (and migrate.py's own table)."""
    tables: dict[str, Table] = {}
    for script in _migrate_py_ddl():
        apply_ddl(script, tables)
    for path in _migration_files():
        apply_ddl(path.read_text(encoding="utf-8"), tables)
    return tables


# ------------------------------------------------------------------------- diagrams


@dataclass
class Entity:
    """An erDiagram entity: attribute name -> (type, key markers)."""

    attributes: dict[str, Column] = field(default_factory=dict)


@dataclass(frozen=True)
class Relationship:
    """An erDiagram relationship line; ``solid`` for ``--``, else ``..``."""

    left: str
    right: str
    solid: bool


_ENTITY = re.compile(r'^\s*([A-Za-z_][\w-]*)(?:\s*\[\s*"?([^"\]]+?)"?\s*\])?\s*\{\s*$')
_ATTRIBUTE = re.compile(
    r"^\s*(?P<type>[A-Za-z_][\w\-\[\]()]*)\s+(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\s+(?P<keys>(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*))?"
    r'(?:\s*"[^"]*")?\s*$'
)
_RELATION = re.compile(
    r"^\s*(?P<left>[A-Za-z_][\w-]*)\s+[|}o{]{2}(?P<line>--|\.\.)[|}o{]{2}\s+"
    r"(?P<right>[A-Za-z_][\w-]*)\s*:"
)


def mermaid_blocks(text: str) -> list[str]:
    """Bodies of the ```mermaid fenced blocks."""
    return re.findall(r"^```mermaid[ \t]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def er_block() -> str:
    """The one erDiagram block of diagrams.md."""
    blocks = mermaid_blocks(DIAGRAMS.read_text(encoding="utf-8"))
    found = [b for b in blocks if b.lstrip().startswith("erDiagram")]
    assert len(found) == 1, f"expected one erDiagram block in {DIAGRAMS.name}, found {len(found)}"
    return found[0]


def parse_er(block: str) -> tuple[dict[str, Entity], list[Relationship], dict[str, str]]:
    """Entities by qualified name, relationships, and entity id -> qualified name."""
    entities: dict[str, Entity] = {}
    ids: dict[str, str] = {}
    relations: list[Relationship] = []
    current: Entity | None = None
    for number, line in enumerate(block.splitlines(), 1):
        if not line.strip() or line.strip().startswith("%%") or line.strip() == "erDiagram":
            continue
        if current is not None:
            if line.strip() == "}":
                current = None
                continue
            attribute = _ATTRIBUTE.match(line)
            assert attribute is not None, f"erDiagram line {number} not understood: {line!r}"
            keys = {k.strip() for k in (attribute["keys"] or "").split(",") if k.strip()}
            current.attributes[attribute["name"]] = Column(attribute["type"].lower(), keys)
        elif (entity := _ENTITY.match(line)) is not None:
            name = qualified(entity.group(2) or entity.group(1))
            assert name not in entities, f"entity {name} is drawn twice"
            ids[entity.group(1)] = name
            current = entities[name] = Entity()
        elif (relation := _RELATION.match(line)) is not None:
            relations.append(
                Relationship(relation["left"], relation["right"], relation["line"] == "--")
            )
        else:
            raise AssertionError(f"erDiagram line {number} not understood: {line!r}")
    return entities, relations, ids


# ------------------------------------------------------------------------- tests: parser


def test_sql_reader_handles_what_migrations_may_contain() -> None:
    sql = """
    -- CREATE TABLE commented_out (x int);
    CREATE SCHEMA gold;
    CREATE TABLE IF NOT EXISTS gold."Scores" (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        label   text NOT NULL DEFAULT 'a, b; (c)' UNIQUE,
        job_id  bigint REFERENCES public.job (job_id) ON DELETE CASCADE,
        lat     double precision CHECK (lat BETWEEN -90 AND 90),
        amount  numeric(10, 2),
        tags    text[] NOT NULL DEFAULT '{}',
        CONSTRAINT scores_pair UNIQUE (job_id, amount)
    );
    CREATE TEMP TABLE scratch (x int);
    CREATE FUNCTION gold.f() RETURNS TABLE (y int) LANGUAGE plpgsql AS $body$
    BEGIN CREATE TABLE inside_body (z int); END $body$;
    CREATE VIEW gold.v AS SELECT 1 AS one;
    ALTER TABLE gold."Scores" ADD COLUMN IF NOT EXISTS note text, DROP COLUMN tags;
    ALTER TABLE gold."Scores" RENAME COLUMN note TO remark;
    CREATE TABLE doomed (x int);
    DROP TABLE IF EXISTS doomed;
    CREATE UNIQUE INDEX scores_lat ON gold."Scores" (lat);
    CREATE UNIQUE INDEX scores_partial ON gold."Scores" (remark) WHERE remark IS NOT NULL;
    """
    tables: dict[str, Table] = {}
    apply_ddl(sql, tables)
    assert set(tables) == {"gold.Scores"}
    scores = tables["gold.Scores"]
    assert list(scores.columns) == ["id", "label", "job_id", "lat", "amount", "remark"]
    assert {n: c.type for n, c in scores.columns.items()} == {
        "id": "bigint",
        "label": "text",
        "job_id": "bigint",
        "lat": "double_precision",
        "amount": "numeric(10,2)",
        "remark": "text",
    }
    assert {n: c.keys for n, c in scores.columns.items()} == {
        "id": {"PK"},
        "label": {"UK"},
        "job_id": {"FK", "UK"},
        "lat": {"UK"},
        "amount": {"UK"},
        "remark": set(),
    }
    assert scores.references == {"public.job"}


def test_migrations_are_read_with_the_names_design_md_fixes() -> None:
    tables = ddl_tables()
    assert {
        "public.job",
        "public.job_location",
        "public.job_details",
        "public.quarantine",
        "public.ingest_run",
        "public.ingest_page",
        "public.schema_migrations",
    } <= set(tables)
    job = tables["public.job"].columns
    assert job["job_id"].keys == {"PK"} and job["job_id"].type == "bigint"
    assert job["control_number"].keys == {"UK"}
    assert job["raw_json"].type == "jsonb" and job["apply_uris"].type == "text[]"
    assert tables["public.job_details"].columns["job_id"].keys == {"PK", "FK"}
    assert tables["public.job_location"].references == {"public.job"}


# ------------------------------------------------------------------------- tests: ER diagram

_TABLES = ddl_tables()


def test_er_diagram_draws_exactly_the_tables_of_the_migrations() -> None:
    entities, _, _ = parse_er(er_block())
    missing = sorted(set(_TABLES) - set(entities))
    extra = sorted(set(entities) - set(_TABLES))
    assert not missing, f"tables missing from the ER diagram: {missing}"
    assert not extra, f"ER diagram has tables no migration creates: {extra}"


@pytest.mark.parametrize("table", sorted(_TABLES))
def test_er_entity_matches_the_ddl(table: str) -> None:
    entities, _, _ = parse_er(er_block())
    assert table in entities, f"table {table} is missing from the ER diagram"
    drawn = entities[table].attributes
    ddl = _TABLES[table].columns
    assert list(drawn) == list(ddl), (
        f"{table}: columns differ from the DDL; missing {sorted(set(ddl) - set(drawn))}, "
        f"extra {sorted(set(drawn) - set(ddl))} (order must follow the DDL)"
    )
    types = {n: (drawn[n].type, c.type) for n, c in ddl.items() if drawn[n].type != c.type}
    assert not types, f"{table}: (diagram type, DDL type) differ: {types}"
    keys = {n: (drawn[n].keys, c.keys) for n, c in ddl.items() if drawn[n].keys != c.keys}
    assert not keys, f"{table}: (diagram keys, DDL keys) differ: {keys}"


def test_every_foreign_key_is_a_solid_relationship() -> None:
    _, relations, ids = parse_er(er_block())
    drawn = {
        frozenset((ids.get(r.left, r.left), ids.get(r.right, r.right)))
        for r in relations
        if r.solid
    }
    missing = sorted(
        f"{child} -> {parent}"
        for child, table in _TABLES.items()
        for parent in table.references
        if frozenset((child, parent)) not in drawn
    )
    assert not missing, f"foreign keys not drawn as solid (--) relationships: {missing}"


def test_relationships_name_drawn_entities() -> None:
    _, relations, ids = parse_er(er_block())
    unknown = sorted({n for r in relations for n in (r.left, r.right) if n not in ids})
    assert not unknown, f"relationships name entities that are not drawn: {unknown}"


def test_diagrams_has_architecture_sequence_and_er_diagrams() -> None:
    kinds = [b.split()[0] for b in mermaid_blocks(DIAGRAMS.read_text(encoding="utf-8"))]
    assert kinds.count("flowchart") >= 1
    assert kinds.count("sequenceDiagram") >= 1
    assert kinds.count("erDiagram") == 1


# ------------------------------------------------------------------------- tests: ADRs

ADR_FILES = sorted(DECISIONS.glob("*.md"))


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def test_adrs_are_numbered_from_one_without_gaps() -> None:
    numbers = []
    for path in ADR_FILES:
        match = re.fullmatch(r"(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md", path.name)
        assert match is not None, f"{path.name} is not named NNNN-short-title.md"
        numbers.append(int(match.group(1)))
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert numbers, "no ADRs found"


@pytest.mark.parametrize("path", ADR_FILES, ids=lambda p: p.name)
def test_adr_has_nygard_sections(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    number = int(path.name[:4])
    assert re.match(rf"# {number}\. \S", text), f"{path.name} must start with '# {number}. Title'"
    sections = _sections(text)
    order = [name for name in sections if name in ADR_SECTIONS]
    assert order == list(ADR_SECTIONS), f"{path.name}: sections {list(sections)}"
    empty = [name for name in ADR_SECTIONS if not sections[name]]
    assert not empty, f"{path.name}: empty sections {empty}"
    assert sections["Status"].startswith(ADR_STATUSES), (
        f"{path.name}: status {sections['Status']!r} is not one of {ADR_STATUSES}"
    )


@pytest.mark.parametrize("path", ADR_FILES, ids=lambda p: p.name)
def test_adr_is_listed_in_the_index(path: Path) -> None:
    index = INDEX.read_text(encoding="utf-8")
    assert f"(decisions/{path.name})" in index, f"{path.name} is not linked from {INDEX.name}"


def test_index_links_resolve() -> None:
    index = INDEX.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", index)
    assert "diagrams.md" in targets
    broken = [t for t in targets if "://" not in t and not (ARCH / t).exists()]
    assert not broken, f"broken links in {INDEX.name}: {broken}"
