"""`jsontext` writes exactly the text of the standard library's encoder, only faster.

Content hashes already stored and `raw_json`'s text depend on it: every value here is
written both ways and compared byte for byte, the orjson path and its fallbacks alike.
"""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from tasman_etl import jsontext
from tasman_etl.jsontext import Unusual, canonical_ascii, compact, compact_strict, loads

from realdata import SEARCH_FILES, requires_fixtures


def _json_compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def _random_float(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.3:  # any bit pattern: subnormals, huge, NaN and infinities included
        value: float = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        return value
    if pick < 0.6:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-25, 25)
    return round(rng.uniform(-200, 200), rng.randint(0, 9))


def test_floats_parsed_by_loads_are_written_as_json_writes_them() -> None:
    rng = random.Random(20261203)
    unusual = 0
    for _ in range(20_000):
        value = _random_float(rng)
        text = json.dumps({"Latitude": value, "list": [value, "x"]})
        parsed = loads(text)
        unusual += isinstance(parsed["Latitude"], Unusual)
        assert compact(parsed) == _json_compact(parsed), text
        assert canonical_ascii(parsed) == _json_canonical(parsed), text
        if math.isfinite(value):
            assert compact_strict(parsed) == compact(parsed)
            assert parsed["Latitude"] == value
    assert 0 < unusual < 20_000  # both paths were taken


@pytest.mark.parametrize(
    "text",
    [
        '{"a":NaN}',
        '{"a":[1,Infinity]}',
        '{"a":-Infinity}',
        "[1e-5,-1.5e-07,1E400,1e16,123456789012345678.0,0.0001,-0.0]",
        '{"a":null,"b":"null","c":[null],"d":"x:null"}',
        '{"big":123456789012345678901234567890}',
        '{"lone":"\\ud800","pair":"\\ud83d\\ude00"}',
        '{"nul":"a\\u0000b","del":"\\u007f","ctl":"\\b\\f\\n\\r\\t\\u0001\\u001f"}',
        '{"é":"café","\\u2028":"line\\u2028sep","z":1,"A":2,"_":[]}',
        '{"T":"2026-10-21T00:00:00.0000","e":"e-mail 3e-5 1e+16"}',
        "[]",
        "null",
        '"just text"',
        "0.00001",
    ],
)
def test_edge_values_are_written_as_json_writes_them(text: str) -> None:
    parsed = loads(text)
    assert compact(parsed) == _json_compact(parsed)
    assert canonical_ascii(parsed) == _json_canonical(parsed)


def test_strict_refuses_nan_and_infinity_as_json_does() -> None:
    for text in ('{"a":NaN}', "[Infinity]", '{"a":{"b":[-Infinity]}}'):
        with pytest.raises(ValueError, match="not JSON compliant"):
            compact_strict(loads(text))
    # a NaN that did not come through `loads` is refused too (orjson would write null)
    with pytest.raises(ValueError, match="not JSON compliant"):
        compact_strict({"a": float("nan")})
    assert compact({"a": float("nan")}) == '{"a":NaN}'
    assert canonical_ascii(loads('{"a": [Infinity]}')) == b'{"a":[Infinity]}'


def test_values_orjson_refuses_fall_back_to_json() -> None:
    class Text(str):
        __slots__ = ()

    deep: Any = "bottom"
    for _ in range(300):  # past orjson's 255 levels, within Python's recursion limit
        deep = [deep]
    for value in ({"t": Text("subclass")}, deep, {"n": 2**70}, {"s": "\udc80"}):
        assert compact(value) == _json_compact(value)
        assert canonical_ascii(value) == _json_canonical(value)
    with pytest.raises(TypeError):
        compact({1: {2, 3}})  # not JSON at all: json's own error


def test_items_of_the_simulator_and_their_hashes_are_unchanged() -> None:
    from tasman_etl.simulator import SimulatorConfig
    from tasman_etl.simulator.server import SimulatorServer

    universe = SimulatorServer(SimulatorConfig(jobs=60, seed=7, text="real")).universe
    for index in universe.live_order():
        item = loads(universe.item_bytes(index, radial=False))
        assert compact(item) == _json_compact(item)
        assert canonical_ascii(item) == _json_canonical(item)


def test_loads_marks_only_the_floats_whose_spelling_differs() -> None:
    parsed = loads("[41.8781, -87.6298, 0.0001, 1e-05, 1e16, 9999999999999998.0, 0.0]")
    assert [isinstance(v, Unusual) for v in parsed] == [
        False,
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert parsed == json.loads("[41.8781, -87.6298, 0.0001, 1e-05, 1e16, 9999999999999998.0, 0]")
    assert jsontext.loads(b'{"a": 1}') == {"a": 1}


@requires_fixtures
def test_every_recorded_item_is_written_as_json_writes_it() -> None:
    count = 0
    for path in SEARCH_FILES:
        for item in loads(path.read_bytes())["SearchResult"]["SearchResultItems"]:
            assert compact(item) == _json_compact(item)
            assert canonical_ascii(item) == _json_canonical(item)
            count += 1
    assert count > 700
