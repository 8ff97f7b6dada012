
#compdef masqctl

_masqctl_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _MASQCTL_COMPLETE=complete_zsh masqctl)
}

compdef _masqctl_completion masqctl

