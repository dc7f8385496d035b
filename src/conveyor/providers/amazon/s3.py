"""``S3Hook``: the bucket operations Airflow's S3 hook offers, with its names and returns.

Keys are strings, listings lists of strings, ``get_key`` a boto3 ``S3.Object``, checks
booleans; ``get_conn()`` is the boto3 S3 client. Where a method takes ``key`` and
``bucket_name``, a key written as a full ``s3://bucket/key`` URL needs no bucket; where the
bucket is still missing, the connection's ``service_config["s3"]["bucket_name"]`` (else its
``schema``) is used, as in Airflow. Errors that are about the request (``NoSuchKey``,
``NoSuchBucket``) stay botocore's ``ClientError``, which code written for Airflow catches.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip as gz
import importlib
import inspect
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any, TypeVar, cast
from urllib.parse import urlsplit

from conveyor.exceptions import NotFoundError, TaskError
from conveyor.providers.amazon.base_aws import AwsBaseHook, botocore_errors, names_the_connection

# boto3 is there: importing base_aws checked the extra.
_transfer = importlib.import_module("boto3.s3.transfer")

F = TypeVar("F", bound=Callable[..., Any])
#: The most keys one DeleteObjects request takes.
_DELETE_BATCH = 1000


class S3HookUriParseFailure(TaskError):
    """A text given as an S3 URL is not one."""


def _parse(url: str) -> tuple[str, str]:
    scheme, _, rest = url.partition("://")
    if re.fullmatch(r"s3[na]?", scheme, re.IGNORECASE):
        parts = urlsplit(url, allow_fragments=False)
        if parts.netloc:
            return parts.netloc, parts.path.lstrip("/")
    elif scheme == "https":
        host, _, path = rest.partition("/")
        labels = host.split(".")
        if labels[0] == "s3" and "/" in path:  # https://s3.region.amazonaws.com/bucket/key
            bucket, _, key = path.partition("/")
            return bucket, key
        if len(labels) > 1 and labels[1] == "s3":  # https://bucket.s3.region.amazonaws.com/key
            return labels[0], path
    raise S3HookUriParseFailure(
        "Please provide a bucket name using a valid format of the form: s3://bucket-name/key-name "
        f'or https://bucket-name.s3.region-code.amazonaws.com/key-name but provided: "{url}"'
    )


def unify_bucket_name_and_key(func: F) -> F:
    """A ``key`` (or ``wildcard_key``) written as an S3 URL gives the bucket when
    ``bucket_name`` is not given."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        key_name = "wildcard_key" if "wildcard_key" in signature.parameters else "key"
        key = bound.arguments.get(key_name)
        if not bound.arguments.get("bucket_name") and isinstance(key, str) and "://" in key:
            bound.arguments["bucket_name"], bound.arguments[key_name] = _parse(key)
        return func(*bound.args, **bound.kwargs)

    return cast(F, wrapper)


