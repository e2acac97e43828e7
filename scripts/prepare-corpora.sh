#!/usr/bin/env bash
# Prepare the four training corpora that live in public git repositories (RAVDESS, TESS, nEMO,
# ASED) from those repositories at pinned commits, into one folder per corpus, and check their
# file counts. EmoDB and CASIA come from ../shared/data. Audio never enters this repository.
#
#   scripts/prepare-corpora.sh [OUT]          OUT defaults to ../corpora (beside the checkout)
#
# TIMNET_CORPUS_REPO names where the repositories are fetched from, with {owner} and {name} in
# it: https://github.com/{owner}/{name}.git by default; a local mirror works too, e.g.
# TIMNET_CORPUS_REPO='/srv/mirror/{owner}+{name}/repo'. A folder that already holds a corpus
# with the right count is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-../corpora}
default_source='https://github.com/{owner}/{name}.git'
source_pattern=${TIMNET_CORPUS_REPO:-$default_source}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# name | owner/repository | commit | path in the repository | leading folders to drop | wav files
corpora=(
  "ravdess|Rahul5430/Speech-Emotion-Recognition-System|b6a1dd81cfb09db95d71b9ff3a5692bb68110fae|speech-emotion-recognition-ravdess-data/audio_speech_actors_01-24|2|1440"
  "tess|deepxzy/Toronto-emotional-speech-set|acdd3c415ef6ffa55dd51a65493b98699dbe14cf|datasets|1|2800"
  "nemo|amu-cai/nEMO|66de9999a8f2f605eb5f64841790aa5cb0877782|samples data.tsv LICENSE|0|4481"
  "ased|wgwangang/ASED_V1|3feb6d25ec1a88d770594c88d2c4e6cae5c0d046|01Neutral 02Fearful 03Happy 04Sad 05Angry README.md|0|2474"
)

count() { find "$1" -type f -iname '*.wav' | wc -l; }

for entry in "${corpora[@]}"; do
  IFS='|' read -r name repo commit paths strip want <<<"$entry"
  dir="$out/$name"
  if [ -d "$dir" ] && [ "$(count "$dir")" -eq "$want" ]; then
    echo "$name: $want files in $dir (already there)"
    continue
  fi
  owner=${repo%%/*} rname=${repo#*/}
  url=$(printf '%s' "$source_pattern" | sed "s|{owner}|$owner|g; s|{name}|$rname|g")
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if [ -d "$url" ]; then
    git_dir=$url
  else
    echo "$name: fetching $repo at $commit"
    git init -q --bare "$work/repo.git"
    git -C "$work/repo.git" fetch -q --depth 1 "$url" "$commit"
    git_dir=$work/repo.git
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  # A mirror that leaves out large files the corpus does not use (a snapshot without files of
  # several MiB, say) makes git archive complain about them after writing every wanted file;
  # the file count below decides whether the corpus is whole.
  # shellcheck disable=SC2086 # the paths are a list
  { git -C "$git_dir" archive "$commit" $paths ||
      echo "$name: git archive reported a missing object; checking the file count" >&2; } |
    tar -x -C "$dir" --strip-components="$strip"
  rm -rf "$work"
  trap - EXIT
  got=$(count "$dir")
  if [ "$got" -ne "$want" ]; then
    echo "$name: $got WAV files in $dir, expected $want" >&2
    exit 1
  fi
  echo "$name: $got files in $dir"
done
cat <<EOF

Train on all six with, for example:
  train --corpus emodb ../shared/data/emodb --corpus casia ../shared/data/casia \\
        --corpus ravdess $out/ravdess --corpus tess $out/tess \\
        --corpus nemo $out/nemo --corpus ased $out/ased --protocol loco ...
EOF
