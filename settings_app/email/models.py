"""Email notification settings: one row (or none, before "Add Email Server")."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models

from settings_app.email import transport
from settings_app.security.fields import EncryptedTextField, VaultRow

# 5 minutes to 1 day: more often floods the inbox, less often is not a notification any more.
MIN_FREQUENCY, MAX_FREQUENCY = 5, 1440
MIN_TIMEOUT, MAX_TIMEOUT = 1, 600


class EmailSettings(VaultRow):
    SINGLETON_PK = 1

    enabled = models.BooleanField(default=False, help_text="Notifications are sent only while on.")
    to_address = models.EmailField("to email address", help_text="Exactly one address.")
    from_address = models.EmailField("from email address")
    subject_prefix = models.CharField(max_length=100, default="[Tasktop]", blank=True)
    # A CharField with the URL validator: models.URLField's form field warns about Django 6's default scheme.
    server_url = models.CharField("hub server URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])],
                                  help_text="An absolute http(s) URL, used to build links in the emails.")
    frequency_minutes = models.PositiveIntegerField(
        "notification frequency", default=60,
        validators=[MinValueValidator(MIN_FREQUENCY), MaxValueValidator(MAX_FREQUENCY)],
        help_text=f"Minutes between digests, {MIN_FREQUENCY} to {MAX_FREQUENCY}.",
    )
    username = models.CharField(max_length=200, blank=True)
    password = EncryptedTextField()
    host = models.CharField("SMTP server", max_length=255)
    port = models.PositiveIntegerField("SMTP port", null=True, blank=True,
                                       validators=[MinValueValidator(1), MaxValueValidator(65535)],
                                       help_text="Empty: 25 (SMTP), 465 (SMTPS) or 587 (SMTP_STARTTLS).")
    timeout = models.PositiveIntegerField("connection timeout", default=60,
                                          validators=[MinValueValidator(MIN_TIMEOUT), MaxValueValidator(MAX_TIMEOUT)],
                                          help_text="Seconds.")
    protocol = models.CharField(max_length=20, default=transport.STARTTLS,
                                choices=[(p, p) for p in transport.PROTOCOLS])
    ca_bundle = models.TextField("CA bundle", blank=True,
                                 help_text="PEM certificates of a private certificate authority (optional).")

    # The digest's bookkeeping.
    covered_until = models.DateTimeField(null=True, blank=True,
                                         help_text="Errors and issues up to here were in a delivered digest.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_failure = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "settings_app"
        verbose_name = "email notification settings"
        verbose_name_plural = "email notification settings"

    def __str__(self) -> str:
        return f"email to {self.to_address}"

    def server_config(self) -> transport.ServerConfig:
        """Decrypts the password (VaultLocked while no master password is loaded); the log filter
        of every handler learns it, so no log line of this process can carry it."""
        from tasktop_hub import secrets

        secrets.remember([self.password])
        return transport.ServerConfig(self.host, self.protocol, self.port, self.timeout, self.username,
                                      self.password, self.ca_bundle)
