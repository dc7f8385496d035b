"""Tries as pods: the Kubernetes executor (``executor.py``), the pod of a try
(``pod_spec.py``), where pods run (``launchers.py``), and Celery and Kubernetes side by side
(``celery_kubernetes.py``)."""
