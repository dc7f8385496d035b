"""``SparkSubmitOperator``: a Spark application through ``spark-submit``, as Airflow runs it.

Every keyword is Airflow's and goes to ``SparkSubmitHook`` (see there for the connection,
the binary and what is refused). ``on_kill`` stops the application; Conveyor calls it when
the try ends while spark-submit runs (``execution_timeout``, an error, a stop), so no Spark
JVM outlives its try.
"""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.model.task import BaseOperator
from conveyor.providers.spark.hook import _REFUSED, SparkSubmitHook, refusals


class SparkSubmitOperator(BaseOperator):
    """Run ``application`` (a .py file or a jar) with ``spark-submit`` on ``conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "application",
        "conf",
        "files",
        "py_files",
        "jars",
        "driver_class_path",
        "packages",
        "exclude_packages",
        "keytab",
        "principal",
        "proxy_user",
        "name",
        "application_args",
        "env_vars",
        "properties_file",
        "post_submit_commands",
    )
    ui_color = "#FF9933"

    def __init__(
        self,
        task_id: str,
        *,
        application: str = "",
        conf: dict[Any, Any] | None = None,
        conn_id: str = "spark_default",
        files: str | None = None,
        py_files: str | None = None,
        archives: str | None = None,
        driver_class_path: str | None = None,
        jars: str | None = None,
        java_class: str | None = None,
        packages: str | None = None,
        exclude_packages: str | None = None,
        repositories: str | None = None,
        total_executor_cores: int | None = None,
        executor_cores: int | None = None,
        executor_memory: str | None = None,
        driver_memory: str | None = None,
        keytab: str | None = None,
        principal: str | None = None,
        proxy_user: str | None = None,
        name: str = "arrow-spark",
        num_executors: int | None = None,
        status_poll_interval: int = 1,
        application_args: list[Any] | None = None,
        env_vars: dict[str, Any] | None = None,
        verbose: bool = False,
        spark_binary: str | None = None,
        properties_file: str | None = None,
        yarn_queue: str | None = None,
        deploy_mode: str | None = None,
        post_submit_commands: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # Airflow's keywords Conveyor does not carry out fail when the task runs: the DAG
        # file loads, as on Airflow.
        refused = refusals({key: kwargs.pop(key) for key in list(kwargs) if key in _REFUSED})
        super().__init__(task_id, **kwargs)
        for message in refused:
            self.refuse_when_run(message)
        self.application = application
        self.conf = conf
        self.files = files
        self.py_files = py_files
        self._archives = archives
        self.driver_class_path = driver_class_path
        self.jars = jars
        self._java_class = java_class
        self.packages = packages
        self.exclude_packages = exclude_packages
        self._repositories = repositories
        self._total_executor_cores = total_executor_cores
        self._executor_cores = executor_cores
        self._executor_memory = executor_memory
        self._driver_memory = driver_memory
        self.keytab = keytab
        self.principal = principal
        self.proxy_user = proxy_user
        self.name = name
        self._num_executors = num_executors
        self._status_poll_interval = status_poll_interval
        self.application_args = application_args
        self.env_vars = env_vars
        self._verbose = verbose
        self._spark_binary = spark_binary
        self.properties_file = properties_file
        self._yarn_queue = yarn_queue
        self._deploy_mode = deploy_mode
        self.post_submit_commands = post_submit_commands
        self._conn_id = conn_id
        self._hook: SparkSubmitHook | None = None

    def execute(self, context: dict[str, Any]) -> None:
        self._hook = self._get_hook()
        try:
            self._hook.submit(self.application)
        except BaseException:
            # A timeout, a stop or a failure while spark-submit may still run: end it.
            self.on_kill()
            raise

    def on_kill(self) -> None:
        if self._hook is None:
            self._hook = self._get_hook()
        self._hook.on_kill()

    def _get_hook(self) -> SparkSubmitHook:
        return SparkSubmitHook(
            conf=self.conf,
            conn_id=self._conn_id,
            files=self.files,
            py_files=self.py_files,
            archives=self._archives,
            driver_class_path=self.driver_class_path,
            jars=self.jars,
            java_class=self._java_class,
            packages=self.packages,
            exclude_packages=self.exclude_packages,
            repositories=self._repositories,
            total_executor_cores=self._total_executor_cores,
            executor_cores=self._executor_cores,
            executor_memory=self._executor_memory,
            driver_memory=self._driver_memory,
            keytab=self.keytab,
            principal=self.principal,
            proxy_user=self.proxy_user,
            name=self.name,
            num_executors=self._num_executors,
            status_poll_interval=self._status_poll_interval,
            application_args=self.application_args,
            env_vars=self.env_vars,
            verbose=self._verbose,
            spark_binary=self._spark_binary,
            properties_file=self.properties_file,
            yarn_queue=self._yarn_queue,
            deploy_mode=self._deploy_mode,
            post_submit_commands=self.post_submit_commands,
        )
