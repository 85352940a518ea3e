// The peak resident memory of this process. Linux keeps getrusage's ru_maxrss across fork and exec, so a child
// process (a tile) reports its parent's resident size at the spawn when that was larger than its own (a 200 MiB
// parent made a 39 MiB child report 204 MiB); /proc/self/status VmHWM is this process's own high-water mark.
import { readFileSync } from 'node:fs';

/** Peak resident memory of this process in MiB: VmHWM where /proc has it, else getrusage's maxRSS. */
export function peakRssMiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm?.[1]) return Math.round(Number(hwm[1]) / 1024);
  } catch {
    // no /proc (macOS, Windows): the rusage figure
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
