"""The hop: a try ends, its run advances, the next tries are queued, and the next one starts.

Each hop sits between one task's end and the next one's start, so its statements are few and
cheap, and everything that makes them so lives here, apart from the declarations of the
moves (``lifecycle.py``, their columns in ``store/moves.py``) and their one-at-a-time
rendering (``store/transitions.py``), which the scheduler and a person's actions share:

- ``run_lock``: the run's lock, taken first by every writer of a run's moves, and the
  ``LockedRun`` the hop's writers require; sent in front of the finish in one pipeline;
- ``steps``: the hop's moves folded into a few statements on PostgreSQL (finish and read,
  queue what became ready, start the next try, queue and start a kept one);
- ``pipeline``: psycopg's pipeline mode, for the lock sent with the finish;
- ``prepared``: on SQLite, the hop's statements sent straight to the driver.

Above the store, the engine (``conveyor.engine``) calls ``run_lock`` and ``steps``, and the
worker ``steps.start_and_read``; ``pipeline`` and ``prepared`` are the store's own (the
``store-face`` contract in ``pyproject.toml``). Nothing is imported here, so that any store
module may use ``prepared`` without importing the hop's statements.
"""
