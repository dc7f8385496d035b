"""Airflow's http provider: ``HttpHook``, ``HttpOperator`` (``SimpleHttpOperator``) and
``HttpSensor``, on httpx (the extra ``conveyor[http]``).

``hook.py`` owns the request: the base URL, auth and headers from an ``http`` connection,
Airflow's ``check_response`` rule, and failures that name the connection. ``operator.py``
and ``sensor.py`` only call it. Responses keep the ``requests`` shape Airflow's callables
read (``.text``, ``.json()``, ``.status_code``, ``.headers``, ``.reason``, ``.ok``).
"""
