"""Views of a Ruleset: iptables-restore payloads, Windows CNI policies, JSON."""
