"""DAGs written in YAML: load, validate, export and describe (JSON Schema) the file format.

A YAML DAG is built through the Python API into the same objects a Python file makes, so
the two forms serialize, schedule and run identically. See ``docs/yaml.md``.
"""

from conveyor.loading.yaml.errors import ExportError, Problem, YamlDagError
from conveyor.loading.yaml.loader import load_yaml_dags, load_yaml_text

__all__ = ["ExportError", "Problem", "YamlDagError", "load_yaml_dags", "load_yaml_text"]
