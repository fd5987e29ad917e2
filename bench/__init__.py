"""titanic-bench: the harness that measures the three apps in ``apps/``."""
