# Run by the desktop app (`xvfb-run -a qgis --nologo --code gui_zip_check.py`) on a throwaway profile, for
# test/qgis-package.test.ts: installs the plugin ZIP with the Plugin Manager's own code (Install from ZIP), opens the
# `run` and `forecast` dialogs at 1200 × 800 and reports any horizontal scroll bar shown, then picks pixels with the
# pixel time-series tool, exports its CSV and a picture of the dock, runs forecast with its results loaded (styled by
# the .qml files), writes what happened to 'result' and quits.
# Config in $DPM_GUI_CHECK: {"zip", "result", "dialogs": [alg ids], "forecast": {parameters},
# "pixel": {"layer", "model", "places": [[lon, lat]], "csv", "png"}}.
import json
import os
import traceback

import qgis.utils
from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsPointXY, QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QAbstractScrollArea, QApplication
from qgis.utils import iface

cfg = json.loads(os.environ['DPM_GUI_CHECK'])
out = {'errors': []}
keep = []


def finish():
    with open(cfg['result'], 'w') as f:
        json.dump(out, f)
    QgsApplication.exit(0)


def step(fn, then):
    def run():
        try:
            fn()
        except Exception:
            out['errors'].append(traceback.format_exc())
        QTimer.singleShot(100, then)
    return run


def install():
    import pyplugin_installer
    pyplugin_installer.instance().installFromZipFile(cfg['zip'])  # Plugins ▸ Install from ZIP
    out['installed'] = os.path.isfile(os.path.join(qgis.utils.home_plugin_path, 'insar_dpm', 'metadata.txt'))
    out['started'] = 'insar_dpm' in qgis.utils.active_plugins
    out['pluginDir'] = os.path.join(qgis.utils.home_plugin_path, 'insar_dpm')
    provider = QgsApplication.processingRegistry().providerById('insardpm')
    out['algorithms'] = len(provider.algorithms()) if provider else 0


def dialogs(then):
    import processing
    todo = list(cfg.get('dialogs', []))
    out['dialogs'] = {}

    def next_dialog():
        if not todo:
            return then()
        alg = todo.pop(0)
        dlg = processing.createAlgorithmDialog(alg)
        dlg.resize(1200, 800)
        dlg.show()
        keep.append(dlg)

        def check():
            try:
                areas = [a for a in dlg.findChildren(QAbstractScrollArea) if a.isVisible()]
                out['dialogs'][alg] = {
                    'size': [dlg.width(), dlg.height()],
                    'scrollAreas': len(areas),
                    'horizontalBars': [a.objectName() or type(a).__name__ for a in areas
                                       if a.horizontalScrollBar().isVisible()],
                }
                if cfg.get('shots'):
                    dlg.grab().save(os.path.join(cfg['shots'], alg.replace(':', '_') + '.png'))
            except Exception:
                out['errors'].append(traceback.format_exc())
            dlg.close()
            QTimer.singleShot(100, next_dialog)

        QTimer.singleShot(1500, check)  # let the dialog lay itself out

    next_dialog()


def pixels(then):
    pc = cfg['pixel']
    layer = QgsRasterLayer(pc['layer'], 'coherence stack')
    QgsProject.instance().addMapLayer(layer)
    iface.setActiveLayer(layer)
    dock = qgis.utils.plugins['insar_dpm'].show_pixel_tool()
    dock.model.setFilePath(pc['model'])
    wgs84 = QgsCoordinateReferenceSystem('EPSG:4326')
    out['pixel'] = {'tool': type(iface.mapCanvas().mapTool()).__name__, 'failed': []}
    places = list(pc['places'])

    def done():
        out['pixel']['series'] = dock.chart.series  # what the chart draws
        out['pixel']['list'] = [dock.pixels.item(i).text() for i in range(dock.pixels.count())]
        dock.export_csv(pc['csv'])
        dock.grab().save(pc['png'])
        then()

    dock.failed.connect(lambda m: (out['pixel']['failed'].append(m), done()))
    dock.series_added.connect(lambda n: done() if n == len(pc['places']) else None)
    for lon, lat in places:  # as clicks on the map would (PixelMapTool → add_point), on a task thread
        dock.add_point(QgsPointXY(lon, lat), wgs84, layer)


def styled():
    """Runs forecast as the toolbox does (results loaded into the project) and reports how its layers are drawn."""
    import processing
    before = set(QgsProject.instance().mapLayers())
    processing.runAndLoadResults('insardpm:forecast', cfg['forecast'])
    added = [l for k, l in QgsProject.instance().mapLayers().items() if k not in before]
    out['loaded'] = {l.name(): l.renderer().type() for l in added}


QTimer.singleShot(120000, finish)  # never hang the test
QTimer.singleShot(500, step(install, lambda: dialogs(step(styled, lambda: pixels(finish)))))
