"""The data-quality check operators of Airflow's common.sql provider, on any SQL connection.

Each runs a query on the connection's hook (``conn_id``'s type picks it, as for
``SQLExecuteQueryOperator``) and fails the try when the data is not as expected; the failure
names the query and what it returned. ``retry_on_failure=False`` fails the try without its
remaining retries, as Airflow's ``AirflowFailException`` does.

- ``SQLCheckOperator``: every value of the first row is true (Python's truth).
- ``SQLValueCheckOperator``: every value of the first row equals ``pass_value`` (as a number
  within ``tolerance`` when ``pass_value`` is one, else as text).
- ``SQLIntervalCheckOperator``: metrics of the logical date's rows against those
  ``days_back`` days before, each ratio below its threshold.
- ``SQLThresholdCheckOperator``: the first value between two numbers or two queries' values.
- ``SQLColumnCheckOperator`` / ``SQLTableCheckOperator``: the checks of a mapping, written
  into one ``UNION ALL`` query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, NoReturn

from conveyor.exceptions import AirflowException, Fail, TaskError
from conveyor.providers.sql_operators import BaseSQLOperator

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")
_CHECK_EXT = (".hql", ".sql")


class SQLCheckFailed(TaskError, AirflowException):
    """A check found the data not as expected; ``except AirflowException`` catches it, as
    Airflow's."""


def _float_or_text(value: Any) -> float | Any:
    try:
        return float(value)
    except (ValueError, TypeError):
        return value


def _truth_of(text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean-like string value")


def _partition(clause: str | None) -> str | None:
    """A partition clause goes into a WHERE as written: one statement only."""
    if clause is not None and ";" in clause:
        raise ValueError("Invalid partition_clause: semicolons (;) not allowed.")
    return clause


def _where(common: str | None, own: str | None) -> str:
    clauses = [c for c in (common, own) if c]
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


class _CheckOperator(BaseSQLOperator):
    """What the checks share: failing as Airflow's ``_raise_exception`` does."""

    ui_color = "#fff7e6"

    def _raise_exception(self, message: str) -> NoReturn:
        if self.retry_on_failure:
            raise SQLCheckFailed(f"task {self.task_id!r}: {message}")
        raise Fail(f"task {self.task_id!r}: {message}")

    def _raise_zero_rows(self, sql: str) -> NoReturn:
        self._raise_exception(f"The following query returned zero rows: {sql}")


class SQLCheckOperator(_CheckOperator):
    """Fail unless every value of the query's first row is true (a dict row: every value)."""

    template_fields: ClassVar[tuple[str, ...]] = ("sql", *BaseSQLOperator.template_fields)
    template_ext = _CHECK_EXT

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        conn_id: str | None = None,
        database: str | None = None,
        parameters: Iterable[Any] | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, conn_id=conn_id, database=database, **kwargs)
        self.sql = sql
        self.parameters = parameters

    def execute(self, context: dict[str, Any]) -> None:
        print(f"Executing SQL check: {self.sql}", flush=True)
        record = self.get_db_hook().get_first(self.sql, self.parameters)
        print(f"Record: {record}", flush=True)
        if not record:
            self._raise_zero_rows(self.sql)
        values = record.values() if isinstance(record, dict) else record
        if not all(values):
            self._raise_exception(f"Test failed.\nQuery:\n{self.sql}\nResults:\n{record!s}")
        print("Success.", flush=True)


