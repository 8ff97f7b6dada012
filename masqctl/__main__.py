"""``python -m masqctl``."""

from masqctl.entry import console_main

console_main()
