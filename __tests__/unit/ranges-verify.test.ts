import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { parseIpRanges, RangesError } from '../../src/ranges/parse.js'
import {
  checkNotStale,
  checkSyncTokenPlausible,
  md5Hex,
  verifyDownload
} from '../../src/ranges/verify.js'
import type { Notification } from '../../src/types.js'
import { refusal } from '../helpers/ranges.js'

// Two consecutive publications, serialised exactly as AWS serves them.
const v1 = generateIpRanges({ seed: 21, syncToken: '1785186425', otherServicesScale: 0.05 })
const v2 = deriveIpRanges(v1, { seed: 22, add: 1, syncToken: '1785200825' }).doc
const bytes1 = Buffer.from(serializeIpRanges(v1))
const bytes2 = Buffer.from(serializeIpRanges(v2))
const md5v1 = md5Hex(bytes1)
const md5v2 = md5Hex(bytes2)
const doc1 = parseIpRanges(bytes1)
const doc2 = parseIpRanges(bytes2)

describe('md5Hex', () => {
  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['The quick brown fox jumps over the lazy dog', '9e107d9d372bb6826bd81d3542a419d6']
  ])('%j -> %s', (input, md5) => {
    expect(md5Hex(input)).toBe(md5)
    expect(md5Hex(Buffer.from(input))).toBe(md5)
  })

  it('changes with any byte of the serialised document', () => {
    expect(md5v1).not.toBe(md5v2)
    expect(md5Hex(Buffer.from(serializeIpRanges(parseIpRanges(bytes1))))).toBe(md5v1)
  })
})

describe('verifyDownload', () => {
  it.each<[string, Buffer, typeof doc1, Notification, string | undefined]>([
    ['no notification', bytes1, doc1, {}, undefined],
    ['no md5, only a syncToken', bytes1, doc1, { syncToken: '1' }, undefined],
    ['empty md5', bytes1, doc1, { md5: ' ' }, undefined],
    ['matching md5', bytes1, doc1, { md5: md5v1, syncToken: doc1.syncToken }, undefined],
    ['matching md5, upper case', bytes1, doc1, { md5: md5v1.toUpperCase() }, undefined],
    [
      'newer file than notified',
      bytes2,
      doc2,
      { md5: md5v1, syncToken: doc1.syncToken },
      `ip-ranges.json has been republished since the notification: the downloaded file has syncToken ` +
        `1785200825 (created ${doc2.createDate}, MD5 ${md5v2}), newer than the notified 1785186425 ` +
        `(MD5 ${md5v1}); syncing the newer file`
    ]
  ])('passes: %s', (_name, bytes, doc, notification, notice) => {
    const result = verifyDownload(bytes, doc, notification)
    expect(result.md5).toBe(md5Hex(bytes))
    expect(result.notice).toBe(notice)
  })

  it('refuses other bytes under the same syncToken', () => {
    const error = refusal(() =>
      verifyDownload(bytes1, doc1, { md5: md5v2, syncToken: doc1.syncToken })
    )
    expect(error.code).toBe('md5-mismatch')
    expect(error.message).toBe(
      `MD5 of the downloaded ip-ranges.json is ${md5v1} but the notification announced ${md5v2} ` +
        '(file syncToken 1785186425, notified syncToken 1785186425): the bytes are not the ' +
        'publication that was announced'
    )
    expect(error.hint).toMatch(/altered in transit/)
  })

  it('refuses an older file with another MD5', () => {
    const error = refusal(() =>
      verifyDownload(bytes1, doc1, { md5: md5v2, syncToken: doc2.syncToken })
    )
    expect(error.code).toBe('md5-mismatch')
    expect(error.message).toMatch(`is ${md5v1} but the notification announced ${md5v2}`)
    expect(error.message).toMatch('file syncToken 1785186425, notified syncToken 1785200825')
    expect(error.hint).toMatch(/Retry later/)
  })

  it('refuses a mismatch when the notification gave no syncToken', () => {
    const error = refusal(() => verifyDownload(bytes2, doc2, { md5: md5v1 }))
    expect(error.code).toBe('md5-mismatch')
    expect(error.message).toMatch('file syncToken 1785200825; the notification gave no syncToken')
  })

  it.each([
    [{ md5: 'abc' }, /md5 "abc" is not 32 hexadecimal digits/],
    [{ md5: 'z'.repeat(32) }, /is not 32 hexadecimal digits/],
    [{ md5: md5v1, syncToken: 'soon' }, /syncToken "soon" is not all digits/]
  ])('refuses a malformed notification %j', (notification, message) => {
    const error = refusal(() => verifyDownload(bytes2, doc2, notification))
    expect(error.code).toBe('notification')
    expect(error.message).toMatch(message)
  })
})

describe('checkNotStale', () => {
  it('refuses a file older than the notification', () => {
    const error = refusal(() => checkNotStale(doc1, { syncToken: doc2.syncToken }))
    expect(error.code).toBe('stale')
    expect(error.message).toBe(
      `The downloaded ip-ranges.json is older than the notification: its syncToken is 1785186425 ` +
        `(created ${doc1.createDate}) but the notification announced 1785200825; the server or a ` +
        'CDN cache served an outdated copy'
    )
    expect(error.hint).toMatch(/Retry in a few minutes/)
  })

  it('compares syncTokens as numbers, not text', () => {
    const doc = { ...doc1, syncToken: '10000000000' }
    expect(() => checkNotStale(doc, { syncToken: '9999999999' })).not.toThrow()
    expect(() =>
      checkNotStale({ ...doc1, syncToken: '9999999999' }, { syncToken: '10000000000' })
    ).toThrow(RangesError)
  })

  it.each([{}, { syncToken: '' }, { syncToken: '1785186425' }, { syncToken: '1' }])(
    'accepts %j',
    notification => {
      expect(() => checkNotStale(doc1, notification)).not.toThrow()
    }
  )
})

describe('checkSyncTokenPlausible (issue 15)', () => {
  const now = new Date('2026-08-14T10:00:00Z')
  const withToken = (syncToken: string) => ({ ...doc1, syncToken })

  it('accepts a past publication, and one up to two hours ahead (clock skew)', () => {
    expect(() => checkSyncTokenPlausible(doc1, now)).not.toThrow()
    expect(() => checkSyncTokenPlausible(withToken('1786708800'), now)).not.toThrow()
  })

  it.each([
    ['20 digits', '99999999999999999999', /syncToken 99999999999999999999 .*it has 20 digits/],
    ['a future time', '1786708801', /syncToken 1786708801 .*later than the runner's clock/],
    ['a thousand digits, cut in the message', '9'.repeat(1000), /syncToken 9{24}\.\.\. /]
  ])('refuses %s with a hint', (_name, token, message) => {
    const error = refusal(() => checkSyncTokenPlausible(withToken(token), now))
    expect(error).toBeInstanceOf(RangesError)
    expect(error.code).toBe('implausible-sync-token')
    expect(error.message).toMatch(message)
    expect(error.message).toContain('cannot be an AWS publication time')
    expect(error.hint).toMatch(/^Nothing was changed\. .*ip-ranges-url.*clock/)
  })
})
