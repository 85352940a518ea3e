// jstat ships no type declarations: load it through require and type only the few functions we use.
import { createRequire } from 'node:module';

interface JStat {
  normal: {
    cdf(x: number, mean: number, sd: number): number;
    pdf(x: number, mean: number, sd: number): number;
    inv(p: number, mean: number, sd: number): number;
  };
  /** survival function of the F distribution: P(F > f) with (df1, df2) degrees of freedom */
  ftest(f: number, df1: number, df2: number): number;
  studentt: { cdf(x: number, dof: number): number };
}

const require = createRequire(import.meta.url);
export const jStat: JStat = (require('jstat') as { jStat: JStat }).jStat;
