// Property-based tests (fast-check) of the binary readers: random truncations and byte flips of a valid file never
// crash (only a DpmError naming the file, of bounded length), never hang, and never return data silently: a
// truncated file is always refused, and a flip is either refused or reads back exactly what the intact file holds
// where the format can tell (DEFLATE data carries a checksum; headers and tables are cross-checked). A cut that
// only drops trailing bytes no reader needs (a VRT's last newline, FlatGeobuf padding) must read as the intact file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { DpmError } from '../host/core/errors.js';
import { readRaster } from '../host/raster/geotiff.js';
import { lzwDecode, packBitsDecode } from '../host/raster/tiff-checks.js';
import { decodeSafetensors, encodeSafetensors } from '../host/model/safetensors.js';
import { openRaster } from '../host/sar/readers.js';
import { readPolygons } from '../host/vector/read.js';
import { lzwBomb, rawTiff } from './hostile-cases.js';
import { rawVrt } from './sar-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpm-props-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const RUNS = 120;

/** `work` either returns (the caller judges the result) or throws a DpmError that names `file`. */
async function refusedOr<T>(file: string, work: () => Promise<T>): Promise<{ value?: T; refused: boolean }> {
  try {
    return { value: await work(), refused: false };
  } catch (err) {
    assert.ok(err instanceof DpmError, `not a DpmError: ${String(err)} ${(err as Error).stack ?? ''}`);
    assert.ok(err.message.includes(file), `the message does not name ${file}: ${err.message}`);
    assert.ok(err.message.length < 2500, `a ${err.message.length}-character message`);
    return { refused: true };
  }
}

