#!/usr/bin/env bash
# Consumer check: packs Vepa.Core, Vepa.Rewards, Vepa.Grpo, Vepa.Models, Vepa.Testing and Vepa.Engines into artifacts/packages, with a version
# unique to this run, then restores, builds and tests tests/Consumer against that folder feed (Vepa.* come only from
# it, everything else from nuget.org; see tests/Consumer/nuget.config), as an application outside the repository would.
# The unique version means a package left in the NuGet cache by an earlier run can never be picked up; this run's
# copies are removed from the cache at the end. Exits non-zero on any pack, restore, build or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

feed=artifacts/packages
suffix="ci.$(date -u +%Y%m%d%H%M%S).$$"
prefix=$(dotnet msbuild src/Vepa.Core/Vepa.Core.csproj -getProperty:VersionPrefix)
version="$prefix-$suffix"
packages_folder=$(dotnet nuget locals global-packages --list | sed -e 's/^global-packages: *//')

cleanup() {
  for id in vepa.core vepa.rewards vepa.grpo vepa.models vepa.testing vepa.engines; do
    rm -rf "${packages_folder:?}/$id/${version,,}"
    rmdir --ignore-fail-on-non-empty "$packages_folder/$id" 2>/dev/null || true
  done
}
trap cleanup EXIT

started=$(date +%s)
rm -rf "$feed"
mkdir -p "$feed"
echo "== Packing $version into $feed"
# build/Vepa.Packages.slnf: the six packable projects of Vepa.sln, packed in one build.
dotnet pack build/Vepa.Packages.slnf -c Release -o "$feed" -nologo -p:VersionSuffix="$suffix" -p:ContinuousIntegrationBuild=true
packed=$(date +%s)

echo "== Consumer: restore from $feed, build, test"
dotnet test tests/Consumer/Vepa.Consumer.Tests.csproj -c Release -nologo -p:VepaPackageVersion="$version"
finished=$(date +%s)
echo "Consumer check passed: pack $((packed - started)) s, consumer restore + build + test $((finished - packed)) s."
