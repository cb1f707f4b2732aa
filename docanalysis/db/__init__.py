"""Persistence: SQLAlchemy 2 tables (owned by Alembic), sessions, repositories, the audit writer."""
