"""exempt.py's counts as choose.py's table (pool, nominal, protocols A and B), and the check that
the rule sparing nothing gives suppressed.py's 5-voxel counts on every participant.

python exempt_table.py exempt-nominal.jsonl exempt-other.jsonl counts-nominal.jsonl counts-other.jsonl > exempt.txt
"""
import sys

from choose import f1, pooled, print_table, read_parts

NONE_SPARED = "none spared (0.5.1)"

parts = read_parts(*sys.argv[1:3])
distance_parts = read_parts(*sys.argv[3:5])
by_participant = {row["participant"]: row["iron"]["5.0"] for row in distance_parts["pool"]}
differ = [row["participant"] for row in parts["pool"] if row["iron"][NONE_SPARED] != by_participant[row["participant"]]]
print(f"sparing nothing against suppressed.py at 5 voxels: {len(parts['pool']) - len(differ)} of {len(parts['pool'])} participants identical"
      + (f"; differ: {', '.join(differ)}" if differ else ""))
rules = list(parts["pool"][0]["iron"])
print_table(parts, rules, "removed candidate spared where")
base = f1(*pooled(parts["pool"], NONE_SPARED))
best = max(rules, key=lambda rule: f1(*pooled(parts["pool"], rule)))
print(f"\nbest over the pool: {best}, iron F1 {base:.4f} -> {f1(*pooled(parts['pool'], best)):.4f} (exploration: chooses nothing)")
