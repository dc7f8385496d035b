"""The Airflow provider modules Conveyor answers, part of the one table (``table.py`` merges
them into ``MODULES``): each provider's paths, Airflow 1.10's among them.

``PROVIDERS`` names what Conveyor ships of each provider, for the per-provider lists in
docs/airflow.md and for the error naming what there is when a file asks for a name of a
shipped provider that Conveyor lacks.
"""

from __future__ import annotations

from conveyor.airflow_compat.targets import same_names

_P = "conveyor.providers"

_DBAPI = same_names(f"{_P}.dbapi", "DbApiHook")
_HANDLERS = same_names(
    f"{_P}.handlers", "fetch_all_handler", "fetch_one_handler", "return_single_query_results"
)
_SQL_OPERATORS = same_names(
    f"{_P}.sql_operators", "BaseSQLOperator", "SQLExecuteQueryOperator", "BranchSQLOperator"
)
_SQL_CHECKS = same_names(
    f"{_P}.sql_checks",
    "SQLCheckOperator",
    "SQLValueCheckOperator",
    "SQLIntervalCheckOperator",
    "SQLThresholdCheckOperator",
    "SQLColumnCheckOperator",
    "SQLTableCheckOperator",
)
_SQL_SENSOR = same_names(f"{_P}.sql_sensor", "SqlSensor")
_POSTGRES_HOOK = same_names(f"{_P}.postgres", "PostgresHook")
_POSTGRES_OPERATOR = same_names(f"{_P}.postgres", "PostgresOperator")
_MYSQL_HOOK = same_names(f"{_P}.mysql", "MySqlHook")
_MYSQL_OPERATOR = same_names(f"{_P}.mysql", "MySqlOperator")
_HTTP_HOOK = same_names(f"{_P}.http.hook", "HttpHook")
_HTTP_OPERATOR = same_names(f"{_P}.http.operator", "HttpOperator", "SimpleHttpOperator")
_HTTP_SENSOR = same_names(f"{_P}.http.sensor", "HttpSensor")
_SLACK_WEBHOOK_HOOK = same_names(f"{_P}.slack.webhook", "SlackWebhookHook")
_SLACK_HOOK = same_names(f"{_P}.slack.api", "SlackHook")
_SLACK_WEBHOOK_OPERATOR = same_names(f"{_P}.slack.operators", "SlackWebhookOperator")
_SLACK_OPERATORS = same_names(f"{_P}.slack.operators", "SlackAPIOperator", "SlackAPIPostOperator")
_SLACK_NOTIFIERS = same_names(f"{_P}.slack.notifiers", "SlackNotifier", "send_slack_notification")
_SLACK_WEBHOOK_NOTIFIERS = same_names(
    f"{_P}.slack.notifiers", "SlackWebhookNotifier", "send_slack_webhook_notification"
)
_SMTP_HOOK = same_names(f"{_P}.smtp.hook", "SmtpHook")
_EMAIL_OPERATOR = same_names(f"{_P}.smtp.operator", "EmailOperator")
_SMTP_NOTIFIERS = same_names(f"{_P}.smtp.notifier", "SmtpNotifier", "send_smtp_notification")
_UTILS_EMAIL = same_names(
    f"{_P}.smtp.utils_email", "send_email", "send_email_smtp", "get_email_address_list"
)
_DISCORD_HOOK = same_names(f"{_P}.discord.hook", "DiscordWebhookHook")
_DISCORD_OPERATOR = same_names(f"{_P}.discord.operator", "DiscordWebhookOperator")
_DISCORD_NOTIFIERS = same_names(
    f"{_P}.discord.notifier", "DiscordNotifier", "send_discord_notification"
)
_AWS_BASE_HOOK = same_names(f"{_P}.amazon.base_aws", "AwsBaseHook")
_S3_HOOK = same_names(f"{_P}.amazon.s3", "S3Hook")
_S3_KEY_SENSOR = same_names(f"{_P}.amazon.s3_sensor", "S3KeySensor")
_S3_OPERATORS = same_names(
    f"{_P}.amazon.s3_operators",
    "S3CreateBucketOperator",
    "S3DeleteBucketOperator",
    "S3CreateObjectOperator",
    "S3CopyObjectOperator",
    "S3DeleteObjectsOperator",
    "S3ListOperator",
)
_LOCAL_TO_S3 = same_names(f"{_P}.amazon.local_to_s3", "LocalFilesystemToS3Operator")
_SSH_HOOK = same_names(f"{_P}.ssh.hook", "SSHHook")
_SSH_OPERATOR = same_names(f"{_P}.ssh.operator", "SSHOperator")
_SFTP_OPERATION = same_names(f"{_P}.sftp.hook", "SFTPOperation")
_SFTP_HOOK = {**same_names(f"{_P}.sftp.hook", "SFTPHook"), **_SFTP_OPERATION}
_SFTP_OPERATOR = {**same_names(f"{_P}.sftp.operator", "SFTPOperator"), **_SFTP_OPERATION}
_SFTP_SENSOR = same_names(f"{_P}.sftp.sensor", "SFTPSensor")
_DOCKER_HOOK = same_names(f"{_P}.docker.hook", "DockerHook")
_DOCKER_OPERATOR = same_names(f"{_P}.docker.operator", "DockerOperator")
_K8S_POD_OPERATOR = same_names(f"{_P}.kubernetes.operator", "KubernetesPodOperator")
_K8S_SECRET = same_names(f"{_P}.kubernetes.secret", "Secret")
_S3_TO_SQL = same_names(f"{_P}.amazon.s3_to_sql", "S3ToSqlOperator")
_SQLITE_HOOK = same_names(f"{_P}.sqlite", "SqliteHook")
_SQLITE_OPERATOR = same_names(f"{_P}.sqlite", "SqliteOperator")
_JDBC_HOOK = same_names(f"{_P}.jdbc", "JdbcHook")
_JDBC_OPERATOR = same_names(f"{_P}.jdbc", "JdbcOperator")
_SAMBA_HOOK = same_names(f"{_P}.samba.hook", "SambaHook")
_SPARK_SUBMIT_HOOK = same_names(f"{_P}.spark.hook", "SparkSubmitHook")
_SPARK_SUBMIT_OPERATOR = same_names(f"{_P}.spark.operator", "SparkSubmitOperator")

