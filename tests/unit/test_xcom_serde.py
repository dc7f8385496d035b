"""XCom values written as Airflow's serialization writes them, and read back as their type:
pure, no store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid
import zoneinfo
from collections import namedtuple
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from pydantic import BaseModel

from conveyor.xcom_serde import (
    allowed_classes,
    as_collection,
    decode,
    display,
    encode,
    refuse_reserved_keys,
)

ANYTHING = allowed_classes("*")
DEFAULT = allowed_classes()


@dataclasses.dataclass
class Point:
    x: int
    y: int


@attrs.define
class Box:
    size: int
    label: str = "box"


class Temperature(BaseModel):
    celsius: float
    at: dt.datetime


class Money:
    """A class of its own with Airflow's serialize / deserialize pair."""

    __version__ = 3

    def __init__(self, cents: int) -> None:
        self.cents = cents

    def serialize(self) -> dict[str, int]:
        return {"cents": self.cents}

    @staticmethod
    def deserialize(data: dict[str, int], version: int) -> Money:
        assert version == 3
        return Money(data["cents"])


Pair = namedtuple("Pair", "a b")


def _round_trip(value: Any, allowed: Any = ANYTHING) -> Any:
    """Through JSON text, as the store keeps it."""
    return decode(json.loads(json.dumps(encode(value))), allowed)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 3, 1, 6, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 6, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        dt.date(2024, 3, 1),
        dt.timedelta(hours=2, seconds=3),
        (1, "a", None),
        {1, 2, 3},
        frozenset({"x"}),
        decimal.Decimal("12"),
        decimal.Decimal("1.25"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"when": dt.date(2024, 1, 1), "rows": [(1, decimal.Decimal("2.5"))]},
        [1, "two", 3.0, True, None, {"k": [1, 2]}],
    ],
)
def test_what_json_has_no_type_for_comes_back_as_its_type(value: Any) -> None:
    back = _round_trip(value, DEFAULT)
    assert back == value and type(back) is type(value)


def test_a_datetime_keeps_its_instant_and_its_zone() -> None:
    paris = dt.datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    back = _round_trip(paris)
    assert back == paris and back.utcoffset() == dt.timedelta(hours=2)
    assert str(back.tzinfo) == "Europe/Paris"
    later = _round_trip(pendulum.datetime(2024, 7, 1, 12, tz="Asia/Tokyo"))
    assert isinstance(later, pendulum.DateTime) and later.hour == 12
    assert _round_trip(dt.datetime(2024, 7, 1, 12)).tzinfo is None  # naive stays naive


def test_the_written_form_is_airflows() -> None:
    """The keys and class names Airflow's serialization writes, so values taken over from an
    Airflow database read back here."""
    assert encode((1, 2)) == {
        "__classname__": "builtins.tuple",
        "__version__": 1,
        "__data__": [1, 2],
    }
    assert encode(decimal.Decimal("7")) == {
        "__classname__": "decimal.Decimal",
        "__version__": 1,
        "__data__": 7,
    }
    assert encode(dt.timedelta(minutes=1))["__data__"] == 60.0
    assert encode(dt.date(2024, 1, 2))["__data__"] == "2024-01-02"
    written = encode(dt.datetime(2024, 1, 2, tzinfo=dt.UTC))
    assert (written["__classname__"], written["__version__"]) == ("datetime.datetime", 2)
    assert written["__data__"]["timestamp"] == 1704153600.0
    assert encode(Pair(1, 2))["__classname__"] == "builtins.tuple"


