"""Where task logs live: a local file per try, and optionally a copy in an S3-compatible bucket.

Every try writes its log to ``$log_folder/<dag>/<run>/<task>/try-N.log`` on the machine that
runs it. With ``remote_logs_url`` set, the worker copies the file to the bucket when the try
ends, under the same relative path, so the web UI and ``conveyor tasks logs`` on any machine
can show it: readers take the local file when there is one and the remote copy otherwise.
"""

from conveyor.logs.task_logs import (
    delete_try_logs,
    open_try_log,
    read_try_log,
    remote_key,
    upload_try_log,
)

__all__ = ["delete_try_logs", "open_try_log", "read_try_log", "remote_key", "upload_try_log"]
