"""Names that are another kind of object on Airflow 3.3 than here.

Airflow 3.3 gives `Context` as a TypedDict class, `Label` as a function, the compat SDK's
`timezone` as a module, `NEVER_EXPIRE` as an object, and, through its deprecation shims,
`airflow.utils.context`'s names as modules and `airflow.utils.types.NOTSET` as a class.
Conveyor's are what DAG files call them for (docs/airflow.md, Differences that remain).
"""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.providers.common.compat.sdk": ["Context", "timezone"],
    "airflow.sdk": ["Context", "Label"],
    "airflow.sdk.definitions.context": ["Context"],
    "airflow.sdk.execution_time.context": ["NEVER_EXPIRE"],
    "airflow.utils.context": ["Context", "context_merge"],
    "airflow.utils.edgemodifier": ["Label"],
    "airflow.utils.types": ["NOTSET"],
}

with DAG("names_kinds_differ", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
