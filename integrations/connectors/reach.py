"""Where connections may reach: never the hub itself, nor addresses an administrator has not allowed.

Integrators may create connections, and a connection reads and writes whatever its URL names. So
that this is no road from integrator to administrator (or into internal services, whose error
text a connection would show), every target is checked — when the connection is saved
(``RepositoryConnection.clean``) and again when it is used (the HTTP transport checks the
address each socket actually connected to; the database dialects resolve the host, check every
address and connect to a checked one), because a DNS answer can change in between:

* **The hub's own database** is refused: a SQLite file that is (by real path or inode) one of
  the hub's databases or lies inside ``HUB_HOME`` (or its db, log or vault directory); a PostgreSQL/MySQL database with the same
  name on the same server (same addresses — loopback and this machine's own addresses count as
  one — and port) as one of the hub's databases.
* **SQLite files** must lie (by real path: a symlink cannot lead out) inside a directory listed
  in ``HUB_CONNECTION_SQLITE_DIRS``; none listed → SQLite connections are refused.
* **Hosts and networks**: addresses in the built-in denied networks (link-local, cloud metadata
  endpoints) and in ``HUB_CONNECTION_DENIED_HOSTS`` are refused; when
  ``HUB_CONNECTION_ALLOWED_HOSTS`` is set, only hosts it names (``tool.example.com``,
  ``*.example.com``) or addresses inside its networks (``10.0.0.0/8``) are allowed.

Each refusal says why (:class:`Refused`, a ConnectorError; ``ValidationError`` at save time).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings

from integrations.connectors.base import ConnectorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Link-local (which includes AWS/GCP/Azure/OpenStack metadata at 169.254.169.254) and the other
# clouds' metadata endpoints: a connection there would read credentials of the hub's own host.
BUILTIN_DENIED: tuple[str, ...] = (
    "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32", "168.63.129.16/32",
    "metadata.google.internal", "metadata.goog", "metadata",
)
DB_SCHEMES = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "http": 80, "https": 443}
ENGINE_VENDORS = {"postgresql": "postgresql", "postgis": "postgresql", "mysql": "mysql"}


class Refused(ConnectorError):
    """A target the hub's reach policy refuses. Not transient: retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, unreachable=True)


# -- the policy ---------------------------------------------------------------------------------


def _entries(name: str) -> list[str]:
    value = getattr(settings, name, None) or []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


def _split(entries: Iterable[str]) -> tuple[list[IPNetwork], list[str]]:
    networks, names = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry.lower().rstrip("."))
    return networks, names