def provide_bucket_name(func: F) -> F:
    """A missing ``bucket_name`` is the connection's: ``service_config["s3"]["bucket_name"]``,
    else its ``schema`` (what older Airflow versions read)."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        if not bound.arguments.get("bucket_name"):
            hook = args[0]
            found = hook.service_config.get("bucket_name") or hook.conn_config.schema
            if found:
                bound.arguments["bucket_name"] = found
        return func(*bound.args, **bound.kwargs)

    return cast(F, wrapper)


def _bucket_call(func: F) -> F:
    """A method on a bucket: its bucket defaults to the connection's, and a refused or
    unreachable endpoint names the connection."""
    return provide_bucket_name(names_the_connection(func))


def _key_call(func: F) -> F:
    """A method on a key: as :func:`_bucket_call`, and a key written as an S3 URL gives
    the bucket."""
    return unify_bucket_name_and_key(_bucket_call(func))


def _requires_bucket(bucket_name: str | None, key: str) -> str:
    if not bucket_name:
        raise TaskError(
            f"no bucket for key {key!r}: pass bucket_name=, write the key as "
            "s3://bucket/key, or set the connection's service_config s3.bucket_name"
        )
    return bucket_name


class S3Hook(AwsBaseHook):
    """Airflow's ``S3Hook``: ``S3Hook(aws_conn_id="aws_default")``; ``transfer_config_args``
    and ``extra_args`` go to boto3's managed transfers as in Airflow."""

    def __init__(
        self,
        aws_conn_id: str | None = AwsBaseHook.default_conn_name,
        transfer_config_args: dict[str, Any] | None = None,
        extra_args: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        kwargs["client_type"] = "s3"
        kwargs.pop("resource_type", None)
        for name, given in (
            ("transfer_config_args", transfer_config_args),
            ("extra_args", extra_args),
        ):
            if given is not None and not isinstance(given, dict):
                raise TypeError(f"{name} expected dict, got {type(given).__name__}.")
        self._transfer_config_args = dict(transfer_config_args or {})
        self._extra_args = dict(extra_args or {})
        super().__init__(aws_conn_id, *args, **kwargs)
        self._resource: Any = None

    @property
    def transfer_config(self) -> Any:
        args = {**self.service_config.get("transfer_config_args", {}), **self._transfer_config_args}
        return _transfer.TransferConfig(**args)

    @property
    def extra_args(self) -> dict[str, Any]:
        return dict(self._extra_args)

    @property
    def resource(self) -> Any:
        """The boto3 S3 resource (``boto3.resource("s3")``) on the connection."""
        if self._resource is None:
            self._resource = self.get_resource_type("s3", region_name=self.region_name)
        return self._resource

    @property
    def conn_region_name(self) -> str:
        return str(self.region_name or self.get_conn().meta.region_name)

    # -- URLs ------------------------------------------------------------------------------

    @staticmethod
    def parse_s3_url(s3url: str) -> tuple[str, str]:
        """``s3://bucket/key`` (or an https URL of S3) -> ``(bucket, key)``."""
        return _parse(s3url)

    @staticmethod
    def get_s3_bucket_key(
        bucket: str | None, key: str, bucket_param_name: str, key_param_name: str
    ) -> tuple[str, str]:
        """``(bucket, key)`` from a bucket and a relative key, or from a full URL alone."""
        if bucket is None:
            return _parse(key)
        parts = urlsplit(key)
        if parts.scheme or parts.netloc:
            raise TypeError(
                f"If `{bucket_param_name}` is provided, {key_param_name} should be a relative "
                "path from root level, rather than a full s3:// url"
            )
        return bucket, key

    # -- buckets ---------------------------------------------------------------------------

    @_bucket_call
    def check_for_bucket(self, bucket_name: str | None = None) -> bool:
        """Whether the bucket exists (and may be seen with these credentials)."""
        try:
            self.get_conn().head_bucket(Bucket=bucket_name)
            return True
        except botocore_errors.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            self.log.info("bucket %r cannot be seen (%s)", bucket_name, code)
            return False

    @provide_bucket_name
    def get_bucket(self, bucket_name: str | None = None) -> Any:
        """The boto3 ``S3.Bucket``."""
        return self.resource.Bucket(bucket_name)

    @_bucket_call
    def create_bucket(self, bucket_name: str | None = None, region_name: str | None = None) -> None:
        """Create the bucket, in ``region_name`` (else the connection's region)."""
        region = region_name or self.conn_region_name
        if region == "aws-global":
            raise TaskError(
                "Unable to create bucket if `region_name` not set and boto3 configured to use "
                "s3 regional endpoints."
            )
        kwargs: dict[str, Any] = {"Bucket": bucket_name}
        if region != "us-east-1":  # us-east-1 is the default and refuses to be named
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self.get_conn().create_bucket(**kwargs)

    @_bucket_call
    def delete_bucket(
        self, bucket_name: str, force_delete: bool = False, max_retries: int = 5
    ) -> None:
        """Delete the bucket; with ``force_delete``, its objects first."""
        if force_delete:
            for _ in range(max_retries):
                keys = self.list_keys(bucket_name=bucket_name)
                if not keys:
                    break
                self.delete_objects(bucket=bucket_name, keys=keys)
        self.get_conn().delete_bucket(Bucket=bucket_name)

    # -- listing ---------------------------------------------------------------------------

    def _pages(
        self,
        bucket_name: str | None,
        page_size: int | None,
        max_items: int | None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        paginator = self.get_conn().get_paginator("list_objects_v2")
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        pagination = {"PageSize": page_size, "MaxItems": max_items}
        return iter(paginator.paginate(Bucket=bucket_name, PaginationConfig=pagination, **clean))

    @_bucket_call
    def list_prefixes(
        self,
        bucket_name: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> list[str]:
        """The common prefixes ("folders") under ``prefix`` up to ``delimiter``."""
        pages = self._pages(
            bucket_name,
            page_size,
            max_items,
            Prefix=prefix or "",
            Delimiter=delimiter or "",
        )
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    @provide_bucket_name
    def check_for_prefix(self, prefix: str, delimiter: str, bucket_name: str | None = None) -> bool:
        """Whether ``prefix`` is one of the bucket's common prefixes."""
        if not prefix.endswith(delimiter):
            prefix += delimiter
        parent = re.split(rf"(\w+[{re.escape(delimiter)}])$", prefix, maxsplit=1)[0]
        return prefix in self.list_prefixes(bucket_name, parent, delimiter)

    @_bucket_call
    def list_keys(
        self,
        bucket_name: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        start_after_key: str | None = None,
        from_datetime: datetime | None = None,
        to_datetime: datetime | None = None,
        object_filter: Callable[..., list[Any]] | None = None,
        apply_wildcard: bool = False,
    ) -> list[Any]:
        """The keys under ``prefix`` (not past ``delimiter``), as strings; with
        ``apply_wildcard``, a ``*`` in ``prefix`` matches as in a shell pattern."""
        wildcard = bool(apply_wildcard and prefix and "*" in prefix)
        pages = self._pages(
            bucket_name,
            page_size,
            max_items,
            Prefix=(prefix or "").split("*", 1)[0] if wildcard else prefix or "",
            Delimiter=delimiter or "",
            StartAfter=start_after_key or "",
        )
        objects = [o for page in pages for o in page.get("Contents", [])]
        if wildcard:
            objects = [o for o in objects if fnmatch.fnmatch(o["Key"], prefix or "")]
        if object_filter is not None:
            return object_filter(objects, from_datetime, to_datetime)
        return [
            o["Key"]
            for o in objects
            if (from_datetime is None or o["LastModified"] >= from_datetime)
            and (to_datetime is None or o["LastModified"] <= to_datetime)
        ]

    @_bucket_call
    def get_file_metadata(
        self,
        prefix: str,
        bucket_name: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> list[dict[str, Any]]:
        """The listing entries (``Key``, ``Size``, ``LastModified``, ...) under ``prefix``."""
        return list(self.iter_file_metadata(prefix, bucket_name, page_size, max_items))

    @provide_bucket_name
    def iter_file_metadata(
        self,
        prefix: str,
        bucket_name: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        pages = self._pages(
            bucket_name,
            page_size,
            max_items,
            Prefix=prefix,
        )
        for page in pages:
            yield from page.get("Contents", [])

    # -- reading ---------------------------------------------------------------------------

    @_key_call
    def head_object(self, key: str, bucket_name: str | None = None) -> dict[str, Any] | None:
        """The object's metadata (``HeadObject``), or None when there is no such key."""
        try:
            found: dict[str, Any] = self.get_conn().head_object(
                Bucket=_requires_bucket(bucket_name, key), Key=key
            )
            return found
        except botocore_errors.ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise

    @unify_bucket_name_and_key
    @provide_bucket_name
    def check_for_key(self, key: str, bucket_name: str | None = None) -> bool:
        """Whether the key exists."""
        return self.head_object(key, bucket_name) is not None

    @_key_call
    def get_key(self, key: str, bucket_name: str | None = None) -> Any:
        """The boto3 ``S3.Object`` of the key, loaded (a missing key raises ``ClientError``)."""
        allowed = set(_transfer.S3Transfer.ALLOWED_DOWNLOAD_ARGS)
        obj = self.resource.Object(_requires_bucket(bucket_name, key), key)
        obj.load(**{k: v for k, v in self.extra_args.items() if k in allowed})
        return obj

    @_key_call
    def read_key(self, key: str, bucket_name: str | None = None) -> str:
        """The key's content as text (UTF-8)."""
        body: bytes = self.get_key(key, bucket_name).get()["Body"].read()
        return body.decode("utf-8")

    @unify_bucket_name_and_key
    @provide_bucket_name
    def check_for_wildcard_key(
        self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = ""
    ) -> bool:
        """Whether some key matches the shell pattern ``wildcard_key``."""
        return self.get_wildcard_key(wildcard_key, bucket_name, delimiter) is not None

    @unify_bucket_name_and_key
    @provide_bucket_name
    def get_wildcard_key(
        self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = ""
    ) -> Any:
        """The ``S3.Object`` of the first key matching ``wildcard_key``, or None."""
        prefix = re.split(r"[\[*?]", wildcard_key, maxsplit=1)[0]
        keys = self.list_keys(bucket_name, prefix=prefix, delimiter=delimiter)
        matches = [k for k in keys if fnmatch.fnmatch(k, wildcard_key)]
        return self.get_key(matches[0], bucket_name) if matches else None

    @_key_call
    def download_file(
        self,
        key: str,
        bucket_name: str | None = None,
        local_path: str | None = None,
        preserve_file_name: bool = False,
        use_autogenerated_subdir: bool = True,
    ) -> str:
        """Download the key into ``local_path`` (a temporary directory by default) and return
        the file's name: a new name, or the key's own with ``preserve_file_name``."""
        try:
            obj = self.get_key(key, bucket_name)
        except botocore_errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFoundError(
                    f"The source file in Bucket {bucket_name} with path {key} does not exist"
                ) from None
            raise
        if preserve_file_name:
            subdir = f"conveyor_tmp_dir_{uuid.uuid4().hex[:8]}" if use_autogenerated_subdir else ""
            path = Path(local_path or tempfile.gettempdir(), subdir, obj.key.rsplit("/", 1)[-1])
            if path.is_file():
                raise FileExistsError(f"file {str(path)!r} already exists; not overwriting it")
            path.parent.mkdir(parents=True, exist_ok=True)
            file: IO[bytes] = path.open("wb")
        else:
            file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept: its name is returned
                dir=local_path, prefix="conveyor_tmp_", delete=False
            )
        with file:
            obj.download_fileobj(file, ExtraArgs=self.extra_args, Config=self.transfer_config)
        return str(file.name)

    # -- writing ---------------------------------------------------------------------------

    def _upload_args(self, encrypt: bool, acl_policy: str | None) -> dict[str, Any]:
        args = self.extra_args
        if encrypt:
            args["ServerSideEncryption"] = "AES256"
        if acl_policy:
            args["ACL"] = acl_policy
        return args

    def _refuse_existing(self, key: str, bucket_name: str | None, replace: bool) -> str:
        bucket = _requires_bucket(bucket_name, key)
        if not replace and self.check_for_key(key, bucket):
            raise ValueError(f"The key {key} already exists.")
        return bucket

    @_key_call
    def load_file(
        self,
        filename: Path | str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        gzip: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        """Upload a local file; an existing key is an error unless ``replace``; ``gzip``
        compresses it on the way."""
        bucket = self._refuse_existing(key, bucket_name, replace)
        args = self._upload_args(encrypt, acl_policy)
        client = self.get_conn()
        if not gzip:
            client.upload_file(
                str(filename), bucket, key, ExtraArgs=args, Config=self.transfer_config
            )
            return
        with tempfile.TemporaryFile() as packed:
            with open(filename, "rb") as source, gz.open(packed, "wb") as target:
                shutil.copyfileobj(source, target)
            packed.seek(0)
            client.upload_fileobj(packed, bucket, key, ExtraArgs=args, Config=self.transfer_config)

    @unify_bucket_name_and_key
    @provide_bucket_name
    def load_string(
        self,
        string_data: str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        encoding: str | None = None,
        acl_policy: str | None = None,
        compression: str | None = None,
    ) -> None:
        """Upload text (``encoding``, UTF-8 by default; ``compression="gzip"`` packs it)."""
        data = string_data.encode(encoding or "utf-8")
        if compression not in (None, "gzip"):
            raise NotImplementedError(
                f"Received {compression} compression type. String can currently be "
                "compressed in ['gzip'] only."
            )
        if compression == "gzip":
            data = gz.compress(data)
        self.load_file_obj(BytesIO(data), key, bucket_name, replace, encrypt, acl_policy)

    @unify_bucket_name_and_key
    @provide_bucket_name
    def load_bytes(
        self,
        bytes_data: bytes,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        """Upload bytes."""
        self.load_file_obj(BytesIO(bytes_data), key, bucket_name, replace, encrypt, acl_policy)

    @_key_call
    def load_file_obj(
        self,
        file_obj: IO[bytes],
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        """Upload what a binary file object holds."""
        bucket = self._refuse_existing(key, bucket_name, replace)
        self.get_conn().upload_fileobj(
            file_obj,
            bucket,
            key,
            ExtraArgs=self._upload_args(encrypt, acl_policy),
            Config=self.transfer_config,
        )

    @names_the_connection
    def copy_object(
        self,
        source_bucket_key: str,
        dest_bucket_key: str,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        source_version_id: str | None = None,
        acl_policy: str | None = None,
        meta_data_directive: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Copy an object (keys relative to their bucket, or full ``s3://`` URLs); returns
        the ``CopyObject`` response."""
        kwargs["ACL"] = acl_policy or "private"
        if meta_data_directive:
            kwargs["MetadataDirective"] = meta_data_directive
        dest_bucket, dest_key = self.get_s3_bucket_key(
            dest_bucket_name, dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        source_bucket, source_key = self.get_s3_bucket_key(
            source_bucket_name, source_bucket_key, "source_bucket_name", "source_bucket_key"
        )
        source: dict[str, Any] = {"Bucket": source_bucket, "Key": source_key}
        if source_version_id:
            source["VersionId"] = source_version_id
        response: dict[str, Any] = self.get_conn().copy_object(
            Bucket=dest_bucket, Key=dest_key, CopySource=source, **kwargs
        )
        return response

    @names_the_connection
    def delete_objects(self, bucket: str, keys: str | list[str]) -> None:
        """Delete one key or a list of keys; a key S3 could not delete is an error."""
        if isinstance(keys, str):
            keys = [keys]
        client = self.get_conn()
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch]}
            )
            print(f"Deleted: {[d['Key'] for d in response.get('Deleted', [])]}", flush=True)
            if response.get("Errors"):
                failed = [e["Key"] for e in response["Errors"]]
                raise TaskError(f"Errors when deleting: {failed}")

    @names_the_connection
    def generate_presigned_url(
        self,
        client_method: str,
        params: dict[str, Any] | None = None,
        expires_in: int = 3600,
        http_method: str | None = None,
    ) -> str | None:
        """A presigned URL for ``client_method`` (``"get_object"``, ...) with ``params``."""
        try:
            url: str = self.get_conn().generate_presigned_url(
                ClientMethod=client_method,
                Params=params,
                ExpiresIn=expires_in,
                HttpMethod=http_method,
            )
            return url
        except botocore_errors.ClientError as exc:
            self.log.error("could not presign %s: %s", client_method, exc)
            return None


class S3HookSettings:
    """What an S3 operator or sensor keeps to reach S3 (its ``__init__`` calls
    ``keep_fields(self, S3HookSettings, locals())``), and the ``S3Hook`` made from it."""

    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None

    @property
    def hook(self) -> S3Hook:
        return S3Hook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=self.botocore_config,
        )


__all__ = [
    "S3Hook",
    "S3HookSettings",
    "S3HookUriParseFailure",
    "provide_bucket_name",
    "unify_bucket_name_and_key",
]
