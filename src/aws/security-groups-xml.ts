// A lean reader for EC2's DescribeSecurityGroups answer. Pure: no I/O.
//
// Every run reads every tagged group with all its rules: at organisation scale that is megabytes of
// XML, and the SDK's generic XML-to-schema deserializer allocates about 50 bytes per byte read (10
// MiB for one region's 215 kB page; BENCHMARKS.md). This reader builds the same `SecurityGroup`
// objects for a small fraction of that. It reads only what EC2 sends (elements, text, the XML
// entities, comments, CDATA) and throws on anything else, so the caller can hand the answer back
// to the SDK; `__tests__/unit/security-groups-xml.test.ts` checks it against the SDK's own output.
import type {
  IpPermission,
  IpRange,
  Ipv6Range,
  PrefixListId,
  SecurityGroup,
  Tag,
  UserIdGroupPair
} from '@aws-sdk/client-ec2'

export interface SecurityGroupsPage {
  SecurityGroups?: SecurityGroup[]
  NextToken?: string
}

interface XmlElement {
  name: string
  children: XmlElement[]
  text: string
}

/** Reads one DescribeSecurityGroups answer; throws if it is not one, or not XML this reader knows. */
export function readSecurityGroupsPage(xml: string): SecurityGroupsPage {
  const root = parseXml(xml)
  if (root.name !== 'DescribeSecurityGroupsResponse') {
    throw new Error(`expected DescribeSecurityGroupsResponse, got <${root.name}>`)
  }
  const groups = listOf(root, 'securityGroupInfo', securityGroup)
  const nextToken = textOf(root, 'nextToken')
  return {
    ...(groups !== undefined ? { SecurityGroups: groups } : {}),
    ...(nextToken !== undefined ? { NextToken: nextToken } : {})
  }
}

function securityGroup(e: XmlElement): SecurityGroup {
  return {
    GroupId: textOf(e, 'groupId'),
    IpPermissionsEgress: listOf(e, 'ipPermissionsEgress', permission),
    Tags: listOf(e, 'tagSet', tag),
    VpcId: textOf(e, 'vpcId'),
    SecurityGroupArn: textOf(e, 'securityGroupArn'),
    OwnerId: textOf(e, 'ownerId'),
    GroupName: textOf(e, 'groupName'),
    Description: textOf(e, 'groupDescription'),
    IpPermissions: listOf(e, 'ipPermissions', permission)
  }
}

function permission(e: XmlElement): IpPermission {
  return {
    IpProtocol: textOf(e, 'ipProtocol'),
    FromPort: integerOf(e, 'fromPort'),
    ToPort: integerOf(e, 'toPort'),
    UserIdGroupPairs: listOf(e, 'groups', groupPair),
    IpRanges: listOf(e, 'ipRanges', ipRange),
    Ipv6Ranges: listOf(e, 'ipv6Ranges', ipv6Range),
    PrefixListIds: listOf(e, 'prefixListIds', prefixList)
  }
}

function groupPair(e: XmlElement): UserIdGroupPair {
  return {
    Description: textOf(e, 'description'),
    UserId: textOf(e, 'userId'),
    GroupName: textOf(e, 'groupName'),
    GroupId: textOf(e, 'groupId'),
    VpcId: textOf(e, 'vpcId'),
    VpcPeeringConnectionId: textOf(e, 'vpcPeeringConnectionId'),
    PeeringStatus: textOf(e, 'peeringStatus')
  }
}

const ipRange = (e: XmlElement): IpRange => ({
  Description: textOf(e, 'description'),
  CidrIp: textOf(e, 'cidrIp')
})
const ipv6Range = (e: XmlElement): Ipv6Range => ({
  Description: textOf(e, 'description'),
  CidrIpv6: textOf(e, 'cidrIpv6')
})
const prefixList = (e: XmlElement): PrefixListId => ({
  Description: textOf(e, 'description'),
  PrefixListId: textOf(e, 'prefixListId')
})
const tag = (e: XmlElement): Tag => ({ Key: textOf(e, 'key'), Value: textOf(e, 'value') })

function childOf(e: XmlElement, name: string): XmlElement | undefined {
  for (const child of e.children) if (child.name === name) return child
  return undefined
}

/** A leaf's text; blank text spanning lines reads as '' (as the SDK reads it: indentation). */
function textOf(e: XmlElement, name: string): string | undefined {
  const text = childOf(e, name)?.text
  return text !== undefined && text.includes('\n') && text.trim() === '' ? '' : text
}

