"""Protocol A minus nominal for each of the targets' participant means, with a 95 % interval
from resampling each cohort's participants independently (2000 resamples, numpy seed 0); the
figures are those of round 8's intervals.py.

python difference.py eval-470 eval-1180
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-11-26-larger-heldout"))
from intervals import figures, read


def resample(participants, rng):
    return [participants[i] for i in rng.integers(0, len(participants), len(participants))]


nominal, protocol_a = (read(folder) for folder in sys.argv[1:3])
nominal_people, a_people = sorted(nominal[0]), sorted(protocol_a[0])
observed_nominal, observed_a = figures(*nominal, nominal_people), figures(*protocol_a, a_people)
rng = np.random.default_rng(0)
draws = [(figures(*nominal, resample(nominal_people, rng)), figures(*protocol_a, resample(a_people, rng))) for _ in range(2000)]
print(f"A ({sys.argv[2]}, {len(a_people)}) minus nominal ({sys.argv[1]}, {len(nominal_people)})")
for name in observed_nominal:
    low, high = np.nanpercentile([a[name] - n[name] for n, a in draws], [2.5, 97.5])
    print(f"  {name}: {observed_nominal[name]:.3f} -> {observed_a[name]:.3f}, difference {observed_a[name] - observed_nominal[name]:+.3f} [{low:+.3f}, {high:+.3f}]")