#: Airflow module -> {name -> "conveyor.module:attribute"}, as ``table.MODULES``.
PROVIDER_MODULES: dict[str, dict[str, str]] = {
    # -- the providers' own paths (Airflow 2.x and 3.x) ------------------------------------
    "airflow.providers.common.sql.hooks.sql": {**_DBAPI, **_HANDLERS},
    "airflow.providers.common.sql.hooks.handlers": _HANDLERS,
    "airflow.providers.common.sql.operators.sql": {**_SQL_OPERATORS, **_SQL_CHECKS},
    "airflow.providers.common.sql.sensors.sql": _SQL_SENSOR,
    "airflow.providers.postgres.hooks.postgres": _POSTGRES_HOOK,
    "airflow.providers.postgres.operators.postgres": _POSTGRES_OPERATOR,
    "airflow.providers.mysql.hooks.mysql": _MYSQL_HOOK,
    "airflow.providers.mysql.operators.mysql": _MYSQL_OPERATOR,
    "airflow.providers.http.hooks.http": _HTTP_HOOK,
    "airflow.providers.http.operators.http": _HTTP_OPERATOR,
    "airflow.providers.http.sensors.http": _HTTP_SENSOR,
    "airflow.providers.slack.hooks.slack_webhook": _SLACK_WEBHOOK_HOOK,
    "airflow.providers.slack.hooks.slack": _SLACK_HOOK,
    "airflow.providers.slack.operators.slack_webhook": _SLACK_WEBHOOK_OPERATOR,
    "airflow.providers.slack.operators.slack": _SLACK_OPERATORS,
    "airflow.providers.slack.notifications.slack": _SLACK_NOTIFIERS,
    "airflow.providers.slack.notifications.slack_webhook": _SLACK_WEBHOOK_NOTIFIERS,
    "airflow.providers.smtp.hooks.smtp": _SMTP_HOOK,
    "airflow.providers.smtp.operators.smtp": _EMAIL_OPERATOR,
    "airflow.providers.smtp.notifications.smtp": _SMTP_NOTIFIERS,
    "airflow.providers.discord.hooks.discord_webhook": _DISCORD_HOOK,
    "airflow.providers.discord.operators.discord_webhook": _DISCORD_OPERATOR,
    "airflow.providers.discord.notifications.discord": _DISCORD_NOTIFIERS,
    "airflow.providers.amazon.aws.hooks.base_aws": _AWS_BASE_HOOK,
    "airflow.providers.amazon.aws.hooks.s3": _S3_HOOK,
    "airflow.providers.amazon.aws.sensors.s3": _S3_KEY_SENSOR,
    "airflow.providers.amazon.aws.operators.s3": _S3_OPERATORS,
    "airflow.providers.amazon.aws.transfers.local_to_s3": _LOCAL_TO_S3,
    # The amazon provider's module names before 4.0 (Airflow 2.0-2.3 era files).
    "airflow.providers.amazon.aws.operators.s3_bucket": {
        n: _S3_OPERATORS[n] for n in ("S3CreateBucketOperator", "S3DeleteBucketOperator")
    },
    "airflow.providers.amazon.aws.operators.s3_copy_object": {
        "S3CopyObjectOperator": _S3_OPERATORS["S3CopyObjectOperator"]
    },
    "airflow.providers.amazon.aws.operators.s3_delete_objects": {
        "S3DeleteObjectsOperator": _S3_OPERATORS["S3DeleteObjectsOperator"]
    },
    "airflow.providers.amazon.aws.operators.s3_list": {
        "S3ListOperator": _S3_OPERATORS["S3ListOperator"]
    },
    "airflow.providers.amazon.aws.sensors.s3_key": _S3_KEY_SENSOR,
    "airflow.providers.ssh.hooks.ssh": _SSH_HOOK,
    "airflow.providers.ssh.operators.ssh": _SSH_OPERATOR,
    "airflow.providers.sftp.hooks.sftp": _SFTP_HOOK,
    "airflow.providers.sftp.operators.sftp": _SFTP_OPERATOR,
    "airflow.providers.sftp.sensors.sftp": _SFTP_SENSOR,
    "airflow.providers.docker.hooks.docker": _DOCKER_HOOK,
    "airflow.providers.docker.operators.docker": _DOCKER_OPERATOR,
    "airflow.providers.cncf.kubernetes.operators.pod": _K8S_POD_OPERATOR,
    # The cncf.kubernetes provider's module name before 7.0.
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod": _K8S_POD_OPERATOR,
    "airflow.providers.cncf.kubernetes.secret": _K8S_SECRET,
    # Airflow 2's core path of Secret (the provider's since).
    "airflow.kubernetes.secret": _K8S_SECRET,
    "airflow.providers.amazon.aws.transfers.s3_to_sql": _S3_TO_SQL,
    "airflow.providers.sqlite.hooks.sqlite": _SQLITE_HOOK,
    # The sqlite provider's operator until 4.0 (a deprecated SQLExecuteQueryOperator).
    "airflow.providers.sqlite.operators.sqlite": _SQLITE_OPERATOR,
    "airflow.providers.jdbc.hooks.jdbc": _JDBC_HOOK,
    # The jdbc provider's operator until 5.0 (a deprecated SQLExecuteQueryOperator).
    "airflow.providers.jdbc.operators.jdbc": _JDBC_OPERATOR,
    "airflow.providers.samba.hooks.samba": _SAMBA_HOOK,
    "airflow.providers.apache.spark.hooks.spark_submit": _SPARK_SUBMIT_HOOK,
    "airflow.providers.apache.spark.operators.spark_submit": _SPARK_SUBMIT_OPERATOR,
    # -- Airflow 2.0-2.3's core paths ------------------------------------------------------
    "airflow.hooks.dbapi": _DBAPI,
    "airflow.operators.sql": {
        "BaseSQLOperator": _SQL_OPERATORS["BaseSQLOperator"],
        "BranchSQLOperator": _SQL_OPERATORS["BranchSQLOperator"],
        **_SQL_CHECKS,
    },
    "airflow.sensors.sql": _SQL_SENSOR,
    # The core's mail (2.x; 3.x keeps airflow.utils.email): the smtp provider's path here.
    "airflow.operators.email": _EMAIL_OPERATOR,
    "airflow.utils.email": _UTILS_EMAIL,
    # -- Airflow 1.10 ------------------------------------------------------------------------
    "airflow.hooks.dbapi_hook": _DBAPI,
    "airflow.hooks.postgres_hook": _POSTGRES_HOOK,
    "airflow.hooks.mysql_hook": _MYSQL_HOOK,
    "airflow.operators.postgres_operator": _POSTGRES_OPERATOR,
    "airflow.operators.mysql_operator": _MYSQL_OPERATOR,
    "airflow.operators.sql_branch_operator": {
        "BranchSqlOperator": _SQL_OPERATORS["BranchSQLOperator"],
    },
    "airflow.sensors.sql_sensor": _SQL_SENSOR,
    # 1.10's check operators (2.0-2.3 kept the module, with the SQL* names as well).
    "airflow.operators.check_operator": {
        **{n: _SQL_CHECKS[n] for n in ("SQLCheckOperator", "SQLValueCheckOperator")},
        "SQLIntervalCheckOperator": _SQL_CHECKS["SQLIntervalCheckOperator"],
        "CheckOperator": _SQL_CHECKS["SQLCheckOperator"],
        "ValueCheckOperator": _SQL_CHECKS["SQLValueCheckOperator"],
        "IntervalCheckOperator": _SQL_CHECKS["SQLIntervalCheckOperator"],
        "ThresholdCheckOperator": _SQL_CHECKS["SQLThresholdCheckOperator"],
    },
    "airflow.hooks.http_hook": _HTTP_HOOK,
    "airflow.operators.http_operator": {
        "SimpleHttpOperator": _HTTP_OPERATOR["SimpleHttpOperator"],
    },
    "airflow.sensors.http_sensor": _HTTP_SENSOR,
    "airflow.contrib.hooks.slack_webhook_hook": _SLACK_WEBHOOK_HOOK,
    "airflow.contrib.operators.slack_webhook_operator": _SLACK_WEBHOOK_OPERATOR,
    "airflow.hooks.slack_hook": _SLACK_HOOK,
    "airflow.operators.slack_operator": _SLACK_OPERATORS,
    "airflow.hooks.S3_hook": _S3_HOOK,
    "airflow.sensors.s3_key_sensor": _S3_KEY_SENSOR,
    "airflow.contrib.hooks.aws_hook": {"AwsHook": _AWS_BASE_HOOK["AwsBaseHook"]},
    "airflow.contrib.operators.s3_list_operator": {
        "S3ListOperator": _S3_OPERATORS["S3ListOperator"]
    },
    "airflow.contrib.operators.s3_copy_object_operator": {
        "S3CopyObjectOperator": _S3_OPERATORS["S3CopyObjectOperator"]
    },
    "airflow.contrib.operators.s3_delete_objects_operator": {
        "S3DeleteObjectsOperator": _S3_OPERATORS["S3DeleteObjectsOperator"]
    },
    "airflow.operators.email_operator": _EMAIL_OPERATOR,
    "airflow.contrib.hooks.discord_webhook_hook": _DISCORD_HOOK,
    "airflow.contrib.operators.discord_webhook_operator": _DISCORD_OPERATOR,
    "airflow.contrib.hooks.ssh_hook": _SSH_HOOK,
    "airflow.contrib.operators.ssh_operator": _SSH_OPERATOR,
    "airflow.contrib.hooks.sftp_hook": _SFTP_HOOK,
    "airflow.contrib.operators.sftp_operator": _SFTP_OPERATOR,
    "airflow.contrib.sensors.sftp_sensor": _SFTP_SENSOR,
    "airflow.hooks.docker_hook": _DOCKER_HOOK,
    "airflow.operators.docker_operator": _DOCKER_OPERATOR,
    "airflow.contrib.operators.kubernetes_pod_operator": _K8S_POD_OPERATOR,
    "airflow.contrib.kubernetes.secret": _K8S_SECRET,
    "airflow.hooks.sqlite_hook": _SQLITE_HOOK,
    "airflow.operators.sqlite_operator": _SQLITE_OPERATOR,
    "airflow.hooks.jdbc_hook": _JDBC_HOOK,
    "airflow.operators.jdbc_operator": _JDBC_OPERATOR,
    "airflow.hooks.samba_hook": _SAMBA_HOOK,
    "airflow.contrib.hooks.spark_submit_hook": _SPARK_SUBMIT_HOOK,
    "airflow.contrib.operators.spark_submit_operator": _SPARK_SUBMIT_OPERATOR,
    # ``from airflow.hooks import PostgresHook``: 1.10 answered these from the package too.
    "airflow.hooks": {**_DBAPI, **_POSTGRES_HOOK, **_MYSQL_HOOK, **_HTTP_HOOK},
    "airflow.operators": {
        **_EMAIL_OPERATOR,
        **_POSTGRES_OPERATOR,
        **_MYSQL_OPERATOR,
        "SimpleHttpOperator": _HTTP_OPERATOR["SimpleHttpOperator"],
    },
    "airflow.sensors": {**_SQL_SENSOR, **_HTTP_SENSOR},
}

