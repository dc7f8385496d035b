"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.utils.context to
airflow.utils.xcom."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.utils.db": ["provide_session"],
    "airflow.utils.helpers": ["exactly_one", "merge_dicts"],
    "airflow.utils.log.logging_mixin": ["LoggingMixin"],
    "airflow.utils.session": ["NEW_SESSION", "create_session", "provide_session"],
    "airflow.utils.state": ["DagRunState", "State", "TaskInstanceState"],
    "airflow.utils.strings": ["get_random_string", "to_boolean"],
    "airflow.utils.task_group": ["TaskGroup"],
    "airflow.utils.timezone": ["datetime", "utc", "utcnow"],
    "airflow.utils.trigger_rule": ["TriggerRule"],
    "airflow.utils.types": ["ArgNotSet", "DagRunType"],
    "airflow.utils.weight_rule": ["WeightRule"],
    "airflow.utils.xcom": ["XCOM_RETURN_KEY"],
}

with DAG("names_utils", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
