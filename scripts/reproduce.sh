#!/usr/bin/env bash
# Every training run behind docs/results.md, in the order the report needs them, each in its
# own directory under runs/. A run that finished is skipped, one that was interrupted is
# resumed from its checkpoint (bit for bit), so the same command carries on after any stop.
# A run's records are kept in git (.gitignore says which files); a checkout that has them but
# no checkpoint resumes at the first unfinished fold, which starts again from its first epoch
# and, being seeded by fold, repeats the same epochs:
#   scripts/reproduce.sh            every run, in order
#   scripts/reproduce.sh NAME...    only those (names below)
# Runs are niced: they take hours on 2 cores, and the machine stays usable meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${TIMNET_DATA:-../shared/data}
# RAVDESS, TESS, nEMO and ASED, as scripts/prepare-corpora.sh prepares them.
corpora=${TIMNET_CORPORA:-../corpora}
emodb="--corpus emodb $data/emodb/wav"
casia="--corpus casia $data/casia"
five="--classes angry,fear,happy,neutral,sad"
six="$emodb $casia --corpus ravdess $corpora/ravdess --corpus tess $corpora/tess --corpus nemo $corpora/nemo --corpus ased $corpora/ased"

# Unseen corpora: each recipe piece added to the one before, leaving one corpus out, the epoch
# chosen on validation speakers of the training corpora (docs/results.md, "Unseen corpora").
loco="$six --protocol loco --select val --epochs 30"
band="--band-limit 8000"

# The ablations run 200 epochs, not 500, to spare 2 cores 60% of their time. docs/results.md
# sets them beside the full model trained the same 200 epochs by the same build
# (emodb-10fold-200); no schedule depends on the epoch count, so that is the same recipe as
# the first 200 epochs of emodb-10fold.
ablation="--epochs 200 --ablation"

# name | train arguments
runs=(
  "emodb-10fold|$emodb"
  "emodb-final|$emodb --final"
  "casia-10fold|$casia"
  # The two five-class models are cheap and complete the cross-corpus table below.
  "emodb5-final|$emodb --final $five"
  "casia5-final|$casia --final $five"
  "emodb-loso|$emodb --protocol loso"
  # The same again, for models to adapt ("Teach it your voice": each EmoDB speaker as a voice the
  # model never heard); the run above's weights are not kept in git.
  "emodb-loso-retrain|$emodb --protocol loso"
  "emodb-10fold-200|$emodb --epochs 200"
  "emodb-10fold-tcn|$emodb $ablation tcn"
  "emodb-10fold-no-bidirection|$emodb $ablation no-bidirection"
  "emodb-10fold-no-multiscale|$emodb $ablation no-multiscale"
  "emodb-10fold-no-dynamic-fusion|$emodb $ablation no-dynamic-fusion"
  "emodb-10fold-val|$emodb --select val"
  "casia-10fold-val|$casia --select val"
  "mix-loco-plain|$loco"
  "mix-loco-band|$loco $band"
  "mix-loco-band-cmvn|$loco $band --cmvn"
  "mix-loco-band-cmvn-balance|$loco $band --cmvn --balance"
  "mix-loco-band-cmvn-balance-aug|$loco $band --cmvn --balance --copies 4 --augment all"
  "mix-loco-band-cmvn-balance-mixup|$loco $band --cmvn --balance --mixup 0.4"
  "mix-loco-band-cmn-balance|$loco $band --cmn --balance"
  # The wider variant beside the paper's network (64 filters for 39): 108 min of training on 2
  # cores (43 s an epoch where the paper's width takes 11 to 15).
  "mix-loco-band-cmvn-balance-wide|$loco $band --cmvn --balance --filters 64"
  # Domain-adversarial: a corpus critic's gradient reversed into the network, its weight ramped
  # up to 1 as in Ganin et al. (JMLR 2016); the value is theirs, not tuned here.
  "mix-loco-band-cmvn-balance-adversary|$loco $band --cmvn --balance --adversary 1"
  # Per-speaker normalisation in place of per-utterance: each speaker's utterances pooled (a
  # corpus's where it names no speakers), test speakers' included, label-free.
  "mix-loco-band-speaker-balance|$loco $band --speaker-norm --balance"
  # The same, each speaker's statistics from 10 of their utterances drawn without labels (as a
  # new voice gives its ten takes in "Teach it your voice"), those 10 never scored: no test
  # utterance is read before it is scored.
  "mix-loco-band-speaker10-balance|$loco $band --speaker-norm --speaker-takes 10 --balance"
  # The same for 40 epochs: in every fold of the run above validation chose an epoch at or near
  # the last (25 to 30). No schedule depends on the epoch count, so its first 30 epochs are the
  # run above's.
  "mix-loco-band-speaker10-balance-40|$six --protocol loco --select val --epochs 40 $band --speaker-norm --speaker-takes 10 --balance"
  # The 30-epoch run above with weight averaging over its second half (--average-from 16): each
  # epoch from the 16th on scores, and the fold keeps, the mean of the weights after every step
  # since, as SWAD does for domain generalisation. The start is half of training, chosen before
  # the run, not tuned. Its first 15 epochs are the run above's.
  "mix-loco-band-speaker10-balance-average|$loco $band --speaker-norm --speaker-takes 10 --balance --average-from 16"
  # The shipped default's recipe with the same averaging over its second half.
  "mix-loco-band-cmvn-balance-average|$loco $band --cmvn --balance --average-from 16"
  # The per-speaker recipe with weight averaging again, with another seed: other validation
  # speakers, other takes for each speaker's statistics, another initialisation and batch order.
  # How far one seed's figures are from another's, for the recipe that met the mean target.
  "mix-loco-band-speaker10-balance-average-seed47|$loco $band --speaker-norm --speaker-takes 10 --balance --average-from 16 --seed 47"
  # The shipped default (model-weights/mix): the recipe that scored best on the validation
  # speakers of mix-loco-*, on all six corpora, for 20 epochs: the median of the six epochs
  # that validation chose in mix-loco-band-cmvn-balance (12 to 29).
  "mix-final|$six $band --cmvn --balance --final --select val --epochs 20"
  # The per-speaker model beside it (model-weights/mix-voice), for a voice taught first: the
  # recipe of mix-loco-band-speaker10-balance(-40) on all six corpora, for 35 epochs: the median
  # of the six epochs validation chose in the 40-epoch run (25 to 38, 34.5 rounded up), whose
  # validation speakers scored higher than the 30-epoch run's (73.2 against 72.4).
  "mix-voice-final|$six $band --speaker-norm --speaker-takes 10 --balance --final --select val --epochs 35"
  # What model-weights/mix-voice now holds: the recipe of mix-loco-band-speaker10-balance-average
  # as it was measured, 30 epochs with the weights averaged from the 16th, on all six corpora.
  "mix-voice-final-average|$six $band --speaker-norm --speaker-takes 10 --balance --final --select val --epochs 30 --average-from 16"
  # What model-weights/mix now holds: the default's recipe with weight averaging, as
  # mix-loco-band-cmvn-balance-average measured it, 30 epochs averaged from the 16th, on all six.
  "mix-final-average|$six $band --cmvn --balance --final --select val --epochs 30 --average-from 16"
)

