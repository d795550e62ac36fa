// What a network interface belongs to, read from the fields EC2 describes it with. Pure.
//
// Elastic Load Balancing creates its nodes' interfaces with the description "ELB app/NAME/ID"
// (Application Load Balancer), "ELB net/NAME/ID" (Network), "ELB gwy/NAME/ID" (Gateway) or
// "ELB NAME" (Classic), requester "amazon-elb"; Network and Gateway Load Balancer interfaces also
// have the interface type network_load_balancer / gateway_load_balancer (EC2 API reference,
// NetworkInterface.InterfaceType; AWS re:Post "elb-find-load-balancer-ip": search the interfaces by
// the load balancer's name). An instance's interface names it in Attachment.InstanceId.
import type { NetworkInterface } from '@aws-sdk/client-ec2'

export type LoadBalancerType = 'application' | 'network' | 'gateway' | 'classic'

export type Attachment =
  | { kind: 'load-balancer'; type: LoadBalancerType; name: string }
  | { kind: 'instance'; instanceId: string }
  | { kind: 'other'; interfaceType: string; description: string; requesterId?: string }

const ELBV2 = /^ELB (app|net|gwy)\/([^/]+)\/[0-9a-f]+$/
const CLASSIC = /^ELB ([^\s/]+)$/
const ELBV2_TYPES: Record<string, LoadBalancerType> = {
  app: 'application',
  net: 'network',
  gwy: 'gateway'
}

export function attachmentOf(eni: NetworkInterface): Attachment {
  const description = eni.Description ?? ''
  const interfaceType = eni.InterfaceType ?? 'interface'
  const v2 = ELBV2.exec(description)
  if (v2) {
    return {
      kind: 'load-balancer',
      type: ELBV2_TYPES[v2[1] as string] as LoadBalancerType,
      name: v2[2] as string
    }
  }
  const classic = CLASSIC.exec(description)
  if (classic && eni.RequesterId === 'amazon-elb') {
    return { kind: 'load-balancer', type: 'classic', name: classic[1] as string }
  }
  if (interfaceType === 'network_load_balancer' || interfaceType === 'gateway_load_balancer') {
    return {
      kind: 'load-balancer',
      type: interfaceType === 'network_load_balancer' ? 'network' : 'gateway',
      name: description || '(unnamed)'
    }
  }
  const instanceId = eni.Attachment?.InstanceId
  if (instanceId) return { kind: 'instance', instanceId }
  return {
    kind: 'other',
    interfaceType,
    description,
    ...(eni.RequesterId ? { requesterId: eni.RequesterId } : {})
  }
}

/** "application load balancer my-alb", "instance i-0abc", "lambda interface (requester ...)". */
export function describeAttachment(attachment: Attachment): string {
  switch (attachment.kind) {
    case 'load-balancer':
      return `${attachment.type} load balancer ${attachment.name}`
    case 'instance':
      return `instance ${attachment.instanceId}`
    case 'other': {
      const what = attachment.description ? `"${attachment.description}"` : 'no description'
      const by = attachment.requesterId ? `, managed by ${attachment.requesterId}` : ''
      return `${attachment.interfaceType} interface, ${what}${by}`
    }
  }
}
