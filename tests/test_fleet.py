"""masqctl fleet: many nodes' diff results as one report (offline: results made from dumps)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from masqctl.entry import main
from masqctl.fleet import last_document, split_logs

SAVES = Path(__file__).parent / "data" / "saves"
IN_SYNC = (SAVES / "nft-agent-to-ports.txt").read_text()
CONFIG = str(Path(__file__).parent / "data" / "corpus" / "upstream-agent-config.yaml")
RETURN_172 = next(line for line in IN_SYNC.splitlines() if "172.16.0.0/12" in line)
EXTRA = RETURN_172 + "\n" + RETURN_172.replace("172.16.0.0/12", "203.0.113.0/24")
NO_CHAIN = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
DIGEST = "sha256:" + "0123456789ab" * 5 + "cdef"


def result(tmp_path: Path, capsys, node: str, dump: str | None, at: str, **args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The document ``masqctl diff --output json`` prints on ``node`` for ``dump``,
    checked at ``at`` (None: a dump that cannot be read)."""
    path = tmp_path / f"{node}.save"
    if dump is not None:
        path.write_text(dump)
    main(
        [
            "diff",
            "-o",
            "json",
            "--from",
            str(path),
            "-c",
            CONFIG,
            "--to-ports",
            "1024-29999,32768-65535",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    document["check"].update(node=node, checked_at=at, config_digest=DIGEST, **args)
    return document


def fleet(capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    import sys

    real, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        code = main(["fleet", *args])
    finally:
        sys.stdin = real
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def results(tmp_path: Path, capsys) -> Path:  # type: ignore[no-untyped-def]
    """A directory of five nodes' results: one in sync, two with the same extra rule (on
    other lines), one whose check failed, and a file that holds no result."""
    directory = tmp_path / "results"
    directory.mkdir()
    shifted = IN_SYNC.replace("-A POSTROUTING", "-A PREROUTING -j RETURN\n-A POSTROUTING", 1)
    made = {
        "node-a": result(tmp_path, capsys, "node-a", IN_SYNC, "2025-06-01T12:00:01.000Z"),
        "node-b": result(
            tmp_path,
            capsys,
            "node-b",
            IN_SYNC.replace(RETURN_172, EXTRA),
            "2025-06-01T12:00:02.000Z",
        ),
        "node-c": result(
            tmp_path,
            capsys,
            "node-c",
            shifted.replace(RETURN_172, EXTRA),
            "2025-06-01T12:00:03.000Z",
        ),
        "node-d": result(tmp_path, capsys, "node-d", None, "2025-06-01T12:00:04.000Z"),
    }
    for node, document in made.items():
        (directory / f"{node}.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / "node-e.json").write_text("masqctl: iptables-nft-save not found\n")
    (directory / ".masqctl.prom.x1y2.tmp").write_text("not a result\n")
    return directory


def test_the_report_names_every_node_groups_equal_drift_and_totals(
    results: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(results.parent)
    code, out, err = fleet(capsys, "results")
    missing = f"{results.parent / 'node-d.save'}: cannot read: No such file or directory"
    rule = RETURN_172.replace("172.16.0.0/12", "203.0.113.0/24")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "NODE                 STATE         CHECKED                   CONFIG               DETAIL",
        "node-b               drifted       2025-06-01T12:00:02.000Z  sha256:0123456789ab  "
        "ipv4 IP-MASQ-AGENT: 1 extra",
        "node-c               drifted       2025-06-01T12:00:03.000Z  sha256:0123456789ab  "
        "ipv4 IP-MASQ-AGENT: 1 extra",
        "node-d               check failed  2025-06-01T12:00:04.000Z  sha256:0123456789ab  "
        f"unreadable_input: {missing}",
        "results/node-e.json  no result     -                         -                    "
        "no masqctl diff result: masqctl: iptables-nft-save not found",
        "node-a               in sync       2025-06-01T12:00:01.000Z  sha256:0123456789ab",
        "",
        "Nodes that drifted the same way:",
        "  2 nodes: node-b, node-c",
        "    ipv4 IP-MASQ-AGENT:",
        f"      extra rule: {rule}",
        "",
        "Configs compared with:",
        f"  {DIGEST} (upstream): 4",
        "",
        "5 nodes: 1 in sync, 2 drifted, 1 check failed, 1 no result",
    ]


def test_json_gives_each_node_its_state_findings_and_config(results: Path, capsys) -> None:
    code, out, _ = fleet(capsys, str(results), "-o", "json")
    report = json.loads(out)
    assert code == 1
    assert report["counts"] == {"in-sync": 1, "drifted": 2, "check-failed": 1, "no-result": 1}
    nodes = {node["node"]: node for node in report["nodes"]}
    assert nodes["node-b"] == {
        "node": "node-b",
        "state": "drifted",
        "source": str(results / "node-b.json"),
        "detail": "ipv4 IP-MASQ-AGENT: 1 extra",
        "checked_at": "2025-06-01T12:00:02.000Z",
        "config_digest": DIGEST,
        "flavour": "upstream",
        "masqctl_version": "0.1.0",
        "reason": None,
        "findings": {"ipv4": {**dict.fromkeys(nodes["node-a"]["findings"]["ipv4"], 0), "extra": 1}},
    }
    assert (nodes["node-d"]["state"], nodes["node-d"]["reason"]) == (
        "check-failed",
        "unreadable_input",
    )
    assert nodes[str(results / "node-e.json")]["findings"] == {}
    rule = RETURN_172.replace("172.16.0.0/12", "203.0.113.0/24")
    assert report["groups"] == [
        {"nodes": ["node-b", "node-c"], "findings": {"ipv4 IP-MASQ-AGENT": [f"extra rule: {rule}"]}}
    ]
    assert report["configs"] == [{"config_digest": DIGEST, "flavour": "upstream", "nodes": 4}]


def prefixed(pod: str, *lines: str, stamp: str = "") -> str:
    """Lines as ``kubectl logs --prefix`` (``--timestamps``: ``stamp``) prints them."""
    return "".join(f"[pod/{pod}/masqctl] {stamp}{line}\n" for line in lines)


def test_kubectl_logs_on_stdin_give_each_pods_latest_result(tmp_path: Path, capsys) -> None:
    def line(document: dict) -> str:  # type: ignore[type-arg]
        return json.dumps(document, separators=(",", ":"))

    drifted = result(tmp_path, capsys, "node-a", NO_CHAIN, "2025-06-01T12:00:00.000Z")
    healed = result(tmp_path, capsys, "node-a", IN_SYNC, "2025-06-01T12:01:00.000Z")
    failing = result(tmp_path, capsys, "node-b", None, "2025-06-01T12:01:00.000Z")
    logs = (
        prefixed(
            "masqctl-audit-4x7kq", line(drifted), line(healed), stamp="2025-06-01T12:01:00.5Z "
        )
        + "error: a container name must be specified for pod masqctl-audit-zz\n"
        + prefixed(
            "masqctl-audit-9fp2m", "masqctl: " + failing["check"]["error"]["message"], line(failing)
        )
        + prefixed(
            "masqctl-audit-b8w5c", "masqctl: unknown flavour 'azure' (choose from upstream, gke)"
        )
    )
    code, out, _ = fleet(capsys, "-o", "json", stdin=logs)
    nodes = [
        (node["node"], node["state"], node["source"], node["detail"])
        for node in json.loads(out)["nodes"]
    ]
    assert code == 2
    assert nodes == [
        (
            "node-b",
            "check-failed",
            "pod/masqctl-audit-9fp2m/masqctl",
            "unreadable_input: " + failing["check"]["error"]["message"],
        ),
        (
            "pod/masqctl-audit-b8w5c/masqctl",
            "no-result",
            "pod/masqctl-audit-b8w5c/masqctl",
            "no masqctl diff result: masqctl: unknown flavour 'azure' (choose from upstream, gke)",
        ),
        ("node-a", "in-sync", "pod/masqctl-audit-4x7kq/masqctl", ""),
    ]


def test_a_node_seen_twice_counts_once_with_its_latest_check(tmp_path: Path, capsys) -> None:
    old = result(tmp_path, capsys, "node-a", NO_CHAIN, "2025-06-01T12:00:00.000Z")
    new = result(tmp_path, capsys, "node-a", IN_SYNC, "2025-06-01T12:05:00.000Z")
    logs = prefixed("masqctl-audit-new", json.dumps(new)) + prefixed(
        "masqctl-audit-old", json.dumps(old)
    )
    code, out, _ = fleet(capsys, stdin=logs)
    assert (code, out.splitlines()[-1]) == (
        0,
        "1 node: 1 in sync, 0 drifted, 0 check failed, 0 no result",
    )


def test_nodes_without_a_result_are_named_from_the_node_list(tmp_path: Path, capsys) -> None:
    (tmp_path / "node-a.json").write_text(
        json.dumps(result(tmp_path, capsys, "node-a", IN_SYNC, "2025-06-01T12:00:00.000Z"))
    )
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("node/node-a\nnode/node-z\n")
    code, out, _ = fleet(capsys, str(tmp_path / "node-a.json"), "--nodes", str(nodes))
    assert code == 2
    assert out.splitlines()[1].split() == [
        "node-z",
        "no",
        "result",
        "-",
        "-",
        "no",
        "result",
        "for",
        "this",
        "node",
    ]


def test_an_all_in_sync_fleet_exits_0(tmp_path: Path, capsys) -> None:
    for node in ("node-a", "node-b"):
        (tmp_path / node).write_text(
            json.dumps(result(tmp_path, capsys, node, IN_SYNC, "2025-06-01T12:00:00.000Z"))
        )
    code, out, _ = fleet(capsys, str(tmp_path / "node-a"), str(tmp_path / "node-b"))
    assert (code, out.splitlines()[-1]) == (
        0,
        "2 nodes: 2 in sync, 0 drifted, 0 check failed, 0 no result",
    )


def test_no_results_at_all_and_unreadable_files_are_one_line_exit_2(tmp_path: Path, capsys) -> None:
    assert fleet(capsys, str(tmp_path)) == (
        2,
        "",
        f"masqctl: no masqctl diff results in {tmp_path}\n",
    )
    assert fleet(capsys, str(tmp_path / "absent")) == (
        2,
        "",
        f"masqctl: {tmp_path / 'absent'}: cannot read: No such file or directory\n",
    )
    assert fleet(capsys, "-o", "yaml") == (
        2,
        "",
        "masqctl: unknown output 'yaml' (choose from text, json)\n",
    )


EXTRA_192 = "-A IP-MASQ-AGENT -d 192.0.2.0/24 -j RETURN"


def test_nodes_whose_live_drift_differs_only_in_rule_positions_group(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    def live(node: str, chain_rule: int, jump_rules: str) -> str:
        findings = [
            f"POSTROUTING jump to IP-MASQ-AGENT is present only in an old format ({jump_rules})",
            f"extra rule (IP-MASQ-AGENT rule {chain_rule}): {EXTRA_192}",
        ]
        family = {"family": "ipv4", "chain": "IP-MASQ-AGENT", "in_sync": False}
        family["findings"] = findings  # type: ignore[assignment]
        return json.dumps({"check": {"node": node}, "in_sync": False, "families": [family]})

    (tmp_path / "a.json").write_text(live("node-a", 1, "POSTROUTING rule 2"))
    (tmp_path / "b.json").write_text(live("node-b", 4, "POSTROUTING rule 7, POSTROUTING rule 9"))
    code, out, _ = fleet(capsys, "-o", "json", str(tmp_path))
    assert code == 1
    assert json.loads(out)["groups"] == [
        {
            "nodes": ["node-a", "node-b"],
            "findings": {
                "ipv4 IP-MASQ-AGENT": [
                    "POSTROUTING jump to IP-MASQ-AGENT is present only in an old format",
                    f"extra rule: {EXTRA_192}",
                ]
            },
        }
    ]


def test_empty_stdin_is_no_results_at_all_not_a_node(capsys) -> None:  # type: ignore[no-untyped-def]
    assert fleet(capsys, "-", stdin="\n") == (2, "", "masqctl: no masqctl diff results in -\n")


def test_node_list_and_results_cannot_both_come_from_stdin(capsys) -> None:  # type: ignore[no-untyped-def]
    assert fleet(capsys, "--nodes", "-", stdin="node/node-a\n") == (
        2,
        "",
        "masqctl: fleet: --nodes - and results on stdin: give one of them as a file\n",
    )


def test_the_last_result_counts_one_a_line_or_indented_other_lines_skipped() -> None:
    first = '{"families": [], "n": 1}\n'
    indented = '{"families": [],\n  "n": 2\n}\n'
    tail = '{not json\n[1, 2]\n{"other": true}\n{"families": [], "cut sh'
    assert last_document(f"masqctl: warning\n{first}{indented}{tail}") == {"families": [], "n": 2}
    assert last_document(f"{indented}{first}") == {"families": [], "n": 1}
    assert last_document("masqctl: iptables-nft-save not found\n") is None
    assert last_document(f"{first}" + '{"a": ' * 100_000) == {"families": [], "n": 1}


@pytest.mark.parametrize(
    "shape",
    [
        '{"families": 5}',
        '{"families": [5]}',
        '{"maps": {"a": 1}}',
        '{"families": [], "check": 5}',
        '{"families": [], "check": {"error": "boom"}}',
        '{"in_sync": false, "families": [{"jump": 3}]}',
        '{"in_sync": false, "families": [{"jump": {"lines": 5}}]}',
        '{"in_sync": false, "families": [{"missing": 5}]}',
        '{"in_sync": false, "families": [{"findings": "abc"}]}',
        '{"in_sync": false, "families": [{"findings": [1, 2]}]}',
    ],
)
def test_an_object_shaped_otherwise_than_a_result_is_no_result(
    tmp_path: Path, capsys, shape: str
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "node.json").write_text(shape + "\n")
    code, out, err = fleet(capsys, "-o", "json", str(tmp_path))
    (node,) = json.loads(out)["nodes"]
    assert (code, err) == (2, "")
    assert (node["state"], node["detail"]) == ("no-result", f"no masqctl diff result: {shape}")


def test_logs_are_split_by_container_without_kubectls_own_lines_or_timestamps() -> None:
    logs = (
        "[pod/a-1/masqctl] 2025-06-01T12:00:00.123456789Z {}\n"
        "error: something\n"
        "[pod/a-2/masqctl] x\n"
        "[pod/a-1/masqctl] y\n"
    )
    assert split_logs("<stdin>", logs) == [("pod/a-1/masqctl", "{}\ny"), ("pod/a-2/masqctl", "x")]
    assert split_logs("f.json", "{}\n") == [("f.json", "{}\n")]


def test_logs_whose_first_line_is_kubectls_own_are_split_too() -> None:
    logs = "error: container masqctl is waiting to start\n[pod/a-1/masqctl] {}\n"
    assert split_logs("<stdin>", logs) == [("pod/a-1/masqctl", "{}")]


def test_a_node_list_that_is_not_utf8_is_one_line_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # It was an internal error (DocumentError) instead.
    nodes = tmp_path / "nodes.txt"
    nodes.write_bytes(b"node/node-a\nnode/S\xae/x\n")
    assert fleet(capsys, "--nodes", str(nodes), str(tmp_path)) == (
        2,
        "",
        f"masqctl: {nodes}:2:7: not a list of node names: invalid leading UTF-8 octet\n",
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_node_list_with_a_byte_order_mark_names_its_first_node(
    tmp_path: Path, capsys, encoding: str
) -> None:  # type: ignore[no-untyped-def]
    # The mark was part of the first name: "\ufeffnode/node-a" had no result.
    (tmp_path / "node-a.json").write_text(
        json.dumps(result(tmp_path, capsys, "node-a", IN_SYNC, "2025-06-01T12:00:00.000Z"))
    )
    nodes = tmp_path / "nodes.txt"
    nodes.write_bytes("node/node-a\r\n".encode(encoding))
    code, out, err = fleet(capsys, str(tmp_path / "node-a.json"), "--nodes", str(nodes))
    assert (code, out.splitlines()[-1], err) == (
        0,
        "1 node: 1 in sync, 0 drifted, 0 check failed, 0 no result",
        "",
    )
