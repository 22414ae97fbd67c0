"""The applications: the command line (:mod:`borderabm.apps.cli`) and the browser (:mod:`borderabm.apps.ui`)."""
