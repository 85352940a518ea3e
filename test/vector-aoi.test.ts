// AOI polygon → window of a radar-geometry grid (dpm run --aoi).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAoiPolygons, windowOfPolygons } from '../host/vector/aoi.js';
import { DpmError } from '../host/core/errors.js';

// A rotated, sheared grid like a radar geometry: lon/lat are affine in (row, col).
const W = 60,
  H = 40;
const lat = new Float64Array(W * H),
  lon = new Float64Array(W * H);
for (let r = 0; r < H; r++)
  for (let c = 0; c < W; c++) {
    lon[r * W + c] = 10 + 0.001 * c - 0.0002 * r;
    lat[r * W + c] = 45 + 0.0001 * c + 0.001 * r;
  }
const grid = { width: W, height: H, lat, lon };

test('window of a polygon: the box of the pixels whose centres lie inside, grown by the pad', () => {
  // corners off the lattice of pixel centres, so no centre lies exactly on an edge
  const ring: [number, number][] = [
    [10.01005, 45.00505],
    [10.03005, 45.00505],
    [10.03005, 45.02005],
    [10.01005, 45.02005],
    [10.01005, 45.00505],
  ];
  // brute force: every pixel centre strictly inside the (axis-aligned) box
  let r0 = H,
    r1 = -1,
    c0 = W,
    c1 = -1;
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++) {
      const x = lon[r * W + c]!,
        y = lat[r * W + c]!;
      if (x > 10.01005 && x < 10.03005 && y > 45.00505 && y < 45.02005) {
        r0 = Math.min(r0, r);
        r1 = Math.max(r1, r);
        c0 = Math.min(c0, c);
        c1 = Math.max(c1, c);
      }
    }
  assert.ok(r1 >= 0);
  assert.equal(windowOfPolygons(grid, [[ring]], [0, 0], 'aoi'), `${r0}:${r1 + 1},${c0}:${c1 + 1}`);
  assert.equal(
    windowOfPolygons(grid, [[ring]], [14, 4], 'aoi'),
    `${Math.max(0, r0 - 4)}:${Math.min(H, r1 + 5)},${Math.max(0, c0 - 14)}:${Math.min(W, c1 + 15)}`,
  );
  // a hole removes the pixels inside it but not the outer box
  const hole: [number, number][] = [
    [10.015, 45.008],
    [10.025, 45.008],
    [10.025, 45.017],
    [10.015, 45.017],
    [10.015, 45.008],
  ];
  assert.equal(windowOfPolygons(grid, [[ring, hole]], [0, 0], 'aoi'), `${r0}:${r1 + 1},${c0}:${c1 + 1}`);
});

test('a polygon outside the scene is a clear error; AOI files are reprojected to WGS84', async () => {
  const far: [number, number][] = [
    [20, 10],
    [21, 10],
    [21, 11],
    [20, 11],
    [20, 10],
  ];
  assert.throws(
    () => windowOfPolygons(grid, [[far]], [0, 0], '--aoi x.geojson'),
    (e: Error) => e instanceof DpmError && /covers no pixel/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), 'dpm-aoi-'));
  try {
    // a UTM 32N square around lon 9, lat 45 (the zone's central meridian): comes back in degrees
    const f = join(dir, 'aoi.geojson');
    writeFileSync(
      f,
      JSON.stringify({
        type: 'FeatureCollection',
        crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32632' } },
        features: [
          {
            type: 'Feature',
            properties: {},
            geometry: {
              type: 'Polygon',
              coordinates: [
                [
                  [500000, 4982000],
                  [501000, 4982000],
                  [501000, 4983000],
                  [500000, 4983000],
                  [500000, 4982000],
                ],
              ],
            },
          },
        ],
      }),
    );
    const [poly] = await readAoiPolygons(f);
    const [x, y] = poly![0]![0]!;
    assert.ok(Math.abs(x - 9) < 1e-6 && Math.abs(y - 45) < 0.02, `reprojected ${x}, ${y}`); // x = 500 km is the central meridian exactly
    await assert.rejects(readAoiPolygons(join(dir, 'none.geojson')), /--aoi .*not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
