/**
 * The Node built-ins the code of a CGI request uses, taken with
 * process.getBuiltinModule() rather than an ES import. Why: to build an ES
 * module namespace for a built-in, Node reads every one of its exports, and
 * some are getters that load more (node:fs's `promises` and its streams,
 * node:util's whole inspect and text-encoding machinery). Measured on the
 * 2-core machine, each `import 'node:fs'` or `import 'node:util'` added
 * 3-10 ms to a fresh process; getBuiltinModule adds nothing measurable. A CGI
 * request is a fresh process, so this is per request (docs/performance.md).
 * Long-running transports (gateway/http/, gateway/fastcgi/) import as usual.
 */
export const fs = process.getBuiltinModule('node:fs');
export const path = process.getBuiltinModule('node:path');
export const url = process.getBuiltinModule('node:url');
export const util = process.getBuiltinModule('node:util');
