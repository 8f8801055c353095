// Command lines, parsed by node:util's parseArgs from one table per command:
// the same table gives `--help` its text and the options their defaults, so
// the help cannot drift from what is parsed.
import { parseArgs as parseWithNode } from 'node:util';
import { UserError } from '../errors.js';

export class UsageError extends UserError {}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** May be given more than once (--route). */
  readonly multiple?: boolean;
  /** What the value looks like in the help: CIDR, IP, N, FILE. */
  readonly value?: string;
  /** Applied when the option is not given. */
  readonly default?: string;
  /** A default the mode decides, shown but not applied (the backend: sleeve in a mesh, udp with static routes). */
  readonly defaultText?: string;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** What follows the options: `[PEER[:PORT] ...]`. */
  readonly positionals: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
}

export interface ParsedArgs {
  /** The options given (a default is not "given": conflicts look here). */
  flags: Map<string, string[]>;
  positionals: string[];
  /** The table's defaults, read through flag(). */
  defaults: Map<string, string>;
  /** --help was asked for: nothing else is looked at. */
  help: boolean;
}

export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const options = Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, multiple: true }]));
  let tokens;
  try {
    ({ tokens } = parseWithNode({ args: [...argv], options: { ...options, help: { type: 'boolean', multiple: true } }, allowPositionals: true, strict: true, tokens: true }));
  } catch (error) {
    throw usageError(error as Error & { code?: string }, spec);
  }
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'help') {
      help = true;
      continue;
    }
    const list = flags.get(t.name) ?? [];
    if (list.length > 0 && !spec.options[t.name].multiple) throw new UsageError(`--${t.name} given twice`);
    list.push(t.value ?? 'true');
    flags.set(t.name, list);
  }
  const defaults = new Map(Object.entries(spec.options).flatMap(([name, o]) => (o.default === undefined ? [] : [[name, o.default] as const])));
  return { flags, positionals, defaults, help };
}

function usageError(error: Error & { code?: string }, spec: CommandSpec): UsageError {
  const firstLine = error.message.split('\n')[0];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(firstLine)?.[1] ?? firstLine;
    return new UsageError(`unknown option ${option} ('tsoverlay ${spec.name} --help' lists them)`);
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(firstLine);
  // "Option '--x <value>' argument missing", "Option '--b' does not take an argument", ...
  return new UsageError(firstLine.replace(/^Option '([^' ]+)[^']*'/, '$1').replace(/ argument missing$/, ' needs a value'));
}

/** The option's value: given, or the table's default. */
export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0] ?? args.defaults.get(name);
}

export function flagList(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}

/** `tsoverlay <command> --help`: the summary, then every option with its value and default. */
export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const left = `  --${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const shown = o.default ?? o.defaultText;
    const right = `${o.help}${o.multiple ? ' (repeatable)' : ''}${shown === undefined ? '' : ` [default: ${shown}]`}`;
    return [left, right] as const;
  });
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length), 0) + 2);
  const lines = rows.map(([l, r]) => (l.length + 2 > width ? `${l}\n${' '.repeat(width)}${r}` : `${l.padEnd(width)}${r}`));
  return [`usage: tsoverlay ${spec.name}${rows.length ? ' [options]' : ''}${spec.positionals ? ` ${spec.positionals}` : ''}`, '', spec.summary, ...(rows.length ? ['', 'options:', ...lines] : []), ''].join('\n');
}
