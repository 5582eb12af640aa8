"""The FastAPI app, its web pages and the command line."""
