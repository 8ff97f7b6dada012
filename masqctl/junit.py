"""validate --format junit: JUnit XML, one test case per config, failed by its findings.

The layout is the one Jenkins' JUnit XSD describes (``testsuites`` > ``testsuite`` per
input file > ``testcase`` per config, ``failure`` with ``message`` and ``type``), which
is what Jenkins, GitLab (``artifacts:reports:junit``) and Azure DevOps (PublishTestResults)
read.  A case fails when one of its findings fails the run (errors; with --strict,
warnings too); the failure's text lists every finding of the config.  A passing case
with findings lists them in ``system-out``.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import PurePosixPath
from typing import TextIO
from xml.etree import ElementTree

from masqctl.formats import project_path
from masqctl.output import finding_line
from masqctl.validate import ConfigCase, ValidationReport

SUITES_NAME = "masqctl validate"
#: Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids written as ``\\xNN``."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def case_report(case: ConfigCase) -> str:
    """The config's findings as text, one line each with its hint below it."""
    lines = []
    for finding in case.findings:
        lines.append(finding_line(finding))
        if finding.hint:
            lines.append(f"  = hint: {finding.hint}")
    return xml_text("\n".join(lines))


def class_name(file: str) -> str:
    """A test case's class: its file's path without the extension (as ruff writes it),
    since Jenkins reads the part after the last dot as the class."""
    path = project_path(file)
    return xml_text(str(PurePosixPath(path).with_suffix("")) if "." in path else path)


def testcase(case: ConfigCase, report: ValidationReport) -> ElementTree.Element:
    """One ``testcase``: named after the config and its line, classed by its file."""
    name = f"{case.name} (line {case.line})" if case.line else case.name
    element = ElementTree.Element(
        "testcase", {"name": xml_text(name), "classname": class_name(case.file)}
    )
    failing = [finding for finding in case.findings if report.fails(finding)]
    if failing:
        first = failing[0]
        message = f"{first.rule}: {first.message}"
        if len(failing) > 1:
            message += f" (and {len(failing) - 1} more)"
        failure = ElementTree.SubElement(
            element, "failure", {"message": xml_text(message), "type": first.rule}
        )
        failure.text = case_report(case)
    elif case.findings:
        ElementTree.SubElement(element, "system-out").text = case_report(case)
    return element


def _counts(cases: list[ConfigCase], report: ValidationReport) -> dict[str, str]:
    failures = sum(1 for case in cases if any(report.fails(f) for f in case.findings))
    return {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}


def junit_document(report: ValidationReport) -> ElementTree.Element:
    """``testsuites``, with one ``testsuite`` per input file that holds a test case."""
    root = ElementTree.Element("testsuites", {"name": SUITES_NAME, **_counts(report.cases, report)})
    for file, grouped in groupby(report.cases, key=lambda case: case.file):
        cases = list(grouped)
        name = xml_text(project_path(file))
        suite = ElementTree.SubElement(
            root, "testsuite", {"name": name, **_counts(cases, report), "skipped": "0"}
        )
        suite.extend(testcase(case, report) for case in cases)
    return root


def write_junit(report: ValidationReport, stream: TextIO) -> None:
    """The JUnit XML document, indented, with its XML declaration."""
    root = junit_document(report)
    ElementTree.indent(root, space="  ")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ElementTree.tostring(root, encoding="unicode"))
    stream.write("\n")
