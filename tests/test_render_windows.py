"""render --format windows-v1|windows-v2: the OutBoundNAT policy and --cni-conf editing.

The corpus configs (tests/data/cni/README.md names their sources) must come out with
nothing changed but their exception list: same keys in the same order, same values, and a
text diff that touches only the lines of that list.
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from masqctl.agent import AgentFlags
from masqctl.cli import run_app
from masqctl.config.json_reader import read_json_document
from masqctl.errors import MasqctlError
from masqctl.render import json_source
from tests.rendering import render_output

CNI = Path(__file__).parent / "data" / "cni"
CORPUS = {
    "win-bridge-sample-v1.conf": ("value", "ExceptionList"),
    "win-bridge-flannel-sample-v2.conf": ("value", "Settings", "Exceptions"),
    "win-overlay-sample-v2.conf": ("value", "Settings", "Exceptions"),
}
DEFAULT_EXCEPTIONS = ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
CONFIG = """\
nonMasqueradeCIDRs:
  - 10.244.0.0/16
  - fd00:10:244::/56
  - 10.96.0.0/12
masqLinkLocal: true
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return str(path)


def render(
    output_format: str = "windows-v1",
    config: str | None = None,
    cni_conf: Path | str | None = None,
    *,
    write: bool = False,
    family: str = "ipv4",
    **flags: object,
) -> str:
    return render_output(
        config,
        AgentFlags(**flags),  # type: ignore[arg-type]
        family,
        output_format,
        None if cni_conf is None else str(cni_conf),
        write,
    )


def ordered(text: str) -> object:
    """The JSON value with every object as a list of (key, value): key order counts."""
    return json.loads(text, object_pairs_hook=list)


def without_exceptions(text: str, where: tuple[str, ...]) -> object:
    """The parsed config with the first OutBoundNAT exception list emptied."""
    document = json.loads(text)
    holder = document.get("delegate", document)
    for policy in holder["policies"]:
        node = policy
        for key in where[:-1]:
            node = node.get(key, {})
        if where[-1] in node:
            node[where[-1]] = []
            break
    return json.dumps(document)  # dicts keep the file's key order


def list_lines(text: str, key: str) -> range:
    """The line numbers of the items of the first multi-line list named ``key``."""
    lines = text.splitlines()
    opening = next(n for n, line in enumerate(lines) if f'"{key}"' in line)
    closing = next(n for n in range(opening, len(lines)) if lines[n].strip().startswith("]"))
    return range(opening + 1, closing)


# The policy on its own


def test_default_policy_v1_exempts_link_local_then_the_agents_default_ranges() -> None:
    assert render("windows-v1") == (
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", "ExceptionList": '
        '["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}\n'
    )


def test_default_policy_v2_puts_the_exceptions_under_settings() -> None:
    assert render("windows-v2") == (
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", "Settings": '
        '{"Exceptions": ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}}\n'
    )


def test_all_reserved_ranges_follow_the_rfc1918_ranges_in_the_agents_order() -> None:
    policy = json.loads(render("windows-v1", nomasq_all_reserved_ranges=True))
    assert policy["value"]["ExceptionList"] == [
        *DEFAULT_EXCEPTIONS,
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
    ]


def test_config_order_kept_and_masq_link_local_drops_the_link_local_exception(
    config: str,
) -> None:
    assert render("windows-v1", config, enable_ipv6=True) == (
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", "ExceptionList": '
        '["10.244.0.0/16", "10.96.0.0/12"]}}\n'
    )


def test_ipv6_policy_is_its_own_family_with_fe80_unless_masq_link_local_ipv6(
    config: str,
) -> None:
    assert render("windows-v2", config, family="ipv6", enable_ipv6=True) == (
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", "Settings": '
        '{"Exceptions": ["fe80::/10", "fd00:10:244::/56"]}}}\n'
    )


def test_ipv6_policy_needs_enable_ipv6() -> None:
    with pytest.raises(MasqctlError, match="without --enable-ipv6"):
        render("windows-v1", family="ipv6")


def test_write_needs_a_cni_conf() -> None:
    with pytest.raises(MasqctlError, match="--write needs --cni-conf"):
        render("windows-v1", write=True)


