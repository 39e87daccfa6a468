"""Where the fits run: local worker processes with a deadline, or a Dask cluster."""
