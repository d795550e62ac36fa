// Loopback emulator of Elastic Load Balancing v2 (Application and Network Load Balancers) for pool
// growth: DescribeLoadBalancers and SetSecurityGroups over the Query protocol, API version
// 2015-12-01, as the real SDK (@aws-sdk/client-elastic-load-balancing-v2) speaks it through
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2.
//
// Shapes from the ELBv2 API reference: DescribeLoadBalancers takes `Names.member.N` or
// `LoadBalancerArns.member.N` and answers `LoadBalancers` members with `LoadBalancerArn`,
// `LoadBalancerName`, `Type`, `VpcId`, `SecurityGroups`; SetSecurityGroups takes `LoadBalancerArn`
// and `SecurityGroups.member.N`, which REPLACE the load balancer's groups, and answers
// `SecurityGroupIds`. Errors (HTTP 400): LoadBalancerNotFound, InvalidSecurityGroup,
// InvalidConfigurationRequest (a Gateway Load Balancer, a Network Load Balancer created without
// groups, or more groups than the quota "Security groups per load balancer", 5 by default).
//
// Each load balancer has one network interface per availability zone in the EC2 emulator
// (description "ELB app/NAME/ID", requester amazon-elb), kept carrying the load balancer's groups.
import type { IncomingMessage } from 'node:http'
import type { HttpAnswer } from './aws-query.js'
import {
  awsQueryErrorXml,
  awsQueryResponseXml,
  LoopbackServer,
  parseSigV4,
  QueryError,
  QueryParams,
  requestIdGenerator,
  xmlElement,
  xmlText
} from './aws-query.js'
import type { Ec2Emulator } from './ec2.js'
import { DEFAULT_ACCOUNT_ID } from './ec2.js'

export const ELBV2_XML_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/'
/** "Security groups per load balancer: 5" (Elastic Load Balancing quotas, ALB and NLB). */
export const DEFAULT_GROUPS_PER_LOAD_BALANCER = 5

export interface SeedLoadBalancer {
  account?: string
  region: string
  vpcId: string
  name: string
  type?: 'application' | 'network' | 'gateway'
  groupIds: string[]
  /** Network interfaces to create, one per availability zone (default 2). */
  zones?: number
}

interface LoadBalancerState {
  arn: string
  account: string
  region: string
  vpcId: string
  name: string
  type: 'application' | 'network' | 'gateway'
  groupIds: string[]
  interfaceIds: string[]
}

export interface Elbv2Call {
  action: string
  region: string
  ok: boolean
  errorCode?: string
  params: Record<string, string>
}

const TYPE_PREFIX = { application: 'app', network: 'net', gateway: 'gwy' } as const

