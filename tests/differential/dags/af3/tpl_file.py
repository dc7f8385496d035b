"""A templated field naming a .txt file renders the file's text."""

from airflow.sdk import DAG, BaseOperator
from difrec import START, rec


class Show(BaseOperator):
    template_fields = ("text",)
    template_ext = (".txt",)

    def __init__(self, text, **kwargs):
        super().__init__(**kwargs)
        self.text = text

    def execute(self, context):
        rec(context, "text", self.text)


with DAG("tpl_file", schedule=None, start_date=START, catchup=False):
    Show(task_id="show", text="tpl_file_body.txt")
