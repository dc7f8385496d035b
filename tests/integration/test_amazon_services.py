"""The amazon provider beyond S3 against moto's server: a DAG file in Airflow's spelling runs
SQS, SNS, Secrets Manager, Lambda, Athena, Glue, ECS and EMR operators and sensors with
``conveyor run``; the test then reads their effect from the server (the message in the queue,
the job's state...). The sensors' failing states are poked in the test's own process.

moto's services end their jobs in their own ways: an Athena query and a Glue job run succeed
at once; a Glue crawl and an ECS task move on only when told (the test sets their transitions
to "immediate" through moto's API); an EMR step stays RUNNING forever, so the step sensor is
shown waiting and failing, never completing. Lambda functions run without Docker here: moto
answers an invocation with a canned payload (``/moto-api/static/lambda-simple/response``).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import s3_server
from s3_server import ACCESS_KEY_ID, ISOLATED, REGION, SECRET_ACCESS_KEY, aws_uri, bucket_name
from sql_servers import ended, run_dag_file

s3_endpoint = s3_server.s3_endpoint

pytestmark = pytest.mark.timeout(300)

DAG_SOURCE = '''
"""Every service of the amazon provider that moto runs, as an Airflow DAG file would."""
import json
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator, EmrCreateJobFlowOperator, EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.amazon.aws.operators.lambda_function import (
    LambdaCreateFunctionOperator, LambdaInvokeFunctionOperator,
)
from airflow.providers.amazon.aws.operators.sns import SnsPublishOperator
from airflow.providers.amazon.aws.operators.sqs import SqsPublishOperator
from airflow.providers.amazon.aws.sensors.athena import AthenaSensor
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor
from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor
from airflow.providers.amazon.aws.sensors.sqs import SqsSensor
from airflow.contrib.operators.aws_athena_operator import AWSAthenaOperator

BUCKET = "@BUCKET@"
QUEUE = "@QUEUE@"


def record(ti):
    got = {
        "sqs_messages": [m["Body"] for m in ti.xcom_pull(task_ids="wait_sqs", key="messages")],
        "sqs_published": sorted(ti.xcom_pull(task_ids="publish_sqs")),
        "sns_id": bool(ti.xcom_pull(task_ids="publish_sns")["MessageId"]),
        "secret": SecretsManagerHook().get_secret("db-password"),
        "secret_dict": SecretsManagerHook(aws_conn_id="aws_default").get_secret_as_dict("db-json"),
        "athena": ti.xcom_pull(task_ids="athena"),
        "glue_run": ti.xcom_pull(task_ids="glue"),
        "crawler": ti.xcom_pull(task_ids="crawl"),
        "lambda_arn": ti.xcom_pull(task_ids="create_lambda"),
        "lambda": ti.xcom_pull(task_ids="invoke_lambda"),
        "ecs_arn": ti.xcom_pull(task_ids="ecs", key="ecs_task_arn"),
        "job_flow": ti.xcom_pull(task_ids="create_emr"),
        "steps": ti.xcom_pull(task_ids="add_steps"),
    }
    S3Hook().load_string(json.dumps(got), "results.json", BUCKET, replace=True)


with DAG("amazon_services", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    publish_sqs = SqsPublishOperator(
        task_id="publish_sqs", sqs_queue=QUEUE, message_content="run {{ dag.dag_id }}",
        message_attributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )
    wait_sqs = SqsSensor(task_id="wait_sqs", sqs_queue=QUEUE, max_messages=10, poke_interval=1)
    publish_sns = SnsPublishOperator(
        task_id="publish_sns", target_arn="@TOPIC@", message="to the topic", subject="hello",
        message_attributes={"n": 3},
    )
    athena = AthenaOperator(
        task_id="athena", query="SELECT 1", database="lake",
        output_location="s3://{{ params.bucket }}/athena/", sleep_time=0,
        params={"bucket": BUCKET},
    )
    athena_sensor = AthenaSensor(
        task_id="athena_sensor", query_execution_id="{{ ti.xcom_pull(task_ids='athena') }}",
        poke_interval=1,
    )
    old_athena = AWSAthenaOperator(
        task_id="old_athena", query="SELECT 2", database="lake",
        output_location=f"s3://{BUCKET}/athena/", sleep_time=0, max_tries=3,
    )
    glue = GlueJobOperator(
        task_id="glue", job_name="nightly", script_location="s3://scripts/job.py",
        iam_role_name="glue-role", s3_bucket=BUCKET, job_poll_interval=0,
        script_args={"--dag": "{{ dag.dag_id }}"},
    )
    glue_sensor = GlueJobSensor(
        task_id="glue_sensor", job_name="nightly",
        run_id="{{ ti.xcom_pull(task_ids='glue') }}", poke_interval=1,
    )
    crawl = GlueCrawlerOperator(
        task_id="crawl", poll_interval=0,
        config={"Name": "lake-crawler", "Role": "arn:aws:iam::123456789012:role/glue",
                "DatabaseName": "lake", "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/"}]}},
    )
    create_lambda = LambdaCreateFunctionOperator(
        task_id="create_lambda", function_name="echo", runtime="python3.12",
        role="@ROLE_ARN@", handler="app.handler", code={"ZipFile": @ZIP@},
        wait_for_completion=True, waiter_delay=1,
    )
    invoke_lambda = LambdaInvokeFunctionOperator(
        task_id="invoke_lambda", function_name="echo", payload=json.dumps({"x": 1}),
    )
    ecs = EcsRunTaskOperator(
        task_id="ecs", cluster="workers", task_definition="etl", wait_for_completion=False,
        overrides={"containerOverrides": [
            {"name": "main", "command": ["echo", "{{ dag.dag_id }}"]}
        ]},
        tags={"team": "data"},
    )
    create_emr = EmrCreateJobFlowOperator(
        task_id="create_emr", emr_conn_id="emr_default",
        job_flow_overrides={"Name": "etl-{{ ds_nodash }}"},
    )
    add_steps = EmrAddStepsOperator(
        task_id="add_steps", job_flow_id="{{ ti.xcom_pull(task_ids='create_emr') }}",
        steps=[{"Name": "s", "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["echo", "hi"]}}],
    )
    step_running = EmrStepSensor(
        task_id="step_running", job_flow_id="{{ ti.xcom_pull(task_ids='create_emr') }}",
        step_id="{{ ti.xcom_pull(task_ids='add_steps')[0] }}", target_states=["RUNNING"],
        poke_interval=1,
    )
    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate", job_flow_id="{{ ti.xcom_pull(task_ids='create_emr') }}",
    )
    gone = EmrJobFlowSensor(
        task_id="gone", job_flow_id="{{ ti.xcom_pull(task_ids='create_emr') }}", poke_interval=1,
    )
    done = PythonOperator(task_id="record", python_callable=record)
    publish_sqs >> wait_sqs >> publish_sns >> athena >> athena_sensor >> old_athena >> glue
    glue >> glue_sensor >> crawl >> create_lambda >> invoke_lambda >> ecs >> create_emr
    create_emr >> add_steps >> step_running >> terminate >> gone >> done
'''


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def _moto_api(endpoint: str, path: str, body: dict[str, Any]) -> None:
    answer = httpx.post(f"{endpoint}/moto-api/{path}", json=body)
    assert answer.status_code < 300, answer.text


def _prepare(endpoint: str, bucket: str) -> dict[str, str]:
    """What the DAG file expects to exist; the names it is given."""
    _client(endpoint, "s3").create_bucket(Bucket=bucket)
    sqs = _client(endpoint, "sqs")
    queue = sqs.create_queue(QueueName=f"{bucket}-in")["QueueUrl"]
    sns_sink = sqs.create_queue(QueueName=f"{bucket}-sns")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sns_sink, AttributeNames=["QueueArn"])
    sns = _client(endpoint, "sns")
    topic = sns.create_topic(Name=f"{bucket}-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sink_arn["Attributes"]["QueueArn"])
    secrets = _client(endpoint, "secretsmanager")
    for name, value in (("db-password", "s3cr3t"), ("db-json", '{"user": "u", "port": 5432}')):
        with contextlib.suppress(secrets.exceptions.ResourceExistsException):
            secrets.create_secret(Name=name, SecretString=value)
    iam = _client(endpoint, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    roles = {}
    for role in ("glue-role", "lambda-role"):
        try:
            roles[role] = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        except iam.exceptions.EntityAlreadyExistsException:
            roles[role] = iam.get_role(RoleName=role)
    # An EC2 container instance for the cluster (moto's awsvpc/Fargate path is broken).
    ec2 = _client(endpoint, "ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    identity = {
        "instanceId": instance["InstanceId"],
        "availabilityZone": instance["Placement"]["AvailabilityZone"],
        "region": REGION,
        "instanceType": instance["InstanceType"],
        "imageId": instance["ImageId"],
        "privateIp": instance["PrivateIpAddress"],
    }
    ecs = _client(endpoint, "ecs")
    ecs.create_cluster(clusterName="workers")
    ecs.register_container_instance(
        cluster="workers", instanceIdentityDocument=json.dumps(identity)
    )
    ecs.register_task_definition(
        family="etl", containerDefinitions=[{"name": "main", "image": "busybox", "memory": 128}]
    )
    # moto's crawls and ECS tasks move on only when told; Lambda runs no code without Docker.
    for model in ("glue::crawl", "ecs::task"):
        _moto_api(
            endpoint,
            "state-manager/set-transition",
            {"model_name": model, "transition": {"progression": "immediate"}},
        )
    _moto_api(endpoint, "config", {"lambda": {"use_docker": False}})
    _moto_api(
        endpoint,
        "static/lambda-simple/response",
        {"results": ['{"answer": 42}'], "region": REGION},
    )
    return {
        "@QUEUE@": queue,
        "@SNS_SINK@": sns_sink,
        "@TOPIC@": topic,
        "@ROLE_ARN@": roles["lambda-role"]["Role"]["Arn"],
    }


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_the_amazon_services_dag_runs_and_leaves_its_effects(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = bucket_name()
    names = _prepare(s3_endpoint, bucket)
    source = DAG_SOURCE.replace("@BUCKET@", bucket).replace("@ZIP@", repr(_zip()))
    for placeholder, value in names.items():
        source = source.replace(placeholder, value)
    emr_defaults = json.dumps(
        {
            "conn_type": "emr",
            "extra": {
                "ReleaseLabel": "emr-6.15.0",
                "Instances": {
                    "InstanceCount": 1,
                    "MasterInstanceType": "m5.xlarge",
                    "KeepJobFlowAliveWhenNoSteps": True,
                },
            },
        }
    )
    env = {
        **ISOLATED,
        "AIRFLOW_CONN_AWS_DEFAULT": aws_uri(s3_endpoint),
        "AIRFLOW_CONN_EMR_DEFAULT": emr_defaults,
    }
    done = run_dag_file(tmp_path, "amazon_services.py", source, env)
    _, logs = ended(done, tmp_path, 0)

    s3 = _client(s3_endpoint, "s3")
    got = json.loads(s3.get_object(Bucket=bucket, Key="results.json")["Body"].read())
    # SQS: the published message reached the queue and the sensor took it out.
    assert got["sqs_messages"] == ["run amazon_services"]
    assert {"MessageId", "MD5OfMessageBody"} <= set(got["sqs_published"])
    sqs = _client(s3_endpoint, "sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=names["@QUEUE@"], WaitTimeSeconds=0)
    # SNS: the topic's subscriber queue holds the published message.
    delivered = sqs.receive_message(QueueUrl=names["@SNS_SINK@"], WaitTimeSeconds=0)["Messages"]
    envelope = json.loads(delivered[0]["Body"])
    assert (envelope["Message"], envelope["Subject"]) == ("to the topic", "hello")
    assert envelope["MessageAttributes"]["n"] == {"Type": "Number", "Value": "3"}
    assert got["sns_id"] is True
    # Secrets Manager.
    assert got["secret"] == "s3cr3t"
    assert got["secret_dict"] == {"user": "u", "port": 5432}
    # Athena: the query ran with the database and output location the operator was given.
    query = _client(s3_endpoint, "athena").get_query_execution(QueryExecutionId=got["athena"])
    execution = query["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["QueryExecutionContext"]["Database"] == "lake"
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(f"s3://{bucket}/athena/")
    # Glue: the job was created from the operator's arguments and its run succeeded.
    glue = _client(s3_endpoint, "glue")
    job = glue.get_job(JobName="nightly")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://scripts/job.py"
    assert job["Role"].endswith("role/glue-role")
    run = glue.get_job_run(JobName="nightly", RunId=got["glue_run"])["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["Arguments"] == {"--dag": "amazon_services"}
    assert got["crawler"] == "lake-crawler"
    assert glue.get_crawler(Name="lake-crawler")["Crawler"]["State"] == "READY"
    # Lambda: created, then invoked; the payload is what the function answered.
    assert got["lambda_arn"].endswith(":function:echo")
    assert json.loads(got["lambda"]) == {"answer": 42}
    # ECS: the task ran on the cluster and stopped.
    task = _client(s3_endpoint, "ecs").describe_tasks(cluster="workers", tasks=[got["ecs_arn"]])
    assert task["tasks"][0]["lastStatus"] == "STOPPED"
    assert task["tasks"][0]["overrides"]["containerOverrides"][0]["command"] == [
        "echo",
        "amazon_services",
    ]
    assert task["tasks"][0]["startedBy"] == "airflow"
    # EMR: the cluster came from the emr connection's extra and the overrides, got the step,
    # and was terminated.
    emr = _client(s3_endpoint, "emr")
    cluster = emr.describe_cluster(ClusterId=got["job_flow"])["Cluster"]
    assert cluster["Name"].startswith("etl-2")
    assert cluster["ReleaseLabel"] == "emr-6.15.0"
    assert cluster["Status"]["State"] == "TERMINATED"
    step = emr.describe_step(ClusterId=got["job_flow"], StepId=got["steps"][0])["Step"]
    assert step["Config"]["Args"] == ["echo", "hi"]
    assert "Exiting" not in logs


@pytest.fixture
def aws_default(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``aws_default`` connection of the test's own process, on the server."""
    for name, value in ISOLATED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_uri(s3_endpoint))
    return s3_endpoint


