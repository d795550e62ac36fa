// Downloads ip-ranges.json: https only (plain http for loopback hosts), bounded in time and size,
// same-host redirects only, retrying only what can succeed on a retry (network errors, timeouts,
// 5xx and 429).

import { RangesError } from './parse.js'

export interface DownloadOptions {
  /** Per attempt, headers and body included. */
  timeoutMs?: number
  maxBytes?: number
  /** Retries after the first attempt. */
  retries?: number
  /** First backoff; doubles on each retry. */
  backoffMs?: number
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>
  userAgent?: string
}

export interface Download {
  body: Buffer
  /** The URL finally served, after redirects. */
  url: string
  status: number
}

export const DEFAULT_DOWNLOAD_OPTIONS = {
  timeoutMs: 30_000,
  maxBytes: 32 * 1024 * 1024,
  retries: 3,
  backoffMs: 500
} as const

const MAX_REDIRECTS = 3
/** A Retry-After longer than this is not honoured (we back off normally instead). */
const MAX_RETRY_AFTER_MS = 60_000

const URL_HINT =
  "Set input 'ip-ranges-url' to an https URL, e.g. https://ip-ranges.amazonaws.com/ip-ranges.json " +
  '(plain http is accepted only for loopback hosts).'
const RETRY_HINT =
  'Nothing was changed. This is usually transient: re-run the workflow later; if it persists, ' +
  "check the runner's network access to the URL."

export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host === '::1') return true
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  return m !== null && m.slice(1).every(octet => Number(octet) <= 255)
}

function checkUrl(text: string, what: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch (cause) {
    throw new RangesError(
      'invalid-url',
      `${what} ${JSON.stringify(text)} is not a valid absolute URL`,
      URL_HINT,
      {
        cause
      }
    )
  }
  const allowed =
    url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname))
  if (!allowed) {
    throw new RangesError(
      'invalid-url',
      `${what} ${JSON.stringify(text)} uses ${url.protocol.replace(/:$/, '')}: only https is allowed ` +
        '(plain http only for loopback hosts)',
      URL_HINT
    )
  }
  if (url.username !== '' || url.password !== '') {
    throw new RangesError(
      'invalid-url',
      `${what} for host ${url.host} contains credentials, which are not allowed`,
      URL_HINT
    )
  }
  return url
}

class Retryable extends Error {
  readonly error: RangesError
  readonly retryAfterMs: number | undefined
  constructor(error: RangesError, retryAfterMs?: number) {
    super(error.message)
    this.error = error
    this.retryAfterMs = retryAfterMs
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise(resolve => {
    setTimeout(resolve, ms)
  })

async function readBody(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0)
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw new RangesError(
        'too-large',
        `GET ${url}: the body exceeds the ${maxBytes}-byte limit (more than ${total} bytes received)`,
        'ip-ranges.json is about 2.5 MB; check that the URL serves it, not something else.'
      )
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, total)
}

async function attempt(
  start: URL,
  opts: Required<Omit<DownloadOptions, 'sleep' | 'userAgent'>> & { userAgent: string }
): Promise<Download> {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, opts.timeoutMs)
  let url = start
  try {
    for (let redirects = 0; ; redirects++) {
      let response: Response
      try {
        response = await fetch(url, {
          redirect: 'manual',
          signal: controller.signal,
          headers: { accept: 'application/json', 'user-agent': opts.userAgent }
        })
      } catch (cause) {
        throw new Retryable(networkError(url.href, cause, timedOut, opts.timeoutMs))
      }
      const status = response.status
      if (status >= 300 && status < 400) {
        await response.body?.cancel().catch(() => undefined)
        const location = response.headers.get('location')
        if (location === null) {
          throw new RangesError(
            'redirect',
            `GET ${url.href}: HTTP ${status} redirect without a Location header`,
            URL_HINT
          )
        }
        if (redirects >= MAX_REDIRECTS) {
          throw new RangesError(
            'redirect',
            `GET ${start.href}: more than ${MAX_REDIRECTS} redirects (the last one, HTTP ${status} from ${url.href}, to ${location})`,
            URL_HINT
          )
        }
        const next = checkUrl(
          new URL(location, url).href,
          `Redirect (HTTP ${status}) from ${url.href} to`
        )
        if (next.hostname !== url.hostname) {
          throw new RangesError(
            'redirect',
            `GET ${url.href}: HTTP ${status} redirects to another host (${next.host}); ` +
              'only redirects within the same host are followed',
            "Set input 'ip-ranges-url' to the final URL if you trust that host."
          )
        }
        url = next
        continue
      }
      if (status !== 200) {
        await response.body?.cancel().catch(() => undefined)
        const error = new RangesError(
          'http-status',
          `GET ${url.href} failed: HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`,
          status >= 500 || status === 429
            ? RETRY_HINT
            : `Check input 'ip-ranges-url'; HTTP ${status} is not retried.`
        )
        if (status >= 500 || status === 429) {
          throw new Retryable(error, parseRetryAfter(response.headers.get('retry-after')))
        }
        throw error
      }
      const length = response.headers.get('content-length')
      if (length !== null && /^\d+$/.test(length) && Number(length) > opts.maxBytes) {
        await response.body?.cancel().catch(() => undefined)
        throw new RangesError(
          'too-large',
          `GET ${url.href}: Content-Length ${length} exceeds the ${opts.maxBytes}-byte limit`,
          'ip-ranges.json is about 2.5 MB; check that the URL serves it, not something else.'
        )
      }
      try {
        const body = await readBody(response, url.href, opts.maxBytes)
        return { body, url: url.href, status }
      } catch (cause) {
        if (cause instanceof RangesError) throw cause
        throw new Retryable(networkError(url.href, cause, timedOut, opts.timeoutMs))
      }
    }
  } finally {
    clearTimeout(timer)
  }
}