#: Provider (as Airflow names its package) -> the module paths that belong to it.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "common.sql": (
        "airflow.providers.common.sql.hooks.sql",
        "airflow.providers.common.sql.hooks.handlers",
        "airflow.providers.common.sql.operators.sql",
        "airflow.providers.common.sql.sensors.sql",
    ),
    "postgres": (
        "airflow.providers.postgres.hooks.postgres",
        "airflow.providers.postgres.operators.postgres",
    ),
    "mysql": (
        "airflow.providers.mysql.hooks.mysql",
        "airflow.providers.mysql.operators.mysql",
    ),
    "http": (
        "airflow.providers.http.hooks.http",
        "airflow.providers.http.operators.http",
        "airflow.providers.http.sensors.http",
    ),
    "slack": (
        "airflow.providers.slack.hooks.slack_webhook",
        "airflow.providers.slack.hooks.slack",
        "airflow.providers.slack.operators.slack_webhook",
        "airflow.providers.slack.operators.slack",
        "airflow.providers.slack.notifications.slack",
        "airflow.providers.slack.notifications.slack_webhook",
    ),
    "smtp": (
        "airflow.providers.smtp.hooks.smtp",
        "airflow.providers.smtp.operators.smtp",
        "airflow.providers.smtp.notifications.smtp",
    ),
    "discord": (
        "airflow.providers.discord.hooks.discord_webhook",
        "airflow.providers.discord.operators.discord_webhook",
        "airflow.providers.discord.notifications.discord",
    ),
    "amazon": (
        "airflow.providers.amazon.aws.hooks.base_aws",
        "airflow.providers.amazon.aws.hooks.s3",
        "airflow.providers.amazon.aws.sensors.s3",
        "airflow.providers.amazon.aws.operators.s3",
        "airflow.providers.amazon.aws.transfers.local_to_s3",
        "airflow.providers.amazon.aws.transfers.s3_to_sql",
        "airflow.providers.amazon.aws.operators.s3_bucket",
        "airflow.providers.amazon.aws.operators.s3_copy_object",
        "airflow.providers.amazon.aws.operators.s3_delete_objects",
        "airflow.providers.amazon.aws.operators.s3_list",
        "airflow.providers.amazon.aws.sensors.s3_key",
    ),
    "ssh": ("airflow.providers.ssh.hooks.ssh", "airflow.providers.ssh.operators.ssh"),
    "sftp": (
        "airflow.providers.sftp.hooks.sftp",
        "airflow.providers.sftp.operators.sftp",
        "airflow.providers.sftp.sensors.sftp",
    ),
    "docker": (
        "airflow.providers.docker.hooks.docker",
        "airflow.providers.docker.operators.docker",
    ),
    "cncf.kubernetes": (
        "airflow.providers.cncf.kubernetes.operators.pod",
        "airflow.providers.cncf.kubernetes.operators.kubernetes_pod",
        "airflow.providers.cncf.kubernetes.secret",
    ),
    "sqlite": (
        "airflow.providers.sqlite.hooks.sqlite",
        "airflow.providers.sqlite.operators.sqlite",
    ),
    "jdbc": ("airflow.providers.jdbc.hooks.jdbc", "airflow.providers.jdbc.operators.jdbc"),
    "samba": ("airflow.providers.samba.hooks.samba",),
    "apache.spark": (
        "airflow.providers.apache.spark.hooks.spark_submit",
        "airflow.providers.apache.spark.operators.spark_submit",
    ),
}

