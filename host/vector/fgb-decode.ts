// FlatGeobuf decoding on a worker thread, watched by the caller: flatgeobuf.js spins forever (100 % CPU, deaf to
// signals and to our cancel) on some corrupt files — a flipped bit in the header table is enough — and a spinning
// main thread cannot be stopped. A worker can: readFlatGeobufFeatures terminates it when no feature has come for
// STALL_MS, and the file is reported as corrupt.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Feature } from 'geojson';
import type { HeaderMeta } from 'flatgeobuf/lib/mjs/header-meta.js';
import { DpmError, shortText } from '../core/errors.js';

/** longest pause between two decoded features (or before the header) before the decoder is declared stuck */
const STALL_MS = 3000;

type Message =
  | { kind: 'header'; header: HeaderMeta }
  | { kind: 'feature'; feature: Feature }
  | { kind: 'done' }
  | { kind: 'error'; message: string };

/** Decodes `bytes` (checked for magic and header size by the caller); `where` names the file in messages. */
export function readFlatGeobufFeatures(
  bytes: Uint8Array,
  where: string,
  maxFeatures: number,
): Promise<{ features: Feature[]; header?: HeaderMeta }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: bytes });
    const features: Feature[] = [];
    let header: HeaderMeta | undefined;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (err) reject(err);
      else resolve({ features, header });
    };
    let timer = setTimeout(() => finish(stuck()), STALL_MS);
    const stuck = () =>
      new DpmError(`${where}: corrupt FlatGeobuf (the decoder made no progress for ${STALL_MS / 1000} s)`);
    worker.on('message', (m: Message) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(stuck()), STALL_MS);
      if (m.kind === 'header') header = m.header;
      else if (m.kind === 'feature') {
        features.push(m.feature);
        if (features.length > maxFeatures) finish(new DpmError(`${where}: corrupt FlatGeobuf (endless features)`));
      } else if (m.kind === 'done') finish();
      else finish(new DpmError(`${where}: cannot read the FlatGeobuf file (${shortText(m.message, 160)})`));
    });
    worker.on('error', (e) => finish(new DpmError(`${where}: cannot read the FlatGeobuf file (${shortText(e, 160)})`)));
    worker.on('exit', () => finish(new DpmError(`${where}: cannot read the FlatGeobuf file (decoder stopped)`)));
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const post = (m: Message) => port.postMessage(m);
  try {
    const { deserialize } = await import('flatgeobuf/lib/mjs/geojson.js');
    for await (const f of deserialize(workerData as Uint8Array, {
      headerMetaFn: (h: HeaderMeta) => post({ kind: 'header', header: h }),
    })) {
      post({ kind: 'feature', feature: f as unknown as Feature });
    }
    post({ kind: 'done' });
  } catch (e) {
    post({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}
