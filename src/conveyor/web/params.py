"""Checking a run's ``conf`` against the DAG's params: the check lives in
``conveyor.model.params``, shared with the CLI, TriggerDagRunOperator and conveyor.testing."""

from __future__ import annotations

from conveyor.model.params import conf_errors

__all__ = ["conf_errors"]
