# The pixel time-series tool (the paper's Fig. 6 in QGIS): click a pixel of a coherence stack or of an output of
# `dpm run`; the dock shows its observed logit coherence with the one-step forecasts μ ± σ and ± 2σ and the co-event
# z-score, for several pixels at once, and exports them as CSV. The numbers are those of `dpm inspect --lonlat` for
# the clicked place (the runner computes them; nothing is recomputed here), so the dock and the CLI always agree.
import csv
import json
import math
import os
import tempfile

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProcessingFeedback,
    QgsProject,
    QgsTask,
)
from qgis.gui import QgsFileWidget, QgsMapToolEmitPoint
from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from . import runner

#: one colour per pixel, in the order they were picked
COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']

CSV_COLUMNS = ['pixel', 'lon', 'lat', 'row', 'col', 'step', 'pair', 'co_event', 'coherence', 'x', 'mu', 'sigma',
               'mu_minus_sigma', 'mu_plus_sigma', 'mu_minus_2sigma', 'mu_plus_2sigma', 'z']


def inputs_for_layer(path):
    """(coherence stack, model or None) for a layer's file: an output of `dpm run` (forecast/, geocoded/,
    baselines/ or the run folder itself) gives the run's coherence_aoi.tif and model.safetensors; any other raster
    is taken as a coherence stack."""
    folder = os.path.dirname(os.path.abspath(path))
    for run_dir in (folder, os.path.dirname(folder)):
        stack = os.path.join(run_dir, 'coherence_aoi.tif')
        model = os.path.join(run_dir, 'model.safetensors')
        if os.path.isfile(stack) and os.path.isfile(model):
            return stack, model
    return path, None


def fetch_series(stack, model, lon, lat, event_date=None, feedback=None):
    """The pixel at (lon, lat) as `dpm inspect --lonlat` gives it: a dict of inspect.json's 'pixels' entry."""
    with tempfile.TemporaryDirectory(prefix='insardpm-pixel-') as folder:
        out_dir = os.path.join(folder, 'inspect')
        params = {'coherence': [stack], 'model': model, 'lonlat': '{!r},{!r}'.format(lon, lat), 'out-dir': out_dir}
        if event_date:
            params['event-date'] = event_date
        runner.run_job('inspect', params, feedback or QgsProcessingFeedback(), destinations=[out_dir])
        with open(os.path.join(out_dir, 'inspect.json'), encoding='utf-8') as f:
            pixel = json.load(f)['pixels'][0]
    pixel['clicked'] = [lon, lat]
    return pixel


def _band(mu, sigma, k):
    return None if mu is None or sigma is None else mu + k * sigma


def csv_rows(series):
    """One row per step of every pixel; numbers exactly as inspect.json has them (repr keeps every digit)."""
    for n, s in enumerate(series, start=1):
        last = len(s['pairs']) - 1
        for k, pair in enumerate(s['pairs']):
            mu, sigma = s['mu'][k], s['sigma'][k]
            values = [s.get('lon'), s.get('lat'), s['row'], s['col'], k, pair, int(k == last), s['coherence'][k],
                      s['x'][k], mu, sigma, _band(mu, sigma, -1), _band(mu, sigma, 1), _band(mu, sigma, -2),
                      _band(mu, sigma, 2), s['z'][k]]
            yield ['P{}'.format(n)] + ['' if v is None else repr(v) if isinstance(v, float) else v for v in values]


