# The "insardpm" Processing provider: one algorithm per entry of the package's plugin-manifest.json, read when
# QGIS loads the provider (no Node start-up at load time).
import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import runner
from .algorithm import ICON_DIR, ManifestAlgorithm, make_output, make_parameter, manifest_labels

SETTING_NODE = 'INSARDPM_NODE'


class InsarDpmProvider(QgsProcessingProvider):
    def __init__(self):
        super().__init__()
        self._manifest = None
        self._error = None
        try:
            self._manifest, self._manifest_path = runner.load_manifest()
        except (OSError, ValueError) as e:
            self._error = str(e)
            QgsMessageLog.logMessage('insar-dpm: {}'.format(e), 'Processing', Qgis.Critical)

    def _provider_info(self):
        return (self._manifest or {}).get('provider') or {}

    def id(self):
        # fixed: models and scripts store "insardpm:<algorithm>", so it must not follow the manifest
        return 'insardpm'

    def name(self):
        return self._provider_info().get('name') or 'InSAR damage proxy maps'

    def longName(self):  # noqa: N802
        return '{} {}'.format(self.name(), self._provider_info().get('version', ''))

    def versionInfo(self):  # noqa: N802
        return self._provider_info().get('version', '')

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802
        return os.path.join(ICON_DIR, 'provider.svg')

    def load(self):
        # The Node.js path as a Processing option (Settings › Options › Processing › Providers), as GRASS/SAGA do.
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(self.name(), SETTING_NODE, 'Node.js executable (empty: $DPM_NODE, '
                                                'the one used at install time, or PATH)', '',
                                                valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        except Exception as e:  # without the processing plugin the QgsSettings key still works
            QgsMessageLog.logMessage('insar-dpm: no Processing options ({})'.format(e), 'Processing', Qgis.Info)
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
            ProcessingConfig.removeSetting(SETTING_NODE)
        except Exception:
            pass

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802
        return ['tif']  # the runner writes GeoTIFF only

    def supportedOutputVectorLayerExtensions(self):  # noqa: N802
        return ['geojson']

    def defaultVectorFileExtension(self, hasGeometry=True):  # noqa: N802, N803
        return 'geojson'

    def supportsNonFileBasedOutput(self):  # noqa: N802
        return False  # outputs are written by another process: they must be files

    def loadAlgorithms(self):  # noqa: N802
        if self._manifest is None:
            return
        labels = manifest_labels(self._manifest)
        for spec in self._manifest.get('algorithms', []):
            try:
                # build every parameter once here: a type QGIS cannot map is reported, not a traceback later
                for p in spec.get('parameters', []):
                    make_parameter(p, labels)
                for o in spec.get('outputs', []):
                    make_output(o)
                self.addAlgorithm(ManifestAlgorithm(spec, self.id(), labels))
            except Exception as e:  # one bad entry must not hide the others
                QgsMessageLog.logMessage('insar-dpm: algorithm {} not loaded: {}'.format(spec.get('id'), e),
                                         'Processing', Qgis.Critical)
