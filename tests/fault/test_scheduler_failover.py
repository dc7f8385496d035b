"""Schedulers are peers: killing them, one at a time or all at once, loses and repeats nothing.

Two `conveyor scheduler` processes and two `conveyor worker` processes share a PostgreSQL
store and a Redis broker. A wide DAG, a long chain and an hourly DAG catching up on its
missed hours run while the test SIGKILLs schedulers (each with its whole process group). The
tasks count their own executions, so the figures printed at the end are measured.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from faultlib import (
    Cluster,
    all_runs_finished,
    dag_parsed,
    expected_ticks,
    first_scheduler_move_after,
    links_started,
    make_cluster,
    report,
    running,
    runs_by_state,
    tally,
    utc_now,
    wait_for,
    why_lost,
)

TICKS = 24
MANUAL_RUNS = ("wide", "chain", "wide", "chain")


def _start(cluster: Cluster, schedulers: tuple[str, ...]) -> None:
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    for name in schedulers:
        cluster.start_scheduler(name)
    wait_for(dag_parsed(cluster.store, {"wide", "chain", "ticks"}), 60, "DAGs parsed", cluster)
    for dag_id in MANUAL_RUNS:
        cluster.trigger(dag_id)


def _assert_nothing_lost_or_repeated(cluster: Cluster) -> None:
    counted = tally(cluster)
    states = runs_by_state(cluster.store)
    report(
        "what ran",
        runs=dict(states),
        executions=counted.executions,
        tasks_run_twice=len(counted.twice),
        tasks_lost=len(counted.lost),
        ticks_created_twice=len(counted.ticks_doubled),
    )
    assert counted.twice == [], f"ran twice: {counted.twice}"
    assert counted.lost == [], why_lost(cluster, counted)
    assert counted.ticks_doubled == [], f"one schedule tick, two runs: {counted.ticks_doubled}"
    assert counted.ticks in expected_ticks(TICKS)
    assert set(states) == {"success"}, f"runs not all successful: {dict(states)}"


@pytest.mark.timeout(400)
def test_killing_schedulers_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, pg_database_url: str
) -> None:
    seed = int(os.environ.get("CONVEYOR_FAULT_SEED", time.time()))
    rng = random.Random(seed)
    # Long enough that several kills land while runs are still going: the workers' fast path
    # moves chains on without any scheduler, so a short workload ends before the second kill.
    cluster = make_cluster(tmp_path, pg_database_url, width=60, length=160, ticks=TICKS)
    takeovers: list[float] = []
    kills = 0
    with running(cluster):
        _start(cluster, ("s1", "s2"))
        finished = all_runs_finished(cluster.store, len(MANUAL_RUNS) + TICKS)
        deadline = time.monotonic() + 180
        while not finished() and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.5))
            victim = rng.choice(sorted(cluster.schedulers))
            survivor = next(name for name in cluster.schedulers if name != victim)
            killed_at = utc_now()
            cluster.kill(cluster.schedulers[victim])
            kills += 1
            # The survivor alone: how soon does it move the work on?
            survivor_pid = cluster.schedulers[survivor].pid
            waited_from = time.monotonic()
            while time.monotonic() - waited_from < 6 and not finished():
                took = first_scheduler_move_after(cluster.store, killed_at, by_pid=survivor_pid)
                if took is not None:
                    takeovers.append(took)
                    break
                time.sleep(0.1)
            cluster.start_scheduler(victim)
        assert finished(), f"runs did not finish within 180s\n{cluster.log_tail()}"
        report(
            "schedulers killed at random moments",
            seed=seed,
            kills=kills,
            takeovers_measured=len(takeovers),
            takeover_median_s=f"{sorted(takeovers)[len(takeovers) // 2]:.2f}" if takeovers else "-",
            takeover_max_s=f"{max(takeovers):.2f}" if takeovers else "-",
        )
        _assert_nothing_lost_or_repeated(cluster)
    assert kills >= 2, "the runs finished before the test could kill enough schedulers"
    # Since the loop plans only what changed or came due, a kill often leaves the survivor
    # nothing of its own to do (the workers carry the runs); when it does, it must be quick.
    if takeovers:
        assert max(takeovers) <= 5.0, f"a survivor took {max(takeovers):.1f}s to carry on"


@pytest.mark.timeout(300)
def test_both_schedulers_killed_then_one_restarted_continues_every_run(
    tmp_path: Path, pg_database_url: str
) -> None:
    cluster = make_cluster(tmp_path, pg_database_url, width=40, length=30, ticks=TICKS)
    with running(cluster, kill_at_end=True):
        _start(cluster, ("s1", "s2"))
        wait_for(links_started(cluster, 10), 60, "the chains half-way", cluster)
        for name in ("s1", "s2"):
            cluster.kill(cluster.schedulers[name])
        before = tally(cluster).executions
        time.sleep(1.0)
        cluster.start_scheduler("s3")
        took = wait_for(
            all_runs_finished(cluster.store, len(MANUAL_RUNS) + TICKS), 120, "every run", cluster
        )
        report(
            "both schedulers killed, one started again",
            executions_before_the_kill=before,
            seconds_to_finish_after_restart=f"{took:.1f}",
        )
        _assert_nothing_lost_or_repeated(cluster)
