# Plugin entry points. Nothing here touches the GUI: qgis_process passes iface=None and calls initProcessing() only;
# the desktop app calls initGui(), which registers the same provider.
from qgis.core import QgsApplication


class InsarDpmPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802
        if self.provider is not None:
            return
        from .provider import InsarDpmProvider
        self.provider = InsarDpmProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
