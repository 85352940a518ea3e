#!/usr/bin/python3
# Writes the example Model Builder models of host/qgis/models/ with PyQGIS (the committed .model3 files are this
# script's output; run it again after changing it). Needs QGIS's Python and the insar_dpm plugin loaded, so the
# child algorithms' parameters are known:
#   QT_QPA_PLATFORM=offscreen /usr/bin/python3 host/qgis/models/make_models.py
import os
import sys

from qgis.core import (QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                       QgsProcessingModelChildParameterSource as Src, QgsProcessingModelOutput,
                       QgsProcessingModelParameter, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QPointF

HERE = os.path.dirname(os.path.abspath(__file__))

QgsApplication.setPrefixPath('/usr', True)
app = QgsApplication([], False)
app.initQgis()
sys.path.insert(0, os.path.dirname(HERE))  # host/qgis: the plugin package
import insar_dpm  # noqa: E402

plugin = insar_dpm.classFactory(None)
plugin.initProcessing()


def child(alg_id, child_id, description, x, sources):
    c = QgsProcessingModelChildAlgorithm(alg_id)
    c.setChildId(child_id)
    c.setDescription(description)
    c.setPosition(QPointF(x, 200))
    for name, src in sources.items():
        c.addParameterSources(name, [src])
    return c


def model_output(child_alg, name, child_output, description):
    o = QgsProcessingModelOutput(name, description)
    o.setChildOutputName(child_output)
    o.setChildId(child_alg.childId())
    outs = dict(child_alg.modelOutputs())
    outs[name] = o
    child_alg.setModelOutputs(outs)


def coherence_train_forecast():
    m = QgsProcessingModelAlgorithm('Coherence, train and forecast', 'insar-dpm')
    m.setHelpContent({'ALG_DESC': 'SLC stack folder → coherence stack (15x5 chips) → GRU forecaster trained on the '
                                  'pre-event bands → z-score of the co-event coherence (the damage proxy map).'})
    inputs = [
        QgsProcessingParameterFile('slc', 'SLC stack folder (ISCE2 layout, or dpm simulate output)',
                                   QgsProcessingParameterFile.Folder),
        QgsProcessingParameterNumber('epochs', 'Training epochs', QgsProcessingParameterNumber.Integer, 20, False, 1),
        QgsProcessingParameterNumber('hidden', 'GRU hidden size', QgsProcessingParameterNumber.Integer, 256, False, 1),
        QgsProcessingParameterNumber('mlp', 'Decoder MLP width', QgsProcessingParameterNumber.Integer, 128, False, 1),
        QgsProcessingParameterEnum('device', 'Device', ['auto', 'gpu', 'software', 'cpu', 'reference'], False, 0),
    ]
    for i, p in enumerate(inputs):
        mp = QgsProcessingModelParameter(p.name())
        mp.setPosition(QPointF(100 + 180 * i, 60))
        m.addModelParameter(p, mp)
    coh = child('insardpm:coherence', 'coherence', 'Coherence', 150, {
        'SLC': Src.fromModelParameter('slc'), 'CHIP': Src.fromStaticValue('15x5')})
    train = child('insardpm:train', 'train', 'Train forecaster', 450, {
        'COHERENCE': Src.fromChildOutput('coherence', 'OUT'), 'EPOCHS': Src.fromModelParameter('epochs'),
        'HIDDEN': Src.fromModelParameter('hidden'), 'MLP': Src.fromModelParameter('mlp'),
        'DEVICE': Src.fromModelParameter('device')})
    model_output(train, 'model', 'OUT', 'Trained model (safetensors)')
    fc = child('insardpm:forecast', 'forecast', 'Forecast', 750, {
        'COHERENCE': Src.fromChildOutput('coherence', 'OUT'), 'MODEL': Src.fromChildOutput('train', 'OUT'),
        'DEVICE': Src.fromModelParameter('device')})
    model_output(fc, 'maps', 'OUT_DIR', 'Folder of zscore.tif, mu.tif, sigma.tif, expected_coherence.tif')
    for c in (coh, train, fc):
        m.addChildAlgorithm(c)
    m.updateDestinationParameters()
    path = os.path.join(HERE, 'coherence_train_forecast.model3')
    if not m.toFile(path):
        raise SystemExit('could not write ' + path)
    print('wrote', path)


coherence_train_forecast()
os._exit(0)
