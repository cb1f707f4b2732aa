"""docanalysis: long-document analysis with cited clauses, guarded outputs and an audit trail."""
