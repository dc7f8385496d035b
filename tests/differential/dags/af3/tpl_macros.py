"""The macros module: ds_add, ds_format, datetime, timedelta, json, dateutil."""

from airflow.sdk import DAG, task
from difrec import START, rec

EXPRESSIONS = {
    "ds_add": "{{ macros.ds_add(ds, 3) }}",
    "ds_add_back": "{{ macros.ds_add(ds, -1) }}",
    "ds_format": "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}",
    "datetime": "{{ macros.datetime(2020, 1, 2).year }}",
    "timedelta": "{{ (logical_date + macros.timedelta(days=2)).day }}",
    "json": "{{ macros.json.dumps({'a': 1}) }}",
    "relativedelta": (
        "{{ (logical_date + macros.dateutil.relativedelta.relativedelta(months=1)).month }}"
    ),
}

with DAG("tpl_macros", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        for name, value in values.items():
            rec(context, name, value)

    look(EXPRESSIONS)
