"""Redmine over its REST API (tested against Debian's Redmine 5.0.4). See docs/connectors/redmine.md."""

from integrations.connectors.redmine.connector import RedmineConnector
from integrations.connectors.registry import register

register(RedmineConnector)

__all__ = ["RedmineConnector"]
