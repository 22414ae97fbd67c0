"""Experiments at scale: sweep designs, engines (local processes, Dask) and the results store."""
