"""Importing a DAG file: which DAGs it yields, and where its errors point.

A file that fails must be reported at its own line (not somewhere in our loader), and nothing
a file does at import (even ``sys.exit()``) may take the loading process down.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.exceptions import DagImportError
from conveyor.loading.importer import import_dag_file, looks_like_dag_file
from conveyor.model.context import DagContext


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The importer adds the file's folder to sys.path and a module to sys.modules: undo both."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("conveyor_dags."):
            del sys.modules[name]


def dag_file(tmp_path: Path, source: str, name: str = "pipeline.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return str(path)


def test_collects_dags_from_with_blocks_and_called_dag_functions(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG, EmptyOperator, dag

        with DAG("with_block") as first:
            EmptyOperator(task_id="a")

        DAG("never_assigned")  # as in Airflow: neither named by a global nor used with `with`

        @dag
        def decorated(rows: int = 3):
            EmptyOperator(task_id="b")

        decorated()

        @dag
        def never_called():
            EmptyOperator(task_id="c")
        """,
    )
    dags = import_dag_file(path)
    assert [d.dag_id for d in dags] == ["with_block", "decorated"]
    assert all(d.fileloc == path for d in dags)
    assert dags[0].task_ids == ["a"]
    assert dags[1].params == {"rows": 3}


def test_a_dag_file_can_import_a_helper_beside_it(tmp_path: Path) -> None:
    (tmp_path / "helpers_for_test_importer.py").write_text("TASK_ID = 'from_helper'\n")
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG, EmptyOperator
        from helpers_for_test_importer import TASK_ID

        with DAG("uses_helper"):
            EmptyOperator(task_id=TASK_ID)
        """,
    )
    [found] = import_dag_file(path)
    assert found.task_ids == ["from_helper"]
    sys.modules.pop("helpers_for_test_importer", None)


def test_importing_twice_gives_fresh_dags_each_time(tmp_path: Path) -> None:
    path = dag_file(tmp_path, "from conveyor import DAG\nd = DAG('again')\n")
    first = import_dag_file(path)
    second = import_dag_file(path)
    assert [d.dag_id for d in second] == ["again"]
    assert first[0] is not second[0]


def test_syntax_error_points_at_its_line(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG

        def broken(:
            pass
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.fileloc == path
    assert err.value.line == 3
    assert err.value.message.startswith("SyntaxError: ")
    assert str(err.value).startswith(f"{path}:3: SyntaxError: ")


#: Syntax of the next Python, by the running one's version: what it cannot read yet.
NEWER_SYNTAX = {
    (3, 11): "type Number = int\n",  # 3.12's type statement
    (3, 12): "type Pair[T = int] = tuple[T, T]\n",  # 3.13's type parameter default
    (3, 13): 'greeting = t"hello"\n',  # 3.14's template string
}


@pytest.mark.skipif(
    sys.version_info[:2] not in NEWER_SYNTAX, reason="no syntax newer than this Python's known"
)
def test_a_syntax_error_says_which_python_parsed_the_file(tmp_path: Path) -> None:
    path = dag_file(tmp_path, "from conveyor import DAG\n" + NEWER_SYNTAX[sys.version_info[:2]])
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert err.value.line == 2
    assert err.value.message.startswith("SyntaxError: ")
    assert err.value.message.endswith(
        f"(parsed by Python {version}; this syntax needs a newer Python?)"
    )


def test_name_error_gives_its_line_and_message(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG

        with DAG("d"):
            value = 1
            total = value + undefined_name
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.line == 5
    assert err.value.message == "NameError: name 'undefined_name' is not defined"
    assert str(err.value) == f"{path}:5: NameError: name 'undefined_name' is not defined"
    assert err.value.traceback is not None
    assert "undefined_name" in err.value.traceback
    assert "importlib" not in err.value.traceback  # our loader's frames are left out
    assert DagContext.current() is None  # the DAG left open by the failure was closed


def test_error_inside_a_function_points_at_the_deepest_line_in_the_file(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        import json

        def settings():
            return json.loads("{not json")

        CONFIG = settings()
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.line == 4
    assert err.value.message.startswith("JSONDecodeError: ")


def test_definition_error_is_reported_as_an_import_error(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG, EmptyOperator

        with DAG("d"):
            a = EmptyOperator(task_id="a")
            a >> a
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.line == 5
    assert err.value.message == "CycleError: cycle in DAG 'd': a depends on itself"


def test_sys_exit_becomes_an_import_error(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        import sys

        sys.exit(3)
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.line == 3
    assert err.value.message == "SystemExit: 3"
    assert isinstance(err.value.__cause__, SystemExit)


def test_a_failed_import_does_not_leak_its_dags_into_the_next(tmp_path: Path) -> None:
    bad = dag_file(tmp_path, "from conveyor import DAG\nd = DAG('half')\nraise ValueError('x')\n")
    good = dag_file(tmp_path, "from conveyor import DAG\nd = DAG('whole')\n", name="good.py")
    with pytest.raises(DagImportError, match="ValueError: x"):
        import_dag_file(bad)
    assert [d.dag_id for d in import_dag_file(good)] == ["whole"]


def test_two_dags_with_one_id_in_a_file_is_an_error(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG

        first = DAG("same")
        with DAG("same"):
            pass
        """,
    )
    with pytest.raises(DagImportError) as err:
        import_dag_file(path)
    assert err.value.message == "DAG id 'same' is defined twice in this file"
    assert str(err.value).startswith(path)