def _name_matches(host: str, patterns: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def _address(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return address


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    """The addresses ``host`` resolves to now ([] when it does not resolve)."""
    literal = _address(host.strip("[]"))
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    out: list[IPAddress] = []
    for info in infos:
        address = _address(str(info[4][0]))
        if address is not None and address not in out:
            out.append(address)
    return out


def address_refusal(address: IPAddress, host: str = "") -> str:
    """Why the hub may not connect to ``address`` (reached for ``host``), or "" when it may."""
    denied_nets, _ = _split((*BUILTIN_DENIED, *_entries("HUB_CONNECTION_DENIED_HOSTS")))
    shown = f"{host} ({address})" if host and host != str(address) else str(address)
    for net in denied_nets:
        if address.version == net.version and address in net:
            why = "a link-local or cloud metadata address" if _builtin(net) else "in HUB_CONNECTION_DENIED_HOSTS"
            return f"{shown} is {why}; connections may not reach it"
    allowed = _entries("HUB_CONNECTION_ALLOWED_HOSTS")
    if allowed:
        nets, names = _split(allowed)
        if host and _name_matches(host, names):
            return ""
        if not any(address.version == n.version and address in n for n in nets):
            return f"{shown} is not in HUB_CONNECTION_ALLOWED_HOSTS"
    return ""


def _builtin(net: IPNetwork) -> bool:
    return str(net) in {str(ipaddress.ip_network(e, strict=False)) for e in BUILTIN_DENIED if _is_network(e)}


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def name_refusal(host: str) -> str:
    """Why ``host`` may not be reached, judged by its name alone (an address literal is checked as such)."""
    if not host:
        return ""
    _, denied_names = _split((*BUILTIN_DENIED, *_entries("HUB_CONNECTION_DENIED_HOSTS")))
    if _name_matches(host, denied_names):
        return f"{host} is a denied host (cloud metadata or HUB_CONNECTION_DENIED_HOSTS); connections may not reach it"
    literal = _address(host.strip("[]"))
    return address_refusal(literal, host) if literal is not None else ""


def host_refusal(host: str, port: int | None = None, *, resolved: list[IPAddress] | None = None) -> str:
    """Why ``host`` may not be reached ("" when it may): by its name, then by every address it has."""
    if not host:
        return ""
    why = name_refusal(host)
    if why:
        return why
    addresses = resolve(host, port) if resolved is None else resolved
    if not addresses:
        allowed = _entries("HUB_CONNECTION_ALLOWED_HOSTS")
        if allowed and not _name_matches(host, _split(allowed)[1]):
            return f"{host} does not resolve and is not named in HUB_CONNECTION_ALLOWED_HOSTS"
        return ""  # nothing to check now; the connect is checked again at use time
    for address in addresses:
        why = address_refusal(address, host)
        if why:
            return why
    return ""


def check_host(host: str, port: int | None = None) -> list[IPAddress]:
    """Raise :class:`Refused` unless ``host`` may be reached; return the addresses checked."""
    addresses = resolve(host, port)
    why = host_refusal(host, port, resolved=addresses)
    if why:
        raise Refused(f"Refused by the hub's network policy: {why}.")
    return addresses


def check_peer(address: str, host: str) -> None:
    """After a socket connected: the address it actually reached must be allowed too."""
    parsed = _address(address)
    why = address_refusal(parsed, host) if parsed is not None else ""
    if why:
        raise Refused(f"Refused by the hub's network policy: {why}.")


# -- the hub's own database ---------------------------------------------------------------------


def _hub_databases() -> list[Mapping[str, Any]]:
    return [db for db in settings.DATABASES.values() if isinstance(db, Mapping)]


def sqlite_refusal(path: str) -> str:
    """Why the SQLite file ``path`` may not be a connection's table ("" when it may)."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return "give the absolute path of a SQLite file"
    real = Path(os.path.realpath(path))
    # The hub's private directories: its home, and the database, log and vault directories
    # (inside the home by default, but each can be placed elsewhere).
    for name in ("HUB_HOME", "HUB_DB_DIR", "HUB_LOG_DIR", "HUB_VAULT_DIR"):
        where = getattr(settings, name, None)
        if not where:
            continue
        private = Path(os.path.realpath(where))
        if real == private or private in real.parents:
            return f"{path} is inside the hub's own directory ({name})"
    for db in _hub_databases():
        name = str(db.get("NAME") or "")
        if "sqlite" not in str(db.get("ENGINE", "")) or not name or name.startswith("file:") or name == ":memory:":
            continue
        if real == Path(os.path.realpath(name)) or _same_file(real, Path(name)):
            return f"{path} is the hub's own database"
    dirs = [Path(os.path.realpath(d)) for d in _entries("HUB_CONNECTION_SQLITE_DIRS")]
    if not dirs:
        return "SQLite files are allowed only in directories an administrator lists in HUB_CONNECTION_SQLITE_DIRS, " \
               "and none is listed"
    if not any(real.parent == d or d in real.parents for d in dirs):
        return f"{path} is not inside a directory listed in HUB_CONNECTION_SQLITE_DIRS"
    return ""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # a hard link is the same file under another name
    except OSError:
        return False


def _this_machine() -> set[IPAddress]:
    addresses: set[IPAddress] = set()
    for host in ("localhost", socket.gethostname()):
        addresses.update(resolve(host))
    return addresses


def _server(addresses: Iterable[IPAddress], local: set[IPAddress]) -> set[str]:
    """Addresses as server identities: every loopback or own address is "this machine"."""
    return {"this machine" if (a.is_loopback or a in local) else str(a) for a in addresses}


def database_refusal(vendor: str, host: str, port: int | None, database: str,
                     resolved: list[IPAddress] | None = None) -> str:
    """Why a PostgreSQL/MySQL database may not be a connection's ("" when it may): the hub's own."""
    local = _this_machine()
    target = _server(resolved if resolved is not None else (resolve(host) if host not in ("", "localhost") else []),
                     local) or {"this machine"}
    port = port or DEFAULT_PORTS[vendor]
    for db in _hub_databases():
        engine = str(db.get("ENGINE", "")).rsplit(".", 1)[-1]
        if ENGINE_VENDORS.get(engine) != vendor or str(db.get("NAME") or "") != database:
            continue
        hub_host = str(db.get("HOST") or "")
        hub_port = int(db.get("PORT") or DEFAULT_PORTS[vendor])
        hub_server = _server(resolve(hub_host) if hub_host not in ("", "localhost") else [], local) or {"this machine"}
        if hub_port == port and (hub_server & target or (hub_host or "localhost").lower() == (host or "localhost").lower()):
            return f"database '{database}' on {host or 'localhost'}:{port} is the hub's own database"
    return ""


# -- a connection as a whole --------------------------------------------------------------------


def connection_refusals(url: str, options: Mapping[str, Any]) -> dict[str, str]:
    """Field → why, for everything a connection would reach (its URL and its proxy)."""
    out: dict[str, str] = {}
    why = url_refusal(url)
    if why:
        out["url"] = why
    proxy = options.get("proxy_url") if isinstance(options, Mapping) else None
    if isinstance(proxy, str) and proxy.strip():
        why = url_refusal(proxy.strip())
        if why:
            out["options"] = f"proxy_url: {why}"
    return out


def url_refusal(url: str) -> str:
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        return ""  # malformed: the connector's own validation names it
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return sqlite_refusal(unquote(parts.path))
    host = parts.hostname or ""
    if scheme in DB_SCHEMES:
        vendor = DB_SCHEMES[scheme]
        addresses = resolve(host, port) if host not in ("", "localhost") else []
        why = host_refusal(host or "localhost", port, resolved=addresses or None)
        return why or database_refusal(vendor, host, port, unquote(parts.path.lstrip("/")), addresses or None)
    if scheme in ("http", "https"):
        return host_refusal(host, port or DEFAULT_PORTS[scheme])
    return ""


def check_connection(url: str, options: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` naming the first refusal (use time, before any connect)."""
    for field, why in connection_refusals(url, options).items():
        raise Refused(f"Refused ({field}): {why}.")
