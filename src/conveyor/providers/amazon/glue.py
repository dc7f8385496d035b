"""Airflow's Glue job and crawler pieces: ``GlueJobHook``, ``GlueJobOperator`` (create or
update the job, start a run, wait for its end; its XCom is the run id), ``GlueJobSensor``,
``GlueCrawlerHook`` and ``GlueCrawlerOperator`` (create or update the crawler, run it, wait)."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers.amazon._operator import (
    AwsBaseOperator,
    AwsBaseSensor,
    aws_template_fields,
)
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection

JOB_SUCCESS = ("SUCCEEDED",)
JOB_FAILED = ("FAILED", "STOPPED", "TIMEOUT", "ERROR")


class GlueJobHook(AwsBaseHook):
    """A Glue job named ``job_name``, made from the arguments when it does not exist."""

    def __init__(
        self,
        s3_bucket: str | None = None,
        job_name: str | None = None,
        desc: str | None = None,
        concurrent_run_limit: int = 1,
        script_location: str | None = None,
        retry_limit: int = 0,
        num_of_dpus: int | float | None = None,
        iam_role_name: str | None = None,
        iam_role_arn: str | None = None,
        create_job_kwargs: dict[str, Any] | None = None,
        update_config: bool = False,
        job_poll_interval: int | float = 6,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        kwargs["client_type"] = "glue"
        super().__init__(*args, **kwargs)
        self.job_name = job_name
        self.desc = desc
        self.concurrent_run_limit = concurrent_run_limit or 1
        self.script_location = script_location
        self.retry_limit = retry_limit
        self.s3_bucket = s3_bucket
        self.role_name = iam_role_name
        self.role_arn = iam_role_arn
        self.create_job_kwargs = dict(create_job_kwargs or {})
        self.update_config = update_config
        self.job_poll_interval = job_poll_interval
        worker = (
            "WorkerType" in self.create_job_kwargs and "NumberOfWorkers" in self.create_job_kwargs
        )
        self.num_of_dpus = None if worker else (10 if num_of_dpus is None else num_of_dpus)

    def create_glue_job_config(self) -> dict[str, Any]:
        """The CreateJob request for the hook's job."""
        kwargs = dict(self.create_job_kwargs)
        command = kwargs.pop("Command", {"Name": "glueetl", "ScriptLocation": self.script_location})
        config: dict[str, Any] = {
            "Name": self.job_name,
            "Description": self.desc,
            "Role": self.role_arn or self.get_iam_execution_role()["Role"]["Arn"],
            "ExecutionProperty": {"MaxConcurrentRuns": self.concurrent_run_limit},
            "Command": command,
            "MaxRetries": self.retry_limit,
            **kwargs,
        }
        if self.s3_bucket:
            config["LogUri"] = f"s3://{self.s3_bucket}/logs/glue-logs/{self.job_name}"
        if self.num_of_dpus is not None:
            config["MaxCapacity"] = self.num_of_dpus
        return config

    @names_the_connection
    def get_iam_execution_role(self) -> Any:
        if not self.role_name:
            raise TaskError(f"Glue job {self.job_name!r}: iam_role_name or iam_role_arn is needed")
        return self.get_client_type("iam").get_role(RoleName=self.role_name)

    @names_the_connection
    def has_job(self, job_name: str) -> bool:
        try:
            self.get_conn().get_job(JobName=job_name)
        except self.get_conn().exceptions.EntityNotFoundException:
            return False
        return True

    @names_the_connection
    def create_or_update_glue_job(self) -> str | None:
        """Create the job, or update it when ``update_config``; its name."""
        config = self.create_glue_job_config()
        name = config.pop("Name")
        if self.has_job(str(name)):
            if self.update_config:
                self.get_conn().update_job(JobName=name, JobUpdate=config)
        else:
            self.get_conn().create_job(Name=name, **config)
        return self.job_name

    @names_the_connection
    def initialize_job(
        self,
        script_arguments: dict[str, Any] | None = None,
        run_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Start a run of the job (made first if needed); Glue's answer (``JobRunId``)."""
        name = self.create_or_update_glue_job()
        return self.get_conn().start_job_run(
            JobName=name, Arguments=script_arguments or {}, **(run_kwargs or {})
        )

    @names_the_connection
    def get_job_state(self, job_name: str, run_id: str) -> str:
        answer = self.get_conn().get_job_run(
            JobName=job_name, RunId=run_id, PredecessorsIncluded=True
        )
        return str(answer["JobRun"]["JobRunState"])

    def job_completion(
        self, job_name: str, run_id: str, verbose: bool = False, sleep_before_return: int = 0
    ) -> dict[str, str]:
        """Polls until the run ends: ``{"JobRunState": ..., "JobRunId": ...}``, or a
        ``TaskError`` when it failed, stopped or timed out."""
        while True:
            state = self.get_job_state(job_name, run_id)
            print(f"Glue job {job_name} run {run_id}: {state}", flush=True)
            if state in JOB_SUCCESS:
                time.sleep(sleep_before_return)
                return {"JobRunState": state, "JobRunId": run_id}
            if state in JOB_FAILED:
                raise TaskError(f"Exiting Job {run_id} Run State: {state}")
            time.sleep(self.job_poll_interval)


class GlueJobOperator(AwsBaseOperator[GlueJobHook]):
    """Run the Glue job ``job_name``; a local ``script_location`` is uploaded to
    ``s3_bucket`` first."""

    aws_hook_class = GlueJobHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "job_name",
        "script_location",
        "script_args",
        "create_job_kwargs",
        "run_job_kwargs",
        "s3_bucket",
        "iam_role_name",
        "iam_role_arn",
    )
    ui_color = "#ededed"

    def __init__(
        self,
        task_id: str,
        *,
        job_name: str = "aws_glue_default_job",
        job_desc: str = "AWS Glue Job with Airflow",
        script_location: str | None = None,
        concurrent_run_limit: int | None = None,
        script_args: dict[str, Any] | None = None,
        retry_limit: int = 0,
        num_of_dpus: int | float | None = None,
        s3_bucket: str | None = None,
        iam_role_name: str | None = None,
        iam_role_arn: str | None = None,
        create_job_kwargs: dict[str, Any] | None = None,
        run_job_kwargs: dict[str, Any] | None = None,
        wait_for_completion: bool = True,
        verbose: bool = False,
        replace_script_file: bool = False,
        update_config: bool = False,
        stop_job_run_on_kill: bool = False,
        sleep_before_return: int = 0,
        job_poll_interval: int | float = 6,
        waiter_delay: int = 60,
        waiter_max_attempts: int = 75,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.job_name = job_name
        self.job_desc = job_desc
        self.script_location = script_location
        self.concurrent_run_limit = concurrent_run_limit or 1
        self.script_args = script_args or {}
        self.retry_limit = retry_limit
        self.num_of_dpus = num_of_dpus
        self.s3_bucket = s3_bucket
        self.iam_role_name = iam_role_name
        self.iam_role_arn = iam_role_arn
        self.create_job_kwargs = create_job_kwargs
        self.run_job_kwargs = run_job_kwargs or {}
        self.wait_for_completion = wait_for_completion
        self.verbose = verbose
        self.replace_script_file = replace_script_file
        self.update_config = update_config
        self.stop_job_run_on_kill = stop_job_run_on_kill
        self.sleep_before_return = sleep_before_return
        self.job_poll_interval = job_poll_interval
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self._run_id: str | None = None

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "desc": self.job_desc,
            "concurrent_run_limit": self.concurrent_run_limit,
            "script_location": self._script(),
            "retry_limit": self.retry_limit,
            "num_of_dpus": self.num_of_dpus,
            "s3_bucket": self.s3_bucket,
            "iam_role_name": self.iam_role_name,
            "iam_role_arn": self.iam_role_arn,
            "create_job_kwargs": self.create_job_kwargs,
            "update_config": self.update_config,
            "job_poll_interval": self.job_poll_interval,
        }

    def _script(self) -> str | None:
        """The script's S3 URL: a local file is uploaded to ``s3_bucket`` (once)."""
        location = self.script_location
        if location is None or location.startswith("s3://") or not os.path.exists(location):
            return location
        from conveyor.providers.amazon.s3 import S3Hook

        if not self.s3_bucket:
            raise TaskError(f"task {self.task_id!r}: a local script_location needs s3_bucket")
        key = f"artifacts/glue-scripts/{os.path.basename(location)}"
        s3 = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        s3.load_file(location, key, self.s3_bucket, replace=self.replace_script_file)
        return f"s3://{self.s3_bucket}/{key}"

    def execute(self, context: dict[str, Any]) -> str:
        hook = self.hook
        run = hook.initialize_job(self.script_args, self.run_job_kwargs)
        self._run_id = str(run["JobRunId"])
        print(f"Initializing AWS Glue Job: {self.job_name}. Run id {self._run_id}", flush=True)
        if self.wait_for_completion or self.deferrable:
            done = hook.job_completion(
                self.job_name, self._run_id, self.verbose, self.sleep_before_return
            )
            print(f"AWS Glue Job: {self.job_name} status: {done['JobRunState']}", flush=True)
        return self._run_id

    def on_kill(self) -> None:
        if self.stop_job_run_on_kill and self._run_id:
            self.hook.get_conn().batch_stop_job_run(JobName=self.job_name, JobRunIds=[self._run_id])


