"""Views split by resource. They call services only: no SQL, no SQLAlchemy, no Django models."""
