"""``keep_fields``: a provider class keeps the keywords it declares as typed fields, from its
own declarations only (a subclass's fields, class variables and annotated defaults are not
keywords)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from conveyor.providers._fields import declared_fields, keep_fields


class Kept:
    template_fields: ClassVar[tuple[str, ...]] = ("name",)
    template_ext: tuple[str, ...] = (".sql",)

    name: str
    size: int | None

    def __init__(self, name: str, size: int | None = None, **kwargs: Any) -> None:
        keep_fields(self, Kept, locals())


class MoreKept(Kept):
    colour: str

    def __init__(self, colour: str = "red", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        keep_fields(self, MoreKept, locals())


def test_the_fields_are_the_annotations_without_a_value_less_class_variables() -> None:
    assert declared_fields(Kept) == ("name", "size")
    assert declared_fields(MoreKept) == ("colour",)


def test_each_field_is_set_from_the_argument_of_its_name() -> None:
    kept = MoreKept(name="a", size=3, colour="blue")

    assert (kept.name, kept.size, kept.colour) == ("a", 3, "blue")
    assert "kwargs" not in vars(kept)
    assert kept.template_ext == (".sql",)


def test_a_field_without_an_argument_of_its_name_fails_at_once() -> None:
    class Broken:
        missing: str

        def __init__(self) -> None:
            keep_fields(self, Broken, locals())

    with pytest.raises(KeyError, match="missing"):
        Broken()
