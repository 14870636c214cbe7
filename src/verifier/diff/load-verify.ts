/** Our verifier for the harness, typed as the harness calls it. */
import { verify } from '../index.js';
import type { VerifyFn } from './compare.js';

export async function loadVerify(): Promise<VerifyFn | undefined> {
  return verify as VerifyFn;
}
