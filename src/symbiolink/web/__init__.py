"""The web platform: the API under /api/v1 (FastAPI), accounts, roles and confidentiality."""
