"""masqctl validate --format json (stdin) -> GitLab Code Quality report (stdout)."""

import hashlib
import json
import sys

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}

report = json.load(sys.stdin)
issues = []
for finding in report["findings"]:
    where = f"{finding['file']}:{finding['line']}:{finding['column']}:{finding['rule']}"
    issues.append({
        "description": f"{finding['rule']}: {finding['message']}",
        "check_name": finding["rule"],
        "fingerprint": hashlib.sha256(where.encode()).hexdigest(),
        "severity": SEVERITIES[finding["severity"]],
        "location": {"path": finding["file"], "lines": {"begin": finding["line"]}},
    })
json.dump(issues, sys.stdout, indent=2)
print()
