"""Airflow's http provider: ``HttpHook``, ``HttpOperator`` (``SimpleHttpOperator``) and
``HttpSensor``, on httpx (the extra ``conveyor[http]``).

``hook.py`` owns the request: the base URL, auth and headers from an ``http`` connection,
Airflow's ``check_response`` rule, and failures that name the connection. ``operator.py``
and ``sensor.py`` only call it. Responses keep the ``requests`` shape Airflow's callables
read (``.text``, ``.json()``, ``.status_code``, ``.headers``, ``.reason``, ``.ok``).
"""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_HTTP_HOOK = same_names("conveyor.providers.http.hook", "HttpHook")
_HTTP_OPERATOR = same_names(
    "conveyor.providers.http.operator", "HttpOperator", "SimpleHttpOperator"
)
_HTTP_SENSOR = same_names("conveyor.providers.http.sensor", "HttpSensor")
_SIMPLE = {"SimpleHttpOperator": _HTTP_OPERATOR["SimpleHttpOperator"]}

PROVIDER = Provider(
    name="http",
    extra="http",
    connection_types=(
        ConnectionType(
            "http",
            "conveyor.providers.http.hook:HttpHook",
            "HTTP",
            aliases=("https",),
            testable=True,
            fields=(
                FormField("host", "Host or base URL", "https://api.example.com"),
                FormField("schema", "Scheme", "https"),
            ),
            extras=(FormField("Authorization", "A header sent with each request", "Bearer …"),),
        ),
    ),
    airflow_modules={
        "airflow.providers.http.hooks.http": _HTTP_HOOK,
        "airflow.providers.http.operators.http": _HTTP_OPERATOR,
        "airflow.providers.http.sensors.http": _HTTP_SENSOR,
        "airflow.hooks.http_hook": _HTTP_HOOK,
        "airflow.operators.http_operator": _SIMPLE,
        "airflow.sensors.http_sensor": _HTTP_SENSOR,
        "airflow.hooks": _HTTP_HOOK,
        "airflow.operators": _SIMPLE,
        "airflow.sensors": _HTTP_SENSOR,
        "airflow.operators.sensors": _HTTP_SENSOR,
    },
)
