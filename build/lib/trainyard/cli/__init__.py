"""The command line: a thin skin over the library (parse, call, print)."""
