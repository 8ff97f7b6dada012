"""One module per command: the glue between parsed options and the model.

Each ``run`` takes the command's keywords (see masqctl.options), prints, and returns
the exit code; errors are MasqctlError, which the entry point turns into one line.
"""
