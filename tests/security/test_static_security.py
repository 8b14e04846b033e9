"""Static security of src/: no shell, no string-built SQL, ruff's bandit rules (S) clean.

Two small AST scanners keep the rules honest (each is tested on bad snippets first, so a
scanner that finds nothing proves something):

* shell: a call with ``shell=`` anything but a literal False, or ``os.system``/``os.popen``;
* SQL: the statement given to ``execute``/``executemany``/``copy``/``stream`` (or to
  ``sql.SQL``) built from an f-string with placeholders, ``%`` or ``+`` on strings,
  ``str.format`` or ``str.join`` -- directly or through a local name assigned that way.
  Statements are literals or `psycopg.sql` compositions (identifiers via ``sql.Identifier``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tasman_etl"
SQL_METHODS = frozenset({"execute", "executemany", "copy", "stream"})
Finding = tuple[int, str]


def _src_files() -> list[Path]:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20, f"no sources under {SRC}"
    return files


def shell_findings(source: str) -> list[Finding]:
    """Calls that run a shell."""
    found: list[Finding] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "shell" and not (
                isinstance(kw.value, ast.Constant) and kw.value.value is False
            ):
                found.append((node.lineno, "shell= not literally False"))
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("system", "popen")
            and isinstance(func.value, ast.Name)
            and func.value.id == "os"
        ):
            found.append((node.lineno, f"os.{func.attr}"))
    return found


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _texty(node: ast.AST, names: dict[str, ast.AST], seen: frozenset[str]) -> bool:
    """A string literal, an f-string, or a local name bound to one."""
    if _is_text(node):
        return True
    if isinstance(node, ast.Name) and node.id in names and node.id not in seen:
        return _texty(names[node.id], names, seen | {node.id})
    return False


def _built(node: ast.AST, names: dict[str, ast.AST], seen: frozenset[str] = frozenset()) -> bool:
    """True if ``node`` is text built at run time from parts (not a literal, not psycopg.sql)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        sides = (node.left, node.right)
        if all(_is_text(s) for s in sides) and isinstance(node.op, ast.Add):
            return _built(node.left, names, seen) or _built(node.right, names, seen)
        return any(_texty(s, names, seen) or _built(s, names, seen) for s in sides)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
        and _texty(node.func.value, names, seen)
    ):
        return True
    if isinstance(node, ast.Name) and node.id in names and node.id not in seen:
        return _built(names[node.id], names, seen | {node.id})
    return False


def _statement(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg in ("query", "statement", "obj"):
            return kw.value
    return None


def sql_calls(source: str) -> int:
    """How many SQL calls (the ones `sql_findings` checks) ``source`` makes."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            count += name in SQL_METHODS or name == "SQL"
    return count


def sql_findings(source: str) -> list[Finding]:
    """SQL statements built from strings at run time."""
    tree = ast.parse(source)
    found: list[Finding] = []
    scopes: list[ast.AST] = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
    for scope in scopes:
        names: dict[str, ast.AST] = {}
        body = scope.body if isinstance(scope, ast.Module | ast.FunctionDef) else []
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            names[target.id] = node.value
                elif (
                    isinstance(node, ast.AnnAssign)
                    and isinstance(node.target, ast.Name)
                    and node.value is not None
                ):
                    names[node.target.id] = node.value
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in SQL_METHODS and name != "SQL":
                continue
            statement = _statement(node)
            if statement is not None and _built(statement, names):
                found.append((node.lineno, f"{name}() of a string built at run time"))
    return sorted(set(found))


BAD_SQL = [
    'cur.execute(f"SELECT * FROM {table}")',
    'conn.execute("SELECT * FROM " + table)',
    'conn.execute("DELETE FROM %s" % table)',
    'cur.execute("SELECT {} FROM job".format(col))',
    'cur.executemany(f"INSERT INTO {t} VALUES (%s)", rows)',
    'cur.copy(f"COPY {t} FROM STDIN")',
    'sql.SQL(f"SELECT * FROM {table}")',
    'conn.execute(query=", ".join(cols))',
    'sep = ", "\nconn.execute(sep.join(cols))',
    """
    def load(conn, table):
        q = f"TRUNCATE {table}"
        conn.execute(q)
    """,
    """
    def load(conn, table):
        base = "SELECT * FROM "
        q = base + table
        conn.execute(q, ())
    """,
]
GOOD_SQL = [
    'cur.execute("SELECT * FROM job " "WHERE control_number = %s", (cn,))',
    'cur.execute("SELECT * FROM job " + "WHERE control_number = %s", (cn,))',
    'cur.execute("SELECT * FROM job WHERE control_number = %s", (cn,))',
    'cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))',
    'cur.execute(sql.SQL("SELECT {} FROM t").format(sql.SQL(", ").join(cols)))',
    '_UPSERT = "INSERT INTO job VALUES (%(a)s)"\ncur.execute(_UPSERT, params)',
    'log.info(f"executed {n} rows")',
    'message = f"loading {key} failed"\nraise DatabaseError(message)',
]
BAD_SHELL = [
    'subprocess.run("ls " + path, shell=True)',
    "subprocess.Popen(cmd, shell=use_shell)",
    'os.system("rm -rf " + folder)',
    'os.popen("id")',
]
GOOD_SHELL = ['subprocess.run(["pg_ctl", "stop"], check=True)', "subprocess.run(args, shell=False)"]


@pytest.mark.parametrize("snippet", BAD_SQL)
def test_sql_scanner_flags_string_built_statements(snippet: str) -> None:
    assert sql_findings(textwrap.dedent(snippet)), snippet


@pytest.mark.parametrize("snippet", GOOD_SQL)
def test_sql_scanner_accepts_literals_and_psycopg_sql(snippet: str) -> None:
    assert sql_findings(snippet) == []


@pytest.mark.parametrize("snippet", BAD_SHELL)
def test_shell_scanner_flags_shells(snippet: str) -> None:
    assert shell_findings(snippet), snippet


@pytest.mark.parametrize("snippet", GOOD_SHELL)
def test_shell_scanner_accepts_argument_lists(snippet: str) -> None:
    assert shell_findings(snippet) == []


def test_no_src_file_runs_a_shell() -> None:
    problems = {
        f"{path.relative_to(SRC)}:{line}": what
        for path in _src_files()
        for line, what in shell_findings(path.read_text(encoding="utf-8"))
    }
    assert problems == {}


def test_no_src_file_builds_sql_from_strings() -> None:
    checked = sum(sql_calls(path.read_text(encoding="utf-8")) for path in _src_files())
    assert checked > 50  # the scanner looked at the real statements
    problems = {
        f"{path.relative_to(SRC)}:{line}": what
        for path in _src_files()
        for line, what in sql_findings(path.read_text(encoding="utf-8"))
    }
    assert problems == {}


def test_ruff_bandit_rules_are_selected_and_clean_on_src() -> None:
    config = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]  # the CI lint gate runs them too
    assert set(lint.get("ignore", [])) & {f"S{n}" for n in range(100, 1000)} <= {"S101"}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "ruff", "check", "--no-cache"),
            *("--select", "S", "--ignore", "S101", str(SRC)),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=SRC.parents[1],
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "All checks passed" in result.stdout
