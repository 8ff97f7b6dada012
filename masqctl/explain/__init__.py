"""``masqctl explain``: which rule decides whether traffic from a pod to an address is
masqueraded, from the agent's config (config mode) or from the node's nat table (live mode).
"""
