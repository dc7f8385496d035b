"""What a DAG file reads of Airflow 3's asset objects: an Asset's name and uri (given one,
or both), equality, AssetAlias's name, and what `&` and `|` of assets make."""

from airflow.sdk import DAG, Asset, AssetAlias, task
from difrec import START, rec

with DAG("std_asset_names", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        by_uri = Asset("s3://bucket/key")
        both = Asset(name="orders", uri="s3://bucket/orders")
        rec(context, "by_uri", [by_uri.name, by_uri.uri])
        rec(context, "both", [both.name, both.uri])
        rec(context, "equal", Asset("s3://bucket/key") == by_uri)
        rec(context, "alias", AssetAlias("daily").name)
        rec(context, "all", type(by_uri & both).__name__)
        rec(context, "any", type(by_uri | both).__name__)

    look()
