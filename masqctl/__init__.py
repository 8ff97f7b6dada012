"""masqctl: the operator's toolkit for the Kubernetes ip-masq-agent."""

__version__ = "0.1.0"
