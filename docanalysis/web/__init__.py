"""The browser UI: server-rendered pages that call docanalysis.services only."""
