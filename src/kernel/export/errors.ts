/**
 * The exporter's errors, apart from the code that throws them so that `tsbpf/kernel` can export
 * them without loading YAML or prom-client.
 */
import { TsbpfError } from '../../errors.js';

/** A path in the configuration document: keys and array indexes. */
export type ConfigPath = readonly (string | number)[];

/** `metrics.counters[0].labels[1].field` */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${part}` : part;
  return text || '(document)';
}

/** Where a path is in the source text: `file:line:col`, when known. */
export type Locate = (path: ConfigPath) => string | undefined;

/** The configuration is wrong: names the field by its path, and its place in the file when known. */
export class ExportConfigError extends TsbpfError {
  override name = 'ExportConfigError';
  /** The field's path in the document. */
  readonly path: string;
  /** `file:line:col` of the field, when the configuration came from text. */
  readonly location: string | undefined;
  constructor(path: ConfigPath, detail: string, locate?: Locate) {
    const location = locate?.(path);
    super(`${location ? `${location}: ` : ''}${path.length ? `${formatPath(path)}: ` : ''}${detail}`);
    this.path = formatPath(path);
    this.location = location;
  }
}

/**
 * The object's programs could not be loaded or attached as the configuration says: names the
 * program's place in the configuration. (A kernel refusal, not bad input: exit status 1.)
 */
export class ExportLoadError extends TsbpfError {
  override name = 'ExportLoadError';
  /** The configuration path of the program (`programs[1].name`, or `object` for an unlisted one). */
  readonly path: string;
  constructor(path: ConfigPath, detail: string, locate?: Locate, options?: { cause?: unknown }) {
    const location = locate?.(path);
    super(`${location ? `${location}: ` : ''}${formatPath(path)}: ${detail}`, options);
    this.path = formatPath(path);
  }
}

/** The listen address cannot be used. */
export class ListenError extends TsbpfError {
  override name = 'ListenError';
}