export class Elbv2Emulator {
  readonly calls: Elbv2Call[] = []
  groupsPerLoadBalancer = DEFAULT_GROUPS_PER_LOAD_BALANCER
  private readonly loadBalancers = new Map<string, LoadBalancerState>()
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body))
  private readonly nextRequestId = requestIdGenerator(0xe1b)
  private serial = 0

  constructor(
    private readonly ec2: Ec2Emulator,
    private readonly defaultAccount = DEFAULT_ACCOUNT_ID
  ) {}

  start(port = 0): Promise<string> {
    return this.server.start(port)
  }

  stop(): Promise<void> {
    return this.server.stop()
  }

  reset(): void {
    this.loadBalancers.clear()
    this.calls.length = 0
    this.groupsPerLoadBalancer = DEFAULT_GROUPS_PER_LOAD_BALANCER
  }

  /** Creates a load balancer and its interfaces in the EC2 emulator; returns its ARN. */
  addLoadBalancer(spec: SeedLoadBalancer): string {
    const account = spec.account ?? this.defaultAccount
    const type = spec.type ?? 'application'
    const id = (0x50dc6c495c0c9188n + BigInt(++this.serial)).toString(16)
    const path = `${TYPE_PREFIX[type]}/${spec.name}/${id}`
    const arn = `arn:aws:elasticloadbalancing:${spec.region}:${account}:loadbalancer/${path}`
    const interfaceIds = Array.from({ length: spec.zones ?? 2 }, () =>
      this.ec2.addNetworkInterface({
        account,
        region: spec.region,
        vpcId: spec.vpcId,
        groupIds: spec.groupIds,
        description: `ELB ${path}`,
        requesterId: 'amazon-elb',
        ...(type === 'application' ? {} : { interfaceType: `${type}_load_balancer` })
      })
    )
    this.loadBalancers.set(arn, {
      arn,
      account,
      region: spec.region,
      vpcId: spec.vpcId,
      name: spec.name,
      type,
      groupIds: [...spec.groupIds],
      interfaceIds
    })
    return arn
  }

  groupsOf(arn: string): string[] {
    return [...(this.loadBalancers.get(arn)?.groupIds ?? [])]
  }

  private async handle(req: IncomingMessage, body: string): Promise<HttpAnswer> {
    const requestId = this.nextRequestId()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const params = new QueryParams([
      ...url.searchParams.entries(),
      ...new URLSearchParams(body).entries()
    ])
    const action = params.get('Action') ?? ''
    const scope = parseSigV4(req.headers.authorization, url.searchParams)
    const call: Elbv2Call = {
      action,
      region: scope?.region ?? '',
      ok: false,
      params: params.toObject()
    }
    this.calls.push(call)
    try {
      if (!scope) throw new QueryError('InvalidClientTokenId', 'Missing SigV4 signature', 403)
      const where = { region: scope.region }
      const result =
        action === 'DescribeLoadBalancers'
          ? this.describe(params, where)
          : action === 'SetSecurityGroups'
            ? this.setSecurityGroups(params, where)
            : (() => {
                throw new QueryError('InvalidAction', `Could not find operation ${action}`)
              })()
      call.ok = true
      return {
        status: 200,
        body: awsQueryResponseXml(action, ELBV2_XML_NAMESPACE, requestId, result)
      }
    } catch (err) {
      const e =
        err instanceof QueryError ? err : new QueryError('InternalFailure', String(err), 500)
      call.errorCode = e.code
      return {
        status: e.status,
        body: awsQueryErrorXml(e.code, e.message, requestId, ELBV2_XML_NAMESPACE)
      }
    }
  }

  private inRegion(region: string): LoadBalancerState[] {
    return [...this.loadBalancers.values()].filter(lb => lb.region === region)
  }

  private describe(params: QueryParams, where: { region: string }): string {
    const names = params.list('Names.member')
    const arns = params.list('LoadBalancerArns.member')
    let found = this.inRegion(where.region)
    if (names.length > 0) found = found.filter(lb => names.includes(lb.name))
    if (arns.length > 0) found = found.filter(lb => arns.includes(lb.arn))
    if (found.length < names.length + arns.length) {
      throw new QueryError('LoadBalancerNotFound', 'One or more load balancers not found')
    }
    const members = found
      .map(
        lb =>
          '<member>' +
          xmlText('LoadBalancerArn', lb.arn) +
          xmlText('LoadBalancerName', lb.name) +
          xmlText('Type', lb.type) +
          xmlText('Scheme', 'internet-facing') +
          xmlText('VpcId', lb.vpcId) +
          xmlElement('State', xmlText('Code', 'active')) +
          xmlElement('SecurityGroups', lb.groupIds.map(id => `<member>${id}</member>`).join('')) +
          '</member>'
      )
      .join('')
    return xmlElement('LoadBalancers', members)
  }

  private setSecurityGroups(params: QueryParams, where: { region: string }): string {
    const arn = params.require('LoadBalancerArn')
    const lb = this.inRegion(where.region).find(candidate => candidate.arn === arn)
    if (!lb) throw new QueryError('LoadBalancerNotFound', `Load balancer '${arn}' not found`)
    const groupIds = params.list('SecurityGroups.member')
    if (lb.type === 'gateway') {
      throw new QueryError(
        'InvalidConfigurationRequest',
        'You cannot associate security groups with a Gateway Load Balancer'
      )
    }
    if (lb.type === 'network' && lb.groupIds.length === 0) {
      throw new QueryError(
        'InvalidConfigurationRequest',
        'You cannot set security groups on a Network Load Balancer created without them'
      )
    }
    if (groupIds.length > this.groupsPerLoadBalancer) {
      throw new QueryError(
        'InvalidConfigurationRequest',
        `A load balancer cannot be attached to more than ${this.groupsPerLoadBalancer} security groups`
      )
    }
    const known = new Set(this.ec2.listGroups().map(group => group.groupId))
    const unknown = groupIds.filter(id => !known.has(id))
    if (unknown.length > 0) {
      throw new QueryError('InvalidSecurityGroup', `Security group '${unknown[0]}' does not exist`)
    }
    // The list replaces the old one, on every interface of the load balancer.
    for (const eni of lb.interfaceIds) this.ec2.setInterfaceGroups(eni, groupIds)
    lb.groupIds = [...groupIds]
    return xmlElement('SecurityGroupIds', groupIds.map(id => `<member>${id}</member>`).join(''))
  }
}
