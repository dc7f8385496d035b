"""The smallest Conveyor DAG: three shell commands in a row, run when you trigger it."""

from conveyor import DAG, BashOperator

with DAG("hello_bash", schedule=None, tags=["example"], description="Three shell steps"):
    hello = BashOperator(
        task_id="hello", bash_command="echo hello from run {{ run_id | shell_quote }}"
    )
    work = BashOperator(task_id="work", bash_command='echo "working on {{ ds }}"; date')
    bye = BashOperator(task_id="bye", bash_command='echo "bye from {{ task.task_id }}"')

    hello >> work >> bye  # hello runs first, then work, then bye
