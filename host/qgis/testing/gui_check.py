# Run by the desktop app (`xvfb-run -a qgis --nologo --code gui_check.py`): checks that the plugin loaded through
# initGui(), runs one job as the algorithm dialog does (QgsProcessingAlgRunnerTask on a worker thread), then one
# job cancelled from the GUI thread 'cancelAfter' seconds in, writes what happened to 'result' and quits QGIS.
# The cases come in $DPM_GUI_CHECK as JSON: {"result": path, "run": {alg, params}, "cancel": {alg, params,
# cancelAfter, parent}}. Used by test/qgis-provider.test.ts.
import json
import os
import time

from qgis.core import QgsApplication, QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

cfg = json.loads(os.environ['DPM_GUI_CHECK'])
reg = QgsApplication.processingRegistry()
provider = reg.providerById('insardpm')
out = {'loaded': 'insar_dpm' in plugins, 'iface': iface is not None,
       'algorithms': len(provider.algorithms()) if provider else 0}
keep = []  # the task, context and feedback must outlive this script's top level


def finish():
    with open(cfg['result'], 'w') as f:
        json.dump(out, f)
    QgsApplication.exit(0)


def run_task(name, case, then):
    alg = reg.createAlgorithmById(case['alg'])
    if alg is None:
        out[name] = {'ok': False, 'error': 'no algorithm ' + case['alg']}
        return then()
    ctx, fb = QgsProcessingContext(), QgsProcessingFeedback()
    started = time.monotonic()
    task = QgsProcessingAlgRunnerTask(alg, case['params'], ctx, fb)

    def done(ok, results):
        out[name] = {'ok': bool(ok), 'results': {k: str(v) for k, v in (results or {}).items()},
                     'seconds': round(time.monotonic() - started, 2)}
        QTimer.singleShot(50, then)

    task.executed.connect(done)
    keep.extend([task, ctx, fb, alg])
    QgsApplication.taskManager().addTask(task)
    if case.get('cancelAfter'):
        QTimer.singleShot(int(case['cancelAfter'] * 1000), fb.cancel)  # the dialog's Cancel button


def cancel_case():
    run_task('cancel', cfg['cancel'], finish)


run_task('run', cfg['run'], cancel_case)
QTimer.singleShot(120000, finish)  # never hang the test
