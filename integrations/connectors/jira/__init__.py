"""Jira connector (Cloud and Data Center, REST API v2)."""

from integrations.connectors.jira.connector import JiraConnector
from integrations.connectors.registry import register

register(JiraConnector)

__all__ = ["JiraConnector"]
