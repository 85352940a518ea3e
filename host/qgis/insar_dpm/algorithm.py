# One Processing algorithm per entry of plugin-manifest.json. The manifest's kebab-case names become QGIS names
# ('coherence-stack' → 'COHERENCE_STACK', algorithm 'validate-points' → 'insardpm:validate_points'); values go to the
# runner under the manifest names, so the runner checks them exactly as the CLI does (resolveParams).
import json
import os
import re
import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputHtml,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsRasterFileWriter,
    QgsRasterPipe,
    QgsVectorFileWriter,
)
from qgis.PyQt.QtGui import QIcon

from . import runner

DESTINATIONS = ('rasterDestination', 'vectorDestination', 'fileDestination', 'folderDestination')


def qgis_name(name):
    """Manifest name (kebab-case) → QGIS parameter/output/algorithm name."""
    return name.replace('-', '_').upper()


def qgis_alg_name(alg_id):
    return alg_id.replace('-', '_').lower()


def _file_filter(ext):
    if not ext:
        return 'All files (*.*)'
    exts = [e.strip().lstrip('.') for e in str(ext).replace(';', ',').split(',') if e.strip()]
    return '{} files ({});;All files (*.*)'.format('/'.join(e.upper() for e in exts),
                                                   ' '.join('*.' + e for e in exts))


ICON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'icons')
_FLAG = re.compile(r'--([a-z][a-z0-9-]*)')
_DATE8 = re.compile(r'^\d{8}$')


def qgis_text(text, labels):
    """A CLI explanation as QGIS shows it: each `--name` becomes the label of that parameter (“Label”)."""
    def label(m):
        known = labels.get(m.group(1))
        return '“{}”'.format(known) if known else qgis_name(m.group(1))
    return _FLAG.sub(label, text or '')


def manifest_labels(manifest):
    """name → label over every algorithm (a help text may name another algorithm's parameter)."""
    labels = {}
    for a in manifest.get('algorithms', []):
        for p in a.get('parameters', []):
            labels.setdefault(p['name'], p.get('label') or p['name'])
    return labels


def _iso_date(value):
    """YYYYMMDD (the CLI's form, stored in older models) → YYYY-MM-DD; anything else unchanged."""
    if isinstance(value, str) and _DATE8.match(value.strip()):
        v = value.strip()
        return '{}-{}-{}'.format(v[:4], v[4:6], v[6:])
    return value


class DateParameter(QgsProcessingParameterDateTime):
    """A date widget that also takes the CLI's YYYYMMDD (qgis_process, models saved before it was a date)."""

    def __init__(self, name, desc, default=None, optional=False):
        super().__init__(name, desc, QgsProcessingParameterDateTime.Date, _iso_date(default), optional)

    def clone(self):
        c = DateParameter(self.name(), self.description(), self.defaultValue(),
                          bool(self.flags() & self.FlagOptional))
        c.setFlags(self.flags())
        c.setHelp(self.help())
        return c

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802
        return super().checkValueIsAcceptable(_iso_date(value), context)


def _folders(value):
    """The folders in a parameter value (a path or a list of paths), or None if any item is not one."""
    items = value if isinstance(value, (list, tuple)) else [value]
    paths = [str(v) for v in items if isinstance(v, str) and v]
    return paths if paths and len(paths) == len(items) and all(os.path.isdir(v) for v in paths) else None


class LayersOrFolderParameter(QgsProcessingParameterMultipleLayers):
    """Raster layers or files, or a folder of dated single-pair files (the runner reads the folder itself)."""

    def clone(self):
        c = LayersOrFolderParameter(self.name(), self.description(), self.layerType(), self.defaultValue(),
                                    bool(self.flags() & self.FlagOptional))
        c.setFlags(self.flags())
        c.setHelp(self.help())
        return c

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802
        return _folders(value) is not None or super().checkValueIsAcceptable(value, context)


