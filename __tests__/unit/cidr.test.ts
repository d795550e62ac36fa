import {
  canonicalCidr,
  cidrContains,
  CidrError,
  compareCidrs,
  formatCidr,
  mergeCidrs,
  parseCidr,
  sortUniqueCidrs,
  tryParseCidr
} from '../../src/ranges/cidr.js'
import { seededRandom } from '../../dev/random.js'

describe('parse and canonical text', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8', 'ipv4', 8],
    ['0.0.0.0/0', '0.0.0.0/0', 'ipv4', 0],
    ['255.255.255.255/32', '255.255.255.255/32', 'ipv4', 32],
    ['205.251.249.0/24', '205.251.249.0/24', 'ipv4', 24],
    ['2001:DB8::/32', '2001:db8::/32', 'ipv6', 32],
    ['2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32', 'ipv6', 32],
    ['2600:9000:5200::/40', '2600:9000:5200::/40', 'ipv6', 40],
    ['2600:9000:0ddd:0::/48', '2600:9000:ddd::/48', 'ipv6', 48],
    // longest zero run wins, not the first one
    ['2001:db8:0:0:1:0:0:0/80', '2001:db8:0:0:1::/80', 'ipv6', 80],
    // on a tie the first run is compressed
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128', 'ipv6', 128],
    // a single zero group is never compressed
    ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128', 'ipv6', 128],
    ['::/0', '::/0', 'ipv6', 0],
    ['::1/128', '::1/128', 'ipv6', 128],
    ['1::/16', '1::/16', 'ipv6', 16],
    ['0:0:0:0:0:0:0:1/128', '::1/128', 'ipv6', 128],
    ['1:0:0:0:0:0:0:0/16', '1::/16', 'ipv6', 16],
    ['::ffff:1.2.3.4/128', '::ffff:102:304/128', 'ipv6', 128],
    ['1:2:3:4:5:6:7:8/128', '1:2:3:4:5:6:7:8/128', 'ipv6', 128]
  ])('%s -> %s', (input, canonical, family, prefixLength) => {
    const cidr = parseCidr(input)
    expect(cidr.family).toBe(family)
    expect(cidr.prefixLength).toBe(prefixLength)
    expect(formatCidr(cidr)).toBe(canonical)
    expect(canonicalCidr(input)).toBe(canonical)
    expect(canonicalCidr(canonical)).toBe(canonical)
  })

  it('computes the network numerically', () => {
    expect(parseCidr('10.1.2.0/24').network).toBe(0x0a010200n)
    expect(parseCidr('2001:db8::/32').network).toBe(0x20010db8n << 96n)
  })

  it.each([
    ['10.0.0.1/8', /host bits are set \(the network of \/8 is 10\.0\.0\.0\/8\)/],
    ['2001:db8::1/64', /host bits are set \(the network of \/64 is 2001:db8::\/64\)/],
    ['256.0.0.0/8', /octet 1 \(256\) is greater than 255/],
    ['10.0.0/8', /4 dot-separated octets, found 3/],
    ['10.0.0.0.0/8', /4 dot-separated octets, found 5/],
    ['10..0.0/8', /octet 2 is empty/],
    ['10.00.0.0/16', /octet 2 "00" is not a decimal number without leading zeros/],
    ['10.0.0.x/32', /octet 4 "x" is not a decimal number/],
    ['10.0.0.0', /missing "\/prefix-length"/],
    ['10.0.0.0/', /missing prefix length after "\/"/],
    ['10.0.0.0/33', /prefix length \/33 is greater than \/32/],
    ['10.0.0.0/08', /prefix length "08" is not a decimal number/],
    ['10.0.0.0/-1', /prefix length "-1" is not a decimal number/],
    ['10.0.0.0/8/8', /prefix length "8\/8" is not/],
    ['2001:db8::/129', /prefix length \/129 is greater than \/128/],
    ['2001:db8::1::/64', /"::" may appear only once/],
    ['2001:db8:::/48', /empty group/],
    [':1::/16', /empty group/],
    ['2001:db8::g/64', /group "g" is not 1 to 4 hexadecimal digits/],
    ['12345::/16', /group "12345" is not 1 to 4 hexadecimal digits/],
    ['1:2:3:4:5:6:7/64', /8 groups \(or "::"\), found 7/],
    ['1:2:3:4:5:6:7:8:9/64', /8 groups \(or "::"\), found 9/],
    ['1:2:3:4::5:6:7:8/64', /"::" must stand for at least one group/],
    ['fe80::%eth0/64', /zone identifiers/],
    ['::ffff:1.2.3/128', /embedded IPv4/],
    [' 10.0.0.0/8', /whitespace/],
    ['', /empty string/]
  ])('%j is invalid: %s', (input, reason) => {
    const result = tryParseCidr(input)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toMatch(reason)
    expect(() => parseCidr(input)).toThrow(CidrError)
    expect(() => canonicalCidr(input)).toThrow(reason)
  })

  it('names the entry in the error message', () => {
    expect(() => parseCidr('10.0.0.1/8', 'prefixes[3].ip_prefix')).toThrow(
      'prefixes[3].ip_prefix "10.0.0.1/8" is invalid: host bits are set'
    )
  })
})

