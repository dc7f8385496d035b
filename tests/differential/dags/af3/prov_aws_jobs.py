"""Lambda, Athena, Glue and EMR against moto's server (services.py runs it with Lambda's
Docker off, so an invocation answers moto's fixed payload): what each operator returns and
pushes, what the sensors accept, what a hook reads back. Ids moto draws at random are
recorded by their shape."""

import contextlib
import io
import re
import zipfile

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.emr import EmrHook
from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.lambda_function import (
    LambdaCreateFunctionOperator,
    LambdaInvokeFunctionOperator,
)
from airflow.providers.amazon.aws.sensors.athena import AthenaSensor
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor
from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
from airflow.sdk import DAG, task
from difrec import START, rec

CONN = "diffsuite_aws"
BUCKET = "prov-aws-jobs"
FUNCTION = "prov-aws-jobs-fn"


def _shape(value):
    """A random id as its shape: each letter or digit becomes ``x``."""
    if not isinstance(value, str):
        return type(value).__name__
    return re.sub(r"[A-Za-z0-9]", "x", value)


def _zip():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return data.getvalue()


with DAG("prov_aws_jobs", schedule=None, start_date=START, catchup=False):

    @task
    def prepare(**context):
        s3 = S3Hook(aws_conn_id=CONN).get_conn()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="scripts/job.py", Body=b"print('glue')\n")
        iam = AwsBaseHook(aws_conn_id=CONN, client_type="iam").get_conn()
        roles = {}
        for role in ("prov-glue-role", "prov-lambda-role"):
            try:
                roles[role] = iam.get_role(RoleName=role)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                made = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")
                roles[role] = made["Role"]["Arn"]
        client = LambdaHook(aws_conn_id=CONN).get_conn()
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_function(FunctionName=FUNCTION)
        rec(context, "role", roles["prov-lambda-role"])
        return roles["prov-lambda-role"]

    create_fn = LambdaCreateFunctionOperator(
        task_id="create_fn",
        aws_conn_id=CONN,
        function_name=FUNCTION,
        runtime="python3.11",
        role="{{ ti.xcom_pull(task_ids='prepare') }}",
        handler="handler.handle",
        code={"ZipFile": _zip()},
    )

    invoke = LambdaInvokeFunctionOperator(
        task_id="invoke",
        aws_conn_id=CONN,
        function_name=FUNCTION,
        payload='{"day": "{{ ds }}"}',
    )

    query = AthenaOperator(
        task_id="query",
        aws_conn_id=CONN,
        query="SELECT 1",
        database="diffsuite",
        output_location=f"s3://{BUCKET}/athena/",
        sleep_time=1,
    )

    query_done = AthenaSensor(
        task_id="query_done",
        aws_conn_id=CONN,
        query_execution_id="{{ ti.xcom_pull(task_ids='query') }}",
        poke_interval=1,
        timeout=60,
    )

    glue = GlueJobOperator(
        task_id="glue",
        aws_conn_id=CONN,
        job_name="prov-aws-glue",
        script_location=f"s3://{BUCKET}/scripts/job.py",
        iam_role_name="prov-glue-role",
        script_args={"--day": "{{ ds }}"},
        wait_for_completion=True,
        job_poll_interval=1,
    )

    glue_done = GlueJobSensor(
        task_id="glue_done",
        aws_conn_id=CONN,
        job_name="prov-aws-glue",
        run_id="{{ ti.xcom_pull(task_ids='glue') }}",
        poke_interval=1,
        timeout=60,
    )

    cluster = EmrCreateJobFlowOperator(
        task_id="cluster",
        aws_conn_id=CONN,
        job_flow_overrides={
            "Name": "prov-aws-emr",
            "ReleaseLabel": "emr-7.0.0",
            "Instances": {
                "InstanceGroups": [
                    {
                        "Name": "primary",
                        "InstanceRole": "MASTER",
                        "InstanceType": "m5.xlarge",
                        "InstanceCount": 1,
                    }
                ],
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            "JobFlowRole": "EMR_EC2_DefaultRole",
            "ServiceRole": "EMR_DefaultRole",
        },
    )

    steps = EmrAddStepsOperator(
        task_id="steps",
        aws_conn_id=CONN,
        job_flow_id="{{ ti.xcom_pull(task_ids='cluster') }}",
        steps=[
            {
                "Name": "step {{ ds }}",
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["echo", "{{ ds }}"]},
            }
        ],
    )

    step_running = EmrStepSensor(
        task_id="step_running",
        aws_conn_id=CONN,
        job_flow_id="{{ ti.xcom_pull(task_ids='cluster') }}",
        step_id="{{ ti.xcom_pull(task_ids='steps')[0] }}",
        target_states=["RUNNING", "COMPLETED"],
        poke_interval=1,
        timeout=60,
    )

    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate",
        aws_conn_id=CONN,
        job_flow_id="{{ ti.xcom_pull(task_ids='cluster') }}",
    )

    terminated = EmrJobFlowSensor(
        task_id="terminated",
        aws_conn_id=CONN,
        job_flow_id="{{ ti.xcom_pull(task_ids='cluster') }}",
        poke_interval=1,
        timeout=60,
    )

    @task
    def read(**context):
        ti = context["ti"]
        rec(context, "function_arn", ti.xcom_pull(task_ids="create_fn"))
        answer = ti.xcom_pull(task_ids="invoke")
        rec(context, "invoked", [type(answer).__name__, answer])
        query_id = ti.xcom_pull(task_ids="query")
        rec(context, "query_id", _shape(query_id))
        athena = AthenaHook(aws_conn_id=CONN)
        rec(context, "query_state", athena.check_query_status(query_id))
        output = athena.get_output_location(query_id)
        rec(context, "query_output", output.replace(query_id, "<query id>"))
        run_id = ti.xcom_pull(task_ids="glue")
        rec(context, "glue_run", _shape(run_id))
        glue = GlueJobHook(aws_conn_id=CONN, job_name="prov-aws-glue")
        rec(context, "glue_state", glue.get_job_state("prov-aws-glue", run_id))
        job = glue.get_conn().get_job(JobName="prov-aws-glue")["Job"]
        rec(context, "glue_job", [job["Command"]["ScriptLocation"], job["Role"]])
        cluster_id = ti.xcom_pull(task_ids="cluster")
        rec(context, "cluster_id", _shape(cluster_id))
        step_ids = ti.xcom_pull(task_ids="steps")
        rec(context, "step_ids", [_shape(s) for s in step_ids])
        emr = EmrHook(aws_conn_id=CONN).get_conn()
        step = emr.describe_step(ClusterId=cluster_id, StepId=step_ids[0])["Step"]
        rec(context, "step", [step["Name"], step["Config"]["Args"]])
        described = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        rec(context, "cluster", [described["Name"], described["Status"]["State"]])

    made = prepare()
    summary = read()
    made >> create_fn >> invoke >> summary
    made >> query >> query_done >> summary
    made >> glue >> glue_done >> summary
    made >> cluster >> steps >> step_running >> terminate >> terminated >> summary
