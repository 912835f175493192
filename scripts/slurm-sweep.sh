#!/bin/bash
# A splitsim sweep as a SLURM array job: each array task runs one shard, a dependent job merges them.
#
#   sbatch --array=1-8 scripts/slurm-sweep.sh scenarios/sweeps/paper-split-bits.toml results/paper-split-bits
#   sbatch --dependency=afterok:<array job id> --wrap "build/splitsim merge results/paper-split-bits"
#
# Every task writes its points under OUT/runs/<hash>/ and its table as OUT/sweep.shard-I-of-N.csv, so OUT must be
# on a filesystem all nodes share. A task that is requeued resumes: finished points are skipped by their hash.
#SBATCH --job-name=splitsim-sweep
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

SWEEP=${1:?usage: sbatch --array=1-N scripts/slurm-sweep.sh SWEEP_OR_SCENARIO OUT [extra sweep args]}
OUT=${2:?usage: sbatch --array=1-N scripts/slurm-sweep.sh SWEEP_OR_SCENARIO OUT [extra sweep args]}
shift 2
SPLITSIM=${SPLITSIM:-build/splitsim}
: "${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array=1-N}"
N=${SLURM_ARRAY_TASK_COUNT:-$(( SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1 ))}
I=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1 ))

exec "$SPLITSIM" sweep "$SWEEP" --out "$OUT" --shard "$I/$N" --jobs "${SLURM_CPUS_PER_TASK:-1}" --quiet "$@"
