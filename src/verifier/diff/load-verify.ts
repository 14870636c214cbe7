/**
 * Find our verifier for the harness: `verify` from `src/verifier/index.ts`, or undefined while
 * that module (built on another branch) is not there yet, so the harness skips instead of failing.
 */
import type { VerifyFn } from './compare.js';

export async function loadVerify(): Promise<VerifyFn | undefined> {
  // A variable specifier: the module may not exist yet, and tsc must not insist that it does.
  const specifier = '../index.js';
  try {
    const mod = (await import(specifier)) as { verify?: unknown };
    return typeof mod.verify === 'function' ? (mod.verify as VerifyFn) : undefined;
  } catch (error) {
    // Only a missing index.ts means "not built yet"; any other failure is a real error.
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('verifier/index')) {
      return undefined;
    }
    throw error;
  }
}
