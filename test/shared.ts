// Tests on the team's shared data (../shared beside the repository, or $DPM_SHARED: PyTorch fixtures, real SAR
// files) skip with a reason when it is absent, so the suite runs on a bare checkout.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedRoot } from '../host/paths.js';

/** A path under the shared folder. */
export function sharedPath(...parts: string[]): string {
  return join(sharedRoot, ...parts);
}

/** Test options that skip the test when `parts` (under the shared folder) is missing. */
export function needsShared(...parts: string[]): { skip: string | false } {
  const path = sharedPath(...parts);
  return { skip: existsSync(path) ? false : `needs ${path} (../shared or $DPM_SHARED)` };
}
