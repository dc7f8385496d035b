"""Param defaults of each JSON type reach the task as those Python types, also through
templates; a Param given in default_args counts for the DAG."""

from airflow.sdk import DAG, Param, task
from difrec import START, rec

with DAG(
    "std_params_types",
    schedule=None,
    start_date=START,
    catchup=False,
    params={
        "count": Param(3, type="integer", minimum=0),
        "ratio": Param(0.5, type="number"),
        "name": Param("x", type="string", enum=["x", "y"]),
        "flag": Param(False, type="boolean"),
        "numbers": Param([1, 2], type="array"),
        "shape": Param({"a": 1}, type="object"),
        "maybe": Param(None, type=["null", "string"]),
        "plain": 7,
    },
):

    @task
    def look(rendered, **context):
        for key, value in sorted(context["params"].items()):
            rec(context, key, [type(value).__name__, value])
        rec(context, "rendered", rendered)

    look("{{ params.count + 1 }}/{{ params.numbers | length }}/{{ params.shape.a }}")
