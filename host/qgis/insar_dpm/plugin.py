# Plugin entry points. qgis_process passes iface=None and calls initProcessing() only; the desktop app calls
# initGui(), which registers the same provider and adds the pixel time-series tool (Raster menu and toolbar).
import os

from qgis.core import QgsApplication


class InsarDpmPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.dock = None

    def initProcessing(self):  # noqa: N802
        if self.provider is not None:
            return
        from .provider import InsarDpmProvider
        self.provider = InsarDpmProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction
        icon = QIcon(os.path.join(os.path.dirname(__file__), 'icons', 'forecaster.svg'))
        self.action = QAction(icon, 'InSAR pixel time series', self.iface.mainWindow())
        self.action.setToolTip('Click pixels of a coherence stack or forecast layer: observed coherence, the '
                               'forecast μ ± σ and ± 2σ, the co-event z-score')
        self.action.triggered.connect(self.show_pixel_tool)
        self.iface.addRasterToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu('InSAR damage proxy maps', self.action)

    def show_pixel_tool(self):
        """Opens (once) the dock and arms the map tool; returns the dock."""
        from qgis.PyQt.QtCore import Qt
        from .timeseries import PixelSeriesDock
        if self.dock is None:
            self.dock = PixelSeriesDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.show()
        self.dock.pick.setChecked(True)
        return self.dock

    def unload(self):
        if self.action is not None:
            self.iface.removeRasterToolBarIcon(self.action)
            self.iface.removePluginRasterMenu('InSAR damage proxy maps', self.action)
            self.action = None
        if self.dock is not None:
            self.dock.pick.setChecked(False)
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
