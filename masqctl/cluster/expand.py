"""Kubernetes' ``$(VAR)`` expansion of a container's command and args, and the
environment it draws on, as the kubelet builds them.

``expand`` is kubelet's ``third_party/forked/golang/expansion.Expand``: one pass, left to
right; ``$$`` is ``$``; ``$(NAME)`` (up to the first ``)``) is replaced by the variable,
or left as written when it is not defined; any other ``$`` is kept; the result is never
scanned again.  ``Environment`` follows ``makeEnvironmentVariables``: ``envFrom`` first
(later sources win), then ``env`` in order, each ``value`` expanded with the variables
defined before it and the service variables; ``valueFrom`` results are not expanded.
Command and args then see the whole environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from masqctl.cluster.objects import is_true
from masqctl.config.nodes import MAP, SEQ, Node
from masqctl.config.sources import scalar_text

OPERATOR = "$"
OPENER = "("
CLOSER = ")"


def expand(text: str, mapping: Callable[[str], str | None]) -> str:
    """``text`` with each ``$(NAME)`` replaced by ``mapping(NAME)``; a name it returns
    None for stays as written, ``$(NAME)``."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_variable, advance = _read_variable_name(text[cursor + 1 :])
            if is_variable:
                value = mapping(read)
                out.append(f"$({read})" if value is None else value)
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_variable_name(text: str) -> tuple[str, bool, int]:
    """expansion.tryReadVariableName: (text to write or name, is a name, chars consumed)."""
    first = text[0]
    if first == OPERATOR:
        return OPERATOR, False, 1
    if first == OPENER:
        closer = text.find(CLOSER, 1)
        if closer >= 0:
            return text[1:closer], True, closer + 1
        return OPERATOR + OPENER, False, 1
    return OPERATOR + first, False, 1


#: The variables kubelet adds for services (``KUBERNETES_SERVICE_HOST``,
#: ``<NAME>_PORT_443_TCP_ADDR``, ...): their values are cluster addresses.
_SERVICE_VARIABLE = re.compile(
    r"[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)
#: Pod fields a fieldRef can name whose value only the running pod has.
_POD_FIELDS_KNOWN_AT_RUN_TIME = "set for each pod when it starts"


@dataclass
class Environment:
    """A container's environment as far as the inputs tell it."""

    #: Variables whose value masqctl knows.
    values: dict[str, str] = field(default_factory=dict)
    #: Variables that are set, but to a value only the node knows: name → why.
    unknown: dict[str, str] = field(default_factory=dict)
    #: envFrom sources whose variable names masqctl cannot list.
    opaque_sources: list[str] = field(default_factory=list)

    def lookup(self, name: str) -> str | None:
        """The value ``$(name)`` expands to, None where masqctl does not know it."""
        return self.values.get(name)

    def why_unknown(self, name: str) -> str | None:
        """Why the value of ``$(name)`` is not known here (None: it is, or it is not set
        at all, so the reference stays as written)."""
        if name in self.values:
            return None
        if name in self.unknown:
            return self.unknown[name]
        if _SERVICE_VARIABLE.fullmatch(name):
            return "a service variable the kubelet sets from the cluster's services"
        if self.opaque_sources:
            return f"it may come from {' or '.join(self.opaque_sources)}"
        return None


#: A ConfigMap's data by name, None when it is not among the inputs.
ConfigMapData = Callable[[str], dict[str, str] | None]


def container_environment(
    container: Node, namespace: str, configmaps: ConfigMapData
) -> Environment:
    """The environment kubelet gives ``container`` (a pod spec container mapping)."""
    env = Environment()
    env_from = container.get("envFrom")
    for source in env_from.value if env_from is not None and env_from.kind == SEQ else []:
        _add_env_from(env, source, configmaps)
    entries = container.get("env")
    for entry in entries.value if entries is not None and entries.kind == SEQ else []:
        name = scalar_text(entry.get("name"))
        if name:
            _add_env_entry(env, name, entry, namespace, configmaps)
    return env


def _add_env_from(env: Environment, source: Node, configmaps: ConfigMapData) -> None:
    prefix = scalar_text(source.get("prefix"))
    reference = source.get("configMapRef")
    name = scalar_text(reference.get("name")) if reference is not None else ""
    data = configmaps(name) if reference is not None else None
    if data is None:
        kind = "ConfigMap" if reference is not None else "Secret"
        name = name or scalar_text((source.get("secretRef") or source).get("name"))
        env.opaque_sources.append(f"envFrom {kind} {name or '(no name)'}")
        return
    for key, value in data.items():
        env.values[prefix + key] = value
        env.unknown.pop(prefix + key, None)


def _add_env_entry(
    env: Environment, name: str, entry: Node, namespace: str, configmaps: ConfigMapData
) -> None:
    value_from = entry.get("valueFrom")
    if value_from is None or value_from.kind != MAP:
        text = scalar_text(entry.get("value"))
        unknown = [ref for ref in references(text) if env.why_unknown(ref)]
        if unknown:
            _set_unknown(env, name, f"its value refers to $({unknown[0]})")
        else:
            _set_known(env, name, expand(text, env.lookup) if text else "")
        return
    field_ref = value_from.get("fieldRef")
    configmap_ref = value_from.get("configMapKeyRef")
    if field_ref is not None and scalar_text(field_ref.get("fieldPath")) == "metadata.namespace":
        if namespace:
            _set_known(env, name, namespace)
        else:
            _set_unknown(env, name, "the namespace the DaemonSet is applied to")
    elif configmap_ref is not None:
        configmap = scalar_text(configmap_ref.get("name"))
        data = configmaps(configmap)
        key = scalar_text(configmap_ref.get("key"))
        if data is None:
            _set_unknown(env, name, f"ConfigMap {configmap} is not among the inputs")
        elif key in data:
            _set_known(env, name, data[key])
        elif is_true(configmap_ref.get("optional")):
            pass  # an optional key that is missing leaves the variable unset
        else:
            _set_unknown(
                env, name, f"ConfigMap {configmap} has no key {key}, so the container cannot start"
            )
    elif field_ref is not None:
        _set_unknown(
            env,
            name,
            f"{scalar_text(field_ref.get('fieldPath'))} is {_POD_FIELDS_KNOWN_AT_RUN_TIME}",
        )
    else:
        source = next((str(key.value) for key, _ in value_from.items()), "valueFrom")
        _set_unknown(env, name, f"it comes from a {source}")


def _set_known(env: Environment, name: str, value: str) -> None:
    env.values[name] = value
    env.unknown.pop(name, None)


def _set_unknown(env: Environment, name: str, why: str) -> None:
    env.values.pop(name, None)
    env.unknown[name] = why


def references(text: str) -> list[str]:
    """The names the ``$(NAME)`` references of ``text`` name, as expand reads them."""
    names: list[str] = []
    expand(text, lambda name: names.append(name))  # type: ignore[func-returns-value]
    return names