def test_the_sensors_wait_on_running_states_and_fail_on_failed_ones(aws_default: str) -> None:
    from conveyor.exceptions import TaskError
    from conveyor.providers.amazon.emr import EmrStepSensor
    from conveyor.providers.amazon.sqs import SqsSensor

    emr = _client(aws_default, "emr")
    cluster = emr.run_job_flow(
        Name="sensed",
        ReleaseLabel="emr-6.15.0",
        Instances={
            "InstanceCount": 1,
            "MasterInstanceType": "m5.xlarge",
            "KeepJobFlowAliveWhenNoSteps": True,
        },
    )["JobFlowId"]
    step = emr.add_job_flow_steps(
        JobFlowId=cluster,
        Steps=[{"Name": "s", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["x"]}}],
    )["StepIds"][0]
    # moto keeps a step RUNNING: the default sensor waits, one told RUNNING is failure fails.
    assert EmrStepSensor(task_id="wait", job_flow_id=cluster, step_id=step).poke({}) is False
    failing = EmrStepSensor(
        task_id="fail", job_flow_id=cluster, step_id=step, failed_states=["RUNNING"]
    )
    with pytest.raises(TaskError, match=f"step {step} is RUNNING"):
        failing.poke({})
    queue = _client(aws_default, "sqs").create_queue(QueueName=f"{bucket_name()}-empty")
    empty = SqsSensor(task_id="empty", sqs_queue=queue["QueueUrl"], wait_time_seconds=0)
    assert empty.poke({}) is False


