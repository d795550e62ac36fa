// Creates one repository_dispatch event, retrying only what is retryable.
// API: POST /repos/{owner}/{repo}/dispatches {event_type, client_payload} -> 204
//   https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
// Rate limits: 429 (or 403) with Retry-After, or x-ratelimit-remaining: 0 with x-ratelimit-reset
//   https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
//
// Retried: network errors and timeouts, 5xx, 429 and rate-limit 403s, with capped exponential
// backoff (Retry-After honoured up to a bound). Not retried: 401, 403, 404, 422 and other 4xx;
// those come back with a hint naming the permission the token lacks.
import type { Repository } from './config.js'
import { forgetRefusedToken } from './secret.js'

export const GITHUB_API_VERSION = '2022-11-28'
export const USER_AGENT = 'cloudfront-sg-sync-forwarder'

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  /** A Retry-After longer than this fails the dispatch now (Lambda retries the event later). */
  maxRetryAfterMs: number
  requestTimeoutMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 300,
  maxDelayMs: 5000,
  maxRetryAfterMs: 20_000,
  requestTimeoutMs: 10_000
}

export type FailureKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_request'
  | 'moved'
  | 'http_error'
  | 'rate_limited'
  | 'server_error'
  | 'network'
  | 'deadline'

export interface DispatchRequest {
  apiUrl: string
  token: string
  target: Repository
  eventType: string
  clientPayload: Record<string, string>
}

export interface DispatchOutcome {
  ok: boolean
  /** The last HTTP status seen, if any. */
  status: number | undefined
  attempts: number
  /** Status (or `network`) of every attempt, in order. */
  history: (number | 'network')[]
  durationMs: number
  kind?: FailureKind
  error?: string
  hint?: string
}

export interface DispatchOptions {
  policy?: RetryPolicy
  /** Epoch ms after which no new attempt starts (the Lambda deadline minus a margin). */
  deadline?: number
  fetchImpl?: typeof fetch
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
}

const defaultSleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

/** What the token needs to create a dispatch, for every kind of GitHub token. */
export function permissionHint(t: Repository): string {
  const full = `${t.owner}/${t.repo}`
  return (
    `the token needs write access to ${full}: a fine-grained personal access token with ` +
    `"Contents: Read and write" on ${full} (Metadata: read-only comes with it), a classic ` +
    `token with the "repo" scope ("public_repo" for a public repository), or a GitHub App ` +
    `installation with contents: write`
  )
}

/** Milliseconds GitHub asks us to wait, from Retry-After or the primary rate-limit headers. */
export function requestedWaitMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after')
  if (retryAfter !== null) {
    const seconds = Number(retryAfter.trim())
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000)
    const date = Date.parse(retryAfter)
    if (!Number.isNaN(date)) return Math.max(0, date - now)
  }
  if (headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(headers.get('x-ratelimit-reset'))
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now)
  }
  return undefined
}

function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  // "Equal jitter": half fixed, half random, so consecutive retries always spread out.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

async function readMessage(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 2000)
  try {
    const body = JSON.parse(text) as { message?: unknown }
    if (typeof body.message === 'string') return body.message.slice(0, 300)
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 300).trim()
}

function isRateLimit403(res: Response): boolean {
  return res.headers.has('retry-after') || res.headers.get('x-ratelimit-remaining') === '0'
}

