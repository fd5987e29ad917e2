"""From stored scenarios to comparisons and verdicts, one module per question: ``select`` (which scenarios,
how they are named), ``ratios`` (paired ratios between configs), ``claim`` (the claim's rule, verdicts and
headline), ``decomposition``, ``releases``, ``close``, ``agreement``, ``workers`` (each config at its best
worker count) and ``warnings``. Pure functions of stored results: no I/O, and the registry of server configs is
an argument, never a global.
"""
