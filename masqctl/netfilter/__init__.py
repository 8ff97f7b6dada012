"""The live nat table: reading iptables-save text and running iptables-save/restore."""
