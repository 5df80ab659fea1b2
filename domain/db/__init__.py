"""The domain database: tables, engine and migrations, and the repository activities write through."""
