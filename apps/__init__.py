"""The measured code: a Titanic survival predictor served by three web frameworks.

Nothing here imports from ``bench``: the harness starts these apps, never the other way round.
"""
