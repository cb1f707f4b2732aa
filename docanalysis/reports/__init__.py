"""Reports a lawyer takes away: a document's or a matter's analysis as Word (DOCX) and PDF, and
the matter's review grid (one row per document, one column per clause category) as CSV and
XLSX.

Pure: values in (the read models of services/views.py), bytes out; no Django, no database.
Every clause is the final one (a reviewer's correction where there is one); rejected clauses
are left out and counted; what the guard has not released is never printed, only "held for
review"."""
