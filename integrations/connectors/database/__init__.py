"""The ``database`` connector: a work-item table in SQLite, PostgreSQL or MySQL/MariaDB."""

from integrations.connectors import registry
from integrations.connectors.database.connector import DatabaseConnector

registry.register(DatabaseConnector)

__all__ = ["DatabaseConnector"]
