"""The service's routers, one per concern (FastAPI's "bigger applications" layout)."""
