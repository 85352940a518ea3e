// Where the simulated radar grid lies on the Earth: an affine map from SLC pixel (row, col) to WGS84 lat/lon that
// looks like a Sentinel-1 ascending IW burst near Sarpol-e-Zahab (the paper's Figs. 5–6 town): rows run along the
// flight direction (heading ≈ 347.7°, so slightly west of north), columns run in ground range towards the look
// direction (right-looking, ENE), ~13.9 m azimuth × ~4.0 m ground-range spacing, and the two axes are sheared by
// ~1° (they are not exactly perpendicular on the ground, as in a real zero-Doppler grid with Earth rotation).
// The map is exactly affine (a local tangent plane with fixed metres-per-degree), so a rectangle of pixels is a
// parallelogram in lat/lon and "pixel centre inside polygon" gives the same answer in either coordinate system:
// the truth mask and the GeoJSON footprints agree exactly. Real grids bend slightly with incidence angle and
// topography; that curvature is left out on purpose.

export interface RadarGrid {
  width: number;
  height: number;
  /** scene centre (pixel centre of row height/2, col width/2) */
  centreLat: number;
  centreLon: number;
  /** satellite heading, degrees clockwise from north */
  headingDeg: number;
  /** skew of the azimuth axis from perpendicular to range, degrees */
  shearDeg: number;
  azimuthSpacingM: number;
  rangeSpacingM: number;
}

export function defaultGrid(width: number, height: number): RadarGrid {
  return {
    width,
    height,
    centreLat: 34.4612,
    centreLon: 45.8637,
    headingDeg: -12.3,
    shearDeg: 1.0,
    azimuthSpacingM: 13.9,
    rangeSpacingM: 4.0,
  };
}

/** Metres per degree of latitude and longitude at `lat` (WGS84 series, good to ~1 cm per km here). */
export function metresPerDegree(latDeg: number): { lat: number; lon: number } {
  const p = (latDeg * Math.PI) / 180;
  return {
    lat: 111132.92 - 559.82 * Math.cos(2 * p) + 1.175 * Math.cos(4 * p) - 0.0023 * Math.cos(6 * p),
    lon: 111412.84 * Math.cos(p) - 93.5 * Math.cos(3 * p) + 0.118 * Math.cos(5 * p),
  };
}

/** The affine pixel → ground map: east/north metres from the scene centre, and lat/lon. */
export class GridMap {
  /** east, north metres per row and per column */
  readonly rowE: number;
  readonly rowN: number;
  readonly colE: number;
  readonly colN: number;
  private readonly mLat: number;
  private readonly mLon: number;
  private readonly r0: number;
  private readonly c0: number;

  constructor(readonly grid: RadarGrid) {
    const h = (grid.headingDeg * Math.PI) / 180;
    const az = h + (grid.shearDeg * Math.PI) / 180; // sheared azimuth axis
    const rg = h + Math.PI / 2; // right-looking: range points 90° clockwise from the heading
    this.rowE = grid.azimuthSpacingM * Math.sin(az);
    this.rowN = grid.azimuthSpacingM * Math.cos(az);
    this.colE = grid.rangeSpacingM * Math.sin(rg);
    this.colN = grid.rangeSpacingM * Math.cos(rg);
    const m = metresPerDegree(grid.centreLat);
    this.mLat = m.lat;
    this.mLon = m.lon;
    this.r0 = grid.height / 2;
    this.c0 = grid.width / 2;
  }

  /** Ground position (east, north metres from the centre) of fractional pixel coordinates (row, col). */
  toGround(row: number, col: number): { e: number; n: number } {
    const dr = row - this.r0;
    const dc = col - this.c0;
    return { e: dr * this.rowE + dc * this.colE, n: dr * this.rowN + dc * this.colN };
  }

  /** toGround of every pixel centre of `row` into e[c], n[c] (the same arithmetic, no object per pixel). */
  groundRow(row: number, e: Float64Array, n: Float64Array): void {
    const dr = row - this.r0;
    for (let c = 0; c < e.length; c++) {
      const dc = c - this.c0;
      e[c] = dr * this.rowE + dc * this.colE;
      n[c] = dr * this.rowN + dc * this.colN;
    }
  }

  /** toLatLon of every pixel centre of `row` into lat/lon from `offset` on. */
  latLonRow(row: number, lat: Float64Array, lon: Float64Array, offset: number): void {
    const dr = row - this.r0;
    for (let c = 0; c < this.grid.width; c++) {
      const dc = c - this.c0;
      lat[offset + c] = this.grid.centreLat + (dr * this.rowN + dc * this.colN) / this.mLat;
      lon[offset + c] = this.grid.centreLon + (dr * this.rowE + dc * this.colE) / this.mLon;
    }
  }

  /** Fractional pixel coordinates of a ground position (inverse of toGround). */
  toPixel(e: number, n: number): { row: number; col: number } {
    const det = this.rowE * this.colN - this.colE * this.rowN;
    const dr = (e * this.colN - n * this.colE) / det;
    const dc = (this.rowE * n - this.rowN * e) / det;
    return { row: dr + this.r0, col: dc + this.c0 };
  }

  /** WGS84 lat/lon of fractional pixel coordinates; integer (row, col) is a pixel centre. */
  toLatLon(row: number, col: number): { lat: number; lon: number } {
    const g = this.toGround(row, col);
    return { lat: this.grid.centreLat + g.n / this.mLat, lon: this.grid.centreLon + g.e / this.mLon };
  }

  /** Per-pixel-centre lookups (row-major height × width), as ISCE2's geom_reference/lat.rdr and lon.rdr. */
  lookups(): { lat: Float64Array; lon: Float64Array } {
    const { width, height } = this.grid;
    const lat = new Float64Array(width * height);
    const lon = new Float64Array(width * height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const p = this.toLatLon(r, c);
        lat[r * width + c] = p.lat;
        lon[r * width + c] = p.lon;
      }
    }
    return { lat, lon };
  }
}
