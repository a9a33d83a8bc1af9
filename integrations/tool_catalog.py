"""What a connection's tool offers — its projects and its fields — for the forms that pick from
them (a collection's projects and field mapping). Reading it writes nothing.

A tool that cannot be asked (down, wrong credentials, the vault locked) is not an error here: the
forms fall back to text inputs and show ``problem``, so a collection can still be configured
while its tool is unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.models import RepositoryConnection


@dataclass(frozen=True)
class ToolCatalog:
    projects: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # tool field → its type, as the connector names it
    problem: str = ""  # why the tool could not be asked ("" when it answered)

    @property
    def available(self) -> bool:
        return not self.problem


def read(connection: RepositoryConnection) -> ToolCatalog:
    """Ask the connection's tool for its projects and fields."""
    from integrations.engine import connections
    from integrations.services import describe_failure

    connector = None
    try:
        connector = connections.build(connection)
        return ToolCatalog(projects=list(connector.projects()), fields=dict(connector.fields()))
    except NotImplementedError:
        return ToolCatalog(problem=f"Connections of kind '{connection.kind}' do not list their projects and "
                                   "fields: type the names.")
    except Exception as exc:  # noqa: BLE001 — any failure means "type the names instead"; the reason is shown
        _, sentence = describe_failure(exc)
        return ToolCatalog(problem=f"The tool of connection '{connection.name}' could not be asked for its "
                                   f"projects and fields ({sentence}). Type the names instead.")
    finally:
        if connector is not None:
            connections.close(connector)
