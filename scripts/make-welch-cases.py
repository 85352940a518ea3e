#!/usr/bin/env python3
"""Writes test/fixtures/welch-scipy.json: Welch's t and two-sided p from scipy.stats.ttest_ind(post, pre,
equal_var=False) on constructed cases (test/landslide-stats.test.ts checks host/landslide/stats.ts welchT on them).
Run with Debian's python3-scipy: /usr/bin/python3 scripts/make-welch-cases.py
"""
import json

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(15)
cases = [
    {"pre": [1.0, 2.0, 3.0, 4.0], "post": [2.0, 3.5]},
    {"pre": [-13.1, -12.7, -13.4, -12.9, -13.0, -12.2, -13.8, -12.6], "post": [-16.0, -15.2, -16.4]},
    {"pre": [0.1, 0.1000001, 0.0999999], "post": [5.0, 5.1]},  # nearly constant pre: huge t, tiny p
    {"pre": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], "post": [3.1, 4.1, 5.9, 2.6]},  # no change: p near 1
]
for n_pre, n_post, shift, scale in [(12, 2, -3.0, 2.0), (12, 4, -1.0, 2.0), (30, 3, 0.5, 1.0), (5, 5, 10.0, 0.5)]:
    pre = rng.normal(0.0, 2.0, n_pre)
    post = rng.normal(shift, scale, n_post)
    cases.append({"pre": [round(float(v), 6) for v in pre], "post": [round(float(v), 6) for v in post]})
for c in cases:
    r = stats.ttest_ind(c["post"], c["pre"], equal_var=False)
    c["t"] = float(r.statistic)
    c["p"] = float(r.pvalue)
json.dump({"scipy": scipy.__version__, "cases": cases}, open("test/fixtures/welch-scipy.json", "w"), indent=1)
print(len(cases), "cases")
