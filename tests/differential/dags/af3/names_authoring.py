"""What each name of these modules is when a task imports it (class, function, value).

Airflow 3.1-3.3's authoring names: human-in-the-loop operators and their errors, deadline
alerts and their callbacks, the asset watchers' message-queue trigger."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.providers.common.messaging.triggers.msg_queue": ["MessageQueueTrigger"],
    "airflow.providers.standard.exceptions": [
        "HITLRejectException",
        "HITLTimeoutError",
        "HITLTriggerEventError",
    ],
    "airflow.providers.standard.operators.hitl": [
        "ApprovalOperator",
        "HITLBranchOperator",
        "HITLEntryOperator",
        "HITLOperator",
    ],
    "airflow.sdk.definitions.callback": ["AsyncCallback", "Callback", "SyncCallback"],
    "airflow.sdk.definitions.deadline": [
        "BaseDeadlineReference",
        "DeadlineAlert",
        "DeadlineReference",
        "VariableInterval",
        "deadline_reference",
    ],
    "airflow.sdk.execution_time.hitl": ["HITLUser"],
}

with DAG("names_authoring", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
