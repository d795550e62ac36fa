// Pool growth's load balancer calls: a thin adapter over @aws-sdk/client-elastic-load-balancing-v2
// (Query protocol, API 2015-12-01). SetSecurityGroups REPLACES the load balancer's groups (ELBv2
// API reference), so the caller always sends the groups it has plus the new ones.
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  SetSecurityGroupsCommand
} from '@aws-sdk/client-elastic-load-balancing-v2'
import type { AwsClientOptions } from '../aws/client-config.js'
import { clientConfig } from '../aws/client-config.js'

export interface LoadBalancerInfo {
  arn: string
  name: string
  type: string
  groupIds: string[]
}

export interface LoadBalancerApi {
  /** The named load balancers of the region (DescribeLoadBalancers takes at most 20 names). */
  describe(names: string[]): Promise<LoadBalancerInfo[]>
  setSecurityGroups(arn: string, groupIds: string[]): Promise<void>
}

const NAMES_PER_CALL = 20

export function createLoadBalancerApi(options: AwsClientOptions): LoadBalancerApi {
  const client = new ElasticLoadBalancingV2Client(clientConfig(options, 8))
  return {
    async describe(names) {
      const found: LoadBalancerInfo[] = []
      const unique = [...new Set(names)]
      for (let start = 0; start < unique.length; start += NAMES_PER_CALL) {
        const page = await client.send(
          new DescribeLoadBalancersCommand({ Names: unique.slice(start, start + NAMES_PER_CALL) })
        )
        for (const lb of page.LoadBalancers ?? []) {
          found.push({
            arn: lb.LoadBalancerArn ?? '',
            name: lb.LoadBalancerName ?? '',
            type: lb.Type ?? '',
            groupIds: lb.SecurityGroups ?? []
          })
        }
      }
      return found
    },
    async setSecurityGroups(arn, groupIds) {
      await client.send(
        new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: groupIds })
      )
    }
  }
}
