"""GitHub Issues connector (REST API v3; github.com and GitHub Enterprise Server)."""

from integrations.connectors.github.connector import GitHubConnector
from integrations.connectors.registry import register

register(GitHubConnector)

__all__ = ["GitHubConnector"]
