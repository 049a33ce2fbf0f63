# Sourced by the scripts that measure a server as of a git revision beside
# the working tree's (a server named carhop@REV, or nbio@REV for a peer
# whose bench/peers code changed), so that a change can be measured
# against the code before it in the same run.

# build_revs dir cmd servers...: builds bench/cmd/cmd as of REV into
# dir/cmd-REV for each NAME@REV among servers (once per REV), from a
# temporary worktree in dir, and the working tree's into dir/cmd.
build_revs() {
  local dir=$1 cmd=$2 s rev wt
  shift 2
  go build -o "$dir/$cmd" "./bench/cmd/$cmd"
  for s in "$@"; do
    case $s in
    *@*)
      rev=${s#*@}
      [ -e "$dir/$cmd-$rev" ] && continue
      wt="$dir/wt-$(git rev-parse --short "$rev")"
      git worktree add --quiet --detach "$wt" "$rev"
      (cd "$wt" && go build -o "$dir/$cmd-$rev" "./bench/cmd/$cmd")
      ;;
    esac
  done
}

# remove_revs dir: removes the worktrees build_revs made in dir.
remove_revs() {
  local w
  for w in "$1"/wt-*; do
    if [ -d "$w" ]; then git worktree remove --force "$w"; fi
  done
}

# rev_server dir cmd server: sets bin and server, the binary to run and its
# -server flag, for server (NAME@REV or a plain name).
rev_server() {
  case $3 in
  *@*) bin="$1/$2-${3#*@}" server=${3%%@*} ;;
  *) bin="$1/$2" server=$3 ;;
  esac
}