#: The extra each provider needs beyond a plain install (None: nothing more; psycopg, the
#: PostgreSQL driver, comes with every install).
EXTRAS: dict[str, str | None] = {
    "common.sql": None,
    "postgres": None,
    "mysql": "mysql",
    "http": "http",
    "slack": "slack",
    "amazon": "amazon",  # boto3
    "smtp": None,  # the standard library's smtplib
    "discord": "discord",  # httpx
}
# ``from airflow.hooks import S3Hook``: 1.10 answered the amazon names from the packages too.
PROVIDER_MODULES["airflow.hooks"] = {**PROVIDER_MODULES["airflow.hooks"], **_S3_HOOK}
PROVIDER_MODULES["airflow.sensors"] = {**PROVIDER_MODULES["airflow.sensors"], **_S3_KEY_SENSOR}
# Airflow 1.10's ``airflow.operators.sensors`` gathered the sensors of the time, providers' too
# (its core names are in table.py: the hook merges both).
PROVIDER_MODULES["airflow.operators.sensors"] = {**_S3_KEY_SENSOR, **_HTTP_SENSOR, **_SQL_SENSOR}

#: The ssh and sftp providers both run on paramiko.
EXTRAS["ssh"] = "ssh"
EXTRAS["sftp"] = "ssh"
EXTRAS["docker"] = "docker"
EXTRAS["cncf.kubernetes"] = "kubernetes"
EXTRAS["sqlite"] = None  # the standard library's sqlite3
EXTRAS["jdbc"] = "jdbc"  # JayDeBeApi, JPype
EXTRAS["samba"] = "samba"  # smbprotocol
EXTRAS["apache.spark"] = "spark"  # pyspark's spark-submit


