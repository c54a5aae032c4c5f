# bash completion for aelab; `make install` puts it in
# PREFIX/share/bash-completion/completions/aelab (or: source docs/aelab.bash).
# What it offers comes from the program itself, so it follows the installed version: the
# commands from `aelab --help`, each command's options from `aelab help COMMAND`, the key paths
# --set takes from `aelab keys --format paths` (the schema), experiment files (*.yaml, *.yml)
# for run and check, and directories for the commands that take a run directory.

_aelab_words() { # CURRENT WORD...: COMPREPLY = the words that start with CURRENT
    local cur=$1 w
    shift
    COMPREPLY=()
    for w in "$@"; do [[ $w == "$cur"* ]] && COMPREPLY+=("$w"); done
}

_aelab_files() { # CURRENT [PATTERN]: directories, and files matching PATTERN (all without one)
    local cur=$1 pat=${2:-} f
    COMPREPLY=()
    while IFS= read -r f; do
        if [[ -d $f ]]; then COMPREPLY+=("$f/")
        elif [[ -z $pat || $f == $pat ]]; then COMPREPLY+=("$f")
        fi
    done < <(compgen -f -- "$cur")
    compopt -o nospace 2>/dev/null || true
}

_aelab() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local aelab=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]:-}
    if ((COMP_CWORD == 1)); then
        # shellcheck disable=SC2046
        _aelab_words "$cur" $("$aelab" --help 2>/dev/null |
            sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p') --help --version
        return
    fi
    case $prev in
    --set)
        # shellcheck disable=SC2046
        _aelab_words "$cur" $("$aelab" keys --format paths 2>/dev/null | sed 's/$/=/')
        compopt -o nospace 2>/dev/null || true
        return ;;
    --device) _aelab_words "$cur" auto cpu gpu; return ;;
    --split) _aelab_words "$cur" test train; return ;;
    --emit) _aelab_words "$cur" commands slurm; return ;;
    --format)
        case $cmd in
        compare) _aelab_words "$cur" text json markdown junit ;;
        runs) _aelab_words "$cur" text csv markdown json ;;
        diff) _aelab_words "$cur" text json ;;
        keys) _aelab_words "$cur" markdown json-schema paths ;;
        esac
        return ;;
    -o | --out | --output) _aelab_files "$cur"; return ;;
    esac
    if [[ $cur == -* ]]; then
        # shellcheck disable=SC2046
        _aelab_words "$cur" $("$aelab" help "$cmd" 2>/dev/null | grep -o -- '--[a-z][a-z-]*' |
            sort -u)
        return
    fi
    case $cmd in
    run | check) _aelab_files "$cur" '*.y*ml' ;;
    help)
        # shellcheck disable=SC2046
        _aelab_words "$cur" $("$aelab" --help 2>/dev/null |
            sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p') ;;
    plot | baseline | runs | diff | export | encode) _aelab_files "$cur" '/' ;;
    *) _aelab_files "$cur" ;;
    esac
}
complete -F _aelab aelab
