#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of every library under src/ from the current code, then builds each library to
# prove the lists match (RS0016: public symbol missing from the lists; RS0017: listed symbol no longer in the code).
#
#   build/update-public-api.sh            # every src/*/*.csproj
#   build/update-public-api.sh src/Vepa.Grpo/Vepa.Grpo.csproj
#
# PublicAPI.Shipped.txt is never rewritten: it holds what a released version promised (empty before the first stable
# release). The unshipped list is emptied and refilled by the analyzer's own code fix through `dotnet format`, so
# added, changed and removed members all come out right. If a shipped member was removed, the final build fails
# with RS0017: record the removal by hand as a "*REMOVED*" line in PublicAPI.Unshipped.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "$#" -gt 0 ]; then projects=("$@"); else projects=(src/*/*.csproj); fi

for project in "${projects[@]}"; do
  dir=$(dirname "$project")
  shipped="$dir/PublicAPI.Shipped.txt"
  unshipped="$dir/PublicAPI.Unshipped.txt"
  [ -f "$shipped" ] || printf '#nullable enable\n' > "$shipped"
  printf '#nullable enable\n' > "$unshipped"
  echo "== $project: regenerating $unshipped"
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity info
done

failed=()
for project in "${projects[@]}"; do
  echo "== $project: checking the lists (RS0016/RS0017 are errors)"
  if dotnet build "$project" -c Release --no-restore -nologo -clp:NoSummary -warnaserror; then
    echo "   $(grep -cv '^#' "$(dirname "$project")/PublicAPI.Unshipped.txt") unshipped entries"
  else
    failed+=("$project")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "The lists were regenerated, but these projects do not build (see the errors above; RS0017 on a shipped member"
  echo "needs a *REMOVED* line by hand, anything else is a compile error of its own): ${failed[*]}"
  exit 1
fi
