"""Python code that the YAML example pipelines call by import path."""
