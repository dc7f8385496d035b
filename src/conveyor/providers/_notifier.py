"""What the providers' notifiers share: a callable taking the callback's context.

A notifier (Slack's, Discord's, SMTP's) goes wherever a callback goes
(``on_failure_callback=...``); called, it renders its ``template_fields`` with the context and
sends. Secrets the process read are masked in what it renders: the message leaves for other
eyes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.connections import masking
from conveyor.model.templating import render_value


class Notifier:
    """Call with the context to ``notify``; ``render`` gives the templated fields' values."""

    template_fields: ClassVar[tuple[str, ...]] = ()
    #: The attribute that names the connection, shown by ``repr``.
    conn_attr: ClassVar[str]

    @staticmethod
    def render_one(value: Any, context: dict[str, Any]) -> Any:
        """``value`` rendered with ``context``, secrets masked."""
        return masking.redact_value(render_value(value, context))

    def render(self, context: dict[str, Any]) -> dict[str, Any]:
        """Each of ``template_fields`` by name, rendered with ``context``."""
        return {
            name: self.render_one(getattr(self, name), context) for name in self.template_fields
        }

    def __call__(self, context: dict[str, Any]) -> None:
        self.notify(context)

    def notify(self, context: dict[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, self.conn_attr)})"
