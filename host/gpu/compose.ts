// Joins WGSL pieces into one module: shaders/common.wgsl (the structs, activations and index helpers every kernel
// shares), then the kernel's pieces in order — operand loaders first, the operation's body last (the way
// webgpu-samples share a common.wgsl). Sizes are never written into the source: they are `override` constants that
// host/gpu/program.ts sets per pipeline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shadersDir } from '../paths.js';
import { GpuError } from './device.js';

export const COMMON_PIECE = 'common.wgsl';

const pieceCache = new Map<string, string>();

function piece(file: string): string {
  let src = pieceCache.get(file);
  if (src === undefined) {
    try {
      src = readFileSync(join(shadersDir, file), 'utf8');
    } catch (err) {
      throw new GpuError(`WGSL piece ${file} not found in ${shadersDir}: ${(err as Error).message}`);
    }
    pieceCache.set(file, src);
  }
  return src;
}

/** The module source for these pieces, common.wgsl first; each piece is marked so that compiler messages
 *  (which give line numbers of the joined source) can be traced to their file. */
export function composeWgsl(pieces: readonly string[]): string {
  return [COMMON_PIECE, ...pieces].map((file) => `// ---- ${file}\n${piece(file)}`).join('\n');
}
