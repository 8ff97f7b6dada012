"""masqctl show: the effective config as the agent logs it; or a check against its log."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from masqctl.errors import UsageError, require_choice

if TYPE_CHECKING:
    from masqctl.flavours.base import Flavour

FORMATS = ("text", "json", "yaml")


def run(
    *,
    config: list[str] | None = None,
    output_format: str = "text",
    from_log: str | None = None,
    **agent: object,
) -> int:
    """Print the effective config (exit 0); with --from-log, 0 when the agent runs it, 1
    when its log shows another config."""
    from masqctl.commands.common import agent_inputs
    from masqctl.config.load import ConfigRejected, decoded_config
    from masqctl.errors import MasqctlError

    require_choice("output", output_format, FORMATS)
    setup = agent_inputs(config, agent).resolve()
    flavour = setup.flavour
    try:
        effective = flavour.effective_json(setup.config())
    except ConfigRejected as rejected:
        raise MasqctlError(f"the agent refuses this config: {rejected.agent_error}") from None
    if from_log is not None:
        defaults = flavour.effective_json(decoded_config(flavour, None, setup.flags))
        return _against_log(flavour, (effective, defaults), from_log, output_format)
    if output_format == "yaml":
        from masqctl.show import canonical_yaml

        sys.stdout.write(canonical_yaml(effective))
    elif output_format == "json":
        sys.stdout.write(json.dumps(json.loads(effective), indent=2) + "\n")
    else:
        sys.stdout.write(effective + "\n")
    return 0


def _against_log(flavour: Flavour, configs: tuple[str, str], path: str, output_format: str) -> int:
    """--from-log: ``configs`` are the effective config's JSON and the defaults'."""
    from masqctl.netfilter.save_parser import read_dump
    from masqctl.show import compare_with_log

    if flavour.log_marker is None:
        raise UsageError(f"--from-log: {flavour.title} logs no effective config")
    name = "<stdin>" if path == "-" else path
    result = compare_with_log(*configs, read_dump(path), flavour, name)
    if output_format == "json":
        document = {
            "in_sync": result.in_sync,
            "log_line": result.entry.line,
            "differences": [
                {"key": key, "log": logged, "config": wanted}
                for key, logged, wanted in result.differences
            ],
            "refused_later": [
                {"log_line": entry.line, "error": entry.refused} for entry in result.refused
            ],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return 0 if result.in_sync else 1
    lines = []
    if result.in_sync:
        lines.append(f"the agent runs what the config says ({name}:{result.entry.line})")
    else:
        lines.append(f"the agent runs another config ({name}:{result.entry.line}):")
        lines.extend(
            f"  {key}: log {json.dumps(logged)}, config {json.dumps(wanted)}"
            for key, logged, wanted in result.differences
        )
    lines.extend(
        f"  note: {name}:{entry.line} logs a config the agent then refused ({entry.refused}); "
        "it kept the one above"
        for entry in result.refused
    )
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0 if result.in_sync else 1
