"""Airflow 3.2's partition mappers, pure: what partition of a consuming DAG an asset event's
partition key is for.

A DAG on a ``PartitionedAssetTimetable`` runs once per partition key of its own. Each
event's key passes through the mapper its timetable names for the event's asset (the
identity by default) and the event counts toward the run of the key that comes out:
``StartOfDayMapper()`` makes the hourly keys ``2026-03-10T09:00:00`` and
``2026-03-10T10:00:00`` both count toward the run of ``2026-03-10``.

Airflow 3.3 adds the many-to-one and one-to-many kinds: ``RollupMapper`` holds the
downstream run until its window's upstream keys have arrived (as its wait policy says), and
``FanOutMapper`` makes several downstream keys of one upstream key (a key is then a list;
more than ``max_downstream_keys``, default :data:`MAX_DOWNSTREAM_KEYS`, queue none).

A mapper is stored in the DAG's serialized form as ``{"type": name, ...its arguments}``
(:func:`mapper_from_dict`), so the scheduler maps keys without importing the DAG file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from conveyor.exceptions import DagDefinitionError
from conveyor.model.partition_keys import parse_key
from conveyor.model.partition_windows import (
    WaitForAll,
    WaitPolicy,
    Window,
    as_policy,
    as_window,
    policy_from_dict,
    window_from_dict,
)

#: Airflow's ``[scheduler] partition_mapper_max_downstream_keys`` default: the most keys one
#: event may fan out to when its mapper sets no ``max_downstream_keys``.
MAX_DOWNSTREAM_KEYS = 1000


class PartitionMapper:
    """Maps an upstream partition key to the downstream key (or keys) it counts toward."""

    kind: ClassVar[str] = ""
    is_rollup: ClassVar[bool] = False
    #: What ``decode_downstream`` gives: a key's ``str``, or a temporal mapper's ``datetime``.
    expected_decoded_type: ClassVar[type] = str
    max_downstream_keys: int | None = None

    def __init__(self, *, max_downstream_keys: int | None = None) -> None:
        self._cap(max_downstream_keys)

    def _cap(self, max_downstream_keys: int | None) -> None:
        if max_downstream_keys is not None and (
            isinstance(max_downstream_keys, bool)
            or not isinstance(max_downstream_keys, int)
            or max_downstream_keys < 1
        ):
            raise DagDefinitionError(
                f"max_downstream_keys must be a positive integer or None, "
                f"got {max_downstream_keys!r}"
            )
        self.max_downstream_keys = max_downstream_keys

    def to_downstream(self, key: str) -> str | list[str]:
        """The downstream key (a list: several); ValueError when the key is not one it maps."""
        raise NotImplementedError

    def decode_downstream(self, downstream_key: str) -> Any:
        """A downstream key in the form a rollup's window counts in: the key itself here."""
        return downstream_key

    def encode_upstream(self, decoded: Any) -> str:
        """The inverse of ``decode_downstream``, as the upstream writes its keys."""
        return str(decoded)

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The moment the downstream key's partition starts, when the key tells one
        (a temporal mapper's); None for a key without a date."""
        return None

    def carries_partition_date(self) -> bool:
        """Whether the consumer's run takes the producing run's ``partition_date``: only
        when the key passes unchanged, so the producer's date is still the key's."""
        return False

    def arguments(self) -> dict[str, Any]:
        return {}

    def serialize(self) -> dict[str, Any]:
        cap = self.max_downstream_keys
        limit = {} if cap is None else {"max_downstream_keys": cap}
        return {"type": self.kind, **self.arguments(), **limit}

    def children(self) -> list[PartitionMapper]:
        """The mappers it is made of (checked, as it is, to be Airflow's)."""
        return []

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.serialize() == self.serialize()

    def __hash__(self) -> int:
        return hash(repr(self.serialize()))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.arguments().items())
        return f"{type(self).__name__}({arguments})"


class IdentityMapper(PartitionMapper):
    """The key unchanged: the default."""

    kind = "identity"

    def to_downstream(self, key: str) -> str:
        return key

    def carries_partition_date(self) -> bool:
        return True


