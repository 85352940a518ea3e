// Statistics of the sample coherence magnitude (notes/dpm-methods.md §1.3, Touzi et al. 1999), float64.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
export function lgamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  const t = x + 7.5;
  // a = c0 + Σ_{i≥1} c_i / (x + i)
  const a = c.reduce((sum, ci, i) => (i === 0 ? ci : sum + ci / (x + i)), 0);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * E[γ̂] of the L-look sample coherence magnitude when the true coherence is γ:
 * Γ(L)Γ(3/2)/Γ(L+½) · (1−γ²)^L · ₃F₂(3/2, L, L; L+½, 1; γ²). γ is capped at 0.999 (the series converges like γ^2k).
 */
export function expectedSampleCoherence(gamma: number, looks: number): number {
  const g2 = Math.min(gamma, 0.999) ** 2;
  const L = looks;
  let term = 1;
  let sum = 1;
  for (let k = 0; k < 100000; k++) {
    term *= (((1.5 + k) * (L + k) * (L + k)) / ((L + 0.5 + k) * (1 + k) * (1 + k))) * g2;
    sum += term;
    if (term < 1e-15 * sum) break;
  }
  const lead = Math.exp(lgamma(L) + lgamma(1.5) - lgamma(L + 0.5));
  return lead * Math.exp(L * Math.log1p(-g2)) * sum;
}
