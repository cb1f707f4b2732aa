"""The REST API (/api/v1/), for document-management systems: API keys, idempotent creates,
one error envelope. Views call the services only."""
