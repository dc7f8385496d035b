"""An operator of your own: template_fields, execute's return value, self.log."""

from airflow.sdk import DAG, BaseOperator, task
from difrec import START, rec


class Greet(BaseOperator):
    template_fields = ("who",)

    def __init__(self, who, **kwargs):
        super().__init__(**kwargs)
        self.who = who

    def execute(self, context):
        self.log.info("greeting %s", self.who)
        return f"hello {self.who}"


with DAG("op_custom", schedule=None, start_date=START, catchup=False):
    greet = Greet(task_id="greet", who="{{ ds }}")

    @task
    def see(value, **context):
        rec(context, "value", value)

    see(greet.output)
