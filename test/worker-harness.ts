// A runner for test/worker-protocol.test.ts: serveWorker() with one fake algorithm, "spin", whose blocks are
// synchronous busy loops that never yield to the event loop (like a wasm kernel), so the tests show that a cancel
// line or EOF on stdin is seen at the next block anyway. Not a test file itself (no .test. in the name).
import { writeFileSync } from 'node:fs';
import { serveWorker } from '../host/toolbox/worker.js';
import { throwIfCanceled } from '../host/core/feedback.js';
import { withOutputs } from '../host/io/outputs.js';
import { DpmError } from '../host/core/errors.js';

const code = await serveWorker(async (id, p, fb) => {
  if (id !== 'spin') throw new DpmError(`unknown algorithm '${id}'`);
  const blocks = Number(p.blocks ?? 3);
  const blockMs = Number(p['block-ms'] ?? 1);
  return withOutputs(async (outs) => {
    const tmp = outs.path(String(p.out));
    writeFileSync(tmp, 'partial');
    fb.log('info', 'spin: started');
    fb.log('warning', 'spin: a warning');
    fb.log('debug', 'spin: a debug line');
    fb.log('error', 'spin: an error line that is not fatal');
    for (let i = 0; i < blocks; i++) {
      const until = Date.now() + blockMs;
      while (Date.now() < until) {
        /* busy: no await, no event loop turn */
      }
      if (p.fail === 'input' && i === 1) throw new DpmError(`spin: --fail input at block ${i}`);
      if (p.fail === 'internal' && i === 1) throw new TypeError('boom');
      fb.progress((100 * (i + 1)) / blocks, i === 0 ? 'spinning' : undefined);
      throwIfCanceled(fb);
    }
    writeFileSync(tmp, `done ${blocks}`);
    return { out: String(p.out), blocks };
  });
});
process.exit(code);
