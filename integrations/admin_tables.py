"""A form field edited as a table of rows (a collection's field mapping, an integration's per-field
flow), instead of a JSON text area. Plain HTML inputs, no JavaScript: the page offers as many rows
as are useful (one per field the tool or the collections name, plus the stored ones).

The field's value is a list of rows, each a dict of column key → text; the form turns it into the
model's JSON (and back), so the stored shape and the API stay what they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    choices: Sequence[tuple[str, str]] | None = None  # None: a text input
    fixed: bool = False  # shown as text (sent back hidden): the row's name, not editable
    help: str = ""


class TableWidget(forms.Widget):
    """Renders rows as an HTML table; inputs are named ``<name>-<row>-<column>``."""

    def __init__(self, columns: Sequence[Column], empty_text: str = "") -> None:
        super().__init__()
        self.columns, self.empty_text = list(columns), empty_text

    def _cell(self, name: str, column: Column, value: str) -> SafeString:
        if column.fixed:
            return format_html('<input type="hidden" name="{}" value="{}"><strong>{}</strong>', name, value, value)
        if column.choices is not None:
            choices = list(column.choices)
            if value and value not in {c for c, _ in choices}:
                choices.append((value, f"{value} (not offered by the tool)"))
            return forms.Select(choices=choices).render(name, value, attrs={"id": name})
        return forms.TextInput(attrs={"size": 24, "id": name}).render(name, value)

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        rows: list[Mapping[str, str]] = list(value or [])
        if not rows:
            return format_html('<p class="help">{}</p>', self.empty_text)
        help_html = '<br><small style="text-transform: none; font-weight: normal">{}</small>'
        head = format_html_join("", '<th scope="col">{}{}</th>', (
            (c.title, format_html(help_html, c.help) if c.help else "") for c in self.columns))
        body = format_html_join("", "<tr>{}</tr>", (
            (format_html_join("", "<td>{}</td>", (
                (self._cell(f"{name}-{i}-{c.key}", c, str(row.get(c.key) or "")),) for c in self.columns)),)
            for i, row in enumerate(rows)))
        table_id = (attrs or {}).get("id", name)
        return format_html('<table class="hub-rows" id="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                           table_id, head, body)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        i = 0
        while any(f"{name}-{i}-{c.key}" in data for c in self.columns):
            rows.append({c.key: str(data.get(f"{name}-{i}-{c.key}") or "").strip() for c in self.columns})
            i += 1
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # an absent table is an empty one


class TableField(forms.Field):
    """A list of row dicts. ``row_key`` names the column that makes a row count (empty: skipped) and
    that no two rows share. A tuple of columns makes a row count when any of them is filled; no two
    rows then share the ``unique`` columns (default: all of them), and ``twice`` words the refusal,
    formatted with those columns' values."""

    def __init__(self, columns: Sequence[Column], row_key: str | tuple[str, ...], empty_text: str = "",
                 twice: str = "", unique: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.columns = list(columns)
        self.keys = (row_key,) if isinstance(row_key, str) else tuple(row_key)
        self.unique, self.twice = unique or self.keys, twice
        kwargs.setdefault("required", False)
        super().__init__(widget=TableWidget(self.columns, empty_text), **kwargs)

    def clean(self, value: Any) -> list[dict[str, str]]:
        rows = self.filled(value)
        counts = Counter(tuple(r.get(k, "") for k in self.unique) for r in rows)
        twice = sorted(k for k, n in counts.items() if n > 1)
        if twice and len(self.unique) == 1:
            raise forms.ValidationError(f"{', '.join(k[0] for k in twice)}: listed twice; each field has one row.")
        if twice:
            raise forms.ValidationError([self.twice.format(*k) for k in twice])
        return rows

    def filled(self, value: Any) -> list[dict[str, str]]:
        return [dict(r) for r in (value or []) if any(r.get(k) for k in self.keys)]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.filled(initial) != self.filled(data)
