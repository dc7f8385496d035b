"""How much of a census of real Airflow DAG files Conveyor's source pass accepts.

    .venv/bin/python bench/airflow_census.py [--data PATH] [--top N] [--json]

The census (``bench/data/airflow_census.json``) keeps, for each DAG file of a public
repository, only names: the ``airflow`` import statements and the keywords its calls use. This
rebuilds a stand-in source from those names (each import as written, each keyword as
``call(keyword=None)``) and runs it through the same source pass as ``conveyor dags validate``
(``conveyor.airflow_compat.lint.check_source``). A file is accepted when the pass finds
nothing: every Airflow name it imports and every keyword it uses is one Conveyor takes.

It prints the share of files accepted, the files blocked by providers alone, by the core alone
and by both, and the refused names ranked by the number of files that use them. Then the files
that import only at the price of a stand-in (a name Conveyor lacks, of the core or of a
provider it ships, imports and refuses at its first use): they import, and stop where they use
it. No network, a second or two.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from conveyor.airflow_compat.lint import check_source, refused_at_use

DATA = Path(__file__).parent / "data" / "airflow_census.json"
#: A refusal names the Airflow path it refuses.
NAMED = re.compile(r"\b(airflow(?:\.\w+)+)")
#: Providers live under airflow.providers and airflow.contrib, and their 1.10 paths under
#: airflow.hooks and airflow.operators; these 1.10 modules and names were the core's.
CORE_1_10 = frozenset(
    [
        "base",
        "base_hook",
        "bash",
        "bash_operator",
        "branch",
        "branch_operator",
        "dagrun_operator",
        "dummy",
        "dummy_operator",
        "empty",
        "filesystem",
        "latest_only",
        "latest_only_operator",
        "python",
        "python_operator",
        "sensors",
        "subdag_operator",
        "trigger_dagrun",
        "BashOperator",
        "PythonOperator",
        "DummyOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "TriggerDagRunOperator",
        "SubDagOperator",
        "BaseHook",
        "FSHook",
        "fs_hook",
    ]
)


@dataclass(frozen=True)
class FileVerdict:
    repository: str
    path: str
    refused: tuple[str, ...]  # one entry per finding: the name it refuses, or its message
    #: Names it imports as stand-ins that refuse at first use (it imports; a use stops).
    stand_ins: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.refused


def stand_in_source(record: dict[str, list[str]]) -> str:
    """A source with the file's imports and keywords, and nothing else of it."""
    lines = list(record["imports"])
    lines.extend(f"call({keyword}=None)" for keyword in record["call_keywords"])
    return "\n".join(lines) + "\n"


def refused_name(message: str, line: str) -> str:
    """What a finding refuses: the Airflow name or keyword, for ranking across files."""
    if message.startswith("keyword "):
        return message.split(" ")[1]
    match = NAMED.search(message)
    if match:
        return match.group(1).rstrip(".")
    return line.strip()


def judge(record: dict) -> FileVerdict:
    source = stand_in_source(record)
    lines = source.splitlines()
    names = tuple(
        refused_name(finding.message, lines[finding.line - 1])
        for finding in check_source(source, record["path"])
    )
    stand_ins = tuple(
        refused_name(finding.message, lines[finding.line - 1])
        for finding in refused_at_use(source, record["path"])
    )
    return FileVerdict(record["repository"], record["path"], names, stand_ins)


def is_provider(name: str) -> bool:
    """Whether a refused Airflow name belongs to a provider rather than to the core."""
    parts = name.split(".")
    if parts[:2] in (["airflow", "providers"], ["airflow", "contrib"]):
        return True
    if parts[:2] in (["airflow", "hooks"], ["airflow", "operators"]) and len(parts) > 2:
        return parts[2] not in CORE_1_10
    return False


def report(verdicts: list[FileVerdict], top: int) -> dict:
    accepted = sum(v.accepted for v in verdicts)
    providers_only = core_only = both = 0
    by_files: Counter[str] = Counter()
    for verdict in verdicts:
        if verdict.accepted:
            continue
        kinds = {is_provider(name) for name in verdict.refused}
        if kinds == {True}:
            providers_only += 1
        elif kinds == {False}:
            core_only += 1
        else:
            both += 1
        by_files.update(set(verdict.refused))
    with_stand_ins = [v for v in verdicts if v.accepted and v.stand_ins]
    stand_in_names: Counter[str] = Counter()
    for verdict in with_stand_ins:
        stand_in_names.update(set(verdict.stand_ins))
    return {
        "files": len(verdicts),
        "accepted_without_stand_ins": accepted - len(with_stand_ins),
        "stand_in_names": stand_in_names.most_common(top),
        "repositories": len({v.repository for v in verdicts}),
        "accepted": accepted,
        "share_accepted": round(accepted / len(verdicts), 3) if verdicts else 0.0,
        "blocked_by_providers_only": providers_only,
        "blocked_by_core_only": core_only,
        "blocked_by_both": both,
        "refused_names": by_files.most_common(top),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--top", type=int, default=40, help="refused names to list")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    records = json.loads(args.data.read_text(encoding="utf-8"))["files"]
    result = report([judge(record) for record in records], args.top)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['accepted']} of {result['files']} DAG files from {result['repositories']} "
        f"repositories accepted ({result['share_accepted']:.1%})"
    )
    print(
        f"blocked by providers only: {result['blocked_by_providers_only']}, "
        f"by the core only: {result['blocked_by_core_only']}, "
        f"by both: {result['blocked_by_both']}"
    )
    print("\nrefused names, by files that use them:")
    for name, files in result["refused_names"]:
        print(f"  {files:4d}  {name}")
    print(
        f"\nof the accepted, {result['accepted_without_stand_ins']} import no stand-in; the "
        "others import these, which refuse at their first use:"
    )
    for name, files in result["stand_in_names"]:
        print(f"  {files:4d}  {name}")


if __name__ == "__main__":
    main()
