"""What each name of these modules is when a task imports it (class, function, value).

The names the recorded Airflow has, of
airflow.models to
airflow.models.xcom_arg."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.models": [
        "BaseOperator",
        "Connection",
        "DAG",
        "DagBag",
        "DagRun",
        "MappedOperator",
        "Param",
        "TaskInstance",
        "Variable",
        "XCom",
    ],
    "airflow.models.abstractoperator": ["DEFAULT_QUEUE"],
    "airflow.models.base": ["ID_LEN"],
    "airflow.models.baseoperator": ["BaseOperator", "chain", "chain_linear", "cross_downstream"],
    "airflow.models.connection": ["Connection"],
    "airflow.models.dag": ["DAG"],
    "airflow.models.dagbag": ["DagBag"],
    "airflow.models.dagrun": ["DagRun"],
    "airflow.models.param": ["Param"],
    "airflow.models.taskinstance": ["TaskInstance", "TaskInstanceKey"],
    "airflow.models.taskinstancekey": ["TaskInstanceKey"],
    "airflow.models.variable": ["Variable"],
    "airflow.models.xcom": ["BaseXCom", "XCOM_RETURN_KEY", "XCom"],
    "airflow.models.xcom_arg": ["XComArg"],
}

with DAG("names_models", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
