"""The triggerer: runs deferred tries' triggers on one asyncio loop (``conveyor triggerer``)."""

from conveyor.triggerer.process import Triggerer

__all__ = ["Triggerer"]
