"""The logging flags an agent binary accepts, by logging library (glog, klog/v2).

An agent that registers these flags on Go's flag package accepts them on its command
line; any other flag makes it exit.  Values are the Go flag kinds of
masqctl.cluster.goflag: ``bool`` flags take no separate value, every other kind does;
``-v`` is each library's Level, whose value is checked as its Set does.
"""

from __future__ import annotations

#: github.com/golang/glog (before v1.1).
GLOG = {
    "alsologtostderr": "bool",
    "log_backtrace_at": "value",
    "log_dir": "string",
    "logtostderr": "bool",
    "stderrthreshold": "value",
    "v": "glog-level",
    "vmodule": "value",
}
#: glog v1.1 and later add two.
GLOG_1_1 = {**GLOG, "log_link": "string", "logbuflevel": "int"}
#: k8s.io/klog/v2 up to v2.130.
KLOG = {
    "add_dir_header": "bool",
    "alsologtostderr": "bool",
    "log_backtrace_at": "value",
    "log_dir": "string",
    "log_file": "string",
    "log_file_max_size": "uint",
    "logtostderr": "bool",
    "one_output": "bool",
    "skip_headers": "bool",
    "skip_log_headers": "bool",
    "stderrthreshold": "value",
    "v": "klog-level",
    "vmodule": "value",
}
#: k8s.io/klog/v2 v2.140 and later add two.
KLOG_2_140 = {
    **KLOG,
    "alsologtostderrthreshold": "value",
    "legacy_stderr_threshold_behavior": "bool",
}


def version_key(version: str | None) -> tuple[int, ...] | None:
    """``v2.12.6-gke.15`` → (2, 12, 6): the release a tag names (None: not a release)."""
    if not version:
        return None
    text = version.removeprefix("v")
    numbers = []
    for part in text.split("."):
        digits = ""
        for char in part:
            if not "0" <= char <= "9":  # str.isdigit takes other scripts' digits too
                break
            digits += char
        if not digits:
            break
        numbers.append(int(digits))
        if len(digits) < len(part):
            break
    return tuple(numbers) if numbers else None
