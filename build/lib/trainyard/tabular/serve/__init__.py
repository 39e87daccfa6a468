"""Serving a run's model over HTTP: a FastAPI application (run by uvicorn). See docs/serve.md."""

from trainyard.extras import require

require("serve", "serving a run")
