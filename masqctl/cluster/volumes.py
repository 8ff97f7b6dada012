"""The files the agent finds in its config directory, worked out from its container's
volumeMounts and the pod's volumes as the kubelet lays them out, with the wiring checks.

A ``configMap`` volume (or a ``configMap`` source of a ``projected`` one) puts one file
per ``items`` entry (``key`` → ``path``), or one per key when there are no items, into
the volume.  A mount at the config directory (or above it) shows the volume's top level
there; a mount through ``subPath`` shows only part of it, and never an update.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from masqctl.cluster.model import MountedFile
from masqctl.cluster.objects import ClusterObjects, KubeObject, configmap_keys, is_true
from masqctl.config.nodes import INT, MAP, SCALAR, SEQ, Node
from masqctl.config.sources import holds_config, scalar_text
from masqctl.findings import ERROR, Finding
from masqctl.flavours.base import Flavour
from masqctl.lint.report import finding_at

#: Fields of a configMap volume source, which a mis-indented source puts beside it.
CONFIGMAP_FIELDS = ("name", "items", "optional", "defaultMode")
#: The largest file mode the API server takes, and its message for any other number.
MAX_MODE = 0o777
MODE_RANGE = "must be a number between 0 and 0777 (octal), both inclusive"


@dataclass(frozen=True)
class Entry:
    """One file a ConfigMap puts into a volume, at ``path`` inside the volume."""

    path: str
    configmap: str
    key: str
    optional: bool
    #: The ``items`` entry, or the source's ``name`` when there are no items.
    node: Node
    found: KubeObject | None
    value: Node | None


@dataclass(frozen=True)
class Source:
    """One configMap source of a volume: the ConfigMap it names."""

    name: str
    optional: bool
    node: Node


@dataclass
class Volume:
    """A pod volume: the ConfigMap files it holds."""

    name: str
    node: Node
    entries: list[Entry] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    #: The volume's type when it is not backed by ConfigMaps (hostPath, secret, ...).
    other_type: str | None = None


@dataclass(frozen=True)
class Mount:
    """One volumeMount of the agent's container (``path`` normalised)."""

    volume: str
    path: str
    sub_path: str
    node: Node

    @property
    def sub_path_node(self) -> Node:
        """Where the mount names its subPath (the mount itself when it names none)."""
        return self.node.get("subPath") or self.node.get("subPathExpr") or self.node


