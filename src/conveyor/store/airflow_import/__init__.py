"""The store's half of taking over an Airflow: reading its metadata database (read-only,
by its Alembic revision) and writing what it held into Conveyor's tables."""
