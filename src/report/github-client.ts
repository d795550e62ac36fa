// The Octokit client for the tracking issue: @actions/github's getOctokit with the retry and
// throttling plugins, retrying only what is retryable.
//
// - Base URL: getOctokit's defaults read GITHUB_API_URL once, when @actions/github is first
//   imported (lib/utils.js: `process.env['GITHUB_API_URL'] || 'https://api.github.com'`). The URL
//   is read again here, at call time, and passed explicitly, so GHES runners and tests that start
//   an emulator after the import both get the right server.
// - Retries (@octokit/plugin-retry): 5xx and network errors only (a network failure surfaces as
//   status 500), with (attempt^2) x the base delay. Every 4xx is in `doNotRetry`: a 401, 403 or
//   404 will not heal, and 429s belong to the throttling plugin, which honours Retry-After.
// - Rate limits (@octokit/plugin-throttling): GitHub answers a secondary rate limit with 403 or 429,
//   a message naming it and usually Retry-After; a primary one with x-ratelimit-remaining: 0 and
//   x-ratelimit-reset. We retry a few times when the wait is short, and fail otherwise.
//   https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'

export type GitHubClient = ReturnType<typeof getOctokit>

export const DEFAULT_API_URL = 'https://api.github.com'
export const GITHUB_API_VERSION = '2022-11-28'

export interface GitHubClientOptions {
  /** `github-token` input (GITHUB_TOKEN, a PAT or an App token). */
  token: string
  /** REST base URL; defaults to GITHUB_API_URL from `env`, then https://api.github.com. */
  baseUrl?: string
  env?: Record<string, string | undefined>
  userAgent?: string
  /** Retries of a 5xx / network failure (default 3). */
  retries?: number
  /** Rate-limit retries (default 2). */
  rateLimitRetries?: number
  /** The longest rate-limit wait to sit out, in seconds (default 60); longer fails now. */
  maxRateLimitWaitSeconds?: number
  /**
   * Milliseconds per unit of back-off: the retry plugin waits attempt^2 units, the throttling
   * plugin Retry-After units (default 1000, i.e. seconds).
   */
  delayUnitMs?: number
  /**
   * Octokit paces writes per id (1 s between writes, 3 s between writes that notify people, as
   * GitHub asks of content-creating requests); clients sharing an id share the pacing.
   */
  throttleId?: string
  /** Where retry notices go (default: nowhere). */
  log?: (message: string) => void
}

/** Every 4xx status: never retried by the retry plugin (429 is the throttling plugin's). */
const CLIENT_ERRORS = Array.from({ length: 100 }, (_, i) => 400 + i)

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const env = options.env ?? process.env
  const baseUrl = (options.baseUrl || env.GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, '')
  const log = options.log ?? (() => undefined)
  const rateLimitRetries = options.rateLimitRetries ?? 2
  const maxWait = options.maxRateLimitWaitSeconds ?? 60
  const unit = options.delayUnitMs ?? 1000
  const onLimit =
    (kind: string) =>
    (
      retryAfter: number,
      request: { method: string; url: string },
      _octokit: unknown,
      count: number
    ) => {
      const what = `${kind} rate limit on ${request.method} ${request.url}`
      if (count >= rateLimitRetries || retryAfter > maxWait) {
        log(`GitHub ${what}: giving up (retry after ${retryAfter}s, attempt ${count + 1}).`)
        return false
      }
      log(`GitHub ${what}: retrying in ${retryAfter}s.`)
      return true
    }

  const octokit = getOctokit(
    options.token,
    {
      baseUrl,
      userAgent: options.userAgent ?? 'cloudfront-sg-sync',
      retry: {
        retries: options.retries ?? 3,
        doNotRetry: CLIENT_ERRORS,
        retryAfterBaseValue: unit
      },
      throttle: {
        id: options.throttleId ?? 'cloudfront-sg-sync',
        retryAfterBaseValue: unit,
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary')
      },
      // Octokit's own warnings (deprecations, throttling internals) go to the same place.
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (message: string) => log(message),
        error: (message: string) => log(message)
      }
    },
    retry,
    throttling
  )
  // Octokit has no default-headers option: pin the REST API version on every request.
  // https://docs.github.com/en/rest/about-the-rest-api/api-versions
  octokit.hook.before('request', request => {
    request.headers['x-github-api-version'] = GITHUB_API_VERSION
  })
  return octokit
}
