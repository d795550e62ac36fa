// The decision after a failed authorize or revoke: done, retry the rest once, or failed.
import type { PresentCidrs } from '../../src/settle.js'
import { partialFailure, settleAuthorize, settleRevoke } from '../../src/settle.js'

const present = (ipv4: string[], ipv6: string[] = []): PresentCidrs => ({
  ipv4: new Set(ipv4),
  ipv6: new Set(ipv6)
})
const batch = { ipv4: ['10.0.0.0/24', '10.0.1.0/24'], ipv6: ['2600:9000::/28'] }
const all = present(['10.0.0.0/24', '10.0.1.0/24', '192.0.2.0/24'], ['2600:9000::/28'])
const QUOTA = 'RulesPerSecurityGroupLimitExceeded'

describe('settleAuthorize', () => {
  test.each([
    'InvalidPermission.Duplicate',
    QUOTA,
    'InternalError',
    'UnauthorizedOperation',
    undefined
  ])('every rule present after %s: done, whatever the error', code => {
    expect(settleAuthorize(batch, all, code, true)).toEqual({
      done: batch,
      left: { ipv4: [], ipv6: [] },
      verdict: 'done'
    })
    // Also when no further send is allowed: nothing is left to send.
    expect(settleAuthorize(batch, all, code, false).verdict).toBe('done')
  })

  test('a quota error with none of the batch present is a genuine lack of room: failed, no retry', () => {
    expect(settleAuthorize(batch, present(['192.0.2.0/24']), QUOTA, true)).toEqual({
      done: { ipv4: [], ipv6: [] },
      left: batch,
      verdict: 'fail'
    })
  })

  test('a quota error with part present: the rest once more (the repeat may be what counted)', () => {
    const settled = settleAuthorize(batch, present(['10.0.1.0/24']), QUOTA, true)
    expect(settled).toEqual({
      done: { ipv4: ['10.0.1.0/24'], ipv6: [] },
      left: { ipv4: ['10.0.0.0/24'], ipv6: ['2600:9000::/28'] },
      verdict: 'retry'
    })
    // A second quota error on the rest alone is real.
    expect(settleAuthorize(settled.left, present(['10.0.1.0/24']), QUOTA, false).verdict).toBe(
      'fail'
    )
  })

  test('Duplicate with part present: the missing ones once more, then failed', () => {
    expect(
      settleAuthorize(batch, present(['10.0.0.0/24']), 'InvalidPermission.Duplicate', true)
    ).toMatchObject({ left: { ipv4: ['10.0.1.0/24'], ipv6: ['2600:9000::/28'] }, verdict: 'retry' })
    expect(
      settleAuthorize(batch, present(['10.0.0.0/24']), 'InvalidPermission.Duplicate', false).verdict
    ).toBe('fail')
  })

  test.each(['UnauthorizedOperation', 'InternalError', 'InvalidGroup.NotFound'])(
    '%s with part present: only the missing ones failed, no retry',
    code => {
      expect(settleAuthorize(batch, present([], ['2600:9000::/28']), code, true)).toEqual({
        done: { ipv4: [], ipv6: ['2600:9000::/28'] },
        left: { ipv4: batch.ipv4, ipv6: [] },
        verdict: 'fail'
      })
    }
  )

  test('presence is per family: an IPv4 rule does not stand in for an IPv6 one', () => {
    const settled = settleAuthorize(
      { ipv4: [], ipv6: ['2600:9000::/28'] },
      { ipv4: new Set(['2600:9000::/28']), ipv6: new Set() },
      QUOTA,
      true
    )
    expect(settled.verdict).toBe('fail')
  })
})

describe('settleRevoke', () => {
  const rules = {
    ipv4: [
      { cidr: '10.0.0.0/24', raw: '10.0.0.7/24' },
      { cidr: '10.0.1.0/24', raw: '10.0.1.0/24' }
    ],
    ipv6: [{ cidr: '2600:9000::/28', raw: '2600:9000::/28' }]
  }

  test.each(['InvalidPermission.NotFound', 'InternalError', 'RequestLimitExceeded', undefined])(
    'every rule gone after %s: done',
    code => {
      expect(settleRevoke(rules, present(['192.0.2.0/24']), code, true)).toEqual({
        done: rules,
        left: { ipv4: [], ipv6: [] },
        verdict: 'done'
      })
    }
  )

  test('NotFound with some still present: those once more, then failed', () => {
    const still = present(['10.0.1.0/24'])
    expect(settleRevoke(rules, still, 'InvalidPermission.NotFound', true)).toEqual({
      done: { ipv4: [rules.ipv4[0]], ipv6: rules.ipv6 },
      left: { ipv4: [rules.ipv4[1]], ipv6: [] },
      verdict: 'retry'
    })
    expect(settleRevoke(rules, still, 'InvalidPermission.NotFound', false).verdict).toBe('fail')
  })

  test('any other error with rules still present: failed, no retry', () => {
    const settled = settleRevoke(rules, present(['10.0.0.0/24']), 'UnauthorizedOperation', true)
    expect(settled.verdict).toBe('fail')
    expect(settled.left).toEqual({ ipv4: [rules.ipv4[0]], ipv6: [] })
  })
})

test('partialFailure says how much of the batch is missing, and only when part got done', () => {
  expect(partialFailure('added', 3, 3, 'AccessDenied')).toBe('AccessDenied')
  expect(partialFailure('added', 1, 3, 'AccessDenied')).toBe('1 of 3 rules not added: AccessDenied')
})