# -- the amazon provider beyond S3 (SQS, SNS, Secrets Manager, Lambda, Athena, Glue, ECS, EMR) --
_A = f"{_P}.amazon"
_AMAZON: dict[str, dict[str, str]] = {
    "hooks.sqs": same_names(f"{_A}.sqs", "SqsHook"),
    "operators.sqs": same_names(f"{_A}.sqs", "SqsPublishOperator"),
    "sensors.sqs": same_names(f"{_A}.sqs", "SqsSensor"),
    "hooks.sns": same_names(f"{_A}.sns", "SnsHook"),
    "operators.sns": same_names(f"{_A}.sns", "SnsPublishOperator"),
    "hooks.secrets_manager": same_names(f"{_A}.secrets_manager", "SecretsManagerHook"),
    "hooks.lambda_function": same_names(f"{_A}.lambda_function", "LambdaHook", "AwsLambdaHook"),
    "operators.lambda_function": same_names(
        f"{_A}.lambda_function", "LambdaCreateFunctionOperator", "LambdaInvokeFunctionOperator"
    ),
    "operators.aws_lambda": same_names(f"{_A}.lambda_function", "AwsLambdaInvokeFunctionOperator"),
    "hooks.athena": same_names(f"{_A}.athena", "AthenaHook", "AWSAthenaHook"),
    "operators.athena": same_names(f"{_A}.athena", "AthenaOperator", "AWSAthenaOperator"),
    "sensors.athena": same_names(f"{_A}.athena", "AthenaSensor"),
    "hooks.glue": same_names(f"{_A}.glue", "GlueJobHook", "AwsGlueJobHook"),
    "operators.glue": same_names(f"{_A}.glue", "GlueJobOperator", "AwsGlueJobOperator"),
    "sensors.glue": same_names(f"{_A}.glue", "GlueJobSensor", "AwsGlueJobSensor"),
    "hooks.glue_crawler": same_names(f"{_A}.glue", "GlueCrawlerHook", "AwsGlueCrawlerHook"),
    "operators.glue_crawler": same_names(
        f"{_A}.glue", "GlueCrawlerOperator", "AwsGlueCrawlerOperator"
    ),
    "hooks.ecs": same_names(f"{_A}.ecs", "EcsHook"),
    "operators.ecs": same_names(f"{_A}.ecs", "EcsRunTaskOperator", "ECSOperator", "EcsOperator"),
    "hooks.emr": same_names(f"{_A}.emr", "EmrHook")
    | same_names(f"{_A}.emr_serverless", "EmrServerlessHook"),
    "operators.emr": same_names(
        f"{_A}.emr",
        "EmrCreateJobFlowOperator",
        "EmrAddStepsOperator",
        "EmrTerminateJobFlowOperator",
    )
    | same_names(
        f"{_A}.emr_serverless",
        "EmrServerlessCreateApplicationOperator",
        "EmrServerlessStartJobOperator",
        "EmrServerlessDeleteApplicationOperator",
    ),
    "sensors.emr": same_names(f"{_A}.emr", "EmrJobFlowSensor", "EmrStepSensor")
    | same_names(f"{_A}.emr_serverless", "EmrServerlessJobSensor"),
    # The provider's module names before 4.0, one class each.
    "operators.emr_create_job_flow": same_names(f"{_A}.emr", "EmrCreateJobFlowOperator"),
    "operators.emr_add_steps": same_names(f"{_A}.emr", "EmrAddStepsOperator"),
    "operators.emr_terminate_job_flow": same_names(f"{_A}.emr", "EmrTerminateJobFlowOperator"),
    "sensors.emr_job_flow": same_names(f"{_A}.emr", "EmrJobFlowSensor"),
    "sensors.emr_step": same_names(f"{_A}.emr", "EmrStepSensor"),
}
_AMAZON_1_10: dict[str, dict[str, str]] = {
    "airflow.contrib.hooks.aws_sqs_hook": same_names(f"{_A}.sqs", "SQSHook"),
    "airflow.contrib.operators.aws_sqs_publish_operator": same_names(
        f"{_A}.sqs", "SQSPublishOperator"
    ),
    "airflow.contrib.sensors.aws_sqs_sensor": same_names(f"{_A}.sqs", "SQSSensor"),
    "airflow.contrib.hooks.aws_sns_hook": same_names(f"{_A}.sns", "AwsSnsHook"),
    "airflow.contrib.operators.sns_publish_operator": same_names(f"{_A}.sns", "SnsPublishOperator"),
    "airflow.contrib.hooks.aws_lambda_hook": same_names(f"{_A}.lambda_function", "AwsLambdaHook"),
    "airflow.contrib.hooks.aws_athena_hook": same_names(f"{_A}.athena", "AWSAthenaHook"),
    "airflow.contrib.operators.aws_athena_operator": same_names(
        f"{_A}.athena", "AWSAthenaOperator"
    ),
    "airflow.contrib.sensors.aws_athena_sensor": same_names(f"{_A}.athena", "AthenaSensor"),
    "airflow.contrib.hooks.aws_glue_job_hook": same_names(f"{_A}.glue", "AwsGlueJobHook"),
    "airflow.contrib.operators.ecs_operator": same_names(f"{_A}.ecs", "ECSOperator"),
    "airflow.contrib.hooks.emr_hook": same_names(f"{_A}.emr", "EmrHook"),
    "airflow.contrib.operators.emr_create_job_flow_operator": same_names(
        f"{_A}.emr", "EmrCreateJobFlowOperator"
    ),
    "airflow.contrib.operators.emr_add_steps_operator": same_names(
        f"{_A}.emr", "EmrAddStepsOperator"
    ),
    "airflow.contrib.operators.emr_terminate_job_flow_operator": same_names(
        f"{_A}.emr", "EmrTerminateJobFlowOperator"
    ),
    "airflow.contrib.sensors.emr_job_flow_sensor": same_names(f"{_A}.emr", "EmrJobFlowSensor"),
    "airflow.contrib.sensors.emr_step_sensor": same_names(f"{_A}.emr", "EmrStepSensor"),
}
for _module, _names in _AMAZON.items():
    PROVIDER_MODULES[f"airflow.providers.amazon.aws.{_module}"] = _names
    PROVIDERS["amazon"] += (f"airflow.providers.amazon.aws.{_module}",)
