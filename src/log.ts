// Logs: JSON lines through pino (one object per event, for machines), or, when
// stderr is a terminal, one readable line per event. --log-level sets the floor.
import { pino } from 'pino';

type Fields = Record<string, unknown>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const json = pino({ level: 'info', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
let human = process.stderr.isTTY === true;
let floor = 30; // info
const rank: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

export function configureLog(level: LogLevel, format: 'auto' | 'json' | 'text' = 'auto'): void {
  json.level = level;
  floor = rank[level];
  if (format !== 'auto') human = format === 'text';
}

function write(level: LogLevel, message: string, fields?: Fields): void {
  if (!human) return void json[level](fields ?? {}, message);
  if (rank[level] < floor) return;
  const extra = fields ? ' ' + Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra}\n`);
}

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