/** A mutation of `good`: cut at a random length, or flip random bits (positions drawn in [from, to)). */
const truncation = (good: Buffer) => fc.integer({ min: 0, max: good.length - 1 }).map((n) => good.subarray(0, n));
const flips = (good: Buffer, from = 0, to = good.length) =>
  fc
    .array(fc.tuple(fc.integer({ min: from, max: to - 1 }), fc.integer({ min: 0, max: 7 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((fl) => {
      const b = Buffer.from(good);
      for (const [i, bit] of fl) b[i] = b[i]! ^ (1 << bit);
      return b;
    });

// A 2-band float32 coherence GeoTIFF, DEFLATE strips of 4 rows: data first, directory at the end.
const W = 16,
  H = 16;
const pixels = Float32Array.from({ length: W * H * 2 }, (_, i) => (i % 97) / 97);
const strips: Buffer[] = [];
for (let r = 0; r < H; r += 4) strips.push(deflateSync(Buffer.from(pixels.buffer, r * W * 2 * 4, 4 * W * 2 * 4)));
const goodTiff = rawTiff({
  width: W,
  height: H,
  spp: 2,
  compression: 8,
  rowsPerStrip: 4,
  blocks: strips,
  geoTransform: true,
  metadata:
    '<GDALMetadata><Item name="DESCRIPTION" sample="0" role="description">20190101_20190113</Item></GDALMetadata>',
});
const dataEnd = 8 + strips.reduce((a, s) => a + s.length, 0);

test('GeoTIFF reader: every truncation is refused', async () => {
  const file = join(dir, 'cut.tif');
  await fc.assert(
    fc.asyncProperty(truncation(goodTiff), async (b) => {
      writeFileSync(file, b);
      assert.ok((await refusedOr(file, () => readRaster(file))).refused, `a ${b.length}-byte cut was read`);
    }),
    { numRuns: RUNS },
  );
});

test('GeoTIFF reader: flips in the DEFLATE data are refused; flips anywhere never crash and keep sizes honest', async () => {
  const file = join(dir, 'flip.tif');
  const same = (r: Awaited<ReturnType<typeof readRaster>>) =>
    r.width === W &&
    r.height === H &&
    r.bands.length === 2 &&
    r.bands.every((b, k) => b.every((v, i) => Object.is(v, pixels[i * 2 + k])));
  await fc.assert(
    fc.asyncProperty(flips(goodTiff, 8, dataEnd), async (b) => {
      writeFileSync(file, b);
      const r = await refusedOr(file, () => readRaster(file));
      assert.ok(r.refused || same(r.value!), 'corrupt DEFLATE data was read as different pixels');
    }),
    { numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(flips(goodTiff), async (b) => {
      writeFileSync(file, b);
      const r = await refusedOr(file, () => readRaster(file));
      if (r.value) for (const band of r.value.bands) assert.equal(band.length, r.value.width * r.value.height);
    }),
    { numRuns: RUNS },
  );
});

test('GeoTIFF reader: a flip that turns ImageWidth into thousands of values gives a short message', async () => {
  // the two flips fast-check found (seed 540035207): the refusal printed every value, 40 kB of message
  const b = Buffer.from(goodTiff);
  for (const i of [8, 1532]) b[i] = b[i]! ^ 1;
  const file = join(dir, 'size-tag.tif');
  writeFileSync(file, b);
  assert.ok((await refusedOr(file, () => readRaster(file))).refused);
});

test('complex GeoTIFF (SLC) reader: truncations refused, DEFLATE flips refused or exact', async () => {
  const cw = 16,
    ch = 8;
  const slc = Float32Array.from({ length: cw * ch * 2 }, (_, i) => i - 100);
  const good = rawTiff({
    width: cw,
    height: ch,
    bits: 64,
    format: 6,
    compression: 8,
    blocks: [deflateSync(Buffer.from(slc.buffer))],
  });
  const end = 8 + deflateSync(Buffer.from(slc.buffer)).length;
  const file = join(dir, '20190101_slc.tif');
  const read = async () => {
    const src = await openRaster(file);
    try {
      const out = new Float32Array(cw * ch * 2);
      await src.read(0, ch, 0, cw, out);
      return out;
    } finally {
      await src.close();
    }
  };
  await fc.assert(
    fc.asyncProperty(truncation(good), async (b) => {
      writeFileSync(file, b);
      assert.ok((await refusedOr(file, read)).refused);
    }),
    { numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(flips(good, 8, end), async (b) => {
      writeFileSync(file, b);
      const r = await refusedOr(file, read);
      assert.ok(r.refused || r.value!.every((v, i) => Object.is(v, slc[i])));
    }),
    { numRuns: RUNS },
  );
});

test('raw SLC with a VRT header: truncated data or header refused', async () => {
  const raw = join(dir, '20190101.slc');
  const vrt = `${raw}.vrt`;
  const goodRaw = Buffer.alloc(16 * 8 * 8, 3);
  const goodVrt = Buffer.from(rawVrt('20190101.slc', 16, 8, 'CFloat32', 8, 128));
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.integer({ min: 0, max: 1 << 30 }), async (cutRaw, seed) => {
      const b = cutRaw ? goodRaw.subarray(0, seed % goodRaw.length) : goodVrt.subarray(0, seed % goodVrt.length);
      writeFileSync(raw, cutRaw ? b : goodRaw);
      writeFileSync(vrt, cutRaw ? goodVrt : b);
      const r = await refusedOr(cutRaw ? raw : vrt, async () => {
        const src = await openRaster(vrt);
        const out = new Float32Array(16 * 8 * 2);
        await src.read(0, 8, 0, 16, out);
        await src.close();
        return out;
      });
      // only whitespace after </VRTDataset> may go
      assert.ok(
        r.refused || (!cutRaw && goodVrt.subarray(b.length).toString().trim() === ''),
        `cut at ${b.length} read`,
      );
    }),
    { numRuns: RUNS },
  );
});

test('safetensors: truncations refused; header flips refused or the same tensors', async () => {
  const tensors = [
    { name: 'a', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
    { name: 'b', shape: [5], data: Float32Array.from({ length: 5 }, (_, i) => -i) },
  ];
  const good = Buffer.from(encodeSafetensors(tensors, { note: 'x' }));
  const headerEnd = 8 + Number(good.readBigUInt64LE(0));
  const file = 'model.safetensors';
  await fc.assert(
    fc.asyncProperty(truncation(good), async (b) => {
      assert.ok((await refusedOr(file, async () => decodeSafetensors(b, file))).refused);
    }),
    { numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(flips(good, 0, headerEnd), async (b) => {
      const r = await refusedOr(file, async () => decodeSafetensors(b, file));
      if (r.refused) return;
      const got = [...r.value!.tensors.values()];
      assert.equal(got.length, 2);
      for (const [k, t] of got.entries()) assert.deepEqual(Array.from(t.data), Array.from(tensors[k]!.data));
    }),
    { numRuns: RUNS },
  );
});

test('FlatGeobuf: truncations refused, flips never crash', async () => {
  const { geojson } = await import('flatgeobuf');
  const fcol = {
    type: 'FeatureCollection' as const,
    features: [0, 1, 2].map((i) => ({
      type: 'Feature' as const,
      properties: { grade: i === 0 ? 'Destroyed' : 'None' },
      geometry: {
        type: 'Polygon' as const,
        coordinates: [
          [
            [15 + i, 40],
            [15 + i, 40.1],
            [15.1 + i, 40.1],
            [15 + i, 40],
          ],
        ],
      },
    })),
  };
  const good = Buffer.from(geojson.serialize(fcol as never));
  const file = join(dir, 'truth.fgb');
  writeFileSync(file, good);
  const intact = JSON.stringify(await readPolygons(file));
  await fc.assert(
    fc.asyncProperty(truncation(good), async (b) => {
      writeFileSync(file, b);
      const r = await refusedOr(file, () => readPolygons(file));
      assert.ok(r.refused || JSON.stringify(r.value) === intact, `a ${b.length}-byte cut read as something else`);
    }),
    { numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(flips(good), async (b) => {
      writeFileSync(file, b);
      await refusedOr(file, () => readPolygons(file));
    }),
    // a stuck decoder costs its 3 s watchdog: fewer runs
    { numRuns: 40 },
  );
});

test('LZW: any byte string decodes within its limit or is refused (geotiff.js once aborted the process on 300 bytes)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 600 }),
      fc.integer({ min: 1, max: 1 << 16 }),
      (bytes, limit) => {
        try {
          assert.ok(lzwDecode(bytes, limit).length <= limit);
        } catch (err) {
          assert.ok(err instanceof Error && /LZW/.test(err.message), String(err));
        }
      },
    ),
    { numRuns: 500 },
  );
  // a stream that grows a run of zeros stops at the block's size
  assert.throws(() => lzwDecode(lzwBomb(4), 3072), /expands past its 3072 bytes/);
});

/** PackBits as geotiff.js decodes it (unbounded plain array), the slow obvious reference; undefined when corrupt */
function packBitsReference(input: Uint8Array): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < input.length; ) {
    const header = (input[i]! << 24) >> 24;
    if (header < 0) {
      if (i + 1 >= input.length) return undefined;
      for (let j = 0; j <= -header; j++) out.push(input[i + 1]!);
      i += 2;
    } else {
      if (i + header + 2 > input.length) return undefined;
      for (let j = 0; j <= header; j++) out.push(input[i + 1 + j]!);
      i += header + 2;
    }
  }
  return out;
}

test('PackBits: the same bytes as the reference within the limit; past it or corrupt, refused', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 400 }),
      fc.integer({ min: 1, max: 1 << 15 }),
      (bytes, limit) => {
        const want = packBitsReference(bytes);
        if (want && want.length <= limit) assert.deepEqual(Array.from(packBitsDecode(bytes, limit)), want);
        else assert.throws(() => packBitsDecode(bytes, limit), /PackBits/);
      },
    ),
    { numRuns: 500 },
  );
  // 1000 runs of 128 bytes stop at a 3072-byte block
  const bomb = new Uint8Array(2000).map((_, i) => (i % 2 === 0 ? 0x81 : 0));
  assert.throws(() => packBitsDecode(bomb, 3072), /expands past its 3072 bytes/);
});
