"""What each name of Airflow 2's core helpers is when a task imports it (class, function,
value), and what the everyday ones do: a team's branch into a task group, the parsing
context, redaction, a timeout and the context's variables in Airflow's names."""

import importlib
import time

from airflow import DAG
from airflow.decorators import task
from airflow.exceptions import AirflowTaskTimeout
from airflow.operators.branch import BaseBranchOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.dag_parsing_context import get_parsing_context
from airflow.utils.log.secrets_masker import redact
from airflow.utils.operator_helpers import AIRFLOW_VAR_NAME_FORMAT_MAPPING
from airflow.utils.task_group import TaskGroup
from airflow.utils.timeout import timeout
from difrec import START, kind_of, rec

MODULES = {
    "airflow.operators.branch": ["BaseBranchOperator", "BranchMixIn"],
    "airflow.utils.dag_parsing_context": ["get_parsing_context"],
    "airflow.utils.log.secrets_masker": ["mask_secret", "redact"],
    "airflow.utils.timeout": ["timeout"],
    "airflow.utils.operator_helpers": ["AIRFLOW_VAR_NAME_FORMAT_MAPPING"],
    "airflow.exceptions": ["XComNotFound"],
    "airflow.lineage.hook": ["get_hook_lineage_collector", "HookLineage"],
    "airflow.stats": ["Stats"],
    "airflow.utils.template": ["literal"],
}


class ToGroup(BaseBranchOperator):
    def choose_branch(self, context):
        return "grp"


def _timed_out():
    try:
        with timeout(1, "too slow"):
            time.sleep(5)
    except AirflowTaskTimeout as exc:
        return ["AirflowTaskTimeout", str(exc).startswith("too slow")]
    return "not stopped"


with DAG("a2_names_core_helpers", schedule_interval=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})
        parsing = get_parsing_context()
        rec(context, "parsing", [type(parsing).__name__, parsing.task_id])
        rec(context, "redact", redact({"password": "p4ss-word", "user": "bob", "n": 3}))
        rec(context, "timeout", _timed_out())
        rec(context, "mapping", AIRFLOW_VAR_NAME_FORMAT_MAPPING["AIRFLOW_CONTEXT_DAG_RUN_ID"])

    own = ToGroup(task_id="own")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    other = EmptyOperator(task_id="other")
    probe() >> own >> [grp, other]
