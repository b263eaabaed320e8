/**
 * Loads an optional peer dependency (a trace SDK) only when a feature needs it.
 * A CommonJS module in both builds: its `require` resolves from this package's own location, as an `import`
 * of ours would, and works synchronously, as the helpers that return a processor must.
 */

/**
 * The module `id`, or `undefined` when it is not installed. Any other failure to load it (a broken install,
 * a dependency of it missing) is thrown as it is.
 */
export function loadOptionalPeer(id: string): unknown {
  try {
    return require(id) as unknown;
  } catch (error) {
    if (isNotFound(error, id)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown, id: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${id}'`);
}
