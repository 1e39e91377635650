"""The HTTP service: FastAPI app, index holder with hot swap, auth, metrics."""