function networkError(
  url: string,
  cause: unknown,
  timedOut: boolean,
  timeoutMs: number
): RangesError {
  if (timedOut) {
    return new RangesError(
      'timeout',
      `GET ${url}: no complete response within ${timeoutMs} ms`,
      RETRY_HINT,
      { cause }
    )
  }
  return new RangesError('download', `GET ${url} failed: ${describeCause(cause)}`, RETRY_HINT, {
    cause
  })
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:1" (duck-typed: errors may come from another realm). */
function describeCause(cause: unknown): string {
  const parts: string[] = []
  let current: unknown = cause
  for (let depth = 0; depth < 3 && current !== undefined && current !== null; depth++) {
    if (typeof current !== 'object') {
      parts.push(String(current))
      break
    }
    const {
      message,
      code,
      cause: inner
    } = current as { message?: unknown; code?: unknown; cause?: unknown }
    const text =
      typeof message === 'string' && message !== '' ? message : typeof code === 'string' ? code : ''
    if (text !== '' && !parts.includes(text)) parts.push(text)
    current = inner
  }
  return parts.join(': ') || String(cause)
}

/**
 * Downloads `url` and returns its bytes. Throws `RangesError`: `invalid-url` (bad scheme; names
 * the input `ip-ranges-url`), `redirect`, `http-status`, `timeout`, `too-large` or `download`.
 */
export async function downloadIpRanges(
  url: string,
  options: DownloadOptions = {}
): Promise<Download> {
  const opts = {
    timeoutMs: options.timeoutMs ?? DEFAULT_DOWNLOAD_OPTIONS.timeoutMs,
    maxBytes: options.maxBytes ?? DEFAULT_DOWNLOAD_OPTIONS.maxBytes,
    retries: options.retries ?? DEFAULT_DOWNLOAD_OPTIONS.retries,
    backoffMs: options.backoffMs ?? DEFAULT_DOWNLOAD_OPTIONS.backoffMs,
    userAgent: options.userAgent ?? 'cloudfront-sg-sync'
  }
  const sleep = options.sleep ?? defaultSleep
  const start = checkUrl(url, "Input 'ip-ranges-url'")
  for (let attemptNo = 1; ; attemptNo++) {
    try {
      return await attempt(start, opts)
    } catch (error) {
      if (!(error instanceof Retryable)) throw error
      if (attemptNo > opts.retries) {
        const last = error.error
        throw new RangesError(
          last.code,
          attemptNo > 1 ? `${last.message} (gave up after ${attemptNo} attempts)` : last.message,
          last.hint,
          { cause: last.cause ?? last }
        )
      }
      const backoff = opts.backoffMs * 2 ** (attemptNo - 1)
      const retryAfter =
        error.retryAfterMs !== undefined && error.retryAfterMs <= MAX_RETRY_AFTER_MS
          ? error.retryAfterMs
          : 0
      await sleep(Math.max(backoff, retryAfter))
    }
  }
}
