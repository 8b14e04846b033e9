"""`db/errors.py`: a psycopg error becomes one scrubbed line of `DatabaseError`."""

from __future__ import annotations

import psycopg
import pytest

from tasman_etl.db.errors import MAX_REASON, database_errors, one_line
from tasman_etl.errors import DatabaseError


def test_one_line_folds_names_the_type_and_masks_passwords() -> None:
    exc = psycopg.OperationalError(
        "connection to postgresql://etl:hunter2-secret@db:5432/x failed\n\tIs the server up?"
    )
    assert one_line(exc) == (
        "OperationalError: connection to postgresql://etl:***@db:5432/x failed Is the server up?"
    )


def test_one_line_cuts_a_long_message() -> None:
    text = one_line(psycopg.DataError("x" * 5_000))
    assert len(text) == MAX_REASON and text.endswith("...")


@database_errors("cannot write {name} of run {record.run_id}")
def _fails(name: str, record: object, *, error: Exception) -> None:
    raise error


def test_a_psycopg_error_becomes_database_error_from_it() -> None:
    cause = psycopg.errors.DivisionByZero("division by zero")
    record = type("Record", (), {"run_id": "r7"})()
    with pytest.raises(DatabaseError) as caught:
        _fails("codes", record, error=cause)
    assert str(caught.value) == "cannot write codes of run r7: DivisionByZero: division by zero"
    assert caught.value.__cause__ is cause


def test_other_errors_pass_through_unchanged() -> None:
    mine = DatabaseError("already mapped")
    with pytest.raises(DatabaseError) as caught:
        _fails("codes", None, error=mine)
    assert caught.value is mine
    with pytest.raises(ZeroDivisionError):
        _fails("codes", None, error=ZeroDivisionError())


def test_a_template_the_arguments_cannot_fill_is_kept_as_written() -> None:
    @database_errors("cannot do {missing.attr}")
    def fails() -> None:
        raise psycopg.InterfaceError("gone")

    with pytest.raises(DatabaseError, match=r"^cannot do \{missing.attr\}: InterfaceError: gone$"):
        fails()
