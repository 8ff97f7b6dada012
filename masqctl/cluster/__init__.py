"""The cluster as it runs: the agent's DaemonSets read together with their ConfigMaps.

``find_agents(reads)`` takes what masqctl.config.sources.read_input returned for every
input and gives each agent container it deploys (masqctl.cluster.model.AgentDeployment):
its flavour (by image) and release (by tag), the flags it runs with (its command line
parsed as Go's flag package does, ``$(VAR)`` expanded as the kubelet does; for Cilium,
the cilium-config settings), the files it finds in its config directory and the
ConfigMap keys behind them, and the wiring findings (MASQ040–MASQ056).
masqctl.cluster.helm reads Helm values files and recognises templates (MASQ057, MASQ058).
"""