class SQLValueCheckOperator(_CheckOperator):
    """Fail unless every value of the first row is ``pass_value``: within ``tolerance`` (a
    fraction: 0.1 is ±10 %) when ``pass_value`` reads as a number, else equal as text."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "pass_value",
        *BaseSQLOperator.template_fields,
    )
    template_ext = _CHECK_EXT

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        pass_value: Any,
        tolerance: Any = None,
        conn_id: str | None = None,
        database: str | None = None,
        parameters: Iterable[Any] | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, conn_id=conn_id, database=database, **kwargs)
        self.sql = sql
        self.pass_value = str(pass_value)
        tol = _float_or_text(tolerance)
        self.tol = tol if isinstance(tol, float) else None
        self.has_tolerance = self.tol is not None
        self.parameters = parameters

    def check_value(self, records: Any) -> None:
        if not records:
            self._raise_zero_rows(self.sql)
        expected = _float_or_text(self.pass_value)
        tolerance = f"{self.tol:.1%}" if self.tol is not None else None
        message = (
            f"Test failed.\nPass value:{expected}\nTolerance:{tolerance}\n"
            f"Query:\n{self.sql}\nResults:\n{records!s}"
        )
        if not isinstance(expected, float):
            matches = [str(value) == expected for value in records]
        else:
            try:
                numbers = [float(value) for value in records]
            except (ValueError, TypeError):
                self._raise_exception(f"Converting a result to float failed.\n{message}")
            if self.tol is not None:
                margin = abs(expected) * self.tol
                matches = [expected - margin <= n <= expected + margin for n in numbers]
            else:
                matches = [n == expected for n in numbers]
        if not all(matches):
            self._raise_exception(message)

    def execute(self, context: dict[str, Any]) -> None:
        print(f"Executing SQL check: {self.sql}", flush=True)
        self.check_value(self.get_db_hook().get_first(self.sql, self.parameters))


_RATIOS: dict[str, Callable[[Any, Any], Any]] = {
    "max_over_min": lambda cur, ref: max(cur, ref) / min(cur, ref),
    "relative_diff": lambda cur, ref: abs(cur - ref) / ref,
}


class SQLIntervalCheckOperator(_CheckOperator):
    """Compare ``metrics_thresholds``' SQL expressions over the rows of the logical date
    (``date_filter_column = '{{ ds }}'``) with those ``days_back`` days before: each ratio
    (``max_over_min`` or ``relative_diff``) must stay below its threshold; a zero metric
    passes with ``ignore_zero``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql1",
        "sql2",
        *BaseSQLOperator.template_fields,
    )
    template_ext = _CHECK_EXT
    ratio_formulas = _RATIOS

    def __init__(
        self,
        task_id: str,
        *,
        table: str,
        metrics_thresholds: dict[str, int | float],
        date_filter_column: str | None = "ds",
        days_back: int = -7,
        ratio_formula: str | None = "max_over_min",
        ignore_zero: bool = True,
        conn_id: str | None = None,
        database: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, conn_id=conn_id, database=database, **kwargs)
        if ratio_formula not in _RATIOS:
            raise ValueError(
                f"task {task_id!r}: Invalid diff_method: {ratio_formula}. Supported diff "
                f"methods are: {', '.join(_RATIOS)}"
            )
        self.ratio_formula = ratio_formula
        self.ignore_zero = ignore_zero
        self.table = table
        self.metrics_thresholds = metrics_thresholds
        self.metrics_sorted = sorted(metrics_thresholds)
        self.date_filter_column = date_filter_column
        self.days_back = -abs(days_back)
        select = f"SELECT {', '.join(self.metrics_sorted)} FROM {table} WHERE {date_filter_column}="
        self.sql1 = select + "'{{ ds }}'"
        self.sql2 = select + f"'{{{{ macros.ds_add(ds, {self.days_back}) }}}}'"
        self.sql: list[str] = [self.sql1, self.sql2]

    def execute(self, context: dict[str, Any]) -> None:
        self.sql = [self.sql1, self.sql2]
        hook = self.get_db_hook()
        print(f"Executing SQL check: {self.sql2}", flush=True)
        past = hook.get_first(self.sql2)
        print(f"Executing SQL check: {self.sql1}", flush=True)
        current = hook.get_first(self.sql1)
        if not past:
            self._raise_zero_rows(self.sql2)
        if not current:
            self._raise_zero_rows(self.sql1)
        formula = _RATIOS[str(self.ratio_formula)]
        failed: list[str] = []
        for metric, cur, ref in zip(self.metrics_sorted, current, past, strict=False):
            threshold = self.metrics_thresholds[metric]
            if cur == 0 or ref == 0:
                ratio, success = None, self.ignore_zero
            else:
                ratio = formula(cur, ref)
                success = ratio < threshold
            print(
                f"Current metric for {metric}: {cur}\nPast metric for {metric}: {ref}\n"
                f"Ratio for {metric}: {ratio}\nThreshold: {threshold}",
                flush=True,
            )
            if not success:
                failed.append(
                    f"{metric}: current {cur}, past {ref}, ratio {ratio}, threshold {threshold}"
                )
        if failed:
            self._raise_exception("The following tests have failed:\n " + "; ".join(failed))
        print("All tests have passed", flush=True)


