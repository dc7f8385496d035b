"""Executors hand queued tries to processes. See ``base.Executor`` for the contract."""
