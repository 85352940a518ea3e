// QGIS styles for score GeoTIFFs: a `<name>.qml` beside `<name>.tif` is what QGIS applies when the layer is added
// (singleband pseudocolour, YlOrRd from the median to the 99th percentile of the finite scores: the top of the map is
// what a responder looks at; below the median is transparent).
import { percentileSorted } from '../eval/points/stats.js';

const RAMP = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];

/** The QML document for a score band. */
export function scoreStyleQml(score: ArrayLike<number>): string {
  const finite = Float64Array.from(Array.from(score).filter(Number.isFinite)).sort();
  let lo = percentileSorted(finite, 50),
    hi = percentileSorted(finite, 99);
  if (!(hi > lo)) [lo, hi] = [lo || 0, (lo || 0) + 1];
  const items = RAMP.map((color, k) => {
    const v = lo + ((hi - lo) * k) / (RAMP.length - 1);
    return `          <item alpha="${k === 0 ? 0 : 255}" value="${v}" label="${v.toPrecision(3)}" color="${color}"/>`;
  }).join('\n');
  return `<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" classificationMin="${lo}" classificationMax="${hi}">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" minimumValue="${lo}" maximumValue="${hi}">
${items}
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
  </pipe>
</qgis>
`;
}
