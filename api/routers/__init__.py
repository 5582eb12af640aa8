"""FastAPI routers (named so that "route" always means a walk route)."""
