"""expand_kwargs on a classic operator."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("map_expand_kwargs_operator", schedule=None, start_date=START, catchup=False):
    echo = BashOperator.partial(task_id="echo").expand_kwargs(
        [
            {"bash_command": "echo $X", "env": {"X": "a"}},
            {"bash_command": "echo $X", "env": {"X": "b"}},
        ]
    )

    @task
    def see(values, **context):
        rec(context, "values", list(values))

    see(echo.output)
