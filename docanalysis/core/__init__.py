"""The pure core: plain functions over values.

Nothing here imports Django, SQLAlchemy, Celery, an SDK or another docanalysis package; heavy
libraries live in the adapters (docanalysis.llm) so that importing the core is instant.
"""
