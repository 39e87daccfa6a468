"""A run as a model that runs without trainyard: ONNX (``onnx_graph.py`` builds it, ``onnx_export.py`` checks
it against the run and writes it)."""
