"""The macros Airflow's ``macros`` namespace has beside ``ds_add`` and ``ds_format``: the
ones that need an optional library, imported when a template calls them."""

from __future__ import annotations

import datetime as _datetime
from typing import Any

from conveyor.exceptions import TemplateError


def datetime_diff_for_humans(dt: Any, since: Any = None) -> str:
    """``"a few seconds before"``, ``"2 days ago"``: ``dt`` against ``since`` (else now),
    in pendulum's words, as Airflow's macro says it."""
    try:
        import pendulum
    except ImportError:  # pragma: no cover - pendulum comes with conveyor[airflow]
        raise TemplateError(
            "macros.datetime_diff_for_humans needs pendulum: pip install 'conveyor[airflow]'"
        ) from None
    return str(pendulum.instance(dt).diff_for_humans(since))


def ds_format_locale(ds: str, input_format: str, output_format: str, locale: Any = None) -> str:
    """``ds`` (read with ``input_format``) in a Babel date format and locale
    (``"EEEE dd MMMM yyyy"``, ``"en_US"``), as Airflow's macro gives it."""
    try:
        from babel import Locale
        from babel.dates import LC_TIME, format_datetime
    except ImportError:
        raise TemplateError(
            "macros.ds_format_locale needs the babel package, which this installation does "
            "not have: pip install babel"
        ) from None
    parsed = _datetime.datetime.strptime(str(ds), input_format)
    return str(
        format_datetime(parsed, format=output_format, locale=locale or LC_TIME or Locale("en_US"))
    )
