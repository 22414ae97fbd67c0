"""The agent kinds: each a population stored as numpy arrays, with its rules as array expressions.

Rules read :class:`borderabm.daily_view.Today`, never the model.
"""
