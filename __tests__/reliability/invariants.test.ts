// The invariant checkers themselves: each must catch what it guards against (a checker that never
// fails proves nothing). Fed by a real EC2 emulator's state, with calls made up.
import type { Ec2Call } from '../../dev/emulators/ec2.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import type { PoolSpec } from './invariants.js'
import { AddressSet, InvariantMonitor, checkConverged } from './invariants.js'

const call = (action: string): Ec2Call => ({
  seq: 1,
  action,
  region: 'us-east-1',
  account: '123456789012',
  mutating: true,
  ok: true,
  params: {}
})

const ours = (cidr: string, port = 443) => ({
  protocol: 'tcp',
  fromPort: port,
  toPort: port,
  cidr,
  description: 'cloudfront-sg-sync'
})

function setup() {
  const ec2 = new Ec2Emulator()
  const where = { region: 'us-east-1', vpcId: 'vpc-1' }
  const g1 = ec2.createGroup({
    ...where,
    name: 'g1',
    tags: { Name: 'cloudfront_g' },
    ingress: [
      ours('198.18.0.0/24'),
      ours('198.18.1.0/24'),
      { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.0.0.0/8', description: 'ssh' }
    ]
  })
  const g2 = ec2.createGroup({ ...where, name: 'g2', tags: { Name: 'cloudfront_g' } })
  const other = ec2.createGroup({ ...where, name: 'other', tags: {} })
  const pool: PoolSpec = {
    name: 'pool',
    groupIds: [g1, g2],
    port: 443,
    wanted: ['198.18.0.0/23', '203.0.113.0/24'],
    allowed: ['198.18.0.0/23', '198.18.0.0/24', '198.18.1.0/24', '203.0.113.0/24']
  }
  const monitor = new InvariantMonitor(ec2, { pools: [pool] })
  ec2.onStateChange = monitor.listener
  // The emulator calls the listener without a call for hand edits; tests pose as the action.
  const asAction = (action: string, edit: () => void) => {
    ec2.onStateChange = undefined
    edit()
    ec2.onStateChange = monitor.listener
    monitor.listener(ec2.listGroups(), call(action))
  }
  return { ec2, g1, g2, other, pool, monitor, asAction }
}

test('address sets: containment, unions of adjacent ranges, both families', () => {
  const set = new AddressSet([
    '198.18.0.0/24',
    '198.18.1.0/24',
    '2001:db8::/33',
    '2001:db8:8000::/33'
  ])
  expect(set.covers('198.18.0.0/23')).toBe(true)
  expect(set.covers('198.18.0.0/22')).toBe(false)
  expect(set.covers('198.18.1.128/25')).toBe(true)
  expect(set.covers('2001:db8::/32')).toBe(true)
  expect(set.covers('2001:db9::/32')).toBe(false)
  expect(
    new AddressSet(['10.0.0.0/8']).equals(new AddressSet(['10.0.0.0/9', '10.128.0.0/9']))
  ).toBe(true)
})

test('no gap: adding the merged range before revoking its halves passes, the reverse order fails', () => {
  const good = setup()
  good.asAction('AuthorizeSecurityGroupIngress', () =>
    good.ec2.addIngress(good.g2, [ours('198.18.0.0/23')])
  )
  good.asAction('RevokeSecurityGroupIngress', () =>
    good.ec2.removeIngress(good.g1, r => r.cidrIpv4?.startsWith('198.18.') === true)
  )
  expect(good.monitor.violations).toEqual([])

  const bad = setup()
  bad.asAction('RevokeSecurityGroupIngress', () =>
    bad.ec2.removeIngress(bad.g1, r => r.cidrIpv4 === '198.18.1.0/24')
  )
  expect(bad.monitor.violations).toEqual([
    'gap: 198.18.0.0/23 absent from pool after call #1 RevokeSecurityGroupIngress'
  ])
})

test('no gap: a hand edit may remove a range; the action re-adding it protects it again', () => {
  const s = setup()
  s.ec2.removeIngress(s.g1, r => r.cidrIpv4 === '198.18.1.0/24')
  expect(s.monitor.violations).toEqual([])
  s.asAction('AuthorizeSecurityGroupIngress', () => s.ec2.addIngress(s.g2, [ours('198.18.1.0/24')]))
  s.asAction('RevokeSecurityGroupIngress', () =>
    s.ec2.removeIngress(s.g2, r => r.cidrIpv4 === '198.18.1.0/24')
  )
  expect(s.monitor.violations).toHaveLength(1)
})

test('no widening: an unpublished range, another port or another description is caught', () => {
  const s = setup()
  s.asAction('AuthorizeSecurityGroupIngress', () => s.ec2.addIngress(s.g2, [ours('0.0.0.0/0')]))
  s.asAction('AuthorizeSecurityGroupIngress', () =>
    s.ec2.addIngress(s.g2, [ours('203.0.113.0/24', 80)])
  )
  s.asAction('AuthorizeSecurityGroupIngress', () =>
    s.ec2.addIngress(s.g2, [{ ...ours('203.0.113.0/24'), description: 'mine' }])
  )
  expect(s.monitor.violations).toEqual([
    expect.stringMatching(/^widening: .* got 0\.0\.0\.0\/0, not inside the published ranges/),
    expect.stringMatching(/^widening: .* ingress tcp\/80-80 203\.0\.113\.0\/24/),
    expect.stringMatching(/^widening: .* "mine"/)
  ])
})

test('nothing foreign touched: a foreign rule and an unmanaged group are caught', () => {
  const s = setup()
  s.asAction('RevokeSecurityGroupIngress', () => s.ec2.removeIngress(s.g1, r => r.fromPort === 22))
  s.asAction('AuthorizeSecurityGroupIngress', () =>
    s.ec2.addIngress(s.other, [ours('198.18.0.0/23')])
  )
  expect(s.monitor.violations).toEqual([
    expect.stringMatching(/^foreign: .* lost ingress tcp\/22-22 10\.0\.0\.0\/8 "ssh"/),
    expect.stringMatching(/^foreign: .* \(not managed\) got/)
  ])
})

test('convergence: missing, extra and duplicated ranges are reported', () => {
  const s = setup()
  expect(checkConverged(s.ec2.listGroups(), [s.pool], { exact: true })).toEqual([
    'pool: 203.0.113.0/24 is missing',
    expect.stringContaining('pool: holds 2 own rules, 2 wanted')
  ])
  s.ec2.addIngress(s.g2, [ours('198.18.0.0/24'), ours('203.0.113.0/24')])
  expect(checkConverged(s.ec2.listGroups(), [s.pool])).toEqual(['pool: 198.18.0.0/24 held twice'])
  s.ec2.addIngress(s.g2, [ours('192.0.2.0/24')])
  expect(checkConverged(s.ec2.listGroups(), [s.pool])).toContain('pool: 192.0.2.0/24 is not wanted')
})