@dataclass
class Wiring:
    """The config directory as the agent sees it, and the findings about its wiring."""

    files: list[MountedFile] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class WiringReader:
    """Reads one agent container's volumes against the ConfigMaps among the inputs."""

    def __init__(
        self,
        workload: KubeObject,
        pod_spec: Node,
        container: Node,
        flavour: Flavour,
        objects: ClusterObjects,
    ) -> None:
        self.workload = workload
        self.pod_spec = pod_spec
        self.container = container
        self.flavour = flavour
        self.objects = objects
        self.config_dir = posixpath.normpath(flavour.config_dir)
        self.wiring = Wiring()

    def read(self) -> Wiring:
        """Every file of the config directory, and the wiring findings."""
        mounts = self._mounts()
        volumes = {name: self._volume(name, node) for name, node in self._volume_nodes().items()}
        checked: set[str] = set()
        for mount in mounts:
            if mount.volume in volumes and mount.volume not in checked:
                checked.add(mount.volume)
                self._check_volume(volumes[mount.volume])
        base = self._base_mount(mounts)
        files: dict[str, tuple[Entry, Mount]] = {}
        if base is not None and base.volume in volumes:
            files.update(self._top_level(volumes[base.volume], base))
        for mount in mounts:
            parent, name = posixpath.split(mount.path)
            if parent == self.config_dir:
                files.pop(name, None)  # a mount onto the directory's file hides that file
                if mount.volume in volumes:
                    files.update(self._file_mount(volumes[mount.volume], mount, name))
        for filename, (entry, mount) in sorted(files.items()):
            self.wiring.files.append(self._mounted_file(filename, entry, mount))
        for mount in {id(mount): mount for _, mount in files.values() if mount.sub_path}.values():
            self._sub_path(mount)
        self._check_unread_files()
        explained = any(f.rule in ("MASQ043", "MASQ046") for f in self.wiring.findings)
        if not files and not explained:
            self._check_not_mounted(volumes, mounts, base)
        return self.wiring

    # -- reading the spec ----------------------------------------------------------

    def _mounts(self) -> list[Mount]:
        mounts = self.container.get("volumeMounts")
        result = []
        for node in mounts.value if mounts is not None and mounts.kind == SEQ else []:
            path = scalar_text(node.get("mountPath"))
            sub_path = scalar_text(node.get("subPath")) or scalar_text(node.get("subPathExpr"))
            if path:
                name = scalar_text(node.get("name"))
                result.append(Mount(name, posixpath.normpath(path), sub_path, node))
        return result

    def _volume_nodes(self) -> dict[str, Node]:
        volumes = self.pod_spec.get("volumes")
        return {
            scalar_text(node.get("name")): node
            for node in (volumes.value if volumes is not None and volumes.kind == SEQ else [])
            if node.kind == MAP
        }

    def _volume(self, name: str, node: Node) -> Volume:
        volume = Volume(name, node)
        projected = node.get("projected")
        if _has_key(node, "configMap"):
            self._configmap_source(volume, node, projected=False)
        elif projected is not None and projected.kind == MAP:
            sources = projected.get("sources")
            for source in sources.value if sources is not None and sources.kind == SEQ else []:
                if _has_key(source, "configMap"):
                    self._configmap_source(volume, source, projected=True)
        else:
            volume.other_type = next(
                (str(key.value) for key, _ in node.items() if key.value != "name"), None
            )
        return volume

    def _configmap_source(self, volume: Volume, holder: Node, projected: bool) -> None:
        """The entries of the configMap source under key ``configMap`` of ``holder``."""
        source = holder.get("configMap")
        if source is None or source.kind != MAP:
            self._null_source(holder, projected)
            return
        name = scalar_text(source.get("name"))
        optional = is_true(source.get("optional"))
        name_node = source.get("name") or source
        volume.sources.append(Source(name, optional, name_node))
        found = self.objects.configmap(name, self.workload.namespace)
        keys = configmap_keys(found.node) if found is not None else {}
        items = source.get("items")
        if items is not None and items.kind == SEQ:
            for item in items.value:
                key = scalar_text(item.get("key"))
                path = posixpath.normpath(scalar_text(item.get("path")) or key)
                volume.entries.append(Entry(path, name, key, optional, item, found, keys.get(key)))
        elif found is not None:
            volume.entries.extend(
                Entry(key, name, key, optional, name_node, found, value)
                for key, value in keys.items()
            )

    # -- laying out the config directory --------------------------------------------

    def _base_mount(self, mounts: list[Mount]) -> Mount | None:
        """The deepest mount at the config directory or above it."""
        covering = [
            mount
            for mount in mounts
            if mount.path == self.config_dir
            or self.config_dir.startswith(mount.path.rstrip("/") + "/")
        ]
        return max(covering, key=lambda mount: len(mount.path), default=None)

    def _top_level(self, volume: Volume, mount: Mount) -> list[tuple[str, tuple[Entry, Mount]]]:
        """The files a mount at (or above) the config directory puts in it."""
        if mount.sub_path:
            file = next(
                (e for e in volume.entries if e.path == posixpath.normpath(mount.sub_path)), None
            )
            if file is not None:
                self._not_a_directory(mount, file)
                return []
        below = posixpath.relpath(self.config_dir, mount.path)
        prefix = posixpath.normpath(posixpath.join(mount.sub_path, below))
        prefix = "" if prefix == "." else prefix + "/"
        files = []
        for entry in volume.entries:
            if not entry.path.startswith(prefix):
                continue
            relative = entry.path[len(prefix) :]
            if "/" in relative:
                self._directory(
                    relative.split("/", 1)[0],
                    entry.node.get("path") or entry.node,
                    f"key {entry.key} of ConfigMap {entry.configmap} is mounted as "
                    f"{self.config_dir}/{relative}",
                )
            else:
                files.append((relative, (entry, mount)))
        return files

    def _file_mount(
        self, volume: Volume, mount: Mount, name: str
    ) -> list[tuple[str, tuple[Entry, Mount]]]:
        """A mount onto config_dir/name: one file through subPath, else a directory."""
        if not mount.sub_path:
            self._directory(
                name,
                mount.node.get("mountPath") or mount.node,
                f"volume {mount.volume} is mounted at {mount.path}",
            )
            return []
        sub_path = posixpath.normpath(mount.sub_path)
        return [(name, (entry, mount)) for entry in volume.entries if entry.path == sub_path]

    def _mounted_file(self, filename: str, entry: Entry, mount: Mount) -> MountedFile:
        return MountedFile(
            filename=filename,
            configmap=entry.configmap,
            namespace=self.workload.namespace,
            key=entry.key,
            optional=entry.optional,
            read=self.flavour.reads_file(filename),
            node=entry.node,
            configmap_node=entry.found.node if entry.found is not None else None,
            value=entry.value,
            configmap_file=entry.found.file if entry.found is not None else None,
            sub_path=bool(mount.sub_path),
        )

    # -- checks -----------------------------------------------------------------------

    def _add(
        self, rule: str, node: Node, entry: str, message: str, severity: str | None = None
    ) -> None:
        origin = self.workload.origin(node, entry)
        self.wiring.findings.append(finding_at(rule, origin, message, severity))

    def _null_source(self, holder: Node, projected: bool) -> None:
        """``configMap:`` with nothing under it (its fields indented beside it)."""
        key_node = next(key for key, _ in holder.items() if key.value == "configMap")
        keys = [str(key.value) for key, _ in holder.items()]
        # A volume has a name of its own: only a second one is the ConfigMap's.
        if not projected and "name" in keys:
            keys.remove("name")
        beside = list(dict.fromkeys(key for key in keys if key in CONFIGMAP_FIELDS))
        if projected:
            consequence = "this source projects nothing (strict field validation refuses it)"
        else:
            consequence = "the volume has no source and the API server refuses the object"
        shape = (
            f"{', '.join(beside)} stand beside configMap instead of under it, so Kubernetes "
            "reads configMap: null"
            if beside
            else "configMap is null"
        )
        self._add(
            "MASQ046",
            key_node,
            "configMap",
            f"{shape}: {consequence}, and the agent never sees the ConfigMap",
        )

    def _check_volume(self, volume: Volume) -> None:
        """ConfigMaps not found, keys missing, modes written in decimal."""
        reported: set[str] = set()
        for source in volume.sources:
            if source.name in reported:
                continue
            reported.add(source.name)
            if self.objects.configmap(source.name, self.workload.namespace) is None:
                self._configmap_not_found(volume, source)
        for entry in volume.entries:
            if entry.found is not None and entry.value is None:
                self._missing_key(entry)
        for mode in _mode_nodes(volume.node):
            self._check_mode(mode)

    def _configmap_not_found(self, volume: Volume, source: Source) -> None:
        name = source.name
        if source.optional:
            missing = "the source is optional, so the agent runs without it"
        else:
            missing = (
                "the source is not optional, so the pod stays in ContainerCreating "
                f'(MountVolume.SetUp failed: configmap "{name}" not found)'
            )
        elsewhere = self.objects.configmap_elsewhere(name, self.workload.namespace)
        if elsewhere is not None:
            message = (
                f"ConfigMap {name} is in namespace {elsewhere.namespace}, the "
                f"{self.workload.kind} in {self.workload.namespace}: pods mount only ConfigMaps "
                f"of their own namespace; {missing}"
            )
        else:
            where = f"{self.workload.namespace}/{name}" if self.workload.namespace else name
            message = (
                f"ConfigMap {where} (volume {volume.name}) is not among the inputs: masqctl "
                f"cannot check what the agent reads; if it does not exist, {missing}"
            )
        self._add("MASQ040", source.node, "configMap.name", message)

    def _missing_key(self, entry: Entry) -> None:
        """An items key the ConfigMap lacks; a key mismatch when it holds the config under
        the other agent key."""
        assert entry.found is not None
        keys = configmap_keys(entry.found.node)
        if entry.optional:
            consequence = (
                f"the kubelet skips the item (optional: true), so there is no "
                f"{self.config_dir}/{entry.path}"
            )
        else:
            consequence = (
                "the volume cannot be mounted (configmap references non-existent config key: "
                f"{entry.key}) and the pod stays in ContainerCreating"
            )
        key_node = entry.node.get("key") or entry.node
        others = [key for key in keys if holds_config(key)]
        if holds_config(entry.key) and others:
            self._add(
                "MASQ042",
                key_node,
                "items.key",
                f"the {self.workload.kind} mounts key {entry.key} of ConfigMap "
                f"{entry.found.label}, whose config is under key {others[0]} ({entry.found.file}:"
                f"{keys[others[0]].line}): {consequence}",
            )
        else:
            self._add(
                "MASQ041",
                key_node,
                "items.key",
                f"ConfigMap {entry.found.label} has no key {entry.key} (its keys: "
                f"{', '.join(keys) or 'none'}): {consequence}",
            )

    def _check_mode(self, node: Node) -> None:
        """``444`` written for 0444; ``644`` for 0644, a number the API server refuses."""
        written = node.raw or str(node.value)
        if not re.fullmatch(r"[1-7][0-7]{2}", written):
            return
        meant = int(written, 8)
        fix = f"write 0{written} or {meant}"
        if node.value > MAX_MODE:
            self._add(
                "MASQ047",
                node,
                "mode",
                f"mode {written} is decimal, above 0777 ({MAX_MODE}): the API server refuses "
                f"the {self.workload.kind} (Invalid value: {written}: {MODE_RANGE}); {fix}",
                ERROR,
            )
        elif _usual_mode(meant) and not _usual_mode(node.value):
            self._add(
                "MASQ047",
                node,
                "mode",
                f"mode {written} is decimal: the file mode 0{node.value:o} "
                f"({_permissions(node.value)}), not 0{meant:o} ({_permissions(meant)}); {fix}",
            )

    def _not_a_directory(self, mount: Mount, file: Entry) -> None:
        """A subPath mount that makes the config directory (or one above it) a file."""
        self._add(
            "MASQ043",
            mount.sub_path_node,
            "subPath",
            f"volume {mount.volume} is mounted at {mount.path} through subPath "
            f"{mount.sub_path}, the file of key {file.key} of ConfigMap {file.configmap}: "
            f"{self.config_dir} is then no directory, and the agent fails to read its config "
            f"there (not a directory): {self.flavour.failure}",
        )

    def _directory(self, name: str, node: Node, what: str) -> None:
        """A subdirectory of the config directory, which no agent reads into."""
        if self.flavour.reads_file(name):
            consequence = (
                f"{self.config_dir}/{name} is a directory, which the agent cannot read as its "
                "config"
            )
        else:
            consequence = "the agent reads no subdirectory, so it never sees the file"
        self._add("MASQ043", node, "items.path", f"{what}: {consequence}")

    def _sub_path(self, mount: Mount) -> None:
        self._add(
            "MASQ045",
            mount.sub_path_node,
            "subPath",
            f"volume {mount.volume} is mounted at {mount.path} through subPath "
            f"{mount.sub_path}: the kubelet never updates subPath mounts, so the agent keeps "
            "the ConfigMap as it was when the pod started",
        )

    def _check_unread_files(self) -> None:
        """Files the flavour does not read, where they hold its config (or nothing is read)."""
        files = self.wiring.files
        any_read = any(mounted.read for mounted in files)
        for mounted in files:
            if mounted.read or (any_read and not holds_config(mounted.key)):
                continue
            how = (
                f"items maps key {mounted.key} to path {mounted.filename}"
                if mounted.node.get("key") is not None
                else f"without items, key {mounted.key} is mounted under its own name"
            )
            self._add(
                "MASQ043",
                mounted.node.get("path") or mounted.node,
                "items.path",
                f"{how}, {self.config_dir}/{mounted.filename} (ConfigMap {mounted.configmap}), "
                f"which {self.flavour.title} does not read",
            )

    def _check_not_mounted(
        self, volumes: dict[str, Volume], mounts: list[Mount], base: Mount | None
    ) -> None:
        """No ConfigMap file reaches the config directory: say why, where masqctl can."""
        container = scalar_text(self.container.get("name"))
        if base is not None and base.volume in volumes:
            volume = volumes[base.volume]
            if volume.other_type is not None:
                self._add(
                    "MASQ044",
                    base.node,
                    "volumeMounts",
                    f"{self.config_dir} is volume {volume.name} ({volume.other_type}), not a "
                    "ConfigMap: masqctl cannot see the files the agent reads there",
                )
            return  # a ConfigMap volume: the findings above say why it shows no file
        mounted = {mount.volume for mount in mounts}
        elsewhere = [m for m in mounts if m.volume in volumes and volumes[m.volume].sources]
        unmounted = [v for v in volumes.values() if v.sources and v.name not in mounted]
        if elsewhere:
            mount = elsewhere[0]
            volume = volumes[mount.volume]
            node, entry = mount.node.get("mountPath") or mount.node, "mountPath"
            what = (
                f"volume {volume.name} (ConfigMap {volume.sources[0].name}) is mounted at "
                f"{mount.path}, but the agent reads {self.config_dir}"
            )
        elif unmounted:
            volume = unmounted[0]
            node, entry = volume.node, "volumes"
            what = (
                f"volume {volume.name} (ConfigMap {volume.sources[0].name}) is not mounted by "
                f"container {container}"
            )
        else:
            node, entry = self.container, "volumeMounts"
            what = f"container {container} mounts no ConfigMap at {self.config_dir}"
        self._add("MASQ044", node, entry, f"{what}: the agent runs on its defaults")