class GlueJobSensor(AwsBaseSensor[GlueJobHook]):
    """Wait until the run ``run_id`` of ``job_name`` succeeded; a failed, stopped or timed
    out run fails the task."""

    aws_hook_class = GlueJobHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("job_name", "run_id")

    def __init__(
        self,
        task_id: str,
        *,
        job_name: str,
        run_id: str,
        verbose: bool = False,
        max_retries: int = 60,
        poke_interval: float = 120,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, poke_interval=poke_interval, **kwargs)
        self.job_name = job_name
        self.run_id = run_id
        self.verbose = verbose
        self.max_retries = max_retries

    def poke(self, context: dict[str, Any]) -> bool:
        state = self.hook.get_job_state(self.job_name, self.run_id)
        print(f"Poking for job run status: {state}", flush=True)
        if state in JOB_FAILED:
            raise TaskError(f"Exiting Job {self.run_id} Run State: {state}")
        return state in JOB_SUCCESS


class GlueCrawlerHook(AwsBaseHook):
    """``get_conn()`` is boto3's Glue client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "glue"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def has_crawler(self, crawler_name: str) -> bool:
        try:
            self.get_crawler(crawler_name)
        except self.get_conn().exceptions.EntityNotFoundException:
            return False
        return True

    def get_crawler(self, crawler_name: str) -> dict[str, Any]:
        return dict(self.get_conn().get_crawler(Name=crawler_name)["Crawler"])

    @names_the_connection
    def create_crawler(self, **crawler_kwargs: Any) -> Any:
        return self.get_conn().create_crawler(**crawler_kwargs)

    @names_the_connection
    def update_crawler(self, **crawler_kwargs: Any) -> bool:
        """Update the crawler where ``crawler_kwargs`` differ from it; whether it changed."""
        kwargs = {k: v for k, v in crawler_kwargs.items() if k != "Tags"}
        current = self.get_crawler(kwargs["Name"])
        changed = {k: v for k, v in kwargs.items() if current.get(k) != v}
        if not changed:
            return False
        self.get_conn().update_crawler(**kwargs)
        return True

    @names_the_connection
    def start_crawler(self, crawler_name: str) -> Any:
        return self.get_conn().start_crawler(Name=crawler_name)

    def wait_for_crawler_completion(self, crawler_name: str, poll_interval: int = 5) -> str:
        """Polls until the crawler is ``READY`` again; its last crawl's status (a failed
        crawl is a ``TaskError``)."""
        while True:
            crawler = self.get_crawler(crawler_name)
            print(f"Glue crawler {crawler_name}: {crawler['State']}", flush=True)
            if crawler["State"] == "READY":
                status = str(crawler.get("LastCrawl", {}).get("Status", "SUCCEEDED"))
                if status in ("FAILED", "CANCELLED"):
                    raise TaskError(f"Status: {status}")
                return status
            time.sleep(poll_interval)


class GlueCrawlerOperator(AwsBaseOperator[GlueCrawlerHook]):
    """Create (or update) the crawler ``config`` describes and run it; its XCom is the
    crawler's name."""

    aws_hook_class = GlueCrawlerHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("config")
    ui_color = "#ededed"

    def __init__(
        self,
        task_id: str,
        *,
        config: dict[str, Any],
        poll_interval: int = 5,
        wait_for_completion: bool = True,
        fail_on_already_running: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.config = config
        self.poll_interval = poll_interval
        self.wait_for_completion = wait_for_completion
        self.fail_on_already_running = fail_on_already_running

    def execute(self, context: dict[str, Any]) -> str:
        hook = self.hook
        name = str(self.config["Name"])
        if hook.has_crawler(name):
            hook.update_crawler(**self.config)
        else:
            hook.create_crawler(**self.config)
        print(f"Triggering AWS Glue Crawler {name}", flush=True)
        try:
            hook.start_crawler(name)
        except hook.get_conn().exceptions.CrawlerRunningException:
            if self.fail_on_already_running:
                raise
            print(f"Crawler {name} is already running", flush=True)
        if self.wait_for_completion or self.deferrable:
            hook.wait_for_crawler_completion(name, self.poll_interval)
        return name


#: The provider's names before 6.0.
AwsGlueJobHook = GlueJobHook
AwsGlueJobOperator = GlueJobOperator
AwsGlueJobSensor = GlueJobSensor
AwsGlueCrawlerHook = GlueCrawlerHook
AwsGlueCrawlerOperator = GlueCrawlerOperator
