# bash completion for berth (install as /usr/share/bash-completion/completions/berth).
# Commands and flags come from berth's own --help, so they never drift from
# the binary; container, image, volume and network names from the daemon.

_berth_cmd() { "${BERTH:-berth}" "$@" 2>/dev/null; }

_berth_commands() {
  # top-level words of `berth --help` ("container ls" → "container")
  _berth_cmd --help | awk '/^Commands:/{c=1;next} c&&/^  /{print $1} c&&!/^  /{c=0}' | sort -u
}

_berth_subcommands() {
  _berth_cmd "$1" | awk '/^Commands:/{c=1;next} c&&/^  /{print $1}'
}

_berth_flags() {
  _berth_cmd "$@" --help | grep -oE -- '--[a-z0-9-]+' | sort -u
}

_berth() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local groups="container image volume network system context builder"
  local cmd="" sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="${COMP_WORDS[i]}";
         elif [[ -z "$sub" && " $groups " == *" $cmd "* ]]; then sub="${COMP_WORDS[i]}"; fi ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "$(_berth_commands)" -- "$cur"))
    return
  fi
  if [[ " $groups " == *" $cmd "* && -z "$sub" ]]; then
    COMPREPLY=($(compgen -W "$(_berth_subcommands "$cmd")" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_berth_flags $cmd $sub)" -- "$cur"))
    return
  fi
  local words=""
  case "$cmd${sub:+ $sub}" in
    build|"image build"|"builder build")
      # the build context is a directory
      COMPREPLY=($(compgen -d -- "$cur"))
      return ;;
    run|create|pull|push|rmi|tag|save|history|"image "*)
      words=$(_berth_cmd images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>') ;;
    "volume "*) words=$(_berth_cmd volume ls -q) ;;
    "network "*) words=$(_berth_cmd network ls --format '{{.Name}}') ;;
    "context "*) words=$(_berth_cmd context ls -q) ;;
    *) words=$(_berth_cmd ps -a --format '{{.Names}}') ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _berth berth
