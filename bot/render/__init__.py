"""Turning KPI objects into what people read (tables, CSV). No SQL here."""
