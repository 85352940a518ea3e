# Finds Node.js, the insar-dpm runner and its manifest, and runs one job through the runner protocol
# (docs/runner-protocol.md): one JSON request on the runner's stdin, JSON lines back on its stdout.
#
# Threads: two reader threads only put lines on a queue; the algorithm's own thread owns the feedback object.
# On the main thread (qgis_process, processing.run(), the batch dialog) the poll loop pumps Qt events so that the
# Cancel button and qgis_process's SIGINT handler keep working while the runner is quiet.
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque

from qgis.core import QgsProcessingException, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QThread

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
PROTOCOL_VERSION = 1
SETTINGS_NODE = 'insar_dpm/node_path'      # QgsSettings key (also shown in Processing options)
ENV_NODE = 'DPM_NODE'
ENV_RUNNER = 'DPM_RUNNER'                  # path of the package's dist/host/cli.js
ENV_MANIFEST = 'DPM_MANIFEST'
#: seconds between the cancel line and killing the runner's process group (SIGKILL: the runner already treats
#: SIGTERM like the cancel line it ignored). Runners stop at their next block, well within this.
CANCEL_GRACE_S = 1.2
EXIT_CANCELED = 130


def _install_record():
    """runner.json, written by `dpm qgis install`: where the package, its runner and Node were at install time."""
    path = os.path.join(PLUGIN_DIR, 'runner.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _source_tree_root():
    # Run from the source tree (host/qgis/insar_dpm): the package root is three levels up.
    root = os.path.abspath(os.path.join(PLUGIN_DIR, '..', '..', '..'))
    return root if os.path.isfile(os.path.join(root, 'plugin-manifest.json')) else None


def _package_of_cli(cli):
    """The package root of a runner dist/host/cli.js (two folders up from dist/host)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(cli)))


def _cli_on_path():
    """dist/host/cli.js behind the `dpm` command on PATH (npm links it there on install -g); None if not there."""
    dpm = shutil.which('dpm')
    if not dpm:
        return None
    real = os.path.realpath(dpm)
    if real.endswith('.js') and os.path.isfile(real):
        return real
    # a Windows .cmd shim or a wrapper script: the package sits in npm's global node_modules next to it
    near = os.path.join(os.path.dirname(dpm), 'node_modules', 'insar-dpm', 'dist', 'host', 'cli.js')
    return near if os.path.isfile(near) else None


def _cli_in_npm_root():
    """dist/host/cli.js of insar-dpm in `npm root -g` (a global install whose bin folder is not on PATH)."""
    npm = shutil.which('npm') or shutil.which('npm.cmd')
    if not npm:
        return None
    try:
        out = subprocess.run([npm, 'root', '-g'], capture_output=True, text=True, timeout=20,
                             creationflags=getattr(subprocess, 'CREATE_NO_WINDOW', 0))
    except (OSError, subprocess.SubprocessError):
        return None
    cli = os.path.join(out.stdout.strip(), 'insar-dpm', 'dist', 'host', 'cli.js')
    return cli if out.returncode == 0 and os.path.isfile(cli) else None


def manifest_path():
    candidates = [os.environ.get(ENV_MANIFEST), _install_record().get('manifest')]
    root = _source_tree_root()
    if root:
        candidates.append(os.path.join(root, 'plugin-manifest.json'))
    on_path = _cli_on_path()  # cheap (no process started): the installed package's own manifest
    if on_path:
        candidates.append(os.path.join(_package_of_cli(on_path), 'plugin-manifest.json'))
    # the copy made at install time: keeps the algorithms listed (and models loadable) if the package moved
    candidates.append(os.path.join(PLUGIN_DIR, 'manifest.json'))
    for c in candidates:
        if c and os.path.isfile(c):
            return c
    return None


def load_manifest():
    """The manifest as a dict, and the path it came from; raises OSError/ValueError with the path named."""
    path = manifest_path()
    if path is None:
        raise OSError('plugin-manifest.json of insar-dpm not found: run `dpm qgis install` again, or set '
                      + ENV_MANIFEST)
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f), path
        except ValueError as e:
            raise ValueError('{}: not valid JSON ({})'.format(path, e))


def _setting_node():
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
        v = ProcessingConfig.getSetting('INSARDPM_NODE')
        if v:
            return str(v)
    except Exception:  # processing plugin not loaded: fall back to the raw QgsSettings key
        pass
    v = QgsSettings().value(SETTINGS_NODE, '')
    return str(v) if v else None


def find_node():
    """(path, where it came from). Order: setting, $DPM_NODE, Node used at install time, PATH, usual places."""
    tried = []
    for origin, cand in (('setting', _setting_node()), ('$' + ENV_NODE, os.environ.get(ENV_NODE)),
                         ('install record', _install_record().get('node'))):
        if cand:
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand, origin
            tried.append('{} ({})'.format(cand, origin))
            if origin != 'install record':
                # an explicit choice that is wrong is an error, not something to silently replace
                raise QgsProcessingException(
                    'Node.js not found at {} (from the {}). Fix it, or clear it to use node from PATH.'.format(
                        cand, 'Processing option "Node.js executable"' if origin == 'setting' else origin))
    found = shutil.which('node')
    if found:
        return found, 'PATH'
    usual = ['/usr/local/bin/node', '/opt/homebrew/bin/node', '/usr/bin/node',
             os.path.expandvars(r'%ProgramFiles%\nodejs\node.exe')]
    for cand in usual:
        if os.path.isfile(cand):
            return cand, 'usual place'
    tried.append('PATH')
    raise QgsProcessingException(
        'Node.js (version 20 or later) was not found (looked at: {}). Install it, or set its path in '
        'Processing › Options › Providers › InSAR damage proxy maps › "Node.js executable", or in the '
        'environment variable {}.'.format(', '.join(tried), ENV_NODE))


def find_runner():
    """The package's dist/host/cli.js (the `dpm` command). Order: $DPM_RUNNER, the install record of
    `dpm qgis install`, the source tree the plugin runs from, `dpm` on PATH, `npm root -g`."""
    explicit = os.environ.get(ENV_RUNNER)
    if explicit and not os.path.isfile(explicit):
        # an explicit choice that is wrong is an error, not something to silently replace
        raise QgsProcessingException(
            'The insar-dpm runner was not found (looked at: {} ({})). Fix {} or unset it.'.format(
                explicit, ENV_RUNNER, ENV_RUNNER))
    candidates = [(ENV_RUNNER, os.environ.get(ENV_RUNNER)), ('install record', _install_record().get('cli'))]
    root = _source_tree_root()
    if root:
        candidates.append(('source tree', os.path.join(root, 'dist', 'host', 'cli.js')))
    tried = []
    for origin, cand in candidates:
        if not cand:
            continue
        if os.path.isfile(cand):
            return cand
        tried.append('{} ({})'.format(cand, origin))
    for origin, look in (('dpm on PATH', _cli_on_path), ('npm root -g', _cli_in_npm_root)):
        cand = look()
        if cand:
            return cand
        tried.append(origin)
    raise QgsProcessingException(
        'The insar-dpm runner was not found (looked at: {}). Install the package (npm install -g insar-dpm, or '
        'a packed insar-dpm-*.tgz) so that `dpm` is on PATH, or set {} to the package\'s dist/host/cli.js.'.format(
            ', '.join(tried), ENV_RUNNER))


def _on_main_thread():
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


def _kill_group(proc):
    """Ends the runner and anything it started (its own session / process group)."""
    if proc.poll() is not None:
        return
    if os.name == 'nt':
        subprocess.run(['taskkill', '/T', '/F', '/PID', str(proc.pid)], capture_output=True,
                       creationflags=getattr(subprocess, 'CREATE_NO_WINDOW', 0))
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        pass


def _pump(stream, tag, q, keep=None):
    try:
        for raw in iter(stream.readline, b''):
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            if keep is not None:
                keep.append(line)
            q.put((tag, line))
    except (OSError, ValueError):
        pass
    q.put((tag + '-eof', None))


def _describe_exit(code):
    if code is None:
        return 'did not exit'
    if code < 0:
        try:
            return 'was killed by signal {}'.format(signal.Signals(-code).name)
        except ValueError:
            return 'was killed by signal {}'.format(-code)
    return 'exited with code {}'.format(code)


def remove_temporaries(pid, paths):
    """Removes what a killed runner left: its OutputSet temporaries `.dpm-tmp-<pid>-*` beside each destination
    (a runner that exits by itself removes them; one killed with SIGKILL cannot)."""
    import glob
    removed = []
    pattern = '.dpm-tmp-{}-*'.format(pid)
    folders = set()
    for p in paths:
        if not p:
            continue
        p = os.path.abspath(p)
        folders.add(os.path.dirname(p))
        if os.path.isdir(p):  # a folder destination: the runner writes inside it
            folders.update(dirpath for dirpath, _, _ in os.walk(p))
    for folder in folders:
        for tmp in glob.glob(os.path.join(glob.escape(folder), pattern)):
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else os.remove(tmp)
            removed.append(tmp)
    return removed


def run_job(algorithm_id, parameters, feedback, grace_s=CANCEL_GRACE_S, destinations=()):
    """Runs one algorithm in a fresh runner. Returns its outputs; raises QgsProcessingException with the
    runner's own message on error or 'Canceled by user' after a cancel. Never leaves the runner running, nor
    (given the destination paths) its temporaries."""
    node, node_origin = find_node()
    cli = find_runner()
    cmd = [node, cli, 'worker']
    kw = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    if os.name == 'nt':
        kw['creationflags'] = (getattr(subprocess, 'CREATE_NO_WINDOW', 0)
                               | getattr(subprocess, 'CREATE_NEW_PROCESS_GROUP', 0))
    else:
        # own session: Ctrl-C in the terminal goes to QGIS, which cancels through the protocol
        kw['start_new_session'] = True
    feedback.pushDebugInfo('insar-dpm: {} (node from {}) {} worker'.format(node, node_origin, cli))
    try:
        proc = subprocess.Popen(cmd, **kw)
    except OSError as e:
        raise QgsProcessingException('Cannot start Node.js at {}: {}'.format(node, e))

    q = queue.Queue()
    stderr_tail = deque(maxlen=200)
    readers = [threading.Thread(target=_pump, args=(proc.stdout, 'out', q), daemon=True),
               threading.Thread(target=_pump, args=(proc.stderr, 'err', q, stderr_tail), daemon=True)]
    for t in readers:
        t.start()
    result = None
    error = None
    canceled_by_runner = False
    cancel_sent_at = None
    started = time.monotonic()
    try:
        # QGIS asked the user before choosing an existing destination: replace it (the runner refuses otherwise)
        request = {'protocol': PROTOCOL_VERSION, 'algorithm': algorithm_id, 'parameters': parameters,
                   'overwrite': True}
        try:
            proc.stdin.write((json.dumps(request) + '\n').encode('utf-8'))
            proc.stdin.flush()
        except OSError:
            pass  # the runner died at once: its exit code and stderr say why (below)
        open_streams = {'out', 'err'}
        last_text = None
        main_thread = _on_main_thread()
        while open_streams:
            if main_thread:
                QCoreApplication.processEvents()
            if feedback.isCanceled() and cancel_sent_at is None:
                cancel_sent_at = time.monotonic()
                feedback.pushInfo('Canceling the insar-dpm runner…')
                try:
                    proc.stdin.write(b'{"type":"cancel"}\n')
                    proc.stdin.flush()
                except OSError:
                    pass
            if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > grace_s and proc.poll() is None:
                feedback.pushWarning('the runner did not stop within {:.1f} s of the cancel: killing it'.format(grace_s))
                _kill_group(proc)
            try:
                tag, line = q.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                open_streams.discard(tag[:-4])
                continue
            if tag == 'err':
                continue  # kept in stderr_tail; shown when the runner fails
            msg = None
            if line.startswith('{'):
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = None
            if not isinstance(msg, dict) or 'type' not in msg:
                feedback.pushConsoleInfo(line)
                continue
            kind = msg['type']
            if kind == 'progress':
                try:
                    feedback.setProgress(float(msg.get('percent', 0)))
                except (TypeError, ValueError):
                    pass
                text = msg.get('text')
                if text and text != last_text:
                    last_text = text
                    feedback.setProgressText(str(text))
            elif kind == 'log':
                level, text = msg.get('level'), str(msg.get('message', ''))
                if level == 'warning':
                    feedback.pushWarning(text)
                elif level == 'debug':
                    feedback.pushDebugInfo(text)
                elif level == 'error':
                    feedback.reportError(text, False)
                else:
                    feedback.pushInfo(text)
            elif kind == 'result':
                result = msg.get('outputs') or {}
            elif kind == 'error':
                error = str(msg.get('message') or 'unknown error')
                canceled_by_runner = bool(msg.get('canceled'))
            else:
                feedback.pushDebugInfo('insar-dpm runner: unknown message {}'.format(line[:200]))
        try:
            code = proc.wait(timeout=max(0.1, grace_s))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code = proc.returncode
    finally:
        # whatever happened above (an exception, a cancel), the runner must not outlive the job
        _kill_group(proc)
        for t in readers:
            t.join(timeout=1.0)
        for s in (proc.stdin, proc.stdout, proc.stderr):
            try:
                s.close()
            except OSError:
                pass
    feedback.pushDebugInfo('insar-dpm runner {} after {:.2f} s'.format(_describe_exit(code), time.monotonic() - started))
    if code is None or code < 0:
        for tmp in remove_temporaries(proc.pid, destinations):
            feedback.pushDebugInfo('removed {} (left by the killed runner)'.format(tmp))

    if result is not None and code == 0:
        return result  # finished before the cancel reached it: the outputs are complete
    if cancel_sent_at is not None or canceled_by_runner or code == EXIT_CANCELED:
        raise QgsProcessingException('Canceled by user (insar-dpm {}: the runner stopped and removed its partial outputs)'.format(
            algorithm_id))
    if error is not None:
        if code != 0 and stderr_tail:
            feedback.pushDebugInfo('runner stderr:\n' + '\n'.join(stderr_tail))
        raise QgsProcessingException(error)
    tail = '\n'.join(list(stderr_tail)[-20:]) or '(nothing on stderr)'
    raise QgsProcessingException(
        'The insar-dpm runner ({} {} worker) {} without a result. Last lines on its stderr:\n{}'.format(
            node, cli, _describe_exit(code), tail))
