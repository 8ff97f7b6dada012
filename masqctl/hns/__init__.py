"""Windows nodes: a CNI config's OutBoundNAT policies as HNS applies them (diff, explain)."""
