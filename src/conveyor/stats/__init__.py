"""Airflow's metrics and traces by Airflow's names: to StatsD (or DogStatsD), OpenTelemetry.

Conveyor's own figures are Prometheus's (``conveyor.metrics``); teams that come from Airflow
keep dashboards and alerts on the names Airflow sends. A process that emits (the scheduler
with its DAG file processor, a worker's try runner, the triggerer) calls
:func:`emit.configure` at its start, which opens the sinks ``statsd_on`` and ``otel_on``
ask for; :mod:`conveyor.stats.airflow` then sends each fact under Airflow's names. With
neither on, every call returns at its first line. The spans of runs and tries
(``traces_otel_on``) are :mod:`conveyor.stats.spans`'s.
"""