class _StartOfPeriod(PartitionMapper):
    """A time key (read with ``input_format`` in ``timezone`` when it names none) made the
    start of the period that holds it, written with ``output_format``."""

    default_output_format: ClassVar[str] = ""
    expected_decoded_type = datetime

    def __init__(
        self,
        *,
        timezone: str | Any = "UTC",
        input_format: str = "%Y-%m-%dT%H:%M:%S",
        output_format: str | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.timezone = _zone_name(timezone)
        self._zone = ZoneInfo(self.timezone)
        self.input_format = input_format
        self.output_format = output_format or self.default_output_format

    def to_downstream(self, key: str) -> str:
        moment = datetime.strptime(key, self.input_format)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        else:
            moment = moment.astimezone(self._zone)
        return self.format(self.start_of(moment))

    def format(self, start: datetime) -> str:
        """A period's start written as its downstream key."""
        text = start.strftime(self.output_format)
        return text.replace("{quarter}", str((start.month - 1) // 3 + 1))

    def encode_upstream(self, decoded: datetime) -> str:
        """A period start (naive: on the mapper's wall clock) as an upstream key."""
        if decoded.tzinfo is None:
            decoded = decoded.replace(tzinfo=self._zone)
        return decoded.astimezone(self._zone).strftime(self.input_format)

    def start_of(self, moment: datetime) -> datetime:
        raise NotImplementedError

    def decode_downstream(self, downstream_key: str) -> datetime:
        """The start of the period a downstream key names, on the wall clock (naive): the
        inverse of ``to_downstream``'s formatting; ValueError when the key is not one."""
        fields = parse_key(downstream_key, self.output_format)
        if "quarter" in fields:
            return datetime(fields["Y"], (fields["quarter"] - 1) * 3 + 1, 1)
        if {"Y", "m", "d"} <= fields.keys() or "V" not in fields:
            return datetime(
                fields.get("Y", 1900),
                fields.get("m", 1),
                fields.get("d", 1),
                fields.get("H", 0),
                fields.get("M", 0),
                fields.get("S", 0),
            )
        raise ValueError(
            f"{type(self).__name__}: cannot read a date from {downstream_key!r} with "
            f"output_format {self.output_format!r}; it needs %Y, %m and %d"
        )

    def to_partition_date(self, downstream_key: str) -> datetime:
        return self.start_of(self.decode_downstream(downstream_key)).replace(tzinfo=self._zone)

    def arguments(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "input_format": self.input_format,
            "output_format": self.output_format,
        }


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class StartOfHourMapper(_StartOfPeriod):
    """``2026-03-10T09:42:15`` -> ``2026-03-10T09``."""

    kind = "start_of_hour"
    default_output_format = "%Y-%m-%dT%H"

    def start_of(self, moment: datetime) -> datetime:
        return moment.replace(minute=0, second=0, microsecond=0)


class StartOfDayMapper(_StartOfPeriod):
    """``2026-03-10T09:42:15`` -> ``2026-03-10``."""

    kind = "start_of_day"
    default_output_format = "%Y-%m-%d"

    def start_of(self, moment: datetime) -> datetime:
        return _midnight(moment)


class StartOfWeekMapper(_StartOfPeriod):
    """The Monday of the ISO week: ``2026-03-12T09:00:00`` -> ``2026-03-09 (W11)``."""

    kind = "start_of_week"
    default_output_format = "%Y-%m-%d (W%V)"

    def start_of(self, moment: datetime) -> datetime:
        return _midnight(moment - timedelta(days=moment.weekday()))


class StartOfMonthMapper(_StartOfPeriod):
    """``2026-03-10T09:42:15`` -> ``2026-03``."""

    kind = "start_of_month"
    default_output_format = "%Y-%m"

    def start_of(self, moment: datetime) -> datetime:
        return _midnight(moment.replace(day=1))


class StartOfQuarterMapper(_StartOfPeriod):
    """``2026-05-10T09:42:15`` -> ``2026-Q2`` (``{quarter}`` in the format is its number)."""

    kind = "start_of_quarter"
    default_output_format = "%Y-Q{quarter}"

    def start_of(self, moment: datetime) -> datetime:
        return _midnight(moment.replace(month=(moment.month - 1) // 3 * 3 + 1, day=1))


class StartOfYearMapper(_StartOfPeriod):
    """``2026-03-10T09:42:15`` -> ``2026``."""

    kind = "start_of_year"
    default_output_format = "%Y"

    def start_of(self, moment: datetime) -> datetime:
        return _midnight(moment.replace(month=1, day=1))


class ProductMapper(PartitionMapper):
    """A key of several parts (``us|2026-03-10T09:00:00``), each part mapped by its own
    mapper: ``ProductMapper(IdentityMapper(), StartOfDayMapper())`` -> ``us|2026-03-10``."""

    kind = "product"

    def __init__(
        self,
        mapper0: PartitionMapper,
        mapper1: PartitionMapper,
        /,
        *mappers: PartitionMapper,
        delimiter: str = "|",
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.mappers = [_mapper(m, "ProductMapper") for m in (mapper0, mapper1, *mappers)]
        self.delimiter = delimiter

    def to_downstream(self, key: str) -> str:
        parts = key.split(self.delimiter)
        if len(parts) != len(self.mappers):
            raise ValueError(f"Expected {len(self.mappers)} segments in key, got {len(parts)}")
        made: list[str] = []
        for mapper, part in zip(self.mappers, parts, strict=True):
            one = mapper.to_downstream(part)
            if not isinstance(one, str):
                raise TypeError(
                    "ProductMapper child mappers must return a single key, "
                    f"but {type(mapper).__name__} returned multiple keys"
                )
            made.append(one)
        return self.delimiter.join(made)

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The date of the one part that has one; None when none or several do."""
        parts = downstream_key.split(self.delimiter)
        if len(parts) != len(self.mappers):
            return None
        dates = [
            date
            for mapper, part in zip(self.mappers, parts, strict=True)
            if (date := mapper.to_partition_date(part)) is not None
        ]
        return dates[0] if len(dates) == 1 else None

    def arguments(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, "mappers": [m.serialize() for m in self.mappers]}

    def children(self) -> list[PartitionMapper]:
        return list(self.mappers)


class ChainMapper(PartitionMapper):
    """Mappers applied one after another."""

    kind = "chain"

    def __init__(
        self,
        mapper0: PartitionMapper,
        mapper1: PartitionMapper,
        /,
        *mappers: PartitionMapper,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.mappers = [_mapper(m, "ChainMapper") for m in (mapper0, mapper1, *mappers)]

    def to_downstream(self, key: str) -> str | list[str]:
        """Each mapper maps every key the one before made (a fan-out's several)."""
        keys = [key]
        for mapper in self.mappers:
            keys = [made for k in keys for made in as_keys(mapper.to_downstream(k))]
        return keys[0] if len(keys) == 1 else keys

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        # The last mapper wrote the key, so it knows its date.
        return self.mappers[-1].to_partition_date(downstream_key)

    def arguments(self) -> dict[str, Any]:
        return {"mappers": [m.serialize() for m in self.mappers]}

    def children(self) -> list[PartitionMapper]:
        return list(self.mappers)


class AllowedKeyMapper(PartitionMapper):
    """The key unchanged when it is one of ``allowed_keys``; any other makes no run."""

    kind = "allowed_key"

    def __init__(self, allowed_keys: list[str], *, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.allowed_keys = [str(key) for key in allowed_keys]

    def to_downstream(self, key: str) -> str:
        if key not in self.allowed_keys:
            raise ValueError(f"Key {key!r} not in allowed keys {self.allowed_keys}")
        return key

    def arguments(self) -> dict[str, Any]:
        return {"allowed_keys": self.allowed_keys}


class FixedKeyMapper(PartitionMapper):
    """Every key made the one ``downstream_key``."""

    kind = "fixed_key"

    def __init__(self, downstream_key: str, *, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        if not isinstance(downstream_key, str) or not downstream_key:
            raise DagDefinitionError(
                f"FixedKeyMapper downstream_key must be a non-empty str; got {downstream_key!r}."
            )
        self.downstream_key = downstream_key

    def to_downstream(self, key: str) -> str:
        return self.downstream_key

    def arguments(self) -> dict[str, Any]:
        return {"downstream_key": self.downstream_key}


class RollupMapper(PartitionMapper):
    """Many upstream keys into one downstream key: ``upstream_mapper`` makes each event's key
    the downstream one, and the run of that key waits until the keys ``window`` names for it
    have arrived as ``wait_policy`` says (default: all of them).
    ``RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())``: a day's run
    once its 24 hourly keys have come."""

    kind = "rollup"
    is_rollup = True

    def __init__(
        self,
        *,
        upstream_mapper: PartitionMapper,
        window: Window,
        wait_policy: WaitPolicy | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.upstream_mapper = _mapper(upstream_mapper, "RollupMapper upstream_mapper")
        self.window = as_window(window, "RollupMapper window")
        self.wait_policy = as_policy(wait_policy or WaitForAll(), "RollupMapper wait_policy")
        _pair(self.upstream_mapper, self.window)

    def to_downstream(self, key: str) -> str | list[str]:
        return self.upstream_mapper.to_downstream(key)

    def to_upstream(self, downstream_key: str) -> frozenset[str]:
        """Every upstream key the downstream key's run waits for."""
        anchor = self.upstream_mapper.decode_downstream(downstream_key)
        mapper = self.upstream_mapper
        return frozenset(mapper.encode_upstream(m) for m in self.window.to_upstream(anchor))

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        return self.upstream_mapper.to_partition_date(downstream_key)

    def children(self) -> list[PartitionMapper]:
        return [self.upstream_mapper]

    def arguments(self) -> dict[str, Any]:
        return {
            "upstream_mapper": self.upstream_mapper.serialize(),
            "window": self.window.serialize(),
            "wait_policy": self.wait_policy.serialize(),
        }


class FanOutMapper(PartitionMapper):
    """One upstream key into several downstream keys: ``upstream_mapper`` reads the key as a
    period, ``window`` names its members and ``downstream_mapper`` writes each as a key.
    ``FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())``: a run for
    each day of a weekly partition."""

    kind = "fan_out"
    #: The downstream mapper a window's members are written with when none is given.
    default_downstream_mapper_by_window_name: ClassVar[dict[str, type[_StartOfPeriod]]] = {
        "DayWindow": StartOfHourMapper,
        "WeekWindow": StartOfDayMapper,
        "MonthWindow": StartOfDayMapper,
        "QuarterWindow": StartOfMonthMapper,
        "YearWindow": StartOfMonthMapper,
    }

    def __init__(
        self,
        *,
        upstream_mapper: PartitionMapper,
        window: Window,
        downstream_mapper: PartitionMapper | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.upstream_mapper = _mapper(upstream_mapper, "FanOutMapper upstream_mapper")
        self.window = as_window(window, "FanOutMapper window")
        if downstream_mapper is None:
            default = self.default_downstream_mapper_by_window_name.get(type(window).__name__)
            if default is None:
                raise DagDefinitionError(
                    f"FanOutMapper has no default downstream_mapper for window type "
                    f"{type(window).__name__}; pass downstream_mapper explicitly."
                )
            downstream_mapper = default()
        self.downstream_mapper = _mapper(downstream_mapper, "FanOutMapper downstream_mapper")

    def to_downstream(self, key: str) -> list[str]:
        coarse = self.upstream_mapper.to_downstream(key)
        if not isinstance(coarse, str):
            raise TypeError(
                "FanOutMapper.upstream_mapper must produce a single key from to_downstream; "
                "chained fan-out (mapper that itself returns multiple keys) is not supported."
            )
        anchor = self.upstream_mapper.decode_downstream(coarse)
        return [_written(self.downstream_mapper, m) for m in self.window.to_upstream(anchor)]

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        return self.downstream_mapper.to_partition_date(downstream_key)

    def children(self) -> list[PartitionMapper]:
        return [self.upstream_mapper, self.downstream_mapper]

    def arguments(self) -> dict[str, Any]:
        return {
            "upstream_mapper": self.upstream_mapper.serialize(),
            "window": self.window.serialize(),
            "downstream_mapper": self.downstream_mapper.serialize(),
        }


def _pair(mapper: PartitionMapper, window: Window) -> None:
    """A window counts in what its mapper decodes keys to, or it could never be satisfied."""
    if mapper.expected_decoded_type is not window.expected_decoded_type:
        raise DagDefinitionError(
            f"{type(window).__name__} expects decoded values of type "
            f"{window.expected_decoded_type.__name__!r}, but {type(mapper).__name__} decodes "
            f"to {mapper.expected_decoded_type.__name__!r}. Pair a window and an upstream "
            "mapper whose 'expected_decoded_type' match."
        )


def _written(mapper: PartitionMapper, member: Any) -> str:
    if isinstance(mapper, _StartOfPeriod):
        return mapper.format(member)
    return member.isoformat() if isinstance(member, datetime) else str(member)


def as_keys(made: str | list[str]) -> list[str]:
    """A mapper's answer as a list of keys."""
    return [made] if isinstance(made, str) else list(made)


def _zone_name(value: Any) -> str:
    name = (
        value
        if isinstance(value, str)
        else getattr(value, "key", None) or getattr(value, "name", None)
    )
    if not isinstance(name, str):
        raise DagDefinitionError(f"a partition mapper's timezone: expected a name, got {value!r}")
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        raise DagDefinitionError(f"a partition mapper's timezone: unknown zone {name!r}") from exc
    return name


def _mapper(value: Any, where: str) -> PartitionMapper:
    if not isinstance(value, PartitionMapper):
        raise DagDefinitionError(f"{where}: expected a partition mapper, got {value!r}")
    return value


def _temporal(cls: type[_StartOfPeriod]) -> Callable[[dict[str, Any]], PartitionMapper]:
    return lambda data: cls(
        timezone=data["timezone"],
        input_format=data["input_format"],
        output_format=data["output_format"],
    )


def _children(data: dict[str, Any], name: str) -> PartitionMapper:
    return mapper_from_dict(data[name])


_BUILDERS: dict[str, Callable[[dict[str, Any]], PartitionMapper]] = {
    "identity": lambda data: IdentityMapper(),
    "product": lambda data: ProductMapper(
        *(mapper_from_dict(m) for m in data["mappers"]), delimiter=data["delimiter"]
    ),
    "chain": lambda data: ChainMapper(*(mapper_from_dict(m) for m in data["mappers"])),
    "allowed_key": lambda data: AllowedKeyMapper(data["allowed_keys"]),
    "fixed_key": lambda data: FixedKeyMapper(data["downstream_key"]),
    "rollup": lambda data: RollupMapper(
        upstream_mapper=_children(data, "upstream_mapper"),
        window=window_from_dict(data["window"]),
        wait_policy=policy_from_dict(data["wait_policy"]),
    ),
    "fan_out": lambda data: FanOutMapper(
        upstream_mapper=_children(data, "upstream_mapper"),
        window=window_from_dict(data["window"]),
        downstream_mapper=_children(data, "downstream_mapper"),
    ),
    **{
        cls.kind: _temporal(cls)
        for cls in (
            StartOfHourMapper,
            StartOfDayMapper,
            StartOfWeekMapper,
            StartOfMonthMapper,
            StartOfQuarterMapper,
            StartOfYearMapper,
        )
    },
}


def mapper_from_dict(data: dict[str, Any]) -> PartitionMapper:
    """The inverse of ``serialize``."""
    build = _BUILDERS.get(str(data.get("type")))
    if build is None:
        raise DagDefinitionError(f"cannot read partition mapper {data!r}")
    mapper = build(data)
    mapper._cap(data.get("max_downstream_keys"))
    return mapper


def as_mapper(value: Any, where: str) -> PartitionMapper:
    """A mapper the DAG file gave, and every mapper it is made of; a user's own class
    (Airflow's plugin mappers) is refused, since the scheduler maps keys from the stored
    form without importing the file."""
    mapper = _mapper(value, where)
    if type(mapper) not in _CLASSES:
        raise DagDefinitionError(
            f"{where}: {type(mapper).__name__} is a partition mapper of your own; Conveyor "
            "maps keys only with Airflow's mappers (IdentityMapper, StartOf*Mapper, "
            "ProductMapper, ChainMapper, AllowedKeyMapper, FixedKeyMapper, RollupMapper, "
            "FanOutMapper)"
        )
    for child in mapper.children():
        as_mapper(child, where)
    return mapper


def fan_out_cap(mapper: PartitionMapper) -> int:
    """The most keys one event may map to under this mapper."""
    return mapper.max_downstream_keys or MAX_DOWNSTREAM_KEYS


_CLASSES = {
    IdentityMapper,
    StartOfHourMapper,
    StartOfDayMapper,
    StartOfWeekMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfYearMapper,
    ProductMapper,
    ChainMapper,
    AllowedKeyMapper,
    FixedKeyMapper,
    RollupMapper,
    FanOutMapper,
}
