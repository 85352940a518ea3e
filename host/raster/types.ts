// In-memory rasters shared by every stage. Implemented by host/raster/geotiff.ts and host/raster/stack.ts.

/** GDAL order: [x0, dx, rx, y0, ry, dy]; x = x0 + col·dx + row·rx at the pixel's upper-left corner. */
export type GeoTransform = [number, number, number, number, number, number];

export interface Georef {
  /** map grid (geocoded input): geotransform and CRS */
  geoTransform?: GeoTransform;
  /** CRS as an EPSG code (4326, 326xx …) when known */
  epsg?: number;
  /** radar geometry: WGS84 latitude/longitude of each pixel centre, row-major height × width */
  lat?: Float32Array;
  lon?: Float32Array;
}

export interface Raster {
  width: number;
  height: number;
  /** one Float32Array per band, row-major height × width; NaN = nodata */
  bands: Float32Array[];
  /** per-band description (GDAL band description), same length as bands */
  descriptions: string[];
  georef: Georef;
  /** dataset-level metadata items (GDAL default domain), e.g. FIRST_DATE; optional */
  metadata?: Record<string, string>;
  /** where it came from, for error messages */
  source?: string;
}

/** A coherence stack (ARCHITECTURE.md): band k = coherence of acquisitions (k, k+1) in time order. */
export interface CoherenceStack extends Raster {
  /** acquisition dates of each band's pair, YYYYMMDD */
  pairs: { first: string; second: string }[];
}