def test_classes_of_a_team_read_back_only_when_allowed() -> None:
    written = json.loads(json.dumps(encode({"p": Point(1, 2)})))
    assert written["p"]["__classname__"] == f"{__name__}.Point"
    with pytest.raises(ImportError, match=r"not found in allow list .* allowed_deserialization"):
        decode(written, DEFAULT)
    assert decode(written, allowed_classes(f"{__name__}.*")) == {"p": Point(1, 2)}
    by_regexp = allowed_classes("airflow.*", r"test_xcom_serde\.(Point|Box)")
    assert decode(written, by_regexp) == {"p": Point(1, 2)}
    assert not allowed_classes("", r"test_xcom_serde\.Po")("test_xcom_serde.Point")  # whole
    assert _round_trip(Box(3)) == Box(3, "box")
    assert _round_trip(Money(250)).cents == 250
    reading = _round_trip(Temperature(celsius=21.5, at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
    assert isinstance(reading, Temperature) and reading.celsius == 21.5


def test_what_cannot_be_kept_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match=r"builtins\.bytes"):
        encode({"raw": b"x"})
    with pytest.raises(TypeError, match=r"builtins\.object"):
        encode([object()])
    with pytest.raises(ValueError, match="__classname__"):
        encode({"__classname__": "x"})


def test_numpy_scalars_keep_their_type() -> None:
    numpy = pytest.importorskip("numpy")
    for value in (numpy.int64(7), numpy.float64(2.5), numpy.bool_(True)):
        back = _round_trip(value)
        assert back == value and type(back) is type(value)


def test_the_scheduler_counts_a_tuple_or_a_set_and_names_another_type() -> None:
    assert as_collection(encode((1, 2, 3))) == [1, 2, 3]
    assert len(as_collection(encode({"a", "b"}))) == 2
    assert as_collection([1, 2]) == [1, 2] and as_collection({"k": 1}) == {"k": 1}
    assert type(as_collection(encode(dt.date(2024, 1, 1)))).__name__ == "date"


#: The values whose written form tests/fixtures/airflow_xcom_forms.json holds, as Airflow
#: 3.3's serialization (apache-airflow-task-sdk 1.3.2, ``airflow.sdk.serde.serialize``) wrote
#: them, measured once.
MEASURED = {
    "tuple": (1, 2),
    "set": {3},
    "frozenset": frozenset({"x"}),
    "dec_int": decimal.Decimal("12"),
    "dec_frac": decimal.Decimal("1.25"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "dt_utc": dt.datetime(2024, 3, 1, 6, 30, tzinfo=dt.UTC),
    "dt_paris": dt.datetime(2024, 3, 1, 6, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    "dt_naive": dt.datetime(2024, 3, 1, 6, 30),
    "pdt": pendulum.datetime(2024, 7, 1, 12, tz="Asia/Tokyo"),
    "date": dt.date(2024, 3, 1),
    "pdate": pendulum.date(2024, 3, 1),
    "td": dt.timedelta(hours=2, seconds=3),
    "nested": {"when": dt.date(2024, 1, 1), "rows": [(1, decimal.Decimal("2.5"))]},
}


def test_airflows_measured_forms_are_written_and_read_the_same() -> None:
    forms = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "airflow_xcom_forms.json").read_text()
    )
    assert forms.keys() == MEASURED.keys()
    for name, value in MEASURED.items():
        assert encode(value) == forms[name], name
        back = decode(forms[name], DEFAULT)
        assert back == value and type(back) is type(value), name


def test_the_apis_deserialized_view_is_airflows() -> None:
    """``/api/v2``'s ``deserialize=true`` (and ``stringify=true``'s text) as apache-airflow-core
    3.3.2's route gave them for the same stored values (measured, kept as data)."""
    measured = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "airflow_xcom_display.json").read_text()
    )
    measured.pop("_measured_with")
    assert {"airflow_object", "json_text", "old_form", "dt_paris"} <= measured.keys()
    for name, seen in measured.items():
        shown = display(seen["stored"])
        assert json.loads(json.dumps(shown)) == seen["shown"], name
        assert str(shown) == seen["shown_as_text"], name


def test_a_value_given_through_the_api_may_not_hold_a_written_forms_keys() -> None:
    refuse_reserved_keys({"rows": [1, {"nested": "ok"}], "text": "plain"})  # nothing reserved
    with pytest.raises(ValueError, match=r"XCom value.rows\[1\] contains reserved .*__classname__"):
        refuse_reserved_keys({"rows": [1, {"__classname__": "x", "__version__": 1}]})
    with pytest.raises(ValueError, match="__type, __var"):
        refuse_reserved_keys({"__type": "tuple", "__var": [1]})
    # JSON text is read as the API's deserialize=true reads it.
    with pytest.raises(ValueError, match="__data__"):
        refuse_reserved_keys(json.dumps([{"__data__": 1}]))
