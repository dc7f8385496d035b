"""Connections and variables: settings and secrets kept out of the DAG file.

Try it:

    conveyor variables set example_rows 5
    conveyor variables set example_api_token s3cr3t-t0ken     # masked in task logs
    conveyor connections add example_db --uri sqlite:////tmp/example.db
    # or, without the store: export CONVEYOR_CONN_EXAMPLE_DB=sqlite:////tmp/example.db

Every read falls back to a default here, so the DAG also runs before you set anything.
"""

from conveyor import DAG, BashOperator, task
from conveyor.connections import Variable, get_connection
from conveyor.exceptions import NotFoundError

with DAG("toolkit_connections", schedule=None, tags=["example", "toolkit"]):

    @task
    def read_settings() -> dict[str, object]:
        rows = int(Variable.get("example_rows", default="3"))
        limits = Variable.get("example_limits", default={"max": 10}, deserialize_json=True)
        token = Variable.get("example_api_token", default="")
        print(f"using token {token}")  # printed as *** in the log: the key looks secret
        try:
            db = get_connection("example_db").sqlalchemy_url()
        except NotFoundError:
            db = "sqlite://"  # not configured yet: an in-memory database
        return {"rows": rows, "max": limits["max"], "db": db}

    show = BashOperator(
        task_id="show",
        bash_command=(
            "echo rows={{ var.value.get('example_rows', '3') | shell_quote }} "
            "greeting={{ var.value.get('example_greeting', 'hello') | shell_quote }}"
        ),
    )
    read_settings() >> show