PROVIDER_MODULES.update(_AMAZON_1_10)
# 1.10's ``airflow.operators.sensors`` held S3KeySensor beside the core's sensors.
PROVIDER_MODULES["airflow.operators.sensors"] = {
    **PROVIDER_MODULES.get("airflow.operators.sensors", {}),
    **_S3_KEY_SENSOR,
}


# -- Airflow's object storage API (core in Airflow; fsspec here, a filesystem per scheme) --
_OBJECT_STORAGE_PATH = same_names(f"{_P}.objectstorage.path", "ObjectStoragePath")
for _module in ("airflow.io.path", "airflow.sdk", "airflow.sdk.io", "airflow.sdk.io.path"):
    PROVIDER_MODULES[_module] = {**PROVIDER_MODULES.get(_module, {}), **_OBJECT_STORAGE_PATH}


def provider_of(module: str) -> str | None:
    """The provider an ``airflow.providers...`` module belongs to (``common.sql``, ...)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["airflow", "providers"]:
        return None
    return ".".join(parts[2:4]) if parts[2] in ("common", "cncf", "apache") else parts[2]


# -- the google provider, its BigQuery and Cloud Storage part -----------------------------
_G = "airflow.providers.google.cloud"
_GP = f"{_P}.google"
_GOOGLE_MODULES: dict[str, dict[str, str]] = {
    "airflow.providers.google.common.hooks.base_google": same_names(
        f"{_GP}.base_google", "GoogleBaseHook"
    ),
    f"{_G}.hooks.bigquery": same_names(f"{_GP}.bigquery", "BigQueryHook"),
    f"{_G}.hooks.gcs": same_names(f"{_GP}.gcs", "GCSHook"),
    f"{_G}.operators.bigquery": same_names(
        f"{_GP}.bigquery_operators",
        "BigQueryInsertJobOperator",
        "BigQueryCreateEmptyDatasetOperator",
        "BigQueryDeleteDatasetOperator",
        "BigQueryCreateTableOperator",
        "BigQueryCreateEmptyTableOperator",
        "BigQueryDeleteTableOperator",
        "BigQueryCheckOperator",
        "BigQueryValueCheckOperator",
        "BigQueryGetDataOperator",
    )
    | same_names(
        f"{_GP}.bigquery_query",
        "BigQueryExecuteQueryOperator",
        "BigQueryUpsertTableOperator",
    ),
    f"{_G}.operators.gcs": same_names(
        f"{_GP}.gcs_operators",
        "GCSCreateBucketOperator",
        "GCSDeleteBucketOperator",
        "GCSDeleteObjectsOperator",
        "GCSListObjectsOperator",
    ),
    f"{_G}.sensors.gcs": same_names(
        f"{_GP}.sensors", "GCSObjectExistenceSensor", "GCSObjectsWithPrefixExistenceSensor"
    ),
    f"{_G}.sensors.bigquery": same_names(f"{_GP}.sensors", "BigQueryTableExistenceSensor"),
    f"{_G}.transfers.bigquery_to_gcs": same_names(
        f"{_GP}.bigquery_transfers", "BigQueryToGCSOperator"
    ),
    f"{_G}.transfers.gcs_to_bigquery": same_names(
        f"{_GP}.bigquery_transfers", "GCSToBigQueryOperator"
    ),
    f"{_G}.transfers.postgres_to_gcs": same_names(f"{_GP}.sql_to_gcs", "PostgresToGCSOperator"),
    f"{_G}.transfers.local_to_gcs": same_names(
        f"{_GP}.gcs_transfers", "LocalFilesystemToGCSOperator"
    ),
    f"{_G}.transfers.gcs_to_local": same_names(
        f"{_GP}.gcs_transfers", "GCSToLocalFilesystemOperator"
    ),
}
# Airflow 1.10's contrib paths: the same classes with 1.10's keywords and defaults.
_GOOGLE_MODULES.update(
    {
        "airflow.contrib.hooks.bigquery_hook": same_names(f"{_GP}.contrib", "BigQueryHook"),
        "airflow.contrib.hooks.gcs_hook": {"GoogleCloudStorageHook": f"{_GP}.gcs:GCSHook"},
        "airflow.contrib.operators.bigquery_operator": same_names(
            f"{_GP}.contrib", "BigQueryOperator"
        ),
        "airflow.contrib.operators.gcs_to_bq": same_names(
            f"{_GP}.contrib", "GoogleCloudStorageToBigQueryOperator"
        ),
        "airflow.contrib.operators.bigquery_to_gcs": same_names(
            f"{_GP}.contrib", "BigQueryToCloudStorageOperator"
        ),
        "airflow.contrib.sensors.gcs_sensor": {
            "GoogleCloudStorageObjectSensor": f"{_GP}.sensors:GCSObjectExistenceSensor"
        },
    }
)
PROVIDER_MODULES.update(_GOOGLE_MODULES)
PROVIDERS["google"] = tuple(_GOOGLE_MODULES)
EXTRAS["google"] = "google"
# The amazon provider's GCSToS3Operator reads with the google provider's hook: it needs both
# extras (conveyor[amazon,google]).
PROVIDER_MODULES["airflow.providers.amazon.aws.transfers.gcs_to_s3"] = same_names(
    f"{_P}.amazon.gcs_to_s3", "GCSToS3Operator"
)
PROVIDERS["amazon"] = (*PROVIDERS["amazon"], "airflow.providers.amazon.aws.transfers.gcs_to_s3")

# The samba provider's GCSToSambaOperator reads with the google provider's hook: it needs both
# extras (conveyor[samba,google]).
PROVIDER_MODULES["airflow.providers.samba.transfers.gcs_to_samba"] = same_names(
    f"{_P}.samba.gcs_to_samba", "GCSToSambaOperator"
)
PROVIDERS["samba"] = (*PROVIDERS["samba"], "airflow.providers.samba.transfers.gcs_to_samba")
