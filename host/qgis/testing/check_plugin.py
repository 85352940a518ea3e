#!/usr/bin/python3
# Checks the insar_dpm plugin inside QGIS's own Python (Debian: /usr/bin/python3 with the qgis module), in one
# process so QGIS starts once: byte-compiles every plugin file, loads the plugin as qgis_process does
# (classFactory(None) + initProcessing()), describes every algorithm's QGIS parameters and outputs, maps a synthetic
# spec that uses every manifest type, and runs the job cases given on stdin, reporting each error message and
# whether the runner's process group is gone. Used by test/qgis-provider.test.ts; prints one JSON document.
#
# usage: QT_QPA_PLATFORM=offscreen /usr/bin/python3 check_plugin.py PLUGINS_DIR < cases.json
import json
import os
import sys

import tempfile

from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback,
                       QgsProcessingParameterDefinition, QgsProcessingParameterNumber)

plugins_dir = sys.argv[1]
cases = json.load(sys.stdin)

out = {'compiled': [], 'algorithms': {}, 'synthetic': None, 'cases': []}
for dirpath, _, files in os.walk(os.path.join(plugins_dir, 'insar_dpm')):
    for f in files:
        if f.endswith('.py'):
            path = os.path.join(dirpath, f)
            with open(path, encoding='utf-8') as src:
                compile(src.read(), path, 'exec')  # raises SyntaxError naming the file and line
            out['compiled'].append(f)

QgsApplication.setPrefixPath('/usr', True)
app = QgsApplication([], False)
app.initQgis()
sys.path.insert(0, '/usr/share/qgis/python/plugins')
from processing.core.Processing import Processing  # noqa: E402
Processing.initialize()
import processing  # noqa: E402

sys.path.insert(0, plugins_dir)
import insar_dpm  # noqa: E402
from insar_dpm import runner  # noqa: E402
from insar_dpm.algorithm import ManifestAlgorithm  # noqa: E402

plugin = insar_dpm.classFactory(None)
plugin.initProcessing()
provider = QgsApplication.processingRegistry().providerById('insardpm')


def jsonable(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


a_folder = tempfile.mkdtemp(prefix='dpm-folder-')  # an (empty) folder, as a user would pick one


def describe(alg):
    params = []
    context = QgsProcessingContext()
    for p in alg.parameterDefinitions():
        d = {'name': p.name(), 'type': p.type(), 'description': p.description(), 'help': p.help(),
             'optional': bool(p.flags() & QgsProcessingParameterDefinition.FlagOptional),
             'advanced': bool(p.flags() & QgsProcessingParameterDefinition.FlagAdvanced),
             'default': jsonable(p.defaultValue())}
        if p.type() == 'number':
            d['integer'] = p.dataType() == QgsProcessingParameterNumber.Integer
            d['min'], d['max'] = p.minimum(), p.maximum()
        if p.type() == 'enum':
            d['options'] = list(p.options())
            d['allowMultiple'] = p.allowMultiple()
        if p.type() == 'multilayer':
            d['layerType'] = int(p.layerType())
            # what the dialog and qgis_process check before running; the clone is what a model or batch row gets
            d['acceptsFolder'] = bool(p.checkValueIsAcceptable(a_folder, context))
            d['cloneAcceptsFolder'] = bool(p.clone().checkValueIsAcceptable(a_folder, context))
        if p.type() == 'field':
            d['parent'] = p.parentLayerParameterName()
        if p.type() == 'datetime':
            d['dataType'] = int(p.dataType())
            d['acceptsYYYYMMDD'] = bool(p.checkValueIsAcceptable('20200804', context))
            d['acceptsIso'] = bool(p.clone().checkValueIsAcceptable('2020-08-04', context))
        if p.type() == 'file':
            d['folder'] = p.behavior() == p.Folder
            d['extension'] = p.extension()
        params.append(d)
    outputs = [{'name': o.name(), 'type': o.type()} for o in alg.outputDefinitions()]
    return {'name': alg.name(), 'displayName': alg.displayName(), 'group': alg.group(), 'params': params,
            'outputs': outputs, 'help': alg.shortHelpString(), 'icon': alg.svgIconPath(),
            'iconOk': not alg.icon().isNull()}


out['provider'] = provider.name() if provider else None
out['providerIcon'] = provider.svgIconPath() if provider else None
for alg in (provider.algorithms() if provider else []):
    out['algorithms'][alg.id()] = describe(alg)

synthetic = cases.get('synthetic')
if synthetic:
    a = ManifestAlgorithm(synthetic)
    a.initAlgorithm()
    out['synthetic'] = describe(a)


class Recorder(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.lines = []

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(('info', info))

    def pushWarning(self, warning):  # noqa: N802
        self.lines.append(('warning', warning))

    def reportError(self, error, fatalError=False):  # noqa: N802, N803
        self.lines.append(('error', error))

    def pushDebugInfo(self, info):  # noqa: N802
        self.lines.append(('debug', info))


# Remember every runner started, to check afterwards that none (and nothing it started) is left.
started = []
_Popen = runner.subprocess.Popen


class RecordingPopen(_Popen):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        started.append(self.pid)


runner.subprocess.Popen = RecordingPopen


def group_alive(pid):
    try:
        os.killpg(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


for case in cases.get('runs', []):
    saved = {k: os.environ.get(k) for k in case.get('env', {})}
    for k, v in case.get('env', {}).items():
        os.environ[k] = v
    fb = Recorder()
    del started[:]
    rec = {'id': case['id']}
    timer = None
    if case.get('cancelAfter'):  # as the Cancel button does, from another thread
        import threading
        timer = threading.Timer(case['cancelAfter'], fb.cancel)
        timer.start()
    try:
        rec['results'] = jsonable(processing.run(case['alg'], case['params'], feedback=fb))
    except QgsProcessingException as e:
        rec['error'] = str(e)
    except Exception as e:  # anything else is a bug in the plugin: report its type
        rec['error'] = str(e)
        rec['exception'] = type(e).__name__
    if timer is not None:
        timer.cancel()
    rec['log'] = fb.lines
    rec['runners'] = len(started)
    rec['runnersAlive'] = [p for p in started if group_alive(p)]
    out['cases'].append(rec)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v

print('@@RESULT@@' + json.dumps(out))
sys.stdout.flush()
# exitQgis() can crash on some builds at teardown; the result is already out
os._exit(0)
