"""Taking over a running Airflow: its metadata database read into Conveyor's store.

``plan`` works out what an import would do (and what Conveyor runs first after it) without
changing anything; ``apply`` does it. The SQL on both sides is the store's
(``store/airflow_import``); this package decides: secrets decrypted with Airflow's Fernet key
and stored under Conveyor's, roles mapped, each DAG's schedule continued.
"""
