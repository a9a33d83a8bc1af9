"""The rows of an admin changelist, as Django's ``items_for_result`` renders them, at a fraction of its cost.

Measured on the lists of unbounded tables (bench/lists_bench.py, 50 rows a page): Django's
per-cell path was most of a page's CPU — ``lookup_field`` (which tries the name as a field, a
callable, an attribute), a ``reverse()`` and ``add_preserved_filters`` for every row's link, the
row's checkbox rendered through the form widget templates, and one ``format_html`` per cell.
Here a page works out once what each column is (a model field, the action checkbox, which one
links) and then builds each row as one string: one ``reverse()`` per page (the row's key put into
its result), the checkbox's markup written out, each value still formatted by Django's own
``display_for_field`` (dates, numbers, choices, the empty value). The HTML is the same, byte for
byte (``tests/tasktop_hub/test_admin_rows.py`` compares it with Django's on every such list).

A column this does not cover — a callable or property, a reverse relation, a ``list_editable``
form, a popup — makes :func:`rows` return None and the page renders the usual way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin import ModelAdmin, helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from tasktop_hub.display import local_datetime

_KEY = "hub-row-key-7f3a"  # stands for the row's key in the one reversed change URL


def _cell(name: str, field: models.Field | None, empty: str, link: bool) -> Callable[[Any], str]:
    """A function from a row's object to the text of one cell (escaped), Django's way."""
    if field is None:  # the action checkbox
        label = gettext("Select this object for an action - {}")

        def checkbox(obj: Any) -> str:
            # forms.CheckboxInput's markup (never checked), as ModelAdmin.action_checkbox renders it
            return (f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}" value="{escape(str(obj.pk))}"'
                    f' class="action-select" aria-label="{label.format(escape(str(obj)))}">')

        return checkbox
    if field.auto_created:  # the automatic primary key: Django shows it as a plain value
        def plain(obj: Any) -> str:
            value = getattr(obj, name)
            return conditional_escape(display_for_value(value, empty))

        return plain
    if isinstance(field.remote_field, models.ManyToOneRel):  # a foreign key: the related row's str()

        def related(obj: Any) -> str:
            value = getattr(obj, field.name)
            return conditional_escape(empty if value is None else value)

        return related

    if field.flatchoices:
        # display_for_field's first case, with the choices' dict built once (Django builds it per cell)
        try:
            labels = dict(field.flatchoices)
        except TypeError:  # list-like choices: leave them to Django
            labels = None
        if labels is not None:

            def choice(obj: Any) -> str:
                raw = getattr(obj, name)
                if isinstance(raw, str) and raw.strip() == "":
                    raw = ""
                try:
                    return conditional_escape(labels.get(raw, empty))
                except TypeError:  # an unhashable value
                    return conditional_escape(display_for_field(raw, field, empty, avoid_link=link))

            return choice
    if type(field) is models.DateTimeField:
        # display_for_field's datetime case, formatted once per minute (tasktop_hub/display.py)

        def moment(obj: Any) -> str:
            raw = getattr(obj, name)
            return empty if raw is None else escape(local_datetime(raw))

        return moment
    if type(field) in (models.CharField, models.TextField):
        # display_for_field's last case for text: the empty value, else the text

        def text(obj: Any) -> str:
            raw = getattr(obj, name)
            return empty if raw is None or raw.strip() == "" else escape(raw)

        return text

    def value(obj: Any) -> str:
        raw = getattr(obj, name)
        if isinstance(raw, str) and raw.strip() == "":
            raw = ""
        return conditional_escape(display_for_field(raw, field, empty, avoid_link=link))

    return value


def rows(cl: Any) -> list[SafeString] | None:
    """Each row of the page as the concatenated HTML of its cells; None where Django must render them."""
    model_admin: ModelAdmin = cl.model_admin
    opts = cl.lookup_opts
    # An integer key: its quote() is its digits, which reverse() leaves alone (so one reverse() serves all rows).
    if cl.formset or cl.is_popup or cl.list_display_links is None or not isinstance(opts.pk, models.IntegerField):
        return None
    empty = model_admin.get_empty_value_display()
    columns: list[tuple[str, bool, Callable[[Any], str]]] = []  # (tag and class, links?, the cell's text)
    first = True  # as in items_for_result: the first linking column is a <th>
    for name in cl.list_display:
        if not isinstance(name, str):
            return None
        field: models.Field | None
        if name == "action_checkbox":
            if type(model_admin).action_checkbox is not ModelAdmin.action_checkbox:
                return None
            field, classes = None, "action-checkbox"
        else:
            field = _plain_field(opts, name)
            if field is None:
                return None
            classes = f"field-{name}"
            if not field.auto_created and isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
                classes += " nowrap"
        link = (first and not cl.list_display_links) or name in cl.list_display_links
        tag = "th" if link and first else "td"
        first = first and not link
        columns.append((f'{tag} class="{classes}"', link, _cell(name, field, empty, link)))
    url = _change_url(cl)
    html: list[SafeString] = []
    for obj in cl.result_list:
        cells = []
        for opening, link, cell in columns:
            text = cell(obj)
            if link and url is not None:
                text = f'<a href="{url.replace(_KEY, str(getattr(obj, cl.pk_attname)))}">{text}</a>'
            cells.append(f"<{opening}>{text}</{opening[:2]}>")
        html.append(mark_safe("".join(cells)))
    return html


def _plain_field(opts: Any, name: str) -> Any:
    """The model field a column shows, if it is a column of the row or a foreign key (by its name)."""
    try:
        field = opts.get_field(name)
    except FieldDoesNotExist:
        return None
    if not field.concrete or field.many_to_many:
        return None
    if field.is_relation and (field.related_model is None or field.attname == name
                              or not isinstance(field.remote_field, models.ManyToOneRel)):
        return None
    if field.auto_created and isinstance(field, (models.DateField, models.TimeField)):
        return None  # display_for_value would add a class for it; not a case these lists have
    return field


def _change_url(cl: Any) -> str | None:
    """The change page's URL with the preserved filters, escaped for an attribute; ``_KEY`` stands for the key."""
    try:
        url = reverse(f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change", args=(_KEY,),
                      current_app=cl.model_admin.admin_site.name)
    except NoReverseMatch:
        return None
    return escape(add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url))
