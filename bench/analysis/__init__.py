"""From stored scenarios to comparisons and verdicts, one module per question: ``select`` (which scenarios,
how they are named), ``ratios`` (paired ratios between configs), ``claim`` (the claims' rules, verdicts and
headline; the seed's claim and LitServe's), ``decomposition``, ``releases``, ``close``, ``agreement``,
``workers`` (each config at its best worker count), ``warnings`` and ``cost`` (two ``bench cost`` runs).
Pure functions of stored results: no I/O, and the registry of server configs is an argument, never a global.
"""