def test_cli_prints_the_policy_and_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_app(["render", "--format", "windows-v2"]) == 0
    assert json.loads(capsys.readouterr().out)["value"]["Settings"]["Exceptions"] == (
        DEFAULT_EXCEPTIONS
    )
    missing = tmp_path / "missing.conf"
    assert run_app(["render", "-o", "windows-v1", "--cni-conf", str(missing)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        f"masqctl: {missing}: cannot read: No such file or directory\n",
    )


# --cni-conf: the real sample configs


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("output_format", ["windows-v1", "windows-v2"])
def test_corpus_config_changes_nothing_but_its_exceptions(name: str, output_format: str) -> None:
    original = (CNI / name).read_text()
    output = render(output_format, cni_conf=CNI / name, nomasq_all_reserved_ranges=True)
    where = CORPUS[name]
    assert ordered(without_exceptions(output, where)) == ordered(
        without_exceptions(original, where)
    )
    old, new = list_lines(original, where[-1]), list_lines(output, where[-1])
    before, after = original.splitlines(), output.splitlines()
    assert before[: old.start] == after[: new.start]
    assert before[old.stop :] == after[new.stop :]
    indent = before[old.start][: len(before[old.start]) - len(before[old.start].lstrip())]
    reserved = json.loads(render("windows-v1", nomasq_all_reserved_ranges=True))
    cidrs = reserved["value"]["ExceptionList"]
    assert after[new.start : new.stop] == [
        f"{indent}{json.dumps(cidr)}{',' if n < len(cidrs) - 1 else ''}"
        for n, cidr in enumerate(cidrs)
    ]


def test_corpus_outputs_are_what_the_plugins_would_read() -> None:
    for name, where in CORPUS.items():
        policy = json.loads(render(cni_conf=CNI / name))
        policy = policy.get("delegate", policy)["policies"][0]
        for key in where:
            policy = policy[key]
        assert policy == DEFAULT_EXCEPTIONS, name


def test_flannel_delegate_v2_exact_output(config: str) -> None:
    assert (
        render("windows-v2", config, CNI / "win-bridge-flannel-sample-v2.conf", enable_ipv6=True)
        == """\
{
    "name":"cbr0",
    "type":"flannel",
    "delegate":{
        "apiVersion":2,
        "type":"win-bridge",
        "dns":{
            "nameservers":[
                "11.0.0.10"
            ],
            "search":[
                "svc.cluster.local"
            ]
        },
        "policies":[
            {
                "name":"EndpointPolicy",
                "value":{
                    "Type":"OutBoundNAT",
                    "Settings":{
                        "Exceptions":[
                            "10.244.0.0/16",
                            "10.96.0.0/12"
                        ]
                    }
                }
            },
            {
                "name":"EndpointPolicy",
                "value":{
                    "Type":"SDNRoute",
                    "Settings":{
                        "DestinationPrefix":"11.0.0.0/8",
                        "NeedEncap":true
                    }
                }
            },
            {
                "name":"EndpointPolicy",
                "value":{
                    "Type":"SDNRoute",
                    "Settings":{
                        "DestinationPrefix":"10.137.198.27/32",
                        "NeedEncap":true
                    }
                }
            },
            {
                "name":"EndpointPolicy",
                "value":{
                    "Type":"OutBoundNAT",
                    "Settings":{
                        "Exceptions":[
                            "fe80::/10",
                            "fd00:10:244::/56"
                        ]
                    }
                }
            }
        ],
        "loopbackDSR":true
    }
}
"""
    )


def test_api_version_comes_from_the_file_not_the_format() -> None:
    v1 = CNI / "win-bridge-sample-v1.conf"
    v2 = CNI / "win-overlay-sample-v2.conf"
    assert render("windows-v2", cni_conf=v1) == render("windows-v1", cni_conf=v1)
    assert render("windows-v1", cni_conf=v2) == render("windows-v2", cni_conf=v2)


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    original = (CNI / "win-bridge-sample-v1.conf").read_text().replace("\n", "\r\n")
    crlf = tmp_path / "crlf.conf"
    crlf.write_bytes(original.encode())
    output = render(cni_conf=crlf)
    assert output.count("\r\n") == output.count("\n")
    assert output.replace("\r\n", "\n") == render(cni_conf=CNI / "win-bridge-sample-v1.conf")


# --cni-conf: fixtures of our own (tests/data/cni/README.md)


def test_conflist_with_flannel_delegate_exact_output(config: str) -> None:
    assert (
        render("windows-v1", config, CNI / "flannel-win-bridge.conflist", enable_ipv6=True)
        == """\
{
  "name": "flannel.4096",
  "cniVersion": "0.3.0",
  "plugins": [
    {
      "type": "flannel",
      "capabilities": {
        "portMappings": true,
        "dns": true
      },
      "delegate": {
        "type": "win-bridge",
        "apiVersion": 2,
        "policies": [
          {
            "name": "EndpointPolicy",
            "value": {
              "Type": "OutBoundNAT",
              "Settings": {
                "Exceptions": [
                  "10.244.0.0/16",
                  "10.96.0.0/12"
                ]
              }
            }
          },
          {
            "name": "EndpointPolicy",
            "value": {
              "Type": "SDNRoute",
              "Settings": {
                "DestinationPrefix": "10.96.0.0/12",
                "NeedEncap": true
              }
            }
          },
          {
            "name": "EndpointPolicy",
            "value": {
              "Type": "OutBoundNAT",
              "Settings": {
                "Exceptions": [
                  "fe80::/10",
                  "fd00:10:244::/56"
                ]
              }
            }
          }
        ]
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
"""
    )


def test_missing_exception_policy_is_appended_and_loopback_dsr_left_alone() -> None:
    source = CNI / "win-bridge-loopback-dsr-v1.conf"
    original = source.read_text()
    output = render("windows-v1", cni_conf=source)
    dsr_end = original.index('  ],\n  "loopbackDSR"')
    assert (
        output
        == original[:dsr_end].rstrip("\n")
        + """,
    {
      "name": "EndpointPolicy",
      "value": {
        "Type": "OutBoundNAT",
        "ExceptionList": [
          "169.254.0.0/16",
          "10.0.0.0/8",
          "172.16.0.0/12",
          "192.168.0.0/16"
        ]
      }
    }
"""
        + original[dsr_end:]
    )


def test_empty_policies_list_in_a_compact_file_gets_a_compact_policy() -> None:
    assert render("windows-v1", cni_conf=CNI / "win-overlay-compact-empty-v2.conf") == (
        '{"cniVersion":"0.3.1","name":"cbr0","type":"win-overlay","apiVersion":2,'
        '"policies":[{"name":"EndpointPolicy","value":{"Type":"OutBoundNAT","Settings":'
        '{"Exceptions":["169.254.0.0/16","10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]}}}]}'
    )


def test_empty_lists_in_an_indented_file_are_laid_out_one_level_deeper(tmp_path: Path) -> None:
    conf = tmp_path / "empty.conf"
    conf.write_text('{\n    "type": "win-bridge",\n    "policies": []\n}\n')
    assert (
        render(cni_conf=conf, config=None)
        == """\
{
    "type": "win-bridge",
    "policies": [
        {
            "name": "EndpointPolicy",
            "value": {
                "Type": "OutBoundNAT",
                "ExceptionList": [
                    "169.254.0.0/16",
                    "10.0.0.0/8",
                    "172.16.0.0/12",
                    "192.168.0.0/16"
                ]
            }
        }
    ]
}
"""
    )


def test_ipv6_only_policy_is_the_ipv6_one_and_a_mixed_list_is_split(
    tmp_path: Path, config: str
) -> None:
    conf = tmp_path / "dual.conf"
    conf.write_text(
        '{"type": "win-bridge", "policies": ['
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["fd00::/8"]}}, '
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["10.0.0.0/8", "fd01::/16"]}}]}'
    )
    assert render(config=config, cni_conf=conf, enable_ipv6=True) == (
        '{"type": "win-bridge", "policies": ['
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["fe80::/10", "fd00:10:244::/56"]}}, '
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["10.244.0.0/16", "10.96.0.0/12"]}}]}'
    )
    # Without --enable-ipv6 the agent leaves IPv6 alone, and so does masqctl.
    assert render(cni_conf=conf).startswith(
        '{"type": "win-bridge", "policies": ['
        '{"name": "EndpointPolicy", "value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["fd00::/8"]}}'
    )


