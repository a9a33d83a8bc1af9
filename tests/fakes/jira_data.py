"""Data of the Jira stand-in (tests/fakes/jira_api.py): workflow, priorities, custom fields, the
error body Jira writes, and how written field values are checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.apiserver import Response

STATUSES = {"To Do": ("10000", "new"), "In Progress": ("3", "indeterminate"), "In Review": ("10001", "indeterminate"),
            "Done": ("10002", "done")}
# (id, name, from statuses, to status): the usual software workflow; no To Do → Done shortcut.
WORKFLOW = [("11", "Start progress", ("To Do",), "In Progress"), ("21", "Request review", ("In Progress",), "In Review"),
            ("31", "Approve", ("In Review",), "Done"), ("41", "Back to work", ("In Review",), "In Progress"),
            ("51", "Stop progress", ("In Progress",), "To Do"), ("61", "Reopen", ("Done",), "To Do")]
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
CUSTOM_FIELDS = {"customfield_10016": ("Story Points", "number"), "customfield_10020": ("Team", "string"),
                 "customfield_10030": ("Severity", "option")}
SEVERITIES = ("S1", "S2", "S3")
SETTABLE = {"summary", "description", "labels", "priority", "assignee", "reporter", "project", "issuetype",
            *CUSTOM_FIELDS}


def errors(status: int, *messages: str, **field_errors: str) -> Response:
    return Response(status, {"errorMessages": list(messages), "errors": field_errors})


def validate(fields: dict, user_ref: Callable[[dict | None], dict | None | bool]) -> dict | Response:
    """Field values as the stand-in stores them, or Jira's 400 for the first bad one."""
    bad = {k: f"Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
           for k in fields if k not in SETTABLE}
    if bad:
        return errors(400, **bad)
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("project",):
            continue
        if name == "issuetype":
            values[name] = value.get("name", "Task")
        elif name == "labels":
            spaced = [label for label in value or [] if " " in label]
            if spaced:
                return errors(400, labels=f"The label '{spaced[0]}' contains spaces which is invalid.")
            values[name] = list(value or [])
        elif name == "priority":
            wanted = value.get("name") or next((n for n, i in PRIORITIES.items() if i == value.get("id")), None)
            if wanted not in PRIORITIES:
                return errors(400, priority="Specify a valid 'id' or 'name' for Priority")
            values[name] = wanted
        elif name in ("assignee", "reporter"):
            user = user_ref(value)
            if user is False:
                return errors(400, **{name: "Specify a valid value for " + name})
            values[name] = user
        elif name in CUSTOM_FIELDS and CUSTOM_FIELDS[name][1] == "option" and value is not None:
            if not isinstance(value, dict) or value.get("value") not in SEVERITIES:
                return errors(400, **{name: f"Option value '{value}' is not valid"})
            values[name] = {"self": f"/rest/api/2/customFieldOption/{value['value']}", "value": value["value"],
                            "id": str(SEVERITIES.index(value["value"]) + 10100)}
        else:
            values[name] = value
    return values