def _has_key(node: Node, key: str) -> bool:
    return any(name.value == key for name, _ in node.items())


def _mode_nodes(volume: Node) -> list[Node]:
    """Every integer ``defaultMode`` and ``mode`` of a volume."""
    found: list[Node] = []
    pending = [volume]
    while pending:
        node = pending.pop()
        if node.kind == SEQ:
            pending.extend(node.value)
        for key, value in node.items():
            if key.value in ("defaultMode", "mode") and value.kind == SCALAR and value.tag == INT:
                found.append(value)
            else:
                pending.append(value)
    return sorted(found, key=lambda node: (node.line, node.column))


_USUAL_TRIADS = (0, 4, 5, 6, 7)


def _usual_mode(mode: int) -> bool:
    """A usual file mode: owner, group and other each none, r, r-x, rw or rwx, and each
    allowed no more than the one before."""
    if not 0 <= mode <= 0o777:
        return False
    owner, group, other = mode >> 6, (mode >> 3) & 7, mode & 7
    usual = all(triad in _USUAL_TRIADS for triad in (owner, group, other))
    return usual and group & ~owner == 0 and other & ~group == 0


def _permissions(mode: int) -> str:
    return "".join(
        letter if mode & (1 << (8 - index)) else "-" for index, letter in enumerate("rwxrwxrwx")
    )