def test_an_ecs_task_waited_for_is_checked_container_by_container(aws_default: str) -> None:
    """moto stops the task but leaves its container PENDING: Airflow's check of the
    containers fails such a task, and so does Conveyor's, after the waiter saw STOPPED."""
    from conveyor.exceptions import TaskError
    from conveyor.providers.amazon.ecs import EcsRunTaskOperator

    names = _prepare(aws_default, bucket_name())
    assert names
    operator = EcsRunTaskOperator(
        task_id="ecs",
        cluster="workers",
        task_definition="etl",
        overrides={},
        waiter_delay=1,
        waiter_max_attempts=5,
    )

    class Ti:
        pushed: dict[str, Any] = {}

        def xcom_push(self, key: str, value: Any) -> None:
            self.pushed[key] = value

    ti = Ti()
    with pytest.raises(TaskError, match="still pending"):
        operator.execute({"ti": ti})
    tasks = _client(aws_default, "ecs").describe_tasks(
        cluster="workers", tasks=[ti.pushed["ecs_task_arn"]]
    )
    assert tasks["tasks"][0]["lastStatus"] == "STOPPED"


def test_emr_serverless_application_job_and_deletion(aws_default: str) -> None:
    """moto starts an application when it is created and ends a job run SUCCESS at once;
    a run cancelled through moto's API shows the sensor's failure."""
    from conveyor.exceptions import TaskError
    from conveyor.providers.amazon.emr_serverless import (
        EmrServerlessCreateApplicationOperator,
        EmrServerlessDeleteApplicationOperator,
        EmrServerlessJobSensor,
        EmrServerlessStartJobOperator,
    )

    client = _client(aws_default, "emr-serverless")
    app = EmrServerlessCreateApplicationOperator(
        task_id="app",
        release_label="emr-6.15.0",
        job_type="SPARK",
        config={"name": "census-app"},
        waiter_delay=1,
    ).execute({})
    got = client.get_application(applicationId=app)["application"]
    assert (got["name"], got["releaseLabel"], got["state"]) == (
        "census-app",
        "emr-6.15.0",
        "STARTED",
    )
    driver = {"sparkSubmit": {"entryPoint": "s3://code/job.py", "entryPointArguments": ["1"]}}
    start = EmrServerlessStartJobOperator(
        task_id="job",
        application_id=app,
        execution_role_arn="arn:aws:iam::123456789012:role/emr",
        job_driver=driver,
        configuration_overrides={"monitoringConfiguration": {}},
        name="nightly",
        waiter_delay=1,
    )
    run_id = start.execute({})
    run = client.get_job_run(applicationId=app, jobRunId=run_id)["jobRun"]
    assert (run["state"], run["name"], run["jobDriver"]) == ("SUCCESS", "nightly", driver)
    assert EmrServerlessJobSensor(task_id="s", application_id=app, job_run_id=run_id).poke({})
    client.cancel_job_run(applicationId=app, jobRunId=run_id)
    with pytest.raises(TaskError, match="CANCELLED"):
        EmrServerlessJobSensor(task_id="s2", application_id=app, job_run_id=run_id).poke({})
    # moto deletes only a stopped application: the operator stops it first, as Airflow's.
    EmrServerlessDeleteApplicationOperator(
        task_id="rm", application_id=app, waiter_delay=1
    ).execute({})
    assert client.get_application(applicationId=app)["application"]["state"] == "TERMINATED"
    with pytest.raises(TaskError, match="TERMINATED"):
        EmrServerlessStartJobOperator(
            task_id="late",
            application_id=app,
            execution_role_arn="arn:aws:iam::123456789012:role/emr",
            job_driver=driver,
            waiter_delay=0,
            waiter_max_attempts=1,
        ).execute({})