def write_csv(path, series):
    with open(path, 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for row in csv_rows(series):
            w.writerow(row)


def describe(n, s):
    """The list entry (and chart legend) of pixel n: where it is and its co-event z."""
    z = s['z'][-1] if s['z'] else None
    place = ' at {:.4f}° N, {:.4f}° E'.format(s['lat'], s['lon']) if s.get('lat') is not None else ''
    return 'P{} (row {}, col {}){}: co-event z = {}'.format(
        n, s['row'], s['col'], place, 'n/a' if z is None else '{:.2f}'.format(z))


class SeriesChart(QWidget):
    """Observed logit coherence (dots), forecast μ (line), μ ± σ and μ ± 2σ (bands) of every pixel (top), and each
    step's z (bottom); the co-event step is marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.series = []
        self.setMinimumSize(320, 260)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    def set_series(self, series):
        self.series = list(series)
        self.update()

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor('white'))
        if not self.series:
            p.drawText(self.rect(), Qt.AlignCenter, 'Click a pixel of a coherence stack or forecast layer')
            return
        steps = max(len(s['pairs']) for s in self.series)
        values = [v for s in self.series for k in range(len(s['pairs']))
                  for v in (s['x'][k], _band(s['mu'][k], s['sigma'][k], -2), _band(s['mu'][k], s['sigma'][k], 2))
                  if v is not None and math.isfinite(v)]
        zs = [v for s in self.series for v in s['z'] if v is not None and math.isfinite(v)] + [0.0]
        lo, hi = (min(values), max(values)) if values else (-1.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        zlo, zhi = min(zs + [-1.0]), max(zs + [1.0])
        left, right, top = 44, self.width() - 10, 10
        split = int(self.height() * 0.68)
        top_box = QRectF(left, top, right - left, split - top - 16)
        z_box = QRectF(left, split, right - left, self.height() - split - 20)
        xs = lambda k: top_box.left() + (k + 0.5) * top_box.width() / steps  # noqa: E731
        ys = lambda v: top_box.bottom() - (v - lo) / (hi - lo) * top_box.height()  # noqa: E731
        zy = lambda v: z_box.bottom() - (v - zlo) / (zhi - zlo) * z_box.height()  # noqa: E731
        p.setPen(QPen(QColor('#999999')))
        p.drawRect(top_box)
        p.drawRect(z_box)
        p.drawText(QRectF(0, top_box.top(), left - 4, 14), Qt.AlignRight, '{:.1f}'.format(hi))
        p.drawText(QRectF(0, top_box.bottom() - 14, left - 4, 14), Qt.AlignRight, '{:.1f}'.format(lo))
        p.drawText(QRectF(0, z_box.top(), left - 4, 14), Qt.AlignRight, 'z')
        p.drawLine(QPointF(z_box.left(), zy(0)), QPointF(z_box.right(), zy(0)))
        co = xs(steps - 1)
        p.setPen(QPen(QColor('#555555'), 1, Qt.DashLine))
        p.drawLine(QPointF(co, top_box.top()), QPointF(co, z_box.bottom()))
        p.drawText(QRectF(co - 60, z_box.bottom() + 2, 120, 16), Qt.AlignCenter, 'co-event')
        for n, s in enumerate(self.series):
            colour = QColor(COLOURS[n % len(COLOURS)])
            for k_sigma, alpha in ((2, 40), (1, 80)):  # μ ± 2σ, then μ ± σ on top
                upper, lower = [], []
                for k in range(len(s['pairs'])):
                    a, b = _band(s['mu'][k], s['sigma'][k], k_sigma), _band(s['mu'][k], s['sigma'][k], -k_sigma)
                    if a is not None and b is not None:
                        upper.append(QPointF(xs(k), ys(a)))
                        lower.append(QPointF(xs(k), ys(b)))
                if upper:
                    fill = QColor(colour)
                    fill.setAlpha(alpha)
                    p.setPen(Qt.NoPen)
                    p.setBrush(QBrush(fill))
                    p.drawPolygon(QPolygonF(upper + lower[::-1]))
            p.setBrush(Qt.NoBrush)
            p.setPen(QPen(colour, 2))
            mu = [QPointF(xs(k), ys(m)) for k, m in enumerate(s['mu']) if m is not None]
            for a, b in zip(mu, mu[1:]):
                p.drawLine(a, b)
            p.setBrush(QBrush(colour))
            for k, x in enumerate(s['x']):
                if x is not None:
                    p.drawEllipse(QPointF(xs(k), ys(x)), 3, 3)
            width = max(2.0, z_box.width() / steps / (len(self.series) + 1))
            for k, z in enumerate(s['z']):
                if z is not None:
                    x0 = xs(k) - width * len(self.series) / 2 + n * width
                    p.fillRect(QRectF(x0, min(zy(z), zy(0)), width, abs(zy(z) - zy(0))), colour)
        p.end()


class PixelSeriesDock(QDockWidget):
    """The dock: model, optional event date, the picked pixels, the chart, CSV export."""
    series_added = pyqtSignal(int)
    failed = pyqtSignal(str)

    def __init__(self, iface=None, parent=None):
        super().__init__('InSAR pixel time series', parent)
        self.setObjectName('InsarDpmPixelSeries')
        self.iface = iface
        self.series = []
        self._tasks = []
        body = QWidget()
        form = QFormLayout()
        self.model = QgsFileWidget()
        self.model.setFilter('Model files (*.safetensors)')
        self.model.setToolTip('The trained forecaster; filled in from the run folder of an output of dpm run')
        self.event_date = QLineEdit()
        self.event_date.setPlaceholderText('YYYYMMDD (empty: the last pair is the co-event pair)')
        form.addRow('Model', self.model)
        form.addRow('Event date', self.event_date)
        self.pick = QPushButton('Pick pixels on the map')
        self.pick.setCheckable(True)
        self.clear_button = QPushButton('Clear')
        self.export_button = QPushButton('Export CSV…')
        buttons = QHBoxLayout()
        for b in (self.pick, self.clear_button, self.export_button):
            buttons.addWidget(b)
        self.pixels = QListWidget()
        self.pixels.setMaximumHeight(90)
        self.chart = SeriesChart()
        self.status = QLabel('')
        self.status.setWordWrap(True)
        layout = QVBoxLayout()
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.pixels)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.status)
        body.setLayout(layout)
        self.setWidget(body)
        self.clear_button.clicked.connect(self.clear)
        self.export_button.clicked.connect(self._ask_export)
        self.tool = PixelMapTool(iface.mapCanvas(), self) if iface is not None else None
        self.pick.toggled.connect(self._toggle_tool)

    # -- picking ------------------------------------------------------------------------------------------------
    def _toggle_tool(self, on):
        if self.tool is None:
            return
        canvas = self.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.tool)
        elif canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)

    def _layer(self):
        layer = self.iface.activeLayer() if self.iface is not None else None
        if layer is None or layer.type() != QgsMapLayer.RasterLayer:
            layers = [l for l in QgsProject.instance().mapLayers().values() if l.type() == QgsMapLayer.RasterLayer]
            layer = layers[0] if layers else None
        return layer

    def add_point(self, point, crs, layer=None, background=True):
        """Adds the pixel under `point` (in `crs`) of `layer` (default: the active raster layer)."""
        layer = layer or self._layer()
        if layer is None:
            return self._fail('Add a coherence stack or a forecast layer of dpm run first')
        wgs84 = QgsCoordinateReferenceSystem('EPSG:4326')
        ll = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(point)
        stack, model_guess = inputs_for_layer(layer.source().split('|')[0])
        if model_guess is None and layer.bandCount() < 2:
            return self._fail('{} has one band: click a coherence stack (one band per pair) or an output of a '
                              'dpm run folder'.format(layer.name()))
        if model_guess and not self.model.filePath():
            self.model.setFilePath(model_guess)
        model = self.model.filePath()
        if not model:
            return self._fail('Choose the trained model (model.safetensors) first')
        args = (stack, model, ll.x(), ll.y(), self.event_date.text().strip() or None)
        self.status.setText('Forecasting the pixel at {:.5f}, {:.5f}…'.format(ll.x(), ll.y()))
        if not background:
            try:
                self._added(fetch_series(*args))
            except Exception as e:  # the runner's own message
                self._fail(str(e))
            return
        result = {}

        def work(task):
            result['series'] = fetch_series(*args)
            return True

        def done(exception, ok=None):
            if exception is not None or 'series' not in result:
                self._fail(str(exception) if exception else 'the runner gave no result')
            else:
                self._added(result['series'])

        task = QgsTask.fromFunction('InSAR pixel time series', work, on_finished=done)
        self._tasks.append(task)
        QgsApplication.taskManager().addTask(task)

    def _added(self, s):
        self.series.append(s)
        self.pixels.addItem(describe(len(self.series), s))
        item = self.pixels.item(self.pixels.count() - 1)
        item.setForeground(QBrush(QColor(COLOURS[(len(self.series) - 1) % len(COLOURS)])))
        self.chart.set_series(self.series)
        self.status.setText('')
        self.series_added.emit(len(self.series))

    def _fail(self, message):
        self.status.setText(message)
        self.failed.emit(message)

    def clear(self):
        self.series = []
        self.pixels.clear()
        self.chart.set_series([])

    def _ask_export(self):
        path, _ = QFileDialog.getSaveFileName(self, 'Export the pixel series', '', 'CSV files (*.csv)')
        if path:
            self.export_csv(path)

    def export_csv(self, path):
        write_csv(path, self.series)
        self.status.setText('{} pixels written to {}'.format(len(self.series), path))


class PixelMapTool(QgsMapToolEmitPoint):
    """A click on the map adds that pixel to the dock."""

    def __init__(self, canvas, dock):
        super().__init__(canvas)
        self.dock = dock
        self.canvasClicked.connect(self._clicked)

    def _clicked(self, point, button):
        self.dock.add_point(point, self.canvas().mapSettings().destinationCrs())

    def deactivate(self):
        self.dock.pick.setChecked(False)
        super().deactivate()
