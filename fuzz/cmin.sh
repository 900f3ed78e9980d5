#!/bin/bash
# Rebuilds the committed corpus of one target from what the runs found:
#   fuzz/cmin.sh <target> [max_files] [max_kb]
# 1. everything (fuzz/target/corpus/<target> + fuzz/corpus/<target>) is
#    minimized with `cargo fuzz cmin` (libFuzzer -merge=1: the smallest
#    inputs that keep all the coverage); the result stays in
#    fuzz/target/corpus/<target> for the next run;
# 2. the committed corpus keeps the seeds (seed-*), then picks greedily the
#    input that adds the most libFuzzer features not yet covered (read from
#    a -merge control file), while it stays within max_files (30) and
#    max_kb (100).
set -euo pipefail
t=$1
max_files=${2:-30}
max_kb=${3:-100}
cd "$(dirname "$0")"
work=target/corpus/$t
bin=target/x86_64-unknown-linux-gnu/release/$t
mkdir -p "$work" corpus/"$t"
cp -n corpus/"$t"/* "$work"/ 2>/dev/null || true
${CARGO:-cargo} ${FUZZ_TOOLCHAIN:-+nightly} fuzz cmin "$t" "$work" >target/cmin-"$t".log 2>&1 ||
    { tail -20 target/cmin-"$t".log; exit 1; }
tmp=$(mktemp -d)
"$bin" -merge=1 -merge_control_file="$tmp/control" "$tmp" corpus/"$t" "$work" \
    >target/cmin-"$t"-features.log 2>&1 || { tail -20 target/cmin-"$t"-features.log; exit 1; }
python3 - "$tmp/control" "$max_files" "$max_kb" "$t" >"$tmp/keep" <<'PY'
import os, sys
control, max_files, max_kb, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(control).read().split("\n")
n = int(lines[0])
paths = lines[2:2 + n]
# Coverage (PCs) counts first, then libFuzzer's finer features.
feats = {}
for l in lines[2 + n:]:
    p = l.split()
    if p and p[0] in ("FT", "COV"):
        tag = "c" if p[0] == "COV" else "f"
        feats.setdefault(int(p[1]), set()).update(tag + x for x in p[2:])
size = {i: os.path.getsize(paths[i]) for i in range(n)}
def score(new, size):
    c = sum(x[0] == "c" for x in new)
    return (4 * c + len(new) - c, -size)
covered, keep, total = set(), [], 0
seen_names = set()
for i in range(n):  # seeds first, whatever they add
    name = os.path.basename(paths[i])
    if name.startswith("seed-") and name not in seen_names:
        seen_names.add(name)
        keep.append(i); total += size[i]; covered |= feats.get(i, set())
while len(keep) < max_files:
    best = max((i for i in range(n) if i not in keep
                and os.path.basename(paths[i]) not in seen_names
                and total + size[i] <= max_kb * 1024),
               key=lambda i: score(feats.get(i, set()) - covered, size[i]), default=None)
    if best is None or not feats.get(best, set()) - covered:
        break
    keep.append(best); total += size[best]; covered |= feats[best]
    seen_names.add(os.path.basename(paths[best]))
all_feats = set().union(*feats.values()) if feats else set()
cov = lambda s: sum(x[0] == "c" for x in s)
print(f"{target}: kept {len(keep)} files, {total} bytes: coverage {cov(covered)}/{cov(all_feats)}, "
      f"features {len(covered) - cov(covered)}/{len(all_feats) - cov(all_feats)}", file=sys.stderr)
for i in keep:
    print(paths[i])
PY
new=$tmp/corpus
mkdir "$new"
while read -r f; do cp "$f" "$new"/; done <"$tmp/keep"
rm -rf corpus/"$t"
mv "$new" corpus/"$t"
chmod 755 corpus/"$t"
rm -rf "$tmp"
echo "$t: $(ls "$work" | wc -l) inputs after cmin; committed: $(ls corpus/"$t" | wc -l) files, $(cat corpus/"$t"/* | wc -c) bytes"
