// Module hooks that let Node run @camunda/linting and @camunda/form-linting as published: both are
// written for bundlers (extension-less relative imports, JSON imports without attributes, and a
// CommonJS plug-in read by named export), which Node's own ESM loader refuses.
import { createRequire } from 'node:module';

const CJS_BY_NAME = new Set(['bpmnlint-plugin-camunda-compat']);
const SHIM = 'procgov-cjs-shim:';

export async function resolve(specifier, context, next) {
  if (CJS_BY_NAME.has(specifier)) {
    // A shim re-exports the CommonJS module's properties, so `const { configs } = await import(…)` works.
    return { url: SHIM + specifier + '?from=' + encodeURIComponent(context.parentURL), shortCircuit: true };
  }
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error.code !== 'ERR_MODULE_NOT_FOUND' && error.code !== 'ERR_UNSUPPORTED_DIR_IMPORT') throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await next(specifier + suffix, context);
      } catch {
        // try the next suffix
      }
    }
    throw error;
  }
}

export async function load(url, context, next) {
  if (url.startsWith(SHIM)) {
    const [name, query] = url.slice(SHIM.length).split('?from=');
    const parent = decodeURIComponent(query);
    const required = createRequire(new URL(parent))(name);
    const names = Object.keys(required).filter((key) => /^[A-Za-z_$][\w$]*$/.test(key));
    const source = [
      `import { createRequire } from 'node:module';`,
      `const m = createRequire(${JSON.stringify(parent)})(${JSON.stringify(name)});`,
      'export default m;',
      ...names.map((key) => `export const ${key} = m[${JSON.stringify(key)}];`),
    ].join('\n');
    return { format: 'module', source, shortCircuit: true };
  }
  if (url.endsWith('.json')) {
    return next(url, { ...context, importAttributes: { type: 'json' } });
  }
  return next(url, context);
}
