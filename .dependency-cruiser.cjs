/**
 * The layer rules of README "Layout", checked by `npm run lint` (dependency-cruiser
 * resolves every import, type-only ones included, to a file before judging it).
 * TypeScript 7 has no compiler API dependency-cruiser can use, so it parses with swc,
 * which keeps type-only imports (`tsPreCompilationDeps` would ask for that API).
 */
const layer = (name) => `^lambdas/${name}/`;
const WIRING = '^lambdas/wiring/';
const WIRING_ROOT = '^lambdas/wiring/index\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'Domain logic imports nothing outside lambdas/domain (node:crypto only, for deterministic ids).',
      severity: 'error',
      from: { path: layer('domain') },
      to: { pathNot: [layer('domain'), '^crypto$'] },
    },
    {
      name: 'use-cases-take-ports',
      comment: 'Use cases import the domain and the ports only: never an adapter, the wiring, a handler or an SDK.',
      severity: 'error',
      from: { path: layer('use-cases') },
      to: { pathNot: [layer('use-cases'), layer('domain'), layer('ports')] },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'Ports describe what use cases need in domain terms (and contract names).',
      severity: 'error',
      from: { path: layer('ports') },
      to: { pathNot: [layer('ports'), layer('domain'), '^contract/'] },
    },
    {
      name: 'adapters-implement-ports',
      comment: 'Adapters import ports, domain, contract and libraries; never a use case, a handler or the wiring.',
      severity: 'error',
      from: { path: layer('adapters') },
      to: { path: [layer('use-cases'), layer('handlers'), WIRING] },
    },
    {
      name: 'handlers-stay-thin',
      comment: 'Handlers call use cases through the wiring; they never reach an adapter or an AWS SDK themselves.',
      severity: 'error',
      from: { path: layer('handlers') },
      to: { path: [layer('adapters'), 'node_modules/@aws-sdk/', 'node_modules/@aws-lambda-powertools/'] },
    },
    {
      name: 'only-handlers-use-the-wiring',
      comment: 'The wiring is the composition root: handlers (and their shared plumbing) are its only importers.',
      severity: 'error',
      from: { path: '^lambdas/', pathNot: [layer('handlers'), WIRING] },
      to: { path: WIRING },
    },
    {
      name: 'wiring-parts-stand-alone',
      comment:
        'Each part of the wiring (table, pusher, timer, fan-out, flag, tokens) builds one client and its adapter, and imports no other part, only the root: a handler’s bundle then carries exactly the parts it names (test/infra/bundle.test.ts). The root imports no part, or every bundle would carry every client.',
      severity: 'error',
      from: { path: WIRING },
      to: { path: WIRING, pathNot: WIRING_ROOT },
    },
    {
      name: 'contract-is-a-leaf',
      comment: 'contract/ is plain data that the stack, the functions and the sandbox read downward.',
      severity: 'error',
      from: { path: '^contract/' },
      to: { pathNot: '^contract/' },
    },
    {
      name: 'functions-and-stack-apart',
      comment: 'lambdas/ and lib/ share only contract/: neither imports the other.',
      severity: 'error',
      from: { path: '^lambdas/' },
      to: { path: '^(lib|bin)/' },
    },
    {
      name: 'stack-and-functions-apart',
      comment: 'lambdas/ and lib/ share only contract/: neither imports the other.',
      severity: 'error',
      from: { path: '^(lib|bin)/' },
      to: { path: '^lambdas/' },
    },
    {
      name: 'no-cdk-in-functions',
      comment: 'A Lambda bundle never carries aws-cdk-lib or constructs.',
      severity: 'error',
      from: { path: '^lambdas/' },
      to: { path: 'node_modules/(aws-cdk-lib|constructs|aws-cdk)/' },
    },
    {
      name: 'product-never-imports-sandbox-or-tests',
      comment: 'What deploys (lambdas, lib, contract, bin) knows nothing of the sandbox or the tests.',
      severity: 'error',
      from: { path: '^(lambdas|lib|contract|bin)/' },
      to: { path: '^(sandbox|test)/' },
    },
    {
      name: 'ops-cli-uses-the-public-surface',
      comment:
        'The ops CLI (ops/) talks to AWS or the sandbox over the wire: it reads contract/, the domain and the adapters, never a handler, use case or the wiring; of the sandbox only the pure log-line formatter, so sandbox and AWS lines read alike.',
      severity: 'error',
      from: { path: '^ops/' },
      to: { path: ['^lambdas/(handlers|use-cases|wiring)/', '^(sandbox|test|lib|bin)/'], pathNot: '^sandbox/log-lines\\.ts$' },
    },
    {
      name: 'nothing-imports-the-ops-cli',
      severity: 'error',
      from: { pathNot: '^(ops|test)/' },
      to: { path: '^ops/' },
    },
    {
      name: 'console-uses-the-public-surface',
      comment:
        'The web console (console/) runs in a browser and talks to the public APIs only: it imports contract/, lambdas/domain types for the message shapes, and the SDK clients its ops view calls AWS with (SSM, Scheduler, Lambda, DynamoDB, CloudWatch); never sandbox or handler code.',
      severity: 'error',
      from: { path: '^console/' },
      to: {
        pathNot: ['^console/', '^contract/', '^lambdas/domain/', 'node_modules/@aws-sdk/(client-(ssm|scheduler|lambda|dynamodb|cloudwatch)|lib-dynamodb)/'],
      },
    },
    {
      name: 'console-takes-only-types-from-the-domain',
      comment: 'A runtime import from lambdas/domain would ship product code to the browser: message shapes only, as `import type`.',
      severity: 'error',
      from: { path: '^console/' },
      to: { path: '^lambdas/domain/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-the-console',
      comment: 'The console is a bundle for the browser; only its tests read its pure parts.',
      severity: 'error',
      from: { pathNot: '^(console|test)/' },
      to: { path: '^console/' },
    },
    {
      name: 'sandbox-never-imports-tests',
      severity: 'error',
      from: { path: '^sandbox/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(console|lambdas|lib|contract|ops|sandbox)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(cdk\\.out|\\.sandbox)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.json', '.d.ts'],
    },
  },
};
