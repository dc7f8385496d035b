"""Compare Conveyor's timetables with the released Airflow's, case by case.

    .venv/bin/python bench/airflow_timetables.py [--cases N] [--seed S] [--venv PATH]

Makes a scratch virtualenv in a temporary folder and installs ``apache-airflow-core`` there
(or uses ``--venv``, one that has it already), then draws random cases (a timetable of each
kind with random cron expressions, time zones, deltas and intervals, in calendar units too,
and event dates; a random start_date, end_date, catchup and "now") and asks both sides the
same questions: the runs due at "now" one after the other, as a scheduler walks them, with
the next one after those; and a manual run's data interval. Airflow's side runs in the
scratch virtualenv, its clock set to the case's "now"; nothing of Airflow is kept or copied
into this repository. Prints how many cases agree and each one that does not. A benchmark,
not a test: it needs the network (for the install) and takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import venv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CRONS = ["0 * * * *", "*/20 * * * *", "30 2 * * *", "0 9 * * 1-5", "0 0 */5 * *", "15 3 * * 0"]
ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata"]
KINDS = ["cron_trigger", "delta_trigger", "cron_interval", "delta_interval", "events", "multi"]
STEPS = 8
#: Days clocks change in the zones above (Europe, then the United States), 2024.
CLOCK_CHANGES = [
    datetime(2024, 3, 31, tzinfo=UTC),
    datetime(2024, 10, 27, tzinfo=UTC),
    datetime(2024, 3, 10, 6, tzinfo=UTC),
    datetime(2024, 11, 3, 6, tzinfo=UTC),
]
#: Calendar deltas (dateutil's relativedelta), as keyword arguments.
RELATIVE = [{"months": 1}, {"days": 1, "hours": 2}, {"years": 1}, {"months": 2, "days": 3}]

# The Airflow side, run by the scratch virtualenv's interpreter: cases on stdin, answers out.
AIRFLOW_SIDE = r"""
import datetime as dt, json, sys, time
import pendulum
from dateutil.relativedelta import relativedelta
import airflow.timetables.events as E
import airflow.timetables.interval as I
import airflow.timetables.trigger as T
from airflow.timetables.base import TimeRestriction

NOW = [None]
T.utcnow = I.utcnow = E.timezone.utcnow = lambda: NOW[0]
T.time.time = lambda: NOW[0].timestamp()
P = lambda s: None if s is None else pendulum.parse(s)
answers = []
for c in json.load(sys.stdin):
    step = lambda v: relativedelta(**v) if isinstance(v, dict) else dt.timedelta(seconds=v)
    iv, k, zone, delta = step(c["interval"]), c["kind"], c["zone"], step(c["delta"])
    tt = {
        "cron_trigger": lambda: T.CronTriggerTimetable(c["cron"], timezone=zone, interval=iv),
        "delta_trigger": lambda: T.DeltaTriggerTimetable(delta, interval=iv),
        "cron_interval": lambda: I.CronDataIntervalTimetable(c["cron"], zone),
        "delta_interval": lambda: I.DeltaDataIntervalTimetable(delta),
        "events": lambda: E.EventsTimetable(
            [P(x) for x in c["events"]], restrict_to_events=c["restrict"]
        ),
        "multi": lambda: T.MultipleCronTriggerTimetable(
            c["cron"], c["cron2"], timezone=zone, interval=iv
        ),
    }[k]()
    NOW[0] = P(c["now"])
    restriction = TimeRestriction(P(c["start"]), P(c["end"]), c["catchup"])
    last, runs = None, []
    for _ in range(STEPS):
        info = tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            runs.append(None)
            break
        i = info.data_interval
        runs.append([i.start.timestamp(), i.end.timestamp(), info.run_after.timestamp()])
        if info.run_after > NOW[0]:
            break
        last = i
    manual = tt.infer_manual_data_interval(run_after=NOW[0])
    answers.append({"runs": runs, "manual": [manual.start.timestamp(), manual.end.timestamp()]})
