"""Airflow's docker provider: ``DockerHook`` and ``DockerOperator``, on the Docker SDK (the
extra ``conveyor[docker]``).

``hook.py`` finds the engine (``docker_url``, ``DOCKER_HOST``, else the socket of a Docker
or podman service on this machine) and logs in to a registry from a ``docker`` connection;
``operator.py`` runs one container and streams its output into the try's log. Anything that
speaks the Docker API serves: podman's ``podman system service`` is how the tests run it.
"""
