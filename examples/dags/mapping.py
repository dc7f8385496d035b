"""Dynamic task mapping: one task runs once per element of a list known only at run time.

``list_files`` returns the files to process; ``count_lines`` is expanded into one instance per
file (each with its own state, retries, log and XCom); ``summarize`` collects their results
in order. ``BashOperator.partial(...).expand(...)`` maps a classic operator the same way.
"""

from conveyor import DAG, BashOperator, task

with DAG("mapping", schedule=None, tags=["example", "toolkit"]):

    @task
    def list_files() -> list[str]:
        return ["orders.csv", "customers.csv", "refunds.csv"]

    @task(retries=2, retry_delay=1)
    def count_lines(name: str, lines_per_file: int) -> dict[str, object]:
        # Each instance sees one file; lines_per_file is the same for all (from partial()).
        return {"file": name, "lines": lines_per_file * len(name)}

    @task
    def summarize(counts: list[dict[str, object]]) -> str:
        total = sum(int(str(c["lines"])) for c in counts)
        return f"{len(counts)} files, {total} lines"

    counts = count_lines.partial(lines_per_file=10).expand(name=list_files())
    summarize(counts)

    # A classic operator: one shell command per region; {{ ti.map_index }} says which one.
    BashOperator.partial(task_id="ping_region").expand(
        bash_command=[
            f'echo "region {region} is instance {{{{ ti.map_index }}}}"' for region in ("eu", "us")
        ]
    )
