"""SQS, SNS and Secrets Manager against moto's server: what the operators return and push,
what the sensor receives and leaves on the queue, the hooks' reads of a secret."""

from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
from airflow.providers.amazon.aws.hooks.sns import SnsHook
from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from airflow.providers.amazon.aws.operators.sns import SnsPublishOperator
from airflow.providers.amazon.aws.operators.sqs import SqsPublishOperator
from airflow.providers.amazon.aws.sensors.sqs import SqsSensor
from airflow.sdk import DAG, task
from difrec import START, rec

CONN = "diffsuite_aws"
QUEUE = "prov-aws-messaging"


def _queue_url():
    return SqsHook(aws_conn_id=CONN).create_queue(QUEUE)["QueueUrl"]


with DAG("prov_aws_messaging", schedule=None, start_date=START, catchup=False):

    @task
    def prepare(**context):
        url = _queue_url()
        client = SqsHook(aws_conn_id=CONN).get_conn()
        client.purge_queue(QueueUrl=url)
        topic = SnsHook(aws_conn_id=CONN).get_conn().create_topic(Name="prov-aws")["TopicArn"]
        secrets = SecretsManagerHook(aws_conn_id=CONN).get_conn()
        for name, value in (("prov-aws/text", "plain secret"), ("prov-aws/json", '{"k": 1}')):
            try:
                secrets.create_secret(Name=name, SecretString=value)
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=name, SecretString=value)
        rec(context, "queue", url.rsplit("/", 1)[-1])
        return {"queue": url, "topic": topic}

    made = prepare()

    publish = SqsPublishOperator(
        task_id="publish",
        aws_conn_id=CONN,
        sqs_queue="{{ ti.xcom_pull(task_ids='prepare')['queue'] }}",
        message_content="sent on {{ ds }}",
        message_attributes={"kind": {"DataType": "String", "StringValue": "diff"}},
    )

    receive = SqsSensor(
        task_id="receive",
        aws_conn_id=CONN,
        sqs_queue="{{ ti.xcom_pull(task_ids='prepare')['queue'] }}",
        max_messages=5,
        wait_time_seconds=1,
        poke_interval=1,
        timeout=60,
    )

    notify = SnsPublishOperator(
        task_id="notify",
        aws_conn_id=CONN,
        target_arn="{{ ti.xcom_pull(task_ids='prepare')['topic'] }}",
        message="run {{ ds }}",
        subject="diff",
        message_attributes={"n": 3, "names": ["a", "b"], "text": "t"},
    )

    @task
    def read(**context):
        ti = context["ti"]
        sent = ti.xcom_pull(task_ids="publish")
        if isinstance(sent, dict):
            rec(context, "publish", [sorted(sent), sent.get("MD5OfMessageBody")])
        else:
            rec(context, "publish", type(sent).__name__)
        messages = ti.xcom_pull(task_ids="receive", key="messages") or []
        rec(context, "received", [m["Body"] for m in messages])
        rec(context, "received_keys", sorted(messages[0]) if messages else [])
        left = (
            SqsHook(aws_conn_id=CONN)
            .get_conn()
            .receive_message(QueueUrl=ti.xcom_pull(task_ids="prepare")["queue"], WaitTimeSeconds=0)
        )
        rec(context, "left_on_queue", len(left.get("Messages", [])))
        message_id = ti.xcom_pull(task_ids="notify")
        shown = sorted(message_id) if isinstance(message_id, dict) else bool(message_id)
        rec(context, "sns", [type(message_id).__name__, shown])
        hook = SecretsManagerHook(aws_conn_id=CONN)
        rec(context, "secret", hook.get_secret("prov-aws/text"))
        rec(context, "secret_dict", hook.get_secret_as_dict("prov-aws/json"))

    made >> publish >> receive >> notify >> read()
