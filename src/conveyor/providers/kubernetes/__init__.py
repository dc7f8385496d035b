"""Airflow's cncf.kubernetes provider: ``KubernetesPodOperator`` and ``Secret``, on the
official ``kubernetes`` client (the extra ``conveyor[kubernetes]``).

``pod.py`` builds the pod Airflow would build from the operator's arguments (the client's
models); ``secret.py`` attaches secrets to it. The pod then runs on one of two engines:
``cluster.py`` on the cluster a ``kubernetes`` connection or a kube config names, through the
client; ``podman_kube.py``, where no cluster is configured, on this machine with
``podman kube play``. ``operator.py`` chooses, and turns what the engine reports (log lines,
exit code, the XCom file) into the try's outcome.
"""