def make_parameter(p, labels=None):
    """The QgsProcessingParameter* for one manifest ParamSpec (see docs/runner-protocol.md for the table).
    QGIS shows the short label; the explanation goes to the parameter's help (tooltip) with flags as labels."""
    param = _make_parameter(p)
    param.setHelp(qgis_text(p.get('description'), labels or {}))
    return param


def _make_parameter(p):
    name, t, desc = qgis_name(p['name']), p['type'], p.get('label') or p.get('description') or p['name']
    default, optional, multiple = p.get('default'), bool(p.get('optional')), bool(p.get('multiple'))
    if multiple and t in ('raster', 'vector', 'file'):
        layer_type = {'raster': QgsProcessing.TypeRaster, 'vector': QgsProcessing.TypeVectorAnyGeometry,
                      'file': QgsProcessing.TypeFile}[t]
        cls = LayersOrFolderParameter if p.get('folders') else QgsProcessingParameterMultipleLayers
        param = cls(name, desc, layer_type, None, optional)
    elif multiple and t == 'enum':
        opts = list(p.get('options') or [])
        dflt = default if isinstance(default, list) else ([default] if default is not None else None)
        idx = [opts.index(d) for d in dflt if d in opts] if dflt else None
        param = QgsProcessingParameterEnum(name, desc, list(p.get('optionLabels') or opts), True, idx, optional)
    elif multiple:
        # numbers, strings, folders: a list separated by ',' or ';' (as on the CLI); the help says so
        dflt = ','.join(str(d) for d in default) if isinstance(default, list) else default
        param = QgsProcessingParameterString(name, desc, None if dflt is None else str(dflt), False, optional)
    elif t == 'date':
        param = DateParameter(name, desc, default, optional)
    elif t == 'field':
        param = QgsProcessingParameterField(name, desc, default, qgis_name(p['parent']),
                                            QgsProcessingParameterField.Any, False, optional)
    elif t == 'raster':
        param = QgsProcessingParameterRasterLayer(name, desc, default, optional)
    elif t == 'vector':
        param = QgsProcessingParameterVectorLayer(name, desc, [QgsProcessing.TypeVectorAnyGeometry], default, optional)
    elif t in ('file', 'folder'):
        behavior = (QgsProcessingParameterFile.File if t == 'file' else QgsProcessingParameterFile.Folder)
        ext = p.get('extension') if t == 'file' else None
        if ext and (',' in ext or ';' in ext):
            param = QgsProcessingParameterFile(name, desc, behavior, '', default, optional, _file_filter(ext))
        else:
            param = QgsProcessingParameterFile(name, desc, behavior, (ext or '').lstrip('.'), default, optional)
    elif t in ('number', 'integer'):
        kind = QgsProcessingParameterNumber.Integer if t == 'integer' else QgsProcessingParameterNumber.Double
        param = QgsProcessingParameterNumber(name, desc, kind, default, optional)
        if p.get('min') is not None:
            param.setMinimum(p['min'])
        if p.get('max') is not None:
            param.setMaximum(p['max'])
    elif t == 'enum':
        opts = list(p.get('options') or [])
        idx = opts.index(default) if default in opts else None
        param = QgsProcessingParameterEnum(name, desc, list(p.get('optionLabels') or opts), False, idx, optional)
    elif t == 'boolean':
        param = QgsProcessingParameterBoolean(name, desc, bool(default) if default is not None else False, optional)
    elif t == 'string':
        param = QgsProcessingParameterString(name, desc, None if default is None else str(default), False, optional)
    elif t == 'extent':
        param = QgsProcessingParameterExtent(name, desc, default, optional)
    elif t == 'rasterDestination':
        param = QgsProcessingParameterRasterDestination(name, desc, None, optional)
    elif t == 'vectorDestination':
        param = QgsProcessingParameterVectorDestination(name, desc, QgsProcessing.TypeVectorAnyGeometry, None,
                                                        optional)
    elif t == 'fileDestination':
        param = QgsProcessingParameterFileDestination(name, desc, _file_filter(p.get('extension')), None, optional)
    elif t == 'folderDestination':
        param = QgsProcessingParameterFolderDestination(name, desc, None, optional)
    else:
        raise ValueError('parameter {}: type {} has no QGIS equivalent'.format(p['name'], t))
    if optional and t in DESTINATIONS:
        param.setCreateByDefault(False)  # an optional output is only written when the user asks for it
    if p.get('advanced'):
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


