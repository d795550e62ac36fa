// Retry only what is retryable (throttling, 5xx, network), fail fast on everything else, and run
// a bounded number of tasks at once. Used around STS, where the SDK's own retry classification
// does not include IDPCommunicationError and where each attempt must fetch a fresh OIDC token.

export interface RetryOptions {
  /** Total attempts, the first included. Default 4. */
  attempts?: number
  /** Base of the exponential backoff (full jitter). Default 500 ms. */
  baseDelayMs?: number
  /** Cap of one backoff. Default 8 s. */
  maxDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  /** Called before each retry, with the error that caused it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
}

// Error codes AWS services use for throttling (the Query and JSON protocols spell them
// differently); STS answers `Throttling` / "Rate exceeded" with HTTP 400.
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown'
])

// STS: "The request could not be fulfilled because the identity provider (IDP) that was asked to
// verify the incoming identity token could not be reached" — transient by definition
// (STS API reference, AssumeRoleWithWebIdentity, Errors). The SDK names the modelled error
// IDPCommunicationErrorException; the wire code is IDPCommunicationError.
const TRANSIENT = new Set([
  'IDPCommunicationError',
  'IDPCommunicationErrorException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError'
])

const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT'
])

interface ErrorShape {
  name?: unknown
  code?: unknown
  $metadata?: { httpStatusCode?: number }
  $retryable?: unknown
  cause?: unknown
}

/** Throttling, transient service errors, HTTP 5xx/429 and network failures; nothing else. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as ErrorShape
  const name = typeof e.name === 'string' ? e.name : ''
  const code = typeof e.code === 'string' ? e.code : ''
  if (THROTTLING.has(name) || TRANSIENT.has(name)) return true
  if (NETWORK.has(code) || NETWORK.has(name)) return true
  if (e.$retryable !== undefined && e.$retryable !== null) return true
  const status = e.$metadata?.httpStatusCode
  if (status !== undefined && (status >= 500 || status === 429)) return true
  // A response-less SDK failure wrapping a socket error.
  if (e.cause !== undefined && e.cause !== error) return isRetryableAwsError(e.cause)
  return false
}

/** Throttling only: worth a longer wait than other transient errors. */
export function isThrottlingError(error: unknown): boolean {
  const name = (error as ErrorShape | null)?.name
  return typeof name === 'string' && THROTTLING.has(name)
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions = {}
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 4)
  const base = options.baseDelayMs ?? 500
  const cap = options.maxDelayMs ?? 8000
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error
      // Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
      // Jitter"): spreads concurrent callers instead of retrying in lockstep.
      const delay = Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1)))
      options.onRetry?.(error, attempt, delay)
      await sleep(delay)
    }
  }
}

/**
 * Runs `fn` over every item with at most `limit` calls in flight and settles them all (one failure
 * does not stop the others, so every broken role is reported in one run). Results keep the order.
 */
export async function mapBoundedSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      try {
        results[index] = { status: 'fulfilled', value: await fn(items[index] as T, index) }
      } catch (reason) {
        results[index] = { status: 'rejected', reason }
      }
    }
  }
  const size = Math.max(1, Math.min(Math.floor(limit) || 1, items.length))
  await Promise.all(Array.from({ length: size }, worker))
  return results
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