json.dump(answers, sys.stdout)
""".replace("STEPS", str(STEPS))


def draw(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 365))
        if rng.random() < 0.4:  # a few days before a clock change, more often than by chance
            change = rng.choice(CLOCK_CHANGES)
            start = change - timedelta(minutes=rng.randrange(60 * 24 * 4))
        now = start + timedelta(minutes=rng.randrange(1, 60 * 24 * 20))
        kind = rng.choice(KINDS)
        without_start = kind not in ("cron_interval", "delta_interval") and rng.random() < 0.2
        end = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
        events = [start + timedelta(minutes=rng.randrange(-7200, 36000)) for _ in range(5)]
        cases.append(
            {
                "kind": kind,
                "start": None if without_start else start.isoformat(),
                "end": end.isoformat() if rng.random() < 0.3 else None,
                "now": now.isoformat(),
                "catchup": rng.random() < 0.5,
                "cron": rng.choice(CRONS),
                "cron2": rng.choice(CRONS),
                "zone": rng.choice(ZONES),
                "delta": rng.choice([1800, 3600, 5400, 7200, 86400, *RELATIVE]),
                "interval": rng.choice([0, 0, 3600, 86400, {"months": 1}]),
                "events": [e.isoformat() for e in events],
                "restrict": rng.random() < 0.5,
            }
        )
    return cases


def conveyor_side(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from dateutil.relativedelta import relativedelta

    from conveyor import timetables as tts

    def parse(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    answers = []

    def step(value: Any) -> Any:
        return relativedelta(**value) if isinstance(value, dict) else timedelta(seconds=value)

    for c in cases:
        iv, delta = step(c["interval"]), step(c["delta"])
        kind = c["kind"]
        tt: Any
        if kind == "cron_trigger":
            tt = tts.CronTriggerTimetable(c["cron"], timezone=c["zone"], interval=iv)
        elif kind == "delta_trigger":
            tt = tts.DeltaTriggerTimetable(delta, interval=iv)
        elif kind == "cron_interval":
            tt = tts.CronDataIntervalTimetable(c["cron"], c["zone"])
        elif kind == "delta_interval":
            tt = tts.DeltaDataIntervalTimetable(delta)
        elif kind == "events":
            events = [parse(e) for e in c["events"]]
            tt = tts.EventsTimetable(events, restrict_to_events=c["restrict"])
        else:
            tt = tts.MultipleCronTriggerTimetable(
                c["cron"], c["cron2"], timezone=c["zone"], interval=iv
            )
        now = parse(c["now"])
        assert now is not None
        last: Any = None
        runs: list[list[float] | None] = []
        for _ in range(STEPS):
            info = tt.next_run(
                last=last,
                start_date=parse(c["start"]),
                end_date=parse(c["end"]),
                catchup=c["catchup"],
                now=now,
            )
            if info is None:
                runs.append(None)
                break
            i = info.data_interval
            runs.append([i.start.timestamp(), i.end.timestamp(), info.run_after.timestamp()])
            if info.run_after > now:
                break
            last = i
        manual = tt.manual_interval(now)
        answers.append({"runs": runs, "manual": [manual.start.timestamp(), manual.end.timestamp()]})
    return answers


def airflow_python(folder: Path, given: str | None) -> str:
    if given:
        return str(Path(given) / "bin" / "python")
    print("installing apache-airflow-core into a scratch virtualenv ...", file=sys.stderr)
    venv.create(folder / "venv", with_pip=True)
    python = str(folder / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "apache-airflow-core"], check=True)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--venv", help="a virtualenv that has apache-airflow-core installed")
    args = parser.parse_args()
    cases = draw(args.cases, args.seed)
    with tempfile.TemporaryDirectory(prefix="conveyor-timetables-") as tmp:
        python = airflow_python(Path(tmp), args.venv)
        done = subprocess.run(
            [python, "-c", AIRFLOW_SIDE],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            check=True,
        )
    theirs = json.loads(done.stdout)
    ours = conveyor_side(cases)
    differ = [i for i, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b]
    counts = {kind: sum(c["kind"] == kind for c in cases) for kind in KINDS}
    print(f"{len(cases) - len(differ)} of {len(cases)} cases agree ({counts})")
    for i in differ:
        print(json.dumps(cases[i]), "\n  airflow: ", theirs[i], "\n  conveyor:", ours[i])
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
