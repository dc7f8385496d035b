"""Airflow's operator extra links: ``BaseOperatorLink`` subclasses an operator lists in its
``operator_extra_links``, or a plugin lists in ``operator_extra_links`` (for the operator
classes its ``operators`` names) or ``global_operator_extra_links`` (for every task).

As Airflow 3's task runner does, the try's process asks each link for its URL once the task
has run (``get_link(operator, ti_key=ti)``) and keeps it as an XCom: each under the link's
``xcom_key`` (``_link_<class name>``, Airflow's), and all of them by name under
:data:`XCOM_KEY`, which the web server reads (it imports no user code).
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar

log = logging.getLogger(__name__)
#: A link's own failure is the user's code failing: shown in the try's log.
link_log = logging.getLogger("airflow.extra_links")

#: The XCom that keeps a try's links by name, for the web server and /api/v2.
XCOM_KEY = "_conveyor_extra_links"


class BaseOperatorLink(metaclass=ABCMeta):
    """Airflow's ``BaseOperatorLink``: subclass it, give it a ``name`` and ``get_link``."""

    operators: ClassVar[list[type[Any]]] = []

    @property
    @abstractmethod
    def name(self) -> str:
        """The link's name, shown on the task page."""

    @property
    def xcom_key(self) -> str:
        return f"_link_{type(self).__name__}"

    @abstractmethod
    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL, for ``operator`` and the try ``ti_key`` names."""


_plugin_links: list[Any] = []  # plugins' operator_extra_links, loaded at the process's start
_global_links: list[Any] = []  # plugins' global_operator_extra_links


def add_plugin_links(operator_links: list[Any], global_links: list[Any]) -> None:
    """Register a plugin's ``operator_extra_links`` and ``global_operator_extra_links``."""
    _plugin_links.extend(link for link in operator_links if link not in _plugin_links)
    _global_links.extend(link for link in global_links if link not in _global_links)


def reset() -> None:
    """Forget the plugins' links (tests)."""
    _plugin_links.clear()
    _global_links.clear()


def links_of(task: Any) -> list[Any]:
    """The links of ``task``: its operator's own, the plugins' for its class, the global."""
    own = list(getattr(task, "operator_extra_links", None) or [])
    kind = type(task)
    for link in _plugin_links:
        if any(
            isinstance(operator, type) and issubclass(kind, operator) for operator in link.operators
        ):
            own.append(link)
    return own + list(_global_links)


def compute(task: Any, ti: Any) -> dict[str, tuple[str, str | None]]:
    """Each link's name -> (its XCom key, its URL); a link whose ``get_link`` raises is
    logged and kept without a URL, as Airflow's UI shows it disabled."""
    found: dict[str, tuple[str, str | None]] = {}
    for link in links_of(task):
        try:
            name = str(link.name)
        except Exception:
            link_log.exception("extra link %r has no name; left out", link)
            continue
        try:
            url = link.get_link(task, ti_key=ti)
        except Exception:
            link_log.exception("extra link %r failed to make its URL", name)
            url = None
        found[name] = (str(getattr(link, "xcom_key", f"_link_{type(link).__name__}")), url or None)
    return found