export async function createDispatch(
  request: DispatchRequest,
  options: DispatchOptions = {}
): Promise<DispatchOutcome> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY
  const doFetch = options.fetchImpl ?? fetch
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  const started = now()
  const { target } = request
  const full = `${target.owner}/${target.repo}`
  const url = `${request.apiUrl}/repos/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.repo)}/dispatches`
  const body = JSON.stringify({
    event_type: request.eventType,
    client_payload: request.clientPayload
  })
  const history: DispatchOutcome['history'] = []
  const done = (o: Omit<DispatchOutcome, 'attempts' | 'history' | 'durationMs'>) => ({
    ...o,
    attempts: history.length,
    history,
    durationMs: now() - started
  })

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - now()
    const timeout = Math.min(policy.requestTimeoutMs, remaining)
    let res: Response | undefined
    let networkError: string | undefined
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${request.token}`,
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-github-api-version': GITHUB_API_VERSION
        },
        body,
        // A redirect is reported, never followed with the token attached.
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.max(1, timeout))
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      networkError =
        e.name === 'TimeoutError' ? `no answer within ${timeout} ms` : (e.cause?.code ?? e.message)
    }

    let kind: FailureKind
    let error: string
    let wait: number | undefined
    if (res === undefined) {
      history.push('network')
      kind = 'network'
      error = `request to ${request.apiUrl} failed: ${networkError ?? 'unknown error'}`
    } else {
      history.push(res.status)
      const status = res.status
      if (status >= 200 && status < 300) {
        await res.body?.cancel().catch(() => undefined)
        return done({ ok: true, status })
      }
      const message = await readMessage(res)
      const detail = `GitHub answered ${status}${message ? ` "${message}"` : ''} for ${full}`
      if (status === 401) {
        // A rotated or revoked token: the next attempt (Lambda's retry) reads the secret again.
        forgetRefusedToken(request.token)
        return done({
          ok: false,
          status,
          kind: 'unauthorized',
          error: detail,
          hint: `the token is invalid, expired or revoked; store a valid one in the secret: ${permissionHint(target)}`
        })
      }
      if (status === 403 && !isRateLimit403(res)) {
        const sso = res.headers.get('x-github-sso')
        return done({
          ok: false,
          status,
          kind: 'forbidden',
          error: detail,
          hint: sso
            ? `the token is not authorized for the organization's SAML SSO (${sso.slice(0, 200)}); ${permissionHint(target)}`
            : `the token lacks permission to create repository_dispatch events on ${full}: ${permissionHint(target)}`
        })
      }
      if (status === 404) {
        return done({
          ok: false,
          status,
          kind: 'not_found',
          error: detail,
          hint: `${full} does not exist or the token cannot see it: check TARGET_REPOSITORIES and the token's repository access; ${permissionHint(target)}`
        })
      }
      if (status >= 300 && status < 400) {
        return done({
          ok: false,
          status,
          kind: 'moved',
          error: detail,
          hint: `the repository moved (Location: ${res.headers.get('location') ?? 'none'}); update TARGET_REPOSITORIES`
        })
      }
      if (status === 429 || status === 403) {
        kind = 'rate_limited'
        wait = requestedWaitMs(res.headers, now())
      } else if (status >= 500) {
        kind = 'server_error'
        wait = requestedWaitMs(res.headers, now())
      } else {
        return done({
          ok: false,
          status,
          kind: status === 422 || status === 400 ? 'invalid_request' : 'http_error',
          error: detail,
          hint:
            status === 422 || status === 400
              ? 'GitHub refused the request body: check EVENT_TYPE (1-100 characters)'
              : undefined
        })
      }
      error = detail
    }

    const status = res?.status
    if (attempt >= policy.maxAttempts) {
      return done({
        ok: false,
        status,
        kind,
        error: `${error} (gave up after ${attempt} attempts)`,
        hint: 'Lambda retries the event; messages that still fail land in the dead-letter queue'
      })
    }
    if (wait !== undefined && wait > policy.maxRetryAfterMs) {
      return done({
        ok: false,
        status,
        kind,
        error: `${error}; GitHub asks to wait ${Math.ceil(wait / 1000)} s, more than the ${policy.maxRetryAfterMs / 1000} s this invocation allows`,
        hint: 'Lambda retries the event later'
      })
    }
    const pause = wait ?? backoffMs(policy, attempt, random)
    if (now() + pause + 1000 > deadline) {
      return done({
        ok: false,
        status,
        kind: 'deadline',
        error: `${error}; no time left in this invocation for another attempt`,
        hint: 'raise the function timeout, or let Lambda retry the event'
      })
    }
    await sleep(pause)
  }
}
