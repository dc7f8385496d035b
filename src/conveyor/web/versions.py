"""A DAG's version history as the API and the pages show it: the list, one version's code,
and the diff between two versions (``difflib``; the pages escape it as any other text)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from conveyor.store.engine import Connection
from conveyor.store.reads import versions as reads
from conveyor.web.schemas import from_row

DIFF_CONTEXT = 3  # unchanged lines shown around each change
RUNS_SHOWN = 100  # runs listed on a version's page (the count covers all)


class DagVersion(BaseModel):
    version_hash: str
    created_at: datetime = Field(description="when the store first saw this version")
    fileloc: str = Field(description="the file it was parsed from")
    run_count: int = Field(description="how many runs are pinned to it")
    last_run_at: datetime | None = Field(description="the newest logical date of its runs")
    is_current: bool = Field(description="the version new runs get")


class DagVersionList(BaseModel):
    dag_id: str
    total: int = Field(description="how many versions the DAG has (the list may be a page)")
    versions: list[DagVersion]


class VersionRunRef(BaseModel):
    run_id: str
    state: str
    run_type: str
    logical_date: datetime


class DagVersionCode(DagVersion):
    dag_id: str
    source: str = Field(description="the DAG file's text as this version was parsed from it")
    runs: list[VersionRunRef] = Field(description=f"its newest {RUNS_SHOWN} runs")


class DagVersionDiff(BaseModel):
    dag_id: str
    from_version: str
    to_version: str
    from_fileloc: str
    to_fileloc: str
    changed: bool = Field(description="whether the two sources differ")
    unified: str = Field(description="the unified diff of the sources (empty: no change)")


def list_versions(
    conn: Connection, dag_id: str, limit: int | None = None, offset: int = 0
) -> DagVersionList:
    found = [from_row(DagVersion, r) for r in reads.versions_of(conn, dag_id, limit, offset)]
    total = reads.count_versions(conn, dag_id)
    return DagVersionList(dag_id=dag_id, total=total, versions=found)


def version_code(conn: Connection, dag_id: str, wanted: str) -> DagVersionCode:
    code = reads.version_code(conn, dag_id, wanted)
    row = reads.version_row(conn, dag_id, code.version_hash)
    used = reads.runs_of_version(conn, dag_id, code.version_hash, RUNS_SHOWN)
    return from_row(
        DagVersionCode,
        row,
        source=code.source,
        runs=[from_row(VersionRunRef, r) for r in used],
    )


def _label(code: reads.VersionCode) -> str:
    return f"{code.fileloc} @ {code.version_hash[:12]}"


def unified_lines(old: reads.VersionCode, new: reads.VersionCode) -> list[str]:
    return list(
        difflib.unified_diff(
            old.source.splitlines(),
            new.source.splitlines(),
            fromfile=_label(old),
            tofile=_label(new),
            n=DIFF_CONTEXT,
            lineterm="",
        )
    )


def diff(conn: Connection, dag_id: str, first: str, second: str) -> DagVersionDiff:
    old = reads.version_code(conn, dag_id, first)
    new = reads.version_code(conn, dag_id, second)
    lines = unified_lines(old, new)
    return DagVersionDiff(
        dag_id=dag_id,
        from_version=old.version_hash,
        to_version=new.version_hash,
        from_fileloc=old.fileloc,
        to_fileloc=new.fileloc,
        changed=bool(lines),
        unified="\n".join(lines) + ("\n" if lines else ""),
    )


# -- what the diff page draws -------------------------------------------------------------


@dataclass(frozen=True)
class SideBySideRow:
    """One row of the side-by-side view: a line on either side (None: no line there)."""

    kind: str  # same | changed | added | removed | gap
    old_number: int | None
    old_text: str | None
    new_number: int | None
    new_text: str | None


def side_by_side(old: str, new: str) -> list[SideBySideRow]:
    """The changed blocks with DIFF_CONTEXT lines around each, a ``gap`` row between."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[SideBySideRow] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for number, group in enumerate(matcher.get_grouped_opcodes(DIFF_CONTEXT)):
        if number:
            rows.append(SideBySideRow("gap", None, None, None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    SideBySideRow("same", i + 1, a[i], j + 1, b[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                left = (i + 1, a[i]) if i < i2 else (None, None)
                right = (j + 1, b[j]) if j < j2 else (None, None)
                kind = "changed" if i < i2 and j < j2 else "removed" if i < i2 else "added"
                rows.append(SideBySideRow(kind, *left, *right))
    return rows


def unified_rows(lines: list[str]) -> list[tuple[str, str]]:
    """(kind, text) per line of a unified diff: file, hunk, added, removed or same."""
    rows = []
    for number, line in enumerate(lines):
        if number < 2 and line.startswith(("---", "+++")):
            rows.append(("file", line))
        elif line.startswith("@@"):
            rows.append(("hunk", line))
        elif line.startswith("+"):
            rows.append(("added", line))
        elif line.startswith("-"):
            rows.append(("removed", line))
        else:
            rows.append(("same", line))
    return rows
