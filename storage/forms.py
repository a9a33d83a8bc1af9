"""Admin forms of the Storage panel (thin: storage.services does the work)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from storage import services
from storage.vendors import VENDORS, carries_credentials

ACTIONS = [
    ("test", "Test connection"),
    ("transfer", "Transfer the hub's data to this database"),
    ("relocate", "Save: the same database at a new location or with new credentials"),
    ("cleanup", "Clean up a failed transfer's tables on this database"),
]


class ExternalDatabaseForm(forms.Form):
    vendor = forms.ChoiceField(choices=[(v.key, v.label + ("" if v.verified_live else " (not verified live)"))
                                        for v in VENDORS.values()])
    location = forms.CharField(help_text="; ".join(f"{v.label}: {v.location_format}" for v in VENDORS.values()))
    username = forms.CharField(help_text="SQL authentication only (Windows authentication is not supported).")
    password = forms.CharField(strip=False, required=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    tls = forms.ChoiceField(choices=[("", "the database type's default (PostgreSQL, MySQL: prefer; SQL Server: "
                                          "require; Oracle: disable)")]
                            + [(m, m) for m in ("prefer", "disable", "require", "verify-ca", "verify-full")],
                            initial="", required=False, label="TLS",
                            help_text="Oracle takes disable or require (TLS over a TCPS listener).")
    ca_file = forms.CharField(required=False, label="CA certificate file (PEM path)")
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect, initial="test")
    confirm = forms.BooleanField(required=False, label=f"{services.CONFIRMATION} the warning above.")

    def clean_location(self) -> str:
        location = str(self.cleaned_data.get("location") or "")
        if carries_credentials(location):
            # The refused text holds a password: the page shown again must not carry it back.
            self.data = {**self.data.dict(), "location": ""} if isinstance(self.data, QueryDict) else \
                {**self.data, "location": ""}
        return location  # services.parse_location refuses it with the precise message

    def input(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {k: d.get(k) for k in ("vendor", "location", "username", "password", "tls", "ca_file")}

    def confirmation(self) -> str:
        return f"{services.CONFIRMATION} the warning." if self.cleaned_data.get("confirm") else ""


class OverrideForm(forms.Form):
    confirm = forms.BooleanField(label=f"{services.CONFIRMATION}: no other hub installation is using this database.")

    def save(self, actor: Any) -> str:
        services.override(f"{services.CONFIRMATION}.", actor)
        return "This installation holds the database's instance lease again; processing resumes."
