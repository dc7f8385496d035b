"""What each name of Airflow 3's core helpers is when a task imports it (class, function,
value): branching bases, the parsing context, masking, timeouts, metrics, moved names,
templates' literal, the hook lineage collector, resumable jobs."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, kind_of, rec

MODULES = {
    "airflow.sdk": ["BaseBranchOperator", "BranchMixIn", "get_parsing_context", "literal"],
    "airflow.sdk.bases.branch": ["BaseBranchOperator", "BranchMixIn"],
    "airflow.providers.standard.operators.branch": ["BaseBranchOperator", "BranchMixIn"],
    "airflow.sdk.bases.resumablejobmixin": ["ResumableJobMixin"],
    "airflow.sdk.definitions.edges": ["EdgeModifier"],  # Label: names_kinds_differ
    "airflow.sdk.definitions.template": ["literal"],
    "airflow.sdk.log": ["mask_secret", "redact"],
    "airflow.sdk.execution_time.secrets_masker": ["mask_secret", "redact"],
    "airflow.sdk.execution_time.timeout": ["timeout"],
    "airflow.sdk.lineage": ["get_hook_lineage_collector", "HookLineage"],
    "airflow.sdk.observability.stats": ["Stats"],
    "airflow.observability.stats": ["Stats"],
    "airflow.utils.deprecation_tools": ["add_deprecated_classes", "DeprecatedImportWarning"],
}

with DAG("names_core_helpers", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: kind_of(getattr(loaded, name)) for name in names})

    probe()