describe('order, containment, dedupe', () => {
  it('sorts numerically (not as text): IPv4 first, then address, then prefix length', () => {
    const list = [
      '2001:db8::/32',
      '100.0.0.0/8',
      '10.0.0.0/16',
      '9.0.0.0/8',
      '10.0.0.0/8',
      '::/0',
      '10.0.0.0/24',
      '10.0.0.128/25'
    ]
    expect([...list].sort(compareCidrs)).toEqual([
      '9.0.0.0/8',
      '10.0.0.0/8',
      '10.0.0.0/16',
      '10.0.0.0/24',
      '10.0.0.128/25',
      '100.0.0.0/8',
      '::/0',
      '2001:db8::/32'
    ])
  })

  it.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.1.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/16', '10.1.0.0/16', false],
    ['0.0.0.0/0', '255.255.255.255/32', true],
    ['2600:9000::/28', '2600:9000:5200::/40', true],
    ['2600:9000:5200::/40', '2600:9000:5300::/40', false],
    ['::/0', '0.0.0.0/0', false],
    ['0.0.0.0/0', '::/0', false]
  ])('%s contains %s: %s', (outer, inner, expected) => {
    expect(cidrContains(outer, inner)).toBe(expected)
  })

  it('canonicalises, sorts and deduplicates', () => {
    expect(
      sortUniqueCidrs(['2001:DB8::/32', '10.0.0.0/8', '2001:db8:0::/32', '9.0.0.0/8', '10.0.0.0/8'])
    ).toEqual(['9.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'])
  })

  it('rejects an invalid entry while sorting', () => {
    expect(() => sortUniqueCidrs(['10.0.0.0/8', '10.0.0.1/24'])).toThrow(/host bits/)
  })
})

