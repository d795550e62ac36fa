// Validates a downloaded ip-ranges.json into a typed document. Pure: no I/O.

import { tryParseCidr } from './cidr.js'

export type RangesErrorCode =
  | 'invalid-url'
  | 'download'
  | 'http-status'
  | 'timeout'
  | 'too-large'
  | 'redirect'
  | 'invalid-json'
  | 'truncated'
  | 'schema'
  | 'notification'
  | 'md5-mismatch'
  | 'stale'
  | 'implausible-sync-token'
  | 'unknown-service'
  | 'empty-selection'
  | 'too-broad'
  | 'too-many-prefixes'
  | 'too-many-addresses'

/** Every failure of the ranges step: `message` says what happened, `hint` what the user can do. */
export class RangesError extends Error {
  readonly code: RangesErrorCode
  readonly hint: string

  constructor(code: RangesErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RangesError'
    this.code = code
    this.hint = hint
  }
}

export interface Ipv4PrefixEntry {
  ip_prefix: string
  region: string
  service: string
  network_border_group: string
}

export interface Ipv6PrefixEntry {
  ipv6_prefix: string
  region: string
  service: string
  network_border_group: string
}

export interface IpRangesDocument {
  syncToken: string
  createDate: string
  prefixes: Ipv4PrefixEntry[]
  ipv6_prefixes: Ipv6PrefixEntry[]
}

const SCHEMA_HINT =
  'The file does not look like AWS ip-ranges.json. Check that ip-ranges-url points to ' +
  'https://ip-ranges.amazonaws.com/ip-ranges.json (or a faithful mirror); if it does, AWS may have ' +
  'changed the format: retry later and report it if it persists.'
const TRUNCATED_HINT =
  'The download ended early (connection cut or a proxy limit). Retry; if it persists, check ' +
  'proxies between the runner and ip-ranges-url.'

const SYNC_TOKEN = /^[0-9]+$/
const CREATE_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})$/

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value))}`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}...` : text
}

function schemaError(message: string): RangesError {
  return new RangesError('schema', `ip-ranges.json: ${message}`, SCHEMA_HINT)
}

/** Unbalanced brackets or an open string at the end: the text was cut, not merely malformed. */
function looksTruncated(text: string): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) depth++
    else if (c === 125 /* } */ || c === 93 /* ] */) depth--
  }
  return inString || depth > 0
}

function decode(body: string | Uint8Array): string {
  if (typeof body === 'string') return body
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch (cause) {
    throw new RangesError('invalid-json', 'ip-ranges.json is not valid UTF-8 text', SCHEMA_HINT, {
      cause
    })
  }
}

function requireString(entry: Record<string, unknown>, key: string, where: string): string {
  const value = entry[key]
  if (value === undefined) throw schemaError(`${where}.${key} is missing`)
  if (typeof value !== 'string') {
    throw schemaError(`${where}.${key} must be a string, got ${describe(value)}`)
  }
  if (value === '') throw schemaError(`${where}.${key} is empty`)
  return value
}

function requireArray(doc: Record<string, unknown>, key: string): unknown[] {
  const value = doc[key]
  if (value === undefined) throw schemaError(`"${key}" is missing`)
  if (!Array.isArray(value)) throw schemaError(`"${key}" must be an array, got ${describe(value)}`)
  return value
}

