/**
 * The root of every error tsbpf throws on purpose. Messages carry their context as a prefix
 * (`decode: instruction 3: …`), and the structured fields carry the same facts for programs.
 */
export class TsbpfError extends Error {
  override name = 'TsbpfError';
}
