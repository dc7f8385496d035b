"""Airflow's cncf.kubernetes provider: ``KubernetesPodOperator`` and ``Secret``, on the
official ``kubernetes`` client (the extra ``conveyor[kubernetes]``).

``pod.py`` builds the pod Airflow would build from the operator's arguments (the client's
models); ``secret.py`` attaches secrets to it. The pod then runs on one of two engines:
``cluster.py`` on the cluster a ``kubernetes`` connection or a kube config names, through the
client; ``podman_kube.py``, where no cluster is configured, on this machine with
``podman kube play``. ``operator.py`` chooses, and turns what the engine reports (log lines,
exit code, the XCom file) into the try's outcome.
"""

from __future__ import annotations

from conveyor.providers.declaration import Provider, same_names

_K8S_POD_OPERATOR = same_names("conveyor.providers.kubernetes.operator", "KubernetesPodOperator")
_K8S_SECRET = same_names("conveyor.providers.kubernetes.secret", "Secret")

# No connection type: the operator reads a ``kubernetes`` connection itself (cluster.py);
# there is no hook for BaseHook.get_hook or the connection Test to run.
PROVIDER = Provider(
    name="cncf.kubernetes",
    extra="kubernetes",
    airflow_modules={
        "airflow.providers.cncf.kubernetes.operators.pod": _K8S_POD_OPERATOR,
        # The cncf.kubernetes provider's module name before 7.0.
        "airflow.providers.cncf.kubernetes.operators.kubernetes_pod": _K8S_POD_OPERATOR,
        "airflow.providers.cncf.kubernetes.secret": _K8S_SECRET,
        # Airflow 2's core path of Secret (the provider's since).
        "airflow.kubernetes.secret": _K8S_SECRET,
        "airflow.contrib.operators.kubernetes_pod_operator": _K8S_POD_OPERATOR,
        "airflow.contrib.kubernetes.secret": _K8S_SECRET,
    },
)
