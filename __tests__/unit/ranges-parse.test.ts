import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { parseIpRanges, RangesError, type RangesErrorCode } from '../../src/ranges/parse.js'

const entry4 = (
  ip_prefix: unknown,
  extra: Record<string, unknown> = {}
): Record<string, unknown> => ({
  ip_prefix,
  region: 'GLOBAL',
  service: 'CLOUDFRONT',
  network_border_group: 'GLOBAL',
  ...extra
})
const entry6 = (ipv6_prefix: unknown): Record<string, unknown> => ({
  ipv6_prefix,
  region: 'GLOBAL',
  service: 'CLOUDFRONT',
  network_border_group: 'GLOBAL'
})
const doc = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    syncToken: '1785186425',
    createDate: '2026-07-27-21-07-05',
    prefixes: [entry4('240.0.0.0/24'), entry4('240.0.1.0/24')],
    ipv6_prefixes: [entry6('3fff::/36')],
    ...over
  })

describe('parseIpRanges', () => {
  it('returns the validated document, ignoring unknown fields', () => {
    const parsed = parseIpRanges(
      doc({ extra: true, prefixes: [entry4('240.0.0.0/24', { future_field: 1 })] })
    )
    expect(parsed).toEqual({
      syncToken: '1785186425',
      createDate: '2026-07-27-21-07-05',
      prefixes: [
        {
          ip_prefix: '240.0.0.0/24',
          region: 'GLOBAL',
          service: 'CLOUDFRONT',
          network_border_group: 'GLOBAL'
        }
      ],
      ipv6_prefixes: [
        {
          ipv6_prefix: '3fff::/36',
          region: 'GLOBAL',
          service: 'CLOUDFRONT',
          network_border_group: 'GLOBAL'
        }
      ]
    })
  })

  it('accepts bytes and a full-size generated document', () => {
    const fixture = generateIpRanges({ seed: 7 })
    const bytes = Buffer.from(serializeIpRanges(fixture))
    expect(bytes.byteLength).toBeGreaterThan(2_000_000)
    const parsed = parseIpRanges(bytes)
    expect(parsed.prefixes).toHaveLength(fixture.prefixes.length)
    expect(parsed.ipv6_prefixes).toHaveLength(fixture.ipv6_prefixes.length)
    expect(serializeIpRanges(parsed)).toBe(bytes.toString('utf8'))
  })

  it('accepts empty lists (selection decides what is too little)', () => {
    expect(parseIpRanges(doc({ prefixes: [], ipv6_prefixes: [] })).prefixes).toEqual([])
  })

  const full = serializeIpRanges(generateIpRanges({ seed: 3, otherServicesScale: 0 }))

  it.each<[string, string | Uint8Array, RangesErrorCode, RegExp]>([
    [
      'not JSON',
      '<html>Access Denied</html>',
      'invalid-json',
      /is not valid JSON: .*starts with "<html>Access Denied/
    ],
    ['empty', '', 'truncated', /is empty/],
    ['whitespace only', ' \n', 'truncated', /is empty/],
    [
      'truncated mid-entry',
      full.slice(0, 5000),
      'truncated',
      /truncated: the JSON ends after 5000 characters/
    ],
    ['truncated mid-string', '{"syncToken": "17851', 'truncated', /truncated/],
    ['truncated before the last brace', full.slice(0, -1), 'truncated', /truncated/],
    ['bad UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'invalid-json', /not valid UTF-8/],
    ['an array', '[]', 'schema', /top level must be an object, got an array/],
    [
      'a string',
      '"ip-ranges"',
      'schema',
      /top level must be an object, got the string "ip-ranges"/
    ],
    ['null', 'null', 'schema', /top level must be an object, got null/],
    ['syncToken missing', doc({ syncToken: undefined }), 'schema', /"syncToken" is missing/],
    [
      'syncToken a number',
      doc({ syncToken: 1785186425 }),
      'schema',
      /"syncToken" must be a string, got number 1785186425/
    ],
    [
      'syncToken not digits',
      doc({ syncToken: '1785x' }),
      'schema',
      /"syncToken" "1785x" must be all digits/
    ],
    ['syncToken negative', doc({ syncToken: '-1' }), 'schema', /must be all digits/],
    ['createDate missing', doc({ createDate: undefined }), 'schema', /"createDate" is missing/],
    [
      'createDate ISO',
      doc({ createDate: '2026-07-27T21:07:05Z' }),
      'schema',
      /"createDate" "2026-07-27T21:07:05Z" is not a date of the form YYYY-MM-DD-hh-mm-ss/
    ],
    [
      'createDate impossible',
      doc({ createDate: '2026-02-30-21-07-05' }),
      'schema',
      /"createDate" "2026-02-30-21-07-05" is not a date/
    ],
    ['createDate hour 24', doc({ createDate: '2026-07-27-24-00-00' }), 'schema', /is not a date/],
    ['prefixes missing', doc({ prefixes: undefined }), 'schema', /"prefixes" is missing/],
    [
      'prefixes an object',
      doc({ prefixes: {} }),
      'schema',
      /"prefixes" must be an array, got an object/
    ],
    [
      'ipv6_prefixes missing',
      doc({ ipv6_prefixes: undefined }),
      'schema',
      /"ipv6_prefixes" is missing/
    ],
    [
      'entry not an object',
      doc({ prefixes: [entry4('240.0.0.0/24'), 'x'] }),
      'schema',
      /prefixes\[1\] must be an object, got the string "x"/
    ],
    [
      'ip_prefix missing',
      doc({ prefixes: [entry4(undefined)] }),
      'schema',
      /prefixes\[0\]\.ip_prefix is missing/
    ],
    [
      'region ill-typed',
      doc({ prefixes: [entry4('240.0.0.0/24', { region: 3 })] }),
      'schema',
      /prefixes\[0\]\.region must be a string, got number 3/
    ],
    [
      'service empty',
      doc({ prefixes: [entry4('240.0.0.0/24', { service: '' })] }),
      'schema',
      /prefixes\[0\]\.service is empty/
    ],
    [
      'border group null',
      doc({ prefixes: [entry4('240.0.0.0/24', { network_border_group: null })] }),
      'schema',
      /prefixes\[0\]\.network_border_group must be a string, got null/
    ],
    [
      'host bits set',
      doc({ prefixes: [entry4('240.0.0.0/24'), entry4('240.0.1.1/24')] }),
      'schema',
      /prefixes\[1\]\.ip_prefix "240\.0\.1\.1\/24" is invalid: host bits are set/
    ],
    [
      'bad octet',
      doc({ prefixes: [entry4('240.0.300.0/24')] }),
      'schema',
      /prefixes\[0\]\.ip_prefix "240\.0\.300\.0\/24" is invalid: bad IPv4 address: octet 3 \(300\)/
    ],
    [
      'no prefix length',
      doc({ prefixes: [entry4('240.0.0.0')] }),
      'schema',
      /prefixes\[0\]\.ip_prefix "240\.0\.0\.0" is invalid: missing "\/prefix-length"/
    ],
    [
      'bad IPv6',
      doc({ ipv6_prefixes: [entry6('3fff::/36'), entry6('3fff:::/36')] }),
      'schema',
      /ipv6_prefixes\[1\]\.ipv6_prefix "3fff:::\/36" is invalid: bad IPv6 address/
    ],
    [
      'IPv6 in prefixes',
      doc({ prefixes: [entry4('3fff::/36')] }),
      'schema',
      /prefixes\[0\]\.ip_prefix "3fff::\/36" is an IPv6 prefix, which belongs in "ipv6_prefixes"/
    ],
    [
      'IPv4 in ipv6_prefixes',
      doc({ ipv6_prefixes: [entry6('240.0.0.0/24')] }),
      'schema',
      /ipv6_prefixes\[0\]\.ipv6_prefix "240\.0\.0\.0\/24" is an IPv4 prefix, which belongs in "prefixes"/
    ]
  ])('refuses %s', (_name, body, code, message) => {
    let error: unknown
    try {
      parseIpRanges(body)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(RangesError)
    const rangesError = error as RangesError
    expect(rangesError.code).toBe(code)
    expect(rangesError.message).toMatch(message)
    expect(rangesError.hint.length).toBeGreaterThan(20)
  })

  it('gives a hint that says what to do', () => {
    expect(() => parseIpRanges(full.slice(0, 100))).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/Retry/) })
    )
    expect(() => parseIpRanges('[]')).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/ip-ranges-url/) })
    )
  })
})

describe('parseIpRanges entry bound (issue 15)', () => {
  it('refuses more than 100,000 entries before validating any', () => {
    const many = Array.from({ length: 100_001 }, () => entry4('not even a CIDR')) // + 1 IPv6 entry
    const started = performance.now()
    let error: unknown
    try {
      parseIpRanges(doc({ prefixes: many }))
    } catch (caught) {
      error = caught
    }
    expect(performance.now() - started).toBeLessThan(3000)
    expect(error).toBeInstanceOf(RangesError)
    expect((error as RangesError).code).toBe('too-many-prefixes')
    expect((error as RangesError).message).toBe(
      'ip-ranges.json lists 100002 prefixes, more than 100000 (the genuine file lists about ' +
        '17,000): refusing to read it'
    )
  })
})