def test_keys_go_decodes_case_insensitively_and_exact_policy_fields(tmp_path: Path) -> None:
    conf = tmp_path / "case.conf"
    conf.write_text(
        '{"ApiVersion": 1, "Policies": ['
        '{"Name": "endpointpolicy", "Value": {"Type": "OutBoundNAT", '
        '"ExceptionList": []}}, '
        '{"name": "EndpointPolicy", "value": {"type": "OutBoundNAT", '
        '"ExceptionList": ["1.2.3.0/24"]}}]}'
    )
    assert render(cni_conf=conf) == (
        '{"ApiVersion": 1, "Policies": ['
        '{"Name": "endpointpolicy", "Value": {"Type": "OutBoundNAT", '
        '"ExceptionList": ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", '
        '"192.168.0.0/16"]}}, '
        '{"name": "EndpointPolicy", "value": {"type": "OutBoundNAT", '
        '"ExceptionList": ["1.2.3.0/24"]}}]}'
    )


def test_v2_policy_type_and_settings_match_in_any_case_as_hcn_decodes_them(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "case.conf"
    conf.write_text(
        '{"apiVersion": 2, "policies": [{"name": "EndpointPolicy", "value": '
        '{"type": "OutBoundNAT", "settings": {"Exceptions": ["10.0.0.0/8"]}}}]}'
    )
    assert render(cni_conf=conf) == (
        '{"apiVersion": 2, "policies": [{"name": "EndpointPolicy", "value": '
        '{"type": "OutBoundNAT", "settings": {"Exceptions": ["169.254.0.0/16", "10.0.0.0/8", '
        '"172.16.0.0/12", "192.168.0.0/16"]}}}]}'
    )


def test_v1_style_list_in_a_v2_file_is_not_what_the_plugin_reads(tmp_path: Path) -> None:
    conf = tmp_path / "mixed.conf"
    conf.write_text(
        '{"apiVersion": 2, "policies": [{"name": "EndpointPolicy", "value": '
        '{"Type": "OutBoundNAT", "ExceptionList": ["10.0.0.0/8"]}}]}'
    )
    output = json.loads(render(cni_conf=conf))
    assert output["policies"][0]["value"]["ExceptionList"] == ["10.0.0.0/8"]
    assert output["policies"][1]["value"]["Settings"]["Exceptions"] == DEFAULT_EXCEPTIONS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{\n  "policies": [\n    {"a": 1,}\n  ]\n}\n',
            ":3:13: invalid JSON: invalid character '}' looking for beginning of object key string",
        ),
        ('{"policies": []} x', ":1:18: invalid JSON: invalid character 'x' after top-level value"),
        (
            '{"policies": [NaN]}',
            ":1:15: invalid JSON: invalid character 'N' looking for beginning of value",
        ),
        ('{"policies": [', ":1:15: invalid JSON: unexpected end of JSON input"),
        (" []", ":1:2: a CNI config is a JSON object"),
        ('{"type": "win-bridge"}', ': no "policies" list found'),
        ('{"apiVersion": "2", "policies": []}', ":1:16: apiVersion must be a whole number"),
        (
            '{"apiVersion": 1e400, "policies": []}',
            ":1:16: apiVersion must be a whole number (1 or 2); the plugins fail on 1e400",
        ),
        ('\ufeff{"policies": []}', ":1:1: starts with a UTF-8 byte order mark"),
        (
            '{"type": "win-bridge", "policies": [5]}',
            ":1:37: policies[0] is a number, not an object: the plugin cannot decode it",
        ),
    ],
)
def test_unusable_cni_conf_is_one_error_line(tmp_path: Path, content: str, message: str) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(content, encoding="utf-8")
    with pytest.raises(MasqctlError) as caught:
        render(cni_conf=conf)
    assert str(caught.value).startswith(f"{conf}{message}")
    assert "\n" not in str(caught.value)


