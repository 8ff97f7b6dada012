"""show: the effective config exactly as the agent logs it, and a check against its log.

The agent logs ``Using config: <json.Marshal of its struct>`` (upstream at --v=2 and
above; Azure's v2 agent writes ``using config:``).  The same text is what ``show``
prints, so the two compare with ``diff``; ``--from-log`` finds the agent's last such
line in a log (``kubectl logs`` output, prefixes and timestamps allowed) and says whether
the agent runs what the config says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from masqctl.errors import MasqctlError

if TYPE_CHECKING:
    from masqctl.flavours.base import Flavour


@dataclass
class LogEntry:
    """One ``Using config:`` line (or the agent's word that it uses its defaults): where,
    what (None: the defaults), and whether the agent then refused it."""

    line: int
    config: dict[str, object] | None
    refused: str | None = None


@dataclass
class LogComparison:
    """How the agent's logged config compares with the config given."""

    entry: LogEntry
    differences: list[tuple[str, object, object]]
    #: Later configs the agent logged and then refused (it kept running ``entry``).
    refused: list[LogEntry] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.differences


def logged_configs(
    text: str, marker: str, defaults_marker: str | None, refused_marker: str
) -> list[LogEntry]:
    """Every ``marker`` line of the log (and ``defaults_marker`` line: the agent found no
    config file), in order, with the refusal (``refused_marker`` line) that follows it."""
    entries: list[LogEntry] = []
    for number, line in enumerate(text.splitlines(), 1):
        if defaults_marker is not None and defaults_marker in line:
            entries.append(LogEntry(number, None))
        elif marker in line:
            payload = line.split(marker, 1)[1].strip()
            try:
                config = json.loads(payload)
            except ValueError:
                raise MasqctlError(
                    f"log line {number}: the {marker.strip()!r} line holds no JSON object"
                ) from None
            if isinstance(config, dict):
                entries.append(LogEntry(number, config))
        elif refused_marker in line and entries and entries[-1].refused is None:
            entries[-1].refused = line.split(refused_marker, 1)[1].strip()
    return entries


def compare_with_log(
    effective: str, defaults: str, text: str, flavour: Flavour, log_name: str
) -> LogComparison:
    """The agent's last config it applied, per ``flavour``'s log, against ``effective``
    (the config's ``Using config`` JSON); ``defaults``: the JSON of the agent's
    defaults, for a log that says it found no config file."""
    marker = flavour.log_marker or ""
    entries = logged_configs(text, marker, flavour.defaults_log_marker, flavour.refused_log_marker)
    applied = [entry for entry in entries if entry.refused is None]
    if not applied:
        why = (
            "every one of them was refused"
            if entries
            else "the agent logs it only with --v=2 or more (upstream's DaemonSet runs at the "
            "default 0)"
        )
        raise MasqctlError(f"{log_name}: no {marker.strip()!r} line of an applied config: {why}")
    last = applied[-1]
    wanted = json.loads(effective)
    logged = json.loads(defaults) if last.config is None else last.config
    differences = [
        (key, logged.get(key), wanted.get(key))
        for key in dict.fromkeys([*wanted, *logged])
        if _compared(flavour, key, logged.get(key)) != _compared(flavour, key, wanted.get(key))
    ]
    later_refused = [entry for entry in entries if entry.line > last.line and entry.refused]
    return LogComparison(last, differences, later_refused)


def _compared(flavour: Flavour, key: str, value: object) -> object:
    """A logged value as it compares: the CIDR list as a multiset where the agent logs it
    in a new order every sync."""
    if key == "nonMasqueradeCIDRs" and flavour.cidrs_unordered and isinstance(value, list):
        return sorted(map(str, value))
    return value


def canonical_yaml(effective: str) -> str:
    """The effective config as a clean config file with the agent's exact key names."""
    import yaml

    data = json.loads(effective)
    if data.get("nonMasqueradeCIDRs") is None:
        data["nonMasqueradeCIDRs"] = []
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