def test_looks_like_dag_file_needs_both_words_and_a_python_suffix(tmp_path: Path) -> None:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    assert looks_like_dag_file(write("a.py", "from conveyor import DAG\n"))
    assert looks_like_dag_file(write("b.py", "import Conveyor  # my_dag\n"))  # any case
    assert not looks_like_dag_file(write("c.py", "import conveyor\n"))  # no "dag"
    assert not looks_like_dag_file(write("d.py", "def build_dag(): ...\n"))  # no "conveyor"
    assert not looks_like_dag_file(write("e.yaml", "conveyor dag\n"))
    assert not looks_like_dag_file(tmp_path / "missing.py")


def test_a_file_defines_the_dags_of_its_globals_and_those_used_with_with(tmp_path: Path) -> None:
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG, EmptyOperator, dag

        named = DAG("named")
        with DAG("entered_only"):
            EmptyOperator(task_id="t")
        with DAG("not_registered", auto_register=False):
            EmptyOperator(task_id="t")
        DAG("dropped")  # built and left: no name, no with


        def factory(dag_id):
            built = DAG(dag_id)
            EmptyOperator(task_id="half", dag=built)
            try:
                raise RuntimeError("the builder failed half way")
            except RuntimeError:
                return None
            return built


        factory("half_built")
        globals()["registered_by_name"] = DAG("registered_by_name")


        @dag
        def decorated():
            EmptyOperator(task_id="t")


        decorated()
        """,
    )
    assert [d.dag_id for d in import_dag_file(path)] == [
        "named",
        "entered_only",
        "registered_by_name",
        "decorated",
    ]


def test_a_dag_a_helper_module_made_counts_where_a_global_names_it(tmp_path: Path) -> None:
    (tmp_path / "shared_dags_for_test_importer.py").write_text(
        "from conveyor import DAG\nshared = DAG('shared')\nunnamed = DAG('helper_only')\n"
    )
    path = dag_file(
        tmp_path,
        """
        from conveyor import DAG
        from shared_dags_for_test_importer import shared

        with DAG("own"):
            pass
        """,
    )
    try:
        # The first import runs the helper; the second finds it imported already.
        assert [d.dag_id for d in import_dag_file(path)] == ["shared", "own"]
        assert [d.dag_id for d in import_dag_file(path)] == ["own", "shared"]
    finally:
        sys.modules.pop("shared_dags_for_test_importer", None)
