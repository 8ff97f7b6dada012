"""diff's check document, its summary line and metrics (offline: dumps, no root)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from masqctl.check import SUMMARY_LIMIT, config_digest, drift_counts, summary_line
from masqctl.entry import main
from masqctl.metrics import exposition, write_atomically

DATA = Path(__file__).parent / "data"
SAVES = DATA / "saves"
CONFIG = str(DATA / "corpus" / "upstream-agent-config.yaml")
TO_PORTS = ["--to-ports", "1024-29999,32768-65535"]
IN_SYNC = (SAVES / "nft-agent-to-ports.txt").read_text()
JUMP = next(line for line in IN_SYNC.splitlines() if line.startswith("-A POSTROUTING"))
RETURN_172 = next(line for line in IN_SYNC.splitlines() if "172.16.0.0/12" in line)
NO_CHAIN = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(autouse=True)
def _node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_NAME", "node-a")


def diff(tmp_path: Path, capsys, dump: str | None, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "dump.txt"
    if dump is not None:
        path.write_text(dump)
    code = main(["diff", "--from", str(path), "-c", CONFIG, *TO_PORTS, *args])
    out, err = capsys.readouterr()
    return code, out, err


def document(tmp_path: Path, capsys, dump: str | None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(diff(tmp_path, capsys, dump, "-o", "json")[1])


def test_json_puts_the_check_in_front_of_diffs_document(tmp_path, capsys) -> None:
    code, out, err = diff(tmp_path, capsys, IN_SYNC, "-o", "json")
    found = json.loads(out)
    check = found["check"]
    assert (code, err, list(found)) == (0, "", ["check", "in_sync", "families"])
    assert TIME.fullmatch(check.pop("checked_at"))
    assert 0 < check.pop("duration_seconds") < 10
    assert check == {
        "node": "node-a",
        "flavour": "upstream",
        "config_digest": "sha256:" + hashlib.sha256(Path(CONFIG).read_bytes()).hexdigest(),
        "masqctl_version": "0.1.0",
        "error": None,
    }
    assert found["in_sync"] is True and found["families"][0]["family"] == "ipv4"


def test_a_check_that_cannot_run_is_a_document_with_its_reason_and_exit_2(tmp_path, capsys) -> None:
    code, out, err = diff(tmp_path, capsys, None, "-o", "json")
    found = json.loads(out)
    message = f"{tmp_path / 'dump.txt'}: cannot read: No such file or directory"
    assert (code, err) == (2, f"masqctl: {message}\n")
    assert (found["check"]["error"], found["in_sync"], found["families"]) == (
        {"reason": "unreadable_input", "message": message},
        None,
        [],
    )


def test_a_config_the_agent_refuses_is_a_failed_check(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text("nonMasqueradeCIDRs:\n  - 10.0.0.1/8\n")
    Path("dump.txt").write_text(IN_SYNC)
    code = main(["diff", "--from", "dump.txt", "-c", "config.yaml", "-o", "summary"])
    out, err = capsys.readouterr()
    refusal = (
        "the agent refuses this config (it writes no rules and keeps the ones it has; a new "
        'node gets none): CIDR "10.0.0.1/8" is not aligned to a CIDR block, ip: "10.0.0.1" '
        'network: "10.0.0.0/8"'
    )
    finding = (
        'config.yaml:2:5: error[MASQ003] CIDR "10.0.0.1/8" has host bits set; the agent '
        "rejects it (did you mean 10.0.0.0/8?)"
    )
    assert code == 2
    assert out == f"check failed (config_rejected): {refusal} {finding}"[:197] + "...\n"
    assert err == f"masqctl: {refusal}\n{finding}\n"


def test_usage_errors_stay_errors_of_the_command(tmp_path, capsys) -> None:
    assert diff(tmp_path, capsys, IN_SYNC, "-o", "json", "--from6", "x") == (
        2,
        "",
        "masqctl: --from6 goes with --enable-ipv6\n",
    )
    assert diff(tmp_path, capsys, IN_SYNC, "--metrics-file", str(tmp_path / "m.prom")) == (
        2,
        "",
        "masqctl: --metrics-file goes with --output prometheus, json or summary\n",
    )
    assert diff(tmp_path, capsys, IN_SYNC, "--watch", "0") == (
        2,
        "",
        "masqctl: --watch: expected seconds above 0, got '0'\n",
    )
    assert not (tmp_path / "m.prom").exists()


@pytest.mark.parametrize(
    ("dump", "counts", "line"),
    [
        (IN_SYNC, {}, "in sync: ipv4 IP-MASQ-AGENT"),
        (
            NO_CHAIN,
            {"chain_missing": 1, "jump_missing": 1},
            "drift: ipv4 IP-MASQ-AGENT: chain missing, jump missing",
        ),
        (
            IN_SYNC.replace(RETURN_172 + "\n", ""),
            {"missing": 1},
            "drift: ipv4 IP-MASQ-AGENT: 1 missing",
        ),
        (
            IN_SYNC.replace(
                RETURN_172,
                RETURN_172 + "\n" + RETURN_172.replace("172.16.0.0/12", "203.0.113.0/24"),
            ),
            {"extra": 1},
            "drift: ipv4 IP-MASQ-AGENT: 1 extra",
        ),
        (
            IN_SYNC.replace(JUMP, f"{JUMP}\n{JUMP}\n{JUMP}"),
            {"jump_duplicated": 2},
            "drift: ipv4 IP-MASQ-AGENT: 3 jumps",
        ),
        (
            IN_SYNC.replace(JUMP, f"{JUMP}\n-A POSTROUTING -s 10.0.0.0/8 -j IP-MASQ-AGENT"),
            {"foreign_jump": 1},
            "in sync: ipv4 IP-MASQ-AGENT",
        ),
        (  # Docker's masquerade, written before the agent appended its jump
            IN_SYNC.replace(
                JUMP, f"-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n{JUMP}"
            ),
            {"foreign_ahead": 1},
            "in sync: ipv4 IP-MASQ-AGENT",
        ),
    ],
    ids=["in-sync", "no-chain", "missing", "extra", "jumps", "foreign", "ahead"],
)
def test_every_kind_of_finding_is_counted_and_summarised(
    tmp_path, capsys, dump: str, counts: dict[str, int], line: str
) -> None:
    found = document(tmp_path, capsys, dump)
    zero = dict.fromkeys(drift_counts({}), 0)
    assert drift_counts(found["families"][0]) == {**zero, **counts}
    assert summary_line(found) == line
    assert diff(tmp_path, capsys, dump, "-o", "summary")[1] == line + "\n"


def test_the_2017_format_is_counted_as_the_agent_left_it(capsys) -> None:
    assert main(["diff", "--from", str(SAVES / "legacy-agent-2017-format.txt"), "-o", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    counts = {"missing": 1, "extra": 1, "comment_only": 4, "old_format": 1, "jump_old_format": 1}
    assert drift_counts(found["families"][0]) == {**dict.fromkeys(drift_counts({}), 0), **counts}
    assert summary_line(found) == (
        "drift: ipv4 IP-MASQ-AGENT: 1 missing, 1 extra, 4 with another comment, old format, "
        "jump in old format"
    )


def test_out_of_order_rules_are_counted(tmp_path, capsys) -> None:
    lines = IN_SYNC.splitlines(keepends=True)
    first = next(index for index, text in enumerate(lines) if text.startswith("-A IP-MASQ-AGENT"))
    lines[first], lines[first + 1] = lines[first + 1], lines[first]
    found = document(tmp_path, capsys, "".join(lines))
    assert drift_counts(found["families"][0])["out_of_order"] == 1
    assert summary_line(found) == "drift: ipv4 IP-MASQ-AGENT: 1 out of order"


def test_the_summary_never_passes_its_limit_in_bytes() -> None:
    failed = {"check": {"error": {"reason": "iptables_failed", "message": "é" * 300}}}
    line = summary_line(failed)
    assert len(line.encode()) <= SUMMARY_LIMIT and line.endswith("é...")
    assert line.startswith("check failed (iptables_failed): éé")


def test_digest_is_sha256sum_of_the_file_or_of_the_digests_of_several(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"nonMasqueradeCIDRs: []\n")
    second.write_bytes(b"masqLinkLocal: true\n")
    sums = [hashlib.sha256(path.read_bytes()).hexdigest() for path in (first, second)]
    assert config_digest([str(first)]) == f"sha256:{sums[0]}"
    both = hashlib.sha256(f"{sums[0]}\n{sums[1]}\n".encode()).hexdigest()
    assert config_digest([str(first), str(second)]) == f"sha256:{both}"
    assert (config_digest(None), config_digest(["-"])) == ("none", "unknown")
    assert config_digest([str(tmp_path / "absent")]) == "unknown"


def test_optional_config_that_is_absent_means_the_agents_defaults(tmp_path, capsys) -> None:
    (tmp_path / "dump.txt").write_text(NO_CHAIN)
    absent = str(tmp_path / "etc" / "ip-masq-agent")
    args = ["diff", "--from", str(tmp_path / "dump.txt"), "-c", absent, "-o", "json"]
    assert main(args) == 2
    assert json.loads(capsys.readouterr().out)["check"]["error"]["reason"] == "unreadable_input"
    assert main([*args, "--optional-config"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["check"]["config_digest"] == "none"
    assert found["families"][0]["missing"] == [] and found["families"][0]["chain_missing"]


def _fixed(found: dict) -> dict:  # type: ignore[type-arg]
    found["check"].update(checked_at="2025-06-01T12:00:00.250Z", duration_seconds=0.0425)
    found["check"]["config_digest"] = "sha256:" + "ab" * 32
    return found


def test_metrics_of_a_drifted_node(tmp_path, capsys) -> None:
    found = _fixed(document(tmp_path, capsys, NO_CHAIN))
    kinds = {"chain_missing": 1, "jump_missing": 1}
    assert exposition(found) == (
        "# HELP masqctl_build_info masqctl's version (always 1).\n"
        "# TYPE masqctl_build_info gauge\n"
        'masqctl_build_info{version="0.1.0"} 1\n'
        "# HELP masqctl_config_info The config the check compared with: sha256 of its files' "
        'bytes ("none": no file, the agent\'s defaults) and the agent flavour (always 1).\n'
        "# TYPE masqctl_config_info gauge\n"
        f'masqctl_config_info{{digest="sha256:{"ab" * 32}",flavour="upstream"}} 1\n'
        "# HELP masqctl_check_success Whether the last check compared the node's rules (1) or "
        "could not (0).\n"
        "# TYPE masqctl_check_success gauge\n"
        "masqctl_check_success 1\n"
        "# HELP masqctl_last_check_timestamp_seconds When the last check started (Unix time).\n"
        "# TYPE masqctl_last_check_timestamp_seconds gauge\n"
        "masqctl_last_check_timestamp_seconds 1748779200.25\n"
        "# HELP masqctl_check_duration_seconds How long the last check took.\n"
        "# TYPE masqctl_check_duration_seconds gauge\n"
        "masqctl_check_duration_seconds 0.0425\n"
        "# HELP masqctl_chain_in_sync Whether the family's chain and POSTROUTING jump are what "
        "the agent writes for the config (1) or drifted (0).\n"
        "# TYPE masqctl_chain_in_sync gauge\n"
        'masqctl_chain_in_sync{family="ipv4",chain="IP-MASQ-AGENT"} 0\n'
        "# HELP masqctl_drift_findings The last check's findings in the family, by kind.\n"
        "# TYPE masqctl_drift_findings gauge\n"
        + "".join(
            f'masqctl_drift_findings{{family="ipv4",kind="{kind}"}} {kinds.get(kind, 0)}\n'
            for kind in drift_counts({})
        )
    )


def test_metrics_of_a_failed_check_say_why_and_nothing_about_the_chain(tmp_path, capsys) -> None:
    text = exposition(_fixed(document(tmp_path, capsys, None)))
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert samples == [
        'masqctl_build_info{version="0.1.0"} 1',
        f'masqctl_config_info{{digest="sha256:{"ab" * 32}",flavour="upstream"}} 1',
        "masqctl_check_success 0",
        'masqctl_check_failure_info{reason="unreadable_input"} 1',
        "masqctl_last_check_timestamp_seconds 1748779200.25",
        "masqctl_check_duration_seconds 0.0425",
    ]


def test_label_values_are_escaped() -> None:
    found = {"check": {"config_digest": 'a"b\\c\nd', "flavour": "x"}, "families": []}
    assert 'masqctl_config_info{digest="a\\"b\\\\c\\nd",flavour="x"} 1\n' in exposition(found)


def test_metrics_file_replaces_the_old_one_readable_by_all_and_leaves_no_temporary(
    tmp_path, capsys
) -> None:
    metrics = tmp_path / "masqctl.prom"
    metrics.write_text("old\n")
    os.chmod(metrics, 0o600)
    code, out, _ = diff(
        tmp_path, capsys, NO_CHAIN, "-o", "prometheus", "--metrics-file", str(metrics)
    )
    assert (code, out) == (1, "")
    assert "masqctl_chain_in_sync" in metrics.read_text()
    assert metrics.stat().st_mode & 0o777 == 0o644
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump.txt", "masqctl.prom"]
    code, out, _ = diff(tmp_path, capsys, NO_CHAIN, "-o", "json", "--metrics-file", str(metrics))
    assert code == 1 and json.loads(out)["in_sync"] is False


def test_a_reader_never_sees_half_a_file(tmp_path, monkeypatch) -> None:
    metrics = tmp_path / "masqctl.prom"
    metrics.write_text("old\n")
    seen: list[str] = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        seen.extend([Path(source).read_text(), metrics.read_text()])
        assert Path(source).parent == tmp_path and Path(source).name.startswith(".masqctl.prom.")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    write_atomically(str(metrics), "new\n")
    assert (seen, metrics.read_text()) == (["new\n", "old\n"], "new\n")


def test_an_unwritable_metrics_directory_is_one_line(tmp_path, capsys) -> None:
    target = tmp_path / "missing" / "masqctl.prom"
    code, _, err = diff(
        tmp_path, capsys, NO_CHAIN, "-o", "prometheus", "--metrics-file", str(target)
    )
    assert (code, err) == (2, f"masqctl: {target}: cannot write: No such file or directory\n")


def test_the_check_names_the_flavour_of_the_daemonset_among_the_inputs(tmp_path, capsys) -> None:
    cluster = DATA / "cluster"
    inputs = [
        "-c",
        str(cluster / "gke-doc-daemonset.yaml"),
        "-c",
        str(cluster / "gke-doc-configmap.yaml"),
    ]
    (tmp_path / "dump.txt").write_text(NO_CHAIN)
    code = main(["diff", "--from", str(tmp_path / "dump.txt"), *inputs, "-o", "json"])
    found = json.loads(capsys.readouterr().out)
    assert (code, found["check"]["flavour"]) == (1, "gke")


def test_the_summary_of_a_chain_name_that_is_not_utf8_keeps_its_bytes() -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed).
    import subprocess
    import sys

    dump = str(SAVES / "nft-agent-to-ports.txt")
    args = ["diff", "-o", "summary", "--masq-chain", b"X\xff", "--from", dump]
    result = subprocess.run(
        [sys.executable, "-m", "masqctl", *args],
        capture_output=True,
        timeout=60,
        check=False,
    )
    summary = b"drift: ipv4 X\xff: chain missing, jump missing\n"
    assert (result.returncode, result.stdout) == (1, summary)
    failed = {"check": {"error": {"reason": "unreadable_input", "message": "\udcff" * 300}}}
    assert len(summary_line(failed).encode("utf-8", "surrogateescape")) <= SUMMARY_LIMIT


def test_the_metrics_file_of_a_chain_name_not_utf8_keeps_its_bytes(tmp_path, capsys) -> None:
    # It was an internal error (UnicodeEncodeError: surrogates not allowed).
    metrics = tmp_path / "masqctl.prom"
    dump = tmp_path / "dump.txt"
    dump.write_text(NO_CHAIN)
    args = ["-o", "prometheus", "--from", str(dump), "--masq-chain", "X\udcff"]
    assert main(["diff", *args, "--metrics-file", str(metrics)]) == 1
    assert capsys.readouterr().out == ""
    line = b'masqctl_chain_in_sync{family="ipv4",chain="X\xff"} 0\n'
    assert line in metrics.read_bytes()
