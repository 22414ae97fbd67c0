"""The agent kinds: each a population stored as numpy arrays, with its rules as array expressions.

Rules read :class:`borderabm.rules.today.Today`, never the model.
"""
