"""airflow.utils helpers a DAG file calls: merge_dicts, exactly_one, to_boolean,
get_random_string, timezone.datetime and utcnow."""

from airflow.sdk import DAG, task
from airflow.utils import timezone
from airflow.utils.helpers import exactly_one, merge_dicts
from airflow.utils.strings import get_random_string, to_boolean
from difrec import START, rec

with DAG("std_utils_helpers", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        rec(context, "merge_dicts", merge_dicts({"a": {"b": 1}, "c": 2}, {"a": {"d": 3}}))
        rec(context, "exactly_one", [exactly_one(1, None, 0), exactly_one(1, 2)])
        rec(context, "to_boolean", [to_boolean(v) for v in ("true", "False", "t", "0", "yes")])
        random = get_random_string(12)
        rec(context, "random", [len(random), random.isalnum()])
        rec(context, "datetime", timezone.datetime(2026, 1, 2))
        rec(context, "utcnow_tz", str(timezone.utcnow().tzinfo))

    look()
