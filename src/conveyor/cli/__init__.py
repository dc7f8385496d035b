"""The ``conveyor`` command line: one module per command group."""
