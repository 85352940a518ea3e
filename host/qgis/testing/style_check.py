#!/usr/bin/python3
# How QGIS draws rasters styled by the .qml beside them (host/io/qml.ts): loads each GeoTIFF as QGIS does (its
# <name>.qml applied by itself) and reports the renderer and the colour of each probe value. Used by
# test/qgis-styles.test.ts. usage: QT_QPA_PLATFORM=offscreen /usr/bin/python3 style_check.py < cases.json
# cases: [{"tif": path, "values": [numbers]}]; prints one JSON line.
import json
import sys

from qgis.core import QgsApplication, QgsRasterLayer

cases = json.load(sys.stdin)
QgsApplication.setPrefixPath('/usr', True)
app = QgsApplication([], False)
app.initQgis()
out = []
for case in cases:
    layer = QgsRasterLayer(case['tif'], 'probe')
    r = layer.renderer()
    rec = {'tif': case['tif'], 'valid': layer.isValid(), 'renderer': r.type() if r else None}
    if rec['renderer'] == 'singlebandpseudocolor':
        shade = r.shader().rasterShaderFunction().shade
        rec['colours'] = [list(shade(float(v))[1:]) for v in case.get('values', [])]
    elif rec['renderer'] == 'singlebandgray':
        ce = r.contrastEnhancement()
        rec['range'] = [ce.minimumValue(), ce.maximumValue()]
    out.append(rec)
print('@@RESULT@@' + json.dumps(out))
sys.stdout.flush()
import os  # noqa: E402
os._exit(0)  # exitQgis() can crash at teardown on some builds; the result is out
