# QGIS loads this package by the folder name (insar_dpm) and calls classFactory(iface); iface is None under
# qgis_process, which then calls initProcessing() only.


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import InsarDpmPlugin
    return InsarDpmPlugin(iface)
