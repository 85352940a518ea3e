// Headers of an ISCE2-style stack: a GDAL VRT (VRTRawRasterBand over the raw file) and an ISCE2 image XML for each
// raw file, as stackSentinel.py leaves them (`merged/SLC/YYYYMMDD/YYYYMMDD.slc.full` + `.vrt` + `.xml`,
// `geom_reference/lat.rdr` …). One band, little-endian, BIP. The data file is named relative to the header (the
// VRT with relativeToVRT="1", the XML by its base name), so a stack stays valid when its folder is moved.

export type RawType = 'CFloat32' | 'Float64' | 'Float32' | 'Byte';

const TYPE: Record<RawType, { bytes: number; isce: string }> = {
  CFloat32: { bytes: 8, isce: 'CFLOAT' },
  Float64: { bytes: 8, isce: 'DOUBLE' },
  Float32: { bytes: 4, isce: 'FLOAT' },
  Byte: { bytes: 1, isce: 'BYTE' },
};

export function bytesPerSample(t: RawType): number {
  return TYPE[t].bytes;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** What a band-sequential raw file's VRT says beyond its layout (the simulator's truth rasters of large scenes). */
export interface RawVrtExtras {
  /** one description per band; the file holds the bands one after the other (BSQ) */
  bands: string[];
  /** dataset metadata (default domain) */
  metadata?: Record<string, string>;
  /** GDAL GEOLOCATION metadata (radar geometry: lat/lon arrays) */
  geolocation?: Record<string, string>;
}

function metadataXml(items: Record<string, string>, domain?: string): string {
  const open = domain ? `    <Metadata domain="${domain}">\n` : '    <Metadata>\n';
  const entries = Object.entries(items).map(([k, v]) => `        <MDI key="${xmlEscape(k)}">${xmlEscape(v)}</MDI>\n`);
  return `${open}${entries.join('')}    </Metadata>\n`;
}

/** GDAL VRT describing a raw little-endian file `fileName` (relative to the VRT): one band, or `extras.bands`
 *  bands stored one after the other. */
export function rawVrt(fileName: string, width: number, height: number, type: RawType, extras?: RawVrtExtras): string {
  const px = TYPE[type].bytes;
  const bands = (extras?.bands ?? [undefined]).map(
    (description, k) =>
      `    <VRTRasterBand band="${k + 1}" dataType="${type}" subClass="VRTRawRasterBand">\n` +
      (description === undefined ? '' : `        <Description>${xmlEscape(description)}</Description>\n`) +
      `        <SourceFilename relativeToVRT="1">${xmlEscape(fileName)}</SourceFilename>\n` +
      `        <ByteOrder>LSB</ByteOrder>\n` +
      `        <ImageOffset>${k * px * width * height}</ImageOffset>\n` +
      `        <PixelOffset>${px}</PixelOffset>\n` +
      `        <LineOffset>${px * width}</LineOffset>\n` +
      `    </VRTRasterBand>\n`,
  );
  return (
    `<VRTDataset rasterXSize="${width}" rasterYSize="${height}">\n` +
    (extras?.metadata ? metadataXml(extras.metadata) : '') +
    (extras?.geolocation ? metadataXml(extras.geolocation, 'GEOLOCATION') : '') +
    bands.join('') +
    `</VRTDataset>\n`
  );
}

function property(name: string, value: string | number, doc: string, indent = '    '): string {
  return (
    `${indent}<property name="${name}">\n` +
    `${indent}    <value>${xmlEscape(String(value))}</value>\n` +
    `${indent}    <doc>${xmlEscape(doc)}</doc>\n` +
    `${indent}</property>\n`
  );
}

function coordinate(which: 1 | 2, size: number): string {
  const i = '        ';
  return (
    `    <component name="coordinate${which}">\n` +
    `${i}<factorymodule>isceobj.Image</factorymodule>\n` +
    `${i}<factoryname>createCoordinate</factoryname>\n` +
    `${i}<doc>${which === 1 ? 'First coordinate of a 2D image (width).' : 'Second coordinate of a 2D image (length).'}</doc>\n` +
    property('delta', 1, 'Coordinate quantization.', i) +
    property('endingvalue', size, 'Ending value of the coordinate.', i) +
    property('family', 'imagecoordinate', 'Instance family name', i) +
    property('name', 'imagecoordinate_name', 'Instance name', i) +
    property('size', size, 'Coordinate size.', i) +
    property('startingvalue', 0, 'Starting value of the coordinate.', i) +
    `    </component>\n`
  );
}

/** ISCE2 image XML (isceobj.Image) for a raw single-band little-endian BIP file `fileName` (base name). */
export function isceXml(fileName: string, width: number, length: number, type: RawType, imageType: string): string {
  return (
    `<imageFile>\n` +
    property('access_mode', 'read', 'Image access mode.') +
    property('byte_order', 'l', 'Endianness of the image.') +
    coordinate(1, width) +
    coordinate(2, length) +
    property('data_type', TYPE[type].isce, 'Image data type.') +
    property('family', 'image', 'Instance family name') +
    property('file_name', fileName, 'Name of the image file.') +
    property('image_type', imageType, 'Image type used for displaying.') +
    property('length', length, 'Image length') +
    property('name', 'image_name', 'Instance name') +
    property('number_bands', 1, 'Number of image bands.') +
    property('scheme', 'BIP', 'Interleaving scheme of the image.') +
    property('width', width, 'Image width') +
    property('xmax', width, 'Maximum range value') +
    property('xmin', 0, 'Minimum range value') +
    `</imageFile>\n`
  );
}
