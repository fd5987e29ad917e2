"""The verbs of ``python -m bench``, one module each: a function that takes a typed request and returns a typed
outcome, which ``bench.console`` draws and ``bench.verbs.exits`` turns into the exit code. A verb that uses
another calls its function (reproduce and bisect measure through ``run.benchmark``), never the CLI. ``serve``,
``worker`` and ``compare`` are the functions of ``bench.serve``, ``bench.worker`` and ``bench.reproduce``.
"""
