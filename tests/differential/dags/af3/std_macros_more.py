"""The rest of the macros namespace a template reaches: time, uuid, random, dateutil's
parser, and datetime_diff_for_humans."""

from airflow.sdk import DAG, task
from difrec import START, rec

EXPRESSIONS = {
    "time": "{{ macros.time.time() > 0 }}",
    "uuid": "{{ macros.uuid.uuid4() | string | length }}",
    "random": "{{ 0 <= macros.random() < 1 }}",
    "parser": "{{ macros.dateutil.parser.parse('2026-03-04').day }}",
    "diff_for_humans": "{{ macros.datetime_diff_for_humans(logical_date, logical_date) }}",
    "ds_format_iso": "{{ macros.ds_format('20260105', '%Y%m%d', '%Y-%m-%d') }}",
}

with DAG("std_macros_more", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        for name, value in values.items():
            rec(context, name, value)

    look(EXPRESSIONS)