function integerOf(e: XmlElement, name: string): number | undefined {
  const text = textOf(e, name)
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(value)) {
    throw new Error(`<${name}> holds ${JSON.stringify(text)}, not an integer`)
  }
  return value
}

/** A list element's `<item>` members, mapped; undefined when the element is absent (as the SDK). */
function listOf<T>(e: XmlElement, name: string, map: (item: XmlElement) => T): T[] | undefined {
  const list = childOf(e, name)
  if (!list) return undefined
  const out: T[] = []
  for (const child of list.children) if (child.name === 'item') out.push(map(child))
  return out
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Line ends as an XML parser reports them (XML 1.0, 2.11): CR LF and lone CR become LF. */
function normaliseLineEnds(raw: string): string {
  return raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw
}

/** Character data: line ends normalised, entity and character references decoded. */
function decodeText(raw: string): string {
  const text = normaliseLineEnds(raw)
  if (!text.includes('&')) return text
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10)
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    const named = ENTITIES[body]
    if (named === undefined) throw new Error(`unknown XML entity ${whole}`)
    return named
  })
}

/**
 * Elements and their text only. An element's text is what stands before its first child (so a
 * leaf's whole text); after that only white space may follow, as EC2 has no mixed content.
 */
function parseXml(xml: string): XmlElement {
  const top: XmlElement = { name: '', children: [], text: '' }
  const stack: XmlElement[] = [top]
  let i = 0
  while (i < xml.length) {
    const open = xml.indexOf('<', i)
    const current = stack[stack.length - 1] as XmlElement
    const end = open < 0 ? xml.length : open
    if (end > i && current.children.length === 0 && current !== top) {
      current.text += decodeText(xml.slice(i, end))
    } else if (!isXmlSpace(xml, i, end)) {
      throw new Error(`unexpected text at offset ${i}`)
    }
    if (open < 0) break
    if (xml.startsWith('<?', open)) {
      i = after(xml, '?>', open)
    } else if (xml.startsWith('<!--', open)) {
      i = after(xml, '-->', open)
    } else if (xml.startsWith('<![CDATA[', open)) {
      const close = after(xml, ']]>', open)
      current.text += normaliseLineEnds(xml.slice(open + 9, close - 3))
      i = close
    } else if (xml.startsWith('</', open)) {
      const stop = nameEnd(xml, open + 2)
      const close = after(xml, '>', stop)
      const matches =
        stack.length > 1 &&
        stop - open - 2 === current.name.length &&
        xml.startsWith(current.name, open + 2) &&
        isXmlSpace(xml, stop, close - 1)
      if (!matches) throw new Error(`unexpected ${xml.slice(open, close)} at offset ${open}`)
      stack.pop()
      i = close
    } else if (xml.charCodeAt(open + 1) === 33 /* ! */) {
      throw new Error(`unsupported markup (DOCTYPE or declaration) at offset ${open}`)
    } else {
      const stop = nameEnd(xml, open + 1)
      if (stop === open + 1) throw new Error(`malformed markup at offset ${open}`)
      const close = xml.charCodeAt(stop) === 62 /* > */ ? stop + 1 : tagEnd(xml, stop)
      const element: XmlElement = { name: xml.slice(open + 1, stop), children: [], text: '' }
      current.children.push(element)
      if (xml.charCodeAt(close - 2) !== 47 /* / */) stack.push(element)
      i = close
    }
  }
  const root = top.children[0]
  if (stack.length !== 1 || top.children.length !== 1 || !root) {
    throw new Error('the document does not hold exactly one complete root element')
  }
  return root
}

/** Only what XML calls white space (a byte-order mark is not: the SDK refuses it too). */
function isXmlSpace(xml: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = xml.charCodeAt(k)
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return true
}

/** Where a tag name starting at `from` ends (the SDK's delimiters: white space, `/`, `>`). */
function nameEnd(xml: string, from: number): number {
  let k = from
  for (; k < xml.length; k++) {
    const c = xml.charCodeAt(k)
    if (c === 62 || c === 47 || c === 32 || c === 9 || c === 10 || c === 13) break
  }
  return k
}

function after(xml: string, token: string, from: number): number {
  const at = xml.indexOf(token, from)
  if (at < 0) throw new Error(`unterminated markup at offset ${from}`)
  return at + token.length
}

/** The offset just past the `>` ending a tag whose attributes start at `from` (quotes skipped). */
function tagEnd(xml: string, from: number): number {
  let quote = ''
  for (let k = from; k < xml.length; k++) {
    const c = xml[k] as string
    if (quote) {
      if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '>') return k + 1
  }
  throw new Error(`unterminated tag at offset ${from}`)
}
