"""Analysis: data frames in, data frames out (intervals, sensitivity, discovery, calibration, validation).

Analysis may run experiments through :mod:`borderabm.experiments` but never prints or writes reports;
that is :mod:`borderabm.report`'s job.
"""
