"""The read model: what the API, the UI pages and the CLI show, read from the store.

One function per question, split by subject (DAGs, runs, task instances, the cluster), each
returning typed rows. The web shapes them into its pydantic schemas; the CLI prints those.
"""