mkdir -p runs
cargo build -q --bin train --bin timnet
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# A copy, so that building the project meanwhile does not change the program under a queue.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cp "$target_dir/debug/train" "$target_dir/debug/timnet" "$bin/"
train="$bin/train"

# Cross-corpus on the five shared emotions: each five-class model on the other corpus, as soon
# as both models exist (the runs after them take hours).
cross_corpus() {
  [ -f runs/emodb5-final/summary.json ] && [ -f runs/casia5-final/summary.json ] || return 0
  [ -f runs/cross-casia-to-emodb.txt ] && return 0
  timnet="$bin/timnet"
  # shellcheck disable=SC2086
  "$timnet" eval --weights runs/emodb5-final/weights $casia | tee runs/cross-emodb-to-casia.txt
  # shellcheck disable=SC2086
  "$timnet" eval --weights runs/casia5-final/weights $emodb | tee runs/cross-casia-to-emodb.txt
}

# A per-speaker leave-one-corpus-out run's models as a person meets them before teaching them
# a voice: each recording normalised on its own (`timnet eval --alone`), on the corpus each fold
# left out (the folds follow the order of $six).
alone() {
  local run=runs/$1
  [ -f "$run/summary.json" ] && [ ! -f "$run/alone.txt" ] || return 0
  local fold=1 corpus
  for corpus in "$emodb" "$casia" "--corpus ravdess $corpora/ravdess" "--corpus tess $corpora/tess" \
    "--corpus nemo $corpora/nemo" "--corpus ased $corpora/ased"; do
    # shellcheck disable=SC2086
    "$bin/timnet" eval --alone --weights "$run/weights/fold-$fold" $corpus | sed -n 1p
    fold=$((fold + 1))
  done > "$run/alone.txt"
  cat "$run/alone.txt"
}

per_speaker_loco() { [[ $args == *--speaker-takes* && $args == *"--protocol loco"* ]]; }

for entry in "${runs[@]}"; do
  name=${entry%%|*}
  args=${entry#*|}
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  out=runs/$name
  if [ -f "$out/summary.json" ]; then
    echo "reproduce: $name is done ($out/report.md)"
    cross_corpus
    if per_speaker_loco; then alone "$name"; fi
    continue
  fi
  resume=""
  [ -f "$out/run.json" ] && resume="--resume"
  echo "reproduce: $name ${resume:+(resuming)} -> $out/report.md, log $out.log"
  # shellcheck disable=SC2086 # the arguments are word lists on purpose
  nice -n 19 "$train" $args --out "$out" --quiet $resume >> "$out.log" 2>&1
  cross_corpus
  if per_speaker_loco; then alone "$name"; fi
done