class SQLThresholdCheckOperator(_CheckOperator):
    """Fail unless the query's first value lies within ``min_threshold`` and
    ``max_threshold``: each a number, or a query whose first value is the bound."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "min_threshold",
        "max_threshold",
        *BaseSQLOperator.template_fields,
    )
    template_ext = _CHECK_EXT

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        min_threshold: Any,
        max_threshold: Any,
        conn_id: str | None = None,
        database: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, conn_id=conn_id, database=database, **kwargs)
        self.sql = sql
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold

    def _bound(self, hook: Any, threshold: Any) -> Any:
        value = _float_or_text(threshold)
        return value if isinstance(value, float) else hook.get_first(value)[0]

    def execute(self, context: dict[str, Any]) -> None:
        hook = self.get_db_hook()
        row = hook.get_first(self.sql)
        try:
            result = row[0]
        except (TypeError, IndexError):
            self._raise_zero_rows(self.sql)
        lower = self._bound(hook, self.min_threshold)
        upper = self._bound(hook, self.max_threshold)
        meta = {
            "result": result,
            "task_id": self.task_id,
            "min_threshold": lower,
            "max_threshold": upper,
            "within_threshold": lower <= result <= upper,
        }
        self.push(meta)
        if not meta["within_threshold"]:
            shown = round(result, 2) if result is not None else "<None>"
            self._raise_exception(
                f'Threshold Check: "{self.task_id}" failed.\nSQL: {self.sql}\n'
                f"Result: {shown} is not within thresholds {lower} and {upper}"
            )
        print(f"Test {self.task_id} Successful.", flush=True)

    def push(self, meta_data: dict[str, Any]) -> None:
        """Where the check's figures go; Airflow's (and this) default prints them."""
        print("\n".join(f"{key}: {value}" for key, value in meta_data.items()), flush=True)


class _TableChecksOperator(_CheckOperator):
    """What the column and table checks share: checks on ``table``, each narrowed by the
    ``partition_clause`` of them all and by its own, run as one ``UNION ALL`` query. The
    keywords both take are here (``conn_id`` and ``database`` with the SQL operators')."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "table",
        "partition_clause",
        "sql",
        *BaseSQLOperator.template_fields,
    )

    def __init__(
        self,
        task_id: str,
        *,
        table: str,
        accept_none: bool,
        partition_clause: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.table = table
        self.partition_clause = _partition(partition_clause)
        self.accept_none = accept_none

    def _subquery_where(self, check: Mapping[str, Any]) -> str:
        """The WHERE of one check's subquery."""
        return _where(self.partition_clause, check.get("partition_clause"))


def _union_all(columns: str, selects: Iterable[str], alias: str) -> str:
    """One query of the checks' ``selects``, answering ``columns``."""
    return f"SELECT {columns} FROM ({' UNION ALL '.join(selects)}) AS {alias}"


_COLUMN_CHECKS = {
    "null_check": "SUM(CASE WHEN {column} IS NULL THEN 1 ELSE 0 END)",
    "distinct_check": "COUNT(DISTINCT({column}))",
    "unique_check": "COUNT({column}) - COUNT(DISTINCT({column}))",
    "min": "MIN({column})",
    "max": "MAX({column})",
}
_BOUNDS = ("greater_than", "geq_to", "less_than", "leq_to", "equal_to")


def _validate_column_check(check: str, values: Mapping[str, Any]) -> None:
    """Refuse a check Airflow refuses: unknown, no bound, or bounds that contradict."""
    if check not in _COLUMN_CHECKS:
        raise ValueError(f"Invalid column check: {check}.")
    if not any(bound in values for bound in _BOUNDS):
        raise ValueError(
            "Please provide one or more of: less_than, leq_to, greater_than, geq_to, or "
            "equal_to in the check's dict."
        )
    low = next((b for b in ("greater_than", "geq_to") if b in values), None)
    high = next((b for b in ("less_than", "leq_to") if b in values), None)
    if "greater_than" in values and "geq_to" in values:
        raise ValueError("Only supply one of greater_than or geq_to.")
    if "less_than" in values and "leq_to" in values:
        raise ValueError("Only supply one of less_than or leq_to.")
    if low and high:
        inclusive = low == "geq_to" and high == "leq_to"
        if values[low] > values[high] or (not inclusive and values[low] == values[high]):
            raise ValueError(f"{low} should be less than {high}.")
    if (low or high) and "equal_to" in values:
        raise ValueError(
            "equal_to cannot be passed with a greater or less than function. To specify "
            "'greater than or equal to' or 'less than or equal to', use geq_to or leq_to."
        )


class SQLColumnCheckOperator(_TableChecksOperator):
    """Run ``column_mapping``'s checks (``null_check``, ``distinct_check``,
    ``unique_check``, ``min``, ``max``) with their bounds (``equal_to``, ``greater_than``,
    ``geq_to``, ``less_than``, ``leq_to``, ``tolerance``, ``partition_clause``) in one
    query; any check out of bounds fails the try."""

    column_checks = _COLUMN_CHECKS

    def __init__(
        self,
        task_id: str,
        *,
        table: str,
        column_mapping: dict[str, dict[str, Any]],
        accept_none: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, table=table, accept_none=accept_none, **kwargs)
        self.column_mapping = column_mapping
        parts = []
        for column, checks in column_mapping.items():
            for check, values in checks.items():
                _validate_column_check(check, values)
                parts.append(
                    f"SELECT '{column}' AS col_name, '{check}' AS check_type, "
                    f"{column}_{check} AS check_result FROM (SELECT "
                    f"{_COLUMN_CHECKS[check].format(column=column)} AS {column}_{check} "
                    f"FROM {table} {self._subquery_where(values)}) AS sq"
                )
        self.sql = _union_all("col_name, check_type, check_result", parts, "check_columns")

    def _get_match(self, values: Mapping[str, Any], result: Any, tolerance: Any = None) -> bool:
        if result is None and self.accept_none:
            result = 0

        def lower(bound: Any) -> Any:
            return bound - abs(bound) * tolerance if tolerance is not None else bound

        def upper(bound: Any) -> Any:
            return bound + abs(bound) * tolerance if tolerance is not None else bound

        match = True
        if "geq_to" in values:
            match = result >= lower(values["geq_to"])
        elif "greater_than" in values:
            match = result > lower(values["greater_than"])
        if "leq_to" in values:
            match = result <= upper(values["leq_to"]) and match
        elif "less_than" in values:
            match = result < upper(values["less_than"]) and match
        if "equal_to" in values:
            expected = values["equal_to"]
            if tolerance is None:
                match = result == expected and match
            else:
                match = lower(expected) <= result <= upper(expected) and match
        return bool(match)

    def execute(self, context: dict[str, Any]) -> None:
        records = self.get_db_hook().get_records(self.sql)
        if not records:
            self._raise_zero_rows(self.sql)
        print(f"Record: {records}", flush=True)
        for column, check, result in records:
            values = self.column_mapping[column][check]
            values["result"] = result
            values["success"] = self._get_match(values, result, values.get("tolerance"))
        failed = [
            f"Column: {column}\n\tCheck: {check},\n\tCheck Values: {values}\n"
            for column, checks in self.column_mapping.items()
            for check, values in checks.items()
            if not values["success"]
        ]
        if failed:
            self._raise_exception(
                f"Test failed.\nResults:\n{records!s}\nThe following tests have failed:\n"
                + "".join(failed)
            )
        print("All tests have passed", flush=True)


class SQLTableCheckOperator(_TableChecksOperator):
    """Run ``checks`` (each ``{"check_statement": ..., "partition_clause": ...}``, a
    condition every row must meet) in one query; any false check fails the try, and so does
    an empty table unless ``accept_none``."""

    def __init__(
        self,
        task_id: str,
        *,
        table: str,
        checks: dict[str, dict[str, Any]],
        accept_none: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, table=table, accept_none=accept_none, **kwargs)
        self.checks = checks
        parts = [
            f"SELECT '{name}' AS check_name, MIN({name}) AS check_result FROM (SELECT CASE "
            f"WHEN {check['check_statement']} THEN 1 ELSE 0 END AS {name} FROM {table} "
            f"{self._subquery_where(check)}) AS sq"
            for name, check in checks.items()
        ]
        self.sql = _union_all("check_name, check_result", parts, "check_table")

    def execute(self, context: dict[str, Any]) -> None:
        records = self.get_db_hook().get_records(self.sql)
        # MIN() over an empty table is NULL: the check fails (Airflow fails reading "None").
        for name, result in records or ():
            self.checks[name]["result"] = str(result)
            self.checks[name]["success"] = result is not None and _truth_of(str(result))
        if not records:
            if self.accept_none:
                print(f"No records found for table: {self.table}, accept_none=True", flush=True)
                return
            self._raise_zero_rows(self.sql)
        failed = [
            f"\tCheck: {name},\n\tCheck Values: {values}\n"
            for name, values in self.checks.items()
            if not values.get("success")
        ]
        if failed:
            self._raise_exception(
                f"Test failed.\nQuery:\n{self.sql}\nResults:\n{records!s}\n"
                f"The following tests have failed:\n{', '.join(failed)}"
            )
        print("All tests have passed", flush=True)
