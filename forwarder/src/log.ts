// One JSON object per line on stdout, which Lambda ships to the function's log group as is.
// Every registered secret is replaced by "***" in each line before it is written: the token is
// never meant to reach a log call, and this makes sure it cannot.

export type Level = 'debug' | 'info' | 'warn' | 'error'
export type Fields = Record<string, unknown>
export type Sink = (line: string) => void

export interface Logger {
  debug(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
  child(fields: Fields): Logger
}

const secrets = new Set<string>()

/** Registers a value that must never appear in a log line (shared by every logger). */
export function redact(secret: string): void {
  if (secret.length >= 4) secrets.add(secret)
}

function scrub(line: string): string {
  let out = line
  for (const s of secrets) {
    // The value as written, and as JSON.stringify escapes it inside a string.
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1)])) {
      out = out.split(form).join('***')
    }
  }
  return out
}

function toJsonSafe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

const stdoutSink: Sink = line => {
  process.stdout.write(`${line}\n`)
}

export function createLogger(base: Fields = {}, sink: Sink = stdoutSink): Logger {
  const write = (level: Level, msg: string, fields: Fields = {}) => {
    const entry: Fields = { time: new Date().toISOString(), level, msg, ...base }
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined) entry[k] = toJsonSafe(v)
    }
    sink(scrub(JSON.stringify(entry)))
  }
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: fields => createLogger({ ...base, ...fields }, sink)
  }
}
