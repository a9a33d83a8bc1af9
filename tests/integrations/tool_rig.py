"""An integration between two real connectors on local servers, driven by the engine's runner
in-process (the system tests drive the same through the real worker)."""

from __future__ import annotations

from typing import Any

from integrations.engine import connections, runner
from integrations.engine.models import PendingWork, SyncState
from integrations.models import Collection, Integration, RepositoryConnection, Route

# Jira's default software workflow as a transition graph (the stand-in's, and Jira's usual one).
JIRA_GRAPH = {"To Do": ["In Progress"], "In Progress": ["In Review", "To Do"], "In Review": ["Done", "In Progress"],
              "Done": ["To Do"]}


class ToolRig:
    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.wrap: Any = None  # optional: connector → connector (test doubles around the real one)

    def factory(self, connection: RepositoryConnection) -> Any:
        inner = connections.build(connection)
        return self.wrap(inner) if self.wrap else inner

    def run_once(self) -> dict:
        """One run, then make retried work due at once (the test moves time, not the engine)."""
        result = runner.run_integration(self.integration.pk, factory=self.factory)
        PendingWork.objects.filter(integration=self.integration).update(not_before=None)
        SyncState.objects.filter(integration=self.integration).update(lease_owner="", lease_expires=None)
        return result

    def run_until_quiet(self, limit: int = 20) -> list[dict]:
        out = []
        for _ in range(limit):
            out.append(self.run_once())
            if not PendingWork.objects.filter(integration=self.integration, status="ready").exists() and \
                    out[-1].get("detected", 1) == 0:
                return out
        raise AssertionError(f"did not settle: {out[-3:]}")


def side(name: str, kind: str, url: str, options: dict, secrets: dict, project: str, mapping: dict[str, str],
         **collection: Any) -> Collection:
    conn = RepositoryConnection.objects.create(name=name, kind=kind, url=url, options=options, secrets=secrets)
    return Collection.objects.create(name=f"{name}-items", connection=conn, projects=[project],
                                     field_mapping=mapping, **collection)


def integrate(left: Collection, right: Collection, name: str = "sync") -> ToolRig:
    integration = Integration.objects.create(name=name, left_collection=left, right_collection=right,
                                             run_state="running")
    Route.objects.create(integration=integration, left_project=left.projects[0], right_project=right.projects[0])
    return ToolRig(integration)
