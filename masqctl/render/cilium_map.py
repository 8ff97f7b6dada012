"""Cilium's BPF non-masquerade maps as text: one prefix a line, sorted, IPv4 then IPv6."""

from __future__ import annotations

from masqctl.ruleset import Ruleset


def map_text(ruleset: Ruleset, family: str | None = None) -> str:
    """The prefixes of every map (or of ``family``'s), one a line; UsageError for a
    family whose map the agent does not make."""
    if family and family not in ruleset.maps:
        from masqctl.errors import UsageError
        from masqctl.flavours.cilium import MAP_NAMES

        setting = f"enable-{family}-masquerade"
        raise UsageError(
            f"--family {family}: Cilium makes no {MAP_NAMES[family]} map without {setting} "
            f"(--{setting})"
        )
    maps = [ruleset.maps[family]] if family else list(ruleset.maps.values())
    return "".join(f"{entry.cidr}\n" for table in maps for entry in table.entries)


def maps_json(ruleset: Ruleset) -> dict[str, object]:
    """Each family's map: its name, capacity and entries with where they come from."""
    return {
        family: {
            "name": table.name,
            "capacity": table.capacity,
            "entries": [
                {
                    "cidr": entry.cidr,
                    "label": entry.label,
                    "source": None
                    if entry.origin is None or not entry.origin.line
                    else {"file": entry.origin.file, "line": entry.origin.line},
                }
                for entry in table.entries
            ],
        }
        for family, table in ruleset.maps.items()
    }
