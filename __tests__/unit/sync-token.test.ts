// The plausibility of a syncToken (issue 15): a past publication time, judged by an injected clock.
import {
  judgeSyncToken,
  latestPlausible,
  MAX_SYNC_TOKEN_DIGITS,
  SYNC_TOKEN_SKEW_SECONDS
} from '../../src/sync-token.js'

const NOW = new Date('2026-08-14T10:00:00Z') // 1786701600
const nowSeconds = NOW.getTime() / 1000

describe('judgeSyncToken', () => {
  test.each([
    ['a real token, a day old', '1786615985'],
    ['now', String(nowSeconds)],
    ['exactly the allowed skew ahead', String(nowSeconds + SYNC_TOKEN_SKEW_SECONDS)],
    ['old history (2014), as replays and fixtures use', '1416435608'],
    ['a fixture-sized small value', '17850000'],
    ['zero', '0']
  ])('plausible: %s', (_name, token) => {
    expect(judgeSyncToken(token, NOW)).toEqual({ plausible: true, value: BigInt(token) })
  })

  test.each([
    [
      'one second beyond the skew',
      String(nowSeconds + SYNC_TOKEN_SKEW_SECONDS + 1),
      /later than the runner's clock \(2026-08-14T10:00:00.000Z\) plus 2 hours of allowed skew \(latest acceptable: 1786708800\)/
    ],
    ['the year 2286', '9999999999', /it is 2286-11-20T17:46:39Z, later than/],
    ['11 digits, far future', '99999999999', /it is 5138-11-16T09:46:39Z, later than/],
    ['12 digits', '100000000000', /it has 12 digits: a Unix time has at most 11/],
    ['the 20-digit forged tag of issue 15', '99999999999999999999', /it has 20 digits/],
    ['a thousand digits', '9'.repeat(1000), /it has 1000 digits/],
    ['empty', '', /not all digits/],
    ['signed', '-1', /not all digits/],
    ['spaces', ' 1786615985', /not all digits/],
    ['exponent', '1e9', /not all digits/],
    ['non-ASCII digits', '١٧٨٦٦١٥٩٨٥', /not all digits/]
  ])('implausible: %s', (_name, token, reason) => {
    const verdict = judgeSyncToken(token, NOW)
    expect(verdict.plausible).toBe(false)
    if (!verdict.plausible) expect(verdict.reason).toMatch(reason)
  })

  test('the clock is the one handed in, not the machine clock', () => {
    const token = '1786615985' // 2026-08-13T10:13:05Z
    expect(judgeSyncToken(token, new Date('2026-08-13T08:13:05Z')).plausible).toBe(true)
    expect(judgeSyncToken(token, new Date('2026-08-13T08:13:04Z')).plausible).toBe(false)
  })

  test('bounds', () => {
    expect(MAX_SYNC_TOKEN_DIGITS).toBe(11)
    expect(SYNC_TOKEN_SKEW_SECONDS).toBe(7200)
    expect(latestPlausible(new Date(1_000_999))).toBe(1000n + 7200n)
  })
})