# --write


def test_write_replaces_the_file_keeps_a_backup_mode_and_symlink(tmp_path: Path) -> None:
    original = (CNI / "win-bridge-sample-v1.conf").read_bytes()
    target = tmp_path / "10-win-bridge.conf"
    target.write_bytes(original)
    target.chmod(0o640)
    link = tmp_path / "link.conf"
    link.symlink_to(target.name)
    expected = render(cni_conf=target)

    message = render(cni_conf=link, write=True)

    assert message == (
        f"{link}: OutBoundNAT exceptions updated (previous version kept as {target}.bak)\n"
    )
    assert link.is_symlink()
    assert target.read_text() == expected
    assert Path(f"{target}.bak").read_bytes() == original
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == [
        "10-win-bridge.conf",
        "10-win-bridge.conf.bak",
        "link.conf",
    ]
    assert render(cni_conf=target, write=True) == (
        f"{target}: OutBoundNAT exceptions already up to date; file not written\n"
    )
    assert Path(f"{target}.bak").read_bytes() == original


def test_write_refuses_an_unusable_file_and_leaves_it_alone(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text('{"type": "win-bridge"}')
    with pytest.raises(MasqctlError):
        render(cni_conf=conf, write=True)
    assert conf.read_text() == '{"type": "win-bridge"}'
    assert os.listdir(tmp_path) == ["bad.conf"]


# Finding members as the plugins do


def test_members_fold_case_last_wins_or_match_exactly_first_wins() -> None:
    text = '{"Policies": [1], "policies" : [2], "Type": "a", "Type": "b"}'
    root = read_json_document(text)
    assert json_source.member(root, "POLICIES", fold=True).plain() == [2]  # type: ignore[union-attr]
    assert json_source.member(root, "policies").plain() == [2]  # type: ignore[union-attr]
    assert json_source.member(root, "Type").plain() == "a"  # type: ignore[union-attr]
    assert json_source.member(root, "type") is None
    assert json_source.key_separator(text, root) == ": "
    assert json_source.key_separator('{"a" :1}', read_json_document('{"a" :1}')) == " :"


def test_cni_conf_dash_reads_stdin_and_cannot_be_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = CNI / "win-bridge-sample-v1.conf"
    stdin = io.TextIOWrapper(io.BytesIO(source.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert render(cni_conf="-") == render(cni_conf=source)
    with pytest.raises(MasqctlError, match="--write needs a file, not stdin"):
        render(cni_conf="-", write=True)


def test_cni_conf_with_family_ipv6_is_refused(config: str) -> None:
    with pytest.raises(MasqctlError, match="--family does not go with --cni-conf"):
        render(
            config=config,
            cni_conf=CNI / "win-bridge-sample-v1.conf",
            family="ipv6",
            enable_ipv6=True,
        )


def test_write_leaves_a_file_alone_that_changed_since_it_was_read(tmp_path: Path) -> None:
    from masqctl.render.cni_file import write_in_place

    conf = tmp_path / "10-win-bridge.conf"
    conf.write_text('{"policies": [1]}')
    with pytest.raises(MasqctlError, match="changed while masqctl was working"):
        write_in_place(str(conf), '{"policies": []}', '{"policies": [2]}')
    assert conf.read_text() == '{"policies": [1]}'
    assert os.listdir(tmp_path) == ["10-win-bridge.conf"]


def test_policies_written_on_one_line_get_the_new_policy_on_that_line(tmp_path: Path) -> None:
    conf = tmp_path / "inline.conf"
    conf.write_text(
        '{\n\t"type": "win-bridge",\n\t"policies": [{"name": "EndpointPolicy", '
        '"value": {"Type": "ROUTE"}}]\n}\n'
    )
    assert render(cni_conf=conf, nomasq_all_reserved_ranges=False) == (
        '{\n\t"type": "win-bridge",\n\t"policies": [{"name": "EndpointPolicy", '
        '"value": {"Type": "ROUTE"}}, {"name": "EndpointPolicy", "value": {"Type": '
        '"OutBoundNAT", "ExceptionList": ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", '
        '"192.168.0.0/16"]}}]\n}\n'
    )