OUTPUT_CLASSES = {
    'raster': QgsProcessingOutputRasterLayer,
    'vector': QgsProcessingOutputVectorLayer,
    'file': QgsProcessingOutputFile,
    'folder': QgsProcessingOutputFolder,
    'number': QgsProcessingOutputNumber,
    'string': QgsProcessingOutputString,
    'html': QgsProcessingOutputHtml,
}


def make_output(o):
    cls = OUTPUT_CLASSES.get(o['type'])
    if cls is None:
        raise ValueError('output {}: type {} has no QGIS equivalent'.format(o['name'], o['type']))
    return cls(qgis_name(o['name']), o.get('description') or o['name'])


def _abs(path):
    return os.path.abspath(os.path.expanduser(path)) if path else path


def group_icon_path(group):
    """icons/<group id>.svg (one per toolbox group), else the provider's icon."""
    path = os.path.join(ICON_DIR, '{}.svg'.format(group_id(group)))
    return path if os.path.isfile(path) else os.path.join(ICON_DIR, 'provider.svg')


def group_id(group):
    return ''.join(c if c.isalnum() else '_' for c in (group or '').lower())


class StyleFromQml(QgsProcessingLayerPostProcessorInterface):
    """Applies a .qml style to a layer Processing has just loaded."""
    _alive = []  # Processing does not own Python post-processors: keep them until QGIS has used them

    def __init__(self, qml):
        super().__init__()
        self.qml = qml

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if layer is not None:
            layer.loadNamedStyle(self.qml)
            layer.triggerRepaint()

    @staticmethod
    def create(qml):
        p = StyleFromQml(qml)
        StyleFromQml._alive.append(p)
        return p