function validateEntries<K extends 'ip_prefix' | 'ipv6_prefix'>(
  list: unknown[],
  listKey: 'prefixes' | 'ipv6_prefixes',
  prefixKey: K
): (Record<K, string> & { region: string; service: string; network_border_group: string })[] {
  const expected = listKey === 'prefixes' ? 'ipv4' : 'ipv6'
  const out: (Record<K, string> & {
    region: string
    service: string
    network_border_group: string
  })[] = new Array(list.length)
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]
    const where = `${listKey}[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw schemaError(`${where} must be an object, got ${describe(entry)}`)
    }
    const record = entry as Record<string, unknown>
    const prefix = requireString(record, prefixKey, where)
    const parsed = tryParseCidr(prefix)
    if (!parsed.ok) {
      throw schemaError(
        `${where}.${prefixKey} ${JSON.stringify(prefix)} is invalid: ${parsed.reason}`
      )
    }
    if (parsed.cidr.family !== expected) {
      const other = expected === 'ipv4' ? 'ipv6_prefixes' : 'prefixes'
      throw schemaError(
        `${where}.${prefixKey} ${JSON.stringify(prefix)} is an ${parsed.cidr.family === 'ipv4' ? 'IPv4' : 'IPv6'} ` +
          `prefix, which belongs in "${other}"`
      )
    }
    out[i] = {
      [prefixKey]: prefix,
      region: requireString(record, 'region', where),
      service: requireString(record, 'service', where),
      network_border_group: requireString(record, 'network_border_group', where)
    } as Record<K, string> & { region: string; service: string; network_border_group: string }
  }
  return out
}

/**
 * Parses and validates ip-ranges.json. Unknown extra fields are ignored (forward compatible);
 * everything the action relies on is checked, and every prefix must be a valid CIDR of the
 * right family with no host bits set. Throws `RangesError` (code `invalid-json`, `truncated` or
 * `schema`) naming the offending field or entry.
 */
/**
 * Most entries (IPv4 and IPv6, every service) a document may list. The genuine file lists about
 * 16,700 (10,642 + 6,107 on 2026-08-13) and has grown slowly for years: 100,000 leaves room for
 * six times that, and refuses a 270,000-entry document before validating any entry (issue 15:
 * seconds of work instead of minutes; the selected service is bounded again by select).
 */
export const MAX_DOCUMENT_ENTRIES = 100_000

function checkEntryCount(count: number): void {
  if (count <= MAX_DOCUMENT_ENTRIES) return
  throw new RangesError(
    'too-many-prefixes',
    `ip-ranges.json lists ${count} prefixes, more than ${MAX_DOCUMENT_ENTRIES} (the genuine ` +
      'file lists about 17,000): refusing to read it',
    SCHEMA_HINT
  )
}

export function parseIpRanges(body: string | Uint8Array): IpRangesDocument {
  const text = decode(body)
  if (text.trim() === '') {
    throw new RangesError('truncated', 'ip-ranges.json is empty (0 bytes of JSON)', TRUNCATED_HINT)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    if (looksTruncated(text)) {
      throw new RangesError(
        'truncated',
        `ip-ranges.json is truncated: the JSON ends after ${text.length} characters with open brackets or an open string (${detail})`,
        TRUNCATED_HINT,
        { cause }
      )
    }
    throw new RangesError(
      'invalid-json',
      `ip-ranges.json is not valid JSON: ${detail}; it starts with ${JSON.stringify(truncate(text.trimStart(), 40))}`,
      SCHEMA_HINT,
      { cause }
    )
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw schemaError(`the top level must be an object, got ${describe(data)}`)
  }
  const doc = data as Record<string, unknown>

  const syncToken = doc.syncToken
  if (syncToken === undefined) throw schemaError('"syncToken" is missing')
  if (typeof syncToken !== 'string') {
    throw schemaError(`"syncToken" must be a string, got ${describe(syncToken)}`)
  }
  if (!SYNC_TOKEN.test(syncToken)) {
    throw schemaError(
      `"syncToken" ${JSON.stringify(truncate(syncToken))} must be all digits (epoch seconds)`
    )
  }

  const createDate = doc.createDate
  if (createDate === undefined) throw schemaError('"createDate" is missing')
  if (typeof createDate !== 'string') {
    throw schemaError(`"createDate" must be a string, got ${describe(createDate)}`)
  }
  const m = CREATE_DATE.exec(createDate)
  const valid =
    m !== null &&
    (() => {
      const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number
      ]
      const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s))
      return (
        date.getUTCFullYear() === y &&
        date.getUTCMonth() === mo - 1 &&
        date.getUTCDate() === d &&
        date.getUTCHours() === h &&
        date.getUTCMinutes() === mi &&
        date.getUTCSeconds() === s
      )
    })()
  if (!valid) {
    throw schemaError(
      `"createDate" ${JSON.stringify(truncate(createDate))} is not a date of the form YYYY-MM-DD-hh-mm-ss`
    )
  }

  const rawPrefixes = requireArray(doc, 'prefixes')
  const rawIpv6Prefixes = requireArray(doc, 'ipv6_prefixes')
  checkEntryCount(rawPrefixes.length + rawIpv6Prefixes.length)
  const prefixes = validateEntries(rawPrefixes, 'prefixes', 'ip_prefix')
  const ipv6Prefixes = validateEntries(rawIpv6Prefixes, 'ipv6_prefixes', 'ipv6_prefix')
  return { syncToken, createDate, prefixes, ipv6_prefixes: ipv6Prefixes }
}
