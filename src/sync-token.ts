// Whether a syncToken can be a genuine AWS publication time. Pure: the caller hands in the clock.
//
// ip-ranges.json's syncToken is "the publication time, in Unix epoch time format"
// (https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-syntax.html), and the AmazonIpSpaceChanged
// notification carries the same value. Every syncToken the action compares (document, dispatch,
// the tag it records on groups) must therefore be a time that has already happened. A value from
// the future would win every "newer than" comparison: recorded on a group it holds back every
// genuine file until the clock catches up (for a 20-digit value, never).
//
// Bounds:
// - at most 11 digits: 10 digits last until the year 2286, 11 until 5138; anything longer is not a
//   Unix time for centuries, whatever the clock says (and never reaches BigInt or Number unchecked);
// - not later than now + SYNC_TOKEN_SKEW_SECONDS. AWS stamps the token with its own clock, the
//   runner judges it with its own: a self-hosted runner can drift, or run an hour off after a
//   daylight-saving or time-zone mistake. Two hours absorb that, and bound what a value just under
//   the limit can do: a group tagged with it holds genuine files back for at most those two hours
//   plus AWS's publication gap, and every such run reports the pool as held back (a warning).
// - no lower bound: an old value can only lose "newer than" comparisons, so it freezes nothing,
//   and replays of real history (tests, benchmarks, demos) use old tokens on purpose.

/** How far in the runner's future a syncToken may lie (clock skew between AWS and the runner). */
export const SYNC_TOKEN_SKEW_SECONDS = 2 * 3600
/** 11 digits: Unix times up to the year 5138. */
export const MAX_SYNC_TOKEN_DIGITS = 11

const DIGITS = /^[0-9]+$/

export type SyncTokenVerdict =
  { plausible: true; value: bigint } | { plausible: false; reason: string }

/**
 * Judges `token` (already trimmed) against `now`. The reason says what is wrong, naming the
 * latest acceptable value, so that each caller can add where the token came from and what to do.
 */
export function judgeSyncToken(token: string, now: Date): SyncTokenVerdict {
  if (!DIGITS.test(token)) {
    return { plausible: false, reason: 'it is not all digits (epoch seconds)' }
  }
  if (token.length > MAX_SYNC_TOKEN_DIGITS) {
    return {
      plausible: false,
      reason:
        `it has ${token.length} digits: a Unix time has at most ${MAX_SYNC_TOKEN_DIGITS} ` +
        'until the year 5138'
    }
  }
  const value = BigInt(token)
  const latest = latestPlausible(now)
  if (value > latest) {
    return {
      plausible: false,
      reason:
        `it is ${describeTime(value)}, later than the runner's clock (${now.toISOString()}) plus ` +
        `${SYNC_TOKEN_SKEW_SECONDS / 3600} hours of allowed skew (latest acceptable: ${latest})`
    }
  }
  return { plausible: true, value }
}

/** The largest syncToken believable at `now`. */
export function latestPlausible(now: Date): bigint {
  return BigInt(Math.floor(now.getTime() / 1000) + SYNC_TOKEN_SKEW_SECONDS)
}

function describeTime(value: bigint): string {
  const ms = Number(value) * 1000
  // Date covers +-8.64e15 ms (about the year 275760); 11 digits stay well inside.
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15
    ? new Date(ms).toISOString().replace(/\.000Z$/, 'Z')
    : `${value} seconds after 1970`
}