describe('mergeCidrs', () => {
  it.each([
    ['siblings', ['10.0.0.0/25', '10.0.0.128/25'], ['10.0.0.0/24']],
    ['cascade', ['10.0.0.0/24', '10.0.1.0/25', '10.0.1.128/25'], ['10.0.0.0/23']],
    ['cascade from the right', ['10.0.0.0/25', '10.0.0.128/26', '10.0.0.192/26'], ['10.0.0.0/24']],
    ['contained dropped', ['10.0.0.0/16', '10.0.3.0/24', '10.0.255.255/32'], ['10.0.0.0/16']],
    ['contained before container', ['10.0.3.0/24', '10.0.0.0/16'], ['10.0.0.0/16']],
    ['adjacent but not siblings', ['10.0.1.0/24', '10.0.2.0/24'], ['10.0.1.0/24', '10.0.2.0/24']],
    ['different sizes not merged', ['10.0.0.0/24', '10.0.1.0/25'], ['10.0.0.0/24', '10.0.1.0/25']],
    ['duplicates', ['10.0.0.0/24', '10.0.0.0/24'], ['10.0.0.0/24']],
    ['halves of everything', ['128.0.0.0/1', '0.0.0.0/1'], ['0.0.0.0/0']],
    ['ipv6 siblings', ['2600:9000:5300::/41', '2600:9000:5380::/41'], ['2600:9000:5300::/40']],
    ['families kept apart', ['0.0.0.0/1', '::/1', '128.0.0.0/1'], ['0.0.0.0/0', '::/1']],
    ['empty', [], []],
    [
      'non-canonical input',
      ['2001:DB8:0::/33', '2001:db8:8000::/33', '10.0.0.0/8'],
      ['10.0.0.0/8', '2001:db8::/32']
    ]
  ])('%s', (_name, input, expected) => {
    expect(mergeCidrs(input)).toEqual(expected)
  })

  // Property check: on random sets, merging keeps exactly the same addresses, and the result is
  // minimal (no CIDR inside another, no two siblings left) and a fixed point.
  const coverage = (list: string[], base: bigint, size: number): Uint8Array => {
    const covered = new Uint8Array(size)
    for (const text of list) {
      const cidr = parseCidr(text)
      const bits = cidr.family === 'ipv4' ? 32 : 128
      const count = 2 ** (bits - cidr.prefixLength)
      const start = Number(cidr.network - base)
      covered.fill(1, start, start + count)
    }
    return covered
  }

  const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
    a.length === b.length && a.every((v, i) => v === b[i])

  it.each([
    ['ipv4', 0x0a000000n, 20, 32], // inside 10.0.0.0/20
    ['ipv6', 0x20010db8n << 96n, 116, 128] // inside 2001:db8::/116
  ] as const)('never widens or narrows (%s, seeded random sets)', (family, base, top, bits) => {
    const random = seededRandom(family === 'ipv4' ? 42 : 43)
    const size = 2 ** (bits - top)
    for (let round = 0; round < 150; round++) {
      const list: string[] = []
      const n = 1 + Math.floor(random() * 40)
      for (let i = 0; i < n; i++) {
        const length = top + Math.floor(random() * (bits - top + 1))
        const blocks = 2 ** (length - top)
        const offset = BigInt(Math.floor(random() * blocks)) * BigInt(2 ** (bits - length))
        list.push(formatCidr({ family, network: base + offset, prefixLength: length }))
      }
      // bias towards siblings: add the sibling of some entries
      for (const entry of list.slice(0, Math.floor(random() * n))) {
        const cidr = parseCidr(entry)
        if (cidr.prefixLength === top) continue
        const half = 1n << BigInt(bits - cidr.prefixLength)
        list.push(formatCidr({ ...cidr, network: cidr.network ^ half }))
      }
      const merged = mergeCidrs(list)
      const problems: string[] = []
      if (!equalBytes(coverage(merged, base, size), coverage(list, base, size))) {
        problems.push('coverage differs')
      }
      if (mergeCidrs(merged).join() !== merged.join()) problems.push('not a fixed point')
      for (let i = 0; i < merged.length; i++) {
        for (let j = 0; j < merged.length; j++) {
          if (i !== j && cidrContains(merged[i] as string, merged[j] as string)) {
            problems.push(`${merged[i]} contains ${merged[j]}`)
          }
        }
        if (i > 0) {
          const a = parseCidr(merged[i - 1] as string)
          const b = parseCidr(merged[i] as string)
          const siblings =
            a.prefixLength === b.prefixLength &&
            a.prefixLength > 0 &&
            (a.network ^ b.network) === 1n << BigInt(bits - a.prefixLength)
          if (siblings) problems.push(`siblings left: ${merged[i - 1]} ${merged[i]}`)
          if (compareCidrs(a, b) >= 0) problems.push(`not sorted: ${merged[i - 1]} ${merged[i]}`)
        }
      }
      expect({ list, problems }).toEqual({ list, problems: [] })
    }
  })
})
