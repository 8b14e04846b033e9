"""Schema drift of search items: the keys the models do not know, counted per page.

The known keys at every position of an item are read once from the pydantic models
(`tasman_etl.models`: aliases and alias choices); `unknown_keys` compares a raw item with
them by set differences, cheaply enough to run on every item of every page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tasman_etl.models import (
    CodeName,
    Descriptor,
    Details,
    FormattedDescription,
    Location,
    Remuneration,
    SearchItem,
    UserArea,
    WhoMayApply,
)

__all__ = ["unknown_keys"]


def _aliases(model: type[BaseModel]) -> frozenset[str]:
    """Every input key a model accepts (aliases and alias choices)."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
        choices = getattr(info.validation_alias, "choices", None)
        if choices:
            keys.update(c for c in choices if isinstance(c, str))
    return frozenset(keys)


# Known keys per position, for the drift report (keys the models do not know).
_ITEM_KEYS = _aliases(SearchItem)
_DESCRIPTOR_KEYS = _aliases(Descriptor)
_USER_AREA_KEYS = _aliases(UserArea)
_DETAILS_KEYS = _aliases(Details)
_WHO_KEYS = _aliases(WhoMayApply)
_LIST_KEYS = {
    "PositionLocation": _aliases(Location),
    "JobCategory": _aliases(CodeName),
    "JobGrade": _aliases(CodeName),
    "PositionSchedule": _aliases(CodeName),
    "PositionOfferingType": _aliases(CodeName),
    "PositionRemuneration": _aliases(Remuneration),
    "PositionFormattedDescription": _aliases(FormattedDescription),
}


def _key_text(key: str) -> str:
    """A key as printable, storable text (NULs and lone surrogates escaped)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def _extra(obj: Any, known: frozenset[str], path: str, counter: Counter[str]) -> None:
    if isinstance(obj, Mapping):
        for key in obj.keys() - known:
            counter[f"{path}.{_key_text(key)}"] += 1


def unknown_keys(raw: Mapping[str, Any], counter: Counter[str]) -> None:
    """Count keys of a raw item that the models do not know (schema drift).

    Works on the raw dict with set differences, so it is cheap enough to run on every
    item; a key inside a list counts once per item, however many entries carry it.
    """
    for key in raw.keys() - _ITEM_KEYS:
        counter[_key_text(key)] += 1
    descriptor = raw.get("MatchedObjectDescriptor")
    if not isinstance(descriptor, Mapping):
        return
    base = "MatchedObjectDescriptor"
    _extra(descriptor, _DESCRIPTOR_KEYS, base, counter)
    for name, known in _LIST_KEYS.items():
        entries = descriptor.get(name)
        if isinstance(entries, list):
            seen: set[str] = set()
            for entry in entries:
                if isinstance(entry, Mapping):
                    seen.update(entry.keys() - known)
            for key in seen:
                counter[f"{base}.{name}[].{_key_text(key)}"] += 1
    user_area = descriptor.get("UserArea")
    if isinstance(user_area, Mapping):
        _extra(user_area, _USER_AREA_KEYS, f"{base}.UserArea", counter)
        details = user_area.get("Details")
        if isinstance(details, Mapping):
            _extra(details, _DETAILS_KEYS, f"{base}.UserArea.Details", counter)
            _extra(
                details.get("WhoMayApply"),
                _WHO_KEYS,
                f"{base}.UserArea.Details.WhoMayApply",
                counter,
            )
