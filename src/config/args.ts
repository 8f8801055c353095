// A small command-line parser: `--flag value`, `--flag=value`, boolean and repeatable flags.
import { UserError } from '../errors.js';

export class UsageError extends UserError {}

export interface FlagSpec {
  readonly boolean?: readonly string[];
  readonly repeatable?: readonly string[];
  readonly values?: readonly string[];
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const known = new Set([...(spec.boolean ?? []), ...(spec.repeatable ?? []), ...(spec.values ?? [])]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!known.has(name)) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (spec.boolean?.includes(name)) {
      value = eq < 0 ? 'true' : arg.slice(eq + 1);
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable?.includes(name)) throw new UsageError(`--${name} given twice`);
    list.push(value);
    flags.set(name, list);
  }
  return { flags, positionals };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0];
}

export function flagList(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  const v = flag(args, name);
  return v !== undefined && v !== 'false';
}
