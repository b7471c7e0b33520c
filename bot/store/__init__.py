"""The store: tables, engines (the only SQLite/PostgreSQL-specific code), migrations, the
importer, and the queries that own each table."""
