// Import rules for `npm run check:imports` (dependency-cruiser). Layers only point down:
//   top floor   host/toolbox/, host/tiles/, host/cli*.ts, host/commands.ts, host/qgis/  (the algorithms and their front ends)
//   lower floors everything else under host/ (model/, gpu/, raster/, sar/, eval/, io/, vector/, core/ ...);
//                among them model/ (the engine contract) lies below the engines (gpu/, cpu/) and their factory
// host/index.ts is the package API and may re-export anything. Type-only and dynamic imports count: the swc parser
// keeps `import type` (tsc would erase it) and dependency-cruiser follows `await import(...)`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only and dynamic imports included) ties two modules into one; break it by moving the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lower-floor-imports-top-floor',
      severity: 'error',
      comment: 'Lower floors (model/, gpu/, raster/, sar/ ...) never import the toolbox, the CLI or the QGIS adapter.',
      from: { path: '^host/', pathNot: '^host/(toolbox/|tiles/|cli[^/]*\\.ts$|commands\\.ts$|qgis/|index\\.ts$)' },
      to: { path: '^host/(toolbox/|tiles/|cli[^/]*\\.ts$|commands\\.ts$|qgis/)' },
    },
    {
      name: 'model-below-engines',
      severity: 'error',
      comment:
        'model/ holds the engine contract, training and forecasting; the engines (gpu/, cpu/) implement it from above ' +
        'and the factory (engines/) picks one: model/ importing them would tie the folders into a cycle.',
      from: { path: '^host/model/' },
      to: { path: '^host/(gpu|cpu|engines)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      // geojson: the type-only package @types/geojson
      to: { couldNotResolve: true, pathNot: '^geojson$' },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // bench/.venv-torch: the PyTorch virtual environment bench/setup-torch.sh makes (not ours)
    exclude: { path: '^(dist|build|node_modules)/|/\.venv' },
    tsConfig: { fileName: 'tsconfig.json' },
    // sources import './x.js' for './x.ts' (nodenext); resolve the .ts file
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
