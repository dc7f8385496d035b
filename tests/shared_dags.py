"""DAG files that more than one test module runs, written once.

Imported as ``shared_dags`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

#: A DAG with typed params (an integer with a minimum, an enum, a string's lengths, a plain
#: value), for the params form, the API's trigger checks and ``run_dag``'s conf checks.
PARAMS_DAG = """
from conveyor import DAG, Param, task
from datetime import datetime

with DAG(
    "typed",
    start_date=datetime(2024, 1, 1),
    params={
        "n": Param(5, type="integer", minimum=1, description="How many rows to load"),
        "mode": Param("fast", enum=["fast", "slow"]),
        "name": Param("x", type="string", minLength=1, maxLength=8),
        "plain": 1.5,
    },
):
    @task
    def show(params=None):
        return params

    show()
"""