class ManifestAlgorithm(QgsProcessingAlgorithm):
    def __init__(self, spec, provider_id='insardpm', labels=None):
        super().__init__()
        self.spec = spec
        self.provider_id = provider_id
        self.labels = labels if labels is not None else {
            p['name']: p.get('label') or p['name'] for p in spec.get('parameters', [])}

    # -- identity ---------------------------------------------------------------------------------------------
    def createInstance(self):  # noqa: N802 (QGIS clones the algorithm for every run, batch row, model child)
        return ManifestAlgorithm(self.spec, self.provider_id, self.labels)

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802
        return group_icon_path(self.group())

    def name(self):
        return qgis_alg_name(self.spec['id'])

    def displayName(self):  # noqa: N802
        return self.spec.get('name') or self.spec['id']

    def group(self):
        return self.spec.get('group') or ''

    def groupId(self):  # noqa: N802
        return group_id(self.spec.get('group'))

    def shortHelpString(self):  # noqa: N802
        # the help panel: what the algorithm does, then each parameter's label and explanation (the dialog shows
        # the short labels only); CLI flags are written as the labels the dialog shows
        params = ['<li><b>{}</b>: {}</li>'.format(p.get('label') or p['name'], qgis_text(p.get('description'),
                                                                                          self.labels))
                  for p in self.spec.get('parameters', [])]
        return '<p>{}</p><ul>{}</ul><p>Also on the command line: <code>dpm {}</code>.</p>'.format(
            qgis_text(self.spec.get('help'), self.labels), ''.join(params), self.spec['id'])

    def initAlgorithm(self, config=None):  # noqa: N802
        destinations = set()
        for p in self.spec.get('parameters', []):
            self.addParameter(make_parameter(p, self.labels))
            if p['type'] in DESTINATIONS:
                destinations.add(qgis_name(p['name']))
        for o in self.spec.get('outputs', []):
            # a destination parameter already declares the output of the same name
            if qgis_name(o['name']) not in destinations:
                self.addOutput(make_output(o))

    # -- running ----------------------------------------------------------------------------------------------
    def _given(self, parameters, qn):
        v = parameters.get(qn)
        if v is None:
            d = self.parameterDefinition(qn)
            v = d.defaultValue() if d is not None else None
        return v is not None and v != '' and v != []

    def _layer_path(self, layer, kind, tmpdir, feedback):
        """A file the runner can read for a map layer: its own file when it is one, else a temporary export."""
        src = layer.source()
        path = src.split('|')[0]
        if kind == 'raster':
            if layer.providerType() == 'gdal' and (os.path.isdir(path) or (
                    os.path.isfile(path) and path.lower().endswith(('.tif', '.tiff')))):
                return _abs(path)
            out = os.path.join(tmpdir, 'layer{}.tif'.format(len(os.listdir(tmpdir))))
            feedback.pushInfo('Exporting raster layer {} to a temporary GeoTIFF (band names are lost)'.format(
                layer.name()))
            prov = layer.dataProvider()
            pipe = QgsRasterPipe()
            pipe.set(prov.clone())
            writer = QgsRasterFileWriter(out)
            writer.setOutputFormat('GTiff')
            if writer.writeRaster(pipe, prov.xSize(), prov.ySize(), prov.extent(), prov.crs()) != 0:
                raise QgsProcessingException('Could not export raster layer {} to GeoTIFF'.format(layer.name()))
            return out
        if (layer.providerType() == 'ogr' and '|' not in src and os.path.isfile(path)
                and path.lower().endswith(('.geojson', '.json', '.shp', '.fgb'))):
            return _abs(path)
        out = os.path.join(tmpdir, 'layer{}.geojson'.format(len(os.listdir(tmpdir))))
        feedback.pushInfo('Exporting vector layer {} to a temporary GeoJSON file'.format(layer.name()))
        opts = QgsVectorFileWriter.SaveVectorOptions()
        opts.driverName = 'GeoJSON'
        err = QgsVectorFileWriter.writeAsVectorFormatV2(layer, out, layer.transformContext(), opts)
        if err[0] != QgsVectorFileWriter.NoError:
            raise QgsProcessingException('Could not export vector layer {}: {}'.format(layer.name(), err[1]))
        return out

    def _value(self, p, parameters, context, feedback, tmpdir):
        """The JSON value the runner gets for one parameter, or None to leave it out (the runner fills defaults)."""
        qn, t, multiple = qgis_name(p['name']), p['type'], bool(p.get('multiple'))
        if t in DESTINATIONS:
            v = (self.parameterAsOutputLayer if t in ('rasterDestination', 'vectorDestination')
                 else self.parameterAsFileOutput)(parameters, qn, context)
            if not v:
                return None
            v = _abs(v)
            # a destination in a folder that does not exist yet is fine (as for QGIS's own algorithms); the
            # folders made here are removed again if the job fails
            missing = []
            parent = os.path.dirname(v)
            while parent and not os.path.exists(parent):
                missing.append(parent)
                parent = os.path.dirname(parent)
            if missing:
                os.makedirs(missing[0])
                self._made_dirs.extend(reversed(missing))
            if t == 'folderDestination' and not os.path.exists(v):
                self._made_dirs.append(v)  # the runner makes it; an empty one is removed after a failure
            return v
        if not self._given(parameters, qn):
            return None
        if multiple and p.get('folders'):
            folders = _folders(parameters.get(qn))
            if folders is not None:
                return [_abs(f) for f in folders]  # the runner reads a folder of single-pair files itself
        if multiple and t in ('raster', 'vector'):
            layers = self.parameterAsLayerList(parameters, qn, context)
            return [self._layer_path(l, t, tmpdir, feedback) for l in layers]
        if multiple and t == 'file':
            return [_abs(f) for f in self.parameterAsFileList(parameters, qn, context)]
        if multiple and t == 'enum':
            opts = p.get('options') or []
            return [opts[i] for i in self.parameterAsEnums(parameters, qn, context)]
        if multiple:
            return self.parameterAsString(parameters, qn, context)
        if t in ('raster', 'vector'):
            layer = (self.parameterAsRasterLayer if t == 'raster' else self.parameterAsVectorLayer)(
                parameters, qn, context)
            if layer is None:
                raise QgsProcessingException(self.invalidSourceError(parameters, qn) if t == 'vector'
                                             else self.invalidRasterError(parameters, qn))
            return self._layer_path(layer, t, tmpdir, feedback)
        if t in ('file', 'folder'):
            return _abs(self.parameterAsFile(parameters, qn, context))
        if t == 'number':
            return self.parameterAsDouble(parameters, qn, context)
        if t == 'integer':
            return self.parameterAsInt(parameters, qn, context)
        if t == 'enum':
            return (p.get('options') or [])[self.parameterAsEnum(parameters, qn, context)]
        if t == 'date':
            raw = parameters.get(qn)
            if isinstance(raw, str) and _DATE8.match(raw.strip()):
                return raw.strip()
            return self.parameterAsDateTime(parameters, qn, context).date().toString('yyyyMMdd')
        if t == 'field':
            fields = self.parameterAsFields(parameters, qn, context)
            return fields[0] if fields else None
        if t == 'boolean':
            return self.parameterAsBool(parameters, qn, context)
        if t == 'extent':
            r = self.parameterAsExtent(parameters, qn, context)
            crs = self.parameterAsExtentCrs(parameters, qn, context)
            text = '{},{},{},{}'.format(r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum())
            return text + (' [{}]'.format(crs.authid()) if crs.isValid() and crs.authid() else '')
        return self.parameterAsString(parameters, qn, context)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self._made_dirs = []
        try:
            with tempfile.TemporaryDirectory(prefix='insardpm-') as tmpdir:
                values = {}
                for p in self.spec.get('parameters', []):
                    v = self._value(p, parameters, context, feedback, tmpdir)
                    if v is not None:
                        values[p['name']] = v
                dests = [values[p['name']] for p in self.spec.get('parameters', [])
                         if p['type'] in DESTINATIONS and p['name'] in values]
                outputs = runner.run_job(self.spec['id'], values, feedback, destinations=dests)
        except BaseException:
            for d in reversed(self._made_dirs):  # innermost first; only if still empty
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            raise
        results = {}
        for o in self.spec.get('outputs', []):
            if o['name'] in outputs:
                v = outputs[o['name']]
                results[qgis_name(o['name'])] = json.dumps(v) if isinstance(v, (dict, list)) else v
        for p in self.spec.get('parameters', []):
            if p['type'] in DESTINATIONS and p['name'] in values:
                results.setdefault(qgis_name(p['name']), values[p['name']])
        extra = sorted(set(outputs) - {o['name'] for o in self.spec.get('outputs', [])})
        if extra:
            feedback.pushDebugInfo('runner outputs not in the manifest: {}'.format(', '.join(extra)))
        self._load_raster_outputs(results, context)
        return results

    def _load_raster_outputs(self, results, context):
        """Raster outputs that are not destinations (e.g. forecast's ZSCORE inside its folder) are added to the
        project when the algorithm finishes, as destinations are; QGIS applies the .qml the runner wrote beside
        each (damage proxy map as dpm.png, coherence grey, CCD diverging)."""
        if context.project() is None:
            return  # qgis_process: no project to add to
        destinations = {qgis_name(p['name']) for p in self.spec.get('parameters', []) if p['type'] in DESTINATIONS}
        for o in self.spec.get('outputs', []):
            qn = qgis_name(o['name'])
            path = results.get(qn)
            if o['type'] == 'raster' and qn not in destinations and isinstance(path, str) and os.path.isfile(path):
                details = QgsProcessingContext.LayerDetails(o.get('description') or o['name'], context.project(), qn)
                context.addLayerToLoadOnCompletion(path, details)
        # Processing loads layers without their default style: apply the .qml beside each one explicitly
        for path in context.layersToLoadOnCompletion():
            qml = os.path.splitext(path)[0] + '.qml'
            if os.path.isfile(qml):
                context.layerToLoadOnCompletionDetails(path).setPostProcessor(StyleFromQml.create(qml))
