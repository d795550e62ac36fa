// What one inbound rule source means for an origin: CloudFront, private, or the public internet.
// Pure. Used by the exposure audit to tell a rule that defeats the allow-list from one that is
// there for health checks, VPN access or internal callers.
import type { IpPermission } from '@aws-sdk/client-ec2'
import { cidrContains, tryParseCidr } from '../ranges/cidr.js'
import type { IpFamily } from '../types.js'

export type SourceClass = 'cloudfront' | 'private' | 'public'

// Address blocks that are not reachable from the internet: RFC 1918 private networks, RFC 6598
// shared address space (carrier-grade NAT, 100.64.0.0/10), RFC 3927 IPv4 link-local, loopback,
// RFC 4193 unique local IPv6 (fc00::/7) and IPv6 link-local (fe80::/10); the IANA special-purpose
// registries (RFC 6890) list them as not globally reachable.
const NON_PUBLIC: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '127.0.0.0/8',
  'fc00::/7',
  'fe80::/10',
  '::1/128'
]

/**
 * `cloudFront` must be the exact union of the published ranges (mergeCidrs): a CIDR inside that
 * union then lies inside one of its blocks.
 */
export function classifyCidr(
  cidr: string,
  cloudFront: Record<IpFamily, readonly string[]>
): SourceClass | undefined {
  const parsed = tryParseCidr(cidr)
  if (!parsed.ok) return undefined
  const source = parsed.cidr
  if (NON_PUBLIC.some(block => sameFamily(block, source.family) && cidrContains(block, source))) {
    return 'private'
  }
  if (cloudFront[source.family].some(outer => cidrContains(outer, source))) return 'cloudfront'
  return 'public'
}

function sameFamily(block: string, family: IpFamily): boolean {
  return block.includes(':') === (family === 'ipv6')
}

/**
 * Whether a permission lets TCP traffic to `port` in: all traffic (-1), or TCP (named or protocol
 * number 6) with a port range covering it. EC2 describes all-traffic rules with IpProtocol "-1"
 * and no ports (EC2 API reference, IpPermission.IpProtocol).
 */
export function coversTcpPort(permission: IpPermission, port: number): boolean {
  const protocol = permission.IpProtocol
  if (protocol === '-1') return true
  if (protocol !== 'tcp' && protocol !== '6') return false
  const from = permission.FromPort
  const to = permission.ToPort
  if (from === undefined || to === undefined) return true
  return from <= port && port <= to
}

/** "tcp/443", "tcp/0-65535" or "all traffic", for messages. */
export function describePorts(permission: IpPermission): string {
  if (permission.IpProtocol === '-1') return 'all traffic'
  const from = permission.FromPort
  const to = permission.ToPort
  if (from === undefined || to === undefined) return 'tcp (all ports)'
  return from === to ? `tcp/${from}` : `tcp/${from}-${to}`
}
